//! The client's side: whether to use an agent (`COFFER_AGENT`), finding the
//! one serving a vault, and one request per connection.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::approval::Question;
use super::{frame, Reply, Request, Status};
use crate::error::{Error, Result};

/// Whether commands use an agent: `auto` (the default) uses a running
/// agent and opens the vault itself when there is none; `off` never uses
/// one; `required` fails when none serves the vault. `COFFER_AGENT` chooses,
/// else the setting `coffer agent mode` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Auto,
    Off,
    Required,
}

/// The setting's file, under [`crate::paths::config_dir`]: one word.
const SETTING: &str = "agent-mode";

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Off => "off",
            Mode::Required => "required",
        }
    }

    /// `text` as a mode; `what` names where it came from in the error.
    pub fn parse(what: &str, text: &str) -> Result<Mode> {
        match text.trim() {
            "" | "auto" => Ok(Mode::Auto),
            "off" => Ok(Mode::Off),
            "required" => Ok(Mode::Required),
            other => Err(Error::Invalid {
                what: what.into(),
                reason: format!(
                    "'{}' is not one of auto, off, required",
                    crate::credential::printable(other)
                ),
            }),
        }
    }

    /// `COFFER_AGENT` if set, else the setting, else `auto`.
    pub fn from_env() -> Result<Mode> {
        match std::env::var("COFFER_AGENT") {
            Ok(text) if !text.is_empty() => Mode::parse("COFFER_AGENT", &text),
            _ => Mode::setting(),
        }
    }

    /// The setting alone (`auto` when none is written).
    pub fn setting() -> Result<Mode> {
        let file = crate::paths::config_dir()?.join(SETTING);
        match std::fs::read_to_string(&file) {
            Ok(text) => Mode::parse(&file.display().to_string(), &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Mode::Auto),
            Err(source) => Err(Error::Io {
                action: "read",
                path: file,
                source,
            }),
        }
    }

    /// Writes the setting (`COFFER_AGENT` still overrides it).
    pub fn save(self) -> Result<()> {
        let dir = crate::paths::config_dir()?;
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            action: "create",
            path: dir.clone(),
            source,
        })?;
        let file = dir.join(SETTING);
        std::fs::write(&file, format!("{}\n", self.as_str())).map_err(|source| Error::Io {
            action: "write",
            path: file,
            source,
        })
    }
}

/// Whether `body` (the part of a request that can be large: a draft, a
/// patch) fits in a request to the agent, with room for the rest of it.
pub fn fits(body: &impl serde::Serialize) -> bool {
    serde_json::to_vec(body)
        .map(Zeroizing::new)
        .is_ok_and(|b| b.len() + 4096 <= frame::MAX_FRAME)
}

/// The agent serving one vault.
#[derive(Clone, Debug)]
pub struct Client {
    socket: PathBuf,
}

impl Client {
    /// The agent of the vault at `vault`, by `mode`: `None` when it is off,
    /// or (auto) when no agent answers on the vault's socket.
    pub fn find(vault: &Path, mode: Mode) -> Result<Option<Client>> {
        Ok(Client::find_with_status(vault, mode)?.map(|(client, _)| client))
    }

    /// [`Client::find`] with the agent's status, from one status request
    /// (which both finds the agent and says whether it is unlocked). An
    /// agent that does not answer counts as none in `auto`.
    pub fn find_with_status(vault: &Path, mode: Mode) -> Result<Option<(Client, Status)>> {
        if mode == Mode::Off {
            return Ok(None);
        }
        let found =
            Client::for_vault(vault)
                .ok()
                .and_then(|client| match client.call(&Request::Status) {
                    Ok(Reply::Status(s)) => Some((client, s)),
                    _ => None,
                });
        match (found, mode) {
            (None, Mode::Required) => Err(none_serves(vault)),
            (found, _) => Ok(found),
        }
    }

    /// The socket where an agent of the vault at `vault` would listen,
    /// without asking whether one does: for a client that sends its real
    /// request first and reads "no agent" from the connection failing.
    pub fn for_vault(vault: &Path) -> Result<Client> {
        Ok(Client {
            socket: super::socket_for(vault)?,
        })
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Sends `request` and returns the reply; an error the agent met comes
    /// back as [`Error::Relayed`], worded and classed as it was.
    pub fn call(&self, request: &Request) -> Result<Reply> {
        self.call_asking(request, &mut |_| {})
    }

    /// [`Client::call`], telling `on_asking` when the agent asks the person
    /// before it answers (an `ask` access rule); the reply then waits for
    /// their answer.
    pub fn call_asking(
        &self,
        request: &Request,
        on_asking: &mut dyn FnMut(&Question),
    ) -> Result<Reply> {
        let body = Zeroizing::new(serde_json::to_vec(request).map_err(|e| Error::Failure {
            what: format!("could not encode the request: {e}"),
        })?);
        if body.len() > frame::MAX_FRAME {
            return Err(Error::Invalid {
                what: "the request to the agent".into(),
                reason: format!(
                    "it is {} bytes, over the agent's limit of {} for a request; values this \
                     large are written without it (COFFER_AGENT=off)",
                    body.len(),
                    frame::MAX_FRAME
                ),
            });
        }
        let mut stream = UnixStream::connect(&self.socket).map_err(|e| Error::Failure {
            what: format!("the agent on {} did not answer: {e}", self.socket.display()),
        })?;
        let _ = stream.set_write_timeout(Some(frame::DEADLINE));
        frame::write(&mut stream, &body)?;
        // The reply may wait for the vault (another client's reveal), not
        // for the network: no read deadline beyond the agent's own.
        loop {
            let reply = frame::read_up_to(&mut stream, frame::MAX_REPLY)?;
            match serde_json::from_slice(&reply) {
                Ok(Reply::Error { class, message }) => {
                    return Err(Error::Relayed { class, message })
                }
                Ok(Reply::Asking { question }) => on_asking(&question),
                Ok(reply) => return Ok(reply),
                Err(e) => {
                    return Err(Error::Failure {
                        what: format!("the agent's reply could not be read: {e}"),
                    })
                }
            }
        }
    }
}

fn none_serves(vault: &Path) -> Error {
    Error::CannotUnlock {
        reason: format!(
            "no agent serves the vault at {} and commands require one (COFFER_AGENT=required, \
             or `coffer agent mode required`): start one with `coffer agent start`",
            vault.display()
        ),
    }
}
