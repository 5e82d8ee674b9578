//! The app's one piece of managed state: where the vault is, the open vault
//! while unlocked, and the shell's own timers (idle lock, clipboard).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use coffer_core::agent::server::Session;
use coffer_core::audit::Actor;
use coffer_core::preferences::Preferences;
use coffer_core::search::{CatalogFile, Find};
use coffer_core::slot::SlotKind;
use coffer_core::transfer::Format;
use coffer_core::{paths, UnlockReport, UnlockWith, Vault};
use tauri::{AppHandle, Manager};

use crate::clipboard::Clipboard;
use crate::error::{ErrorCode, IpcError};
use crate::guard::guard;
use crate::heap;

pub struct AppState {
    pub path: PathBuf,
    /// Shared with the agent the app hosts (see `agent.rs`).
    vault: Session,
    /// Whether `vault` holds one, read without taking its lock: the main
    /// thread asks (the tray, the quick-search shortcut) and must not wait
    /// behind a command holding the vault (the catalog's first read at 100k
    /// credentials takes half a second, a sync longer). Written only while
    /// holding `vault`'s lock, where the vault is put in (`opened`) or taken
    /// out (`lock`, which every lock goes through, the agent's included).
    unlocked: AtomicBool,
    /// The vault was locked since the app started (by hand, idle, suspend,
    /// the agent): a page loaded after that (the main window built again)
    /// must not undo the lock with an unlock of its own through the keyring.
    locked_before: AtomicBool,
    /// Why the start-up unlock did not happen, shown while locked.
    pub locked_reason: Mutex<Option<String>>,
    /// Failed attempts reported by the last unlock, until the UI has read them.
    pub unlock_report: Mutex<UnlockReport>,
    /// The last time the person did something (a command, or the UI's touch).
    pub last_activity: Mutex<Instant>,
    /// The vault's preferences as last read (kept while locked for the UI).
    pub preferences: Mutex<Preferences>,
    pub clipboard: Clipboard,
    /// Why the vault was locked automatically, while only the recovery
    /// passphrase may open it again (see [`AppState::lock_automatically`]).
    pub passphrase_needed: Mutex<Option<String>>,
    /// The page's reveal allowance (see [`AppState::allow_reveal`]).
    reveals: Mutex<Allowance>,
    /// Told of every unlock (`true`) and lock (`false`): the agent forgets
    /// the yeses it remembered, the tray shows the new state.
    listeners: Mutex<Vec<Arc<Told>>>,
    /// The file the person picked to import, and its format, between the
    /// preview and the import (forgotten on lock).
    pub chosen_import: Mutex<Option<(PathBuf, Format)>>,
}

/// How many secret values the page may reveal or copy: a burst of
/// [`REVEAL_BURST`], then one per [`REVEAL_EVERY`]. A person reads a few at a
/// time; script injected into the page would read them all, and is slowed
/// to a person's pace (each one still audited).
pub const REVEAL_BURST: f64 = 20.0;
pub const REVEAL_EVERY: Duration = Duration::from_secs(2);

/// Called with the vault's new state: `true` unlocked, `false` locked.
type Told = dyn Fn(bool) + Send + Sync;

/// A token bucket: `tokens` left, as of `at`.
struct Allowance {
    tokens: f64,
    at: Instant,
}

impl AppState {
    /// Finds the vault (`--vault PATH`, else COFFER_VAULT, else the XDG
    /// default) and tries the keyring so a person lands on an unlocked vault
    /// without a prompt.
    pub fn start() -> AppState {
        let mut args = std::env::args_os().skip(1);
        let mut from_args = None;
        while let Some(arg) = args.next() {
            if arg == "--vault" {
                from_args = args.next().map(PathBuf::from);
            }
        }
        let path = from_args
            .or_else(|| std::env::var_os("COFFER_VAULT").map(PathBuf::from))
            .or_else(|| paths::default_vault_path().ok())
            .unwrap_or_else(|| PathBuf::from(paths::DEFAULT_FILE_NAME));
        let state = AppState {
            path,
            vault: Arc::new(Mutex::new(None)),
            unlocked: AtomicBool::new(false),
            locked_before: AtomicBool::new(false),
            locked_reason: Mutex::new(None),
            unlock_report: Mutex::new(UnlockReport::default()),
            last_activity: Mutex::new(Instant::now()),
            preferences: Mutex::new(Preferences::default()),
            clipboard: Clipboard::default(),
            passphrase_needed: Mutex::new(None),
            reveals: Mutex::new(Allowance {
                tokens: REVEAL_BURST,
                at: Instant::now(),
            }),
            listeners: Mutex::new(Vec::new()),
            chosen_import: Mutex::new(None),
        };
        if state.path.exists() {
            let _ = state.unlock(UnlockWith::Keyring);
        }
        state
    }

    /// While GTK and WebKit bring up the window (about half a second), a
    /// thread does what the page's first calls would otherwise wait for
    /// after an unlock at start: the unlock's audit entry is written (a
    /// durable commit) and the list's catalog read (every row decrypted).
    /// The page's first calls wait on the vault's lock for whatever is left.
    /// Started after the shell's own set-up, whose reads of the lock state
    /// run on the main thread.
    pub fn warm_up(&self) {
        let vault = Arc::clone(&self.vault);
        std::thread::spawn(move || {
            let to_save = guard(&vault).as_mut().and_then(|vault| {
                // A zero limit: the catalog and the counts, no page.
                if let Err(e) = vault.find(&Find::default(), Utc::now()) {
                    tracing::warn!("reading the list at start: {e}");
                }
                save_catalog(vault)
            });
            // Written without holding the vault.
            write_catalog(to_save);
            // The rows' metadata, freed as the catalog kept its part.
            heap::give_back();
        });
    }

    /// The unlocked vault as the agent shares it.
    pub fn session(&self) -> Session {
        Arc::clone(&self.vault)
    }

    pub fn is_unlocked(&self) -> bool {
        self.unlocked.load(Ordering::SeqCst)
    }

    /// Whether the vault was locked since the app started.
    pub fn was_locked(&self) -> bool {
        self.locked_before.load(Ordering::SeqCst)
    }

    /// Tells `listener` of every unlock and lock from now on.
    pub fn on_change(&self, listener: impl Fn(bool) + Send + Sync + 'static) {
        guard(&self.listeners).push(Arc::new(listener));
    }

    /// Calls the listeners without holding their list: a listener that
    /// waits for the main thread (the tray's menu and icon do) must not
    /// block a lock or unlock the main thread itself is making.
    fn tell(&self, unlocked: bool) {
        let listeners = guard(&self.listeners).clone();
        for listener in listeners {
            listener(unlocked);
        }
    }

    pub fn touch(&self) {
        *guard(&self.last_activity) = Instant::now();
    }

    /// Runs `f` on the unlocked vault; `locked` when there is none.
    pub fn with_vault<T>(
        &self,
        f: impl FnOnce(&mut Vault) -> coffer_core::Result<T>,
    ) -> Result<T, IpcError> {
        self.touch();
        let mut vault = guard(&self.vault);
        let vault = vault.as_mut().ok_or(coffer_core::Error::Locked)?;
        Ok(f(vault)?)
    }

    fn opened(&self, result: coffer_core::Result<(Vault, UnlockReport)>) -> Result<(), IpcError> {
        match result {
            Ok((vault, report)) => {
                let preferences = vault.preferences().unwrap_or_default();
                *guard(&self.preferences) = preferences;
                {
                    // Set under the vault's lock, so a lock racing this
                    // unlock cannot leave the flag saying the opposite.
                    let mut slot = guard(&self.vault);
                    *slot = Some(vault);
                    self.unlocked.store(true, Ordering::SeqCst);
                }
                *guard(&self.locked_reason) = None;
                *guard(&self.unlock_report) = report;
                self.touch();
                self.tell(true);
                Ok(())
            }
            Err(e) => {
                *guard(&self.locked_reason) = Some(e.to_string());
                Err(e.into())
            }
        }
    }

    /// Unlocks by the core's policy; the unlock is written to the audit
    /// trail by the first transaction after it (the list the UI asks for next).
    pub fn unlock(&self, with: UnlockWith<'_>) -> Result<(), IpcError> {
        let by_passphrase = matches!(with, UnlockWith::Passphrase(_));
        if !by_passphrase {
            if let Some(reason) = guard(&self.passphrase_needed).as_deref() {
                return Err(IpcError {
                    code: ErrorCode::CannotUnlock,
                    message: format!(
                        "the vault was locked automatically ({reason}); only the recovery passphrase opens it again (Settings can change this)"
                    ),
                    field: Some("passphrase".into()),
                });
            }
        }
        let result =
            Vault::open_unlocked(&self.path, "app", with, Utc::now()).map(|u| (u.vault, u.report));
        self.opened(result)?;
        if by_passphrase {
            *guard(&self.passphrase_needed) = None;
        }
        Ok(())
    }

    /// Takes one reveal or copy of a secret value from the allowance,
    /// refusing it when none is left.
    pub fn allow_reveal(&self) -> Result<(), IpcError> {
        let now = Instant::now();
        let mut a = guard(&self.reveals);
        let earned = now.duration_since(a.at).as_secs_f64() / REVEAL_EVERY.as_secs_f64();
        a.tokens = (a.tokens + earned).min(REVEAL_BURST);
        a.at = now;
        if a.tokens < 1.0 {
            return Err(IpcError::failure(format!(
                "too many secret values asked for at once (a burst of {REVEAL_BURST}, then one every {} s); wait a moment and try again",
                REVEAL_EVERY.as_secs()
            )));
        }
        a.tokens -= 1.0;
        Ok(())
    }

    /// Locks because nobody is there (`reason`: idle, suspend, screen lock).
    /// With the preference on (the default) and a passphrase slot to use,
    /// only the recovery passphrase opens the vault again: the keyring
    /// answers anyone at the same session. No-op when already locked.
    pub fn lock_automatically(&self, reason: &str) -> Result<(), IpcError> {
        let has_passphrase = match guard(&self.vault).as_ref() {
            None => return Ok(()),
            Some(v) => v
                .info()
                .map(|i| i.slots.iter().any(|s| s.kind == SlotKind::Passphrase))
                .unwrap_or(false),
        };
        self.lock()?;
        if has_passphrase && guard(&self.preferences).passphrase_after_auto_lock {
            *guard(&self.passphrase_needed) = Some(reason.to_owned());
        }
        Ok(())
    }

    /// Adopts a vault the app has just created or restored.
    pub fn adopt(&self, mut vault: Vault) {
        vault.set_actor(Actor::current("app"));
        self.opened(Ok((vault, UnlockReport::default()))).ok();
    }

    /// Locks (recording it) and forgets the vault; idempotent.
    pub fn lock(&self) -> Result<(), IpcError> {
        let locked = {
            let mut slot = guard(&self.vault);
            self.unlocked.store(false, Ordering::SeqCst);
            self.locked_before.store(true, Ordering::SeqCst);
            slot.take()
        };
        self.clipboard.clear_now();
        guard(&self.chosen_import).take();
        self.tell(false);
        if let Some(mut vault) = locked {
            let to_save = save_catalog(&vault);
            vault.lock(Utc::now())?;
            write_catalog(to_save);
        }
        Ok(())
    }
}

/// The list's catalog sealed for the file beside the vault, when it
/// changed since it was read or saved, so the next start reads it instead
/// of every row. A cache: a failure is logged and the next start reads the
/// rows.
fn save_catalog(vault: &Vault) -> Option<CatalogFile> {
    vault
        .catalog_to_save()
        .inspect_err(|e| tracing::warn!("keeping the list's catalog: {e}"))
        .ok()
        .flatten()
}

fn write_catalog(file: Option<CatalogFile>) {
    if let Some(Err(e)) = file.map(CatalogFile::write) {
        tracing::warn!("keeping the list's catalog: {e}");
    }
}

/// Runs `f` with the app's state on a blocking thread, so Argon2id, SQLite
/// and network calls never stall the window.
pub async fn blocking<T, F>(app: &AppHandle, f: F) -> Result<T, IpcError>
where
    T: Send + 'static,
    F: FnOnce(&AppState) -> Result<T, IpcError> + Send + 'static,
{
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || f(&app.state::<AppState>()))
        .await
        .map_err(|e| IpcError::failure(format!("the command stopped unexpectedly: {e}")))?
}
