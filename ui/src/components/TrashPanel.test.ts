// @vitest-environment jsdom
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as ipc from '../lib/ipc';
import { formatDateTime } from '../lib/format';
import { session } from '../lib/session.svelte';
import { detail, status } from '../test/fixtures';
import { resetStores } from '../test/reset';
import NoticeArea from './NoticeArea.svelte';
import TrashPanel from './TrashPanel.svelte';

vi.mock('../lib/ipc', async (original) => (await import('../test/mock-ipc')).mockIpc(await original()));

const m = vi.mocked(ipc);

function trashed(id: string, name: string, over: Partial<ipc.TrashEntry> = {}): ipc.TrashEntry {
  return {
    id,
    name,
    kindLabel: 'API key',
    env: 'prod',
    deletedAt: '2025-03-01T10:00:00Z',
    purgeAfter: '2025-03-31T10:00:00Z',
    ...over,
  };
}

const GITHUB = trashed('t1', 'api/github');
const STRIPE = trashed('t2', 'api/stripe', { kindLabel: 'Generic', env: null });
const DB = trashed('t3', 'db/main', { kindLabel: 'Database password', env: 'dev' });

function rowNames(): string[] {
  return [...document.querySelectorAll<HTMLElement>('#trash tbody tr[data-trash-id] th')].map((th) => th.textContent ?? '');
}

async function renderTrash(entries: ipc.TrashEntry[]): Promise<void> {
  m.trashList.mockResolvedValue(entries);
  render(TrashPanel);
  render(NoticeArea);
  await waitFor(() => expect(m.trashList).toHaveBeenCalled());
  await waitFor(() => expect(document.querySelector('#trash-panel [role="status"]')).toBeNull());
}

function button(name: string): HTMLElement {
  return screen.getByRole('button', { name });
}

beforeEach(() => {
  vi.clearAllMocks();
  resetStores();
  session.setStatus(status());
});

describe('the trash', () => {
  it('lists what was deleted: name, kind, environment, when, and when it goes for good', async () => {
    await renderTrash([GITHUB, STRIPE]);
    const table = screen.getByRole('table', { name: 'Trash' });
    expect(rowNames()).toEqual(['api/github', 'api/stripe']);
    const row = within(table).getByRole('row', { name: /api\/stripe/ });
    const cells = within(row).getAllByRole('cell').map((cell) => cell.textContent?.trim());
    expect(cells.slice(0, 4)).toEqual(['Generic', '—', formatDateTime(STRIPE.deletedAt), formatDateTime(STRIPE.purgeAfter)]);
    expect(button('Restore api/github')).not.toBeNull();
    expect(button('Delete api/stripe for good')).not.toBeNull();
    expect(button('Empty trash')).not.toBeNull();
  });

  it('says when it is empty, without an Empty trash button', async () => {
    await renderTrash([]);
    expect(document.getElementById('trash-panel')?.textContent).toContain('The trash is empty. Deleted credentials stay here for 30 days.');
    expect(screen.queryByRole('table')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Empty trash' })).toBeNull();
  });

  it('restores one: the list reloads, the credentials list is told, focus goes to the next row', async () => {
    await renderTrash([GITHUB, STRIPE, DB]);
    m.trashRestore.mockResolvedValue(detail('api/stripe'));
    m.trashList.mockResolvedValue([GITHUB, DB]);
    const revision = session.revision;
    await fireEvent.click(button('Restore api/stripe'));
    await waitFor(() => expect(rowNames()).toEqual(['api/github', 'db/main']));
    expect(m.trashRestore).toHaveBeenCalledWith('t2', null);
    expect(session.revision).toBeGreaterThan(revision);
    expect(document.getElementById('toast-status')?.textContent).toBe('Restored api/stripe.');
    await waitFor(() => expect(document.activeElement).toBe(button('Restore db/main')));
  });

  it('asks for another name when the old one is taken, and restores under it', async () => {
    await renderTrash([GITHUB]);
    m.trashRestore.mockRejectedValueOnce({ code: 'failure', message: "a credential named 'api/github' already exists", field: 'name' });
    await fireEvent.click(button('Restore api/github'));
    const input = (await screen.findByRole('textbox', { name: 'Restore as' })) as HTMLInputElement;
    expect(input.value).toBe('api/github-restored');
    await waitFor(() => expect(document.activeElement).toBe(input));
    const error = document.getElementById(input.getAttribute('aria-describedby') ?? '');
    expect(error?.textContent).toBe("A credential named 'api/github' already exists. Give it another name to restore it.");
    expect(input.getAttribute('aria-invalid')).toBe('true');
    // An empty name is refused before asking the shell.
    await fireEvent.input(input, { target: { value: '' } });
    await fireEvent.click(button('Restore under this name'));
    await waitFor(() => expect(error?.textContent).toContain('Enter a name'));
    expect(m.trashRestore).toHaveBeenCalledTimes(1);
    // Under a free name it comes back.
    m.trashRestore.mockResolvedValue(detail('api/github-old'));
    m.trashList.mockResolvedValue([]);
    await fireEvent.input(input, { target: { value: 'api/github-old' } });
    await fireEvent.click(button('Restore under this name'));
    await waitFor(() => expect(m.trashRestore).toHaveBeenLastCalledWith('t1', 'api/github-old'));
    await waitFor(() => expect(screen.queryByRole('textbox', { name: 'Restore as' })).toBeNull());
    expect(document.getElementById('toast-status')?.textContent).toBe('Restored api/github as api/github-old.');
    // The last row went: focus to the panel's heading.
    await waitFor(() => expect(document.activeElement?.id).toBe('trash-title'));
  });

  it('cancels a rename with Escape, back on the row’s Restore button', async () => {
    await renderTrash([GITHUB]);
    m.trashRestore.mockRejectedValueOnce({ code: 'failure', message: "a credential named 'api/github' already exists", field: 'name' });
    await fireEvent.click(button('Restore api/github'));
    const input = await screen.findByRole('textbox', { name: 'Restore as' });
    await fireEvent.keyDown(input, { key: 'Escape' });
    await waitFor(() => expect(screen.queryByRole('textbox', { name: 'Restore as' })).toBeNull());
    await waitFor(() => expect(document.activeElement).toBe(button('Restore api/github')));
  });

  it('deletes one for good after the shell’s dialog, focus to the row that took its place', async () => {
    await renderTrash([GITHUB, STRIPE]);
    m.trashPurge.mockResolvedValue(1);
    m.trashList.mockResolvedValue([STRIPE]);
    await fireEvent.click(button('Delete api/github for good'));
    await waitFor(() => expect(rowNames()).toEqual(['api/stripe']));
    expect(m.trashPurge).toHaveBeenCalledWith('t1');
    expect(document.getElementById('toast-status')?.textContent).toBe('Deleted api/github for good.');
    await waitFor(() => expect(document.activeElement).toBe(button('Restore api/stripe')));
  });

  it('empties the trash', async () => {
    await renderTrash([GITHUB, STRIPE]);
    m.trashPurge.mockResolvedValue(2);
    m.trashList.mockResolvedValue([]);
    await fireEvent.click(button('Empty trash'));
    await waitFor(() => expect(document.getElementById('trash-panel')?.textContent).toContain('The trash is empty.'));
    expect(m.trashPurge).toHaveBeenCalledWith(null);
    expect(document.getElementById('toast-status')?.textContent).toBe('Emptied the trash: 2 credentials deleted for good.');
    await waitFor(() => expect(document.activeElement?.id).toBe('trash-title'));
  });

  it('takes a no in the shell’s dialog as nothing happened', async () => {
    await renderTrash([GITHUB]);
    m.trashPurge.mockRejectedValue({ code: 'declined', message: 'nothing was changed', field: null });
    await fireEvent.click(button('Delete api/github for good'));
    await waitFor(() => expect(m.trashPurge).toHaveBeenCalledWith('t1'));
    await fireEvent.click(button('Empty trash'));
    await waitFor(() => expect(m.trashPurge).toHaveBeenCalledWith(null));
    await waitFor(() => expect((button('Empty trash') as HTMLButtonElement).disabled).toBe(false));
    expect(rowNames()).toEqual(['api/github']);
    expect(document.querySelector('#trash-panel .notice.error')).toBeNull();
    expect(document.getElementById('toast-status')?.textContent).toBe('');
    expect(document.getElementById('toast-alert')?.textContent).toBe('');
  });

  it('shows a failed purge', async () => {
    await renderTrash([GITHUB]);
    m.trashPurge.mockRejectedValue({ code: 'failure', message: 'the vault is busy', field: null });
    await fireEvent.click(button('Delete api/github for good'));
    await waitFor(() => expect(document.querySelector('#trash-panel .notice.error')?.textContent).toBe('Coffer ran into a problem: the vault is busy.'));
    expect(rowNames()).toEqual(['api/github']);
  });
});
