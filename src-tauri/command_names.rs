// The app's commands, read from the one place they are listed: the
// `generate_handler!` call in `src/lib.rs` (`commands::<file>::<name>,`
// lines). Included by build.rs (the allow-* permissions) and by the unit test
// in lib.rs that checks the capability file and the UI's IPC module.

fn command_names(lib_rs: &str) -> Vec<String> {
    let Some(start) = lib_rs.find("generate_handler![") else {
        return Vec::new();
    };
    let end = lib_rs[start..].find(']').map_or(lib_rs.len(), |e| start + e);
    lib_rs[start..end]
        .lines()
        .filter_map(|l| l.trim().strip_prefix("commands::"))
        .filter_map(|l| l.trim_end_matches(',').rsplit("::").next())
        .map(str::to_owned)
        .collect()
}
