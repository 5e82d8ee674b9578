//! How WebKit draws the app's pages. WebKitGTK composites a page through
//! OpenGL. Without a GPU (a virtual machine, a remote X session, Xvfb) that
//! GL is Mesa's llvmpipe on the CPU, and compositing then cost the web
//! process about 100 MiB more and each frame after a keystroke about 30 ms
//! more than painting without it (docs/BENCHMARKS.md, "Compositing off").
//! So compositing is turned off where no GPU can be opened. A value of
//! WEBKIT_DISABLE_COMPOSITING_MODE the person set is left as it is.

use std::path::Path;

const VARIABLE: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

/// Decides before WebKit starts; must run while the process has one thread
/// (it sets an environment variable, which WebKit's processes inherit).
pub fn choose() {
    if std::env::var_os(VARIABLE).is_none() && !gpu_available(Path::new("/dev/dri")) {
        std::env::set_var(VARIABLE, "1");
    }
}

/// Whether a DRM render node (`renderD*`, what Mesa opens for a GPU) in
/// `dir` may be opened for reading and writing by this user. Asked with
/// access(2), not by opening it: opening a node can wake a sleeping GPU.
fn gpu_available(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        entry.file_name().to_string_lossy().starts_with("renderD")
            && rustix::fs::access(
                entry.path(),
                rustix::fs::Access::READ_OK | rustix::fs::Access::WRITE_OK,
            )
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gpu_is_a_render_node_this_user_can_open() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(!gpu_available(&dir.path().join("missing")));
        assert!(!gpu_available(dir.path()), "no node");
        std::fs::write(dir.path().join("card0"), b"").expect("card");
        assert!(
            !gpu_available(dir.path()),
            "a card node is not a render node"
        );
        let node = dir.path().join("renderD128");
        std::fs::write(&node, b"").expect("node");
        assert!(gpu_available(dir.path()));
    }
}
