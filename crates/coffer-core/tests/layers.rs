//! The import rules of the workspace, checked from the sources: inside
//! `coffer-core` no module imports from a layer above its own (base ← store ←
//! audit ← vault ← features; among features only the edges listed in
//! `FEATURE_EDGES`), and no crate of the workspace has an import circle
//! between its modules. Test code (`#[cfg(test)]` modules, `*_tests.rs`) is
//! left out: a test may reach anywhere.
//!
//! The scan is textual (`crate::…`, `super::…` and `use` groups), which is
//! exact for this code base's style: `mod` declarations and `pub use`
//! re-exports are not dependencies, everything else naming a module is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The core's layers, lowest first, and the modules in each. A module not
/// listed is a feature.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "base",
        &[
            "secret",
            "error",
            "crypto",
            "fsx",
            "seal",
            "kind",
            "credential",
            "policy",
            "paths",
            "strength",
            "input",
            "runtime",
            "time",
            "totp",
            "par",
            "bounds",
            "process",
            "away",
        ],
    ),
    ("store", &["store", "sealed", "rows", "slot", "keys"]),
    ("audit", &["audit"]),
    ("vault", &["vault", "vault::trail", "search"]),
];

/// The only imports allowed from one feature to another (by top module).
const FEATURE_EDGES: &[(&str, &str)] = &[
    ("sync", "settings"),
    ("rotation", "settings"),
    ("rotation", "sync"),
    ("preferences", "settings"),
    ("access", "settings"),
    // The agent applies the access rules to what it hands out.
    ("agent", "access"),
    // ... and serves `status`, with where each running rotation is.
    ("agent", "rotation"),
    // Sessions are made with the STS client the AWS rotation uses.
    ("sessions", "rotation"),
    // A credential's page shows its kept session and a role's chain.
    ("overview", "sessions"),
    // The agent makes and keeps them, so the key stays in it.
    ("agent", "sessions"),
    // Leases are read through a remote's login (the sync's Vault client);
    // the agent lists them for `status`.
    ("leases", "sync"),
    // Its values become variables as other credentials' do.
    ("leases", "envmap"),
    ("agent", "leases"),
    // The emergency revoke spans them: the providers' calls, the leases
    // recorded, the roles a key's chains assume.
    ("revoke", "rotation"),
    ("revoke", "leases"),
    ("revoke", "sessions"),
    ("transfer", "envmap"),
    ("overview", "rotation"),
    ("overview", "sync"),
    // The fuzz hooks reach the decoders they exercise.
    ("fuzz_hooks", "backup"),
    ("fuzz_hooks", "sync"),
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `(module path, source without its test code)` of every file under `src`.
fn modules(src: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(src)
                .expect("below src")
                .to_string_lossy()
                .into_owned();
            if !rel.ends_with(".rs") || rel.ends_with("tests.rs") || rel.starts_with("bin/") {
                continue;
            }
            let module = rel
                .trim_end_matches(".rs")
                .trim_end_matches("/mod")
                .replace('/', "::");
            if module == "lib" || module == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            out.push((module, without_tests(&text)));
        }
    }
    out.sort();
    out
}

/// The source up to its first `#[cfg(test)]` item (test code comes last in
/// this code base), without comments, `mod` lines and `pub use` re-exports.
fn without_tests(text: &str) -> String {
    let mut kept = String::new();
    let mut in_reexport = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            break;
        }
        if in_reexport {
            in_reexport = !t.contains(';');
            continue;
        }
        if t.starts_with("pub use ") || t.starts_with("pub(crate) use ") {
            in_reexport = !t.contains(';');
            continue;
        }
        if t.starts_with("//")
            || t.starts_with("mod ")
            || t.starts_with("pub mod ")
            || t.starts_with("pub(crate) mod ")
        {
            continue;
        }
        kept.push_str(line.split("//").next().unwrap_or(""));
        kept.push('\n');
    }
    kept
}

fn ident(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// Expands `a::b::{c, d::{e}}`-style paths starting at `s` (just after a
/// `crate::` or `super::`) into full paths.
fn paths_at(s: &str, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let mut at = 0;
    let mut path = prefix.to_vec();
    loop {
        let rest = &s[at..];
        let trimmed = rest.trim_start();
        at += rest.len() - trimmed.len();
        if let Some(group) = trimmed.strip_prefix('{') {
            at += 1;
            let mut inner = group;
            loop {
                let used = paths_at(inner, &path, out);
                at += used;
                inner = &inner[used..];
                let t = inner.trim_start();
                at += inner.len() - t.len();
                inner = t;
                if let Some(r) = inner.strip_prefix(',') {
                    at += 1;
                    inner = r;
                    continue;
                }
                if inner.starts_with('}') {
                    at += 1;
                }
                return at;
            }
        }
        let (name, after) = ident(trimmed);
        if name.is_empty() {
            out.push(path);
            return at;
        }
        path.push(name.to_owned());
        at += name.len();
        if let Some(r) = after.strip_prefix("::") {
            at += 2;
            let _ = r;
            continue;
        }
        out.push(path);
        return at;
    }
}

/// The modules `module`'s source names, by their full path.
fn dependencies(module: &str, source: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = Vec::new();
    let bytes = source.as_bytes();
    for (i, _) in source.match_indices("crate::") {
        if i > 0
            && (bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b'$')
        {
            continue;
        }
        paths_at(&source[i + 7..], &[], &mut found);
    }
    // `super::` names the parent of a file module (`a::b` → `a`); in a
    // directory's `mod.rs` it would name the grandparent.
    let parent: Vec<String> = {
        let mut p: Vec<String> = module.split("::").map(str::to_owned).collect();
        p.pop();
        p
    };
    for (i, _) in source.match_indices("super::") {
        if i > 0
            && (bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b':')
        {
            continue;
        }
        paths_at(&source[i + 7..], &parent, &mut found);
    }
    found
        .into_iter()
        .filter_map(|path| {
            // The longest prefix of the path that is a module.
            (1..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|m| known.contains(m))
        })
        .filter(|m| m != module)
        .collect()
}

fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules(src);
    let known: BTreeSet<String> = mods.iter().map(|(m, _)| m.clone()).collect();
    mods.iter()
        .map(|(m, text)| (m.clone(), dependencies(m, text, &known)))
        .collect()
}

/// The strongly connected components of more than one module (Tarjan).
fn circles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on.insert(v);
        for w in s.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn layer_of(module: &str) -> (usize, &str) {
    for (i, (_, mods)) in LAYERS.iter().enumerate() {
        if mods.contains(&module) {
            return (i, module);
        }
    }
    (LAYERS.len(), module.split("::").next().unwrap_or(module))
}

/// Every import of the core that breaks the layer rule, as `from -> to`.
fn upward_imports(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut bad = Vec::new();
    for (from, tos) in g {
        let (lf, top_from) = layer_of(from);
        for to in tos {
            let (lt, top_to) = layer_of(to);
            let ok = if lf == LAYERS.len() && lt == LAYERS.len() {
                top_from == top_to || FEATURE_EDGES.contains(&(top_from, top_to))
            } else {
                lt <= lf
            };
            if !ok {
                bad.push(format!("{from} -> {to}"));
            }
        }
    }
    bad
}

#[test]
fn the_core_imports_only_downward() {
    let g = graph(&workspace().join("crates/coffer-core/src"));
    assert!(
        g.contains_key("vault") && g.contains_key("sync::engine"),
        "the scan found the modules"
    );
    let bad = upward_imports(&g);
    assert!(
        bad.is_empty(),
        "imports against the layer rule (see ARCHITECTURE.md):\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_crate_has_an_import_circle() {
    for src in [
        "crates/coffer-core/src",
        "crates/coffer-cli/src",
        "src-tauri/src",
    ] {
        let g = graph(&workspace().join(src));
        assert!(g.len() > 5, "{src}: the scan found its modules");
        let found = circles(&g);
        assert!(found.is_empty(), "{src}: import circles: {found:?}");
    }
}

#[test]
fn the_check_catches_a_planted_upward_import_and_a_circle() {
    let mut g = graph(&workspace().join("crates/coffer-core/src"));
    g.get_mut("crypto").expect("crypto").insert("vault".into());
    assert_eq!(upward_imports(&g), ["crypto -> vault"]);
    assert!(
        !circles(&g).is_empty(),
        "crypto -> vault -> crypto is a circle"
    );
    // And the parser reads nested `use` groups and `super::` paths.
    let known: BTreeSet<String> = ["a", "a::b", "c", "d"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let deps = dependencies(
        "a::x",
        "use crate::{a::b::{Thing, Other}, c};\nfn f() { super::b::g(); crate::d::h() }\n",
        &known,
    );
    assert_eq!(
        deps,
        ["a::b", "c", "d"].iter().map(|s| (*s).to_owned()).collect()
    );
}
