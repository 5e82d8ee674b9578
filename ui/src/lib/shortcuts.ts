// Keyboard shortcuts, kept free of the DOM so they can be unit-tested.

/** The parts of a KeyboardEvent the shortcuts look at. */
export type KeyPress = {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
};

/** Ctrl+<letter>, or Cmd+<letter> on macOS, with no other modifier. */
function primaryWith(press: KeyPress, letter: string): boolean {
  const primary = press.ctrlKey !== press.metaKey; // exactly one of Ctrl / Cmd
  return primary && !press.altKey && !press.shiftKey && press.key.toLowerCase() === letter;
}

/** Ctrl+L / Cmd+L: lock the vault. */
export function isLockShortcut(press: KeyPress): boolean {
  return primaryWith(press, 'l');
}

/** Ctrl+K / Cmd+K: jump to the search box. */
export function isSearchShortcut(press: KeyPress): boolean {
  return primaryWith(press, 'k');
}

/** Alt+1 … Alt+5: the screen at that place in the navigation (1-based), else null. */
export function screenShortcut(press: KeyPress): number | null {
  if (!press.altKey || press.ctrlKey || press.metaKey || press.shiftKey) return null;
  return /^[1-5]$/.test(press.key) ? Number(press.key) : null;
}
