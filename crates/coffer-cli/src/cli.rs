//! The command-line surface (clap). This is a contract scripts depend on:
//! keep names, flags and exit codes stable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "coffer",
    version,
    about = "Coffer: an encrypted, keyring-sealed credential vault for developers",
    after_help = "Exit codes: 0 ok, 1 failure, 2 usage or invalid input, 3 needs attention (stale edit), 4 not found, 5 cannot unlock, 6 integrity error."
)]
pub struct Cli {
    /// Vault file [default: $XDG_DATA_HOME/coffer/vault.sqlite]
    #[arg(long, global = true, env = "COFFER_VAULT", value_name = "PATH")]
    pub vault: Option<PathBuf>,

    /// Read the recovery passphrase from FILE, for when the OS keyring cannot unlock (scripts, tests)
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new vault sealed to the OS keyring, with an optional recovery passphrase
    Init(InitArgs),
    /// Add a credential; secret fields come as a JSON object on stdin or at hidden prompts
    Add(AddArgs),
    /// Print the raw value of one field, or a JSON object of all fields
    Get(GetArgs),
    /// Show a credential with its secret values masked
    Show(ShowArgs),
    /// List every credential
    List(JsonArg),
    /// Search names, kinds, environments, tags, notes and plain fields (case-insensitive)
    Search(SearchArgs),
    /// Change a credential (a new version; the old one stays in its history)
    Edit(EditArgs),
    /// Delete a credential into the trash (kept 30 days, with its history), or for good with --purge
    Rm(RmArgs),
    /// The deleted credentials the trash holds: list, restore, purge
    #[command(subcommand)]
    Trash(TrashCommand),
    /// List the versions of a credential and what each changed
    History(ShowArgs),
    /// Make an earlier version current again (as a new version)
    Rollback(RollbackArgs),
    /// Set or change the recovery passphrase
    #[command(subcommand)]
    Passphrase(PassphraseCommand),
    /// Replace the vault key and the keyring key and re-encrypt everything (after a suspected leak);
    /// offers to change the recovery passphrase in the same step
    Rekey(RekeyArgs),
    /// Rotation status of every credential, most urgent first; exit 3 when any is overdue or expired
    Status(StatusArgs),
    /// Start or continue the guided rotation of a credential (automated for AWS IAM keys)
    Rotate(RotateArgs),
    /// Emergency: revoke every matching credential at its provider and mark it compromised
    RevokeAll(RevokeAllArgs),
    /// Rotation policies by kind, tag or environment
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Access rules: which credentials the agent hands a process at once, and which only
    /// after asking you (allow, ask, ask-every-time; env prod asks by default)
    #[command(subcommand)]
    Access(AccessCommand),
    /// Show the audit trail (newest first), verify it, or export it
    Audit(AuditArgs),
    /// Remotes to sync with: HashiCorp Vault / OpenBao KV v2, AWS Secrets Manager
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// Compare with a remote and pull, push or resolve; never overwrites a change it has not seen
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Run a command with credentials in its environment (never on argv or disk)
    Exec(ExecArgs),
    /// Print a credential as environment variable assignments
    Env(EnvArgs),
    /// Render a template whose {{ coffer://NAME/FIELD }} references become values
    Inject(InjectArgs),
    /// AWS tool integration (credential_process)
    Aws(AwsArgs),
    /// Token helper for the Vault/OpenBao CLI (token_helper in ~/.vault)
    VaultTokenHelper(TokenHelperArgs),
    /// Import credentials from files (AWS credentials, dotenv, JSON, CSV, KeePassXC, Bitwarden, 1Password)
    Import(ImportArgs),
    /// Export credentials in plaintext (needs --plaintext)
    Export(ExportArgs),
    /// Write an encrypted, self-contained backup, or verify one
    Backup(BackupArgs),
    /// Restore a backup into a new vault
    Restore(RestoreArgs),
    /// Move plaintext credentials into the vault and rewrite the files to use Coffer
    Migrate(MigrateArgs),
    /// Find plaintext credentials in files
    Scan(ScanArgs),
    /// Check the keyring backend, the session and the vault, with fixes
    Doctor(JsonArg),
    /// List credential kinds and their fields
    Kinds(JsonArg),
    /// Lock the agent serving this vault (it keeps running, locked; the next command that
    /// needs the vault unlocks it the usual way and hands it over)
    Lock(LockArgs),
    /// Run the agent: one unlocked session serving this vault's commands over a private
    /// socket, recording which process asks for each value (COFFER_AGENT=auto|off|required)
    Agent(AgentArgs),
}

#[derive(Args, Debug)]
pub struct AgentArgs {
    #[command(subcommand)]
    pub action: Option<AgentAction>,
    /// Lock after this many minutes without a request (0: never); default: the vault's
    /// auto-lock preference
    #[arg(long, value_name = "MINUTES", global = true)]
    pub idle_lock: Option<u64>,
    /// Started by `agent start`: once serving, warnings go to a log beside the socket
    #[arg(long, hide = true, global = true)]
    pub detached: bool,
}

#[derive(Subcommand, Debug)]
pub enum AgentAction {
    /// Serve in the foreground until stopped (the default; for systemd)
    Run,
    /// Start in the background, once the vault is unlocked
    Start,
    /// Lock: the agent writes its last audit entries, wipes the key and exits
    Stop,
    /// Which vault it serves, since when, how many requests
    Status(JsonArg),
    /// The requests waiting for your approval under an `ask` rule
    Pending(JsonArg),
    /// The socket this vault's agent listens on (for a systemd .socket unit's ListenStream=)
    Socket,
    /// Whether commands use the agent: auto (when one runs), off, required. COFFER_AGENT
    /// overrides it. Without a value, prints it
    Mode {
        /// auto, off or required
        mode: Option<String>,
    },
    /// Approve a waiting request, from another terminal than the one that asked
    Approve {
        /// The request's id, as the refused command printed it
        id: String,
        /// Allow for the asking terminal session this many minutes (default: the rules'
        /// remember time); without it, and for ask-every-time rules, allow once
        #[arg(long = "for", value_name = "MINUTES")]
        minutes: Option<u32>,
        /// Allow this one request only
        #[arg(long, conflicts_with = "minutes")]
        once: bool,
    },
    /// Deny a waiting request
    Deny {
        /// The request's id
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AccessCommand {
    /// The rules in force, and how long a yes for a terminal lasts
    List(JsonArg),
    /// Set the rule of a credential, tag or environment
    Set {
        /// allow, ask (once per terminal session, remembered a while) or ask-every-time
        rule: String,
        #[command(flatten)]
        scope: AccessScope,
    },
    /// Remove the rule of a credential, tag or environment
    Unset {
        #[command(flatten)]
        scope: AccessScope,
    },
    /// How many minutes "allow for this terminal" lasts (default 10)
    Remember { minutes: u32 },
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct AccessScope {
    /// Applies to one credential
    #[arg(long, value_name = "NAME")]
    pub credential: Option<String>,
    /// Applies to credentials with this tag
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Applies to credentials in this environment
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
}

#[derive(Args, Debug)]
pub struct JsonArg {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Read the recovery passphrase from stdin
    #[arg(long, conflicts_with = "no_passphrase")]
    pub passphrase_stdin: bool,
    /// Create the vault without a recovery passphrase (keyring only)
    #[arg(long)]
    pub no_passphrase: bool,
    /// Do not use the OS keyring: the passphrase is the only way in
    #[arg(long, conflicts_with = "no_passphrase")]
    pub no_keyring: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct CommonFields {
    /// Environment label (dev, staging, prod, …)
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Tag (repeatable)
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Notes
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// A plain (non-secret) field; refused for fields that hold secrets
    #[arg(long = "field", value_name = "KEY=VALUE")]
    pub fields: Vec<String>,
    /// Expiry date (YYYY-MM-DD or RFC 3339)
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    /// When the key was last rotated, if it was made elsewhere (YYYY-MM-DD or RFC 3339)
    #[arg(long, value_name = "DATE")]
    pub rotated_at: Option<String>,
    /// This credential's own rotation policy: maximum age (e.g. 60 or 60d)
    #[arg(long, value_name = "DAYS")]
    pub max_age: Option<String>,
    /// With --max-age: warn this long before (default 14d)
    #[arg(long, value_name = "DAYS", requires = "max_age")]
    pub warn: Option<String>,
}

#[derive(Args, Debug)]
pub struct AddArgs {
    pub name: String,
    /// Credential kind (see `coffer kinds`)
    #[arg(long)]
    pub kind: String,
    #[command(flatten)]
    pub common: CommonFields,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct GetArgs {
    pub name: String,
    /// Print only this field's raw value
    #[arg(long)]
    pub field: Option<String>,
    /// With --field: no newline after the value
    #[arg(short = 'n', long, requires = "field")]
    pub no_newline: bool,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    pub name: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    pub query: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct EditArgs {
    pub name: String,
    /// New name
    #[arg(long, value_name = "NAME")]
    pub rename: Option<String>,
    #[command(flatten)]
    pub common: CommonFields,
    /// Remove the environment label
    #[arg(long, conflicts_with = "env")]
    pub clear_env: bool,
    /// Remove the notes
    #[arg(long, conflicts_with = "note")]
    pub clear_note: bool,
    /// Drop this credential's own rotation policy (the tag/env/kind one applies again)
    #[arg(long, conflicts_with = "max_age")]
    pub clear_policy: bool,
    /// Remove a tag (repeatable)
    #[arg(long = "untag", value_name = "TAG")]
    pub untags: Vec<String>,
    /// Remove a field (repeatable)
    #[arg(long = "unset", value_name = "FIELD")]
    pub unset: Vec<String>,
    /// Ask for a new secret value of FIELD at a hidden prompt (repeatable; terminal only)
    #[arg(long = "prompt", value_name = "FIELD")]
    pub prompt: Vec<String>,
    /// Refuse the edit unless the credential is still at this version
    #[arg(long, value_name = "N")]
    pub if_version: Option<u64>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    pub name: String,
    /// Delete it and its history for good, without the trash
    #[arg(long)]
    pub purge: bool,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Subcommand, Debug)]
pub enum TrashCommand {
    /// What the trash holds, the most recently deleted first, and when each goes for good
    List(JsonArg),
    /// Bring a credential back, with its history (a new version)
    Restore {
        /// Its name (the most recently deleted of that name) or its id from `coffer trash list`
        which: String,
        /// Restore it under this name (when a new credential took the old one)
        #[arg(long = "as", value_name = "NAME")]
        rename: Option<String>,
    },
    /// Delete credentials of the trash for good: the one named, or all of them with --all
    Purge {
        /// Its name or id
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        which: Option<String>,
        /// Empty the whole trash
        #[arg(long)]
        all: bool,
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Args, Debug)]
pub struct RollbackArgs {
    pub name: String,
    /// The version to bring back
    #[arg(long = "to", value_name = "VERSION")]
    pub version: u64,
}

#[derive(Subcommand, Debug)]
pub enum PassphraseCommand {
    /// Add a recovery passphrase to a vault that has none
    Set(NewPassphraseArgs),
    /// Replace the recovery passphrase
    Change(NewPassphraseArgs),
}

#[derive(Args, Debug)]
pub struct NewPassphraseArgs {
    /// Read the new passphrase from stdin
    #[arg(long)]
    pub new_passphrase_stdin: bool,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    #[command(flatten)]
    pub filter: AuditFilter,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct AuditFilter {
    /// Only entries at or after this time (YYYY-MM-DD or RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only entries at or before this time (YYYY-MM-DD or RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only entries about the credential of this name
    #[arg(long, value_name = "NAME")]
    pub credential: Option<String>,
    /// Only entries of this action (e.g. reveal, update, unlock_failed)
    #[arg(long, value_name = "ACTION")]
    pub action: Option<String>,
    /// At most N entries
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the hash chain and its anchor: exit 0, or 6 naming the first bad entry
    Verify(JsonArg),
    /// Print the trail for shipping elsewhere (oldest first)
    Export(AuditExportArgs),
    /// Accept the vault as it is when it does not match its audit anchor (a
    /// copy restored on purpose, an anchor lost); the trail records it
    AcceptAnchor(AcceptAnchorArgs),
}

#[derive(Args, Debug)]
pub struct RekeyArgs {
    /// Also set a new recovery passphrase, read from stdin (the current one
    /// comes from --passphrase-file or a prompt)
    #[arg(long)]
    pub new_passphrase_stdin: bool,
    /// Keep the recovery passphrase without asking
    #[arg(long, conflicts_with = "new_passphrase_stdin")]
    pub keep_passphrase: bool,
}

#[derive(Args, Debug)]
pub struct AcceptAnchorArgs {
    /// Do not ask for confirmation (needed off a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Args, Debug)]
pub struct AuditExportArgs {
    /// Output format
    #[arg(long, value_parser = ["jsonl"], default_value = "jsonl")]
    pub format: String,
    #[command(flatten)]
    pub filter: AuditFilter,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Only credentials of this environment
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Only credentials with this tag
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    #[arg(long)]
    pub json: bool,
    /// Revoke the Vault leases left behind by a Coffer that ended without revoking them
    /// (killed, or its machine stopped); on a terminal, status offers to
    #[arg(long)]
    pub revoke_leases: bool,
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct PolicyScope {
    /// Applies to a credential kind
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// Applies to credentials with this tag
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Applies to credentials of this environment
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// The policies in force: the kind defaults and every override
    List(JsonArg),
    /// Set the policy of a kind, tag or environment
    Set {
        #[command(flatten)]
        scope: PolicyScope,
        /// Maximum age (e.g. 90 or 90d)
        #[arg(long, value_name = "DAYS")]
        max_age: String,
        /// Warn this long before (default 14d)
        #[arg(long, value_name = "DAYS")]
        warn: Option<String>,
    },
    /// Remove the policy of a kind, tag or environment
    Unset {
        #[command(flatten)]
        scope: PolicyScope,
    },
}

#[derive(Args, Debug)]
pub struct RotateArgs {
    pub name: String,
    /// How long the old value stays valid after the new one is promoted (e.g. 24h, 30m, 2d, 0)
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    pub grace: String,
    /// Kept for old scripts: it answers none of a rotation's questions, as each stands for
    /// work done at the provider (see --confirm-manual-steps)
    #[arg(long, short = 'y', hide = true)]
    pub yes: bool,
    /// Answer the manual rotation's questions ("does the new value work?", "is the old one
    /// revoked at its provider?") with yes, vouching that you did that work; recorded as such
    #[arg(long)]
    pub confirm_manual_steps: bool,
    /// Stop the running rotation and undo it
    #[arg(long, conflicts_with_all = ["yes", "generate", "confirm_manual_steps"])]
    pub abort: bool,
    /// Demand the automated flow (AWS IAM keys, PostgreSQL passwords)
    #[arg(long, conflicts_with = "manual")]
    pub automate: bool,
    /// Rotate by hand even where Coffer could automate
    #[arg(long)]
    pub manual: bool,
    /// Generate the new value (db-password, api-key, single-field generic)
    #[arg(long)]
    pub generate: bool,
    /// Length of a generated value
    #[arg(long, default_value_t = 32, requires = "generate")]
    pub length: usize,
    /// Characters of a generated value
    #[arg(long, value_parser = ["alnum", "symbols", "hex"], default_value = "alnum", requires = "generate")]
    pub charset: String,
    /// With two IAM keys on the user already, delete the inactive one
    #[arg(long)]
    pub delete_inactive: bool,
    /// Make the provider's changes with this credential instead of the rotated one's own: an
    /// aws-access-key for IAM, a db-password whose role has CREATEROLE for PostgreSQL
    #[arg(long, value_name = "CREDENTIAL")]
    pub admin: Option<String>,
    /// PostgreSQL two-role mode: give the new password to this idle role and switch the
    /// credential to it; the role in use keeps working through the grace period, then is
    /// locked (NOLOGIN), never dropped. Remembered for the next rotation, which switches back
    #[arg(long, value_name = "ROLE")]
    pub alternate: Option<String>,
}

#[derive(Args, Debug)]
pub struct RevokeAllArgs {
    #[command(flatten)]
    pub selector: RevokeSelector,
    /// List what would be done, and do nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do it without asking (scripts)
    #[arg(long, short = 'y', conflicts_with = "dry_run")]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct RevokeSelector {
    /// Every credential of this environment
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Every credential with this tag
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Every credential in the vault
    #[arg(long)]
    pub all: bool,
}

#[derive(Subcommand, Debug)]
pub enum RemoteCommand {
    /// Add a remote
    #[command(subcommand)]
    Add(RemoteAdd),
    /// List the remotes
    List(JsonArg),
    /// Show one remote's settings
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a remote (the remote's secrets and the local credentials stay)
    Rm { name: String },
    /// Set what a remote holds (the only credentials a sync sends to it or takes from it)
    Scope {
        name: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Check reachability, login and permissions, naming anything missing; exit 1 if something is
    Test {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum RemoteAdd {
    /// A HashiCorp Vault / OpenBao KV version 2 mount
    Vault(VaultRemoteArgs),
    /// AWS Secrets Manager
    Aws(AwsRemoteArgs),
}

#[derive(Args, Debug)]
pub struct VaultRemoteArgs {
    pub name: String,
    /// Vault address
    #[arg(long, env = "VAULT_ADDR", value_name = "URL")]
    pub addr: String,
    /// KV version 2 mount path
    #[arg(long, default_value = "secret")]
    pub mount: String,
    /// Folder under the mount for Coffer's secrets (ends with /)
    #[arg(long, default_value = "", value_name = "PATH/")]
    pub prefix: String,
    /// Vault Enterprise / OpenBao namespace [default at sync: $VAULT_NAMESPACE]
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// CA certificate (PEM) for the server's TLS [default at sync: $VAULT_CACERT]
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// How to log in
    #[arg(long, value_enum, default_value = "token")]
    pub auth: VaultAuthArg,
    /// The vault-token or vault-approle credential to log in with [token default: $VAULT_TOKEN at sync]
    #[arg(long, value_name = "CRED")]
    pub auth_credential: Option<String>,
    /// Allow plain http to a host other than this machine
    #[arg(long)]
    pub insecure_http: bool,
}

/// What a remote holds: nothing unless given (a team remote must not
/// receive personal keys by default).
#[derive(Args, Debug, Clone)]
pub struct ScopeArgs {
    /// The remote holds credentials whose name starts with this (repeatable)
    #[arg(long = "holds", value_name = "NAME-PREFIX")]
    pub holds: Vec<String>,
    /// The remote holds credentials with this tag (repeatable)
    #[arg(long = "holds-tag", value_name = "TAG")]
    pub holds_tag: Vec<String>,
    /// The remote holds every credential
    #[arg(long, conflicts_with_all = ["holds", "holds_tag"])]
    pub holds_all: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum VaultAuthArg {
    Token,
    Approle,
}

#[derive(Args, Debug)]
pub struct AwsRemoteArgs {
    pub name: String,
    /// Region [default: the SDK's (AWS_REGION, profile), else us-east-1]
    #[arg(long)]
    pub region: Option<String>,
    /// Named profile from ~/.aws/config
    #[arg(long, conflicts_with = "auth_credential")]
    pub profile: Option<String>,
    /// An aws-access-key credential to sign with [default: the SDK's chain]
    #[arg(long, value_name = "CRED")]
    pub auth_credential: Option<String>,
    /// Endpoint URL (e.g. a local test server)
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Name prefix for Coffer's secrets
    #[arg(long, default_value = "", value_name = "P/")]
    pub prefix: String,
    /// KMS key for new secrets
    #[arg(long, value_name = "KEY")]
    pub kms_key_id: Option<String>,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Allow plain http to a host other than this machine
    #[arg(long)]
    pub insecure_http: bool,
}

#[derive(Subcommand, Debug)]
pub enum SyncCommand {
    /// Show each credential's state against the remote; changes nothing; exit 3 on conflicts
    Plan(SyncPlanArgs),
    /// Apply remote changes locally
    Pull(SyncArgs),
    /// Apply local changes to the remote
    Push(SyncArgs),
    /// Pull and push
    Run(SyncArgs),
    /// Settle a conflict by keeping one side
    Resolve(ResolveArgs),
}

#[derive(Args, Debug)]
pub struct SyncPlanArgs {
    pub remote: String,
    /// Only these credentials
    #[arg(long, num_args = 1.., value_name = "NAME")]
    pub only: Vec<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    pub remote: String,
    /// Only these credentials
    #[arg(long, num_args = 1.., value_name = "NAME")]
    pub only: Vec<String>,
    /// Show what would be done, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Propagate deletions (recoverably on the remote: Vault soft delete, AWS 30-day recovery window)
    #[arg(long)]
    pub prune: bool,
    /// Requests in flight at once
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub concurrency: u64,
    /// JSON report on stdout, progress as JSON lines on stderr
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ResolveArgs {
    pub name: String,
    /// Which side wins
    #[arg(long, value_enum)]
    pub keep: KeepArg,
    /// The remote (needed when several are configured)
    #[arg(long)]
    pub remote: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum KeepArg {
    Local,
    Remote,
}

// The arguments of `backup.rs`'s commands.

/// Where the backup passphrase comes from (never argv).
#[derive(Args, Debug)]
pub struct BackupPassphrase {
    /// Read the backup passphrase from the first line of stdin
    #[arg(long, conflicts_with = "backup_passphrase_file")]
    pub passphrase_stdin: bool,
    /// Read the backup passphrase from the first line of FILE
    #[arg(long, value_name = "FILE")]
    pub backup_passphrase_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub command: Option<BackupCommand>,
    /// The backup file to write (refused if it exists, unless --force)
    #[arg(value_name = "FILE", required = true)]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub passphrase: BackupPassphrase,
    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum BackupCommand {
    /// Decrypt a backup and check its structure and counts (no vault needed)
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The backup file
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub passphrase: BackupPassphrase,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The backup file
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub passphrase: BackupPassphrase,
    /// Create the vault without a recovery passphrase (keyring only)
    #[arg(long)]
    pub no_passphrase: bool,
    /// Do not use the OS keyring: the recovery passphrase is the only way in
    #[arg(long, conflicts_with = "no_passphrase")]
    pub no_keyring: bool,
    #[arg(long)]
    pub json: bool,
}

// The arguments of `migrate.rs`'s commands.

#[derive(Args, Debug)]
pub struct MigrateArgs {
    #[command(subcommand)]
    pub command: MigrateCommand,
}

#[derive(Subcommand, Debug)]
pub enum MigrateCommand {
    /// Move the keys of every profile in the AWS credentials/config files into the vault and point
    /// each profile at `coffer aws credential-process` (backs the files up first)
    Aws(AwsMigrateArgs),
}

#[derive(Args, Debug)]
pub struct AwsMigrateArgs {
    /// The shared credentials file [default: $AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials]
    #[arg(long, value_name = "FILE")]
    pub credentials_file: Option<PathBuf>,
    /// The config file [default: $AWS_CONFIG_FILE or ~/.aws/config]
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Each profile becomes the credential PREFIX<profile>
    #[arg(long, default_value = "aws/", value_name = "PREFIX")]
    pub prefix: String,
    /// Show what would be stored and rewritten; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask before migrating (needed without a terminal)
    #[arg(long)]
    pub yes: bool,
    /// Overwrite the backup of the original files with random bytes and delete it when done
    #[arg(long)]
    pub shred_backup: bool,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Files and directories to scan
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print the findings as a JSON array
    #[arg(long)]
    pub json: bool,
    /// Store every finding in the vault, in one transaction
    #[arg(long)]
    pub import: bool,
    /// Name prefix of imported credentials
    #[arg(long, default_value = "scan/", value_name = "PREFIX")]
    pub prefix: String,
    /// Leave out paths matching GLOB (`*`, `?`, `**`; without `/` it matches any path component)
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Also leave out what .gitignore files exclude
    #[arg(long)]
    pub gitignore: bool,
}

// The arguments of `transfer.rs`'s commands.

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The file to import (at most 64 MiB)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The file's format
    #[arg(long, value_parser = [
        "aws-credentials", "dotenv", "json", "csv", "keepassxc-csv",
        "bitwarden-json", "bitwarden-csv", "1password-csv",
    ])]
    pub format: String,
    /// dotenv: one credential holding every variable, or one credential per variable
    #[arg(long, value_parser = ["one", "per-variable"], default_value = "one")]
    pub dotenv_mode: String,
    /// dotenv (one credential): its name [default: the file name without leading dots and `.env`]
    #[arg(long, value_name = "NAME", conflicts_with = "prefix")]
    pub name: Option<String>,
    /// Put P before every imported name (AWS profiles default to `aws/`)
    #[arg(long, value_name = "P")]
    pub prefix: Option<String>,
    /// dotenv: the kind of the imported credentials [default: generic]
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// Environment of every imported credential
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Tag every imported credential (repeatable)
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// What to do with a name that is taken; without it such an import is refused (exit 3)
    #[arg(long, value_parser = ["skip", "rename", "overwrite"], value_name = "POLICY")]
    pub on_duplicate: Option<String>,
    /// Show what would be imported; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Output format
    #[arg(long, value_parser = ["json", "csv", "dotenv"], default_value = "json")]
    pub format: String,
    /// Confirm that the output holds every secret value in plaintext
    #[arg(long)]
    pub plaintext: bool,
    /// Write to FILE (created 0600) instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE if it exists
    #[arg(long, requires = "output")]
    pub force: bool,
    /// Credentials to export [default: all]
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}

// The arguments of `workflow.rs`'s commands.

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Credentials to put in the command's environment
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    /// Set VAR from FIELD (of the only credential, or NAME/FIELD); repeatable; wins over the defaults
    #[arg(long = "env", value_name = "VAR=FIELD")]
    pub env: Vec<String>,
    /// Only the --env mappings, not the kind's default variables
    #[arg(long)]
    pub no_defaults: bool,
    /// Replace variables already set in Coffer's own environment
    #[arg(long = "override")]
    pub override_env: bool,
    /// Replace secret values the command prints (stdout, stderr) with <concealed by coffer>
    #[arg(long)]
    pub mask: bool,
    /// Give AWS credentials as the stored long-lived key, not an STS session
    #[arg(long, conflicts_with = "server")]
    pub long_lived: bool,
    /// Serve the one AWS credential among NAMEs to the command from a loopback
    /// container-credentials endpoint (refreshed sessions for as long as it runs)
    /// instead of putting a session in its environment
    #[arg(long)]
    pub server: bool,
    /// The command and its arguments, after --
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum EnvFormat {
    Sh,
    Fish,
    Dotenv,
    Json,
}

#[derive(Args, Debug)]
pub struct EnvArgs {
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    #[arg(long = "env", value_name = "VAR=FIELD")]
    pub env: Vec<String>,
    #[arg(long)]
    pub no_defaults: bool,
    #[arg(long, value_enum, default_value = "sh")]
    pub format: EnvFormat,
    /// Give AWS credentials as the stored long-lived key, not an STS session
    #[arg(long)]
    pub long_lived: bool,
}

#[derive(Args, Debug)]
pub struct InjectArgs {
    /// Template file ('-' for stdin)
    #[arg(short = 'i', long = "input", value_name = "TEMPLATE")]
    pub input: PathBuf,
    /// Write here (mode 0600, replaced atomically) instead of stdout
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct LockArgs {
    /// First drop the AWS STS sessions kept in the vault (they stay valid at AWS until
    /// they end; `coffer revoke-all` ends them there)
    #[arg(long)]
    pub forget_sessions: bool,
}

#[derive(Args, Debug)]
pub struct AwsArgs {
    #[command(subcommand)]
    pub command: AwsCommand,
}

#[derive(Subcommand, Debug)]
pub enum AwsCommand {
    /// Print the credential_process JSON for an aws-access-key or aws-role credential:
    /// an STS session (GetSessionToken with the key; AssumeRole down a role's chain),
    /// kept sealed and served until 15 min before it ends (in ~/.aws/config:
    /// credential_process = coffer aws credential-process NAME)
    CredentialProcess {
        name: String,
        /// The stored long-lived key itself instead of a session (audited as such; an
        /// aws-access-key only)
        #[arg(long)]
        long_lived: bool,
    },
    /// List the STS sessions kept in the vault (credential, role, expiry, times served;
    /// no secret)
    Sessions(JsonArg),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TokenOp {
    Get,
    Store,
    Erase,
}

#[derive(Args, Debug)]
pub struct TokenHelperArgs {
    /// get prints the token, store reads one on stdin, erase forgets it
    #[arg(value_enum)]
    pub op: TokenOp,
    /// The credential [default: vault-cli/<host:port of VAULT_ADDR/BAO_ADDR>]
    #[arg(long)]
    pub name: Option<String>,
}
