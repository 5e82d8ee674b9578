//! Crash consistency. A stream of CLI writes (add, edit, rm, a manual
//! rotation with a generated value, sync pulls from a real OpenBao when the
//! test run has one) is killed with SIGKILL at random moments. After every
//! kill the vault is opened in this process: every acknowledged write is
//! there, the write in flight is either wholly there or wholly absent, each
//! credential decrypts and has its whole history, the audit trail verifies
//! and SQLite's integrity and foreign-key checks pass; `coffer audit verify`
//! runs on the CLI every 25 kills and at the end.
//!
//! Then two power cuts: the WAL cut at every frame boundary (and inside
//! frames) after a series of writes, each prefix opening to exactly the
//! state after the writes it holds whole; and the files copied while a
//! writer is frozen (SIGSTOP) at random points of its write, each copy
//! opening to the state before or after that write.
//!
//! Quick mode: 200 kills. `COFFER_RELIABILITY=long` or `COFFER_CRASH_KILLS=5000`.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{self, fast_vault, knob, Rng, Snapshot};
use crate::remotes::{bao, kv_put, unique};
use crate::support::Env;

/// What a credential should hold: its version and value (`None` when a
/// generated value has not been seen yet).
#[derive(Clone, Debug, PartialEq)]
struct Cred {
    version: u64,
    value: Option<String>,
}

/// A rotation begun at `base` and not yet seen finished.
#[derive(Clone, Copy, Debug)]
struct Rotating {
    base: u64,
}

#[derive(Clone, Debug)]
enum Op {
    Add(String, String),
    Edit(String, String),
    Rm(String),
    Rotate(String),
    /// The remote secret was set to this value; then `sync pull`.
    Pull(String, String),
}

impl Op {
    fn kind(&self) -> &'static str {
        match self {
            Op::Add(..) => "add",
            Op::Edit(..) => "edit",
            Op::Rm(..) => "rm",
            Op::Rotate(..) => "rotate",
            Op::Pull(..) => "pull",
        }
    }

    fn name(&self) -> &str {
        match self {
            Op::Add(n, _) | Op::Edit(n, _) | Op::Rm(n) | Op::Rotate(n) | Op::Pull(n, _) => n,
        }
    }
}

struct Stream {
    env: Env,
    model: BTreeMap<String, Cred>,
    rotating: BTreeMap<String, Rotating>,
    /// Credentials synced with OpenBao (changed only by pulls), and the remote prefix.
    synced: Vec<String>,
    bao: Option<(String, String, String)>,
    /// What each synced credential holds on OpenBao now.
    remote: BTreeMap<String, String>,
    next_id: usize,
    /// Mean duration of each kind of write, to aim the kills inside it.
    mean: BTreeMap<&'static str, Duration>,
}

fn spawn(env: &Env, args: &[&str], stdin: &str) -> Child {
    let file = env.passphrase_file.display().to_string();
    let mut all = vec!["--passphrase-file", file.as_str()];
    all.extend_from_slice(args);
    let mut child = env.command(&all).spawn().expect("spawn coffer");
    {
        let mut input = child.stdin.take().expect("stdin");
        let _ = input.write_all(stdin.as_bytes());
    }
    child
}

impl Stream {
    fn new(rng: &mut Rng) -> Stream {
        let env = fast_vault();
        let mut s = Stream {
            env,
            model: BTreeMap::new(),
            rotating: BTreeMap::new(),
            synced: Vec::new(),
            bao: None,
            remote: BTreeMap::new(),
            next_id: 0,
            mean: BTreeMap::new(),
        };
        if let Some((addr, root)) = bao("crash: sync pulls") {
            let prefix = unique("crash");
            s.env
                .run_pw(
                    &["add", "bao-token", "--kind", "vault-token"],
                    &json!({ "token": root }).to_string(),
                )
                .ok();
            s.model.insert(
                "bao-token".into(),
                Cred {
                    version: 1,
                    value: Some(root.clone()),
                },
            );
            s.env
                .run_pw(
                    &[
                        "remote",
                        "add",
                        "vault",
                        "--holds-all",
                        "bao",
                        "--addr",
                        &addr,
                        "--prefix",
                        &prefix,
                        "--auth-credential",
                        "bao-token",
                    ],
                    "",
                )
                .ok();
            for i in 0..2 {
                let name = format!("synced/s{i}");
                let value = rng.value("pushed");
                s.env
                    .run_pw(
                        &["add", &name, "--kind", "api-key"],
                        &json!({ "key": value }).to_string(),
                    )
                    .ok();
                s.model.insert(
                    name.clone(),
                    Cred {
                        version: 1,
                        value: Some(value.clone()),
                    },
                );
                s.remote.insert(name.clone(), value.clone());
                s.synced.push(name);
            }
            s.env.run_pw(&["sync", "push", "bao"], "").ok();
            s.bao = Some((addr, root, prefix));
        }
        s
    }

    fn local_names(&self) -> Vec<String> {
        self.model
            .keys()
            .filter(|n| !self.synced.contains(n) && n.as_str() != "bao-token")
            .cloned()
            .collect()
    }

    fn choose(&mut self, rng: &mut Rng) -> Op {
        let names = self.local_names();
        // A rotation that was cut off is continued before anything else.
        if let Some(name) = self.rotating.keys().next() {
            if rng.chance(2) {
                return Op::Rotate(name.clone());
            }
        }
        let roll = rng.below(100);
        if names.len() < 3 || (roll < 15 && names.len() < 8) {
            self.next_id += 1;
            return Op::Add(format!("app/c{}", self.next_id), rng.value("added"));
        }
        let idle: Vec<&String> = names
            .iter()
            .filter(|n| !self.rotating.contains_key(*n))
            .collect();
        let pick = |rng: &mut Rng| idle[rng.below(idle.len())].clone();
        match roll {
            _ if idle.is_empty() => Op::Rotate(names[rng.below(names.len())].clone()),
            15..=54 => Op::Edit(pick(rng), rng.value("edited")),
            55..=74 => Op::Rotate(pick(rng)),
            75..=79 if names.len() > 4 => Op::Rm(pick(rng)),
            _ if !self.synced.is_empty() => {
                let name = self.synced[rng.below(self.synced.len())].clone();
                Op::Pull(name, rng.value("pulled"))
            }
            _ => Op::Edit(pick(rng), rng.value("edited")),
        }
    }

    fn start(&mut self, op: &Op) -> Child {
        match op {
            Op::Add(name, value) => spawn(
                &self.env,
                &["add", name, "--kind", "api-key"],
                &json!({ "key": value }).to_string(),
            ),
            Op::Edit(name, value) => spawn(
                &self.env,
                &["edit", name],
                &json!({ "key": value }).to_string(),
            ),
            Op::Rm(name) => spawn(&self.env, &["rm", name, "--yes"], ""),
            Op::Rotate(name) => spawn(
                &self.env,
                &[
                    "rotate",
                    name,
                    "--generate",
                    "--grace",
                    "0",
                    "--confirm-manual-steps",
                ],
                "",
            ),
            Op::Pull(name, value) => {
                self.remote.insert(name.clone(), value.clone());
                let (addr, root, prefix) = self.bao.as_ref().expect("bao");
                kv_put(
                    addr,
                    root,
                    &format!("{prefix}{name}"),
                    json!({ "key": value }),
                );
                spawn(&self.env, &["sync", "pull", "bao"], "")
            }
        }
    }

    /// The state the model expects if `op` took effect.
    fn after(&self, op: &Op) -> Option<Cred> {
        let cur = self.model.get(op.name()).cloned();
        match op {
            Op::Add(_, v) => Some(Cred {
                version: 1,
                value: Some(v.clone()),
            }),
            Op::Edit(_, v) | Op::Pull(_, v) => cur.map(|c| Cred {
                version: c.version + 1,
                value: Some(v.clone()),
            }),
            Op::Rm(_) => None,
            Op::Rotate(n) => {
                let base = self
                    .rotating
                    .get(n)
                    .map(|r| r.base)
                    .or(cur.as_ref().map(|c| c.version))?;
                Some(Cred {
                    version: base + 1,
                    value: None,
                })
            }
        }
    }
}

fn running_rotation(path: &Path, name: &str, vault: &coffer_core::Vault) -> bool {
    let Ok(c) = vault.get(name) else {
        return false;
    };
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.query_row(
        "SELECT COUNT(*) FROM rotations WHERE credential_id = ?1 AND finished_at IS NULL",
        [&c.id.0[..]],
        |r| r.get::<_, i64>(0),
    )
    .expect("rotations")
        > 0
}

fn matches(found: Option<&(u64, String, usize)>, want: Option<&Cred>) -> bool {
    match (found, want) {
        (None, None) => true,
        (Some((v, value, history)), Some(c)) => {
            *v == c.version && *history as u64 == *v && c.value.as_ref().is_none_or(|w| w == value)
        }
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// Exit 0: the write must be there.
    Acked,
    /// Killed: the write is wholly there or wholly absent.
    Killed,
    /// Refused with an error: nothing changed.
    Refused,
}

/// Checks the vault against the model after `op` ended, and brings the
/// model up to date with what is there.
fn check(stream: &mut Stream, op: &Op, ended: Ended, label: &str) {
    let path = stream.env.vault.clone();
    if let Err(e) = harness::sqlite_ok(&path) {
        panic!("{label}: {e}");
    }
    let vault = harness::unlock(&path).unwrap_or_else(|e| panic!("{label}: cannot unlock: {e}"));
    let snap: Snapshot = harness::snapshot(&vault).unwrap_or_else(|e| panic!("{label}: {e}"));
    let before = stream.model.get(op.name()).cloned();
    let after = stream.after(op);
    // A pull brings in every synced credential whose remote value moved,
    // including one an earlier, killed pull did not get to.
    let pulled: Vec<(String, Option<Cred>, Option<Cred>)> = if let Op::Pull(..) = op {
        stream
            .synced
            .iter()
            .map(|n| {
                let cur = stream.model.get(n).cloned();
                let remote = stream.remote.get(n).cloned();
                let after = match (&cur, remote) {
                    (Some(c), Some(r)) if c.value.as_deref() != Some(r.as_str()) => Some(Cred {
                        version: c.version + 1,
                        value: Some(r),
                    }),
                    _ => cur.clone(),
                };
                (n.clone(), cur, after)
            })
            .collect()
    } else {
        Vec::new()
    };
    let in_flight = |n: &str| n == op.name() || pulled.iter().any(|(p, _, _)| p == n);
    for (name, want) in &stream.model {
        if !in_flight(name) {
            assert!(
                matches(snap.get(name), Some(want)),
                "{label}: {name} is {:?}, but {want:?} was acknowledged",
                snap.get(name)
            );
        }
    }
    for name in snap.keys() {
        assert!(
            stream.model.contains_key(name) || name == op.name(),
            "{label}: {name} appeared from nowhere"
        );
    }
    for (name, before, after) in &pulled {
        let found = snap.get(name);
        let ok = match ended {
            Ended::Acked => matches(found, after.as_ref()),
            Ended::Refused => matches(found, before.as_ref()),
            Ended::Killed => matches(found, before.as_ref()) || matches(found, after.as_ref()),
        };
        assert!(
            ok,
            "{label}: {name} is {found:?}; expected {before:?} -> {after:?}"
        );
        if let Some((v, value, _)) = found {
            stream.model.insert(
                name.clone(),
                Cred {
                    version: *v,
                    value: Some(value.clone()),
                },
            );
        }
    }
    if !pulled.is_empty() {
        return;
    }
    let found = snap.get(op.name());
    let rotation_open = matches!(op, Op::Rotate(_)) && running_rotation(&path, op.name(), &vault);
    let ok = match (ended, op) {
        (Ended::Acked, _) => matches(found, after.as_ref()),
        (Ended::Refused, _) => matches(found, before.as_ref()),
        (Ended::Killed, Op::Rotate(_)) => {
            // Cut off: promoted (base + 1) or not yet (base), nothing else.
            let base = after.as_ref().map_or(0, |a| a.version - 1);
            found.is_some_and(|(v, _, h)| (*v == base || *v == base + 1) && *h as u64 == *v)
        }
        (Ended::Killed, _) => matches(found, before.as_ref()) || matches(found, after.as_ref()),
    };
    assert!(
        ok,
        "{label}: {} is {found:?}; expected {} {before:?} -> {after:?}",
        op.name(),
        match ended {
            Ended::Acked => "(acknowledged)",
            Ended::Killed => "(killed in flight)",
            Ended::Refused => "(refused)",
        }
    );
    // The model follows the vault for the one credential in question.
    let name = op.name().to_owned();
    if let Op::Rotate(_) = op {
        if rotation_open {
            let base = stream
                .rotating
                .get(&name)
                .map(|r| r.base)
                .or(before.as_ref().map(|c| c.version))
                .expect("base");
            stream.rotating.insert(name.clone(), Rotating { base });
        } else {
            stream.rotating.remove(&name);
        }
    }
    match found {
        None => {
            stream.model.remove(&name);
        }
        Some((v, value, _)) => {
            stream.model.insert(
                name,
                Cred {
                    version: *v,
                    value: Some(value.clone()),
                },
            );
        }
    }
}

#[test]
fn kill_9_at_random_points_loses_no_acknowledged_write() {
    let target = knob("COFFER_CRASH_KILLS", 200, 5000);
    let mut rng = Rng::new(harness::seed("crash"));
    let mut stream = Stream::new(&mut rng);
    let started = Instant::now();
    let (mut kills, mut acked, mut refused, mut ops) = (0u64, 0u64, 0u64, 0u64);
    let mut by_kind: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    while kills < target {
        let op = stream.choose(&mut rng);
        ops += 1;
        let mean = *stream
            .mean
            .get(op.kind())
            .unwrap_or(&Duration::from_millis(250));
        // Aim inside the write most of the time; sometimes let it finish.
        let delay = rng.duration_up_to(mean.mul_f64(1.25));
        let t = Instant::now();
        let mut child = stream.start(&op);
        std::thread::sleep(delay);
        let _ = child.kill();
        let out = child.wait_with_output().expect("wait");
        let took = t.elapsed();
        let killed = out.status.signal() == Some(9);
        let label = format!("op {ops} ({} {})", op.kind(), op.name());
        let entry = by_kind.entry(op.kind()).or_default();
        if killed {
            kills += 1;
            entry.0 += 1;
            check(&mut stream, &op, Ended::Killed, &label);
            if kills % 25 == 0 {
                stream.env.run_pw(&["audit", "verify"], "").ok();
            }
        } else if out.status.success() {
            acked += 1;
            entry.1 += 1;
            let m = stream.mean.entry(op.kind()).or_insert(took);
            *m = (*m * 3 + took) / 4;
            check(&mut stream, &op, Ended::Acked, &label);
        } else {
            // Refused without a kill: nothing may have changed.
            refused += 1;
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(
                !stderr.contains("database is locked") && !stderr.contains("panicked"),
                "{label}: {stderr}"
            );
            check(&mut stream, &op, Ended::Refused, &label);
            eprintln!("{label}: refused: {}", stderr.trim());
        }
    }
    stream.env.run_pw(&["audit", "verify"], "").ok();
    let leftovers: Vec<PathBuf> = std::fs::read_dir(stream.env.vault.parent().expect("dir"))
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.contains(".anchor.") || n.contains(".creating-")
        })
        .collect();
    eprintln!(
        "crash: {kills} kills, {acked} acknowledged writes, {refused} refused, {ops} writes in {:?}; by kind (killed, acknowledged): {by_kind:?}; {} temporary files left by killed processes",
        started.elapsed(),
        leftovers.len()
    );
}

/// WAL frame layout: 32-byte header, then frames of a 24-byte header and a page.
struct Wal {
    page: usize,
    /// Byte offset of the end of each frame, and whether it ends a transaction.
    frames: Vec<(usize, bool)>,
}

fn parse_wal(bytes: &[u8]) -> Wal {
    if bytes.len() < 32 {
        return Wal {
            page: 0,
            frames: Vec::new(),
        };
    }
    let page = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    let mut frames = Vec::new();
    let mut at = 32;
    while at + 24 + page <= bytes.len() {
        let commit =
            u32::from_be_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        at += 24 + page;
        frames.push((at, commit != 0));
    }
    Wal { page, frames }
}

fn commits_in(wal: &Wal, len: usize) -> usize {
    wal.frames
        .iter()
        .filter(|(end, commit)| *end <= len && *commit)
        .count()
}

/// Copies `db`, the first `wal_len` bytes of `wal` and `anchor` into a new
/// directory, as the files a power cut leaves behind.
fn image(dir: &Path, n: usize, db: &[u8], wal: &[u8], anchor: Option<&[u8]>) -> PathBuf {
    let sub = dir.join(format!("img{n}"));
    std::fs::create_dir_all(&sub).expect("mkdir");
    let path = sub.join("test.sqlite");
    std::fs::write(&path, db).expect("db");
    if !wal.is_empty() {
        std::fs::write(sub.join("test.sqlite-wal"), wal).expect("wal");
    }
    if let Some(a) = anchor {
        std::fs::write(sub.join("test.sqlite.anchor"), a).expect("anchor");
    }
    path
}

fn read_opt(p: &Path) -> Option<Vec<u8>> {
    std::fs::read(p).ok()
}

fn side(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// The credentials' versions and values only (what a write changes).
fn states(s: &Snapshot) -> BTreeMap<String, (u64, String)> {
    s.iter()
        .map(|(k, (v, value, _))| (k.clone(), (*v, value.clone())))
        .collect()
}

fn open_image(path: &Path, label: &str) -> BTreeMap<String, (u64, String)> {
    harness::sqlite_ok(path).unwrap_or_else(|e| panic!("{label}: {e}"));
    let vault = harness::unlock(path).unwrap_or_else(|e| panic!("{label}: {e}"));
    states(&harness::snapshot(&vault).unwrap_or_else(|e| panic!("{label}: {e}")))
}

#[test]
fn a_wal_cut_at_any_frame_opens_to_the_writes_it_holds_whole() {
    let mut rng = Rng::new(harness::seed("power cut (WAL prefixes)"));
    let env = fast_vault();
    let states_dir = tempfile::TempDir::new().expect("tempdir");
    // Holding a connection keeps the CLI's close from checkpointing the
    // WAL away: every write stays in it as frames.
    let hold = rusqlite::Connection::open(&env.vault).expect("hold");
    let _: i64 = hold
        .query_row("SELECT COUNT(*) FROM vault", [], |r| r.get(0))
        .expect("read");
    let wal_path = side(&env.vault, "-wal");
    let anchor_path = side(&env.vault, ".anchor");
    let db = std::fs::read(&env.vault).expect("db");
    let mut expected = vec![(0usize, BTreeMap::new(), read_opt(&anchor_path))];
    let writes = knob("COFFER_POWERCUT_WRITES", 10, 40);
    for i in 0..writes {
        let name = format!("p/c{}", i % 4);
        let value = rng.value("v");
        let run = if i < 4 {
            env.run_pw(
                &["add", &name, "--kind", "api-key"],
                &json!({ "key": value }).to_string(),
            )
        } else if i % 5 == 0 {
            env.run_pw(
                &[
                    "rotate",
                    &name,
                    "--generate",
                    "--grace",
                    "0",
                    "--confirm-manual-steps",
                ],
                "",
            )
        } else {
            env.run_pw(&["edit", &name], &json!({ "key": value }).to_string())
        };
        assert_eq!(run.code, 0, "{}", run.stderr);
        let wal = parse_wal(&std::fs::read(&wal_path).expect("wal"));
        let commits = commits_in(&wal, usize::MAX);
        // Read the state without writing to the vault under test: an image.
        let img = image(
            states_dir.path(),
            1000 + i as usize,
            &db,
            &std::fs::read(&wal_path).expect("wal"),
            read_opt(&anchor_path).as_deref(),
        );
        let state = open_image(&img, &format!("after write {i}"));
        expected.push((commits, state, read_opt(&anchor_path)));
    }
    assert_eq!(
        db,
        std::fs::read(&env.vault).expect("db"),
        "no checkpoint ran"
    );
    let wal_bytes = std::fs::read(&wal_path).expect("wal");
    let wal = parse_wal(&wal_bytes);
    assert!(wal.page > 0 && !wal.frames.is_empty());
    let mut cuts: Vec<usize> = vec![0, 32];
    cuts.extend(wal.frames.iter().map(|(end, _)| *end));
    // Torn frames: cut inside some frames' header and page.
    for _ in 0..(wal.frames.len() / 3).max(4) {
        let (end, _) = wal.frames[rng.below(wal.frames.len())];
        let start = end - 24 - wal.page;
        cuts.push(start + 1 + rng.below(24 + wal.page - 1));
    }
    let mut opened = 0;
    for (n, &cut) in cuts.iter().enumerate() {
        let c = commits_in(&wal, cut);
        // The writes wholly inside the prefix, and the one in flight.
        let k = expected
            .iter()
            .rposition(|(commits, _, _)| *commits <= c)
            .expect("k");
        let mut allowed = vec![&expected[k].1];
        if expected[k].0 < c {
            // Inside a write of several transactions (a rotation's steps).
            allowed.push(&expected[k + 1].1);
        }
        // The anchor written after write k; at the end of a write, also the
        // one before it (the cut fell between the commit and the anchor).
        let mut anchors = vec![expected[k].2.clone()];
        if expected[k].0 == c && k > 0 && wal.frames.iter().any(|(end, _)| *end == cut) {
            anchors.push(expected[k - 1].2.clone());
        }
        for (a, anchor) in anchors.iter().enumerate() {
            let label = format!("WAL cut at byte {cut} ({c} commits), anchor {a}");
            let img = image(
                states_dir.path(),
                n * 2 + a,
                &db,
                &wal_bytes[..cut.min(wal_bytes.len())],
                anchor.as_deref(),
            );
            let found = open_image(&img, &label);
            assert!(
                allowed.iter().any(|s| **s == found),
                "{label}: the vault opened to a state no write produced: {found:?}"
            );
            opened += 1;
        }
    }
    drop(hold);
    eprintln!(
        "power cut: {} cut points over {} frames of {writes} writes, {opened} images opened consistently",
        cuts.len(),
        wal.frames.len()
    );
}

#[test]
fn files_copied_while_a_writer_is_frozen_open_to_before_or_after() {
    let mut rng = Rng::new(harness::seed("power cut (frozen writer)"));
    let env = fast_vault();
    let images = tempfile::TempDir::new().expect("tempdir");
    let rounds = knob("COFFER_POWERCUT_FREEZES", 40, 400);
    let mut current: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let mut mean = Duration::from_millis(200);
    let mut mid_write = 0;
    for i in 0..rounds {
        let name = format!("f/c{}", i % 3);
        let value = rng.value("v");
        let exists = current.contains_key(&name);
        let args: Vec<&str> = if exists {
            vec!["edit", &name]
        } else {
            vec!["add", &name, "--kind", "api-key"]
        };
        let mut after = current.clone();
        let version = current.get(&name).map_or(1, |(v, _)| v + 1);
        after.insert(name.clone(), (version, value.clone()));
        let t = Instant::now();
        let child = spawn(&env, &args, &json!({ "key": value }).to_string());
        let pid = rustix::process::Pid::from_child(&child);
        std::thread::sleep(rng.duration_up_to(mean));
        let frozen = rustix::process::kill_process(pid, rustix::process::Signal::STOP).is_ok();
        let img = image(
            images.path(),
            i as usize,
            &std::fs::read(&env.vault).expect("db"),
            &read_opt(&side(&env.vault, "-wal")).unwrap_or_default(),
            read_opt(&side(&env.vault, ".anchor")).as_deref(),
        );
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::CONT);
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let took = t.elapsed();
        mean = (mean * 3 + took) / 4;
        let found = open_image(&img, &format!("copy {i} of write {name}"));
        assert!(
            found == current || found == after,
            "copy {i}: the files opened to {found:?}, neither before ({current:?}) nor after ({after:?})"
        );
        if frozen && found == current {
            mid_write += 1;
        }
        current = after;
    }
    eprintln!("power cut: {rounds} copies of a frozen writer, {mid_write} taken before its commit, all consistent");
}
