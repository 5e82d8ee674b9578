// Keyboard shortcuts, kept free of the DOM so they can be unit-tested.

/** The parts of a KeyboardEvent the shortcuts look at. */
export type KeyPress = {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
};

/** Ctrl+L, or Cmd+L on macOS, with no other modifier. */
export function isLockShortcut(press: KeyPress): boolean {
  const primary = press.ctrlKey !== press.metaKey; // exactly one of Ctrl / Cmd
  return primary && !press.altKey && !press.shiftKey && press.key.toLowerCase() === 'l';
}
