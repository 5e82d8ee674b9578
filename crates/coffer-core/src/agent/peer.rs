//! Who is asking: the peer's uid and pid from the socket itself
//! (`SO_PEERCRED`, set by the kernel, not claimed by the client), and what
//! that process is, read from /proc for the audit trail.

use std::os::unix::net::UnixStream;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The kernel's word on the connecting process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    pub pid: u32,
    pub uid: u32,
}

impl Peer {
    pub fn of(stream: &UnixStream) -> Result<Peer> {
        let cred = rustix::net::sockopt::socket_peercred(stream).map_err(|e| Error::Failure {
            what: format!("could not read the peer's credentials from the agent's socket: {e}"),
        })?;
        Ok(Peer {
            pid: cred.pid.as_raw_nonzero().get() as u32,
            uid: cred.uid.as_raw(),
        })
    }
}

/// The requesting process as the audit trail records it: no secret is
/// among these (Coffer's own command lines never hold one; another
/// program's may, so its command line is cut to [`MAX_TEXT`]).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Requester {
    pub pid: u32,
    pub exe: String,
    pub cmdline: String,
    pub cwd: String,
    /// The controlling terminal's device number (0: none) and the session.
    pub tty: u64,
    pub session: u32,
    /// Parents up to the session leader, nearest first: "pid name".
    pub parents: Vec<String>,
}

/// The longest command line or path kept.
pub const MAX_TEXT: usize = 512;
/// The most parents followed.
const MAX_PARENTS: usize = 8;

impl Requester {
    /// What /proc says about `pid` (fields it cannot read stay empty: the
    /// process may have exited since it connected).
    pub fn describe(pid: u32) -> Requester {
        let proc = Path::new("/proc").join(pid.to_string());
        let link = |name: &str| {
            std::fs::read_link(proc.join(name))
                .map(|p| cut(&p.display().to_string()))
                .unwrap_or_default()
        };
        let cmdline = std::fs::read(proc.join("cmdline"))
            .map(|raw| {
                let words: Vec<String> = raw
                    .split(|b| *b == 0)
                    .filter(|w| !w.is_empty())
                    .map(|w| String::from_utf8_lossy(w).into_owned())
                    .collect();
                cut(&words.join(" "))
            })
            .unwrap_or_default();
        let stat = Stat::read(pid);
        let mut parents = Vec::new();
        let mut next = stat.as_ref().map(|s| s.ppid).unwrap_or(0);
        let session = stat.as_ref().map(|s| s.session).unwrap_or(0);
        while next > 1 && parents.len() < MAX_PARENTS {
            let Some(parent) = Stat::read(next) else {
                break;
            };
            parents.push(format!("{next} {}", parent.name));
            if next == session {
                break;
            }
            next = parent.ppid;
        }
        Requester {
            pid,
            exe: link("exe"),
            cmdline,
            cwd: link("cwd"),
            tty: stat.as_ref().map(|s| s.tty).unwrap_or(0),
            session,
            parents,
        }
    }

    /// As the audit screens show it: "aws (pid 4121) in ~/src/infra, via
    /// coffer aws credential-process dev". When Coffer's own CLI asked, the
    /// program that ran it (its nearest parent) is the one named, and the
    /// command it ran follows "via".
    pub fn shown(&self) -> String {
        let file = |path: &str| {
            Path::new(path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "a process".into())
        };
        let dir = match std::env::var("HOME") {
            Ok(home) if !home.is_empty() && self.cwd.starts_with(&home) => {
                format!("~{}", &self.cwd[home.len()..])
            }
            _ => self.cwd.clone(),
        };
        let program = file(&self.exe);
        let parent = self
            .parents
            .first()
            .and_then(|p| p.split_once(' '))
            // `coffer` answers some commands itself and runs `coffer-full`
            // (same pid, same argv) for the rest.
            .filter(|_| program == "coffer" || program == "coffer-full");
        match parent {
            Some((pid, name)) => {
                let mut via = self.cmdline.split(' ');
                let argv0 = via.next().map(file).unwrap_or_default();
                let rest: Vec<&str> = via.collect();
                format!(
                    "{name} (pid {pid}) in {dir}, via {argv0} {}",
                    rest.join(" ")
                )
            }
            None => format!("{program} (pid {}) in {dir}", self.pid),
        }
    }

    /// "aws (pid 4121) in /home/me/src/infra".
    pub fn summary(&self) -> String {
        let name = Path::new(&self.exe)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "a process".into());
        format!("{name} (pid {}) in {}", self.pid, self.cwd)
    }
}

/// The fields of /proc/PID/stat Coffer reads.
struct Stat {
    name: String,
    ppid: u32,
    session: u32,
    tty: u64,
}

impl Stat {
    fn read(pid: u32) -> Option<Stat> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // "pid (name) state ppid pgrp session tty_nr ..."; the name may hold
        // spaces and parentheses, so it ends at the last ')'.
        let open = text.find('(')?;
        let close = text.rfind(')')?;
        let name = cut(&text[open + 1..close]);
        let rest: Vec<&str> = text[close + 1..].split_whitespace().collect();
        Some(Stat {
            name,
            ppid: rest.get(1)?.parse().ok()?,
            session: rest.get(3)?.parse().ok()?,
            tty: rest.get(4)?.parse().ok()?,
        })
    }
}

fn cut(text: &str) -> String {
    let printable: String = text
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if printable.len() <= MAX_TEXT {
        return printable;
    }
    let mut end = MAX_TEXT;
    while !printable.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &printable[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_described_from_proc() {
        let me = Requester::describe(std::process::id());
        assert_eq!(me.pid, std::process::id());
        assert_eq!(
            me.exe,
            std::env::current_exe().expect("exe").display().to_string()
        );
        assert_eq!(
            Path::new(&me.cwd),
            std::env::current_dir().expect("cwd").as_path()
        );
        assert!(!me.cmdline.is_empty());
        assert!(!me.parents.is_empty(), "a test runs under a parent");
        assert!(me.summary().contains(&format!("(pid {})", me.pid)));
    }

    #[test]
    fn a_socket_pair_names_this_process() {
        let (a, _b) = UnixStream::pair().expect("pair");
        let peer = Peer::of(&a).expect("peer");
        assert_eq!(peer.pid, std::process::id());
        assert_eq!(peer.uid, rustix::process::getuid().as_raw());
    }

    #[test]
    fn the_program_that_ran_coffer_is_the_one_shown() {
        let through_cli = Requester {
            pid: 4200,
            exe: "/usr/bin/coffer".into(),
            cmdline: "/usr/bin/coffer aws credential-process dev".into(),
            cwd: "/srv/infra".into(),
            tty: 0,
            session: 4000,
            parents: vec!["4121 aws".into(), "4000 bash".into()],
        };
        assert_eq!(
            through_cli.shown(),
            "aws (pid 4121) in /srv/infra, via coffer aws credential-process dev"
        );
        let full = Requester {
            exe: "/usr/bin/coffer-full".into(),
            ..through_cli.clone()
        };
        assert_eq!(full.shown(), through_cli.shown());
        let direct = Requester {
            exe: "/usr/bin/python3".into(),
            parents: vec!["4000 bash".into()],
            ..through_cli
        };
        assert_eq!(direct.shown(), "python3 (pid 4200) in /srv/infra");
    }

    #[test]
    fn long_or_control_text_is_cut_and_made_printable() {
        assert_eq!(cut("a\u{1b}[2Kb"), "a?[2Kb");
        let long = "é".repeat(MAX_TEXT);
        assert!(cut(&long).len() <= MAX_TEXT + '…'.len_utf8());
    }
}
