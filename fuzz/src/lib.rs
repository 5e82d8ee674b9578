//! A small mutation fuzzer that runs on stable Rust as an ordinary
//! `cargo test`, and the counting allocator it measures with.
//!
//! Why not cargo-fuzz/libFuzzer: it needs a nightly toolchain (sanitizer
//! coverage flags), and this project builds with one stable toolchain and no
//! internet beyond the registries. What this gives up is coverage guidance;
//! what it keeps is determinism (a printed seed reproduces a run), corpus
//! seeds taken from the real fixtures, structure-aware mutations (length
//! fields, checksums fixed up by the targets, dictionary tokens) and a weak
//! feedback: an input whose outcome (accepted, or which error) was not seen
//! before joins the corpus.
//!
//! Every execution is checked for three things: it does not panic, it ends
//! within [`HANG_LIMIT`] (a watchdog thread aborts the process after
//! [`WATCHDOG`], saving the input), and the bytes it allocates on top of what
//! was live before stay under [`alloc_bound`].

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest input a target is given (inputs are cut to this).
pub const MAX_INPUT: usize = 64 * 1024;
/// The longest one execution may take before it counts as a hang.
pub const HANG_LIMIT: Duration = Duration::from_secs(2);
/// When the watchdog gives up on an execution and aborts the process.
pub const WATCHDOG: Duration = Duration::from_secs(20);

/// The allocation bound for one execution on `input_len` bytes: 8 MiB plus
/// 64 bytes per input byte. A decoder that sizes a buffer from a length field
/// it read (rather than from the bytes it has) breaks it at once.
pub fn alloc_bound(input_len: usize) -> usize {
    (8 << 20) + 64 * input_len
}

// ---------------------------------------------------------------------------
// The counting allocator.

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static CANARY: [AtomicU8; 64] = [const { AtomicU8::new(0) }; 64];
static CANARY_LEN: AtomicUsize = AtomicUsize::new(0);
static CANARY_HITS: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting live and peak bytes, and (when a canary is
/// set) looking into every block as it is freed for the canary's bytes.
pub struct Counting;

impl Counting {
    fn on_alloc(size: usize) {
        let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
        PEAK.fetch_max(live, Ordering::Relaxed);
    }

    /// Whether the freed block holds the canary. Reads only memory the
    /// block owns, before it goes back to the system allocator.
    fn scan(block: &[u8]) {
        let len = CANARY_LEN.load(Ordering::Relaxed);
        if len == 0 || block.len() < len {
            return;
        }
        let first = CANARY[0].load(Ordering::Relaxed);
        'outer: for start in 0..=block.len() - len {
            if block[start] != first {
                continue;
            }
            for (i, c) in CANARY.iter().enumerate().take(len).skip(1) {
                if block[start + i] != c.load(Ordering::Relaxed) {
                    continue 'outer;
                }
            }
            CANARY_HITS.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
}

#[expect(
    unsafe_code,
    reason = "a global allocator is unsafe by definition; it only counts and reads blocks it owns"
)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Self::on_alloc(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            Self::on_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if CANARY_LEN.load(Ordering::Relaxed) > 0 {
            // SAFETY: the caller hands back a live block of `layout.size()` bytes.
            Self::scan(unsafe { std::slice::from_raw_parts(ptr, layout.size()) });
        }
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if CANARY_LEN.load(Ordering::Relaxed) > 0 {
            // Growing a buffer in place of the system's realloc: the old
            // block is freed through `dealloc`, so a copy left behind by a
            // growing secret is seen like any other freed block.
            // SAFETY: `layout` is the block's layout, `new_size` is non-zero.
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            let new = unsafe { self.alloc(new_layout) };
            if !new.is_null() {
                unsafe {
                    std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
            }
            return new;
        }
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            Self::on_alloc(new_size);
        }
        p
    }
}

/// Bytes live now.
pub fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Starts a new peak measurement from what is live now.
pub fn reset_peak() -> usize {
    let live = LIVE.load(Ordering::Relaxed);
    PEAK.store(live, Ordering::Relaxed);
    live
}

pub fn peak_bytes() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Looks for `canary` in every block freed from now on (at most 64 bytes;
/// an empty canary stops looking). Returns the hits counted so far.
pub fn watch_canary(canary: &[u8]) -> usize {
    assert!(canary.len() <= CANARY.len());
    CANARY_LEN.store(0, Ordering::SeqCst);
    for (slot, b) in CANARY.iter().zip(canary) {
        slot.store(*b, Ordering::SeqCst);
    }
    CANARY_LEN.store(canary.len(), Ordering::SeqCst);
    CANARY_HITS.swap(0, Ordering::SeqCst)
}

/// Freed blocks that held the canary since the last [`watch_canary`].
pub fn canary_hits() -> usize {
    CANARY_HITS.load(Ordering::SeqCst)
}

// ---------------------------------------------------------------------------
// Deterministic randomness.

/// A seeded generator (fastrand's wyrand: the same sequence for a seed on
/// every machine, so a failing seed replays).
#[derive(Clone)]
pub struct Rng(fastrand::Rng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(fastrand::Rng::with_seed(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.u64(..)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        self.0.usize(..n.max(1))
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

// ---------------------------------------------------------------------------
// Mutations.

const INTERESTING_U32: [u32; 10] = [
    0,
    1,
    2,
    0x7F,
    0xFF,
    0x100,
    0xFFFF,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
];

/// Applies one random change to `data`. `dict` holds tokens the format
/// cares about; `others` are inputs to splice from.
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, dict: &[&[u8]], others: &[Vec<u8>]) {
    let len = data.len();
    match rng.below(14) {
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = [0, 0xFF, 0x7F, 0x80, b'"', b'\\', b'\n', b',', b'{', b'}'][rng.below(10)];
        }
        2 => {
            let i = rng.below(len + 1);
            data.insert(i, rng.next_u64() as u8);
        }
        3 if len > 0 => {
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(64));
            data.drain(i..i + n);
        }
        4 if len > 0 => {
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(64));
            let piece = data[i..i + n].to_vec();
            let at = rng.below(data.len() + 1);
            data.splice(at..at, piece);
        }
        5 if !dict.is_empty() => {
            let token = dict[rng.below(dict.len())];
            let i = rng.below(len + 1);
            data.splice(i..i, token.iter().copied());
        }
        6 if !dict.is_empty() && len > 0 => {
            // Replace a run with a token (keeps the length roughly the same).
            let token = dict[rng.below(dict.len())];
            let i = rng.below(len);
            let end = (i + token.len()).min(len);
            data.splice(i..end, token.iter().copied());
        }
        7 if len >= 4 => {
            // A length field: an interesting 32-bit value, either byte order.
            let i = rng.below(len - 3);
            let v = INTERESTING_U32[rng.below(INTERESTING_U32.len())];
            let bytes = if rng.chance(2) {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            data[i..i + 4].copy_from_slice(&bytes);
        }
        8 if len > 0 => data.truncate(rng.below(len)),
        9 if !others.is_empty() => {
            // Splice: our head, another input's tail.
            let other = &others[rng.below(others.len())];
            if !other.is_empty() {
                let cut = rng.below(len + 1);
                let from = rng.below(other.len());
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
        }
        10 if len > 0 => {
            // Repeat a piece many times: long lines, deep nesting, big counts.
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(16));
            let piece = data[i..i + n].to_vec();
            let times = 1 + rng.below(2000);
            let at = rng.below(len + 1);
            let mut grown = Vec::with_capacity(data.len() + piece.len() * times);
            grown.extend_from_slice(&data[..at]);
            for _ in 0..times {
                grown.extend_from_slice(&piece);
            }
            grown.extend_from_slice(&data[at..]);
            *data = grown;
        }
        11 if len > 0 => {
            // An ASCII digit run: numbers, versions, ports.
            let i = rng.below(len);
            let digits = [
                "0",
                "-1",
                "4294967296",
                "18446744073709551616",
                "1e999",
                "007",
            ];
            let d = digits[rng.below(digits.len())].as_bytes();
            data.splice(i..(i + 1).min(len), d.iter().copied());
        }
        12 if len > 0 => {
            // Invalid UTF-8 or a multi-byte character cut in half.
            let i = rng.below(len + 1);
            let bad: &[u8] = [
                &[0xC3][..],
                &[0xE2, 0x82],
                &[0xF0, 0x9F, 0x98],
                &[0xED, 0xA0, 0x80],
            ][rng.below(4)];
            data.splice(i..i, bad.iter().copied());
        }
        _ => {
            let i = rng.below(len + 1);
            let n = 1 + rng.below(8);
            for _ in 0..n {
                data.insert(i, rng.next_u64() as u8);
            }
        }
    }
    data.truncate(MAX_INPUT);
}

// ---------------------------------------------------------------------------
// Targets and the loop.

/// Runs one input through a decoder and labels the outcome.
pub type Runner = Box<dyn Fn(&[u8]) -> String>;

/// One decoder under test. `run` must return a short description of the
/// outcome (e.g. "ok" or the error's kind, without numbers); inputs with a
/// new outcome join the corpus. It may panic to report a broken property.
pub struct Target {
    pub name: &'static str,
    pub seeds: Vec<Vec<u8>>,
    pub dict: Vec<&'static [u8]>,
    pub run: Runner,
}

#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub execs: u64,
    pub corpus: usize,
    pub outcomes: usize,
    pub max_alloc: usize,
    pub max_alloc_input: usize,
    pub slowest: Duration,
    pub largest_input: usize,
}

/// What the watchdog needs: the target, the input, when it started.
static CURRENT_START_MS: AtomicU64 = AtomicU64::new(0);
static CURRENT: Mutex<Option<(&'static str, Vec<u8>)>> = Mutex::new(None);
static WATCHDOG_ON: AtomicBool = AtomicBool::new(false);

fn epoch() -> &'static Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(Instant::now)
}

/// Where failing inputs are written.
pub fn artifacts_dir() -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    base.join("fuzz-artifacts")
}

fn save(name: &str, what: &str, input: &[u8]) -> PathBuf {
    let dir = artifacts_dir();
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{name}-{what}.bin"));
    let _ = std::fs::write(&path, input);
    path
}

fn start_watchdog() {
    if WATCHDOG_ON.swap(true, Ordering::SeqCst) {
        return;
    }
    std::thread::spawn(|| loop {
        std::thread::sleep(Duration::from_millis(500));
        let started = CURRENT_START_MS.load(Ordering::SeqCst);
        if started == 0 {
            continue;
        }
        let now = epoch().elapsed().as_millis() as u64;
        if now.saturating_sub(started) > WATCHDOG.as_millis() as u64 {
            if let Ok(guard) = CURRENT.try_lock() {
                if let Some((name, input)) = guard.as_ref() {
                    let path = save(name, "hang", input);
                    eprintln!(
                        "fuzz {name}: an execution ran over {WATCHDOG:?}: a hang; input saved to {}",
                        path.display()
                    );
                }
            }
            std::process::abort();
        }
    });
}

/// Runs `target` for `budget` (or `max_execs`), from `seed`. Panics with the
/// saved input's path on the first broken property.
pub fn fuzz(target: &Target, seed: u64, budget: Duration, max_execs: u64) -> Stats {
    start_watchdog();
    let mut rng = Rng::new(seed ^ fxhash(target.name));
    let mut corpus: Vec<Vec<u8>> = target.seeds.clone();
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let mut seen: HashSet<String> = HashSet::new();
    let mut stats = Stats::default();
    let started = Instant::now();
    // The seeds run first, unchanged.
    let mut queue: Vec<Vec<u8>> = corpus.clone();
    loop {
        let input = if let Some(seed_input) = queue.pop() {
            seed_input
        } else {
            if started.elapsed() >= budget || stats.execs >= max_execs {
                break;
            }
            let mut input = corpus[rng.below(corpus.len())].clone();
            let rounds = 1 + rng.below(6);
            for _ in 0..rounds {
                mutate(&mut rng, &mut input, &target.dict, &corpus);
            }
            input
        };
        let (outcome, alloc, took) = execute(target, &input);
        stats.execs += 1;
        stats.largest_input = stats.largest_input.max(input.len());
        stats.slowest = stats.slowest.max(took);
        if alloc > stats.max_alloc {
            stats.max_alloc = alloc;
            stats.max_alloc_input = input.len();
        }
        if alloc > alloc_bound(input.len()) {
            let path = save(target.name, "alloc", &input);
            panic!(
                "fuzz {}: one execution allocated {alloc} bytes on a {}-byte input, over the bound of {} (input saved to {})",
                target.name,
                input.len(),
                alloc_bound(input.len()),
                path.display()
            );
        }
        if took > HANG_LIMIT {
            let path = save(target.name, "slow", &input);
            panic!(
                "fuzz {}: one execution took {took:?} on a {}-byte input, over {HANG_LIMIT:?} (input saved to {})",
                target.name,
                input.len(),
                path.display()
            );
        }
        if seen.insert(outcome) && corpus.len() < 4096 {
            corpus.push(input);
        }
    }
    stats.corpus = corpus.len();
    stats.outcomes = seen.len();
    stats
}

fn execute(target: &Target, input: &[u8]) -> (String, usize, Duration) {
    if let Ok(mut guard) = CURRENT.lock() {
        *guard = Some((target.name, input.to_vec()));
    }
    let base = reset_peak();
    CURRENT_START_MS.store(
        epoch().elapsed().as_millis().max(1) as u64,
        Ordering::SeqCst,
    );
    let t = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    let took = t.elapsed();
    CURRENT_START_MS.store(0, Ordering::SeqCst);
    let alloc = peak_bytes().saturating_sub(base);
    match result {
        Ok(outcome) => (outcome, alloc, took),
        Err(panic) => {
            let path = save(target.name, "panic", input);
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            panic!(
                "fuzz {}: panic on a {}-byte input ({msg}); input saved to {}",
                target.name,
                input.len(),
                path.display()
            );
        }
    }
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// An outcome label from an error message: its words without numbers or
/// quoted parts, so "line 3" and "line 4" are one outcome.
pub fn outcome_of(message: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in message.chars().take(120) {
        match c {
            '\'' | '"' | '`' => quoted = !quoted,
            c if quoted || c.is_ascii_digit() => {}
            c => out.push(c),
        }
    }
    out
}
