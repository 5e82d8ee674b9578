//! Golden fixtures: files written by Coffer at format version 2 (a vault with
//! its anchor, an encrypted backup) and known-answer vectors for every
//! envelope, MAC and key derivation. They pin the on-disk formats to bytes, so
//! a change that moves code cannot change a format without a test noticing.
//!
//! The files were written once by `write_golden_fixtures` (ignored; run it
//! with `COFFER_WRITE_FIXTURES=1 cargo test -p coffer-core write_golden -- --ignored`
//! only when a new format version gets fixtures of its own: never rewrite the
//! files of a released version).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use tempfile::TempDir;

use crate::audit::{self, Action, Query};
use crate::backup::{self, Backup};
use crate::credential::{CredentialId, Draft, Patch};
use crate::crypto::{self, KdfParams};
use crate::kind::Kind;
use crate::rotation::run::{Guide, Step};
use crate::rotation::{self, Policy, Scope};
use crate::sealed::{Place, RecordPart, RunPart};
use crate::secret::{Key32, SecretValue};
use crate::slot::{self, SlotKind};
use crate::sync::{Spec, VaultAuth, VaultSpec};
use crate::vault::{CreateOptions, Vault};

const VAULT_PASSPHRASE: &str = "golden vault passphrase";
const BACKUP_PASSPHRASE: &str = "golden backup passphrase";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v2")
}

fn t(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0)
        .single()
        .expect("time")
}

// ---------------------------------------------------------------------------
// Known-answer vectors.

const VAULT_ID: [u8; 16] = [0x11; 16];
const CREDENTIAL: [u8; 16] = [0x44; 16];
const RUN: [u8; 16] = [0x88; 16];
const LINK: [u8; 16] = [0x77; 16];
const SALT: [u8; 16] = [0x66; 16];
const NONCE: [u8; 12] = [0x33; 12];

fn vault_key() -> Key32 {
    Key32::from_bytes([0x22; 32])
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Vectors {
    envelopes: Vec<EnvelopeVector>,
    /// MACs, digests and derived keys, hex.
    values: BTreeMap<String, String>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct EnvelopeVector {
    name: String,
    key: String,
    aad: String,
    plaintext: String,
    envelope: String,
}

fn envelope(name: &str, key: &Key32, aad: Vec<u8>, plaintext: &[u8]) -> EnvelopeVector {
    let sealed = crypto::seal_with_nonce(key, &NONCE, &aad, plaintext).expect("seal");
    EnvelopeVector {
        name: name.to_owned(),
        key: hex::encode(key.expose_secret()),
        aad: hex::encode(aad),
        plaintext: hex::encode(plaintext),
        envelope: hex::encode(sealed),
    }
}

/// Every vector, computed by today's code from fixed inputs.
fn compute_vectors() -> Vectors {
    let vk = vault_key();
    let id = CredentialId(CREDENTIAL);
    let kek = Key32::from_bytes([0x55; 32]);
    let passphrase = SecretValue::from(VAULT_PASSPHRASE);
    let pass_kek = crypto::passphrase_kek(&passphrase, &SALT, KdfParams::MIN).expect("kdf");
    let pass_header = slot::passphrase_header(KdfParams::MIN, &SALT);
    let (backup_key, backup_check) =
        backup::derive(&SecretValue::from(BACKUP_PASSPHRASE), KdfParams::MIN, &SALT).expect("kdf");
    let backup_header = [0x99u8; 89];
    let name_key =
        crypto::derive_subkey(&vk, &VAULT_ID, crate::keys::NAME_INDEX_LABEL).expect("hkdf");
    let audit_key = crypto::derive_subkey(&vk, &VAULT_ID, audit::AUDIT_LABEL).expect("hkdf");
    let anchor_key = crypto::derive_subkey(&vk, &VAULT_ID, audit::ANCHOR_LABEL).expect("hkdf");
    let meta = br#"{"name":"aws/prod/deploy","kind":"aws-access-key"}"#;
    let secrets = br#"{"secret_access_key":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}"#;
    let link_mac = audit::link(
        &audit_key,
        &[0u8; 32],
        7,
        1_764_590_400_000,
        Some(&CREDENTIAL),
        b"body",
    );

    let envelopes = vec![
        envelope(
            "record meta",
            &vk,
            Place::Record {
                id: &id.0,
                version: 3,
                part: RecordPart::Meta,
            }
            .aad(&VAULT_ID),
            meta,
        ),
        envelope(
            "record secrets",
            &vk,
            Place::Record {
                id: &id.0,
                version: 3,
                part: RecordPart::Secrets,
            }
            .aad(&VAULT_ID),
            secrets,
        ),
        envelope(
            "slot keyring",
            &kek,
            slot::aad(&VAULT_ID, SlotKind::Keyring, &[slot::SLOT_V1]),
            vk.expose_secret(),
        ),
        envelope(
            "slot passphrase",
            &pass_kek,
            slot::aad(&VAULT_ID, SlotKind::Passphrase, &pass_header),
            vk.expose_secret(),
        ),
        envelope(
            "audit body",
            &vk,
            Place::AuditBody.aad(&VAULT_ID),
            br#"{"seq":1,"action":"unlock"}"#,
        ),
        envelope(
            "setting",
            &vk,
            Place::Setting {
                key: "rotation-policies",
            }
            .aad(&VAULT_ID),
            br#"{"kinds":{}}"#,
        ),
        envelope(
            "sync link",
            &vk,
            Place::SyncLink {
                remote_id: "0123456789abcdef",
                id: &LINK,
            }
            .aad(&VAULT_ID),
            br#"{"key":"aws/prod/deploy"}"#,
        ),
        envelope(
            "rotation state",
            &vk,
            Place::Rotation {
                run: &RUN,
                part: RunPart::State,
            }
            .aad(&VAULT_ID),
            br#"{"step":"verify"}"#,
        ),
        envelope(
            "rotation pending",
            &vk,
            Place::Rotation {
                run: &RUN,
                part: RunPart::Pending,
            }
            .aad(&VAULT_ID),
            secrets,
        ),
        envelope(
            "backup chunk 0 of 2",
            &backup_key,
            backup::chunk_aad(&backup_header, 0, false),
            b"first chunk",
        ),
        envelope(
            "backup chunk 1 of 2 (last)",
            &backup_key,
            backup::chunk_aad(&backup_header, 1, true),
            b"last chunk",
        ),
    ];
    let mut values = BTreeMap::new();
    let mut put = |k: &str, v: &[u8]| {
        values.insert(k.to_owned(), hex::encode(v));
    };
    put("subkey name-index", name_key.expose_secret());
    put("subkey audit", audit_key.expose_secret());
    put("subkey audit-anchor", anchor_key.expose_secret());
    put(
        "passphrase kek (argon2id m=19456 t=2 p=1)",
        pass_kek.expose_secret(),
    );
    put(
        "name index of aws/prod/deploy",
        &crypto::mac(&name_key, &[b"aws/prod/deploy"]),
    );
    put("audit link (seq 7)", &link_mac);
    put(
        "anchor tag (seq 7)",
        audit::anchor_tag(&anchor_key, 7, &link_mac).as_bytes(),
    );
    put("slot header passphrase", &pass_header);
    put(
        "slot checksum keyring",
        &slot::checksum(SlotKind::Keyring, &[slot::SLOT_V1, 1, 2, 3]),
    );
    put("backup data key", backup_key.expose_secret());
    put("backup key check", &backup_check);
    put(
        "backup header checksum",
        &backup::header_checksum(&backup_header[..57]),
    );
    Vectors { envelopes, values }
}

#[test]
fn known_answer_vectors_re_encode_byte_for_byte() {
    let text = std::fs::read_to_string(fixtures().join("vectors.json")).expect("vectors.json");
    let stored: Vectors = serde_json::from_str(&text).expect("parse vectors.json");
    let computed = compute_vectors();
    for (want, got) in stored.envelopes.iter().zip(&computed.envelopes) {
        assert_eq!(want, got, "envelope vector '{}'", want.name);
    }
    assert_eq!(stored.envelopes.len(), computed.envelopes.len());
    assert_eq!(stored.values, computed.values);
    // And every stored envelope opens to its plaintext under its AAD, and
    // fails under any other vector's AAD.
    for v in &stored.envelopes {
        let key = Key32::from_bytes(
            hex::decode(&v.key)
                .expect("hex")
                .try_into()
                .expect("32 bytes"),
        );
        let aad = hex::decode(&v.aad).expect("hex");
        let env = hex::decode(&v.envelope).expect("hex");
        let plain = crypto::open(&key, &aad, &env, &v.name).expect("open");
        assert_eq!(hex::encode(&*plain), v.plaintext, "{}", v.name);
        for other in stored.envelopes.iter().filter(|o| o.aad != v.aad) {
            let aad = hex::decode(&other.aad).expect("hex");
            assert!(
                crypto::open(&key, &aad, &env, &v.name).is_err(),
                "{} opened under {}'s AAD",
                v.name,
                other.name
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The golden vault and backup.

/// A guide that gives one new value and then stops before verifying, so the
/// vault keeps a running rotation with a pending value.
struct StopBeforeVerify;

impl Guide for StopBeforeVerify {
    fn say(&mut self, _text: &str) {}
    fn new_value(
        &mut self,
        _kind: Kind,
        fields: &[&'static str],
    ) -> crate::Result<Option<BTreeMap<String, SecretValue>>> {
        Ok(Some(
            fields
                .iter()
                .map(|f| ((*f).to_owned(), SecretValue::from("rotated-db-password-2")))
                .collect(),
        ))
    }
    fn confirm(&mut self, _question: &str) -> crate::Result<Option<String>> {
        Ok(None)
    }
    fn step_saved(&mut self, _step: Step) {}
}

fn draft(name: &str, kind: Kind, fields: &[(&str, &str)], values: &[(&str, &str)]) -> Draft {
    let mut d = Draft::new(name, kind);
    d.fields = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    d.values = values
        .iter()
        .map(|(k, v)| ((*k).to_owned(), SecretValue::from(*v)))
        .collect();
    d
}

/// Writes the golden files. Run by hand only (see the module comment).
#[test]
#[ignore = "writes the committed fixtures; run by hand for a new format version"]
fn write_golden_fixtures() {
    if std::env::var_os("COFFER_WRITE_FIXTURES").is_none() {
        return;
    }
    let out = fixtures();
    std::fs::create_dir_all(&out).expect("mkdir");
    std::fs::write(
        out.join("vectors.json"),
        serde_json::to_string_pretty(&compute_vectors()).expect("json") + "\n",
    )
    .expect("write vectors");

    let dir = TempDir::new().expect("tempdir");
    let path = dir.path().join("vault.sqlite");
    let passphrase = SecretValue::from(VAULT_PASSPHRASE);
    let mut v = Vault::create(
        &path,
        &CreateOptions {
            sealer: None,
            passphrase: Some(&passphrase),
            kdf: KdfParams::MIN,
        },
        t(1, 9),
    )
    .expect("create");
    let mut aws = draft(
        "aws/prod/deploy",
        Kind::AwsAccessKey,
        &[
            ("access_key_id", "AKIAGOLDENKEY0000001"),
            ("region", "eu-west-1"),
        ],
        &[("secret_access_key", "golden-secret-v1")],
    );
    aws.env = Some("prod".into());
    aws.tags = vec!["team-a".into(), "deploy".into()];
    aws.notes = Some("rotated quarterly".into());
    v.add(aws, t(1, 10)).expect("add aws");
    let mut db = draft(
        "db/staging/main",
        Kind::DbPassword,
        &[
            ("host", "db.internal"),
            ("port", "5432"),
            ("user", "app"),
            ("database", "main"),
        ],
        &[("password", "golden-db-password-1")],
    );
    db.env = Some("staging".into());
    db.expires_at = Some(t(30, 0));
    v.add(db, t(1, 11)).expect("add db");
    v.add(
        draft(
            "vault/ci-token",
            Kind::VaultToken,
            &[],
            &[("token", "hvs.golden-token")],
        ),
        t(1, 12),
    )
    .expect("add token");
    v.add(
        draft(
            "notes/ünïcode ☃",
            Kind::Generic,
            &[("where", "here")],
            &[("value", "línea1\nlínea2 \"quoted\"")],
        ),
        t(1, 13),
    )
    .expect("add generic");
    v.add(
        draft("api/removed", Kind::ApiKey, &[], &[("key", "gone")]),
        t(1, 14),
    )
    .expect("add removed");
    // History: aws/prod/deploy reaches version 3.
    for (i, secret) in ["golden-secret-v2", "golden-secret-v3"].iter().enumerate() {
        let mut patch = Patch::default();
        patch
            .values
            .insert("secret_access_key".into(), SecretValue::from(*secret));
        if i == 1 {
            patch.add_tags = vec!["rotated".into()];
        }
        v.update("aws/prod/deploy", &patch, t(2 + i as u32, 10))
            .expect("update");
    }
    v.remove("api/removed", t(4, 10)).expect("remove");
    v.set_policy(
        &Scope::Kind(Kind::DbPassword),
        Some(Policy::new(20, 5).expect("policy")),
        t(4, 11),
    )
    .expect("policy");
    v.add_remote(
        "team",
        "coffer/",
        crate::sync::Scope::everything(),
        Spec::Vault(VaultSpec {
            addr: "http://127.0.0.1:8200".into(),
            mount: "secret".into(),
            namespace: None,
            ca_cert: None,
            auth: VaultAuth::Token {
                credential: Some("vault/ci-token".into()),
            },
            insecure_http: false,
        }),
        t(4, 12),
    )
    .expect("remote");
    v.put_golden_link("team", "aws/prod/deploy", 3, t(4, 13));
    let outcome = rotation::run::rotate(
        &mut v,
        "db/staging/main",
        &rotation::run::Options {
            grace: Duration::hours(24),
            automate: Some(false),
            generate: None,
            delete_inactive: false,
            admin: None,
            alternate: None,
        },
        &mut StopBeforeVerify,
        t(5, 10),
    )
    .expect("rotate");
    assert!(
        matches!(outcome, rotation::run::Outcome::Waiting { .. }),
        "{outcome:?}"
    );
    backup::write(
        &v,
        &out.join("backup.cfb"),
        &SecretValue::from(BACKUP_PASSPHRASE),
        KdfParams::MIN,
        true,
        t(5, 11),
    )
    .expect("backup");
    v.lock(t(5, 12)).expect("lock");
    v.close().expect("close");
    // One failed unlock waits in audit_pending.
    let mut v = Vault::open(&path).expect("open");
    assert!(v
        .unlock_with_passphrase(&SecretValue::from("wrong"), t(5, 13))
        .is_err());
    v.record_failed_unlock("wrong passphrase", t(5, 13))
        .expect("failed unlock");
    v.close().expect("close");
    assert!(!dir.path().join("vault.sqlite-wal").exists());
    std::fs::copy(&path, out.join("vault.sqlite")).expect("copy vault");
    std::fs::copy(audit::anchor_path(&path), out.join("vault.sqlite.anchor")).expect("copy anchor");
}

/// A private copy of the golden vault and its anchor.
fn golden_vault() -> (TempDir, PathBuf) {
    let dir = TempDir::new().expect("tempdir");
    let path = dir.path().join("vault.sqlite");
    std::fs::copy(fixtures().join("vault.sqlite"), &path).expect("copy vault");
    std::fs::copy(
        fixtures().join("vault.sqlite.anchor"),
        audit::anchor_path(&path),
    )
    .expect("copy anchor");
    (dir, path)
}

fn secret(v: &Vault, name: &str, field: &str) -> String {
    let (_, s) = v.reveal(name, None, t(6, 9)).expect("reveal");
    s.0[field].expose_secret().to_owned()
}

#[test]
fn the_v2_golden_vault_opens_with_every_value() {
    let (_dir, path) = golden_vault();
    let mut v = Vault::open(&path).expect("open");
    let info = v.info().expect("info");
    let backup = Backup::open(
        &fixtures().join("backup.cfb"),
        &SecretValue::from(BACKUP_PASSPHRASE),
    )
    .expect("open backup");
    assert_eq!(info.vault_id, backup.summary().vault_id);
    assert_eq!(info.created_at, t(1, 9));
    assert_eq!(info.slots.len(), 1);
    assert_eq!(info.slots[0].kind, SlotKind::Passphrase);
    assert_eq!(info.slots[0].kdf, Some(KdfParams::MIN));
    assert!(v
        .unlock_with_passphrase(&SecretValue::from("wrong"), t(6, 8))
        .is_err());
    let report = v
        .unlock_with_passphrase(&SecretValue::from(VAULT_PASSPHRASE), t(6, 9))
        .expect("unlock");
    // Two stored in the file (the wrong passphrase, recorded by the core,
    // and one recorded explicitly), and the wrong guess just above.
    assert_eq!(
        report.failed_attempts, 3,
        "the failed unlocks stored in the file"
    );

    let names: Vec<String> = v
        .list()
        .expect("list")
        .into_iter()
        .map(|c| c.meta.name)
        .collect();
    assert_eq!(
        names,
        [
            "aws/prod/deploy",
            "db/staging/main",
            "notes/ünïcode ☃",
            "vault/ci-token"
        ]
    );

    let aws = v.get("aws/prod/deploy").expect("get");
    assert_eq!(aws.version, 3);
    assert_eq!(aws.meta.kind, Kind::AwsAccessKey);
    assert_eq!(aws.meta.env.as_deref(), Some("prod"));
    assert_eq!(aws.meta.tags, ["deploy", "rotated", "team-a"]);
    assert_eq!(aws.meta.notes.as_deref(), Some("rotated quarterly"));
    assert_eq!(aws.meta.fields["access_key_id"], "AKIAGOLDENKEY0000001");
    assert_eq!(aws.meta.fields["region"], "eu-west-1");
    assert_eq!(aws.created_at, t(1, 10));
    assert_eq!(aws.updated_at, t(3, 10));
    assert_eq!(
        secret(&v, "aws/prod/deploy", "secret_access_key"),
        "golden-secret-v3"
    );
    let history = v.history("aws/prod/deploy").expect("history");
    let versions: Vec<(u64, bool)> = history.iter().map(|h| (h.version, h.current)).collect();
    assert_eq!(versions, [(1, false), (2, false), (3, true)]);
    assert_eq!(history[0].written_at, t(1, 10));

    let db = v.get("db/staging/main").expect("get db");
    assert_eq!(db.meta.kind, Kind::DbPassword);
    assert_eq!(db.meta.fields["host"], "db.internal");
    assert_eq!(db.meta.fields["port"], "5432");
    assert_eq!(db.meta.expires_at, Some(t(30, 0)));
    assert_eq!(
        secret(&v, "db/staging/main", "password"),
        "golden-db-password-1"
    );
    assert_eq!(secret(&v, "vault/ci-token", "token"), "hvs.golden-token");
    assert_eq!(
        secret(&v, "notes/ünïcode ☃", "value"),
        "línea1\nlínea2 \"quoted\""
    );
    assert!(matches!(
        v.get("api/removed"),
        Err(crate::Error::NotFound { .. })
    ));

    let policies = v.policies().expect("policies");
    assert_eq!(
        policies.by_kind.get(Kind::DbPassword.as_str()),
        Some(&Policy::new(20, 5).expect("policy"))
    );
    let remotes = v.remotes().expect("remotes");
    assert_eq!(remotes.len(), 1);
    assert_eq!(remotes[0].name, "team");
    assert_eq!(remotes[0].prefix, "coffer/");
    assert!(matches!(&remotes[0].spec, Spec::Vault(s) if s.addr == "http://127.0.0.1:8200"));
    let bindings = v.bindings("aws/prod/deploy").expect("bindings");
    assert_eq!(bindings.len(), 1);
    assert_eq!(bindings[0].remote.name, "team");
    assert_eq!(bindings[0].remote_version, "3");
    assert_eq!(bindings[0].synced_at, t(4, 13));

    let run = v
        .running_rotation("db/staging/main")
        .expect("run")
        .expect("a running rotation");
    assert_eq!(run.state.step, Step::Verify);
    assert_eq!(run.started_at, t(5, 10));
    let pending = run.pending.as_ref().expect("pending value");
    assert_eq!(
        pending.0["password"].expose_secret(),
        "rotated-db-password-2"
    );

    let verified = v
        .verify_audit()
        .expect("verify")
        .expect("the trail verifies");
    assert!(verified.anchored.is_some());
    let entries = v.audit_entries(&Query::default()).expect("entries");
    let actions: Vec<Action> = entries.iter().map(|e| e.body.action).collect();
    for a in [
        Action::VaultCreate,
        Action::Create,
        Action::Update,
        Action::Delete,
        Action::SettingsChange,
        Action::Backup,
        Action::Lock,
        Action::UnlockFailed,
    ] {
        assert!(actions.contains(&a), "no {a:?} entry in {actions:?}");
    }
}

#[test]
fn the_golden_backup_opens_and_restores_every_value() {
    let backup = Backup::open(
        &fixtures().join("backup.cfb"),
        &SecretValue::from(BACKUP_PASSPHRASE),
    )
    .expect("open backup");
    let summary = backup.summary();
    assert_eq!(summary.vault_created_at, t(1, 9));
    assert_eq!(summary.backup_at, t(5, 11));
    assert_eq!(summary.credentials, 4);
    assert_eq!(summary.versions, 6);
    assert_eq!(summary.remotes, 1);
    assert_eq!(backup.kdf(), KdfParams::MIN);
    assert!(matches!(
        Backup::open(&fixtures().join("backup.cfb"), &SecretValue::from("wrong")),
        Err(crate::Error::WrongPassphrase)
    ));
    let dir = TempDir::new().expect("tempdir");
    let target = dir.path().join("restored.sqlite");
    let passphrase = SecretValue::from("restored vault passphrase");
    backup::restore(
        &backup,
        &target,
        &CreateOptions {
            sealer: None,
            passphrase: Some(&passphrase),
            kdf: KdfParams::MIN,
        },
        audit::Actor::current("cli"),
        "backup.cfb",
        t(6, 10),
    )
    .expect("restore");
    let mut v = Vault::open(&target).expect("open restored");
    v.unlock_with_passphrase(&passphrase, t(6, 11))
        .expect("unlock");
    assert_eq!(v.get("aws/prod/deploy").expect("get").version, 3);
    assert_eq!(
        secret(&v, "aws/prod/deploy", "secret_access_key"),
        "golden-secret-v3"
    );
    assert_eq!(
        secret(&v, "db/staging/main", "password"),
        "golden-db-password-1"
    );
    assert_eq!(
        secret(&v, "notes/ünïcode ☃", "value"),
        "línea1\nlínea2 \"quoted\""
    );
    assert_eq!(v.history("aws/prod/deploy").expect("history").len(), 3);
    assert_eq!(v.remotes().expect("remotes").len(), 1);
    assert!(v.verify_audit().expect("verify").is_ok());
}

#[test]
fn the_golden_vault_refuses_a_flipped_byte_in_any_sealed_column() {
    // One byte flipped in each sealed column's first row: the vault still
    // opens, and reading that data is an integrity error, never garbage.
    let columns = [
        ("credentials", "meta"),
        ("credentials", "secrets"),
        ("history", "secrets"),
        ("settings", "value"),
        ("sync_links", "body"),
        ("rotations", "state"),
        ("rotations", "pending"),
        ("audit", "body"),
    ];
    for (table, column) in columns {
        let (_dir, path) = golden_vault();
        {
            let conn = rusqlite::Connection::open(&path).expect("sqlite");
            let (rowid, mut blob): (i64, Vec<u8>) = conn
                .query_row(
                    &format!("SELECT rowid, {column} FROM {table} ORDER BY rowid LIMIT 1"),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .expect("row");
            let last = blob.len() - 1;
            blob[last] ^= 1;
            conn.execute(
                &format!("UPDATE {table} SET {column} = ?1 WHERE rowid = ?2"),
                rusqlite::params![blob, rowid],
            )
            .expect("flip");
        }
        let mut v = Vault::open(&path).expect("open");
        let unlocked = v.unlock_with_passphrase(&SecretValue::from(VAULT_PASSPHRASE), t(6, 9));
        let caught = match unlocked {
            Err(e) => e.class() == crate::ErrorClass::Integrity,
            Ok(_) => {
                let reads = [
                    v.list().map(|_| ()),
                    v.reveal("aws/prod/deploy", None, t(6, 9)).map(|_| ()),
                    v.reveal("db/staging/main", None, t(6, 9)).map(|_| ()),
                    v.history("aws/prod/deploy").map(|_| ()),
                    v.policies().map(|_| ()),
                    v.remotes().map(|_| ()),
                    v.bindings("aws/prod/deploy").map(|_| ()),
                    v.running_rotation("db/staging/main").map(|_| ()),
                    v.verify_audit().and_then(|r| {
                        r.map(|_| ())
                            .map_err(|b| crate::Error::integrity(b.to_string()))
                    }),
                    v.rollback("aws/prod/deploy", 1, t(6, 9)).map(|_| ()),
                ];
                reads
                    .iter()
                    .any(|r| matches!(r, Err(e) if e.class() == crate::ErrorClass::Integrity))
            }
        };
        assert!(caught, "a flipped byte in {table}.{column} went unnoticed");
    }
}
