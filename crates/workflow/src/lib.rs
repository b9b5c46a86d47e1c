//! The glue the CLI (`tingji`) and the desktop app (`tingji-app`) share above the core crates,
//! so neither front end holds workflow logic of its own:
//! - where things live ([`paths`]): data, library, recordings, built-in LLMs, config;
//! - which model to use when the user named none ([`choose`]);
//! - dropped files and folders as the media files to import ([`dropped`]);
//! - a library meeting as an export [`tingji_export::Document`] ([`document`]);
//! - a finished recording into the library with both transcript versions and its marks
//!   ([`recording`]);
//! - speakers onto a transcribed file ([`speakers`]).
//!
//! No threads, no progress reporting, no UI: callers run these on their own workers.

pub mod choose;
pub mod dropped;
pub mod document;
pub mod paths;
pub mod recording;
pub mod speakers;

pub use choose::{LlmChoice, builtin_catalog, builtin_gguf, chat_model, download_builtin, default_whisper_model, first_installed, installed_gguf, live_model_for};
pub use document::{document, options as export_options, render as render_meeting, save as save_export, save_in as save_export_in};

/// Errors of the workflow glue; `code()` is the stable code the front ends show.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Library(#[from] tingji_library::LibraryError),
    #[error(transparent)]
    Model(#[from] tingji_models::ModelError),
    #[error(transparent)]
    Llm(#[from] tingji_llm::LlmError),
    #[error(transparent)]
    Capture(#[from] tingji_capture::CaptureError),
    #[error(transparent)]
    Export(#[from] tingji_export::ExportError),
    #[error(transparent)]
    Diarize(#[from] tingji_diarize::DiarizeError),
    #[error("meeting {0} has no transcript")]
    NoTranscript(i64),
    #[error("meeting {0} keeps no audio to listen to again")]
    NoMedia(i64),
    #[error("{op} {}: {source}", path.display())]
    Io { op: &'static str, path: std::path::PathBuf, source: std::io::Error },
    #[error("no whisper model installed in {0}: download one or import a faster-whisper folder")]
    NoWhisperModel(String),
}

impl WorkflowError {
    pub fn code(&self) -> &'static str {
        match self {
            WorkflowError::Library(e) => e.code(),
            WorkflowError::Model(e) => e.code(),
            WorkflowError::Llm(e) => e.code(),
            WorkflowError::Capture(e) => e.code(),
            WorkflowError::Export(e) => e.code(),
            WorkflowError::Diarize(e) => e.code(),
            WorkflowError::NoTranscript(_) => "no_transcript",
            WorkflowError::NoMedia(_) => "no_media",
            WorkflowError::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull => "disk_full",
            WorkflowError::Io { .. } => "io",
            WorkflowError::NoWhisperModel(_) => "model_missing",
        }
    }
}

pub type Result<T, E = WorkflowError> = std::result::Result<T, E>;
