// @vitest-environment jsdom
import { fireEvent, render, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as ipc from '../lib/ipc';
import { session } from '../lib/session.svelte';
import { settings, status } from '../test/fixtures';
import { resetStores } from '../test/reset';
import AuditScreen from './AuditScreen.svelte';

vi.mock('../lib/ipc', async (original) => (await import('../test/mock-ipc')).mockIpc(await original()));

const m = vi.mocked(ipc);

const row = (seq: number, action: string, target: string | null): ipc.AuditRow => ({
  seq,
  at: '2025-03-01T10:00:00Z',
  action,
  target,
  outcome: 'ok',
  user: 'dev',
  interface: 'app',
  details: '',
});

function el(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`#${id} is missing`);
  return element;
}

beforeEach(() => {
  vi.clearAllMocks();
  resetStores();
  m.settingsGet.mockResolvedValue(settings());
  session.setStatus(status());
  m.auditActions.mockResolvedValue(['unlock', 'reveal', 'copy']);
  m.auditList.mockImplementation((filter) =>
    Promise.resolve(
      [row(3, 'reveal', 'api/github'), row(2, 'copy', 'api/stripe'), row(1, 'unlock', null)]
        .filter((r) => filter.action === null || r.action === filter.action)
        .filter((r) => filter.credential === null || r.target === filter.credential)
        .slice(0, filter.limit),
    ),
  );
});

describe('the audit screen', () => {
  it('verifies the chain on open and on demand', async () => {
    m.auditVerify.mockResolvedValueOnce({ ok: true, entries: 3, anchored: 3, message: null });
    m.auditVerify.mockResolvedValueOnce({ ok: false, entries: 3, anchored: 3, message: 'entry 2 was modified' });
    render(AuditScreen);
    await waitFor(() => expect(el('audit-verify-status').dataset['ok']).toBe('true'));
    expect(el('audit-verify-status').textContent).toContain('Chain verified: 3 entries');
    await fireEvent.click(el('audit-verify'));
    await waitFor(() => expect(el('audit-verify-status').dataset['ok']).toBe('false'));
    expect(el('audit-verify-status').textContent).toContain('entry 2 was modified');
  });

  it('lists entries newest first and filters them', async () => {
    m.auditVerify.mockResolvedValue({ ok: true, entries: 3, anchored: null, message: null });
    render(AuditScreen);
    await waitFor(() => expect(document.querySelectorAll('#audit-table tr[data-action]')).toHaveLength(3));
    expect(document.querySelector('#audit-table tr[data-action]')?.getAttribute('data-target')).toBe('api/github');
    await waitFor(() => expect((el('audit-filter-action') as HTMLSelectElement).options.length).toBe(4));
    const select = el('audit-filter-action') as HTMLSelectElement;
    select.value = 'copy';
    await fireEvent.change(select);
    await waitFor(() => expect(document.querySelectorAll('#audit-table tr[data-action]')).toHaveLength(1));
    expect(document.querySelector('#audit-table tr[data-action="copy"]')).not.toBeNull();
    select.value = '';
    await fireEvent.change(select);
    await fireEvent.input(el('audit-filter-credential'), { target: { value: 'api/github' } });
    await waitFor(() => expect(document.querySelectorAll('#audit-table tr[data-action]')).toHaveLength(1));
    expect(m.auditList).toHaveBeenLastCalledWith(expect.objectContaining({ credential: 'api/github', limit: 100 }));
  });
});
