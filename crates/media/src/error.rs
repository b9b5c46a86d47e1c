//! Error type of the crate.

use std::path::PathBuf;

/// Everything that can go wrong while opening or decoding a media file.
///
/// Every variant has a stable snake_case [`code`](MediaError::code) that callers may use for
/// machine-readable output.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum MediaError {
    /// The path does not exist.
    #[error("{0}: no such file")]
    NotFound(PathBuf),
    /// The path is a directory, not a file.
    #[error("{0}: is a directory, not an audio or video file")]
    IsDirectory(PathBuf),
    /// The file has 0 bytes.
    #[error("{0}: the file is empty (0 bytes)")]
    Empty(PathBuf),
    /// The file is not an audio or video file (text, image, random bytes, ...).
    #[error("{path}: not an audio or video file ({detail})")]
    NotMedia { path: PathBuf, detail: String },
    /// The format was recognised but cannot be decoded (no native decoder, ffmpeg could not
    /// help either, or headerless PCM without a raw format).
    #[error("{path}: unsupported audio format: {detail}")]
    Unsupported { path: PathBuf, detail: String },
    /// The format needs ffmpeg, and ffmpeg is not available (or disabled).
    #[error(
        "{path}: decoding {format} needs ffmpeg, which is not available (not found on PATH, or \
         disabled). Install ffmpeg (e.g. `apt install ffmpeg`, `brew install ffmpeg`, \
         `winget install ffmpeg`) or convert the file to WAV, FLAC or MP3 first"
    )]
    FfmpegMissing { path: PathBuf, format: String },
    /// ffmpeg ran but failed; `detail` is the last line it printed on stderr.
    #[error("ffmpeg failed: {detail}")]
    Ffmpeg { detail: String },
    /// The file is a valid media file but has no audio track (e.g. a silent video).
    #[error("{0}: the file has no audio track")]
    NoAudioTrack(PathBuf),
    /// The requested track (`DecodeOptions::track`) does not exist or is not an audio track.
    #[error("{path}: there is no audio track {track} (audio tracks: {available:?})")]
    TrackNotFound {
        path: PathBuf,
        track: u32,
        available: Vec<u32>,
    },
    /// The file is damaged: its header cannot be parsed, or it yields no audio at all.
    #[error("{path}: the file is corrupt: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    /// The file ends before any audio could be decoded (or the caller asked for strictness).
    #[error("{path}: the file is truncated at {:.1} s", *at_ms as f64 / 1000.0)]
    Truncated { path: PathBuf, at_ms: u64 },
    /// An I/O error while reading the file.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The resampler failed (should not happen).
    #[error("resampling failed: {0}")]
    Resample(String),
    /// A raw PCM format string could not be parsed.
    #[error("invalid raw PCM format: {0}")]
    BadRawFormat(String),
}

impl MediaError {
    /// A stable, machine-readable, snake_case code for the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::NotFound(_) => "not_found",
            MediaError::IsDirectory(_) => "is_directory",
            MediaError::Empty(_) => "empty",
            MediaError::NotMedia { .. } => "not_media",
            MediaError::Unsupported { .. } => "unsupported",
            MediaError::FfmpegMissing { .. } => "ffmpeg_missing",
            MediaError::Ffmpeg { .. } => "ffmpeg",
            MediaError::NoAudioTrack(_) => "no_audio_track",
            MediaError::TrackNotFound { .. } => "track_not_found",
            MediaError::Corrupt { .. } => "corrupt",
            MediaError::Truncated { .. } => "truncated",
            MediaError::Io(_) => "io",
            MediaError::Resample(_) => "resample",
            MediaError::BadRawFormat(_) => "bad_raw_format",
        }
    }
}
