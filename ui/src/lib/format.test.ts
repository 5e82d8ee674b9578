import { describe, expect, it } from 'vitest';
import type { RotationStatus } from './ipc';
import {
  credentialCountText,
  dateInputValue,
  dateToIso,
  failedAttemptsText,
  formatDateTime,
  hasBadge,
  kindLabel,
  plural,
  rotationLabel,
  rotationSentence,
  shorten,
  timeLeftText,
} from './format';

const status = (over: Partial<RotationStatus>): RotationStatus => ({
  state: 'ok',
  since: '2025-01-01T00:00:00Z',
  ageDays: 10,
  due: null,
  daysLeft: null,
  maxAgeDays: 90,
  warnDays: 14,
  policySource: 'kind default',
  ...over,
});

describe('counts', () => {
  it('says "1 credential" and "3 credentials"', () => {
    expect(credentialCountText(0)).toBe('0 credentials');
    expect(credentialCountText(1)).toBe('1 credential');
    expect(credentialCountText(3)).toBe('3 credentials');
    expect(credentialCountText(100_000)).toBe('100,000 credentials');
    expect(plural(2, 'entry', 'entries')).toBe('2 entries');
  });
});

describe('rotation words', () => {
  it('labels badges as the list shows them', () => {
    expect(rotationLabel('due_soon')).toBe('Due soon');
    expect(rotationLabel('overdue')).toBe('Overdue');
    expect(rotationLabel('expired')).toBe('Expired');
    expect(rotationLabel('compromised')).toBe('Compromised');
    expect(hasBadge('ok')).toBe(false);
    expect(hasBadge('no_policy')).toBe(false);
    expect(hasBadge('due_soon')).toBe(true);
  });

  it('says how far off the due date is', () => {
    expect(rotationSentence(status({ state: 'overdue', daysLeft: -12 }))).toBe('Overdue by 12 days.');
    expect(rotationSentence(status({ state: 'due_soon', daysLeft: 1 }))).toBe('Due in 1 day.');
    expect(rotationSentence(status({ state: 'due_soon', daysLeft: 0 }))).toBe('Due today.');
    expect(rotationSentence(status({ state: 'ok', daysLeft: 80 }))).toBe('Up to date; due in 80 days.');
    expect(rotationSentence(status({ state: 'no_policy' }))).toBe('No rotation policy applies.');
  });
});

describe('dates', () => {
  it('formats times and survives bad input', () => {
    expect(formatDateTime('2025-03-04T14:05:00')).toBe('2025-03-04 14:05');
    expect(formatDateTime(null)).toBe('');
    expect(formatDateTime('not a date')).toBe('not a date');
  });

  it('round-trips a date input', () => {
    expect(dateInputValue('2030-06-01T00:00:00Z')).toBe('2030-06-01');
    expect(dateInputValue(null)).toBe('');
    expect(dateToIso('2030-06-01')).toBe('2030-06-01T00:00:00Z');
    expect(dateToIso('2030-06-01', true)).toBe('2030-06-01T23:59:59Z');
    expect(dateToIso('')).toBeNull();
  });

  it('words the failed attempts notice', () => {
    expect(failedAttemptsText(2, '2025-03-04T14:05:00')).toBe('2 failed unlock attempts since 2025-03-04 14:05.');
    expect(failedAttemptsText(1, null)).toBe('1 failed unlock attempt since the last unlock.');
  });
});

describe('misc', () => {
  it('labels kinds and shortens long text', () => {
    expect(kindLabel('aws-access-key')).toBe('AWS access key');
    expect(kindLabel('future-kind')).toBe('future-kind');
    expect(shorten('short')).toBe('short');
    expect(shorten('x'.repeat(100), 21)).toHaveLength(21);
  });
});

describe('timeLeftText', () => {
  const now = Date.parse('2026-12-06T16:00:00Z');
  it('says minutes, hours and minutes, or ended', () => {
    expect(timeLeftText('2026-12-06T16:42:30Z', now)).toBe('ends in 42 min');
    expect(timeLeftText('2026-12-06T19:05:00Z', now)).toBe('ends in 3 h 5 min');
    expect(timeLeftText('2026-12-06T15:59:00Z', now)).toBe('ended');
    expect(timeLeftText('not a time', now)).toBe('ended');
  });
});
