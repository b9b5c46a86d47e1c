//! `tingji-llm`: the built-in local LLM as its own process. The app writes JSON-lines requests
//! to stdin and reads JSON-lines events from stdout (see `protocol`). stdout carries protocol
//! lines only; logs (ours and llama.cpp's, through `tracing`) go to stderr.
//!
//! Threads: the stdin reader parses lines and feeds a channel (it handles `cancel` itself, so a
//! running generation stops within one token); the main thread owns llama.cpp and answers
//! requests in order.

mod engine;
mod error;
mod protocol;

use anyhow::Context as _;
use error::WorkerError;
use llama_cpp_2::llama_backend::LlamaBackend;
use protocol::{Event, LoadRequest, Request};
use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    // llama.cpp's OpenMP threads spin while waiting by default; next to another busy process
    // (our transcription) that made 2 threads 5x slower. Must happen before any thread exists.
    if std::env::var_os("OMP_WAIT_POLICY").is_none() {
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("OMP_WAIT_POLICY", "passive") };
    }
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!("tingji-llm {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    let filter = tracing_subscriber::EnvFilter::try_from_env("TINGJI_LLM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,llama-cpp-2=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
    let backend = LlamaBackend::init().context("llama.cpp backend")?;

    let cancel = Arc::new(Cancel::default());
    let (tx, rx) = std::sync::mpsc::channel();
    let reader_cancel = Arc::clone(&cancel);
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || read_stdin(tx, &reader_cancel))
        .context("spawn the stdin thread")?;

    // `serve` returns the next load, or `None` at EOF (and then `wait_for_load` does too).
    let mut next_load = None;
    while let Some(load) = next_load.take().or_else(|| wait_for_load(&rx, &cancel)) {
        let Load {
            path,
            n_ctx,
            threads,
        } = load;
        let t0 = Instant::now();
        let model = match engine::load_model(&backend, &path) {
            Ok(model) => model,
            Err(e) => {
                send_error(None, &e);
                continue;
            }
        };
        let mut session = match engine::Session::new(&backend, &model, n_ctx, threads) {
            Ok(session) => session,
            Err(e) => {
                send_error(None, &e);
                continue;
            }
        };
        let name = engine::model_name(&model, &path);
        let load_ms = t0.elapsed().as_millis() as u64;
        tracing::info!(model = %name, n_ctx = session.n_ctx(), threads, load_ms, "loaded");
        send(&Event::Loaded {
            model: name,
            n_ctx: session.n_ctx(),
            n_ctx_train: model.n_ctx_train(),
            load_ms,
        });
        next_load = serve(&mut session, &rx, &cancel);
        // `session` and `model` drop here, before the next model is loaded.
    }
    tracing::debug!("stdin closed; exiting");
    Ok(())
}

struct Load {
    path: PathBuf,
    n_ctx: u32,
    threads: u32,
}

fn to_load(
    LoadRequest {
        model,
        n_ctx,
        threads,
    }: LoadRequest,
) -> Load {
    let threads = threads
        .filter(|&t| t > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
    Load {
        path: model,
        n_ctx,
        threads,
    }
}

/// Without a model: answer requests until a load (returned) or stdin EOF (`None`).
fn wait_for_load(rx: &Receiver<Request>, cancel: &Cancel) -> Option<Load> {
    for req in rx {
        match req {
            Request::Load(load) => return Some(to_load(load)),
            Request::Tokenize { id, .. } => send_error(Some(id), &WorkerError::NoModel),
            Request::Chat(chat) => send_error(Some(chat.id), &WorkerError::NoModel),
            Request::Cancel { id } => cancel.forget(id),
        }
    }
    None
}

/// With a model: answer requests until a load of another existing file (returned: the
/// caller drops this model and loads that one) or stdin EOF (`None`). A load of a missing
/// file is answered `model_missing` and this model stays loaded.
fn serve(
    session: &mut engine::Session<'_>,
    rx: &Receiver<Request>,
    cancel: &Cancel,
) -> Option<Load> {
    for req in rx {
        match req {
            Request::Load(load) => match engine::check_model_path(&load.model) {
                Ok(()) => return Some(to_load(load)),
                Err(e) => send_error(None, &e),
            },
            Request::Tokenize { id, text } => send(&Event::Tokens {
                id,
                count: session.count_tokens(&text),
            }),
            Request::Cancel { id } => cancel.forget(id),
            Request::Chat(chat) => {
                let id = chat.id;
                let already_cancelled = cancel.start(id);
                let result = if already_cancelled {
                    Ok(engine::ChatStats {
                        finish_reason: protocol::FinishReason::Cancelled,
                        prompt_tokens: 0,
                        cached_tokens: 0,
                        completion_tokens: 0,
                        prompt_ms: 0.0,
                        gen_ms: 0.0,
                    })
                } else {
                    session.chat(&chat, &cancel.flag, |text| {
                        send(&Event::Delta {
                            id,
                            text: text.to_owned(),
                        })
                    })
                };
                cancel.finish();
                match result {
                    Ok(s) => {
                        tracing::info!(
                            id,
                            finish = ?s.finish_reason,
                            prompt = s.prompt_tokens,
                            cached = s.cached_tokens,
                            completion = s.completion_tokens,
                            prompt_tok_s = (s.prompt_tokens - s.cached_tokens) as f64 / (s.prompt_ms / 1e3),
                            gen_tok_s = s.completion_tokens as f64 / (s.gen_ms / 1e3),
                            "chat done"
                        );
                        send(&Event::Done {
                            id,
                            finish_reason: s.finish_reason,
                            prompt_tokens: s.prompt_tokens,
                            cached_tokens: s.cached_tokens,
                            completion_tokens: s.completion_tokens,
                            prompt_ms: s.prompt_ms,
                            gen_ms: s.gen_ms,
                        });
                    }
                    Err(e) => send_error(Some(id), &e),
                }
            }
        }
    }
    None
}

/// Reads stdin lines until EOF. Bad lines are answered here; `cancel` takes effect here at
/// once (the engine may be busy generating) and is also forwarded so the engine can forget it.
fn read_stdin(tx: Sender<Request>, cancel: &Cancel) {
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                tracing::error!("reading stdin: {e}");
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        match protocol::parse_line(&line) {
            Ok(req) => {
                if let Request::Cancel { id } = req {
                    cancel.request(id);
                }
                if tx.send(req).is_err() {
                    break;
                }
            }
            Err((id, message)) => send(&Event::Error {
                id,
                code: "bad_request",
                message,
            }),
        }
    }
    // EOF: stop a running generation; dropping `tx` then ends the engine's loop (exit 0).
    cancel.stop_running();
}

/// Cancellation shared by the stdin thread and the engine. `flag` is what generation polls
/// once per token; a cancel for a chat that has not started yet is remembered until it starts
/// (or until the engine reaches the cancel request itself, after that chat).
#[derive(Default)]
struct Cancel {
    flag: AtomicBool,
    state: Mutex<CancelState>,
}

#[derive(Default)]
struct CancelState {
    running: Option<u64>,
    early: HashSet<u64>,
}

impl Cancel {
    fn request(&self, id: u64) {
        let mut s = self.state.lock().unwrap();
        if s.running == Some(id) {
            self.flag.store(true, Ordering::Relaxed);
        } else {
            s.early.insert(id);
        }
    }

    /// Marks chat `id` as running; true if it was cancelled before it started.
    fn start(&self, id: u64) -> bool {
        let mut s = self.state.lock().unwrap();
        s.running = Some(id);
        let early = s.early.remove(&id);
        self.flag.store(early, Ordering::Relaxed);
        early
    }

    fn stop_running(&self) {
        if self.state.lock().unwrap().running.is_some() {
            self.flag.store(true, Ordering::Relaxed);
        }
    }

    fn finish(&self) {
        let mut s = self.state.lock().unwrap();
        s.running = None;
        self.flag.store(false, Ordering::Relaxed);
    }

    fn forget(&self, id: u64) {
        self.state.lock().unwrap().early.remove(&id);
    }
}

fn send_error(id: Option<u64>, e: &WorkerError) {
    tracing::warn!(code = e.code(), "{e}");
    send(&Event::Error {
        id,
        code: e.code(),
        message: e.to_string(),
    });
}

/// Writes one protocol line to stdout. If the parent has gone away there is nobody to answer:
/// exit.
fn send(event: &Event) {
    let mut line = serde_json::to_string(event).expect("events serialize");
    line.push('\n');
    let mut out = std::io::stdout().lock();
    if out
        .write_all(line.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        tracing::warn!("stdout closed; exiting");
        std::process::exit(0);
    }
}
