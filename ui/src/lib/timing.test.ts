// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { debounce, Latest, SHOWN_AT, stampShown, throttle } from './timing';

describe('throttle', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets the first call through and drops the rest of the interval', () => {
    const fn = vi.fn();
    const touch = throttle(fn, 30_000);
    touch();
    touch();
    vi.advanceTimersByTime(29_999);
    touch();
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    touch();
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('passes the arguments on', () => {
    const fn = vi.fn();
    throttle(fn, 10)('a', 1);
    expect(fn).toHaveBeenCalledWith('a', 1);
  });
});

describe('debounce', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('calls once, with the last arguments, after the pause', () => {
    const fn = vi.fn();
    const later = debounce(fn, 150);
    later('a');
    vi.advanceTimersByTime(100);
    later('ab');
    vi.advanceTimersByTime(149);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn).toHaveBeenCalledWith('ab');
  });

  it('can be cancelled', () => {
    const fn = vi.fn();
    const later = debounce(fn, 150);
    later();
    later.cancel();
    vi.advanceTimersByTime(1000);
    expect(fn).not.toHaveBeenCalled();
  });
});

describe('Latest', () => {
  it('accepts only the newest ticket', () => {
    const latest = new Latest();
    const first = latest.next();
    const second = latest.next();
    expect(latest.isCurrent(first)).toBe(false);
    expect(latest.isCurrent(second)).toBe(true);
    latest.invalidate();
    expect(latest.isCurrent(second)).toBe(false);
  });
});

describe('stampShown', () => {
  it('overwrites one attribute with the time shown', () => {
    const el = document.createElement('div');
    stampShown(el);
    const first = Number(el.getAttribute(SHOWN_AT));
    stampShown(el);
    expect(el.attributes).toHaveLength(1);
    expect(Number(el.getAttribute(SHOWN_AT))).toBeGreaterThanOrEqual(first);
    stampShown(null);
  });

  it('waits for a hidden page to be shown', () => {
    const el = document.createElement('div');
    const visibility = vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('hidden');
    stampShown(el);
    expect(el.hasAttribute(SHOWN_AT)).toBe(false);
    visibility.mockReturnValue('visible');
    document.dispatchEvent(new Event('visibilitychange'));
    expect(el.hasAttribute(SHOWN_AT)).toBe(true);
    visibility.mockRestore();
  });
});
