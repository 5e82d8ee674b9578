import { describe, expect, it } from 'vitest';
import { isLockShortcut, isSearchShortcut, screenShortcut, type KeyPress } from './shortcuts';

function press(key: string, mods: Partial<Omit<KeyPress, 'key'>> = {}): KeyPress {
  return { key, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...mods };
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
});
