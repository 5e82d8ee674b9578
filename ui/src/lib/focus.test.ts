// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { focusHeading, focusNewHeading } from './focus';

afterEach(() => {
  document.body.innerHTML = '';
});

describe('focus', () => {
  it("focuses the screen's heading, made focusable", () => {
    document.body.innerHTML = '<main id="screen"><h1>Settings</h1></main>';
    expect(focusHeading()).toBe(true);
    expect(document.activeElement?.textContent).toBe('Settings');
    expect(document.activeElement?.getAttribute('tabindex')).toBe('-1');
  });

  it('waits for the heading of a screen whose code is still loading', async () => {
    document.body.innerHTML = '<main id="screen"></main>';
    const focused = focusNewHeading();
    setTimeout(() => {
      document.getElementById('screen')!.innerHTML = '<h1>Audit trail</h1>';
    }, 35);
    expect(await focused).toBe(true);
    expect(document.activeElement?.textContent).toBe('Audit trail');
  });

  it('gives up after half a second when no heading comes', async () => {
    document.body.innerHTML = '<main id="screen"></main>';
    const started = Date.now();
    expect(await focusNewHeading()).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
  });
});
