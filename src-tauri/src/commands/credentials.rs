//! The list, a credential's detail, reveal and copy, add, edit, delete,
//! history and rollback, kinds and the generator.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use coffer_core::audit::Action;
use coffer_core::kind::FieldFormat;
use coffer_core::rotation::run::{self, Charset, Generate};
use coffer_core::rotation::{self, State, Status};
use coffer_core::search::{Find, Found};
use coffer_core::{Credential, Draft, Kind, Patch, SecretValue, Vault};
use serde::{Deserialize, Serialize};
use tauri::AppHandle;

use super::rotation::{run_view, waiting_on, RunView};
use crate::error::IpcError;
use crate::state::{blocking, guard};

fn parse<T: serde::de::DeserializeOwned>(what: &str, value: &str) -> Result<T, IpcError> {
    serde_json::from_value(serde_json::Value::String(value.to_owned()))
        .map_err(|_| IpcError::invalid(what, format!("unknown {what} '{value}'")))
}

fn rotation_state(value: &str) -> Result<State, IpcError> {
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

fn rfc3339(t: DateTime<Utc>) -> String {
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
        Kind::VaultToken => "Vault token",
        Kind::VaultApprole => "Vault AppRole",
        Kind::DbPassword => "Database password",
        Kind::ApiKey => "API key",
        Kind::GcpServiceAccount => "GCP service account",
        Kind::AzureServicePrincipal => "Azure service principal",
        Kind::SshKey => "SSH key",
        Kind::Generic => "Generic",
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationView {
    state: State,
    since: String,
    age_days: i64,
    due: Option<String>,
    days_left: Option<i64>,
    max_age_days: Option<u32>,
    warn_days: Option<u32>,
    policy_source: Option<String>,
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    id: String,
    name: String,
    kind: Kind,
    env: Option<String>,
    tags: Vec<String>,
    version: u64,
    updated_at: String,
    rotation: RotationView,
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FindQuery {
    query: String,
    kind: Option<String>,
    env: Option<String>,
    tag: Option<String>,
    states: Vec<String>,
    offset: usize,
    limit: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FacetsView {
    kinds: Vec<Kind>,
    envs: Vec<String>,
    tags: Vec<String>,
    needs_action: usize,
    due_soon: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindPage {
    total: usize,
    items: Vec<Summary>,
    facets: FacetsView,
}

#[tauri::command]
pub async fn credential_find(app: AppHandle, query: FindQuery) -> Result<FindPage, IpcError> {
    blocking(&app, move |app| {
        let find = Find {
            query: query.query,
            kind: query.kind.as_deref().map(kind_of).transpose()?,
            env: query.env,
            tag: query.tag,
            states: query
                .states
                .iter()
                .map(|s| rotation_state(s))
                .collect::<Result<_, _>>()?,
            offset: query.offset,
            limit: query.limit.min(1000),
        };
        let Found {
            total,
            items,
            facets,
        } = app.with_vault(|v| v.find(&find, Utc::now()))?;
        Ok(FindPage {
            total,
            items: items.iter().map(|(c, s)| summary(c, s)).collect(),
            facets: FacetsView {
                kinds: facets.kinds,
                envs: facets.envs,
                tags: facets.tags,
                needs_action: facets.needs_action,
                due_soon: facets.due_soon,
            },
        })
    })
    .await
}

#[derive(Debug, Serialize)]
pub struct Field {
    name: String,
    label: String,
    value: String,
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

#[derive(Debug, Serialize)]
pub struct SecretField {
    name: String,
    label: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    remote: String,
    remote_type: &'static str,
    location: String,
    remote_version: Option<String>,
    synced_at: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyView {
    max_age_days: u32,
    warn_days: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    #[serde(flatten)]
    summary: Summary,
    notes: Option<String>,
    fields: Vec<Field>,
    secret_fields: Vec<SecretField>,
    created_at: String,
    expires_at: Option<String>,
    rotated_at: Option<String>,
    compromised_at: Option<String>,
    policy: Option<PolicyView>,
    remotes: Vec<Binding>,
    rotation_run: Option<RunView>,
}

/// Everything the detail pane shows about `name` (no secret values).
pub fn detail(vault: &Vault, name: &str) -> coffer_core::Result<Detail> {
    let c = vault.get(name)?;
    let status = rotation::status(&c, &vault.policies()?, Utc::now());
    let run = vault.running_rotation(name)?;
    let m = &c.meta;
    Ok(Detail {
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
        remotes: vault
            .bindings(name)?
            .into_iter()
            .map(|b| Binding {
                remote_type: b.remote.type_name(),
                location: b.remote.location(name),
                remote: b.remote.name,
                remote_version: Some(b.remote_version),
                synced_at: Some(rfc3339(b.synced_at)),
            })
            .collect(),
        rotation_run: run.map(|r| run_view(name, &r, waiting_on(m.kind, &r))),
        summary: summary(&c, &status),
    })
}

#[tauri::command]
pub async fn credential_get(app: AppHandle, name: String) -> Result<Detail, IpcError> {
    blocking(&app, move |app| app.with_vault(|v| detail(v, &name))).await
}

#[tauri::command]
pub async fn credential_reveal(
    app: AppHandle,
    name: String,
    field: String,
) -> Result<String, IpcError> {
    blocking(&app, move |app| {
        let value =
            app.with_vault(|v| v.reveal_field(&name, &field, Action::Reveal, Utc::now()))?;
        Ok(value.expose_secret().to_owned())
    })
    .await
}

#[tauri::command]
pub async fn credential_copy(app: AppHandle, name: String, field: String) -> Result<u32, IpcError> {
    blocking(&app, move |app| {
        let value = app.with_vault(|v| v.reveal_field(&name, &field, Action::Copy, Utc::now()))?;
        let seconds = guard(&app.preferences).clipboard_seconds;
        app.clipboard
            .copy(&value, Duration::from_secs(u64::from(seconds)))
            .map_err(IpcError::failure)?;
        Ok(seconds)
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialInput {
    name: String,
    kind: String,
    env: Option<String>,
    tags: Vec<String>,
    notes: Option<String>,
    fields: BTreeMap<String, String>,
    values: BTreeMap<String, String>,
    expires_at: Option<DateTime<Utc>>,
}

fn secret_map(values: BTreeMap<String, String>) -> BTreeMap<String, SecretValue> {
    values
        .into_iter()
        .map(|(k, v)| (k, SecretValue::from(v)))
        .collect()
}

impl CredentialInput {
    fn draft(self) -> Result<Draft, IpcError> {
        let mut d = Draft::new(self.name, kind_of(&self.kind)?);
        d.env = self.env.filter(|e| !e.is_empty());
        d.tags = self.tags;
        d.notes = self.notes.filter(|n| !n.is_empty());
        d.fields = self.fields;
        d.values = secret_map(self.values);
        d.expires_at = self.expires_at;
        Ok(d)
    }
}

#[tauri::command]
pub async fn credential_validate(app: AppHandle, input: CredentialInput) -> Result<(), IpcError> {
    blocking(&app, move |app| {
        let draft = input.draft()?;
        let name = draft.name.clone();
        draft.into_parts()?;
        match app.with_vault(|v| v.get(&name)) {
            Ok(_) => Err(coffer_core::Error::AlreadyExists { name }.into()),
            Err(e) if e.code == "not_found" => Ok(()),
            Err(e) => Err(e),
        }
    })
    .await
}

#[tauri::command]
pub async fn credential_add(app: AppHandle, input: CredentialInput) -> Result<Detail, IpcError> {
    blocking(&app, move |app| {
        let draft = input.draft()?;
        app.with_vault(|v| {
            let c = v.add(draft, Utc::now())?;
            detail(v, &c.meta.name)
        })
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialEdit {
    rename: Option<String>,
    env: Option<String>,
    tags: Vec<String>,
    notes: Option<String>,
    fields: BTreeMap<String, String>,
    values: BTreeMap<String, String>,
    unset: Vec<String>,
    expires_at: Option<DateTime<Utc>>,
    expected_version: u64,
}

#[tauri::command]
pub async fn credential_update(
    app: AppHandle,
    name: String,
    edit: CredentialEdit,
) -> Result<Detail, IpcError> {
    blocking(&app, move |app| {
        app.with_vault(|v| {
            let current = v.get(&name)?;
            let old: BTreeSet<&String> = current.meta.tags.iter().collect();
            let new: BTreeSet<&String> = edit.tags.iter().collect();
            let patch = Patch {
                rename: edit.rename.filter(|r| *r != name),
                env: Some(edit.env.filter(|e| !e.is_empty())),
                add_tags: new.difference(&old).map(|t| (*t).clone()).collect(),
                remove_tags: old.difference(&new).map(|t| (*t).clone()).collect(),
                notes: Some(edit.notes.filter(|n| !n.is_empty())),
                fields: edit.fields,
                values: secret_map(edit.values),
                unset: edit.unset,
                expires_at: Some(edit.expires_at),
                expected_version: Some(edit.expected_version),
                ..Patch::default()
            };
            let updated = v.update(&name, &patch, Utc::now())?;
            detail(v, &updated.credential.meta.name)
        })
    })
    .await
}

#[tauri::command]
pub async fn credential_delete(app: AppHandle, name: String) -> Result<(), IpcError> {
    blocking(&app, move |app| {
        app.with_vault(|v| v.remove(&name, Utc::now()).map(|_| ()))
    })
    .await
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    version: u64,
    written_at: String,
    current: bool,
    changes: Vec<String>,
}

#[tauri::command]
pub async fn credential_history(
    app: AppHandle,
    name: String,
) -> Result<Vec<HistoryEntry>, IpcError> {
    blocking(&app, move |app| {
        let history = app.with_vault(|v| v.history(&name))?;
        Ok(history
            .into_iter()
            .rev()
            .map(|h| HistoryEntry {
                version: h.version,
                written_at: rfc3339(h.written_at),
                current: h.current,
                changes: h.changes,
            })
            .collect())
    })
    .await
}

#[tauri::command]
pub async fn credential_rollback(
    app: AppHandle,
    name: String,
    version: u64,
) -> Result<Detail, IpcError> {
    blocking(&app, move |app| {
        app.with_vault(|v| {
            v.rollback(&name, version, Utc::now())?;
            detail(v, &name)
        })
    })
    .await
}

#[derive(Debug, Serialize)]
pub struct FieldSchema {
    name: &'static str,
    label: String,
    secret: bool,
    required: bool,
    format: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KindSchema {
    kind: Kind,
    label: &'static str,
    fields: Vec<FieldSchema>,
    default_max_age_days: Option<u32>,
}

#[tauri::command]
pub fn kind_schemas() -> Vec<KindSchema> {
    Kind::ALL
        .iter()
        .map(|&kind| KindSchema {
            kind,
            label: kind_label(kind),
            fields: kind
                .schema()
                .iter()
                .map(|f| FieldSchema {
                    name: f.name,
                    label: field_label(f.name),
                    secret: f.secret,
                    required: f.required,
                    format: match f.format {
                        FieldFormat::Port => "port",
                        FieldFormat::JsonObject => "json",
                        FieldFormat::Url => "url",
                        FieldFormat::Text if f.name == "private_key" => "multiline",
                        _ => "text",
                    },
                })
                .collect(),
            default_max_age_days: rotation::default_policy(kind).map(|p| p.max_age_days),
        })
        .collect()
}

pub fn charset_of(value: &str) -> Result<Charset, IpcError> {
    match value {
        "alphanumeric" => Ok(Charset::Alphanumeric),
        "alphanumeric_symbols" => Ok(Charset::AlphanumericSymbols),
        "hex" => Ok(Charset::Hex),
        other => Err(IpcError::invalid(
            "charset",
            format!("unknown charset '{other}'"),
        )),
    }
}

#[tauri::command]
pub fn generate_secret(length: usize, charset: String) -> Result<String, IpcError> {
    let charset = charset_of(&charset)?;
    let value = run::generate(Generate { length, charset })?;
    Ok(value.expose_secret().to_owned())
}
