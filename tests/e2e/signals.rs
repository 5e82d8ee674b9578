//! Stand-ins for logind and the session's screen saver on the test run's
//! private session bus: they take the well-known name and emit the signal
//! the app watches (the app is started with COFFER_LOGIND_BUS=session).

use zbus::names::BusName;

/// Owns `name` and emits `interface.member(true)` at `path`. The returned
/// connection keeps the name until dropped.
async fn emit(name: &str, path: &str, interface: &str, member: &str) -> zbus::Connection {
    let conn = zbus::connection::Builder::session()
        .expect("session bus")
        .name(name.to_owned())
        .expect("name")
        .build()
        .await
        .expect("connect to the session bus");
    conn.emit_signal(None::<BusName<'_>>, path, interface, member, &(true,))
        .await
        .expect("emit");
    conn
}

/// logind: the machine is about to sleep.
pub async fn prepare_for_sleep() -> zbus::Connection {
    emit(
        "org.freedesktop.login1",
        "/org/freedesktop/login1",
        "org.freedesktop.login1.Manager",
        "PrepareForSleep",
    )
    .await
}

/// The screen saver: the screen locked.
pub async fn screen_locked() -> zbus::Connection {
    emit(
        "org.freedesktop.ScreenSaver",
        "/org/freedesktop/ScreenSaver",
        "org.freedesktop.ScreenSaver",
        "ActiveChanged",
    )
    .await
}
