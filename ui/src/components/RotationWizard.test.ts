// @vitest-environment jsdom
import { fireEvent, render, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as ipc from '../lib/ipc';
import { session } from '../lib/session.svelte';
import { detail, settings, status } from '../test/fixtures';
import { resetStores } from '../test/reset';
import ConfirmDialog from './ConfirmDialog.svelte';
import RotationWizard from './RotationWizard.svelte';

vi.mock('../lib/ipc', async (original) => (await import('../test/mock-ipc')).mockIpc(await original()));

const m = vi.mocked(ipc);

type StepState = 'done' | 'current' | 'pending';
const STEPS: ipc.RotationStep[] = ['prepare', 'new_value', 'verify', 'promote', 'revoke', 'done'];

function run(at: number, over: Partial<ipc.RotationRun> = {}): ipc.RotationRun {
  return {
    name: 'api/github',
    flow: 'manual',
    step: STEPS[at] ?? 'done',
    startedAt: '2025-03-01T10:00:00Z',
    steps: STEPS.map((step, i) => ({ step, label: step.replace('_', ' '), state: (i < at ? 'done' : i === at ? 'current' : 'pending') as StepState })),
    outcome: 'waiting',
    reason: null,
    until: null,
    question: null,
    needsValues: [],
    messages: [],
    ...over,
  };
}

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
  m.credentialGet.mockResolvedValue(detail('api/github'));
});

describe('the rotation wizard', () => {
  it('starts a rotation and walks through question, new value and done', async () => {
    m.rotationGet.mockResolvedValue(null);
    m.rotationAdvance
      .mockResolvedValueOnce(run(0, { question: 'Create a new key at GitHub, then confirm.', messages: ['Started.'] }))
      .mockResolvedValueOnce(run(1, { needsValues: ['key'], messages: ['Started.', 'Prepared.'] }))
      .mockResolvedValueOnce(run(5, { outcome: 'done', step: 'done', messages: ['Started.', 'Prepared.', 'Promoted.'] }));
    m.generateSecret.mockResolvedValue('new-generated-key');
    render(RotationWizard, { name: 'api/github' });
    await waitFor(() => expect(document.getElementById('wizard-start')).not.toBeNull());
    expect(m.rotationAdvance).not.toHaveBeenCalled();
    await fireEvent.click(el('wizard-start'));
    await waitFor(() => expect(el('wizard-question').textContent).toContain('Create a new key'));
    // Each step puts focus on what the person does next.
    await waitFor(() => expect(document.activeElement?.id).toBe('wizard-question'));
    expect(m.rotationAdvance).toHaveBeenCalledWith('api/github', expect.objectContaining({ confirm: false, values: null }));
    expect(el('wizard').dataset['name']).toBe('api/github');
    expect(document.querySelector('#wizard-steps li[data-step="prepare"]')?.getAttribute('data-state')).toBe('current');
    expect(el('wizard-messages').textContent).toContain('Started.');
    await fireEvent.click(el('wizard-confirm'));
    await waitFor(() => expect(document.getElementById('wizard-value-key')).not.toBeNull());
    await waitFor(() => expect(document.activeElement?.id).toBe('wizard-value-key'));
    expect(m.rotationAdvance).toHaveBeenLastCalledWith('api/github', expect.objectContaining({ confirm: true }));
    await fireEvent.click(el('wizard-continue'));
    expect(document.body.textContent).toContain('Enter the new Key');
    await fireEvent.click(el('wizard-generate'));
    await waitFor(() => expect((el('wizard-value-key') as HTMLInputElement).value).toBe('new-generated-key'));
    await fireEvent.click(el('wizard-continue'));
    await waitFor(() => expect(el('wizard-outcome').textContent).toContain('done'));
    expect(m.rotationAdvance).toHaveBeenLastCalledWith('api/github', expect.objectContaining({ values: { key: 'new-generated-key' } }));
    expect(document.getElementById('wizard-abort')).toBeNull();
  });

  it('resumes a running rotation where it is, waiting for the grace period', async () => {
    m.rotationGet.mockResolvedValue(run(4, { until: '2025-03-02T10:00:00Z', reason: 'grace period' }));
    render(RotationWizard, { name: 'api/github' });
    await waitFor(() => expect(el('wizard-outcome').textContent).toContain('Waiting for the grace period'));
    expect(m.rotationAdvance).not.toHaveBeenCalled();
    expect(document.querySelector('#wizard-steps li[data-step="revoke"]')?.getAttribute('data-state')).toBe('current');
    expect(el('wizard-continue').textContent).toContain('Check again');
  });

  it('offers the automated flow for AWS keys and shows progress events', async () => {
    m.credentialGet.mockResolvedValue(detail('aws/prod', { kind: 'aws-access-key' }));
    m.rotationGet.mockResolvedValue(null);
    let emit: (p: ipc.RotationProgress) => void = () => {};
    m.onRotationProgress.mockImplementation((handler) => {
      emit = handler;
      return Promise.resolve(() => {});
    });
    let finish: (r: ipc.RotationRun) => void = () => {};
    m.rotationAdvance.mockImplementation(() => new Promise((resolve) => (finish = resolve)));
    render(RotationWizard, { name: 'aws/prod' });
    await waitFor(() => expect(document.getElementById('wizard-start')).not.toBeNull());
    expect(m.rotationAdvance).not.toHaveBeenCalled();
    expect((el('wizard-automate') as HTMLInputElement).checked).toBe(true);
    await fireEvent.click(el('wizard-start'));
    expect(m.rotationAdvance).toHaveBeenCalledWith('aws/prod', expect.objectContaining({ automate: true }));
    emit({ name: 'aws/prod', step: 'new_value', message: 'Created access key AKIA…NEW' });
    await waitFor(() => expect(document.body.textContent).toContain('Created access key'));
    finish(run(5, { name: 'aws/prod', flow: 'aws_iam', outcome: 'done', messages: ['Created access key AKIA…NEW'] }));
    await waitFor(() => expect(el('wizard-outcome').textContent).toContain('done'));
    // Told once: the run's message replaces the live one.
    expect(el('wizard-messages').textContent?.match(/Created access key/g)?.length).toBe(1);
  });

  it('says the grace default, and a question can wait for later', async () => {
    m.rotationGet.mockResolvedValue(null);
    m.rotationAdvance.mockResolvedValueOnce(run(0, { question: 'Create a new key at GitHub, then confirm.' }));
    session.openWizard('api/github');
    render(RotationWizard, { name: 'api/github' });
    await waitFor(() => expect(document.getElementById('wizard-grace')).not.toBeNull());
    expect(el('wizard-grace').getAttribute('placeholder')).toBe('24');
    expect(el('wizard-grace-hint').textContent).toContain('24 hours when left empty');
    await fireEvent.click(el('wizard-start'));
    await waitFor(() => expect(document.getElementById('wizard-not-yet')).not.toBeNull());
    await fireEvent.click(el('wizard-not-yet'));
    expect(session.route.wizard).toBeNull();
    expect(m.rotationAbort).not.toHaveBeenCalled();
  });

  it('aborts after confirmation', async () => {
    m.rotationGet.mockResolvedValue(run(2, { question: 'Did the new key work?' }));
    m.rotationAbort.mockResolvedValue(undefined);
    render(RotationWizard, { name: 'api/github' });
    render(ConfirmDialog);
    await waitFor(() => expect(document.getElementById('wizard-abort')).not.toBeNull());
    await fireEvent.click(el('wizard-abort'));
    await waitFor(() => expect(document.getElementById('confirm-yes')).not.toBeNull());
    await fireEvent.click(el('confirm-yes'));
    await waitFor(() => expect(el('wizard-outcome').textContent).toContain('aborted'));
    expect(m.rotationAbort).toHaveBeenCalledWith('api/github');
  });

  it('keeps typed values and says what failed', async () => {
    m.rotationGet.mockResolvedValue(run(1, { needsValues: ['key'] }));
    m.rotationAdvance.mockRejectedValue({ code: 'invalid_input', message: 'the new key equals the old one', field: 'key' });
    render(RotationWizard, { name: 'api/github' });
    await waitFor(() => expect(document.getElementById('wizard-value-key')).not.toBeNull());
    await fireEvent.input(el('wizard-value-key'), { target: { value: 'same-as-before' } });
    await fireEvent.click(el('wizard-continue'));
    await waitFor(() => expect(el('wizard-error').textContent).toContain('the new key equals the old one'));
    expect((el('wizard-value-key') as HTMLInputElement).value).toBe('same-as-before');
  });
});
