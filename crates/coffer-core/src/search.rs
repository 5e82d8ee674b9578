//! Finding credentials: every word of a query must occur, case-insensitively,
//! in the name, kind, environment, tags, notes or a plain field value of a
//! credential. Secret values are never searched.
//!
//! A vault handle that searches more than once (the app, any long-lived
//! handle) keeps a [`Catalog`]: for every credential what the list sorts,
//! filters and counts on (name, kind, environment and tags interned, its
//! rotation timeline) and a lower-cased copy of its searchable text, so
//! `search` and `find` decrypt only the credentials they answer with (a
//! page) when nothing changed. The rest of the metadata (notes, fields,
//! policy) is not kept: at 100k credentials a catalog of whole
//! `Credential`s held ~1.6 KiB each, the compact one ~0.3 KiB. Each call first compares the catalog's stamp with the
//! database (`PRAGMA data_version` moves when another connection commits,
//! `total_changes` when this one writes); when it moved, only the rows whose
//! version changed are decrypted again. The catalog is dropped on lock.
//!
//! A handle's first `search` or `list` keeps nothing, as most handles (one
//! CLI command) never ask twice: it decrypts every row once, on all cores,
//! and a search parses only the rows whose plaintext can hold every word.
//!
//! A handle's first catalog starts from the one kept beside the vault
//! (search/file.rs) when there is one: only the rows it does not describe
//! exactly are decrypted. The app saves its catalog there after the
//! start's first read and on lock ([`Vault::catalog_to_save`]).

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use zeroize::Zeroizing;

use crate::credential::{Credential, CredentialId, CredentialMeta};
use crate::error::Result;
use crate::kind::Kind;
use crate::policy::{self, Policies, State, Status, DEFAULT_WARN_DAYS};
use crate::rows;
use crate::vault::{Cipher, Row, Vault};

mod file;
pub use file::CatalogFile;

/// One page of the app's list: a query, filters on kind, environment, tag
/// and rotation state, and the window of results wanted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Find {
    pub query: String,
    pub kind: Option<Kind>,
    pub env: Option<String>,
    pub tag: Option<String>,
    /// Only credentials in one of these rotation states; empty means any.
    pub states: Vec<State>,
    /// Only names in this folder or below it (`aws/prod/`: names are paths
    /// of `/`-separated parts); empty means every name.
    pub folder: String,
    /// Count the folders one level below `folder` among the matches
    /// ([`Found::folders`]); a list asks with its first page only.
    pub folders: bool,
    pub offset: usize,
    pub limit: usize,
}

/// The answer to a [`Find`]: how many matched, the requested window of them
/// (sorted by name) with their rotation status, and what the filter menus
/// can offer across the whole vault.
#[derive(Clone, Debug)]
pub struct Found {
    pub total: usize,
    pub items: Vec<(Credential, Status)>,
    pub facets: Facets,
    /// When asked: the folders one level below the one searched, each with
    /// how many matches it holds (at any depth), by name.
    pub folders: Vec<(String, usize)>,
}

/// Every kind, environment and tag in use, and how many credentials need
/// attention (overdue, expired, compromised) or are due soon.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facets {
    pub kinds: Vec<Kind>,
    pub envs: Vec<String>,
    pub tags: Vec<String>,
    pub needs_action: usize,
    pub due_soon: usize,
}

impl Vault {
    /// Runs `find` at `now`. Secret values are never read.
    pub fn find(&self, find: &Find, now: DateTime<Utc>) -> Result<Found> {
        let (page, (mut found, policies)) = self.through_catalog(|catalog| {
            let (page, found) = catalog.find(find, now);
            (page, (found, catalog.policies.clone()))
        })?;
        found.items = page
            .into_iter()
            .map(|credential| {
                let status = policy::status(&credential, &policies, now);
                (credential, status)
            })
            .collect();
        Ok(found)
    }

    /// Every credential's metadata, sorted by name. Every row is decrypted
    /// (on all cores): the catalog does not hold whole credentials.
    pub fn list(&self) -> Result<Vec<Credential>> {
        self.first_question()?;
        let mut all = self.all_credentials()?;
        all.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
        Ok(all)
    }

    /// Credentials whose name, kind, environment, tags, notes or plain field
    /// values contain every word of `query` (case-insensitive), sorted by name.
    pub fn search(&self, query: &str) -> Result<Vec<Credential>> {
        let query = Query::parse(query);
        if self.first_question()? {
            return self.scan(&query);
        }
        let (found, ()) = self.through_catalog(|catalog| {
            let hits = catalog.matching(&query);
            (catalog.rows_of(hits), ())
        })?;
        Ok(found)
    }

    /// Asks the catalog which credentials answer (their ids and versions, in
    /// order, and anything else `ask` returns), then decrypts those from
    /// their rows. A row that moved in between (another connection wrote)
    /// asks again, twice at most; the third time the rows are taken as they
    /// are, fresher than the catalog was.
    fn through_catalog<T>(
        &self,
        ask: impl Fn(&Catalog) -> (Vec<(CredentialId, u64)>, T),
    ) -> Result<(Vec<Credential>, T)> {
        let mut tries = 0;
        loop {
            tries += 1;
            let (wanted, other) = self.with_catalog(&ask)?;
            if let Some(found) = self.fetch(&wanted, tries < 3)? {
                return Ok((found, other));
            }
        }
    }

    /// A read transaction, so that every row read until it is dropped comes
    /// from the same snapshot; none inside a transaction already open.
    fn snapshot(&self) -> Result<Option<Transaction<'_>>> {
        if !self.conn().is_autocommit() {
            return Ok(None);
        }
        Ok(Some(self.db(Transaction::new_unchecked(
            self.conn(),
            TransactionBehavior::Deferred,
        ))?))
    }

    /// The live credentials `wanted`, in its order, read in one snapshot.
    /// When `exact`, `None` if any of them is gone or at another version.
    fn fetch(
        &self,
        wanted: &[(CredentialId, u64)],
        exact: bool,
    ) -> Result<Option<Vec<Credential>>> {
        let snapshot = if wanted.len() > 1 {
            self.snapshot()?
        } else {
            None
        };
        let cipher = self.cipher()?;
        let mut stmt = self.db(self.conn().prepare_cached(concat!(
            "SELECT id, version, created_at, updated_at, meta, x'' FROM credentials WHERE id = ?1 AND ",
            rows::live!()
        )))?;
        let mut found = Vec::with_capacity(wanted.len());
        for (id, version) in wanted {
            let raw = self.db(stmt.query_row([&id.0[..]], Vault::row_from).optional())?;
            let row = match raw {
                Some(raw) => Vault::make_row(raw)?,
                None if exact => return Ok(None),
                None => continue,
            };
            if exact && row.version != *version {
                return Ok(None);
            }
            found.push(live(row.credential(cipher.open_meta(&row)?))?);
        }
        drop(stmt);
        drop(snapshot);
        Ok(Some(found))
    }

    /// Whether this is the handle's first listing question, answered
    /// without keeping anything; from the next one on, a catalog is kept.
    fn first_question(&self) -> Result<bool> {
        self.flush()?;
        self.keys()?;
        let mut kept = self.kept::<Kept>();
        if matches!(*kept, Kept::Nothing) {
            *kept = Kept::Asked;
            return Ok(true);
        }
        Ok(false)
    }

    /// A search that keeps nothing: every row is decrypted once (on all
    /// cores), and only the rows whose plaintext can hold every word are
    /// parsed and matched.
    fn scan(&self, query: &Query) -> Result<Vec<Credential>> {
        let mut hits = self.each_meta(|row, plain, scratch| {
            if !query.might_match(plain, scratch) {
                return Ok(None);
            }
            let meta = Cipher::parse_meta(row, plain)?;
            Ok(query.matches(&meta).then(|| row.credential(meta)))
        })?;
        hits.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
        Ok(hits)
    }

    /// Every credential's metadata, in no particular order.
    fn all_credentials(&self) -> Result<Vec<Credential>> {
        self.each_meta(|row, plain, _| {
            live(row.credential(Cipher::parse_meta(row, plain)?)).map(Some)
        })
    }

    /// Runs `f` over the catalog, brought up to date with the database first.
    fn with_catalog<T>(&self, f: impl FnOnce(&Catalog) -> T) -> Result<T> {
        self.flush()?;
        let stamp = self.db(Stamp::read(self.conn()))?;
        // Inside a transaction of this connection the rows may still be
        // rolled back: answer from them, but do not keep the result.
        let keep = self.conn().is_autocommit();
        let old = match std::mem::take(&mut *self.kept::<Kept>()) {
            Kept::Catalog(catalog) => Some(catalog),
            Kept::Nothing | Kept::Asked => None,
        };
        let catalog = match old {
            Some(catalog) if catalog.stamp == stamp => catalog,
            old => Box::new(self.refresh(old.map(|c| *c), stamp)?),
        };
        let answer = f(&catalog);
        *self.kept::<Kept>() = if keep {
            Kept::Catalog(catalog)
        } else {
            Kept::Asked
        };
        Ok(answer)
    }

    /// A catalog of the database as it is now, reusing what `old` already
    /// decrypted for rows whose version did not move.
    fn refresh(&self, old: Option<Catalog>, stamp: Stamp) -> Result<Catalog> {
        let snapshot = self.snapshot()?;
        let policies = self.policies()?;
        let cipher = self.cipher()?;
        // A catalog from the file counts an item only where the row holds
        // the same envelope (its nonce): the file may be older than the rows.
        let (old, seals) = match old {
            Some(old) => (old, None),
            None => match self.stored_catalog(stamp) {
                Some((old, seals)) => (old, Some(seals)),
                None => return self.read_catalog(stamp, policies),
            },
        };
        if policies != old.policies {
            // New policies change every timeline, which only whole metadata
            // can tell.
            return self.read_catalog(stamp, policies);
        }
        let known: HashMap<CredentialId, (u64, usize)> = old
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| (item.id, (item.version, i)))
            .collect();
        let mut kept = Vec::with_capacity(old.items.len());
        let mut changed = Vec::new();
        let count =
            self.each_version(seals.is_some(), |id, version, nonce| match known.get(&id) {
                Some(&(v, i))
                    if i64::try_from(v).ok() == Some(version)
                        && seals.as_ref().is_none_or(|s| s[i][..] == *nonce) =>
                {
                    kept.push(i);
                }
                _ => changed.push(id),
            })?;
        if changed.len() > count / 4 + 16 {
            // Most of it moved (a rekey does not count: versions stay):
            // decrypting everything in parallel is as quick.
            return self.read_catalog(stamp, policies);
        }
        let mut rows = Vec::with_capacity(changed.len());
        {
            let mut stmt = self.db(self.conn().prepare_cached(
                "SELECT id, version, created_at, updated_at, meta, x'' FROM credentials WHERE id = ?1",
            ))?;
            for id in &changed {
                let raw = self.db(stmt.query_row([&id.0[..]], Vault::row_from).optional())?;
                if let Some(raw) = raw {
                    rows.push(Vault::make_row(raw)?);
                }
            }
        }
        drop(snapshot);
        let fresh = rows
            .iter()
            .map(|row| {
                let credential = live(row.credential(cipher.open_meta(row)?))?;
                Ok(Loose::new(credential, &policies))
            })
            .collect::<Result<Vec<_>>>()?;
        if fresh.is_empty() && kept.len() == old.items.len() {
            return Ok(Catalog { stamp, ..old });
        }
        Ok(Catalog::rebuild(stamp, old, &kept, fresh))
    }

    /// A catalog of every row. Each credential is cut down to what the
    /// catalog keeps on the thread that decrypted it, so the whole metadata
    /// of every credential is never held at once (at 100k that was 160 MB
    /// of short-lived allocations, which the allocator kept afterwards).
    fn read_catalog(&self, stamp: Stamp, policies: Policies) -> Result<Catalog> {
        let entries = self.each_meta(|row, plain, _| {
            let credential = live(row.credential(Cipher::parse_meta(row, plain)?))?;
            Ok(Some(Entry::Fresh(Loose::new(credential, &policies))))
        })?;
        Ok(Catalog::assemble(stamp, policies, entries, None))
    }
}

impl Vault {
    /// Hands `f` every live row's id, version and, with `nonces`, the nonce
    /// of its metadata's envelope (empty without), each read in place:
    /// nothing is allocated per row. Returns how many rows there were.
    fn each_version(
        &self,
        nonces: bool,
        mut f: impl FnMut(CredentialId, i64, &[u8]),
    ) -> Result<usize> {
        let sql = if nonces {
            concat!(
                "SELECT id, version, substr(meta, 2, 12) FROM credentials WHERE ",
                rows::live!()
            )
        } else {
            concat!(
                "SELECT id, version, x'' FROM credentials WHERE ",
                rows::live!()
            )
        };
        let mut stmt = self.db(self.conn().prepare_cached(sql))?;
        let mut rows = self.db(stmt.query([]))?;
        let mut count = 0;
        while let Some(r) = self.db(rows.next())? {
            count += 1;
            let id = CredentialId::from_slice(self.db(blob(r, 0))?)
                .ok_or_else(|| crate::Error::integrity("a credential id is malformed"))?;
            f(id, self.db(r.get(1))?, self.db(blob(r, 2))?);
        }
        Ok(count)
    }
}

/// A credential read as live, checked: one sealed as deleted but filed
/// under its name was moved out of the trash by someone without the key.
fn live(credential: Credential) -> Result<Credential> {
    if credential.meta.trashed_at.is_some() {
        return Err(crate::Error::integrity(format!(
            "credential record {} was deleted into the trash but is filed under its name: \
             the index was altered",
            credential.id
        )));
    }
    Ok(credential)
}

/// Column `i` of `r` as a blob, borrowed.
fn blob<'a>(r: &'a rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'a [u8]> {
    Ok(r.get_ref(i)?.as_blob()?)
}

/// Rows read per chunk handed to a decrypting thread.
const CHUNK_ROWS: usize = 512;

/// Below this many credentials everything runs on the calling thread.
const PARALLEL_FROM: usize = 2_000;

/// Rows of `credentials` as read in bulk: each row without its blobs, and
/// the metadata envelopes packed in one buffer (no allocation per row).
#[derive(Default)]
struct Chunk {
    rows: Vec<Row>,
    envelopes: Vec<u8>,
    ends: Vec<usize>,
}

impl Vault {
    /// Decrypts every credential's metadata and hands it, with its row, to
    /// `keep` (which also gets a scratch buffer of its thread). The rows are
    /// read on this thread chunk by chunk while other threads decrypt the
    /// chunks already read; this thread joins them once all are read. The
    /// results come in no particular order. Written by hand rather than with
    /// rayon (which `crate::par` uses): rayon spreads work over items it
    /// already holds, and this overlaps reading the rows (one SQLite cursor,
    /// on this thread) with decrypting them.
    pub(crate) fn each_meta<T: Send>(
        &self,
        keep: impl Fn(&Row, &[u8], &mut Vec<u8>) -> Result<Option<T>> + Sync,
    ) -> Result<Vec<T>> {
        let cipher = self.cipher()?;
        let open = |chunk: Chunk| -> Result<Vec<T>> {
            let opener = cipher.opener()?;
            let mut plain = Zeroizing::new(Vec::new());
            let mut scratch = Vec::new();
            let mut kept = Vec::new();
            let mut start = 0;
            for (row, &end) in chunk.rows.iter().zip(&chunk.ends) {
                let envelope = &chunk.envelopes[start..end];
                start = end;
                cipher.open_envelope_into(&opener, row, envelope, &mut plain)?;
                if let Some(t) = keep(row, &plain, &mut scratch)? {
                    kept.push(t);
                }
            }
            Ok(kept)
        };
        let count: i64 = self.db(self
            .conn()
            .prepare_cached(concat!(
                "SELECT COUNT(*) FROM credentials WHERE ",
                rows::live!()
            ))
            .and_then(|mut stmt| stmt.query_row([], |r| r.get(0))))?;
        let mut stmt = self.db(self.conn().prepare_cached(concat!(
            "SELECT id, version, created_at, updated_at, meta FROM credentials WHERE ",
            rows::live!()
        )))?;
        let mut rows = self.db(stmt.query([]))?;
        let mut next_chunk = || -> Result<Option<Chunk>> {
            let mut chunk = Chunk::default();
            while chunk.rows.len() < CHUNK_ROWS {
                let Some(r) = self.db(rows.next())? else {
                    break;
                };
                let id = self.db(blob(r, 0))?;
                let envelope = self.db(blob(r, 4))?;
                chunk.rows.push(Row {
                    id: CredentialId::from_slice(id)
                        .ok_or_else(|| crate::Error::integrity("a credential id is malformed"))?,
                    version: u64::try_from(self.db(r.get::<_, i64>(1))?)
                        .map_err(|_| crate::Error::integrity("a credential version is negative"))?,
                    created_at: self.db(r.get(2))?,
                    updated_at: self.db(r.get(3))?,
                    meta: Vec::new(),
                    secrets: Vec::new(),
                });
                chunk.envelopes.extend_from_slice(envelope);
                chunk.ends.push(chunk.envelopes.len());
            }
            Ok((!chunk.rows.is_empty()).then_some(chunk))
        };
        let helpers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8)) - 1;
        if helpers == 0 || usize::try_from(count).unwrap_or(0) < PARALLEL_FROM {
            let mut kept = Vec::new();
            while let Some(chunk) = next_chunk()? {
                kept.extend(open(chunk)?);
            }
            return Ok(kept);
        }
        let (sender, receiver) = std::sync::mpsc::channel::<Chunk>();
        let receiver = std::sync::Mutex::new(receiver);
        let work = || -> Result<Vec<T>> {
            let mut kept = Vec::new();
            loop {
                let next = receiver
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .recv();
                match next {
                    Ok(chunk) => kept.extend(open(chunk)?),
                    // Every chunk was sent and taken.
                    Err(_) => return Ok(kept),
                }
            }
        };
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..helpers).map(|_| s.spawn(work)).collect();
            let read = (|| -> Result<()> {
                while let Some(chunk) = next_chunk()? {
                    if sender.send(chunk).is_err() {
                        break;
                    }
                }
                Ok(())
            })();
            drop(sender);
            let mut kept = if read.is_ok() { work() } else { Ok(Vec::new()) };
            for handle in handles {
                let theirs = handle.join().unwrap_or_else(|_| {
                    Err(crate::Error::Failure {
                        what: "a decryption thread panicked".into(),
                    })
                });
                kept = match (kept, theirs) {
                    (Ok(mut mine), Ok(theirs)) => {
                        mine.extend(theirs);
                        Ok(mine)
                    }
                    (Err(e), _) | (_, Err(e)) => Err(e),
                };
            }
            read.and(kept)
        })
    }
}

/// What a vault handle keeps between listing questions.
#[derive(Default)]
pub(crate) enum Kept {
    /// Nothing was asked yet.
    #[default]
    Nothing,
    /// One question was answered, keeping nothing.
    Asked,
    /// The catalog kept for the next question (boxed: it is large).
    Catalog(Box<Catalog>),
}

/// What tells whether the database changed since the catalog was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    /// Moves when another connection commits.
    data_version: i64,
    /// Rows this connection inserted, updated or deleted, ever.
    own_changes: u64,
}

impl Stamp {
    fn read(conn: &Connection) -> rusqlite::Result<Stamp> {
        let data_version = conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        Ok(Stamp {
            data_version,
            own_changes: conn.total_changes(),
        })
    }
}

/// The rotation state of a credential as a function of time: the moments
/// where `rotation::status` changes its answer, computed once per catalog.
#[derive(Clone, Copy, Debug)]
struct Timeline {
    compromised: bool,
    expires: Option<DateTime<Utc>>,
    overdue_from: Option<DateTime<Utc>>,
    due_soon_from: Option<DateTime<Utc>>,
    has_due: bool,
}

impl Timeline {
    fn new(credential: &Credential, policies: &Policies) -> Timeline {
        // `since`, `due` and the policy do not depend on the time asked about.
        let status = policy::status(credential, policies, credential.created_at);
        let warn = status
            .policy
            .as_ref()
            .map_or(DEFAULT_WARN_DAYS, |(p, _)| p.warn_days);
        Timeline {
            compromised: credential.meta.compromised_at.is_some(),
            expires: credential.meta.expires_at,
            overdue_from: status
                .policy
                .as_ref()
                .map(|(p, _)| status.since + Duration::days(i64::from(p.max_age_days))),
            due_soon_from: status.due.map(|d| d - Duration::days(i64::from(warn))),
            has_due: status.due.is_some(),
        }
    }

    /// The same answer as `policy::status(..).state` (a test holds them together).
    fn state(&self, now: DateTime<Utc>) -> State {
        if self.compromised {
            State::Compromised
        } else if self.expires.is_some_and(|e| now >= e) {
            State::Expired
        } else if self.overdue_from.is_some_and(|d| now >= d) {
            State::Overdue
        } else if self.due_soon_from.is_some_and(|d| now >= d) {
            State::DueSoon
        } else if self.has_due {
            State::Ok
        } else {
            State::NoPolicy
        }
    }
}

/// One credential in the catalog: what the list sorts, filters and counts
/// on. Its environment and tags are indices into the catalog's tables.
struct Item {
    id: CredentialId,
    version: u64,
    name: Box<str>,
    kind: Kind,
    env: Option<u32>,
    tags: Box<[u32]>,
    timeline: Timeline,
}

/// Every live credential, sorted by name, with its searchable text.
pub(crate) struct Catalog {
    stamp: Stamp,
    policies: Policies,
    items: Vec<Item>,
    /// The lower-cased searchable properties of every item, in item order,
    /// each followed by '\n'. Query words never hold whitespace, so a match
    /// never spans two properties or two items.
    text: String,
    /// Where each item's text starts; one more entry than items (the end).
    starts: Vec<usize>,
    kinds: Vec<Kind>,
    /// Every environment and tag in use, sorted: the items' indices point here.
    envs: Vec<String>,
    tags: Vec<String>,
    /// Whether the file beside the vault held this catalog as it is when
    /// it was read or saved.
    saved: bool,
}

/// A credential read for a catalog, cut down to what the catalog keeps;
/// its environment and tags are interned when the catalog is assembled.
struct Loose {
    id: CredentialId,
    version: u64,
    name: String,
    kind: Kind,
    env: Option<String>,
    tags: Vec<String>,
    timeline: Timeline,
    /// Its lower-cased searchable text.
    text: String,
}

impl Loose {
    fn new(credential: Credential, policies: &Policies) -> Loose {
        let mut text = String::new();
        push_text(&mut text, &credential.meta);
        let timeline = Timeline::new(&credential, policies);
        let Credential {
            id, version, meta, ..
        } = credential;
        Loose {
            id,
            version,
            name: meta.name,
            kind: meta.kind,
            env: meta.env,
            tags: meta.tags,
            timeline,
            text,
        }
    }
}

/// A credential going into a new catalog.
enum Entry {
    /// Read from its row now.
    Fresh(Loose),
    /// Unchanged since the older catalog: its item there (environment and
    /// tags still indices into the older tables) and its index, whose text
    /// is still right.
    Kept(Item, usize),
}

impl Entry {
    fn name(&self) -> &str {
        match self {
            Entry::Fresh(loose) => &loose.name,
            Entry::Kept(item, _) => &item.name,
        }
    }
}

impl Catalog {
    /// The catalog after a change under the same policies: the items of
    /// `old` at `kept` stay, with their text and timelines, and the `fresh`
    /// ones come in.
    fn rebuild(stamp: Stamp, mut old: Catalog, kept: &[usize], fresh: Vec<Loose>) -> Catalog {
        let mut slots: Vec<Option<Item>> = std::mem::take(&mut old.items)
            .into_iter()
            .map(Some)
            .collect();
        let mut entries = Vec::with_capacity(kept.len() + fresh.len());
        for &i in kept {
            if let Some(item) = slots[i].take() {
                entries.push(Entry::Kept(item, i));
            }
        }
        entries.extend(fresh.into_iter().map(Entry::Fresh));
        let policies = old.policies.clone();
        Catalog::assemble(stamp, policies, entries, Some(&old))
    }

    fn assemble(
        stamp: Stamp,
        policies: Policies,
        entries: Vec<Entry>,
        old: Option<&Catalog>,
    ) -> Catalog {
        let count = entries.len();
        // Sorting indices moves 8 bytes per swap instead of a whole entry.
        let mut order: Vec<usize> = (0..count).collect();
        order.sort_by(|&a, &b| entries[a].name().cmp(entries[b].name()));
        // The tables of environments and tags, each string once.
        let (mut kinds, mut envs, mut tags) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for entry in &entries {
            match (entry, old) {
                (Entry::Fresh(loose), _) => {
                    kinds.insert(loose.kind);
                    envs.extend(loose.env.as_deref());
                    tags.extend(loose.tags.iter().map(String::as_str));
                }
                (Entry::Kept(item, _), Some(old)) => {
                    kinds.insert(item.kind);
                    envs.extend(item.env.map(|e| old.envs[e as usize].as_str()));
                    tags.extend(item.tags.iter().map(|&t| old.tags[t as usize].as_str()));
                }
                (Entry::Kept(..), None) => unreachable!("a kept item without its catalog"),
            }
        }
        let envs: Vec<String> = envs.into_iter().map(str::to_owned).collect();
        let tags: Vec<String> = tags.into_iter().map(str::to_owned).collect();
        // Every string looked up is in its table (it was just put there).
        let index = |table: &[String], s: &str| {
            u32::try_from(table.binary_search_by(|t| t.as_str().cmp(s)).unwrap_or(0))
                .unwrap_or(u32::MAX)
        };
        let size = entries
            .iter()
            .map(|entry| match (entry, old) {
                (Entry::Fresh(loose), _) => loose.text.len(),
                (Entry::Kept(_, i), Some(old)) => old.item_text(*i).len(),
                (Entry::Kept(..), None) => 0,
            })
            .sum();
        let mut slots: Vec<Option<Entry>> = entries.into_iter().map(Some).collect();
        let mut text = String::with_capacity(size);
        let mut starts = Vec::with_capacity(count + 1);
        let mut items = Vec::with_capacity(count);
        for entry in order.into_iter().filter_map(|i| slots[i].take()) {
            starts.push(text.len());
            let item = match (entry, old) {
                (Entry::Kept(mut item, i), Some(old)) => {
                    text.push_str(old.item_text(i));
                    item.env = item.env.map(|e| index(&envs, &old.envs[e as usize]));
                    for t in item.tags.iter_mut() {
                        *t = index(&tags, &old.tags[*t as usize]);
                    }
                    item
                }
                (Entry::Kept(..), None) => unreachable!("a kept item without its catalog"),
                (Entry::Fresh(loose), _) => {
                    text.push_str(&loose.text);
                    Item {
                        id: loose.id,
                        version: loose.version,
                        kind: loose.kind,
                        env: loose.env.as_deref().map(|e| index(&envs, e)),
                        tags: loose.tags.iter().map(|t| index(&tags, t)).collect(),
                        name: loose.name.into_boxed_str(),
                        timeline: loose.timeline,
                    }
                }
            };
            items.push(item);
        }
        starts.push(text.len());
        Catalog {
            stamp,
            policies,
            items,
            text,
            starts,
            kinds: kinds.into_iter().collect(),
            envs,
            tags,
            saved: false,
        }
    }

    /// The ids and versions of the items at `indices`.
    fn rows_of(&self, indices: impl IntoIterator<Item = usize>) -> Vec<(CredentialId, u64)> {
        indices
            .into_iter()
            .map(|i| (self.items[i].id, self.items[i].version))
            .collect()
    }

    fn item_text(&self, i: usize) -> &str {
        &self.text[self.starts[i]..self.starts[i + 1]]
    }

    /// Indices (in name order) of the items holding every word of `query`.
    fn matching(&self, query: &Query) -> Vec<usize> {
        let mut words: Vec<&str> = query.words.iter().map(String::as_str).collect();
        if words.is_empty() {
            return (0..self.items.len()).collect();
        }
        // The longest word is usually the rarest: one scan over the whole
        // text finds the items holding it; the other words are then looked
        // for in those items only.
        words.sort_by_key(|w| Reverse(w.len()));
        let mut hits = Vec::new();
        let mut at = 0;
        let scanner = Scanner::new(words[0]);
        while let Some(pos) = scanner.find_at(&self.text, at) {
            let item = self.starts.partition_point(|&s| s <= pos) - 1;
            hits.push(item);
            at = self.starts[item + 1];
        }
        for word in &words[1..] {
            hits.retain(|&i| self.item_text(i).contains(word));
        }
        hits
    }

    /// The answer to `find` but for the page's credentials, which are only
    /// named (ids and versions, in order): `Found::items` is left empty.
    fn find(&self, find: &Find, now: DateTime<Utc>) -> (Vec<(CredentialId, u64)>, Found) {
        let states: Vec<State> = self.items.iter().map(|i| i.timeline.state(now)).collect();
        let mut facets = Facets {
            kinds: self.kinds.clone(),
            envs: self.envs.clone(),
            tags: self.tags.clone(),
            ..Facets::default()
        };
        for state in &states {
            if state.needs_action() {
                facets.needs_action += 1;
            } else if *state == State::DueSoon {
                facets.due_soon += 1;
            }
        }
        // A filter on an environment or tag no credential has matches none.
        let lookup = |table: &[String], wanted: &Option<String>| {
            wanted.as_ref().map(|w| {
                table
                    .binary_search(w)
                    .ok()
                    .and_then(|i| u32::try_from(i).ok())
            })
        };
        let (env, tag) = (lookup(&self.envs, &find.env), lookup(&self.tags, &find.tag));
        let mut total = 0;
        let mut page = Vec::new();
        // The folder browsed is a run of the name order, found by two binary
        // searches: no other name is read for it (reading every name's bytes
        // is a cache miss per credential, 20 ms at 100k).
        let in_folder = self.folder_run(&find.folder);
        let mut wanted_in_order = Vec::new();
        for i in self.matching(&Query::parse(&find.query)) {
            if !in_folder.contains(&i) {
                continue;
            }
            let item = &self.items[i];
            let wanted = find.kind.is_none_or(|k| k == item.kind)
                && env.is_none_or(|e| e.is_some() && item.env == e)
                && tag.is_none_or(|t| t.is_some_and(|t| item.tags.contains(&t)))
                && (find.states.is_empty() || find.states.contains(&states[i]));
            if !wanted {
                continue;
            }
            if find.folders {
                wanted_in_order.push(i);
            }
            if total >= find.offset && page.len() < find.limit {
                page.push((item.id, item.version));
            }
            total += 1;
        }
        let found = Found {
            total,
            items: Vec::new(),
            facets,
            folders: self.folders_below(&find.folder, &wanted_in_order),
        };
        (page, found)
    }

    /// The items whose names are in `folder` (or below): a run of the name
    /// order (all of them for "").
    fn folder_run(&self, folder: &str) -> std::ops::Range<usize> {
        if folder.is_empty() {
            return 0..self.items.len();
        }
        fn name(i: &Item) -> &str {
            &i.name
        }
        let start = self.items.partition_point(|i| name(i) < folder);
        let len = self.items[start..].partition_point(|i| name(i).starts_with(folder));
        start..start + len
    }

    /// The folders one level below `folder` among `wanted` (item indices in
    /// name order, all in `folder`), with how many each holds. A folder's
    /// names are a run of that order, so each folder costs a binary search,
    /// not a read of every name in it.
    fn folders_below(&self, folder: &str, wanted: &[usize]) -> Vec<(String, usize)> {
        let name = |i: usize| &*self.items[i].name;
        let mut out = Vec::new();
        let mut at = 0;
        while at < wanted.len() {
            let here = name(wanted[at]);
            match here[folder.len()..].find('/') {
                Some(end) => {
                    let sub = &here[..folder.len() + end + 1];
                    let run = wanted[at..].partition_point(|&i| name(i).starts_with(sub));
                    out.push((sub.to_owned(), run));
                    at += run;
                }
                // A name directly in the folder.
                None => at += 1,
            }
        }
        out
    }
}

/// Appends the lower-cased searchable properties of `meta` to `text`.
fn push_text(text: &mut String, meta: &CredentialMeta) {
    for property in haystack(meta) {
        if property.is_ascii() {
            let from = text.len();
            text.push_str(property);
            text[from..].make_ascii_lowercase();
        } else {
            text.push_str(&property.to_lowercase());
        }
        text.push('\n');
    }
}

/// A substring search over the catalog's text. The `regex` crate turns an
/// escaped literal into a vectorised substring search (memchr's memmem),
/// several times quicker than `str::find` over megabytes of text.
enum Scanner<'a> {
    Literal(regex::Regex),
    Plain(&'a str),
}

impl<'a> Scanner<'a> {
    fn new(word: &'a str) -> Scanner<'a> {
        match regex::Regex::new(&regex::escape(word)) {
            Ok(re) => Scanner::Literal(re),
            // Only a word too long for the regex size limit gets here.
            Err(_) => Scanner::Plain(word),
        }
    }

    fn find_at(&self, text: &str, at: usize) -> Option<usize> {
        match self {
            Scanner::Literal(re) => re.find_at(text, at).map(|m| m.start()),
            Scanner::Plain(word) => text[at..].find(word).map(|p| at + p),
        }
    }
}

pub struct Query {
    words: Vec<String>,
}

impl Query {
    pub fn parse(query: &str) -> Query {
        Query {
            words: query.split_whitespace().map(str::to_lowercase).collect(),
        }
    }

    /// Whether a credential whose metadata JSON is `plain` can match: false
    /// only when it surely cannot, because a word that JSON writes as it is
    /// (ASCII, no quote, backslash or control character) is missing from
    /// ASCII text, compared case-insensitively. Text that is not ASCII
    /// passes (lower-casing can turn some of it into ASCII).
    fn might_match(&self, plain: &[u8], scratch: &mut Vec<u8>) -> bool {
        if self.words.is_empty() || !plain.is_ascii() {
            return true;
        }
        scratch.clear();
        scratch.extend_from_slice(plain);
        scratch.make_ascii_lowercase();
        let Ok(text) = std::str::from_utf8(scratch) else {
            return true;
        };
        self.words.iter().all(|word| {
            let verbatim = word
                .bytes()
                .all(|b| b.is_ascii() && b >= 0x20 && b != b'"' && b != b'\\');
            !verbatim || text.contains(word.as_str())
        })
    }

    pub fn matches(&self, meta: &CredentialMeta) -> bool {
        self.words
            .iter()
            .all(|word| haystack(meta).any(|field| contains_folded(field, word)))
    }
}

fn haystack(meta: &CredentialMeta) -> impl Iterator<Item = &str> {
    std::iter::once(meta.name.as_str())
        .chain(std::iter::once(meta.kind.as_str()))
        .chain(meta.env.as_deref())
        .chain(meta.tags.iter().map(String::as_str))
        .chain(meta.notes.as_deref())
        .chain(meta.fields.values().map(String::as_str))
}

/// `needle` is already lower-case. ASCII text, the common case, is compared
/// without allocating.
fn contains_folded(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        return n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    haystack.to_lowercase().contains(needle)
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
