//! The Coffer agent: one unlocked vault served to the user's own processes
//! over a Unix socket, so a command pays no unlock, and every reveal records
//! which process asked (pid, executable, command line, directory, terminal,
//! parents), as the kernel names it on the socket.
//!
//! - [`frame`]: the wire format (version byte, length, JSON; bounded);
//! - [`peer`]: the asking process, from `SO_PEERCRED` and /proc;
//! - [`server`]: the socket (a private directory under `$XDG_RUNTIME_DIR`),
//!   the request loop, idle lock and stop;
//! - [`approval`]: asking the person under an `ask` access rule, and the
//!   yeses remembered per terminal session;
//! - [`client`]: finding the agent of a vault and asking it.
//!
//! One agent serves one vault: the socket's name is derived from the
//! vault file's canonical path, so `--vault` and `COFFER_VAULT` reach the
//! agent of that file and never another's.

pub mod approval;
pub mod client;
pub mod frame;
pub mod peer;
pub mod server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::audit::{Action, Query};
use crate::credential::{Credential, Draft, Patch};
use crate::error::{Error, ErrorClass, Result};
use approval::{Answer, Question};

/// What a client asks; one per connection.
#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Which vault, which process, since when.
    Status,
    /// A credential's kind, plain fields and the names of its secret ones
    /// (no secret value, so no reveal is recorded).
    Fields { name: String },
    /// A vault operation that gives no secret value (the catalog, a
    /// credential's fields and history), answered with its result as JSON.
    Call(Box<Call>),
    /// One field's value (`coffer get NAME --field F`) in one request: a
    /// plain one as it is (no reveal), a secret one revealed and audited as
    /// [`Request::Reveal`] of that field, else [`Reply::NoField`].
    Field { name: String, field: String },
    /// Secret values (all, or `fields`), each reveal audited with the
    /// asking process before any value leaves the agent.
    Reveal {
        name: String,
        fields: Option<Vec<String>>,
    },
    /// Credentials for a use other than showing them (`credential_process`,
    /// the token helper's get), audited as `action` with `details` and the
    /// asking process; all or none.
    Use {
        names: Vec<String>,
        action: Action,
        details: serde_json::Value,
    },
    /// An STS session for the aws-access-key or aws-role credential `name`,
    /// handed out for `action` (`credential_process`, `exec`, `env`): the
    /// kept one while fresh, else a new one made here with the key, which
    /// stays in the agent (crate::sessions). `mfa_code` answers a
    /// [`Reply::MfaNeeded`] of an earlier try.
    AwsSession {
        name: String,
        #[serde(default = "credential_process")]
        action: Action,
        #[serde(default)]
        details: serde_json::Value,
        #[serde(default)]
        mfa_code: Option<Zeroizing<String>>,
    },
    /// The sessions kept, without secrets (`coffer aws sessions`).
    AwsSessions,
    /// Drop every kept session (`coffer lock --forget-sessions`).
    ForgetSessions,
    /// The Vault leases recorded, without values (`coffer status`).
    Leases,
    /// The questions waiting for the person (`coffer agent pending`).
    Pending,
    /// The person's answer to a question, from another terminal (`coffer
    /// agent approve ID`): the agent takes it only from a process on a
    /// terminal, and not from the terminal session that asked.
    Approve { id: String, answer: Answer },
    /// Lock (`coffer lock`): the vault records the lock and wipes its key;
    /// the agent keeps serving "locked".
    Lock,
    /// A locked agent's way in, handed over by a command that would
    /// otherwise unlock on its own: the recovery passphrase (wiped when
    /// dropped), or nothing to use the keyring. The app's agent refuses:
    /// the app unlocks in its own window.
    Unlock {
        passphrase: Option<Zeroizing<String>>,
    },
    /// `coffer agent stop`: lock, then the CLI's agent exits; the app's
    /// locks the app and keeps serving "locked".
    Stop,
}

fn credential_process() -> Action {
    Action::CredentialProcess
}

/// Shows no passphrase.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Status => f.write_str("Status"),
            Request::Fields { name } => f.debug_struct("Fields").field("name", name).finish(),
            Request::Field { name, field } => f
                .debug_struct("Field")
                .field("name", name)
                .field("field", field)
                .finish(),
            Request::Call(call) => f.debug_tuple("Call").field(call).finish(),
            Request::Reveal { name, fields } => f
                .debug_struct("Reveal")
                .field("name", name)
                .field("fields", fields)
                .finish(),
            Request::Use {
                names,
                action,
                details,
            } => f
                .debug_struct("Use")
                .field("names", names)
                .field("action", action)
                .field("details", details)
                .finish(),
            Request::AwsSession {
                name,
                action,
                details,
                mfa_code,
            } => f
                .debug_struct("AwsSession")
                .field("name", name)
                .field("action", action)
                .field("details", details)
                .field("mfa_code", &mfa_code.as_ref().map(|_| "<redacted>"))
                .finish(),
            Request::AwsSessions => f.write_str("AwsSessions"),
            Request::ForgetSessions => f.write_str("ForgetSessions"),
            Request::Leases => f.write_str("Leases"),
            Request::Pending => f.write_str("Pending"),
            Request::Approve { id, answer } => f
                .debug_struct("Approve")
                .field("id", id)
                .field("answer", answer)
                .finish(),
            Request::Lock => f.write_str("Lock"),
            Request::Unlock { passphrase } => f
                .debug_struct("Unlock")
                .field("passphrase", &passphrase.as_ref().map(|_| "<redacted>"))
                .finish(),
            Request::Stop => f.write_str("Stop"),
        }
    }
}

/// The vault operations a client may ask for by [`Request::Call`]: none
/// gives a secret value back; the answer is what the vault's method
/// returns. The writes are audited as the vault audits them.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Call {
    /// `Vault::list`.
    List,
    /// `Vault::search`.
    Search { query: String },
    /// `Vault::history`.
    History { name: String },
    /// `Vault::unreviewed` of the credential named.
    Unreviewed { name: String },
    /// `Vault::mark_reviewed` (the person has seen its fields).
    MarkReviewed { name: String },
    /// `Vault::add`: the draft's secret values cross the socket here, in
    /// the request's wiped buffer.
    Add { draft: Draft },
    /// `Vault::update`.
    Update { name: String, patch: Patch },
    /// `Vault::remove` (into the trash), or `Vault::purge` when `purge`.
    Remove {
        name: String,
        #[serde(default)]
        purge: bool,
    },
    /// `Vault::trash`.
    Trash,
    /// `Vault::restore`.
    Restore {
        which: String,
        rename: Option<String>,
    },
    /// `Vault::purge_trashed`.
    PurgeTrashed { which: Option<String> },
    /// `Vault::rollback`.
    Rollback { name: String, version: u64 },
    /// `Vault::statuses` at the agent's now, with the running rotations
    /// (where each is, not its pending value).
    Statuses {
        env: Option<String>,
        tag: Option<String>,
    },
    /// `Vault::audit_entries`.
    AuditEntries { query: Query },
    /// `Vault::verify_audit`: `Ok(Verified)` or `Err(Break)`.
    VerifyAudit,
    /// `Vault::policies`.
    Policies,
    /// `Vault::set_policy`.
    SetPolicy {
        scope: crate::policy::Scope,
        policy: Option<crate::policy::Policy>,
    },
    /// `Vault::access_rules`.
    AccessRules,
    /// `Vault::set_access_rule`.
    SetAccessRule {
        scope: crate::access::Scope,
        rule: Option<crate::access::Rule>,
    },
    /// `Vault::set_access_remember`.
    SetAccessRemember { minutes: u32 },
}

/// The answer to [`Call::Statuses`].
#[derive(Debug, Serialize, Deserialize)]
pub struct Statuses {
    pub statuses: Vec<(Credential, crate::policy::Status)>,
    pub running: BTreeMap<String, crate::rotation::run::Running>,
}

/// The uses a client may ask for by [`Request::Use`].
pub const USES: [Action; 5] = [
    Action::CredentialProcess,
    Action::TokenHelper,
    Action::Exec,
    Action::EnvExport,
    Action::Inject,
];

/// One credential of a [`Reply::Used`]: the credential and its secret values.
#[derive(Serialize, Deserialize)]
pub struct Used {
    pub name: String,
    pub credential: Credential,
    /// Wiped when dropped, on both sides.
    pub secrets: BTreeMap<String, Zeroizing<String>>,
}

/// What the agent answers.
#[derive(Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Status(Status),
    /// The credential asked for by [`Request::Fields`] (no secret value).
    Fields(Box<Credential>),
    /// What a [`Request::Call`] returned.
    Called {
        value: serde_json::Value,
    },
    Revealed {
        fields: BTreeMap<String, String>,
        /// Wiped when dropped, on both sides.
        secrets: BTreeMap<String, Zeroizing<String>>,
    },
    Used {
        items: Vec<Used>,
    },
    Stopped,
    /// The credential has no field of the name asked for by
    /// [`Request::Field`]; these are its fields, sorted.
    NoField {
        known: Vec<String>,
    },
    Locked,
    Unlocked,
    /// Not the answer yet: the person is being asked (a client says so and
    /// keeps reading, for up to [`approval::ANSWER_WITHIN`]).
    Asking {
        question: Question,
    },
    Pending {
        questions: Vec<Question>,
    },
    Approved {
        question: Question,
    },
    /// The session asked for by [`Request::AwsSession`].
    AwsSession {
        session: crate::sessions::AwsSession,
    },
    /// The session needs a code from an MFA device and the credential has
    /// no `mfa_process`: the client asks its person and sends the request
    /// again with the code.
    MfaNeeded {
        credential: String,
        serial: String,
    },
    /// [`Request::AwsSessions`]'s answer.
    AwsSessions {
        sessions: Vec<crate::sessions::SessionInfo>,
    },
    /// [`Request::Leases`]'s answer.
    Leases {
        leases: Vec<crate::leases::LeaseInfo>,
    },
    /// How many sessions [`Request::ForgetSessions`] dropped.
    SessionsForgotten {
        count: usize,
    },
    /// The error the vault gave, with its class (so the CLI's exit code and
    /// message are the ones it gives without the agent).
    Error {
        class: ErrorClass,
        message: String,
    },
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Revealed { secrets, .. } => f
                .debug_struct("Revealed")
                .field("secrets", &secrets.keys().collect::<Vec<_>>())
                .finish_non_exhaustive(),
            Reply::Status(s) => f.debug_tuple("Status").field(s).finish(),
            Reply::Fields(c) => f.debug_tuple("Fields").field(&c.meta.name).finish(),
            Reply::Called { .. } => f.write_str("Called"),
            Reply::Used { items } => f
                .debug_list()
                .entries(items.iter().map(|u| &u.name))
                .finish(),
            Reply::AwsSession { session } => f.debug_tuple("AwsSession").field(session).finish(),
            Reply::MfaNeeded { credential, serial } => f
                .debug_struct("MfaNeeded")
                .field("credential", credential)
                .field("serial", serial)
                .finish(),
            Reply::AwsSessions { sessions } => f.debug_list().entries(sessions).finish(),
            Reply::Leases { leases } => f.debug_list().entries(leases).finish(),
            Reply::SessionsForgotten { count } => {
                f.debug_tuple("SessionsForgotten").field(count).finish()
            }
            Reply::Stopped => f.write_str("Stopped"),
            Reply::Locked => f.write_str("Locked"),
            Reply::NoField { known } => f.debug_tuple("NoField").field(known).finish(),
            Reply::Unlocked => f.write_str("Unlocked"),
            Reply::Asking { question } => f.debug_tuple("Asking").field(&question.id).finish(),
            Reply::Pending { questions } => f
                .debug_list()
                .entries(questions.iter().map(|q| &q.id))
                .finish(),
            Reply::Approved { question } => f.debug_tuple("Approved").field(&question.id).finish(),
            Reply::Error { class, message } => f
                .debug_struct("Error")
                .field("class", class)
                .field("message", message)
                .finish(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Status {
    pub pid: u32,
    pub vault: PathBuf,
    pub vault_id: String,
    pub socket: PathBuf,
    /// Seconds since the agent unlocked the vault.
    pub up_seconds: u64,
    /// Seconds of no request after which it locks (0: never).
    pub idle_lock_seconds: u64,
    pub requests: u64,
    /// Whether it holds an unlocked vault (a locked agent keeps serving,
    /// and answers "locked").
    pub unlocked: bool,
    /// Whether, locked, it takes the way in from a command (`coffer
    /// agent`'s does; the app's unlocks only in its window).
    pub takes_unlock: bool,
}

/// The directory holding the agents' sockets: `$XDG_RUNTIME_DIR/coffer`.
pub fn runtime_dir() -> Result<PathBuf> {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir).join("coffer")),
        _ => Err(Error::Failure {
            what: "XDG_RUNTIME_DIR is not set: the agent's socket lives there (a login \
                   session sets it; see `coffer agent --help`)"
                .into(),
        }),
    }
}

/// The socket of the agent of the vault file at `vault`.
pub fn socket_for(vault: &Path) -> Result<PathBuf> {
    let canonical = std::fs::canonicalize(vault).map_err(|e| Error::Failure {
        what: format!("cannot find the vault at {}: {e}", vault.display()),
    })?;
    let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    Ok(runtime_dir()?.join(format!("agent-{}.sock", hex::encode(&digest[..8]))))
}

impl Reply {
    /// The error as the CLI would print it (with its causes), so a relayed
    /// one reads the same.
    pub fn from_error(e: &Error) -> Reply {
        let mut message = e.to_string();
        let mut cause = std::error::Error::source(e);
        while let Some(c) = cause {
            message.push_str(&format!(": {c}"));
            cause = c.source();
        }
        Reply::Error {
            class: e.class(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::Kind;
    use chrono::Utc;

    /// Every request and reply survives the wire format (an internally
    /// tagged enum cannot carry some shapes: this fails if one is added).
    #[test]
    fn every_request_and_reply_round_trips() {
        let credential = Credential {
            id: crate::credential::CredentialId([7; 16]),
            version: 3,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            meta: crate::credential::CredentialMeta {
                env: Some("prod".into()),
                tags: vec!["t".into()],
                fields: BTreeMap::from([("access_key_id".into(), "AKIA".into())]),
                secret_fields: vec!["secret_access_key".into()],
                ..crate::credential::CredentialMeta::bare("a", Kind::AwsAccessKey)
            },
        };
        let secrets = || BTreeMap::from([("k".to_owned(), Zeroizing::new("v".to_owned()))]);
        let question = Question {
            id: "ab".into(),
            names: vec!["a".into()],
            rule: crate::access::Rule::Ask,
            why: "the default".into(),
            action: Action::Reveal,
            requester: peer::Requester::default(),
            remember_minutes: 10,
            mfa_serial: None,
        };
        let call = |c: Call| Request::Call(Box::new(c));
        let requests = [
            Request::Status,
            Request::Fields { name: "a".into() },
            Request::Field {
                name: "a".into(),
                field: "f".into(),
            },
            call(Call::List),
            call(Call::Search { query: "q".into() }),
            call(Call::History { name: "a".into() }),
            call(Call::Unreviewed { name: "a".into() }),
            call(Call::MarkReviewed { name: "a".into() }),
            call(Call::Add {
                draft: Draft::new("a", Kind::Generic),
            }),
            call(Call::Update {
                name: "a".into(),
                patch: Patch {
                    env: Some(None),
                    notes: Some(Some("n".into())),
                    ..Patch::default()
                },
            }),
            call(Call::Remove {
                name: "a".into(),
                purge: false,
            }),
            call(Call::Rollback {
                name: "a".into(),
                version: 2,
            }),
            call(Call::Statuses {
                env: Some("prod".into()),
                tag: None,
            }),
            call(Call::AuditEntries {
                query: Query::default(),
            }),
            call(Call::VerifyAudit),
            call(Call::Policies),
            call(Call::SetPolicy {
                scope: crate::policy::Scope::Tag("t".into()),
                policy: None,
            }),
            call(Call::AccessRules),
            call(Call::SetAccessRule {
                scope: crate::access::Scope::Env("prod".into()),
                rule: Some(crate::access::Rule::AskEveryTime),
            }),
            call(Call::SetAccessRemember { minutes: 5 }),
            Request::Reveal {
                name: "a".into(),
                fields: Some(vec!["k".into()]),
            },
            Request::Use {
                names: vec!["a".into()],
                action: Action::CredentialProcess,
                details: serde_json::json!({ "op": "get" }),
            },
            Request::AwsSession {
                name: "a".into(),
                action: Action::Exec,
                details: serde_json::json!({ "program": "terraform" }),
                mfa_code: Some(Zeroizing::new("canary-mfa-code".into())),
            },
            Request::AwsSessions,
            Request::ForgetSessions,
            Request::Leases,
            Request::Pending,
            Request::Approve {
                id: "ab".into(),
                answer: Answer::ForMinutes { minutes: 10 },
            },
            Request::Lock,
            Request::Unlock { passphrase: None },
            Request::Unlock {
                passphrase: Some(Zeroizing::new("hunter2-canary".into())),
            },
            Request::Stop,
        ];
        for r in requests {
            let bytes = serde_json::to_vec(&r).expect("encode");
            let back: Request = serde_json::from_slice(&bytes).expect("decode");
            assert_eq!(format!("{back:?}"), format!("{r:?}"));
        }
        let replies = [
            Reply::Status(Status {
                pid: 1,
                vault: "/v".into(),
                vault_id: "00".into(),
                socket: "/s".into(),
                up_seconds: 0,
                idle_lock_seconds: 0,
                requests: 0,
                unlocked: true,
                takes_unlock: true,
            }),
            Reply::Fields(Box::new(credential.clone())),
            Reply::Called {
                value: serde_json::json!([1, "two"]),
            },
            Reply::Revealed {
                fields: BTreeMap::new(),
                secrets: secrets(),
            },
            Reply::Used {
                items: vec![Used {
                    name: "a".into(),
                    credential: credential.clone(),
                    secrets: secrets(),
                }],
            },
            Reply::AwsSession {
                session: crate::sessions::AwsSession {
                    access_key_id: "ASIAA".into(),
                    secret_access_key: Zeroizing::new("canary-session-secret".into()),
                    session_token: Zeroizing::new("canary-session-token".into()),
                    expiration: Utc::now(),
                    source_key_id: "AKIAA".into(),
                    issued_at: Utc::now(),
                    ..crate::sessions::AwsSession::empty()
                },
            },
            Reply::MfaNeeded {
                credential: "a".into(),
                serial: "arn:aws:iam::123456789012:mfa/me".into(),
            },
            Reply::SessionsForgotten { count: 2 },
            Reply::Stopped,
            Reply::Locked,
            Reply::NoField {
                known: vec!["a".into()],
            },
            Reply::Unlocked,
            Reply::Asking {
                question: question.clone(),
            },
            Reply::Pending {
                questions: vec![question.clone()],
            },
            Reply::Approved { question },
            Reply::from_error(&Error::Locked),
        ];
        for r in replies {
            let bytes = serde_json::to_vec(&r).expect("encode");
            let back: Reply = serde_json::from_slice(&bytes).expect("decode");
            assert_eq!(format!("{back:?}"), format!("{r:?}"));
        }
        // Debug never shows a secret value.
        let shown = format!(
            "{:?}",
            Reply::Revealed {
                fields: BTreeMap::new(),
                secrets: secrets()
            }
        );
        assert!(!shown.contains("\"v\""), "{shown}");
        let shown = format!(
            "{:?}",
            Request::Unlock {
                passphrase: Some(Zeroizing::new("hunter2-canary".into()))
            }
        );
        assert!(!shown.contains("hunter2"), "{shown}");
        let shown = format!(
            "{:?}",
            Request::AwsSession {
                name: "a".into(),
                action: Action::CredentialProcess,
                details: serde_json::Value::Null,
                mfa_code: Some(Zeroizing::new("canary-mfa-code".into())),
            }
        );
        assert!(!shown.contains("canary"), "{shown}");
        // A patch keeps "leave", "clear" and "set" apart on the wire.
        let patch = Patch {
            env: Some(None),
            notes: Some(Some("n".into())),
            ..Patch::default()
        };
        let back: Patch =
            serde_json::from_slice(&serde_json::to_vec(&patch).expect("encode")).expect("decode");
        assert_eq!(
            (back.env, back.notes, back.expires_at),
            (Some(None), Some(Some("n".to_owned())), None)
        );
    }
}
