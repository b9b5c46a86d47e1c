//! Tingji's desktop app: a thin Tauri shell. `commands` are the IPC surface (typed through
//! tauri-specta into `ui/src/bindings.ts`), `worker` runs every long job on one dedicated
//! thread, `record` drives the core recorder, `speakers` holds the speaker and voiceprint
//! commands. The UI (`ui/`) is built into the binary.

pub mod api;
pub mod commands;
pub mod error;
pub mod record;
pub mod settings;
pub mod speakers;
pub mod worker;

use std::sync::Arc;

use tauri::Manager;

/// The typed command set; also what `bindings.ts` is generated from.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    use commands::*;
    use speakers::*;
    tauri_specta::Builder::<tauri::Wry>::new().dangerously_cast_bigints_to_number().disable_serde_phases().commands(tauri_specta::collect_commands![
        app_info,
        get_settings,
        save_settings,
        provider_presets,
        set_api_key,
        test_connection,
        whisper_catalog,
        download_whisper_model,
        llm_catalog,
        download_llm_model,
        speaker_models,
        download_speaker_models,
        import_whisper_model,
        delete_whisper_model,
        list_meetings,
        search_meetings,
        get_meeting,
        rename_meeting,
        set_folder,
        set_tags,
        delete_meeting,
        rename_speaker,
        merge_speakers,
        list_voiceprints,
        rename_voiceprint,
        merge_voiceprints,
        forget_voiceprint,
        rediarize_meeting,
        edit_segment,
        set_user_notes,
        set_action_done,
        add_mark,
        set_current_version,
        waveform,
        import_files,
        retranscribe,
        cancel_job,
        generate_notes,
        ask_meeting,
        export_formats,
        export_meeting,
        list_devices,
        start_recording,
        pause_recording,
        resume_recording,
        mark_recording,
        stop_recording,
        recover_recordings,
    ])
}

/// Writes the TypeScript bindings (`ui/src/bindings.ts`) for the commands and types as they are now.
/// Ids and times are `number`s: none of them comes near 2^53.
pub fn write_bindings(path: &std::path::Path) -> Result<(), String> {
    let ts = specta_typescript::Typescript::default()
        .header("// Generated from src-tauri by `tingji-app --write-bindings`; do not edit (a test fails when it is stale).\n/* eslint-disable */");
    specta_builder().export(ts, path).map_err(|e| e.to_string())
}

/// Runs the app.
pub fn run() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TINGJI_LOG").unwrap_or_else(|_| "warn,whisper_rs=off,pulseaudio=off".into()),
        )
        .init();
    let builder = specta_builder();
    let library_root = tingji_workflow::paths::library_root();
    let state = Arc::new(commands::AppState::new(library_root.clone(), settings::path()));
    tauri::Builder::default()
        .invoke_handler(builder.invoke_handler())
        .manage(state)
        .setup(move |app| {
            builder.mount_events(app);
            // The player reads the library's audio through the asset protocol: that folder only.
            std::fs::create_dir_all(&library_root)?;
            app.asset_protocol_scope().allow_directory(&library_root, true)?;
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("running the Tingji window");
}
