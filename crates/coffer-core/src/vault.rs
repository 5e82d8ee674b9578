//! The vault: creating, opening, unlocking and locking it, and every
//! operation on its credentials. Each write is one SQLite transaction taken
//! with `BEGIN IMMEDIATE`, so concurrent processes serialise and a stale edit
//! is refused instead of silently overwriting a newer one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use tracing::instrument;
use zeroize::Zeroizing;

use crate::audit::{self, Action, Actor, Event};
use crate::credential::{
    validate, Credential, CredentialId, CredentialMeta, Draft, Patch, Secrets,
};
use crate::crypto::{self, KdfParams};
use crate::error::{Error, Result};
pub(crate) use crate::keys::Keys;
use crate::keys::CATALOG_LABEL;
use crate::rows::{self, StoredRecord};
use crate::seal::Sealer;
use crate::sealed::{self, Place, RecordPart};
use crate::secret::{Key32, SecretValue};
use crate::slot::{Slot, SlotKind};
use crate::store::{self, db_error};
use crate::time::{from_millis, millis};

/// What a successful unlock has to tell the person.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnlockReport {
    /// Failed unlock attempts recorded since the last successful unlock.
    pub failed_attempts: usize,
    /// When the first of them happened.
    pub failed_since: Option<DateTime<Utc>>,
}

/// How a vault is created: which slots it gets.
pub struct CreateOptions<'a> {
    /// Seal the vault key to this keyring (the default way in).
    pub sealer: Option<&'a dyn Sealer>,
    /// Add a recovery passphrase slot.
    pub passphrase: Option<&'a SecretValue>,
    pub kdf: KdfParams,
}

/// A key slot as shown to a person (no key material).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotInfo {
    pub id: i64,
    pub kind: SlotKind,
    pub kdf: Option<KdfParams>,
    pub created_at: DateTime<Utc>,
}

/// A vault's identity and shape, readable while locked.
#[derive(Clone, Debug)]
pub struct VaultInfo {
    pub path: PathBuf,
    pub vault_id: String,
    pub format_version: i64,
    pub created_at: DateTime<Utc>,
    pub slots: Vec<SlotInfo>,
}

/// The result of [`Vault::update`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Updated {
    pub credential: Credential,
    /// False when the patch changed nothing (and nothing was written).
    pub changed: bool,
}

/// One version of a credential in its history.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VersionInfo {
    pub version: u64,
    pub written_at: DateTime<Utc>,
    pub current: bool,
    /// What changed from the previous version (field names and properties; never values).
    pub changes: Vec<String>,
}

/// Some of a credential's versions, and how many it has.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    /// Oldest first.
    pub versions: Vec<VersionInfo>,
    /// Every version, the current one included.
    pub total: u64,
}

/// The record encryption of one vault under one set of keys.
pub(crate) struct Cipher<'a> {
    vault_id: &'a [u8; 16],
    keys: &'a Keys,
}

impl Cipher<'_> {
    /// Seals the list's catalog kept beside the vault (search/file.rs)
    /// under its own sub-key, bound to this vault.
    pub(crate) fn seal_catalog(&self, plain: &[u8]) -> Result<Vec<u8>> {
        let (key, aad) = self.catalog_key()?;
        crypto::seal(&key, &aad, plain)
    }

    pub(crate) fn open_catalog(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let (key, aad) = self.catalog_key()?;
        crypto::open(&key, &aad, sealed, "the list's catalog")
    }

    fn catalog_key(&self) -> Result<(Key32, Vec<u8>)> {
        let key = crypto::derive_subkey(&self.keys.vault_key, self.vault_id, CATALOG_LABEL)?;
        Ok((key, crypto::aad(&[CATALOG_LABEL.as_bytes(), self.vault_id])))
    }

    pub(crate) fn name_index(&self, name: &str) -> Vec<u8> {
        crypto::mac(&self.keys.name_key, &[name.as_bytes()]).to_vec()
    }

    /// Where the current record `id` with `meta` is filed: under its name's
    /// index, or the trash's when `meta` says it was deleted.
    pub(crate) fn index_for(&self, id: &CredentialId, meta: &CredentialMeta) -> Vec<u8> {
        match meta.trashed_at {
            Some(_) => rows::trash_index(&id.0),
            None => self.name_index(&meta.name),
        }
    }

    pub(crate) fn seal_meta(
        &self,
        id: &CredentialId,
        version: u64,
        meta: &CredentialMeta,
    ) -> Result<Vec<u8>> {
        let plain = Zeroizing::new(serde_json::to_vec(meta).map_err(|e| Error::Failure {
            what: format!("cannot encode credential metadata: {e}"),
        })?);
        crypto::seal(
            &self.keys.vault_key,
            &record_aad(self.vault_id, id, version, RecordPart::Meta),
            &plain,
        )
    }

    /// A new credential's row at version 1 under a fresh id, ready to insert.
    pub(crate) fn seal_new(&self, meta: &CredentialMeta, secrets: &Secrets) -> Result<Sealed> {
        let id = CredentialId::random()?;
        Ok(Sealed {
            id,
            index: self.name_index(&meta.name),
            meta: self.seal_meta(&id, 1, meta)?,
            secrets: self.seal_secrets(&id, 1, secrets)?,
        })
    }

    pub(crate) fn seal_secrets(
        &self,
        id: &CredentialId,
        version: u64,
        secrets: &Secrets,
    ) -> Result<Vec<u8>> {
        let plain = encode_secrets(secrets)?;
        crypto::seal(
            &self.keys.vault_key,
            &record_aad(self.vault_id, id, version, RecordPart::Secrets),
            &plain,
        )
    }

    pub(crate) fn open_meta(&self, row: &Row) -> Result<CredentialMeta> {
        let plain = self.open_meta_plain(row)?;
        Cipher::parse_meta(row, &plain)
    }

    /// The decrypted JSON of a row's metadata.
    pub(crate) fn open_meta_plain(&self, row: &Row) -> Result<Zeroizing<Vec<u8>>> {
        crypto::open_with(
            &self.keys.vault_key,
            &record_aad(self.vault_id, &row.id, row.version, RecordPart::Meta),
            &row.meta,
            || meta_what(row),
        )
    }

    /// A prepared key for [`Cipher::open_envelope_into`] (bulk reads).
    pub(crate) fn opener(&self) -> Result<crypto::Opener> {
        crypto::Opener::new(&self.keys.vault_key)
    }

    /// Opens the metadata `envelope` of `row` (read apart from the row, in
    /// bulk) into a reused buffer.
    pub(crate) fn open_envelope_into(
        &self,
        opener: &crypto::Opener,
        row: &Row,
        envelope: &[u8],
        out: &mut Zeroizing<Vec<u8>>,
    ) -> Result<()> {
        opener.open_into(
            &record_aad(self.vault_id, &row.id, row.version, RecordPart::Meta),
            envelope,
            out,
            || meta_what(row),
        )
    }

    pub(crate) fn parse_meta(row: &Row, plain: &[u8]) -> Result<CredentialMeta> {
        serde_json::from_slice(plain)
            .map_err(|_| Error::integrity(format!("{}: malformed content", meta_what(row))))
    }

    pub(crate) fn open_secrets(&self, row: &Row) -> Result<Secrets> {
        let what = format!(
            "credential record {} version {} (secret fields)",
            row.id, row.version
        );
        let plain = crypto::open(
            &self.keys.vault_key,
            &record_aad(self.vault_id, &row.id, row.version, RecordPart::Secrets),
            &row.secrets,
            &what,
        )?;
        let map: BTreeMap<String, SecretValue> = serde_json::from_slice(&plain)
            .map_err(|_| Error::integrity(format!("{what}: malformed content")))?;
        Ok(Secrets(map))
    }
}

fn meta_what(row: &Row) -> String {
    format!(
        "credential record {} version {} (metadata)",
        row.id, row.version
    )
}

/// Restores the page cache's size (see [`Vault::wide_page_cache`]).
pub(crate) struct WidePageCache<'a> {
    conn: &'a Connection,
    before: i64,
}

impl Drop for WidePageCache<'_> {
    fn drop(&mut self) {
        let _ = self
            .conn
            .execute_batch(&format!("PRAGMA cache_size = {}", self.before));
    }
}

/// A new credential sealed for insertion (id, name index and envelopes).
pub(crate) struct Sealed {
    pub(crate) id: CredentialId,
    index: Vec<u8>,
    meta: Vec<u8>,
    secrets: Vec<u8>,
}

impl Sealed {
    /// The record of a new credential (version 1) written at `now`.
    fn record(&self, now: DateTime<Utc>) -> StoredRecord<'_> {
        StoredRecord {
            id: &self.id.0,
            name_index: &self.index,
            version: 1,
            created_at: millis(now),
            updated_at: millis(now),
            meta: &self.meta,
            secrets: &self.secrets,
        }
    }
}

/// The columns of a row as SQLite returns them, before checking.
pub(crate) type RawRow = (Vec<u8>, i64, i64, i64, Vec<u8>, Vec<u8>);

/// A stored row of the `credentials` or `history` table.
pub(crate) struct Row {
    pub(crate) id: CredentialId,
    pub(crate) version: u64,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) meta: Vec<u8>,
    pub(crate) secrets: Vec<u8>,
}

impl Row {
    pub(crate) fn credential(&self, meta: CredentialMeta) -> Credential {
        Credential {
            id: self.id,
            version: self.version,
            created_at: from_millis(self.created_at),
            updated_at: from_millis(self.updated_at),
            meta,
        }
    }
}

pub struct Vault {
    conn: Connection,
    path: PathBuf,
    vault_id: [u8; 16],
    keys: Option<Keys>,
    actor: Actor,
    /// Audit events not yet written (the unlock, failed attempts before it):
    /// they go into the next transaction, before any data leaves the vault.
    queue: std::cell::RefCell<audit::Queue>,
    /// What a layer above keeps between calls while unlocked (search's
    /// catalog), by type: see [`Vault::kept`].
    kept: std::cell::RefCell<Option<Box<dyn std::any::Any + Send>>>,
    /// Whether unlock refuses a vault that does not match its anchor.
    anchor: AnchorCheck,
    /// What other processes may have changed since open: see
    /// [`Vault::check_unchanged_elsewhere`].
    watch: std::cell::RefCell<watch::Watch>,
}

/// How unlock treats a vault that does not match its audit anchor.
pub(crate) enum AnchorCheck {
    Refuse,
    /// Let it through for [`Vault::accept_anchor`], keeping what was found.
    Accept(Option<String>),
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.path)
            .field("vault_id", &hex::encode(self.vault_id))
            .field("unlocked", &self.keys.is_some())
            .finish()
    }
}

fn record_aad(vault_id: &[u8], id: &CredentialId, version: u64, part: RecordPart) -> Vec<u8> {
    Place::Record {
        id: &id.0,
        version,
        part,
    }
    .aad(vault_id)
}

/// JSON of the secret values, built in a buffer sized up front so it is
/// never reallocated (which would leave copies behind) and wiped on drop.
pub(crate) fn encode_secrets(secrets: &Secrets) -> Result<Zeroizing<Vec<u8>>> {
    let capacity = 2 + secrets
        .0
        .iter()
        .map(|(k, v)| 8 + 6 * (k.len() + v.len()))
        .sum::<usize>();
    let mut buf = Zeroizing::new(Vec::with_capacity(capacity));
    let view: BTreeMap<&str, &str> = secrets
        .0
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose_secret()))
        .collect();
    serde_json::to_writer(&mut *buf, &view).map_err(|e| Error::Failure {
        what: format!("cannot encode secret fields: {e}"),
    })?;
    Ok(buf)
}

impl Vault {
    /// Creates a new vault at `path` (which must not exist) and returns it unlocked.
    #[instrument(skip_all, fields(path = %path.display()))]
    pub fn create(path: &Path, options: &CreateOptions<'_>, now: DateTime<Utc>) -> Result<Vault> {
        if options.sealer.is_none() && options.passphrase.is_none() {
            return Err(Error::invalid(
                "vault options",
                "a vault needs at least one way in: the OS keyring or a passphrase",
            ));
        }
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(Error::VaultExists {
                path: path.to_owned(),
            });
        }
        let mut vault_id = [0u8; 16];
        crypto::random_bytes(&mut vault_id)?;
        let id_hex = hex::encode(vault_id);
        let vault_key = crypto::random_key()?;
        let mut slots = Vec::new();
        if let Some(pw) = options.passphrase {
            slots.push(Slot::passphrase(&vault_id, &vault_key, pw, options.kdf)?);
        }
        let mut stored_kek = None;
        if let Some(sealer) = options.sealer {
            let kek = crypto::random_key()?;
            slots.push(Slot::keyring(&vault_id, &vault_key, &kek)?);
            crate::seal::store_verified(sealer, &id_hex, &kek)?;
            stored_kek = Some(sealer);
        }
        let keys = Keys::new(&vault_id, vault_key)?;
        let actor = Actor::current("core");
        let result = (|| {
            let mut file = store::NewFile::create(path)?;
            let tx = file.conn.transaction().map_err(|e| db_error(path, e))?;
            tx.execute(
                "INSERT INTO vault (id, vault_id, created_at) VALUES (1, ?1, ?2)",
                params![&vault_id[..], millis(now)],
            )
            .map_err(|e| db_error(path, e))?;
            for slot in &slots {
                tx.execute(
                    "INSERT INTO slots (kind, body, created_at) VALUES (?1, ?2, ?3)",
                    params![slot.kind.as_str(), slot.encode(), millis(now)],
                )
                .map_err(|e| db_error(path, e))?;
            }
            let kinds: Vec<&str> = slots.iter().map(|s| s.kind.as_str()).collect();
            let event =
                Event::new(Action::VaultCreate).details(serde_json::json!({ "slots": kinds }));
            audit::append(&tx, path, &vault_id, &keys, &actor, &event, now)?;
            tx.commit().map_err(|e| db_error(path, e))?;
            file.publish()
        })();
        if let Err(e) = result {
            // The vault was not created: do not leave its key in the keyring.
            if let Some(sealer) = stored_kek {
                let _ = sealer.remove(&id_hex);
            }
            return Err(e);
        }
        tracing::info!(vault_id = %id_hex, "vault created");
        let mut vault = Vault::open(path)?;
        vault.keys = Some(keys);
        vault.write_anchor()?;
        Ok(vault)
    }

    /// Opens an existing vault, locked.
    pub fn open(path: &Path) -> Result<Vault> {
        let conn = store::open(path)?;
        let id: Vec<u8> = conn
            .query_row("SELECT vault_id FROM vault WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(|e| db_error(path, e))?
            .ok_or_else(|| Error::integrity("the vault identity row is missing"))?;
        let vault_id: [u8; 16] = id
            .as_slice()
            .try_into()
            .map_err(|_| Error::integrity("the vault identity is malformed"))?;
        let watch = std::cell::RefCell::new(watch::Watch::of(&conn, path)?);
        Ok(Vault {
            watch,
            conn,
            path: path.to_owned(),
            vault_id,
            keys: None,
            actor: Actor::current("core"),
            queue: Default::default(),
            kept: Default::default(),
            anchor: AnchorCheck::Refuse,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn vault_id(&self) -> String {
        hex::encode(self.vault_id)
    }

    pub fn is_unlocked(&self) -> bool {
        self.keys.is_some()
    }

    /// Who the audit trail names for what this handle does.
    pub fn set_actor(&mut self, actor: Actor) {
        self.actor = actor;
    }

    /// Records the lock, anchors the audit head and forgets the vault key
    /// (zeroized on drop). The key is forgotten even if recording fails.
    pub fn lock(&mut self, now: DateTime<Utc>) -> Result<()> {
        if self.keys.is_none() {
            return Ok(());
        }
        let recorded = self
            .audited_write(Event::new(Action::Lock), now)
            .and_then(|()| self.write_anchor());
        self.keys = None;
        self.queue.borrow_mut().clear();
        self.kept.borrow_mut().take();
        recorded
    }

    /// Ends a short session (one CLI command): writes any queued audit
    /// events and anchors the head. The key is zeroized when `self` drops.
    pub fn close(self) -> Result<()> {
        if self.keys.is_some() {
            self.flush()?;
            self.write_anchor()?;
        }
        Ok(())
    }

    pub(crate) fn db<T>(&self, r: rusqlite::Result<T>) -> Result<T> {
        r.map_err(|e| db_error(&self.path, e))
    }

    /// The value of type `T` this handle keeps between calls (a default one
    /// at first), dropped on lock. A layer above the vault (search's catalog)
    /// keeps its state here without the vault knowing its type, so the vault
    /// imports nothing from the layers above it.
    pub(crate) fn kept<T: Default + Send + 'static>(&self) -> std::cell::RefMut<'_, T> {
        std::cell::RefMut::map(self.kept.borrow_mut(), |slot| {
            if !slot.as_ref().is_some_and(|b| b.is::<T>()) {
                *slot = Some(Box::new(T::default()));
            }
            slot.as_mut()
                .and_then(|b| b.downcast_mut::<T>())
                .expect("the slot was just filled with a T")
        })
    }

    pub(crate) fn keys(&self) -> Result<&Keys> {
        self.keys.as_ref().ok_or(Error::Locked)
    }

    fn read_slots(&self) -> Result<Vec<(i64, Slot, i64)>> {
        let mut stmt = self.db(self
            .conn
            .prepare("SELECT id, kind, body, created_at FROM slots ORDER BY id"))?;
        let rows = self.db(stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>()))?;
        rows.into_iter()
            .map(|(id, kind, body, created)| {
                let slot = Slot::decode(&kind, &body, &format!("key slot {id} ({kind})"))?;
                Ok((id, slot, created))
            })
            .collect()
    }

    /// The vault's identity and key slots; works while locked.
    pub fn info(&self) -> Result<VaultInfo> {
        let created: i64 =
            self.db(self
                .conn
                .query_row("SELECT created_at FROM vault WHERE id = 1", [], |r| {
                    r.get(0)
                }))?;
        let version: i64 = self.db(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)))?;
        let slots = self
            .read_slots()?
            .into_iter()
            .map(|(id, slot, created_at)| SlotInfo {
                id,
                kind: slot.kind,
                kdf: slot.kdf.map(|(p, _)| p),
                created_at: from_millis(created_at),
            })
            .collect();
        Ok(VaultInfo {
            path: self.path.clone(),
            vault_id: self.vault_id(),
            format_version: version,
            created_at: from_millis(created),
            slots,
        })
    }

    /// The vault key, from the keyring slot and the key-encryption key in the OS keyring.
    fn keyring_vault_key(&self, sealer: &dyn Sealer) -> Result<Key32> {
        let slots = self.read_slots()?;
        let Some((id, slot, _)) = slots.iter().find(|(_, s, _)| s.kind == SlotKind::Keyring) else {
            return Err(Error::CannotUnlock {
                reason: "this vault has no keyring slot; unlock it with its passphrase".into(),
            });
        };
        let label = format!("key slot {id} (keyring)");
        let current = sealer.load(&self.vault_id())?;
        if current
            .as_ref()
            .is_none_or(|kek| slot.open_with_kek(&self.vault_id, kek, &label).is_err())
        {
            if let Some(kek) = self.finish_keyring_switch(sealer, slot) {
                return slot.open_with_kek(&self.vault_id, &kek, &label);
            }
        }
        let Some(kek) = current else {
            if let Some(other) = self.owner_of(sealer, slot) {
                return Err(Error::integrity(format!(
                    "the vault file's identity was altered: it says vault {}, but its {label} \
                     opens with the OS keyring's key for vault {other}",
                    self.vault_id()
                )));
            }
            return Err(Error::CannotUnlock {
                reason: format!(
                    "the OS keyring ({}) has no key for this vault (service 'coffer', account '{}'); unlock with the recovery passphrase (--passphrase-file or the prompt)",
                    sealer.backend(),
                    self.vault_id()
                ),
            });
        };
        slot.open_with_kek(&self.vault_id, &kek, &label)
    }

    /// The keyring key of a rekey not yet switched over (see `rekey`): when
    /// the vault's own entry does not open `slot` and the `.next` entry
    /// does, the rekey committed and the switch is finished now.
    fn finish_keyring_switch(&self, sealer: &dyn Sealer, slot: &Slot) -> Option<Key32> {
        let next = next_entry(&self.vault_id());
        let kek = sealer.load(&next).ok()??;
        slot.open_with_kek(&self.vault_id, &kek, "").ok()?;
        crate::seal::store_verified(sealer, &self.vault_id(), &kek).ok()?;
        let _ = sealer.remove(&next);
        Some(kek)
    }

    /// The vault id whose keyring key opens `slot`, when it is not this
    /// file's: the file's vault id was edited (its slots are bound to the id
    /// they were made for). Best effort: any keyring failure is no answer.
    fn owner_of(&self, sealer: &dyn Sealer, slot: &Slot) -> Option<String> {
        sealer.entries().ok()?.into_iter().find_map(|(id, kek)| {
            let bytes: [u8; 16] = hex::decode(&id).ok()?.try_into().ok()?;
            (bytes != self.vault_id && slot.open_with_kek(&bytes, &kek, "").is_ok()).then_some(id)
        })
    }

    /// Unlocks with the keyring without recording the unlock (tests that
    /// check a trail as they found it).
    #[cfg(test)]
    pub(crate) fn unlock_unrecorded_for_tests(&mut self, sealer: &dyn Sealer) {
        let vk = self.keyring_vault_key_for_tests(sealer);
        self.keys = Some(Keys::new(&self.vault_id, vk).expect("keys"));
    }

    #[cfg(test)]
    pub(crate) fn keyring_vault_key_for_tests(&self, sealer: &dyn Sealer) -> Key32 {
        self.keyring_vault_key(sealer).expect("keyring vault key")
    }

    /// Checks that the keyring's entry opens the keyring slot, without unlocking.
    pub fn check_keyring(&self, sealer: &dyn Sealer) -> Result<()> {
        self.keyring_vault_key(sealer).map(drop)
    }

    /// Unlocks through the keyring slot and the key-encryption key in the OS keyring.
    #[instrument(skip_all, fields(vault = %self.vault_id()))]
    pub fn unlock_with_keyring(
        &mut self,
        sealer: &dyn Sealer,
        now: DateTime<Utc>,
    ) -> Result<UnlockReport> {
        let vk = self.keyring_vault_key(sealer)?;
        self.keys = Some(Keys::new(&self.vault_id, vk)?);
        tracing::debug!("unlocked with the keyring");
        self.queue_unlock("keyring", now)
    }

    /// Unlocks through the passphrase slot.
    #[instrument(skip_all, fields(vault = %self.vault_id()))]
    pub fn unlock_with_passphrase(
        &mut self,
        passphrase: &SecretValue,
        now: DateTime<Utc>,
    ) -> Result<UnlockReport> {
        let slots = self.read_slots()?;
        let Some((id, slot, _)) = slots
            .iter()
            .find(|(_, s, _)| s.kind == SlotKind::Passphrase)
        else {
            return Err(Error::CannotUnlock {
                reason: "this vault has no passphrase slot; it opens only through the OS keyring"
                    .into(),
            });
        };
        let vk = match slot.open_with_passphrase(
            &self.vault_id,
            passphrase,
            &format!("key slot {id} (passphrase)"),
        ) {
            Ok(vk) => vk,
            Err(e @ Error::WrongPassphrase) => {
                // Best effort: a vault that cannot be written still refuses the guess.
                let _ = self.record_failed_unlock("wrong passphrase", now);
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        self.keys = Some(Keys::new(&self.vault_id, vk)?);
        tracing::debug!("unlocked with the passphrase");
        self.queue_unlock("passphrase", now)
    }

    /// Seals `plaintext` for `place` under this vault's key.
    pub(crate) fn seal_at(&self, place: Place<'_>, plaintext: &[u8]) -> Result<Vec<u8>> {
        sealed::seal(&self.keys()?.vault_key, &self.vault_id, place, plaintext)
    }

    /// Opens a value sealed for `place`; a failure is an integrity error naming `what`.
    pub(crate) fn open_at(
        &self,
        place: Place<'_>,
        envelope: &[u8],
        what: &str,
    ) -> Result<Zeroizing<Vec<u8>>> {
        sealed::open(
            &self.keys()?.vault_key,
            &self.vault_id,
            place,
            envelope,
            || what.to_owned(),
        )
    }

    /// The connection, for reads; every write goes through [`Vault::begin`].
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn cipher(&self) -> Result<Cipher<'_>> {
        Ok(Cipher {
            vault_id: &self.vault_id,
            keys: self.keys()?,
        })
    }

    fn name_index(&self, name: &str) -> Result<Vec<u8>> {
        Ok(self.cipher()?.name_index(name))
    }

    pub(crate) fn open_meta(&self, row: &Row) -> Result<CredentialMeta> {
        self.cipher()?.open_meta(row)
    }

    /// A row's secret values for the core's own comparisons (history's list
    /// of changed fields, sync's content digests), which never leave it. A
    /// reveal opens them through [`WriteTx::open_secrets`] and records itself.
    pub(crate) fn open_secrets(&self, row: &Row) -> Result<Secrets> {
        self.cipher()?.open_secrets(row)
    }

    pub(crate) fn row_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    }

    pub(crate) fn make_row(raw: RawRow) -> Result<Row> {
        let (id, version, created_at, updated_at, meta, secrets) = raw;
        Ok(Row {
            id: CredentialId::from_slice(&id)
                .ok_or_else(|| Error::integrity("a credential id is malformed"))?,
            version: u64::try_from(version)
                .map_err(|_| Error::integrity("a credential version is negative"))?,
            created_at,
            updated_at,
            meta,
            secrets,
        })
    }

    /// Finds the current row for `name` and checks that it really is that
    /// credential (a row whose name index was swapped fails here).
    pub(crate) fn lookup(
        &self,
        conn: &Connection,
        name: &str,
    ) -> Result<Option<(Row, CredentialMeta)>> {
        let index = self.name_index(name)?;
        let mut stmt = self.db(conn.prepare_cached(
            "SELECT id, version, created_at, updated_at, meta, secrets FROM credentials WHERE name_index = ?1",
        ))?;
        let raw = self.db(stmt.query_row([index], Self::row_from).optional())?;
        let Some(raw) = raw else { return Ok(None) };
        let row = Self::make_row(raw)?;
        let meta = self.open_meta(&row)?;
        if meta.trashed_at.is_some() {
            return Err(Error::integrity(format!(
                "credential record {} was deleted into the trash but is filed under its name: \
                 the index was altered",
                row.id
            )));
        }
        if meta.name != name {
            return Err(Error::integrity(format!(
                "credential record {} is filed under another name: the index was altered",
                row.id
            )));
        }
        Ok(Some((row, meta)))
    }

    pub(crate) fn find_required(
        &self,
        conn: &Connection,
        name: &str,
    ) -> Result<(Row, CredentialMeta)> {
        if let Some(found) = self.lookup(conn, name)? {
            return Ok(found);
        }
        // Not under its index: look through the records themselves, so an
        // altered index is named rather than passed off as "not found".
        let misfiled = self.each_meta(|row, plain, _| {
            Ok((Cipher::parse_meta(row, plain)?.name == name).then_some(()))
        })?;
        if !misfiled.is_empty() {
            return Err(Error::integrity(format!(
                "credential '{}' is stored, but its name index was altered, so it cannot be \
                 looked up by name",
                crate::credential::printable(name)
            )));
        }
        Err(Error::NotFound {
            name: name.to_owned(),
        })
    }

    /// Checks that `draft` could be added now (it is valid and its name is
    /// free), writing nothing: a form's last check before it is sent.
    pub fn check_new(&self, draft: Draft) -> Result<()> {
        let (meta, _) = draft.into_parts()?;
        self.flush()?;
        match self.lookup(&self.conn, &meta.name)? {
            Some(_) => Err(Error::AlreadyExists { name: meta.name }),
            None => Ok(()),
        }
    }

    /// Adds a new credential.
    #[instrument(skip_all)]
    pub fn add(&mut self, draft: Draft, now: DateTime<Utc>) -> Result<Credential> {
        let (meta, secrets) = draft.into_parts()?;
        let tx = self.begin()?;
        let credential = self.insert(&tx, meta, &secrets, now)?;
        let event = Event::new(Action::Create)
            .target(credential.id, &credential.meta.name)
            .details(serde_json::json!({ "kind": credential.meta.kind.as_str(), "version": 1 }));
        tx.record(event, now)?;
        tx.commit()?;
        tracing::debug!(id = %credential.id, "credential added");
        Ok(credential)
    }

    /// Inserts a new, validated credential at version 1 in `tx`.
    pub(crate) fn insert(
        &self,
        tx: &WriteTx<'_>,
        meta: CredentialMeta,
        secrets: &Secrets,
        now: DateTime<Utc>,
    ) -> Result<Credential> {
        let sealed = self.cipher()?.seal_new(&meta, secrets)?;
        self.insert_sealed(tx, &sealed, meta, now)
    }

    /// Inserts a credential sealed by [`Cipher::seal_new`] from `meta`.
    pub(crate) fn insert_sealed(
        &self,
        tx: &WriteTx<'_>,
        sealed: &Sealed,
        meta: CredentialMeta,
        now: DateTime<Utc>,
    ) -> Result<Credential> {
        // Cached statements: an import calls this once per credential.
        let mut exists = self.db(
            tx.prepare_cached("SELECT EXISTS(SELECT 1 FROM credentials WHERE name_index = ?1)")
        )?;
        if self.db(exists.query_row([&sealed.index], |r| r.get::<_, bool>(0)))? {
            return Err(Error::AlreadyExists { name: meta.name });
        }
        self.db(rows::insert_current(tx, &sealed.record(now)))?;
        Ok(Credential {
            id: sealed.id,
            version: 1,
            created_at: from_millis(millis(now)),
            updated_at: from_millis(millis(now)),
            meta,
        })
    }

    /// Bulk writes (imports) touch many pages: a page cache that holds them
    /// keeps SQLite from spilling pages to the WAL mid-transaction. The
    /// cache returns to its size when the guard drops.
    pub(crate) fn wide_page_cache(&self) -> Result<WidePageCache<'_>> {
        let before: i64 = self.db(self.conn.query_row("PRAGMA cache_size", [], |r| r.get(0)))?;
        self.db(self.conn.execute_batch("PRAGMA cache_size = -131072"))?;
        Ok(WidePageCache {
            conn: &self.conn,
            before,
        })
    }

    /// A credential with its secrets for the core's own use (sync compares
    /// and pushes them); the caller records what it does with them.
    pub(crate) fn current_with_secrets(
        &self,
        conn: &Connection,
        name: &str,
    ) -> Result<(Row, CredentialMeta, Secrets)> {
        let (row, meta) = self.find_required(conn, name)?;
        let secrets = self.open_secrets(&row)?;
        Ok((row, meta, secrets))
    }

    /// Adds many credentials in one transaction (imports): all of them, or
    /// none when any one is invalid or its name is taken.
    #[instrument(skip_all, fields(count = drafts.len()))]
    pub fn add_many(&mut self, drafts: Vec<Draft>, now: DateTime<Utc>) -> Result<usize> {
        let parts = drafts
            .into_iter()
            .map(Draft::into_parts)
            .collect::<Result<Vec<_>>>()?;
        let cipher = self.cipher()?;
        let sealed = crate::par::map(&parts, |(meta, secrets)| cipher.seal_new(meta, secrets))?;
        let _cache = self.wide_page_cache()?;
        let tx = self.begin()?;
        {
            for (s, (meta, _)) in sealed.iter().zip(&parts) {
                match rows::insert_current(&tx, &s.record(now)) {
                    Ok(_) => {}
                    Err(e)
                        if e.sqlite_error_code()
                            == Some(rusqlite::ErrorCode::ConstraintViolation) =>
                    {
                        return Err(Error::AlreadyExists {
                            name: meta.name.clone(),
                        });
                    }
                    Err(e) => return Err(db_error(&self.path, e)),
                }
            }
        }
        tx.record(
            Event::new(Action::Import).details(serde_json::json!({ "count": sealed.len() })),
            now,
        )?;
        tx.commit()?;
        Ok(sealed.len())
    }

    /// A credential's metadata (no secret values).
    pub fn get(&self, name: &str) -> Result<Credential> {
        self.flush()?;
        let (row, meta) = self.find_required(&self.conn, name)?;
        Ok(row.credential(meta))
    }

    /// A credential with its secret values (only `fields`, when given): the
    /// one way plaintext secrets leave the vault. The access is recorded in
    /// the audit trail first; if it cannot be recorded, nothing is revealed.
    #[instrument(skip_all)]
    pub fn reveal(
        &self,
        name: &str,
        fields: Option<&[&str]>,
        now: DateTime<Utc>,
    ) -> Result<(Credential, Secrets)> {
        self.reveal_to(name, fields, None, now)
    }

    /// [`Vault::reveal`] for another process (the agent's client): its
    /// entry's details also name `requester`. The entry is committed before
    /// the values are returned.
    pub fn reveal_to(
        &self,
        name: &str,
        fields: Option<&[&str]>,
        requester: Option<&serde_json::Value>,
        now: DateTime<Utc>,
    ) -> Result<(Credential, Secrets)> {
        let mut details = serde_json::Map::new();
        if let Some(requester) = requester {
            details.insert("requester".into(), requester.clone());
        }
        let request = RevealRequest {
            names: vec![name.to_owned()],
            fields: fields.map(|f| f.iter().map(|s| s.to_string()).collect()),
            action: Action::Reveal,
            details: details.into(),
        };
        let revealed = only(self.reveal_batch(&[request], now)?)??;
        only(revealed)
    }

    /// Several callers' reveals in one transaction, so one commit (one
    /// fsync) serves them all: the agent's group commit. Each request is
    /// all-or-none on its own (a savepoint): a missing name fails that
    /// request alone, with nothing recorded for it. Every entry is committed
    /// before any value is returned; when the commit fails, all fail.
    pub fn reveal_batch(
        &self,
        requests: &[RevealRequest],
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<Revealed>>> {
        let tx = self.begin()?;
        let mut out = Vec::with_capacity(requests.len());
        for r in requests {
            out.push(tx.savepoint(|tx| {
                let mut got = Vec::with_capacity(r.names.len());
                for name in &r.names {
                    let (row, meta) = self.find_required(tx, name)?;
                    let mut secrets = tx.open_secrets(&row)?;
                    if let Some(fields) = &r.fields {
                        secrets.0.retain(|k, _| fields.contains(k));
                    }
                    let mut details = match &r.details {
                        serde_json::Value::Object(d) => d.clone(),
                        _ => serde_json::Map::new(),
                    };
                    details.insert("version".into(), row.version.into());
                    details.insert(
                        "fields".into(),
                        secrets.0.keys().cloned().collect::<Vec<_>>().into(),
                    );
                    let event = Event::new(r.action)
                        .target(row.id, &meta.name)
                        .details(details.into());
                    tx.record(event, now)?;
                    got.push((row.credential(meta), secrets));
                }
                Ok(got)
            }));
        }
        tx.commit()?;
        Ok(out)
    }

    /// One secret field's value, audited as `action` (a reveal, or a copy
    /// made by the app) naming only that field. A field the credential does
    /// not have is `NotFound`, and nothing is recorded.
    pub fn reveal_field(
        &self,
        name: &str,
        field: &str,
        action: Action,
        now: DateTime<Utc>,
    ) -> Result<SecretValue> {
        let tx = self.begin()?;
        let (row, meta) = self.find_required(&tx, name)?;
        let mut secrets = tx.open_secrets(&row)?;
        let value = secrets.0.remove(field).ok_or_else(|| Error::NotFound {
            name: format!("{name} field {field}"),
        })?;
        let event = Event::new(action)
            .target(row.id, &meta.name)
            .details(serde_json::json!({ "fields": [field], "version": row.version }));
        tx.record(event, now)?;
        tx.commit()?;
        Ok(value)
    }

    /// A field's value for the clipboard: a plain field as stored (it is on
    /// show anyway; not audited), a secret one revealed and audited as
    /// `action`.
    pub fn copy_field(
        &self,
        name: &str,
        field: &str,
        action: Action,
        now: DateTime<Utc>,
    ) -> Result<SecretValue> {
        let credential = self.get(name)?;
        if let Some(value) = credential.meta.fields.get(field) {
            return Ok(SecretValue::from(value.as_str()));
        }
        self.reveal_field(name, field, action, now)
    }

    /// Several credentials with their secret values, for a use other than
    /// showing them (`exec`, `inject`, `credential_process`…): one
    /// transaction, one `action` entry per credential with `details` and the
    /// fields revealed. All or none: a missing name reveals nothing.
    pub fn reveal_for(
        &self,
        names: &[&str],
        action: Action,
        details: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Credential, Secrets)>> {
        let request = RevealRequest {
            names: names.iter().map(|n| n.to_string()).collect(),
            fields: None,
            action,
            details: details.clone(),
        };
        only(self.reveal_batch(&[request], now)?)?
    }

    /// How many credentials the vault holds.
    pub fn count(&self) -> Result<usize> {
        self.flush()?;
        let n: i64 = self.db(self.conn.query_row(
            concat!("SELECT COUNT(*) FROM credentials WHERE ", rows::live!()),
            [],
            |r| r.get(0),
        ))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Applies `patch` to the credential named `name`, writing a new version
    /// and keeping the old one in its history. A patch that changes nothing
    /// writes nothing and returns the credential as it is.
    #[instrument(skip_all)]
    pub fn update(&mut self, name: &str, patch: &Patch, now: DateTime<Utc>) -> Result<Updated> {
        // Reads and writes in one immediate transaction: no other writer can
        // slip in between, so no update is ever lost.
        let tx = self.begin()?;
        let (row, meta) = self.find_required(&tx, name)?;
        if let Some(expected) = patch.expected_version {
            if expected != row.version {
                return Err(Error::Stale {
                    name: name.to_owned(),
                    expected,
                    actual: row.version,
                });
            }
        }
        let secrets = tx.open_secrets(&row)?;
        let (mut new_meta, new_secrets) = patch.apply(&meta, &secrets)?;
        if new_meta == meta && new_secrets == secrets {
            return Ok(Updated {
                credential: row.credential(meta),
                changed: false,
            });
        }
        // The person wrote this version: nothing in it arrived from elsewhere.
        new_meta.arrived = None;
        let credential = self.write_version(&tx, &row, &new_meta, &new_secrets, now)?;
        let changes = describe_changes(&meta, &secrets, &new_meta, &new_secrets);
        let event = Event::new(Action::Update)
            .target(row.id, &new_meta.name)
            .details(serde_json::json!({ "version": credential.version, "changes": changes }));
        tx.record(event, now)?;
        tx.commit()?;
        Ok(Updated {
            credential,
            changed: true,
        })
    }

    /// Moves the current row into history and writes `meta`/`secrets` as the next version.
    pub(crate) fn write_version(
        &self,
        tx: &WriteTx<'_>,
        row: &Row,
        meta: &CredentialMeta,
        secrets: &Secrets,
        now: DateTime<Utc>,
    ) -> Result<Credential> {
        let cipher = self.cipher()?;
        let index = cipher.index_for(&row.id, meta);
        if meta.trashed_at.is_none() {
            if let Some((other, _)) = self.lookup(tx, &meta.name)? {
                if other.id != row.id {
                    return Err(Error::AlreadyExists {
                        name: meta.name.clone(),
                    });
                }
            }
        }
        let version = row.version + 1;
        let meta_ct = cipher.seal_meta(&row.id, version, meta)?;
        let secrets_ct = cipher.seal_secrets(&row.id, version, secrets)?;
        let version_i64 =
            i64::try_from(version).map_err(|_| Error::integrity("version counter overflow"))?;
        self.db(rows::insert_history(
            tx,
            &StoredRecord {
                id: &row.id.0,
                name_index: &[],
                version: row.version,
                created_at: row.created_at,
                updated_at: row.updated_at,
                meta: &row.meta,
                secrets: &row.secrets,
            },
        ))?;
        let mut update = self.db(tx.prepare_cached(
            "UPDATE credentials SET name_index = ?1, version = ?2, updated_at = ?3, meta = ?4, secrets = ?5
             WHERE id = ?6 AND version = ?7",
        ))?;
        let changed = self.db(update.execute(params![
            index,
            version_i64,
            millis(now),
            meta_ct,
            secrets_ct,
            &row.id.0[..],
            row.version as i64
        ]))?;
        if changed != 1 {
            return Err(Error::Stale {
                name: meta.name.clone(),
                expected: row.version,
                actual: row.version + 1,
            });
        }
        Ok(Credential {
            id: row.id,
            version,
            created_at: from_millis(row.created_at),
            updated_at: from_millis(millis(now)),
            meta: meta.clone(),
        })
    }

    pub(crate) fn history_rows(&self, conn: &Connection, id: &CredentialId) -> Result<Vec<Row>> {
        self.newest_history_rows(conn, id, None)
    }

    /// The stored earlier versions, oldest first; with `newest`, only that
    /// many of the latest.
    fn newest_history_rows(
        &self,
        conn: &Connection,
        id: &CredentialId,
        newest: Option<usize>,
    ) -> Result<Vec<Row>> {
        let mut stmt = self.db(conn.prepare(
            "SELECT credential_id, version, created_at, created_at, meta, secrets FROM history
             WHERE credential_id = ?1 ORDER BY version DESC LIMIT ?2",
        ))?;
        // SQLite reads a negative limit as none.
        let limit = newest.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let raws = self.db(stmt
            .query_map(params![&id.0[..], limit], Self::row_from)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>()))?;
        raws.into_iter().rev().map(Self::make_row).collect()
    }

    /// Every version of a credential, oldest first, with what each changed.
    pub fn history(&self, name: &str) -> Result<Vec<VersionInfo>> {
        Ok(self.versions(name, None)?.versions)
    }

    /// The `newest` latest versions of a credential (the current one
    /// always), oldest first, and how many there are in all; every version
    /// without `newest`. Only those and the one before them are read and
    /// opened, so a credential edited a thousand times costs its detail
    /// pane no more than one edited ten.
    pub fn recent_history(&self, name: &str, newest: Option<usize>) -> Result<History> {
        self.versions(name, newest)
    }

    fn versions(&self, name: &str, newest: Option<usize>) -> Result<History> {
        self.flush()?;
        let (current, _) = self.find_required(&self.conn, name)?;
        // The earlier versions shown, and the one before the oldest of them,
        // which says what that one changed.
        let earlier = newest.map(|n| n.max(1));
        let mut rows = self.newest_history_rows(&self.conn, &current.id, earlier)?;
        // Counted only when the limit may have left some out.
        let stored = if earlier.is_some_and(|n| rows.len() >= n) {
            let count: i64 = self.db(self.conn.query_row(
                "SELECT count(*) FROM history WHERE credential_id = ?1",
                [&current.id.0[..]],
                |r| r.get(0),
            ))?;
            u64::try_from(count).unwrap_or_default()
        } else {
            rows.len() as u64
        };
        let total = stored + 1;
        rows.push(current);
        let shown = newest.map_or(rows.len(), |n| n.clamp(1, rows.len()));
        let first_shown = rows.len() - shown;
        let mut out = Vec::with_capacity(shown);
        let mut previous: Option<(CredentialMeta, Secrets)> = None;
        let last = rows.len() - 1;
        for (i, row) in rows.iter().enumerate() {
            let meta = self.open_meta(row)?;
            let secrets = self.open_secrets(row)?;
            if i >= first_shown {
                let changes = match &previous {
                    None => vec!["created".to_owned()],
                    Some((pm, ps)) => describe_changes(pm, ps, &meta, &secrets),
                };
                out.push(VersionInfo {
                    version: row.version,
                    written_at: from_millis(row.updated_at),
                    current: i == last,
                    changes,
                });
            }
            previous = Some((meta, secrets));
        }
        Ok(History {
            versions: out,
            total,
        })
    }

    /// Makes an old version current again, as a new version (history is kept).
    #[instrument(skip_all)]
    pub fn rollback(&mut self, name: &str, version: u64, now: DateTime<Utc>) -> Result<Credential> {
        let tx = self.begin()?;
        let (current, _) = self.find_required(&tx, name)?;
        let old = self
            .history_rows(&tx, &current.id)?
            .into_iter()
            .find(|r| r.version == version)
            .ok_or_else(|| Error::VersionNotFound {
                name: name.to_owned(),
                version,
            })?;
        let mut meta = self.open_meta(&old)?;
        // The version it was deleted at, brought back, is live.
        meta.trashed_at = None;
        let secrets = tx.open_secrets(&old)?;
        validate(&meta, &secrets)?;
        let credential = self.write_version(&tx, &current, &meta, &secrets, now)?;
        let event = Event::new(Action::Rollback)
            .target(current.id, &meta.name)
            .details(serde_json::json!({ "to": version, "version": credential.version }));
        tx.record(event, now)?;
        tx.commit()?;
        Ok(credential)
    }

    /// Adds a passphrase slot, or replaces the existing one when `replace`.
    #[instrument(skip_all)]
    /// Checks that `passphrase` opens this vault's passphrase slot (the
    /// app asks for the current passphrase before a change, so script in
    /// its page cannot set one); a wrong one is recorded as a failed
    /// attempt. `Ok` when the vault has no passphrase slot.
    pub fn check_passphrase(&self, passphrase: &SecretValue, now: DateTime<Utc>) -> Result<()> {
        let slots = self.read_slots()?;
        let Some((id, slot, _)) = slots
            .iter()
            .find(|(_, s, _)| s.kind == SlotKind::Passphrase)
        else {
            return Ok(());
        };
        match slot.open_with_passphrase(
            &self.vault_id,
            passphrase,
            &format!("key slot {id} (passphrase)"),
        ) {
            Ok(_) => Ok(()),
            Err(e @ Error::WrongPassphrase) => {
                let _ = self.record_failed_unlock("wrong passphrase", now);
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Sets a new recovery passphrase the way the app offers it: when the
    /// vault already has one, `current` must open it (script in the app's
    /// page must not set a passphrase it knows on a vault whose passphrase
    /// it does not), and the new one must be strong enough.
    pub fn set_passphrase_knowing(
        &mut self,
        current: Option<&SecretValue>,
        new: &SecretValue,
        now: DateTime<Utc>,
    ) -> Result<()> {
        crate::strength::require_recovery(new)?;
        let has = self
            .info()?
            .slots
            .iter()
            .any(|s| s.kind == SlotKind::Passphrase);
        if has {
            let current = current.ok_or_else(|| {
                Error::invalid(
                    "current",
                    "give the current recovery passphrase to change it",
                )
            })?;
            self.check_passphrase(current, now)?;
        }
        self.set_passphrase(new, KdfParams::DEFAULT, has, now)
    }

    pub fn set_passphrase(
        &mut self,
        passphrase: &SecretValue,
        kdf: KdfParams,
        replace: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let slot = Slot::passphrase(&self.vault_id, &self.keys()?.vault_key, passphrase, kdf)?;
        let path = self.path.clone();
        let tx = self.begin()?;
        let existing: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM slots WHERE kind = 'passphrase'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| db_error(&path, e))?;
        match (existing > 0, replace) {
            (true, false) => {
                return Err(Error::invalid(
                    "passphrase",
                    "this vault already has a recovery passphrase; use `coffer passphrase change`",
                ))
            }
            (false, true) => {
                return Err(Error::invalid(
                    "passphrase",
                    "this vault has no recovery passphrase yet; use `coffer passphrase set`",
                ))
            }
            _ => {}
        }
        tx.execute("DELETE FROM slots WHERE kind = 'passphrase'", [])
            .map_err(|e| db_error(&path, e))?;
        tx.execute(
            "INSERT INTO slots (kind, body, created_at) VALUES ('passphrase', ?1, ?2)",
            params![slot.encode(), millis(now)],
        )
        .map_err(|e| db_error(&path, e))?;
        let action = if replace {
            Action::PassphraseChange
        } else {
            Action::PassphraseSet
        };
        let event = Event::new(action).details(serde_json::json!({
            "kdf": { "m_kib": kdf.memory_kib, "t": kdf.iterations, "p": kdf.parallelism }
        }));
        tx.record(event, now)?;
        tx.commit()
    }

    /// Replaces the vault key: re-encrypts every record and rewraps every
    /// slot, in one transaction. The keyring slot keeps its key-encryption
    /// key (read from `sealer`), or gets a new one when the keyring lost it;
    /// a passphrase slot needs `passphrase`.
    #[instrument(skip_all)]
    pub fn rekey(
        &mut self,
        sealer: Option<&dyn Sealer>,
        passphrase: Option<&SecretValue>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.rekey_columns(sealed::COLUMNS, sealer, passphrase, None, now)
    }

    /// [`Vault::rekey`], and the passphrase slot (added if there is none)
    /// takes `new_passphrase`, in the same transaction: after a suspected
    /// leak, the vault key, the keyring key and the passphrase all change.
    #[instrument(skip_all)]
    pub fn rekey_with_new_passphrase(
        &mut self,
        sealer: Option<&dyn Sealer>,
        passphrase: Option<&SecretValue>,
        new_passphrase: &SecretValue,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.rekey_columns(
            sealed::COLUMNS,
            sealer,
            passphrase,
            Some(new_passphrase),
            now,
        )
    }

    /// [`Vault::rekey`] over the sealed columns `columns` (the tests add one).
    fn rekey_columns(
        &mut self,
        columns: &[sealed::Column],
        sealer: Option<&dyn Sealer>,
        passphrase: Option<&SecretValue>,
        new_passphrase: Option<&SecretValue>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let old_keys = self.keys.as_ref().ok_or(Error::Locked)?;
        let mut new_kek: Option<(&dyn Sealer, Key32)> = None;
        let new_keys = Keys::new(&self.vault_id, crypto::random_key()?)?;
        // Rewrap every way in first: if one cannot be rewrapped, nothing changes.
        let mut new_slots = Vec::new();
        for (id, slot, _) in self.read_slots()? {
            let label = format!("key slot {id} ({})", slot.kind);
            let rewrapped = match slot.kind {
                SlotKind::Keyring => {
                    let sealer = sealer.ok_or_else(|| Error::CannotUnlock {
                        reason: format!("rekey must rewrap {label}, which needs the OS keyring"),
                    })?;
                    // The current key must open the slot (unless the keyring
                    // lost it: a new machine, a wiped keyring).
                    if let Some(kek) = sealer.load(&self.vault_id())? {
                        slot.open_with_kek(&self.vault_id, &kek, &label)?;
                    }
                    // A new keyring key too: a leak may have taken the old one.
                    // It waits under the `.next` entry until the commit; unlock
                    // finishes the switch if a crash comes between.
                    let kek = crypto::random_key()?;
                    crate::seal::store_verified(sealer, &next_entry(&self.vault_id()), &kek)?;
                    new_kek = Some((sealer, Key32::from_bytes(*kek.expose_secret())));
                    Slot::keyring(&self.vault_id, &new_keys.vault_key, &kek)?
                }
                SlotKind::Passphrase if new_passphrase.is_some() => {
                    // Replaced below by a slot for the new passphrase.
                    continue;
                }
                SlotKind::Passphrase => {
                    let pw = passphrase.ok_or_else(|| {
                        Error::invalid(
                            "passphrase",
                            format!(
                                "rekey must rewrap {label}, which needs the recovery passphrase"
                            ),
                        )
                    })?;
                    slot.open_with_passphrase(&self.vault_id, pw, &label)?;
                    let (params, _) = slot
                        .kdf
                        .ok_or_else(|| Error::integrity(format!("{label} has no parameters")))?;
                    Slot::passphrase(&self.vault_id, &new_keys.vault_key, pw, params)?
                }
            };
            new_slots.push((id, rewrapped));
        }
        let new_passphrase_slot = new_passphrase
            .map(|pw| {
                crate::strength::require_recovery(pw)?;
                Slot::passphrase(&self.vault_id, &new_keys.vault_key, pw, KdfParams::DEFAULT)
            })
            .transpose()?;
        let path = &self.path;
        let db = |e| db_error(path, e);
        let tx = self.begin()?;
        // Every sealed column is re-encrypted from the one declaration; the
        // name index is recomputed under the new key from each current
        // record's metadata as it passes (history rows have none).
        let new = Cipher {
            vault_id: &self.vault_id,
            keys: &new_keys,
        };
        let mut indexes = Vec::new();
        sealed::reseal_all(
            &tx,
            path,
            &self.vault_id,
            columns,
            &old_keys.vault_key,
            &new_keys.vault_key,
            &mut |column, keys, plain| {
                if (column.table, column.column) == ("credentials", "meta") {
                    #[derive(serde::Deserialize)]
                    struct Name {
                        name: String,
                        #[serde(default)]
                        trashed_at: Option<DateTime<Utc>>,
                    }
                    let meta: Name = serde_json::from_slice(plain)
                        .map_err(|_| Error::integrity("a credential record: malformed content"))?;
                    // A record in the trash keeps its index (not a MAC).
                    if meta.trashed_at.is_none() {
                        indexes.push((keys[0].clone(), new.name_index(&meta.name)));
                    }
                }
                Ok(())
            },
        )?;
        let mut set_index = tx
            .prepare("UPDATE credentials SET name_index = ?1 WHERE id = ?2")
            .map_err(db)?;
        for (id, index) in indexes {
            let changed = set_index.execute(params![index, id]).map_err(db)?;
            debug_assert_eq!(changed, 1);
        }
        drop(set_index);
        for (id, slot) in &new_slots {
            tx.execute(
                "UPDATE slots SET body = ?1 WHERE id = ?2",
                params![slot.encode(), id],
            )
            .map_err(db)?;
        }
        if let Some(slot) = &new_passphrase_slot {
            tx.execute("DELETE FROM slots WHERE kind = 'passphrase'", [])
                .map_err(db)?;
            tx.execute(
                "INSERT INTO slots (kind, body, created_at) VALUES ('passphrase', ?1, ?2)",
                params![slot.encode(), millis(now)],
            )
            .map_err(db)?;
        }
        // The audit trail is re-encrypted and re-chained under the new key,
        // after checking it: a rekey must never launder a broken trail.
        audit::rechain(&tx, path, &self.vault_id, old_keys, &new_keys)?;
        let mut slots: Vec<&str> = new_slots.iter().map(|(_, s)| s.kind.as_str()).collect();
        if new_passphrase_slot.is_some() {
            slots.push("passphrase (new passphrase)");
        }
        // Every setting and rotation run was sealed again: the entry stamps
        // them all as they now are.
        let (settings, runs) = trail::stored_stamps(&tx, path)?;
        let mut event = Event::new(Action::Rekey).details(serde_json::json!({
            "slots": slots,
            "stored": settings,
            "runs": runs,
        }));
        event.target = Some((audit::STAMPS, "(settings)".to_owned()));
        audit::append(
            &tx,
            path,
            &self.vault_id,
            &new_keys,
            &self.actor,
            &event,
            now,
        )?;
        // The anchor names both heads across the commit: the old one under
        // the old key, the new one under the new key (see `Anchor::rekey`).
        let (seq, mac) = audit::head(&tx, path)?;
        audit::anchor_rekey(path, &old_keys.anchor_key, &new_keys.anchor_key, seq, &mac)?;
        tx.commit()?;
        self.keys = Some(new_keys);
        // Sealed under the old key, which a rekey is meant to retire.
        self.forget_catalog();
        // The slot now opens only with the new keyring key: it moves to the
        // vault's own entry (a failure here is finished by the next unlock).
        if let Some((sealer, kek)) = new_kek {
            crate::seal::store_verified(sealer, &self.vault_id(), &kek)?;
            sealer.remove(&next_entry(&self.vault_id()))?;
        }
        let keys = self.keys()?;
        audit::replace_anchor(&self.path, &keys.anchor_key, seq, &mac)
    }
}

/// Where the list's catalog is kept between runs, beside the vault
/// (search/file.rs).
pub(crate) fn catalog_path(vault: &Path) -> PathBuf {
    let mut p = vault.as_os_str().to_owned();
    p.push(".catalog");
    PathBuf::from(p)
}

impl Vault {
    /// Removes the catalog kept beside the vault; the next reader reads the
    /// rows. A purge calls it so that no metadata of what it destroyed
    /// stays in that file, a rekey so that nothing stays sealed under the
    /// old key.
    pub(crate) fn forget_catalog(&self) {
        match std::fs::remove_file(catalog_path(&self.path)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("removing the list's catalog beside the vault: {e}"),
        }
    }
}

/// The keyring entry a rekey's new key waits under until its commit.
fn next_entry(vault_id: &str) -> String {
    format!("{vault_id}.next")
}

/// What changed between two versions, by property and field name only.
fn describe_changes(
    a: &CredentialMeta,
    a_secrets: &Secrets,
    b: &CredentialMeta,
    b_secrets: &Secrets,
) -> Vec<String> {
    let mut changes = Vec::new();
    if a.name != b.name {
        changes.push("name".to_owned());
    }
    if a.env != b.env {
        changes.push("environment".to_owned());
    }
    if a.tags != b.tags {
        changes.push("tags".to_owned());
    }
    if a.notes != b.notes {
        changes.push("notes".to_owned());
    }
    if a.expires_at != b.expires_at {
        changes.push("expiry".to_owned());
    }
    if a.rotated_at != b.rotated_at {
        changes.push("rotated".to_owned());
    }
    if a.policy != b.policy {
        changes.push("policy".to_owned());
    }
    if a.compromised_at != b.compromised_at {
        changes.push("compromised".to_owned());
    }
    match (a.trashed_at, b.trashed_at) {
        (None, Some(_)) => changes.push("deleted to the trash".to_owned()),
        (Some(_), None) => changes.push("restored from the trash".to_owned()),
        _ => {}
    }
    let mut names: Vec<&String> = a
        .fields
        .keys()
        .chain(b.fields.keys())
        .chain(a_secrets.0.keys())
        .chain(b_secrets.0.keys())
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        let before = (a.fields.get(name), a_secrets.0.get(name));
        let after = (b.fields.get(name), b_secrets.0.get(name));
        if before != after {
            changes.push(format!("field {name}"));
        }
    }
    if changes.is_empty() {
        changes.push("no change".to_owned());
    }
    changes
}

#[cfg(test)]
#[path = "vault_tests.rs"]
mod tests;

mod trail;
mod trash;
mod tx;
mod unlock;
mod watch;

pub use trash::{Trashed, TRASH_DAYS};
pub(crate) use tx::WriteTx;
pub use unlock::{UnlockWith, Unlocked};

/// What one request of a [`Vault::reveal_batch`] revealed.
pub type Revealed = Vec<(Credential, Secrets)>;

/// One caller's reveal in a [`Vault::reveal_batch`].
#[derive(Clone, Debug)]
pub struct RevealRequest {
    pub names: Vec<String>,
    /// Only these secret fields (`None`: all of them).
    pub fields: Option<Vec<String>>,
    pub action: Action,
    /// Each entry's details: these, with the version and the fields revealed.
    pub details: serde_json::Value,
}

/// The one item of a batch or list that has exactly one.
fn only<T>(items: Vec<T>) -> Result<T> {
    items.into_iter().next().ok_or_else(|| Error::Failure {
        what: "a reveal returned nothing".into(),
    })
}
