import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RevealTimer } from './reveal';

describe('RevealTimer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hides after the given seconds', () => {
    const onHide = vi.fn();
    const timer = new RevealTimer(onHide);
    timer.start(20);
    expect(timer.active).toBe(true);
    vi.advanceTimersByTime(19_999);
    expect(onHide).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onHide).toHaveBeenCalledTimes(1);
    expect(timer.active).toBe(false);
  });

  it('counts down for the display', () => {
    const ticks: number[] = [];
    const timer = new RevealTimer(() => {}, (left) => ticks.push(left));
    timer.start(3);
    vi.advanceTimersByTime(3000);
    expect(ticks).toEqual([3, 2, 1]);
    expect(timer.secondsLeft()).toBe(0);
  });

  it('hides at once on request, and only once', () => {
    const onHide = vi.fn();
    const timer = new RevealTimer(onHide);
    timer.start(20);
    timer.hide();
    timer.hide();
    vi.advanceTimersByTime(30_000);
    expect(onHide).toHaveBeenCalledTimes(1);
  });

  it('restarts the countdown on a second reveal', () => {
    const onHide = vi.fn();
    const timer = new RevealTimer(onHide);
    timer.start(10);
    vi.advanceTimersByTime(8000);
    timer.start(10);
    vi.advanceTimersByTime(8000);
    expect(onHide).not.toHaveBeenCalled();
    vi.advanceTimersByTime(2000);
    expect(onHide).toHaveBeenCalledTimes(1);
  });

  it('clear stops without calling back', () => {
    const onHide = vi.fn();
    const timer = new RevealTimer(onHide);
    timer.start(5);
    timer.clear();
    vi.advanceTimersByTime(10_000);
    expect(onHide).not.toHaveBeenCalled();
  });
});
