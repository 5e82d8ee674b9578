//! The unlock policy, the same for every interface: the OS keyring when the
//! vault has a keyring slot and the keyring answers, else the recovery
//! passphrase (asked of the caller: a file, a prompt, a form). Every way in
//! that fails is recorded as a failed unlock, and each error says what
//! failed; the shells only supply the passphrase and word the hint.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::{AnchorCheck, UnlockReport, Vault};
use crate::audit::Actor;
use crate::error::{Error, Result};
use crate::seal::SecretService;
use crate::secret::SecretValue;
use crate::slot::SlotKind;

/// The ways in a caller offers.
pub enum UnlockWith<'a> {
    /// Only the OS keyring.
    Keyring,
    /// Only this recovery passphrase.
    Passphrase(&'a SecretValue),
    /// The keyring first (when the vault has a keyring slot), then the
    /// recovery passphrase from `ask`, called only if it is needed; `ask`
    /// answers `None` when no passphrase can be had (no file, no terminal).
    KeyringThenPassphrase {
        ask: &'a mut dyn FnMut() -> Result<Option<SecretValue>>,
    },
}

/// An unlocked vault, what its unlock reported, and the keyring connection
/// when one was made (rekey and new slots reuse it).
pub struct Unlocked {
    pub vault: Vault,
    pub report: UnlockReport,
    pub sealer: Option<SecretService>,
}

impl Vault {
    /// Opens the vault at `path` and unlocks it as `with` allows, acting
    /// through `interface` (`cli`, `app`, …).
    pub fn open_unlocked(
        path: &Path,
        interface: &str,
        with: UnlockWith<'_>,
        now: DateTime<Utc>,
    ) -> Result<Unlocked> {
        Self::open_checking(path, interface, with, AnchorCheck::Refuse, now)
    }

    /// Like [`Vault::open_unlocked`], but a vault that does not match its
    /// audit anchor is let through, with the problem in
    /// [`Vault::anchor_problem`], for [`Vault::accept_anchor`]. Nothing is
    /// written until then: dropping the vault leaves the file as it was.
    pub fn open_accepting_anchor(
        path: &Path,
        interface: &str,
        with: UnlockWith<'_>,
        now: DateTime<Utc>,
    ) -> Result<Unlocked> {
        Self::open_checking(path, interface, with, AnchorCheck::Accept(None), now)
    }

    fn open_checking(
        path: &Path,
        interface: &str,
        with: UnlockWith<'_>,
        anchor: AnchorCheck,
        now: DateTime<Utc>,
    ) -> Result<Unlocked> {
        let mut vault = Vault::open(path)?;
        vault.set_actor(Actor::current(interface));
        vault.anchor = anchor;
        let (report, sealer) = vault.unlock_as(with, now)?;
        Ok(Unlocked {
            vault,
            report,
            sealer,
        })
    }

    fn unlock_as(
        &mut self,
        with: UnlockWith<'_>,
        now: DateTime<Utc>,
    ) -> Result<(UnlockReport, Option<SecretService>)> {
        let ask = match with {
            UnlockWith::Passphrase(passphrase) => {
                // A wrong passphrase is recorded by `unlock_with_passphrase`.
                return Ok((self.unlock_with_passphrase(passphrase, now)?, None));
            }
            UnlockWith::Keyring => {
                let service = SecretService::connect()?;
                return Ok((self.unlock_with_keyring(&service, now)?, Some(service)));
            }
            UnlockWith::KeyringThenPassphrase { ask } => ask,
        };
        let info = self.info()?;
        let has = |kind| info.slots.iter().any(|s| s.kind == kind);
        let mut keyring_problem = None;
        let mut sealer = None;
        if has(SlotKind::Keyring) {
            match SecretService::connect() {
                Ok(service) => match self.unlock_with_keyring(&service, now) {
                    Ok(report) => return Ok((report, Some(service))),
                    Err(e @ (Error::Keyring(_) | Error::CannotUnlock { .. })) => {
                        sealer = Some(service);
                        keyring_problem = Some(e.to_string());
                    }
                    Err(e) => return Err(e),
                },
                Err(e) => keyring_problem = Some(format!("OS keyring: {e}")),
            }
        }
        // Every way in failed: the attempt is recorded (best effort: a vault
        // that cannot be written still refuses) and the error says why.
        let refuse = |why: &str, keyring: Option<String>, passphrase_slot: bool| {
            let _ = self.record_failed_unlock(why, now);
            Error::NoWayIn {
                path: self.path.clone(),
                keyring,
                passphrase_slot,
            }
        };
        if !has(SlotKind::Passphrase) {
            let why = "the keyring could not unlock it and it has no passphrase";
            return Err(refuse(why, keyring_problem, false));
        }
        if let Some(problem) = &keyring_problem {
            tracing::info!("keyring unlock failed, trying the passphrase: {problem}");
        }
        let Some(passphrase) = ask()? else {
            let why = "the keyring could not unlock it and no passphrase was given";
            return Err(refuse(why, keyring_problem, true));
        };
        Ok((self.unlock_with_passphrase(&passphrase, now)?, sealer))
    }
}
