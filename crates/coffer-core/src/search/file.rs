//! The list's catalog kept between runs, beside the vault
//! (`<vault>.catalog`). A long-lived handle's first listing question reads
//! it instead of decrypting and parsing every row's metadata, then decrypts
//! only the rows it does not describe exactly (see `Vault::refresh`).
//!
//! What is trusted: the file is sealed (AES-256-GCM under a sub-key of the
//! vault key, bound to the vault id), so only a holder of the key wrote it.
//! It may still be old, or come from another copy of this vault (a file
//! restored beside a newer catalog, a vault copied back from elsewhere). So
//! an item of it counts only when a live row has the same id, version and
//! nonce of its metadata's envelope: the nonce is fresh at every seal, so
//! that row holds the very ciphertext the item was read from. Every other
//! row is read from the database as without a file. A file that does not
//! open, is not a regular file or is larger than [`MOST`] is ignored and
//! replaced at the next save.
//!
//! Its plaintext holds what the rows' metadata holds (names, tags, notes and
//! plain fields, lower-cased), never a secret value. A purge and a rekey
//! remove it (`Vault::forget_catalog`), so a purged credential's metadata
//! does not outlive it here, nor an old key's seal.
//!
//! The format is written by hand rather than through serde (postcard,
//! bincode): the catalog is already a few flat tables, and serde's chrono
//! support writes dates as text, which would be parsed again at every start,
//! the cost this file exists to save. Dates are seconds and nanoseconds, a
//! kind its place in [`Kind::ALL`].

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

use super::{Catalog, Item, Stamp, Timeline};
use crate::credential::CredentialId;
use crate::crypto::NONCE_LEN;
use crate::error::Result;
use crate::kind::Kind;
use crate::policy::Policies;
use crate::vault::{catalog_path, Vault};

/// The largest file read (100k credentials make about 30 MiB).
const MOST: u64 = 512 * 1024 * 1024;

/// The format of the plaintext; another value is read as no file.
const FORMAT: u8 = 1;

/// The nonce of a row's metadata envelope (after its version byte).
pub(super) type Seal = [u8; NONCE_LEN];

/// A catalog sealed and ready to be written beside its vault, made while
/// the vault was unlocked ([`Vault::catalog_to_save`]) and written without
/// it, so a shell can write it off the vault's lock.
pub struct CatalogFile {
    path: PathBuf,
    sealed: Vec<u8>,
}

impl std::fmt::Debug for CatalogFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogFile")
            .field("path", &self.path)
            .field("bytes", &self.sealed.len())
            .finish()
    }
}

impl CatalogFile {
    /// Puts the file in place (0600, written whole or not at all).
    pub fn write(self) -> Result<()> {
        crate::fsx::write_private(
            &self.path,
            &self.sealed,
            crate::fsx::Replace::Always,
            "writing the list's catalog",
        )
    }
}

impl Vault {
    /// The kept catalog sealed for the file beside the vault, when this
    /// handle keeps one that differs from the file (read from the rows, or
    /// changed since it was read or saved); `None` otherwise. Items whose
    /// rows moved meanwhile are left out: the next reader reads those rows.
    pub fn catalog_to_save(&self) -> Result<Option<CatalogFile>> {
        let path = catalog_path(self.path());
        // The file may have gone since (a purge, a rekey, the person).
        let unsaved = |c: &Catalog| !c.saved || !path.exists();
        if !matches!(&*self.kept::<super::Kept>(), super::Kept::Catalog(c) if unsaved(c)) {
            return Ok(None);
        }
        // Up to date first, then each item's nonce from its row.
        self.with_catalog(|_| ())?;
        let seals = self.seals()?;
        let mut kept = self.kept::<super::Kept>();
        let super::Kept::Catalog(catalog) = &mut *kept else {
            return Ok(None);
        };
        let plain = catalog.encode(&seals);
        catalog.saved = true;
        drop(kept);
        Ok(Some(CatalogFile {
            path,
            sealed: self.cipher()?.seal_catalog(&plain)?,
        }))
    }

    /// Every live row's id, version and metadata nonce.
    fn seals(&self) -> Result<HashMap<CredentialId, (u64, Seal)>> {
        let mut out = HashMap::new();
        self.each_version(true, |id, version, nonce| {
            if let (Ok(version), Ok(nonce)) = (u64::try_from(version), Seal::try_from(nonce)) {
                out.insert(id, (version, nonce));
            }
        })?;
        Ok(out)
    }

    /// The catalog in the file beside the vault with each item's nonce, or
    /// `None` when there is none that opens and reads whole.
    pub(super) fn stored_catalog(&self, stamp: Stamp) -> Option<(Catalog, Vec<Seal>)> {
        let path = catalog_path(self.path());
        let (mut file, size) = match open_regular(&path) {
            Ok(Some(opened)) => opened,
            Ok(None) => return None,
            Err(e) => {
                tracing::debug!("the list's catalog beside the vault was not read: {e}");
                return None;
            }
        };
        let mut sealed = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        if let Err(e) = file.by_ref().take(MOST).read_to_end(&mut sealed) {
            tracing::debug!("the list's catalog beside the vault was not read: {e}");
            return None;
        }
        let plain = self.cipher().ok()?.open_catalog(&sealed).ok()?;
        let read = Catalog::decode(&plain, stamp);
        if read.is_none() {
            tracing::debug!(
                "the list's catalog beside the vault is malformed; it will be replaced"
            );
        }
        read
    }
}

/// The file at `path` opened for reading, with its size, if it is a regular
/// file no larger than [`MOST`]; `None` if there is none. Opened without following a link
/// and without blocking, so a FIFO or a device put there cannot hold the
/// app's start.
fn open_regular(path: &std::path::Path) -> std::io::Result<Option<(std::fs::File, u64)>> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let file = std::fs::File::from(fd);
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() > MOST {
        return Err(std::io::Error::other(
            "not a regular file of a catalog's size",
        ));
    }
    Ok(Some((file, meta.len())))
}

impl Catalog {
    /// The catalog's tables and the items whose rows are as they were read
    /// (`seals` has the same version), each with its row's nonce.
    fn encode(&self, seals: &HashMap<CredentialId, (u64, Seal)>) -> Zeroizing<Vec<u8>> {
        let mut out = Writer(Zeroizing::new(Vec::with_capacity(
            self.text.len() + self.items.len() * 96 + 1024,
        )));
        out.u8(FORMAT);
        // Policies are few and small: JSON, as the settings table holds them.
        out.bytes(&serde_json::to_vec(&self.policies).unwrap_or_default());
        out.len(self.kinds.len());
        for kind in &self.kinds {
            out.u8(kind_index(*kind));
        }
        for table in [&self.envs, &self.tags] {
            out.len(table.len());
            for s in table.iter() {
                out.bytes(s.as_bytes());
            }
        }
        let current: Vec<usize> = (0..self.items.len())
            .filter(|&i| {
                let item = &self.items[i];
                seals.get(&item.id).is_some_and(|(v, _)| *v == item.version)
            })
            .collect();
        out.len(current.len());
        for &i in &current {
            let item = &self.items[i];
            let seal = seals.get(&item.id).map(|(_, s)| *s).unwrap_or_default();
            out.0.extend_from_slice(&item.id.0);
            out.u64(item.version);
            out.0.extend_from_slice(&seal);
            out.bytes(item.name.as_bytes());
            out.u8(kind_index(item.kind));
            out.u32(item.env.unwrap_or(u32::MAX));
            out.len(item.tags.len());
            for t in item.tags.iter() {
                out.u32(*t);
            }
            out.timeline(&item.timeline);
            out.len(self.item_text(i).len());
        }
        // The items' texts in one piece, read back in one piece.
        let texts: usize = current.iter().map(|&i| self.item_text(i).len()).sum();
        out.len(texts);
        for &i in &current {
            out.0.extend_from_slice(self.item_text(i).as_bytes());
        }
        out.0
    }

    /// The catalog `encode` wrote, checked to be one the search can rely on
    /// (names in order, tables sorted, every index inside its table), and
    /// each item's nonce; `None` if anything is off.
    fn decode(plain: &[u8], stamp: Stamp) -> Option<(Catalog, Vec<Seal>)> {
        let mut r = Reader(plain);
        if r.u8()? != FORMAT {
            return None;
        }
        let policies: Policies = serde_json::from_slice(r.bytes()?).ok()?;
        let kinds = (0..r.len()?)
            .map(|_| Kind::ALL.get(usize::from(r.u8()?)).copied())
            .collect::<Option<Vec<Kind>>>()?;
        let envs = r.table()?;
        let tags = r.table()?;
        let count = r.len()?;
        let mut items = Vec::with_capacity(count.min(plain.len() / 32));
        let mut seals = Vec::with_capacity(items.capacity());
        let mut starts = Vec::with_capacity(items.capacity() + 1);
        let mut end = 0usize;
        for _ in 0..count {
            let id = CredentialId(r.take(16)?.try_into().ok()?);
            let version = r.u64()?;
            seals.push(Seal::try_from(r.take(NONCE_LEN)?).ok()?);
            let name: Box<str> = r.str()?.into();
            let kind = *Kind::ALL.get(usize::from(r.u8()?))?;
            let env = match r.u32()? {
                u32::MAX => None,
                e if (e as usize) < envs.len() => Some(e),
                _ => return None,
            };
            let tags_of = (0..r.len()?)
                .map(|_| r.u32().filter(|t| (*t as usize) < tags.len()))
                .collect::<Option<Box<[u32]>>>()?;
            let timeline = r.timeline()?;
            starts.push(end);
            end = end.checked_add(r.len()?)?;
            if items.last().is_some_and(|last: &Item| *last.name > *name) {
                return None;
            }
            items.push(Item {
                id,
                version,
                name,
                kind,
                env,
                tags: tags_of,
                timeline,
            });
        }
        starts.push(end);
        let text = r.str()?;
        if !r.0.is_empty() || text.len() != end || !starts.iter().all(|&s| text.is_char_boundary(s))
        {
            return None;
        }
        let text = text.to_owned();
        let catalog = Catalog {
            stamp,
            policies,
            items,
            text,
            starts,
            kinds,
            envs,
            tags,
            saved: true,
        };
        Some((catalog, seals))
    }
}

fn kind_index(kind: Kind) -> u8 {
    Kind::ALL
        .iter()
        .position(|k| *k == kind)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(u8::MAX)
}

struct Writer(Zeroizing<Vec<u8>>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.0.extend_from_slice(b);
    }
    fn date(&mut self, d: Option<DateTime<Utc>>) {
        match d {
            None => self.u8(0),
            Some(d) => {
                self.u8(1);
                self.u64(d.timestamp() as u64);
                self.u32(d.timestamp_subsec_nanos());
            }
        }
    }
    fn timeline(&mut self, t: &Timeline) {
        self.u8(u8::from(t.compromised) | u8::from(t.has_due) << 1);
        self.date(t.expires);
        self.date(t.overdue_from);
        self.date(t.due_soon_from);
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    /// A count, never more than the bytes left could hold.
    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.u64()?)
            .ok()
            .filter(|n| *n <= self.0.len())
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.len()?;
        self.take(n)
    }
    fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }
    /// A table of strings, strictly sorted (it is searched by bisection).
    fn table(&mut self) -> Option<Vec<String>> {
        let n = self.len()?;
        let mut table: Vec<String> = Vec::with_capacity(n);
        for _ in 0..n {
            let s = self.str()?;
            if table.last().is_some_and(|last| last.as_str() >= s) {
                return None;
            }
            table.push(s.to_owned());
        }
        Some(table)
    }
    fn date(&mut self) -> Option<Option<DateTime<Utc>>> {
        match self.u8()? {
            0 => Some(None),
            1 => {
                let secs = self.u64()? as i64;
                let nanos = self.u32()?;
                Some(Some(DateTime::from_timestamp(secs, nanos)?))
            }
            _ => None,
        }
    }
    fn timeline(&mut self) -> Option<Timeline> {
        let flags = self.u8()?;
        if flags > 3 {
            return None;
        }
        Some(Timeline {
            compromised: flags & 1 != 0,
            has_due: flags & 2 != 0,
            expires: self.date()?,
            overdue_from: self.date()?,
            due_soon_from: self.date()?,
        })
    }
}
