//! [`LocalChat`]: the built-in model. llama.cpp runs in a child process (`tingji-llm`, crate
//! `tingji-llm-worker`) because it cannot share a binary with whisper.cpp (both bundle ggml) and
//! because a failed llama.cpp assertion aborts its whole process. The child speaks JSON lines on
//! stdin/stdout; requests to one child are serialised, a crashed child is restarted once.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;
use tracing::{debug, info, warn};

use crate::{
    BoxFuture, Cancel, ChatModel, ChatRequest, ChatResponse, LlmError, Result, StreamEvent, Timings,
    TokenUsage,
};

/// Name of the worker binary, installed next to `tingji`.
pub const WORKER_BIN: &str = "tingji-llm";

pub struct LocalChat {
    model_path: PathBuf,
    n_ctx: usize,
    threads: u32,
    worker_bin: PathBuf,
    name: StdMutex<String>,
    next_id: AtomicU64,
    /// Silence from the worker after which a request fails ([`DEFAULT_IDLE`]).
    idle: Duration,
    /// The running child. An async lock: it serialises requests to the one child and is held
    /// across awaits on the child's pipes, never across inference in this process.
    worker: Mutex<Option<Worker>>,
}

/// The longest line read from the worker (a delta, an error): more is a broken worker.
const MAX_LINE: usize = 16 << 20;
/// How long a worker that was told to cancel may take to say it stopped before it is killed.
const CANCEL_GRACE: Duration = Duration::from_secs(5);
/// Silence from the worker (no delta, no event) after which a request fails and the worker is
/// killed: a long prompt is read without output, so this is generous.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(300);

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// The line being read: kept here, not in `recv`, so that a read cut short by a cancel or
    /// a timeout (its future dropped mid-line) goes on where it stopped.
    line: Vec<u8>,
    stderr: Arc<StdMutex<VecDeque<String>>>,
    /// Set when a request gave up on the worker (silent past the idle timeout, or still going
    /// after a cancel's grace period): it is killed rather than reused.
    abandoned: bool,
}

impl Worker {
    async fn send(&mut self, v: &Value) -> Result<()> {
        let mut line = v.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.map_err(|e| self.died(&e.to_string()))?;
        self.stdin.flush().await.map_err(|e| self.died(&e.to_string()))
    }

    /// The next event, waiting at most `idle` (the worker is then abandoned).
    async fn recv_within(&mut self, idle: Duration) -> Result<Value> {
        match tokio::time::timeout(idle, self.recv()).await {
            Ok(r) => r,
            Err(_) => {
                self.abandoned = true;
                Err(LlmError::Timeout { secs: idle.as_secs() })
            }
        }
    }

    /// The next event. Cancel-safe: a dropped call loses nothing of the line it was reading.
    async fn recv(&mut self) -> Result<Value> {
        loop {
            let room = (MAX_LINE + 1).saturating_sub(self.line.len()) as u64;
            let n = match (&mut self.stdout).take(room).read_until(b'\n', &mut self.line).await {
                Ok(n) => n,
                Err(e) => return Err(self.died(&e.to_string())),
            };
            if self.line.len() > MAX_LINE {
                self.line.clear();
                return Err(self.died(&format!("sent a line over {} MB", MAX_LINE >> 20)));
            }
            if n == 0 && self.line.is_empty() {
                let status = self.child.wait().await.ok();
                return Err(self.died(&format!("exited ({status:?})")));
            }
            // A whole line, or the last one before the end of the output.
            let text = String::from_utf8_lossy(&self.line).into_owned();
            self.line.clear();
            let l = text.trim();
            if l.is_empty() {
                continue;
            }
            return serde_json::from_str(l).map_err(|e| {
                LlmError::Worker(format!("unreadable line from {WORKER_BIN} ({e}): {}", l.chars().take(200).collect::<String>()))
            });
        }
    }

    fn died(&self, what: &str) -> LlmError {
        let tail: Vec<String> = self.stderr.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect();
        LlmError::Worker(format!("{WORKER_BIN} {what}; its last messages: {}", tail.join(" | ")))
    }
}

impl LocalChat {
    /// `model_path` is a GGUF file. Nothing starts until the first request.
    pub fn new(model_path: &Path, n_ctx: usize, threads: u32) -> Result<LocalChat> {
        if !model_path.is_file() {
            return Err(LlmError::ModelMissing(model_path.display().to_string()));
        }
        let stem = model_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(LocalChat {
            model_path: model_path.to_path_buf(),
            n_ctx,
            threads: threads.max(1),
            worker_bin: worker_binary(),
            name: StdMutex::new(stem),
            next_id: AtomicU64::new(1),
            idle: DEFAULT_IDLE,
            worker: Mutex::new(None),
        })
    }

    /// Fails a request (and kills the worker) after `idle` without a word from it.
    pub fn with_idle_timeout(mut self, idle: Duration) -> LocalChat {
        self.idle = idle;
        self
    }

    /// Uses this worker binary instead of the one next to the current executable.
    pub fn with_worker_binary(mut self, bin: &Path) -> LocalChat {
        self.worker_bin = bin.to_path_buf();
        self
    }

    async fn start(&self) -> Result<Worker> {
        let mut cmd = Command::new(&self.worker_bin);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        // With the default (active) wait policy, llama.cpp's threads spin and run ~5x slower next
        // to another busy process (measured, see ARCHITECTURE.md).
        cmd.env("OMP_WAIT_POLICY", "passive");
        let mut child = cmd.spawn().map_err(|e| {
            LlmError::Worker(format!("cannot start {} ({e}); is tingji installed completely?", self.worker_bin.display()))
        })?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let tail = Arc::new(StdMutex::new(VecDeque::new()));
        let t = tail.clone();
        tokio::spawn(async move {
            // Lines of at most 64 KB (a longer one comes in pieces): a worker writing without
            // end cannot grow this process.
            let mut err = BufReader::new(stderr);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match (&mut err).take(64 << 10).read_until(b'\n', &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let l = String::from_utf8_lossy(&buf).trim_end().to_string();
                debug!(target: "tingji_llm::worker", "{l}");
                let mut q = t.lock().unwrap_or_else(|p| p.into_inner());
                if q.len() == 5 {
                    q.pop_front();
                }
                q.push_back(l);
            }
        });
        let mut w = Worker { child, stdin, stdout: BufReader::new(stdout), line: Vec::new(), stderr: tail, abandoned: false };
        w.send(&json!({
            "op": "load",
            "model": self.model_path,
            "n_ctx": self.n_ctx,
            "threads": self.threads,
        }))
        .await?;
        let v = tokio::time::timeout(Duration::from_secs(300), w.recv())
            .await
            .map_err(|_| LlmError::Worker(format!("{WORKER_BIN} did not load the model in 300 s")))??;
        match v.get("event").and_then(Value::as_str) {
            Some("loaded") => {
                if let Some(n) = v.get("model").and_then(Value::as_str).filter(|s| !s.is_empty()) {
                    *self.name.lock().unwrap_or_else(|p| p.into_inner()) = n.to_string();
                }
                let ms = v.get("load_ms").and_then(Value::as_u64).unwrap_or(0);
                info!("built-in model loaded in {ms} ms");
                Ok(w)
            }
            _ => Err(worker_error(&v)),
        }
    }

    /// A running child (started if needed). The caller holds the lock.
    async fn ready<'g>(&self, guard: &'g mut Option<Worker>) -> Result<&'g mut Worker> {
        if guard.is_none() {
            *guard = Some(self.start().await?);
        }
        Ok(guard.as_mut().expect("started above"))
    }
}

async fn run_chat(
    w: &mut Worker,
    idle: Duration,
    id: u64,
    req: &ChatRequest,
    on_event: &mut (dyn FnMut(StreamEvent<'_>) + Send),
    cancel: &Cancel,
) -> Result<ChatResponse> {
    if cancel.is_cancelled() {
        return Err(LlmError::Cancelled);
    }
    w.send(&json!({
        "op": "chat",
        "id": id,
        "messages": req.messages,
        "max_tokens": req.max_tokens,
        "temperature": req.temperature,
        "seed": req.seed.unwrap_or(42),
        "json_schema": req.json_schema,
        "json": req.json_schema.is_some(),
    }))
    .await?;
    let mut text = String::new();
    // When the cancel was sent: the worker has `CANCEL_GRACE` from then to stop.
    let mut cancelled: Option<tokio::time::Instant> = None;
    loop {
        let wait = match cancelled {
            Some(at) => CANCEL_GRACE.saturating_sub(at.elapsed()).min(idle),
            None => idle,
        };
        let v = tokio::select! {
            v = w.recv_within(wait) => match v {
                Err(LlmError::Timeout { .. }) if cancelled.is_some() => return Err(LlmError::Cancelled),
                v => v?,
            },
            _ = cancel.cancelled(), if cancelled.is_none() => {
                cancelled = Some(tokio::time::Instant::now());
                w.send(&json!({ "op": "cancel", "id": id })).await?;
                continue;
            }
        };
        let cancelled = cancelled.is_some();
        match v.get("event").and_then(Value::as_str) {
            Some("delta") => {
                if let Some(t) = v.get("text").and_then(Value::as_str) {
                    text.push_str(t);
                    if !cancelled {
                        on_event(StreamEvent::Text(t));
                    }
                }
            }
            Some("done") => {
                let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
                let f = |k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(0.0);
                let reason = v.get("finish_reason").and_then(Value::as_str).map(str::to_string);
                if cancelled || reason.as_deref() == Some("cancelled") {
                    return Err(LlmError::Cancelled);
                }
                return Ok(ChatResponse {
                    text,
                    usage: TokenUsage {
                        prompt_tokens: n("prompt_tokens"),
                        completion_tokens: n("completion_tokens"),
                        estimated: false,
                    },
                    finish_reason: reason,
                    timings: Some(Timings {
                        prompt_tokens: n("prompt_tokens").saturating_sub(n("cached_tokens")),
                        prompt_ms: f("prompt_ms"),
                        generated_tokens: n("completion_tokens"),
                        generation_ms: f("gen_ms"),
                    }),
                });
            }
            Some("error") => return Err(worker_error(&v)),
            _ => debug!("ignoring worker line {v}"),
        }
    }
}

async fn run_tokenize(w: &mut Worker, idle: Duration, id: u64, text: &str) -> Result<Option<usize>> {
    w.send(&json!({ "op": "tokenize", "id": id, "text": text })).await?;
    loop {
        let v = w.recv_within(idle).await?;
        match v.get("event").and_then(Value::as_str) {
            Some("tokens") => return Ok(v.get("count").and_then(Value::as_u64).map(|c| c as usize)),
            Some("error") => return Err(worker_error(&v)),
            _ => continue,
        }
    }
}

fn worker_error(v: &Value) -> LlmError {
    let code = v.get("code").and_then(Value::as_str).unwrap_or("");
    let msg = v.get("message").and_then(Value::as_str).unwrap_or("").to_string();
    match code {
        "model_missing" => LlmError::ModelMissing(msg),
        "context_overflow" => {
            let nums: Vec<usize> = msg
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|s| s.parse().ok())
                .collect();
            LlmError::ContextOverflow { prompt: nums.first().copied().unwrap_or(0), context: nums.last().copied().unwrap_or(0) }
        }
        _ => LlmError::Worker(format!("{code}: {msg}")),
    }
}

/// `$TINGJI_LLM_WORKER`, else `tingji-llm` next to the running executable (or one directory up,
/// for test binaries in `target/*/deps`), else on `PATH`.
pub fn worker_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("TINGJI_LLM_WORKER") {
        return PathBuf::from(p);
    }
    let name = format!("{WORKER_BIN}{}", std::env::consts::EXE_SUFFIX);
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(2) {
            let c = dir.join(&name);
            if c.is_file() {
                return c;
            }
        }
    }
    PathBuf::from(name)
}

impl ChatModel for LocalChat {
    fn name(&self) -> String {
        format!("builtin/{}", self.name.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn context_tokens(&self) -> Option<usize> {
        Some(self.n_ctx)
    }

    fn chat<'a>(
        &'a self,
        req: &'a ChatRequest,
        on_event: &'a mut (dyn FnMut(StreamEvent<'_>) + Send),
        cancel: &'a Cancel,
    ) -> BoxFuture<'a, Result<ChatResponse>> {
        Box::pin(async move {
            let mut guard = self.worker.lock().await;
            let mut attempt = 0;
            loop {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let w = self.ready(&mut guard).await?;
                let r = run_chat(w, self.idle, id, req, &mut *on_event, cancel).await;
                if w.abandoned {
                    // Silent too long, or still going after a cancel: killed (on drop), not reused.
                    *guard = None;
                }
                match r {
                    Err(LlmError::Worker(msg)) => {
                        *guard = None;
                        attempt += 1;
                        if attempt > 1 {
                            return Err(LlmError::Worker(msg));
                        }
                        warn!("built-in model process failed ({msg}); restarting it");
                        on_event(StreamEvent::Restart);
                    }
                    r => return r,
                }
            }
        })
    }

    fn count_tokens<'a>(&'a self, text: &'a str) -> BoxFuture<'a, Result<Option<usize>>> {
        Box::pin(async move {
            let mut guard = self.worker.lock().await;
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let w = self.ready(&mut guard).await?;
            let r = run_tokenize(w, self.idle, id, text).await;
            if w.abandoned || matches!(r, Err(LlmError::Worker(_))) {
                *guard = None;
            }
            r
        })
    }
}
