//! Fields that become process environment: a secret pulled from a shared
//! remote whose field names are loader and interpreter variables. None of
//! them is set by its name alone; an explicit mapping sets it, with a warning.

use serde_json::json;

use super::remotes::{bao, kv_put, unique};
use super::support::Env;

#[test]
fn a_pulled_loader_variable_is_never_set_by_its_field_name() {
    let Some((addr, root)) = bao("a_pulled_loader_variable_is_never_set_by_its_field_name") else {
        return;
    };
    let prefix = unique("steer");
    let env = Env::passphrase_vault().with_bao_remote(&addr, &root, &prefix);
    kv_put(
        &addr,
        &root,
        &format!("{prefix}shared/tool"),
        json!({
            "api_key": "k-1",
            "ld_preload": "/nonexistent/evil.so",
            "node_options": "--require /nonexistent/evil.js"
        }),
    );
    env.run_pw(&["sync", "pull", "bao"], "").ok();
    let shown = env
        .run_pw(&["show", "shared/tool", "--json"], "")
        .ok()
        .json();
    assert_eq!(shown["reviewed"], false, "{shown}");
    assert_eq!(shown["arrived"]["via"], "pull from remote 'bao'", "{shown}");
    for args in [
        &["exec", "shared/tool", "--", "printenv"][..],
        &["env", "shared/tool"],
    ] {
        let run = env.run_pw(args, "").code(2);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        assert!(
            run.stderr.contains("changes how programs load code")
                && run
                    .stderr
                    .contains("--env LD_PRELOAD=shared/tool/ld_preload"),
            "{args:?}: {}",
            run.stderr
        );
    }
    let trail = env.run_pw(&["audit", "--json"], "").ok().json();
    let revealing: Vec<&serde_json::Value> = trail
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["target"] == "shared/tool")
        .filter(|e| matches!(e["action"].as_str(), Some("exec" | "env_export" | "reveal")))
        .collect();
    assert!(
        revealing.is_empty(),
        "refused before anything was revealed: {revealing:?}"
    );

    // The person maps it on purpose: it is set, with a warning.
    let run = env
        .run_pw(
            &[
                "exec",
                "--no-defaults",
                "--env",
                "LD_PRELOAD=shared/tool/ld_preload",
                "shared/tool",
                "--",
                "sh",
                "-c",
                "printf %s \"$LD_PRELOAD\"",
            ],
            "",
        )
        .ok();
    assert_eq!(run.stdout, "/nonexistent/evil.so");
    assert!(run.stderr.contains("warning: LD_PRELOAD"), "{}", run.stderr);
}

/// A credential whose fields arrived by a pull is marked until a person has
/// seen it: `exec` says so, `show --json` reports it, `show` displays where
/// it came from and marks it reviewed (audited); a local edit is the
/// person's own version.
#[test]
fn pulled_and_imported_fields_are_marked_until_reviewed() {
    let source = crate::harness::fast_vault();
    source
        .run_pw(
            &["add", "imported/tool", "--kind", "api-key"],
            r#"{"key": "k-1"}"#,
        )
        .ok();
    let file = source.dir.path().join("out.json");
    let file = file.to_str().expect("path");
    source
        .run_pw(
            &[
                "export",
                "--format",
                "json",
                "--plaintext",
                "--output",
                file,
            ],
            "",
        )
        .ok();
    let env = crate::harness::fast_vault();
    env.run_pw(&["import", file, "--format", "json"], "").ok();
    let shown = env
        .run_pw(&["show", "imported/tool", "--json"], "")
        .ok()
        .json();
    assert_eq!(shown["reviewed"], false, "{shown}");
    assert!(
        shown["arrived"]["via"]
            .as_str()
            .is_some_and(|v| v.starts_with("import from")),
        "{shown}"
    );
    let run = env
        .run_pw(&["exec", "imported/tool", "--", "true"], "")
        .ok();
    assert!(
        run.stderr.contains("nobody has reviewed them"),
        "{}",
        run.stderr
    );
    let text = env.run_pw(&["show", "imported/tool"], "").ok().stdout;
    assert!(text.contains("arrived:  by import from"), "{text}");
    let shown = env
        .run_pw(&["show", "imported/tool", "--json"], "")
        .ok()
        .json();
    assert_eq!(shown["reviewed"], true, "{shown}");
    let run = env
        .run_pw(&["exec", "imported/tool", "--", "true"], "")
        .ok();
    assert!(!run.stderr.contains("reviewed"), "{}", run.stderr);
    let reviews = env
        .run_pw(&["audit", "--action", "review", "--json"], "")
        .ok()
        .json();
    assert_eq!(reviews.as_array().map(Vec::len), Some(1), "{reviews}");
    env.run_pw(&["audit", "verify"], "").ok();
}
