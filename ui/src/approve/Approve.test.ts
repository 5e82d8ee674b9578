// @vitest-environment jsdom
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApprovalView } from '../lib/contract';
import Approve from './Approve.svelte';
import * as ipc from './ipc';

vi.mock('./ipc', () => ({
  approvalGet: vi.fn(),
  approvalAnswer: vi.fn(),
  approvalCode: vi.fn(),
}));

const m = vi.mocked(ipc);

function question(over: Partial<ApprovalView> = {}): ApprovalView {
  return {
    credentials: ['aws/prod'],
    rule: 'ask-every-time',
    why: 'its MFA device must give a code for a session',
    purpose: 'credential_process',
    program: 'aws',
    pid: 4242,
    exe: '/usr/bin/aws',
    commandLine: 'aws sts get-caller-identity',
    directory: '/home/dev',
    terminal: true,
    parents: ['4100 bash'],
    rememberMinutes: 0,
    mfaSerial: 'arn:aws:iam::123456789012:mfa/dev',
    ...over,
  };
}

beforeEach(() => {
  vi.clearAllMocks();
  m.approvalAnswer.mockResolvedValue(undefined);
  m.approvalCode.mockResolvedValue(undefined);
});

describe('the approval window', () => {
  it('asks for the MFA code, sends it only when it is six digits, and can decline', async () => {
    m.approvalGet.mockResolvedValue(question());
    render(Approve, { props: { nonce: 'n1' } });
    const input = await screen.findByRole('textbox', { name: 'Code from the device' });
    expect(screen.getByText('arn:aws:iam::123456789012:mfa/dev')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Allow once' })).toBeNull();
    const send = screen.getByRole('button', { name: 'Send code' });
    await fireEvent.input(input, { target: { value: '12a45' } });
    expect((send as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.submit(input.closest('form') as HTMLFormElement);
    expect(screen.getByRole('alert').textContent).toContain('six digits');
    expect(input.getAttribute('aria-describedby')).toBe('approval-error');
    expect(m.approvalCode).not.toHaveBeenCalled();
    await fireEvent.input(input, { target: { value: '123456' } });
    await fireEvent.click(send);
    await waitFor(() => expect(m.approvalCode).toHaveBeenCalledWith('n1', '123456'));
  });

  it('shows a refused code and lets the person decline', async () => {
    m.approvalGet.mockResolvedValue(question());
    m.approvalCode.mockRejectedValue({ code: 'invalid_input', message: 'an AWS MFA code is six digits', field: 'code' });
    render(Approve, { props: { nonce: 'n2' } });
    const input = await screen.findByRole('textbox', { name: 'Code from the device' });
    await fireEvent.input(input, { target: { value: '000000' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Send code' }));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('six digits'));
    await fireEvent.click(screen.getByRole('button', { name: 'Decline' }));
    expect(m.approvalAnswer).toHaveBeenCalledWith('n2', 'deny');
  });

  it('asks an access question with its answers and no code field', async () => {
    m.approvalGet.mockResolvedValue(question({ mfaSerial: null, rule: 'ask', rememberMinutes: 10 }));
    render(Approve, { props: { nonce: 'n3' } });
    await screen.findByRole('button', { name: 'Allow once' });
    expect(screen.queryByRole('textbox')).toBeNull();
    await fireEvent.click(screen.getByRole('button', { name: 'Allow for this terminal for 10 min' }));
    expect(m.approvalAnswer).toHaveBeenCalledWith('n3', 'for_terminal');
  });
});
