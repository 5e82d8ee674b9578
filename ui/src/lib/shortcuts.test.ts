import { describe, expect, it } from 'vitest';
import { isLockShortcut, isSearchShortcut, screenShortcut, type KeyPress } from './shortcuts';

/** A press on a US layout, unless `mods` says which physical key. */
function press(key: string, mods: Partial<Omit<KeyPress, 'key'>> = {}): KeyPress {
  const code = /^[0-9]$/.test(key) ? `Digit${key}` : `Key${key.toUpperCase()}`;
  return { key, code, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...mods };
}

describe('isLockShortcut', () => {
  it('matches Ctrl+L and Cmd+L', () => {
    expect(isLockShortcut(press('l', { ctrlKey: true }))).toBe(true);
    expect(isLockShortcut(press('l', { metaKey: true }))).toBe(true);
    expect(isLockShortcut(press('L', { ctrlKey: true }))).toBe(true);
  });

  it('ignores a bare L and other keys', () => {
    expect(isLockShortcut(press('l'))).toBe(false);
    expect(isLockShortcut(press('k', { ctrlKey: true }))).toBe(false);
  });

  it('ignores extra modifiers', () => {
    expect(isLockShortcut(press('l', { ctrlKey: true, shiftKey: true }))).toBe(false);
    expect(isLockShortcut(press('l', { ctrlKey: true, altKey: true }))).toBe(false);
    expect(isLockShortcut(press('l', { ctrlKey: true, metaKey: true }))).toBe(false);
  });
});

describe('isSearchShortcut', () => {
  it('matches Ctrl+K and Cmd+K only', () => {
    expect(isSearchShortcut(press('k', { ctrlKey: true }))).toBe(true);
    expect(isSearchShortcut(press('K', { metaKey: true }))).toBe(true);
    expect(isSearchShortcut(press('k'))).toBe(false);
    expect(isSearchShortcut(press('l', { ctrlKey: true }))).toBe(false);
    expect(isSearchShortcut(press('k', { ctrlKey: true, altKey: true }))).toBe(false);
  });
});

describe('screenShortcut', () => {
  it('maps Alt+1…5 to nav positions', () => {
    expect(screenShortcut(press('1', { altKey: true }))).toBe(1);
    expect(screenShortcut(press('5', { altKey: true }))).toBe(5);
    expect(screenShortcut(press('6', { altKey: true }))).toBeNull();
    expect(screenShortcut(press('1'))).toBeNull();
    expect(screenShortcut(press('1', { altKey: true, ctrlKey: true }))).toBeNull();
  });

  it('goes by the physical key, so every layout and OS gets them', () => {
    // AZERTY's top row, macOS's Alt+digit, the numeric keypad.
    expect(screenShortcut(press('&', { altKey: true, code: 'Digit1' }))).toBe(1);
    expect(screenShortcut(press('¡', { altKey: true, code: 'Digit1' }))).toBe(1);
    expect(screenShortcut(press('3', { altKey: true, code: 'Numpad3' }))).toBe(3);
    expect(screenShortcut(press('1', { altKey: true, code: 'KeyQ' }))).toBeNull();
  });
});

describe('letters on other layouts', () => {
  it('uses the letter typed on Latin layouts and the QWERTY key elsewhere', () => {
    // Dvorak: the key typing "l" is QWERTY's P.
    expect(isLockShortcut(press('l', { ctrlKey: true, code: 'KeyP' }))).toBe(true);
    expect(isLockShortcut(press('p', { ctrlKey: true, code: 'KeyL' }))).toBe(false);
    // Russian: Ctrl+Д on the L key.
    expect(isLockShortcut(press('д', { ctrlKey: true, code: 'KeyL' }))).toBe(true);
    expect(isSearchShortcut(press('л', { ctrlKey: true, code: 'KeyK' }))).toBe(true);
  });
});
