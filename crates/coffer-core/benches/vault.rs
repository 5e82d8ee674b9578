//! Core benchmarks (issue 8): create and open + unlock (keyring and
//! passphrase); insert, import, get and reveal; search, find and list over
//! 10k and 100k credentials; audit append and verify (100k, 1M); rekey of
//! 10k. The keyring rows need a running Secret Service (scripts/bench.sh
//! starts one); without it they are skipped. Figures: docs/BENCHMARKS.md.
//!
//! `cargo bench -p coffer-core --bench vault -- <filter>` runs a subset.

use std::hint::black_box;
use std::path::Path;

use chrono::Utc;
use coffer_core::audit::{Action, Event};
use coffer_core::search::Find;
use coffer_core::transfer::{self, Format, Overrides, ParseOptions};
use coffer_core::{
    CreateOptions, Draft, KdfParams, Kind, Patch, Sealer, SecretService, SecretValue, Vault,
};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion};
use tempfile::TempDir;

const PASSPHRASE: &str = "bench passphrase";

/// Credential `i` of the synthetic data set (as in bench/gen.py: cloud
/// credentials with tags, notes and plain fields).
fn draft(i: usize) -> Draft {
    let envs = ["dev", "staging", "prod"];
    let team = i % 50;
    let mut d = match (i / 3) % 3 {
        0 => {
            let mut d = Draft::new(
                format!("aws/{}/team-{team}/svc-{i}", envs[i % 3]),
                Kind::AwsAccessKey,
            );
            d.fields
                .insert("access_key_id".into(), format!("AKIA{i:016}"));
            d.fields.insert("region".into(), "eu-west-1".into());
            d.values
                .insert("secret_access_key".into(), format!("secret-{i:032}").into());
            d
        }
        1 => {
            let mut d = Draft::new(
                format!("db/{}/team-{team}/db-{i}", envs[i % 3]),
                Kind::DbPassword,
            );
            d.fields.insert("host".into(), format!("db-{i}.internal"));
            d.fields.insert("user".into(), "app".into());
            d.values
                .insert("password".into(), format!("pw-{i:024}").into());
            d
        }
        _ => {
            let mut d = Draft::new(
                format!("api/{}/team-{team}/key-{i}", envs[i % 3]),
                Kind::ApiKey,
            );
            d.fields.insert("key_id".into(), format!("kid-{i}"));
            d.values
                .insert("key".into(), format!("sk_live_{i:032}").into());
            d
        }
    };
    d.env = Some(envs[i % 3].into());
    d.tags = vec![format!("team-{team}"), "bench".into()];
    d.notes = Some(format!("owner: team {team} / ticket OPS-{i}"));
    d
}

/// The same credentials as Coffer's JSON import format.
fn json_file(path: &Path, range: std::ops::Range<usize>) {
    let items: Vec<serde_json::Value> = range
        .map(|i| {
            let d = draft(i);
            let secrets: serde_json::Map<String, serde_json::Value> = d
                .values
                .iter()
                .map(|(k, v)| (k.clone(), v.expose_secret().into()))
                .collect();
            serde_json::json!({
                "name": d.name, "kind": d.kind.as_str(), "env": d.env, "tags": d.tags,
                "notes": d.notes, "fields": d.fields, "secrets": secrets,
            })
        })
        .collect();
    std::fs::write(path, serde_json::to_vec(&items).expect("json")).expect("write");
}

fn create(path: &Path, sealer: Option<&SecretService>, passphrase: bool, kdf: KdfParams) -> Vault {
    let pw = SecretValue::from(PASSPHRASE);
    Vault::create(
        path,
        &CreateOptions {
            sealer: sealer.map(|s| s as &dyn Sealer),
            passphrase: passphrase.then_some(&pw),
            kdf,
        },
        Utc::now(),
    )
    .expect("create")
}

fn filled(dir: &TempDir, label: &str, n: usize) -> Vault {
    let path = dir.path().join(format!("{label}-{n}.sqlite"));
    let mut v = create(&path, None, true, KdfParams::DEFAULT);
    for start in (0..n).step_by(50_000) {
        let batch = (start..n.min(start + 50_000)).map(draft).collect();
        v.add_many(batch, Utc::now()).expect("fill");
    }
    v
}

/// A second handle on the same file, unlocked: its catalog is empty, as in
/// a new process (the passphrase unlock is outside the timed part).
fn reopen(path: &Path) -> Vault {
    let mut v = Vault::open(path).expect("open");
    v.unlock_with_passphrase(&SecretValue::from(PASSPHRASE), Utc::now())
        .expect("unlock");
    v.count().expect("flush the unlock event");
    v
}

/// The app's first page after an unlock: the catalog read (every row
/// decrypted and parsed). A first search scans the rows and keeps nothing,
/// so it does not measure this.
fn catalog_read(g: &mut BenchmarkGroup<'_, WallTime>, path: &Path) {
    g.bench_function(
        "find '', first 100-item page after unlock (the catalog read)",
        |b| {
            b.iter_batched(
                || reopen(path),
                |v| v.find(black_box(&page("")), Utc::now()).expect("find"),
                BatchSize::PerIteration,
            )
        },
    );
    // The same first page where the app saved its catalog beside the vault
    // (the file is removed after, so no other row reads it).
    let saver = reopen(path);
    saver.find(&page(""), Utc::now()).expect("find");
    let file = saver.catalog_to_save().expect("save").expect("a catalog");
    file.write().expect("write the catalog");
    g.bench_function(
        "find '', first 100-item page after unlock (the catalog kept beside the vault)",
        |b| {
            b.iter_batched(
                || reopen(path),
                |v| v.find(black_box(&page("")), Utc::now()).expect("find"),
                BatchSize::PerIteration,
            )
        },
    );
    let mut kept = path.as_os_str().to_owned();
    kept.push(".catalog");
    std::fs::remove_file(kept).expect("remove the catalog");
}

fn page(query: &str) -> Find {
    Find {
        query: query.into(),
        limit: 100,
        ..Find::default()
    }
}

/// The list's first page as the app asks for it: with the folders one
/// level down (the folder bar).
fn with_folders(find: Find) -> Find {
    Find {
        folders: true,
        ..find
    }
}

fn unlock(c: &mut Criterion, keyring: Option<&SecretService>) {
    let dir = TempDir::new().expect("tempdir");
    let mut g = c.benchmark_group("vault");
    g.sample_size(10);
    g.bench_function("create (passphrase slot, Argon2id 64 MiB t=3 p=4)", |b| {
        b.iter_batched(
            || TempDir::new().expect("tempdir"),
            |d| create(&d.path().join("v.sqlite"), None, true, KdfParams::DEFAULT),
            BatchSize::PerIteration,
        )
    });
    let path = dir.path().join("pw.sqlite");
    drop(create(&path, None, true, KdfParams::DEFAULT));
    let pw = SecretValue::from(PASSPHRASE);
    g.bench_function(
        "open + unlock via passphrase (Argon2id 64 MiB t=3 p=4)",
        |b| {
            b.iter(|| {
                let mut v = Vault::open(&path).expect("open");
                v.unlock_with_passphrase(&pw, Utc::now()).expect("unlock");
                v
            })
        },
    );
    if let Some(service) = keyring {
        g.bench_function("create (keyring slot)", |b| {
            b.iter_batched(
                || TempDir::new().expect("tempdir"),
                |d| {
                    let v = create(
                        &d.path().join("v.sqlite"),
                        Some(service),
                        false,
                        KdfParams::DEFAULT,
                    );
                    service.remove(&v.vault_id()).expect("cleanup");
                },
                BatchSize::PerIteration,
            )
        });
        let path = dir.path().join("kr.sqlite");
        let v = create(&path, Some(service), false, KdfParams::DEFAULT);
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
}

fn credentials_10k(c: &mut Criterion) {
    let dir = TempDir::new().expect("tempdir");
    let mut g = c.benchmark_group("credentials-10k");
    // Writes go to their own vault so the read benchmarks see exactly 10k.
    let mut scratch = filled(&dir, "scratch", 10_000);
    let v10k = filled(&dir, "read", 10_000);
    let path10k = dir.path().join("read-10000.sqlite");
    let probe = draft(9_017).name;
    let mut i = 1_000_000;
    g.bench_function("add one (one transaction each)", |b| {
        b.iter(|| {
            i += 1;
            scratch.add(draft(i), Utc::now()).expect("add")
        })
    });
    // One credential edited 500 times: its whole history against the
    // latest ten versions the app's pane lists.
    let edited = draft(2_500_000);
    let edited_name = edited.name.clone();
    scratch.add(edited, Utc::now()).expect("add");
    for n in 0..500 {
        let patch = Patch {
            notes: Some(Some(format!("edit {n}"))),
            ..Patch::default()
        };
        scratch
            .update(&edited_name, &patch, Utc::now())
            .expect("edit");
    }
    g.bench_function("history of a credential with 501 versions", |b| {
        b.iter(|| scratch.history(black_box(&edited_name)).expect("history"))
    });
    g.bench_function("its latest 10 versions (the app's pane)", |b| {
        b.iter(|| {
            scratch
                .recent_history(black_box(&edited_name), Some(10))
                .expect("recent")
        })
    });
    g.bench_function("reveal by name (audited: one write transaction)", |b| {
        b.iter(|| {
            v10k.reveal(black_box(&probe), None, Utc::now())
                .expect("reveal")
        })
    });
    g.bench_function("get metadata by name (unaudited read)", |b| {
        b.iter(|| v10k.get(black_box(&probe)).expect("get"))
    });
    g.bench_function("search 'prod team-17' (catalog warm)", |b| {
        b.iter(|| v10k.search(black_box("prod team-17")).expect("search"))
    });
    g.bench_function("find 'prod team-1', 100-item page (catalog warm)", |b| {
        b.iter(|| {
            v10k.find(black_box(&page("prod team-1")), Utc::now())
                .expect("find")
        })
    });
    g.bench_function("find '', first 100-item page (catalog warm)", |b| {
        b.iter(|| v10k.find(black_box(&page("")), Utc::now()).expect("find"))
    });
    g.bench_function(
        "find '', first 100-item page with the folders below (catalog warm)",
        |b| {
            b.iter(|| {
                v10k.find(black_box(&with_folders(page(""))), Utc::now())
                    .expect("find")
            })
        },
    );
    g.bench_function("list (catalog warm)", |b| {
        b.iter(|| v10k.list().expect("list"))
    });
    g.sample_size(20);
    g.bench_function(
        "audit verify (the trail, the records and every sealed value)",
        |b| b.iter(|| v10k.verify_audit().expect("db").expect("intact")),
    );
    g.bench_function("search 'prod team-17', first query after unlock", |b| {
        b.iter_batched(
            || reopen(&path10k),
            |v| v.search(black_box("prod team-17")).expect("search"),
            BatchSize::PerIteration,
        )
    });
    catalog_read(&mut g, &path10k);
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
    g.sample_size(10);
    g.bench_function("add_many 10k in one transaction (empty vault)", |b| {
        b.iter_batched(
            || {
                let d = TempDir::new().expect("tempdir");
                let v = create(&d.path().join("v.sqlite"), None, true, KdfParams::MIN);
                (d, v, (0..10_000).map(draft).collect::<Vec<_>>())
            },
            |(d, mut v, batch)| {
                v.add_many(batch, Utc::now()).expect("batch");
                (d, v)
            },
            BatchSize::PerIteration,
        )
    });
    let file = dir.path().join("import-10k.json");
    json_file(&file, 0..10_000);
    let options = ParseOptions {
        format: Format::Json,
        dotenv_mode: Default::default(),
        name: None,
        prefix: None,
    };
    g.bench_function(
        "import 10k from Coffer JSON: read + parse + one transaction (empty vault)",
        |b| {
            b.iter_batched(
                || {
                    let d = TempDir::new().expect("tempdir");
                    let v = create(&d.path().join("v.sqlite"), None, true, KdfParams::MIN);
                    (d, v)
                },
                |(d, v)| {
                    let batch = transfer::read_import(&file, &options, &Overrides::default())
                        .expect("read");
                    let report = v.import(&batch, None, false, Utc::now()).expect("import");
                    assert!(report.written);
                    (d, v)
                },
                BatchSize::PerIteration,
            )
        },
    );
    g.finish();
    drop(v10k);

    let mut g = c.benchmark_group("rekey");
    g.sample_size(10);
    // A passphrase slot at the minimum cost, so the figure is the
    // re-encryption of 10k credentials and the audit trail, not Argon2id.
    let path = dir.path().join("rekey.sqlite");
    let mut v = create(&path, None, true, KdfParams::MIN);
    v.add_many((0..10_000).map(draft).collect(), Utc::now())
        .expect("fill");
    let pw = SecretValue::from(PASSPHRASE);
    g.bench_function(
        "rekey 10k credentials (passphrase slot at Argon2id m=19 MiB t=2 p=1)",
        |b| b.iter(|| v.rekey(None, Some(&pw), Utc::now()).expect("rekey")),
    );
    g.finish();
}

fn audit(c: &mut Criterion) {
    let mut g = c.benchmark_group("audit");
    let dir = TempDir::new().expect("tempdir");
    let trail = create(&dir.path().join("audit.sqlite"), None, true, KdfParams::MIN);
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
}

fn credentials_100k(c: &mut Criterion) {
    let dir = TempDir::new().expect("tempdir");
    let mut g = c.benchmark_group("credentials-100k");
    let mut v100k = filled(&dir, "read", 100_000);
    let path = dir.path().join("read-100000.sqlite");
    v100k.list().expect("warm the catalog");
    g.bench_function("search 'prod team-17' (catalog warm)", |b| {
        b.iter(|| v100k.search(black_box("prod team-17")).expect("search"))
    });
    let one = draft(47_111).name;
    let leaf = one.rsplit('/').next().unwrap_or_default().to_owned();
    g.bench_function("search one name's last part (catalog warm)", |b| {
        b.iter(|| v100k.search(black_box(&leaf)).expect("search"))
    });
    g.bench_function("find 'prod team-1', 100-item page (catalog warm)", |b| {
        b.iter(|| {
            v100k
                .find(black_box(&page("prod team-1")), Utc::now())
                .expect("find")
        })
    });
    g.bench_function("find '', first 100-item page (catalog warm)", |b| {
        b.iter(|| v100k.find(black_box(&page("")), Utc::now()).expect("find"))
    });
    g.bench_function(
        "find '', first 100-item page with the folders below (catalog warm)",
        |b| {
            b.iter(|| {
                v100k
                    .find(black_box(&with_folders(page(""))), Utc::now())
                    .expect("find")
            })
        },
    );
    g.bench_function("find 'p', 100-item page (catalog warm)", |b| {
        b.iter(|| v100k.find(black_box(&page("p")), Utc::now()).expect("find"))
    });
    g.sample_size(10);
    g.bench_function("list (catalog warm)", |b| {
        b.iter(|| v100k.list().expect("list"))
    });
    let mut n = 0;
    g.bench_function("add one, then find 'prod team-1' (catalog refresh)", |b| {
        b.iter(|| {
            n += 1;
            v100k.add(draft(2_000_000 + n), Utc::now()).expect("add");
            v100k.find(&page("prod team-1"), Utc::now()).expect("find")
        })
    });
    g.bench_function("search 'prod team-17', first query after unlock", |b| {
        b.iter_batched(
            || reopen(&path),
            |v| v.search(black_box("prod team-17")).expect("search"),
            BatchSize::PerIteration,
        )
    });
    catalog_read(&mut g, &path);
    g.finish();
}

fn bench(c: &mut Criterion) {
    let keyring = SecretService::connect().ok();
    if keyring.is_none() {
        eprintln!("note: no Secret Service; the keyring rows are skipped (run scripts/bench.sh)");
    }
    unlock(c, keyring.as_ref());
    credentials_10k(c);
    audit(c);
    credentials_100k(c);
}

criterion_group!(benches, bench);
criterion_main!(benches);
