include!("command_names.rs");

fn main() {
    println!("cargo::rerun-if-changed=src-tauri/src/lib.rs");
    println!("cargo::rerun-if-changed=src-tauri/capabilities");
    let lib = std::fs::read_to_string("src-tauri/src/lib.rs").expect("read src-tauri/src/lib.rs");
    let commands = command_names(&lib);
    assert!(
        !commands.is_empty(),
        "no commands found in generate_handler! of src-tauri/src/lib.rs"
    );
    // tauri-build keeps the list for the whole build: a build script may leak it.
    let names: &'static [&'static str] = Vec::leak(
        commands
            .into_iter()
            .map(|c| &*String::leak(c))
            .collect::<Vec<&'static str>>(),
    );
    // Capabilities live in src-tauri/ (the root holds only the config), and
    // every app command gets an explicit allow-* permission to grant.
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("./src-tauri/capabilities/**/*")
            .app_manifest(tauri_build::AppManifest::new().commands(names)),
    )
    .expect("tauri-build failed");
}
