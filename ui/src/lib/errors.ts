// Where an error goes: next to a form field, or above the form. (A locked
// vault is handled before the error gets here: ipc's `whenLocked`.) Messages
// come from `describeError`, so no raw JSON ever reaches the screen.

import { describeError, isIpcError, toIpcError, type IpcError } from './ipc';

export function hasCode(error: unknown, code: IpcError['code']): boolean {
  return isIpcError(error) && error.code === code;
}

// The core names some inputs differently from the form ("environment 'x'" for env).
const ALIASES: Record<string, string> = {
  name: 'name',
  rename: 'name',
  env: 'env',
  environment: 'env',
  tag: 'tags',
  tags: 'tags',
  notes: 'notes',
  expires: 'expires',
  expiry: 'expires',
  expires_at: 'expires',
  expiresat: 'expires',
};

/**
 * The form field an error belongs to, or null. `field` from the shell may be a
 * plain name ("name", "access_key_id"), or a phrase like "field 'port'" or
 * "environment 'pr od'"; `fields` are the form's own field names.
 */
export function fieldOf(error: unknown, fields: readonly string[]): string | null {
  if (!isIpcError(error)) return null;
  const raw = (error.field ?? '').trim();
  if (raw === '') return null;
  if (fields.includes(raw)) return raw;
  const quoted = /^(\w+)\s+'(.*)'$/.exec(raw);
  if (quoted !== null) {
    const [, word = '', inner = ''] = quoted;
    if (word === 'field' && fields.includes(inner)) return inner;
    const alias = ALIASES[word.toLowerCase()];
    if (alias !== undefined && fields.includes(alias)) return alias;
  }
  const alias = ALIASES[raw.toLowerCase()];
  if (alias !== undefined && fields.includes(alias)) return alias;
  return null;
}

/** The shell's own message, as a sentence, for showing next to a field. */
export function fieldMessage(error: unknown): string {
  const normalised = toIpcError(error);
  const text = normalised.message.replace(/\s+/g, ' ').trim();
  if (text === '') return describeError(error);
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?…]$/.test(sentence) ? sentence : `${sentence}.`;
}

export type Placed = { field: string; message: string } | { field: null; message: string };

/** Next to its field when the form has it, else a sentence for above the form. */
export function placeError(error: unknown, fields: readonly string[]): Placed {
  const field = fieldOf(error, fields);
  if (field !== null) return { field, message: fieldMessage(error) };
  return { field: null, message: describeError(error) };
}
