// @vitest-environment jsdom
import { fireEvent, render, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as ipc from '../lib/ipc';
import { session } from '../lib/session.svelte';
import { settings, status } from '../test/fixtures';
import { resetStores } from '../test/reset';
import SettingsScreen from './SettingsScreen.svelte';

vi.mock('../lib/ipc', async (original) => (await import('../test/mock-ipc')).mockIpc(await original()));

const m = vi.mocked(ipc);

function el(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`#${id} is missing`);
  return element;
}

async function type(id: string, value: string): Promise<void> {
  await fireEvent.input(el(id), { target: { value } });
}

beforeEach(() => {
  vi.clearAllMocks();
  resetStores();
  m.settingsGet.mockResolvedValue(
    settings({ policies: [{ scope: { type: 'tag', tag: 'prod' }, policy: { maxAgeDays: 30, warnDays: 7 } }] }),
  );
  m.trashList.mockResolvedValue([]);
  m.passphraseStrength.mockResolvedValue({ score: 4, label: 'very strong', crackTime: 'centuries', warning: null, suggestions: [] });
  session.setStatus(status());
});

describe('settings', () => {
  it('validates preference ranges before saving', async () => {
    m.preferencesSet.mockImplementation((p) => Promise.resolve(settings(p)));
    render(SettingsScreen);
    await waitFor(() => expect((el('setting-autolock') as HTMLInputElement).value).toBe('10'));
    await type('setting-autolock', '0');
    await type('setting-reveal', '500');
    await fireEvent.click(el('settings-save'));
    await waitFor(() => expect(el('error-autolock').textContent).toMatch(/1 to 1440/));
    expect(el('error-reveal').textContent).toMatch(/3 to 300/);
    expect(m.preferencesSet).not.toHaveBeenCalled();
    await type('setting-autolock', '5');
    await type('setting-reveal', '15');
    await fireEvent.click(el('setting-notifications'));
    await fireEvent.click(el('settings-save'));
    await waitFor(() =>
      expect(m.preferencesSet).toHaveBeenCalledWith({
        autoLockMinutes: 5,
        clipboardSeconds: 30,
        revealSeconds: 15,
        notifications: false,
        passphraseAfterAutoLock: true,
        closeToTray: true,
        quickSearchShortcut: '',
      }),
    );
    await waitFor(() => expect(session.revealSeconds).toBe(15));
  });

  it('sets and clears rotation policies', async () => {
    m.policySet.mockResolvedValue(settings());
    render(SettingsScreen);
    await waitFor(() => expect(document.querySelector('[data-scope="tag:prod"]')).not.toBeNull());
    await type('policy-scope-value', 'api-key');
    await type('policy-max-age', '60');
    await type('policy-warn', '60');
    await fireEvent.click(el('policy-save'));
    await waitFor(() => expect(document.body.textContent).toContain('shorter than the maximum age'));
    await type('policy-warn', '10');
    await fireEvent.click(el('policy-save'));
    await waitFor(() => expect(m.policySet).toHaveBeenCalledWith({ type: 'kind', kind: 'api-key' }, { maxAgeDays: 60, warnDays: 10 }));
    m.settingsGet.mockClear();
  });

  it('clears a policy', async () => {
    m.policySet.mockResolvedValue(settings());
    render(SettingsScreen);
    await waitFor(() => expect(document.getElementById('policy-clear-0')).not.toBeNull());
    await fireEvent.click(el('policy-clear-0'));
    await waitFor(() => expect(m.policySet).toHaveBeenCalledWith({ type: 'tag', tag: 'prod' }, null));
  });

  it('changes the recovery passphrase', async () => {
    m.passphraseSet.mockResolvedValue(settings());
    render(SettingsScreen);
    await waitFor(() => expect(document.getElementById('settings-passphrase')).not.toBeNull());
    await type('settings-passphrase-current', 'the old passphrase');
    await type('settings-passphrase', 'correct horse battery staple');
    await type('settings-passphrase-confirm', 'correct horse battery staple');
    await waitFor(() => expect(el('settings-strength').textContent).toContain('very strong'));
    await fireEvent.click(el('settings-passphrase-save'));
    await waitFor(() => expect(m.passphraseSet).toHaveBeenCalledWith('correct horse battery staple', 'the old passphrase'));
    await waitFor(() => expect((el('settings-passphrase') as HTMLInputElement).value).toBe(''));
  });

  it('rekeys with the passphrase (the shell asks to confirm)', async () => {
    m.vaultRekey.mockResolvedValue(undefined);
    render(SettingsScreen);
    await waitFor(() => expect(document.getElementById('settings-rekey')).not.toBeNull());
    await fireEvent.click(el('settings-rekey'));
    await waitFor(() => expect(document.body.textContent).toContain('Enter the recovery passphrase'));
    await type('settings-rekey-passphrase', 'my passphrase');
    await fireEvent.click(el('settings-rekey'));
    await waitFor(() => expect(m.vaultRekey).toHaveBeenCalledWith('my passphrase'));
    expect(document.getElementById('confirm-yes')).toBeNull();
  });

  it('writes a backup where the shell was told and shows the summary', async () => {
    m.backupCreate.mockResolvedValue({ path: '/tmp/b.cbk', credentials: 12, auditEntries: 40 });
    render(SettingsScreen);
    await waitFor(() => expect(document.getElementById('backup-passphrase')).not.toBeNull());
    expect(document.getElementById('backup-path')).toBeNull();
    await type('backup-passphrase', 'backup words here');
    await fireEvent.click(el('backup-create'));
    await waitFor(() => expect(document.body.textContent).toContain('do not match'));
    await type('backup-confirm', 'backup words here');
    await fireEvent.click(el('backup-create'));
    await waitFor(() => expect(el('backup-summary').textContent).toContain('12 credentials, 40 audit entries'));
    expect(m.backupCreate).toHaveBeenCalledWith('backup words here');
    expect(el('backup-summary').textContent).toContain('/tmp/b.cbk');
  });

  it('says a backup cancelled in the file chooser changed nothing', async () => {
    m.backupCreate.mockRejectedValue({ code: 'declined', message: 'nothing was changed', field: null });
    render(SettingsScreen);
    await waitFor(() => expect(document.getElementById('backup-passphrase')).not.toBeNull());
    await type('backup-passphrase', 'backup words here');
    await type('backup-confirm', 'backup words here');
    await fireEvent.click(el('backup-create'));
    await waitFor(() => expect(document.body.textContent).toContain('Cancelled: nothing was changed.'));
    expect(document.getElementById('backup-summary')).toBeNull();
  });

  it('has a Trash panel (its own tests: TrashPanel.test.ts)', async () => {
    m.trashList.mockResolvedValue([
      { id: 't1', name: 'api/github', kindLabel: 'API key', env: 'prod', deletedAt: '2025-03-01T10:00:00Z', purgeAfter: '2025-03-31T10:00:00Z' },
    ]);
    render(SettingsScreen);
    await waitFor(() => expect(document.querySelector('#trash [data-trash-id="t1"]')).not.toBeNull());
    expect(document.getElementById('trash-title')?.textContent).toBe('Trash');
  });
});
