//! Where the app keeps things. `$TINGJI_DATA_DIR` moves all data (scripts and tests use it);
//! `$TINGJI_CONFIG_DIR` moves the config (templates, app settings).

use std::path::{Path, PathBuf};

use tingji_models::ModelStore;

/// The data folder: the parent of the whisper model store (`<data>/models`).
pub fn data_dir(store: &ModelStore) -> PathBuf {
    store.root().parent().map(Path::to_path_buf).unwrap_or_else(|| store.root().to_path_buf())
}

/// `$TINGJI_DATA_DIR/library`, else the platform data directory + `/library`
/// (`~/.local/share/tingji/library` on Linux); `./tingji-data/library` if there is no home.
pub fn library_root() -> PathBuf {
    tingji_library::default_root().unwrap_or_else(|| PathBuf::from("tingji-data").join("library"))
}

/// Checkpoints of unfinished transcriptions and diarizations: `<data>/jobs` (a killed or
/// cancelled job resumes from there).
pub fn jobs_dir(store: &ModelStore) -> PathBuf {
    data_dir(store).join("jobs")
}

/// New recordings: `<data>/recordings`.
pub fn recordings_dir(store: &ModelStore) -> PathBuf {
    data_dir(store).join("recordings")
}

/// Built-in GGUF chat models: `<data>/llm`.
pub fn llm_dir() -> PathBuf {
    let store = ModelStore::open_default().ok();
    store.map(|s| data_dir(&s)).unwrap_or_else(|| PathBuf::from(".")).join("llm")
}

/// `$TINGJI_CONFIG_DIR`, else the platform config directory (`~/.config/tingji`).
pub fn config_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TINGJI_CONFIG_DIR") {
        return PathBuf::from(d);
    }
    directories::ProjectDirs::from("", "", "tingji").map(|d| d.config_dir().to_path_buf()).unwrap_or_else(|| PathBuf::from(".tingji"))
}
