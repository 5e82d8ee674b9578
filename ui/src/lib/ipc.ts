// The one door between the web view and the Rust shell.
//
// Every Tauri command the front end uses gets a typed wrapper here, and no
// other module imports `invoke`. Errors are normalised into `IpcError` so the
// rest of the UI never has to guess what a rejected promise holds.

import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';

// ---------------------------------------------------------------------------
// The contract with the Rust shell (src-tauri/src/commands/*.rs). Field names
// match the JSON the shell sends (camelCase). Times are RFC 3339 strings (UTC).
// Secret values cross this boundary only through `credentialReveal`,
// `generateSecret` (a value the person is about to store) and the values a
// person types into a form; `credentialCopy` copies in the shell, so the value
// never reaches the web view at all.
// ---------------------------------------------------------------------------

export type VaultState = 'missing' | 'locked' | 'unlocked';

/** What the shell reports about the vault file. */
export type VaultStatus = {
  state: VaultState;
  /** Where the vault file lives (or would live, when missing). */
  path: string;
  /** Number of stored credentials; only known while unlocked. */
  credentialCount: number | null;
  /** Optional explanation from the shell, e.g. why the vault is still locked. */
  message: string | null;
  /** Whether the vault has a keyring slot / a passphrase slot (null when missing). */
  hasKeyring: boolean | null;
  hasPassphrase: boolean | null;
  /** Failed unlock attempts since the last successful unlock (reported once, at unlock). */
  failedAttempts: number;
  failedSince: string | null;
  /** Preferences that apply while unlocked (also known while locked once read). */
  autoLockMinutes: number;
  clipboardSeconds: number;
};

/** Strength of a proposed passphrase, from the core's estimator. */
export type Strength = {
  /** 0 (very weak) to 4 (very strong); the core refuses scores below 2 for a recovery passphrase. */
  score: 0 | 1 | 2 | 3 | 4;
  /** "very weak", "weak", "fair", "strong", "very strong". */
  label: string;
  /** Rough time to guess offline against Argon2id, in words ("centuries", "3 hours"). */
  crackTime: string;
  warning: string | null;
  suggestions: string[];
};

export type Kind =
  | 'aws-access-key'
  | 'vault-token'
  | 'vault-approle'
  | 'db-password'
  | 'api-key'
  | 'gcp-service-account'
  | 'azure-service-principal'
  | 'ssh-key'
  | 'generic';

export type FieldFormat = 'text' | 'multiline' | 'port' | 'json' | 'url' | 'other';

/** One field of a kind's template. */
export type FieldSchema = {
  name: string;
  /** Human label, e.g. "Secret access key". */
  label: string;
  secret: boolean;
  required: boolean;
  format: FieldFormat;
};

export type KindSchema = {
  kind: Kind;
  /** "AWS access key", "Database password", … */
  label: string;
  fields: FieldSchema[];
  /** Default rotation policy for the kind, if any. */
  defaultMaxAgeDays: number | null;
};

export type RotationState = 'compromised' | 'expired' | 'overdue' | 'due_soon' | 'ok' | 'no_policy';

export type RotationStatus = {
  state: RotationState;
  /** When the current secret was made (last rotation, else creation). */
  since: string;
  ageDays: number;
  due: string | null;
  /** Calendar days until due (negative when past). */
  daysLeft: number | null;
  maxAgeDays: number | null;
  warnDays: number | null;
  /** Where the policy came from: "credential", "kind default", "tag prod", … */
  policySource: string | null;
};

/** A row of the list: metadata only. */
export type CredentialSummary = {
  id: string;
  name: string;
  kind: Kind;
  env: string | null;
  tags: string[];
  version: number;
  updatedAt: string;
  rotation: RotationStatus;
};

export type FindQuery = {
  query: string;
  kind: Kind | null;
  env: string | null;
  tag: string | null;
  /** Only these rotation states; empty means any. */
  states: RotationState[];
  offset: number;
  limit: number;
};

export type Facets = {
  kinds: Kind[];
  envs: string[];
  tags: string[];
  /** Credentials overdue, expired or compromised. */
  needsAction: number;
  dueSoon: number;
};

export type FindPage = {
  /** How many credentials match (the list's virtual length). */
  total: number;
  /** The window [offset, offset + limit) of the matches, sorted by name. */
  items: CredentialSummary[];
  facets: Facets;
};

export type PlainField = { name: string; label: string; value: string };

export type RemoteBinding = {
  remote: string;
  /** "vault" or "aws". */
  remoteType: string;
  /** Where the credential lives on the remote, e.g. "secret/team/db". */
  location: string;
  remoteVersion: string | null;
  syncedAt: string | null;
};

export type RotationStep =
  | 'prepare'
  | 'new_value'
  | 'verify'
  | 'promote'
  | 'push'
  | 'revoke'
  | 'done'
  | 'aborted';

export type RotationFlow = 'manual' | 'aws_iam';

/** A rotation run as the wizard shows it. */
export type RotationRun = {
  name: string;
  flow: RotationFlow;
  /** The step the run is at (the next one to do). */
  step: RotationStep;
  startedAt: string;
  /** Every step of this flow in order, with where it stands. */
  steps: { step: RotationStep; label: string; state: 'done' | 'current' | 'pending' }[];
  /** How the last call stopped: finished, waiting (for an answer, a value or the grace period) or aborted. */
  outcome: 'done' | 'waiting' | 'aborted';
  /** While waiting: why, and until when (the grace period). */
  reason: string | null;
  until: string | null;
  /** The yes/no question the run waits on (click "Confirm" to answer yes), if any. */
  question: string | null;
  /** Secret fields the run needs new values for (at `new_value`), if any. */
  needsValues: string[];
  /** What the run said as it went (instructions, what each automated step did). */
  messages: string[];
};

export type CredentialDetail = CredentialSummary & {
  notes: string | null;
  /** Non-secret fields with their values. */
  fields: PlainField[];
  /** Secret field names (values only through credentialReveal / credentialCopy). */
  secretFields: { name: string; label: string }[];
  createdAt: string;
  expiresAt: string | null;
  rotatedAt: string | null;
  compromisedAt: string | null;
  /** This credential's own policy, if set (else kind/tag/env policies apply). */
  policy: { maxAgeDays: number; warnDays: number } | null;
  remotes: RemoteBinding[];
  /** The unfinished rotation, if one is running. */
  rotationRun: RotationRun | null;
};

/** What the add form sends. `values` are secret fields, `fields` plain ones. */
export type CredentialInput = {
  name: string;
  kind: Kind;
  env: string | null;
  tags: string[];
  notes: string | null;
  fields: Record<string, string>;
  values: Record<string, string>;
  expiresAt: string | null;
};

/**
 * What the edit form sends: the whole new state of the editable properties.
 * Secret fields absent from `values` keep their value; `unset` removes
 * optional fields. `expectedVersion` guards against a change made meanwhile
 * (a `conflict` error when it moved on).
 */
export type CredentialEdit = {
  rename: string | null;
  env: string | null;
  tags: string[];
  notes: string | null;
  fields: Record<string, string>;
  values: Record<string, string>;
  unset: string[];
  expiresAt: string | null;
  expectedVersion: number;
};

export type HistoryEntry = {
  version: number;
  writtenAt: string;
  current: boolean;
  /** What changed from the previous version (names, never values). */
  changes: string[];
};

export type AuditOutcome = 'ok' | 'denied' | 'failed';

export type AuditRow = {
  seq: number;
  at: string;
  /** snake_case action, e.g. "reveal", "sync_push", "rotation_step". */
  action: string;
  /** The credential name at the time, if the event had a target. */
  target: string | null;
  outcome: string;
  /** OS user and interface ("app", "cli", "exec", "sync", …). */
  user: string;
  interface: string;
  /** Details as short "key: value" text; never a secret. */
  details: string;
};

export type AuditFilter = {
  credential: string | null;
  action: string | null;
  since: string | null;
  until: string | null;
  limit: number;
};

export type AuditVerification = {
  ok: boolean;
  entries: number;
  /** Sequence number the external anchor vouches for, if any. */
  anchored: number | null;
  /** What broke and where, when not ok. */
  message: string | null;
};

export type Charset = 'alphanumeric' | 'alphanumeric_symbols' | 'hex';

export type Policy = { maxAgeDays: number; warnDays: number };

export type PolicyScope = { type: 'kind'; kind: Kind } | { type: 'env'; env: string } | { type: 'tag'; tag: string };

export type PolicyRow = { scope: PolicyScope; policy: Policy };

export type Settings = {
  autoLockMinutes: number;
  clipboardSeconds: number;
  /** Seconds a revealed value stays visible. */
  revealSeconds: number;
  /** Notify when credentials become due or overdue. */
  notifications: boolean;
  policies: PolicyRow[];
  hasPassphrase: boolean;
  hasKeyring: boolean;
};

export type Preferences = {
  autoLockMinutes: number;
  clipboardSeconds: number;
  revealSeconds: number;
  notifications: boolean;
};

export type RemoteType = 'vault' | 'aws';

export type RemoteRow = {
  name: string;
  type: RemoteType;
  /** Address (Vault) or region/endpoint (AWS), for display. */
  target: string;
  /** KV mount (Vault) or null. */
  mount: string | null;
  prefix: string;
  /** The vault credential it logs in with, or null (environment / SDK chain). */
  authCredential: string | null;
  linked: number;
};

export type RemoteInput =
  | {
      type: 'vault';
      name: string;
      addr: string;
      mount: string;
      prefix: string;
      namespace: string | null;
      /** A vault-token or vault-approle credential; null uses VAULT_TOKEN. */
      authCredential: string | null;
      insecureHttp: boolean;
    }
  | {
      type: 'aws';
      name: string;
      region: string | null;
      prefix: string;
      endpointUrl: string | null;
      profile: string | null;
      /** An aws-access-key credential; null uses the profile or SDK chain. */
      authCredential: string | null;
      insecureHttp: boolean;
    };

export type RemoteCheck = { name: string; ok: boolean; detail: string };

export type SyncState =
  | 'conflict'
  | 'error'
  | 'new_remote'
  | 'changed_remote'
  | 'deleted_remote'
  | 'new_local'
  | 'changed_local'
  | 'deleted_local'
  | 'in_sync';

export type PlanItem = {
  name: string;
  state: SyncState;
  /** "new on remote", "changed locally", … */
  stateText: string;
  detail: string | null;
  localVersion: number | null;
  remoteVersion: string | null;
};

export type SyncPlan = { remote: string; items: PlanItem[] };

export type Direction = 'pull' | 'push' | 'both';

export type SyncDone = { name: string; state: SyncState; outcome: string; detail: string | null };

export type SyncReport = {
  remote: string;
  done: SyncDone[];
  inSync: number;
  pulled: number;
  pushed: number;
  conflicts: number;
  failed: number;
};

/** Emitted as `sync-progress` while syncApply runs. */
export type SyncProgress = { remote: string; total: number; done: number; name: string | null; outcome: string | null };

/** Emitted as `rotation-progress` while rotationAdvance runs automated steps. */
export type RotationProgress = { name: string; step: RotationStep; message: string };

/** One side of a conflict: plain fields shown, secret fields masked with whether they differ. */
export type ConflictSide = {
  version: string | null;
  updatedAt: string | null;
  fields: PlainField[];
  secretFields: { name: string; label: string; differs: boolean }[];
  deleted: boolean;
};

export type Conflict = { name: string; remote: string; local: ConflictSide; remoteSide: ConflictSide };

export type BackupSummary = { path: string; credentials: number; auditEntries: number };

export const IPC_ERROR_CODES = [
  'cannot_unlock',
  'wrong_passphrase',
  'locked',
  'integrity',
  'not_found',
  'invalid_input',
  'conflict',
  'failure',
] as const;

export type IpcErrorCode = (typeof IPC_ERROR_CODES)[number];

/**
 * The shape of every error a Coffer command rejects with. `field` names the
 * input that was wrong (a form field such as "name", "access_key_id",
 * "passphrase"), when the core could tell; the UI shows the message next to it.
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
    throw toIpcError(error);
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
export function vaultLock(): Promise<VaultStatus> {
  return call<VaultStatus>('vault_lock');
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

export function credentialDelete(name: string): Promise<void> {
  return call<void>('credential_delete', { name });
}

export function credentialHistory(name: string): Promise<HistoryEntry[]> {
  return call<HistoryEntry[]>('credential_history', { name });
}

/** Make an earlier version current again (as a new version). */
export function credentialRollback(name: string, version: number): Promise<CredentialDetail> {
  return call<CredentialDetail>('credential_rollback', { name, version });
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
export function rotationAdvance(
  name: string,
  input: {
    confirm: boolean;
    values: Record<string, string> | null;
    generate: { length: number; charset: Charset } | null;
    automate: boolean | null;
    graceHours: number | null;
  },
): Promise<RotationRun> {
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

export function syncResolve(remote: string, name: string, keep: 'local' | 'remote'): Promise<SyncReport> {
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
export function passphraseSet(passphrase: string): Promise<Settings> {
  return call<Settings>('passphrase_set', { passphrase });
}

/** Replace the vault key and re-encrypt everything. `passphrase` is needed when the vault has a passphrase slot. */
export function vaultRekey(passphrase: string | null): Promise<void> {
  return call<void>('vault_rekey', { passphrase });
}

/** Write an encrypted backup of the whole vault to `path`, sealed with `passphrase`. */
export function backupCreate(path: string, passphrase: string): Promise<BackupSummary> {
  return call<BackupSummary>('backup_create', { path, passphrase });
}

/** First run only: restore a backup into a new vault at the default path, sealed to the keyring. */
export function backupRestore(path: string, passphrase: string): Promise<VaultStatus> {
  return call<VaultStatus>('backup_restore', { path, passphrase });
}

// --- events: emitted by the shell while long commands run -------------------

/** Stops a subscription made with `onSyncProgress` / `onRotationProgress`. */
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
