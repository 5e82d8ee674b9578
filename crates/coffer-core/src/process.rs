//! Process hygiene, the same for the CLI and the app: a process that holds
//! secret values writes no core file (a crash would put them on disk) and
//! cannot be read through `/proc` or ptrace by the user's other processes.

use std::sync::OnceLock;

use rustix::process::{self, DumpableBehavior, Resource, Rlimit};

/// The soft core-file limit the process started with (set by [`harden`]).
static STARTED_WITH: OnceLock<Option<u64>> = OnceLock::new();

/// Marks the process not dumpable (`PR_SET_DUMPABLE` 0: no core file, and
/// `/proc/<pid>/mem` and ptrace need privilege) and lowers its core-file
/// limit to 0, remembering the one it had for [`for_children`]. Best
/// effort: a platform that refuses either still runs.
pub fn harden() {
    let _ = process::set_dumpable_behavior(DumpableBehavior::NotDumpable);
    let before = process::getrlimit(Resource::Core);
    let _ = STARTED_WITH.set(before.current);
    let _ = process::setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: before.maximum,
        },
    );
}

/// Gives the soft core-file limit back before starting a child (`exec`), so
/// the user's programs keep their own settings. The process itself stays
/// not dumpable: that flag is not inherited across `execve`.
pub fn for_children() {
    let Some(&started_with) = STARTED_WITH.get() else {
        return;
    };
    let now = process::getrlimit(Resource::Core);
    let _ = process::setrlimit(
        Resource::Core,
        Rlimit {
            current: started_with,
            maximum: now.maximum,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hardened_process_is_not_dumpable_and_writes_no_core() {
        let before = process::getrlimit(Resource::Core).current;
        harden();
        assert_eq!(
            process::dumpable_behavior().expect("PR_GET_DUMPABLE"),
            DumpableBehavior::NotDumpable
        );
        assert_eq!(process::getrlimit(Resource::Core).current, Some(0));
        for_children();
        assert_eq!(process::getrlimit(Resource::Core).current, before);
        assert_eq!(
            process::dumpable_behavior().expect("PR_GET_DUMPABLE"),
            DumpableBehavior::NotDumpable,
            "the process itself stays not dumpable"
        );
    }
}
