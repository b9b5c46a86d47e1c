use thiserror::Error;

/// Everything a request can fail with; `code()` is the protocol's stable `"code"`.
#[derive(Debug, Error)]
pub enum WorkerError {
    #[error("model file not found: {0}")]
    ModelMissing(String),
    #[error("cannot load model: {0}")]
    ModelInvalid(String),
    #[error("no model loaded (send a load request first)")]
    NoModel,
    #[error("prompt has {prompt} tokens and max_tokens is {max_tokens}: {} > n_ctx {n_ctx}", prompt + *max_tokens as usize)]
    ContextOverflow {
        prompt: usize,
        max_tokens: u32,
        n_ctx: u32,
    },
    #[error("grammar: {0}")]
    Grammar(String),
    #[error("decode failed: {0}")]
    Decode(String),
    #[error("{0}")]
    BadRequest(String),
}

impl WorkerError {
    pub fn code(&self) -> &'static str {
        match self {
            WorkerError::ModelMissing(_) => "model_missing",
            WorkerError::ModelInvalid(_) => "model_invalid",
            WorkerError::NoModel => "no_model",
            WorkerError::ContextOverflow { .. } => "context_overflow",
            WorkerError::Grammar(_) => "grammar",
            WorkerError::Decode(_) => "decode",
            WorkerError::BadRequest(_) => "bad_request",
        }
    }
}
