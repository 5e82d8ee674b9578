// The one notice area (#toast): a short confirmation ("Copied; …") or an
// error in words. One notice at a time; a new one replaces the old. A
// confirmation's clock stops while the pointer or focus is on it; every
// notice goes when the vault locks or the person changes screen (it belongs
// to the moment it was said in). A confirmation may carry one action (the
// Undo of a delete): a button on the notice, run at most once.

import { describeError } from './ipc';

/** What a notice's button does. `undo` lets Ctrl/Cmd+Z run it too. */
export type NoticeAction = {
  label: string;
  run: () => void | Promise<void>;
  undo?: boolean;
};

export type Notice = { id: number; tone: 'info' | 'error'; text: string; action?: NoticeAction };

const INFO_MS = 6000;

class Notices {
  current = $state<Notice | null>(null);
  private counter = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The confirmation's time left while paused, and when its clock restarted. */
  private left: number | null = null;
  private since = 0;
  private paused = false;

  /** A passing confirmation; it goes away by itself (with its action, if any). */
  info(text: string, ms = INFO_MS, action?: NoticeAction): void {
    this.show('info', text, ms, action);
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

  /**
   * Runs the current notice's action and dismisses the notice, so the action
   * runs once however it is asked for (button, shortcut, double click). With
   * `id`, only if that notice is still the current one. A failure of the
   * action becomes the next notice. Returns whether an action ran.
   */
  runAction(id?: number): boolean {
    const notice = this.current;
    if (notice?.action === undefined || (id !== undefined && notice.id !== id)) return false;
    const action = notice.action;
    this.dismiss();
    new Promise<void>((resolve) => resolve(action.run())).catch((error: unknown) => this.error(error));
    return true;
  }

  /** Whether the current notice offers an undo (for Ctrl/Cmd+Z). */
  get undoable(): boolean {
    return this.current?.action?.undo === true;
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

  private show(tone: Notice['tone'], text: string, ms: number | null, action?: NoticeAction): void {
    this.clearTimer();
    this.counter += 1;
    const id = this.counter;
    this.current = action === undefined ? { id, tone, text } : { id, tone, text, action };
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
