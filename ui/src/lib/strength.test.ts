import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Strength } from './ipc';
import { strengthChecker, strengthView } from './strength';

const strength = (score: Strength['score'], label: string): Strength => ({
  score,
  label,
  crackTime: score >= 3 ? 'centuries' : '3 hours',
  warning: score < 2 ? 'This is a top-100 common password.' : null,
  suggestions: score < 2 ? ['Add another word or two.', ' '] : [],
});

describe('strengthView', () => {
  it('shows nothing rated for no estimate', () => {
    expect(strengthView(null)).toMatchObject({ percent: 0, tone: 'none', acceptable: false });
  });

  it('maps scores to meter, tone and words', () => {
    const weak = strengthView(strength(0, 'very weak'));
    expect(weak).toMatchObject({ percent: 20, tone: 'weak', acceptable: false });
    expect(weak.text).toBe('Strength: very weak. Guessing it would take 3 hours.');
    expect(weak.warning).toBe('This is a top-100 common password.');
    expect(weak.suggestions).toEqual(['Add another word or two.']);
    expect(strengthView(strength(2, 'fair'))).toMatchObject({ percent: 60, tone: 'fair', acceptable: true });
    expect(strengthView(strength(4, 'very strong'))).toMatchObject({ percent: 100, tone: 'strong', acceptable: true });
  });
});

describe('strengthChecker', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks once per pause in typing', async () => {
    const estimate = vi.fn((p: string) => Promise.resolve(strength(p.length > 5 ? 3 : 1, p)));
    const results: (Strength | null)[] = [];
    const checker = strengthChecker(estimate, (s) => results.push(s), () => {}, 150);
    checker.update('c');
    checker.update('co');
    checker.update('correct');
    await vi.advanceTimersByTimeAsync(149);
    expect(estimate).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(estimate).toHaveBeenCalledTimes(1);
    expect(estimate).toHaveBeenCalledWith('correct');
    expect(results.map((r) => r?.label)).toEqual(['correct']);
  });

  it('ignores an answer for older text', async () => {
    let release: (s: Strength) => void = () => {};
    const estimate = vi.fn(
      (p: string) =>
        p === 'slow' ? new Promise<Strength>((resolve) => (release = resolve)) : Promise.resolve(strength(4, p)),
    );
    const results: (Strength | null)[] = [];
    const checker = strengthChecker(estimate, (s) => results.push(s), () => {}, 150);
    checker.update('slow');
    await vi.advanceTimersByTimeAsync(150);
    checker.update('slower and longer');
    await vi.advanceTimersByTimeAsync(150);
    release(strength(0, 'slow'));
    await vi.advanceTimersByTimeAsync(0);
    expect(results.map((r) => r?.label)).toEqual(['slower and longer']);
  });

  it('reports null at once for an empty passphrase and drops the pending one', async () => {
    const estimate = vi.fn((p: string) => Promise.resolve(strength(2, p)));
    const results: (Strength | null)[] = [];
    const checker = strengthChecker(estimate, (s) => results.push(s), () => {}, 150);
    checker.update('abc');
    checker.update('');
    await vi.advanceTimersByTimeAsync(500);
    expect(estimate).not.toHaveBeenCalled();
    expect(results).toEqual([null]);
  });

  it('passes errors on', async () => {
    const onError = vi.fn();
    const checker = strengthChecker(() => Promise.reject(new Error('x')), () => {}, onError, 150);
    checker.update('abc');
    await vi.advanceTimersByTimeAsync(150);
    expect(onError).toHaveBeenCalledTimes(1);
  });
});
