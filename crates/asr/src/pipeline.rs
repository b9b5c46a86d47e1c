//! File → transcript: decode (stream) → VAD windows → whisper worker → segments.
//! The caller's thread decodes the next window while the worker runs the current one.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::time::Instant;

use tingji_media::{AudioStream, ChannelMode, DecodeOptions, TARGET_RATE};
use tingji_transcript::{ModelInfo, Parameters, SCHEMA_VERSION, Sampling, Script, Segment, SourceInfo, Transcript};

use crate::checkpoint::{Checkpoint, Entry};
use crate::engine::{DecodeRequest, Engine, RawSegment, Strategy};
use crate::text::{has_repetition_loop, to_script, words_from_tokens};
use crate::vad::{VadConfig, Window, Windower};
use crate::AsrError;

/// Everything that shapes a transcription.
#[derive(Debug, Clone)]
pub struct TranscribeOptions {
    /// `None` = detect the language once, on the first speech.
    pub language: Option<String>,
    pub strategy: Strategy,
    pub threads: u32,
    pub initial_prompt: Option<String>,
    pub temperature: f32,
    pub temperature_inc: f32,
    pub vad: VadConfig,
    pub separate_channels: bool,
    pub script: Script,
    pub decode: DecodeOptions,
    /// Where to keep the partial transcript for resuming (None = no resume).
    pub checkpoint: Option<PathBuf>,
    /// Leave the checkpoint in place once the transcript is complete: the caller removes it
    /// ([`remove_checkpoint`]) after the transcript is stored, so a failed store (full disk,
    /// locked library, a crash) is retried without transcribing again.
    pub keep_checkpoint: bool,
}

impl Default for TranscribeOptions {
    fn default() -> Self {
        TranscribeOptions {
            language: None,
            strategy: Strategy::Beam { beam_size: 5 },
            threads: default_threads(),
            initial_prompt: None,
            temperature: 0.0,
            temperature_inc: 0.2,
            vad: VadConfig::default(),
            separate_channels: false,
            script: Script::Simplified,
            decode: DecodeOptions::default(),
            checkpoint: None,
            keep_checkpoint: false,
        }
    }
}

/// All cores, capped at 4: ggml spins at barriers, so more threads than idle cores hurts.
pub fn default_threads() -> u32 {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(4) as u32)
}

/// What a running transcription reports.
#[derive(Debug, Clone)]
pub enum Event {
    Opened { duration_ms: Option<u64>, backend: String, track_note: Option<String> },
    Resumed { from_ms: u64, segments: usize },
    Language { code: String, probability: f32 },
    Progress { done_ms: u64, total_ms: Option<u64>, eta_ms: Option<u64> },
    Segment(Segment),
    Warning(String),
}

struct InFlight {
    window: Window,
    rx: Receiver<Result<Vec<RawSegment>, AsrError>>,
    temperature: f32,
}

fn ms_of(samples: u64) -> u64 {
    samples * 1000 / TARGET_RATE as u64
}

/// Key identifying a resumable job: same file (path, size, mtime), model and parameters.
fn job_key(path: &Path, model: &str, opts: &TranscribeOptions) -> String {
    format!(
        "{}|{}|{model}|{:?}|{:?}|{}|{}|{}|{:?}|{:?}|{}",
        path.display(),
        tingji_media::file_identity(path),
        opts.language,
        opts.strategy,
        opts.temperature,
        opts.temperature_inc,
        opts.separate_channels,
        opts.initial_prompt,
        opts.script,
        opts.vad.enabled
    )
}

/// Removes a checkpoint kept with [`TranscribeOptions::keep_checkpoint`] (missing is fine).
pub fn remove_checkpoint(path: &Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "checkpoint not removed");
    }
}

/// Default checkpoint location for a file under `dir`.
pub fn checkpoint_path(dir: &Path, path: &Path, model: &str, opts: &TranscribeOptions) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    job_key(path, model, opts).hash(&mut h);
    dir.join(format!("{:016x}.partial.jsonl", h.finish()))
}

pub fn transcribe_file(
    engine: &Engine,
    path: &Path,
    opts: &TranscribeOptions,
    on_event: &mut dyn FnMut(Event),
    cancel: &Arc<AtomicBool>,
) -> Result<Transcript, AsrError> {
    let started = Instant::now();
    let mut dopts = opts.decode.clone();
    dopts.channels = if opts.separate_channels { ChannelMode::Separate } else { ChannelMode::Mono };
    let mut stream = AudioStream::open(path, &dopts)?;
    let info = stream.info().clone();
    let n_ch = stream.output_channels();
    on_event(Event::Opened {
        duration_ms: info.duration_ms,
        backend: format!("{:?}", info.backend),
        track_note: info.track_note.clone(),
    });

    let details = engine.details().clone();
    let mut language = if details.multilingual { opts.language.clone() } else { Some("en".to_string()) };
    let mut language_probability = None;
    let mut segments: Vec<Segment> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();

    let mut done_upto = vec![0u64; n_ch];
    let mut checkpoint = None;
    if let Some(cp) = &opts.checkpoint {
        let (c, restored) = Checkpoint::open(cp, &job_key(path, &details.name, opts))?;
        if let Some(last) = restored.entries.last() {
            if last.done_upto.len() == n_ch {
                done_upto = last.done_upto.clone();
            }
            language = Some(last.language.clone());
            language_probability = last.language_probability;
            for e in &restored.entries {
                segments.extend(e.segments.iter().cloned());
                warnings.extend(e.warnings.iter().cloned());
            }
            let from = *done_upto.iter().min().unwrap_or(&0);
            on_event(Event::Resumed { from_ms: ms_of(from), segments: segments.len() });
        }
        checkpoint = Some(c);
    }
    let resume_from = *done_upto.iter().min().unwrap_or(&0);
    if resume_from > 0 {
        stream.skip_to(resume_from)?;
    }
    let mut windowers: Vec<Windower> =
        (0..n_ch).map(|c| Windower::new(c as u16, opts.vad, resume_from, done_upto[c])).collect();

    let total_ms = info.duration_ms;
    let mut queue: VecDeque<Window> = VecDeque::new();
    let mut in_flight: Option<InFlight> = None;
    let mut eof = false;
    let mut last_progress = Instant::now();

    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(AsrError::Cancelled);
        }
        // Keep one window decoding on the worker while we read ahead.
        if in_flight.is_none()
            && let Some(w) = queue.pop_front()
        {
            if language.is_none() {
                let (code, p) = engine.detect_language(w.audio.clone(), opts.threads)?;
                on_event(Event::Language { code: code.clone(), probability: p });
                language = Some(code);
                language_probability = Some(p);
            }
            let rx = engine.submit(request(&w, opts, language.as_deref(), opts.temperature, cancel));
            in_flight = Some(InFlight { window: w, rx, temperature: opts.temperature });
        }
        // Wait for the worker when nothing else can be done.
        let must_wait = in_flight.is_some() && (eof || !queue.is_empty());
        if let Some(f) = &in_flight {
            let res = if must_wait { Some(f.rx.recv().map_err(|_| AsrError::WorkerGone)) } else { f.rx.try_recv().ok().map(Ok) };
            if let Some(res) = res {
                let f = in_flight.take().expect("in flight");
                let raw = res??;
                let lang = language.clone().unwrap_or_else(|| "en".into());
                let (new_segs, warn) = finish_window(engine, &f, raw, opts, &lang, cancel)?;
                for s in &new_segs {
                    on_event(Event::Segment(s.clone()));
                }
                if let Some(w) = &warn {
                    on_event(Event::Warning(w.clone()));
                    warnings.push(w.clone());
                }
                // Progress and checkpoint: everything before `done` in every channel is final.
                for (c, wd) in windowers.iter().enumerate() {
                    let mut d = wd.committed_upto();
                    for q in queue.iter().filter(|q| q.channel as usize == c) {
                        d = d.min(q.src_start());
                    }
                    done_upto[c] = d;
                }
                if let Some(cp) = checkpoint.as_mut() {
                    cp.append(&Entry {
                        done_upto: done_upto.clone(),
                        language: lang.clone(),
                        language_probability,
                        segments: new_segs.clone(),
                        warnings: warn.into_iter().collect(),
                    })?;
                }
                segments.extend(new_segs);
                let done = ms_of(*done_upto.iter().min().unwrap_or(&0));
                on_event(progress(done, total_ms, started, resume_from));
                continue;
            }
        }
        if eof {
            if in_flight.is_none() && queue.is_empty() {
                break;
            }
            continue;
        }
        match stream.next_chunk()? {
            Some(chunk) => {
                for (c, samples) in chunk.channels.iter().enumerate() {
                    windowers[c].push(samples);
                    while let Some(w) = windowers[c].pop() {
                        queue.push_back(w);
                    }
                }
                if last_progress.elapsed().as_millis() > 500 {
                    last_progress = Instant::now();
                    let done = windowers.iter().map(|w| w.committed_upto()).min().unwrap_or(0);
                    let done = in_flight.as_ref().map_or(done, |f| done.min(f.window.src_start()));
                    let done = queue.front().map_or(done, |q| done.min(q.src_start()));
                    on_event(progress(ms_of(done), total_ms, started, resume_from));
                }
            }
            None => {
                eof = true;
                for w in windowers.iter_mut() {
                    queue.extend(w.finish());
                }
                // Windows in source order across channels.
                let mut v: Vec<Window> = queue.drain(..).collect();
                v.sort_by_key(|w| (w.src_start(), w.channel));
                queue.extend(v);
            }
        }
    }
    for w in stream.warnings() {
        warnings.push(w.clone());
    }
    // What was decoded is the truth; a container's duration can include a longer video track.
    let decoded = stream.position();
    let duration_ms = if decoded > 0 { ms_of(decoded) } else { info.duration_ms.unwrap_or(0) };
    let lang = language.unwrap_or_else(|| "en".into());
    let mut t = Transcript {
        version: SCHEMA_VERSION,
        source: SourceInfo {
            path: path.display().to_string(),
            container: info.container.clone(),
            codec: info.codec.clone(),
            sample_rate: info.sample_rate,
            channels: info.channels,
            track_note: info.track_note.clone(),
        },
        language: lang,
        language_probability,
        duration_ms,
        model: ModelInfo { name: details.name.clone(), ftype: Some(details.ftype.clone()), multilingual: details.multilingual },
        parameters: Parameters {
            language: opts.language.clone().unwrap_or_else(|| "auto".into()),
            sampling: match opts.strategy {
                Strategy::Greedy { best_of } => Sampling::Greedy { best_of },
                Strategy::Beam { beam_size } => Sampling::Beam { beam_size },
            },
            threads: opts.threads,
            initial_prompt: opts.initial_prompt.clone(),
            temperature: opts.temperature,
            temperature_inc: opts.temperature_inc,
            vad: opts.vad.enabled,
            separate_channels: opts.separate_channels,
            script: opts.script,
        },
        segments,
        warnings,
    };
    t.sort_segments();
    on_event(Event::Progress { done_ms: duration_ms, total_ms: Some(duration_ms), eta_ms: Some(0) });
    if let Some(cp) = checkpoint
        && !opts.keep_checkpoint
    {
        cp.finish();
    }
    Ok(t)
}

fn progress(done_ms: u64, total_ms: Option<u64>, started: Instant, resume_from: u64) -> Event {
    let from = ms_of(resume_from);
    let eta_ms = total_ms.and_then(|t| {
        let did = done_ms.saturating_sub(from);
        if did == 0 {
            return None;
        }
        let el = started.elapsed().as_millis() as u64;
        Some(el * t.saturating_sub(done_ms) / did)
    });
    Event::Progress { done_ms, total_ms, eta_ms }
}

fn request(w: &Window, opts: &TranscribeOptions, language: Option<&str>, temperature: f32, cancel: &Arc<AtomicBool>) -> DecodeRequest {
    DecodeRequest {
        audio: w.audio.clone(),
        language: language.map(str::to_string),
        strategy: opts.strategy,
        threads: opts.threads,
        initial_prompt: opts.initial_prompt.clone(),
        temperature,
        temperature_inc: opts.temperature_inc,
        cancel: cancel.clone(),
        audio_ctx: 0,
    }
}

/// Applies the loop guard (re-decoding hotter), maps times to the source, filters text the VAD
/// says is not speech, converts Chinese script.
fn finish_window(
    engine: &Engine,
    f: &InFlight,
    mut raw: Vec<RawSegment>,
    opts: &TranscribeOptions,
    lang: &str,
    cancel: &Arc<AtomicBool>,
) -> Result<(Vec<Segment>, Option<String>), AsrError> {
    let w = &f.window;
    let mut warning = None;
    let joined = |r: &[RawSegment]| r.iter().map(|s| String::from_utf8_lossy(&s.bytes).into_owned()).collect::<Vec<_>>().join(" ");
    if has_repetition_loop(&joined(&raw)) {
        let mut t = f.temperature;
        let mut fixed = false;
        while t < 0.99 {
            t = (t + 0.4).min(1.0);
            let again = engine.decode(request(w, opts, Some(lang), t, cancel))?;
            if !has_repetition_loop(&joined(&again)) {
                raw = again;
                fixed = true;
                break;
            }
        }
        warning = Some(if fixed {
            format!("repetition loop at {} re-decoded at temperature {t:.1}", clock(ms_of(w.src_start())))
        } else {
            format!("repetition loop at {} persisted after re-decoding", clock(ms_of(w.src_start())))
        });
    }
    let map = |ms: u64| ms_of(w.to_source((ms * TARGET_RATE as u64 / 1000) as usize));
    let chinese = lang == "zh" || lang == "yue";
    let mut out = Vec::new();
    for s in raw {
        let mut text = String::from_utf8_lossy(&s.bytes).trim().to_string();
        if text.is_empty() {
            continue;
        }
        let a = (s.start_ms * 16) as usize;
        let b = ((s.end_ms * 16) as usize).min(w.audio.len());
        if opts.vad.enabled && w.voiced_fraction(a, b.max(a + 1), opts.vad.off) < 0.05 {
            tracing::debug!(text, "dropping segment over non-speech");
            continue;
        }
        let mut words = words_from_tokens(&s.tokens, map);
        if chinese {
            text = to_script(&text, opts.script);
            for wd in &mut words {
                wd.text = to_script(&wd.text, opts.script);
            }
        }
        if let Some(first) = words.first_mut() {
            first.text = first.text.trim_start().to_string();
        }
        out.push(Segment {
            start_ms: map(s.start_ms),
            end_ms: map(s.end_ms),
            text,
            channel: if opts.separate_channels { Some(w.channel) } else { None },
            speaker: None,
            words,
        });
    }
    Ok((out, warning))
}

fn clock(ms: u64) -> String {
    format!("{:02}:{:02}:{:02}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60)
}
