//! The agent under load (issue 17): CLIENTS threads (default 64), each
//! making REVEALS reveals (default 500) through the real Unix socket, one
//! connection per request as the CLI makes them, against an agent serving a
//! vault of 10,000 credentials. Prints the throughput, the median and 99th
//! percentile latency, and checks that every reveal has its audit entry and
//! the chain verifies. Not criterion: one run is 32,000 requests, and the
//! figure wanted is a rate.
//!
//! `cargo bench -p coffer-core --bench agent_load` (COFFER_LOAD_CLIENTS,
//! COFFER_LOAD_REVEALS, COFFER_LOAD_CREDENTIALS change the shape).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use coffer_core::agent::client::{Client, Mode};
use coffer_core::agent::server::{self, Host, Listener, Options};
use coffer_core::agent::{self, Reply, Request};
use coffer_core::audit::{Action, Query};
use coffer_core::{CreateOptions, Draft, KdfParams, Kind, SecretValue, Vault};

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let clients = knob("COFFER_LOAD_CLIENTS", 64);
    let reveals = knob("COFFER_LOAD_REVEALS", 500);
    let size = knob("COFFER_LOAD_CREDENTIALS", 10_000);
    let dir = tempfile::TempDir::new().expect("tempdir");
    let runtime = dir.path().join("runtime");
    std::fs::create_dir(&runtime).expect("runtime");
    // The agent's socket goes under XDG_RUNTIME_DIR; set before any thread runs.
    std::env::set_var("XDG_RUNTIME_DIR", &runtime);
    let path = dir.path().join("vault.sqlite");
    let pw = SecretValue::from("load bench passphrase");
    let mut vault = Vault::create(
        &path,
        &CreateOptions {
            sealer: None,
            passphrase: Some(&pw),
            kdf: KdfParams::MIN,
        },
        Utc::now(),
    )
    .expect("create");
    let drafts = (0..size)
        .map(|i| {
            let mut d = Draft::new(format!("svc/{i}"), Kind::ApiKey);
            d.values
                .insert("key".into(), format!("value-{i:024}").into());
            d
        })
        .collect();
    vault.add_many(drafts, Utc::now()).expect("add");
    let before = vault
        .audit_entries(&Query {
            action: Some(Action::Reveal),
            ..Query::default()
        })
        .expect("entries")
        .len();

    let listener = Listener::bind(&agent::socket_for(&path).expect("socket")).expect("bind");
    let stop = Arc::new(AtomicBool::new(false));
    let serving = {
        let (stop, path) = (Arc::clone(&stop), path.clone());
        std::thread::spawn(move || {
            let options = Options {
                idle_lock: None,
                // Never locked during the run: nothing to unlock with.
                host: Host::Cli {
                    unlock: Box::new(|_| Err(coffer_core::Error::Locked)),
                },
                lock_now: Arc::new(AtomicBool::new(false)),
                gate: Arc::new(coffer_core::agent::approval::Gate::new(None)),
            };
            let session = Arc::new(std::sync::Mutex::new(Some(vault)));
            server::serve(listener, Arc::clone(&session), &path, options, stop)?;
            let taken = session.lock().map(|mut v| v.take());
            match taken {
                Ok(Some(v)) => v.close(),
                _ => Ok(()),
            }
        })
    };
    let client = Client::find(&path, Mode::Required)
        .expect("the agent")
        .expect("an agent serves the vault");

    // One client first (each reveal waits for its own commit: the serial
    // floor), then all of them (their entries share commits).
    // The agent runs in this process: its resident memory idle (vault
    // unlocked, serving) and after the load (the client threads have ended).
    let idle = resident();
    let (serial, _, _) = load(&client, 1, reveals, size);
    let (rate, median, p99) = load(&client, clients, reveals, size);
    let total = clients * reveals;
    let after = resident();

    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    serving.join().expect("agent").expect("serve");
    let mut vault = Vault::open(&path).expect("open");
    vault
        .unlock_with_passphrase(&pw, Utc::now())
        .expect("unlock");
    let entries = vault
        .audit_entries(&Query {
            action: Some(Action::Reveal),
            ..Query::default()
        })
        .expect("entries")
        .len()
        - before
        - reveals;
    let verified = vault.verify_audit().expect("verify");
    println!(
        "agent load: {clients} clients x {reveals} reveals over {size} credentials: {rate:.0} reveals/s \
         ({:.1}x one client's {serial:.0}/s); latency median {:.2} ms, p99 {:.2} ms; \
         {entries} reveal entries for {total} reveals; chain {}",
        rate / serial,
        median.as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0,
        match &verified {
            Ok(v) => format!("verifies ({} entries)", v.entries),
            Err(b) => format!("BROKEN: {b:?}"),
        }
    );
    println!("agent memory (this process): idle {idle}; after the load {after}");
    assert_eq!(entries, total, "every reveal has its entry");
    assert!(verified.is_ok());
}

/// "VmRSS 16.8 MiB, VmHWM 17.0 MiB" of this process.
fn resident() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse::<f64>().ok())
            .map(|kb| format!("{} {:.1} MiB", key.trim_end_matches(':'), kb / 1024.0))
            .unwrap_or_default()
    };
    format!("{}, {}", mib("VmRSS:"), mib("VmHWM:"))
}

/// `clients` threads making `reveals` reveals each: (reveals per second,
/// median latency, 99th percentile).
fn load(client: &Client, clients: usize, reveals: usize, size: usize) -> (f64, Duration, Duration) {
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|c| {
            let client = client.clone();
            std::thread::spawn(move || {
                let mut latencies = Vec::with_capacity(reveals);
                for i in 0..reveals {
                    let name = format!("svc/{}", (c * 7919 + i * 104_729) % size);
                    let t = Instant::now();
                    let reply = client
                        .call(&Request::Reveal { name, fields: None })
                        .expect("reveal");
                    latencies.push(t.elapsed());
                    assert!(matches!(reply, Reply::Revealed { .. }), "{reply:?}");
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("client"))
        .collect();
    let elapsed = started.elapsed();
    latencies.sort();
    let total = latencies.len();
    let pct = |p: f64| latencies[((total as f64 * p) as usize).min(total - 1)];
    (total as f64 / elapsed.as_secs_f64(), pct(0.5), pct(0.99))
}
