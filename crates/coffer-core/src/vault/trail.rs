//! The vault's side of the audit trail: queuing and writing events inside
//! the vault's transactions, failed unlocks, verification against the
//! anchor and the records, and reading entries back. The trail's format and
//! chain live in `crate::audit`, below the vault.

use super::*;
use crate::audit::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// The stamp of every setting (by key) and rotation run (by hex id) as stored.
pub(crate) fn stored_stamps(
    conn: &rusqlite::Connection,
    path: &std::path::Path,
) -> Result<(BTreeMap<String, String>, BTreeMap<String, String>)> {
    let read = || -> rusqlite::Result<_> {
        let mut settings = BTreeMap::new();
        let mut stmt = conn.prepare("SELECT key, value FROM settings")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let value: Vec<u8> = r.get(1)?;
            settings.insert(r.get::<_, String>(0)?, stamp(&[&value]));
        }
        let mut runs = BTreeMap::new();
        let mut stmt = conn.prepare("SELECT id, state, pending FROM rotations")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: Vec<u8> = r.get(0)?;
            let state: Vec<u8> = r.get(1)?;
            let pending: Option<Vec<u8>> = r.get(2)?;
            runs.insert(
                hex::encode(id),
                stamp(&[&state, pending.as_deref().unwrap_or_default()]),
            );
        }
        Ok((settings, runs))
    };
    read().map_err(|e| crate::store::db_error(path, e))
}

/// The reasons Coffer records for a failed unlock (see
/// [`Vault::record_failed_unlock`]).
pub const FAILED_UNLOCK_REASONS: &[&str] = &[
    "wrong passphrase",
    "the keyring could not unlock it and it has no passphrase",
    "the keyring could not unlock it and no passphrase was given",
];

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
        tx.commit()
    }

    /// Records several events in one transaction (bulk work such as a sync
    /// run records each credential it touches this way).
    pub fn record_events(&self, events: &[Event], now: DateTime<Utc>) -> Result<()> {
        let tx = self.begin()?;
        tx.record_all(events, now)?;
        tx.commit()
    }

    /// One event in its own transaction.
    pub(crate) fn audited_write(&self, event: Event, now: DateTime<Utc>) -> Result<()> {
        let tx = self.begin()?;
        tx.record(event, now)?;
        tx.commit()
    }

    /// Queues the unlock (and the failed attempts recorded before it) for
    /// the next transaction, and says how many attempts failed.
    pub(crate) fn queue_unlock(
        &mut self,
        via: &str,
        now: DateTime<Utc>,
    ) -> Result<crate::vault::UnlockReport> {
        match (self.check_anchor(), &mut self.anchor) {
            (Ok(()), _) => {}
            (Err(Error::AnchorMismatch { problem, .. }), AnchorCheck::Accept(found)) => {
                *found = Some(problem);
            }
            (Err(e), _) => {
                self.keys = None;
                return Err(e);
            }
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
            // These rows were written without the key, so anyone who can
            // write the file can add or remove them: only Coffer's own
            // reasons and plain interface names are chained in as written.
            let recognised = FAILED_UNLOCK_REASONS.contains(&reason.as_str());
            let interface_ok = (1..=16).contains(&interface.len())
                && interface
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-');
            let mut event = Event::new(Action::UnlockFailed).details(serde_json::json!({
                "reason": if recognised { reason.as_str() } else { "unrecognised record (not written by Coffer)" },
                "interface": if interface_ok { interface.as_str() } else { "unknown" },
                "recorded_without_key": true,
            }));
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

    /// Refuses a vault that does not match its audit anchor: an older copy
    /// of the file put in place, committed transactions lost with the
    /// `-wal` file, an anchor altered or replaced, or no anchor at all while
    /// the trail has entries (deleting the anchor would otherwise make any
    /// older copy acceptable). Checked at every unlock, before anything is
    /// written, because the first write after a rollback would otherwise
    /// grow the trail past the anchor and move the anchor on, hiding it.
    ///
    /// The anchor is read before the head: it is written only after the
    /// entries it names are committed, so a genuine anchor is never ahead of
    /// a head read after it, whatever other processes do meanwhile. A rekey
    /// cut off at its commit leaves an anchor that verifies under whichever
    /// key the file has (`audit::anchor_rekey`).
    pub(super) fn check_anchor(&self) -> Result<()> {
        let keys = self.keys()?;
        let anchor = read_anchor(&self.path, &keys.anchor_key);
        let (head, _) = head(&self.conn, &self.path)?;
        let problem = match anchor {
            Err(_) => "the audit anchor does not verify (it was altered, replaced, or belongs \
                       to another vault)"
                .to_owned(),
            Ok(None) if head == 0 => return Ok(()),
            Ok(None) => format!(
                "the audit anchor is missing while the trail has {head} entries (deleting it \
                 would let an older copy of the vault pass)"
            ),
            Ok(Some((anchored, mac))) => {
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
                format!(
                    "{broken}: an older copy of the vault was put in place, or committed \
                     changes were lost with its -wal file"
                )
            }
        };
        Err(Error::AnchorMismatch {
            anchor: anchor_path(&self.path),
            problem,
        })
    }

    /// What a vault opened with [`Vault::open_accepting_anchor`] found wrong
    /// with its anchor, if anything.
    pub fn anchor_problem(&self) -> Option<&str> {
        match &self.anchor {
            AnchorCheck::Accept(Some(problem)) => Some(problem),
            _ => None,
        }
    }

    /// Accepts the vault as it is despite its anchor (a copy restored on
    /// purpose, an anchor lost with a disk): records in the trail what was
    /// accepted, then anchors the current head. Only for a vault opened
    /// with [`Vault::open_accepting_anchor`] whose anchor did not match.
    pub fn accept_anchor(&mut self, now: DateTime<Utc>) -> Result<()> {
        let Some(problem) = self.anchor_problem().map(str::to_owned) else {
            return Err(Error::invalid(
                "anchor",
                "the vault matches its audit anchor; there is nothing to accept",
            ));
        };
        let event =
            Event::new(Action::AnchorAccept).details(serde_json::json!({ "accepted": problem }));
        self.audited_write(event, now)?;
        self.anchor = AnchorCheck::Refuse;
        let keys = self.keys()?;
        let (seq, mac) = head(&self.conn, &self.path)?;
        replace_anchor(&self.path, &keys.anchor_key, seq, &mac)
    }

    /// Records a failed unlock without the vault key; it joins the chain at
    /// the next successful unlock. `reason` is one of [`FAILED_UNLOCK_REASONS`].
    pub fn record_failed_unlock(&self, reason: &str, now: DateTime<Utc>) -> Result<()> {
        if !FAILED_UNLOCK_REASONS.contains(&reason) {
            return Err(Error::invalid("reason", "not a reason Coffer records"));
        }
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
                return Ok(self
                    .check_sealed(keys, sealed::COLUMNS)
                    .and_then(|()| self.check_records(keys))
                    .and(verified));
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
        Ok(self
            .check_sealed(keys, sealed::COLUMNS)
            .and_then(|()| self.check_records(keys))
            .and(verified))
    }

    /// Opens every sealed value the declaration lists (`columns`), so a
    /// value flipped or moved in a table the trail does not describe is
    /// named too; a column added to the declaration is checked with no
    /// further code.
    pub(crate) fn check_sealed(
        &self,
        keys: &Keys,
        columns: &[sealed::Column],
    ) -> std::result::Result<(), Break> {
        sealed::check_all(
            &self.conn,
            &self.path,
            &self.vault_id,
            columns,
            &keys.vault_key,
        )
        .map_err(|e| Break::Sealed {
            what: e.to_string(),
        })
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
    ///
    /// The same pass reads the stamps of settings and rotation runs (see
    /// [`audit::stamp`]): each must still hold the value its last audited
    /// write stored, or an older genuine copy was put back (a replay that
    /// would restore a removed remote or hide an overdue key).
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
        let mut setting_stamps: BTreeMap<String, (u64, String)> = BTreeMap::new();
        let mut run_stamps: BTreeMap<String, (u64, String)> = BTreeMap::new();
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
            let stamps_of = |field: &str| {
                body.details
                    .get(field)
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| Some((k.clone(), (entry.seq, v.as_str()?.to_owned()))))
                    .collect::<Vec<_>>()
            };
            if target == audit::STAMPS.0 {
                setting_stamps.extend(stamps_of("stored"));
                run_stamps.extend(stamps_of("runs"));
                continue;
            }
            if let (Some(run), Some(stored)) = (
                body.details.get("run").and_then(Value::as_str),
                body.details.get("stored").and_then(Value::as_str),
            ) {
                run_stamps.insert(run.to_owned(), (entry.seq, stored.to_owned()));
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
        let (settings, runs) = stored_stamps(&self.conn, &self.path).map_err(unreadable)?;
        for (key, stamp) in &settings {
            if let Some((seq, stamped)) = setting_stamps.get(key) {
                if stamped != stamp {
                    return broken(
                        Some(*seq),
                        format!("setting '{}' is not the value audit entry {seq} stored: an older copy of it was put back", crate::credential::printable(key)),
                    );
                }
            }
        }
        for (run, stamp) in &runs {
            if let Some((seq, stamped)) = run_stamps.get(run) {
                if stamped != stamp {
                    return broken(
                        Some(*seq),
                        format!("rotation run {run} is not the state audit entry {seq} stored: an older copy of it was put back"),
                    );
                }
            }
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
        if query.limit == Some(0) {
            return Ok(out);
        }
        // The time bounds go to SQLite; the rest needs the decrypted body.
        // (Times are stored in whole milliseconds: a bound with a fraction
        // of one rounds inward, as comparing the times themselves would.)
        let since = query.since.map_or(i64::MIN, |s| {
            let ms = s.timestamp_millis();
            ms + i64::from(s.timestamp_subsec_nanos() % 1_000_000 != 0)
        });
        let until = query.until.map_or(i64::MAX, |u| u.timestamp_millis());
        newest_entries(&self.conn, &self.path, since, until, |stored| {
            let body = open_body(&keys.vault_key, &self.vault_id, &stored).ok_or_else(|| {
                Error::integrity(format!(
                    "audit entry {} does not decrypt (run `coffer audit verify`)",
                    stored.seq
                ))
            })?;
            if query.action.is_some_and(|a| a != body.action) {
                return Ok(true);
            }
            if let Some(name) = &query.credential {
                if body.target_name.as_deref() != Some(name.as_str()) {
                    return Ok(true);
                }
            }
            let mac: [u8; 32] = stored.mac.as_slice().try_into().unwrap_or([0u8; 32]);
            out.push(Entry {
                seq: stored.seq,
                at: from_millis(stored.at),
                target: stored.target.as_deref().and_then(CredentialId::from_slice),
                body,
                mac,
            });
            Ok(query.limit.is_none_or(|l| out.len() < l))
        })?;
        Ok(out)
    }
}
