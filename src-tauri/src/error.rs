//! Every core error becomes one [`AppError`] with the core's stable code.

use crate::api::AppError;

impl AppError {
    pub fn new(code: &str, message: impl Into<String>) -> AppError {
        AppError { code: code.to_string(), message: message.into() }
    }

    pub fn cancelled() -> AppError {
        AppError::new("cancelled", "cancelled")
    }
}

macro_rules! from_coded {
    ($($t:ty),+ $(,)?) => {$(
        impl From<$t> for AppError {
            fn from(e: $t) -> AppError {
                AppError { code: e.code().to_string(), message: e.to_string() }
            }
        }
    )+};
}

from_coded!(
    tingji_workflow::WorkflowError,
    tingji_library::LibraryError,
    tingji_models::ModelError,
    tingji_media::MediaError,
    tingji_asr::AsrError,
    tingji_export::ExportError,
    tingji_notes::NotesError,
    tingji_llm::LlmError,
    tingji_capture::CaptureError,
);

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> AppError {
        AppError::new("io", e.to_string())
    }
}

pub type AppResult<T> = Result<T, AppError>;
