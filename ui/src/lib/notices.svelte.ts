// The one notice area (#toast): a short confirmation ("Copied; …") or an
// error in words. One notice at a time; a new one replaces the old. A
// confirmation's clock stops while the pointer or focus is on it; every
// notice goes when the vault locks or the person changes screen (it belongs
// to the moment it was said in).

import { describeError } from './ipc';

export type Notice = { id: number; tone: 'info' | 'error'; text: string };

const INFO_MS = 6000;

class Notices {
  current = $state<Notice | null>(null);
  private counter = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The confirmation's time left while paused, and when its clock restarted. */
  private left: number | null = null;
  private since = 0;
  private paused = false;

  /** A passing confirmation; it goes away by itself. */
  info(text: string, ms = INFO_MS): void {
    this.show('info', text, ms);
  }

  /** An error, in words (never JSON); it stays until dismissed or replaced. */
  error(error: unknown): void {
    this.show('error', typeof error === 'string' ? error : describeError(error), null);
  }

  dismiss(): void {
    this.clearTimer();
    this.left = null;
    this.current = null;
  }

  /** The pointer or focus is on the notice: its clock stops. */
  pause(): void {
    this.paused = true;
    if (this.timer === null || this.left === null) return;
    this.clearTimer();
    this.left = Math.max(0, this.left - (Date.now() - this.since));
  }

  /** …and starts again with the time it had left. */
  resume(): void {
    this.paused = false;
    if (this.current === null || this.left === null || this.timer !== null) return;
    this.start(this.current.id, this.left);
  }

  private show(tone: Notice['tone'], text: string, ms: number | null): void {
    this.clearTimer();
    this.counter += 1;
    const id = this.counter;
    this.current = { id, tone, text };
    this.left = ms;
    if (ms !== null && !this.paused) this.start(id, ms);
  }

  private start(id: number, ms: number): void {
    this.since = Date.now();
    this.left = ms;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.current?.id === id) {
        this.current = null;
        this.left = null;
      }
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

export const notices = new Notices();
