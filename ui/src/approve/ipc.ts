// The approval window's one door to the shell: its three commands, which
// capabilities/approval.json grants to approval windows only (the main
// window's module is ../lib/ipc.ts).

import { invoke } from '@tauri-apps/api/core';
import type { ApprovalAnswer, ApprovalView } from '../lib/contract';
import { toIpcError } from '../lib/ipc';

async function call<T>(command: string, args: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toIpcError(error);
  }
}

/** The question this window was opened for. */
export function approvalGet(nonce: string): Promise<ApprovalView> {
  return call<ApprovalView>('approval_get', { nonce });
}

/** Answers it; the shell then closes the window. */
export function approvalAnswer(nonce: string, answer: ApprovalAnswer): Promise<void> {
  return call<void>('approval_answer', { nonce, answer });
}

/** Gives the MFA code the question asks for; the shell then closes the window. */
export function approvalCode(nonce: string, code: string): Promise<void> {
  return call<void>('approval_code', { nonce, code });
}
