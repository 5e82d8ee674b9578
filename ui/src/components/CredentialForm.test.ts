// @vitest-environment jsdom
import { fireEvent, render, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as ipc from '../lib/ipc';
import { session } from '../lib/session.svelte';
import { API_KEY_SCHEMA, DB_SCHEMA, detail, settings, status } from '../test/fixtures';
import { resetStores } from '../test/reset';
import { confirmation } from '../lib/confirm.svelte';
import { notices } from '../lib/notices.svelte';
import ConfirmDialog from './ConfirmDialog.svelte';
import CredentialForm from './CredentialForm.svelte';

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

async function choose(id: string, value: string): Promise<void> {
  const select = el(id) as HTMLSelectElement;
  select.value = value;
  await fireEvent.change(select);
}

beforeEach(() => {
  vi.clearAllMocks();
  resetStores();
  m.settingsGet.mockResolvedValue(settings());
  m.kindSchemas.mockResolvedValue([API_KEY_SCHEMA, DB_SCHEMA]);
  session.setStatus(status());
});

describe('adding', () => {
  it('shows the kind’s template with required marks and secret inputs', async () => {
    render(CredentialForm, { mode: 'add' });
    await waitFor(() => expect(document.getElementById('field-key')).not.toBeNull());
    expect((el('field-key') as HTMLInputElement).type).toBe('password');
    expect(document.getElementById('generate-key')).not.toBeNull();
    await choose('form-kind', 'db-password');
    await waitFor(() => expect(document.getElementById('field-host')).not.toBeNull());
    expect(document.getElementById('field-key')).toBeNull();
    expect((el('field-password') as HTMLInputElement).type).toBe('password');
    expect(document.querySelector('label[for="field-host"] .required')).not.toBeNull();
  });

  it('checks before sending and keeps what was typed', async () => {
    render(CredentialForm, { mode: 'add' });
    // The kinds are in (the default kind's template shows) before another is chosen.
    await waitFor(() => expect(document.getElementById('field-key')).not.toBeNull());
    await choose('form-kind', 'db-password');
    await waitFor(() => expect(document.getElementById('field-port')).not.toBeNull());
    await type('form-name', '/db/main');
    await type('field-port', 'eighty');
    await type('form-tags', 'ok, not ok');
    await fireEvent.click(el('form-save'));
    await waitFor(() => expect(el('error-name').textContent).toMatch(/start or end/));
    expect(el('error-port').textContent).toMatch(/port number/);
    expect(el('error-host').textContent).toMatch(/required/);
    expect(el('error-password').textContent).toMatch(/required/);
    expect(el('error-tags').textContent).toMatch(/not ok/);
    expect(document.activeElement?.id).toBe('form-name');
    expect((el('field-port') as HTMLInputElement).value).toBe('eighty');
    expect(m.credentialAdd).not.toHaveBeenCalled();
    expect(m.credentialValidate).not.toHaveBeenCalled();
  });

  it('validates with the core, then adds, then opens the new credential', async () => {
    m.credentialValidate.mockResolvedValue(undefined);
    m.credentialAdd.mockResolvedValue(detail('api/new'));
    m.generateSecret.mockResolvedValue('G'.repeat(32));
    render(CredentialForm, { mode: 'add' });
    await waitFor(() => expect(document.getElementById('field-key')).not.toBeNull());
    await type('form-name', 'api/new');
    await type('form-env', 'prod');
    await type('form-tags', 'ci, team-a');
    await type('form-notes', 'hello');
    await type('form-expires', '2030-06-01');
    await fireEvent.click(el('generate-key'));
    await waitFor(() => expect((el('field-key') as HTMLInputElement).value).toBe('G'.repeat(32)));
    expect(m.generateSecret).toHaveBeenCalledWith(32, 'alphanumeric_symbols');
    await fireEvent.click(el('form-save'));
    const input = {
      name: 'api/new',
      kind: 'api-key',
      env: 'prod',
      tags: ['ci', 'team-a'],
      notes: 'hello',
      fields: {},
      values: { key: 'G'.repeat(32) },
      expiresAt: '2030-06-01T00:00:00Z',
    };
    await waitFor(() => expect(m.credentialAdd).toHaveBeenCalledWith(input));
    expect(m.credentialValidate).toHaveBeenCalledWith(input);
    await waitFor(() => expect(session.route.pane).toEqual({ mode: 'view', name: 'api/new' }));
  });

  it('puts a core error with a field next to it, and others above the form', async () => {
    m.credentialValidate.mockRejectedValueOnce({ code: 'invalid_input', message: 'a credential with this name exists', field: 'name' });
    m.credentialValidate.mockRejectedValueOnce({ code: 'failure', message: 'disk full' });
    render(CredentialForm, { mode: 'add' });
    await waitFor(() => expect(document.getElementById('field-key')).not.toBeNull());
    await type('form-name', 'api/dup');
    await type('field-key', 'k');
    await fireEvent.click(el('form-save'));
    await waitFor(() => expect(el('error-name').textContent).toBe('A credential with this name exists.'));
    expect(document.getElementById('form-error')).toBeNull();
    await fireEvent.click(el('form-save'));
    await waitFor(() => expect(el('form-error').textContent).toContain('Coffer ran into a problem: disk full.'));
    expect((el('form-name') as HTMLInputElement).value).toBe('api/dup');
    expect((el('field-key') as HTMLInputElement).value).toBe('k');
  });
});

describe('editing', () => {
  it('sends the whole new state with the expected version; blank secrets are kept', async () => {
    m.credentialGet.mockResolvedValue(detail('api/github', { version: 4, fields: [{ name: 'url', label: 'URL', value: 'https://a' }] }));
    m.credentialUpdate.mockResolvedValue(detail('api/hub', { version: 5 }));
    render(CredentialForm, { mode: 'edit', name: 'api/github' });
    await waitFor(() => expect((el('form-name') as HTMLInputElement).value).toBe('api/github'));
    expect((el('form-kind') as HTMLSelectElement).disabled).toBe(true);
    expect((el('field-key') as HTMLInputElement).value).toBe('');
    await type('form-name', 'api/hub');
    await type('field-url', '');
    await fireEvent.click(el('form-save'));
    await waitFor(() =>
      expect(m.credentialUpdate).toHaveBeenCalledWith('api/github', {
        rename: 'api/hub',
        env: 'prod',
        tags: ['ci'],
        notes: 'Used by CI.',
        fields: {},
        values: {},
        unset: ['url'],
        expiresAt: null,
        expectedVersion: 4,
      }),
    );
    await waitFor(() => expect(session.route.pane).toEqual({ mode: 'view', name: 'api/hub' }));
  });

  it('shows no inputs and cannot save until the credential is loaded', async () => {
    let answer: (value: ReturnType<typeof detail>) => void = () => {};
    m.credentialGet.mockReturnValue(new Promise((resolve) => (answer = resolve)));
    render(CredentialForm, { mode: 'edit', name: 'api/github' });
    // The kinds are in, the credential is not: nothing to type into, nothing to save.
    await waitFor(() => expect(m.kindSchemas).toHaveBeenCalled());
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(document.getElementById('form-notes')).toBeNull();
    expect((el('form-save') as HTMLButtonElement).disabled).toBe(true);
    expect(el('form').getAttribute('aria-busy')).toBe('true');
    answer(detail('api/github', { notes: 'as stored' }));
    await waitFor(() => expect((el('form-notes') as HTMLTextAreaElement).value).toBe('as stored'));
    expect((el('form-save') as HTMLButtonElement).disabled).toBe(false);
    expect(el('form').getAttribute('aria-busy')).toBe('false');
  });

  it('explains a conflict and offers to reload', async () => {
    m.credentialGet.mockResolvedValueOnce(detail('api/github', { version: 4 }));
    m.credentialGet.mockResolvedValueOnce(detail('api/github', { version: 6, notes: 'changed elsewhere' }));
    m.credentialUpdate.mockRejectedValue({ code: 'conflict', message: 'api/github is at version 6, not 4' });
    render(CredentialForm, { mode: 'edit', name: 'api/github' });
    await waitFor(() => expect((el('form-name') as HTMLInputElement).value).toBe('api/github'));
    await type('form-notes', 'my edit');
    await fireEvent.click(el('form-save'));
    await waitFor(() => expect(el('form-error').textContent).toMatch(/changed elsewhere while you were editing/));
    expect((el('form-notes') as HTMLTextAreaElement).value).toBe('my edit');
    await fireEvent.click(el('form-reload'));
    await waitFor(() => expect((el('form-notes') as HTMLTextAreaElement).value).toBe('changed elsewhere'));
    expect(document.getElementById('form-error')).toBeNull();
  });
});

describe('unsaved changes', () => {
  it('are asked about before Escape, Cancel or a screen change drops them', async () => {
    render(ConfirmDialog);
    const form = render(CredentialForm, { mode: 'add' });
    // Loaded (focus goes to the kind once the form is ready).
    await waitFor(() => expect(document.activeElement?.id).toBe('form-kind'));
    session.addCredential();
    // Nothing typed: Escape just closes.
    expect(session.leaveGuard).toBeNull();
    await type('form-name', 'api/half-typed');
    await waitFor(() => expect(session.leaveGuard).not.toBeNull());
    await fireEvent.keyDown(el('form-name'), { key: 'Escape' });
    await waitFor(() => expect(confirmation.request?.title).toBe('Discard your changes?'));
    await fireEvent.click(el('confirm-no'));
    expect(session.route.pane.mode).toBe('add');
    expect((el('form-name') as HTMLInputElement).value).toBe('api/half-typed');
    // A screen change asks too, and stays when told to.
    const going = session.go('audit');
    await waitFor(() => expect(confirmation.request).not.toBeNull());
    confirmation.answer(false);
    expect(await going).toBe(false);
    expect(session.route.screen).toBe('credentials');
    // A lock drops the draft with a notice, never silently.
    session.lockedByShell('idle');
    form.unmount();
    expect(notices.current?.text).toContain('not saved');
    expect(session.leaveGuard).toBeNull();
  });
});
