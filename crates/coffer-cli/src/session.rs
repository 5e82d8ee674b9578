//! Finding and unlocking the vault for a command: the keyring first, then
//! the recovery passphrase (from --passphrase-file, else a prompt on a terminal).

use std::path::PathBuf;

use chrono::Utc;
use coffer_core::audit::Actor;
use coffer_core::slot::SlotKind;
use coffer_core::{paths, Error, SecretService, SecretValue, UnlockReport, Vault};

use crate::cli::Cli;
use crate::exit::cannot_unlock;
use crate::terminal;

pub struct Context {
    pub vault_path: PathBuf,
    pub passphrase_file: Option<PathBuf>,
}

impl Context {
    pub fn from_cli(cli: &Cli) -> anyhow::Result<Context> {
        let vault_path = match &cli.vault {
            Some(p) => p.clone(),
            None => paths::default_vault_path()?,
        };
        Ok(Context {
            vault_path,
            passphrase_file: cli.passphrase_file.clone(),
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

    /// Opens the vault and unlocks it.
    pub fn unlock(&self) -> anyhow::Result<Unlocked> {
        let mut vault = Vault::open(&self.vault_path)?;
        vault.set_actor(Actor::current("cli"));
        let info = vault.info()?;
        let has_keyring = info.slots.iter().any(|s| s.kind == SlotKind::Keyring);
        let has_passphrase = info.slots.iter().any(|s| s.kind == SlotKind::Passphrase);
        let mut keyring_problem = None;
        let mut sealer = None;
        if has_keyring {
            match SecretService::connect() {
                Ok(service) => match vault.unlock_with_keyring(&service, Utc::now()) {
                    Ok(report) => {
                        tell(&report);
                        return Ok(Unlocked {
                            vault,
                            sealer: Some(service),
                        });
                    }
                    Err(e @ (Error::Keyring(_) | Error::CannotUnlock { .. })) => {
                        sealer = Some(service);
                        keyring_problem = Some(e.to_string());
                    }
                    Err(e) => return Err(e.into()),
                },
                Err(e) => keyring_problem = Some(format!("OS keyring: {e}")),
            }
        }
        if !has_passphrase {
            let _ = vault.record_failed_unlock(
                "the keyring could not unlock it and it has no passphrase",
                Utc::now(),
            );
            let why = keyring_problem.unwrap_or_else(|| "it has no way in".into());
            return Err(cannot_unlock(format!(
                "cannot unlock the vault at {}: {why}; this vault has no recovery passphrase, so only its keyring entry opens it",
                self.vault_path.display()
            ))
            .into());
        }
        if let Some(problem) = &keyring_problem {
            tracing::info!("keyring unlock failed, trying the passphrase: {problem}");
        }
        let Some(passphrase) = self.passphrase("Recovery passphrase: ")? else {
            let _ = vault.record_failed_unlock(
                "the keyring could not unlock it and no passphrase was given",
                Utc::now(),
            );
            let why = keyring_problem
                .map(|p| format!("{p}; "))
                .unwrap_or_default();
            return Err(cannot_unlock(format!(
                "cannot unlock the vault at {}: {why}give the recovery passphrase with --passphrase-file FILE (or run on a terminal to be prompted)",
                self.vault_path.display()
            ))
            .into());
        };
        // A wrong passphrase is recorded by the core itself.
        let report = vault.unlock_with_passphrase(&passphrase, Utc::now())?;
        tell(&report);
        Ok(Unlocked { vault, sealer })
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
