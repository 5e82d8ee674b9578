//! How many heaps the app process keeps. glibc's allocator gives a thread
//! that allocates while another holds the heap an arena of its own, up to
//! eight per core, and each arena keeps what was freed in it for reuse. The
//! shell's commands run on tokio's blocking pool, a thread per concurrent
//! call, so the arenas multiply and their freed blocks settle there; the
//! app process grew by about 12 % over 600 edits and then stayed. With two
//! arenas it starts about 8 MiB smaller and grows about 5 %
//! (docs/BENCHMARKS.md, "Two heaps for the app process"). The commands take
//! the vault's lock in turn anyway, so the threads rarely contend for a heap.
//!
//! The limit is set with `mallopt`, which no safe crate wraps: one call with
//! constant arguments, before any other thread exists. WebKit's processes are
//! not affected (they are other programs, with their own allocator).

/// The main arena and one more.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENAS: libc::c_int = 2;

/// Must run while the process has one thread.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "mallopt has no safe binding; constant arguments, called before any thread starts"
)]
pub fn limit_arenas() {
    // SAFETY: mallopt reads two integers and changes one of glibc's
    // allocator settings; no pointer is passed, and no other thread is
    // allocating yet. It returns 0 when refused, which leaves glibc's default.
    let _ = unsafe { libc::mallopt(libc::M_ARENA_MAX, ARENAS) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_arenas() {}
