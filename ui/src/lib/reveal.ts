// How long a revealed secret stays on screen. The value itself is never held
// here: the component keeps it and clears it when `onHide` runs.

export class RevealTimer {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private deadline = 0;
  private readonly onHide: () => void;
  private readonly onTick: ((secondsLeft: number) => void) | undefined;

  constructor(onHide: () => void, onTick?: (secondsLeft: number) => void) {
    this.onHide = onHide;
    this.onTick = onTick;
  }

  get active(): boolean {
    return this.timer !== null;
  }

  /** Seconds until the value hides (0 when nothing is shown). */
  secondsLeft(): number {
    if (this.timer === null) return 0;
    return Math.max(0, Math.ceil((this.deadline - Date.now()) / 1000));
  }

  /** Start the countdown (restarting it if one runs). */
  start(seconds: number): void {
    this.clear();
    const ms = Math.max(1, seconds) * 1000;
    this.deadline = Date.now() + ms;
    this.timer = setTimeout(() => this.hide(), ms);
    if (this.onTick !== undefined) {
      const tick = this.onTick;
      tick(this.secondsLeft());
      this.ticker = setInterval(() => tick(this.secondsLeft()), 1000);
    }
  }

  /** Hide now (the value goes, the callback runs). */
  hide(): void {
    const wasActive = this.timer !== null;
    this.clear();
    if (wasActive) this.onHide();
  }

  /** Stop without calling back (the component is going away anyway). */
  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.ticker !== null) clearInterval(this.ticker);
    this.timer = null;
    this.ticker = null;
  }
}

/** What a masked value shows. */
export const MASK = '••••••••';
