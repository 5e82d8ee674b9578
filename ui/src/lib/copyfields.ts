// Which field the copy shortcuts take: Ctrl/Cmd+C the main secret, Ctrl/Cmd+B
// the user or id (1Password's and KeePassXC's habits), read from the kind's
// template so a new kind needs nothing here.

import type { KindSchema } from './contract';

/** Plain fields that name who or what the secret belongs to, most telling first. */
const USER_FIELDS = [
  'user',
  'username',
  'login',
  'access_key_id',
  'role_id',
  'client_id',
  'client_email',
  'key_id',
  'account',
  'role_arn',
];

export type CopyWhich = 'secret' | 'user';

/** The shortcut's choice, or null for any other key. No copy when text is selected: Ctrl+C then copies it. */
export function copyShortcut(event: KeyboardEvent): CopyWhich | null {
  const primary = event.ctrlKey !== event.metaKey;
  if (!primary || event.altKey || event.shiftKey) return null;
  const key = event.key.toLowerCase();
  const letter = /^[a-z]$/.test(key) ? key : event.code === 'KeyC' ? 'c' : event.code === 'KeyB' ? 'b' : '';
  if (letter === 'c') {
    const selected = window.getSelection()?.toString() ?? '';
    return selected === '' ? 'secret' : null;
  }
  return letter === 'b' ? 'user' : null;
}

/** The field of `schema` the shortcut copies; null when the kind has none (generic). */
export function fieldFor(schema: KindSchema | undefined, which: CopyWhich): string | null {
  if (schema === undefined) return null;
  if (which === 'secret') return schema.fields.find((f) => f.secret && f.required)?.name ?? null;
  const plain = new Set(schema.fields.filter((f) => !f.secret).map((f) => f.name));
  return USER_FIELDS.find((name) => plain.has(name)) ?? null;
}

/** For a credential whose fields are known (the open one, generic too). */
export function fieldAmong(secret: string[], plain: string[], which: CopyWhich, schema: KindSchema | undefined): string | null {
  const fromSchema = fieldFor(schema, which);
  const present = which === 'secret' ? secret : plain;
  if (fromSchema !== null && present.includes(fromSchema)) return fromSchema;
  if (which === 'secret') return secret[0] ?? null;
  return USER_FIELDS.find((name) => plain.includes(name)) ?? null;
}

/** Whether keys typed at `target` are text editing (their Ctrl+C is the field's own). */
export function isEditing(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement)
  );
}
