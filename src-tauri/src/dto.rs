//! Every view the shell sends to the web view and every input it takes from
//! it (camelCase on the wire), with their conversions from and to the core's
//! types. Commands import these; nothing here calls the vault. Secret inputs
//! arrive as `SecretValue` (zeroized, never printed), never as `String`.

use chrono::{DateTime, Utc};
use coffer_core::overview::Overview;
use coffer_core::rotation::run::{self, Charset, Outcome, Run, Step};
use coffer_core::rotation::wizard::{self};
use coffer_core::rotation::{Policies, Policy, State, Status};
use coffer_core::strength::Strength;
use coffer_core::sync::{self, Comparison, Remote, Report, Side, Spec};
use coffer_core::{Credential, Draft, Kind, SecretValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

use crate::error::IpcError;

pub fn parse<T: serde::de::DeserializeOwned>(what: &str, value: &str) -> Result<T, IpcError> {
    serde_json::from_value(serde_json::Value::String(value.to_owned()))
        .map_err(|_| IpcError::invalid(what, format!("unknown {what} '{value}'")))
}

/// A secret value on its way to the web view (a reveal the person asked
/// for, a generated value for a form): sent as a JSON string, wiped when
/// dropped, never printed (no `Debug`).
pub struct Revealed(pub SecretValue);

impl Serialize for Revealed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.expose_secret())
    }
}

pub fn rotation_state(value: &str) -> Result<State, IpcError> {
    [
        State::Compromised,
        State::Expired,
        State::Overdue,
        State::DueSoon,
        State::Ok,
        State::NoPolicy,
    ]
    .into_iter()
    .find(|s| s.as_str() == value)
    .ok_or_else(|| IpcError::invalid("rotation", format!("unknown rotation state '{value}'")))
}

pub fn kind_of(value: &str) -> Result<Kind, IpcError> {
    parse("kind", value)
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

/// "access_key_id" → "Access key ID".
pub fn field_label(name: &str) -> String {
    let words: Vec<String> = name
        .split('_')
        .map(|w| match w {
            "id" => "ID".to_owned(),
            "url" => "URL".to_owned(),
            "json" => "JSON".to_owned(),
            other => other.to_owned(),
        })
        .collect();
    let mut text = words.join(" ");
    if let Some(first) = text.get(0..1) {
        text = first.to_uppercase() + &text[1..];
    }
    text
}

pub fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::AwsAccessKey => "AWS access key",
        Kind::AwsRole => "AWS role",
        Kind::VaultToken => "Vault token",
        Kind::VaultApprole => "Vault AppRole",
        Kind::VaultLease => "Vault lease",
        Kind::DbPassword => "Database password",
        Kind::ApiKey => "API key",
        Kind::GcpServiceAccount => "GCP service account",
        Kind::AzureServicePrincipal => "Azure service principal",
        Kind::SshKey => "SSH key",
        Kind::TotpSeed => "TOTP seed",
        Kind::Generic => "Generic",
    }
}

#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "RotationStatus")]
pub struct RotationView {
    pub state: State,
    /// When the current secret was made (last rotation, else creation).
    pub since: String,
    #[ts(type = "number")]
    pub age_days: i64,
    pub due: Option<String>,
    /// Calendar days until due (negative when past).
    #[ts(as = "Option<i32>")]
    pub days_left: Option<i64>,
    pub max_age_days: Option<u32>,
    pub warn_days: Option<u32>,
    /// Where the policy came from: "credential", "kind default", "tag prod", …
    pub policy_source: Option<String>,
}

impl From<&Status> for RotationView {
    fn from(s: &Status) -> Self {
        RotationView {
            state: s.state,
            since: rfc3339(s.since),
            age_days: s.age_days,
            due: s.due.map(rfc3339),
            days_left: s.days_left,
            max_age_days: s.policy.as_ref().map(|(p, _)| p.max_age_days),
            warn_days: s.policy.as_ref().map(|(p, _)| p.warn_days),
            policy_source: s.policy.as_ref().map(|(_, src)| src.to_string()),
        }
    }
}

/// A row of the list: metadata only.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "CredentialSummary")]
pub struct Summary {
    pub id: String,
    pub name: String,
    pub kind: Kind,
    pub env: Option<String>,
    pub tags: Vec<String>,
    #[ts(type = "number")]
    pub version: u64,
    pub updated_at: String,
    pub rotation: RotationView,
}

pub fn summary(c: &Credential, status: &Status) -> Summary {
    Summary {
        id: c.id.to_string(),
        name: c.meta.name.clone(),
        kind: c.meta.kind,
        env: c.meta.env.clone(),
        tags: c.meta.tags.clone(),
        version: c.version,
        updated_at: rfc3339(c.updated_at),
        rotation: status.into(),
    }
}

#[derive(Debug, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FindQuery {
    pub query: String,
    #[ts(as = "Option<Kind>")]
    pub kind: Option<String>,
    pub env: Option<String>,
    pub tag: Option<String>,
    /// Only these rotation states; empty means any.
    #[ts(as = "Vec<State>")]
    pub states: Vec<String>,
    /// Only names in this folder (`aws/prod/`) or below; empty for all.
    #[serde(default)]
    pub folder: String,
    /// Count the folders one level below `folder` (the first page asks).
    #[serde(default)]
    pub folders: bool,
    pub offset: usize,
    pub limit: usize,
}

#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Facets")]
pub struct FacetsView {
    pub kinds: Vec<Kind>,
    pub envs: Vec<String>,
    pub tags: Vec<String>,
    /// Credentials overdue, expired or compromised.
    pub needs_action: usize,
    pub due_soon: usize,
}

#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FindPage {
    /// How many credentials match (the list's virtual length).
    pub total: usize,
    /// The window [offset, offset + limit) of the matches, sorted by name.
    pub items: Vec<Summary>,
    pub facets: FacetsView,
    /// When asked: the folders one level below the one searched, by name.
    pub folders: Vec<FolderView>,
}

/// A folder of names (`aws/prod/`) and how many matches it holds.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Folder")]
pub struct FolderView {
    /// The whole path, ending in `/`: what `FindQuery::folder` takes.
    pub path: String,
    /// Its last part, as shown.
    pub name: String,
    pub count: usize,
}

#[derive(Debug, Serialize, TS)]
#[ts(rename = "PlainField")]
pub struct Field {
    pub name: String,
    pub label: String,
    pub value: String,
}

impl Field {
    pub fn new(name: String, value: String) -> Field {
        Field {
            label: field_label(&name),
            name,
            value,
        }
    }
}

#[derive(Debug, Serialize, TS)]
pub struct SecretField {
    pub name: String,
    pub label: String,
}

#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "RemoteBinding")]
pub struct Binding {
    pub remote: String,
    pub remote_type: RemoteType,
    /// Where the credential lives on the remote, e.g. "secret/team/db".
    pub location: String,
    pub remote_version: Option<String>,
    pub synced_at: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Policy")]
pub struct PolicyView {
    pub max_age_days: u32,
    pub warn_days: u32,
}

#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "CredentialDetail")]
pub struct Detail {
    #[serde(flatten)]
    pub summary: Summary,
    pub notes: Option<String>,
    /// Non-secret fields with their values.
    pub fields: Vec<Field>,
    /// Secret field names (values only through credentialReveal / credentialCopy).
    pub secret_fields: Vec<SecretField>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub rotated_at: Option<String>,
    pub compromised_at: Option<String>,
    /// This credential's own policy, if set (else kind/tag/env policies apply).
    pub policy: Option<PolicyView>,
    pub remotes: Vec<Binding>,
    /// The unfinished rotation, if one is running.
    pub rotation_run: Option<RunView>,
    /// How this version arrived (a pull, an import), until someone reviews it.
    pub arrived: Option<ArrivalView>,
    /// The STS session kept for an AWS credential (no secret).
    pub session: Option<SessionView>,
    /// For an aws-role: the credentials it is assumed through, itself first
    /// and the key last (empty when its sources are broken: `chain_problem`).
    pub chain: Vec<String>,
    pub chain_problem: Option<String>,
}

/// A kept STS session, as the credential's page shows it.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub session_key_id: String,
    /// The role assumed, and who STS says the session is.
    pub role_arn: Option<String>,
    pub assumed_arn: Option<String>,
    pub issued_at: String,
    pub expires_at: String,
    pub mfa: bool,
    /// How many times a tool was handed it.
    #[ts(type = "number")]
    pub served: u64,
}

/// A Vault lease recorded in the vault (no value), for the rotation
/// screen: held by a running `coffer exec`, or left behind by one that was
/// killed.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LeaseView {
    pub credential: String,
    pub remote: String,
    pub path: String,
    pub issued_at: String,
    /// When it ends unless renewed (as of its issue).
    pub expires_at: String,
    pub held: bool,
    pub pid: u32,
}

impl From<&coffer_core::leases::LeaseInfo> for LeaseView {
    fn from(l: &coffer_core::leases::LeaseInfo) -> LeaseView {
        LeaseView {
            credential: l.credential.clone(),
            remote: l.remote.clone(),
            path: l.path.clone(),
            issued_at: l.issued_at.to_rfc3339(),
            expires_at: l.expires_at.to_rfc3339(),
            held: l.held(),
            pid: l.pid,
        }
    }
}

/// How a version's fields arrived from elsewhere.
#[derive(Debug, Serialize, TS)]
pub struct ArrivalView {
    /// "pull from remote 'team'", "import from creds.csv".
    pub via: String,
    pub at: String,
}

/// Everything the detail pane shows about `name` (no secret values).
pub fn detail(o: Overview) -> Detail {
    let Overview {
        credential: c,
        status,
        run,
        bindings,
        unreviewed,
        session,
        chain,
    } = o;
    let (chain, chain_problem) = match chain {
        Some(Ok(names)) => (names, None),
        Some(Err(problem)) => (Vec::new(), Some(problem)),
        None => (Vec::new(), None),
    };
    let m = &c.meta;
    let name = &m.name;
    Detail {
        notes: m.notes.clone(),
        fields: m
            .fields
            .iter()
            .map(|(k, v)| Field::new(k.clone(), v.clone()))
            .collect(),
        secret_fields: m
            .secret_fields
            .iter()
            .map(|k| SecretField {
                name: k.clone(),
                label: field_label(k),
            })
            .collect(),
        created_at: rfc3339(c.created_at),
        expires_at: m.expires_at.map(rfc3339),
        rotated_at: m.rotated_at.map(rfc3339),
        compromised_at: m.compromised_at.map(rfc3339),
        policy: m.policy.map(|p| PolicyView {
            max_age_days: p.max_age_days,
            warn_days: p.warn_days,
        }),
        remotes: bindings
            .into_iter()
            .map(|b| Binding {
                remote_type: RemoteType::of(&b.remote),
                location: b.remote.location(name),
                remote: b.remote.name,
                remote_version: Some(b.remote_version),
                synced_at: Some(rfc3339(b.synced_at)),
            })
            .collect(),
        rotation_run: run.map(|r| run_view(name, &r, waiting_on(m.kind, &r))),
        arrived: unreviewed.map(|a| ArrivalView {
            via: a.via,
            at: rfc3339(a.at),
        }),
        session: session.map(|s| SessionView {
            session_key_id: s.session_key_id,
            role_arn: s.role_arn,
            assumed_arn: s.assumed_arn,
            issued_at: rfc3339(s.issued_at),
            expires_at: rfc3339(s.expiration),
            mfa: s.mfa,
            served: s.served,
        }),
        chain,
        chain_problem,
        summary: summary(&c, &status),
    }
}

/// What the add form sends. `values` are secret fields, `fields` plain ones.
#[derive(Debug, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CredentialInput {
    pub name: String,
    #[ts(as = "Kind")]
    pub kind: String,
    pub env: Option<String>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    pub fields: BTreeMap<String, String>,
    #[ts(as = "BTreeMap<String, String>")]
    pub values: BTreeMap<String, SecretValue>,
    #[ts(as = "Option<String>")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl CredentialInput {
    pub fn draft(self) -> Result<Draft, IpcError> {
        let mut d = Draft::new(self.name, kind_of(&self.kind)?);
        d.env = self.env.filter(|e| !e.is_empty());
        d.tags = self.tags;
        d.notes = self.notes.filter(|n| !n.is_empty());
        d.fields = self.fields;
        d.values = self.values;
        d.expires_at = self.expires_at;
        Ok(d)
    }
}

/// What the edit form sends: the whole new state of the editable properties.
/// Secret fields absent from `values` keep their value; `unset` removes
/// optional fields. `expectedVersion` guards against a change made meanwhile
/// (a `conflict` error when it moved on).
#[derive(Debug, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CredentialEdit {
    pub rename: Option<String>,
    pub env: Option<String>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    pub fields: BTreeMap<String, String>,
    #[ts(as = "BTreeMap<String, String>")]
    pub values: BTreeMap<String, SecretValue>,
    pub unset: Vec<String>,
    #[ts(as = "Option<String>")]
    pub expires_at: Option<DateTime<Utc>>,
    #[ts(type = "number")]
    pub expected_version: u64,
}

/// What an import would do, from a dry run over the file the person picked.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportPreview {
    /// The file's name (not its folder).
    pub file: String,
    pub format: String,
    /// How many credentials the file holds.
    pub count: u32,
    /// Their names, the first 50.
    pub names: Vec<String>,
    /// Names already taken in the vault: the import needs a choice for them.
    pub taken: Vec<String>,
    pub warnings: Vec<String>,
}

/// What an import did.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportDone {
    pub imported: u32,
    pub overwritten: u32,
    pub renamed: u32,
    pub skipped: u32,
    pub unchanged: u32,
}

/// A credential in the trash (no secret value): the delete's undo names it by `id`.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TrashEntry {
    pub id: String,
    pub name: String,
    pub kind_label: String,
    pub env: Option<String>,
    pub deleted_at: String,
    /// When it goes for good.
    pub purge_after: String,
}

impl From<coffer_core::Trashed> for TrashEntry {
    fn from(t: coffer_core::Trashed) -> TrashEntry {
        TrashEntry {
            id: t.id.to_string(),
            kind_label: kind_label(t.kind).to_owned(),
            name: t.name,
            env: t.env,
            deleted_at: rfc3339(t.trashed_at),
            purge_after: rfc3339(t.purge_after),
        }
    }
}

#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    #[ts(type = "number")]
    pub version: u64,
    pub written_at: String,
    pub current: bool,
    /// What changed from the previous version (names, never values).
    pub changes: Vec<String>,
}

/// The latest versions of a credential, newest first, and how many it has.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    pub entries: Vec<HistoryEntry>,
    #[ts(type = "number")]
    pub total: u64,
}

impl From<coffer_core::History> for HistoryPage {
    fn from(history: coffer_core::History) -> Self {
        Self {
            entries: history
                .versions
                .into_iter()
                .rev()
                .map(|h| HistoryEntry {
                    version: h.version,
                    written_at: rfc3339(h.written_at),
                    current: h.current,
                    changes: h.changes,
                })
                .collect(),
            total: history.total,
        }
    }
}

/// How the form draws a field.
#[derive(Clone, Copy, Debug, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum FieldFormat {
    Text,
    Multiline,
    Port,
    Json,
    Url,
}

impl FieldFormat {
    pub fn of(field: &coffer_core::kind::FieldSpec) -> FieldFormat {
        use coffer_core::kind::FieldFormat as F;
        match field.format {
            F::Port => FieldFormat::Port,
            F::JsonObject => FieldFormat::Json,
            F::Url => FieldFormat::Url,
            F::Text if field.name == "private_key" => FieldFormat::Multiline,
            _ => FieldFormat::Text,
        }
    }
}

/// One field of a kind's template.
#[derive(Debug, Serialize, TS)]
pub struct FieldSchema {
    pub name: &'static str,
    /// Human label, e.g. "Secret access key".
    pub label: String,
    pub secret: bool,
    pub required: bool,
    pub format: FieldFormat,
}

#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct KindSchema {
    pub kind: Kind,
    /// "AWS access key", "Database password", …
    pub label: &'static str,
    pub fields: Vec<FieldSchema>,
    /// Default rotation policy for the kind, if any.
    pub default_max_age_days: Option<u32>,
}

/// The characters a generated value is drawn from.
#[derive(Clone, Copy, Debug, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "Charset")]
pub enum CharsetName {
    Alphanumeric,
    AlphanumericSymbols,
    Hex,
}

pub fn charset_of(value: &str) -> Result<Charset, IpcError> {
    Ok(match parse::<CharsetName>("charset", value)? {
        CharsetName::Alphanumeric => Charset::Alphanumeric,
        CharsetName::AlphanumericSymbols => Charset::AlphanumericSymbols,
        CharsetName::Hex => Charset::Hex,
    })
}

/// Where a step of a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    Done,
    Current,
    Pending,
}

#[derive(Debug, Serialize, TS)]
#[ts(rename = "RotationStepView")]
pub struct StepView {
    pub step: Step,
    pub label: &'static str,
    pub state: StepState,
}

/// How the last call to a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum RunOutcome {
    Done,
    Waiting,
    Aborted,
}

/// A rotation run as the wizard shows it.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "RotationRun")]
pub struct RunView {
    pub name: String,
    pub flow: run::Flow,
    /// The step the run is at (the next one to do).
    pub step: Step,
    pub started_at: String,
    /// Every step of this flow in order, with where it stands.
    pub steps: Vec<StepView>,
    /// Finished, waiting (for an answer, a value or the grace period) or aborted.
    pub outcome: RunOutcome,
    /// While waiting: why, and until when (the grace period).
    pub reason: Option<String>,
    pub until: Option<String>,
    /// The yes/no question the run waits on (click "Confirm" to answer yes), if any.
    pub question: Option<String>,
    /// Secret fields the run needs new values for (at `new_value`), if any.
    pub needs_values: Vec<String>,
    /// What the run said as it went (instructions, what each automated step did).
    pub messages: Vec<String>,
}

/// What one call to the run left behind, beyond the stored run.
#[derive(Default)]
pub struct Said {
    pub outcome: Option<Outcome>,
    pub question: Option<String>,
    pub needs_values: Vec<String>,
    pub messages: Vec<String>,
}

/// What a stored run waits on, for a wizard opened on it.
pub fn waiting_on(kind: coffer_core::Kind, r: &Run) -> Said {
    let (question, needs_values) = wizard::pending(kind, r, Utc::now());
    Said {
        question: question.map(str::to_owned),
        needs_values,
        ..Said::default()
    }
}

pub fn run_view(name: &str, run: &Run, said: Said) -> RunView {
    let flow = run.state.flow;
    let at = run.state.step;
    let steps = wizard::STEPS
        .iter()
        .map(|&step| StepView {
            step,
            label: wizard::label(step, flow),
            state: if step < at || at == Step::Done {
                StepState::Done
            } else if step == at {
                StepState::Current
            } else {
                StepState::Pending
            },
        })
        .collect();
    let (outcome, reason, until) = match said.outcome {
        Some(Outcome::Done) => (RunOutcome::Done, None, None),
        Some(Outcome::Aborted) => (RunOutcome::Aborted, None, None),
        Some(Outcome::Waiting { until, reason, .. }) => (
            RunOutcome::Waiting,
            Some(reason),
            until.map(|t| t.to_rfc3339()),
        ),
        None if at == Step::Done => (RunOutcome::Done, None, None),
        None => (
            RunOutcome::Waiting,
            None,
            run.state.revoke_by.map(|t| t.to_rfc3339()),
        ),
    };
    RunView {
        name: name.to_owned(),
        flow,
        step: at,
        started_at: run.started_at.to_rfc3339(),
        steps,
        outcome,
        reason,
        until,
        question: said.question,
        needs_values: said.needs_values,
        messages: said.messages,
    }
}

#[derive(Debug, Deserialize, TS)]
pub struct GenerateInput {
    pub length: usize,
    #[ts(as = "CharsetName")]
    pub charset: String,
}

/// What a step of the wizard sends: `confirm` answers the pending question
/// with yes; `values` are new secret values (or `generate` asks the core to
/// make them); `automate` picks the automated flow where the kind has one.
#[derive(Debug, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "RotationInput")]
pub struct AdvanceInput {
    pub confirm: bool,
    #[ts(as = "Option<BTreeMap<String, String>>")]
    pub values: Option<BTreeMap<String, SecretValue>>,
    pub generate: Option<GenerateInput>,
    pub automate: Option<bool>,
    pub grace_hours: Option<u32>,
}

/// Emitted as `rotation-progress` while rotationAdvance runs automated steps.
#[derive(Clone, Serialize, TS)]
pub struct RotationProgress<'a> {
    pub name: &'a str,
    pub step: Option<Step>,
    pub message: &'a str,
}

pub fn finished_view(name: &str, said: Said) -> RunView {
    let flow = run::Flow::Manual;
    RunView {
        name: name.to_owned(),
        flow,
        step: Step::Done,
        started_at: Utc::now().to_rfc3339(),
        steps: wizard::STEPS
            .iter()
            .map(|&step| StepView {
                step,
                label: wizard::label(step, flow),
                state: StepState::Done,
            })
            .collect(),
        outcome: match said.outcome {
            Some(Outcome::Aborted) => RunOutcome::Aborted,
            _ => RunOutcome::Done,
        },
        reason: None,
        until: None,
        question: None,
        needs_values: Vec::new(),
        messages: said.messages,
    }
}

#[derive(Debug, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "lowercase")]
#[ts(rename = "PolicyScope")]
pub enum ScopeView {
    Kind {
        #[ts(as = "Kind")]
        kind: String,
    },
    Env {
        env: String,
    },
    Tag {
        tag: String,
    },
}

#[derive(Debug, Serialize, TS)]
pub struct PolicyRow {
    pub scope: ScopeView,
    pub policy: PolicyView,
}

#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Settings")]
pub struct SettingsView {
    pub auto_lock_minutes: u32,
    pub clipboard_seconds: u32,
    /// Seconds a revealed value stays visible.
    pub reveal_seconds: u32,
    /// Notify when credentials become due or overdue.
    pub notifications: bool,
    /// After an automatic lock, only the recovery passphrase opens the vault.
    pub passphrase_after_auto_lock: bool,
    /// Closing the window keeps the app in the system tray.
    pub close_to_tray: bool,
    /// The global shortcut of the quick-search window ("" = none).
    pub quick_search_shortcut: String,
    pub policies: Vec<PolicyRow>,
    pub has_passphrase: bool,
    pub has_keyring: bool,
}

pub fn rows(policies: Policies) -> Vec<PolicyRow> {
    let view = |p: Policy| PolicyView {
        max_age_days: p.max_age_days,
        warn_days: p.warn_days,
    };
    let kinds = policies.by_kind.into_iter().map(|(k, p)| PolicyRow {
        scope: ScopeView::Kind { kind: k },
        policy: view(p),
    });
    let envs = policies.by_env.into_iter().map(|(e, p)| PolicyRow {
        scope: ScopeView::Env { env: e },
        policy: view(p),
    });
    let tags = policies.by_tag.into_iter().map(|(t, p)| PolicyRow {
        scope: ScopeView::Tag { tag: t },
        policy: view(p),
    });
    kinds.chain(envs).chain(tags).collect()
}

#[derive(Debug, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Preferences")]
pub struct PreferencesInput {
    pub auto_lock_minutes: u32,
    pub clipboard_seconds: u32,
    pub reveal_seconds: u32,
    pub notifications: bool,
    pub passphrase_after_auto_lock: bool,
    pub close_to_tray: bool,
    pub quick_search_shortcut: String,
}

#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BackupSummary {
    pub path: String,
    pub credentials: usize,
    pub audit_entries: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum RemoteType {
    Vault,
    Aws,
}

impl RemoteType {
    pub fn of(r: &Remote) -> RemoteType {
        match r.spec {
            Spec::Vault(_) => RemoteType::Vault,
            Spec::Aws(_) => RemoteType::Aws,
        }
    }
}

/// What a remote holds: credentials whose name starts with one of `names`
/// ("" is every name) or that have one of `tags`; empty holds nothing.
#[derive(Debug, Serialize, Deserialize, TS)]
#[ts(rename = "RemoteScope")]
pub struct ScopeInput {
    pub names: Vec<String>,
    pub tags: Vec<String>,
}

impl From<ScopeInput> for sync::Scope {
    fn from(s: ScopeInput) -> Self {
        sync::Scope {
            names: s.names.into_iter().map(|n| n.trim().to_owned()).collect(),
            tags: s
                .tags
                .into_iter()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RemoteRow {
    pub name: String,
    /// What it holds, in words ("names under team/", "every credential", "nothing …").
    pub holds: String,
    #[serde(rename = "type")]
    pub kind: RemoteType,
    /// Address (Vault) or region/endpoint (AWS), for display.
    pub target: String,
    /// KV mount (Vault) or null.
    pub mount: Option<String>,
    pub prefix: String,
    /// The vault credential it logs in with, or null (environment / SDK chain).
    pub auth_credential: Option<String>,
    pub linked: usize,
}

pub fn row(r: &Remote, linked: usize) -> RemoteRow {
    let (target, mount) = match &r.spec {
        Spec::Vault(v) => (v.addr.clone(), Some(v.mount.clone())),
        Spec::Aws(a) => (
            [a.region.clone(), a.endpoint_url.clone(), a.profile.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
            None,
        ),
    };
    RemoteRow {
        name: r.name.clone(),
        holds: r.scope().describe(),
        kind: RemoteType::of(r),
        target,
        mount,
        prefix: r.prefix.clone(),
        auth_credential: r.auth_credential().map(str::to_owned),
        linked,
    }
}

/// A remote's settings as its form shows them: what `remote_add` takes,
/// and what `remote_get` gives to fill the form for an edit.
#[derive(Debug, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum RemoteInput {
    #[serde(rename = "vault", rename_all = "camelCase")]
    Vault {
        name: String,
        addr: String,
        mount: String,
        prefix: String,
        namespace: Option<String>,
        scope: ScopeInput,
        /// A vault-token or vault-approle credential; null uses VAULT_TOKEN.
        auth_credential: Option<String>,
        insecure_http: bool,
    },
    #[serde(rename = "aws", rename_all = "camelCase")]
    Aws {
        name: String,
        region: Option<String>,
        prefix: String,
        endpoint_url: Option<String>,
        profile: Option<String>,
        scope: ScopeInput,
        /// An aws-access-key credential; null uses the profile or SDK chain.
        auth_credential: Option<String>,
        insecure_http: bool,
    },
}

impl From<&Remote> for RemoteInput {
    fn from(r: &Remote) -> RemoteInput {
        let scope = r.scope();
        let scope = ScopeInput {
            names: scope.names,
            tags: scope.tags,
        };
        match &r.spec {
            Spec::Vault(v) => RemoteInput::Vault {
                name: r.name.clone(),
                addr: v.addr.clone(),
                mount: v.mount.clone(),
                prefix: r.prefix.clone(),
                namespace: v.namespace.clone(),
                scope,
                auth_credential: r.auth_credential().map(str::to_owned),
                insecure_http: v.insecure_http,
            },
            Spec::Aws(a) => RemoteInput::Aws {
                name: r.name.clone(),
                region: a.region.clone(),
                prefix: r.prefix.clone(),
                endpoint_url: a.endpoint_url.clone(),
                profile: a.profile.clone(),
                scope,
                auth_credential: a.credential.clone(),
                insecure_http: a.insecure_http,
            },
        }
    }
}

pub fn given(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

#[derive(Debug, Serialize, TS)]
#[ts(rename = "RemoteCheck")]
pub struct CheckRow {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// Which way a sync goes.
#[derive(Clone, Copy, Debug, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Pull,
    Push,
    Both,
}

impl From<Direction> for sync::Direction {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Pull => sync::Direction::Pull,
            Direction::Push => sync::Direction::Push,
            Direction::Both => sync::Direction::Both,
        }
    }
}

/// Which side of a conflict wins.
#[derive(Clone, Copy, Debug, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Keep {
    Local,
    Remote,
}

impl From<Keep> for sync::Keep {
    fn from(k: Keep) -> Self {
        match k {
            Keep::Local => sync::Keep::Local,
            Keep::Remote => sync::Keep::Remote,
        }
    }
}

#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlanItem {
    pub name: String,
    pub state: sync::State,
    /// "new on remote", "changed locally", …
    pub state_text: &'static str,
    pub detail: Option<String>,
    #[ts(as = "Option<u32>")]
    pub local_version: Option<u64>,
    pub remote_version: Option<String>,
}

#[derive(Debug, Serialize, TS)]
#[ts(rename = "SyncPlan")]
pub struct PlanView {
    pub remote: String,
    /// What the remote holds, in words: nothing outside it is listed.
    pub holds: String,
    pub items: Vec<PlanItem>,
}

#[derive(Debug, Serialize, TS)]
#[ts(rename = "SyncDone")]
pub struct DoneRow {
    pub name: String,
    pub state: sync::State,
    pub outcome: &'static str,
    pub detail: Option<String>,
}

#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "SyncReport")]
pub struct ReportView {
    pub remote: String,
    pub done: Vec<DoneRow>,
    pub in_sync: usize,
    pub pulled: usize,
    pub pushed: usize,
    pub conflicts: usize,
    pub failed: usize,
}

pub fn report(r: Report) -> ReportView {
    ReportView {
        pulled: r.count(sync::Outcome::Pulled),
        pushed: r.count(sync::Outcome::Pushed),
        conflicts: r.count(sync::Outcome::Conflict),
        failed: r.count(sync::Outcome::Failed),
        in_sync: r.in_sync,
        remote: r.remote,
        done: r
            .done
            .into_iter()
            .map(|d| DoneRow {
                name: d.name,
                state: d.state,
                outcome: d.outcome.as_str(),
                detail: d.detail,
            })
            .collect(),
    }
}

/// Emitted as `sync-progress` while syncApply runs.
#[derive(Clone, Serialize, TS)]
#[ts(rename = "SyncProgress")]
pub struct ProgressEvent<'a> {
    pub remote: &'a str,
    pub total: usize,
    pub done: usize,
    pub name: Option<&'a str>,
    pub outcome: Option<&'static str>,
}

#[derive(Debug, Serialize, TS)]
pub struct SecretFieldDiff {
    pub name: String,
    pub label: String,
    pub differs: bool,
}

/// One side of a conflict: plain fields shown, secret fields masked with whether they differ.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "ConflictSide")]
pub struct SideView {
    pub version: Option<String>,
    pub updated_at: Option<String>,
    pub fields: Vec<Field>,
    pub secret_fields: Vec<SecretFieldDiff>,
    pub deleted: bool,
}

pub fn side(s: Side, c: &Comparison) -> SideView {
    SideView {
        version: s.version,
        updated_at: s.updated_at.map(|t| t.to_rfc3339()),
        deleted: s.meta.is_none(),
        fields: s
            .meta
            .map(|m| {
                m.fields
                    .into_iter()
                    .map(|(k, v)| Field::new(k, v))
                    .collect()
            })
            .unwrap_or_default(),
        secret_fields: s
            .secret_fields
            .into_iter()
            .map(|k| SecretFieldDiff {
                label: field_label(&k),
                differs: c.differs.contains(&k),
                name: k,
            })
            .collect(),
    }
}

#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Conflict")]
pub struct ConflictView {
    pub name: String,
    pub remote: String,
    pub local: SideView,
    pub remote_side: SideView,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum VaultState {
    Missing,
    Locked,
    Unlocked,
}

/// What the shell reports about the vault file.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct VaultStatus {
    pub state: VaultState,
    /// Where the vault file lives (or would live, when missing).
    pub path: String,
    /// Why the vault is still locked, when the shell knows.
    pub message: Option<String>,
    /// The vault was locked since the app started: the unlock screen does
    /// not try the keyring by itself (a page loaded after a lock, the main
    /// window built again, would otherwise undo it).
    pub locked_before: bool,
    /// Whether the vault has a keyring slot / a passphrase slot (null when missing).
    pub has_keyring: Option<bool>,
    pub has_passphrase: Option<bool>,
    /// The vault was locked automatically (idle, suspend, screen lock) and
    /// only the recovery passphrase opens it again.
    pub passphrase_required: bool,
    /// Failed unlock attempts since the last successful unlock (reported once, at unlock).
    pub failed_attempts: usize,
    pub failed_since: Option<String>,
    /// Preferences that apply while unlocked (also known while locked once read).
    pub auto_lock_minutes: u32,
    pub clipboard_seconds: u32,
}

/// Strength of a proposed passphrase, from the core's estimator.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Strength")]
pub struct StrengthView {
    /// 0 (very weak) to 4 (very strong); the core refuses scores below 2 for a recovery passphrase.
    #[ts(type = "0 | 1 | 2 | 3 | 4")]
    pub score: u8,
    /// "very weak", "weak", "fair", "strong", "very strong".
    pub label: &'static str,
    /// Rough time to guess offline against Argon2id, in words ("centuries", "3 hours").
    pub crack_time: String,
    pub warning: Option<String>,
    pub suggestions: Vec<String>,
}

impl From<Strength> for StrengthView {
    fn from(s: Strength) -> Self {
        StrengthView {
            score: s.score,
            label: s.label,
            crack_time: s.crack_time,
            warning: s.warning,
            suggestions: s.suggestions,
        }
    }
}

#[derive(Debug, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditFilter {
    pub credential: Option<String>,
    pub action: Option<String>,
    #[ts(as = "Option<String>")]
    pub since: Option<DateTime<Utc>>,
    #[ts(as = "Option<String>")]
    pub until: Option<DateTime<Utc>>,
    pub limit: usize,
}

#[derive(Debug, Serialize, TS)]
pub struct AuditRow {
    #[ts(type = "number")]
    pub seq: u64,
    pub at: String,
    /// snake_case action, e.g. "reveal", "sync_push", "rotation_step".
    pub action: &'static str,
    /// The credential name at the time, if the event had a target.
    pub target: Option<String>,
    /// "ok", "denied" or "failed".
    pub outcome: &'static str,
    /// OS user and interface ("app", "cli", "exec", "sync", …).
    pub user: String,
    pub interface: String,
    /// Details as short "key: value" text; never a secret.
    pub details: String,
}

/// `{"fields":["password"],"version":3}` → "fields: password · version: 3".
pub fn details_text(details: &serde_json::Value) -> String {
    let Some(map) = details.as_object() else {
        return String::new();
    };
    map.iter()
        .map(|(k, v)| {
            // The process that asked the agent, in words.
            if k == "requester" {
                if let Ok(r) =
                    serde_json::from_value::<coffer_core::agent::peer::Requester>(v.clone())
                {
                    return format!("asked by: {}", r.shown());
                }
            }
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            format!("{}: {v}", k.replace('_', " "))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

#[derive(Debug, Serialize, TS)]
#[ts(rename = "AuditVerification")]
pub struct Verification {
    pub ok: bool,
    #[ts(type = "number")]
    pub entries: u64,
    /// Sequence number the external anchor vouches for, if any.
    #[ts(as = "Option<u32>")]
    pub anchored: Option<u64>,
    /// What broke and where, when not ok.
    pub message: Option<String>,
}

/// A question of the agent's, as its approval window shows it: which
/// process (and where it runs) wants which credentials, under which rule.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalView {
    pub credentials: Vec<String>,
    /// "ask" or "ask-every-time", and why it applies ("set on env 'prod'").
    pub rule: String,
    pub why: String,
    /// "reveal", "credential_process", "token_helper".
    pub purpose: &'static str,
    /// The executable's file name, its pid, path, command line and directory.
    pub program: String,
    #[ts(type = "number")]
    pub pid: u32,
    pub exe: String,
    pub command_line: String,
    pub directory: String,
    /// Whether it runs on a terminal; its parents, nearest first ("4100 bash").
    pub terminal: bool,
    pub parents: Vec<String>,
    /// What "allow for this terminal" lasts; 0: not offered (asks every time).
    #[ts(type = "number")]
    pub remember_minutes: u32,
    /// Set when the question asks for this MFA device's code (an AWS
    /// session needs one) rather than for a yes.
    pub mfa_serial: Option<String>,
}

impl From<&coffer_core::agent::approval::Question> for ApprovalView {
    fn from(q: &coffer_core::agent::approval::Question) -> Self {
        let r = &q.requester;
        ApprovalView {
            credentials: q.names.clone(),
            rule: q.rule.to_string(),
            why: q.why.clone(),
            purpose: q.action.as_str(),
            program: std::path::Path::new(&r.exe)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "a process".into()),
            pid: r.pid,
            exe: r.exe.clone(),
            command_line: r.cmdline.clone(),
            directory: r.cwd.clone(),
            terminal: r.tty != 0,
            parents: r.parents.clone(),
            remember_minutes: q.remember_minutes,
            mfa_serial: q.mfa_serial.clone(),
        }
    }
}

/// The person's answer in an approval window.
#[derive(Debug, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalAnswer {
    Once,
    ForTerminal,
    Deny,
}
