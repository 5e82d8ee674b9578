//! Whether the person has left the machine: before a suspend (logind's
//! `PrepareForSleep(true)` on the system bus) and when the screen locks (the
//! session's screen saver `ActiveChanged(true)`, under the freedesktop and
//! the GNOME names). Both shells lock on it: the app its vault, the agent
//! itself. Each watcher is a thread with its own D-Bus connection; a bus
//! that is not there (no logind in a container) only means that watcher
//! does not run. `COFFER_LOGIND_BUS=session` watches logind on the session
//! bus instead: the tests emit the signal there, from a private bus.

use zbus::blocking::{Connection, MessageIterator};
use zbus::message::Type;
use zbus::MatchRule;

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
    /// What happened, in words: "suspend" or "screen lock".
    reason: &'static str,
}

/// Calls `on_away` with "suspend" or "screen lock" each time the person
/// leaves, from the watcher threads, for as long as the process runs.
pub fn watch(on_away: impl Fn(&'static str) + Clone + Send + 'static) {
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
        let on_away = on_away.clone();
        std::thread::spawn(move || {
            if let Err(e) = listen(w, on_away) {
                tracing::info!(member = w.member, "not watching for {}: {e}", w.reason);
            }
        });
    }
}

fn listen(w: Watch, on_away: impl Fn(&'static str)) -> zbus::Result<()> {
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
        if msg.body().deserialize::<bool>().unwrap_or(false) {
            on_away(w.reason);
        }
    }
    Ok(())
}
