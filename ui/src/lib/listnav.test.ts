import { describe, expect, it } from 'vitest';
import { isListKey, moveCursor } from './listnav';

describe('moveCursor', () => {
  it('moves one row with the arrows and stops at the ends', () => {
    expect(moveCursor('ArrowDown', 0, 10, 5)).toBe(1);
    expect(moveCursor('ArrowDown', 9, 10, 5)).toBe(9);
    expect(moveCursor('ArrowUp', 3, 10, 5)).toBe(2);
    expect(moveCursor('ArrowUp', 0, 10, 5)).toBe(0);
  });

  it('starts at the first row when there is no cursor yet', () => {
    expect(moveCursor('ArrowDown', -1, 10, 5)).toBe(0);
    expect(moveCursor('ArrowUp', -1, 10, 5)).toBe(0);
    expect(moveCursor('PageDown', -1, 10, 5)).toBe(5);
  });

  it('jumps to the ends with Home and End', () => {
    expect(moveCursor('Home', 7, 100_000, 5)).toBe(0);
    expect(moveCursor('End', 7, 100_000, 5)).toBe(99_999);
  });

  it('moves a page with PageUp and PageDown', () => {
    expect(moveCursor('PageDown', 10, 100, 12)).toBe(22);
    expect(moveCursor('PageDown', 95, 100, 12)).toBe(99);
    expect(moveCursor('PageUp', 10, 100, 12)).toBe(0);
    expect(moveCursor('PageUp', 50, 100, 12)).toBe(38);
  });

  it('has nowhere to go in an empty list', () => {
    expect(moveCursor('ArrowDown', -1, 0, 5)).toBeNull();
  });

  it('pulls a cursor left beyond a shrunken list back in', () => {
    expect(moveCursor('ArrowUp', 50, 10, 5)).toBe(8);
  });
});

describe('isListKey', () => {
  it('knows the navigation keys', () => {
    expect(isListKey('PageDown')).toBe(true);
    expect(isListKey('Enter')).toBe(false);
  });
});
