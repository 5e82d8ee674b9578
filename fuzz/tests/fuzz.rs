//! The fuzz targets: every decoder Coffer runs on bytes it did not write
//! itself, or that someone else could have written (import files, backups,
//! the on-disk record and slot formats, the audit anchor and bodies, secret
//! JSON on stdin, remote answers from Vault/OpenBao and AWS, the AWS config
//! files `migrate` reads, templates, scanned files, the agent's frames).
//!
//! `cargo test -p coffer-fuzz --test fuzz` runs each target for
//! `COFFER_FUZZ_SECS` seconds (default 4), from seed `COFFER_FUZZ_SEED`
//! (default: fixed; `random` picks one and prints it). `COFFER_FUZZ_TARGET`
//! runs only the targets whose name contains it. The long mode is
//! `COFFER_FUZZ_SECS=240` (16 targets: about an hour), best with `--release`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use coffer_core::agent;
use coffer_core::crypto::{self, KdfParams};
use coffer_core::fuzz_hooks;
use coffer_core::secret::Key32;
use coffer_core::slot::Slot;
use coffer_core::transfer::{self, DotenvMode, Format, Overrides, ParseOptions};
use coffer_core::{CreateOptions, Draft, Kind, SecretValue, Vault};
use coffer_fuzz::{fuzz, outcome_of, Counting, Target};

#[global_allocator]
static ALLOC: Counting = Counting;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/coffer-cli/tests/fixtures")
}

fn files_in(dir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push(bytes);
            }
        }
    }
    out
}

fn label<T, E: std::fmt::Display>(r: &Result<T, E>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => outcome_of(&e.to_string()),
    }
}

fn split0(input: &[u8]) -> (&[u8], &[u8]) {
    match input.iter().position(|&b| b == 0) {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => (input, &[]),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const JSON_DICT: [&[u8]; 16] = [
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"true",
    b"1e308",
    b"\\u0000",
    b"\\ud800",
    b"\"\":\"\"",
    b"[[[[[[[[",
    b"{\"a\":",
    b"-0",
];

fn import_target() -> Target {
    let mut seeds = files_in(&fixtures().join("transfer"));
    seeds.truncate(64);
    Target {
        name: "import",
        seeds,
        dict: vec![
            b"[default]",
            b"[profile x]",
            b"aws_access_key_id",
            b"=",
            b"export ",
            b"\"",
            b"'",
            b",",
            b"\r\n",
            b"\n",
            b"#",
            b"\\",
            b"{\"items\":",
            b"\"type\":1",
            b"name,kind",
            b"\"login\":",
            b"\xEF\xBB\xBF",
            b"\xFF\xFE",
        ],
        run: Box::new(|input| {
            let mut outcome = String::new();
            let text = match transfer::decode(input) {
                Ok(t) => t,
                Err(e) => return outcome_of(&format!("{e:?}")),
            };
            for format in Format::ALL {
                for mode in [DotenvMode::PerVariable, DotenvMode::One] {
                    let options = ParseOptions {
                        format,
                        dotenv_mode: mode,
                        name: Some("imported".into()),
                        prefix: None,
                    };
                    match transfer::parse(text, &options, "f") {
                        Ok(parsed) => {
                            let prepared = transfer::prepare(parsed, &Overrides::default());
                            outcome.push(if prepared.is_ok() { 'p' } else { 'v' });
                        }
                        Err(_) => outcome.push('e'),
                    }
                    if format != Format::Dotenv {
                        break;
                    }
                }
            }
            outcome
        }),
    }
}

const PW: &str = "fuzzing passphrase";

/// A real vault with history, a policy and several kinds, backed up: the
/// backup's plaintext seeds the payload target, and images sealed with the
/// tiny KDF seed the file target.
fn backup_seeds() -> (Vec<u8>, Vec<Vec<u8>>) {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let now = Utc
        .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
        .single()
        .expect("time");
    let pw = SecretValue::from(PW);
    let path = dir.path().join("v.sqlite");
    let mut vault = Vault::create(
        &path,
        &CreateOptions {
            sealer: None,
            passphrase: Some(&pw),
            kdf: KdfParams::MIN,
        },
        now,
    )
    .expect("vault");
    let mut a = Draft::new("team/api", Kind::ApiKey);
    a.values.insert("key".into(), SecretValue::from("k-1"));
    a.tags = vec!["ci".into()];
    a.env = Some("prod".into());
    vault.add(a, now).expect("add");
    let mut b = Draft::new("db/main", Kind::DbPassword);
    b.values
        .insert("password".into(), SecretValue::from("pw\"\\\u{e9}"));
    b.fields.insert("host".into(), "db.example".into());
    b.fields.insert("user".into(), "app".into());
    vault.add(b, now).expect("add");
    let patch = coffer_core::Patch {
        notes: Some(Some("rotated by hand".into())),
        ..Default::default()
    };
    vault.update("team/api", &patch, now).expect("update");
    let file = dir.path().join("b.cofferbak");
    coffer_core::backup::write(&vault, &file, &pw, KdfParams::MIN, false, now).expect("backup");
    let image = std::fs::read(&file).expect("read");
    let plain = fuzz_hooks::backup_open(&image, &pw).expect("open");
    let images = [7u32, 64, 1 << 20]
        .iter()
        .map(|&chunk| fuzz_hooks::backup_image(&plain, &pw, chunk).expect("image"))
        .chain(std::iter::once(
            fuzz_hooks::backup_image(b"", &pw, 16).expect("image"),
        ))
        .collect();
    (plain.to_vec(), images)
}

fn backup_payload_target(plain: Vec<u8>) -> Target {
    Target {
        name: "backup-payload",
        seeds: vec![plain, br#"{"format":1}"#.to_vec()],
        dict: JSON_DICT
            .iter()
            .copied()
            .chain([
                &b"\"versions\":"[..],
                b"\"credentials\":",
                b"\"version\":0",
                b"\"id\":\"00\"",
                b"\"format\":2",
                b"\"audit\":[]",
            ])
            .collect(),
        run: Box::new(|input| label(&fuzz_hooks::backup_payload(input))),
    }
}

/// The header checksum, recomputed as a careful forger would.
fn fix_backup_header(bytes: &mut [u8]) {
    if bytes.len() >= 89 && &bytes[..8] == b"COFFERBK" {
        let sum = crypto::digest(&[b"coffer/v1/backup-header", &bytes[..57]]);
        bytes[57..89].copy_from_slice(&sum);
    }
}

fn backup_file_target(images: Vec<Vec<u8>>) -> Target {
    let originals: BTreeSet<Vec<u8>> = images.iter().cloned().collect();
    Target {
        name: "backup-file",
        seeds: images,
        dict: vec![
            b"COFFERBK",
            b"\x01",
            b"\x00\x00\x00\x1d",
            b"\xff\xff\xff\xff",
        ],
        run: Box::new(move |input| {
            let pw = SecretValue::from(PW);
            let mut out = String::new();
            let mut fixed = input.to_vec();
            fix_backup_header(&mut fixed);
            for bytes in [input, &fixed[..]] {
                // Argon2's memory is bounded by the documented ceiling
                // (KdfParams::MAX, 4 GiB), not by the input: headers asking
                // for more than 1 MiB are not run here.
                if bytes.len() >= 21 {
                    let m = u32::from_be_bytes([bytes[9], bytes[10], bytes[11], bytes[12]]);
                    let t = u32::from_be_bytes([bytes[13], bytes[14], bytes[15], bytes[16]]);
                    let p = u32::from_be_bytes([bytes[17], bytes[18], bytes[19], bytes[20]]);
                    if m > 1024 || t > 4 || p > 4 {
                        out.push_str("skipped-kdf;");
                        continue;
                    }
                }
                let r = fuzz_hooks::backup_open(bytes, &pw);
                if r.is_ok() {
                    assert!(originals.contains(bytes), "a changed backup image opened");
                }
                out.push_str(&label(&r));
                out.push(';');
                let _ = coffer_core::backup::Header::parse(bytes, "b");
            }
            out
        }),
    }
}

const VAULT_ID: &[u8; 16] = b"0123456789abcdef";

/// The agent's wire format, as the agent reads a request and a client reads
/// a reply: any bytes give an error or a value, within the frame cap.
fn agent_frame_target() -> Target {
    let framed = |json: &[u8]| {
        let mut s = vec![agent::frame::VERSION];
        s.extend_from_slice(&(json.len() as u32).to_be_bytes());
        s.extend_from_slice(json);
        s
    };
    Target {
        name: "agent-frame",
        seeds: vec![
            framed(br#"{"op":"status"}"#),
            framed(br#"{"op":"reveal","name":"aws/dev","fields":["secret_access_key"]}"#),
            framed(br#"{"reply":"revealed","fields":{"a":"b"},"secrets":{"k":"v"}}"#),
            framed(br#"{"reply":"error","class":"not_found","message":"no"}"#),
        ],
        dict: JSON_DICT
            .iter()
            .copied()
            .chain([
                &b"\x01"[..],
                b"\x00\x10\x00\x00",
                b"\xff\xff\xff\xff",
                b"\"op\":",
                b"\"reply\":",
                b"\"fields\"",
            ])
            .collect(),
        run: Box::new(move |input| {
            let mut reader = input;
            match agent::frame::read(&mut reader) {
                Err(e) => outcome_of(&e.to_string()),
                Ok(body) => {
                    let request = serde_json::from_slice::<agent::Request>(&body);
                    let reply = serde_json::from_slice::<agent::Reply>(&body);
                    format!("{} {}", label(&request), label(&reply))
                }
            }
        }),
    }
}

fn slot_target() -> Target {
    let vk = Key32::from_bytes([7u8; 32]);
    let kek = Key32::from_bytes([9u8; 32]);
    let keyring = Slot::keyring(VAULT_ID, &vk, &kek).expect("slot").encode();
    let pass = Slot::passphrase(VAULT_ID, &vk, &SecretValue::from(PW), KdfParams::MIN)
        .expect("slot")
        .encode();
    let mut seeds = Vec::new();
    for (tag, body) in [(0u8, &keyring), (1u8, &pass)] {
        for fix in [0u8, 2] {
            let mut s = vec![tag | fix];
            s.extend_from_slice(body);
            seeds.push(s);
        }
    }
    let good_keyring = keyring.clone();
    Target {
        name: "slot",
        seeds,
        dict: vec![
            b"\x01",
            b"\x00\x00\x4c\x00",
            b"\xff\xff\xff\xff",
            b"\x00\x00\x00\x02",
        ],
        run: Box::new(move |input| {
            let Some((&flags, body)) = input.split_first() else {
                return "empty".into();
            };
            let kind = if flags & 1 == 0 {
                "keyring"
            } else {
                "passphrase"
            };
            let mut body = body.to_vec();
            if flags & 2 != 0 && body.len() >= 32 {
                // The checksum is not a MAC: forge it, to reach what lies behind.
                let n = body.len() - 32;
                let sum =
                    crypto::digest(&[b"coffer/v1/slot-checksum", kind.as_bytes(), &body[..n]]);
                body[n..].copy_from_slice(&sum);
            }
            let decoded = Slot::decode(kind, &body, "key slot 1");
            let mut out = label(&decoded);
            if let Ok(slot) = decoded {
                if kind == "keyring" {
                    let opened = slot.open_with_kek(VAULT_ID, &kek, "key slot 1");
                    if let Ok(key) = &opened {
                        assert_eq!(body, good_keyring, "a changed keyring slot opened");
                        assert_eq!(key.expose_secret(), &[7u8; 32]);
                    }
                    out.push_str(&label(&opened));
                }
            }
            out
        }),
    }
}

fn envelope_target() -> Target {
    let key = Key32::from_bytes([3u8; 32]);
    let aad = b"coffer/v1/record|id|1|secrets";
    let plains: [&[u8]; 3] = [b"", br#"{"password":"hunter2"}"#, &[0xAB; 300]];
    let seeds: Vec<Vec<u8>> = plains
        .iter()
        .map(|p| crypto::seal(&key, aad, p).expect("seal"))
        .collect();
    let originals: BTreeSet<Vec<u8>> = seeds.iter().cloned().collect();
    Target {
        name: "envelope",
        seeds,
        dict: vec![b"\x01", b"\x02", b"\x00"],
        run: Box::new(move |input| {
            let r = crypto::open(&key, aad, input, "credential record x version 1");
            if r.is_ok() {
                assert!(originals.contains(input), "a changed envelope opened");
            }
            label(&r)
        }),
    }
}

fn record_target() -> Target {
    let meta = br#"{"name":"db/main","kind":"db-password","env":"prod","tags":["a"],"notes":"n","fields":{"host":"h","user":"u"},"secret_fields":["password"],"expires_at":"2027-01-01T00:00:00Z","rotated_at":null,"policy":{"max_age_days":90,"warn_days":14},"compromised_at":null}"#;
    let secrets = br#"{"password":"p\u00e9\"x"}"#;
    let mut seed = meta.to_vec();
    seed.push(0);
    seed.extend_from_slice(secrets);
    Target {
        name: "record",
        seeds: vec![seed],
        dict: JSON_DICT.to_vec(),
        run: Box::new(|input| {
            let (meta, secrets) = split0(input);
            if fuzz_hooks::record(meta, secrets) {
                "ok".into()
            } else {
                "refused".into()
            }
        }),
    }
}

const MARKER: &str = "S3CRETMARK";

fn stdin_target() -> Target {
    Target {
        name: "stdin-json",
        seeds: vec![
            format!(r#"{{"password": "{MARKER}", "user": null}}"#).into_bytes(),
            format!(r#"{{"a": "{MARKER}", "a": "{MARKER}"}}"#).into_bytes(),
            format!(r#"["{MARKER}"]"#).into_bytes(),
            format!(r#""{MARKER}""#).into_bytes(),
            format!(r#"{{"n": 1{MARKER}}}"#).into_bytes(),
        ],
        dict: JSON_DICT.to_vec(),
        run: Box::new(|input| {
            let text = zeroize::Zeroizing::new(text(input));
            let r = coffer_core::input::parse_secret_json(&text);
            if let Err(e) = &r {
                // The parser never echoes a value: only a field's name (not
                // a secret) and positions. Take the name out, then look.
                let message = e.to_string();
                let without_name = match message.find("field '") {
                    Some(start) => {
                        let end = message
                            .rfind("' ")
                            .filter(|&end| end > start)
                            .unwrap_or(start);
                        format!("{}{}", &message[..start], &message[end..])
                    }
                    None => message.clone(),
                };
                assert!(
                    !without_name.contains(MARKER),
                    "the error quotes a value from the input: {message}"
                );
            }
            label(&r)
        }),
    }
}

fn kv_read_target() -> Target {
    let read = br#"{"request_id":"8a1","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":{"key":"v","user":"u","n":1,"o":{"x":[1]}},"metadata":{"created_time":"2026-01-01T00:00:00.123456Z","custom_metadata":{"coffer-kind":"db-password","coffer-env":"prod","coffer-tags":"a b","coffer-plain":"user"},"deletion_time":"","destroyed":false,"version":3}},"wrap_info":null,"warnings":null,"auth":null}"#;
    Target {
        name: "kv-read",
        seeds: vec![
            read.to_vec(),
            br#"{"data":{"data":null,"metadata":{"version":2}}}"#.to_vec(),
            br#"{"errors":["permission denied"]}"#.to_vec(),
        ],
        dict: JSON_DICT
            .iter()
            .copied()
            .chain([
                &b"\"coffer-kind\":\"aws-access-key\""[..],
                b"\"version\":18446744073709551615",
                b"\"created_time\":\"9999-99-99\"",
            ])
            .collect(),
        run: Box::new(|input| {
            let mut out = String::new();
            for name in ["db/main", "x"] {
                out.push(if fuzz_hooks::kv_read(input, name) {
                    'o'
                } else {
                    'r'
                });
            }
            out
        }),
    }
}

fn kv_list_target() -> Target {
    Target {
        name: "kv-list",
        seeds: vec![
            br#"{"data":{"keys":["a","b/","c/d","../x","",".","a b"]}}"#.to_vec(),
            br#"{"data":{"keys":[]}}"#.to_vec(),
        ],
        dict: JSON_DICT.to_vec(),
        run: Box::new(|input| format!("{}", fuzz_hooks::kv_list(input).min(3))),
    }
}

fn sm_target() -> Target {
    let mut seed =
        br#"{"access_key_id":"AKIA","secret_access_key":"s","region":"eu-west-1"}"#.to_vec();
    seed.push(0);
    seed.extend_from_slice(
        b"coffer-kind=aws-access-key\ncoffer-env=prod\ncoffer-tags=a b\nother=x\n",
    );
    Target {
        name: "sm-secret",
        seeds: vec![seed],
        dict: JSON_DICT
            .iter()
            .copied()
            .chain([&b"coffer-plain="[..], b"coffer-kind=", b"\n"])
            .collect(),
        run: Box::new(|input| {
            let (secret, tags) = split0(input);
            let tags: Vec<(String, String)> = text(tags)
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            if fuzz_hooks::sm_secret(&text(secret), &tags, "aws/prod/deploy") {
                "ok".into()
            } else {
                "refused".into()
            }
        }),
    }
}

fn anchor_target() -> Target {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let vault = dir.path().join("v.sqlite");
    let key = Key32::from_bytes([5u8; 32]);
    coffer_core::audit::write_anchor(&vault, &key, 42, &[0xAA; 32]).expect("anchor");
    let seed = std::fs::read(coffer_core::audit::anchor_path(&vault)).expect("read");
    Target {
        name: "anchor",
        seeds: vec![seed],
        dict: JSON_DICT.to_vec(),
        run: Box::new(move |input| {
            let _keep = &dir;
            std::fs::write(coffer_core::audit::anchor_path(&vault), input).expect("write");
            match coffer_core::audit::read_anchor(&vault, &key) {
                Ok(Some((seq, mac))) => {
                    assert_eq!(
                        (seq, mac),
                        (42, vec![0xAA; 32]),
                        "a changed anchor verified"
                    );
                    "ok".into()
                }
                Ok(None) => "none".into(),
                Err(b) => b.kind().into(),
            }
        }),
    }
}

fn audit_body_target() -> Target {
    Target {
        name: "audit-body",
        seeds: vec![
            br#"{"seq":7,"actor":{"user":"ana","interface":"cli"},"action":"update","target_name":"db/main","outcome":"ok","details":{"version":3,"changes":["notes"]}}"#.to_vec(),
        ],
        dict: JSON_DICT.to_vec(),
        run: Box::new(|input| {
            label(&serde_json::from_slice::<coffer_core::audit::Body>(input))
        }),
    }
}

fn aws_ini_target() -> Target {
    let mut seed = b"[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalr\naws_session_token=x\n[ci]\naws_access_key_id=AKIA2\naws_secret_access_key=y\n".to_vec();
    seed.push(0);
    seed.extend_from_slice(b"[default]\nregion = eu-west-1\n[profile ci]\nregion=us-east-1\ncredential_process = /bin/x\nsource_profile = default\n[sso-session s]\nsso_region=x\n");
    Target {
        name: "aws-ini",
        seeds: vec![seed],
        dict: vec![
            b"[",
            b"]",
            b"=",
            b"\n",
            b"[profile ",
            b"  ",
            b"#",
            b";",
            b"\r",
        ],
        run: Box::new(|input| {
            let (creds, conf) = split0(input);
            let c =
                coffer_core::migrate::IniFile::parse(Path::new("credentials"), &text(creds), true);
            let f = coffer_core::migrate::IniFile::parse(Path::new("config"), &text(conf), true);
            match (c, f) {
                (Ok(c), Ok(f)) => label(&coffer_core::migrate::plan_from(c, f, "aws/")),
                (c, f) => format!("{}|{}", label(&c), label(&f)),
            }
        }),
    }
}

fn template_target() -> Target {
    Target {
        name: "template",
        seeds: vec![
            b"url: postgres://{{ coffer://db/main/user }}:{{coffer://db/main/password}}@h\nkey={{ coffer://team/api }}\n{{ not }} {{".to_vec(),
        ],
        dict: vec![b"{{", b"}}", b"coffer://", b"/", b" ", b"\\{{"],
        run: Box::new(|input| label(&coffer_core::envmap::references(&text(input)))),
    }
}

fn scan_target() -> Target {
    let mut seeds = files_in(&fixtures().join("scan"));
    seeds.truncate(32);
    Target {
        name: "scan",
        seeds,
        dict: vec![
            b"AKIA",
            b"aws_secret_access_key",
            b"password=",
            b"-----BEGIN OPENSSH PRIVATE KEY-----",
            b"ghp_",
            b"xoxb-",
            b"\"token\": \"",
            b"=",
        ],
        run: Box::new(|input| {
            let found = coffer_core::scan::scan_text(Path::new("app/config.env"), &text(input));
            format!("{}", found.len().min(4))
        }),
    }
}

fn main() {
    let secs: u64 = std::env::var("COFFER_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let seed: u64 = match std::env::var("COFFER_FUZZ_SEED").as_deref() {
        Ok("random") => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
        Ok(s) => s.parse().unwrap_or(1),
        Err(_) => 0x00C0_FFEE,
    };
    let only = std::env::var("COFFER_FUZZ_TARGET").ok();
    // libtest's own flags (a filter, --nocapture…) are accepted and ignored.
    let setup = Instant::now();
    let (plain, images) = backup_seeds();
    let targets = vec![
        import_target(),
        backup_payload_target(plain),
        backup_file_target(images),
        slot_target(),
        envelope_target(),
        record_target(),
        stdin_target(),
        kv_read_target(),
        kv_list_target(),
        sm_target(),
        anchor_target(),
        audit_body_target(),
        aws_ini_target(),
        template_target(),
        scan_target(),
        agent_frame_target(),
    ];
    println!(
        "fuzz: seed {seed}, {secs} s per target, {} targets (setup {:?})",
        targets.len(),
        setup.elapsed()
    );
    let mut total = 0;
    for target in &targets {
        if only.as_deref().is_some_and(|o| !target.name.contains(o)) {
            continue;
        }
        let stats = fuzz(target, seed, Duration::from_secs(secs), u64::MAX);
        total += stats.execs;
        println!(
            "fuzz {:<15} {:>9} execs  corpus {:>4}  outcomes {:>4}  peak alloc {:>8} B (on a {:>5} B input; bound {} B)  slowest {:?}  largest input {} B",
            target.name,
            stats.execs,
            stats.corpus,
            stats.outcomes,
            stats.max_alloc,
            stats.max_alloc_input,
            coffer_fuzz::alloc_bound(stats.max_alloc_input),
            stats.slowest,
            stats.largest_input,
        );
    }
    println!("fuzz: {total} executions, no panic, no hang, every allocation within its bound");
}
