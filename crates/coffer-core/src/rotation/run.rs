//! The guided rotation run: a persisted, resumable state machine, one per
//! credential at a time, every step audited.
//!
//! prepare → new value (pending) → verify → promote → push → revoke → done.
//! Each step ends with one transaction that saves the next step (and, for
//! promote, the new version of the credential), so a crash at any moment
//! resumes at the step that was not yet saved. Where a provider has an API
//! (AWS IAM access keys, see [`super::aws`]) a step runs itself; otherwise a
//! [`Guide`] asks the person and their answer is recorded.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::aws::{self, AwsState};
use super::postgres::{self, Login, PgState};
use super::vault_auth::{self, Server, VaultState};
use crate::audit::{self, Action, Event};
use crate::credential::{Credential, CredentialId, Secrets};
use crate::crypto;
use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::sealed::{Place, RunPart};
use crate::secret::SecretValue;
use crate::vault::{encode_secrets, Vault, WriteTx};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "RotationStep"))]
pub enum Step {
    Prepare,
    NewValue,
    Verify,
    Promote,
    Push,
    Revoke,
    Done,
    Aborted,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Prepare => "prepare",
            Step::NewValue => "new_value",
            Step::Verify => "verify",
            Step::Promote => "promote",
            Step::Push => "push",
            Step::Revoke => "revoke",
            Step::Done => "done",
            Step::Aborted => "aborted",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "RotationFlow"))]
pub enum Flow {
    /// The person makes, checks and revokes the value; Coffer records it.
    Manual,
    /// AWS IAM access keys: every step through the IAM and STS APIs.
    AwsIam,
    /// PostgreSQL passwords: set in the database, checked by a fresh login.
    Postgres,
    /// Vault/OpenBao tokens: a new one like the old, the old one revoked.
    VaultToken,
    /// Vault/OpenBao AppRole secret ids: a new one, the old one destroyed.
    VaultApprole,
}

impl Flow {
    /// Whether the run keeps the replaced values after "promote", to
    /// revoke them at the provider or put them back on abort.
    fn keeps_replaced(self) -> bool {
        matches!(self, Flow::Postgres | Flow::VaultToken | Flow::VaultApprole)
    }
}

/// What is saved between steps (encrypted; secret values are kept apart).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunState {
    pub flow: Flow,
    pub step: Step,
    /// The credential version the run replaces.
    pub from_version: u64,
    pub grace_secs: i64,
    #[serde(default)]
    pub revoke_by: Option<DateTime<Utc>>,
    #[serde(default)]
    pub aws: Option<AwsState>,
    #[serde(default)]
    pub postgres: Option<PgState>,
    #[serde(default)]
    pub vault: Option<VaultState>,
}

/// What a running rotation shows: where it is (no pending value).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Running {
    pub started_at: DateTime<Utc>,
    pub step: Step,
    pub revoke_by: Option<DateTime<Utc>>,
}

impl From<&Run> for Running {
    fn from(run: &Run) -> Running {
        Running {
            started_at: run.started_at,
            step: run.state.step,
            revoke_by: run.state.revoke_by,
        }
    }
}

/// A rotation run as stored.
#[derive(Clone, Debug)]
pub struct Run {
    pub id: [u8; 16],
    pub credential_id: CredentialId,
    pub started_at: DateTime<Utc>,
    pub state: RunState,
    /// The new secret values between "new value" and "promote"; in a
    /// PostgreSQL run, the replaced ones after "promote" (to check they no
    /// longer log in, or to put them back on abort), until "done".
    pub pending: Option<Secrets>,
}

/// How a new value is generated, for kinds where Coffer chooses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generate {
    pub length: usize,
    pub charset: Charset,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    Alphanumeric,
    AlphanumericSymbols,
    Hex,
}

impl Charset {
    fn alphabet(self) -> &'static [u8] {
        match self {
            Charset::Alphanumeric => {
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
            }
            Charset::AlphanumericSymbols => {
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~!@#%^*+=:,"
            }
            Charset::Hex => b"0123456789abcdef",
        }
    }
}

/// A random value from the OS RNG, without modulo bias.
pub fn generate(g: Generate) -> Result<SecretValue> {
    if !(8..=1024).contains(&g.length) {
        return Err(Error::invalid(
            "length",
            "a generated value is 8 to 1024 characters",
        ));
    }
    let alphabet = g.charset.alphabet();
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(g.length);
    let mut buf = zeroize::Zeroizing::new([0u8; 64]);
    while out.len() < g.length {
        crypto::random_bytes(buf.as_mut())?;
        for &b in buf.iter() {
            if (b as usize) < limit && out.len() < g.length {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    Ok(SecretValue::from(zeroize::Zeroizing::new(out)))
}

pub struct Options {
    /// How long the old value stays valid after promotion.
    pub grace: Duration,
    /// `Some(true)` demands the automated flow, `Some(false)` the manual
    /// one; `None` automates when the kind allows it.
    pub automate: Option<bool>,
    pub generate: Option<Generate>,
    /// With two keys already on the IAM user, delete the inactive one.
    pub delete_inactive: bool,
    /// A credential that makes the provider's changes instead of the
    /// rotated one: an aws-access-key for IAM, a db-password (a role with
    /// CREATEROLE) for PostgreSQL.
    pub admin: Option<String>,
    /// PostgreSQL two-role mode: the idle role of the pair, which gets the
    /// new password and becomes current (kept on the credential as
    /// `alternate_user` for the next rotation, which switches back).
    pub alternate: Option<String>,
}

/// How a run stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// It waits at `step` (for the grace period, an answer or a value).
    Waiting {
        step: Step,
        until: Option<DateTime<Utc>>,
        reason: String,
    },
    Aborted,
}

/// How the run talks to the person: the CLI prompts, the app shows a wizard.
pub trait Guide {
    fn say(&mut self, text: &str);
    /// New values for `fields`, or `None` when they cannot be given now.
    fn new_value(
        &mut self,
        kind: Kind,
        fields: &[&'static str],
    ) -> Result<Option<BTreeMap<String, SecretValue>>>;
    /// A yes to a question about work done outside Coffer, with who gave
    /// it (recorded in the step's audit entry): a person, or a flag that
    /// names exactly this (never a blanket `--yes`). `None` stops the run
    /// at this step.
    fn confirm(&mut self, question: &str) -> Result<Option<String>>;
    /// Called after each step is saved.
    fn step_saved(&mut self, step: Step);
}

impl Vault {
    fn load_run(&self, conn: &Connection, credential: &CredentialId) -> Result<Option<Run>> {
        // (id, started_at, sealed state, sealed pending value)
        type Stored = (Vec<u8>, i64, Vec<u8>, Option<Vec<u8>>);
        let row: Option<Stored> = self.db(conn
            .query_row(
                "SELECT id, started_at, state, pending FROM rotations WHERE credential_id = ?1 AND finished_at IS NULL",
                [&credential.0[..]],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional())?;
        let Some((id, started, state, pending)) = row else {
            return Ok(None);
        };
        let id: [u8; 16] = id
            .as_slice()
            .try_into()
            .map_err(|_| Error::integrity("a rotation id is malformed"))?;
        let what = "rotation state";
        let state_at = Place::Rotation {
            run: &id,
            part: RunPart::State,
        };
        let plain = self.open_at(state_at, &state, what)?;
        let state: RunState = serde_json::from_slice(&plain)
            .map_err(|_| Error::integrity(format!("{what}: malformed")))?;
        let pending = match pending {
            None => None,
            Some(p) => {
                let pending_at = Place::Rotation {
                    run: &id,
                    part: RunPart::Pending,
                };
                let plain = self.open_at(pending_at, &p, "rotation pending value")?;
                let map: BTreeMap<String, SecretValue> = serde_json::from_slice(&plain)
                    .map_err(|_| Error::integrity("rotation pending value: malformed"))?;
                Some(Secrets(map))
            }
        };
        Ok(Some(Run {
            id,
            credential_id: *credential,
            started_at: crate::time::from_millis(started),
            state,
            pending,
        }))
    }

    /// Saves `run` (its step, state and pending value) and records `event`, in `tx`.
    fn save_run(&self, tx: &WriteTx<'_>, run: &Run, name: &str, now: DateTime<Utc>) -> Result<()> {
        self.save_run_answered(tx, run, name, None, now)
    }

    /// As [`Vault::save_run`], recording who answered the step's question.
    fn save_run_answered(
        &self,
        tx: &WriteTx<'_>,
        run: &Run,
        name: &str,
        answered_by: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let state = serde_json::to_vec(&run.state).map_err(|e| Error::Failure {
            what: format!("cannot encode the rotation state: {e}"),
        })?;
        let at = |part| Place::Rotation { run: &run.id, part };
        let state = self.seal_at(at(RunPart::State), &state)?;
        let pending = match &run.pending {
            None => None,
            Some(p) => Some(self.seal_at(at(RunPart::Pending), &encode_secrets(p)?)?),
        };
        let finished =
            matches!(run.state.step, Step::Done | Step::Aborted).then(|| now.timestamp_millis());
        self.db(tx.execute(
            "INSERT INTO rotations (id, credential_id, started_at, updated_at, finished_at, state, pending)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET updated_at = ?4, finished_at = ?5, state = ?6, pending = ?7",
            params![
                &run.id[..],
                &run.credential_id.0[..],
                run.started_at.timestamp_millis(),
                now.timestamp_millis(),
                finished,
                state,
                pending
            ],
        ))?;
        let action = match run.state.step {
            Step::Aborted => Action::RotationAbort,
            _ => Action::RotationStep,
        };
        let mut details = serde_json::json!({
            "run": hex::encode(run.id),
            "flow": run.state.flow,
            "step": run.state.step.as_str(),
            "stored": audit::stamp(&[&state, pending.as_deref().unwrap_or_default()]),
        });
        if let Some(by) = answered_by {
            details["answered_by"] = by.into();
        }
        let event = Event::new(action)
            .target(run.credential_id, name)
            .details(details);
        tx.record(event, now)
    }

    /// Saves the run's move to `step` in its own transaction.
    fn advance(&self, run: &mut Run, name: &str, step: Step, now: DateTime<Utc>) -> Result<()> {
        self.advance_answered(run, name, step, None, now)
    }

    /// As [`Vault::advance`], after a question `answered_by` someone.
    fn advance_answered(
        &self,
        run: &mut Run,
        name: &str,
        step: Step,
        answered_by: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        run.state.step = step;
        let tx = self.begin()?;
        self.save_run_answered(&tx, run, name, answered_by, now)?;
        tx.commit()
    }

    /// The running rotation of `name`, if any.
    pub fn running_rotation(&self, name: &str) -> Result<Option<Run>> {
        let credential = self.get(name)?;
        self.load_run(self.conn(), &credential.id)
    }

    /// Every running rotation with the name of its credential, by name. Only
    /// the credentials with a running rotation are read (the app asks each
    /// time its rotation screen shows, whatever the size of the vault).
    pub fn running_rotations(&self) -> Result<Vec<(String, Run)>> {
        self.flush()?;
        let raws = {
            let mut stmt = self.db(self.conn().prepare_cached(
                "SELECT c.id, c.version, c.created_at, c.updated_at, c.meta, c.secrets
                 FROM rotations r JOIN credentials c ON c.id = r.credential_id
                 WHERE r.finished_at IS NULL",
            ))?;
            let rows = stmt
                .query_map([], Vault::row_from)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
            self.db(rows)?
        };
        let mut out = Vec::with_capacity(raws.len());
        for raw in raws {
            let row = Vault::make_row(raw)?;
            let name = self.open_meta(&row)?.name;
            if let Some(run) = self.load_run(self.conn(), &row.id)? {
                out.push((name, run));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn start_run(
        &self,
        credential: &Credential,
        flow: Flow,
        grace: Duration,
        now: DateTime<Utc>,
    ) -> Result<Run> {
        let mut id = [0u8; 16];
        crypto::random_bytes(&mut id)?;
        let run = Run {
            id,
            credential_id: credential.id,
            started_at: now,
            state: RunState {
                flow,
                step: Step::Prepare,
                from_version: credential.version,
                grace_secs: grace.num_seconds(),
                revoke_by: None,
                aws: None,
                postgres: None,
                vault: None,
            },
            pending: None,
        };
        let tx = self.begin()?;
        if self.load_run(&tx, &credential.id)?.is_some() {
            return Err(Error::invalid(
                format!("rotation of '{}'", credential.meta.name),
                "a rotation is already running; continue it with `coffer rotate NAME` or stop it with --abort",
            ));
        }
        self.save_run(&tx, &run, &credential.meta.name, now)?;
        let event = Event::new(Action::RotationStart)
            .target(credential.id, &credential.meta.name)
            .details(serde_json::json!({ "run": hex::encode(id), "flow": flow, "grace_secs": grace.num_seconds(), "from_version": credential.version }));
        tx.record(event, now)?;
        tx.commit()?;
        Ok(run)
    }

    /// Promotes the pending value: a new version of the credential (the old
    /// one stays in history) and the run's next step, in one transaction.
    fn promote(&self, run: &mut Run, name: &str, now: DateTime<Utc>) -> Result<()> {
        let pending = run
            .pending
            .take()
            .ok_or_else(|| Error::integrity("the rotation has no pending value to promote"))?;
        let tx = self.begin()?;
        let (row, meta) = self.find_required(&tx, name)?;
        if row.version != run.state.from_version {
            return Err(Error::Stale {
                name: name.to_owned(),
                expected: run.state.from_version,
                actual: row.version,
            });
        }
        let mut secrets = tx.open_secrets(&row)?;
        let mut new_meta = meta.clone();
        let mut replaced = BTreeMap::new();
        for field in pending.0.keys() {
            let old = match secrets.0.get(field) {
                Some(v) => Some(v.clone()),
                None => meta.fields.get(field).map(|v| SecretValue::from(v.clone())),
            };
            if let Some(old) = old {
                replaced.insert(field.clone(), old);
            }
        }
        for (field, value) in pending.0 {
            if meta.kind.is_secret_field(&field) {
                secrets.0.insert(field, value);
            } else {
                new_meta
                    .fields
                    .insert(field, value.expose_secret().to_owned());
            }
        }
        new_meta.rotated_at = Some(now);
        // A new value replaces a leaked one.
        new_meta.compromised_at = None;
        crate::credential::validate(&new_meta, &secrets)?;
        self.write_version(&tx, &row, &new_meta, &secrets, now)?;
        run.state.revoke_by = Some(now + Duration::seconds(run.state.grace_secs));
        run.state.step = Step::Push;
        if run.state.flow.keeps_replaced() {
            run.pending = Some(Secrets(replaced));
        }
        self.save_run(&tx, run, name, now)?;
        tx.commit()
    }
}

fn instructions(kind: Kind, flow: Flow) -> String {
    match (flow, kind) {
        (Flow::AwsIam, _) => "AWS IAM access key: Coffer creates a second key for the same IAM user, checks it with STS, makes it current, deactivates the old key, and deletes it after the grace period.".into(),
        (Flow::VaultToken, _) => "Vault token: Coffer makes a new token with the same policies, TTLs and metadata, checks it with lookup-self, makes it current, and revokes the old token after the grace period.".into(),
        (Flow::VaultApprole, _) => "Vault AppRole: Coffer generates a new secret id for the role, checks a login with it, makes it current, and destroys the old secret id after the grace period.".into(),
        (Flow::Postgres, _) => "PostgreSQL password: Coffer generates a new password, sets it with ALTER ROLE (sent as a SCRAM verifier), checks a fresh login with it, makes it current, and checks the old one no longer logs in.".into(),
        (_, Kind::DbPassword) => "Database password: choose or generate the new password, set it on the server (e.g. ALTER USER … PASSWORD …) while the old one still works, then confirm it logs in.".into(),
        (_, Kind::AwsAccessKey) => "AWS access key (manual): create a second access key for the user in IAM, keep the old one active until the new one is in use.".into(),
        (_, Kind::VaultToken | Kind::VaultApprole) => "Vault credential: create a new token or secret-id with the same policies; keep the old one until the new one works.".into(),
        (_, Kind::SshKey) => "SSH key: generate a new key pair, install the public key on every host, then remove the old key.".into(),
        (_, Kind::TotpSeed) => "TOTP seed: enrol the device again at its service (it shows a new seed), store the new seed, and check a code from it is accepted.".into(),
        (_, k) => format!("{k}: create the new value with its provider while the old one stays active."),
    }
}

/// What a manual run asks at `verify`.
pub const VERIFY_QUESTION: &str =
    "Does the new value work (e.g. a login or an API call with it succeeds)?";
/// What a manual run asks at `revoke`, once the grace period is over.
pub const REVOKE_QUESTION: &str = "Has the old value been revoked at its provider?";

pub(crate) fn secret_fields(kind: Kind) -> Vec<&'static str> {
    kind.schema()
        .iter()
        .filter(|f| f.secret && f.required)
        .map(|f| f.name)
        .collect()
}

/// The keys that make the IAM calls: the admin credential's, else the
/// rotated credential's current ones.
fn iam_auth(
    vault: &Vault,
    name: &str,
    admin: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Credential, Secrets)> {
    let who = admin.unwrap_or(name);
    let (credential, secrets) = vault.reveal(who, None, now)?;
    if credential.meta.kind != Kind::AwsAccessKey {
        return Err(Error::invalid(
            "admin",
            format!(
                "'{who}' is a {}, not an aws-access-key",
                credential.meta.kind
            ),
        ));
    }
    Ok((credential, secrets))
}

fn pg_missing() -> Error {
    Error::integrity("PostgreSQL rotation state missing")
}

/// The credential, its role and the password the vault holds for it now.
fn pg_current(
    vault: &Vault,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(Credential, String, SecretValue)> {
    let (credential, secrets) = vault.reveal(name, None, now)?;
    let user = credential
        .meta
        .fields
        .get("user")
        .cloned()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| Error::invalid(format!("credential '{name}'"), "it has no user"))?;
    let password = secrets
        .0
        .get("password")
        .cloned()
        .ok_or_else(|| Error::invalid(format!("credential '{name}'"), "it has no password"))?;
    Ok((credential, user, password))
}

/// A password a run keeps: the new one before "promote", the replaced one
/// after.
fn pg_kept(run: &Run) -> Option<SecretValue> {
    run.pending.as_ref()?.0.get("password").cloned()
}

/// Who makes a PostgreSQL run's changes, and where they connect: its
/// admin (at the admin credential's own database), else `own` (a role of
/// the credential and a password that logs in as it now, at `target`).
fn pg_auth(
    vault: &Vault,
    state: &PgState,
    target: &postgres::Target,
    own: (String, SecretValue),
    now: DateTime<Utc>,
) -> Result<Auth> {
    match &state.admin {
        Some(admin) => {
            let (credential, secrets) = vault.reveal(admin, None, now)?;
            postgres::admin(target, &credential, &secrets)
        }
        None => Ok((target.clone(), own.0, own.1)),
    }
}

type Auth = (postgres::Target, String, SecretValue);

fn login(auth: &Auth) -> Login<'_> {
    Login {
        target: &auth.0,
        role: &auth.1,
        password: &auth.2,
    }
}

/// Prepare: which role gets the new password, and a check (as whoever
/// makes the change) that it can be changed, before anything is.
fn pg_prepare(
    vault: &Vault,
    name: &str,
    run: &mut Run,
    options: &Options,
    guide: &mut dyn Guide,
    now: DateTime<Utc>,
) -> Result<()> {
    let (credential, user, password) = pg_current(vault, name, now)?;
    let target = postgres::target(&credential)?;
    if options.alternate.as_deref() == Some(user.as_str()) {
        return Err(Error::invalid(
            "alternate",
            format!("'{user}' is the role in use: name the idle role of the pair"),
        ));
    }
    let alternate = options.alternate.clone().or_else(|| {
        credential
            .meta
            .fields
            .get("alternate_user")
            .filter(|a| !a.is_empty() && **a != user)
            .cloned()
    });
    let state = PgState {
        admin: options.admin.clone(),
        role: alternate.unwrap_or_else(|| user.clone()),
        old_role: user.clone(),
        ..PgState::default()
    };
    let auth = pg_auth(vault, &state, &target, (user, password), now)?;
    for line in postgres::prepare(&login(&auth), &state.role, &state.old_role)? {
        guide.say(&line);
    }
    if !state.two_roles() && run.state.grace_secs > 0 {
        guide.say(
            "One role: its old password stops working the moment the new one is set, so there is \
             no grace period (--alternate ROLE rotates the idle role of a pair instead).",
        );
        run.state.grace_secs = 0;
    }
    run.state.postgres = Some(state);
    Ok(())
}

/// Verify: the new password set in the database (the intent saved first)
/// and a fresh login with it checked. A run resumed after the statement
/// went out finds out which password the server holds.
fn pg_change(
    vault: &Vault,
    name: &str,
    run: &mut Run,
    guide: &mut dyn Guide,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut state = run.state.postgres.clone().ok_or_else(pg_missing)?;
    let new = pg_kept(run).ok_or_else(|| Error::integrity("the rotation has no pending value"))?;
    let (credential, user, old) = pg_current(vault, name, now)?;
    let target = postgres::target(&credential)?;
    if state.changing && !state.changed && postgres::logs_in(&target, &state.role, &new)? {
        guide.say("The new password was set before the run stopped; it logs in.");
        state.changed = true;
    }
    if state.changed {
        if !postgres::logs_in(&target, &state.role, &new)? {
            return Err(Error::Failure {
                what: format!(
                    "the new password of '{}' no longer logs in at {target}: it was changed \
                     outside this rotation; `coffer rotate {name} --abort` puts the old one back",
                    state.role
                ),
            });
        }
    } else {
        state.changing = true;
        run.state.postgres = Some(state.clone());
        vault.advance(run, name, Step::Verify, now)?;
        let auth = pg_auth(vault, &state, &target, (user, old.clone()), now)?;
        for line in postgres::change(&target, &login(&auth), &state, &new, &old)? {
            guide.say(&line);
        }
        state.changing = false;
        state.changed = true;
    }
    run.state.postgres = Some(state);
    Ok(())
}

/// Revoke: in two-role mode the old role locked (after the grace period);
/// then a fresh login with the replaced password checked to fail.
fn pg_revoke(
    vault: &Vault,
    name: &str,
    run: &mut Run,
    guide: &mut dyn Guide,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut state = run.state.postgres.clone().ok_or_else(pg_missing)?;
    let old = pg_kept(run).ok_or_else(|| Error::integrity("the replaced password is missing"))?;
    let (credential, user, current) = pg_current(vault, name, now)?;
    let target = postgres::target(&credential)?;
    if state.two_roles() && !state.locked {
        let auth = pg_auth(vault, &state, &target, (user, current), now)?;
        guide.say(&postgres::lock_role(&login(&auth), &state.old_role)?);
        state.locked = true;
        run.state.postgres = Some(state.clone());
        vault.advance(run, name, Step::Revoke, now)?;
    }
    if postgres::logs_in(&target, &state.old_role, &old)? {
        return Err(Error::Failure {
            what: format!(
                "the old password still logs in as '{}' at {target}; the rotation stays at \
                 revoke: run it again once that is understood",
                state.old_role
            ),
        });
    }
    guide.say(&format!(
        "Checked with a fresh login: the old password no longer logs in as '{}'.",
        state.old_role
    ));
    run.pending = None;
    Ok(())
}

/// Undoes a PostgreSQL run at the server: before "promote" a new password
/// that was set is replaced by the old one (or the idle role locked
/// again); after it, the old password goes back (or the new role is
/// locked, the old one never having been).
fn pg_undo(
    vault: &Vault,
    name: &str,
    run: &Run,
    state: &PgState,
    promoted: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    if state.locked {
        return Err(Error::invalid(
            format!("rotation of '{name}'"),
            format!(
                "the old role '{}' is already locked: this rotation can only be finished (`coffer \
                 rotate {name}`)",
                state.old_role
            ),
        ));
    }
    let Some(kept) = pg_kept(run) else {
        return Ok(());
    };
    let (credential, _, current) = pg_current(vault, name, now)?;
    let target = postgres::target(&credential)?;
    let (new, old) = if promoted {
        (current, kept)
    } else {
        if !(state.changing || state.changed) || !postgres::logs_in(&target, &state.role, &kept)? {
            return Ok(());
        }
        (kept, current)
    };
    if state.two_roles() {
        // The old role still logs in with the old password (it is locked
        // only at the run's end).
        let own = (state.old_role.clone(), old);
        let auth = pg_auth(vault, state, &target, own, now)?;
        postgres::lock_role(&login(&auth), &state.role)?;
    } else {
        let auth = pg_auth(vault, state, &target, (state.role.clone(), new), now)?;
        postgres::restore(&login(&auth), &state.role, &old)?;
    }
    Ok(())
}

fn vault_missing() -> Error {
    Error::integrity("Vault rotation state missing")
}

/// The admin token a Vault run names, if any.
fn vault_admin(
    vault: &Vault,
    state: &VaultState,
    now: DateTime<Utc>,
) -> Result<Option<SecretValue>> {
    match &state.admin {
        Some(admin) => {
            let (credential, secrets) = vault.reveal(admin, None, now)?;
            Ok(Some(vault_auth::admin_token(&credential, &secrets)?))
        }
        None => Ok(None),
    }
}

/// The field a Vault flow replaces.
fn vault_field(flow: Flow) -> &'static str {
    if flow == Flow::VaultToken {
        "token"
    } else {
        "secret_id"
    }
}

/// Prepare: what the new token copies (lookup-self), or the AppRole's
/// name and the current secret id's accessor.
fn vault_prepare(
    vault: &Vault,
    name: &str,
    run: &mut Run,
    options: &Options,
    guide: &mut dyn Guide,
    now: DateTime<Utc>,
) -> Result<()> {
    let (credential, secrets) = vault.reveal(name, None, now)?;
    let server = Server::of(&credential)?;
    let mut state = VaultState {
        admin: options.admin.clone(),
        ..VaultState::default()
    };
    let admin = vault_admin(vault, &state, now)?;
    if run.state.flow == Flow::VaultToken {
        let token = secrets
            .0
            .get("token")
            .ok_or_else(|| Error::invalid(format!("credential '{name}'"), "it has no token"))?;
        let spec = vault_auth::lookup_self(&server, token)?;
        guide.say(&format!(
            "The token at {} has policies {}; the new one copies them, its TTLs and metadata.",
            server.addr,
            spec.policies.join(", ")
        ));
        if !spec.orphan && admin.is_none() {
            guide.say(
                "The token is a child of another token; made by itself, a new child would die \
                 with it, so the new token is an orphan (name its parent with --admin to keep \
                 it a child).",
            );
        }
        state.old_accessor = spec.accessor.clone();
        state.token = Some(spec);
    } else {
        let approle = vault_auth::approle_prepare(&server, &credential, &secrets, admin.as_ref())?;
        guide.say(&format!(
            "AppRole '{}' at {} (mount {}): logged in with the current secret id.",
            approle.role_name.as_deref().unwrap_or_default(),
            server.addr,
            approle.mount
        ));
        state = VaultState {
            admin: state.admin,
            ..approle
        };
    }
    run.state.vault = Some(state);
    Ok(())
}

/// New value: a token or a secret id made at the server (the intent saved
/// first: one made by a run cut right then is not known to Coffer; a
/// token of that kind expires at its TTL).
fn vault_new(
    vault: &Vault,
    name: &str,
    run: &mut Run,
    guide: &mut dyn Guide,
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, SecretValue>> {
    let mut state = run.state.vault.clone().ok_or_else(vault_missing)?;
    if state.creating {
        guide.say(
            "The run stopped while the new value was being made; if the server made it, it is \
             not known to Coffer (a token expires at its TTL; an AppRole secret id is listed \
             under the role's secret-id accessors). Making another.",
        );
    }
    state.creating = true;
    run.state.vault = Some(state.clone());
    vault.advance(run, name, Step::NewValue, now)?;
    let (credential, secrets) = vault.reveal(name, None, now)?;
    let server = Server::of(&credential)?;
    let admin = vault_admin(vault, &state, now)?;
    let field = vault_field(run.state.flow);
    let (value, accessor) = if let Some(spec) = &state.token {
        let old = secrets
            .0
            .get("token")
            .ok_or_else(|| Error::invalid(format!("credential '{name}'"), "it has no token"))?;
        let creator = admin.as_ref().unwrap_or(old);
        let orphan = spec.orphan || admin.is_none();
        let made = vault_auth::create_token(&server, creator, spec, orphan)?;
        guide.say(&format!(
            "Made a new {} token at {} (accessor {}).",
            if orphan { "orphan" } else { "child" },
            server.addr,
            made.1
        ));
        made
    } else {
        let (role_id, secret_id) = vault_auth::approle_parts(&credential, &secrets)?;
        let manager =
            vault_auth::manager(&server, admin.as_ref(), &state.mount, &role_id, &secret_id)?;
        let made = vault_auth::approle_new(&server, &state, &manager);
        vault_auth::done_with(&server, manager);
        let made = made?;
        guide.say(&format!(
            "Generated a new secret id for AppRole '{}' (accessor {}).",
            state.role_name.as_deref().unwrap_or_default(),
            made.1
        ));
        made
    };
    state.creating = false;
    state.new_accessor = Some(accessor);
    run.state.vault = Some(state);
    Ok(BTreeMap::from([(field.to_owned(), value)]))
}

/// Verify: the new token answers lookup-self with the old policies, or a
/// login with the new secret id works.
fn vault_verify(vault: &Vault, name: &str, run: &Run, guide: &mut dyn Guide) -> Result<()> {
    let state = run.state.vault.as_ref().ok_or_else(vault_missing)?;
    let new = run
        .pending
        .as_ref()
        .and_then(|p| p.0.get(vault_field(run.state.flow)))
        .ok_or_else(|| Error::integrity("the rotation has no pending value"))?;
    let credential = vault.get(name)?;
    let server = Server::of(&credential)?;
    match &state.token {
        Some(spec) => guide.say(&vault_auth::verify_token(&server, new, spec)?),
        None => {
            let role_id = credential
                .meta
                .fields
                .get("role_id")
                .cloned()
                .unwrap_or_default();
            let (token, _) = vault_auth::approle_login(&server, &state.mount, &role_id, new)?;
            let _ = vault_auth::revoke_token(&server, &token);
            guide.say("Logged in with the new secret id: it works.");
        }
    }
    Ok(())
}

/// Revoke (after the grace period): the old token revoked, or the old
/// secret id destroyed by its accessor; then checked refused.
fn vault_revoke(
    vault: &Vault,
    name: &str,
    run: &mut Run,
    guide: &mut dyn Guide,
    now: DateTime<Utc>,
) -> Result<()> {
    let state = run.state.vault.clone().ok_or_else(vault_missing)?;
    let field = vault_field(run.state.flow);
    let old = run
        .pending
        .as_ref()
        .and_then(|p| p.0.get(field))
        .cloned()
        .ok_or_else(|| Error::integrity("the replaced value is missing"))?;
    let (credential, secrets) = vault.reveal(name, None, now)?;
    let server = Server::of(&credential)?;
    if state.token.is_some() {
        guide.say(&vault_auth::revoke_token(&server, &old)?);
    } else {
        let admin = vault_admin(vault, &state, now)?;
        let (role_id, current) = vault_auth::approle_parts(&credential, &secrets)?;
        let manager =
            vault_auth::manager(&server, admin.as_ref(), &state.mount, &role_id, &current)?;
        let destroyed = vault_auth::approle_destroy(&server, &state, &manager, &state.old_accessor);
        vault_auth::done_with(&server, manager);
        destroyed?;
        if !vault_auth::approle_refused(&server, &state.mount, &role_id, &old)? {
            return Err(Error::Failure {
                what: "the old secret id still logs in after it was destroyed".into(),
            });
        }
        guide.say(&format!(
            "Destroyed the old secret id (accessor {}); a login with it is refused now.",
            state.old_accessor
        ));
    }
    run.pending = None;
    Ok(())
}

/// Undoes a Vault run at the server: the new token revoked, or the new
/// secret id destroyed (the old one was never touched before "revoke").
fn vault_undo(
    vault: &Vault,
    name: &str,
    run: &Run,
    state: &VaultState,
    promoted: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    let field = vault_field(run.state.flow);
    let (credential, secrets) = vault.reveal(name, None, now)?;
    let server = Server::of(&credential)?;
    // The new value: pending before "promote", current after.
    let new = if promoted {
        secrets.0.get(field).cloned()
    } else {
        run.pending.as_ref().and_then(|p| p.0.get(field).cloned())
    };
    let Some(new) = new else {
        return Ok(());
    };
    if state.token.is_some() {
        vault_auth::revoke_token(&server, &new)?;
    } else if let Some(accessor) = &state.new_accessor {
        let admin = vault_admin(vault, state, now)?;
        let role_id = credential
            .meta
            .fields
            .get("role_id")
            .cloned()
            .unwrap_or_default();
        let old = if promoted {
            run.pending.as_ref().and_then(|p| p.0.get(field).cloned())
        } else {
            secrets.0.get(field).cloned()
        }
        .ok_or_else(|| Error::integrity("the old secret id is missing"))?;
        let manager = vault_auth::manager(&server, admin.as_ref(), &state.mount, &role_id, &old)?;
        let destroyed = vault_auth::approle_destroy(&server, state, &manager, accessor);
        vault_auth::done_with(&server, manager);
        destroyed?;
    }
    Ok(())
}

/// An automated flow connects where the credential's fields say, with its
/// secret (or an admin's): not before the person has seen a version that
/// arrived by a pull or an import (its address could be anyone's).
fn check_reviewed(vault: &Vault, credential: &Credential, flow: Flow) -> Result<()> {
    if !matches!(flow, Flow::Postgres | Flow::VaultToken | Flow::VaultApprole) {
        return Ok(());
    }
    match vault.unreviewed(credential)? {
        None => Ok(()),
        Some(arrival) => Err(Error::Denied {
            what: format!(
                "'{0}' arrived by {1} and nobody has reviewed it, so Coffer does not send its \
                 secrets (or an admin's) to the server it names: look at it with `coffer show \
                 {0}` (which marks it reviewed), then rotate it",
                credential.meta.name, arrival.via
            ),
        }),
    }
}

/// Starts or continues the rotation of `name`, running steps until it is
/// done or must wait (for the grace period, a value or an answer).
pub fn rotate(
    vault: &mut Vault,
    name: &str,
    options: &Options,
    guide: &mut dyn Guide,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    let credential = vault.get(name)?;
    let kind = credential.meta.kind;
    if kind == Kind::AwsRole {
        let source = credential
            .meta
            .fields
            .get("source")
            .cloned()
            .unwrap_or_default();
        return Err(Error::invalid(
            format!("credential '{name}'"),
            format!(
                "an aws-role has no secret of its own to rotate: rotate its source '{source}' \
                 (its sessions are then made again from the new key)"
            ),
        ));
    }
    let mut run = match vault.load_run(vault.conn(), &credential.id)? {
        Some(run) => {
            if options.automate == Some(true) && run.state.flow == Flow::Manual {
                return Err(Error::invalid(
                    "automate",
                    "this rotation was started as a manual one",
                ));
            }
            run
        }
        None => {
            let flow = match (options.automate, kind) {
                (Some(false), _) => Flow::Manual,
                (_, Kind::AwsAccessKey) => Flow::AwsIam,
                (_, Kind::DbPassword) if postgres::is_postgres(&credential) => Flow::Postgres,
                (_, Kind::VaultToken) => Flow::VaultToken,
                (_, Kind::VaultApprole) => Flow::VaultApprole,
                (Some(true), Kind::DbPassword) => {
                    return Err(Error::invalid(
                        "automate",
                        format!("'{name}' has no engine Coffer can change passwords in: set its field engine=postgres (or rotate it manually)"),
                    ))
                }
                (Some(true), k) => {
                    return Err(Error::invalid(
                        "automate",
                        format!("kind {k} has no automated rotation (aws-access-key and db-password with engine postgres have); rotate it manually"),
                    ))
                }
                (None, _) => Flow::Manual,
            };
            check_reviewed(vault, &credential, flow)?;
            vault.start_run(&credential, flow, options.grace, now)?
        }
    };
    check_reviewed(vault, &credential, run.state.flow)?;
    loop {
        let step = run.state.step;
        match step {
            Step::Prepare => {
                guide.say(&instructions(kind, run.state.flow));
                if run.state.flow == Flow::AwsIam {
                    let secrets = vault.reveal(name, None, now)?.1;
                    // The rotated key finds its IAM user; an admin, if named, makes the calls.
                    let admin = match options.admin.as_deref() {
                        Some(admin) => Some(iam_auth(vault, name, Some(admin), now)?),
                        None => None,
                    };
                    let auth = admin
                        .as_ref()
                        .map_or((&credential, &secrets), |(c, s)| (c, s));
                    let mut state =
                        aws::prepare(&credential, &secrets, auth, options.delete_inactive)?;
                    state.admin = options.admin.clone();
                    run.state.aws = Some(state);
                }
                if run.state.flow == Flow::Postgres {
                    pg_prepare(vault, name, &mut run, options, guide, now)?;
                }
                if matches!(run.state.flow, Flow::VaultToken | Flow::VaultApprole) {
                    vault_prepare(vault, name, &mut run, options, guide, now)?;
                }
                vault.advance(&mut run, name, Step::NewValue, now)?;
            }
            Step::NewValue => {
                let values = match run.state.flow {
                    Flow::AwsIam => {
                        // The intent is saved before the key exists, so a crash
                        // right after IAM made it is cleaned up on resume.
                        let state = run
                            .state
                            .aws
                            .as_mut()
                            .ok_or_else(|| Error::integrity("AWS rotation state missing"))?;
                        if !state.creating {
                            state.creating = true;
                            vault.advance(&mut run, name, Step::NewValue, now)?;
                        }
                        let state = run
                            .state
                            .aws
                            .as_mut()
                            .ok_or_else(|| Error::integrity("AWS rotation state missing"))?;
                        let (auth_c, auth_s) = iam_auth(vault, name, state.admin.as_deref(), now)?;
                        let (new_id, new_secret) = aws::create_key((&auth_c, &auth_s), state)?;
                        state.new_key_id = Some(new_id.clone());
                        state.creating = false;
                        let mut values = BTreeMap::new();
                        values.insert("access_key_id".to_owned(), SecretValue::from(new_id));
                        values.insert("secret_access_key".to_owned(), new_secret);
                        values
                    }
                    Flow::VaultToken | Flow::VaultApprole => {
                        vault_new(vault, name, &mut run, guide, now)?
                    }
                    Flow::Postgres => {
                        let state = run.state.postgres.as_ref().ok_or_else(pg_missing)?;
                        let g = options.generate.unwrap_or(Generate {
                            length: 32,
                            charset: Charset::Alphanumeric,
                        });
                        let mut values = BTreeMap::from([("password".to_owned(), generate(g)?)]);
                        if state.two_roles() {
                            values.insert("user".into(), SecretValue::from(state.role.clone()));
                            values.insert(
                                "alternate_user".into(),
                                SecretValue::from(state.old_role.clone()),
                            );
                        }
                        values
                    }
                    Flow::Manual => {
                        let fields = secret_fields(kind);
                        match (options.generate, fields.as_slice()) {
                            (Some(g), [field]) if matches!(kind, Kind::DbPassword | Kind::Generic | Kind::ApiKey) => {
                                BTreeMap::from([((*field).to_owned(), generate(g)?)])
                            }
                            (Some(_), _) if kind == Kind::Generic => {
                                return Err(Error::invalid(
                                    "generate",
                                    "a generic credential has no single field to generate; give the new values instead",
                                ))
                            }
                            (Some(_), _) => {
                                return Err(Error::invalid(
                                    "generate",
                                    format!("Coffer does not choose the value of a {kind}: its provider issues it; give the new value instead"),
                                ))
                            }
                            (None, _) => match guide.new_value(kind, &fields)? {
                                Some(v) => v,
                                None => {
                                    return Ok(Outcome::Waiting {
                                        step,
                                        until: None,
                                        reason: "the new value is needed (stdin JSON, a prompt, or --generate)".into(),
                                    })
                                }
                            },
                        }
                    }
                };
                run.pending = Some(Secrets(values));
                vault.advance(&mut run, name, Step::Verify, now)?;
            }
            Step::Verify => {
                let answered = match run.state.flow {
                    Flow::AwsIam => {
                        let pending = run
                            .pending
                            .as_ref()
                            .ok_or_else(|| Error::integrity("the rotation has no pending value"))?;
                        let state = run
                            .state
                            .aws
                            .as_ref()
                            .ok_or_else(|| Error::integrity("AWS rotation state missing"))?;
                        aws::verify(&credential, pending, state)?;
                        None
                    }
                    Flow::Postgres => {
                        pg_change(vault, name, &mut run, guide, now)?;
                        None
                    }
                    Flow::VaultToken | Flow::VaultApprole => {
                        vault_verify(vault, name, &run, guide)?;
                        None
                    }
                    Flow::Manual => match guide.confirm(VERIFY_QUESTION)? {
                        Some(by) => Some(by),
                        None => return Ok(Outcome::Waiting {
                            step,
                            until: None,
                            reason: "the new value is not confirmed yet; run again once it works, or --abort".into(),
                        }),
                    },
                };
                vault.advance_answered(&mut run, name, Step::Promote, answered.as_deref(), now)?;
            }
            Step::Promote => vault.promote(&mut run, name, now)?,
            Step::Push => {
                // Every remote holding this credential gets the new value
                // before the old one may be revoked.
                let pushed = crate::sync::push_linked(vault, name, || now)?;
                let mut problems = Vec::new();
                for (remote, result) in pushed {
                    match result {
                        Ok(crate::sync::Outcome::Pushed) => {
                            guide.say(&format!("Pushed the new value to remote {remote}."))
                        }
                        Ok(_) => {}
                        Err(why) => problems.push(format!("{remote}: {why}")),
                    }
                }
                if !problems.is_empty() {
                    return Ok(Outcome::Waiting {
                        step,
                        until: None,
                        reason: format!(
                            "the new value could not be pushed to every remote ({}); the old value is kept until it is: fix this and run again",
                            problems.join("; ")
                        ),
                    });
                }
                vault.advance(&mut run, name, Step::Revoke, now)?
            }
            Step::Revoke => {
                if run.state.flow == Flow::AwsIam {
                    let state = run
                        .state
                        .aws
                        .as_mut()
                        .ok_or_else(|| Error::integrity("AWS rotation state missing"))?;
                    if !state.deactivated {
                        let (auth_c, auth_s) = iam_auth(vault, name, state.admin.as_deref(), now)?;
                        aws::deactivate_old((&auth_c, &auth_s), state)?;
                        state.deactivated = true;
                        vault.advance(&mut run, name, Step::Revoke, now)?;
                    }
                }
                if let Some(until) = run.state.revoke_by.filter(|t| now < *t) {
                    return Ok(Outcome::Waiting {
                        step,
                        until: Some(until),
                        reason: "the old value stays valid until the grace period ends".into(),
                    });
                }
                let answered = match run.state.flow {
                    Flow::AwsIam => {
                        let state = run
                            .state
                            .aws
                            .as_ref()
                            .ok_or_else(|| Error::integrity("AWS rotation state missing"))?;
                        let (auth_c, auth_s) = iam_auth(vault, name, state.admin.as_deref(), now)?;
                        aws::delete_old((&auth_c, &auth_s), state)?;
                        None
                    }
                    Flow::Postgres => {
                        pg_revoke(vault, name, &mut run, guide, now)?;
                        None
                    }
                    Flow::VaultToken | Flow::VaultApprole => {
                        vault_revoke(vault, name, &mut run, guide, now)?;
                        None
                    }
                    Flow::Manual => match guide.confirm(REVOKE_QUESTION)? {
                        Some(by) => Some(by),
                        None => {
                            return Ok(Outcome::Waiting {
                                step,
                                until: None,
                                reason: "the old value is not revoked yet; run again once it is"
                                    .into(),
                            })
                        }
                    },
                };
                vault.advance_answered(&mut run, name, Step::Done, answered.as_deref(), now)?;
            }
            Step::Done => return Ok(Outcome::Done),
            Step::Aborted => return Ok(Outcome::Aborted),
        }
        guide.step_saved(step);
    }
}

/// Stops a running rotation and undoes it: a new key is deleted, a promoted
/// value is rolled back to the version the run replaced, an old AWS key
/// that was deactivated is made active again.
pub fn abort(vault: &mut Vault, name: &str, now: DateTime<Utc>) -> Result<()> {
    let credential = vault.get(name)?;
    let mut run = vault
        .load_run(vault.conn(), &credential.id)?
        .ok_or_else(|| Error::invalid(format!("rotation of '{name}'"), "no rotation is running"))?;
    let promoted = run.state.step >= Step::Push;
    if let Some(state) = run.state.aws.clone() {
        let (auth_c, auth_s) = iam_auth(vault, name, state.admin.as_deref(), now)?;
        aws::undo((&auth_c, &auth_s), &state, promoted)?;
    }
    if let Some(state) = run.state.postgres.clone() {
        pg_undo(vault, name, &run, &state, promoted, now)?;
    }
    if let Some(state) = run.state.vault.clone() {
        vault_undo(vault, name, &run, &state, promoted, now)?;
    }
    if promoted {
        vault.rollback(name, run.state.from_version, now)?;
    }
    run.pending = None;
    run.state.step = Step::Aborted;
    let tx = vault.begin()?;
    vault.save_run(&tx, &run, name, now)?;
    tx.commit()
}
