// The one notice area (#toast): a short confirmation ("Copied; …") or an
// error in words. One notice at a time; a new one replaces the old.

import { describeError } from './ipc';

export type Notice = { id: number; tone: 'info' | 'error'; text: string };

const INFO_MS = 6000;

class Notices {
  current = $state<Notice | null>(null);
  private counter = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

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
    this.current = null;
  }

  private show(tone: Notice['tone'], text: string, ms: number | null): void {
    this.clearTimer();
    this.counter += 1;
    const id = this.counter;
    this.current = { id, tone, text };
    if (ms !== null) {
      this.timer = setTimeout(() => {
        if (this.current?.id === id) this.current = null;
      }, ms);
    }
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

export const notices = new Notices();
