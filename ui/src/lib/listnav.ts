// Keyboard movement in a list: which index a key moves the cursor to.

export type ListKey = 'ArrowDown' | 'ArrowUp' | 'Home' | 'End' | 'PageDown' | 'PageUp';

const KEYS: readonly string[] = ['ArrowDown', 'ArrowUp', 'Home', 'End', 'PageDown', 'PageUp'];

export function isListKey(key: string): key is ListKey {
  return KEYS.includes(key);
}

/**
 * The index `key` moves the cursor to in a list of `total` items, or null when
 * the list is empty. `current` may be -1 (no cursor yet): Down then goes to 0.
 */
export function moveCursor(key: ListKey, current: number, total: number, pageRows: number): number | null {
  if (total <= 0) return null;
  const last = total - 1;
  const from = Math.min(Math.max(current, -1), last);
  const step = Math.max(1, pageRows);
  switch (key) {
    case 'ArrowDown':
      return Math.min(from + 1, last);
    case 'ArrowUp':
      return Math.max(from - 1, 0);
    case 'Home':
      return 0;
    case 'End':
      return last;
    case 'PageDown':
      return Math.min(Math.max(from, 0) + step, last);
    case 'PageUp':
      return Math.max(from - step, 0);
  }
}
