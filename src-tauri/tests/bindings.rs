//! `ui/src/bindings.ts` is generated from the commands and types; it must match them.

#[test]
fn ui_bindings_are_generated_from_the_current_commands() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/bindings.ts");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("bindings.ts");
    tingji_app::write_bindings(&fresh).unwrap();
    let now = std::fs::read_to_string(&fresh).unwrap();
    assert!(now.contains("importFiles") && now.contains("export type JobEvent"), "the generator lost commands or types");
    assert!(on_disk == now, "ui/src/bindings.ts is stale: run `cargo run -p tingji-app -- --write-bindings` and commit it");
}
