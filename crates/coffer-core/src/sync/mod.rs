//! Sync with remote secret stores: HashiCorp Vault / OpenBao KV v2 (`kv`)
//! and AWS Secrets Manager (`sm`).
//!
//! A sync first builds a plan: the remote is listed (and read where its
//! version moved), the local credentials are compared with what each side
//! held when they last agreed (the `link`), and every name gets one
//! [`State`]. Applying the plan never overwrites a change it has not seen:
//! remote writes are conditional on the version Coffer last saw, local
//! writes on the local version the plan saw, and anything that changed on
//! both sides is a conflict that waits for `resolve`. Each credential is
//! applied in its own local transaction, together with its link and its
//! audit entry, so an interrupted sync leaves every credential either
//! fully updated or untouched, and running it again resumes.

mod api;
mod backend;
mod engine;
pub(crate) mod kv;
pub(crate) mod link;
pub(crate) mod payload;
pub mod remote;
mod sm;

use serde::Serialize;

pub use engine::{
    compare, plan, push_linked, resolve, reveal_remote, sync, test_remote, Comparison, Side,
};
pub use link::Binding;
pub use remote::{AwsSpec, Edited, Remote, Scope, Spec, VaultAuth, VaultSpec};

/// Requests in flight at once, by default.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// Where a credential stands between the vault and a remote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "SyncState"))]
pub enum State {
    /// Changed on both sides (or deleted on one, changed on the other).
    Conflict,
    /// The remote secret cannot be read or used; this name only.
    Error,
    NewRemote,
    ChangedRemote,
    DeletedRemote,
    NewLocal,
    ChangedLocal,
    DeletedLocal,
    InSync,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Conflict => "conflict",
            State::Error => "error",
            State::NewRemote => "new on remote",
            State::ChangedRemote => "changed remotely",
            State::DeletedRemote => "deleted remotely",
            State::NewLocal => "new locally",
            State::ChangedLocal => "changed locally",
            State::DeletedLocal => "deleted locally",
            State::InSync => "in sync",
        }
    }
}

/// One line of a plan.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    pub name: String,
    pub state: State,
    /// Why (for conflicts and errors).
    pub detail: Option<String>,
    pub local_version: Option<u64>,
    pub remote_version: Option<String>,
}

/// What a sync would do, without doing it.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub remote: String,
    /// What the remote holds ([`Scope::describe`]): nothing outside it is listed.
    pub scope: String,
    pub items: Vec<Item>,
}

impl Plan {
    pub fn count(&self, state: State) -> usize {
        self.items.iter().filter(|i| i.state == state).count()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Pull,
    Push,
    Both,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub direction: Direction,
    /// Only these credential names (all when empty).
    pub only: Vec<String>,
    pub dry_run: bool,
    /// Propagate deletions.
    pub prune: bool,
    pub concurrency: usize,
}

/// What happened to one credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pulled,
    Pushed,
    DeletedLocal,
    DeletedRemote,
    /// Both sides already agreed; only Coffer's record of them moved.
    Linked,
    /// A deletion not propagated (needs `--prune`).
    Kept,
    Conflict,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pulled => "pulled",
            Outcome::Pushed => "pushed",
            Outcome::DeletedLocal => "deleted locally",
            Outcome::DeletedRemote => "deleted on remote",
            Outcome::Linked => "linked",
            Outcome::Kept => "kept (deletion not propagated without --prune)",
            Outcome::Conflict => "conflict",
            Outcome::Failed => "failed",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Done {
    pub name: String,
    pub state: State,
    pub outcome: Outcome,
    pub detail: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub remote: String,
    pub dry_run: bool,
    pub done: Vec<Done>,
    pub in_sync: usize,
}

impl Report {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.done.iter().filter(|d| d.outcome == outcome).count()
    }
}

/// Told about progress as a sync runs (a progress bar, JSON lines, app events).
pub trait Progress {
    fn start(&mut self, _total: usize) {}
    fn done(&mut self, _item: &Done) {}
}

/// No progress reporting.
pub struct Quiet;
impl Progress for Quiet {}

/// Which side `resolve` keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    Local,
    Remote,
}

/// One line of `remote test`.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    pub(crate) fn new(name: &str, ok: bool, detail: String) -> Check {
        Check {
            name: name.to_owned(),
            ok,
            detail,
        }
    }
}
