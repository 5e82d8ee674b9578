//! Codes for MFA devices, when a session's STS call needs one: from the
//! credential's `mfa_process` command (aws-vault's convention, e.g. `ykman
//! oath accounts code --single NAME`), else from whoever asked (a terminal
//! prompt in the CLI; through the agent, a window of the app when the app
//! is the agent, else the client that asked, which prompts on its own
//! terminal). A code never goes on argv, into an audit entry or a log.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::secret::SecretValue;

/// How long an `mfa_process` may take (a hardware key waits for a touch).
pub const PROCESS_WITHIN: Duration = Duration::from_secs(60);

/// Whoever can give a code for a device when no `mfa_process` is set.
pub trait MfaCodes {
    /// A code for device `serial`, needed for a session of `credential`.
    fn code(&mut self, credential: &str, serial: &str) -> Result<SecretValue>;
}

/// Nobody to ask: the error says what would give the code.
pub struct NoOneToAsk;

impl MfaCodes for NoOneToAsk {
    fn code(&mut self, credential: &str, serial: &str) -> Result<SecretValue> {
        Err(needed(credential, serial))
    }
}

/// The error for a code nobody could give.
pub fn needed(credential: &str, serial: &str) -> Error {
    Error::MfaNeeded {
        credential: credential.into(),
        serial: serial.into(),
    }
}

/// The code for `credential`'s device `serial`: its `mfa_process` when it
/// has one, else `ask`. Checked to be six digits either way.
pub fn code_for(
    credential: &Credential,
    serial: &str,
    ask: &mut dyn MfaCodes,
) -> Result<SecretValue> {
    let name = &credential.meta.name;
    let code = match credential.meta.fields.get("mfa_process") {
        Some(command) => run_process(name, command)?,
        None => ask.code(name, serial)?,
    };
    check(name, &code)?;
    Ok(code)
}

/// An AWS MFA code is six digits (TOTP); anything else would only earn an
/// AccessDenied from STS after a round trip.
pub fn check(credential: &str, code: &SecretValue) -> Result<()> {
    let c = code.expose_secret();
    if c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("MFA code for '{credential}'"),
            "an AWS MFA code is six digits",
        ))
    }
}

/// Runs `command` through `sh -c` (it is configuration, like a shell alias;
/// the code comes back on its stdout and is not shown), with no stdin and
/// stderr left to the person (a "touch your key" note), for at most
/// [`PROCESS_WITHIN`].
fn run_process(credential: &str, command: &str) -> Result<SecretValue> {
    let failed = |why: String| Error::Failure {
        what: format!("the mfa_process of '{credential}' {why}"),
    };
    let mut child = Command::new("/bin/sh")
        .args(["-c", command])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| failed(format!("could not start: {e}")))?;
    let mut stdout = child.stdout.take().expect("piped");
    // Read on a thread so the deadline holds even if the command keeps
    // its stdout open.
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = (&mut stdout).take(4096).read_to_end(&mut out);
        zeroize::Zeroizing::new(out)
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < PROCESS_WITHIN => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!(
                    "gave no code within {} s",
                    PROCESS_WITHIN.as_secs()
                )));
            }
            Err(e) => return Err(failed(format!("could not be waited for: {e}"))),
        }
    };
    let out = reader
        .join()
        .map_err(|_| failed("could not be read".into()))?;
    if !status.success() {
        return Err(failed(format!("failed ({status})")));
    }
    let text =
        std::str::from_utf8(&out).map_err(|_| failed("printed something not text".into()))?;
    Ok(SecretValue::from(text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{CredentialId, CredentialMeta};
    use crate::kind::Kind;

    /// A code given once, as a client's with its request.
    struct Given(Option<SecretValue>);

    impl MfaCodes for Given {
        fn code(&mut self, credential: &str, serial: &str) -> Result<SecretValue> {
            self.0.take().ok_or_else(|| needed(credential, serial))
        }
    }

    fn role(process: Option<&str>) -> Credential {
        let mut meta = CredentialMeta::bare("ops", Kind::AwsRole);
        if let Some(p) = process {
            meta.fields.insert("mfa_process".into(), p.into());
        }
        Credential {
            id: CredentialId([1; 16]),
            version: 1,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            meta,
        }
    }

    #[test]
    fn the_process_gives_the_code_and_a_bad_one_is_refused() {
        let serial = "arn:aws:iam::123456789012:mfa/me";
        let code = code_for(&role(Some("echo ' 123456 '")), serial, &mut NoOneToAsk).expect("code");
        assert_eq!(code.expose_secret(), "123456");
        let e = code_for(&role(Some("echo 12345")), serial, &mut NoOneToAsk).expect_err("short");
        assert!(e.to_string().contains("six digits"), "{e}");
        assert!(
            !e.to_string().contains("12345"),
            "the code is not echoed: {e}"
        );
        let e = code_for(&role(Some("exit 3")), serial, &mut NoOneToAsk).expect_err("fails");
        assert!(e.to_string().contains("mfa_process of 'ops' failed"), "{e}");
    }

    #[test]
    fn without_a_process_the_asker_answers_once() {
        let serial = "arn:aws:iam::123456789012:mfa/me";
        let mut given = Given(Some(SecretValue::from("654321")));
        assert_eq!(
            code_for(&role(None), serial, &mut given)
                .expect("code")
                .expose_secret(),
            "654321"
        );
        let e = code_for(&role(None), serial, &mut given).expect_err("used");
        assert!(matches!(e, Error::MfaNeeded { .. }), "{e}");
        assert!(e.to_string().contains(serial), "{e}");
    }
}
