// Throttle and debounce, on the global timers so tests can fake them.

/**
 * Call `fn` at most once per `intervalMs`, on the leading edge: the first call
 * goes through at once, the following ones inside the interval are dropped.
 */
export function throttle<A extends unknown[]>(fn: (...args: A) => void, intervalMs: number): (...args: A) => void {
  let last = -Infinity;
  return (...args: A) => {
    const now = Date.now();
    if (now - last < intervalMs) return;
    last = now;
    fn(...args);
  };
}

export type Debounced<A extends unknown[]> = {
  (...args: A): void;
  /** Drop a pending call. */
  cancel(): void;
};

/** Call `fn` once `delayMs` after the last call, with that call's arguments. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, delayMs: number): Debounced<A> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const debounced = (...args: A) => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn(...args);
    }, delayMs);
  };
  debounced.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  return debounced;
}

/**
 * Request numbering: take a ticket before an async call, and accept the
 * answer only if no later ticket was taken meanwhile.
 */
export class Latest {
  private current = 0;

  next(): number {
    this.current += 1;
    return this.current;
  }

  isCurrent(ticket: number): boolean {
    return ticket === this.current;
  }

  /** Make every outstanding ticket stale. */
  invalidate(): void {
    this.current += 1;
  }
}

/** The attribute a list carries with the time its latest answer was shown. */
export const SHOWN_AT = 'data-shown-at';

/**
 * Stamp `el` with the time (performance.now()) a list answer is on screen;
 * bench/app.py reads it to measure start-up and keystroke-to-list latency
 * from outside. One attribute, overwritten: nothing grows while the app
 * runs. (Not User Timing marks: WebKitGTK's web process crashed after a few
 * thousand performance.mark calls.)
 */
export function stampShown(el: Element | null): void {
  if (el === null) return;
  if (document.visibilityState !== 'hidden') {
    el.setAttribute(SHOWN_AT, String(performance.now()));
    return;
  }
  // The window is not on screen yet (the main window is shown once its page
  // has loaded): the answer is shown when the window is.
  document.addEventListener('visibilitychange', () => stampShown(el), { once: true });
}
