/// Everything that can go wrong talking to a model. `code()` is the stable name shown to users
/// and sent over IPC.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    #[error("cannot reach the LLM server at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("the LLM server sent nothing for {secs} s (timeout)")]
    Timeout { secs: u64 },
    #[error("the LLM server refused the API key (HTTP {status}): {body}")]
    Auth { status: u16, body: String },
    #[error("the LLM server is rate-limiting (HTTP 429) and still was after {attempts} attempts")]
    RateLimited { attempts: u32 },
    #[error("the LLM server answered HTTP {status}: {body}")]
    Http { status: u16, body: String },
    #[error("the LLM server's stream ended before the answer was complete")]
    StreamCut,
    #[error("the LLM server returned no answer (empty choices)")]
    EmptyChoice,
    #[error("the LLM server's reply could not be read: {0}")]
    BadResponse(String),
    #[error("no API key for {provider}: set {env} or store one in the OS keyring")]
    NoKey { provider: String, env: String },
    #[error("unknown LLM provider {0:?} (one of: {1})")]
    UnknownProvider(String, String),
    #[error("provider {0} needs a base URL (--base-url)")]
    NoBaseUrl(String),
    #[error("invalid server address {0}")]
    BadBaseUrl(String),
    #[error("{0}")]
    KeyNotSent(String),
    #[error("the built-in model file is missing: {0}")]
    ModelMissing(String),
    #[error("the built-in model process failed: {0}")]
    Worker(String),
    #[error("the prompt ({prompt} tokens) does not fit the model's context ({context} tokens)")]
    ContextOverflow { prompt: usize, context: usize },
    #[error("keyring: {0}")]
    Keyring(String),
    #[error("cancelled")]
    Cancelled,
}

impl LlmError {
    pub fn code(&self) -> &'static str {
        match self {
            LlmError::Connect { .. } => "llm_unreachable",
            LlmError::Timeout { .. } => "llm_timeout",
            LlmError::Auth { .. } => "llm_auth",
            LlmError::RateLimited { .. } => "llm_rate_limited",
            LlmError::Http { .. } => "llm_http",
            LlmError::StreamCut => "llm_stream_cut",
            LlmError::EmptyChoice => "llm_empty",
            LlmError::BadResponse(_) => "llm_bad_response",
            LlmError::NoKey { .. } => "llm_no_key",
            LlmError::UnknownProvider(..) => "llm_unknown_provider",
            LlmError::NoBaseUrl(_) => "llm_no_base_url",
            LlmError::BadBaseUrl(_) => "llm_bad_url",
            LlmError::KeyNotSent(_) => "llm_key_not_sent",
            LlmError::ModelMissing(_) => "llm_model_missing",
            LlmError::Worker(_) => "llm_worker",
            LlmError::ContextOverflow { .. } => "llm_context_overflow",
            LlmError::Keyring(_) => "keyring",
            LlmError::Cancelled => "cancelled",
        }
    }

    /// Worth another attempt with the same request (after a backoff).
    pub fn is_transient(&self) -> bool {
        match self {
            LlmError::Connect { .. }
            | LlmError::Timeout { .. }
            | LlmError::StreamCut
            | LlmError::EmptyChoice
            | LlmError::RateLimited { .. } => true,
            LlmError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }
}
