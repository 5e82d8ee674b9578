// @vitest-environment jsdom
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as ipc from './lib/ipc';
import { confirmAction } from './lib/confirm.svelte';
import { notices } from './lib/notices.svelte';
import { session } from './lib/session.svelte';
import App from './App.svelte';
import { FACETS, pageOf, settings, status } from './test/fixtures';
import { resetStores } from './test/reset';

vi.mock('./lib/ipc', async (original) => (await import('./test/mock-ipc')).mockIpc(await original()));

const m = vi.mocked(ipc);

function screenId(): string | null {
  return document.getElementById('screen')?.getAttribute('data-screen') ?? null;
}

/** On screen `id`, with its content shown (some screens' code loads when first shown). */
async function onScreen(id: string): Promise<void> {
  await waitFor(() => expect(screenId()).toBe(id));
  await waitFor(() => expect(document.querySelector('#screen h1, #screen h2')).not.toBeNull());
}

function input(id: string): HTMLInputElement {
  const element = document.getElementById(id);
  if (!(element instanceof HTMLInputElement)) throw new Error(`#${id} is not an input`);
  return element;
}

function button(id: string): HTMLButtonElement {
  const element = document.getElementById(id);
  if (!(element instanceof HTMLButtonElement)) throw new Error(`#${id} is not a button`);
  return element;
}

beforeEach(() => {
  vi.clearAllMocks();
  resetStores();
  m.settingsGet.mockResolvedValue(settings());
  m.credentialFind.mockImplementation((query) => Promise.resolve(pageOf(2, query)));
  m.vaultTouch.mockResolvedValue(undefined);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('first run', () => {
  beforeEach(() => {
    m.vaultStatus.mockResolvedValue(status({ state: 'missing', hasKeyring: null, hasPassphrase: null }));
    m.passphraseStrength.mockImplementation((p) =>
      Promise.resolve(
        p.length >= 20
          ? { score: 4, label: 'very strong', crackTime: 'centuries', warning: null, suggestions: [] }
          : { score: 1, label: 'weak', crackTime: '3 hours', warning: 'Too short.', suggestions: ['Add words.'] },
      ),
    );
  });

  it('creates a vault with a recovery passphrase, with live strength feedback', async () => {
    m.vaultCreate.mockResolvedValue(status());
    render(App);
    await onScreen('first-run');
    await fireEvent.input(input('recovery-passphrase'), { target: { value: 'correct horse battery staple' } });
    await waitFor(() => expect(document.getElementById('strength')?.textContent).toContain('very strong'));
    expect(document.getElementById('strength')?.textContent).toContain('centuries');
    await fireEvent.input(input('recovery-confirm'), { target: { value: 'correct horse battery staple' } });
    await fireEvent.click(button('create-vault'));
    await onScreen('credentials');
    expect(m.vaultCreate).toHaveBeenCalledWith('correct horse battery staple');
    expect(document.querySelectorAll('#nav-credentials, #nav-rotation, #nav-sync, #nav-audit, #nav-settings, #lock')).toHaveLength(6);
  });

  it('refuses a weak or mistyped passphrase next to the field', async () => {
    render(App);
    await onScreen('first-run');
    await fireEvent.input(input('recovery-passphrase'), { target: { value: 'hunter2' } });
    await waitFor(() => expect(document.getElementById('strength')?.textContent).toContain('weak'));
    expect(document.getElementById('strength')?.textContent).toContain('Too short.');
    await fireEvent.click(button('create-vault'));
    await waitFor(() => expect(document.getElementById('error-passphrase')?.textContent).toMatch(/easy to guess/));
    await fireEvent.input(input('recovery-passphrase'), { target: { value: 'correct horse battery staple' } });
    await fireEvent.input(input('recovery-confirm'), { target: { value: 'correct horse battery stapler' } });
    await fireEvent.click(button('create-vault'));
    await waitFor(() => expect(document.getElementById('error-confirm')?.textContent).toMatch(/do not match/));
    expect(m.vaultCreate).not.toHaveBeenCalled();
  });

  it('can create without a recovery passphrase, with a warning', async () => {
    m.vaultCreate.mockResolvedValue(status());
    render(App);
    await onScreen('first-run');
    await fireEvent.click(input('skip-passphrase'));
    expect(screen.getByText(/losing the keyring entry/)).toBeTruthy();
    await fireEvent.click(button('create-vault'));
    await onScreen('credentials');
    expect(m.vaultCreate).toHaveBeenCalledWith(null);
  });

  it('restores a backup', async () => {
    m.backupRestore.mockResolvedValue(status());
    render(App);
    await onScreen('first-run');
    await fireEvent.input(input('restore-path'), { target: { value: '/tmp/vault.cbk' } });
    await fireEvent.input(input('restore-passphrase'), { target: { value: 'backup pass' } });
    await fireEvent.click(button('restore-backup'));
    await onScreen('credentials');
    expect(m.backupRestore).toHaveBeenCalledWith('/tmp/vault.cbk', 'backup pass');
  });
});

describe('unlock', () => {
  it('tries the keyring once on load and reports failed attempts', async () => {
    m.vaultStatus.mockResolvedValue(status({ state: 'locked' }));
    m.vaultUnlock.mockResolvedValue(status({ failedAttempts: 2, failedSince: '2025-03-04T14:05:00' }));
    render(App);
    await onScreen('credentials');
    expect(m.vaultUnlock).toHaveBeenCalledTimes(1);
    await waitFor(() => expect(document.getElementById('failed-attempts')?.textContent).toContain('2 failed unlock attempts since 2025-03-04 14:05'));
    await fireEvent.click(button('failed-attempts-dismiss'));
    expect(document.getElementById('failed-attempts')).toBeNull();
  });

  it('clears a wrong passphrase, keeps focus, and then unlocks', async () => {
    m.vaultStatus.mockResolvedValue(status({ state: 'locked' }));
    m.vaultUnlock.mockRejectedValue({ code: 'cannot_unlock', message: 'no key for this vault in the OS keyring' });
    m.vaultUnlockPassphrase.mockRejectedValueOnce({ code: 'wrong_passphrase', message: 'wrong passphrase' });
    m.vaultUnlockPassphrase.mockResolvedValueOnce(status());
    render(App);
    await onScreen('unlock');
    await waitFor(() => expect(document.getElementById('keyring-note')?.textContent).toContain('no key for this vault'));
    expect(document.getElementById('unlock-error')).toBeNull();
    const field = input('unlock-passphrase');
    await fireEvent.input(field, { target: { value: 'nope' } });
    await fireEvent.click(button('unlock-submit'));
    await waitFor(() => expect(document.getElementById('unlock-error')?.textContent).toContain('does not open this vault'));
    expect(field.value).toBe('');
    expect(document.activeElement).toBe(field);
    await fireEvent.input(field, { target: { value: 'right one' } });
    await fireEvent.click(button('unlock-submit'));
    await onScreen('credentials');
    expect(m.vaultUnlockPassphrase).toHaveBeenLastCalledWith('right one');
  });

  it('unlocks through the keyring on Enter with the passphrase field empty', async () => {
    m.vaultStatus.mockResolvedValue(status({ state: 'locked' }));
    m.vaultUnlock.mockRejectedValueOnce({ code: 'cannot_unlock', message: 'the keyring is locked' });
    m.vaultUnlock.mockResolvedValueOnce(status());
    render(App);
    await onScreen('unlock');
    await waitFor(() => expect(document.getElementById('keyring-note')).not.toBeNull());
    expect(document.getElementById('unlock-enter-hint')?.textContent).toContain('press Enter');
    await fireEvent.submit(input('unlock-passphrase').closest('form') as HTMLFormElement);
    await onScreen('credentials');
    expect(m.vaultUnlock).toHaveBeenCalledTimes(2);
    expect(m.vaultUnlockPassphrase).not.toHaveBeenCalled();
  });

  it('asks for the passphrase on an empty Enter when only the passphrase may open it', async () => {
    m.vaultStatus.mockResolvedValue(status({ state: 'locked', passphraseRequired: true }));
    render(App);
    await onScreen('unlock');
    await fireEvent.submit(input('unlock-passphrase').closest('form') as HTMLFormElement);
    await waitFor(() => expect(document.getElementById('unlock-error')?.textContent).toContain('Enter the recovery passphrase'));
    expect(m.vaultUnlock).not.toHaveBeenCalled();
    expect(document.getElementById('unlock-enter-hint')).toBeNull();
  });

  it('shows a keyring-only vault no passphrase field', async () => {
    m.vaultStatus.mockResolvedValue(status({ state: 'locked', hasPassphrase: false }));
    m.vaultUnlock.mockRejectedValueOnce({ code: 'cannot_unlock', message: 'the keyring is locked' });
    m.vaultUnlock.mockResolvedValueOnce(status());
    render(App);
    await onScreen('unlock');
    await waitFor(() => expect(document.getElementById('keyring-note')).not.toBeNull());
    expect(document.getElementById('unlock-passphrase')).toBeNull();
    expect(document.getElementById('unlock-keyring-only')).not.toBeNull();
    expect(button('unlock-submit').textContent).toContain('Unlock with the keyring');
    await fireEvent.click(button('unlock-submit'));
    await onScreen('credentials');
  });

  it('does not undo an earlier lock through the keyring (a page loaded after it)', async () => {
    m.vaultStatus.mockResolvedValue(status({ state: 'locked', lockedBefore: true }));
    m.vaultUnlock.mockResolvedValue(status());
    render(App);
    await onScreen('unlock');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(m.vaultUnlock).not.toHaveBeenCalled();
    // The person's own press still unlocks through it.
    await fireEvent.submit(input('unlock-passphrase').closest('form') as HTMLFormElement);
    await onScreen('credentials');
    expect(m.vaultUnlock).toHaveBeenCalledTimes(1);
  });

  it('does not try the keyring when the vault has none', async () => {
    m.vaultStatus.mockResolvedValue(status({ state: 'locked', hasKeyring: false }));
    render(App);
    await onScreen('unlock');
    expect(m.vaultUnlock).not.toHaveBeenCalled();
    expect(document.getElementById('unlock-keyring')).toBeNull();
  });
});

describe('locking', () => {
  beforeEach(() => {
    m.vaultStatus.mockResolvedValue(status());
    m.vaultLock.mockResolvedValue(status({ state: 'locked' }));
  });

  it('locks with the button and with Ctrl+L', async () => {
    render(App);
    await onScreen('credentials');
    await fireEvent.click(button('lock'));
    await onScreen('unlock');
    expect(m.vaultLock).toHaveBeenCalledTimes(1);
    m.vaultUnlock.mockResolvedValue(status());
    await fireEvent.click(button('unlock-keyring'));
    await onScreen('credentials');
    await fireEvent.keyDown(window, { key: 'l', ctrlKey: true });
    await onScreen('unlock');
    expect(m.vaultLock).toHaveBeenCalledTimes(2);
  });

  it('keeps both live regions in the page, and clears a notice on lock and on a screen change', async () => {
    render(App);
    await onScreen('credentials');
    // Empty, yet there for the first announcement.
    expect(document.getElementById('toast-status')?.getAttribute('aria-live')).toBe('polite');
    expect(document.getElementById('toast-alert')?.getAttribute('role')).toBe('alert');
    notices.info('Saved api/github.');
    await waitFor(() => expect(document.getElementById('toast-status')?.textContent).toBe('Saved api/github.'));
    await fireEvent.keyDown(window, { key: '2', code: 'Digit2', altKey: true });
    await waitFor(() => expect(document.getElementById('toast-status')?.textContent).toBe(''));
    // Focus goes to the new screen's heading, not <body>.
    await waitFor(() => expect(document.activeElement?.tagName).toBe('H1'));
    notices.error('The remote refused the push.');
    await waitFor(() => expect(document.getElementById('toast-alert')?.textContent).toContain('refused'));
    expect(document.getElementById('toast-status')?.textContent).toBe('');
    await fireEvent.click(button('lock'));
    await onScreen('unlock');
    expect(document.getElementById('toast-alert')?.textContent).toBe('');
  });

  it('a question on screen blocks the shortcuts behind it and is answered no on lock', async () => {
    render(App);
    await onScreen('credentials');
    const asked = confirmAction({ title: 'Delete api/github?', message: 'It goes.', yes: 'Delete', danger: true });
    await waitFor(() => expect(document.getElementById('confirm')).not.toBeNull());
    await fireEvent.keyDown(window, { key: '2', code: 'Digit2', altKey: true });
    await fireEvent.keyDown(window, { key: 'l', code: 'KeyL', ctrlKey: true });
    expect(m.vaultLock).not.toHaveBeenCalled();
    expect(session.screen).toBe('credentials');
    session.lockedByShell('idle');
    await expect(asked).resolves.toBe(false);
    await onScreen('unlock');
    expect(document.getElementById('confirm')).toBeNull();
  });

  it('goes to the unlock screen when a command says the vault is locked', async () => {
    // The mocked command rejects through ipc's real `rejection`, as `call()` does, so the session's `whenLocked` handler runs.
    m.credentialFind.mockRejectedValue({ code: 'locked', message: 'the vault is locked' });
    render(App);
    await onScreen('unlock');
    expect(document.getElementById('lock-note')?.textContent).toContain('The vault was locked; unlock it to continue.');
    expect(session.facets).toBeNull();
  });

  it('shows the unlock screen when the shell locks by itself', async () => {
    let locked: (reason: string) => void = () => {};
    m.onVaultLocked.mockImplementation((handler) => {
      locked = handler;
      return Promise.resolve(() => {});
    });
    render(App);
    await onScreen('credentials');
    locked('idle');
    await onScreen('unlock');
    expect(document.getElementById('lock-note')?.textContent).toContain('without activity');
    expect(m.vaultUnlock).not.toHaveBeenCalled();
  });

  it('follows the tray: a lock shows the unlock screen, an unlock the list', async () => {
    let locked: (reason: string) => void = () => {};
    let unlocked: (from: string) => void = () => {};
    m.onVaultLocked.mockImplementation((handler) => {
      locked = handler;
      return Promise.resolve(() => {});
    });
    m.onVaultUnlocked.mockImplementation((handler) => {
      unlocked = handler;
      return Promise.resolve(() => {});
    });
    render(App);
    await onScreen('credentials');
    m.vaultStatus.mockResolvedValue(status({ state: 'locked' }));
    locked('tray');
    await onScreen('unlock');
    expect(document.getElementById('lock-note')?.textContent).toContain('from the tray');
    m.vaultStatus.mockResolvedValue(status());
    unlocked('tray');
    await onScreen('credentials');
    expect(m.vaultUnlock).not.toHaveBeenCalled();
  });

  it('locks after the idle time and touches the shell while active', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    m.vaultStatus.mockResolvedValue(status({ autoLockMinutes: 2 }));
    m.settingsGet.mockResolvedValue(settings({ autoLockMinutes: 2 }));
    render(App);
    await onScreen('credentials');
    await fireEvent.mouseMove(window);
    await fireEvent.keyDown(window, { key: 'a' });
    expect(m.vaultTouch).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(60_000);
    await fireEvent.mouseMove(window);
    vi.advanceTimersByTime(90_000);
    expect(m.vaultLock).not.toHaveBeenCalled();
    vi.advanceTimersByTime(31_000);
    await onScreen('unlock');
    expect(m.vaultLock).toHaveBeenCalledTimes(1);
    expect(document.getElementById('lock-note')?.textContent).toContain('2 minutes without activity');
  });
});

describe('navigation', () => {
  it('switches screens from the nav and focuses search with Ctrl+K', async () => {
    m.vaultStatus.mockResolvedValue(status());
    m.auditList.mockResolvedValue([]);
    m.auditVerify.mockResolvedValue({ ok: true, entries: 3, anchored: 3, message: null });
    m.auditActions.mockResolvedValue(['unlock', 'reveal']);
    render(App);
    await onScreen('credentials');
    await fireEvent.click(button('nav-audit'));
    await onScreen('audit');
    expect(button('nav-audit').getAttribute('aria-current')).toBe('page');
    m.rotationRunning.mockResolvedValue([]);
    await fireEvent.keyDown(window, { key: '2', code: 'Digit2', altKey: true });
    await onScreen('rotation');
    await fireEvent.keyDown(window, { key: 'k', ctrlKey: true });
    await onScreen('credentials');
    await waitFor(() => expect(document.activeElement?.id).toBe('search'));
    expect(FACETS.kinds.length).toBeGreaterThan(0);
  });
});
