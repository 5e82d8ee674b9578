//! Core benchmarks: create, unlock (keyring and passphrase), add, get, and
//! search over 10k and 100k credentials. The keyring rows need a running
//! Secret Service (scripts/bench.sh starts one); without it they are skipped.

use std::hint::black_box;
use std::path::Path;

use chrono::Utc;
use coffer_core::audit::{Action, Event};
use coffer_core::{
    CreateOptions, Draft, KdfParams, Kind, Sealer, SecretService, SecretValue, Vault,
};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use tempfile::TempDir;

const PASSPHRASE: &str = "bench passphrase";

fn draft(i: usize) -> Draft {
    let envs = ["dev", "staging", "prod"];
    let mut d = Draft::new(
        format!("aws/{}/team-{}/svc-{i}", envs[i % 3], i % 50),
        Kind::AwsAccessKey,
    );
    d.fields
        .insert("access_key_id".into(), format!("AKIA{i:016}"));
    d.fields.insert("region".into(), "eu-west-1".into());
    d.values
        .insert("secret_access_key".into(), format!("secret-{i:032}").into());
    d.env = Some(envs[i % 3].into());
    d.tags = vec![format!("team-{}", i % 50), "bench".into()];
    d.notes = Some(format!("owner: team {} / ticket OPS-{i}", i % 50));
    d
}

fn create(path: &Path, sealer: Option<&SecretService>, passphrase: bool) -> Vault {
    let pw = SecretValue::from(PASSPHRASE);
    Vault::create(
        path,
        &CreateOptions {
            sealer: sealer.map(|s| s as &dyn Sealer),
            passphrase: passphrase.then_some(&pw),
            kdf: KdfParams::DEFAULT,
        },
        Utc::now(),
    )
    .expect("create")
}

fn filled(dir: &TempDir, label: &str, n: usize) -> Vault {
    let mut v = create(&dir.path().join(format!("{label}-{n}.sqlite")), None, true);
    v.add_many((0..n).map(draft).collect(), Utc::now())
        .expect("fill");
    v
}

fn bench(c: &mut Criterion) {
    let keyring = SecretService::connect().ok();
    if keyring.is_none() {
        eprintln!("note: no Secret Service; the keyring rows are skipped (run scripts/bench.sh)");
    }
    let dir = TempDir::new().expect("tempdir");

    let mut g = c.benchmark_group("vault");
    g.sample_size(10);
    g.bench_function("create (passphrase slot, Argon2id 64 MiB t=3 p=4)", |b| {
        b.iter_batched(
            || TempDir::new().expect("tempdir"),
            |d| create(&d.path().join("v.sqlite"), None, true),
            BatchSize::PerIteration,
        )
    });
    let path = dir.path().join("pw.sqlite");
    drop(create(&path, None, true));
    let pw = SecretValue::from(PASSPHRASE);
    g.bench_function("open + unlock via passphrase", |b| {
        b.iter(|| {
            let mut v = Vault::open(&path).expect("open");
            v.unlock_with_passphrase(&pw, Utc::now()).expect("unlock");
            v
        })
    });
    if let Some(service) = &keyring {
        g.bench_function("create (keyring slot)", |b| {
            b.iter_batched(
                || TempDir::new().expect("tempdir"),
                |d| {
                    let v = create(&d.path().join("v.sqlite"), Some(service), false);
                    service.remove(&v.vault_id()).expect("cleanup");
                },
                BatchSize::PerIteration,
            )
        });
        let path = dir.path().join("kr.sqlite");
        let v = create(&path, Some(service), false);
        let id = v.vault_id();
        drop(v);
        g.bench_function("open + unlock via keyring", |b| {
            b.iter(|| {
                let mut v = Vault::open(&path).expect("open");
                v.unlock_with_keyring(service, Utc::now()).expect("unlock");
                v
            })
        });
        service.remove(&id).expect("cleanup");
    }
    g.finish();

    let mut g = c.benchmark_group("credentials");
    // Writes go to their own vault so the read benchmarks see exactly 10k.
    let mut scratch = filled(&dir, "scratch", 10_000);
    let v10k = filled(&dir, "read", 10_000);
    let mut i = 10_000;
    g.bench_function("add one (10k+ vault, one transaction each)", |b| {
        b.iter(|| {
            i += 1;
            scratch.add(draft(i), Utc::now()).expect("add")
        })
    });
    g.bench_function("add_many 1k in one transaction", |b| {
        b.iter_batched(
            || {
                let first = i + 1;
                i += 1_000;
                (first..=i).map(draft).collect::<Vec<_>>()
            },
            |batch| scratch.add_many(batch, Utc::now()).expect("batch"),
            BatchSize::PerIteration,
        )
    });
    g.bench_function(
        "reveal by name (audited: one write transaction), 10k vault",
        |b| {
            b.iter(|| {
                v10k.reveal(black_box("aws/prod/team-17/svc-9017"), None, Utc::now())
                    .expect("reveal")
            })
        },
    );
    g.bench_function("get metadata by name (unaudited read), 10k vault", |b| {
        b.iter(|| {
            v10k.get(black_box("aws/prod/team-17/svc-9017"))
                .expect("get")
        })
    });
    g.bench_function("search 'prod team-17', 10k vault", |b| {
        b.iter(|| v10k.search(black_box("prod team-17")).expect("search"))
    });
    g.finish();

    drop(v10k);

    let mut g = c.benchmark_group("audit");
    let dir_a = TempDir::new().expect("tempdir");
    let mut trail = create(&dir_a.path().join("audit.sqlite"), None, true);
    trail.add(draft(1), Utc::now()).expect("add");
    let event = || {
        Event::new(Action::Reveal)
            .details(serde_json::json!({ "fields": ["secret_access_key"], "version": 1 }))
    };
    g.bench_function("append one event (own transaction)", |b| {
        b.iter(|| trail.record_events(&[event()], Utc::now()).expect("append"))
    });
    g.bench_function("append 1k events (one transaction)", |b| {
        let batch: Vec<Event> = (0..1_000).map(|_| event()).collect();
        b.iter(|| trail.record_events(&batch, Utc::now()).expect("append"))
    });
    g.sample_size(10);
    for size in [100_000u64, 1_000_000] {
        let have = trail.verify_audit().expect("db").expect("intact").entries;
        let batch: Vec<Event> = (0..10_000).map(|_| event()).collect();
        for _ in 0..size.saturating_sub(have).div_ceil(10_000) {
            trail.record_events(&batch, Utc::now()).expect("fill");
        }
        let n = trail.verify_audit().expect("db").expect("intact").entries;
        g.bench_function(format!("verify {n} entries"), |b| {
            b.iter(|| trail.verify_audit().expect("db").expect("intact"))
        });
    }
    g.finish();
    drop(trail);

    let mut g = c.benchmark_group("credentials-100k");
    let v100k = filled(&dir, "read", 100_000);
    g.sample_size(10);
    g.bench_function("search 'prod team-17', 100k vault", |b| {
        b.iter(|| v100k.search(black_box("prod team-17")).expect("search"))
    });
    g.bench_function("list, 100k vault", |b| {
        b.iter(|| v100k.list().expect("list"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
