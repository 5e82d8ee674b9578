//! Diagnostics behind `coffer doctor`: the session, the keyring backend and
//! the vault, each as a check in plain words with the fix.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde::Serialize;

use crate::crypto;
use crate::seal::{missing_session_bus, store_verified, SealError, Sealer, SecretService};
use crate::slot::SlotKind;
use crate::vault::Vault;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn check(name: &str, status: Status, detail: impl Into<String>, fix: Option<&str>) -> Check {
    Check {
        name: name.to_owned(),
        status,
        detail: detail.into(),
        fix: fix.map(str::to_owned),
    }
}

/// The kind of session Coffer runs in, which decides what keyring to expect.
pub fn session_checks() -> Vec<Check> {
    let mut checks = Vec::new();
    let wsl = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.to_lowercase().contains("microsoft"))
        .unwrap_or(false);
    let ssh = std::env::var_os("SSH_CONNECTION").is_some() || std::env::var_os("SSH_TTY").is_some();
    let graphical =
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    let mut kinds = Vec::new();
    if wsl {
        kinds.push("WSL");
    }
    if ssh {
        kinds.push("SSH");
    }
    kinds.push(if graphical { "graphical" } else { "headless" });
    let status = if wsl || ssh || !graphical {
        Status::Warn
    } else {
        Status::Ok
    };
    let fix = (status == Status::Warn).then_some(
        "no desktop keyring is usually running here: start one in this session (e.g. `dbus-run-session -- sh -c 'printf %s \"$PW\" | gnome-keyring-daemon --unlock --components=secrets; exec $SHELL'`) or use the recovery passphrase",
    );
    checks.push(check(
        "session",
        status,
        format!("{} session", kinds.join(", ")),
        fix,
    ));
    match missing_session_bus() {
        None => checks.push(check("d-bus", Status::Ok, "a session bus is reachable", None)),
        Some(detail) => checks.push(check(
            "d-bus",
            Status::Fail,
            detail,
            Some("run Coffer inside a desktop session or `dbus-run-session`; until then, unlock with the recovery passphrase"),
        )),
    }
    checks
}

/// Connects to the Secret Service and round-trips a probe entry.
pub fn keyring_checks() -> (Vec<Check>, Option<SecretService>) {
    let mut checks = Vec::new();
    let service = match SecretService::connect() {
        Ok(s) => s,
        Err(e) => {
            checks.push(check(
                "keyring backend",
                Status::Fail,
                e.to_string(),
                Some(fix_for(&e)),
            ));
            return (checks, None);
        }
    };
    let provider = crate::seal::secret_service_provider()
        .map(|p| format!(", provided by {p}"))
        .unwrap_or_default();
    checks.push(check(
        "keyring backend",
        Status::Ok,
        format!("{} answers on the session bus{provider}", service.backend()),
        None,
    ));
    let probe = "coffer-doctor-probe";
    let result = crypto::random_key()
        .map_err(|e| SealError::Platform {
            detail: e.to_string(),
        })
        .and_then(|key| store_verified(&service, probe, &key))
        .and_then(|()| service.remove(probe));
    match result {
        Ok(()) => checks.push(check(
            "keyring round trip",
            Status::Ok,
            "a probe key was stored, read back and removed",
            None,
        )),
        Err(e) => checks.push(check(
            "keyring round trip",
            Status::Fail,
            e.to_string(),
            Some(fix_for(&e)),
        )),
    }
    (checks, Some(service))
}

fn fix_for(e: &SealError) -> &'static str {
    match e {
        SealError::NoSessionBus { .. } => "run inside a desktop session or `dbus-run-session`, or unlock with the recovery passphrase",
        SealError::NoService { .. } => "install and start gnome-keyring (`gnome-keyring-daemon --unlock --components=secrets`) or enable KeePassXC's Secret Service integration",
        SealError::Locked { .. } => "unlock the login keyring (log in to the desktop, or `gnome-keyring-daemon --unlock`)",
        SealError::NotPersisted { .. } => "the keyring provider drops writes: use a persistent collection, or rely on the recovery passphrase",
        SealError::BadEntry | SealError::Platform { .. } => "see the detail; the recovery passphrase still opens the vault",
    }
}

/// The vault's file, format and slots, and whether its keyring entry opens its keyring slot.
pub fn vault_checks(path: &Path, service: Option<&SecretService>) -> Vec<Check> {
    let mut checks = Vec::new();
    let vault = match Vault::open(path) {
        Ok(v) => v,
        Err(e) => {
            checks.push(check(
                "vault",
                Status::Fail,
                e.to_string(),
                Some("check the path (--vault / COFFER_VAULT) or run `coffer init`"),
            ));
            return checks;
        }
    };
    for (what, p, want) in [
        ("vault file", path.to_path_buf(), 0o600),
        (
            "vault directory",
            path.parent().map(Path::to_path_buf).unwrap_or_default(),
            0o700,
        ),
    ] {
        if let Ok(meta) = std::fs::metadata(&p) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 == 0 {
                checks.push(check(
                    what,
                    Status::Ok,
                    format!("{} has mode {mode:o}", p.display()),
                    None,
                ));
            } else {
                checks.push(check(
                    what,
                    Status::Warn,
                    format!("{} has mode {mode:o}; others can read it", p.display()),
                    Some(if want == 0o600 {
                        "chmod 600 the file"
                    } else {
                        "chmod 700 the directory"
                    }),
                ));
            }
        }
    }
    let info = match vault.info() {
        Ok(i) => i,
        Err(e) => {
            checks.push(check("vault", Status::Fail, e.to_string(), None));
            return checks;
        }
    };
    checks.push(check(
        "vault",
        Status::Ok,
        format!(
            "{} (id {}, format version {})",
            path.display(),
            info.vault_id,
            info.format_version
        ),
        None,
    ));
    let slots: Vec<String> = info
        .slots
        .iter()
        .map(|s| match s.kdf {
            Some(p) => format!(
                "{} {} (Argon2id m={} KiB, t={}, p={})",
                s.id, s.kind, p.memory_kib, p.iterations, p.parallelism
            ),
            None => format!("{} {}", s.id, s.kind),
        })
        .collect();
    let has_passphrase = info.slots.iter().any(|s| s.kind == SlotKind::Passphrase);
    let has_keyring = info.slots.iter().any(|s| s.kind == SlotKind::Keyring);
    checks.push(check(
        "key slots",
        if has_passphrase { Status::Ok } else { Status::Warn },
        slots.join("; "),
        (!has_passphrase).then_some("no recovery passphrase: if the keyring entry is lost, the vault cannot be opened; run `coffer passphrase set`"),
    ));
    if has_keyring {
        match service {
            None => checks.push(check(
                "vault keyring entry",
                Status::Fail,
                "cannot check: the keyring is unavailable",
                Some("fix the keyring checks above, or unlock with the recovery passphrase"),
            )),
            Some(service) => match vault.check_keyring(service) {
                Ok(()) => {
                    checks.push(check(
                        "vault keyring entry",
                        Status::Ok,
                        format!("the keyring holds this vault's key (service 'coffer', account '{}') and it opens the keyring slot", info.vault_id),
                        None,
                    ));
                }
                Err(e) => checks.push(check(
                    "vault keyring entry",
                    Status::Fail,
                    e.to_string(),
                    Some(if has_passphrase {
                        "unlock with the recovery passphrase; `coffer rekey` with the keyring working re-seals it"
                    } else {
                        "restore the keyring entry; this vault has no recovery passphrase"
                    }),
                )),
            },
        }
    }
    checks
}
