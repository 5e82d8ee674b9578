// The one door between the web view and the Rust shell.
//
// Every Tauri command the front end uses gets a typed wrapper here, and no
// other module imports `invoke`. Errors are normalised into `IpcError` so the
// rest of the UI never has to guess what a rejected promise holds, and a
// `locked` rejection is reported once, here, to whoever asked `whenLocked`.

import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';

// The types of the contract with the Rust shell are generated from
// src-tauri/src/dto.rs into ./contract.ts; this module re-exports them with
// the wrappers that use them. Secret values cross this boundary only through
// `credentialReveal`, `generateSecret` (a value the person is about to store)
// and the values a person types into a form; `credentialCopy` copies in the
// shell, so the value never reaches the web view at all.
export type * from './contract';
import type {
  AuditFilter,
  AuditRow,
  AuditVerification,
  BackupSummary,
  Charset,
  Conflict,
  CredentialDetail,
  CredentialEdit,
  CredentialInput,
  Direction,
  FindPage,
  FindQuery,
  HistoryPage,
  ImportDone,
  ImportPreview,
  IpcErrorCode,
  Keep,
  KindSchema,
  LeaseView,
  Policy,
  PolicyScope,
  Preferences,
  RemoteCheck,
  RemoteInput,
  RemoteRow,
  RotationInput,
  RotationProgress,
  RotationRun,
  Settings,
  Strength,
  SyncPlan,
  SyncProgress,
  SyncReport,
  TrashEntry,
  VaultStatus,
} from './contract';

export const IPC_ERROR_CODES = [
  'cannot_unlock',
  'wrong_passphrase',
  'locked',
  'integrity',
  'not_found',
  'invalid_input',
  'conflict',
  'failure',
  'declined',
] as const satisfies readonly IpcErrorCode[];

// Fails to type-check when the shell gains an error code this list lacks.
type Missing = Exclude<IpcErrorCode, (typeof IPC_ERROR_CODES)[number]>;
const everyCodeListed: [Missing] extends [never] ? true : Missing = true;
void everyCodeListed;

/**
 * The shape of every error a Coffer command rejects with (the shell's
 * `IpcError`, or a failure the UI normalised into the same shape). `field`
 * names the input that was wrong (a form field such as "name",
 * "access_key_id", "passphrase"), when the core could tell; the UI shows the
 * message next to it.
 */
export type IpcError = {
  code: IpcErrorCode;
  message: string;
  field?: string | null;
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
  wrong_passphrase: 'That passphrase does not open this vault',
  locked: 'The vault is locked; unlock it to continue',
  integrity: 'The vault file failed its integrity check and was not opened',
  not_found: 'Coffer could not find what it was asked for',
  invalid_input: 'Coffer rejected the request as invalid',
  conflict: 'That change conflicts with the current state of the vault',
  failure: 'Coffer ran into a problem',
  declined: 'Cancelled',
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

// A hook rather than a call into the session: the session sits above this
// module (it imports the wrappers below), so this module must not import it
// back. The session registers what a locked vault means for the app (the
// unlock screen); every command's rejection passes through `rejection`.
const lockedHandlers = new Set<() => void>();

/**
 * Runs `handler` each time a command rejects with `locked` (the shell locked
 * the vault by itself, e.g. its idle backstop), before the caller sees the
 * error. Returns a function that stops it.
 */
export function whenLocked(handler: () => void): Unsubscribe {
  lockedHandlers.add(handler);
  return () => {
    lockedHandlers.delete(handler);
  };
}

/**
 * What a command's rejection becomes: normalised into an `IpcError`, with a
 * locked vault reported to the `whenLocked` handlers. Exported for the ipc
 * mock of component tests, so its commands reject the way `call` does.
 */
export function rejection(error: unknown): IpcError {
  const normalised = toIpcError(error);
  if (normalised.code === 'locked') {
    for (const handler of [...lockedHandlers]) handler();
  }
  return normalised;
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  if (!insideTauri()) {
    throw {
      code: 'failure',
      message: 'this window is not running inside the Coffer desktop app',
    } satisfies IpcError;
  }
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw rejection(error);
  }
}

// --- vault: src-tauri/src/commands/vault.rs --------------------------------

/** Report whether the vault exists and whether it is unlocked. */
export function vaultStatus(): Promise<VaultStatus> {
  return call<VaultStatus>('vault_status');
}

/** Create the vault at the default path, sealed to the OS keyring, with an optional recovery passphrase. */
export function vaultCreate(recoveryPassphrase: string | null): Promise<VaultStatus> {
  return call<VaultStatus>('vault_create', { recoveryPassphrase });
}

/** Unlock the vault with the key held in the OS keyring. */
export function vaultUnlock(): Promise<VaultStatus> {
  return call<VaultStatus>('vault_unlock');
}

/** Unlock the vault with its recovery passphrase (`wrong_passphrase` when it does not fit). */
export function vaultUnlockPassphrase(passphrase: string): Promise<VaultStatus> {
  return call<VaultStatus>('vault_unlock_passphrase', { passphrase });
}

/** Lock the vault, dropping the key from memory. */
export function vaultLock(automatic = false): Promise<VaultStatus> {
  return call<VaultStatus>('vault_lock', { automatic });
}

/** Tell the shell the person is active (resets its idle auto-lock backstop). Throttle to ~every 30 s. */
export function vaultTouch(): Promise<void> {
  return call<void>('vault_touch');
}

/** Estimate a proposed passphrase's strength (nothing is stored). */
export function passphraseStrength(passphrase: string): Promise<Strength> {
  return call<Strength>('passphrase_strength', { passphrase });
}

// --- credentials: src-tauri/src/commands/credentials.rs --------------------

/** Kinds and their field templates, for the add form. */
export function kindSchemas(): Promise<KindSchema[]> {
  return call<KindSchema[]>('kind_schemas');
}

/** One page of the list (search + filters). Fast enough to call on every keystroke. */
export function credentialFind(query: FindQuery): Promise<FindPage> {
  return call<FindPage>('credential_find', { query });
}

export function credentialGet(name: string): Promise<CredentialDetail> {
  return call<CredentialDetail>('credential_get', { name });
}

/** Reveal one secret field (audited). Hide it again after `revealSeconds`. */
export function credentialReveal(name: string, field: string): Promise<string> {
  return call<string>('credential_reveal', { name, field });
}

/**
 * Copy one secret field to the clipboard (audited) without the value
 * entering the web view. Returns the seconds after which the shell clears
 * the clipboard if it still holds this value.
 */
export function credentialCopy(name: string, field: string): Promise<number> {
  return call<number>('credential_copy', { name, field });
}

/** Check a new credential without storing it; rejects like credentialAdd would. */
export function credentialValidate(input: CredentialInput): Promise<void> {
  return call<void>('credential_validate', { input });
}

export function credentialAdd(input: CredentialInput): Promise<CredentialDetail> {
  return call<CredentialDetail>('credential_add', { input });
}

export function credentialUpdate(name: string, edit: CredentialEdit): Promise<CredentialDetail> {
  return call<CredentialDetail>('credential_update', { name, edit });
}

/** Delete a credential into the trash; the answer's `id` undoes it (`trashRestore`). */
export function credentialDelete(name: string): Promise<TrashEntry> {
  return call<TrashEntry>('credential_delete', { name });
}

/** What the trash holds, the most recently deleted first. */
export function trashList(): Promise<TrashEntry[]> {
  return call<TrashEntry[]>('trash_list');
}

/** Bring a credential back from the trash, under `rename` when given. */
export function trashRestore(id: string, rename: string | null = null): Promise<CredentialDetail> {
  return call<CredentialDetail>('trash_restore', { id, rename });
}

/** Delete `id` (or, with null, the whole trash) for good, after the shell's own dialog says yes. */
export function trashPurge(id: string | null): Promise<number> {
  return call<number>('trash_purge', { id });
}

/** The latest `limit` versions of a credential (with null, all of them), newest first. */
export function credentialHistory(name: string, limit: number | null): Promise<HistoryPage> {
  return call<HistoryPage>('credential_history', { name, limit });
}

/** Make an earlier version current again (as a new version). */
export function credentialRollback(name: string, version: number): Promise<CredentialDetail> {
  return call<CredentialDetail>('credential_rollback', { name, version });
}

/** Mark the fields that arrived by a pull or an import as looked at (audited). */
export function credentialReviewed(name: string): Promise<CredentialDetail> {
  return call<CredentialDetail>('credential_reviewed', { name });
}

/** A random value for the add/edit form's generator (8 to 1024 characters). */
export function generateSecret(length: number, charset: Charset): Promise<string> {
  return call<string>('generate_secret', { length, charset });
}

// --- rotation: src-tauri/src/commands/rotation.rs --------------------------

/** The unfinished rotation of a credential, or null. */
export function rotationGet(name: string): Promise<RotationRun | null> {
  return call<RotationRun | null>('rotation_get', { name });
}

/** The Vault leases recorded (held by a running `coffer exec`, or left behind). */
export function leasesList(): Promise<LeaseView[]> {
  return call<LeaseView[]>('leases_list');
}

/** Every unfinished rotation. */
export function rotationRunning(): Promise<RotationRun[]> {
  return call<RotationRun[]>('rotation_running');
}

/**
 * Start (or continue) the rotation of `name` and run steps until it must
 * wait. `confirm` answers the pending question with yes; `values` are new
 * secret values (or `generate` asks the core to make them); `automate`
 * picks the automated flow where the kind has one (AWS IAM).
 * Emits `rotation-progress` events as automated steps run.
 */
export function rotationAdvance(name: string, input: RotationInput): Promise<RotationRun> {
  return call<RotationRun>('rotation_advance', { name, input });
}

export function rotationAbort(name: string): Promise<void> {
  return call<void>('rotation_abort', { name });
}

// --- sync: src-tauri/src/commands/sync.rs ----------------------------------

export function remoteList(): Promise<RemoteRow[]> {
  return call<RemoteRow[]>('remote_list');
}

export function remoteAdd(input: RemoteInput): Promise<RemoteRow> {
  return call<RemoteRow>('remote_add', { input });
}

/** A remote's settings, to fill its form for an edit. */
export function remoteGet(name: string): Promise<RemoteInput> {
  return call<RemoteInput>('remote_get', { name });
}

/** Change remote `name` to these settings, after the shell's own dialog says where credentials would go (`declined` if not). */
export function remoteEdit(name: string, input: RemoteInput): Promise<RemoteRow> {
  return call<RemoteRow>('remote_edit', { name, input });
}

export function remoteRemove(name: string): Promise<void> {
  return call<void>('remote_remove', { name });
}

/** Check reachability, login, mount and every permission sync needs. */
export function remoteTest(name: string): Promise<RemoteCheck[]> {
  return call<RemoteCheck[]>('remote_test', { name });
}

/** What a sync would do, changing nothing. */
export function syncPlan(remote: string): Promise<SyncPlan> {
  return call<SyncPlan>('sync_plan', { remote });
}

/** Apply the plan; emits `sync-progress` events. */
export function syncApply(remote: string, direction: Direction, prune: boolean): Promise<SyncReport> {
  return call<SyncReport>('sync_apply', { remote, direction, prune });
}

/** Both sides of a conflict, values masked. */
export function syncConflict(remote: string, name: string): Promise<Conflict> {
  return call<Conflict>('sync_conflict', { remote, name });
}

/** Reveal one secret field of the remote side of a conflict (audited). */
export function syncRevealRemote(remote: string, name: string, field: string): Promise<string> {
  return call<string>('sync_reveal_remote', { remote, name, field });
}

export function syncResolve(remote: string, name: string, keep: Keep): Promise<SyncReport> {
  return call<SyncReport>('sync_resolve', { remote, name, keep });
}

// --- audit: src-tauri/src/commands/audit.rs --------------------------------

/** Newest first. */
export function auditList(filter: AuditFilter): Promise<AuditRow[]> {
  return call<AuditRow[]>('audit_list', { filter });
}

export function auditVerify(): Promise<AuditVerification> {
  return call<AuditVerification>('audit_verify');
}

/** Every audit action name, for the filter menu. */
export function auditActions(): Promise<string[]> {
  return call<string[]>('audit_actions');
}

// --- settings: src-tauri/src/commands/settings.rs --------------------------

export function settingsGet(): Promise<Settings> {
  return call<Settings>('settings_get');
}

export function preferencesSet(preferences: Preferences): Promise<Settings> {
  return call<Settings>('preferences_set', { preferences });
}

/** Set (policy) or clear (null) the rotation policy of a kind, environment or tag. */
export function policySet(scope: PolicyScope, policy: Policy | null): Promise<Settings> {
  return call<Settings>('policy_set', { scope, policy });
}

/** Add or change the recovery passphrase (the core refuses weak ones). */
export function passphraseSet(passphrase: string, current: string | null): Promise<Settings> {
  return call<Settings>('passphrase_set', { passphrase, current });
}

/** Replace the vault key and re-encrypt everything. `passphrase` is needed when the vault has a passphrase slot. */
export function vaultRekey(passphrase: string | null): Promise<void> {
  return call<void>('vault_rekey', { passphrase });
}

/** Write an encrypted backup of the whole vault to `path`, sealed with `passphrase`. */
/** The shell asks where to write it, in its own file chooser. */
export function backupCreate(passphrase: string): Promise<BackupSummary> {
  return call<BackupSummary>('backup_create', { passphrase });
}

/** First run only: restore a backup into a new vault at the default path, sealed to the keyring. */
export function backupRestore(path: string, passphrase: string): Promise<VaultStatus> {
  return call<VaultStatus>('backup_restore', { path, passphrase });
}

/** Ask the person, in the shell's own file chooser, for the backup file a restore reads; its path. */
export function backupChoose(): Promise<string> {
  return call<string>('backup_choose');
}

/** The import formats the core reads (the CLI's `--format` values), with how the app names them. */
export const IMPORT_FORMATS = [
  ['1password-csv', '1Password (CSV)'],
  ['bitwarden-json', 'Bitwarden (JSON)'],
  ['bitwarden-csv', 'Bitwarden (CSV)'],
  ['keepassxc-csv', 'KeePassXC (CSV)'],
  ['aws-credentials', 'AWS credentials file'],
  ['dotenv', '.env file (one credential)'],
  ['json', 'Coffer JSON export'],
  ['csv', 'Coffer CSV export'],
] as const;

export type ImportFormat = (typeof IMPORT_FORMATS)[number][0];

/** Ask for a file of `format` in the shell's own file chooser and say what importing it would do (nothing is written). */
export function importPreview(format: ImportFormat): Promise<ImportPreview> {
  return call<ImportPreview>('import_preview', { format });
}

/** Import the file the preview read; `onDuplicate` decides for names already taken (null refuses if any is). */
export function importApply(onDuplicate: 'skip' | 'rename' | 'overwrite' | null): Promise<ImportDone> {
  return call<ImportDone>('import_apply', { onDuplicate });
}

// --- events: emitted by the shell while long commands run -------------------

/** Stops a subscription made with `onSyncProgress` / `onRotationProgress` / `whenLocked`. */
export type Unsubscribe = () => void;

async function subscribe<T>(event: string, handler: (payload: T) => void): Promise<Unsubscribe> {
  // Outside the app (unit tests, a plain browser) there is nothing to listen to.
  if (!insideTauri()) return () => {};
  return listen<T>(event, (message) => handler(message.payload));
}

/** `sync-progress` events, one per credential handled by `syncApply`. */
export function onSyncProgress(handler: (progress: SyncProgress) => void): Promise<Unsubscribe> {
  return subscribe<SyncProgress>('sync-progress', handler);
}

/** `rotation-progress` events, one per automated step `rotationAdvance` runs. */
export function onRotationProgress(handler: (progress: RotationProgress) => void): Promise<Unsubscribe> {
  return subscribe<RotationProgress>('rotation-progress', handler);
}

// --- addition beyond the agreed contract (UI side; tell the shell's owner) ---

/**
 * `vault-locked`, emitted by the shell when its idle backstop locks the vault
 * (payload: the reason, e.g. "idle"). The UI shows the unlock screen at once
 * instead of at the next failed command.
 */
export function onVaultLocked(handler: (reason: string) => void): Promise<Unsubscribe> {
  return subscribe<string>('vault-locked', handler);
}

/**
 * `vault-unlocked`, emitted by the shell when the vault was unlocked without
 * the page (the tray's Unlock; payload: where from). The page re-reads the status.
 */
export function onVaultUnlocked(handler: (from: string) => void): Promise<Unsubscribe> {
  return subscribe<string>('vault-unlocked', handler);
}
