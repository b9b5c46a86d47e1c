//! Who spoke when ("speaker diarization"), on the CPU, for files of any length.
//!
//! pyannote **segmentation-3.0** finds, in 10 s windows every second, up to three local
//! speakers per ~17 ms frame (two at once: overlap-aware); **CAM++** (3D-Speaker, zh+en) turns
//! each local speaker's speech into a 192-d voice embedding; the embeddings are clustered into
//! speakers (count estimated, or given), and the windows' activity is put back together into
//! one timeline ([`reconstruct`]). Both networks run in ONNX Runtime, loaded at run time
//! ([`runtime`]). [`attribute`] puts the speakers onto a transcript's words; [`der`] scores a
//! result against a reference RTTM; [`echo`] takes out of a recording's mic channel the words
//! that are the system channel coming back through the speakers.
//!
//! Invariants:
//! - Inference runs on the caller's thread (the app's worker, the CLI's main thread), never
//!   on an async runtime or under a lock; a `Diarizer` is owned, not shared.
//! - Audio is streamed: memory holds one window of audio and a few bytes per frame, plus the
//!   embeddings (see [`pipeline`]).
//! - Speakers are numbered by first appearance (`S1`, `S2`, …).
//! - With a checkpoint, every batch of windows is appended to it before it counts as done, so a
//!   killed or cancelled run resumes where it stopped and ends with the same result.

pub mod attribute;
mod checkpoint;
pub mod cluster;
pub mod der;
pub mod echo;
pub mod fbank;
pub mod models;
pub mod pipeline;
pub mod reconstruct;
pub mod runtime;

pub use checkpoint::checkpoint_path;
pub use cluster::Count;
pub use models::ModelPaths;
pub use pipeline::{AudioSource, DiarizeOptions, Diarizer, StreamSource};

use std::path::PathBuf;

/// One speaker talking from `start_ms` to `end_ms` (speakers may overlap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Turn {
    pub start_ms: u64,
    pub end_ms: u64,
    pub speaker: usize,
}

/// A speaker found in a recording: its voice (unit-length centroid) and how long it talks.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeakerProfile {
    pub id: usize,
    pub speech_ms: u64,
    pub centroid: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Diarization {
    pub turns: Vec<Turn>,
    pub speakers: Vec<SpeakerProfile>,
    pub duration_ms: u64,
}

/// The label of speaker `i` (0-based) in transcripts and RTTM: `S1`, `S2`, ….
pub fn speaker_label(i: usize) -> String {
    format!("S{}", i + 1)
}

/// What a running diarization reports.
#[derive(Debug, Clone)]
pub enum Event {
    Progress { done_ms: u64, total_ms: Option<u64>, eta_ms: Option<u64> },
    /// An interrupted run's checkpoint was found: `windows` are kept and it goes on at `from_ms`.
    Resumed { from_ms: u64, windows: usize },
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiarizeError {
    #[error(transparent)]
    Media(#[from] tingji_media::MediaError),
    #[error("diarization model not found: {0}")]
    ModelMissing(PathBuf),
    #[error("cannot load diarization model {path}: {detail}")]
    ModelLoad { path: PathBuf, detail: String },
    #[error("ONNX Runtime is not available: {0}")]
    Runtime(String),
    #[error("diarization inference failed: {0}")]
    Inference(String),
    #[error("invalid RTTM: {0}")]
    Rttm(String),
    #[error("diarization cancelled")]
    Cancelled,
}

impl From<ort::Error> for DiarizeError {
    fn from(e: ort::Error) -> Self {
        DiarizeError::Inference(e.to_string())
    }
}

impl DiarizeError {
    pub fn code(&self) -> &'static str {
        match self {
            DiarizeError::Media(e) => e.code(),
            DiarizeError::ModelMissing(_) => "diarization_model_missing",
            DiarizeError::ModelLoad { .. } => "diarization_model_load",
            DiarizeError::Runtime(_) => "onnxruntime_missing",
            DiarizeError::Inference(_) => "diarization_failed",
            DiarizeError::Rttm(_) => "invalid_rttm",
            DiarizeError::Cancelled => "cancelled",
        }
    }
}
