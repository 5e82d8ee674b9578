//! Writes the TypeScript side of the IPC contract, `ui/src/lib/contract.ts`,
//! from the types in `dto.rs` (and the core enums they carry), and fails
//! when the committed file differs from what the Rust types say. Run with
//! `COFFER_WRITE_CONTRACT=1` to rewrite the file after changing a DTO.

use coffer_core::rotation::run::{Flow, Step};
use coffer_core::rotation::State;
use coffer_core::{sync, Kind};
use ts_rs::TS;

use crate::dto::*;
use crate::error::ErrorCode;

const PATH: &str = "ui/src/lib/contract.ts";

const HEADER: &str = "\
// The types the Rust shell and the web view exchange, generated from
// src-tauri/src/dto.rs by the test in src-tauri/src/contract.rs. Do not edit:
// change the Rust type and run
//   COFFER_WRITE_CONTRACT=1 cargo test --workspace --lib contract
// Field names are as on the wire (camelCase); times are RFC 3339 strings (UTC).
";

/// `export type Name = …;` for one type, with its doc comment.
fn declare<T: TS>() -> String {
    let docs = T::docs()
        .map(|d| format!("{}\n", d.trim_end()))
        .unwrap_or_default();
    format!("{docs}export {}\n", T::decl())
}

fn contract() -> String {
    let declarations = [
        // Vault and passphrases.
        declare::<VaultState>(),
        declare::<VaultStatus>(),
        declare::<StrengthView>(),
        // Credentials.
        declare::<Kind>(),
        declare::<FieldFormat>(),
        declare::<FieldSchema>(),
        declare::<KindSchema>(),
        declare::<State>(),
        declare::<RotationView>(),
        declare::<Summary>(),
        declare::<FindQuery>(),
        declare::<FacetsView>(),
        declare::<FindPage>(),
        declare::<Field>(),
        declare::<SecretField>(),
        declare::<RemoteType>(),
        declare::<Binding>(),
        declare::<PolicyView>(),
        declare::<ArrivalView>(),
        declare::<SessionView>(),
        declare::<LeaseView>(),
        declare::<Detail>(),
        declare::<CredentialInput>(),
        declare::<CredentialEdit>(),
        declare::<HistoryEntry>(),
        declare::<HistoryPage>(),
        declare::<TrashEntry>(),
        declare::<FolderView>(),
        declare::<ImportPreview>(),
        declare::<ImportDone>(),
        declare::<CharsetName>(),
        // Rotation.
        declare::<Step>(),
        declare::<Flow>(),
        declare::<StepState>(),
        declare::<StepView>(),
        declare::<RunOutcome>(),
        declare::<RunView>(),
        declare::<GenerateInput>(),
        declare::<AdvanceInput>(),
        declare::<RotationProgress<'static>>(),
        // Audit.
        declare::<AuditRow>(),
        declare::<AuditFilter>(),
        declare::<Verification>(),
        // Settings and backups.
        declare::<ScopeView>(),
        declare::<PolicyRow>(),
        declare::<SettingsView>(),
        declare::<PreferencesInput>(),
        declare::<BackupSummary>(),
        // Remotes and sync.
        declare::<ScopeInput>(),
        declare::<RemoteRow>(),
        declare::<RemoteInput>(),
        declare::<CheckRow>(),
        declare::<sync::State>(),
        declare::<PlanItem>(),
        declare::<PlanView>(),
        declare::<Direction>(),
        declare::<Keep>(),
        declare::<DoneRow>(),
        declare::<ReportView>(),
        declare::<ProgressEvent<'static>>(),
        declare::<SecretFieldDiff>(),
        declare::<SideView>(),
        declare::<ConflictView>(),
        // The approval window.
        declare::<ApprovalView>(),
        declare::<ApprovalAnswer>(),
        // Errors.
        declare::<ErrorCode>(),
    ];
    format!("{HEADER}\n{}", declarations.join("\n"))
}

#[test]
fn the_typescript_contract_is_generated_from_the_dto_module() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(PATH);
    let wanted = contract();
    if std::env::var_os("COFFER_WRITE_CONTRACT").is_some() {
        std::fs::write(&path, &wanted).expect("write the contract");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == wanted,
        "{PATH} does not match the Rust types in src-tauri/src/dto.rs; \
         run COFFER_WRITE_CONTRACT=1 cargo test --workspace --lib contract"
    );
}
