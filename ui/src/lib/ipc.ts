// The one door between the web view and the Rust shell.
//
// Every Tauri command the front end uses gets a typed wrapper here, and no
// other module imports `invoke`. Errors are normalised into `IpcError` so the
// rest of the UI never has to guess what a rejected promise holds.

import { invoke } from '@tauri-apps/api/core';

/** What the shell reports about the vault file. Field names match the JSON the Rust side sends. */
export type VaultState = 'missing' | 'locked' | 'unlocked';

export type VaultStatus = {
  state: VaultState;
  /** Where the vault file lives (or would live, when missing). */
  path: string;
  /** Number of stored credentials; only known while unlocked. */
  credentialCount: number | null;
  /** Optional explanation from the shell, e.g. why the vault is still locked. */
  message: string | null;
};

export const IPC_ERROR_CODES = [
  'cannot_unlock',
  'integrity',
  'not_found',
  'invalid_input',
  'conflict',
  'failure',
] as const;

export type IpcErrorCode = (typeof IPC_ERROR_CODES)[number];

/** The shape of every error a Coffer command rejects with. */
export type IpcError = {
  code: IpcErrorCode;
  message: string;
};

export function isIpcErrorCode(value: unknown): value is IpcErrorCode {
  return typeof value === 'string' && (IPC_ERROR_CODES as readonly string[]).includes(value);
}

export function isIpcError(value: unknown): value is IpcError {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return isIpcErrorCode(candidate['code']) && typeof candidate['message'] === 'string';
}

/** How each error code opens its sentence. The shell's message, if any, follows. */
const LEADS: Record<IpcErrorCode, string> = {
  cannot_unlock: 'Coffer could not unlock the vault',
  integrity: 'The vault file failed its integrity check and was not opened',
  not_found: 'Coffer could not find what it was asked for',
  invalid_input: 'Coffer rejected the request as invalid',
  conflict: 'That change conflicts with the current state of the vault',
  failure: 'Coffer ran into a problem',
};

const GENERIC = 'Something went wrong, and Coffer was given no explanation.';
const MAX_DETAIL = 300;

/** Collapse whitespace, cap the length, and make sure the text ends like a sentence. */
function tidy(text: string): string {
  let out = text.replace(/\s+/g, ' ').trim();
  if (out.length > MAX_DETAIL) out = `${out.slice(0, MAX_DETAIL - 1).trimEnd()}…`;
  if (out !== '' && !/[.!?…]$/.test(out)) out += '.';
  return out;
}

function messageOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.message;
  if (typeof value === 'object' && value !== null) {
    const message = (value as Record<string, unknown>)['message'];
    if (typeof message === 'string') return message;
  }
  return null;
}

/**
 * Turn anything a command (or the code around it) threw into one sentence a
 * person can read. Never returns JSON, `[object Object]` or an empty string.
 */
export function describeError(error: unknown): string {
  if (isIpcError(error)) {
    const detail = tidy(error.message);
    const lead = LEADS[error.code];
    return detail === '' ? `${lead}.` : `${lead}: ${detail}`;
  }
  const message = messageOf(error);
  if (message === null) return GENERIC;
  const sentence = tidy(message);
  return sentence === '' ? GENERIC : sentence;
}

/** Normalise whatever `invoke` rejected with into an `IpcError`. */
export function toIpcError(error: unknown): IpcError {
  if (isIpcError(error)) return error;
  return { code: 'failure', message: messageOf(error) ?? '' };
}

function insideTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

async function call<T>(command: string): Promise<T> {
  if (!insideTauri()) {
    throw {
      code: 'failure',
      message: 'this window is not running inside the Coffer desktop app',
    } satisfies IpcError;
  }
  try {
    return await invoke<T>(command);
  } catch (error) {
    throw toIpcError(error);
  }
}

/** Report whether the vault exists and whether it is unlocked. */
export function vaultStatus(): Promise<VaultStatus> {
  return call<VaultStatus>('vault_status');
}

/** Unlock the vault with the key held in the OS keyring. */
export function vaultUnlock(): Promise<VaultStatus> {
  return call<VaultStatus>('vault_unlock');
}

/** Lock the vault, dropping the key from memory. */
export function vaultLock(): Promise<VaultStatus> {
  return call<VaultStatus>('vault_lock');
}
