//! The one way Coffer writes a file of its own (the audit anchor, backups,
//! exports, `env` files, the rewritten AWS files and their copies): a 0600
//! temporary file beside the target (named `.<name>.coffer-…`), written and
//! fsynced, then put in place in one step (a rename, or a link that never
//! replaces what is there), then the directory fsynced. A reader sees the old
//! file or the whole new one, never a part; a crash leaves at most the
//! temporary file, which is removed when its writer fails or is dropped.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// What to do when the target exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replace {
    /// Refuse with [`Error::FileExists`], even if the file appears meanwhile.
    Never,
    /// Replace it; the new file is 0600.
    Always,
    /// Replace it, keeping its mode (a file of the user's that Coffer edits); a new file is 0600.
    KeepingMode,
}

/// A file written beside its target and not yet in place: [`Staged::publish`]
/// puts it there, dropping it removes it.
pub struct Staged {
    temp: NamedTempFile,
    path: PathBuf,
    action: &'static str,
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

impl Staged {
    /// Writes `bytes` to a new 0600 temporary file beside `path` and fsyncs
    /// it. `action` names the write in errors ("write the backup").
    pub fn new(path: &Path, bytes: &[u8], action: &'static str) -> Result<Staged> {
        let name = path
            .file_name()
            .ok_or_else(|| {
                Error::invalid("file name", format!("{} names no file", path.display()))
            })?
            .to_string_lossy()
            .into_owned();
        let dir = parent(path);
        let mut temp = tempfile::Builder::new()
            .prefix(&format!(".{name}.coffer-"))
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(io(action, dir))?;
        temp.write_all(bytes)
            .and_then(|()| temp.as_file().sync_all())
            .map_err(io(action, temp.path()))?;
        Ok(Staged {
            temp,
            path: path.to_owned(),
            action,
        })
    }

    /// Puts the file in place as `replace` says, then fsyncs the directory.
    pub fn publish(self, replace: Replace) -> Result<()> {
        let Staged { temp, path, action } = self;
        if replace == Replace::KeepingMode {
            if let Ok(meta) = fs::metadata(&path) {
                let mode = meta.permissions().mode() & 0o7777;
                temp.as_file()
                    .set_permissions(fs::Permissions::from_mode(mode))
                    .map_err(io(action, temp.path()))?;
            }
        }
        let placed = match replace {
            Replace::Never => temp.persist_noclobber(&path),
            Replace::Always | Replace::KeepingMode => temp.persist(&path),
        };
        match placed {
            Ok(_) => {}
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::FileExists { path });
            }
            Err(e) => return Err(io(action, &path)(e.error)),
        }
        sync_dir(parent(&path), action)
    }
}

/// Writes `bytes` to `path` as the module says, in one call.
pub fn write_private(
    path: &Path,
    bytes: &[u8],
    replace: Replace,
    action: &'static str,
) -> Result<()> {
    Staged::new(path, bytes, action)?.publish(replace)
}

/// Makes a directory's entries (a file just put in place) durable.
pub fn sync_dir(dir: &Path, action: &'static str) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(action, dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".coffer-"))
            .collect()
    }

    #[test]
    fn a_new_file_is_0600_whole_and_leaves_nothing_behind() {
        let dir = tempfile::TempDir::new().expect("tempdir");
        let path = dir.path().join("out.json");
        write_private(&path, b"{}", Replace::Never, "write").expect("write");
        assert_eq!(fs::read(&path).expect("read"), b"{}");
        assert_eq!(
            fs::metadata(&path).expect("stat").permissions().mode() & 0o777,
            0o600
        );
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn never_refuses_an_existing_file_and_leaves_it_alone() {
        let dir = tempfile::TempDir::new().expect("tempdir");
        let path = dir.path().join("out");
        fs::write(&path, b"mine").expect("write");
        let staged = Staged::new(&path, b"new", "write").expect("stage");
        assert!(matches!(
            staged.publish(Replace::Never),
            Err(Error::FileExists { .. })
        ));
        assert_eq!(fs::read(&path).expect("read"), b"mine");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn always_replaces_with_0600_and_keeping_mode_keeps_the_mode() {
        let dir = tempfile::TempDir::new().expect("tempdir");
        let path = dir.path().join("out");
        fs::write(&path, b"old").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        write_private(&path, b"kept", Replace::KeepingMode, "write").expect("write");
        assert_eq!(fs::read(&path).expect("read"), b"kept");
        assert_eq!(
            fs::metadata(&path).expect("stat").permissions().mode() & 0o777,
            0o644
        );
        write_private(&path, b"new", Replace::Always, "write").expect("write");
        assert_eq!(fs::read(&path).expect("read"), b"new");
        assert_eq!(
            fs::metadata(&path).expect("stat").permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_staged_file_dropped_unpublished_is_removed() {
        let dir = tempfile::TempDir::new().expect("tempdir");
        let path = dir.path().join("out");
        drop(Staged::new(&path, b"x", "write").expect("stage"));
        assert!(!path.exists());
        assert!(leftovers(dir.path()).is_empty());
    }
}
