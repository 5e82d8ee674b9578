// @vitest-environment jsdom
import { fireEvent, render, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as ipc from '../lib/ipc';
import { session } from '../lib/session.svelte';
import { pageOf, settings, status, summary } from '../test/fixtures';
import { resetStores } from '../test/reset';
import ConfirmDialog from './ConfirmDialog.svelte';
import SyncScreen from './SyncScreen.svelte';

vi.mock('../lib/ipc', async (original) => (await import('../test/mock-ipc')).mockIpc(await original()));

const m = vi.mocked(ipc);

const BAO: ipc.RemoteRow = {
  name: 'bao',
  holds: 'names under team/',
  type: 'vault',
  target: 'http://127.0.0.1:8200',
  mount: 'secret',
  prefix: 'team/',
  authCredential: 'bao-token',
  linked: 2,
};

const item = (name: string, state: ipc.SyncState): ipc.PlanItem => ({
  name,
  state,
  stateText: state.replace('_', ' '),
  detail: null,
  localVersion: 1,
  remoteVersion: '1',
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
  m.remoteList.mockResolvedValue([BAO]);
  m.credentialFind.mockImplementation((query) =>
    Promise.resolve(pageOf(query.kind === 'vault-token' ? 1 : 0, query, () => summary('bao-token', 'ok', { kind: 'vault-token' }))),
  );
});

describe('remotes', () => {
  it('adds a Vault remote after checking it', async () => {
    m.remoteList.mockResolvedValueOnce([]);
    m.remoteAdd.mockResolvedValue(BAO);
    render(SyncScreen);
    await waitFor(() => expect(document.getElementById('remote-add')).not.toBeNull());
    await fireEvent.click(el('remote-add'));
    await fireEvent.input(el('remote-name'), { target: { value: 'bao' } });
    await fireEvent.input(el('remote-addr'), { target: { value: 'http://vault.lan:8200' } });
    await fireEvent.click(el('remote-save'));
    await waitFor(() => expect(el('error-remote-addr').textContent).toMatch(/Allow plain HTTP/));
    expect(m.remoteAdd).not.toHaveBeenCalled();
    await fireEvent.input(el('remote-addr'), { target: { value: 'http://127.0.0.1:8200' } });
    await fireEvent.input(el('remote-prefix'), { target: { value: 'team/' } });
    await waitFor(() => expect([...(el('remote-auth') as HTMLSelectElement).options].map((o) => o.value)).toContain('bao-token'));
    const auth = el('remote-auth') as HTMLSelectElement;
    auth.value = 'bao-token';
    await fireEvent.change(auth);
    await fireEvent.input(el('remote-holds'), { target: { value: 'team/, shared/' } });
    await fireEvent.input(el('remote-holds-tags'), { target: { value: 'team-17' } });
    await fireEvent.click(el('remote-save'));
    await waitFor(() =>
      expect(m.remoteAdd).toHaveBeenCalledWith({
        type: 'vault',
        name: 'bao',
        addr: 'http://127.0.0.1:8200',
        mount: 'secret',
        prefix: 'team/',
        namespace: null,
        scope: { names: ['team/', 'shared/'], tags: ['team-17'] },
        authCredential: 'bao-token',
        insecureHttp: false,
      }),
    );
    await waitFor(() => expect(document.querySelector('[data-remote="bao"]')).not.toBeNull());
  });

  it('edits a remote from its settings; a no in the shell dialog keeps the form', async () => {
    m.remoteGet.mockResolvedValue({
      type: 'vault',
      name: 'bao',
      addr: 'http://127.0.0.1:8200',
      mount: 'secret',
      prefix: 'team/',
      namespace: null,
      scope: { names: ['team/'], tags: ['shared'] },
      authCredential: 'bao-token',
      insecureHttp: false,
    });
    render(SyncScreen);
    await waitFor(() => expect(document.getElementById('remote-edit')).not.toBeNull());
    await fireEvent.click(el('remote-edit'));
    await waitFor(() => expect(m.remoteGet).toHaveBeenCalledWith('bao'));
    await waitFor(() => expect((el('remote-name') as HTMLInputElement).value).toBe('bao'));
    expect(el('remote-form-title').textContent).toBe('Edit the remote bao');
    expect((el('remote-addr') as HTMLInputElement).value).toBe('http://127.0.0.1:8200');
    expect((el('remote-holds') as HTMLInputElement).value).toBe('team/');
    expect((el('remote-holds-tags') as HTMLInputElement).value).toBe('shared');
    expect((el('remote-type') as HTMLSelectElement).disabled).toBe(true);
    await waitFor(() => expect(document.activeElement?.id).toBe('remote-name'));
    await fireEvent.input(el('remote-name'), { target: { value: 'team' } });
    await fireEvent.input(el('remote-holds'), { target: { value: 'team/ shared/' } });
    m.remoteEdit.mockRejectedValueOnce({ code: 'declined', message: 'nothing was changed' });
    await fireEvent.click(el('remote-save'));
    await waitFor(() => expect(m.remoteEdit).toHaveBeenCalledTimes(1));
    expect(document.getElementById('remote-form-error')).toBeNull();
    expect((el('remote-name') as HTMLInputElement).value).toBe('team');
    m.remoteEdit.mockResolvedValueOnce({ ...BAO, name: 'team', holds: 'names under team/, shared/ or tagged shared' });
    m.remoteList.mockResolvedValue([{ ...BAO, name: 'team' }]);
    await fireEvent.click(el('remote-save'));
    await waitFor(() =>
      expect(m.remoteEdit).toHaveBeenLastCalledWith('bao', {
        type: 'vault',
        name: 'team',
        addr: 'http://127.0.0.1:8200',
        mount: 'secret',
        prefix: 'team/',
        namespace: null,
        scope: { names: ['team/', 'shared/'], tags: ['shared'] },
        authCredential: 'bao-token',
        insecureHttp: false,
      }),
    );
    await waitFor(() => expect(document.querySelector('[data-remote="team"]')).not.toBeNull());
    expect(document.getElementById('remote-form-title')).toBeNull();
  });

  it('tests a remote and shows each check', async () => {
    m.remoteTest.mockResolvedValue([
      { name: 'reachable', ok: true, detail: 'OpenBao 2.1' },
      { name: 'write', ok: false, detail: 'permission denied on secret/team/*' },
    ]);
    render(SyncScreen);
    await waitFor(() => expect(document.getElementById('remote-test')).not.toBeNull());
    await fireEvent.click(el('remote-test'));
    await waitFor(() => expect(document.querySelectorAll('#remote-checks [data-ok]')).toHaveLength(2));
    expect(document.querySelector('#remote-checks [data-ok="false"]')?.textContent).toContain('permission denied');
  });

  it('removes a remote after confirmation', async () => {
    m.remoteRemove.mockResolvedValue(undefined);
    render(SyncScreen);
    render(ConfirmDialog);
    await waitFor(() => expect(document.getElementById('remote-remove')).not.toBeNull());
    m.remoteList.mockResolvedValue([]);
    await fireEvent.click(el('remote-remove'));
    await waitFor(() => expect(document.getElementById('confirm-yes')).not.toBeNull());
    await fireEvent.click(el('confirm-yes'));
    await waitFor(() => expect(m.remoteRemove).toHaveBeenCalledWith('bao'));
    await waitFor(() => expect(document.querySelector('[data-remote="bao"]')).toBeNull());
  });
});

describe('sync', () => {
  it('plans, groups the diff, applies with progress and reports', async () => {
    let emit: (p: ipc.SyncProgress) => void = () => {};
    m.onSyncProgress.mockImplementation((handler) => {
      emit = handler;
      return Promise.resolve(() => {});
    });
    m.syncPlan.mockResolvedValue({
      remote: 'bao',
      holds: 'names under team/',
      items: [item('a', 'new_remote'), item('b', 'changed_local'), item('c', 'new_local'), item('d', 'in_sync')],
    });
    let finish: (r: ipc.SyncReport) => void = () => {};
    m.syncApply.mockImplementation(() => new Promise((resolve) => (finish = resolve)));
    render(SyncScreen);
    await waitFor(() => expect(document.getElementById('sync-plan')).not.toBeNull());
    // Nothing runs without a plan.
    expect((el('sync-both') as HTMLButtonElement).disabled).toBe(true);
    expect(el('sync-needs-plan').textContent).toContain('Make a plan first');
    await fireEvent.click(el('sync-plan'));
    // Changes are listed; the one in sync is only counted.
    await waitFor(() => expect(document.querySelectorAll('#plan [data-name][data-state]')).toHaveLength(3));
    expect(el('plan-in-sync').textContent).toContain('1 in sync');
    expect(el('plan').textContent).toContain('1 to pull, 2 to push, 1 in sync');
    expect(document.querySelector('#plan [data-name="a"]')?.getAttribute('data-state')).toBe('new_remote');
    expect(el('sync-pull').textContent).toContain('Pull (1)');
    expect(el('sync-push').textContent).toContain('Push (2)');
    expect(el('sync-both').textContent).toContain('(3)');
    await fireEvent.click(el('sync-prune'));
    expect(document.body.textContent).toContain('Pruning deletes');
    await fireEvent.click(el('sync-both'));
    await waitFor(() => expect(m.syncApply).toHaveBeenCalledWith('bao', 'both', true));
    emit({ remote: 'bao', total: 4, done: 1, name: 'a', outcome: 'pulled' });
    await waitFor(() => expect(el('sync-progress').getAttribute('aria-valuenow')).toBe('25'));
    expect(el('sync-progress').getAttribute('role')).toBe('progressbar');
    emit({ remote: 'other', total: 9, done: 9, name: 'x', outcome: 'pushed' });
    finish({ remote: 'bao', done: [], inSync: 1, pulled: 1, pushed: 2, conflicts: 0, failed: 0 });
    await waitFor(() => expect(el('sync-report').textContent).toContain('pushed 2'));
    expect(el('sync-report').textContent).toContain('pulled 1');
    expect(el('sync-progress').getAttribute('aria-valuenow')).toBe('100');
    await waitFor(() => expect(m.syncPlan).toHaveBeenCalledTimes(2));
  });

  it('shows a conflict side by side and resolves it', async () => {
    m.syncPlan.mockResolvedValueOnce({ remote: 'bao', holds: 'names under team/', items: [item('db', 'conflict')] });
    m.syncPlan.mockResolvedValueOnce({ remote: 'bao', holds: 'names under team/', items: [item('db', 'in_sync')] });
    m.syncConflict.mockResolvedValue({
      name: 'db',
      remote: 'bao',
      local: {
        version: '3',
        updatedAt: '2025-02-01T00:00:00Z',
        fields: [{ name: 'host', label: 'Host', value: 'db.local' }],
        secretFields: [{ name: 'password', label: 'Password', differs: true }],
        deleted: false,
      },
      remoteSide: {
        version: '7',
        updatedAt: '2025-02-02T00:00:00Z',
        fields: [{ name: 'host', label: 'Host', value: 'db.remote' }],
        secretFields: [{ name: 'password', label: 'Password', differs: true }],
        deleted: false,
      },
    });
    m.syncRevealRemote.mockResolvedValue('remote-pw');
    m.credentialReveal.mockResolvedValue('local-pw');
    m.syncResolve.mockResolvedValue({ remote: 'bao', done: [], inSync: 0, pulled: 1, pushed: 0, conflicts: 0, failed: 0 });
    render(SyncScreen);
    await waitFor(() => expect(document.getElementById('sync-plan')).not.toBeNull());
    await fireEvent.click(el('sync-plan'));
    await waitFor(() => expect(document.getElementById('keep-remote')).not.toBeNull());
    expect(el('conflict').textContent).toContain('db.local');
    expect(el('conflict').textContent).toContain('db.remote');
    expect(el('conflict').textContent).toContain('differs');
    await fireEvent.click(el('remote-reveal-password'));
    await waitFor(() => expect(el('remote-value-password').textContent).toBe('remote-pw'));
    expect(m.syncRevealRemote).toHaveBeenCalledWith('bao', 'db', 'password');
    await fireEvent.click(el('local-reveal-password'));
    await waitFor(() => expect(el('local-value-password').textContent).toBe('local-pw'));
    await fireEvent.click(el('keep-remote'));
    await waitFor(() => expect(m.syncResolve).toHaveBeenCalledWith('bao', 'db', 'remote'));
    await waitFor(() => expect(document.getElementById('conflict')).toBeNull());
  });

  it('lists what pruning deletes and asks first; a plan older than the vault is not acted on', async () => {
    m.syncPlan.mockResolvedValue({
      remote: 'bao',
      holds: 'names under team/',
      items: [item('gone-there', 'deleted_remote'), item('gone-here', 'deleted_local'), item('n', 'new_local')],
    });
    render(SyncScreen);
    render(ConfirmDialog);
    await waitFor(() => expect(document.getElementById('sync-plan')).not.toBeNull());
    await fireEvent.click(el('sync-plan'));
    await waitFor(() => expect(el('sync-push').textContent).toContain('Push (1)'));
    await fireEvent.click(el('sync-prune'));
    expect(el('sync-push').textContent).toContain('Push (2)');
    await fireEvent.click(el('sync-push'));
    await waitFor(() => expect(document.getElementById('confirm')).not.toBeNull());
    expect(el('confirm-message').textContent).toContain('Deleted on bao (gone here): gone-here.');
    expect(el('confirm-message').textContent).not.toContain('gone-there');
    await fireEvent.click(el('confirm-no'));
    expect(m.syncApply).not.toHaveBeenCalled();
    // Something changed the vault: plan again first.
    session.changed();
    await waitFor(() => expect((el('sync-push') as HTMLButtonElement).disabled).toBe(true));
    expect(el('sync-needs-plan').textContent).toContain('plan again');
  });
});
