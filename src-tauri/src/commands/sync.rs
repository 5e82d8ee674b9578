//! Remotes (add, list, test, remove) and sync (plan, apply with progress
//! events, conflicts side by side, resolve).

use chrono::Utc;
use coffer_core::sync::{
    self, AwsSpec, Comparison, Direction, Done, Keep, Options, Outcome, Progress, Remote, Report,
    Side, Spec, State, VaultAuth, VaultSpec, DEFAULT_CONCURRENCY,
};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter};

use super::credentials::{field_label, Field};
use crate::error::IpcError;
use crate::state::blocking;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteRow {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    target: String,
    mount: Option<String>,
    prefix: String,
    auth_credential: Option<String>,
    linked: usize,
}

fn row(r: &Remote, linked: usize) -> RemoteRow {
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
        kind: r.type_name(),
        target,
        mount,
        prefix: r.prefix.clone(),
        auth_credential: r.auth_credential().map(str::to_owned),
        linked,
    }
}

#[tauri::command]
pub async fn remote_list(app: AppHandle) -> Result<Vec<RemoteRow>, IpcError> {
    blocking(&app, |app| {
        app.with_vault(|v| {
            v.remotes()?
                .iter()
                .map(|r| Ok(row(r, v.link_count(&r.id)?)))
                .collect()
        })
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum RemoteInput {
    #[serde(rename = "vault", rename_all = "camelCase")]
    Vault {
        name: String,
        addr: String,
        mount: String,
        prefix: String,
        namespace: Option<String>,
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
        auth_credential: Option<String>,
        insecure_http: bool,
    },
}

fn given(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

#[tauri::command]
pub async fn remote_add(app: AppHandle, input: RemoteInput) -> Result<RemoteRow, IpcError> {
    blocking(&app, move |app| {
        let (name, prefix, spec) = match input {
            RemoteInput::Vault {
                name,
                addr,
                mount,
                prefix,
                namespace,
                auth_credential,
                insecure_http,
            } => (
                name,
                prefix,
                Spec::Vault(VaultSpec {
                    addr: addr.trim().to_owned(),
                    mount: mount.trim().to_owned(),
                    namespace: given(namespace),
                    ca_cert: None,
                    auth: VaultAuth::Token {
                        credential: given(auth_credential),
                    },
                    insecure_http,
                }),
            ),
            RemoteInput::Aws {
                name,
                region,
                prefix,
                endpoint_url,
                profile,
                auth_credential,
                insecure_http,
            } => (
                name,
                prefix,
                Spec::Aws(AwsSpec {
                    region: given(region),
                    profile: given(profile),
                    credential: given(auth_credential),
                    endpoint_url: given(endpoint_url),
                    kms_key_id: None,
                    insecure_http,
                }),
            ),
        };
        app.with_vault(|v| {
            let spec = approle_if_needed(v, spec)?;
            let remote = v.add_remote(name.trim(), prefix.trim(), spec, Utc::now())?;
            Ok(row(&remote, 0))
        })
    })
    .await
}

/// The form names one auth credential; a vault-approle one means AppRole.
fn approle_if_needed(v: &coffer_core::Vault, spec: Spec) -> coffer_core::Result<Spec> {
    match spec {
        Spec::Vault(mut vs) => {
            if let VaultAuth::Token {
                credential: Some(c),
            } = &vs.auth
            {
                if v.get(c)?.meta.kind == coffer_core::Kind::VaultApprole {
                    vs.auth = VaultAuth::Approle {
                        credential: c.clone(),
                    };
                }
            }
            Ok(Spec::Vault(vs))
        }
        aws => Ok(aws),
    }
}

#[tauri::command]
pub async fn remote_remove(app: AppHandle, name: String) -> Result<(), IpcError> {
    blocking(&app, move |app| {
        app.with_vault(|v| v.remove_remote(&name, Utc::now()).map(|_| ()))
    })
    .await
}

#[derive(Debug, Serialize)]
pub struct CheckRow {
    name: String,
    ok: bool,
    detail: String,
}

#[tauri::command]
pub async fn remote_test(app: AppHandle, name: String) -> Result<Vec<CheckRow>, IpcError> {
    blocking(&app, move |app| {
        let checks = app.with_vault(|v| sync::test_remote(v, &name, Utc::now()))?;
        Ok(checks
            .into_iter()
            .map(|c| CheckRow {
                name: c.name,
                ok: c.ok,
                detail: c.detail,
            })
            .collect())
    })
    .await
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanItem {
    name: String,
    state: State,
    state_text: &'static str,
    detail: Option<String>,
    local_version: Option<u64>,
    remote_version: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PlanView {
    remote: String,
    items: Vec<PlanItem>,
}

#[tauri::command]
pub async fn sync_plan(app: AppHandle, remote: String) -> Result<PlanView, IpcError> {
    blocking(&app, move |app| {
        let plan =
            app.with_vault(|v| sync::plan(v, &remote, &[], DEFAULT_CONCURRENCY, Utc::now()))?;
        Ok(PlanView {
            remote: plan.remote,
            items: plan
                .items
                .into_iter()
                .map(|i| PlanItem {
                    state_text: i.state.as_str(),
                    name: i.name,
                    state: i.state,
                    detail: i.detail,
                    local_version: i.local_version,
                    remote_version: i.remote_version,
                })
                .collect(),
        })
    })
    .await
}

#[derive(Debug, Serialize)]
pub struct DoneRow {
    name: String,
    state: State,
    outcome: &'static str,
    detail: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportView {
    remote: String,
    done: Vec<DoneRow>,
    in_sync: usize,
    pulled: usize,
    pushed: usize,
    conflicts: usize,
    failed: usize,
}

fn report(r: Report) -> ReportView {
    ReportView {
        pulled: r.count(Outcome::Pulled),
        pushed: r.count(Outcome::Pushed),
        conflicts: r.count(Outcome::Conflict),
        failed: r.count(Outcome::Failed),
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

#[derive(Clone, Serialize)]
struct ProgressEvent<'a> {
    remote: &'a str,
    total: usize,
    done: usize,
    name: Option<&'a str>,
    outcome: Option<&'static str>,
}

/// Forwards the core's progress to the window as `sync-progress` events.
struct Events<'a> {
    app: &'a AppHandle,
    remote: &'a str,
    total: usize,
    done: usize,
}

impl Events<'_> {
    fn emit(&self, item: Option<&Done>) {
        let _ = self.app.emit(
            "sync-progress",
            ProgressEvent {
                remote: self.remote,
                total: self.total,
                done: self.done,
                name: item.map(|d| d.name.as_str()),
                outcome: item.map(|d| d.outcome.as_str()),
            },
        );
    }
}

impl Progress for Events<'_> {
    fn start(&mut self, total: usize) {
        self.total = total;
        self.emit(None);
    }

    fn done(&mut self, item: &Done) {
        self.done += 1;
        self.emit(Some(item));
    }
}

#[tauri::command]
pub async fn sync_apply(
    app: AppHandle,
    remote: String,
    direction: String,
    prune: bool,
) -> Result<ReportView, IpcError> {
    let events_app = app.clone();
    blocking(&app, move |app| {
        let direction = match direction.as_str() {
            "pull" => Direction::Pull,
            "push" => Direction::Push,
            "both" => Direction::Both,
            other => {
                return Err(IpcError::invalid(
                    "direction",
                    format!("unknown direction '{other}'"),
                ))
            }
        };
        let options = Options {
            direction,
            only: Vec::new(),
            dry_run: false,
            prune,
            concurrency: DEFAULT_CONCURRENCY,
        };
        let mut events = Events {
            app: &events_app,
            remote: &remote,
            total: 0,
            done: 0,
        };
        let r = app.with_vault(|v| sync::sync(v, &remote, &options, &mut events, Utc::now))?;
        Ok(report(r))
    })
    .await
}

#[derive(Debug, Serialize)]
pub struct SecretField {
    name: String,
    label: String,
    differs: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SideView {
    version: Option<String>,
    updated_at: Option<String>,
    fields: Vec<Field>,
    secret_fields: Vec<SecretField>,
    deleted: bool,
}

fn side(s: Side, c: &Comparison) -> SideView {
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
            .map(|k| SecretField {
                label: field_label(&k),
                differs: c.differs.contains(&k),
                name: k,
            })
            .collect(),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConflictView {
    name: String,
    remote: String,
    local: SideView,
    remote_side: SideView,
}

#[tauri::command]
pub async fn sync_conflict(
    app: AppHandle,
    remote: String,
    name: String,
) -> Result<ConflictView, IpcError> {
    blocking(&app, move |app| {
        let mut c = app.with_vault(|v| sync::compare(v, &remote, &name, Utc::now()))?;
        let (local, theirs) = (std::mem::take(&mut c.local), std::mem::take(&mut c.remote));
        Ok(ConflictView {
            local: side(local, &c),
            remote_side: side(theirs, &c),
            name,
            remote,
        })
    })
    .await
}

#[tauri::command]
pub async fn sync_reveal_remote(
    app: AppHandle,
    remote: String,
    name: String,
    field: String,
) -> Result<String, IpcError> {
    blocking(&app, move |app| {
        let value =
            app.with_vault(|v| sync::reveal_remote(v, &remote, &name, &field, Utc::now()))?;
        Ok(value.expose_secret().to_owned())
    })
    .await
}

#[tauri::command]
pub async fn sync_resolve(
    app: AppHandle,
    remote: String,
    name: String,
    keep: String,
) -> Result<ReportView, IpcError> {
    blocking(&app, move |app| {
        let keep = match keep.as_str() {
            "local" => Keep::Local,
            "remote" => Keep::Remote,
            other => return Err(IpcError::invalid("keep", format!("unknown side '{other}'"))),
        };
        let done = app.with_vault(|v| sync::resolve(v, Some(&remote), &name, keep, Utc::now))?;
        Ok(report(Report {
            remote,
            dry_run: false,
            done: vec![done],
            in_sync: 0,
        }))
    })
    .await
}
