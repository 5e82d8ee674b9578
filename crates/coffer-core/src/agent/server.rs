//! The agent's side: a private socket, one thread per connection (a
//! connection carries one request), the vault behind a mutex, a committer
//! thread that writes concurrent reveals' audit entries in one transaction
//! (group commit), and the idle lock. A reveal's audit entry is committed
//! before its values are written to the socket.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::Utc;
use zeroize::Zeroizing;

use super::approval::{self, Answer, Gate, Passed, Question};
use super::frame;
use super::peer::{Peer, Requester};
use super::{Call, Reply, Request, Status};
use crate::access::{self, Rule};
use crate::audit::{Action, Event};
use crate::credential::{Credential, FieldIs, Secrets};
use crate::error::{Error, ErrorClass, Result};
use crate::secret::SecretValue;
use crate::vault::{RevealRequest, Vault};

/// The most connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 128;

/// A bound socket, ready to serve.
pub struct Listener {
    listener: UnixListener,
    socket: PathBuf,
    /// Bound here, so removed when serving ends; a socket systemd passed
    /// stays (systemd owns it, and starts the agent again through it).
    owned: bool,
}

impl Listener {
    /// Binds the socket at `socket` (see [`super::socket_for`]). Its
    /// directory is created 0700 if missing; an existing directory or
    /// socket that is a symlink, another user's, or open to others is
    /// refused (someone else could read or impersonate the agent). A socket
    /// nobody answers on is a dead agent's and is replaced.
    pub fn bind(socket: &Path) -> Result<Listener> {
        let dir = socket
            .parent()
            .ok_or_else(|| refuse(socket, "has no directory"))?;
        let me = rustix::process::getuid().as_raw();
        match std::fs::symlink_metadata(dir) {
            Err(e) if e.kind() == ErrorKind::NotFound => std::fs::DirBuilder::new()
                .mode(0o700)
                .create(dir)
                .map_err(|e| io(dir, e))?,
            Err(e) => return Err(io(dir, e)),
            Ok(m) => {
                if m.file_type().is_symlink() || !m.is_dir() {
                    return Err(refuse(dir, "is not a directory (a symlink or a file)"));
                }
                if m.uid() != me {
                    return Err(refuse(
                        dir,
                        &format!("belongs to uid {}, not to you", m.uid()),
                    ));
                }
                if m.mode() & 0o077 != 0 {
                    return Err(refuse(
                        dir,
                        &format!("has mode {:o}; it must be 700", m.mode() & 0o777),
                    ));
                }
            }
        }
        match std::fs::symlink_metadata(socket) {
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io(socket, e)),
            Ok(m) => {
                if !m.file_type().is_socket() {
                    return Err(refuse(socket, "exists and is not a socket"));
                }
                if m.uid() != me {
                    return Err(refuse(socket, &format!("belongs to uid {}", m.uid())));
                }
                if UnixStream::connect(socket).is_ok() {
                    return Err(Error::Failure {
                        what: format!(
                            "an agent already serves this vault on {} (`coffer agent status`)",
                            socket.display()
                        ),
                    });
                }
                std::fs::remove_file(socket).map_err(|e| io(socket, e))?;
            }
        }
        let listener = UnixListener::bind(socket).map_err(|e| io(socket, e))?;
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io(socket, e))?;
        Ok(Listener {
            listener,
            socket: socket.to_owned(),
            owned: true,
        })
    }

    /// The socket systemd passed (socket activation: `LISTEN_PID` is this
    /// process and `LISTEN_FDS` is 1), or `None` when none was. It must be
    /// a listening Unix stream socket bound at `socket` (a unit listening
    /// elsewhere would serve another vault's name), in a directory only
    /// this user can enter and itself closed to others (`SocketMode=0600`,
    /// `DirectoryMode=0700` in the unit): the same checks as [`bind`].
    ///
    /// [`bind`]: Listener::bind
    pub fn inherited(socket: &Path) -> Result<Option<Listener>> {
        let ours = std::env::var("LISTEN_PID")
            .ok()
            .and_then(|p| p.parse::<u32>().ok())
            == Some(std::process::id());
        if !ours {
            return Ok(None);
        }
        let fds = std::env::var("LISTEN_FDS").unwrap_or_default();
        if fds != "1" {
            return Err(Error::Failure {
                what: format!(
                    "systemd passed {fds} sockets; the agent takes exactly one (one \
                     ListenStream= in its .socket unit)"
                ),
            });
        }
        // listenfd takes fd 3 (the first passed) and checks it is a Unix
        // stream socket; taking a raw descriptor needs `unsafe`, which this
        // crate forbids.
        let taken = listenfd::ListenFd::from_env().take_unix_listener(0);
        let passed = |why: String| Error::Failure {
            what: format!("the socket systemd passed cannot be used: {why}"),
        };
        let listener = taken
            .map_err(|e| passed(e.to_string()))?
            .ok_or_else(|| passed("there is none at fd 3".into()))?;
        if !rustix::net::sockopt::socket_acceptconn(&listener).unwrap_or(false) {
            return Err(passed(
                "it is not listening (Accept=no in the .socket unit)".into(),
            ));
        }
        let bound = listener
            .local_addr()
            .ok()
            .and_then(|a| a.as_pathname().map(Path::to_owned));
        if bound.as_deref() != Some(socket) {
            return Err(Error::Failure {
                what: format!(
                    "systemd passed a socket bound at {}, but this vault's agent listens at {}: \
                     set ListenStream={} in the .socket unit (`coffer agent socket` prints it)",
                    bound
                        .map(|b| b.display().to_string())
                        .unwrap_or_else(|| "no path".into()),
                    socket.display(),
                    socket.display()
                ),
            });
        }
        let me = rustix::process::getuid().as_raw();
        let dir = socket
            .parent()
            .ok_or_else(|| refuse(socket, "has no directory"))?;
        for (path, what) in [(dir, "directory"), (socket, "socket")] {
            let m = std::fs::symlink_metadata(path).map_err(|e| io(path, e))?;
            if m.file_type().is_symlink() || m.uid() != me || m.mode() & 0o077 != 0 {
                return Err(refuse(
                    path,
                    &format!(
                        "is a {what} systemd made open to others or not yours (mode {:o}, uid \
                         {}); set SocketMode=0600 and DirectoryMode=0700 in the .socket unit",
                        m.mode() & 0o777,
                        m.uid()
                    ),
                ));
            }
        }
        listener.set_nonblocking(false).map_err(|e| io(socket, e))?;
        Ok(Some(Listener {
            listener,
            socket: socket.to_owned(),
            owned: false,
        }))
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

fn refuse(path: &Path, why: &str) -> Error {
    Error::Failure {
        what: format!(
            "the agent will not use {}: it {why}; remove it or fix it, then start the agent again",
            path.display()
        ),
    }
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        action: "use the agent's socket path",
        path: path.to_owned(),
        source,
    }
}

/// The unlocked vault an agent serves, shared with its host: the CLI's
/// `coffer agent`, or the desktop app (which locks and unlocks it; while it
/// is `None` the agent answers "locked" and clients unlock on their own).
pub type Session = Arc<Mutex<Option<Vault>>>;

/// How the agent runs.
pub struct Options {
    /// Lock after this long without a request; `None`: never.
    pub idle_lock: Option<Duration>,
    /// How it locks and unlocks: the CLI's agent or the app's.
    pub host: Host,
    /// Where questions under `ask` rules go: the app's window, or (no
    /// asker) `coffer agent approve` from another terminal.
    pub gate: Arc<Gate>,
    /// Set by the host to lock now (a suspend, a screen lock); the agent
    /// locks, clears it, and keeps serving "locked".
    pub lock_now: Arc<AtomicBool>,
}

/// Opens and unlocks the vault with what a client handed over (the
/// recovery passphrase, or nothing: the keyring).
pub type Unlock = Box<dyn Fn(Option<SecretValue>) -> Result<Vault> + Send + Sync>;

/// Who hosts the agent, which decides how it locks and unlocks.
pub enum Host {
    /// `coffer agent`: locking closes the vault (audited) and the agent
    /// keeps serving "locked" until a command hands it the way in again
    /// (`unlock`); `coffer agent stop` locks and ends it.
    Cli { unlock: Unlock },
    /// The desktop app: locking (and `coffer agent stop`) locks the app by
    /// `lock`; it unlocks only in its own window, never by a hand-off.
    App { lock: Box<dyn Fn() + Send + Sync> },
}

struct Shared {
    vault: Session,
    host: Host,
    status: Status,
    started: Instant,
    last_request: Mutex<Instant>,
    requests: AtomicU64,
    connections: AtomicUsize,
    stopping: AtomicBool,
    uid: u32,
    gate: Arc<Gate>,
    /// Where connections hand reveals to the committer thread.
    committer: Mutex<mpsc::Sender<(Job, mpsc::SyncSender<Reply>)>>,
}

impl Shared {
    fn vault(&self) -> MutexGuard<'_, Option<Vault>> {
        self.vault.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops accepting (the accept loop sees it within its poll's tick).
    fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Locks: the vault records the lock, anchors its trail and wipes its
    /// key and catalog (the app's by its own lock); remembered yeses go.
    fn lock(&self) -> Result<()> {
        self.gate.forget();
        match &self.host {
            Host::App { lock } => {
                lock();
                Ok(())
            }
            Host::Cli { .. } => {
                let taken = self.vault().take();
                match taken {
                    Some(mut v) => v.lock(Utc::now()),
                    None => Ok(()),
                }
            }
        }
    }

    /// Locks without writing to the vault (no lock entry, no anchor): for a
    /// vault another process changed under the agent, where a write would
    /// land in a replaced file, fail under a changed key, or overwrite the
    /// evidence of tampering. The key is wiped as the vault drops.
    fn forget(&self) {
        self.gate.forget();
        match &self.host {
            Host::App { lock } => lock(),
            Host::Cli { .. } => {
                if let Some(vault) = self.vault().take() {
                    vault.abandon();
                }
            }
        }
    }

    /// A command hands the locked agent the way in (see [`Host`]).
    fn unlock(&self, passphrase: Option<SecretValue>) -> Result<()> {
        let Host::Cli { unlock } = &self.host else {
            return Err(Error::CannotUnlock {
                reason: "the app is locked: unlock it in its window (its agent does not take \
                         an unlock from a command)"
                    .into(),
            });
        };
        // Held while unlocking, so two commands handing over at once
        // unlock once.
        let mut vault = self.vault();
        if vault.is_none() {
            *vault = Some(unlock(passphrase)?);
        }
        Ok(())
    }
}

/// Serves `session` on `listener` until a `stop` or `stop_now` becomes
/// true, locking on idle and on `lock_now` (and serving "locked" until a
/// command hands the way in); then removes the socket. The host closes the
/// vault if it is still open.
pub fn serve(
    listener: Listener,
    session: Session,
    vault_path: &Path,
    options: Options,
    stop_now: Arc<AtomicBool>,
) -> Result<()> {
    let vault_id = session
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(Vault::vault_id)
        .unwrap_or_default();
    let (jobs, queue) = mpsc::channel();
    let shared = Arc::new(Shared {
        committer: Mutex::new(jobs),
        status: Status {
            pid: std::process::id(),
            vault: std::fs::canonicalize(vault_path).unwrap_or_else(|_| vault_path.to_owned()),
            vault_id,
            socket: listener.socket.clone(),
            up_seconds: 0,
            idle_lock_seconds: options.idle_lock.map(|d| d.as_secs()).unwrap_or(0),
            unlocked: true,
            takes_unlock: matches!(options.host, Host::Cli { .. }),
            requests: 0,
        },
        vault: session,
        started: Instant::now(),
        host: options.host,
        gate: options.gate,
        last_request: Mutex::new(Instant::now()),
        requests: AtomicU64::new(0),
        connections: AtomicUsize::new(0),
        stopping: AtomicBool::new(false),
        uid: rustix::process::getuid().as_raw(),
    });
    {
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || committer(shared, queue));
    }
    let idle_lock = options.idle_lock;
    let lock_now = options.lock_now;
    let watcher = {
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(200));
            if shared.stopping.load(Ordering::SeqCst) {
                return;
            }
            let idle = shared
                .last_request
                .lock()
                .map(|t| t.elapsed())
                .unwrap_or_default();
            if stop_now.load(Ordering::SeqCst) {
                shared.stop();
                return;
            }
            let idle = idle_lock.is_some_and(|limit| idle >= limit);
            if lock_now.swap(false, Ordering::SeqCst) || (idle && shared.vault().is_some()) {
                if let Err(e) = shared.lock() {
                    tracing::warn!("agent: locking recorded an error: {e}");
                }
            }
        })
    };
    // Accept with a poll that wakes every 200 ms to see a stop: waking the
    // loop by connecting to our own socket fails once the socket file is
    // gone (a removed runtime directory), and the agent would never exit.
    let tick = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 200_000_000,
    };
    while !shared.stopping.load(Ordering::SeqCst) {
        let mut ready = [rustix::event::PollFd::new(
            &listener.listener,
            rustix::event::PollFlags::IN,
        )];
        if !matches!(rustix::event::poll(&mut ready, Some(&tick)), Ok(n) if n > 0) {
            continue;
        }
        let Ok((stream, _)) = listener.listener.accept() else {
            continue;
        };
        if shared.connections.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            shared.connections.fetch_sub(1, Ordering::SeqCst);
            let mut stream = stream;
            let _ = send(&mut stream, &Reply::from_error(&busy()));
            continue;
        }
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            let mut stream = stream;
            if let Err(e) = connection(&shared, &mut stream) {
                tracing::warn!("agent: a connection ended with an error: {e}");
            }
            shared.connections.fetch_sub(1, Ordering::SeqCst);
        });
    }
    shared.stopping.store(true, Ordering::SeqCst);
    let _ = watcher.join();
    if listener.owned {
        let _ = std::fs::remove_file(&listener.socket);
    }
    Ok(())
}

fn busy() -> Error {
    Error::Failure {
        what: "the agent is serving too many connections; try again".into(),
    }
}

/// One connection: who is it, one request, one reply.
fn connection(shared: &Shared, stream: &mut UnixStream) -> Result<()> {
    let deadline = Some(frame::DEADLINE);
    let _ = stream.set_read_timeout(deadline);
    let _ = stream.set_write_timeout(deadline);
    let peer = Peer::of(stream)?;
    if shared.stopping.load(Ordering::SeqCst) {
        return Ok(());
    }
    // A bad head (another version, over the limit) is answered with what
    // was wrong, then the connection is dropped.
    let body = match frame::read(stream) {
        Ok(body) => body,
        Err(e) => {
            let sent = send(stream, &Reply::from_error(&e));
            // What the peer still sends is read and dropped (bounded by the
            // cap and the deadline): closing on unread bytes would reset the
            // connection and lose the reply.
            let _ = stream.shutdown(std::net::Shutdown::Write);
            let _ = std::io::copy(
                &mut std::io::Read::take(&mut *stream, frame::MAX_FRAME as u64),
                &mut std::io::sink(),
            );
            return sent;
        }
    };
    // Another user's request is read (bounded) but never parsed.
    if peer.uid != shared.uid {
        tracing::warn!(
            uid = peer.uid,
            pid = peer.pid,
            "agent: another user refused"
        );
        let e = Error::Failure {
            what: "this agent serves only the user who started it".into(),
        };
        return send(stream, &Reply::from_error(&e));
    }
    let request: Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return send(
                stream,
                &Reply::from_error(&Error::Failure {
                    what: format!("the agent could not read the request: {e}"),
                }),
            )
        }
    };
    *shared
        .last_request
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = Instant::now();
    shared.requests.fetch_add(1, Ordering::SeqCst);
    // While the person is asked, the client is told so (and keeps waiting).
    let mut on_asking = |question: &Question| {
        let _ = send(
            stream,
            &Reply::Asking {
                question: question.clone(),
            },
        );
    };
    let mut reply = answer(shared, peer, request, &mut on_asking);
    // A failure that another process's change explains (a rekey between
    // the check below and the request) is told as that change.
    if matches!(
        reply,
        Reply::Error {
            class: ErrorClass::CannotUnlock | ErrorClass::Integrity,
            ..
        }
    ) {
        if let Some(changed) = changed_elsewhere(shared) {
            reply = changed;
        }
    }
    let sent = send(stream, &reply);
    // `coffer agent stop`: the CLI's agent ends once it has answered (its
    // host has locked it already); the app's keeps serving "locked".
    if matches!(reply, Reply::Stopped) && matches!(shared.host, Host::Cli { .. }) {
        shared.stop();
    }
    sent
}

fn answer(
    shared: &Shared,
    peer: Peer,
    request: Request,
    on_asking: &mut dyn FnMut(&Question),
) -> Reply {
    if matches!(
        request,
        Request::Field { .. }
            | Request::Reveal { .. }
            | Request::Use { .. }
            | Request::Fields { .. }
            | Request::AwsSession { .. }
            | Request::AwsSessions
            | Request::ForgetSessions
            | Request::Leases
            | Request::Call(_)
    ) {
        if let Some(refused) = changed_elsewhere(shared) {
            return refused;
        }
    }
    // Reveals go to the committer, which writes many callers' entries in
    // one transaction; the rest is answered here.
    let job = match request {
        Request::Field { name, field } => {
            let meta = {
                let vault = shared.vault();
                let Some(vault) = vault.as_ref() else {
                    return Reply::from_error(&Error::Locked);
                };
                match vault.get(&name) {
                    Ok(c) => c.meta,
                    Err(e) => return Reply::from_error(&e),
                }
            };
            // A plain field needs no reveal; a secret one reveals only itself.
            match meta.field(&field) {
                FieldIs::Plain(value) => {
                    return Reply::Revealed {
                        fields: BTreeMap::from([(field.clone(), value.to_owned())]),
                        secrets: BTreeMap::new(),
                    }
                }
                FieldIs::Missing(known) => return Reply::NoField { known },
                FieldIs::Secret => {}
            }
            Job {
                request: RevealRequest {
                    names: vec![name],
                    fields: Some(vec![field]),
                    action: Action::Reveal,
                    details: serde_json::Value::Null,
                },
                used: false,
            }
        }
        Request::Reveal { name, fields } => Job {
            request: RevealRequest {
                names: vec![name],
                fields,
                action: Action::Reveal,
                details: serde_json::Value::Null,
            },
            used: false,
        },
        Request::Use {
            names,
            action,
            details,
        } => {
            if !super::USES.contains(&action) {
                return Reply::from_error(&Error::Invalid {
                    what: "the agent request".into(),
                    reason: format!("{action:?} is not a use the agent serves"),
                });
            }
            Job {
                request: RevealRequest {
                    names,
                    fields: None,
                    action,
                    details,
                },
                used: true,
            }
        }
        Request::Status => {
            let vault = shared.vault();
            return Reply::Status(Status {
                up_seconds: shared.started.elapsed().as_secs(),
                requests: shared.requests.load(Ordering::SeqCst),
                unlocked: vault.is_some(),
                vault_id: vault
                    .as_ref()
                    .map(Vault::vault_id)
                    .unwrap_or_else(|| shared.status.vault_id.clone()),
                ..shared.status.clone()
            });
        }
        Request::Stop => {
            // The vault is dropped (its key wiped) even when its lock entry
            // cannot be written (a vault rekeyed elsewhere): stop all the same.
            if let Err(e) = shared.lock() {
                tracing::warn!(error = %e, "agent: the lock before stopping was not audited");
            }
            return Reply::Stopped;
        }
        Request::Lock => {
            return match shared.lock() {
                Ok(()) => Reply::Locked,
                Err(e) => Reply::from_error(&e),
            }
        }
        Request::Unlock { passphrase } => {
            return match shared.unlock(passphrase.map(SecretValue::from)) {
                Ok(()) => Reply::Unlocked,
                Err(e) => Reply::from_error(&e),
            }
        }
        Request::AwsSession {
            name,
            action,
            details,
            mfa_code,
        } => {
            let code = mfa_code.map(|c| SecretValue::from(c.as_str()));
            let want = crate::sessions::Want {
                name: &name,
                action,
                details,
            };
            return aws_session(shared, peer, want, code, on_asking);
        }
        Request::AwsSessions => {
            let vault = shared.vault();
            let Some(vault) = vault.as_ref() else {
                return Reply::from_error(&Error::Locked);
            };
            return match crate::sessions::list(vault) {
                Ok(sessions) => Reply::AwsSessions { sessions },
                Err(e) => Reply::from_error(&e),
            };
        }
        Request::Leases => {
            let vault = shared.vault();
            let Some(vault) = vault.as_ref() else {
                return Reply::from_error(&Error::Locked);
            };
            return match crate::leases::list(vault) {
                Ok(leases) => Reply::Leases { leases },
                Err(e) => Reply::from_error(&e),
            };
        }
        Request::ForgetSessions => {
            let vault = shared.vault();
            let Some(vault) = vault.as_ref() else {
                return Reply::from_error(&Error::Locked);
            };
            return match crate::sessions::forget_all(vault, Utc::now())
                .and_then(|count| vault.anchor_written().map(|()| count))
            {
                Ok(count) => Reply::SessionsForgotten { count },
                Err(e) => Reply::from_error(&e),
            };
        }
        Request::Pending => {
            return Reply::Pending {
                questions: shared.gate.pending(),
            }
        }
        Request::Approve { id, answer } => return approve(shared, peer, &id, answer),
        Request::Fields { name } => {
            let vault = shared.vault();
            let Some(vault) = vault.as_ref() else {
                return Reply::from_error(&Error::Locked);
            };
            return vault
                .get(&name)
                .map(|c| Reply::Fields(Box::new(c)))
                .unwrap_or_else(|e| Reply::from_error(&e));
        }
        Request::Call(call) => {
            let mut vault = shared.vault();
            let Some(vault) = vault.as_mut() else {
                return Reply::from_error(&Error::Locked);
            };
            return match call_vault(vault, *call) {
                // A write is anchored before it is acknowledged, as a
                // command that writes anchors before it exits.
                Ok(value) => match vault.anchor_written() {
                    Ok(()) => Reply::Called { value },
                    Err(e) => Reply::from_error(&e),
                },
                Err(e) => Reply::from_error(&e),
            };
        }
    };
    let mut job = job;
    let mut details = match std::mem::take(&mut job.request.details) {
        serde_json::Value::Object(d) => d,
        _ => serde_json::Map::new(),
    };
    let requester = Requester::describe(peer.pid);
    if let Err(refused) = admit(shared, &job.request, &requester, &mut details, on_asking) {
        return *refused;
    }
    job.request.details = details.into();
    let (tx, rx) = mpsc::sync_channel(1);
    let sent = shared
        .committer
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send((job, tx));
    if sent.is_err() {
        return Reply::from_error(&Error::Locked);
    }
    rx.recv()
        .unwrap_or_else(|_| Reply::from_error(&Error::Locked))
}

/// What another process changed since the agent last looked that it
/// must not serve past (see `Vault::check_unchanged_elsewhere`): the file
/// replaced, the vault rekeyed, the schema or the trail tampered with. The
/// agent then locks, so the next command opens and unlocks the vault
/// afresh, with every check of a fresh open, and hands the agent that
/// unlock (the way it hands a locked agent its unlock).
fn changed_elsewhere(shared: &Shared) -> Option<Reply> {
    let problem = shared.vault().as_ref()?.check_unchanged_elsewhere().err()?;
    shared.forget();
    Some(Reply::from_error(&problem))
}

/// An STS session, under the same access rules as a use of every
/// credential of its chain (the role and the key below it); the key is
/// revealed (audited) only when a link is made from it, and the vault's
/// lock is not held across an STS call. A code an MFA device must give is
/// asked of the client (`Reply::MfaNeeded`) unless it came with the
/// request or the credential has an `mfa_process`.
fn aws_session(
    shared: &Shared,
    peer: Peer,
    want: crate::sessions::Want<'_>,
    code: Option<SecretValue>,
    on_asking: &mut dyn FnMut(&Question),
) -> Reply {
    if let Err(e) = crate::sessions::check_use(want.action) {
        return Reply::from_error(&e);
    }
    let names = {
        let vault = shared.vault();
        let Some(vault) = vault.as_ref() else {
            return Reply::from_error(&Error::Locked);
        };
        match crate::sessions::used_names(vault, want.name) {
            Ok(names) => names,
            Err(e) => return Reply::from_error(&e),
        }
    };
    let requester = Requester::describe(peer.pid);
    let request = RevealRequest {
        names,
        fields: None,
        action: want.action,
        details: serde_json::Value::Null,
    };
    let mut details = match &want.details {
        serde_json::Value::Object(d) => d.clone(),
        _ => serde_json::Map::new(),
    };
    if let Err(refused) = admit(shared, &request, &requester, &mut details, on_asking) {
        return *refused;
    }
    let want = crate::sessions::Want {
        details: details.into(),
        ..want
    };
    let mut codes = AskCodes {
        given: code,
        gate: &shared.gate,
        requester: &requester,
        action: want.action,
        on_asking,
    };
    match crate::sessions::session_for(&Locking(shared), &want, &mut codes, Utc::now()) {
        Ok((_, session)) => Reply::AwsSession { session },
        Err(Error::MfaNeeded { credential, serial }) => Reply::MfaNeeded { credential, serial },
        Err(e) => Reply::from_error(&e),
    }
}

/// Where the agent gets an MFA device's code: the one that came with the
/// request, else the app's window (with the app as the agent), else the
/// client is asked to ask its person (`Reply::MfaNeeded`).
struct AskCodes<'a> {
    given: Option<SecretValue>,
    gate: &'a Gate,
    requester: &'a Requester,
    action: Action,
    on_asking: &'a mut dyn FnMut(&Question),
}

impl crate::sessions::mfa::MfaCodes for AskCodes<'_> {
    fn code(&mut self, credential: &str, serial: &str) -> Result<SecretValue> {
        if let Some(code) = self.given.take() {
            return Ok(code);
        }
        let question = Question {
            id: approval::new_id()?,
            names: vec![credential.to_owned()],
            // A device's code serves one session: asked every time.
            rule: Rule::AskEveryTime,
            why: format!("its MFA device {serial} must give a code for a session"),
            action: self.action,
            requester: self.requester.clone(),
            remember_minutes: 0,
            mfa_serial: Some(serial.to_owned()),
        };
        self.gate
            .ask_code(question, self.on_asking)?
            .ok_or_else(|| crate::sessions::mfa::needed(credential, serial))
    }
}

/// The agent's vault for a session flow: its lock taken for each step.
struct Locking<'a>(&'a Shared);

impl crate::sessions::VaultAccess for Locking<'_> {
    fn with<T>(&self, f: impl FnOnce(&Vault) -> Result<T>) -> Result<T> {
        match self.0.vault().as_ref() {
            Some(vault) => f(vault),
            None => Err(Error::Locked),
        }
    }
}

/// The access rules applied to `request`, and the audit details it goes
/// with: how the person allowed it (if asked) and the asking process.
fn admit(
    shared: &Shared,
    request: &RevealRequest,
    requester: &Requester,
    details: &mut serde_json::Map<String, serde_json::Value>,
    on_asking: &mut dyn FnMut(&Question),
) -> std::result::Result<(), Box<Reply>> {
    if let Some(access) = check_access(shared, request, requester, on_asking)? {
        details.insert("access".into(), access);
    }
    details.insert(
        "requester".into(),
        serde_json::to_value(requester).unwrap_or_default(),
    );
    Ok(())
}

/// Applies the access rules to a reveal: `Ok(None)` when every credential
/// is allowed, `Ok(Some(how))` when the person's yes (now or remembered)
/// lets it through, else the refusal to send. A decision the person makes
/// is audited before anything is revealed.
fn check_access(
    shared: &Shared,
    request: &RevealRequest,
    requester: &Requester,
    on_asking: &mut dyn FnMut(&Question),
) -> std::result::Result<Option<serde_json::Value>, Box<Reply>> {
    let strictest = {
        let vault = shared.vault();
        let Some(vault) = vault.as_ref() else {
            return Err(Box::new(Reply::from_error(&Error::Locked)));
        };
        let rules = vault
            .access_rules()
            .map_err(|e| Box::new(Reply::from_error(&e)))?;
        let mut asking: Vec<String> = Vec::new();
        let mut strictest: Option<(Rule, access::Source)> = None;
        for name in &request.names {
            // A name that does not resolve is left to the reveal to report.
            let Ok(c) = vault.get(name) else { continue };
            let (rule, source) = rules.rule_for(&c.meta);
            if rule == Rule::Allow {
                continue;
            }
            asking.push(name.clone());
            if strictest.as_ref().is_none_or(|(r, _)| rule > *r) {
                strictest = Some((rule, source));
            }
        }
        strictest.map(|(rule, source)| (asking, rule, source, rules.remember_minutes))
    };
    let Some((names, rule, source, remember)) = strictest else {
        return Ok(None);
    };
    let question = Question {
        id: approval::new_id().map_err(|e| Box::new(Reply::from_error(&e)))?,
        names,
        rule,
        why: source.to_string(),
        action: request.action,
        requester: requester.clone(),
        remember_minutes: if rule == Rule::AskEveryTime {
            0
        } else {
            remember
        },
        mfa_serial: None,
    };
    match shared.gate.decide(question, on_asking) {
        Ok(Passed::Remembered) => Ok(Some(serde_json::json!({
            "rule": rule,
            "decision": "remembered for the terminal session",
        }))),
        Ok(Passed::Answered {
            question,
            answer,
            by,
        }) => {
            record_decision(shared, &question, answer.as_str(), &by, answer)
                .map_err(|e| Box::new(Reply::from_error(&e)))?;
            Ok(Some(serde_json::json!({
                "rule": rule,
                "decision": answer.as_str(),
                "request": question.id,
                "by": by,
            })))
        }
        Err(refused) => {
            let recorded = record_decision(
                shared,
                &refused.question,
                refused.decision,
                &refused.by,
                Answer::Deny,
            );
            Err(Box::new(Reply::from_error(
                &recorded.err().unwrap_or(refused.error),
            )))
        }
    }
}

/// An answer from `coffer agent approve`: taken only from a process on a
/// terminal, and not from the terminal session whose request it answers
/// (script running in that session could otherwise approve itself).
fn approve(shared: &Shared, peer: Peer, id: &str, answer: Answer) -> Reply {
    let approver = Requester::describe(peer.pid);
    let Some(question) = shared.gate.pending().into_iter().find(|q| q.id == id) else {
        return Reply::from_error(&Error::RequestNotFound {
            id: crate::credential::printable(id),
        });
    };
    if approver.tty == 0 {
        return Reply::from_error(&Error::Denied {
            what: "an answer is taken only from a terminal: run `coffer agent approve` in one"
                .into(),
        });
    }
    if approver.session == question.requester.session {
        return Reply::from_error(&Error::Denied {
            what: "the terminal that asked cannot answer its own request: approve it from \
                   another terminal (or in the Coffer app)"
                .into(),
        });
    }
    let by = format!("coffer agent approve, {}", approver.summary());
    match shared.gate.answer(id, answer, &by) {
        Ok((question, waited)) => {
            // A request waiting on it records the decision itself.
            if !waited {
                if let Err(e) = record_decision(shared, &question, answer.as_str(), &by, answer) {
                    return Reply::from_error(&e);
                }
            }
            Reply::Approved { question }
        }
        Err(e) => Reply::from_error(&e),
    }
}

/// Writes a decision on a question to the audit trail (durably, before any
/// value it lets through leaves the agent).
fn record_decision(
    shared: &Shared,
    question: &Question,
    decision: &str,
    by: &str,
    answer: Answer,
) -> Result<()> {
    let vault = shared.vault();
    let Some(vault) = vault.as_ref() else {
        return Err(Error::Locked);
    };
    let minutes = match answer {
        Answer::ForMinutes { minutes } => Some(minutes),
        _ => None,
    };
    let event = Event::new(Action::Access).details(serde_json::json!({
        "request": question.id,
        "credentials": question.names,
        "rule": question.rule,
        "why": question.why,
        "use": question.action.as_str(),
        "decision": decision,
        "minutes": minutes,
        "by": by,
        "requester": question.requester,
    }));
    vault.record_events(&[event], Utc::now())
}

/// A reveal waiting for the committer, and whether it answers as a use.
struct Job {
    request: RevealRequest,
    used: bool,
}

/// The most reveals written in one transaction.
const MAX_BATCH: usize = 256;

/// Group commit: takes every reveal waiting, writes all their entries in
/// one transaction (one fsync), and only then answers each. While one
/// commit runs, the next batch gathers.
fn committer(shared: Arc<Shared>, jobs: mpsc::Receiver<(Job, mpsc::SyncSender<Reply>)>) {
    let anchor = || {
        if let Some(vault) = shared.vault().as_ref() {
            if let Err(e) = vault.anchor_written() {
                tracing::warn!(error = %e, "agent: the audit anchor was not written");
            }
        }
    };
    // Entries written since the last anchor; when it was written.
    let mut unanchored = false;
    let mut anchored_at = Instant::now();
    loop {
        let next = if unanchored {
            jobs.recv_timeout(ANCHOR_IDLE)
        } else {
            jobs.recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected)
        };
        let first = match next {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                anchor();
                unanchored = false;
                anchored_at = Instant::now();
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let requests: Vec<RevealRequest> = batch.iter().map(|(j, _)| j.request.clone()).collect();
        let results = {
            let vault = shared.vault();
            match vault.as_ref() {
                None => Err(Error::Locked),
                Some(v) => v.reveal_batch(&requests, Utc::now()),
            }
        };
        match results {
            Ok(results) => {
                for ((job, reply), result) in batch.into_iter().zip(results) {
                    let _ = reply.send(match result {
                        Ok(creds) => to_reply(job.used, creds),
                        Err(e) => Reply::from_error(&e),
                    });
                }
            }
            Err(e) => {
                for (_, reply) in batch {
                    let _ = reply.send(Reply::from_error(&e));
                }
            }
        }
        // The entries are anchored once their values are on their way (as
        // a command that reveals anchors as it exits), off every reply's
        // path: when reveals pause for ANCHOR_IDLE, and every ANCHOR_EVERY
        // while they keep coming (the anchor's fsync would otherwise cost
        // each batch as much as its own commit).
        unanchored = true;
        if anchored_at.elapsed() >= ANCHOR_EVERY {
            anchor();
            unanchored = false;
            anchored_at = Instant::now();
        }
    }
}

/// See the end of [`committer`].
const ANCHOR_IDLE: Duration = Duration::from_millis(20);
const ANCHOR_EVERY: Duration = Duration::from_millis(200);

/// One [`Call`] on the vault, its result as JSON.
fn call_vault(vault: &mut Vault, call: Call) -> Result<serde_json::Value> {
    let json = |v: std::result::Result<serde_json::Value, serde_json::Error>| {
        v.map_err(|e| Error::Failure {
            what: format!("could not encode the agent's answer: {e}"),
        })
    };
    match call {
        Call::List => json(serde_json::to_value(vault.list()?)),
        Call::Search { query } => json(serde_json::to_value(vault.search(&query)?)),
        Call::History { name } => json(serde_json::to_value(vault.history(&name)?)),
        Call::Unreviewed { name } => {
            let c = vault.get(&name)?;
            json(serde_json::to_value(vault.unreviewed(&c)?))
        }
        Call::MarkReviewed { name } => json(serde_json::to_value(
            vault.mark_reviewed(&name, Utc::now())?,
        )),
        Call::Add { draft } => json(serde_json::to_value(vault.add(draft, Utc::now())?)),
        Call::Update { name, patch } => json(serde_json::to_value(vault.update(
            &name,
            &patch,
            Utc::now(),
        )?)),
        Call::Remove { name, purge: false } => {
            json(serde_json::to_value(vault.remove(&name, Utc::now())?))
        }
        Call::Remove { name, purge: true } => {
            json(serde_json::to_value(vault.purge(&name, Utc::now())?))
        }
        Call::Trash => json(serde_json::to_value(vault.trash()?)),
        Call::Restore { which, rename } => json(serde_json::to_value(vault.restore(
            &which,
            rename.as_deref(),
            Utc::now(),
        )?)),
        Call::PurgeTrashed { which } => json(serde_json::to_value(
            vault.purge_trashed(which.as_deref(), Utc::now())?,
        )),
        Call::Statuses { env, tag } => {
            let statuses = vault.statuses(Utc::now(), &crate::policy::Filter { env, tag })?;
            let running = vault
                .running_rotations()?
                .iter()
                .map(|(name, run)| (name.clone(), run.into()))
                .collect();
            json(serde_json::to_value(super::Statuses { statuses, running }))
        }
        Call::AuditEntries { query } => json(serde_json::to_value(vault.audit_entries(&query)?)),
        Call::VerifyAudit => json(serde_json::to_value(vault.verify_audit()?)),
        Call::Policies => json(serde_json::to_value(vault.policies()?)),
        Call::SetPolicy { scope, policy } => json(serde_json::to_value(vault.set_policy(
            &scope,
            policy,
            Utc::now(),
        )?)),
        Call::AccessRules => json(serde_json::to_value(vault.access_rules()?)),
        Call::SetAccessRule { scope, rule } => json(serde_json::to_value(vault.set_access_rule(
            &scope,
            rule,
            Utc::now(),
        )?)),
        Call::SetAccessRemember { minutes } => json(serde_json::to_value(
            vault.set_access_remember(minutes, Utc::now())?,
        )),
        Call::Rollback { name, version } => json(serde_json::to_value(vault.rollback(
            &name,
            version,
            Utc::now(),
        )?)),
    }
}

fn to_reply(used: bool, creds: Vec<(Credential, Secrets)>) -> Reply {
    if used {
        return Reply::Used {
            items: creds
                .iter()
                .map(|(c, s)| super::Used {
                    name: c.meta.name.clone(),
                    credential: c.clone(),
                    secrets: wire(&s.0),
                })
                .collect(),
        };
    }
    match creds.into_iter().next() {
        Some((c, s)) => Reply::Revealed {
            fields: c.meta.fields,
            secrets: wire(&s.0),
        },
        None => Reply::from_error(&Error::Failure {
            what: "a reveal returned nothing".into(),
        }),
    }
}

/// Secret values as they cross the socket (wiped when dropped).
fn wire(secrets: &BTreeMap<String, SecretValue>) -> BTreeMap<String, Zeroizing<String>> {
    secrets
        .iter()
        .map(|(k, v)| (k.clone(), Zeroizing::new(v.expose_secret().to_owned())))
        .collect()
}

fn send(stream: &mut UnixStream, reply: &Reply) -> Result<()> {
    let body = Zeroizing::new(serde_json::to_vec(reply).map_err(|e| Error::Failure {
        what: format!("could not encode the agent's reply: {e}"),
    })?);
    frame::write_up_to(stream, &body, frame::MAX_REPLY)
}
