// A list too long to load at once, fetched a page at a time and cached.
//
// Every reset (a new search or filter) starts a new generation; a response
// from an older generation is dropped, so a slow answer to "ap" can never
// overwrite the answer to "api". Pages far from what is on screen are evicted
// so scrolling through 100k rows keeps memory flat.

export type Page<T> = { total: number; items: T[] };

/** Fetches rows [offset, offset + limit). */
export type Fetcher<T, P extends Page<T>> = (offset: number, limit: number) => Promise<P>;

export type PagedListOptions<T, P extends Page<T>> = {
  pageSize?: number;
  /** Most pages kept; beyond it the pages farthest from the last request go. */
  maxPages?: number;
  /** Called after any change a view should re-render for. */
  onChange?: () => void;
  /** Called with every accepted (current-generation) response. */
  onPage?: (page: P) => void;
  /** Called when a current-generation request fails. */
  onError?: (error: unknown) => void;
};

export class PagedList<T, P extends Page<T> = Page<T>> {
  readonly pageSize: number;
  readonly maxPages: number;
  private fetcher: Fetcher<T, P> | null = null;
  private generation = 0;
  private pages = new Map<number, T[]>();
  private inflight = new Set<number>();
  private lastWanted = 0;
  private options: PagedListOptions<T, P>;
  /** Number of matching rows; null until the first page of this generation arrives. */
  total: number | null = null;
  /**
   * The rows on hand belong to the previous query (a reset with `keepRows`),
   * shown until the new query's first answer replaces them all at once.
   */
  private stale = false;

  constructor(options: PagedListOptions<T, P> = {}) {
    this.options = options;
    this.pageSize = options.pageSize ?? 100;
    this.maxPages = Math.max(2, options.maxPages ?? 40);
  }

  /**
   * Start over with a new fetcher (a new query). With `keepTotal` the old
   * total stays until the new one arrives, so a refresh does not collapse the
   * scroll area. With `keepRows` the old rows and total stay on show too,
   * until the new query's first answer replaces them (typing never blanks
   * the list). Loads `firstPage` right away.
   */
  reset(fetcher: Fetcher<T, P>, firstPage = 0, keepTotal = false, keepRows = false): void {
    this.generation += 1;
    this.fetcher = fetcher;
    this.inflight.clear();
    this.stale = keepRows && this.total !== null;
    if (!this.stale) {
      this.pages.clear();
      if (!keepTotal) this.total = null;
    }
    this.options.onChange?.();
    void this.load(firstPage);
  }

  /** Whether the current query's answer has not arrived yet. */
  get pending(): boolean {
    return this.stale || this.total === null;
  }

  /** Whether a page is cached. */
  has(page: number): boolean {
    return this.pages.has(page);
  }

  /** The row at `index`, if its page is loaded. */
  item(index: number): T | undefined {
    const page = this.pages.get(Math.floor(index / this.pageSize));
    return page?.[index % this.pageSize];
  }

  /** Make sure rows [start, end) are loaded or on their way. */
  ensure(start: number, end: number): void {
    if (end <= start) return;
    const first = Math.floor(start / this.pageSize);
    const last = Math.floor((end - 1) / this.pageSize);
    this.lastWanted = first;
    // The previous query's rows stand in until the new first page: nothing
    // more is asked of the new query before it has said how long it is.
    if (this.stale) return;
    for (let page = first; page <= last; page += 1) {
      if (this.total !== null && page * this.pageSize >= this.total) break;
      if (!this.pages.has(page) && !this.inflight.has(page)) void this.load(page);
    }
  }

  private async load(page: number): Promise<void> {
    const fetcher = this.fetcher;
    if (fetcher === null) return;
    const generation = this.generation;
    this.inflight.add(page);
    try {
      const result = await fetcher(page * this.pageSize, this.pageSize);
      if (generation !== this.generation) return; // a newer query has started
      if (this.stale) {
        this.pages.clear();
        this.stale = false;
      }
      this.pages.set(page, result.items);
      this.total = result.total;
      this.evict();
      this.options.onPage?.(result);
      this.options.onChange?.();
    } catch (error) {
      if (generation === this.generation) {
        // The previous query's rows do not stand for a query that failed.
        if (this.stale) {
          this.pages.clear();
          this.stale = false;
          this.total = null;
          this.options.onChange?.();
        }
        this.options.onError?.(error);
      }
    } finally {
      if (generation === this.generation) this.inflight.delete(page);
    }
  }

  private evict(): void {
    if (this.pages.size <= this.maxPages) return;
    const byDistance = [...this.pages.keys()].sort(
      (a, b) => Math.abs(b - this.lastWanted) - Math.abs(a - this.lastWanted),
    );
    for (const page of byDistance) {
      if (this.pages.size <= this.maxPages) break;
      this.pages.delete(page);
    }
  }
}
