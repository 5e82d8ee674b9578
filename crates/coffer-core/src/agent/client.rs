//! The client's side: whether to use an agent (`COFFER_AGENT`), finding the
//! one serving a vault, and one request per connection.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::approval::Question;
use super::{frame, Reply, Request};
use crate::error::{Error, Result};

/// `COFFER_AGENT`: `auto` (the default) uses a running agent and opens the
/// vault itself when there is none; `off` never uses one; `required`
/// fails when none serves the vault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Auto,
    Off,
    Required,
}

impl Mode {
    pub fn from_env() -> Result<Mode> {
        match std::env::var("COFFER_AGENT").as_deref() {
            Err(_) | Ok("") | Ok("auto") => Ok(Mode::Auto),
            Ok("off") => Ok(Mode::Off),
            Ok("required") => Ok(Mode::Required),
            Ok(other) => Err(Error::Invalid {
                what: "COFFER_AGENT".into(),
                reason: format!(
                    "'{}' is not one of auto, off, required",
                    crate::credential::printable(other)
                ),
            }),
        }
    }
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
        if mode == Mode::Off {
            return Ok(None);
        }
        let found = super::socket_for(vault)
            .ok()
            .filter(|socket| UnixStream::connect(socket).is_ok())
            .map(|socket| Client { socket });
        match (found, mode) {
            (None, Mode::Required) => Err(none_serves(vault)),
            (found, _) => Ok(found),
        }
    }

    /// [`Client::find`], for a command that needs values: an agent that
    /// holds no unlocked vault (the app's, while the app is locked) counts
    /// as none in `auto` and is an error in `required`. One status request
    /// both finds the agent and asks whether it is unlocked.
    pub fn find_unlocked(vault: &Path, mode: Mode) -> Result<Option<Client>> {
        if mode == Mode::Off {
            return Ok(None);
        }
        let Ok(socket) = super::socket_for(vault) else {
            return if mode == Mode::Required {
                Err(none_serves(vault))
            } else {
                Ok(None)
            };
        };
        let client = Client { socket };
        match (client.call(&Request::Status), mode) {
            (Ok(Reply::Status(s)), _) if s.unlocked => Ok(Some(client)),
            (Ok(Reply::Status(_)), Mode::Required) => Err(Error::CannotUnlock {
                reason: format!(
                    "the agent serving the vault at {} is locked (COFFER_AGENT=required): \
                     unlock the app, or stop it and run `coffer agent start`",
                    vault.display()
                ),
            }),
            (_, Mode::Required) => Err(none_serves(vault)),
            _ => Ok(None),
        }
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
        let mut stream = UnixStream::connect(&self.socket).map_err(|e| Error::Failure {
            what: format!("the agent on {} did not answer: {e}", self.socket.display()),
        })?;
        let _ = stream.set_write_timeout(Some(frame::DEADLINE));
        let body = Zeroizing::new(serde_json::to_vec(request).map_err(|e| Error::Failure {
            what: format!("could not encode the request: {e}"),
        })?);
        frame::write(&mut stream, &body)?;
        // The reply may wait for the vault (another client's reveal), not
        // for the network: no read deadline beyond the agent's own.
        loop {
            let reply = frame::read(&mut stream)?;
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
            "no agent serves the vault at {} and COFFER_AGENT=required: start one with \
             `coffer agent start`",
            vault.display()
        ),
    }
}
