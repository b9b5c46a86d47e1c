//! [`HttpChat`]: `/chat/completions` on any OpenAI-compatible server, streaming or not, with
//! timeouts, retries with backoff, JSON-mode negotiation and cancellation.

use std::sync::Mutex;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tracing::{debug, warn};

use crate::provider::{JsonMode, ProviderConfig};
use crate::sse::{SseItem, SseParser};
use crate::{
    BoxFuture, Cancel, ChatModel, ChatRequest, ChatResponse, LlmError, Result, StreamEvent, Timings,
    TokenUsage, tokens,
};

pub struct HttpChat {
    cfg: ProviderConfig,
    client: reqwest::Client,
    /// Starts at the provider's mode; lowered for the rest of the session when the server
    /// rejects it.
    json_mode: Mutex<JsonMode>,
}

/// One failed attempt: the error and how long the server asked us to wait.
struct Failure {
    error: LlmError,
    retry_after: Option<Duration>,
}

impl From<LlmError> for Failure {
    fn from(error: LlmError) -> Failure {
        Failure { error, retry_after: None }
    }
}

/// The most of a reply that is read: a whole (non-streamed) chat reply or token list, and the
/// start of an error reply that is kept for its message. A server that sends more is not
/// buffered to the end (it could be endless).
const BODY_MAX: usize = 16 << 20;
const ERROR_BODY_MAX: usize = 64 << 10;

/// Why a body was not read whole.
enum Body {
    /// No bytes for the idle timeout.
    Timeout,
    /// The connection failed midway.
    Cut,
    /// Over the limit: what was read up to it.
    TooLong(Vec<u8>),
}

/// Reads `resp`'s body, at most `limit` bytes, each read within `idle`.
async fn read_body(resp: reqwest::Response, limit: usize, idle: Duration) -> std::result::Result<Vec<u8>, Body> {
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream();
    loop {
        match tokio::time::timeout(idle, stream.next()).await {
            Err(_) => return Err(Body::Timeout),
            Ok(None) => return Ok(out),
            Ok(Some(Err(_))) => return Err(Body::Cut),
            Ok(Some(Ok(b))) => {
                if out.len() + b.len() > limit {
                    out.extend_from_slice(&b[..limit - out.len()]);
                    return Err(Body::TooLong(out));
                }
                out.extend_from_slice(&b);
            }
        }
    }
}

impl HttpChat {
    pub fn new(cfg: ProviderConfig) -> Result<HttpChat> {
        let client = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .build()
            .map_err(|e| LlmError::Connect { url: cfg.base_url.clone(), reason: e.to_string() })?;
        let json_mode = Mutex::new(cfg.json_mode);
        Ok(HttpChat { cfg, client, json_mode })
    }

    pub fn config(&self) -> &ProviderConfig {
        &self.cfg
    }

    fn mode(&self) -> JsonMode {
        *self.json_mode.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn body(&self, req: &ChatRequest, mode: JsonMode) -> Value {
        let mut b = json!({
            "model": self.cfg.model,
            "messages": req.messages,
            "temperature": req.temperature,
            "max_tokens": req.max_tokens,
            "stream": self.cfg.stream,
        });
        if let Some(seed) = req.seed {
            b["seed"] = json!(seed);
        }
        if self.cfg.stream {
            b["stream_options"] = json!({ "include_usage": true });
        }
        if let Some(schema) = &req.json_schema {
            match mode {
                JsonMode::JsonSchema => {
                    b["response_format"] = json!({
                        "type": "json_schema",
                        "json_schema": { "name": "answer", "schema": schema, "strict": false }
                    })
                }
                JsonMode::JsonObjectWithSchema => {
                    b["response_format"] = json!({ "type": "json_object", "schema": schema })
                }
                JsonMode::JsonObject => b["response_format"] = json!({ "type": "json_object" }),
                JsonMode::PromptOnly => {}
            }
        }
        b
    }

    async fn attempt(
        &self,
        req: &ChatRequest,
        mode: JsonMode,
        on_event: &mut (dyn FnMut(StreamEvent<'_>) + Send),
    ) -> std::result::Result<ChatResponse, Failure> {
        let url = format!("{}/chat/completions", self.cfg.base_url);
        let idle = self.cfg.idle_timeout;
        let timeout = || LlmError::Timeout { secs: idle.as_secs() };
        let mut rb = self.client.post(&url).json(&self.body(req, mode));
        if let Some(k) = &self.cfg.api_key {
            rb = rb.bearer_auth(k.expose());
        }
        let resp = match tokio::time::timeout(idle, rb.send()).await {
            Err(_) => return Err(timeout().into()),
            Ok(Err(e)) => {
                return Err(LlmError::Connect { url: self.cfg.base_url.clone(), reason: short(&e) }.into());
            }
            Ok(Ok(r)) => r,
        };
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(|s| Duration::from_secs_f64(s.clamp(0.0, 60.0)));
            let body = match read_body(resp, ERROR_BODY_MAX, idle).await {
                Ok(b) | Err(Body::TooLong(b)) => String::from_utf8_lossy(&b).into_owned(),
                Err(_) => String::new(),
            };
            let body: String = body.chars().take(500).collect();
            let error = match status {
                401 | 403 => LlmError::Auth { status, body },
                _ => LlmError::Http { status, body },
            };
            return Err(Failure { error, retry_after });
        }
        let mut acc = Accumulator::default();
        if self.cfg.stream {
            let mut parser = SseParser::new();
            let mut stream = resp.bytes_stream();
            let mut done = false;
            loop {
                let chunk = match tokio::time::timeout(idle, stream.next()).await {
                    Err(_) => return Err(timeout().into()),
                    Ok(None) => break,
                    Ok(Some(Err(e))) => {
                        debug!("stream read failed: {}", short(&e));
                        return Err(LlmError::StreamCut.into());
                    }
                    Ok(Some(Ok(b))) => b,
                };
                for item in parser.push(&chunk) {
                    done |= acc.item(item, on_event)?;
                }
            }
            for item in parser.finish() {
                done |= acc.item(item, on_event)?;
            }
            if !done && acc.finish_reason.is_none() {
                return Err(LlmError::StreamCut.into());
            }
        } else {
            let text = match read_body(resp, BODY_MAX, idle).await {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(Body::Timeout) => return Err(timeout().into()),
                Err(Body::Cut) => return Err(LlmError::StreamCut.into()),
                Err(Body::TooLong(_)) => {
                    return Err(LlmError::BadResponse(format!("the server's reply is over {} MB", BODY_MAX >> 20)).into());
                }
            };
            let v: Value = serde_json::from_str(&text)
                .map_err(|e| LlmError::BadResponse(format!("not JSON ({e}): {}", text.chars().take(200).collect::<String>())))?;
            acc.chunk(&v, false, on_event)?;
        }
        if !acc.saw_choice {
            return Err(LlmError::EmptyChoice.into());
        }
        let usage = acc.usage.unwrap_or_else(|| TokenUsage {
            prompt_tokens: req.messages.iter().map(|m| tokens::estimate(&m.content) as u64 + 4).sum(),
            completion_tokens: tokens::estimate(&acc.text) as u64,
            estimated: true,
        });
        Ok(ChatResponse { text: acc.text, usage, finish_reason: acc.finish_reason, timings: acc.timings })
    }
}

fn short(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s = format!("{s}: {c}");
        src = c.source();
    }
    s
}

#[derive(Default)]
struct Accumulator {
    text: String,
    saw_choice: bool,
    finish_reason: Option<String>,
    usage: Option<TokenUsage>,
    timings: Option<Timings>,
}

impl Accumulator {
    /// Returns true at the end of the stream.
    fn item(&mut self, item: SseItem, on_event: &mut (dyn FnMut(StreamEvent<'_>) + Send)) -> Result<bool> {
        match item {
            SseItem::Done => Ok(true),
            SseItem::KeepAlive => Ok(false),
            SseItem::TooLong => {
                Err(LlmError::BadResponse(format!("the server sent a stream event over {} MB", crate::sse::MAX_EVENT >> 20)))
            }
            SseItem::Data(d) => {
                let v: Value = serde_json::from_str(&d)
                    .map_err(|e| LlmError::BadResponse(format!("stream chunk is not JSON ({e})")))?;
                self.chunk(&v, true, on_event)?;
                Ok(false)
            }
        }
    }

    fn chunk(&mut self, v: &Value, stream: bool, on_event: &mut (dyn FnMut(StreamEvent<'_>) + Send)) -> Result<()> {
        if let Some(err) = v.get("error") {
            let msg = err.get("message").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| err.to_string());
            return Err(LlmError::Http { status: 500, body: msg });
        }
        if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
            let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
            self.usage = Some(TokenUsage {
                prompt_tokens: n("prompt_tokens"),
                completion_tokens: n("completion_tokens"),
                estimated: false,
            });
        }
        if let Some(t) = v.get("timings").filter(|t| t.is_object()) {
            let f = |k: &str| t.get(k).and_then(Value::as_f64).unwrap_or(0.0);
            self.timings = Some(Timings {
                prompt_tokens: f("prompt_n") as u64,
                prompt_ms: f("prompt_ms"),
                generated_tokens: f("predicted_n") as u64,
                generation_ms: f("predicted_ms"),
            });
        }
        let Some(choices) = v.get("choices").and_then(Value::as_array) else {
            return if stream { Ok(()) } else { Err(LlmError::EmptyChoice) };
        };
        let Some(c) = choices.first() else {
            // Usage-only chunks at the end of a stream have no choices.
            return if stream { Ok(()) } else { Err(LlmError::EmptyChoice) };
        };
        let part = if stream { c.get("delta") } else { c.get("message") };
        let content = part.and_then(|p| p.get("content")).and_then(Value::as_str);
        if let Some(s) = content {
            self.saw_choice = true;
            if !s.is_empty() {
                self.text.push_str(s);
                on_event(StreamEvent::Text(s));
            }
        } else if !stream {
            return Err(LlmError::EmptyChoice);
        } else {
            // A delta with only a role, or a final chunk.
            self.saw_choice |= part.is_some();
        }
        if let Some(r) = c.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(r.to_string());
        }
        Ok(())
    }
}

/// A server error that means "I don't take this `response_format`" rather than a failure.
fn rejects_json_mode(e: &LlmError) -> bool {
    match e {
        LlmError::Http { status: 400 | 422, .. } => true,
        // llama-cpp-python answers an unknown response_format with HTTP 500.
        LlmError::Http { status: 500, body } => {
            let b = body.to_ascii_lowercase();
            b.contains("response_format") || b.contains("json_schema") || b.contains("schema")
        }
        _ => false,
    }
}

impl ChatModel for HttpChat {
    fn name(&self) -> String {
        format!("{}/{}", self.cfg.provider.id, self.cfg.model)
    }

    fn context_tokens(&self) -> Option<usize> {
        self.cfg.context_tokens
    }

    fn chat<'a>(
        &'a self,
        req: &'a ChatRequest,
        on_event: &'a mut (dyn FnMut(StreamEvent<'_>) + Send),
        cancel: &'a Cancel,
    ) -> BoxFuture<'a, Result<ChatResponse>> {
        Box::pin(async move {
            let mut attempt = 0u32;
            let mut started = false;
            loop {
                if cancel.is_cancelled() {
                    return Err(LlmError::Cancelled);
                }
                attempt += 1;
                let mode = self.mode();
                if started {
                    on_event(StreamEvent::Restart);
                }
                started = true;
                let result = tokio::select! {
                    r = self.attempt(req, mode, &mut *on_event) => r,
                    _ = cancel.cancelled() => return Err(LlmError::Cancelled),
                };
                let f = match result {
                    Ok(r) => return Ok(r),
                    Err(f) => f,
                };
                if req.json_schema.is_some()
                    && rejects_json_mode(&f.error)
                    && let Some(weaker) = mode.weaker()
                {
                    warn!("server rejected JSON mode {mode:?} ({}); trying {weaker:?}", f.error);
                    *self.json_mode.lock().unwrap_or_else(|p| p.into_inner()) = weaker;
                    attempt -= 1;
                    continue;
                }
                let rate_limited = matches!(f.error, LlmError::Http { status: 429, .. });
                if !(rate_limited || f.error.is_transient()) || attempt >= self.cfg.max_attempts {
                    return Err(if rate_limited { LlmError::RateLimited { attempts: attempt } } else { f.error });
                }
                let wait = f.retry_after.unwrap_or(self.cfg.backoff * 2u32.pow(attempt - 1));
                warn!("LLM request failed ({}); retry {attempt} in {:.1} s", f.error, wait.as_secs_f32());
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = cancel.cancelled() => return Err(LlmError::Cancelled),
                }
            }
        })
    }

    fn count_tokens<'a>(&'a self, text: &'a str) -> BoxFuture<'a, Result<Option<usize>>> {
        // llama.cpp's server has POST /tokenize at its root; others have nothing.
        Box::pin(async move {
            if self.cfg.provider.id != "llamacpp" {
                return Ok(None);
            }
            let root = self.cfg.base_url.trim_end_matches("/v1");
            // A server that hangs or answers without end is a server without a tokenizer.
            let idle = self.cfg.idle_timeout;
            let r = tokio::time::timeout(idle, self.client.post(format!("{root}/tokenize")).json(&json!({ "content": text })).send()).await;
            let Ok(Ok(r)) = r else { return Ok(None) };
            let Ok(body) = read_body(r, BODY_MAX, idle).await else { return Ok(None) };
            let Ok(v) = serde_json::from_slice::<Value>(&body) else { return Ok(None) };
            Ok(v.get("tokens").and_then(Value::as_array).map(|t| t.len()))
        })
    }
}
