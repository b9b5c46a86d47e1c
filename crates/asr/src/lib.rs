//! Speech recognition: whisper.cpp (through whisper-rs) on a dedicated worker thread, fed with
//! VAD-gated windows of a streamed file.
//!
//! Invariants:
//! - Only the [`Engine`] worker thread touches whisper; callers talk to it over channels.
//! - Audio is streamed: memory is bounded by the window size, not the file length.
//! - Every finished window is appended to the checkpoint before it counts as done, so a
//!   killed run resumes from the last finished window.
//! - Silence (per VAD) never reaches the recogniser; text over non-speech is dropped.
//! - Word times are whisper's token timestamps mapped back to the source, never interpolated.

pub mod checkpoint;
pub mod engine;
pub mod live;
pub mod pipeline;
pub mod text;
pub mod vad;

pub use engine::{Engine, ModelDetails, Strategy};
pub use live::{Caption, LiveCaptioner, LiveConfig};
pub use pipeline::{Event, TranscribeOptions, checkpoint_path, default_threads, remove_checkpoint, transcribe_file};
pub use vad::VadConfig;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AsrError {
    #[error(transparent)]
    Media(#[from] tingji_media::MediaError),
    #[error("model file not found: {0}")]
    ModelMissing(PathBuf),
    #[error("cannot load model {path}: {detail}")]
    ModelLoad { path: PathBuf, detail: String },
    #[error("whisper failed: {0}")]
    Whisper(String),
    #[error("transcription cancelled")]
    Cancelled,
    #[error("the transcription worker stopped unexpectedly")]
    WorkerGone,
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl AsrError {
    pub fn code(&self) -> &'static str {
        match self {
            AsrError::Media(e) => e.code(),
            AsrError::ModelMissing(_) => "model_missing",
            AsrError::ModelLoad { .. } => "model_load",
            AsrError::Whisper(_) => "whisper",
            AsrError::Cancelled => "cancelled",
            AsrError::WorkerGone => "worker_gone",
            AsrError::Io(_) => "io",
        }
    }
}
