// The types the Rust shell and the web view exchange, generated from
// src-tauri/src/dto.rs by the test in src-tauri/src/contract.rs. Do not edit:
// change the Rust type and run
//   COFFER_WRITE_CONTRACT=1 cargo test --workspace --lib contract
// Field names are as on the wire (camelCase); times are RFC 3339 strings (UTC).

export type VaultState = "missing" | "locked" | "unlocked";

/**
 * What the shell reports about the vault file.
 */
export type VaultStatus = { state: VaultState, 
/**
 * Where the vault file lives (or would live, when missing).
 */
path: string, 
/**
 * Why the vault is still locked, when the shell knows.
 */
message: string | null, 
/**
 * The vault was locked since the app started: the unlock screen does
 * not try the keyring by itself (a page loaded after a lock, the main
 * window built again, would otherwise undo it).
 */
lockedBefore: boolean, 
/**
 * Whether the vault has a keyring slot / a passphrase slot (null when missing).
 */
hasKeyring: boolean | null, hasPassphrase: boolean | null, 
/**
 * The vault was locked automatically (idle, suspend, screen lock) and
 * only the recovery passphrase opens it again.
 */
passphraseRequired: boolean, 
/**
 * Failed unlock attempts since the last successful unlock (reported once, at unlock).
 */
failedAttempts: number, failedSince: string | null, 
/**
 * Preferences that apply while unlocked (also known while locked once read).
 */
autoLockMinutes: number, clipboardSeconds: number, };

/**
 * Strength of a proposed passphrase, from the core's estimator.
 */
export type Strength = { 
/**
 * 0 (very weak) to 4 (very strong); the core refuses scores below 2 for a recovery passphrase.
 */
score: 0 | 1 | 2 | 3 | 4, 
/**
 * "very weak", "weak", "fair", "strong", "very strong".
 */
label: string, 
/**
 * Rough time to guess offline against Argon2id, in words ("centuries", "3 hours").
 */
crackTime: string, warning: string | null, suggestions: Array<string>, };

export type Kind = "aws-access-key" | "aws-role" | "vault-token" | "vault-approle" | "vault-lease" | "db-password" | "api-key" | "gcp-service-account" | "azure-service-principal" | "ssh-key" | "totp-seed" | "generic";

/**
 * How the form draws a field.
 */
export type FieldFormat = "text" | "multiline" | "port" | "json" | "url";

/**
 * One field of a kind's template.
 */
export type FieldSchema = { name: string, 
/**
 * Human label, e.g. "Secret access key".
 */
label: string, secret: boolean, required: boolean, format: FieldFormat, };

export type KindSchema = { kind: Kind, 
/**
 * "AWS access key", "Database password", …
 */
label: string, fields: Array<FieldSchema>, 
/**
 * Default rotation policy for the kind, if any.
 */
defaultMaxAgeDays: number | null, };

/**
 * A credential's rotation state, most urgent first.
 */
export type RotationState = "compromised" | "expired" | "overdue" | "due_soon" | "ok" | "no_policy";

export type RotationStatus = { state: RotationState, 
/**
 * When the current secret was made (last rotation, else creation).
 */
since: string, ageDays: number, due: string | null, 
/**
 * Calendar days until due (negative when past).
 */
daysLeft: number | null, maxAgeDays: number | null, warnDays: number | null, 
/**
 * Where the policy came from: "credential", "kind default", "tag prod", …
 */
policySource: string | null, };

/**
 * A row of the list: metadata only.
 */
export type CredentialSummary = { id: string, name: string, kind: Kind, env: string | null, tags: Array<string>, version: number, updatedAt: string, rotation: RotationStatus, };

export type FindQuery = { query: string, kind: Kind | null, env: string | null, tag: string | null, 
/**
 * Only these rotation states; empty means any.
 */
states: Array<RotationState>, 
/**
 * Only names in this folder (`aws/prod/`) or below; empty for all.
 */
folder: string, 
/**
 * Count the folders one level below `folder` (the first page asks).
 */
folders: boolean, offset: number, limit: number, };

export type Facets = { kinds: Array<Kind>, envs: Array<string>, tags: Array<string>, 
/**
 * Credentials overdue, expired or compromised.
 */
needsAction: number, dueSoon: number, };

export type FindPage = { 
/**
 * How many credentials match (the list's virtual length).
 */
total: number, 
/**
 * The window [offset, offset + limit) of the matches, sorted by name.
 */
items: Array<CredentialSummary>, facets: Facets, 
/**
 * When asked: the folders one level below the one searched, by name.
 */
folders: Array<Folder>, };

export type PlainField = { name: string, label: string, value: string, };

export type SecretField = { name: string, label: string, };

export type RemoteType = "vault" | "aws";

export type RemoteBinding = { remote: string, remoteType: RemoteType, 
/**
 * Where the credential lives on the remote, e.g. "secret/team/db".
 */
location: string, remoteVersion: string | null, syncedAt: string | null, };

export type Policy = { maxAgeDays: number, warnDays: number, };

/**
 * How a version's fields arrived from elsewhere.
 */
export type ArrivalView = { 
/**
 * "pull from remote 'team'", "import from creds.csv".
 */
via: string, at: string, };

/**
 * A kept STS session, as the credential's page shows it.
 */
export type SessionView = { sessionKeyId: string, 
/**
 * The role assumed, and who STS says the session is.
 */
roleArn: string | null, assumedArn: string | null, issuedAt: string, expiresAt: string, mfa: boolean, 
/**
 * How many times a tool was handed it.
 */
served: number, };

/**
 * A Vault lease recorded in the vault (no value), for the rotation
 * screen: held by a running `coffer exec`, or left behind by one that was
 * killed.
 */
export type LeaseView = { credential: string, remote: string, path: string, issuedAt: string, 
/**
 * When it ends unless renewed (as of its issue).
 */
expiresAt: string, held: boolean, pid: number, };

export type CredentialDetail = { notes: string | null, 
/**
 * Non-secret fields with their values.
 */
fields: Array<PlainField>, 
/**
 * Secret field names (values only through credentialReveal / credentialCopy).
 */
secretFields: Array<SecretField>, createdAt: string, expiresAt: string | null, rotatedAt: string | null, compromisedAt: string | null, 
/**
 * This credential's own policy, if set (else kind/tag/env policies apply).
 */
policy: Policy | null, remotes: Array<RemoteBinding>, 
/**
 * The unfinished rotation, if one is running.
 */
rotationRun: RotationRun | null, 
/**
 * How this version arrived (a pull, an import), until someone reviews it.
 */
arrived: ArrivalView | null, 
/**
 * The STS session kept for an AWS credential (no secret).
 */
session: SessionView | null, 
/**
 * For an aws-role: the credentials it is assumed through, itself first
 * and the key last (empty when its sources are broken: `chain_problem`).
 */
chain: Array<string>, chainProblem: string | null, id: string, name: string, kind: Kind, env: string | null, tags: Array<string>, version: number, updatedAt: string, rotation: RotationStatus, };

/**
 * What the add form sends. `values` are secret fields, `fields` plain ones.
 */
export type CredentialInput = { name: string, kind: Kind, env: string | null, tags: Array<string>, notes: string | null, fields: { [key in string]?: string }, values: { [key in string]?: string }, expiresAt: string | null, };

/**
 * What the edit form sends: the whole new state of the editable properties.
 * Secret fields absent from `values` keep their value; `unset` removes
 * optional fields. `expectedVersion` guards against a change made meanwhile
 * (a `conflict` error when it moved on).
 */
export type CredentialEdit = { rename: string | null, env: string | null, tags: Array<string>, notes: string | null, fields: { [key in string]?: string }, values: { [key in string]?: string }, unset: Array<string>, expiresAt: string | null, expectedVersion: number, };

export type HistoryEntry = { version: number, writtenAt: string, current: boolean, 
/**
 * What changed from the previous version (names, never values).
 */
changes: Array<string>, };

/**
 * The latest versions of a credential, newest first, and how many it has.
 */
export type HistoryPage = { entries: Array<HistoryEntry>, total: number, };

/**
 * A credential in the trash (no secret value): the delete's undo names it by `id`.
 */
export type TrashEntry = { id: string, name: string, kindLabel: string, env: string | null, deletedAt: string, 
/**
 * When it goes for good.
 */
purgeAfter: string, };

/**
 * A folder of names (`aws/prod/`) and how many matches it holds.
 */
export type Folder = { 
/**
 * The whole path, ending in `/`: what `FindQuery::folder` takes.
 */
path: string, 
/**
 * Its last part, as shown.
 */
name: string, count: number, };

/**
 * What an import would do, from a dry run over the file the person picked.
 */
export type ImportPreview = { 
/**
 * The file's name (not its folder).
 */
file: string, format: string, 
/**
 * How many credentials the file holds.
 */
count: number, 
/**
 * Their names, the first 50.
 */
names: Array<string>, 
/**
 * Names already taken in the vault: the import needs a choice for them.
 */
taken: Array<string>, warnings: Array<string>, };

/**
 * What an import did.
 */
export type ImportDone = { imported: number, overwritten: number, renamed: number, skipped: number, unchanged: number, };

/**
 * The characters a generated value is drawn from.
 */
export type Charset = "alphanumeric" | "alphanumeric_symbols" | "hex";

export type RotationStep = "prepare" | "new_value" | "verify" | "promote" | "push" | "revoke" | "done" | "aborted";

export type RotationFlow = "manual" | "aws_iam" | "postgres" | "vault_token" | "vault_approle";

/**
 * Where a step of a run stands.
 */
export type StepState = "done" | "current" | "pending";

export type RotationStepView = { step: RotationStep, label: string, state: StepState, };

/**
 * How the last call to a run stopped.
 */
export type RunOutcome = "done" | "waiting" | "aborted";

/**
 * A rotation run as the wizard shows it.
 */
export type RotationRun = { name: string, flow: RotationFlow, 
/**
 * The step the run is at (the next one to do).
 */
step: RotationStep, startedAt: string, 
/**
 * Every step of this flow in order, with where it stands.
 */
steps: Array<RotationStepView>, 
/**
 * Finished, waiting (for an answer, a value or the grace period) or aborted.
 */
outcome: RunOutcome, 
/**
 * While waiting: why, and until when (the grace period).
 */
reason: string | null, until: string | null, 
/**
 * The yes/no question the run waits on (click "Confirm" to answer yes), if any.
 */
question: string | null, 
/**
 * Secret fields the run needs new values for (at `new_value`), if any.
 */
needsValues: Array<string>, 
/**
 * What the run said as it went (instructions, what each automated step did).
 */
messages: Array<string>, };

export type GenerateInput = { length: number, charset: Charset, };

/**
 * What a step of the wizard sends: `confirm` answers the pending question
 * with yes; `values` are new secret values (or `generate` asks the core to
 * make them); `automate` picks the automated flow where the kind has one.
 */
export type RotationInput = { confirm: boolean, values: { [key in string]?: string } | null, generate: GenerateInput | null, automate: boolean | null, graceHours: number | null, };

/**
 * Emitted as `rotation-progress` while rotationAdvance runs automated steps.
 */
export type RotationProgress = { name: string, step: RotationStep | null, message: string, };

export type AuditRow = { seq: number, at: string, 
/**
 * snake_case action, e.g. "reveal", "sync_push", "rotation_step".
 */
action: string, 
/**
 * The credential name at the time, if the event had a target.
 */
target: string | null, 
/**
 * "ok", "denied" or "failed".
 */
outcome: string, 
/**
 * OS user and interface ("app", "cli", "exec", "sync", …).
 */
user: string, interface: string, 
/**
 * Details as short "key: value" text; never a secret.
 */
details: string, };

export type AuditFilter = { credential: string | null, action: string | null, since: string | null, until: string | null, limit: number, };

export type AuditVerification = { ok: boolean, entries: number, 
/**
 * Sequence number the external anchor vouches for, if any.
 */
anchored: number | null, 
/**
 * What broke and where, when not ok.
 */
message: string | null, };

export type PolicyScope = { "type": "kind", kind: Kind, } | { "type": "env", env: string, } | { "type": "tag", tag: string, };

export type PolicyRow = { scope: PolicyScope, policy: Policy, };

export type Settings = { autoLockMinutes: number, clipboardSeconds: number, 
/**
 * Seconds a revealed value stays visible.
 */
revealSeconds: number, 
/**
 * Notify when credentials become due or overdue.
 */
notifications: boolean, 
/**
 * After an automatic lock, only the recovery passphrase opens the vault.
 */
passphraseAfterAutoLock: boolean, 
/**
 * Closing the window keeps the app in the system tray.
 */
closeToTray: boolean, 
/**
 * The global shortcut of the quick-search window ("" = none).
 */
quickSearchShortcut: string, policies: Array<PolicyRow>, hasPassphrase: boolean, hasKeyring: boolean, };

export type Preferences = { autoLockMinutes: number, clipboardSeconds: number, revealSeconds: number, notifications: boolean, passphraseAfterAutoLock: boolean, closeToTray: boolean, quickSearchShortcut: string, };

export type BackupSummary = { path: string, credentials: number, auditEntries: number, };

/**
 * What a remote holds: credentials whose name starts with one of `names`
 * ("" is every name) or that have one of `tags`; empty holds nothing.
 */
export type RemoteScope = { names: Array<string>, tags: Array<string>, };

export type RemoteRow = { name: string, 
/**
 * What it holds, in words ("names under team/", "every credential", "nothing …").
 */
holds: string, type: RemoteType, 
/**
 * Address (Vault) or region/endpoint (AWS), for display.
 */
target: string, 
/**
 * KV mount (Vault) or null.
 */
mount: string | null, prefix: string, 
/**
 * The vault credential it logs in with, or null (environment / SDK chain).
 */
authCredential: string | null, linked: number, };

/**
 * A remote's settings as its form shows them: what `remote_add` takes,
 * and what `remote_get` gives to fill the form for an edit.
 */
export type RemoteInput = { "type": "vault", name: string, addr: string, mount: string, prefix: string, namespace: string | null, scope: RemoteScope, 
/**
 * A vault-token or vault-approle credential; null uses VAULT_TOKEN.
 */
authCredential: string | null, insecureHttp: boolean, } | { "type": "aws", name: string, region: string | null, prefix: string, endpointUrl: string | null, profile: string | null, scope: RemoteScope, 
/**
 * An aws-access-key credential; null uses the profile or SDK chain.
 */
authCredential: string | null, insecureHttp: boolean, };

export type RemoteCheck = { name: string, ok: boolean, detail: string, };

/**
 * Where a credential stands between the vault and a remote.
 */
export type SyncState = "conflict" | "error" | "new_remote" | "changed_remote" | "deleted_remote" | "new_local" | "changed_local" | "deleted_local" | "in_sync";

export type PlanItem = { name: string, state: SyncState, 
/**
 * "new on remote", "changed locally", …
 */
stateText: string, detail: string | null, localVersion: number | null, remoteVersion: string | null, };

export type SyncPlan = { remote: string, 
/**
 * What the remote holds, in words: nothing outside it is listed.
 */
holds: string, items: Array<PlanItem>, };

/**
 * Which way a sync goes.
 */
export type Direction = "pull" | "push" | "both";

/**
 * Which side of a conflict wins.
 */
export type Keep = "local" | "remote";

export type SyncDone = { name: string, state: SyncState, outcome: string, detail: string | null, };

export type SyncReport = { remote: string, done: Array<SyncDone>, inSync: number, pulled: number, pushed: number, conflicts: number, failed: number, };

/**
 * Emitted as `sync-progress` while syncApply runs.
 */
export type SyncProgress = { remote: string, total: number, done: number, name: string | null, outcome: string | null, };

export type SecretFieldDiff = { name: string, label: string, differs: boolean, };

/**
 * One side of a conflict: plain fields shown, secret fields masked with whether they differ.
 */
export type ConflictSide = { version: string | null, updatedAt: string | null, fields: Array<PlainField>, secretFields: Array<SecretFieldDiff>, deleted: boolean, };

export type Conflict = { name: string, remote: string, local: ConflictSide, remoteSide: ConflictSide, };

/**
 * A question of the agent's, as its approval window shows it: which
 * process (and where it runs) wants which credentials, under which rule.
 */
export type ApprovalView = { credentials: Array<string>, 
/**
 * "ask" or "ask-every-time", and why it applies ("set on env 'prod'").
 */
rule: string, why: string, 
/**
 * "reveal", "credential_process", "token_helper".
 */
purpose: string, 
/**
 * The executable's file name, its pid, path, command line and directory.
 */
program: string, pid: number, exe: string, commandLine: string, directory: string, 
/**
 * Whether it runs on a terminal; its parents, nearest first ("4100 bash").
 */
terminal: boolean, parents: Array<string>, 
/**
 * What "allow for this terminal" lasts; 0: not offered (asks every time).
 */
rememberMinutes: number, 
/**
 * Set when the question asks for this MFA device's code (an AWS
 * session needs one) rather than for a yes.
 */
mfaSerial: string | null, };

/**
 * The person's answer in an approval window.
 */
export type ApprovalAnswer = "once" | "for_terminal" | "deny";

/**
 * What kind of failure it was: the closed set the UI switches on.
 */
export type IpcErrorCode = "failure" | "invalid_input" | "conflict" | "not_found" | "cannot_unlock" | "wrong_passphrase" | "locked" | "integrity" | "declined";
