// @vitest-environment jsdom
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetStores } from '../test/reset';
import SecretValue from './SecretValue.svelte';

beforeEach(() => {
  resetStores();
  vi.useFakeTimers({ shouldAdvanceTime: true });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('a secret value', () => {
  it('is named while masked and says when it shows and hides', async () => {
    render(SecretValue, { field: 'key', label: 'API key', seconds: 5, reveal: () => Promise.resolve('s3cr3t-value') });
    expect(screen.getByText('API key: hidden')).toBeTruthy();
    expect(document.getElementById('value-key')?.getAttribute('aria-hidden')).toBe('true');
    await fireEvent.click(screen.getByRole('button', { name: 'Reveal API key' }));
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('API key shown for 5 seconds.'));
    expect(document.getElementById('value-key')?.getAttribute('aria-hidden')).toBe('false');
    expect(screen.queryByText('API key: hidden')).toBeNull();
    await vi.advanceTimersByTimeAsync(6000);
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('API key hidden.'));
    expect(document.getElementById('value-key')?.textContent).not.toContain('s3cr3t');
  });
});
