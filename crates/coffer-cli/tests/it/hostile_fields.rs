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
