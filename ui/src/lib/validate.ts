// Checks made before a form is sent. They mirror the core's obvious rules
// (crates/coffer-core/src/credential.rs) so a person hears about a mistake
// next to the field at once; the core still checks everything again.

import type { FieldFormat, FieldSchema, Preferences, RemoteType } from './ipc';

/** Error messages by field; an empty object means valid. */
export type Errors = Record<string, string>;

export const LIMITS = {
  nameBytes: 256,
  envBytes: 32,
  tagBytes: 64,
  tags: 32,
  notesBytes: 64 * 1024,
  valueBytes: 1024 * 1024,
  fieldNameBytes: 64,
} as const;

const encoder = new TextEncoder();

export function byteLength(text: string): number {
  return encoder.encode(text).length;
}

// Unicode Cc, like Rust's char::is_control.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Letters, digits and - _ . / : =, like the core's labels (environment, tag).
const LABEL = /^[\p{Alphabetic}\p{N}_.\/:=-]+$/u;

export function validateName(name: string): string | null {
  if (name === '') return 'Enter a name, for example aws/prod/deploy.';
  const bytes = byteLength(name);
  if (bytes > LIMITS.nameBytes) return `The name is ${bytes} bytes long; the limit is ${LIMITS.nameBytes}.`;
  if (CONTROL.test(name)) return 'The name cannot contain control characters (tabs, line breaks).';
  if (name.trim() !== name) return 'Remove the spaces at the start or end of the name.';
  if (name.startsWith('/') || name.endsWith('/')) return "The name cannot start or end with '/'.";
  if (name.split('/').some((segment) => segment === '')) return "Use single '/' between the parts of the name.";
  if (name.split('/').some((segment) => segment.trim() !== segment)) {
    return "Remove the spaces next to '/' in the name.";
  }
  return null;
}

function validateLabel(what: string, value: string, max: number): string | null {
  if (byteLength(value) > max) return `The ${what} "${value}" is too long (at most ${max} characters).`;
  if (!LABEL.test(value)) return `The ${what} "${value}" may hold only letters, digits and - _ . / : =`;
  return null;
}

/** An environment is optional; when given it is a label. */
export function validateEnv(env: string): string | null {
  const trimmed = env.trim();
  if (trimmed === '') return null;
  return validateLabel('environment', trimmed, LIMITS.envBytes);
}

/** "prod, team-a ,, db" → ["prod", "team-a", "db"] (duplicates dropped, order kept). */
export function parseTags(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(',')) {
    const tag = part.trim();
    if (tag !== '' && !out.includes(tag)) out.push(tag);
  }
  return out;
}

export function validateTags(text: string): string | null {
  const tags = parseTags(text);
  if (tags.length > LIMITS.tags) return `At most ${LIMITS.tags} tags per credential (there are ${tags.length}).`;
  for (const tag of tags) {
    const problem = validateLabel('tag', tag, LIMITS.tagBytes);
    if (problem !== null) return problem;
  }
  return null;
}

export function validateNotes(notes: string): string | null {
  const bytes = byteLength(notes);
  if (bytes > LIMITS.notesBytes) return `The notes are ${bytes} bytes long; the limit is ${LIMITS.notesBytes} (64 KiB).`;
  return null;
}

/** The value of one field against its format (an empty value is judged by `required`). */
export function validateFormat(value: string, format: FieldFormat, label: string): string | null {
  if (byteLength(value) > LIMITS.valueBytes) return `${label} is over the 1 MiB limit.`;
  switch (format) {
    case 'port': {
      if (!/^\d{1,5}$/.test(value.trim()) || Number(value) < 1 || Number(value) > 65535) {
        return `${label} must be a port number from 1 to 65535.`;
      }
      return null;
    }
    case 'json': {
      try {
        const parsed: unknown = JSON.parse(value);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          return `${label} must be a JSON object ({ … }).`;
        }
      } catch {
        return `${label} is not valid JSON.`;
      }
      return null;
    }
    case 'url':
      return /^https?:\/\//.test(value) ? null : `${label} must start with http:// or https://.`;
    case 'text':
    case 'multiline':
      return null;
  }
}

/**
 * One field's value. In an edit, an empty secret means "keep the stored
 * value", so it is not a missing required value.
 */
export function validateField(field: FieldSchema, value: string, editing: boolean): string | null {
  if (value === '') {
    if (field.required && !(editing && field.secret)) return `${field.label} is required.`;
    return null;
  }
  if (!field.secret && CONTROL.test(value) && field.format !== 'multiline' && field.format !== 'json') {
    return `${field.label} cannot contain control characters.`;
  }
  return validateFormat(value, field.format, field.label);
}

export type CredentialFormValues = {
  name: string;
  env: string;
  tags: string;
  notes: string;
  /** Date input value (YYYY-MM-DD) or empty. */
  expires: string;
};

/** A calendar date typed as YYYY-MM-DD (empty is fine: no date). */
export function validateDate(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(trimmed);
  if (match === null) return 'Enter the date as YYYY-MM-DD, e.g. 2030-06-01.';
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return `${trimmed} is not a date on the calendar.`;
  }
  return null;
}

/** Errors for the name, environment, tags, notes and expiry ("name", "env", "tags", "notes", "expires"). */
export function validateCredentialMeta(values: CredentialFormValues): Errors {
  const errors: Errors = {};
  const checks: [string, string | null][] = [
    ['name', validateName(values.name)],
    ['env', validateEnv(values.env)],
    ['tags', validateTags(values.tags)],
    ['notes', validateNotes(values.notes)],
    ['expires', validateDate(values.expires)],
  ];
  for (const [key, problem] of checks) if (problem !== null) errors[key] = problem;
  return errors;
}

/** Errors by field name for a kind's fields. */
export function validateFields(fields: FieldSchema[], values: Record<string, string>, editing: boolean): Errors {
  const errors: Errors = {};
  for (const field of fields) {
    const problem = validateField(field, values[field.name] ?? '', editing);
    if (problem !== null) errors[field.name] = problem;
  }
  return errors;
}

/** A custom field name of a generic credential. */
export function validateFieldName(name: string, taken: readonly string[]): string | null {
  if (name === '') return 'Give the field a name.';
  if (byteLength(name) > LIMITS.fieldNameBytes) return `Field names are at most ${LIMITS.fieldNameBytes} characters.`;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return 'Field names use letters, digits and _ . - only.';
  if (taken.includes(name)) return `There is already a field called ${name}.`;
  return null;
}

// --- settings ----------------------------------------------------------------

export const RANGES = {
  autoLockMinutes: { min: 1, max: 1440, label: 'Auto-lock' },
  clipboardSeconds: { min: 5, max: 600, label: 'Clipboard clearing' },
  revealSeconds: { min: 3, max: 300, label: 'Reveal time' },
} as const;

function wholeInRange(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

/** Errors keyed by preference name. */
export function validatePreferences(prefs: Preferences): Errors {
  const errors: Errors = {};
  for (const key of ['autoLockMinutes', 'clipboardSeconds', 'revealSeconds'] as const) {
    const { min, max, label } = RANGES[key];
    if (!wholeInRange(prefs[key], min, max)) errors[key] = `${label} must be a whole number from ${min} to ${max}.`;
  }
  return errors;
}

/** A rotation policy: max age at least one day, warning shorter than the max age. */
export function validatePolicy(maxAgeDays: number, warnDays: number): Errors {
  const errors: Errors = {};
  if (!Number.isInteger(maxAgeDays) || maxAgeDays < 1) errors['maxAge'] = 'The maximum age must be a whole number of days, at least 1.';
  if (!Number.isInteger(warnDays) || warnDays < 0) errors['warn'] = 'The warning must be a whole number of days (0 or more).';
  else if (errors['maxAge'] === undefined && warnDays >= maxAgeDays) {
    errors['warn'] = 'The warning must be shorter than the maximum age.';
  }
  return errors;
}

/** Policy scope values: an environment or a tag is a label. */
export function validateScopeValue(type: 'kind' | 'env' | 'tag', value: string, kinds: readonly string[]): string | null {
  const trimmed = value.trim();
  if (trimmed === '') return type === 'kind' ? 'Choose a kind.' : `Enter the ${type === 'env' ? 'environment' : 'tag'}.`;
  if (type === 'kind') return kinds.includes(trimmed) ? null : `"${trimmed}" is not a kind Coffer knows.`;
  return validateLabel(type === 'env' ? 'environment' : 'tag', trimmed, type === 'env' ? LIMITS.envBytes : LIMITS.tagBytes);
}

// --- passphrases -----------------------------------------------------------------

/** Problems with a new passphrase and its confirmation, keyed "passphrase" / "confirm". */
export function validateNewPassphrase(passphrase: string, confirm: string, score: number | null, minScore = 2): Errors {
  const errors: Errors = {};
  if (passphrase === '') errors['passphrase'] = 'Enter a passphrase.';
  else if (score !== null && score < minScore) errors['passphrase'] = 'This passphrase is too easy to guess; make it longer or less predictable.';
  if (passphrase !== '' && confirm !== passphrase) errors['confirm'] = 'The two passphrases do not match.';
  return errors;
}

export function validateGeneratorLength(length: number): string | null {
  return wholeInRange(length, 8, 1024) ? null : 'Length must be a whole number from 8 to 1024.';
}

// --- remotes -----------------------------------------------------------------------

export type RemoteFormValues = {
  type: RemoteType;
  name: string;
  addr: string;
  mount: string;
  prefix: string;
  namespace: string;
  region: string;
  endpoint: string;
  profile: string;
  insecure: boolean;
};

/** Whether a URL's host is a loopback address (plain http is fine there). */
export function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

/** Whether the insecure-http switch matters for this address. */
export function needsInsecure(url: string): boolean {
  return /^http:\/\//i.test(url.trim()) && !isLoopback(url.trim());
}

function validateUrl(url: string, insecure: boolean, what: string): string | null {
  const trimmed = url.trim();
  if (!/^https?:\/\//i.test(trimmed)) return `The ${what} must start with https:// (or http:// for a local server).`;
  try {
    new URL(trimmed);
  } catch {
    return `The ${what} is not a valid URL.`;
  }
  if (needsInsecure(trimmed) && !insecure) {
    return 'Plain http:// is allowed only to this machine; use https://, or tick "Allow plain HTTP" if you really mean it.';
  }
  return null;
}

export function validateRemote(values: RemoteFormValues, taken: readonly string[]): Errors {
  const errors: Errors = {};
  const name = values.name.trim();
  if (name === '') errors['name'] = 'Give the remote a name.';
  else if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) errors['name'] = 'Remote names use letters, digits and _ . - only (at most 64).';
  else if (taken.includes(name)) errors['name'] = `There is already a remote called ${name}.`;
  if (/\s/.test(values.prefix)) errors['prefix'] = 'The prefix cannot contain spaces.';
  if (values.type === 'vault') {
    if (values.addr.trim() === '') errors['addr'] = 'Enter the Vault or OpenBao address, e.g. https://vault.example.com:8200.';
    else {
      const problem = validateUrl(values.addr, values.insecure, 'address');
      if (problem !== null) errors['addr'] = problem;
    }
    const mount = values.mount.trim();
    if (mount === '') errors['mount'] = 'Enter the KV v2 mount, e.g. secret.';
    else if (/\s/.test(mount) || mount.startsWith('/')) errors['mount'] = 'The mount is a path without spaces and without a leading /.';
  } else {
    const region = values.region.trim();
    if (region !== '' && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) errors['region'] = 'That does not look like an AWS region (e.g. eu-west-1).';
    if (values.endpoint.trim() !== '') {
      const problem = validateUrl(values.endpoint, values.insecure, 'endpoint URL');
      if (problem !== null) errors['endpoint'] = problem;
    }
    if (/\s/.test(values.profile)) errors['profile'] = 'A profile name has no spaces.';
  }
  return errors;
}

// --- files -----------------------------------------------------------------------------

export function validatePath(path: string): string | null {
  if (path.trim() === '') return 'Enter the path of the file.';
  if (CONTROL.test(path)) return 'The path cannot contain control characters.';
  return null;
}

/** The first key of `errors` in `order` (to move focus there). */
export function firstError(errors: Errors, order: readonly string[]): string | null {
  for (const key of order) if (errors[key] !== undefined) return key;
  const keys = Object.keys(errors);
  return keys[0] ?? null;
}
