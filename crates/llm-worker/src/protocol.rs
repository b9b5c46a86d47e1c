//! The JSON-lines protocol between the app (`tingji`) and this worker: one object per line,
//! requests on stdin (`"op"`), events on stdout (`"event"`).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Load(LoadRequest),
    Tokenize { id: u64, text: String },
    Chat(ChatRequest),
    Cancel { id: u64 },
}

#[derive(Debug, Deserialize)]
pub struct LoadRequest {
    pub model: PathBuf,
    #[serde(default = "default_n_ctx")]
    pub n_ctx: u32,
    /// Threads for prompt evaluation and generation; default: all cores.
    #[serde(default)]
    pub threads: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    pub id: u64,
    pub messages: Vec<Message>,
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    #[serde(default = "default_temperature")]
    pub temperature: f32,
    #[serde(default = "default_seed")]
    pub seed: u32,
    /// Constrain the output to this JSON schema (through a llama.cpp grammar).
    #[serde(default)]
    pub json_schema: Option<serde_json::Value>,
    /// Constrain the output to a JSON object when no schema is given.
    #[serde(default)]
    pub json: bool,
}

#[derive(Debug, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

fn default_n_ctx() -> u32 {
    4096
}
fn default_max_tokens() -> u32 {
    512
}
fn default_temperature() -> f32 {
    0.2
}
fn default_seed() -> u32 {
    42
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    Stop,
    Length,
    Cancelled,
}

#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Loaded {
        model: String,
        n_ctx: u32,
        n_ctx_train: u32,
        load_ms: u64,
    },
    Tokens {
        id: u64,
        count: usize,
    },
    Delta {
        id: u64,
        text: String,
    },
    Done {
        id: u64,
        finish_reason: FinishReason,
        prompt_tokens: usize,
        cached_tokens: usize,
        completion_tokens: usize,
        prompt_ms: f64,
        gen_ms: f64,
    },
    Error {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        code: &'static str,
        message: String,
    },
}

/// What a stdin line turned out to be: a request, or a `bad_request` answer (with the line's
/// `id` when it had a numeric one). Unknown fields are ignored (the app may send optional
/// fields only a newer worker understands); unknown ops and missing or mistyped fields are not.
pub fn parse_line(line: &str) -> Result<Request, (Option<u64>, String)> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| (None, format!("invalid JSON: {e}")))?;
    let id = value.get("id").and_then(serde_json::Value::as_u64);
    serde_json::from_value(value).map_err(|e| (id, format!("invalid request: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests_and_rejects_bad_lines() {
        let r = parse_line(r#"{"op":"load","model":"/m.gguf","n_ctx":4096,"threads":2}"#).unwrap();
        assert!(matches!(
            r,
            Request::Load(LoadRequest {
                n_ctx: 4096,
                threads: Some(2),
                ..
            })
        ));
        let r = parse_line(
            r#"{"op":"chat","id":2,"messages":[{"role":"user","content":"hi"}],"max_tokens":5,"temperature":0,"seed":1,"json_schema":null,"json":false}"#,
        )
        .unwrap();
        let Request::Chat(c) = r else { panic!() };
        assert_eq!((c.id, c.max_tokens, c.json_schema.is_none()), (2, 5, true));
        assert_eq!(parse_line("nope").unwrap_err().0, None);
        assert_eq!(parse_line(r#"{"op":"fly","id":7}"#).unwrap_err().0, Some(7));
        assert!(
            parse_line(r#"{"op":"chat","id":3,"messages":[{"role":"robot","content":""}]}"#)
                .is_err()
        );
    }

    #[test]
    fn events_serialize_to_the_protocol() {
        let e = Event::Error {
            id: None,
            code: "bad_request",
            message: "x".into(),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"event":"error","code":"bad_request","message":"x"}"#
        );
        let e = Event::Done {
            id: 2,
            finish_reason: FinishReason::Cancelled,
            prompt_tokens: 1,
            cached_tokens: 0,
            completion_tokens: 3,
            prompt_ms: 1.5,
            gen_ms: 2.0,
        };
        let s = serde_json::to_string(&e).unwrap();
        assert!(
            s.starts_with(r#"{"event":"done","id":2,"finish_reason":"cancelled","#),
            "{s}"
        );
    }
}
