// Auto-lock after a period without input.
//
// Activity only records a timestamp (mousemove fires often); one timer checks
// at the deadline and, if something happened meanwhile, waits for the rest.

export const ACTIVITY_EVENTS = ['keydown', 'mousedown', 'mousemove', 'wheel', 'touchstart'] as const;

export class IdleTimer {
  private timeoutMs: number;
  private readonly onIdle: () => void;
  private last = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(timeoutMs: number, onIdle: () => void) {
    this.timeoutMs = timeoutMs;
    this.onIdle = onIdle;
  }

  get running(): boolean {
    return this.timer !== null;
  }

  /** Start (or restart) counting from now. */
  start(): void {
    this.last = Date.now();
    this.schedule(this.timeoutMs);
  }

  /** The person did something: push the deadline back. */
  activity(): void {
    this.last = Date.now();
  }

  /** Change the timeout; the count keeps its start. */
  setTimeoutMs(timeoutMs: number): void {
    this.timeoutMs = timeoutMs;
    if (this.timer !== null) this.schedule(Math.max(0, this.last + timeoutMs - Date.now()));
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(delay: number): void {
    this.stop();
    this.timer = setTimeout(() => this.check(), delay);
  }

  private check(): void {
    const idleFor = Date.now() - this.last;
    if (idleFor >= this.timeoutMs) {
      this.timer = null;
      this.onIdle();
    } else {
      this.schedule(this.timeoutMs - idleFor);
    }
  }
}

/** Minutes to milliseconds, with a sane floor for bad settings (at least one minute). */
export function autoLockMs(minutes: number): number {
  const safe = Number.isFinite(minutes) && minutes >= 1 ? minutes : 1;
  return Math.round(safe * 60_000);
}
