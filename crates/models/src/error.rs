use std::path::PathBuf;

/// Everything that can go wrong while converting, listing, resolving or downloading models.
///
/// Every variant has a stable snake_case [`code`](ModelError::code) that the CLI can print or
/// map to exit statuses; the `Display` text is for humans and may change.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum ModelError {
    /// The folder is not a CTranslate2 Whisper export (missing file, bad magic/version, bad
    /// vocabulary, a tensor with an unexpected shape...).
    #[error("{dir} is not a usable CTranslate2 Whisper model: {detail}")]
    NotCTranslate2 { dir: PathBuf, detail: String },

    /// A tensor is stored in a data type the converter cannot handle.
    #[error("tensor {name} has unsupported data type {dtype}")]
    UnsupportedDtype { name: String, dtype: String },

    /// A tensor whisper.cpp needs is not in the CTranslate2 model.
    #[error("tensor {0} is missing from the CTranslate2 model")]
    MissingTensor(String),

    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// A model name that is neither in the catalog nor downloadable from the given mirror.
    #[error("unknown model {0:?}; known models: {known}", known = crate::catalog::known_names().join(", "))]
    UnknownModel(String),

    /// A built-in chat model name that is neither in the GGUF catalog nor downloadable from
    /// the given mirror.
    #[error("unknown built-in model {0:?}; known models: {known}", known = crate::llm::known_names().join(", "))]
    UnknownGguf(String),

    /// A model name that cannot be used as a file name (path separators, `..`, empty...).
    #[error("invalid model name {0:?}: use letters, digits, '.', '-' and '_' only")]
    InvalidName(String),

    /// The server answered with an HTTP error status.
    #[error("HTTP {status} from {url}")]
    Http { url: String, status: u16 },

    /// Connection failed or was cut; a partial download is kept for resuming.
    #[error("network error while fetching {url}: {detail}")]
    Network { url: String, detail: String },

    /// The downloaded file does not have the expected SHA-256; nothing was installed.
    #[error("checksum mismatch: expected sha256 {expected}, got {actual}")]
    ChecksumMismatch { expected: String, actual: String },

    /// The downloaded file does not have the expected size; nothing was installed.
    #[error("size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch { expected: u64, actual: u64 },

    /// The file is not a whisper.cpp ggml model (bad magic or truncated header).
    #[error("{path} is not a whisper.cpp ggml model: {detail}")]
    InvalidGgml { path: PathBuf, detail: String },

    /// The file is not a GGUF model (bad magic).
    #[error("{path} is not a GGUF model: {detail}")]
    InvalidGguf { path: PathBuf, detail: String },

    /// A downloaded diarization file is not what it should be (not an archive or ONNX model,
    /// or the model is missing from the archive); nothing was installed.
    #[error("{path}: {detail}")]
    InvalidDownload { path: PathBuf, detail: String },

    /// The operation was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,

    /// No installed model or file matches.
    #[error("model not found: {0}")]
    NotFound(String),
}

impl ModelError {
    /// A stable, machine-readable identifier for the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            ModelError::NotCTranslate2 { .. } => "not_ctranslate2",
            ModelError::UnsupportedDtype { .. } => "unsupported_dtype",
            ModelError::MissingTensor(_) => "missing_tensor",
            ModelError::Io(_) => "io",
            ModelError::UnknownModel(_) | ModelError::UnknownGguf(_) => "unknown_model",
            ModelError::InvalidName(_) => "invalid_name",
            ModelError::Http { .. } => "http",
            ModelError::Network { .. } => "network",
            ModelError::ChecksumMismatch { .. } => "checksum_mismatch",
            ModelError::SizeMismatch { .. } => "size_mismatch",
            ModelError::InvalidGgml { .. } => "invalid_ggml",
            ModelError::InvalidGguf { .. } => "invalid_gguf",
            ModelError::InvalidDownload { .. } => "invalid_download",
            ModelError::Cancelled => "cancelled",
            ModelError::NotFound(_) => "not_found",
        }
    }
}
