//! Planning and applying a sync (see the module docs in `mod.rs`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};

use super::api::{Entry, Expect, Fault};
use super::backend::Backend;
use super::link::{Link, Stored};
use super::payload::{content_digest, labels_digest, later, Payload};
use super::{
    Check, Direction, Done, Item, Keep, Options, Outcome, Plan, Progress, Remote, Report, State,
};
use crate::audit::{Action, Event};
use crate::credential::{validate_name, Credential, CredentialMeta, Secrets};
use crate::error::{Error, Result};
use crate::runtime::block_on;
use crate::vault::{Vault, WriteTx};

/// One name's place in the plan, with what applying it needs.
struct Work {
    name: String,
    state: State,
    detail: Option<String>,
    local: Option<Credential>,
    /// The local content (read when it may travel or be compared).
    local_content: Option<(CredentialMeta, Secrets)>,
    remote: Option<Entry>,
    /// The remote content in local form, for a pull.
    remote_content: Option<(CredentialMeta, Secrets)>,
    link: Option<Stored>,
    /// The content digest both sides now share (in-sync items whose link is behind).
    relink: Option<String>,
}

impl Work {
    fn item(&self) -> Item {
        Item {
            name: self.name.clone(),
            state: self.state,
            detail: self.detail.clone(),
            local_version: self.local.as_ref().map(|c| c.version),
            remote_version: self.remote.as_ref().map(|r| r.version.clone()),
        }
    }

    fn done(&self, outcome: Outcome, detail: Option<String>) -> Done {
        Done {
            name: self.name.clone(),
            state: self.state,
            outcome,
            detail,
        }
    }
}

fn fatal(f: Fault) -> Error {
    Error::Failure {
        what: f.message().to_owned(),
    }
}

/// Lists both sides and decides each name's state.
async fn build(
    vault: &Vault,
    remote: &Remote,
    backend: &Backend,
    only: &[String],
    concurrency: usize,
) -> Result<Vec<Work>> {
    let asked = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let mut entries: BTreeMap<String, Entry> = backend
        .scan(concurrency)
        .await
        .map_err(fatal)?
        .into_iter()
        .filter(|e| asked(&e.key))
        .map(|e| (e.key.clone(), e))
        .collect();
    let links: BTreeMap<String, Stored> = vault
        .links(&remote.id)?
        .into_iter()
        .map(|s| (s.link.key.clone(), s))
        .collect();
    // Credentials that log in to remotes stay local.
    let auth: BTreeSet<String> = vault
        .remotes()?
        .iter()
        .filter_map(|r| r.auth_credential().map(str::to_owned))
        .collect();
    let mut locals: BTreeMap<String, Credential> = vault
        .list()?
        .into_iter()
        .filter(|c| asked(&c.meta.name) && !auth.contains(&c.meta.name))
        .map(|c| (c.meta.name.clone(), c))
        .collect();
    // Only what the remote holds is listed, in either direction: a name is
    // held when the local credential or the remote secret is in scope (so
    // both sides of one name are always compared).
    let scope = remote.scope();
    let held: BTreeSet<String> = locals
        .values()
        .filter(|c| scope.holds(&c.meta.name, c.meta.tags.iter().map(String::as_str)))
        .map(|c| c.meta.name.clone())
        .chain(
            entries
                .values()
                .filter(|e| {
                    let tags = e
                        .labels
                        .get(super::payload::TAGS)
                        .map_or("", String::as_str);
                    scope.holds(&e.key, tags.split(' ').filter(|t| !t.is_empty()))
                })
                .map(|e| e.key.clone()),
        )
        .collect();
    let wanted = |name: &str| asked(name) && held.contains(name);
    locals.retain(|name, _| held.contains(name));
    entries.retain(|name, _| held.contains(name));

    // Read the content of remote secrets whose version moved (AWS lists without it).
    let moved: Vec<Entry> = entries
        .values()
        .filter(|e| e.payload.is_none() && e.fault.is_none())
        .filter(|e| match links.get(&e.key) {
            Some(l) => {
                l.link.remote_version != e.version
                    || l.link.remote_labels != labels_digest(&e.labels)
            }
            None => true,
        })
        .cloned()
        .collect();
    for e in backend.fill(moved, concurrency).await.map_err(fatal)? {
        entries.insert(e.key.clone(), e);
    }

    let key = &vault.keys()?.name_key;
    let names: BTreeSet<String> = entries
        .keys()
        .chain(locals.keys())
        .chain(links.keys().filter(|k| wanted(k)))
        .cloned()
        .collect();
    let mut out = Vec::new();
    for name in names {
        let local = locals.get(&name).cloned();
        let remote_entry = entries.remove(&name);
        let link = links.get(&name).cloned();
        let mut w = Work {
            name: name.clone(),
            state: State::InSync,
            detail: None,
            local,
            local_content: None,
            remote: remote_entry,
            remote_content: None,
            link,
            relink: None,
        };
        if auth.contains(&name) {
            continue;
        }
        if let Some(f) = w.remote.as_ref().and_then(|r| r.fault.clone()) {
            w.state = State::Error;
            w.detail = Some(f.message().to_owned());
            out.push(w);
            continue;
        }
        if w.remote.is_some() {
            if let Err(e) = validate_name(&name) {
                w.state = State::Error;
                w.detail = Some(format!(
                    "the remote name is not a valid credential name: {e}"
                ));
                out.push(w);
                continue;
            }
        }
        // The local side's digest, when it may have changed or must be compared.
        let local_digest = match (&w.local, &w.link) {
            (Some(c), Some(l)) if c.version == l.link.local_version => Some(l.link.digest.clone()),
            (Some(c), _) => {
                let (_, meta, secrets) = vault.current_with_secrets(vault.conn(), &c.meta.name)?;
                let d = content_digest(key, &meta, &secrets);
                w.local_content = Some((meta, secrets));
                Some(d)
            }
            (None, _) => None,
        };
        // The remote side's digest, when its content was read.
        let remote_digest = match w.remote.as_ref().and_then(|r| r.payload.as_ref()) {
            Some(p) => {
                let base = w
                    .local_content
                    .as_ref()
                    .map(|(m, _)| m)
                    .or(w.local.as_ref().map(|c| &c.meta));
                match p.to_local(&name, base) {
                    Ok((meta, secrets)) => {
                        let d = content_digest(key, &meta, &secrets);
                        w.remote_content = Some((meta, secrets));
                        Some(d)
                    }
                    Err(e) => {
                        w.state = State::Error;
                        w.detail = Some(format!("the remote secret cannot be stored here: {e}"));
                        out.push(w);
                        continue;
                    }
                }
            }
            None => w.link.as_ref().map(|l| l.link.digest.clone()),
        };
        let linked = w.link.as_ref().map(|l| l.link.digest.clone());
        let remote_digest = if w.remote.is_some() {
            remote_digest
        } else {
            None
        };
        let (state, why) = decide(
            local_digest.as_deref(),
            remote_digest.as_deref(),
            linked.as_deref(),
        );
        w.state = state;
        w.detail = why.map(str::to_owned);
        if w.local.is_none() && w.remote.is_none() {
            // Gone on both sides: only the link is left, dropped on apply.
            w.relink = Some(String::new());
        }
        if w.state == State::InSync && w.local.is_some() {
            let behind = match (&w.link, &w.local, &w.remote) {
                (Some(l), Some(c), Some(r)) => {
                    l.link.local_version != c.version
                        || l.link.remote_version != r.version
                        || l.link.remote_labels != labels_digest(&r.labels)
                }
                _ => true,
            };
            if behind {
                w.relink = local_digest;
            }
        }
        out.push(w);
    }
    Ok(out)
}

/// The state of one name from the content digest of each side (`None`:
/// absent there) and of the link (`None`: never synced), with the reason
/// for a conflict.
fn decide(
    local: Option<&str>,
    remote: Option<&str>,
    link: Option<&str>,
) -> (State, Option<&'static str>) {
    let local_changed = local.is_some() && local != link;
    let remote_changed = remote.is_some() && remote != link;
    match (local, remote, link) {
        (Some(l), Some(r), _) if l == r => (State::InSync, None),
        (Some(_), Some(_), Some(_)) => match (local_changed, remote_changed) {
            (true, true) => (
                State::Conflict,
                Some("changed on both sides since the last sync"),
            ),
            (true, false) => (State::ChangedLocal, None),
            (false, true) => (State::ChangedRemote, None),
            (false, false) => (State::InSync, None),
        },
        (Some(_), Some(_), None) => (
            State::Conflict,
            Some("exists on both sides with different content and was never synced"),
        ),
        (Some(_), None, Some(_)) if local_changed => (
            State::Conflict,
            Some("deleted on the remote, changed locally"),
        ),
        (Some(_), None, Some(_)) => (State::DeletedRemote, None),
        (Some(_), None, None) => (State::NewLocal, None),
        (None, Some(_), Some(_)) if remote_changed => (
            State::Conflict,
            Some("deleted locally, changed on the remote"),
        ),
        (None, Some(_), Some(_)) => (State::DeletedLocal, None),
        (None, Some(_), None) => (State::NewRemote, None),
        (None, None, _) => (State::InSync, None),
    }
}

/// Lists what a sync with `remote_name` would do; changes nothing.
pub fn plan(
    vault: &Vault,
    remote_name: &str,
    only: &[String],
    concurrency: usize,
    now: DateTime<Utc>,
) -> Result<Plan> {
    let remote = vault.remote(remote_name)?;
    block_on(async {
        let backend = Backend::connect(&remote, vault, now).await?;
        let work = build(vault, &remote, &backend, only, concurrency).await?;
        Ok(Plan {
            remote: remote.name.clone(),
            scope: remote.scope().describe(),
            items: work.iter().map(Work::item).collect(),
        })
    })?
}

/// `remote test`: reachability, login and permissions, each with what is missing.
pub fn test_remote(vault: &Vault, remote_name: &str, now: DateTime<Utc>) -> Result<Vec<Check>> {
    let remote = vault.remote(remote_name)?;
    block_on(async {
        let backend = match Backend::connect(&remote, vault, now).await {
            Ok(b) => b,
            Err(e) => return Ok(vec![Check::new("login", false, e.to_string())]),
        };
        Ok(backend.check().await)
    })?
}

fn link_for(
    w: &Work,
    local_version: u64,
    remote: &Entry,
    digest: String,
    now: DateTime<Utc>,
) -> Link {
    Link {
        key: w.name.clone(),
        local_version,
        remote_version: remote.version.clone(),
        remote_labels: labels_digest(&remote.labels),
        digest,
        synced_at: now,
    }
}

/// The audit entry of a pull or a push: the remote and path, the remote
/// version and the local one, and whether the write created the credential
/// on its receiving side.
fn synced(
    action: Action,
    remote: &Remote,
    w: &Work,
    entry: &Entry,
    credential: &Credential,
    created: bool,
) -> Event {
    Event::new(action)
        .target(credential.id, &w.name)
        .details(serde_json::json!({
            "remote": remote.name,
            "path": remote.location(&w.name),
            "remote_version": entry.version,
            "version": credential.version,
            "created": created,
        }))
}

impl Vault {
    /// Writes a pulled credential (new or changed) with its link, in `tx`.
    fn apply_pull(
        &self,
        tx: &WriteTx<'_>,
        remote: &Remote,
        w: &Work,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (meta, secrets) = w.remote_content.clone().ok_or_else(|| Error::Failure {
            what: "no remote content was read".into(),
        })?;
        let entry = w.remote.as_ref().ok_or_else(|| Error::Failure {
            what: "no remote entry".into(),
        })?;
        let digest = content_digest(&self.keys()?.name_key, &meta, &secrets);
        // Its fields came from the remote: shown as such until reviewed.
        let mut meta = meta;
        meta.arrived = Some(crate::credential::Arrival {
            via: format!("pull from remote '{}'", remote.name),
            at: now,
        });
        let (credential, created) = match &w.local {
            None => {
                let mut meta = meta;
                meta.rotated_at = later(meta.rotated_at, entry.updated);
                (self.insert(tx, meta, &secrets, now)?, true)
            }
            Some(seen) => {
                let (row, current, current_secrets) = self.current_with_secrets(tx, &w.name)?;
                if row.version != seen.version {
                    return Err(Error::Stale {
                        name: w.name.clone(),
                        expected: seen.version,
                        actual: row.version,
                    });
                }
                let mut meta = meta;
                if current_secrets != secrets {
                    // A new value written elsewhere counts as a rotation.
                    meta.rotated_at = later(current.rotated_at, entry.updated);
                }
                (self.write_version(tx, &row, &meta, &secrets, now)?, false)
            }
        };
        let link = link_for(w, credential.version, entry, digest, now);
        self.put_link(tx, &remote.id, w.link.as_ref(), &link)?;
        let event = synced(Action::SyncPull, remote, w, entry, &credential, created);
        tx.record(event, now)
    }

    /// Records a push that the remote accepted, in `tx`.
    fn apply_pushed(
        &self,
        tx: &WriteTx<'_>,
        remote: &Remote,
        w: &Work,
        entry: &Entry,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (local, digest) = match (&w.local, &w.local_content) {
            (Some(c), Some((m, s))) => (c, content_digest(&self.keys()?.name_key, m, s)),
            _ => {
                return Err(Error::Failure {
                    what: "no local content".into(),
                })
            }
        };
        let link = link_for(w, local.version, entry, digest, now);
        self.put_link(tx, &remote.id, w.link.as_ref(), &link)?;
        let event = synced(
            Action::SyncPush,
            remote,
            w,
            entry,
            local,
            w.remote.is_none(),
        );
        tx.record(event, now)
    }

    /// Deletes the local credential whose remote secret was deleted (`--prune`), in `tx`.
    fn apply_delete_local(
        &self,
        tx: &WriteTx<'_>,
        remote: &Remote,
        w: &Work,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let seen = w.local.as_ref().ok_or_else(|| Error::NotFound {
            name: w.name.clone(),
        })?;
        let (row, _) = self.find_required(tx, &w.name)?;
        if row.version != seen.version {
            return Err(Error::Stale {
                name: w.name.clone(),
                expected: seen.version,
                actual: row.version,
            });
        }
        self.db(tx.execute("DELETE FROM credentials WHERE id = ?1", [&row.id.0[..]]))?;
        if let Some(l) = &w.link {
            self.drop_link(tx, l)?;
        }
        let event = Event::new(Action::Delete).target(row.id, &w.name).details(
            serde_json::json!({ "version": row.version, "via": "sync", "remote": remote.name }),
        );
        tx.record(event, now)
    }

    /// Records a remote deletion (`--prune`) or drops a link whose both sides are gone, in `tx`.
    fn apply_unlink(
        &self,
        tx: &WriteTx<'_>,
        remote: &Remote,
        w: &Work,
        deleted_remote: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if let Some(l) = &w.link {
            self.drop_link(tx, l)?;
        }
        if deleted_remote {
            let event = Event::new(Action::SyncPush).details(serde_json::json!({
                "remote": remote.name,
                "path": remote.location(&w.name),
                "deleted": true,
            }));
            tx.record(event, now)?;
        }
        Ok(())
    }

    /// Brings the link up to date for a credential both sides agree on, in `tx`.
    fn apply_relink(
        &self,
        tx: &WriteTx<'_>,
        remote: &Remote,
        w: &Work,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        match (&w.local, &w.remote) {
            (Some(c), Some(r)) => {
                let link = link_for(w, c.version, r, digest.to_owned(), now);
                self.put_link(tx, &remote.id, w.link.as_ref(), &link)
            }
            _ => match &w.link {
                Some(l) => self.drop_link(tx, l),
                None => Ok(()),
            },
        }
    }

    /// Records, in `tx`, that the two sides disagree.
    fn record_conflict(
        &self,
        tx: &WriteTx<'_>,
        remote: &Remote,
        w: &Work,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut event = Event::new(Action::SyncConflict).details(serde_json::json!({
            "remote": remote.name,
            "path": remote.location(&w.name),
            "reason": why,
        }));
        if let Some(c) = &w.local {
            event = event.target(c.id, &w.name);
        }
        tx.record(event, now)
    }
}

/// How many local writes of a sync share one transaction (and one fsync).
const LOCAL_GROUP: usize = 64;

/// Pull and/or push, as the options say. Conflicts and per-credential
/// failures are in the report; an unreachable remote or a rejected login
/// is an error (what was applied before it stays applied).
pub fn sync(
    vault: &mut Vault,
    remote_name: &str,
    options: &Options,
    progress: &mut dyn Progress,
    now: impl Fn() -> DateTime<Utc>,
) -> Result<Report> {
    let vault: &Vault = vault;
    let remote = vault.settle_scope(remote_name, now())?;
    let pull = options.direction != Direction::Push;
    let push = options.direction != Direction::Pull;
    block_on(async {
        let backend = Backend::connect(&remote, vault, now()).await?;
        let work = build(
            vault,
            &remote,
            &backend,
            &options.only,
            options.concurrency.max(1),
        )
        .await?;
        let mut report = Report {
            remote: remote.name.clone(),
            dry_run: options.dry_run,
            done: Vec::new(),
            in_sync: 0,
        };
        let mut local_jobs = Vec::new();
        let mut remote_jobs = Vec::new();
        for w in work {
            match w.state {
                State::InSync => {
                    report.in_sync += 1;
                    if w.relink.is_some() {
                        local_jobs.push(w);
                    }
                }
                State::Conflict | State::Error => local_jobs.push(w),
                State::NewRemote | State::ChangedRemote | State::DeletedRemote if pull => {
                    local_jobs.push(w)
                }
                State::NewLocal | State::ChangedLocal | State::DeletedLocal if push => {
                    remote_jobs.push(w)
                }
                _ => {}
            }
        }
        let shown = local_jobs
            .iter()
            .filter(|w| w.state != State::InSync)
            .count()
            + remote_jobs.len();
        progress.start(shown);
        let mut finish = |report: &mut Report, d: Done, shown: bool| {
            if shown {
                progress.done(&d);
                report.done.push(d);
            }
        };
        // Local writes are committed in groups: one fsync for each group
        // rather than for each credential. Each credential's writes sit in a
        // savepoint, so one that fails is undone alone, and a credential is
        // reported done only once its group is committed.
        for group in local_jobs.chunks(LOCAL_GROUP) {
            let tx = if options.dry_run {
                None
            } else {
                Some(vault.begin()?)
            };
            // (A dry run writes nothing.)
            let write = |f: &dyn Fn(&WriteTx<'_>) -> Result<()>| match &tx {
                Some(tx) => tx.savepoint(f),
                None => Ok(()),
            };
            let mut done = Vec::with_capacity(group.len());
            for w in group {
                let at = now();
                let (outcome, detail) = match w.state {
                    State::InSync => {
                        if let Some(d) = &w.relink {
                            write(&|tx| vault.apply_relink(tx, &remote, w, d, at))?;
                        }
                        continue;
                    }
                    State::Conflict => {
                        let why = w.detail.clone().unwrap_or_default();
                        write(&|tx| vault.record_conflict(tx, &remote, w, &why, at))?;
                        (Outcome::Conflict, Some(why))
                    }
                    State::Error => (Outcome::Failed, w.detail.clone()),
                    State::DeletedRemote if !options.prune => (Outcome::Kept, None),
                    _ if options.dry_run => (planned(w.state), None),
                    State::DeletedRemote => {
                        match write(&|tx| vault.apply_delete_local(tx, &remote, w, at)) {
                            Ok(()) => (Outcome::DeletedLocal, None),
                            Err(e) => (Outcome::Failed, Some(e.to_string())),
                        }
                    }
                    _ => match write(&|tx| vault.apply_pull(tx, &remote, w, at)) {
                        Ok(()) => (Outcome::Pulled, None),
                        Err(e) => (Outcome::Failed, Some(e.to_string())),
                    },
                };
                done.push(w.done(outcome, detail));
            }
            if let Some(tx) = tx {
                tx.commit()?;
            }
            for d in done {
                finish(&mut report, d, true);
            }
        }
        if options.dry_run {
            for w in &remote_jobs {
                let outcome = if w.state == State::DeletedLocal && !options.prune {
                    Outcome::Kept
                } else {
                    planned(w.state)
                };
                finish(&mut report, w.done(outcome, None), true);
            }
            return Ok(report);
        }
        let backend = &backend;
        let mut results = stream::iter(remote_jobs.iter())
            .map(|w| async move {
                let r = match w.state {
                    State::DeletedLocal if !options.prune => return (w, Ok(None)),
                    State::DeletedLocal => {
                        let version = w
                            .link
                            .as_ref()
                            .map(|l| l.link.remote_version.clone())
                            .unwrap_or_default();
                        backend.delete(&w.name, &version).await.map(|()| None)
                    }
                    _ => {
                        let payload = match &w.local_content {
                            Some((m, s)) => Payload::from_local(m, s),
                            None => return (w, Err(Fault::Other("no local content".into()))),
                        };
                        let expect = match (&w.remote, &w.link) {
                            (None, _) => Expect::Absent,
                            (Some(_), Some(l)) => Expect::Version(&l.link.remote_version),
                            (Some(_), None) => Expect::Absent,
                        };
                        backend.write(&w.name, &payload, expect).await.map(Some)
                    }
                };
                (w, r)
            })
            .buffer_unordered(options.concurrency.max(1));
        let mut fatal_fault = None;
        while let Some((w, r)) = results.next().await {
            let at = now();
            let (outcome, detail) = match r {
                Ok(None) if w.state == State::DeletedLocal && !options.prune => (Outcome::Kept, None),
                Ok(None) => match vault.write(|tx| vault.apply_unlink(tx, &remote, w, true, at)) {
                    Ok(()) => (Outcome::DeletedRemote, None),
                    Err(e) => (Outcome::Failed, Some(e.to_string())),
                },
                Ok(Some(entry)) => match vault.write(|tx| vault.apply_pushed(tx, &remote, w, &entry, at)) {
                    Ok(()) => (Outcome::Pushed, None),
                    Err(e) => (Outcome::Failed, Some(format!("pushed, but recording it failed ({e}); the next sync will see both sides agree"))),
                },
                Err(Fault::Conflict(why)) => {
                    vault.write(|tx| vault.record_conflict(tx, &remote, w, &why, at))?;
                    (Outcome::Conflict, Some(why))
                }
                Err(f) if f.fatal() => {
                    fatal_fault.get_or_insert(f);
                    break;
                }
                Err(f) => (Outcome::Failed, Some(f.message().to_owned())),
            };
            finish(&mut report, w.done(outcome, detail), true);
        }
        drop(results);
        if let Some(f) = fatal_fault {
            return Err(fatal(f));
        }
        Ok(report)
    })?
}

/// What applying a state would do (for `--dry-run`).
fn planned(state: State) -> Outcome {
    match state {
        State::NewRemote | State::ChangedRemote => Outcome::Pulled,
        State::NewLocal | State::ChangedLocal => Outcome::Pushed,
        State::DeletedRemote => Outcome::DeletedLocal,
        State::DeletedLocal => Outcome::DeletedRemote,
        State::Conflict => Outcome::Conflict,
        State::Error => Outcome::Failed,
        State::InSync => Outcome::Linked,
    }
}

/// Settles one credential: `Keep::Local` makes the remote equal the local
/// credential (or deletes the remote secret if it was deleted locally);
/// `Keep::Remote` the other way round. Audited.
pub fn resolve(
    vault: &mut Vault,
    remote_name: Option<&str>,
    name: &str,
    keep: Keep,
    now: impl Fn() -> DateTime<Utc>,
) -> Result<Done> {
    let vault: &Vault = vault;
    let remote = match remote_name {
        Some(r) => vault.remote(r)?,
        None => {
            let mut all = vault.remotes()?;
            match all.len() {
                1 => all.remove(0),
                0 => {
                    return Err(Error::invalid(
                        "resolve",
                        "no remote is configured (`coffer remote add`)",
                    ))
                }
                _ => {
                    let names: Vec<String> = all.into_iter().map(|r| r.name).collect();
                    return Err(Error::invalid(
                        "resolve",
                        format!(
                            "several remotes are configured; name one with --remote ({})",
                            names.join(", ")
                        ),
                    ));
                }
            }
        }
    };
    block_on(async {
        let backend = Backend::connect(&remote, vault, now()).await?;
        let only = [name.to_owned()];
        let mut work = build(vault, &remote, &backend, &only, 1).await?;
        let Some(mut w) = work.pop() else {
            return Err(Error::NotFound {
                name: name.to_owned(),
            });
        };
        if w.state == State::Error {
            return Err(Error::Failure {
                what: format!("'{name}': {}", w.detail.clone().unwrap_or_default()),
            });
        }
        let at = now();
        let outcome = match keep {
            Keep::Local => match (&w.local, &w.local_content) {
                (Some(_), content) => {
                    let (m, s) = match content {
                        Some(c) => c.clone(),
                        None => {
                            let (_, m, s) = vault.current_with_secrets(vault.conn(), name)?;
                            (m, s)
                        }
                    };
                    w.local_content = Some((m.clone(), s.clone()));
                    let entry = backend
                        .write(name, &Payload::from_local(&m, &s), Expect::Current)
                        .await
                        .map_err(fatal)?;
                    vault.write(|tx| vault.apply_pushed(tx, &remote, &w, &entry, at))?;
                    Outcome::Pushed
                }
                (None, _) => {
                    if let Some(r) = &w.remote {
                        backend.delete(name, &r.version).await.map_err(fatal)?;
                    }
                    vault.write(|tx| vault.apply_unlink(tx, &remote, &w, true, at))?;
                    Outcome::DeletedRemote
                }
            },
            Keep::Remote => match &w.remote {
                Some(_) => {
                    vault.write(|tx| vault.apply_pull(tx, &remote, &w, at))?;
                    Outcome::Pulled
                }
                None => {
                    if w.local.is_some() {
                        vault.write(|tx| vault.apply_delete_local(tx, &remote, &w, at))?;
                    } else {
                        vault.write(|tx| vault.apply_unlink(tx, &remote, &w, false, at))?;
                    }
                    Outcome::DeletedLocal
                }
            },
        };
        let tx = vault.begin()?;
        let mut event = Event::new(Action::SyncResolve).details(serde_json::json!({
            "remote": remote.name,
            "path": remote.location(name),
            "keep": match keep { Keep::Local => "local", Keep::Remote => "remote" },
            "was": w.state.as_str(),
        }));
        if let Some(c) = &w.local {
            event = event.target(c.id, name);
        }
        tx.record(event, at)?;
        tx.commit()?;
        Ok(w.done(outcome, w.detail.clone()))
    })?
}

/// Pushes credential `name` to every remote it is linked to (a rotation's
/// push step): `(remote, Ok(outcome) | Err(why))` for each. A remote that
/// is unreachable or in conflict is an `Err` there, never a silent skip.
pub fn push_linked(
    vault: &mut Vault,
    name: &str,
    now: impl Fn() -> DateTime<Utc> + Copy,
) -> Result<Vec<(String, std::result::Result<Outcome, String>)>> {
    let mut out = Vec::new();
    for remote in vault.remotes()? {
        let linked = vault.links(&remote.id)?.iter().any(|l| l.link.key == name);
        if !linked {
            continue;
        }
        let options = Options {
            direction: Direction::Push,
            only: vec![name.to_owned()],
            dry_run: false,
            prune: false,
            concurrency: 1,
        };
        let result = match sync(vault, &remote.name, &options, &mut super::Quiet, now) {
            Ok(report) => match report.done.first() {
                None => Ok(Outcome::Linked),
                Some(d) if d.outcome == Outcome::Pushed => Ok(Outcome::Pushed),
                Some(d) => Err(format!(
                    "{}{}",
                    d.outcome.as_str(),
                    d.detail
                        .as_deref()
                        .map(|x| format!(": {x}"))
                        .unwrap_or_default()
                )),
            },
            Err(e) => Err(e.to_string()),
        };
        out.push((remote.name, result));
    }
    Ok(out)
}

/// One side of a credential as [`compare`] shows it: metadata and the names
/// of its secret fields, never their values.
#[derive(Clone, Debug, Default)]
pub struct Side {
    pub version: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    /// `None` when this side has no such credential (deleted or never made).
    pub meta: Option<CredentialMeta>,
    pub secret_fields: Vec<String>,
}

/// Both sides of one credential, for showing a conflict side by side.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub name: String,
    pub state: State,
    pub detail: Option<String>,
    pub local: Side,
    pub remote: Side,
    /// Secret fields whose values differ between the sides (or exist on one only).
    pub differs: BTreeSet<String>,
}

/// Reads both sides of `name` (the remote one fresh) without changing
/// anything; the comparison of secret values happens here, so only whether
/// they differ leaves the core.
pub fn compare(
    vault: &Vault,
    remote_name: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Comparison> {
    let remote = vault.remote(remote_name)?;
    let (w, remote_secrets) = read_both(vault, &remote, name, now)?;
    let local_secrets = w.local_content.as_ref().map(|(_, s)| s);
    let mut differs = BTreeSet::new();
    for (side, other) in [
        (local_secrets, remote_secrets.as_ref()),
        (remote_secrets.as_ref(), local_secrets),
    ] {
        for (field, value) in side.map(|s| s.0.iter()).into_iter().flatten() {
            if other.and_then(|o| o.0.get(field)) != Some(value) {
                differs.insert(field.clone());
            }
        }
    }
    let side = |content: Option<&(CredentialMeta, Secrets)>,
                version: Option<String>,
                updated_at: Option<DateTime<Utc>>| Side {
        version,
        updated_at,
        meta: content.map(|(m, _)| m.clone()),
        secret_fields: content
            .map(|(_, s)| s.0.keys().cloned().collect())
            .unwrap_or_default(),
    };
    let remote_content = w.remote_content.clone();
    Ok(Comparison {
        name: name.to_owned(),
        state: w.state,
        detail: w.detail.clone(),
        local: side(
            w.local_content.as_ref(),
            w.local.as_ref().map(|c| c.version.to_string()),
            w.local.as_ref().map(|c| c.updated_at),
        ),
        remote: side(
            remote_content.as_ref(),
            w.remote.as_ref().map(|r| r.version.clone()),
            w.remote.as_ref().and_then(|r| r.updated),
        ),
        differs,
    })
}

/// One secret field of the remote side of `name`, for a person deciding a
/// conflict. Audited as a reveal naming the remote.
pub fn reveal_remote(
    vault: &Vault,
    remote_name: &str,
    name: &str,
    field: &str,
    now: DateTime<Utc>,
) -> Result<crate::SecretValue> {
    let remote = vault.remote(remote_name)?;
    let (w, secrets) = read_both(vault, &remote, name, now)?;
    let value = secrets
        .and_then(|mut s| s.0.remove(field))
        .ok_or_else(|| Error::NotFound {
            name: format!("{name} field {field} on remote {remote_name}"),
        })?;
    let tx = vault.begin()?;
    let mut event = Event::new(Action::Reveal).details(serde_json::json!({
        "fields": [field],
        "remote": remote.name,
        "path": remote.location(name),
    }));
    if let Some(c) = &w.local {
        event = event.target(c.id, name);
    }
    tx.record(event, now)?;
    tx.commit()?;
    Ok(value)
}

/// Plans `name` alone and makes sure both sides' content was read.
fn read_both(
    vault: &Vault,
    remote: &Remote,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(Work, Option<Secrets>)> {
    block_on(async {
        let backend = Backend::connect(remote, vault, now).await?;
        let only = [name.to_owned()];
        let mut w = build(vault, remote, &backend, &only, 1)
            .await?
            .pop()
            .ok_or_else(|| Error::NotFound {
                name: name.to_owned(),
            })?;
        if w.local_content.is_none() && w.local.is_some() {
            let (_, m, s) = vault.current_with_secrets(vault.conn(), name)?;
            w.local_content = Some((m, s));
        }
        if w.remote_content.is_none() {
            if let Some(entry) = w.remote.clone() {
                let filled = backend.fill(vec![entry], 1).await.map_err(fatal)?;
                let base = w.local_content.as_ref().map(|(m, _)| m);
                if let Some(p) = filled.first().and_then(|e| e.payload.as_ref()) {
                    w.remote_content = Some(p.to_local(name, base)?);
                }
            }
        }
        let secrets = w.remote_content.as_ref().map(|(_, s)| s.clone());
        Ok((w, secrets))
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_combination_of_sides_gets_its_state() {
        type Case = (
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
            State,
        );
        let cases: &[Case] = &[
            (Some("a"), Some("a"), Some("a"), State::InSync),
            (Some("b"), Some("a"), Some("a"), State::ChangedLocal),
            (Some("a"), Some("b"), Some("a"), State::ChangedRemote),
            (Some("b"), Some("c"), Some("a"), State::Conflict),
            // Both changed the same way: nothing to do but agree.
            (Some("b"), Some("b"), Some("a"), State::InSync),
            (Some("a"), Some("a"), None, State::InSync),
            (Some("a"), Some("b"), None, State::Conflict),
            (Some("a"), None, Some("a"), State::DeletedRemote),
            (Some("b"), None, Some("a"), State::Conflict),
            (Some("a"), None, None, State::NewLocal),
            (None, Some("a"), Some("a"), State::DeletedLocal),
            (None, Some("b"), Some("a"), State::Conflict),
            (None, Some("a"), None, State::NewRemote),
            (None, None, Some("a"), State::InSync),
        ];
        for (local, remote, link, want) in cases {
            let (got, why) = decide(*local, *remote, *link);
            assert_eq!(got, *want, "{local:?} {remote:?} {link:?}");
            assert_eq!(
                got == State::Conflict,
                why.is_some(),
                "a conflict always says why"
            );
        }
    }

    #[test]
    fn a_one_sided_change_is_never_a_conflict_and_never_lost() {
        // Whatever the digests, a side that did not move never wins over
        // one that did, and two moves to different content always conflict.
        let values = [None, Some("a"), Some("b"), Some("c")];
        for local in values {
            for remote in values {
                for link in values {
                    let (state, _) = decide(local, remote, link);
                    let l_moved = local.is_some() && local != link;
                    let r_moved = remote.is_some() && remote != link;
                    if l_moved && r_moved && local != remote {
                        assert_eq!(state, State::Conflict, "{local:?} {remote:?} {link:?}");
                    }
                    if state == State::ChangedRemote || state == State::DeletedLocal {
                        assert!(!l_moved || local.is_none(), "{local:?} {remote:?} {link:?}");
                    }
                    if state == State::ChangedLocal || state == State::DeletedRemote {
                        assert!(!r_moved, "{local:?} {remote:?} {link:?}");
                    }
                }
            }
        }
    }
}
