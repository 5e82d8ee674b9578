// @vitest-environment jsdom
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as ipc from '../lib/ipc';
import { session } from '../lib/session.svelte';
import { API_KEY_SCHEMA, detail, pageOf, settings, status, summary } from '../test/fixtures';
import { resetStores } from '../test/reset';
import ConfirmDialog from './ConfirmDialog.svelte';
import CredentialsScreen from './CredentialsScreen.svelte';
import NoticeArea from './NoticeArea.svelte';

vi.mock('../lib/ipc', async (original) => (await import('../test/mock-ipc')).mockIpc(await original()));

const m = vi.mocked(ipc);

function el(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`#${id} is missing`);
  return element;
}

function rows(): HTMLElement[] {
  return [...document.querySelectorAll<HTMLElement>('#credential-list [role="option"]')];
}

function renderScreen(): void {
  render(CredentialsScreen);
  render(NoticeArea);
  render(ConfirmDialog);
}

beforeEach(() => {
  vi.clearAllMocks();
  resetStores();
  m.settingsGet.mockResolvedValue(settings({ revealSeconds: 3 }));
  session.setStatus(status());
});

afterEach(() => {
  vi.useRealTimers();
});

describe('the list', () => {
  it('browses the names as folders: down into one, and back up by the trail', async () => {
    const below: Record<string, { path: string; name: string; count: number }[]> = {
      '': [
        { path: 'aws/', name: 'aws', count: 120 },
        { path: 'db/', name: 'db', count: 4 },
      ],
      'aws/': [{ path: 'aws/prod/', name: 'prod', count: 100 }],
    };
    m.credentialFind.mockImplementation((query) =>
      Promise.resolve({ ...pageOf(query.folder === '' ? 124 : 120, query), folders: query.folders ? (below[query.folder] ?? []) : [] }),
    );
    renderScreen();
    const folders = await screen.findByRole('navigation', { name: 'Folders' });
    await fireEvent.click(within(folders).getByRole('button', { name: 'aws/, 120 credentials' }));
    await waitFor(() => expect(m.credentialFind).toHaveBeenLastCalledWith(expect.objectContaining({ folder: 'aws/', folders: true, offset: 0 })));
    expect(await within(folders).findByRole('button', { name: 'prod/, 100 credentials' })).toBeTruthy();
    expect(within(folders).getByText('aws').getAttribute('aria-current')).toBe('location');
    await waitFor(() => expect(el('result-count').textContent).toContain('120 credentials'));
    await fireEvent.click(within(folders).getByRole('button', { name: 'All folders' }));
    await waitFor(() => expect(m.credentialFind).toHaveBeenLastCalledWith(expect.objectContaining({ folder: '' })));
    expect(await within(folders).findByRole('button', { name: 'db/, 4 credentials' })).toBeTruthy();
  });

  it('renders only a window of 100,000 credentials and fetches pages by offset', async () => {
    m.credentialFind.mockImplementation((query) => Promise.resolve(pageOf(100_000, query)));
    renderScreen();
    await waitFor(() => expect(el('result-count').textContent).toContain('100,000 credentials'));
    expect(rows().length).toBeGreaterThan(5);
    expect(rows().length).toBeLessThan(40);
    expect(rows()[0]?.dataset['name']).toBe('cred/00000');
    const list = el('credential-list');
    list.scrollTop = 36 * 50_000; // one-line rows of 36 px
    await fireEvent.scroll(list);
    await waitFor(() => expect(rows().some((row) => row.dataset['name'] === 'cred/50000')).toBe(true));
    expect(rows().length).toBeLessThan(40);
    const offsets = m.credentialFind.mock.calls.map(([query]) => query.offset);
    expect(offsets).toContain(49_900);
    expect(m.credentialFind.mock.calls.every(([query]) => query.limit === 100)).toBe(true);
  });

  it('queries on every keystroke and never lets an older answer win', async () => {
    const pending: ((page: ipc.FindPage) => void)[] = [];
    m.credentialFind.mockImplementation((query) =>
      query.query === 'a' ? new Promise((resolve) => pending.push(resolve)) : Promise.resolve(pageOf(query.query === '' ? 50 : 3, query)),
    );
    renderScreen();
    await waitFor(() => expect(el('result-count').textContent).toContain('50 credentials'));
    const search = el('search');
    await fireEvent.input(search, { target: { value: 'a' } });
    await fireEvent.input(search, { target: { value: 'ap' } });
    await waitFor(() => expect(el('result-count').textContent).toContain('3 credentials'));
    pending[0]?.(pageOf(900, { query: 'a', kind: null, env: null, tag: null, states: [], folder: '', folders: true, offset: 0, limit: 100 }));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(el('result-count').textContent).toContain('3 credentials');
    expect(m.credentialFind.mock.calls.map(([query]) => query.query)).toEqual(['', 'a', 'ap']);
  });

  it('keeps the rows on show while a search is out, with a quiet hint only after 150 ms', async () => {
    const pending: ((page: ipc.FindPage) => void)[] = [];
    m.credentialFind.mockImplementation((query) =>
      query.query === '' ? Promise.resolve(pageOf(50, query)) : new Promise((resolve) => pending.push(resolve)),
    );
    renderScreen();
    await waitFor(() => expect(el('result-count').textContent).toContain('50 credentials'));
    const before = rows().map((row) => row.dataset['name']);
    await fireEvent.input(el('search'), { target: { value: 'cred/0000' } });
    // Not blanked: the same rows and count, and no hint yet.
    expect(rows().map((row) => row.dataset['name'])).toEqual(before);
    expect(el('result-count').textContent).toContain('50 credentials');
    expect(document.getElementById('search-pending')).toBeNull();
    await waitFor(() => expect(document.getElementById('search-pending')).not.toBeNull());
    expect(rows().map((row) => row.dataset['name'])).toEqual(before);
    pending[0]?.(pageOf(3, { query: 'cred/0000', kind: null, env: null, tag: null, states: [], folder: '', folders: true, offset: 0, limit: 100 }));
    await waitFor(() => expect(el('result-count').textContent).toContain('3 credentials'));
    expect(rows()).toHaveLength(3);
    expect(document.getElementById('search-pending')).toBeNull();
  });

  it('sends the filters, with the rotation filter as states', async () => {
    m.credentialFind.mockImplementation((query) => Promise.resolve(pageOf(1, query)));
    renderScreen();
    await waitFor(() => expect(rows()).toHaveLength(1));
    const select = el('filter-rotation') as HTMLSelectElement;
    select.value = 'needs_action';
    await fireEvent.change(select);
    await waitFor(() =>
      expect(m.credentialFind).toHaveBeenLastCalledWith(expect.objectContaining({ states: ['overdue', 'expired', 'compromised'] })),
    );
    const env = el('filter-env') as HTMLSelectElement;
    await waitFor(() => expect([...env.options].map((o) => o.value)).toContain('prod'));
    env.value = 'prod';
    await fireEvent.change(env);
    await waitFor(() => expect(m.credentialFind).toHaveBeenLastCalledWith(expect.objectContaining({ env: 'prod' })));
  });

  it('shows rotation badges on rows', async () => {
    const states = ['due_soon', 'overdue', 'expired', 'compromised', 'ok'] as const;
    m.credentialFind.mockImplementation((query) => Promise.resolve(pageOf(5, query, (i) => summary(`c${i}`, states[i]))));
    renderScreen();
    await waitFor(() => expect(rows()).toHaveLength(5));
    const badges = [...document.querySelectorAll<HTMLElement>('#credential-list .badge')];
    expect(badges.map((b) => [b.dataset['state'], b.textContent?.trim()])).toEqual([
      ['due_soon', 'Due soon'],
      ['overdue', 'Overdue'],
      ['expired', 'Expired'],
      ['compromised', 'Compromised'],
    ]);
  });

  it('moves with the keyboard, opens with Enter and returns to search with Escape', async () => {
    m.credentialFind.mockImplementation((query) => Promise.resolve(pageOf(300, query)));
    m.credentialGet.mockImplementation((name) => Promise.resolve(detail(name)));
    m.credentialHistory.mockResolvedValue({ entries: [], total: 1 });
    m.auditList.mockResolvedValue([]);
    renderScreen();
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    const search = el('search');
    await fireEvent.keyDown(search, { key: 'ArrowDown' });
    const list = el('credential-list');
    expect(document.activeElement).toBe(list);
    expect(list.getAttribute('aria-activedescendant')).toBe('option-0');
    await fireEvent.keyDown(list, { key: 'ArrowDown' });
    await fireEvent.keyDown(list, { key: 'ArrowDown' });
    expect(list.getAttribute('aria-activedescendant')).toBe('option-2');
    await fireEvent.keyDown(list, { key: 'End' });
    await waitFor(() => expect(list.getAttribute('aria-activedescendant')).toBe('option-299'));
    await fireEvent.keyDown(list, { key: 'Home' });
    await fireEvent.keyDown(list, { key: 'PageDown' });
    // A page of one-line rows: 15 of them in the 560-px fallback viewport.
    expect(list.getAttribute('aria-activedescendant')).toBe('option-15');
    await fireEvent.keyDown(list, { key: 'Enter' });
    await waitFor(() => expect(el('detail').dataset['name']).toBe('cred/00015'));
    await fireEvent.keyDown(list, { key: 'Escape' });
    expect(document.activeElement).toBe(search);
  });
});

describe('the detail pane', () => {
  beforeEach(() => {
    m.credentialFind.mockImplementation((query) => Promise.resolve(pageOf(1, query, () => summary('api/github'))));
    m.credentialGet.mockResolvedValue(detail('api/github', { tags: ['ci', 'team-a'], notes: 'Rotate with the org owner.' }));
    m.credentialHistory.mockResolvedValue({
      entries: [
        { version: 2, writtenAt: '2025-02-01T00:00:00Z', current: true, changes: ['key'] },
        { version: 1, writtenAt: '2025-01-01T00:00:00Z', current: false, changes: [] },
      ],
      total: 2,
    });
    m.auditList.mockResolvedValue([
      { seq: 7, at: '2025-02-01T00:00:00Z', action: 'reveal', target: 'api/github', outcome: 'ok', user: 'dev', interface: 'app', details: 'fields: key' },
    ]);
  });

  async function openGithub(): Promise<void> {
    renderScreen();
    await waitFor(() => expect(rows()).toHaveLength(1));
    await fireEvent.click(rows()[0] as HTMLElement);
    await waitFor(() => expect(el('detail-name').textContent).toBe('api/github'));
  }

  it('shows fields, notes, tags, rotation, history and this credential’s audit', async () => {
    await openGithub();
    expect(el('plain-url').textContent).toBe('https://api.example.com');
    expect(el('value-key').textContent).toBe('••••••••');
    expect(el('detail-notes').textContent).toBe('Rotate with the org owner.');
    expect(el('detail-tags').textContent).toContain('team-a');
    expect(el('detail-rotation').dataset['state']).toBe('ok');
    await waitFor(() => expect(document.querySelectorAll('#history [data-version]')).toHaveLength(2));
    expect(document.getElementById('rollback-2')).toBeNull();
    expect(document.getElementById('rollback-1')).not.toBeNull();
    expect(document.querySelector('#detail-audit tr[data-action="reveal"]')).not.toBeNull();
    expect(m.auditList).toHaveBeenCalledWith(expect.objectContaining({ credential: 'api/github' }));
  });

  it('lists the latest versions and all of them when asked', async () => {
    const version = (n: number) => ({ version: n, writtenAt: '2025-01-01T00:00:00Z', current: n === 40, changes: ['notes'] });
    const newest = (count: number) => Array.from({ length: count }, (_, i) => version(40 - i));
    m.credentialHistory.mockImplementation((_name, limit) =>
      Promise.resolve({ entries: newest(limit ?? 40), total: 40 }),
    );
    await openGithub();
    await waitFor(() => expect(document.querySelectorAll('#history [data-version]')).toHaveLength(10));
    expect(m.credentialHistory).toHaveBeenCalledWith('api/github', 10);
    expect(document.querySelector('.more')?.textContent).toContain('The latest 10 of 40 versions.');
    await fireEvent.click(el('history-all'));
    await waitFor(() => expect(document.querySelectorAll('#history [data-version]')).toHaveLength(40));
    expect(m.credentialHistory).toHaveBeenLastCalledWith('api/github', null);
    expect(document.getElementById('history-all')).toBeNull();
  });

  it('shows an AWS role’s chain and kept session, and no session section for other kinds', async () => {
    await openGithub();
    expect(document.getElementById('detail-session')).toBeNull();
    const ends = new Date(Date.now() + 42 * 60_000 + 30_000).toISOString();
    m.credentialGet.mockResolvedValue(
      detail('aws/prod', {
        kind: 'aws-role',
        chain: ['aws/prod', 'aws/ops', 'aws/me'],
        session: {
          sessionKeyId: 'ASIAEXAMPLEKEY',
          roleArn: 'arn:aws:iam::123456789012:role/prod',
          assumedArn: 'arn:aws:sts::123456789012:assumed-role/prod/coffer-me',
          issuedAt: new Date().toISOString(),
          expiresAt: ends,
          mfa: true,
          served: 12,
        },
      }),
    );
    session.openCredential('aws/prod');
    await waitFor(() => expect(el('detail-chain').textContent).toContain('aws/prod → aws/ops → aws/me'));
    expect(el('detail-name').textContent).toBe('aws/prod');
    expect(el('detail-session-key').textContent).toBe('ASIAEXAMPLEKEY');
    expect(el('detail-session-ends').textContent).toContain('ends in 42 min');
    expect(el('detail-session').textContent).toContain('12 times · made with an MFA code');
    // A role whose source is gone says so; a key with no session says what makes one.
    m.credentialGet.mockResolvedValue(
      detail('aws/lost', { kind: 'aws-role', chainProblem: "invalid aws-role 'aws/lost': its source 'aws/gone' does not exist" }),
    );
    session.openCredential('aws/lost');
    await waitFor(() => expect(el('detail-chain-problem').textContent).toContain("its source 'aws/gone' does not exist"));
    expect(el('detail-name').textContent).toBe('aws/lost');
    expect(document.getElementById('detail-chain')).toBeNull();
    expect(el('detail-session-none').textContent).toContain('No session kept');
  });

  it('reveals a secret for revealSeconds, then masks it again', async () => {
    m.credentialReveal.mockResolvedValue('ghp-secret-value');
    await openGithub();
    await waitFor(() => expect(session.revealSeconds).toBe(3));
    vi.useFakeTimers({ shouldAdvanceTime: true });
    await fireEvent.click(el('reveal-key'));
    await waitFor(() => expect(el('value-key').textContent).toBe('ghp-secret-value'));
    expect(m.credentialReveal).toHaveBeenCalledWith('api/github', 'key');
    vi.advanceTimersByTime(3000);
    await waitFor(() => expect(el('value-key').textContent).toBe('••••••••'));
    expect(document.body.textContent).not.toContain('ghp-secret-value');
  });

  it('hides a revealed secret when another credential opens', async () => {
    m.credentialReveal.mockResolvedValue('ghp-secret-value');
    await openGithub();
    await fireEvent.click(el('reveal-key'));
    await waitFor(() => expect(el('value-key').textContent).toBe('ghp-secret-value'));
    m.credentialGet.mockResolvedValue(detail('api/stripe'));
    session.openCredential('api/stripe');
    await waitFor(() => expect(el('detail-name').textContent).toBe('api/stripe'));
    expect(document.body.textContent).not.toContain('ghp-secret-value');
  });

  it('loads the shown credential again when it is opened again', async () => {
    await openGithub();
    await waitFor(() => expect(el('detail').textContent).toContain('version 1'));
    m.credentialGet.mockResolvedValue(detail('api/github', { version: 7 }));
    await fireEvent.click(rows()[0] as HTMLElement);
    await waitFor(() => expect(el('detail').textContent).toContain('version 7'));
  });

  it('copies in the shell and says when the clipboard clears', async () => {
    m.credentialCopy.mockResolvedValue(30);
    await openGithub();
    await fireEvent.click(el('copy-key'));
    await waitFor(() => expect(el('toast').textContent).toContain('Copied; the clipboard clears in 30 s'));
  });

  it('copies any field, and the main secret or the id by shortcut, from the detail and the list', async () => {
    m.credentialCopy.mockResolvedValue(30);
    m.kindSchemas.mockResolvedValue([API_KEY_SCHEMA]);
    await openGithub();
    // A plain field has its own Copy button, marked when used.
    await fireEvent.click(el('copy-plain-url'));
    await waitFor(() => expect(m.credentialCopy).toHaveBeenLastCalledWith('api/github', 'url'));
    await waitFor(() => expect(el('plain-url').parentElement?.textContent).toContain('Copied'));
    // Ctrl+C in the detail: the main secret.
    await fireEvent.keyDown(el('detail-name'), { key: 'c', code: 'KeyC', ctrlKey: true });
    await waitFor(() => expect(m.credentialCopy).toHaveBeenLastCalledWith('api/github', 'key'));
    await waitFor(() => expect(el('toast').textContent).toContain('Copied the key of api/github'));
    // Ctrl+C on the list's active row: its main secret.
    const viewport = document.querySelector('.list .viewport') as HTMLElement;
    viewport.focus();
    await fireEvent.focus(viewport);
    m.credentialCopy.mockClear();
    await fireEvent.keyDown(viewport, { key: 'c', code: 'KeyC', ctrlKey: true });
    await waitFor(() => expect(m.credentialCopy).toHaveBeenCalledWith('api/github', 'key'));
    expect(m.credentialCopy).toHaveBeenCalledTimes(1);
    // Typing in the search box keeps Ctrl+C for the text.
    m.credentialCopy.mockClear();
    await fireEvent.keyDown(el('search'), { key: 'c', code: 'KeyC', ctrlKey: true });
    expect(m.credentialCopy).not.toHaveBeenCalled();
  });

  const TRASHED: ipc.TrashEntry = {
    id: 'trash-1',
    name: 'api/github',
    kindLabel: 'API key',
    env: 'prod',
    deletedAt: '2025-03-01T10:00:00Z',
    purgeAfter: '2025-03-31T10:00:00Z',
  };

  async function deleteGithub(): Promise<void> {
    m.credentialDelete.mockResolvedValue(TRASHED);
    await openGithub();
    await fireEvent.click(el('delete'));
    await waitFor(() => expect(m.credentialDelete).toHaveBeenCalledWith('api/github'));
    await waitFor(() => expect(document.getElementById('detail')).toBeNull());
  }

  it('deletes into the trash at once, with an Undo that brings the credential back', async () => {
    await deleteGithub();
    // No question first: the trash is the safety net.
    expect(document.querySelector('[role="dialog"]')).toBeNull();
    // Focus goes to the search box, not <body>.
    await waitFor(() => expect(document.activeElement?.id).toBe('search'));
    expect(el('toast-status').textContent).toBe('Moved api/github to the trash.');
    const undo = screen.getByRole('button', { name: 'Undo' });
    expect(undo.id).toBe('toast-action');
    expect(m.trashRestore).not.toHaveBeenCalled();
    m.trashRestore.mockResolvedValue(detail('api/github'));
    await fireEvent.click(undo);
    await waitFor(() => expect(el('detail-name').textContent).toBe('api/github'));
    expect(m.trashRestore).toHaveBeenCalledTimes(1);
    expect(m.trashRestore).toHaveBeenCalledWith('trash-1');
    expect(el('toast-status').textContent).toBe('Restored api/github.');
    expect(screen.queryByRole('button', { name: 'Undo' })).toBeNull();
    await waitFor(() => expect(document.activeElement?.id).toBe('detail-name'));
  });

  it('undoes the last delete with Ctrl+Z, but not while there is typing in the search box to undo', async () => {
    await deleteGithub();
    await waitFor(() => expect(document.activeElement?.id).toBe('search'));
    m.trashRestore.mockResolvedValue(detail('api/github'));
    // In the search box with text in it, Ctrl+Z undoes typing.
    await fireEvent.input(el('search'), { target: { value: 'gi' } });
    await fireEvent.keyDown(el('search'), { key: 'z', code: 'KeyZ', ctrlKey: true });
    expect(m.trashRestore).not.toHaveBeenCalled();
    expect(el('toast-status').textContent).toBe('Moved api/github to the trash.');
    // In the empty box, where the delete left focus, it undoes the delete
    // (Cmd+Z on macOS), once.
    await fireEvent.input(el('search'), { target: { value: '' } });
    await fireEvent.keyDown(el('search'), { key: 'z', code: 'KeyZ', metaKey: true });
    await waitFor(() => expect(el('detail-name').textContent).toBe('api/github'));
    expect(m.trashRestore).toHaveBeenCalledWith('trash-1');
    await fireEvent.keyDown(document.body, { key: 'z', code: 'KeyZ', ctrlKey: true });
    expect(m.trashRestore).toHaveBeenCalledTimes(1);
  });

  it('says where to restore a deleted credential whose name was taken meanwhile', async () => {
    await deleteGithub();
    m.trashRestore.mockRejectedValue({ code: 'failure', message: "a credential named 'api/github' already exists", field: 'name' });
    await fireEvent.click(screen.getByRole('button', { name: 'Undo' }));
    await waitFor(() =>
      expect(el('toast-alert').textContent).toBe(
        "A credential named 'api/github' already exists. Restore api/github under another name in Settings › Trash.",
      ),
    );
    expect(document.getElementById('detail')).toBeNull();
  });

  it('keeps the Undo for about ten seconds', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    await deleteGithub();
    vi.advanceTimersByTime(9000);
    expect(screen.queryByRole('button', { name: 'Undo' })).not.toBeNull();
    vi.advanceTimersByTime(1500);
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Undo' })).toBeNull());
    await fireEvent.keyDown(document.body, { key: 'z', code: 'KeyZ', ctrlKey: true });
    expect(m.trashRestore).not.toHaveBeenCalled();
  });

  it('rolls back after confirmation', async () => {
    m.credentialRollback.mockResolvedValue(detail('api/github', { version: 3 }));
    await openGithub();
    await waitFor(() => expect(document.getElementById('rollback-1')).not.toBeNull());
    await fireEvent.click(el('rollback-1'));
    await waitFor(() => expect(document.getElementById('confirm-yes')).not.toBeNull());
    await fireEvent.click(el('confirm-yes'));
    await waitFor(() => expect(m.credentialRollback).toHaveBeenCalledWith('api/github', 1));
  });
});
