//! The speaker-diarization networks a user can download: pyannote segmentation-3.0 and CAM++
//! (3D-Speaker, zh+en), both as ONNX from the official sherpa-onnx releases.
//!
//! Size and SHA-256 are those of the release assets (the segmentation model ships inside a
//! `.tar.bz2` with its licence and README; the embedding model is a bare `.onnx`). Both are
//! checked before anything is unpacked, as for the whisper and chat models; the caller
//! (`tingji-workflow`) then loads and probes the two files before installing them.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use crate::ModelError;
use crate::download::{DownloadProgress, DownloadSource, Expected, download_verified};

/// Environment variable with a mirror for the diarization files: each is fetched from
/// `{base}/{file}` (the release asset's own name). [`DiarizationSource::base_url`] takes
/// precedence.
pub const DIARIZATION_BASE_URL_ENV: &str = "TINGJI_DIARIZATION_BASE_URL";

/// An unpacked ONNX model is never larger than this (the archive member is read up to it).
const MAX_MODEL_BYTES: u64 = 200_000_000;

/// Which of the two networks a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiarizationRole {
    Segmentation,
    Embedding,
}

/// One downloadable file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiarizationFile {
    pub role: DiarizationRole,
    /// The release asset's URL.
    pub url: &'static str,
    /// SHA-256 (lowercase hex) and exact size of the asset as downloaded.
    pub sha256: &'static str,
    pub size_bytes: u64,
    /// The model's path inside the asset when it is a `.tar.bz2`.
    pub member: Option<&'static str>,
}

impl DiarizationFile {
    /// The asset's file name (the last part of its URL).
    pub fn file_name(&self) -> &'static str {
        self.url.rsplit('/').next().unwrap_or(self.url)
    }
}

const FILES: &[DiarizationFile] = &[
    DiarizationFile {
        role: DiarizationRole::Segmentation,
        url: "https://github.com/k2-fsa/sherpa-onnx/releases/download/speaker-segmentation-models/sherpa-onnx-pyannote-segmentation-3-0.tar.bz2",
        sha256: "24615ee884c897d9d2ba09bb4d30da6bb1b15e685065962db5b02e76e4996488",
        size_bytes: 6_958_444,
        member: Some("sherpa-onnx-pyannote-segmentation-3-0/model.onnx"),
    },
    DiarizationFile {
        role: DiarizationRole::Embedding,
        // sic: "recongition" is the release tag's spelling.
        url: "https://github.com/k2-fsa/sherpa-onnx/releases/download/speaker-recongition-models/3dspeaker_speech_campplus_sv_zh_en_16k-common_advanced.onnx",
        sha256: "aa3cfc16963a10586a9393f5035d6d6b57e98d358b347f80c2a30bf4f00ceba2",
        size_bytes: 28_281_164,
        member: None,
    },
];

/// The two files, segmentation first.
pub fn diarization_catalog() -> &'static [DiarizationFile] {
    FILES
}

/// Where to download the diarization files from and what to expect.
#[derive(Debug, Clone, Default)]
pub struct DiarizationSource {
    /// Mirror: each file is `{base_url}/{asset name}`. Falls back to
    /// `$TINGJI_DIARIZATION_BASE_URL`, then to the release URLs.
    pub base_url: Option<String>,
    /// Expected SHA-256 of the segmentation asset (the `.tar.bz2`), overriding the catalog's
    /// (and then its size is not checked).
    pub segmentation_sha256: Option<String>,
    /// The same for the embedding model.
    pub embedding_sha256: Option<String>,
}

/// Downloaded and unpacked model files, ready to be checked and installed.
#[derive(Debug, Clone)]
pub struct DiarizationDownload {
    pub segmentation: PathBuf,
    pub embedding: PathBuf,
}

fn bz2_header(path: &Path) -> Result<(), ModelError> {
    let mut magic = [0u8; 3];
    if File::open(path)?.read_exact(&mut magic).is_ok() && &magic == b"BZh" {
        Ok(())
    } else {
        Err(not_model(path, "the download is not a .tar.bz2 archive"))
    }
}

/// An ONNX file is a protobuf `ModelProto` whose first field is `ir_version` (field 1, varint).
fn onnx_header(path: &Path) -> Result<(), ModelError> {
    let mut first = [0u8; 1];
    if File::open(path)?.read_exact(&mut first).is_ok() && first[0] == 0x08 {
        Ok(())
    } else {
        Err(not_model(path, "the download is not an ONNX model"))
    }
}

fn not_model(path: &Path, detail: &str) -> ModelError {
    ModelError::InvalidDownload {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    }
}

/// Copies `member` out of the `.tar.bz2` at `archive` into `dest` (at most
/// [`MAX_MODEL_BYTES`]).
fn unpack(archive: &Path, member: &str, dest: &Path) -> Result<(), ModelError> {
    let mut tar = tar::Archive::new(bzip2::read::BzDecoder::new(File::open(archive)?));
    let corrupt = |e: io::Error| not_model(archive, &format!("cannot unpack it: {e}"));
    for entry in tar.entries().map_err(corrupt)? {
        let entry = entry.map_err(corrupt)?;
        if entry.path().map_err(corrupt)?.as_os_str() != member {
            continue;
        }
        if entry.size() > MAX_MODEL_BYTES {
            return Err(not_model(archive, &format!("{member} is too large")));
        }
        let tmp = dest.with_extension("unpacking");
        let mut out = File::create(&tmp)?;
        io::copy(&mut entry.take(MAX_MODEL_BYTES), &mut out).map_err(corrupt)?;
        out.sync_all()?;
        fs::rename(&tmp, dest)?;
        return Ok(());
    }
    Err(not_model(
        archive,
        &format!("{member} is not in the archive"),
    ))
}

/// Downloads both files into `dir` (a staging folder the caller owns; partial downloads stay
/// there for resuming) and unpacks the segmentation model. Each asset's size and SHA-256 are
/// verified before use; on a mismatch it is deleted and the error names it. `progress` gets
/// the role being fetched.
pub fn download_diarization(
    dir: &Path,
    source: &DiarizationSource,
    progress: &mut dyn FnMut(DiarizationRole, DownloadProgress),
    cancel: &AtomicBool,
) -> Result<DiarizationDownload, ModelError> {
    fs::create_dir_all(dir)?;
    let mirror = DownloadSource {
        base_url: source.base_url.clone(),
        sha256: None,
    }
    .mirror(DIARIZATION_BASE_URL_ENV);
    let mut out = Vec::new();
    for f in FILES {
        let name = f.file_name();
        let url = match &mirror {
            Some(b) => format!("{}/{name}", b.trim_end_matches('/')),
            None => f.url.to_string(),
        };
        let given = match f.role {
            DiarizationRole::Segmentation => &source.segmentation_sha256,
            DiarizationRole::Embedding => &source.embedding_sha256,
        };
        let (sha, size) = DownloadSource {
            base_url: None,
            sha256: given.clone(),
        }
        .expected(Some(f.sha256), Some(f.size_bytes));
        let header: &dyn Fn(&Path) -> Result<(), ModelError> = match f.member {
            Some(_) => &bz2_header,
            None => &onnx_header,
        };
        let asset = dir.join(name);
        if !asset.is_file() {
            let expect = Expected {
                sha256: sha.as_deref(),
                size,
                header,
            };
            let partial = dir.join(format!(".{name}.partial"));
            download_verified(
                &url,
                &asset,
                &partial,
                &expect,
                &mut |p| progress(f.role, p),
                cancel,
            )?;
        }
        let model = match f.member {
            Some(member) => {
                let model = dir.join(format!("{name}.onnx"));
                unpack(&asset, member, &model)?;
                model
            }
            None => asset,
        };
        tracing::info!(url, path = %model.display(), "diarization model downloaded and verified");
        out.push(model);
    }
    let embedding = out.pop().expect("two files");
    let segmentation = out.pop().expect("two files");
    Ok(DiarizationDownload {
        segmentation,
        embedding,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_consistent() {
        assert_eq!(FILES.len(), 2);
        assert_eq!(FILES[0].role, DiarizationRole::Segmentation);
        for f in FILES {
            assert!(
                f.url
                    .starts_with("https://github.com/k2-fsa/sherpa-onnx/releases/download/"),
                "{}",
                f.url
            );
            assert_eq!(f.sha256.len(), 64);
            assert!(
                f.sha256
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
            assert_eq!(f.member.is_some(), f.file_name().ends_with(".tar.bz2"));
        }
    }

    #[test]
    fn unpack_names_a_missing_member_and_a_corrupt_archive() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("a.tar.bz2");
        let mut tar = tar::Builder::new(bzip2::write::BzEncoder::new(
            File::create(&archive).unwrap(),
            bzip2::Compression::fast(),
        ));
        let data = b"\x08\x07onnx-bytes";
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, "m/model.onnx", &data[..]).unwrap();
        tar.into_inner().unwrap().finish().unwrap();
        let dest = dir.path().join("out.onnx");
        unpack(&archive, "m/model.onnx", &dest).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), data);
        let e = unpack(&archive, "m/other.onnx", &dest).unwrap_err();
        assert_eq!(e.code(), "invalid_download");
        assert!(
            e.to_string().contains("m/other.onnx is not in the archive"),
            "{e}"
        );
        let bytes = fs::read(&archive).unwrap();
        fs::write(&archive, &bytes[..bytes.len() / 2]).unwrap();
        let e = unpack(&archive, "m/model.onnx", &dest).unwrap_err();
        assert_eq!(e.code(), "invalid_download", "{e}");
    }
}
