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

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::credential::CredentialId;
use crate::crypto;
use crate::error::{Error, Result};
use crate::keys::Keys;
use crate::sealed::Place;
use crate::secret::Key32;

pub use crate::keys::{ANCHOR_LABEL, AUDIT_LABEL};

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
    AnchorAccept,
    Review,
    /// A decision on a process's request under an access rule (allowed,
    /// denied, pending, timed out), with the process and who decided.
    Access,
    /// A Vault lease issued for a command, revoked when it ended, or found
    /// left behind (details say which).
    Lease,
    /// A credential deleted into the trash (its record stays, at a new
    /// version); `Delete` is the record gone for good.
    Trash,
    /// A credential brought back from the trash.
    Untrash,
}

impl Action {
    pub const ALL: [Action; 38] = [
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
        Action::AnchorAccept,
        Action::Review,
        Action::Access,
        Action::Lease,
        Action::Trash,
        Action::Untrash,
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
            Action::AnchorAccept => "anchor_accept",
            Action::Review => "review",
            Action::Access => "access",
            Action::Lease => "lease",
            Action::Trash => "trash",
            Action::Untrash => "untrash",
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

/// The target of the entries that stamp settings (and, at rekey, rotation
/// runs): a fixed id no random record id takes, so `audit verify` finds the
/// stamps among the targeted entries it already reads.
pub const STAMPS: CredentialId = CredentialId(*b"coffer/settings\0");

/// A short digest of stored, sealed bytes. An entry that writes a setting or
/// a rotation run records it, so `audit verify` can tell the value the last
/// audited write stored from an older genuine one put back (a replay: the
/// sealed value opens, but is not the one the trail says is current).
pub fn stamp(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(crypto::aad(parts))[..16])
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
#[derive(Clone, Debug, Serialize, Deserialize)]
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

fn body_aad(vault_id: &[u8]) -> Vec<u8> {
    Place::AuditBody.aad(vault_id)
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

pub(crate) fn link_with(
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The chain is intact but a sealed value elsewhere in the vault (a
    /// setting, a sync link, a rotation run, a record) does not open.
    Sealed { what: String },
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
            Break::Sealed { .. } => "sealed",
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
            Break::Sealed { .. } => None,
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
            Break::Records { what, .. } | Break::Sealed { what } => f.write_str(what),
        }
    }
}

/// The head recorded outside the database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub seq: u64,
    pub mac: String,
    pub tag: String,
    /// While a rekey commits: the head it is about to write, tagged under
    /// the new key. Whichever side of the commit a crash leaves the file
    /// on, one of the two heads verifies under that file's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rekey: Option<Head>,
}

/// A head and its tag (see [`Anchor::rekey`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub seq: u64,
    pub mac: String,
    pub tag: String,
}

impl Head {
    fn new(key: &Key32, seq: u64, mac: &[u8]) -> Head {
        Head {
            seq,
            mac: hex::encode(mac),
            tag: anchor_tag(key, seq, mac),
        }
    }

    /// The head's sequence number and MAC when its tag verifies under `key`.
    fn verified(&self, key: &Key32) -> Option<(u64, Vec<u8>)> {
        let mac = hex::decode(&self.mac).ok()?;
        (anchor_tag(key, self.seq, &mac) == self.tag).then_some((self.seq, mac))
    }
}

pub fn anchor_path(vault: &Path) -> PathBuf {
    let mut p = vault.as_os_str().to_owned();
    p.push(".anchor");
    PathBuf::from(p)
}

pub(crate) fn anchor_tag(key: &Key32, seq: u64, mac: &[u8]) -> String {
    hex::encode(crypto::mac(key, &[b"anchor", &seq.to_be_bytes(), mac]))
}

/// Reads the anchor; `Ok(None)` when there is no anchor file, `Err` when
/// one is there but does not verify under `key` (altered, replaced, from
/// another vault, unreadable).
pub fn read_anchor(
    vault: &Path,
    key: &Key32,
) -> std::result::Result<Option<(u64, Vec<u8>)>, Break> {
    let text = match std::fs::read_to_string(anchor_path(vault)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(_) => return Err(Break::AnchorTampered),
    };
    let anchor: Anchor = serde_json::from_str(&text).map_err(|_| Break::AnchorTampered)?;
    let primary = Head {
        seq: anchor.seq,
        mac: anchor.mac,
        tag: anchor.tag,
    };
    primary
        .verified(key)
        .or_else(|| anchor.rekey.as_ref().and_then(|h| h.verified(key)))
        .map(Some)
        .ok_or(Break::AnchorTampered)
}

fn store_anchor(vault: &Path, anchor: &Anchor) -> Result<()> {
    let text = serde_json::to_string(anchor).map_err(|e| Error::Failure {
        what: format!("cannot encode the audit anchor: {e}"),
    })?;
    crate::fsx::write_private(
        &anchor_path(vault),
        text.as_bytes(),
        crate::fsx::Replace::Always,
        "write the audit anchor",
    )
}

/// Writes the anchor atomically, never moving it backwards (another process
/// may have anchored a later head meanwhile), and never over an anchor that
/// does not verify: that one is evidence, and unlock refuses the vault
/// until someone accepts it ([`replace_anchor`]).
pub fn write_anchor(vault: &Path, key: &Key32, seq: u64, mac: &[u8]) -> Result<()> {
    match read_anchor(vault, key) {
        Ok(Some((existing, _))) if existing >= seq => return Ok(()),
        Ok(_) => {}
        Err(_) => {
            return Err(Error::integrity(format!(
                "the audit anchor {} changed while the vault was open and no longer verifies; \
                 it was left as it is",
                anchor_path(vault).display()
            )))
        }
    }
    replace_anchor(vault, key, seq, mac)
}

/// Writes the anchor for `seq`/`mac` whatever the file holds (a rekey's
/// last step, or a mismatch the person accepted).
pub fn replace_anchor(vault: &Path, key: &Key32, seq: u64, mac: &[u8]) -> Result<()> {
    let head = Head::new(key, seq, mac);
    store_anchor(
        vault,
        &Anchor {
            seq: head.seq,
            mac: head.mac,
            tag: head.tag,
            rekey: None,
        },
    )
}

/// Before a rekey commits: keeps the anchor's current head (under the old
/// key) and adds the head the rekey is about to commit, under the new key.
pub fn anchor_rekey(vault: &Path, old: &Key32, new: &Key32, seq: u64, mac: &[u8]) -> Result<()> {
    let Ok(Some((old_seq, old_mac))) = read_anchor(vault, old) else {
        return Err(Error::integrity(format!(
            "the audit anchor {} does not verify, so the vault is not rekeyed",
            anchor_path(vault).display()
        )));
    };
    let current = Head::new(old, old_seq, &old_mac);
    store_anchor(
        vault,
        &Anchor {
            seq: current.seq,
            mac: current.mac,
            tag: current.tag,
            rekey: Some(Head::new(new, seq, mac)),
        },
    )
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

/// Events waiting for the next transaction, and the failed-unlock rows they
/// replace once written.
#[derive(Default)]
pub struct Queue {
    pub(crate) events: Vec<Event>,
    pub(crate) pending_ids: Vec<i64>,
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
pub(crate) fn head(conn: &Connection, path: &Path) -> Result<(u64, [u8; 32])> {
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
    let bodies = crate::par::map(&numbered, |&(seq, event)| {
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
    let not_written = |e| match crate::store::db_error(path, e) {
        e @ Error::Integrity { .. } => e,
        e => Error::Failure {
            what: format!("cannot write the audit trail, so the action was not performed: {e}"),
        },
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
            .and_then(crate::rows::one_row)
            .map_err(not_written)?;
        prev_mac = mac;
    }
    Ok(())
}

pub(crate) fn stored_entries(conn: &Connection, path: &Path) -> Result<Vec<StoredEntry>> {
    let mut stmt = db(
        path,
        conn.prepare("SELECT seq, at, target, body, mac FROM audit ORDER BY seq"),
    )?;
    let rows = db(
        path,
        stmt.query_map([], stored_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>()),
    )?;
    Ok(rows)
}

/// A row of `SELECT seq, at, target, body, mac FROM audit`.
fn stored_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEntry> {
    Ok(StoredEntry {
        seq: r.get::<_, i64>(0)? as u64,
        at: r.get(1)?,
        target: r.get(2)?,
        body: r.get(3)?,
        mac: r.get(4)?,
    })
}

/// Calls `each` with the stored entries written between `since` and `until`
/// (milliseconds, inclusive), newest first, one row at a time, until it
/// returns `false`. A listing that wants the last few entries of a long
/// trail reads only those rows, and never holds the whole trail.
pub(crate) fn newest_entries(
    conn: &Connection,
    path: &Path,
    since: i64,
    until: i64,
    mut each: impl FnMut(StoredEntry) -> Result<bool>,
) -> Result<()> {
    let mut stmt = db(
        path,
        conn.prepare(
            "SELECT seq, at, target, body, mac FROM audit \
             WHERE at >= ?1 AND at <= ?2 ORDER BY seq DESC",
        ),
    )?;
    let mut rows = db(path, stmt.query([since, until]))?;
    while let Some(row) = db(path, rows.next())? {
        if !each(db(path, stored_row(row))?)? {
            break;
        }
    }
    Ok(())
}

pub(crate) fn open_body(vault_key: &Key32, vault_id: &[u8], entry: &StoredEntry) -> Option<Body> {
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
            )
            .and_then(crate::rows::one_row),
        )?;
        prev = mac;
    }
    Ok(())
}

/// Filters for reading the trail.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Query {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Entries whose target had this name when they were written.
    pub credential: Option<String>,
    pub action: Option<Action>,
    pub limit: Option<usize>,
}

/// Credential records by id: (version, created_at, the versions in its history).
pub(crate) type Records = std::collections::HashMap<Vec<u8>, (u64, i64, Vec<u64>)>;

/// The result of verifying the trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    pub entries: u64,
    pub anchored: Option<u64>,
}

#[cfg(test)]
#[path = "audit_tests.rs"]
mod tests;
