//! How the app behaves while unlocked (auto-lock, clipboard and reveal
//! timeouts, notifications), stored encrypted in the vault's settings so they
//! follow the vault to another machine.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{Action, Event};
use crate::error::{Error, Result};
use crate::vault::Vault;

const PREFERENCES: &str = "preferences";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    /// Lock after this many idle minutes.
    pub auto_lock_minutes: u32,
    /// Clear the clipboard this many seconds after a copy, if it still holds the value.
    pub clipboard_seconds: u32,
    /// Hide a revealed value after this many seconds.
    pub reveal_seconds: u32,
    /// Tell the person when credentials become due or overdue.
    pub notifications: bool,
    /// After an automatic lock (idle, suspend, screen lock) only the
    /// recovery passphrase opens the vault again, not the keyring alone.
    pub passphrase_after_auto_lock: bool,
    /// Closing the app's window keeps it running in the system tray (with
    /// the agent it hosts) instead of quitting.
    pub close_to_tray: bool,
    /// The global key combination that opens the quick-search window, as
    /// the desktop app writes it ("Ctrl+Alt+K"); empty: none (the default).
    pub quick_search_shortcut: String,
}

/// The longest shortcut text kept (the app checks that it names keys).
pub const SHORTCUT_MAX: usize = 64;

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            auto_lock_minutes: 10,
            clipboard_seconds: 30,
            reveal_seconds: 20,
            notifications: true,
            passphrase_after_auto_lock: true,
            close_to_tray: true,
            quick_search_shortcut: String::new(),
        }
    }
}

impl Preferences {
    /// Refuses values outside what makes sense, naming the setting.
    pub fn check(&self) -> Result<()> {
        let ranges = [
            ("auto_lock_minutes", self.auto_lock_minutes, 1, 1440),
            ("clipboard_seconds", self.clipboard_seconds, 5, 600),
            ("reveal_seconds", self.reveal_seconds, 3, 300),
        ];
        for (what, value, low, high) in ranges {
            if !(low..=high).contains(&value) {
                return Err(Error::invalid(
                    what,
                    format!("{value} is outside {low} to {high}"),
                ));
            }
        }
        let shortcut = &self.quick_search_shortcut;
        if shortcut.len() > SHORTCUT_MAX || shortcut.chars().any(char::is_control) {
            return Err(Error::invalid(
                "quick_search_shortcut",
                format!("keep it to {SHORTCUT_MAX} printable characters, like Ctrl+Alt+K"),
            ));
        }
        Ok(())
    }
}

impl Vault {
    pub fn preferences(&self) -> Result<Preferences> {
        self.flush()?;
        self.read_setting(self.conn(), PREFERENCES)
    }

    /// Stores `preferences` after checking them; audited with the new values
    /// (none of which is secret).
    pub fn set_preferences(&mut self, preferences: Preferences, now: DateTime<Utc>) -> Result<()> {
        preferences.check()?;
        let tx = self.begin()?;
        self.write_setting(&tx, PREFERENCES, &preferences)?;
        let event = Event::new(Action::SettingsChange).details(serde_json::json!({
            "setting": "preferences",
            "auto_lock_minutes": preferences.auto_lock_minutes,
            "clipboard_seconds": preferences.clipboard_seconds,
            "reveal_seconds": preferences.reveal_seconds,
            "notifications": preferences.notifications,
            "passphrase_after_auto_lock": preferences.passphrase_after_auto_lock,
            "close_to_tray": preferences.close_to_tray,
            "quick_search_shortcut": preferences.quick_search_shortcut,
        }));
        tx.record(event, now)?;
        tx.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_out_of_range_values_name_the_setting() {
        assert!(Preferences::default().check().is_ok());
        let bad = Preferences {
            clipboard_seconds: 2,
            ..Preferences::default()
        };
        let message = bad.check().expect_err("too short").to_string();
        assert!(message.contains("clipboard_seconds"), "{message}");
        let bad = Preferences {
            auto_lock_minutes: 0,
            ..Preferences::default()
        };
        assert!(bad.check().is_err());
        let bad = Preferences {
            quick_search_shortcut: "Ctrl+\nK".into(),
            ..Preferences::default()
        };
        let message = bad.check().expect_err("a control character").to_string();
        assert!(message.contains("quick_search_shortcut"), "{message}");
    }
}
