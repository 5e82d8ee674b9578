fn main() {
    // Capabilities live in src-tauri/ (the root holds only the config), and
    // every app command gets an explicit allow-* permission to grant.
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("./src-tauri/capabilities/**/*")
            .app_manifest(tauri_build::AppManifest::new().commands(&[
                "vault_status",
                "vault_unlock",
                "vault_lock",
            ])),
    )
    .expect("tauri-build failed");
}
