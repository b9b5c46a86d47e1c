//! Which model runs when the user named none: the measured defaults (see ARCHITECTURE.md).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use tingji_llm::provider::BUILTIN;
use tingji_llm::{ChatModel, HttpChat, LlmError, LocalChat, ProviderConfig};
use tingji_models::{DownloadProgress, DownloadSource, ModelStore};

use crate::{Result, WorkflowError, paths};

/// Whisper models for files, best first.
const WHISPER_PREFERENCE: &[&str] = &["base-q8_0", "base", "base.en", "small", "tiny.en", "tiny"];

/// The first of `prefs` that is installed.
pub fn first_installed(store: &ModelStore, prefs: &[&str]) -> Result<Option<String>> {
    let installed = store.list()?;
    Ok(prefs.iter().find(|p| installed.iter().any(|m| m.name == **p)).map(|p| p.to_string()))
}

/// The whisper model used for files when none is named: the best installed of the defaults.
pub fn default_whisper_model(store: &ModelStore) -> Result<String> {
    if let Some(m) = first_installed(store, WHISPER_PREFERENCE)? {
        return Ok(m);
    }
    if let Some(m) = store.list()?.first() {
        return Ok(m.name.clone());
    }
    Err(WorkflowError::NoWhisperModel(store.root().display().to_string()))
}

/// The live-caption model: tiny.en for English (fast enough on 2 cores), else the smallest
/// multilingual one installed.
pub fn live_model_for(store: &ModelStore, language: &str) -> Result<String> {
    let prefs: &[&str] = if language == "en" { &["tiny.en", "tiny", "base.en", "base-q8_0", "base"] } else { &["tiny", "base-q8_0", "base"] };
    match first_installed(store, prefs)? {
        Some(m) => Ok(m),
        None => default_whisper_model(store),
    }
}

/// Installed built-in GGUF models, sorted by path.
pub fn installed_gguf() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(paths::llm_dir())
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "gguf")).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The GGUF the built-in provider runs: `name` (an installed name or a path), else the best installed.
pub fn builtin_gguf(name: Option<&str>) -> Result<PathBuf> {
    let dir = paths::llm_dir();
    if let Some(n) = name {
        let p = Path::new(n);
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        let f = dir.join(format!("{n}.gguf"));
        if f.is_file() {
            return Ok(f);
        }
        return Err(LlmError::ModelMissing(format!("{n} (looked in {})", dir.display())).into());
    }
    let installed = installed_gguf();
    // The catalog is in order of preference: measured on 2 cores, the 1.5B model writes usable
    // drafts and the 0.5B one is fast but names wrong owners (see ARCHITECTURE.md).
    for pref in tingji_models::gguf_catalog() {
        if let Some(p) = installed.iter().find(|p| p.file_stem().is_some_and(|s| s == pref.name)) {
            return Ok(p.clone());
        }
    }
    installed.into_iter().next().ok_or_else(|| {
        LlmError::ModelMissing(format!(
            "no built-in model in {}: download one in Settings → \"AI notes model\" or with `tingji llm download` ({:.1} GB), import a GGUF you have with `tingji llm import FILE.gguf`, or choose a provider with a server",
            dir.display(),
            tingji_models::gguf_catalog()[0].size_bytes as f64 / 1e9
        ))
        .into()
    })
}

/// The downloadable built-in models, best first, each with whether it is installed.
pub fn builtin_catalog() -> Vec<(&'static tingji_models::GgufEntry, bool)> {
    let installed = installed_gguf();
    tingji_models::gguf_catalog().iter().map(|e| (e, installed.iter().any(|p| p.file_stem().is_some_and(|s| s == e.name)))).collect()
}

/// Downloads built-in chat model `name` (default: the catalog's first, the built-in default)
/// into the built-in models folder; see [`tingji_models::download_gguf`].
pub fn download_builtin(
    name: Option<&str>,
    source: &DownloadSource,
    progress: &mut dyn FnMut(DownloadProgress),
    cancel: &AtomicBool,
) -> Result<PathBuf> {
    let name = name.unwrap_or(tingji_models::gguf_catalog()[0].name);
    Ok(tingji_models::download_gguf(&paths::llm_dir(), name, source, progress, cancel)?)
}

/// Which chat model writes the notes. `None`/empty fields take the defaults.
#[derive(Debug, Clone, Default)]
pub struct LlmChoice {
    /// "builtin" or a provider preset id; None = built-in.
    pub provider: Option<String>,
    pub model: Option<String>,
    pub base_url: Option<String>,
    /// The model's context window in tokens (built-in default 4096).
    pub context: Option<usize>,
    /// CPU threads for the built-in model (default: all cores, at most 8).
    pub threads: Option<u32>,
}

/// The chat model `choice` selects: the built-in local model or an OpenAI-compatible server.
pub fn chat_model(choice: &LlmChoice) -> Result<Box<dyn ChatModel>> {
    let provider = choice.provider.as_deref().filter(|p| !p.is_empty()).unwrap_or(BUILTIN);
    let model = choice.model.as_deref().filter(|m| !m.is_empty());
    if provider == BUILTIN {
        let path = builtin_gguf(model)?;
        let threads = choice.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(2).min(8));
        let ctx = choice.context.unwrap_or(4096);
        return Ok(Box::new(LocalChat::new(&path, ctx, threads)?));
    }
    let base_url = choice.base_url.as_deref().filter(|u| !u.is_empty());
    let mut cfg = ProviderConfig::new(provider, base_url, model, None)?;
    cfg.context_tokens = choice.context;
    Ok(Box::new(HttpChat::new(cfg)?))
}
