//! The whisper worker: one dedicated OS thread owns the `WhisperContext` and its state.
//! Callers hand it windows of audio over a channel and get decoded segments back; nothing
//! else ever touches whisper, so inference never runs on an async runtime or under a lock.

use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState};

use crate::AsrError;

/// What the loaded model is.
#[derive(Debug, Clone)]
pub struct ModelDetails {
    pub name: String,
    pub path: PathBuf,
    pub multilingual: bool,
    pub ftype: String,
}

/// Decoding strategy for one window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    Greedy { best_of: u32 },
    Beam { beam_size: u32 },
}

/// One window of 16 kHz mono audio to decode.
#[derive(Debug)]
pub struct DecodeRequest {
    pub audio: Vec<f32>,
    /// `None` lets whisper pick; normally the pipeline fixes it after detecting once.
    pub language: Option<String>,
    pub strategy: Strategy,
    pub threads: u32,
    pub initial_prompt: Option<String>,
    pub temperature: f32,
    pub temperature_inc: f32,
    pub cancel: Arc<AtomicBool>,
    /// Encoder context in 20 ms frames (0 = whisper's full 30 s). A short utterance encoded
    /// with a context just longer than itself costs a fraction of the full encoder pass (live
    /// captions); windows of a file use the full context.
    pub audio_ctx: u32,
}

impl DecodeRequest {
    /// The encoder context for `samples` of 16 kHz audio plus `margin_ms` (whisper loses words
    /// and drifts into repetitions when the context ends right at the speech), in steps of 64
    /// frames.
    pub fn short_context(samples: usize, margin_ms: u64) -> u32 {
        let frames = (samples as u64 * 50).div_ceil(16_000) + margin_ms / 20;
        (frames.next_multiple_of(64) as u32).min(1500)
    }
}

/// A decoded token (timestamps in ms relative to the window start).
#[derive(Debug, Clone)]
pub struct RawToken {
    pub bytes: Vec<u8>,
    pub start_ms: u64,
    pub end_ms: u64,
    pub p: f32,
}

/// A decoded segment (times in ms relative to the window start).
#[derive(Debug, Clone)]
pub struct RawSegment {
    pub start_ms: u64,
    pub end_ms: u64,
    pub bytes: Vec<u8>,
    pub tokens: Vec<RawToken>,
    pub no_speech_prob: f32,
}

/// whisper.cpp's WHISPER_MAX_DECODERS: larger beams or best_of fail inside `full()`.
pub const MAX_DECODERS: u32 = 8;

enum Msg {
    Decode(DecodeRequest, mpsc::Sender<Result<Vec<RawSegment>, AsrError>>),
    Detect(Vec<f32>, u32, mpsc::Sender<Result<(String, f32), AsrError>>),
    Baseline(Vec<f32>, u32, String, mpsc::Sender<Result<String, AsrError>>),
}

/// Handle to the worker thread. Dropping it stops the worker after its current job.
pub struct Engine {
    tx: Option<mpsc::Sender<Msg>>,
    handle: Option<JoinHandle<()>>,
    details: ModelDetails,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("details", &self.details).finish()
    }
}

fn ftype_name(ftype: i32) -> &'static str {
    match ftype {
        0 => "f32",
        1 => "f16",
        2 => "q4_0",
        3 => "q4_1",
        7 => "q8_0",
        8 => "q5_0",
        9 => "q5_1",
        _ => "other",
    }
}

impl Engine {
    /// Loads a ggml whisper model on a new worker thread; returns once the model is loaded.
    pub fn load(path: &Path, name: &str) -> Result<Engine, AsrError> {
        static LOGGING: std::sync::Once = std::sync::Once::new();
        LOGGING.call_once(whisper_rs::install_logging_hooks);
        if !path.is_file() {
            return Err(AsrError::ModelMissing(path.to_path_buf()));
        }
        let (tx, rx) = mpsc::channel::<Msg>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<ModelDetails, AsrError>>();
        let path_buf = path.to_path_buf();
        let name = name.to_string();
        let handle = std::thread::Builder::new()
            .name("tingji-whisper".into())
            .spawn(move || {
                let loaded = (|| {
                    let p = path_buf.to_str().ok_or_else(|| AsrError::ModelMissing(path_buf.clone()))?;
                    let ctx = WhisperContext::new_with_params(p, WhisperContextParameters::default())
                        .map_err(|e| AsrError::ModelLoad { path: path_buf.clone(), detail: e.to_string() })?;
                    let state = ctx
                        .create_state()
                        .map_err(|e| AsrError::ModelLoad { path: path_buf.clone(), detail: e.to_string() })?;
                    let details = ModelDetails {
                        name: name.clone(),
                        path: path_buf.clone(),
                        multilingual: ctx.is_multilingual(),
                        ftype: ftype_name(ctx.model_ftype()).to_string(),
                    };
                    Ok::<_, AsrError>((ctx, state, details))
                })();
                let (ctx, mut state, details) = match loaded {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(details));
                let eot = ctx.token_eot();
                while let Ok(msg) = rx.recv() {
                    match msg {
                        Msg::Decode(req, reply) => {
                            let _ = reply.send(decode(&mut state, eot, req));
                        }
                        Msg::Detect(audio, threads, reply) => {
                            let _ = reply.send(detect(&mut state, &audio, threads));
                        }
                        Msg::Baseline(audio, threads, language, reply) => {
                            let _ = reply.send(baseline(&mut state, &audio, threads, &language));
                        }
                    }
                }
            })
            .map_err(AsrError::Io)?;
        let details = ready_rx.recv().map_err(|_| AsrError::WorkerGone)??;
        Ok(Engine { tx: Some(tx), handle: Some(handle), details })
    }

    pub fn details(&self) -> &ModelDetails {
        &self.details
    }

    /// Queues a window; the receiver yields its segments when the worker is done with it.
    pub fn submit(&self, req: DecodeRequest) -> mpsc::Receiver<Result<Vec<RawSegment>, AsrError>> {
        let (tx, rx) = mpsc::channel();
        if let Some(sender) = &self.tx {
            let _ = sender.send(Msg::Decode(req, tx));
        }
        rx
    }

    /// Decodes one window and waits for the result.
    pub fn decode(&self, req: DecodeRequest) -> Result<Vec<RawSegment>, AsrError> {
        self.submit(req).recv().map_err(|_| AsrError::WorkerGone)?
    }

    /// Spoken-language identification on up to 30 s of audio: (code, probability).
    pub fn detect_language(&self, audio: Vec<f32>, threads: u32) -> Result<(String, f32), AsrError> {
        let (tx, rx) = mpsc::channel();
        if let Some(sender) = &self.tx {
            let _ = sender.send(Msg::Detect(audio, threads, tx));
        }
        rx.recv().map_err(|_| AsrError::WorkerGone)?
    }
}

impl Engine {
    /// whisper.cpp as a plain integration would call it: the whole buffer in one `full()` with
    /// default parameters (no VAD, no windows). For benchmarks only: it is neither cancellable
    /// nor bounded in memory.
    pub fn baseline_full(&self, audio: Vec<f32>, threads: u32, language: &str) -> Result<String, AsrError> {
        let (tx, rx) = mpsc::channel();
        if let Some(sender) = &self.tx {
            let _ = sender.send(Msg::Baseline(audio, threads, language.to_string(), tx));
        }
        rx.recv().map_err(|_| AsrError::WorkerGone)?
    }
}

fn baseline(state: &mut WhisperState, audio: &[f32], threads: u32, language: &str) -> Result<String, AsrError> {
    let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 5 });
    params.set_n_threads(threads.max(1) as i32);
    params.set_language(Some(language));
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_special(false);
    params.set_print_timestamps(false);
    state.full(params, audio).map_err(|e| AsrError::Whisper(e.to_string()))?;
    let mut text = String::new();
    for seg in state.as_iter() {
        text.push_str(&String::from_utf8_lossy(seg.to_bytes().unwrap_or_default()));
    }
    Ok(text)
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

unsafe extern "C" fn abort_trampoline(user_data: *mut c_void) -> bool {
    // SAFETY: user_data points at the AtomicBool inside an Arc that `decode` keeps alive for the
    // whole `full()` call.
    let flag = unsafe { &*(user_data as *const AtomicBool) };
    flag.load(Ordering::Relaxed)
}

fn detect(state: &mut WhisperState, audio: &[f32], threads: u32) -> Result<(String, f32), AsrError> {
    let threads = threads.max(1) as usize;
    state.pcm_to_mel(audio, threads).map_err(|e| AsrError::Whisper(e.to_string()))?;
    let (id, probs) = state.lang_detect(0, threads).map_err(|e| AsrError::Whisper(e.to_string()))?;
    let code = whisper_rs::get_lang_str(id).unwrap_or("en").to_string();
    let p = probs.get(id.max(0) as usize).copied().unwrap_or(0.0);
    Ok((code, p))
}

fn decode(state: &mut WhisperState, eot: i32, req: DecodeRequest) -> Result<Vec<RawSegment>, AsrError> {
    if req.cancel.load(Ordering::Relaxed) {
        return Err(AsrError::Cancelled);
    }
    let strategy = match req.strategy {
        Strategy::Greedy { best_of } => SamplingStrategy::Greedy { best_of: best_of.clamp(1, MAX_DECODERS) as i32 },
        Strategy::Beam { beam_size } => {
            SamplingStrategy::BeamSearch { beam_size: beam_size.clamp(1, MAX_DECODERS) as i32, patience: -1.0 }
        }
    };
    let mut params = FullParams::new(strategy);
    params.set_n_threads(req.threads.max(1) as i32);
    params.set_language(Some(req.language.as_deref().unwrap_or("auto")));
    params.set_translate(false);
    params.set_no_context(true);
    params.set_token_timestamps(true);
    params.set_print_special(false);
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_timestamps(false);
    params.set_suppress_blank(true);
    params.set_suppress_nst(true);
    params.set_temperature(req.temperature);
    params.set_temperature_inc(req.temperature_inc);
    if req.audio_ctx > 0 {
        params.set_audio_ctx(req.audio_ctx as i32);
    }
    if let Some(p) = &req.initial_prompt {
        params.set_initial_prompt(p);
    }
    let flag: &AtomicBool = &req.cancel;
    // SAFETY: the trampoline only reads the AtomicBool, which outlives `full()` (req lives to the end).
    unsafe {
        params.set_abort_callback(Some(abort_trampoline));
        params.set_abort_callback_user_data(flag as *const AtomicBool as *mut c_void);
    }
    let result = state.full(params, &req.audio);
    if req.cancel.load(Ordering::Relaxed) {
        return Err(AsrError::Cancelled);
    }
    result.map_err(|e| AsrError::Whisper(e.to_string()))?;
    let mut out = Vec::new();
    for seg in state.as_iter() {
        let mut tokens = Vec::new();
        for i in 0..seg.n_tokens() {
            let Some(tok) = seg.get_token(i) else { continue };
            let data = tok.token_data();
            if data.id >= eot {
                continue; // special and timestamp tokens
            }
            let bytes = tok.to_bytes().map(|b| b.to_vec()).unwrap_or_default();
            tokens.push(RawToken {
                bytes,
                start_ms: (data.t0.max(0) as u64) * 10,
                end_ms: (data.t1.max(0) as u64) * 10,
                p: data.p,
            });
        }
        out.push(RawSegment {
            start_ms: (seg.start_timestamp().max(0) as u64) * 10,
            end_ms: (seg.end_timestamp().max(0) as u64) * 10,
            bytes: seg.to_bytes().map(|b| b.to_vec()).unwrap_or_default(),
            tokens,
            no_speech_prob: seg.no_speech_probability(),
        });
    }
    Ok(out)
}
