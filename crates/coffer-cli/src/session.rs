//! Finding and unlocking the vault for a command: the keyring first, then
//! the recovery passphrase (from --passphrase-file, else a prompt on a terminal).

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::Utc;
use coffer_core::access::{self, Rule, Rules};
use coffer_core::agent::approval::Question;
use coffer_core::agent::client::{Client, Mode};
use coffer_core::agent::{Call, Reply, Request, Statuses};
use coffer_core::audit::Action;
use coffer_core::audit::{Break, Entry, Query, Verified};
use coffer_core::credential::{Arrival, FieldIs};
use coffer_core::rotation::{Filter, Policies, Policy, Scope};
use coffer_core::sessions::{self, AwsSession};
use coffer_core::{paths, Error, SecretService, SecretValue, UnlockReport, UnlockWith, Vault};
use coffer_core::{Credential, Draft, Patch, Secrets, Trashed, Updated, VersionInfo};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::exit::{cannot_unlock, CliError, Exit};
use crate::terminal;

pub struct Context {
    pub vault_path: PathBuf,
    pub passphrase_file: Option<PathBuf>,
}

impl Context {
    /// The vault at `vault` (else the default path), unlocked with the
    /// passphrase in `passphrase_file` when the keyring cannot.
    pub fn new(
        vault: Option<PathBuf>,
        passphrase_file: Option<PathBuf>,
    ) -> anyhow::Result<Context> {
        let vault_path = match vault {
            Some(p) => p,
            None => paths::default_vault_path()?,
        };
        Ok(Context {
            vault_path,
            passphrase_file,
        })
    }

    /// The recovery passphrase from --passphrase-file or, on a terminal, a prompt.
    pub fn passphrase(&self, prompt: &str) -> anyhow::Result<Option<SecretValue>> {
        if let Some(file) = &self.passphrase_file {
            return terminal::read_passphrase_file(file).map(Some);
        }
        if terminal::interactive() {
            return terminal::prompt_hidden(prompt).map(Some);
        }
        Ok(None)
    }

    /// Opens the vault and unlocks it by the core's policy (the keyring,
    /// then the recovery passphrase from --passphrase-file or a prompt).
    pub fn unlock(&self) -> anyhow::Result<Unlocked> {
        self.unlock_by(Vault::open_unlocked)
    }

    /// Unlocks a vault that may not match its audit anchor, for
    /// `audit accept-anchor` (see `Vault::open_accepting_anchor`).
    pub fn unlock_accepting_anchor(&self) -> anyhow::Result<Unlocked> {
        self.unlock_by(Vault::open_accepting_anchor)
    }

    fn unlock_by(
        &self,
        open: fn(
            &std::path::Path,
            &str,
            UnlockWith<'_>,
            chrono::DateTime<Utc>,
        ) -> coffer_core::Result<coffer_core::Unlocked>,
    ) -> anyhow::Result<Unlocked> {
        // The passphrase source fails with the CLI's own error (its exit
        // code); the core only learns that no passphrase came.
        let mut input_failed = None;
        let mut ask = || match self.passphrase("Recovery passphrase: ") {
            Ok(p) => Ok(p),
            Err(e) => {
                input_failed = Some(e);
                Err(Error::Failure {
                    what: "the recovery passphrase could not be read".into(),
                })
            }
        };
        let result = open(
            &self.vault_path,
            "cli",
            UnlockWith::KeyringThenPassphrase { ask: &mut ask },
            Utc::now(),
        );
        if let Some(e) = input_failed {
            return Err(e);
        }
        let unlocked = result.map_err(|e| match e {
            Error::NoWayIn {
                passphrase_slot: true,
                ..
            } => anyhow::Error::new(cannot_unlock(format!(
                "{e}: give it with --passphrase-file FILE (or run on a terminal to be prompted)"
            ))),
            Error::AnchorMismatch { .. } => anyhow::Error::new(CliError {
                exit: Exit::Integrity,
                message: format!(
                    "{e}. If you put this copy of the vault (or its anchor) in place yourself, \
                     accept it as it is with `coffer audit accept-anchor`"
                ),
            }),
            e => e.into(),
        })?;
        tell(&unlocked.report);
        Ok(Unlocked {
            vault: unlocked.vault,
            sealer: unlocked.sealer,
        })
    }
}

/// Tells the person about failed unlock attempts since the last unlock.
fn tell(report: &UnlockReport) {
    if report.failed_attempts > 0 {
        let since = report
            .failed_since
            .map(|t| format!(" since {}", crate::output::time(&t)))
            .unwrap_or_default();
        let s = if report.failed_attempts == 1 { "" } else { "s" };
        eprintln!(
            "coffer: note: {} failed unlock attempt{s}{since} (see `coffer audit --action unlock_failed`)",
            report.failed_attempts
        );
    }
}

/// An unlocked vault and the keyring connection, if one was made.
pub struct Unlocked {
    pub vault: Vault,
    pub sealer: Option<SecretService>,
}

impl Unlocked {
    /// Ends the command: writes queued audit events and anchors the trail.
    pub fn finish(self) -> anyhow::Result<()> {
        self.vault.close()?;
        Ok(())
    }
}

/// The keyring connection a new vault (`init`, `restore`) is sealed to, or
/// `None` with `--no-keyring`, which then needs a recovery passphrase.
pub fn new_vault_sealer(
    no_keyring: bool,
    recovery: Option<&SecretValue>,
) -> anyhow::Result<Option<SecretService>> {
    if no_keyring && recovery.is_none() {
        return Err(crate::exit::usage(
            "--no-keyring needs a recovery passphrase: the vault must have a way in",
        )
        .into());
    }
    if no_keyring {
        return Ok(None);
    }
    Ok(Some(SecretService::connect().map_err(|e| {
        cannot_unlock(format!(
            "cannot seal the new vault to the OS keyring: {e}. To create a vault that opens only with its passphrase, pass --no-keyring"
        ))
    })?))
}

/// Where a reading command gets credentials: the agent serving this vault
/// (by COFFER_AGENT, see coffer_core::agent::client::Mode), or the vault
/// opened and unlocked here. Either way the same values, errors and audit
/// entries (the agent's also name the asking process).
pub enum Source {
    Agent(Client),
    Local(Box<Unlocked>),
}

impl Context {
    pub fn source(&self) -> anyhow::Result<Source> {
        let mode = Mode::from_env()?;
        let Some((agent, status)) = Client::find_with_status(&self.vault_path, mode)? else {
            return Ok(Source::Local(Box::new(self.unlock()?)));
        };
        if status.unlocked {
            return Ok(Source::Agent(agent));
        }
        if status.takes_unlock {
            // A locked `coffer agent`: unlock it the usual way, through it.
            self.hand_over(&agent)?;
            return Ok(Source::Agent(agent));
        }
        if mode == Mode::Required {
            return Err(cannot_unlock(format!(
                "the agent serving the vault at {} is the app's, and the app is locked \
                 (COFFER_AGENT=required): unlock it in its window",
                self.vault_path.display()
            ))
            .into());
        }
        // The app's agent while the app is locked: this command unlocks on
        // its own (the app unlocks only in its window).
        Ok(Source::Local(Box::new(self.unlock()?)))
    }

    /// [`Context::source`] for writing `what`: a write too large for a
    /// request to the agent (a credential of many large values) is made
    /// here in `auto` mode, as any other process's write the agent then
    /// sees; `required` still refuses it, naming the limit.
    pub fn source_to_write(&self, what: &impl serde::Serialize) -> anyhow::Result<Source> {
        if !coffer_core::agent::client::fits(what) && Mode::from_env()? == Mode::Auto {
            return Ok(Source::Local(Box::new(self.unlock()?)));
        }
        self.source()
    }

    /// Hands a locked agent the way in: the keyring (which the agent opens
    /// itself), else the recovery passphrase from --passphrase-file or a
    /// prompt, as this command would have unlocked.
    fn hand_over(&self, agent: &Client) -> anyhow::Result<()> {
        match agent.call(&Request::Unlock { passphrase: None }) {
            Ok(_) => return Ok(()),
            Err(Error::Relayed {
                class: coffer_core::ErrorClass::CannotUnlock,
                ..
            }) => {}
            Err(e) => return Err(e.into()),
        }
        let Some(passphrase) = self.passphrase("Recovery passphrase: ")? else {
            return Err(cannot_unlock(format!(
                "the agent serving the vault at {} is locked and the keyring did not open it: \
                 give the recovery passphrase with --passphrase-file FILE (or run on a terminal \
                 to be prompted)",
                self.vault_path.display()
            ))
            .into());
        };
        let request = Request::Unlock {
            passphrase: Some(zeroize::Zeroizing::new(
                passphrase.expose_secret().to_owned(),
            )),
        };
        // A wrong passphrase comes back classed as it is here (exit 5).
        agent.call(&request)?;
        Ok(())
    }
}

impl Source {
    /// Credential `name` (no secret value, no reveal).
    pub fn get(&self, name: &str) -> anyhow::Result<Credential> {
        match self {
            Source::Local(u) => Ok(u.vault.get(name)?),
            Source::Agent(a) => match a.call(&Request::Fields { name: name.into() })? {
                Reply::Fields(c) => Ok(*c),
                other => unexpected(other),
            },
        }
    }

    /// One field of `name`: a plain one as it is (no reveal), a secret one
    /// revealed (audited), else the fields it has. One request to the agent.
    pub fn field(&self, name: &str, field: &str) -> anyhow::Result<FieldValue> {
        match self {
            Source::Local(u) => {
                match u.vault.get(name)?.meta.field(field) {
                    FieldIs::Plain(v) => return Ok(FieldValue::Plain(v.to_owned())),
                    FieldIs::Missing(known) => return Ok(FieldValue::Missing(known)),
                    FieldIs::Secret => {}
                }
                let (_, mut s) = u.vault.reveal(name, Some(&[field]), Utc::now())?;
                Ok(FieldValue::Secret(
                    s.0.remove(field).unwrap_or_else(|| SecretValue::from("")),
                ))
            }
            Source::Agent(a) => {
                let request = Request::Field {
                    name: name.into(),
                    field: field.into(),
                };
                match a.call_asking(&request, &mut tell_asking)? {
                    Reply::Revealed {
                        mut fields,
                        mut secrets,
                    } => Ok(match secrets.remove(field) {
                        Some(v) => FieldValue::Secret(SecretValue::from(v)),
                        None => FieldValue::Plain(fields.remove(field).unwrap_or_default()),
                    }),
                    Reply::NoField { known } => Ok(FieldValue::Missing(known)),
                    other => unexpected(other),
                }
            }
        }
    }

    /// Every credential, by name.
    pub fn list(&self) -> anyhow::Result<Vec<Credential>> {
        match self {
            Source::Local(u) => Ok(u.vault.list()?),
            Source::Agent(a) => called(a, Call::List),
        }
    }

    /// The credentials matching `query`.
    pub fn search(&self, query: &str) -> anyhow::Result<Vec<Credential>> {
        match self {
            Source::Local(u) => Ok(u.vault.search(query)?),
            Source::Agent(a) => called(
                a,
                Call::Search {
                    query: query.into(),
                },
            ),
        }
    }

    pub fn history(&self, name: &str) -> anyhow::Result<Vec<VersionInfo>> {
        match self {
            Source::Local(u) => Ok(u.vault.history(name)?),
            Source::Agent(a) => called(a, Call::History { name: name.into() }),
        }
    }

    /// How the current version of `c` arrived, if nobody has reviewed it.
    pub fn unreviewed(&self, c: &Credential) -> anyhow::Result<Option<Arrival>> {
        match self {
            Source::Local(u) => Ok(u.vault.unreviewed(c)?),
            Source::Agent(a) => called(
                a,
                Call::Unreviewed {
                    name: c.meta.name.clone(),
                },
            ),
        }
    }

    /// Records that the person has seen `name`'s fields.
    pub fn mark_reviewed(&mut self, name: &str) -> anyhow::Result<bool> {
        match self {
            Source::Local(u) => Ok(u.vault.mark_reviewed(name, Utc::now())?),
            Source::Agent(a) => called(a, Call::MarkReviewed { name: name.into() }),
        }
    }

    pub fn add(&mut self, draft: Draft) -> anyhow::Result<Credential> {
        match self {
            Source::Local(u) => Ok(u.vault.add(draft, Utc::now())?),
            Source::Agent(a) => called(a, Call::Add { draft }),
        }
    }

    pub fn update(&mut self, name: &str, patch: Patch) -> anyhow::Result<Updated> {
        match self {
            Source::Local(u) => Ok(u.vault.update(name, &patch, Utc::now())?),
            Source::Agent(a) => called(
                a,
                Call::Update {
                    name: name.into(),
                    patch,
                },
            ),
        }
    }

    /// Deletes `name` into the trash, or for good when `purge`.
    pub fn remove(&mut self, name: &str, purge: bool) -> anyhow::Result<Credential> {
        match self {
            Source::Local(u) if purge => Ok(u.vault.purge(name, Utc::now())?),
            Source::Local(u) => Ok(u.vault.remove(name, Utc::now())?),
            Source::Agent(a) => called(
                a,
                Call::Remove {
                    name: name.into(),
                    purge,
                },
            ),
        }
    }

    pub fn trash(&self) -> anyhow::Result<Vec<Trashed>> {
        match self {
            Source::Local(u) => Ok(u.vault.trash()?),
            Source::Agent(a) => called(a, Call::Trash),
        }
    }

    pub fn restore(&mut self, which: &str, rename: Option<&str>) -> anyhow::Result<Credential> {
        match self {
            Source::Local(u) => Ok(u.vault.restore(which, rename, Utc::now())?),
            Source::Agent(a) => called(
                a,
                Call::Restore {
                    which: which.into(),
                    rename: rename.map(str::to_owned),
                },
            ),
        }
    }

    /// Purges one credential of the trash, or all of it (`None`).
    pub fn purge_trashed(&mut self, which: Option<&str>) -> anyhow::Result<Vec<Trashed>> {
        match self {
            Source::Local(u) => Ok(u.vault.purge_trashed(which, Utc::now())?),
            Source::Agent(a) => called(
                a,
                Call::PurgeTrashed {
                    which: which.map(str::to_owned),
                },
            ),
        }
    }

    pub fn rollback(&mut self, name: &str, version: u64) -> anyhow::Result<Credential> {
        match self {
            Source::Local(u) => Ok(u.vault.rollback(name, version, Utc::now())?),
            Source::Agent(a) => called(
                a,
                Call::Rollback {
                    name: name.into(),
                    version,
                },
            ),
        }
    }

    /// The rotation status of the credentials `filter` picks, most urgent
    /// first, and the rotations running (where each is).
    pub fn statuses(&self, filter: Filter) -> anyhow::Result<Statuses> {
        match self {
            Source::Local(u) => {
                let statuses = u.vault.statuses(Utc::now(), &filter)?;
                let running = u
                    .vault
                    .running_rotations()?
                    .iter()
                    .map(|(name, run)| (name.clone(), run.into()))
                    .collect();
                Ok(Statuses { statuses, running })
            }
            Source::Agent(a) => called(
                a,
                Call::Statuses {
                    env: filter.env,
                    tag: filter.tag,
                },
            ),
        }
    }

    pub fn policies(&self) -> anyhow::Result<Policies> {
        match self {
            Source::Local(u) => Ok(u.vault.policies()?),
            Source::Agent(a) => called(a, Call::Policies),
        }
    }

    pub fn set_policy(&mut self, scope: Scope, policy: Option<Policy>) -> anyhow::Result<Policies> {
        match self {
            Source::Local(u) => Ok(u.vault.set_policy(&scope, policy, Utc::now())?),
            Source::Agent(a) => called(a, Call::SetPolicy { scope, policy }),
        }
    }

    pub fn access_rules(&self) -> anyhow::Result<Rules> {
        match self {
            Source::Local(u) => Ok(u.vault.access_rules()?),
            Source::Agent(a) => called(a, Call::AccessRules),
        }
    }

    pub fn set_access_rule(
        &mut self,
        scope: access::Scope,
        rule: Option<Rule>,
    ) -> anyhow::Result<Rules> {
        match self {
            Source::Local(u) => Ok(u.vault.set_access_rule(&scope, rule, Utc::now())?),
            Source::Agent(a) => called(a, Call::SetAccessRule { scope, rule }),
        }
    }

    pub fn set_access_remember(&mut self, minutes: u32) -> anyhow::Result<Rules> {
        match self {
            Source::Local(u) => Ok(u.vault.set_access_remember(minutes, Utc::now())?),
            Source::Agent(a) => called(a, Call::SetAccessRemember { minutes }),
        }
    }

    pub fn audit_entries(&self, query: Query) -> anyhow::Result<Vec<Entry>> {
        match self {
            Source::Local(u) => Ok(u.vault.audit_entries(&query)?),
            Source::Agent(a) => called(a, Call::AuditEntries { query }),
        }
    }

    pub fn verify_audit(&self) -> anyhow::Result<Result<Verified, Break>> {
        match self {
            Source::Local(u) => Ok(u.vault.verify_audit()?),
            Source::Agent(a) => called(a, Call::VerifyAudit),
        }
    }

    /// Credentials for `action` (one of coffer_core::agent::USES), audited
    /// with `details` (and, through the agent, the asking process).
    pub fn reveal_for(
        &self,
        names: &[&str],
        action: Action,
        details: Value,
    ) -> anyhow::Result<Vec<(Credential, Secrets)>> {
        match self {
            Source::Local(u) => Ok(u.vault.reveal_for(names, action, &details, Utc::now())?),
            Source::Agent(a) => {
                let request = Request::Use {
                    names: names.iter().map(|n| n.to_string()).collect(),
                    action,
                    details,
                };
                match a.call_asking(&request, &mut tell_asking)? {
                    Reply::Used { items } => Ok(items
                        .into_iter()
                        .map(|u| {
                            let secrets = u
                                .secrets
                                .into_iter()
                                .map(|(k, v)| (k, SecretValue::from(v)))
                                .collect();
                            (u.credential, Secrets(secrets))
                        })
                        .collect()),
                    other => unexpected(other),
                }
            }
        }
    }

    /// An STS session for the aws-access-key or aws-role credential
    /// `name`, handed out for `action`, kept for reuse (see
    /// coffer_core::sessions); through the agent the key stays in it. A
    /// code an MFA device must give is asked for on this process's
    /// terminal (unless the credential has an mfa_process).
    pub fn aws_session(
        &self,
        name: &str,
        action: Action,
        details: Value,
    ) -> anyhow::Result<AwsSession> {
        let want = sessions::Want {
            name,
            action,
            details,
        };
        match self {
            Source::Local(u) => {
                Ok(sessions::session_for(&u.vault, &want, &mut TerminalCodes, Utc::now())?.1)
            }
            Source::Agent(a) => {
                let mut code = None;
                // Each link of a chain may ask for its own code, once.
                for _ in 0..=sessions::MAX_LINKS {
                    let request = Request::AwsSession {
                        name: name.into(),
                        action,
                        details: want.details.clone(),
                        mfa_code: code
                            .take()
                            .map(|c: SecretValue| Zeroizing::new(c.expose_secret().to_owned())),
                    };
                    match a.call_asking(&request, &mut tell_asking)? {
                        Reply::AwsSession { session } => return Ok(session),
                        // Asked once: a second MfaNeeded (a code refused as
                        // malformed is an error, not this) means another
                        // link wants its own code.
                        Reply::MfaNeeded { credential, serial } => {
                            code = Some(terminal::mfa_code(&credential, &serial)?);
                        }
                        other => return unexpected(other),
                    }
                }
                anyhow::bail!("the agent kept asking for MFA codes for '{name}'")
            }
        }
    }

    /// The sessions kept, without secrets.
    pub fn aws_sessions(&self) -> anyhow::Result<Vec<sessions::SessionInfo>> {
        match self {
            Source::Local(u) => Ok(sessions::list(&u.vault)?),
            Source::Agent(a) => match a.call(&Request::AwsSessions)? {
                Reply::AwsSessions { sessions } => Ok(sessions),
                other => unexpected(other),
            },
        }
    }

    /// The Vault leases recorded, without values.
    pub fn leases(&self) -> anyhow::Result<Vec<coffer_core::leases::LeaseInfo>> {
        match self {
            Source::Local(u) => Ok(coffer_core::leases::list(&u.vault)?),
            Source::Agent(a) => match a.call(&Request::Leases)? {
                Reply::Leases { leases } => Ok(leases),
                other => unexpected(other),
            },
        }
    }

    /// Drops every kept session; how many there were.
    pub fn forget_sessions(&self) -> anyhow::Result<usize> {
        match self {
            Source::Local(u) => Ok(sessions::forget_all(&u.vault, Utc::now())?),
            Source::Agent(a) => match a.call(&Request::ForgetSessions)? {
                Reply::SessionsForgotten { count } => Ok(count),
                other => unexpected(other),
            },
        }
    }

    /// The plain fields and the secret values (all, or `only`), audited.
    pub fn reveal(
        &self,
        name: &str,
        only: Option<&[&str]>,
    ) -> anyhow::Result<(BTreeMap<String, String>, BTreeMap<String, SecretValue>)> {
        match self {
            Source::Local(u) => {
                let (c, s) = u.vault.reveal(name, only, Utc::now())?;
                Ok((c.meta.fields, s.0))
            }
            Source::Agent(a) => {
                let request = Request::Reveal {
                    name: name.into(),
                    fields: only.map(|f| f.iter().map(|s| s.to_string()).collect()),
                };
                match a.call_asking(&request, &mut tell_asking)? {
                    Reply::Revealed { fields, secrets } => Ok((
                        fields,
                        secrets
                            .into_iter()
                            .map(|(k, v)| (k, SecretValue::from(v)))
                            .collect(),
                    )),
                    other => unexpected(other),
                }
            }
        }
    }

    /// Ends the command (a local vault writes its audit entries and anchor).
    pub fn finish(self) -> anyhow::Result<()> {
        match self {
            Source::Local(u) => (*u).finish(),
            Source::Agent(_) => Ok(()),
        }
    }
}

/// What [`Source::field`] found.
pub enum FieldValue {
    Plain(String),
    Secret(SecretValue),
    /// No such field: the credential's fields, sorted.
    Missing(Vec<String>),
}

/// A [`Call`] through the agent, its answer read as `T`.
fn called<T: serde::de::DeserializeOwned>(agent: &Client, call: Call) -> anyhow::Result<T> {
    match agent.call(&Request::Call(Box::new(call)))? {
        Reply::Called { value } => Ok(serde_json::from_value(value)?),
        other => unexpected(other),
    }
}

/// The agent is asking the person (an `ask` access rule): says where, on
/// stderr, while the command waits for the answer.
/// MFA codes from the person at this process's terminal (`/dev/tty`, so
/// also under the AWS CLI, which gives `credential_process` no stdin).
struct TerminalCodes;

impl sessions::MfaCodes for TerminalCodes {
    fn code(&mut self, credential: &str, serial: &str) -> coffer_core::Result<SecretValue> {
        terminal::mfa_code(credential, serial)
    }
}

fn tell_asking(question: &Question) {
    eprintln!("{}", coffer_cli::answer::asking(question));
}

fn unexpected<T>(reply: Reply) -> anyhow::Result<T> {
    anyhow::bail!("the agent answered with {reply:?}, which this command did not ask for")
}
