// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { zoom, zoomShortcut } from './zoom.svelte';

const press = (key: string, code: string, mods: { ctrlKey?: boolean; metaKey?: boolean; altKey?: boolean } = { ctrlKey: true }) => ({
  key,
  code,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  shiftKey: false,
  ...mods,
});

afterEach(() => zoom.reset());

describe('in-app zoom', () => {
  it('reads Ctrl/Cmd with +, - and 0, by the key or where it sits', () => {
    expect(zoomShortcut(press('=', 'Equal'))).toBe('in');
    expect(zoomShortcut(press('+', 'NumpadAdd', { metaKey: true }))).toBe('in');
    expect(zoomShortcut(press('ß', 'Minus'))).toBe('out');
    expect(zoomShortcut(press('0', 'Digit0'))).toBe('reset');
    expect(zoomShortcut(press('=', 'Equal', {}))).toBeNull();
    expect(zoomShortcut(press('=', 'Equal', { ctrlKey: true, altKey: true }))).toBeNull();
  });

  it('steps the root text size within bounds and remembers it', () => {
    zoom.step(1);
    expect(zoom.level).toBe(1.1);
    expect(document.documentElement.style.fontSize).toBe('110%');
    expect(localStorage.getItem('coffer.zoom')).toBe('1.1');
    for (let i = 0; i < 20; i += 1) zoom.step(1);
    expect(zoom.level).toBe(2);
    for (let i = 0; i < 20; i += 1) zoom.step(-1);
    expect(zoom.level).toBe(0.8);
    zoom.reset();
    expect(document.documentElement.style.fontSize).toBe('');
  });
});
