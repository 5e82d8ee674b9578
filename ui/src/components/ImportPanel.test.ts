// @vitest-environment jsdom
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as ipc from '../lib/ipc';
import { notices } from '../lib/notices.svelte';
import { session } from '../lib/session.svelte';
import { status } from '../test/fixtures';
import { resetStores } from '../test/reset';
import ImportPanel from './ImportPanel.svelte';

vi.mock('../lib/ipc', async (original) => (await import('../test/mock-ipc')).mockIpc(await original()));

const m = vi.mocked(ipc);

function preview(over: Partial<ipc.ImportPreview> = {}): ipc.ImportPreview {
  return { file: 'export.csv', format: '1password-csv', count: 3, names: ['op/a', 'op/b', 'op/c'], taken: [], warnings: [], ...over };
}

beforeEach(() => {
  vi.clearAllMocks();
  resetStores();
  session.setStatus(status());
});

describe('import', () => {
  it('asks the shell for the file, shows what it holds, and imports only when told', async () => {
    m.importPreview.mockResolvedValue(preview());
    m.importApply.mockResolvedValue({ imported: 3, overwritten: 0, renamed: 0, skipped: 0, unchanged: 0 });
    const before = session.revision;
    render(ImportPanel);
    await fireEvent.change(screen.getByRole('combobox', { name: 'Format' }), { target: { value: 'bitwarden-json' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Choose file…' }));
    await waitFor(() => expect(m.importPreview).toHaveBeenCalledWith('bitwarden-json'));
    expect(await screen.findByText('export.csv')).toBeTruthy();
    expect(screen.getByRole('list', { name: 'Credentials in the file' }).textContent).toContain('op/b');
    expect(m.importApply).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByRole('button', { name: 'Import 3 credentials' }));
    await waitFor(() => expect(m.importApply).toHaveBeenCalledWith(null));
    await waitFor(() => expect(notices.current?.text).toBe('3 credentials imported.'));
    expect(session.revision).toBe(before + 1);
  });

  it('asks what to do with taken names and sends the choice', async () => {
    m.importPreview.mockResolvedValue(preview({ taken: ['op/a'] }));
    m.importApply.mockResolvedValue({ imported: 2, overwritten: 0, renamed: 1, skipped: 0, unchanged: 0 });
    render(ImportPanel);
    await fireEvent.click(screen.getByRole('button', { name: 'Choose file…' }));
    await fireEvent.click(await screen.findByRole('radio', { name: 'Import theirs under a new name' }));
    await fireEvent.click(screen.getByRole('button', { name: 'Import 3 credentials' }));
    await waitFor(() => expect(m.importApply).toHaveBeenCalledWith('rename'));
    await waitFor(() => expect(notices.current?.text).toBe('2 credentials imported, 1 renamed.'));
  });

  it('a closed file chooser changes nothing; a bad file is said', async () => {
    m.importPreview.mockRejectedValueOnce({ code: 'declined', message: 'nothing was changed' });
    render(ImportPanel);
    await fireEvent.click(screen.getByRole('button', { name: 'Choose file…' }));
    await waitFor(() => expect(m.importPreview).toHaveBeenCalledTimes(1));
    expect(screen.queryByRole('alert')).toBeNull();
    m.importPreview.mockRejectedValueOnce({ code: 'invalid_input', message: 'line 2: a 1Password CSV export needs a Title column' });
    await fireEvent.click(screen.getByRole('button', { name: 'Choose file…' }));
    expect((await screen.findByRole('alert')).textContent).toContain('needs a Title column');
    expect(m.importApply).not.toHaveBeenCalled();
  });
});
