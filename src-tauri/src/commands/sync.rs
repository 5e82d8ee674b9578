//! Remotes (add, list, get, edit, test, remove) and sync (plan, apply with progress
//! events, conflicts side by side, resolve).

use chrono::Utc;
use coffer_core::credential::printable;
use coffer_core::sync::{
    self, AwsSpec, Done, Options, Progress, Report, Scope, Spec, VaultAuth, VaultSpec,
    DEFAULT_CONCURRENCY,
};
use tauri::{AppHandle, Emitter};

use crate::confirm::confirm;
use crate::dto::{
    self, given, parse, report, row, side, CheckRow, ConflictView, PlanItem, PlanView,
    ProgressEvent, RemoteInput, RemoteRow, ReportView, Revealed,
};
use crate::error::IpcError;
use crate::state::blocking;

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

#[tauri::command]
pub async fn remote_add(app: AppHandle, input: RemoteInput) -> Result<RemoteRow, IpcError> {
    let (name, prefix, scope, spec) = remote_of(input);
    let (name, prefix, scope) = (
        name.trim().to_owned(),
        prefix.trim().to_owned(),
        scope.into(),
    );
    // Checked first (a mistyped address is an error, not a question), then
    // the person sees where credentials would go before anything is stored.
    let checked = {
        let (name, prefix, scope, spec) = (
            name.clone(),
            prefix.clone(),
            Clone::clone(&scope),
            spec.clone(),
        );
        blocking(&app, move |app| {
            app.with_vault(|v| v.new_remote(&name, &prefix, scope, spec, Utc::now()))
        })
        .await?
    };
    confirm(
        &app,
        format!("Add the remote '{}'?", printable(&checked.name)),
        format!(
            "It is {}. It will hold {}: a push sends those credentials there.",
            checked.spec.describe(&checked.prefix),
            checked.scope().describe()
        ),
        "_Add remote",
    )
    .await?;
    blocking(&app, move |app| {
        app.with_vault(|v| {
            let remote = v.add_remote(&name, &prefix, scope, spec, Utc::now())?;
            Ok(row(&remote, 0))
        })
    })
    .await
}

/// A remote's settings, to fill its form for an edit.
#[tauri::command]
pub async fn remote_get(app: AppHandle, name: String) -> Result<RemoteInput, IpcError> {
    blocking(&app, move |app| {
        app.with_vault(|v| v.remote(&name))
            .map(|r| RemoteInput::from(&r))
    })
    .await
}

/// Changes remote `name` to the form's settings. Checked first, then the
/// person sees in the shell's own dialog where credentials would go from
/// now on (the page could otherwise point a remote at its own server and
/// wait for the next push), then stored.
#[tauri::command]
pub async fn remote_edit(
    app: AppHandle,
    name: String,
    input: RemoteInput,
) -> Result<RemoteRow, IpcError> {
    let (new_name, prefix, scope, spec) = remote_of(input);
    let (new_name, prefix, scope): (String, String, Scope) = (
        new_name.trim().to_owned(),
        prefix.trim().to_owned(),
        scope.into(),
    );
    let checked = {
        let (name, new_name, prefix, scope, spec) = (
            name.clone(),
            new_name.clone(),
            prefix.clone(),
            scope.clone(),
            spec.clone(),
        );
        blocking(&app, move |app| {
            app.with_vault(|v| v.edited_remote(&name, &new_name, &prefix, scope, spec, Utc::now()))
        })
        .await?
    };
    let remote = &checked.remote;
    confirm(
        &app,
        format!("Change the remote '{}'?", printable(&name)),
        format!(
            "It will be {}{}. It will hold {}: a push sends those credentials there.{}",
            remote.spec.describe(&remote.prefix),
            if remote.name == name {
                String::new()
            } else {
                format!(", named '{}'", printable(&remote.name))
            },
            remote.scope().describe(),
            if checked.moved {
                " It points somewhere new: what Coffer knew of the old place is forgotten, and the next sync compares afresh."
            } else {
                ""
            }
        ),
        "_Save changes",
    )
    .await?;
    blocking(&app, move |app| {
        app.with_vault(|v| {
            let edited = v.edit_remote(&name, &new_name, &prefix, scope, spec, Utc::now())?;
            let linked = v.link_count(&edited.remote.id)?;
            Ok(row(&edited.remote, linked))
        })
    })
    .await
}

/// The form's fields as the core's remote: name, prefix, scope, spec.
fn remote_of(input: RemoteInput) -> (String, String, dto::ScopeInput, Spec) {
    match input {
        RemoteInput::Vault {
            name,
            addr,
            mount,
            prefix,
            namespace,
            scope,
            auth_credential,
            insecure_http,
        } => (
            name,
            prefix,
            scope,
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
            scope,
            auth_credential,
            insecure_http,
        } => (
            name,
            prefix,
            scope,
            Spec::Aws(AwsSpec {
                region: given(region),
                profile: given(profile),
                credential: given(auth_credential),
                endpoint_url: given(endpoint_url),
                kms_key_id: None,
                insecure_http,
            }),
        ),
    }
}

#[tauri::command]
pub async fn remote_remove(app: AppHandle, name: String) -> Result<(), IpcError> {
    blocking(&app, move |app| {
        app.with_vault(|v| v.remove_remote(&name, Utc::now()).map(|_| ()))
    })
    .await
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

#[tauri::command]
pub async fn sync_plan(app: AppHandle, remote: String) -> Result<PlanView, IpcError> {
    blocking(&app, move |app| {
        let plan =
            app.with_vault(|v| sync::plan(v, &remote, &[], DEFAULT_CONCURRENCY, Utc::now()))?;
        Ok(PlanView {
            remote: plan.remote,
            holds: plan.scope,
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
    let direction = parse::<dto::Direction>("direction", &direction)?;
    match direction {
        dto::Direction::Push => {
            confirm_sending(
                &app,
                &remote,
                "Push to",
                "every local change it holds",
                "_Push",
            )
            .await?
        }
        dto::Direction::Both => {
            confirm_sending(
                &app,
                &remote,
                "Sync with",
                "local changes it holds",
                "_Sync",
            )
            .await?
        }
        dto::Direction::Pull => {}
    }
    let events_app = app.clone();
    blocking(&app, move |app| {
        let direction = direction.into();
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
) -> Result<Revealed, IpcError> {
    blocking(&app, move |app| {
        app.allow_reveal()?;
        let value =
            app.with_vault(|v| sync::reveal_remote(v, &remote, &name, &field, Utc::now()))?;
        Ok(Revealed(value))
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
    let keep = parse::<dto::Keep>("keep", &keep)?;
    if let dto::Keep::Local = keep {
        let what = format!("the local '{}'", printable(&name));
        confirm_sending(
            &app,
            &remote,
            "Overwrite the remote copy on",
            &what,
            "_Overwrite",
        )
        .await?;
    }
    blocking(&app, move |app| {
        let keep = keep.into();
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

/// Asks before credentials leave for remote `name`: "`verb` 'name'?", with
/// `what` would be sent and where the remote is, as stored (not as the page
/// says).
async fn confirm_sending(
    app: &AppHandle,
    name: &str,
    verb: &str,
    what: &str,
    accept: &'static str,
) -> Result<(), IpcError> {
    let remote = {
        let name = name.to_owned();
        blocking(app, move |app| app.with_vault(|v| v.remote(&name))).await?
    };
    confirm(
        app,
        format!("{verb} the remote '{}'?", printable(&remote.name)),
        format!(
            "Coffer will send {what} to {}. The remote holds {}.",
            remote.spec.describe(&remote.prefix),
            remote.scope().describe()
        ),
        accept,
    )
    .await
}
