//! Reading secrets from people and pipes: hidden prompts on a terminal,
//! stdin otherwise, files for scripts. Nothing read here is ever echoed.

use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::Context;
use coffer_core::SecretValue;
use zeroize::Zeroizing;

use crate::exit::{usage, CliError};

pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// All of stdin, in a buffer that is wiped when dropped.
pub fn read_stdin() -> anyhow::Result<Zeroizing<String>> {
    let mut buf = Zeroizing::new(Vec::with_capacity(64 * 1024));
    std::io::stdin()
        .lock()
        .read_to_end(&mut buf)
        .context("cannot read stdin")?;
    let text = std::str::from_utf8(&buf).map_err(|_| usage("stdin is not valid UTF-8"))?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// A passphrase from a file: its first line (a trailing newline is not part of it).
pub fn read_passphrase_file(path: &Path) -> anyhow::Result<SecretValue> {
    let bytes = Zeroizing::new(
        std::fs::read(path)
            .with_context(|| format!("cannot read the passphrase file {}", path.display()))?,
    );
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        usage(format!(
            "the passphrase file {} is not UTF-8 text",
            path.display()
        ))
    })?;
    let line = text.strip_suffix('\n').unwrap_or(text);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        return Err(usage(format!("the passphrase file {} is empty", path.display())).into());
    }
    Ok(SecretValue::from(line))
}

/// A passphrase from stdin (a trailing newline is not part of it).
pub fn read_passphrase_stdin() -> anyhow::Result<SecretValue> {
    let text = read_stdin()?;
    let line = text.strip_suffix('\n').unwrap_or(&text);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        return Err(usage("the passphrase on stdin is empty").into());
    }
    Ok(SecretValue::from(line))
}

/// One hidden line from the terminal.
pub fn prompt_hidden(prompt: &str) -> anyhow::Result<SecretValue> {
    let value = rpassword::prompt_password(prompt).context("cannot read from the terminal")?;
    Ok(SecretValue::from(Zeroizing::new(value)))
}

/// A code for MFA device `serial`, asked on the controlling terminal (not
/// stdin: the AWS CLI runs `credential_process` without one). Without a
/// terminal, the core's "needs a code" error, which says what else gives it.
pub fn mfa_code(credential: &str, serial: &str) -> coffer_core::Result<SecretValue> {
    let no_code = || coffer_core::sessions::mfa::needed(credential, serial);
    if std::fs::File::open("/dev/tty").is_err() {
        return Err(no_code());
    }
    let prompt = format!("MFA code for {serial} (a session for '{credential}'): ");
    rpassword::prompt_password(prompt)
        .map(|c| SecretValue::from(Zeroizing::new(c.trim().to_owned())))
        .map_err(|_| no_code())
}

/// A new recovery or backup passphrase from a file or stdin, held to the
/// same strength rule as in the app (exit 2 with the estimate when weak).
pub fn strong(passphrase: SecretValue) -> anyhow::Result<SecretValue> {
    coffer_core::strength::require_recovery(&passphrase)?;
    Ok(passphrase)
}

/// A new passphrase typed twice; empty allowed only when `allow_empty`.
/// A weak one is refused with the estimate, and asked for again.
pub fn prompt_new_passphrase(allow_empty: bool) -> anyhow::Result<Option<SecretValue>> {
    loop {
        let first = prompt_hidden(if allow_empty {
            "Recovery passphrase (empty for none): "
        } else {
            "New recovery passphrase: "
        })?;
        if first.is_empty() {
            if allow_empty {
                return Ok(None);
            }
            eprintln!("The passphrase cannot be empty.");
            continue;
        }
        if let Err(e) = coffer_core::strength::require_recovery(&first) {
            eprintln!("{e}");
            continue;
        }
        let second = prompt_hidden("Repeat it: ")?;
        if first == second {
            return Ok(Some(first));
        }
        eprintln!("The two entries differ; try again.");
    }
}

/// Asks a yes/no question on the terminal.
pub fn confirm(question: &str) -> anyhow::Result<bool> {
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .context("cannot read from the terminal")?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

pub fn no_terminal(what: &str) -> CliError {
    usage(format!(
        "{what} needs a terminal; in a script, {}",
        match what {
            "the recovery passphrase" =>
                "pass --passphrase-stdin, --passphrase-file FILE or --no-passphrase",
            _ => "give the input on stdin",
        }
    ))
}
