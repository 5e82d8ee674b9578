// Window math for the virtualised credential list: which rows to render for a
// scroll position, which pages they fall in, and how far to scroll so a row is
// in view. Rows have one fixed height, so all of it is arithmetic.

export type Range = {
  /** First index to render (inclusive). */
  start: number;
  /** One past the last index to render. */
  end: number;
};

export type Viewport = {
  scrollTop: number;
  /** Height of the scrolling area in pixels. */
  height: number;
  rowHeight: number;
  total: number;
  /** Extra rows rendered above and below the visible ones. */
  overscan: number;
};

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}

/** The rows to render: the visible ones plus `overscan` on each side, within [0, total). */
export function visibleRange(view: Viewport): Range {
  const total = Math.max(0, Math.floor(view.total));
  if (total === 0 || view.rowHeight <= 0) return { start: 0, end: 0 };
  const top = Math.max(0, view.scrollTop);
  const height = Math.max(0, view.height);
  const first = Math.floor(top / view.rowHeight);
  const last = Math.ceil((top + height) / view.rowHeight);
  return {
    start: clamp(first - view.overscan, 0, total),
    end: clamp(last + view.overscan, 0, total),
  };
}

/** Page numbers (of `pageSize` rows) that cover [start, end). */
export function pagesFor(range: Range, pageSize: number): number[] {
  if (range.end <= range.start || pageSize <= 0) return [];
  const first = Math.floor(range.start / pageSize);
  const last = Math.floor((range.end - 1) / pageSize);
  const pages: number[] = [];
  for (let page = first; page <= last; page += 1) pages.push(page);
  return pages;
}

/**
 * The scrollTop that brings row `index` fully into view while moving as little
 * as possible (unchanged when it already is).
 */
export function scrollToShow(index: number, scrollTop: number, height: number, rowHeight: number): number {
  const rowTop = index * rowHeight;
  const rowBottom = rowTop + rowHeight;
  if (rowTop < scrollTop) return rowTop;
  if (rowBottom > scrollTop + height) return Math.max(0, rowBottom - height);
  return scrollTop;
}

/** How many whole rows fit in the viewport (at least 1): the PageUp/PageDown step. */
export function rowsPerPage(height: number, rowHeight: number): number {
  if (rowHeight <= 0) return 1;
  return Math.max(1, Math.floor(height / rowHeight));
}
