//! The folder of installed ggml models (`{data dir}/models/ggml-{name}.bin`).

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::ModelError;
use crate::convert::{Quant, convert_ct2_to_ggml, inspect_ct2};
use crate::ggml::{WeightType, read_ggml_hparams};

/// Environment variable that overrides the data directory (models go to `$TINGJI_DATA_DIR/models`).
pub const DATA_DIR_ENV: &str = "TINGJI_DATA_DIR";

/// A ggml model file found in the store.
#[derive(Debug, Clone, Serialize)]
pub struct InstalledModel {
    /// `base`, `tiny.en`, `base-q8_0`, ... (the file is `ggml-{name}.bin`).
    pub name: String,
    pub path: PathBuf,
    /// File size in bytes.
    pub size: u64,
    /// The quantization, when it is one this crate can also produce; see `weight_type` for all.
    pub quant: Option<Quant>,
    /// Storage of the big matrices as read from the header (`f16`, `q8_0`, `q5_1`, ...).
    pub weight_type: WeightType,
    pub multilingual: bool,
    pub n_vocab: u32,
    pub n_audio_layer: u32,
    pub n_text_layer: u32,
}

/// Installed models live in `root` as `ggml-{name}.bin`; downloads in progress as
/// `ggml-{name}.bin.partial`.
#[derive(Debug, Clone)]
pub struct ModelStore {
    root: PathBuf,
}

/// Model names become file names: keep them to a safe alphabet.
pub(crate) fn validate_name(name: &str) -> Result<(), ModelError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with(['.', '-'])
        && !name.contains("..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(ModelError::InvalidName(name.to_string()))
    }
}

impl ModelStore {
    /// `$TINGJI_DATA_DIR/models` if that variable is set (and not empty), else the platform data
    /// directory of `directories::ProjectDirs::from("", "", "tingji")` + `/models`
    /// (`~/.local/share/tingji/models` on Linux). The folder is created on first write.
    pub fn open_default() -> Result<Self, ModelError> {
        if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
            return Ok(Self::at(PathBuf::from(dir).join("models")));
        }
        let dirs = directories::ProjectDirs::from("", "", "tingji").ok_or_else(|| {
            ModelError::NotFound(format!(
                "no home directory to keep models in; set {DATA_DIR_ENV}"
            ))
        })?;
        Ok(Self::at(dirs.data_dir().join("models")))
    }

    pub fn at(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where model `name` is (or would be) installed.
    pub fn model_path(&self, name: &str) -> PathBuf {
        self.root.join(format!("ggml-{name}.bin"))
    }

    pub(crate) fn partial_path(&self, name: &str) -> PathBuf {
        self.root.join(format!("ggml-{name}.bin.partial"))
    }

    /// Installed models, sorted by name. Files whose header is not a whisper ggml header are
    /// skipped (with a warning). A missing store folder is an empty list.
    pub fn list(&self) -> Result<Vec<InstalledModel>, ModelError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry?;
            let file_name = entry.file_name();
            let Some(fname) = file_name.to_str() else {
                continue;
            };
            let Some(name) = fname
                .strip_prefix("ggml-")
                .and_then(|s| s.strip_suffix(".bin"))
            else {
                continue;
            };
            let path = entry.path();
            if !path.is_file() {
                continue;
            }
            match describe(name, &path) {
                Ok(m) => out.push(m),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "skipping unreadable model file")
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// An existing file path is returned as is; otherwise `name_or_path` is taken as an
    /// installed model name (`base`, `tiny.en`, `base-q8_0`, or the file name `ggml-base.bin`).
    pub fn resolve(&self, name_or_path: &str) -> Result<PathBuf, ModelError> {
        let as_path = Path::new(name_or_path);
        if as_path.is_file() {
            return Ok(as_path.to_path_buf());
        }
        let looks_like_path =
            name_or_path.contains(std::path::MAIN_SEPARATOR) || name_or_path.contains('/');
        if !looks_like_path {
            let name = name_or_path
                .strip_prefix("ggml-")
                .and_then(|s| s.strip_suffix(".bin"))
                .unwrap_or(name_or_path);
            if validate_name(name).is_ok() {
                let p = self.model_path(name);
                if p.is_file() {
                    return Ok(p);
                }
            }
        }
        let installed: Vec<String> = self
            .list()
            .unwrap_or_default()
            .into_iter()
            .map(|m| m.name)
            .collect();
        let hint = if installed.is_empty() {
            format!("no models installed in {}", self.root.display())
        } else {
            format!("installed: {}", installed.join(", "))
        };
        Err(ModelError::NotFound(format!(
            "{name_or_path:?} is neither a file nor an installed model ({hint})"
        )))
    }

    /// Converts a CTranslate2 Whisper folder (faster-whisper format) into the store.
    ///
    /// `name` defaults to the whisper.cpp name of the architecture (`tiny.en`, `base`, ...)
    /// plus `-{quant}` for quantized output (`base-q8_0`). The file is written to
    /// `ggml-{name}.bin.partial` and renamed into place when complete; an existing model of
    /// the same name is replaced.
    pub fn import_ct2(
        &self,
        dir: &Path,
        name: Option<&str>,
        quant: Quant,
        progress: &mut dyn FnMut(f32),
    ) -> Result<InstalledModel, ModelError> {
        let name = match name {
            Some(n) => n.to_string(),
            None => {
                let info = inspect_ct2(dir)?;
                match quant {
                    Quant::F16 => info.suggested_name,
                    q => format!("{}-{q}", info.suggested_name),
                }
            }
        };
        validate_name(&name)?;
        fs::create_dir_all(&self.root)?;
        let path = self.model_path(&name);
        if path.exists() {
            tracing::info!(path = %path.display(), "replacing installed model");
        }
        let report = convert_ct2_to_ggml(dir, &path, quant, progress)?;
        tracing::info!(name, path = %report.out.display(), bytes = report.bytes, "imported CTranslate2 model");
        describe(&name, &path)
    }
}

pub(crate) fn describe(name: &str, path: &Path) -> Result<InstalledModel, ModelError> {
    let hp = read_ggml_hparams(path)?;
    let size = fs::metadata(path)?.len();
    Ok(InstalledModel {
        name: name.to_string(),
        path: path.to_path_buf(),
        size,
        quant: Quant::from_header_ftype(hp.ftype),
        weight_type: hp.weight_type(),
        multilingual: hp.multilingual(),
        n_vocab: hp.n_vocab as u32,
        n_audio_layer: hp.n_audio_layer as u32,
        n_text_layer: hp.n_text_layer as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in [
            "base",
            "tiny.en",
            "base-q8_0",
            "large-v3-turbo-q5_0",
            "my_model",
        ] {
            validate_name(ok).unwrap();
        }
        for bad in ["", "../x", "a/b", ".hidden", "-x", "a b", "a..b", "a\\b"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolve_and_list() {
        let dir = tempfile::tempdir().unwrap();
        let store = ModelStore::at(dir.path().join("models"));
        assert!(store.list().unwrap().is_empty());
        assert_eq!(store.resolve("base").unwrap_err().code(), "not_found");

        fs::create_dir_all(store.root()).unwrap();
        // Minimal header: magic + 11 hparams (q8_0 of a tiny multilingual model).
        let mut h = Vec::new();
        h.extend_from_slice(&crate::ggml::GGML_MAGIC.to_le_bytes());
        for v in [51865i32, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 2007] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        fs::write(store.model_path("tiny-q8_0"), &h).unwrap();
        fs::write(store.root().join("ggml-junk.bin"), b"not a model").unwrap();
        fs::write(store.partial_path("base"), b"partial").unwrap();

        let list = store.list().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].name, "tiny-q8_0");
        assert_eq!(list[0].quant, Some(Quant::Q8_0));
        assert_eq!(list[0].weight_type, WeightType::Q8_0);
        assert!(list[0].multilingual);

        let p = store.resolve("tiny-q8_0").unwrap();
        assert_eq!(p, store.model_path("tiny-q8_0"));
        assert_eq!(store.resolve("ggml-tiny-q8_0.bin").unwrap(), p);
        assert_eq!(store.resolve(p.to_str().unwrap()).unwrap(), p);
        let err = store.resolve("base").unwrap_err();
        assert!(err.to_string().contains("tiny-q8_0"), "{err}");
    }
}
