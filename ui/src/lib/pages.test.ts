import { describe, expect, it, vi } from 'vitest';
import { PagedList, type Page } from './pages';

type Deferred<T> = { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void };

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function rows(offset: number, limit: number, total: number, tag = ''): Page<string> {
  const items: string[] = [];
  for (let i = offset; i < Math.min(offset + limit, total); i += 1) items.push(`${tag}${i}`);
  return { total, items };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('PagedList', () => {
  it('loads the first page on reset and knows the total', async () => {
    const list = new PagedList<string>({ pageSize: 100 });
    const fetcher = vi.fn((offset: number, limit: number) => Promise.resolve(rows(offset, limit, 1000)));
    list.reset(fetcher);
    expect(list.total).toBeNull();
    await flush();
    expect(fetcher).toHaveBeenCalledWith(0, 100);
    expect(list.total).toBe(1000);
    expect(list.item(0)).toBe('0');
    expect(list.item(99)).toBe('99');
    expect(list.item(100)).toBeUndefined();
  });

  it('fetches only missing pages, once, as the window moves', async () => {
    const list = new PagedList<string>({ pageSize: 100 });
    const fetcher = vi.fn((offset: number, limit: number) => Promise.resolve(rows(offset, limit, 100_000)));
    list.reset(fetcher);
    await flush();
    list.ensure(90, 120);
    list.ensure(95, 125); // page 1 already on its way
    await flush();
    expect(fetcher.mock.calls.map(([offset]) => offset)).toEqual([0, 100]);
    list.ensure(50_000, 50_020);
    await flush();
    expect(fetcher).toHaveBeenLastCalledWith(50_000, 100);
    expect(list.item(50_010)).toBe('50010');
  });

  it('does not ask beyond the end', async () => {
    const list = new PagedList<string>({ pageSize: 100 });
    const fetcher = vi.fn((offset: number, limit: number) => Promise.resolve(rows(offset, limit, 150)));
    list.reset(fetcher);
    await flush();
    list.ensure(0, 400);
    await flush();
    expect(fetcher.mock.calls.map(([offset]) => offset)).toEqual([0, 100]);
  });

  it('drops an older query answered after a newer one', async () => {
    const onChange = vi.fn();
    const list = new PagedList<string>({ pageSize: 100, onChange });
    const slow = deferred<Page<string>>();
    const fast = deferred<Page<string>>();
    list.reset(() => slow.promise); // "a"
    list.reset(() => fast.promise); // "ap"
    fast.resolve(rows(0, 100, 3, 'ap-'));
    await flush();
    slow.resolve(rows(0, 100, 500, 'a-'));
    await flush();
    expect(list.total).toBe(3);
    expect(list.item(0)).toBe('ap-0');
  });

  it('reports errors of the current query only', async () => {
    const onError = vi.fn();
    const list = new PagedList<string>({ pageSize: 100, onError });
    const old = deferred<Page<string>>();
    list.reset(() => old.promise);
    list.reset(() => Promise.reject(new Error('now')));
    old.reject(new Error('stale'));
    await flush();
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError.mock.calls[0]?.[0]).toEqual(new Error('now'));
  });

  it('keeps the old total on a refresh until the new one arrives', async () => {
    const list = new PagedList<string>({ pageSize: 100 });
    list.reset((offset, limit) => Promise.resolve(rows(offset, limit, 10)));
    await flush();
    const pending = deferred<Page<string>>();
    list.reset(() => pending.promise, 0, true);
    expect(list.total).toBe(10);
    expect(list.item(0)).toBeUndefined();
    pending.resolve(rows(0, 100, 11));
    await flush();
    expect(list.total).toBe(11);
  });

  it('evicts the pages farthest from where the person is', async () => {
    const list = new PagedList<string>({ pageSize: 10, maxPages: 3 });
    list.reset((offset, limit) => Promise.resolve(rows(offset, limit, 1000)));
    await flush();
    for (const start of [100, 200, 300, 310]) {
      list.ensure(start, start + 5);
      await flush();
    }
    expect(list.has(31)).toBe(true);
    expect(list.has(30)).toBe(true);
    expect(list.has(0)).toBe(false);
    expect(list.has(10)).toBe(false);
  });

  it('passes every accepted page to onPage', async () => {
    const onPage = vi.fn();
    const list = new PagedList<string>({ pageSize: 100, onPage });
    list.reset((offset, limit) => Promise.resolve(rows(offset, limit, 5)));
    await flush();
    expect(onPage).toHaveBeenCalledWith(rows(0, 100, 5));
  });

  it('keeps the previous rows on show until a new query answers, then replaces them all', async () => {
    const list = new PagedList<string>({ pageSize: 100 });
    list.reset((offset, limit) => Promise.resolve(rows(offset, limit, 1000, 'old-')));
    await flush();
    list.ensure(0, 250);
    await flush();
    expect(list.pending).toBe(false);
    const answer = deferred<Page<string>>();
    const fetcher = vi.fn(() => answer.promise);
    list.reset(fetcher, 0, true, true);
    // Still the old rows and total, and nothing more asked of the new query.
    expect(list.pending).toBe(true);
    expect(list.total).toBe(1000);
    expect(list.item(0)).toBe('old-0');
    expect(list.item(150)).toBe('old-150');
    list.ensure(0, 250);
    expect(fetcher).toHaveBeenCalledTimes(1);
    answer.resolve(rows(0, 100, 3, 'new-'));
    await flush();
    expect(list.pending).toBe(false);
    expect(list.total).toBe(3);
    expect(list.item(0)).toBe('new-0');
    expect(list.item(150)).toBeUndefined();
  });

  it('a new query with nothing on show yet is pending and empty', () => {
    const list = new PagedList<string>({ pageSize: 100 });
    list.reset(() => new Promise(() => {}), 0, true, true);
    expect(list.pending).toBe(true);
    expect(list.total).toBeNull();
    expect(list.item(0)).toBeUndefined();
  });
});
