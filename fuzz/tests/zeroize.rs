//! Secret buffers are wiped before their memory is given back: a global
//! allocator looks into every block as it is freed (and every block a
//! growing buffer leaves behind) for a canary's bytes.
//!
//! The control case (a plain `String`) must be seen, or the check itself is
//! broken. One process, one thread at a time (`harness = false`), so no
//! other test's allocations are looked at.

use chrono::{TimeZone, Utc};
use coffer_core::crypto::KdfParams;
use coffer_core::secret::Key32;
use coffer_core::{CreateOptions, Draft, Kind, Patch, SecretValue, Vault};
use coffer_fuzz::{canary_hits, watch_canary, Counting};
use zeroize::Zeroizing;

#[global_allocator]
static ALLOC: Counting = Counting;

const CANARY: &str = "zeroize-canary-7f3a9c2e51d04b86";

fn canary_string() -> String {
    // Built at run time, so the only copies are the heap ones under test.
    let mut s = String::with_capacity(CANARY.len());
    for c in CANARY.chars() {
        s.push(c);
    }
    s
}

/// Runs `f` and counts the freed blocks that still held the canary.
fn leaks(canary: &[u8], f: impl FnOnce()) -> usize {
    watch_canary(canary);
    f();
    let hits = canary_hits();
    watch_canary(&[]);
    hits
}

fn check(name: &str, expect_leak: bool, hits: usize, failures: &mut Vec<String>) {
    let ok = if expect_leak { hits > 0 } else { hits == 0 };
    println!(
        "zeroize {name:<58} {hits} freed block(s) with the canary  {}",
        if ok { "ok" } else { "FAILED" }
    );
    if !ok {
        failures.push(format!("{name}: {hits} freed block(s) held the canary"));
    }
}

fn main() {
    let mut failures = Vec::new();
    let canary = CANARY.as_bytes();

    // The check sees a secret that is not wiped.
    let hits = leaks(canary, || drop(canary_string()));
    check(
        "control: a plain String is NOT wiped",
        true,
        hits,
        &mut failures,
    );
    let hits = leaks(canary, || {
        let mut s = String::new();
        for c in CANARY.chars() {
            s.push(c);
        }
        s.shrink_to_fit();
        std::hint::black_box(&s);
    });
    check(
        "control: a growing String leaves copies",
        true,
        hits,
        &mut failures,
    );

    let hits = leaks(canary, || drop(SecretValue::new(canary_string())));
    check("SecretValue is wiped on drop", false, hits, &mut failures);

    let hits = leaks(canary, || {
        let mut s = String::with_capacity(CANARY.len() + 40);
        s.push_str(CANARY);
        drop(SecretValue::new(s));
    });
    check(
        "SecretValue from a String with spare capacity",
        false,
        hits,
        &mut failures,
    );

    let hits = leaks(canary, || {
        let v = SecretValue::new(canary_string());
        let c = v.clone();
        drop(v);
        drop(c);
    });
    check("SecretValue clones are wiped", false, hits, &mut failures);

    let hits = leaks(canary, || {
        let v: SecretValue = serde_json::from_str(&format!("\"{CANARY}\"")).expect("json");
        drop(v);
    });
    // The JSON text itself is the caller's; only the parsed value is checked.
    let _ = hits;
    let json = Zeroizing::new(format!("\"{CANARY}\""));
    let hits = leaks(canary, || {
        let v: SecretValue = serde_json::from_str(&json).expect("json");
        drop(v);
    });
    check(
        "SecretValue parsed from JSON is wiped",
        false,
        hits,
        &mut failures,
    );
    drop(json);

    let hits = leaks(canary, || {
        let mut z = Zeroizing::new(Vec::new());
        z.extend_from_slice(canary);
        drop(z);
    });
    check("Zeroizing<Vec<u8>> is wiped", false, hits, &mut failures);

    let key_bytes: [u8; 32] = *b"key-canary-0123456789abcdefghijk";
    let hits = leaks(&key_bytes, || drop(Key32::from_bytes(key_bytes)));
    check("Key32 is wiped on drop", false, hits, &mut failures);
    let hits = leaks(&key_bytes, || drop(Key32::from_slice(&key_bytes)));
    check(
        "Key32::from_slice leaves no copy",
        false,
        hits,
        &mut failures,
    );

    // The core's whole path for a secret: create, add, reveal, edit, close,
    // unlock with the passphrase, reveal, lock. Every buffer that held the
    // value in clear must be wiped before it is freed.
    let dir = tempfile::TempDir::new().expect("tempdir");
    let now = Utc
        .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
        .single()
        .expect("time");
    let pw = SecretValue::from("zeroize test passphrase");
    let path = dir.path().join("v.sqlite");
    let vault = Vault::create(
        &path,
        &CreateOptions {
            sealer: None,
            passphrase: Some(&pw),
            kdf: KdfParams::MIN,
        },
        now,
    )
    .expect("create");
    vault.close().expect("close");
    // Step by step, so a leak names the step.
    let mut vault = Vault::open(&path).expect("open");
    vault.unlock_with_passphrase(&pw, now).expect("unlock");
    let mut total = 0;
    let mut step = |name: &str, f: &mut dyn FnMut(&mut Vault)| {
        let hits = leaks(canary, || f(&mut vault));
        println!("zeroize   step {name:<40} {hits}");
        total += hits;
    };
    step("add", &mut |v| {
        let mut draft = Draft::new("team/api", Kind::ApiKey);
        draft
            .values
            .insert("key".into(), SecretValue::new(canary_string()));
        v.add(draft, now).expect("add");
    });
    step("reveal", &mut |v| {
        let (_, secrets) = v.reveal("team/api", None, now).expect("reveal");
        assert_eq!(
            secrets.0.get("key").map(SecretValue::expose_secret),
            Some(CANARY)
        );
    });
    step("update", &mut |v| {
        let mut patch = Patch::default();
        // Spare capacity, as a value read from stdin has it: SecretValue
        // must not leave a copy behind when it trims it.
        let mut value = String::with_capacity(CANARY.len() * 2);
        value.push_str(CANARY);
        value.push_str("-v2");
        patch.values.insert("key".into(), SecretValue::new(value));
        v.update("team/api", &patch, now).expect("update");
    });
    step("history", &mut |v| {
        assert_eq!(v.history("team/api").expect("history").len(), 2);
    });
    step("rollback", &mut |v| {
        v.rollback("team/api", 1, now).expect("rollback");
    });
    step("lock", &mut |v| {
        v.lock(now).expect("lock");
    });
    step("unlock, reveal", &mut |v| {
        v.unlock_with_passphrase(&pw, now).expect("unlock");
        let (_, secrets) = v.reveal("team/api", None, now).expect("reveal");
        drop(secrets);
    });
    let hits = total + leaks(canary, || drop(vault));
    check(
        "core: add, reveal, edit, history, rollback, unlock, lock",
        false,
        hits,
        &mut failures,
    );

    assert!(
        failures.is_empty(),
        "secret buffers freed without being wiped: {failures:#?}"
    );
}
