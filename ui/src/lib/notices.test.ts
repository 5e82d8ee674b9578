import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { notices } from './notices.svelte';

beforeEach(() => {
  vi.useFakeTimers();
  notices.dismiss();
  notices.resume();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('notices', () => {
  it('a confirmation goes by itself, but not while it is hovered or focused', () => {
    notices.info('Saved.', 6000);
    vi.advanceTimersByTime(4000);
    notices.pause();
    vi.advanceTimersByTime(60_000);
    expect(notices.current?.text).toBe('Saved.');
    notices.resume();
    vi.advanceTimersByTime(1900);
    expect(notices.current?.text).toBe('Saved.');
    vi.advanceTimersByTime(200);
    expect(notices.current).toBeNull();
  });

  it('one said while paused waits for the pointer to leave', () => {
    notices.pause();
    notices.info('Copied.', 1000);
    vi.advanceTimersByTime(5000);
    expect(notices.current?.text).toBe('Copied.');
    notices.resume();
    vi.advanceTimersByTime(1001);
    expect(notices.current).toBeNull();
  });

  it('an error stays until dismissed', () => {
    notices.error('The remote refused the push.');
    vi.advanceTimersByTime(600_000);
    expect(notices.current?.tone).toBe('error');
    notices.dismiss();
    expect(notices.current).toBeNull();
  });
});
