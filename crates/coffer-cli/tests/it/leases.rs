//! `vault-lease` credentials with `coffer exec`, against OpenBao's database
//! secrets engine configured on the test run's PostgreSQL: the role Vault
//! makes exists while the command runs, outlives its first TTL because
//! Coffer renews the lease (no more than once per half TTL), and is gone
//! when the command ends, after SIGTERM to Coffer too; after kill -9 the
//! lease is left behind, `coffer status` says so and revokes it.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::postgres::{pg, Pg};
use crate::remotes::{bao, http, unique};
use crate::support::*;

/// TTL of a lease the test's role hands out, in seconds.
const TTL: u64 = 4;

struct Setup {
    env: Env,
    pg: Pg,
    dir: tempfile::TempDir,
}

fn setup(test: &str) -> Option<Setup> {
    let pg = pg(test)?;
    let (addr, root) = bao(test)?;
    let tag = unique("lease");
    let mount = format!("db-{}", tag.trim_end_matches('/'));
    let (s, v) = http(
        "POST",
        &addr,
        &format!("sys/mounts/{mount}"),
        &root,
        Some(json!({"type": "database"})),
    );
    assert!(s == 204 || s == 200, "{v}");
    let (s, v) = http(
        "POST",
        &addr,
        &format!("{mount}/config/pg"),
        &root,
        Some(json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": format!("postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{}/postgres?sslmode=disable", pg.port),
            "username": "postgres",
            "password": pg.superpass,
            "allowed_roles": "*",
        })),
    );
    assert!(s == 204 || s == 200, "{v}");
    let (s, v) = http(
        "POST",
        &addr,
        &format!("{mount}/roles/ro"),
        &root,
        Some(json!({
            "db_name": "pg",
            "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"],
            "default_ttl": format!("{TTL}s"),
            "max_ttl": "120s",
        })),
    );
    assert_eq!(s, 204, "{v}");
    // The remote's login may read leases there, renew and revoke them.
    let pname = format!("p-{}", tag.trim_end_matches('/'));
    let (s, v) = http(
        "PUT",
        &addr,
        &format!("sys/policies/acl/{pname}"),
        &root,
        Some(json!({ "policy": format!(
            "path \"{mount}/creds/ro\" {{ capabilities = [\"read\"] }}\n\
             path \"sys/leases/renew\" {{ capabilities = [\"update\"] }}\n\
             path \"sys/leases/revoke\" {{ capabilities = [\"update\"] }}\n"
        ) })),
    );
    assert_eq!(s, 204, "{v}");
    let (_, v) = http(
        "POST",
        &addr,
        "auth/token/create-orphan",
        &root,
        Some(json!({"policies": [pname], "ttl": "1h"})),
    );
    let token = v["auth"]["client_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let env = Env::passphrase_vault().with_bao_remote(&addr, &token, &tag);
    let path = format!("path={mount}/creds/ro");
    env.run_pw(
        &[
            "add",
            "db/lease",
            "--kind",
            "vault-lease",
            "--field",
            "remote=bao",
            "--field",
            &path,
            "--field",
            "env=username=PGUSER password=PGPASSWORD",
        ],
        "",
    )
    .ok();
    let dir = tempfile::tempdir().expect("tempdir");
    Some(Setup { env, pg, dir })
}

impl Setup {
    /// `coffer exec db/lease -- sh -c SCRIPT`, started; the script has
    /// $PSQL and the database's address, and Coffer gives it PGUSER and
    /// PGPASSWORD.
    fn exec(&self, script: &str) -> Child {
        let file = self.env.passphrase_file.display().to_string();
        self.env
            .command(&[
                "--passphrase-file",
                &file,
                "exec",
                "db/lease",
                "--",
                "sh",
                "-c",
                script,
            ])
            .env("PSQL", &self.pg.psql)
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", self.pg.port.to_string())
            .env("PGDATABASE", "postgres")
            .env("OUT", self.dir.path())
            .spawn()
            .expect("coffer exec")
    }

    fn role_exists(&self, role: &str) -> bool {
        self.pg.admin(&format!(
            "SELECT count(*) FROM pg_roles WHERE rolname = '{role}'"
        )) == "1"
    }

    /// Runs a command under a lease and kills Coffer with -9 (and the
    /// command after it): the lease is left behind. Its role's name.
    fn leave_one_behind(&self) -> String {
        let mut child = self.exec(r#"echo "$PGUSER" > "$OUT/user"; exec sleep 60"#);
        let role = self.role();
        let command = Command::new("pgrep")
            .args(["-P", &child.id().to_string()])
            .output()
            .expect("pgrep");
        signal(&child, "-KILL");
        let _ = child.wait();
        for pid in String::from_utf8_lossy(&command.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
        role
    }

    /// The role name the command wrote, once it did.
    fn role(&self) -> String {
        let path = self.dir.path().join("user");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = std::fs::read_to_string(&path) {
                if text.ends_with('\n') {
                    return text.trim().to_owned();
                }
            }
            assert!(Instant::now() < deadline, "the command never started");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn until_gone(&self, role: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.role_exists(role) {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        true
    }

    fn lease_entries(&self) -> Vec<Value> {
        let all = self
            .env
            .run_pw(&["audit", "--credential", "db/lease", "--json"], "")
            .ok()
            .json();
        let mut out: Vec<Value> = all
            .as_array()
            .expect("array")
            .iter()
            .filter(|e| e["action"] == "lease")
            .cloned()
            .collect();
        out.reverse();
        out
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

#[test]
fn a_lease_lives_while_the_command_runs_is_renewed_past_its_ttl_and_revoked_after() {
    let Some(s) = setup("a_lease_lives_while_the_command_runs…") else {
        return;
    };
    let started = Instant::now();
    let child = s.exec(
        r#"echo "$PGUSER" > "$OUT/user"; sleep 9; "$PSQL" -X -w -tA -c 'SELECT current_user' > "$OUT/late" 2>&1"#,
    );
    let role = s.role();
    assert!(role.starts_with("v-"), "a role Vault made: {role}");
    assert!(
        s.role_exists(&role),
        "the role exists while the command runs"
    );
    std::thread::sleep(Duration::from_secs(TTL + 2));
    assert!(s.role_exists(&role), "past its first TTL, renewed");
    let out = child.wait_with_output().expect("wait");
    let held = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let late = std::fs::read_to_string(s.dir.path().join("late")).expect("late");
    assert_eq!(late.trim(), role, "the lease's values log in after 9 s");
    assert!(
        s.until_gone(&role),
        "the role is gone once the command ended"
    );
    let entries = s.lease_entries();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0]["details"]["lease"], "issued");
    assert_eq!(entries[0]["details"]["program"], "sh");
    assert_eq!(entries[1]["details"]["lease"], "revoked");
    let renewals = entries[1]["details"]["renewals"]
        .as_u64()
        .expect("renewals");
    let most = held.as_secs() / (TTL / 2) + 1;
    assert!(
        (1..=most).contains(&renewals),
        "{renewals} renewals in {held:?}: at most one per half TTL"
    );
    let status = s.env.run_pw(&["status"], "").ok();
    assert!(!status.stdout.contains("Vault leases"), "{}", status.stdout);
}

#[test]
fn sigterm_to_coffer_revokes_the_lease_and_kill_9_leaves_one_that_status_revokes() {
    let Some(s) = setup("sigterm_to_coffer_revokes_the_lease…") else {
        return;
    };
    // SIGTERM: passed to the command, which ends; then the lease is revoked.
    let child = s.exec(r#"echo "$PGUSER" > "$OUT/user"; exec sleep 60"#);
    let role = s.role();
    assert!(s.role_exists(&role));
    signal(&child, "-TERM");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(128 + 15), "{out:?}");
    assert!(s.until_gone(&role), "revoked after SIGTERM");

    // kill -9: Coffer cannot revoke; the lease is left behind and listed.
    std::fs::remove_file(s.dir.path().join("user")).expect("rm");
    let role = s.leave_one_behind();
    assert!(s.role_exists(&role), "the lease outlives a killed Coffer");
    let status = s.env.run_pw(&["status"], "").code(3);
    assert!(status.stdout.contains("LEFT BEHIND"), "{}", status.stdout);
    let revoked = s.env.run_pw(&["status", "--revoke-leases"], "");
    assert!(
        revoked.stderr.contains("Revoked the lease of db/lease"),
        "{}",
        revoked.stderr
    );
    assert!(s.until_gone(&role), "status revoked it");
    let status = s.env.run_pw(&["status"], "").ok();
    assert!(!status.stdout.contains("Vault leases"), "{}", status.stdout);
    let hows: Vec<String> = s
        .lease_entries()
        .iter()
        .map(|e| e["details"]["lease"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        hows,
        vec!["issued", "revoked", "issued", "revoked (left behind)"]
    );

    // Left behind once more: revoke-all of the credential's tag revokes it
    // (and marks the credential compromised, as any it picks).
    s.env
        .run_pw(&["edit", "db/lease", "--tag", "leased"], "")
        .ok();
    std::fs::remove_file(s.dir.path().join("user")).expect("rm");
    let role = s.leave_one_behind();
    assert!(s.role_exists(&role));
    let revoked = s
        .env
        .run_pw(&["revoke-all", "--tag", "leased", "--yes"], "")
        .ok();
    assert!(
        revoked.stdout.contains("1 lease(s) revoked")
            || revoked.stderr.contains("1 lease(s) revoked"),
        "{} {}",
        revoked.stdout,
        revoked.stderr
    );
    assert!(s.until_gone(&role), "revoke-all revoked it");
}
