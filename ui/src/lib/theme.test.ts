// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { theme } from './theme.svelte';

describe('the theme', () => {
  it('follows the choice, kept in storage, and marks the page', () => {
    theme.start();
    expect(theme.choice).toBe('system');
    expect(document.documentElement.dataset['theme']).toBe('light');
    theme.set('dark');
    expect(document.documentElement.dataset['theme']).toBe('dark');
    expect(localStorage.getItem('coffer.theme')).toBe('dark');
    theme.start();
    expect(theme.choice).toBe('dark');
    theme.set('system');
    expect(document.documentElement.dataset['theme']).toBe('light');
  });
});
