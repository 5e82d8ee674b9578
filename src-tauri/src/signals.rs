//! Locks the vault when nobody is at the machine: before a suspend (logind's
//! `PrepareForSleep(true)` on the system bus) and when the screen locks (the
//! session's screen saver `ActiveChanged(true)`, under the freedesktop and
//! the GNOME names). Each watcher is a thread with its own D-Bus connection;
//! a bus that is not there (no logind in a container) only means that
//! watcher does not run. `COFFER_LOGIND_BUS=session` watches logind on the
//! session bus instead: the end-to-end tests emit the signal there, from a
//! private bus.

use tauri::{AppHandle, Emitter, Manager};
use zbus::blocking::{Connection, MessageIterator};
use zbus::message::Type;
use zbus::MatchRule;

use crate::state::AppState;

#[derive(Clone, Copy)]
enum Bus {
    System,
    Session,
}

#[derive(Clone, Copy)]
struct Watch {
    bus: Bus,
    /// Only this name may send it (logind owns its name on the system bus).
    sender: Option<&'static str>,
    interface: &'static str,
    member: &'static str,
    /// What the unlock screen and the passphrase rule say.
    reason: &'static str,
}

pub fn start(app: AppHandle) {
    let logind_bus = if std::env::var("COFFER_LOGIND_BUS").as_deref() == Ok("session") {
        Bus::Session
    } else {
        Bus::System
    };
    let watches = [
        Watch {
            bus: logind_bus,
            sender: Some("org.freedesktop.login1"),
            interface: "org.freedesktop.login1.Manager",
            member: "PrepareForSleep",
            reason: "suspend",
        },
        Watch {
            bus: Bus::Session,
            sender: None,
            interface: "org.freedesktop.ScreenSaver",
            member: "ActiveChanged",
            reason: "screen lock",
        },
        Watch {
            bus: Bus::Session,
            sender: None,
            interface: "org.gnome.ScreenSaver",
            member: "ActiveChanged",
            reason: "screen lock",
        },
    ];
    for w in watches {
        let app = app.clone();
        std::thread::spawn(move || {
            if let Err(e) = watch(&app, w) {
                tracing::info!(member = w.member, "not watching for {}: {e}", w.reason);
            }
        });
    }
}

fn watch(app: &AppHandle, w: Watch) -> zbus::Result<()> {
    let conn = match w.bus {
        Bus::System => Connection::system()?,
        Bus::Session => Connection::session()?,
    };
    let mut rule = MatchRule::builder()
        .msg_type(Type::Signal)
        .interface(w.interface)?
        .member(w.member)?;
    if let Some(sender) = w.sender {
        rule = rule.sender(sender)?;
    }
    for msg in MessageIterator::for_match_rule(rule.build(), &conn, Some(8))? {
        let Ok(msg) = msg else { continue };
        if !msg.body().deserialize::<bool>().unwrap_or(false) {
            continue;
        }
        let state = app.state::<AppState>();
        if state.is_unlocked() && state.lock_automatically(w.reason).is_ok() {
            tracing::info!("locked: {}", w.reason);
            let _ = app.emit("vault-locked", w.reason);
        }
    }
    Ok(())
}
