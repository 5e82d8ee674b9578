// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// Every heap block is wiped when it is freed, as in the CLI: secret values
/// pass through buffers Coffer does not own (IPC serialisation, the
/// clipboard's copy, HTTP bodies in the sync clients).
#[global_allocator]
static ALLOC: zeroizing_alloc::ZeroAlloc<std::alloc::System> =
    zeroizing_alloc::ZeroAlloc(std::alloc::System);

fn main() {
    coffer_desktop::run();
}
