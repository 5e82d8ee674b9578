import { describe, expect, it } from 'vitest';
import { pagesFor, rowsPerPage, scrollToShow, visibleRange } from './virtual';

const base = { scrollTop: 0, height: 500, rowHeight: 50, total: 100_000, overscan: 5 };

describe('visibleRange', () => {
  it('renders the visible rows plus overscan below at the top', () => {
    expect(visibleRange(base)).toEqual({ start: 0, end: 15 });
  });

  it('adds overscan on both sides in the middle', () => {
    expect(visibleRange({ ...base, scrollTop: 5000 })).toEqual({ start: 95, end: 115 });
  });

  it('counts a partly visible row', () => {
    expect(visibleRange({ ...base, scrollTop: 5025, overscan: 0 })).toEqual({ start: 100, end: 111 });
  });

  it('stays inside the list at the end', () => {
    expect(visibleRange({ ...base, total: 100, scrollTop: 4800 })).toEqual({ start: 91, end: 100 });
  });

  it('is empty for an empty list and bad input', () => {
    expect(visibleRange({ ...base, total: 0 })).toEqual({ start: 0, end: 0 });
    expect(visibleRange({ ...base, rowHeight: 0 })).toEqual({ start: 0, end: 0 });
  });

  it('treats negative scroll (elastic overscroll) as the top', () => {
    expect(visibleRange({ ...base, scrollTop: -80 }).start).toBe(0);
  });

  it('keeps the window small for 100k rows anywhere', () => {
    for (const scrollTop of [0, 1_234_567, 4_999_500]) {
      const range = visibleRange({ ...base, scrollTop });
      expect(range.end - range.start).toBeLessThanOrEqual(21);
    }
  });
});

describe('pagesFor', () => {
  it('lists the pages a range touches', () => {
    expect(pagesFor({ start: 0, end: 15 }, 100)).toEqual([0]);
    expect(pagesFor({ start: 95, end: 115 }, 100)).toEqual([0, 1]);
    expect(pagesFor({ start: 100, end: 200 }, 100)).toEqual([1]);
    expect(pagesFor({ start: 5, end: 5 }, 100)).toEqual([]);
  });
});

describe('scrollToShow', () => {
  it('leaves a visible row alone', () => {
    expect(scrollToShow(3, 0, 500, 50)).toBe(0);
  });

  it('scrolls up to a row above', () => {
    expect(scrollToShow(2, 400, 500, 50)).toBe(100);
  });

  it('scrolls down just enough for a row below', () => {
    expect(scrollToShow(10, 0, 500, 50)).toBe(50);
    expect(scrollToShow(99_999, 0, 500, 50)).toBe(99_999 * 50 + 50 - 500);
  });
});

describe('rowsPerPage', () => {
  it('counts whole rows, at least one', () => {
    expect(rowsPerPage(500, 50)).toBe(10);
    expect(rowsPerPage(520, 50)).toBe(10);
    expect(rowsPerPage(10, 50)).toBe(1);
    expect(rowsPerPage(500, 0)).toBe(1);
  });
});
