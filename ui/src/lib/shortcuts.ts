// Keyboard shortcuts, kept free of the DOM so they can be unit-tested.

/** The parts of a KeyboardEvent the shortcuts look at. */
export type KeyPress = {
  key: string;
  /** The physical key ("KeyL", "Digit1"), the same on every layout. */
  code: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
};

/**
 * Ctrl+<letter>, or Cmd+<letter> on macOS, with no other modifier. The
 * letter as typed on a Latin layout (so Dvorak's L is L); on a layout whose
 * keys type no Latin letter (Cyrillic, Greek…) the key where QWERTY has it.
 */
function primaryWith(press: KeyPress, letter: string): boolean {
  const primary = press.ctrlKey !== press.metaKey; // exactly one of Ctrl / Cmd
  if (!primary || press.altKey || press.shiftKey) return false;
  const typed = press.key.toLowerCase();
  if (/^[a-z]$/.test(typed)) return typed === letter;
  return press.code === `Key${letter.toUpperCase()}`;
}

/** Ctrl+L / Cmd+L: lock the vault. */
export function isLockShortcut(press: KeyPress): boolean {
  return primaryWith(press, 'l');
}

/** Ctrl+K / Cmd+K: jump to the search box. */
export function isSearchShortcut(press: KeyPress): boolean {
  return primaryWith(press, 'k');
}

/**
 * Alt+1 … Alt+5: the screen at that place in the navigation (1-based), else
 * null. By the physical key: on AZERTY the top row types "&é\"'(" and on
 * macOS Alt+1 types "¡", yet the keys are the same.
 */
export function screenShortcut(press: KeyPress): number | null {
  if (!press.altKey || press.ctrlKey || press.metaKey || press.shiftKey) return null;
  const digit = /^(?:Digit|Numpad)([1-5])$/.exec(press.code);
  return digit?.[1] === undefined ? null : Number(digit[1]);
}
