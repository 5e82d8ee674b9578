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

  it('an action runs once, however often it is asked for, and the notice goes', async () => {
    const run = vi.fn();
    notices.info('Moved api/github to the trash.', 10_000, { label: 'Undo', run, undo: true });
    const id = notices.current?.id;
    expect(notices.undoable).toBe(true);
    expect(notices.runAction(id)).toBe(true);
    expect(notices.current).toBeNull();
    expect(notices.runAction(id)).toBe(false);
    expect(notices.runAction()).toBe(false);
    await vi.runAllTimersAsync();
    expect(run).toHaveBeenCalledTimes(1);
    expect(notices.current).toBeNull();
  });

  it('an action is offered only while its notice shows', () => {
    const run = vi.fn();
    notices.info('Moved api/github to the trash.', 10_000, { label: 'Undo', run, undo: true });
    const id = notices.current?.id;
    vi.advanceTimersByTime(10_001);
    expect(notices.current).toBeNull();
    expect(notices.runAction()).toBe(false);
    // A newer notice replaced it: the old button's click does not run the new one's action.
    const other = vi.fn();
    notices.info('Copied.', 6000, { label: 'Open', run: other });
    expect(notices.undoable).toBe(false);
    expect(notices.runAction(id)).toBe(false);
    expect(notices.current?.text).toBe('Copied.');
    expect(run).not.toHaveBeenCalled();
    expect(other).not.toHaveBeenCalled();
  });

  it('a failed action becomes an error notice', async () => {
    notices.info('Moved api/github to the trash.', 10_000, {
      label: 'Undo',
      run: () => Promise.reject({ code: 'failure', message: "a credential named 'api/github' already exists" }),
    });
    notices.runAction();
    await vi.runAllTimersAsync();
    expect(notices.current?.tone).toBe('error');
    expect(notices.current?.text).toContain("a credential named 'api/github' already exists");
  });
});
