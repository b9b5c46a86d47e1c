//! Resumable, verified model downloads.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::ModelError;
use crate::catalog::{DEFAULT_BASE_URL, catalog_entry, model_url};
use crate::ggml::GGML_MAGIC;
use crate::store::{ModelStore, validate_name};

/// Environment variable with a mirror to use instead of the Hugging Face host
/// (`{base}/ggml-{name}.bin`). [`DownloadSource::base_url`] takes precedence.
pub const BASE_URL_ENV: &str = "TINGJI_MODEL_BASE_URL";

/// Where to download from and what to expect.
#[derive(Debug, Clone, Default)]
pub struct DownloadSource {
    /// Replaces the host part: the file is fetched from `{base_url}/ggml-{name}.bin`. Falls back
    /// to `$TINGJI_MODEL_BASE_URL`, then to the catalog's Hugging Face URL. With a mirror,
    /// names outside the catalog are allowed.
    pub base_url: Option<String>,
    /// Expected SHA-256 (hex), overriding the catalog's. When set, the catalog size is not
    /// checked either (the file is assumed to be a different one).
    pub sha256: Option<String>,
}

impl DownloadSource {
    /// The mirror: `base_url`, else the variable `env`; blanks ignored.
    pub(crate) fn mirror(&self, env: &str) -> Option<String> {
        let given = |s: &String| !s.trim().is_empty();
        self.base_url
            .clone()
            .filter(given)
            .or_else(|| std::env::var(env).ok().filter(given))
    }

    /// The SHA-256 and size to check: an explicit `sha256` replaces the catalog's digest and
    /// drops its size (it names another file); otherwise the catalog's.
    pub(crate) fn expected(
        &self,
        catalog_sha: Option<&str>,
        catalog_size: Option<u64>,
    ) -> (Option<String>, Option<u64>) {
        match &self.sha256 {
            Some(s) => (Some(s.trim().to_ascii_lowercase()), None),
            None => (catalog_sha.map(str::to_string), catalog_size),
        }
    }
}

/// Reported while downloading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DownloadProgress {
    /// Bytes of the file on disk so far, including what was resumed.
    pub downloaded: u64,
    /// Size of the whole file, when the server says.
    pub total: Option<u64>,
    /// Bytes that were already on disk from an earlier attempt (0 for a fresh download).
    pub resumed_from: u64,
}

const BUF_SIZE: usize = 256 * 1024;

fn agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .accept_encoding("identity")
        .user_agent(concat!("tingji/", env!("CARGO_PKG_VERSION")))
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .build();
    ureq::Agent::new_with_config(config)
}

fn network(url: &str, detail: impl ToString) -> ModelError {
    ModelError::Network {
        url: url.to_string(),
        detail: detail.to_string(),
    }
}

fn header<'a>(resp: &'a ureq::http::Response<ureq::Body>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// `bytes START-END/TOTAL` → (START, Some(TOTAL)) ; `TOTAL` may be `*`.
fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let start = start.trim().parse().ok()?;
    let total = total.trim().parse().ok();
    Some((start, total))
}

/// SHA-256 of the first `len` bytes of `path`.
fn hash_prefix(
    path: &Path,
    len: u64,
    hasher: &mut Sha256,
    cancel: &AtomicBool,
) -> Result<(), ModelError> {
    let mut f = File::open(path)?.take(len);
    let mut buf = vec![0u8; BUF_SIZE];
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(ModelError::Cancelled);
        }
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
    }
}

enum Fetched {
    /// The body was stored; hasher covers the whole partial file.
    Complete(Sha256),
    /// The server says there is nothing more to send (416): check what we have.
    NothingMore,
}

impl ModelStore {
    /// Downloads model `name` (a catalog name such as `base` or `large-v3-turbo-q5_0`) into the
    /// store and returns the installed path. An already installed model is returned as is.
    ///
    /// The body is streamed to `ggml-{name}.bin.partial`; an existing partial file is resumed
    /// with a `Range` request (a server that ignores it and answers 200 restarts the file).
    /// The whole file's SHA-256 (and the catalog size) is verified before the atomic rename into
    /// place; on a mismatch the partial file is deleted and nothing is installed. A connection
    /// cut or a cancellation (`cancel` is checked between reads) keeps the partial file for the
    /// next attempt.
    pub fn download(
        &self,
        name: &str,
        source: &DownloadSource,
        progress: &mut dyn FnMut(DownloadProgress),
        cancel: &AtomicBool,
    ) -> Result<PathBuf, ModelError> {
        validate_name(name)?;
        let base = source.mirror(BASE_URL_ENV);
        let entry = catalog_entry(name);
        if entry.is_none() && base.is_none() {
            return Err(ModelError::UnknownModel(name.to_string()));
        }
        let url = model_url(base.as_deref().unwrap_or(DEFAULT_BASE_URL), name);
        let (expected_sha, expected_size) = source.expected(
            entry.as_ref().and_then(|e| e.sha256),
            entry.as_ref().map(|e| e.size_bytes).filter(|s| *s > 0),
        );
        if expected_sha.is_none() {
            tracing::warn!(name, %url, "no SHA-256 known for this model: only the size/header is checked");
        }

        let dest = self.model_path(name);
        if dest.is_file() {
            tracing::info!(path = %dest.display(), "model already installed");
            return Ok(dest);
        }
        fs::create_dir_all(self.root())?;
        let expect = Expected {
            sha256: expected_sha.as_deref(),
            size: expected_size,
            header: &ggml_header,
        };
        download_verified(
            &url,
            &dest,
            &self.partial_path(name),
            &expect,
            progress,
            cancel,
        )?;
        tracing::info!(name, path = %dest.display(), "model downloaded and verified");
        Ok(dest)
    }
}

/// What a finished download must be before it is installed.
pub(crate) struct Expected<'a> {
    /// SHA-256 (lowercase hex) of the whole file.
    pub sha256: Option<&'a str>,
    /// Exact size in bytes.
    pub size: Option<u64>,
    /// Checks the file's header (its format).
    pub header: &'a dyn Fn(&Path) -> Result<(), ModelError>,
}

fn ggml_header(path: &Path) -> Result<(), ModelError> {
    let mut magic = [0u8; 4];
    let ok =
        File::open(path)?.read_exact(&mut magic).is_ok() && u32::from_le_bytes(magic) == GGML_MAGIC;
    if ok {
        Ok(())
    } else {
        Err(ModelError::InvalidGgml {
            path: path.to_path_buf(),
            detail: "downloaded file is not a ggml model".into(),
        })
    }
}

/// Downloads `url` to `dest` through `partial`: resumed with a `Range` request when `partial`
/// exists (a server that ignores it and answers 200 restarts the file), verified against
/// `expect` and renamed into place atomically. A file that fails verification is deleted and
/// nothing is installed; a connection cut or a cancellation (`cancel` is checked between reads)
/// keeps `partial` for the next attempt.
pub(crate) fn download_verified(
    url: &str,
    dest: &Path,
    partial: &Path,
    expect: &Expected,
    progress: &mut dyn FnMut(DownloadProgress),
    cancel: &AtomicBool,
) -> Result<(), ModelError> {
    let agent = agent();
    let mut restarted = false;
    let hasher = loop {
        let mut have = fs::metadata(partial).map(|m| m.len()).unwrap_or(0);
        if let Some(size) = expect.size
            && have > size
        {
            tracing::warn!(
                have,
                size,
                "partial download larger than the file; starting over"
            );
            fs::remove_file(partial)?;
            have = 0;
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(ModelError::Cancelled);
        }
        if expect.size.is_some_and(|s| s == have && have > 0) {
            // Everything is already here (e.g. cut right after the last byte).
            break None;
        }
        match fetch(&agent, url, partial, have, progress, cancel)? {
            Fetched::Complete(h) => break Some(h),
            Fetched::NothingMore if !restarted => {
                // 416: either the partial file is complete, or it is not the same file.
                let size = fs::metadata(partial)?.len();
                if verify(partial, None, expect, cancel).is_ok() {
                    progress(DownloadProgress {
                        downloaded: size,
                        total: Some(size),
                        resumed_from: size,
                    });
                    break None;
                }
                tracing::warn!(%url, "server refused to resume and the partial file does not verify; starting over");
                fs::remove_file(partial)?;
                restarted = true;
            }
            Fetched::NothingMore => {
                return Err(network(url, "server refused the download range twice"));
            }
        }
    };

    match verify(partial, hasher, expect, cancel) {
        Ok(()) => {}
        Err(ModelError::Cancelled) => return Err(ModelError::Cancelled),
        Err(e) => {
            tracing::warn!(path = %partial.display(), error = %e, "download failed verification; deleting it");
            let _ = fs::remove_file(partial);
            return Err(e);
        }
    }
    fs::rename(partial, dest)?;
    Ok(())
}

/// One HTTP request, appending to (or restarting) `partial`.
fn fetch(
    agent: &ureq::Agent,
    url: &str,
    partial: &Path,
    have: u64,
    progress: &mut dyn FnMut(DownloadProgress),
    cancel: &AtomicBool,
) -> Result<Fetched, ModelError> {
    let mut req = agent.get(url);
    if have > 0 {
        req = req.header("Range", format!("bytes={have}-"));
    }
    tracing::info!(%url, resume_from = have, "downloading model");
    let mut resp = req.call().map_err(|e| network(url, e))?;
    let status = resp.status().as_u16();
    let content_length = header(&resp, "content-length").and_then(|v| v.trim().parse::<u64>().ok());

    let (append, total) = match status {
        206 if have > 0 => {
            let (start, total) = header(&resp, "content-range")
                .and_then(parse_content_range)
                .ok_or_else(|| network(url, "206 response without a valid Content-Range"))?;
            if start != have {
                return Err(network(
                    url,
                    format!("server resumed at byte {start}, asked for {have}"),
                ));
            }
            (true, total.or(content_length.map(|l| have + l)))
        }
        200 | 206 => {
            if have > 0 {
                tracing::info!(%url, "server ignored the range request; restarting the download");
            }
            (false, content_length)
        }
        416 if have > 0 => return Ok(Fetched::NothingMore),
        _ => {
            return Err(ModelError::Http {
                url: url.to_string(),
                status,
            });
        }
    };

    let mut hasher = Sha256::new();
    let resumed_from = if append {
        hash_prefix(partial, have, &mut hasher, cancel)?;
        have
    } else {
        0
    };
    let mut file = if append {
        OpenOptions::new().append(true).open(partial)?
    } else {
        File::create(partial)?
    };
    let mut downloaded = resumed_from;
    progress(DownloadProgress {
        downloaded,
        total,
        resumed_from,
    });

    let mut reader = resp.body_mut().as_reader();
    let mut buf = vec![0u8; BUF_SIZE];
    loop {
        if cancel.load(Ordering::Relaxed) {
            file.sync_all()?;
            tracing::info!(downloaded, "download cancelled; partial file kept");
            return Err(ModelError::Cancelled);
        }
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                file.sync_all()?;
                tracing::warn!(downloaded, error = %e, "download interrupted; partial file kept");
                return Err(network(url, format!("{e} after {downloaded} bytes")));
            }
        };
        file.write_all(&buf[..n])?;
        hasher.update(&buf[..n]);
        downloaded += n as u64;
        progress(DownloadProgress {
            downloaded,
            total,
            resumed_from,
        });
    }
    file.sync_all()?;
    if let Some(t) = total
        && downloaded != t
    {
        return Err(network(
            url,
            format!("connection closed after {downloaded} of {t} bytes"),
        ));
    }
    Ok(Fetched::Complete(hasher))
}

/// Size, SHA-256 and header of a finished download. `hasher` is the running hash of the
/// whole file if the caller has one; otherwise the file is read again.
fn verify(
    path: &Path,
    hasher: Option<Sha256>,
    expect: &Expected,
    cancel: &AtomicBool,
) -> Result<(), ModelError> {
    let size = fs::metadata(path)?.len();
    if let Some(want) = expect.size
        && want != size
    {
        return Err(ModelError::SizeMismatch {
            expected: want,
            actual: size,
        });
    }
    if let Some(want) = expect.sha256 {
        let hasher = match hasher {
            Some(h) => h,
            None => {
                let mut h = Sha256::new();
                hash_prefix(path, size, &mut h, cancel)?;
                h
            }
        };
        let actual = hex::encode(hasher.finalize());
        if actual != want {
            return Err(ModelError::ChecksumMismatch {
                expected: want.to_string(),
                actual,
            });
        }
    }
    (expect.header)(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_mirror_falls_back_to_the_variable() {
        let src = |b: Option<&str>| DownloadSource {
            base_url: b.map(str::to_string),
            sha256: None,
        };
        let home = std::env::var("HOME").ok();
        assert_eq!(
            src(Some("http://m")).mirror("HOME").as_deref(),
            Some("http://m")
        );
        assert_eq!(src(Some("  ")).mirror("HOME"), home);
        assert_eq!(src(None).mirror("HOME"), home);
        assert_eq!(src(Some("")).mirror("TINGJI_NO_SUCH_VARIABLE"), None);
    }

    #[test]
    fn content_range() {
        assert_eq!(
            parse_content_range("bytes 100-999/1000"),
            Some((100, Some(1000)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("items 5-9/10"), None);
    }
}
