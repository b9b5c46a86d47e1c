//! Chat models for Tingji's AI notes: any OpenAI-compatible server over HTTP ([`HttpChat`]) and
//! the built-in local model, which runs llama.cpp in its own process ([`LocalChat`]).
//!
//! Invariants:
//! - No model call blocks an async thread: HTTP is async, the local model runs in a child process.
//! - An API key is held in [`Secret`], whose `Debug`/`Display` never show it; it is never logged.
//! - Every request can be cancelled ([`Cancel`]); a cancelled request returns [`LlmError::Cancelled`].
//! - Transient failures (connection, timeout, 429, 5xx, a cut stream, an empty choice) are retried
//!   with exponential backoff; anything else is returned at once with a named error.

mod error;
pub mod http;
pub mod local;
pub mod provider;
pub mod sse;
pub mod tokens;

use std::future::Future;
use std::pin::Pin;

pub use error::LlmError;
pub use http::HttpChat;
pub use local::LocalChat;
pub use provider::{Provider, ProviderConfig, Secret};
use serde::{Deserialize, Serialize};
pub use tokio_util::sync::CancellationToken as Cancel;

pub type Result<T, E = LlmError> = std::result::Result<T, E>;
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn system(s: impl Into<String>) -> Message {
        Message { role: Role::System, content: s.into() }
    }
    pub fn user(s: impl Into<String>) -> Message {
        Message { role: Role::User, content: s.into() }
    }
    pub fn assistant(s: impl Into<String>) -> Message {
        Message { role: Role::Assistant, content: s.into() }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    pub max_tokens: u32,
    pub temperature: f32,
    /// Ask for JSON following this schema (how strictly depends on the server).
    pub json_schema: Option<serde_json::Value>,
    pub seed: Option<u64>,
}

impl ChatRequest {
    pub fn new(messages: Vec<Message>) -> ChatRequest {
        ChatRequest { messages, max_tokens: 1024, temperature: 0.2, json_schema: None, seed: Some(42) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// The server reported nothing and these are [`tokens::estimate`]s.
    #[serde(default)]
    pub estimated: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    pub text: String,
    pub usage: TokenUsage,
    /// "stop", "length", …
    pub finish_reason: Option<String>,
    /// Timings when the server reports them (llama.cpp does): prompt and generation tokens/s.
    pub timings: Option<Timings>,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Timings {
    pub prompt_tokens: u64,
    pub prompt_ms: f64,
    pub generated_tokens: u64,
    pub generation_ms: f64,
}

impl Timings {
    pub fn prompt_per_second(&self) -> f64 {
        self.prompt_tokens as f64 * 1000.0 / self.prompt_ms.max(1e-9)
    }
    pub fn generation_per_second(&self) -> f64 {
        self.generated_tokens as f64 * 1000.0 / self.generation_ms.max(1e-9)
    }
}

/// What a streaming request reports while the model writes.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent<'a> {
    /// More text of the answer.
    Text(&'a str),
    /// A retry started: throw away the text received so far.
    Restart,
}

/// A chat model. Implementations: [`HttpChat`] (any OpenAI-compatible server) and
/// [`LocalChat`] (the built-in llama.cpp process). Test code may add fakes.
pub trait ChatModel: Send + Sync {
    /// "provider/model", recorded with the notes.
    fn name(&self) -> String;
    /// The context window in tokens, when known.
    fn context_tokens(&self) -> Option<usize>;
    /// Runs one chat completion, streaming text to `on_event`.
    fn chat<'a>(
        &'a self,
        req: &'a ChatRequest,
        on_event: &'a mut (dyn FnMut(StreamEvent<'_>) + Send),
        cancel: &'a Cancel,
    ) -> BoxFuture<'a, Result<ChatResponse>>;
    /// Exact token count with the model's tokenizer when the backend can tell; `None` otherwise
    /// (callers then use [`tokens::estimate`]).
    fn count_tokens<'a>(&'a self, _text: &'a str) -> BoxFuture<'a, Result<Option<usize>>> {
        Box::pin(async { Ok(None) })
    }
}
