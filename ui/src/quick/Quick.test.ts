// @vitest-environment jsdom
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { FindQuery } from '../lib/contract';
import { API_KEY_SCHEMA, DB_SCHEMA, FACETS, summary } from '../test/fixtures';
import Quick from './Quick.svelte';
import * as ipc from './ipc';

vi.mock('./ipc', () => ({
  kindSchemas: vi.fn(),
  credentialFind: vi.fn(),
  credentialCopy: vi.fn(),
  closeWindow: vi.fn(),
}));

const m = vi.mocked(ipc);
const ALL = [summary('aws/prod/api'), summary('db/prod/orders', 'ok', { kind: 'db-password' }), summary('db/dev/orders', 'ok', { kind: 'db-password' })];

beforeEach(() => {
  vi.clearAllMocks();
  m.kindSchemas.mockResolvedValue([API_KEY_SCHEMA, DB_SCHEMA]);
  m.credentialFind.mockImplementation((q: FindQuery) => {
    const items = ALL.filter((c) => c.name.includes(q.query));
    return Promise.resolve({ total: items.length, items: items.slice(0, q.limit), facets: FACETS, folders: [] });
  });
  m.credentialCopy.mockResolvedValue(30);
  m.closeWindow.mockResolvedValue(undefined);
});

describe('the quick-search window', () => {
  it('finds as you type, Enter copies the main secret of the chosen row and the window closes', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    render(Quick);
    const box = screen.getByRole('combobox', { name: 'Find a credential' });
    await fireEvent.input(box, { target: { value: 'orders' } });
    await waitFor(() => expect(screen.getAllByRole('option')).toHaveLength(2));
    expect(m.credentialFind).toHaveBeenLastCalledWith(expect.objectContaining({ query: 'orders', limit: 8, offset: 0 }));
    await fireEvent.keyDown(window, { key: 'ArrowDown' });
    expect(screen.getAllByRole('option')[1]?.getAttribute('aria-selected')).toBe('true');
    await fireEvent.keyDown(window, { key: 'Enter' });
    await waitFor(() => expect(m.credentialCopy).toHaveBeenCalledWith('db/dev/orders', 'password'));
    expect(screen.getByRole('status').textContent).toContain('clears in 30 s');
    vi.advanceTimersByTime(700);
    expect(m.closeWindow).toHaveBeenCalledTimes(1);
    vi.useRealTimers();
  });

  it('copies the user with Ctrl+B, and says so when a kind has none', async () => {
    render(Quick);
    const box = screen.getByRole('combobox', { name: 'Find a credential' });
    await fireEvent.input(box, { target: { value: 'db/prod' } });
    await waitFor(() => expect(screen.getAllByRole('option')).toHaveLength(1));
    await fireEvent.keyDown(window, { key: 'b', ctrlKey: true });
    await waitFor(() => expect(m.credentialCopy).toHaveBeenCalledWith('db/prod/orders', 'user'));
    m.credentialCopy.mockClear();
    await fireEvent.input(box, { target: { value: 'aws' } });
    await waitFor(() => expect(screen.getAllByRole('option')[0]?.dataset['name']).toBe('aws/prod/api'));
    await fireEvent.keyDown(window, { key: 'b', ctrlKey: true });
    // The API key's template has a key id, which counts as its user.
    await waitFor(() => expect(m.credentialCopy).toHaveBeenCalledWith('aws/prod/api', 'key_id'));
  });

  it('closes on Escape without copying, and shows a refused copy', async () => {
    render(Quick);
    await waitFor(() => expect(screen.getAllByRole('option')).toHaveLength(3));
    m.credentialCopy.mockRejectedValue({ code: 'failure', message: 'too many secret values asked for at once' });
    await fireEvent.keyDown(window, { key: 'Enter' });
    await waitFor(() => expect(screen.getByRole('status').textContent).toContain('too many secret values asked for at once'));
    expect(m.closeWindow).not.toHaveBeenCalled();
    await fireEvent.keyDown(window, { key: 'Escape' });
    expect(m.closeWindow).toHaveBeenCalledTimes(1);
  });

  it('says when nothing matches', async () => {
    render(Quick);
    const box = screen.getByRole('combobox', { name: 'Find a credential' });
    await fireEvent.input(box, { target: { value: 'nothing-like-this' } });
    await waitFor(() => expect(screen.getByRole('status').textContent).toContain('Nothing matches'));
  });
});
