//! The app process's heap: how many arenas glibc keeps, and giving the
//! pages it holds free back to the system.
//!
//! How many heaps. glibc's allocator gives a thread that allocates while
//! another holds the heap an arena of its own, up to eight per core, and
//! each arena keeps what was freed in it for reuse. The shell's commands
//! run on tokio's blocking pool, a thread per concurrent call, so the
//! arenas multiply and their freed blocks settle there; the app process
//! grew by about 12 % over 600 edits and then stayed. With two arenas it
//! starts about 8 MiB smaller and grows about 5 % (docs/BENCHMARKS.md, "Two
//! heaps for the app process"). The commands take the vault's lock in turn
//! anyway, so the threads rarely contend for a heap.
//!
//! Giving back. Reading the list's catalog decrypts every row: the rows'
//! metadata, freed once cut down to what the catalog keeps, leaves free
//! blocks all through the heap, and glibc returns to the system only a free
//! stretch at the heap's top. At 100k credentials about 18 MiB stayed
//! resident that way after the first read. `malloc_trim` releases the free
//! pages wherever they are; the shell asks for it after the catalog's first
//! read and, from its timer, whenever much was freed since the last time.
//!
//! `mallopt`, `malloc_trim` and `mallinfo2` have no safe binding in a
//! well-kept crate: each call passes integers only. WebKit's processes are
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

/// How many more bytes in free blocks than at the last give-back make the
/// timer give pages back.
const RECLAIM_AFTER: usize = 8 << 20;

/// Gives the free pages of every arena back to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "malloc_trim has no safe binding; an integer argument, thread-safe in glibc"
)]
pub fn give_back() {
    // SAFETY: malloc_trim takes each arena's lock in turn and only advises
    // the kernel about pages inside free blocks; the argument is a size.
    let _ = unsafe { libc::malloc_trim(0) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back() {}

/// The bytes glibc's heaps hold in free blocks.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "mallinfo2 has no safe binding; no argument, returns a plain struct"
)]
fn free_bytes() -> usize {
    // SAFETY: mallinfo2 takes each arena's lock in turn and returns counts
    // by value.
    unsafe { libc::mallinfo2() }.fordblks
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn free_bytes() -> usize {
    0
}

/// Gives pages back when glibc holds [`RECLAIM_AFTER`] more bytes in free
/// blocks than at the last give-back: after a catalog is read again, an
/// import, a lock.
///
/// Called from the shell's timer; reading the counts walks the free blocks
/// (about a millisecond with a 100k catalog's worth).
#[derive(Default)]
pub struct Reclaimer {
    /// The free bytes at the last give-back, lowered as free blocks are
    /// taken again.
    mark: usize,
}

impl Reclaimer {
    pub fn tick(&mut self) {
        let free = free_bytes();
        if free >= self.mark.saturating_add(RECLAIM_AFTER) {
            give_back();
            self.mark = free;
        } else {
            // Free blocks taken again lower the mark: what is freed next counts.
            self.mark = self.mark.min(free);
        }
    }
}
