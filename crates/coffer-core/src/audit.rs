//! The audit trail: an append-only, hash-chained log of every access,
//! written in the same transaction as the action it records.
//!
//! Entry `n` is stored as `(seq, at, target, body, mac)`: `body` is the JSON
//! of [`Event`] (with its own `seq`) encrypted under the vault key, and
//! `mac = HMAC(K_audit, mac[n-1] ‖ seq ‖ at ‖ target ‖ body)` with
//! `K_audit = HKDF(vault key, "coffer/v1/audit")` and `mac[0]` all zeros.
//! Editing, deleting or reordering any entry breaks the chain; the head
//! `(seq, mac)` is also anchored in a sibling file (`<vault>.anchor`, MAC'd
//! with its own sub-key) at every close and lock, so a tail cut off after
//! the last anchor is detected too.
//!
//! Failed unlocks happen without the vault key, so they are kept in
//! `audit_pending` and chained in at the next successful unlock.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::credential::CredentialId;
use crate::crypto;
use crate::error::{Error, Result};
use crate::secret::Key32;
use crate::vault::{Keys, Vault};

pub const AUDIT_LABEL: &str = "coffer/v1/audit";
pub const ANCHOR_LABEL: &str = "coffer/v1/audit-anchor";

/// Who acts: the OS user and the interface they act through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: String,
    pub interface: String,
}

impl Actor {
    /// The current OS user acting through `interface` (`cli`, `app`, `exec`, `sync`).
    pub fn current(interface: &str) -> Actor {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| format!("uid {}", rustix::process::getuid().as_raw()));
        Actor {
            user,
            interface: interface.to_owned(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Denied,
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Error => "error",
        }
    }
}

/// What happened. New actions (exec, credential_process, rotation steps,
/// sync) are added here by the features that perform them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    VaultCreate,
    Unlock,
    UnlockFailed,
    Lock,
    Create,
    Update,
    Delete,
    Rollback,
    Reveal,
    Copy,
    Export,
    Import,
    Rekey,
    PassphraseSet,
    PassphraseChange,
    SettingsChange,
    RotationStart,
    RotationStep,
    RotationAbort,
    EmergencyRevoke,
    SyncPull,
    SyncPush,
    SyncConflict,
    SyncResolve,
    Exec,
    CredentialProcess,
    EnvExport,
    Inject,
    TokenHelper,
    Backup,
    Restore,
    Migrate,
}

impl Action {
    pub const ALL: [Action; 32] = [
        Action::VaultCreate,
        Action::Unlock,
        Action::UnlockFailed,
        Action::Lock,
        Action::Create,
        Action::Update,
        Action::Delete,
        Action::Rollback,
        Action::Reveal,
        Action::Copy,
        Action::Export,
        Action::Import,
        Action::Rekey,
        Action::PassphraseSet,
        Action::PassphraseChange,
        Action::SettingsChange,
        Action::RotationStart,
        Action::RotationStep,
        Action::RotationAbort,
        Action::EmergencyRevoke,
        Action::SyncPull,
        Action::SyncPush,
        Action::SyncConflict,
        Action::SyncResolve,
        Action::Exec,
        Action::CredentialProcess,
        Action::EnvExport,
        Action::Inject,
        Action::TokenHelper,
        Action::Backup,
        Action::Restore,
        Action::Migrate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::VaultCreate => "vault_create",
            Action::Unlock => "unlock",
            Action::UnlockFailed => "unlock_failed",
            Action::Lock => "lock",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Rollback => "rollback",
            Action::Reveal => "reveal",
            Action::Copy => "copy",
            Action::Export => "export",
            Action::Import => "import",
            Action::Rekey => "rekey",
            Action::PassphraseSet => "passphrase_set",
            Action::PassphraseChange => "passphrase_change",
            Action::SettingsChange => "settings_change",
            Action::RotationStart => "rotation_start",
            Action::RotationStep => "rotation_step",
            Action::RotationAbort => "rotation_abort",
            Action::EmergencyRevoke => "emergency_revoke",
            Action::SyncPull => "sync_pull",
            Action::SyncPush => "sync_push",
            Action::SyncConflict => "sync_conflict",
            Action::SyncResolve => "sync_resolve",
            Action::Exec => "exec",
            Action::CredentialProcess => "credential_process",
            Action::EnvExport => "env_export",
            Action::Inject => "inject",
            Action::TokenHelper => "token_helper",
            Action::Backup => "backup",
            Action::Restore => "restore",
            Action::Migrate => "migrate",
        }
    }

    pub fn parse(s: &str) -> Result<Action> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
                Error::invalid(
                    "action",
                    format!("unknown action '{s}' (known: {})", known.join(", ")),
                )
            })
    }
}

/// One audit event before it is stored. `details` never holds a secret
/// value: field names, versions, counts and reasons only.
#[derive(Clone, Debug)]
pub struct Event {
    pub action: Action,
    pub target: Option<(CredentialId, String)>,
    pub outcome: Outcome,
    pub details: Value,
    /// When it happened, if not at the time of writing (failed unlocks).
    pub at: Option<DateTime<Utc>>,
}

impl Event {
    pub fn new(action: Action) -> Event {
        Event {
            action,
            target: None,
            outcome: Outcome::Ok,
            details: Value::Null,
            at: None,
        }
    }

    pub fn target(mut self, id: CredentialId, name: &str) -> Event {
        self.target = Some((id, name.to_owned()));
        self
    }

    pub fn details(mut self, details: Value) -> Event {
        self.details = details;
        self
    }
}

/// The encrypted part of an entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Body {
    pub seq: u64,
    pub actor: Actor,
    pub action: Action,
    #[serde(default)]
    pub target_name: Option<String>,
    pub outcome: Outcome,
    #[serde(default)]
    pub details: Value,
}

/// A decrypted entry, as shown and exported.
#[derive(Clone, Debug)]
pub struct Entry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub target: Option<CredentialId>,
    pub body: Body,
    pub mac: [u8; 32],
}

/// A stored entry, as the chain sees it.
pub struct StoredEntry {
    pub seq: u64,
    pub at: i64,
    pub target: Option<Vec<u8>>,
    pub body: Vec<u8>,
    pub mac: Vec<u8>,
}

pub fn body_aad(vault_id: &[u8]) -> Vec<u8> {
    let mut a = Vec::new();
    for part in [AUDIT_LABEL.as_bytes(), vault_id] {
        a.extend_from_slice(&(part.len() as u32).to_be_bytes());
        a.extend_from_slice(part);
    }
    a
}

/// The chain link of an entry.
pub fn link(
    key: &Key32,
    prev: &[u8; 32],
    seq: u64,
    at: i64,
    target: Option<&[u8]>,
    body: &[u8],
) -> [u8; 32] {
    link_with(&crypto::MacKey::new(key), prev, seq, at, target, body)
}

fn link_with(
    key: &crypto::MacKey,
    prev: &[u8; 32],
    seq: u64,
    at: i64,
    target: Option<&[u8]>,
    body: &[u8],
) -> [u8; 32] {
    let target = target.unwrap_or(&[]);
    key.mac(&[prev, &seq.to_be_bytes(), &at.to_be_bytes(), target, body])
}

/// What is wrong with the trail, at the first bad sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Break {
    /// The entry's content or MAC was changed.
    Modified { seq: u64 },
    /// The entry is gone.
    Missing { seq: u64 },
    /// The entry at `seq` belongs at `belongs_at`.
    Reordered { seq: u64, belongs_at: u64 },
    /// Entries from `seq` on were cut off after the last anchor (`anchored` is its head).
    Truncated { seq: u64, anchored: u64 },
    /// The anchor file itself was altered.
    AnchorTampered,
    /// The chain is intact but a credential's stored record disagrees with
    /// it (deleted, put back, rolled back, history cut): `seq` is the entry
    /// that shows what the record should be.
    Records { seq: Option<u64>, what: String },
}

impl Break {
    /// A one-word name of the problem, for scripts.
    pub fn kind(&self) -> &'static str {
        match self {
            Break::Modified { .. } => "modified",
            Break::Missing { .. } => "missing",
            Break::Reordered { .. } => "reordered",
            Break::Truncated { .. } => "truncated",
            Break::AnchorTampered => "anchor",
            Break::Records { .. } => "records",
        }
    }

    pub fn seq(&self) -> Option<u64> {
        match self {
            Break::Modified { seq }
            | Break::Missing { seq }
            | Break::Reordered { seq, .. }
            | Break::Truncated { seq, .. } => Some(*seq),
            Break::AnchorTampered => None,
            Break::Records { seq, .. } => *seq,
        }
    }
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Break::Modified { seq } => write!(f, "audit entry {seq} was modified"),
            Break::Missing { seq } => write!(f, "audit entry {seq} is missing (deleted)"),
            Break::Reordered { seq, belongs_at } => {
                write!(f, "audit entry {seq} was reordered (its content belongs at {belongs_at})")
            }
            Break::Truncated { seq, anchored } => write!(
                f,
                "the audit trail was truncated: entries {seq} to {anchored} are missing (anchored head is {anchored})"
            ),
            Break::AnchorTampered => write!(f, "the audit anchor file was altered"),
            Break::Records { what, .. } => f.write_str(what),
        }
    }
}

/// The head recorded outside the database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub seq: u64,
    pub mac: String,
    pub tag: String,
}

pub fn anchor_path(vault: &Path) -> PathBuf {
    let mut p = vault.as_os_str().to_owned();
    p.push(".anchor");
    PathBuf::from(p)
}

pub(crate) fn anchor_tag(key: &Key32, seq: u64, mac: &[u8]) -> String {
    hex::encode(crypto::mac(key, &[b"anchor", &seq.to_be_bytes(), mac]))
}

/// Reads the anchor; `Ok(None)` when there is none yet, `Err` when it was altered.
pub fn read_anchor(
    vault: &Path,
    key: &Key32,
) -> std::result::Result<Option<(u64, Vec<u8>)>, Break> {
    let Ok(text) = std::fs::read_to_string(anchor_path(vault)) else {
        return Ok(None);
    };
    let anchor: Anchor = serde_json::from_str(&text).map_err(|_| Break::AnchorTampered)?;
    let mac = hex::decode(&anchor.mac).map_err(|_| Break::AnchorTampered)?;
    if anchor_tag(key, anchor.seq, &mac) != anchor.tag {
        return Err(Break::AnchorTampered);
    }
    Ok(Some((anchor.seq, mac)))
}

/// Writes the anchor atomically, never moving it backwards (another process
/// may have anchored a later head meanwhile).
pub fn write_anchor(vault: &Path, key: &Key32, seq: u64, mac: &[u8]) -> Result<()> {
    if let Ok(Some((existing, _))) = read_anchor(vault, key) {
        if existing >= seq {
            return Ok(());
        }
    }
    let anchor = Anchor {
        seq,
        mac: hex::encode(mac),
        tag: anchor_tag(key, seq, mac),
    };
    let path = anchor_path(vault);
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".{}", std::process::id()));
    let temp = PathBuf::from(temp);
    let io = |action: &'static str, p: &Path| {
        let p = p.to_owned();
        move |source| Error::Io {
            action,
            path: p,
            source,
        }
    };
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .map_err(io("write the audit anchor", &temp))?;
        f.write_all(
            serde_json::to_string(&anchor)
                .unwrap_or_default()
                .as_bytes(),
        )
        .and_then(|()| f.sync_all())
        .map_err(io("write the audit anchor", &temp))?;
    }
    std::fs::rename(&temp, &path).map_err(io("write the audit anchor", &path))
}

/// Checks the chain of `entries` (in `seq` order) and the anchor. `decrypt`
/// opens a body (to tell a reordered entry from a modified one).
pub fn verify(
    key: &Key32,
    entries: &[StoredEntry],
    anchor: std::result::Result<Option<(u64, Vec<u8>)>, Break>,
    decrypt: impl Fn(&StoredEntry) -> Option<Body>,
) -> std::result::Result<u64, Break> {
    let key = crypto::MacKey::new(key);
    let mut prev = [0u8; 32];
    for (i, entry) in entries.iter().enumerate() {
        let expected = i as u64 + 1;
        if entry.seq != expected {
            return Err(Break::Missing { seq: expected });
        }
        let mac = link_with(
            &key,
            &prev,
            entry.seq,
            entry.at,
            entry.target.as_deref(),
            &entry.body,
        );
        if mac[..] != entry.mac[..] {
            return Err(diagnose(expected, entry, entries, &decrypt));
        }
        prev = mac;
    }
    let head = entries.len() as u64;
    match anchor? {
        None => {}
        Some((seq, _)) if seq > head => {
            return Err(Break::Truncated {
                seq: head + 1,
                anchored: seq,
            })
        }
        Some((seq, mac)) => {
            let stored = &entries[seq as usize - 1].mac;
            if seq > 0 && stored[..] != mac[..] {
                return Err(Break::Modified { seq });
            }
        }
    }
    Ok(head)
}

/// Why the entry at `seq` does not link: its decrypted content says where it came from.
fn diagnose(
    seq: u64,
    entry: &StoredEntry,
    all: &[StoredEntry],
    decrypt: &impl Fn(&StoredEntry) -> Option<Body>,
) -> Break {
    match decrypt(entry) {
        None => Break::Modified { seq },
        Some(body) if body.seq == seq => Break::Modified { seq },
        Some(body) if body.seq < seq => Break::Reordered {
            seq,
            belongs_at: body.seq,
        },
        Some(body) => {
            // Content from later on: either the genuine entry `seq` was moved
            // further down (reordered) or it is gone and the rest shifted up.
            let moved = all
                .iter()
                .skip(seq as usize)
                .any(|e| decrypt(e).is_some_and(|b| b.seq == seq));
            if moved {
                Break::Reordered {
                    seq,
                    belongs_at: body.seq,
                }
            } else {
                Break::Missing { seq }
            }
        }
    }
}

pub fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Events waiting for the next transaction, and the failed-unlock rows they
/// replace once written.
#[derive(Default)]
pub struct Queue {
    events: Vec<Event>,
    pending_ids: Vec<i64>,
}

impl Queue {
    pub fn clear(&mut self) {
        self.events.clear();
        self.pending_ids.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.pending_ids.is_empty()
    }
}

fn db<T>(path: &Path, r: rusqlite::Result<T>) -> Result<T> {
    r.map_err(|e| crate::store::db_error(path, e))
}

/// The current head `(seq, mac)`; `(0, zeros)` for an empty trail.
fn head(conn: &Connection, path: &Path) -> Result<(u64, [u8; 32])> {
    let row: Option<(i64, Vec<u8>)> = db(
        path,
        conn.prepare_cached("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1")
            .and_then(|mut stmt| {
                stmt.query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            }),
    )?;
    match row {
        None => Ok((0, [0u8; 32])),
        Some((seq, mac)) => {
            let mac: [u8; 32] = mac
                .as_slice()
                .try_into()
                .map_err(|_| Error::integrity(format!("audit entry {seq} has a malformed MAC")))?;
            Ok((seq as u64, mac))
        }
    }
}

/// Appends one entry at the head of the chain, inside the caller's transaction.
pub(crate) fn append(
    conn: &Connection,
    path: &Path,
    vault_id: &[u8],
    keys: &Keys,
    actor: &Actor,
    event: &Event,
    now: DateTime<Utc>,
) -> Result<()> {
    append_all(
        conn,
        path,
        vault_id,
        keys,
        actor,
        std::slice::from_ref(event),
        now,
    )
}

/// Appends `events` in order at the head of the chain, inside the caller's
/// transaction: the entries [`append`] would write one by one. The bodies
/// are encrypted on all cores when there are many, then chained in order.
pub(crate) fn append_all(
    conn: &Connection,
    path: &Path,
    vault_id: &[u8],
    keys: &Keys,
    actor: &Actor,
    events: &[Event],
    now: DateTime<Utc>,
) -> Result<()> {
    let (prev_seq, mut prev_mac) = head(conn, path)?;
    let numbered: Vec<(u64, &Event)> = (prev_seq + 1..).zip(events).collect();
    let aad = body_aad(vault_id);
    let bodies = crate::vault::par_map(&numbered, |&(seq, event)| {
        let body = Body {
            seq,
            actor: actor.clone(),
            action: event.action,
            target_name: event.target.as_ref().map(|(_, name)| name.clone()),
            outcome: event.outcome,
            details: event.details.clone(),
        };
        let plain =
            zeroize::Zeroizing::new(serde_json::to_vec(&body).map_err(|e| Error::Failure {
                what: format!("cannot encode an audit entry: {e}"),
            })?);
        crypto::seal(&keys.vault_key, &aad, &plain)
    })?;
    let not_written = |e| Error::Failure {
        what: format!(
            "cannot write the audit trail, so the action was not performed: {}",
            crate::store::db_error(path, e)
        ),
    };
    let mac_key = crypto::MacKey::new(&keys.audit_key);
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO audit (seq, at, target, body, mac) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(not_written)?;
    for (&(seq, event), body) in numbered.iter().zip(&bodies) {
        let at = event.at.unwrap_or(now).timestamp_millis();
        let target = event.target.as_ref().map(|(id, _)| &id.0[..]);
        let mac = link_with(&mac_key, &prev_mac, seq, at, target, body);
        insert
            .execute(params![seq as i64, at, target, body, &mac[..]])
            .map_err(not_written)?;
        prev_mac = mac;
    }
    Ok(())
}

fn stored_entries(conn: &Connection, path: &Path) -> Result<Vec<StoredEntry>> {
    let mut stmt = db(
        path,
        conn.prepare("SELECT seq, at, target, body, mac FROM audit ORDER BY seq"),
    )?;
    let rows = db(
        path,
        stmt.query_map([], |r| {
            Ok(StoredEntry {
                seq: r.get::<_, i64>(0)? as u64,
                at: r.get(1)?,
                target: r.get(2)?,
                body: r.get(3)?,
                mac: r.get(4)?,
            })
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>()),
    )?;
    Ok(rows)
}

fn open_body(vault_key: &Key32, vault_id: &[u8], entry: &StoredEntry) -> Option<Body> {
    let plain = crypto::open(vault_key, &body_aad(vault_id), &entry.body, "audit entry").ok()?;
    serde_json::from_slice(&plain).ok()
}

/// Re-encrypts and re-chains the whole trail under `new` keys, after
/// verifying it under `old` ones.
pub(crate) fn rechain(
    conn: &Connection,
    path: &Path,
    vault_id: &[u8],
    old: &Keys,
    new: &Keys,
) -> Result<()> {
    let entries = stored_entries(conn, path)?;
    verify(&old.audit_key, &entries, Ok(None), |e| {
        open_body(&old.vault_key, vault_id, e)
    })
    .map_err(|b| Error::integrity(format!("{b}; refusing to rekey over a broken audit trail")))?;
    let mut prev = [0u8; 32];
    for entry in &entries {
        let plain = crypto::open(
            &old.vault_key,
            &body_aad(vault_id),
            &entry.body,
            &format!("audit entry {}", entry.seq),
        )?;
        let sealed = crypto::seal(&new.vault_key, &body_aad(vault_id), &plain)?;
        let mac = link(
            &new.audit_key,
            &prev,
            entry.seq,
            entry.at,
            entry.target.as_deref(),
            &sealed,
        );
        db(
            path,
            conn.execute(
                "UPDATE audit SET body = ?1, mac = ?2 WHERE seq = ?3",
                params![sealed, &mac[..], entry.seq as i64],
            ),
        )?;
        prev = mac;
    }
    Ok(())
}

/// Filters for reading the trail.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Entries whose target had this name when they were written.
    pub credential: Option<String>,
    pub action: Option<Action>,
    pub limit: Option<usize>,
}

/// Credential records by id: (version, created_at, the versions in its history).
type Records = std::collections::HashMap<Vec<u8>, (u64, i64, Vec<u64>)>;

/// The result of verifying the trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub entries: u64,
    pub anchored: Option<u64>,
}

impl Vault {
    /// Writes the queued events (and removes the failed-unlock rows they
    /// replace) inside `tx`.
    pub(crate) fn flush_into(&self, tx: &Connection) -> Result<()> {
        let queue = self.queue.borrow();
        if queue.is_empty() {
            return Ok(());
        }
        let keys = self.keys()?;
        for event in &queue.events {
            append(
                tx,
                &self.path,
                &self.vault_id,
                keys,
                &self.actor,
                event,
                event.at.unwrap_or_else(Utc::now),
            )?;
        }
        for id in &queue.pending_ids {
            self.db(tx.execute("DELETE FROM audit_pending WHERE id = ?1", [id]))?;
        }
        Ok(())
    }

    /// Writes the queued events now, in their own transaction.
    pub(crate) fn flush(&self) -> Result<()> {
        if self.queue.borrow().is_empty() {
            return Ok(());
        }
        let tx = self.begin()?;
        self.commit(tx)
    }

    /// Records several events in one transaction (bulk work such as a sync
    /// run records each credential it touches this way).
    pub fn record_events(&self, events: &[Event], now: DateTime<Utc>) -> Result<()> {
        let tx = self.begin()?;
        self.record_all(&tx, events, now)?;
        self.commit(tx)
    }

    /// One event in its own transaction.
    pub(crate) fn audited_write(&self, event: Event, now: DateTime<Utc>) -> Result<()> {
        let tx = self.begin()?;
        self.record(&tx, event, now)?;
        self.commit(tx)
    }

    /// Queues the unlock (and the failed attempts recorded before it) for
    /// the next transaction, and says how many attempts failed.
    pub(crate) fn queue_unlock(
        &mut self,
        via: &str,
        now: DateTime<Utc>,
    ) -> Result<crate::vault::UnlockReport> {
        if let Err(e) = self.check_anchor() {
            self.keys = None;
            return Err(e);
        }
        let pending: Vec<(i64, i64, String, String)> = {
            let mut stmt = self.db(self
                .conn
                .prepare("SELECT id, at, interface, reason FROM audit_pending ORDER BY id"))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
            self.db(rows)?
        };
        let mut queue = self.queue.borrow_mut();
        queue.clear();
        let mut report = crate::vault::UnlockReport::default();
        for (id, at, interface, reason) in pending {
            let when = from_millis(at);
            report.failed_attempts += 1;
            report.failed_since.get_or_insert(when);
            let mut event = Event::new(Action::UnlockFailed)
                .details(serde_json::json!({ "reason": reason, "interface": interface }));
            event.outcome = Outcome::Denied;
            event.at = Some(when);
            queue.events.push(event);
            queue.pending_ids.push(id);
        }
        let mut unlock = Event::new(Action::Unlock).details(serde_json::json!({ "via": via }));
        unlock.at = Some(now);
        queue.events.push(unlock);
        Ok(report)
    }

    /// Refuses a vault whose database is behind its audit anchor: an older
    /// copy of the file put in place, or committed transactions lost with
    /// the `-wal` file. Checked at every unlock, before anything is written,
    /// because the first write after a rollback would otherwise grow the
    /// trail past the anchor and move the anchor on, hiding the rollback.
    ///
    /// The anchor is read before the head: it is written only after the
    /// entries it names are committed, so a genuine anchor is never ahead of
    /// a head read after it, whatever other processes do meanwhile. An
    /// anchor whose tag does not verify is left to `verify` (a rekey cut
    /// off between its commit and its anchor leaves one under the old key).
    fn check_anchor(&self) -> Result<()> {
        let keys = self.keys()?;
        let Ok(Some((anchored, mac))) = read_anchor(&self.path, &keys.anchor_key) else {
            return Ok(());
        };
        let (head, _) = head(&self.conn, &self.path)?;
        let stored: Option<Vec<u8>> = self.db(self
            .conn
            .query_row(
                "SELECT mac FROM audit WHERE seq = ?1",
                [i64::try_from(anchored).unwrap_or(i64::MAX)],
                |r| r.get(0),
            )
            .optional())?;
        let broken = if head < anchored {
            Break::Truncated {
                seq: head + 1,
                anchored,
            }
        } else if stored.as_deref() != Some(&mac[..]) {
            Break::Modified { seq: anchored }
        } else {
            return Ok(());
        };
        Err(Error::integrity(format!(
            "{broken}: the vault file does not match its audit anchor {} (an older copy of \
             the vault was put in place, or committed changes were lost with its -wal file); \
             nothing was read or changed. If you restored this copy on purpose, move the \
             anchor file away to accept it",
            anchor_path(&self.path).display()
        )))
    }

    /// Records a failed unlock without the vault key; it joins the chain at
    /// the next successful unlock. `reason` must not contain a secret.
    pub fn record_failed_unlock(&self, reason: &str, now: DateTime<Utc>) -> Result<()> {
        self.db(self.conn.execute(
            "INSERT INTO audit_pending (at, interface, reason) VALUES (?1, ?2, ?3)",
            params![now.timestamp_millis(), self.actor.interface, reason],
        ))?;
        Ok(())
    }

    /// Anchors the current head outside the database.
    pub(crate) fn write_anchor(&self) -> Result<()> {
        let keys = self.keys()?;
        let (seq, mac) = head(&self.conn, &self.path)?;
        if seq == 0 {
            return Ok(());
        }
        write_anchor(&self.path, &keys.anchor_key, seq, &mac)
    }

    /// Verifies the whole trail and its anchor.
    pub fn verify_audit(&self) -> Result<std::result::Result<Verified, Break>> {
        self.flush()?;
        let keys = self.keys()?;
        let anchor = read_anchor(&self.path, &keys.anchor_key);
        let anchored = anchor
            .as_ref()
            .ok()
            .and_then(|a| a.as_ref().map(|(seq, _)| *seq));
        // The common case, an intact chain, is checked row by row without
        // keeping the rows. At the first link that does not hold, the whole
        // trail is read and `verify` tells what happened to it.
        if let Ok(expected) = &anchor {
            let at = expected.as_ref().map(|(seq, _)| *seq);
            if let Some((head, mac_at_anchor)) = self.chain_holds(&keys.audit_key, at)? {
                let verdict = match expected {
                    None => Ok(head),
                    Some((seq, _)) if *seq > head => Err(Break::Truncated {
                        seq: head + 1,
                        anchored: *seq,
                    }),
                    Some((seq, mac))
                        if *seq > 0 && mac_at_anchor.is_none_or(|m| m[..] != mac[..]) =>
                    {
                        Err(Break::Modified { seq: *seq })
                    }
                    Some(_) => Ok(head),
                };
                let verified = verdict.map(|entries| Verified { entries, anchored });
                if verified.is_err() {
                    return Ok(verified);
                }
                return Ok(self.check_records(keys).and(verified));
            }
        }
        let entries = stored_entries(&self.conn, &self.path)?;
        let verified = verify(&keys.audit_key, &entries, anchor, |e| {
            open_body(&keys.vault_key, &self.vault_id, e)
        })
        .map(|entries| Verified { entries, anchored });
        if verified.is_err() {
            return Ok(verified);
        }
        drop(entries);
        Ok(self.check_records(keys).and(verified))
    }

    /// Checks the credentials and their history against an intact trail.
    /// Every write of a credential is audited with its record id as target,
    /// and most entries say which version they saw, so the trail tells which
    /// records must exist, at which version at least, and when each created
    /// by `add` was made. A record deleted, put back after its deletion,
    /// replaced by an older copy of itself, or with versions missing from its
    /// history, is named here; the chain alone cannot see those rows.
    /// Records written without a per-record entry (a backup restored into a
    /// new vault) are checked from their first audited write on.
    fn check_records(&self, keys: &Keys) -> std::result::Result<(), Break> {
        struct Seen {
            name: String,
            last: u64,
            deleted: Option<u64>,
            version: (u64, u64),
            created: Option<(u64, i64)>,
        }
        let broken = |seq: Option<u64>, what: String| Err(Break::Records { seq, what });
        let unreadable = |e: Error| Break::Records {
            seq: None,
            what: format!("the audit trail cannot be read: {e}"),
        };
        let mut seen: std::collections::HashMap<Vec<u8>, Seen> = std::collections::HashMap::new();
        // One row at a time: a long trail is never held whole.
        let mut stmt = self
            .db(self.conn.prepare(
                "SELECT seq, at, target, body FROM audit WHERE target IS NOT NULL ORDER BY seq",
            ))
            .map_err(unreadable)?;
        let mut rows = self.db(stmt.query([])).map_err(unreadable)?;
        while let Some(row) = self.db(rows.next()).map_err(unreadable)? {
            let entry = self
                .db((|| {
                    Ok::<_, rusqlite::Error>(StoredEntry {
                        seq: row.get::<_, i64>(0)? as u64,
                        at: row.get(1)?,
                        target: row.get(2)?,
                        body: row.get(3)?,
                        mac: Vec::new(),
                    })
                })())
                .map_err(unreadable)?;
            let Some(target) = entry.target.clone() else {
                continue;
            };
            let Some(body) = open_body(&keys.vault_key, &self.vault_id, &entry) else {
                return Err(Break::Modified { seq: entry.seq });
            };
            if body.outcome != Outcome::Ok {
                continue;
            }
            let s = seen.entry(target).or_insert_with(|| Seen {
                name: String::new(),
                last: entry.seq,
                deleted: None,
                version: (0, entry.seq),
                created: (body.action == Action::Create).then_some((entry.seq, entry.at)),
            });
            s.last = entry.seq;
            if let Some(name) = body.target_name {
                s.name = name;
            }
            // Record ids are random and never reused: once deleted, a
            // record stays deleted (an entry about it later means it was put back).
            if body.action == Action::Delete && s.deleted.is_none() {
                s.deleted = Some(entry.seq);
            }
            if let Some(v) = body.details.get("version").and_then(Value::as_u64) {
                if v > s.version.0 {
                    s.version = (v, entry.seq);
                }
            }
        }
        drop(rows);
        drop(stmt);
        let rows = self.records().map_err(|e| Break::Records {
            seq: None,
            what: format!("the credentials cannot be read: {e}"),
        })?;
        for (id, s) in &seen {
            let name = &s.name;
            match (rows.get(id), s.deleted) {
                (None, None) => {
                    return broken(
                        Some(s.last),
                        format!("credential '{name}' is missing: its record was deleted outside Coffer (the audit trail records no deletion; audit entry {} last saw it)", s.last),
                    )
                }
                (Some(_), Some(at)) => {
                    return broken(
                        Some(at),
                        format!("credential '{name}' was deleted (audit entry {at}) but its record is back: an old copy was put in again"),
                    )
                }
                (Some((version, created_at, _)), None) => {
                    if *version < s.version.0 {
                        return broken(
                            Some(s.version.1),
                            format!("credential '{name}' is at version {version} but audit entry {} saw version {}: an older copy of its record was put back", s.version.1, s.version.0),
                        );
                    }
                    if let Some((seq, at)) = s.created {
                        if at != *created_at {
                            return broken(
                                Some(seq),
                                format!("credential '{name}': its creation time was edited (audit entry {seq} records when it was made)"),
                            );
                        }
                    }
                }
                (None, Some(_)) => {}
            }
        }
        for (id, (version, _, history)) in &rows {
            let name = seen
                .get(id.as_slice())
                .map(|s| format!("credential '{}'", s.name))
                .unwrap_or_else(|| format!("credential record {}", hex::encode(id)));
            let expected: Vec<u64> = (1..*version).collect();
            if *history != expected {
                let missing = expected.iter().find(|v| !history.contains(v));
                return broken(
                    None,
                    match missing {
                        Some(v) => format!("version {v} of {name} is missing from its history (deleted outside Coffer)"),
                        None => format!("the history of {name} holds versions Coffer never wrote (at or after its current version {version})"),
                    },
                );
            }
        }
        let orphans: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM history WHERE credential_id NOT IN (SELECT id FROM credentials)",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0);
        if orphans > 0 {
            return broken(
                None,
                format!("the history holds {orphans} versions of credentials that do not exist (rows put in outside Coffer)"),
            );
        }
        Ok(())
    }

    /// Every credential record: id → (version, created_at, history versions).
    fn records(&self) -> Result<Records> {
        let mut out = std::collections::HashMap::new();
        let mut stmt = self.db(self
            .conn
            .prepare("SELECT id, version, created_at FROM credentials"))?;
        let rows = self.db(stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>()))?;
        for (id, version, created) in rows {
            out.insert(id, (version.max(0) as u64, created, Vec::new()));
        }
        let mut stmt = self.db(self.conn.prepare(
            "SELECT credential_id, version FROM history ORDER BY credential_id, version",
        ))?;
        let rows = self.db(stmt
            .query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>()))?;
        for (id, version) in rows {
            if let Some((_, _, h)) = out.get_mut(&id) {
                h.push(version.max(0) as u64);
            }
        }
        Ok(out)
    }

    /// Follows the chain over the stored rows (borrowed, not copied):
    /// `Some((head, the MAC at seq anchored_at))` when every entry is in
    /// place and links, `None` at the first that does not.
    fn chain_holds(
        &self,
        key: &Key32,
        anchored_at: Option<u64>,
    ) -> Result<Option<(u64, Option<[u8; 32]>)>> {
        let key = crypto::MacKey::new(key);
        let mut stmt = self.db(self
            .conn
            .prepare_cached("SELECT seq, at, target, body, mac FROM audit ORDER BY seq"))?;
        let mut rows = self.db(stmt.query([]))?;
        let mut prev = [0u8; 32];
        let mut expected = 1u64;
        let mut at_anchor = None;
        while let Some(row) = self.db(rows.next())? {
            let Ok(seq) = u64::try_from(self.db(row.get::<_, i64>(0))?) else {
                return Ok(None);
            };
            if seq != expected {
                return Ok(None);
            }
            let at: i64 = self.db(row.get(1))?;
            let target = self.db(row.get_ref(2).and_then(|v| Ok(v.as_blob_or_null()?)))?;
            let body = self.db(row.get_ref(3).and_then(|v| Ok(v.as_blob()?)))?;
            let mac = self.db(row.get_ref(4).and_then(|v| Ok(v.as_blob()?)))?;
            let link = link_with(&key, &prev, seq, at, target, body);
            if link[..] != mac[..] {
                return Ok(None);
            }
            if anchored_at == Some(seq) {
                at_anchor = Some(link);
            }
            prev = link;
            expected += 1;
        }
        Ok(Some((expected - 1, at_anchor)))
    }

    /// Decrypted entries matching `query`, newest first.
    pub fn audit_entries(&self, query: &Query) -> Result<Vec<Entry>> {
        self.flush()?;
        let keys = self.keys()?;
        let mut out = Vec::new();
        for stored in stored_entries(&self.conn, &self.path)?.into_iter().rev() {
            let at = from_millis(stored.at);
            if query.since.is_some_and(|s| at < s) || query.until.is_some_and(|u| at > u) {
                continue;
            }
            let body = open_body(&keys.vault_key, &self.vault_id, &stored).ok_or_else(|| {
                Error::integrity(format!(
                    "audit entry {} does not decrypt (run `coffer audit verify`)",
                    stored.seq
                ))
            })?;
            if query.action.is_some_and(|a| a != body.action) {
                continue;
            }
            if let Some(name) = &query.credential {
                if body.target_name.as_deref() != Some(name.as_str()) {
                    continue;
                }
            }
            let mac: [u8; 32] = stored.mac.as_slice().try_into().unwrap_or([0u8; 32]);
            out.push(Entry {
                seq: stored.seq,
                at,
                target: stored.target.as_deref().and_then(CredentialId::from_slice),
                body,
                mac,
            });
            if query.limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "audit_tests.rs"]
mod tests;
