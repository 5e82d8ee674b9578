// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { chooseFonts, isLinuxDesktop } from './fonts';

describe('fonts', () => {
  it('takes the generic families on a Linux desktop only', () => {
    expect(isLinuxDesktop('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko)')).toBe(true);
    expect(isLinuxDesktop('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15')).toBe(false);
    expect(isLinuxDesktop('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Edg/120.0')).toBe(false);
    expect(isLinuxDesktop('Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36')).toBe(false);
  });

  it('marks the root element, which app.css reads', () => {
    const root = document.createElement('html');
    chooseFonts(root);
    // jsdom's own user agent names the platform it runs on.
    expect(root.dataset['fonts']).toBe(isLinuxDesktop(navigator.userAgent) ? 'generic' : undefined);
  });
});
