// In-app zoom (Ctrl/Cmd with +, - or 0): the root text size, which the
// layout is measured in (rem), so text, fields and the list's rows grow
// together. Kept between runs in the web view's storage (it is not secret).

import type { KeyPress } from './shortcuts';

const STEPS = [0.8, 0.9, 1, 1.1, 1.25, 1.5, 1.75, 2] as const;
const KEY = 'coffer.zoom';

class Zoom {
  level = $state(1);

  constructor() {
    const saved = Number(globalThis.localStorage?.getItem(KEY) ?? '1');
    this.set(STEPS.some((s) => s === saved) ? saved : 1, false);
  }

  /** The root's text size in pixels at this level. */
  get remPx(): number {
    void this.level;
    const px = parseFloat(getComputedStyle(document.documentElement).fontSize);
    return px > 0 ? px : 16 * this.level;
  }

  step(by: 1 | -1): void {
    const at = STEPS.findIndex((s) => s === this.level);
    const next = STEPS[Math.min(STEPS.length - 1, Math.max(0, (at < 0 ? 2 : at) + by))];
    if (next !== undefined) this.set(next);
  }

  reset(): void {
    this.set(1);
  }

  private set(level: number, save = true): void {
    document.documentElement.style.fontSize = level === 1 ? '' : `${Math.round(level * 100)}%`;
    this.level = level;
    if (save) globalThis.localStorage?.setItem(KEY, String(level));
  }
}

export const zoom = new Zoom();

/** Ctrl/Cmd with = or + (in), - (out), 0 (back to 100 %), by the physical key too. */
export function zoomShortcut(press: KeyPress): 'in' | 'out' | 'reset' | null {
  if (press.ctrlKey === press.metaKey || press.altKey) return null;
  if (press.key === '=' || press.key === '+' || press.code === 'Equal' || press.code === 'NumpadAdd') return 'in';
  if (press.key === '-' || press.code === 'Minus' || press.code === 'NumpadSubtract') return 'out';
  if (press.key === '0' || press.code === 'Digit0' || press.code === 'Numpad0') return 'reset';
  return null;
}
