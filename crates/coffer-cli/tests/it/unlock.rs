//! Unlocking: wrong passphrase, no passphrase source, a keyring entry that
//! is gone, no D-Bus at all, and a bus with no Secret Service on it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use coffer_core::{Sealer, SecretService};

use crate::support::*;

#[test]
fn wrong_passphrase_exits_5_and_changes_nothing() {
    // About unlocking: without an agent (which would answer unlocked).
    let mut env = Env::new().without_agent();
    env.no_dbus = true;
    env.init_passphrase_only();
    env.run_pw(&["add", "a", "--kind", "api-key"], r#"{"key": "v"}"#)
        .ok();
    let before = env.fingerprint();
    std::fs::write(&env.passphrase_file, "not the passphrase\n").expect("write");
    let run = env.run_pw(&["get", "a"], "").code(5);
    assert!(run.stderr.contains("wrong passphrase"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    env.run_pw(&["add", "b", "--kind", "api-key"], r#"{"key": "v"}"#)
        .code(5);
    assert_eq!(env.fingerprint(), before);
}

#[test]
fn no_way_to_ask_for_the_passphrase_exits_5_naming_it() {
    // About unlocking: without an agent (which would answer unlocked).
    let mut env = Env::new().without_agent();
    env.no_dbus = true;
    env.init_passphrase_only();
    let run = env.run(&["list"], "").code(5);
    assert!(run.stderr.contains("--passphrase-file"), "{}", run.stderr);
}

#[test]
fn without_dbus_init_needs_no_keyring_and_a_keyring_vault_needs_the_passphrase() {
    if !keyring_expected() {
        return skip("without_dbus_…", "COFFER_TEST_KEYRING is not 1");
    }
    let mut env = Env::new();
    env.no_dbus = true;
    let run = env.run(&["init", "--passphrase-stdin"], PASSPHRASE).code(5);
    assert!(
        run.stderr.contains("no D-Bus session bus") && run.stderr.contains("--no-keyring"),
        "{}",
        run.stderr
    );
    assert!(!env.vault.exists());

    env.no_dbus = false;
    env.init_keyring();
    env.run(&["add", "a", "--kind", "api-key"], r#"{"key": "v-123"}"#)
        .ok();
    env.no_dbus = true;
    let run = env.run(&["get", "a", "--field", "key"], "").code(5);
    assert!(
        run.stderr.contains("no D-Bus session bus") && run.stderr.contains("passphrase"),
        "{}",
        run.stderr
    );
    let run = env.run_pw(&["get", "a", "--field", "key"], "").ok();
    assert_eq!(run.stdout, "v-123\n");
    let doctor = env.run(&["doctor"], "").code(3);
    assert!(doctor.stdout.contains("[FAIL] d-bus"), "{}", doctor.stdout);
}

#[test]
fn a_removed_keyring_entry_exits_5_and_the_passphrase_still_opens() {
    if !keyring_expected() {
        return skip("a_removed_keyring_entry_…", "COFFER_TEST_KEYRING is not 1");
    }
    // About unlocking: without an agent (which would answer unlocked).
    let env = Env::new().without_agent();
    env.init_keyring();
    env.run(&["add", "a", "--kind", "api-key"], r#"{"key": "v-456"}"#)
        .ok();
    SecretService::connect()
        .expect("keyring")
        .remove(&env.vault_id())
        .expect("remove entry");
    let run = env.run(&["get", "a", "--field", "key"], "").code(5);
    assert!(
        run.stderr.contains("has no key for this vault")
            && run.stderr.contains("--passphrase-file"),
        "{}",
        run.stderr
    );
    assert_eq!(
        env.run_pw(&["get", "a", "--field", "key"], "").ok().stdout,
        "v-456\n"
    );
    // rekey with the keyring working re-seals the vault to it.
    env.run_pw(&["rekey"], "").ok();
    assert_eq!(
        env.run(&["get", "a", "--field", "key"], "").ok().stdout,
        "v-456\n"
    );
}

#[test]
fn a_keyring_only_vault_without_its_entry_says_so() {
    if !keyring_expected() {
        return skip("a_keyring_only_vault_…", "COFFER_TEST_KEYRING is not 1");
    }
    let env = Env::new();
    let run = env.run(&["init", "--no-passphrase"], "").ok();
    assert!(
        run.stdout.contains("recovery passphrase: NONE"),
        "{}",
        run.stdout
    );
    SecretService::connect()
        .expect("keyring")
        .remove(&env.vault_id())
        .expect("remove entry");
    let run = env.run_pw(&["list"], "").code(5);
    assert!(
        run.stderr.contains("no recovery passphrase"),
        "{}",
        run.stderr
    );
}

/// A private bus that has no Secret Service and cannot activate one.
struct BareBus {
    child: Child,
    address: String,
}

impl BareBus {
    fn start(dir: &std::path::Path) -> Option<BareBus> {
        let dbus = ["/usr/bin/dbus-daemon", "/bin/dbus-daemon"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())?;
        let config = dir.join("bare-bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>"#,
                dir.display()
            ),
        )
        .ok()?;
        let mut child = Command::new(dbus)
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take()?)
            .read_line(&mut line)
            .ok()?;
        Some(BareBus {
            child,
            address: line.trim().to_owned(),
        })
    }
}

impl Drop for BareBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_bus_without_a_secret_service_exits_5() {
    let mut env = Env::new();
    let Some(bus) = BareBus::start(env.dir.path()) else {
        assert!(
            !keyring_expected(),
            "dbus-daemon is required by the full test run"
        );
        return skip("a_bus_without_a_secret_service_exits_5", "no dbus-daemon");
    };
    env.extra_env
        .push(("DBUS_SESSION_BUS_ADDRESS".into(), bus.address.clone()));
    let run = env.run(&["init", "--passphrase-stdin"], PASSPHRASE).code(5);
    assert!(
        run.stderr.contains("no Secret Service provider"),
        "{}",
        run.stderr
    );
    env.run(&["init", "--no-keyring", "--passphrase-stdin"], PASSPHRASE)
        .ok();
    let doctor = env.run(&["doctor", "--json"], "").code(3).json();
    let backend = doctor["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "keyring backend")
        .expect("backend check")
        .clone();
    assert_eq!(backend["status"], "fail");
    assert!(backend["fix"]
        .as_str()
        .expect("fix")
        .contains("gnome-keyring"));
}

/// `rekey` after a suspected leak, against the real Secret Service: the
/// keyring holds a new key (the old one opens nothing), the recovery
/// passphrase changes in the same step, and no `.next` entry is left.
#[test]
fn rekey_mints_a_new_keyring_key_and_changes_the_passphrase() {
    if !keyring_expected() {
        return skip("rekey_mints_…", "COFFER_TEST_KEYRING is not 1");
    }
    // About unlocking: without an agent (which would answer unlocked).
    let env = Env::new().without_agent();
    env.init_keyring();
    env.run(&["add", "a", "--kind", "api-key"], r#"{"key": "v-789"}"#)
        .ok();
    let keyring = SecretService::connect().expect("keyring");
    let id = env.vault_id();
    let old = keyring.load(&id).expect("load").expect("entry");
    let new_pw = "an entirely new recovery passphrase, 2026";
    env.run_pw(&["rekey", "--new-passphrase-stdin"], new_pw)
        .ok();
    let new = keyring.load(&id).expect("load").expect("entry");
    // Compared without printing: a failure must not show key bytes.
    assert!(
        old.expose_secret() != new.expose_secret(),
        "the keyring key changed"
    );
    assert!(keyring.load(&format!("{id}.next")).expect("load").is_none());
    assert_eq!(
        env.run(&["get", "a", "--field", "key"], "").ok().stdout,
        "v-789\n"
    );
    // The old passphrase no longer opens it; the new one does.
    keyring
        .store(&id, &old)
        .expect("put the old keyring key back");
    let run = env.run_pw(&["get", "a", "--field", "key"], "");
    assert_ne!(
        run.code, 0,
        "the old keyring key and passphrase open nothing"
    );
    // Without a keyring entry the new passphrase opens it.
    keyring.remove(&id).expect("remove");
    std::fs::write(&env.passphrase_file, format!("{new_pw}\n")).expect("write");
    assert_eq!(
        env.run_pw(&["get", "a", "--field", "key"], "").ok().stdout,
        "v-789\n"
    );
    keyring.store(&id, &new).expect("restore");
}
