import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { autoLockMs, IdleTimer } from './idle';

describe('IdleTimer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires once after the timeout without activity', () => {
    const onIdle = vi.fn();
    const timer = new IdleTimer(60_000, onIdle);
    timer.start();
    vi.advanceTimersByTime(59_999);
    expect(onIdle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onIdle).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(600_000);
    expect(onIdle).toHaveBeenCalledTimes(1);
    expect(timer.running).toBe(false);
  });

  it('counts from the last activity', () => {
    const onIdle = vi.fn();
    const timer = new IdleTimer(60_000, onIdle);
    timer.start();
    vi.advanceTimersByTime(50_000);
    timer.activity();
    vi.advanceTimersByTime(50_000);
    expect(onIdle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(10_000);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('does not fire once stopped', () => {
    const onIdle = vi.fn();
    const timer = new IdleTimer(1000, onIdle);
    timer.start();
    timer.stop();
    vi.advanceTimersByTime(5000);
    expect(onIdle).not.toHaveBeenCalled();
  });

  it('applies a shorter timeout at once', () => {
    const onIdle = vi.fn();
    const timer = new IdleTimer(600_000, onIdle);
    timer.start();
    vi.advanceTimersByTime(120_000);
    timer.setTimeoutMs(60_000);
    vi.advanceTimersByTime(0);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });
});

describe('autoLockMs', () => {
  it('converts minutes and refuses nonsense', () => {
    expect(autoLockMs(10)).toBe(600_000);
    expect(autoLockMs(0)).toBe(60_000);
    expect(autoLockMs(Number.NaN)).toBe(60_000);
  });
});
