//! Copying media into the library: stream-copy with SHA-256, fsync, read back and verify.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{LibraryError, Result};

/// Folder under `root/media` where copies are made before they get their meeting's folder.
pub(crate) const STAGING: &str = ".staging";
/// Folder under `root/media` where a stray `media/<id>` folder (left by a crash between moving a
/// copy into place and committing) is moved aside instead of being overwritten or deleted.
pub(crate) const ORPHANED: &str = ".orphaned";

pub(crate) struct Staged {
    /// `root/media/.staging/<unique>/` holding the copy.
    pub dir: PathBuf,
    pub file_name: String,
    pub sha256: String,
    pub bytes: u64,
}

impl Staged {
    /// Removes the staged copy (a file Tingji made itself, never referenced by any row).
    pub fn discard(&self) {
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not remove staged media copy");
        }
    }
}

pub(crate) fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut f = File::open(path).map_err(LibraryError::io("open", path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).map_err(LibraryError::io("read", path))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex::encode(h.finalize()), n))
}

pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(LibraryError::io("fsync", dir))
}

/// Copies `src` into a fresh staging folder: hashes while copying, fsyncs the copy, then reads
/// the copy back and checks it has the same SHA-256.
pub(crate) fn stage_copy(media_root: &Path, src: &Path) -> Result<Staged> {
    let meta = fs::metadata(src).map_err(LibraryError::io("read", src))?;
    if !meta.is_file() {
        return Err(LibraryError::InvalidInput(format!(
            "{} is not a file",
            src.display()
        )));
    }
    let file_name = src
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && !n.starts_with('.'))
        .unwrap_or_else(|| "media".to_string());
    let staging = media_root.join(STAGING);
    fs::create_dir_all(&staging).map_err(LibraryError::io("create", &staging))?;
    let unique = format!(
        "{}-{}-{}",
        std::process::id(),
        crate::now_ms(),
        STAGE_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let dir = staging.join(unique);
    fs::create_dir(&dir).map_err(LibraryError::io("create", &dir))?;
    let staged_path = dir.join(&file_name);
    let result = (|| {
        let mut input = File::open(src).map_err(LibraryError::io("open", src))?;
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&staged_path)
            .map_err(LibraryError::io("create", &staged_path))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            let k = input
                .read(&mut buf)
                .map_err(LibraryError::io("read", src))?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            out.write_all(&buf[..k])
                .map_err(LibraryError::io("write", &staged_path))?;
            bytes += k as u64;
        }
        out.sync_all()
            .map_err(LibraryError::io("fsync", &staged_path))?;
        drop(out);
        let expected = hex::encode(h.finalize());
        let (found, found_bytes) = sha256_file(&staged_path)?;
        if found != expected || found_bytes != bytes {
            return Err(LibraryError::ChecksumMismatch {
                path: src.to_path_buf(),
                expected,
                found,
            });
        }
        fsync_dir(&dir)?;
        Ok(Staged {
            dir: dir.clone(),
            file_name: file_name.clone(),
            sha256: expected,
            bytes,
        })
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&dir);
    }
    result
}

static STAGE_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Moves an existing `media/<id>` folder (with no rows pointing at it) aside, never deleting it.
pub(crate) fn move_aside(media_root: &Path, id_dir: &Path, id: i64) -> Result<()> {
    let orphaned = media_root.join(ORPHANED);
    fs::create_dir_all(&orphaned).map_err(LibraryError::io("create", &orphaned))?;
    let to = orphaned.join(format!("{id}-{}", crate::now_ms()));
    tracing::warn!(from = %id_dir.display(), to = %to.display(), "moving stray media folder aside");
    fs::rename(id_dir, &to).map_err(LibraryError::io("rename", id_dir))
}

/// True when `rel` is a plain relative path inside `media/` (no `..`, not absolute).
pub(crate) fn is_safe_relative(rel: &str) -> bool {
    let p = Path::new(rel);
    !rel.is_empty()
        && p.is_relative()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
        && p.starts_with("media")
}
