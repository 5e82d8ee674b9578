// @vitest-environment jsdom
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as ipc from '../lib/ipc';
import { session } from '../lib/session.svelte';
import { status, summary } from '../test/fixtures';
import { resetStores } from '../test/reset';
import RotationDashboard from './RotationDashboard.svelte';

vi.mock('../lib/ipc', async (original) => (await import('../test/mock-ipc')).mockIpc(await original()));

const m = vi.mocked(ipc);

function lease(over: Partial<ipc.LeaseView>): ipc.LeaseView {
  return {
    credential: 'db/ro',
    remote: 'bao',
    path: 'database/creds/ro',
    issuedAt: '2026-12-06T10:00:00Z',
    expiresAt: '2026-12-06T10:05:00Z',
    held: true,
    pid: 4242,
    ...over,
  };
}

beforeEach(() => {
  vi.clearAllMocks();
  vi.useFakeTimers({ shouldAdvanceTime: true, now: Date.parse('2026-12-06T10:01:00Z') });
  resetStores();
  session.setStatus(status());
  m.credentialFind.mockResolvedValue({ items: [], total: 0, facets: null } as unknown as ipc.FindPage);
  m.rotationRunning.mockResolvedValue([]);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('the rotation dashboard', () => {
  it('shows no lease panel when no lease is recorded', async () => {
    m.leasesList.mockResolvedValue([]);
    render(RotationDashboard);
    await waitFor(() => expect(m.leasesList).toHaveBeenCalled());
    expect(document.getElementById('leases')).toBeNull();
  });

  it('lists held leases and counts down the ones left behind', async () => {
    m.leasesList.mockResolvedValue([
      lease({}),
      lease({ credential: 'db/old', held: false, pid: 1, expiresAt: '2026-12-06T10:04:07Z' }),
    ]);
    render(RotationDashboard);
    const panel = await waitFor(() => {
      const el = document.getElementById('leases');
      if (el === null) throw new Error('no lease panel');
      return el;
    });
    const held = panel.querySelector('[data-credential="db/ro"]');
    expect(held?.textContent).toContain('held by coffer exec (pid 4242)');
    expect(held?.querySelector('.countdown')).toBeNull();
    const left = panel.querySelector('[data-credential="db/old"]');
    expect(left?.textContent).toContain('left behind');
    expect(left?.textContent).toContain('coffer status --revoke-leases');
    expect(left?.querySelector('.countdown')?.textContent).toBe('ends in 3:07');
    await vi.advanceTimersByTimeAsync(2000);
    await waitFor(() => expect(left?.querySelector('.countdown')?.textContent).toBe('ends in 3:05'));
  });

  it('orders by severity, so a compromised credential whose name sorts last among 600 is first', async () => {
    m.leasesList.mockResolvedValue([]);
    const due = Array.from({ length: 600 }, (_, i) => summary(`a/${String(i).padStart(3, '0')}`, 'due_soon'));
    m.credentialFind.mockImplementation((query) => {
      const state = query.states[0];
      const all = state === 'due_soon' ? due : state === 'compromised' ? [summary('zzz/leaked', 'compromised')] : [];
      return Promise.resolve({ items: all.slice(query.offset, query.offset + query.limit), total: all.length, facets: null } as unknown as ipc.FindPage);
    });
    render(RotationDashboard);
    const groups = await waitFor(() => {
      const found = [...document.querySelectorAll('[data-group]')].map((g) => g.getAttribute('data-group'));
      if (found.length < 2) throw new Error('not loaded');
      return found;
    });
    expect(groups).toEqual(['compromised', 'due_soon']);
    const dueSoon = document.querySelector('[data-group="due_soon"]');
    expect(dueSoon?.querySelectorAll('li').length).toBe(200);
    expect(dueSoon?.textContent).toContain('600 credentials');
    // The name opens the credential; "See all" keeps the group's own filter.
    await fireEvent.click(screen.getByRole('button', { name: 'zzz/leaked' }));
    expect(session.route).toMatchObject({ screen: 'credentials', pane: { mode: 'view', name: 'zzz/leaked' } });
    await fireEvent.click(screen.getByRole('button', { name: 'See all 600 in the list' }));
    expect(session.filters.rotation).toBe('due_soon');
  });
});
