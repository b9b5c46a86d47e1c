//! ONNX Runtime, loaded once per process from the shared library the app ships.
//!
//! One onnxruntime per process: the first successful load wins and later calls reuse it. The
//! library is looked for in `$TINGJI_ONNXRUNTIME` (a file), then beside the executable and in
//! `../lib/tingji/` from it (where the .deb puts it), so no `LD_LIBRARY_PATH` is needed.

use std::path::{Path, PathBuf};

/// The library loaded, if any (for `tingji models list` and error messages).
pub fn loaded_path() -> Option<&'static Path> {
    LOADED.get().and_then(|r| r.as_ref().ok()).map(|(p, _)| p.as_path())
}
use std::sync::OnceLock;

use crate::DiarizeError;

/// The file name ONNX Runtime's shared library has on this platform.
pub const LIB_NAME: &str = if cfg!(windows) {
    "onnxruntime.dll"
} else if cfg!(target_os = "macos") {
    "libonnxruntime.dylib"
} else {
    "libonnxruntime.so"
};

/// Where the library is looked for, in order.
pub fn candidates() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = std::env::var_os("TINGJI_ONNXRUNTIME").filter(|p| !p.is_empty()) {
        v.push(PathBuf::from(p));
    }
    if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        v.push(dir.join(LIB_NAME));
        v.push(dir.join("../lib/tingji").join(LIB_NAME));
    }
    v
}

/// The library's path and the process-wide environment every session uses.
static LOADED: OnceLock<Result<(PathBuf, ort::environment::Environment), String>> = OnceLock::new();

/// Loads ONNX Runtime (once) and returns its environment; names every place looked at when the
/// library is found nowhere.
pub fn ensure() -> Result<&'static ort::environment::Environment, DiarizeError> {
    let r = LOADED.get_or_init(|| {
        let tried = candidates();
        for p in &tried {
            if !p.is_file() {
                continue;
            }
            return ort::init_from(p)
                .map_err(|e| e.to_string())
                .and_then(|b| b.with_name("tingji").build().map_err(|e| e.to_string()))
                .map(|env| (p.clone(), env))
                .map_err(|e| format!("{}: {e}", p.display()));
        }
        Err(format!(
            "{LIB_NAME} not found (looked at {}); set TINGJI_ONNXRUNTIME to its path",
            tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        ))
    });
    match r {
        Ok((_, env)) => Ok(env),
        Err(e) => Err(DiarizeError::Runtime(e.clone())),
    }
}
