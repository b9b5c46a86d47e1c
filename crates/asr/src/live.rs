//! Live captions: streaming whisper over VAD-gated utterances of a recording in progress.
//!
//! The recorder pushes 16 kHz mono blocks per channel with [`LiveCaptioner::push`], which only
//! copies the block into a bounded queue (never blocks, never runs whisper; a full queue drops
//! the block and counts it). The caption thread (`tingji-live`) runs one VAD segmenter per
//! channel: an utterance opens at speech onset (with `vad.pad_ms` of preroll), closes after
//! `end_silence_ms` of non-speech, or is cut at `max_utterance_ms` (at the quietest frame of its
//! last third when there is one). While an utterance is open, every `partial_every_ms` of new
//! audio it is decoded and a partial caption emitted; when it closes it is decoded again and its
//! finals emitted. Silence never reaches whisper.
//!
//! Scheduling: one decode at a time through the shared [`Engine`] worker, submitted without
//! blocking so audio keeps flowing through the VAD while whisper runs. Finals are queued in
//! order and never skipped; each channel keeps only its newest pending partial, and a partial
//! still decoding when its utterance closes is cancelled. If finals pile up (decoding slower
//! than real time) the caption thread stops reading audio, so memory stays bounded and the
//! excess shows up in [`LiveCaptioner::dropped_blocks`].
//!
//! Caption semantics for a UI: a partial replaces the channel's previous partial; finals replace
//! the partial of their utterance. A final with empty `text` retracts a partial whose utterance
//! turned out to have no text (it is not part of [`LiveCaptioner::finish`]'s list).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tingji_transcript::Word;

use crate::engine::{DecodeRequest, RawSegment, Strategy};
use crate::text::{has_repetition_loop, to_script, words_from_tokens};
use crate::vad::FRAME;
use crate::{AsrError, Engine, VadConfig};

const RATE: u64 = 16_000;
/// Encoder context beyond the utterance: partials (replaced a second later) take a short one,
/// finals (kept) a wider one, which measured as accurate as whisper's full 30 s on JFK.
const PARTIAL_CTX_MARGIN_MS: u64 = 2_000;
const FINAL_CTX_MARGIN_MS: u64 = 8_000;
/// Blocks the input queue holds (≈ 20 s of one channel at 20 ms blocks).
const QUEUE_BLOCKS: usize = 1024;
/// Finals waiting for whisper before the caption thread stops reading audio.
const MAX_PENDING_FINALS: usize = 8;
/// Characters of the channel's previous final used as the initial prompt.
const PROMPT_CHARS: usize = 100;
/// Gaps (dropped blocks) up to this many samples are filled with zeros; longer ones close the
/// open utterance and restart the channel.
const MAX_GAP_FILL: u64 = RATE;
/// How often the caption thread looks for a finished decode while it waits for audio.
const POLL: Duration = Duration::from_millis(5);
/// Trailing non-speech after which an utterance's pending partial is held back.
const HOLD_MS: u64 = 200;
/// Segments whose span has fewer voiced frames than this are text over non-speech.
const MIN_VOICED_FRACTION: f32 = 0.05;
/// With whisper's no-speech probability above `NO_SPEECH_P`, segments need this much voicing.
const LOW_VOICING: f32 = 0.3;
const NO_SPEECH_P: f32 = 0.6;

/// Settings of the live captioner.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Spoken language; `None` uses English for English-only models and otherwise lets whisper
    /// detect it, fixed after the first final utterance.
    pub language: Option<String>,
    pub threads: u32,
    /// A partial caption for every this much new audio of an open utterance.
    pub partial_every_ms: u64,
    /// Non-speech that closes an utterance.
    pub end_silence_ms: u64,
    /// Utterances longer than this are cut (≤ 29 s).
    pub max_utterance_ms: u64,
    /// VAD thresholds (`on`, `off`), preroll/tail padding (`pad_ms`), `min_voiced_ms`;
    /// `min_silence_ms` and `max_window_ms` are replaced by the fields above.
    pub vad: VadConfig,
    /// Script for Chinese captions (as for file transcripts: Simplified by default).
    pub script: tingji_transcript::Script,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            language: None,
            threads: crate::default_threads(),
            partial_every_ms: 1000,
            end_silence_ms: 500,
            max_utterance_ms: 8000,
            vad: VadConfig::default(),
            script: tingji_transcript::Script::Simplified,
        }
    }
}

/// One caption: a partial (the open utterance so far) or a final (one whisper segment of a
/// closed utterance). Times are recording positions in ms.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Caption {
    pub channel: u16,
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    pub is_final: bool,
    pub words: Vec<Word>,
    /// now - wall time when the caption's last audio (segment end) was captured
    pub lag_ms: u64,
}

enum Msg {
    Block {
        channel: u16,
        pos: u64,
        samples: Vec<f32>,
        captured_at: Instant,
    },
    Flush,
    Finish,
}

/// Streaming captions for a recording in progress; see the module docs.
pub struct LiveCaptioner {
    tx: Option<SyncSender<Msg>>,
    handle: Option<JoinHandle<Vec<Caption>>>,
    dropped: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    channels: u16,
}

impl std::fmt::Debug for LiveCaptioner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCaptioner")
            .field("channels", &self.channels)
            .field("dropped_blocks", &self.dropped_blocks())
            .finish()
    }
}

impl LiveCaptioner {
    /// Spawns the caption thread (named "tingji-live"); `on_caption` is called on that thread.
    pub fn start(
        engine: Arc<Engine>,
        cfg: LiveConfig,
        channels: u16,
        on_caption: impl FnMut(Caption) + Send + 'static,
    ) -> LiveCaptioner {
        let (tx, rx) = mpsc::sync_channel(QUEUE_BLOCKS);
        let stop = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicU64::new(0));
        let stop_t = stop.clone();
        let handle = std::thread::Builder::new()
            .name("tingji-live".into())
            .spawn(move || Worker::new(engine, cfg, channels, on_caption).run(rx, &stop_t))
            .expect("spawn the tingji-live thread");
        LiveCaptioner {
            tx: Some(tx),
            handle: Some(handle),
            dropped,
            stop,
            channels,
        }
    }

    /// Non-blocking (called from the recorder's writer thread; never blocks, never runs whisper):
    /// `pos` = recording position (16 kHz samples) of samples[0]; `captured_at` = wall Instant when
    /// the LAST sample of the block was captured.
    pub fn push(&self, channel: u16, pos: u64, samples: &[f32], captured_at: Instant) {
        if channel >= self.channels || samples.is_empty() {
            return;
        }
        let Some(tx) = &self.tx else { return };
        match tx.try_send(Msg::Block {
            channel,
            pos,
            samples: samples.to_vec(),
            captured_at,
        }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// A pause in the recording: close open utterances (emit their finals); later positions
    /// continue from `pos` values given. Waits only if the input queue is full.
    pub fn flush(&self) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Flush);
        }
    }

    /// Blocks dropped by [`push`](Self::push) because the queue was full.
    pub fn dropped_blocks(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Finish: finals for everything pending, then join the thread. Returns all final captions in
    /// order.
    pub fn finish(mut self) -> Vec<Caption> {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Msg::Finish);
        }
        match self.handle.take().map(|h| h.join()) {
            Some(Ok(finals)) => finals,
            _ => Vec::new(),
        }
    }
}

impl Drop for LiveCaptioner {
    /// Dropped without [`finish`](LiveCaptioner::finish): stop at once, pending work discarded.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn ms_of(samples: u64) -> u64 {
    samples * 1000 / RATE
}

fn samples_of(ms: u64) -> u64 {
    ms * RATE / 1000
}

// ---------------------------------------------------------------------------------------------
// Segmenter: pure utterance logic over (frame, speech probability); no VAD model, no whisper.

#[derive(Debug, Clone, Copy)]
struct SegConfig {
    on: f32,
    off: f32,
    /// Preroll and tail padding, whole frames (samples).
    pad: usize,
    end_silence: u64,
    /// Maximum utterance length, whole frames (samples).
    max_len: usize,
    partial_every: usize,
    min_voiced: u64,
}

impl SegConfig {
    fn new(cfg: &LiveConfig) -> Self {
        let frames = |ms: u64| (samples_of(ms) as usize).div_ceil(FRAME) * FRAME;
        SegConfig {
            on: cfg.vad.on,
            off: cfg.vad.off,
            pad: frames(cfg.vad.pad_ms),
            end_silence: samples_of(cfg.end_silence_ms.max(16)),
            max_len: frames(cfg.max_utterance_ms.clamp(1000, 29_000)),
            partial_every: samples_of(cfg.partial_every_ms.max(100)) as usize,
            min_voiced: samples_of(cfg.vad.min_voiced_ms),
        }
    }
}

/// An utterance handed to whisper (a snapshot for partials).
#[derive(Debug, Clone)]
struct Utterance {
    id: u64,
    start_pos: u64,
    audio: Vec<f32>,
    /// Speech probability per FRAME of `audio`.
    probs: Vec<f32>,
    is_final: bool,
}

#[derive(Debug)]
struct Open {
    id: u64,
    start_pos: u64,
    audio: Vec<f32>,
    probs: Vec<f32>,
    /// Position just after the last voiced frame.
    last_voice_end: u64,
    voiced: u64,
    /// `audio.len()` when the last partial was taken.
    partial_at: usize,
}

impl Open {
    /// The utterance as it stands (a copy for a partial).
    fn snapshot(&self) -> Utterance {
        Utterance {
            id: self.id,
            start_pos: self.start_pos,
            audio: self.audio.clone(),
            probs: self.probs.clone(),
            is_final: false,
        }
    }

    /// The utterance, finished.
    fn into_final(self) -> Utterance {
        Utterance {
            id: self.id,
            start_pos: self.start_pos,
            audio: self.audio,
            probs: self.probs,
            is_final: true,
        }
    }
}

/// One channel's utterance segmenter. Frames must be contiguous (the caller fills or resets
/// on gaps). Holds at most `max_len` samples of utterance plus `pad` of preroll.
#[derive(Debug)]
struct Segmenter {
    cfg: SegConfig,
    preroll: VecDeque<f32>,
    preroll_probs: VecDeque<f32>,
    open: Option<Open>,
    next_id: u64,
}

impl Segmenter {
    fn new(cfg: SegConfig) -> Self {
        Segmenter {
            cfg,
            preroll: VecDeque::new(),
            preroll_probs: VecDeque::new(),
            open: None,
            next_id: 0,
        }
    }

    /// Oldest position still needed (for pruning the channel's timestamps).
    fn oldest_pos(&self, next_pos: u64) -> u64 {
        match &self.open {
            Some(o) => o.start_pos,
            None => next_pos.saturating_sub(self.preroll.len() as u64),
        }
    }

    fn open_id(&self) -> Option<u64> {
        self.open.as_ref().map(|o| o.id)
    }

    /// The open utterance's id and the non-speech at its end so far (samples).
    fn trailing_silence(&self) -> Option<(u64, u64)> {
        self.open
            .as_ref()
            .map(|o| (o.id, o.start_pos + o.audio.len() as u64 - o.last_voice_end))
    }

    /// One FRAME of audio starting at `pos` with speech probability `p`.
    fn frame(&mut self, pos: u64, frame: &[f32], p: f32, out: &mut Vec<Utterance>) {
        debug_assert_eq!(frame.len(), FRAME);
        let end = pos + FRAME as u64;
        let cfg = self.cfg;
        let Some(o) = &mut self.open else {
            if p >= cfg.on {
                let mut audio = Vec::with_capacity(cfg.max_len);
                audio.extend(self.preroll.drain(..));
                let mut probs: Vec<f32> = self.preroll_probs.drain(..).collect();
                let start_pos = pos - audio.len() as u64;
                audio.extend_from_slice(frame);
                probs.push(p);
                self.open = Some(Open {
                    id: self.next_id,
                    start_pos,
                    audio,
                    probs,
                    last_voice_end: end,
                    voiced: FRAME as u64,
                    partial_at: 0,
                });
                self.next_id += 1;
            } else {
                self.preroll.extend(frame.iter().copied());
                self.preroll_probs.push_back(p);
                while self.preroll.len() > cfg.pad {
                    self.preroll.drain(..FRAME);
                    self.preroll_probs.pop_front();
                }
            }
            return;
        };
        o.audio.extend_from_slice(frame);
        o.probs.push(p);
        if p >= cfg.off {
            o.last_voice_end = end;
            o.voiced += FRAME as u64;
        }
        if end - o.last_voice_end >= cfg.end_silence {
            self.end(true, out);
        } else if o.audio.len() + FRAME > cfg.max_len {
            self.split(out);
        } else if o.audio.len() - o.partial_at >= cfg.partial_every && o.voiced >= cfg.min_voiced {
            o.partial_at = o.audio.len();
            out.push(o.snapshot());
        }
    }

    /// Closes the open utterance after its last voiced frame plus padding; with `keep_tail` the
    /// trimmed tail becomes the next preroll (continuous audio), otherwise it is discarded.
    fn end(&mut self, keep_tail: bool, out: &mut Vec<Utterance>) {
        let Some(mut o) = self.open.take() else {
            return;
        };
        let keep =
            ((o.last_voice_end - o.start_pos) as usize + self.cfg.pad).div_ceil(FRAME) * FRAME;
        let keep = keep.min(o.audio.len());
        let tail = o.audio.split_off(keep);
        let tail_probs = o.probs.split_off(keep / FRAME);
        self.preroll.clear();
        self.preroll_probs.clear();
        if keep_tail {
            let n = tail_probs.len().min(self.cfg.pad / FRAME);
            self.preroll.extend(&tail[tail.len() - n * FRAME..]);
            self.preroll_probs
                .extend(&tail_probs[tail_probs.len() - n..]);
        }
        if o.voiced >= self.cfg.min_voiced {
            out.push(o.into_final());
        }
    }

    /// The utterance reached `max_len` while speech goes on: cut at the quietest frame of its
    /// last third (or at the limit when nothing there is below `off`); the rest stays open as a
    /// new utterance.
    fn split(&mut self, out: &mut Vec<Utterance>) {
        let Some(mut o) = self.open.take() else {
            return;
        };
        let n = o.probs.len();
        let mut best = n;
        let mut best_p = f32::MAX;
        for i in (n * 2 / 3).max(1)..n {
            if o.probs[i] < best_p {
                best_p = o.probs[i];
                best = i;
            }
        }
        if best_p >= self.cfg.off {
            best = n;
        }
        let cut = best * FRAME;
        let rest_audio = o.audio.split_off(cut);
        let rest_probs = o.probs.split_off(best);
        let rest_start = o.start_pos + cut as u64;
        let rest_voiced =
            rest_probs.iter().filter(|p| **p >= self.cfg.off).count() as u64 * FRAME as u64;
        let last_voice_end = o.last_voice_end;
        out.push(o.into_final());
        let mut audio = Vec::with_capacity(self.cfg.max_len);
        audio.extend_from_slice(&rest_audio);
        self.open = Some(Open {
            id: self.next_id,
            start_pos: rest_start,
            audio,
            probs: rest_probs,
            last_voice_end: last_voice_end.max(rest_start),
            voiced: rest_voiced,
            partial_at: 0,
        });
        self.next_id += 1;
    }

    /// A pause or discontinuity: close the open utterance and forget the preroll.
    fn close(&mut self, out: &mut Vec<Utterance>) {
        self.end(false, out);
        self.preroll.clear();
        self.preroll_probs.clear();
    }
}

// ---------------------------------------------------------------------------------------------
// Channel: VAD model, frame assembly, gaps, wall-clock stamps.

/// A block's span of positions and the wall time of its last sample.
#[derive(Debug, Clone, Copy)]
struct Stamp {
    start: u64,
    end: u64,
    at: Instant,
}

/// Wall time at which position `pos` was captured, from the blocks' stamps.
fn wall_time(stamps: &[Stamp], pos: u64) -> Option<Instant> {
    let s = stamps.iter().find(|s| s.end > pos).or(stamps.last())?;
    let back = s.end.saturating_sub(1).saturating_sub(pos);
    Some(
        s.at.checked_sub(Duration::from_micros(back * 1_000_000 / RATE))
            .unwrap_or(s.at),
    )
}

struct Channel {
    det: Box<earshot::Detector>,
    vad: bool,
    seg: Segmenter,
    frame: Vec<f32>,
    /// Position of the next expected sample; `None` after a reset.
    next_pos: Option<u64>,
    stamps: VecDeque<Stamp>,
}

impl Channel {
    fn new(cfg: &LiveConfig) -> Self {
        Channel {
            det: earshot::Detector::default_boxed(),
            vad: cfg.vad.enabled,
            seg: Segmenter::new(SegConfig::new(cfg)),
            frame: Vec::with_capacity(FRAME),
            next_pos: None,
            stamps: VecDeque::new(),
        }
    }

    /// One block; closed utterances and partial snapshots go to `out` with their stamps.
    fn block(
        &mut self,
        pos: u64,
        samples: &[f32],
        at: Instant,
        out: &mut Vec<(Utterance, Vec<Stamp>)>,
    ) {
        let mut utts = Vec::new();
        match self.next_pos {
            Some(n) if n == pos => {}
            Some(n) if pos > n && pos - n <= MAX_GAP_FILL => {
                // Dropped blocks: keep positions continuous with zeros.
                let zeros = vec![0.0; (pos - n) as usize];
                self.feed(&zeros, &mut utts);
            }
            Some(_) => self.close(&mut utts),
            None => {}
        }
        self.attach(utts, out);
        if self.next_pos.is_none() {
            // A fresh start (first block, after a flush or a discontinuity).
            self.next_pos = Some(pos);
            self.stamps.clear();
        }
        self.stamps.push_back(Stamp {
            start: pos,
            end: pos + samples.len() as u64,
            at,
        });
        let mut utts = Vec::new();
        self.feed(samples, &mut utts);
        self.attach(utts, out);
        let oldest = self
            .seg
            .oldest_pos(self.next_pos.unwrap_or(pos))
            .saturating_sub(self.frame.len() as u64);
        while self.stamps.front().is_some_and(|s| s.end <= oldest) {
            self.stamps.pop_front();
        }
    }

    /// A pause: the open utterance (if any) with its stamps.
    fn flush(&mut self, out: &mut Vec<(Utterance, Vec<Stamp>)>) {
        let mut utts = Vec::new();
        self.close(&mut utts);
        self.attach(utts, out);
    }

    fn attach(&self, utts: Vec<Utterance>, out: &mut Vec<(Utterance, Vec<Stamp>)>) {
        for u in utts {
            let end = u.start_pos + u.audio.len() as u64;
            let stamps = self
                .stamps
                .iter()
                .filter(|s| s.end > u.start_pos && s.start < end)
                .copied()
                .collect();
            out.push((u, stamps));
        }
    }

    fn feed(&mut self, samples: &[f32], out: &mut Vec<Utterance>) {
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (FRAME - self.frame.len()).min(rest.len());
            self.frame.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if let Some(n) = &mut self.next_pos {
                *n += take as u64;
            }
            if self.frame.len() == FRAME {
                self.frame_in(out);
            }
        }
    }

    fn frame_in(&mut self, out: &mut Vec<Utterance>) {
        let end = self.next_pos.unwrap_or(FRAME as u64);
        let p = if self.vad {
            let clamped: [f32; FRAME] = std::array::from_fn(|i| self.frame[i].clamp(-1.0, 1.0));
            self.det.predict_f32(&clamped)
        } else {
            1.0
        };
        self.seg.frame(end - FRAME as u64, &self.frame, p, out);
        self.frame.clear();
    }

    /// Closes the open utterance (a partly filled frame is padded with zeros) and restarts.
    fn close(&mut self, out: &mut Vec<Utterance>) {
        if !self.frame.is_empty() && self.seg.open_id().is_some() {
            let missing = FRAME - self.frame.len();
            self.frame.resize(FRAME, 0.0);
            if let Some(n) = &mut self.next_pos {
                *n += missing as u64;
            }
            self.frame_in(out);
        }
        self.frame.clear();
        self.seg.close(out);
        self.det.reset();
        self.next_pos = None;
    }
}

// ---------------------------------------------------------------------------------------------
// Caption thread.

struct Job {
    channel: u16,
    utt: Utterance,
    stamps: Vec<Stamp>,
    created: Instant,
}

struct InFlight {
    channel: u16,
    id: u64,
    start_pos: u64,
    len: usize,
    probs: Vec<f32>,
    stamps: Vec<Stamp>,
    is_final: bool,
    /// Audio kept for language detection after the first final (multilingual, no language).
    detect_audio: Option<Vec<f32>>,
    rx: Receiver<Result<Vec<RawSegment>, AsrError>>,
    cancel: Arc<AtomicBool>,
    started: Instant,
}

struct Worker<F> {
    engine: Arc<Engine>,
    cfg: LiveConfig,
    on_caption: F,
    chans: Vec<Channel>,
    finals_q: VecDeque<Job>,
    partials: Vec<Option<Job>>,
    inflight: Option<InFlight>,
    /// Id of the newest closed utterance per channel: older partials are stale.
    closed: Vec<Option<u64>>,
    shown_partial: Vec<Option<u64>>,
    prompts: Vec<String>,
    language: Option<String>,
    finals: Vec<Caption>,
}

impl<F: FnMut(Caption)> Worker<F> {
    fn new(engine: Arc<Engine>, cfg: LiveConfig, channels: u16, on_caption: F) -> Self {
        let n = channels as usize;
        let language = cfg
            .language
            .clone()
            .or_else(|| (!engine.details().multilingual).then(|| "en".to_string()));
        Worker {
            chans: (0..n).map(|_| Channel::new(&cfg)).collect(),
            engine,
            cfg,
            on_caption,
            finals_q: VecDeque::new(),
            partials: (0..n).map(|_| None).collect(),
            inflight: None,
            closed: vec![None; n],
            shown_partial: vec![None; n],
            prompts: vec![String::new(); n],
            language,
            finals: Vec::new(),
        }
    }

    fn run(mut self, rx: Receiver<Msg>, stop: &AtomicBool) -> Vec<Caption> {
        let mut finishing = false;
        loop {
            if stop.load(Ordering::Relaxed) {
                if let Some(f) = &self.inflight {
                    f.cancel.store(true, Ordering::Relaxed);
                }
                return self.finals;
            }
            self.poll_decode(false);
            self.start_next();
            if finishing {
                if self.inflight.is_none() {
                    return self.finals;
                }
                self.poll_decode(true);
                continue;
            }
            if self.finals_q.len() >= MAX_PENDING_FINALS && self.inflight.is_some() {
                // Decoding is behind: stop reading audio (the queue fills, push drops).
                self.poll_decode(true);
                continue;
            }
            let msg = if self.inflight.is_some() {
                match rx.recv_timeout(POLL) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => Some(Msg::Finish),
                }
            } else {
                Some(rx.recv().unwrap_or(Msg::Finish))
            };
            match msg {
                None => {}
                Some(Msg::Block {
                    channel,
                    pos,
                    samples,
                    captured_at,
                }) => {
                    let mut out = Vec::new();
                    self.chans[channel as usize].block(pos, &samples, captured_at, &mut out);
                    self.enqueue(channel, out);
                }
                Some(Msg::Flush) => self.flush_all(),
                Some(Msg::Finish) => {
                    self.flush_all();
                    for p in &mut self.partials {
                        *p = None;
                    }
                    finishing = true;
                }
            }
        }
    }

    fn flush_all(&mut self) {
        for ch in 0..self.chans.len() {
            let mut out = Vec::new();
            self.chans[ch].flush(&mut out);
            self.enqueue(ch as u16, out);
        }
    }

    fn enqueue(&mut self, channel: u16, utts: Vec<(Utterance, Vec<Stamp>)>) {
        let c = channel as usize;
        for (utt, stamps) in utts {
            let job = Job {
                channel,
                utt,
                stamps,
                created: Instant::now(),
            };
            if job.utt.is_final {
                let id = job.utt.id;
                self.closed[c] = Some(id);
                if self.partials[c].as_ref().is_some_and(|p| p.utt.id <= id) {
                    self.partials[c] = None;
                }
                if let Some(f) = &self.inflight
                    && f.channel == channel
                    && !f.is_final
                    && f.id <= id
                {
                    f.cancel.store(true, Ordering::Relaxed);
                }
                self.finals_q.push_back(job);
            } else {
                // Only the newest partial per channel matters.
                self.partials[c] = Some(job);
            }
        }
    }

    fn start_next(&mut self) {
        if self.inflight.is_some() {
            return;
        }
        let job = match self.finals_q.pop_front() {
            Some(j) => j,
            None => {
                // A partial whose utterance is already trailing off waits: its final is likely
                // due within `end_silence_ms`, and whisper cannot be stopped mid-encoder.
                let hold = samples_of(HOLD_MS.min(self.cfg.end_silence_ms / 2));
                let oldest = (0..self.partials.len())
                    .filter(|&c| {
                        self.partials[c].as_ref().is_some_and(|j| {
                            self.chans[c]
                                .seg
                                .trailing_silence()
                                .is_none_or(|(id, sil)| id != j.utt.id || sil < hold)
                        })
                    })
                    .min_by_key(|&c| self.partials[c].as_ref().map(|j| j.created));
                match oldest.and_then(|c| self.partials[c].take()) {
                    Some(j) => j,
                    None => return,
                }
            }
        };
        let c = job.channel as usize;
        let is_final = job.utt.is_final;
        let prompt = tail_chars(&self.prompts[c], PROMPT_CHARS);
        let cancel = Arc::new(AtomicBool::new(false));
        let detect_audio =
            (is_final && self.language.is_none() && job.utt.audio.len() >= 2 * RATE as usize)
                .then(|| job.utt.audio.clone());
        let margin_ms = if is_final {
            FINAL_CTX_MARGIN_MS
        } else {
            PARTIAL_CTX_MARGIN_MS
        };
        let audio_ctx = DecodeRequest::short_context(job.utt.audio.len(), margin_ms);
        let req = DecodeRequest {
            audio: job.utt.audio,
            language: self.language.clone(),
            strategy: Strategy::Greedy { best_of: 1 },
            threads: self.cfg.threads,
            initial_prompt: (!prompt.is_empty()).then_some(prompt),
            temperature: 0.0,
            temperature_inc: if is_final { 0.2 } else { 0.0 },
            cancel: cancel.clone(),
            audio_ctx,
        };
        let len = req.audio.len();
        let rx = self.engine.submit(req);
        self.inflight = Some(InFlight {
            channel: job.channel,
            id: job.utt.id,
            start_pos: job.utt.start_pos,
            len,
            probs: job.utt.probs,
            stamps: job.stamps,
            is_final,
            detect_audio,
            rx,
            cancel,
            started: Instant::now(),
        });
    }

    /// Takes a finished decode, if any (`block`: wait for it).
    fn poll_decode(&mut self, block: bool) {
        let Some(f) = &self.inflight else { return };
        let res = if block {
            f.rx.recv().unwrap_or(Err(AsrError::WorkerGone))
        } else {
            match f.rx.try_recv() {
                Ok(r) => r,
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => Err(AsrError::WorkerGone),
            }
        };
        let f = self.inflight.take().expect("in flight");
        self.finish_decode(f, res);
    }

    fn finish_decode(&mut self, f: InFlight, res: Result<Vec<RawSegment>, AsrError>) {
        let c = f.channel as usize;
        tracing::debug!(
            channel = f.channel,
            is_final = f.is_final,
            audio_ms = ms_of(f.len as u64),
            decode_ms = f.started.elapsed().as_millis() as u64,
            "live caption decode done"
        );
        let segs = match res {
            Ok(s) => s,
            Err(AsrError::Cancelled) => return,
            Err(e) => {
                tracing::warn!(channel = f.channel, error = %e, "live caption decode failed");
                Vec::new()
            }
        };
        if let Some(audio) = f.detect_audio.as_ref().filter(|_| self.language.is_none()) {
            match self.engine.detect_language(audio.clone(), self.cfg.threads) {
                Ok((lang, p)) if p >= 0.5 => {
                    tracing::debug!(lang, p, "live captions: language fixed");
                    self.language = Some(lang);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "live language detection failed"),
            }
        }
        let parts = self.segments(&f, segs);
        if f.is_final {
            if parts.is_empty() {
                if self.shown_partial[c] == Some(f.id) {
                    // Retract the partial: its utterance has no text.
                    let end = f.start_pos + f.len as u64;
                    let lag = lag_ms(&f.stamps, end.saturating_sub(1));
                    (self.on_caption)(Caption {
                        channel: f.channel,
                        start_ms: ms_of(f.start_pos),
                        end_ms: ms_of(end),
                        text: String::new(),
                        is_final: true,
                        words: Vec::new(),
                        lag_ms: lag,
                    });
                }
            } else {
                for cap in parts {
                    let prompt = &mut self.prompts[c];
                    if !prompt.is_empty() {
                        prompt.push(' ');
                    }
                    prompt.push_str(&cap.text);
                    *prompt = tail_chars(prompt, PROMPT_CHARS);
                    (self.on_caption)(cap.clone());
                    self.finals.push(cap);
                }
            }
            if self.shown_partial[c].is_some_and(|id| id <= f.id) {
                self.shown_partial[c] = None;
            }
        } else {
            if self.closed[c].is_some_and(|id| id >= f.id) || parts.is_empty() {
                return; // stale (its utterance closed meanwhile) or nothing to show
            }
            let text = join_text(parts.iter().map(|p| p.text.as_str()));
            let cap = Caption {
                channel: f.channel,
                start_ms: parts[0].start_ms,
                end_ms: parts[parts.len() - 1].end_ms,
                text,
                is_final: false,
                lag_ms: parts[parts.len() - 1].lag_ms,
                words: parts.into_iter().flat_map(|p| p.words).collect(),
            };
            self.shown_partial[c] = Some(f.id);
            (self.on_caption)(cap);
        }
    }

    /// Whisper segments → captions: loop guard, non-speech filter, times mapped to positions.
    fn segments(&self, f: &InFlight, segs: Vec<RawSegment>) -> Vec<Caption> {
        let joined = segs
            .iter()
            .map(|s| String::from_utf8_lossy(&s.bytes).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        if has_repetition_loop(&joined) {
            tracing::debug!(text = joined, "live captions: dropping a repetition loop");
            return Vec::new();
        }
        let len = f.len as u64;
        let pos = |ms: u64| f.start_pos + (ms * RATE / 1000).min(len);
        let mut out = Vec::new();
        for s in segs {
            let text = String::from_utf8_lossy(&s.bytes).trim().to_string();
            if text.is_empty() {
                continue;
            }
            let a = pos(s.start_ms);
            let b = pos(s.end_ms).max((a + FRAME as u64).min(f.start_pos + len));
            let voiced = voiced_fraction(
                &f.probs,
                (a - f.start_pos) as usize,
                (b - f.start_pos) as usize,
                self.cfg.vad.off,
            );
            if self.cfg.vad.enabled
                && (voiced < MIN_VOICED_FRACTION
                    || (s.no_speech_prob > NO_SPEECH_P && voiced < LOW_VOICING))
            {
                tracing::debug!(
                    text,
                    voiced,
                    no_speech = s.no_speech_prob,
                    "live captions: dropping non-speech"
                );
                continue;
            }
            let mut words = words_from_tokens(&s.tokens, |ms| ms_of(pos(ms)));
            if let Some(w) = words.first_mut() {
                w.text = w.text.trim_start().to_string();
            }
            let text = to_script(&text, self.cfg.script);
            for w in &mut words {
                w.text = to_script(&w.text, self.cfg.script);
            }
            out.push(Caption {
                channel: f.channel,
                start_ms: ms_of(a),
                end_ms: ms_of(b),
                text,
                is_final: f.is_final,
                words,
                lag_ms: lag_ms(&f.stamps, b.saturating_sub(1)),
            });
        }
        out
    }
}

fn lag_ms(stamps: &[Stamp], pos: u64) -> u64 {
    wall_time(stamps, pos).map_or(0, |t| {
        Instant::now().saturating_duration_since(t).as_millis() as u64
    })
}

fn voiced_fraction(probs: &[f32], a: usize, b: usize, thr: f32) -> f32 {
    let fa = a / FRAME;
    let fb = b.div_ceil(FRAME).min(probs.len());
    if fb <= fa {
        return 0.0;
    }
    probs[fa..fb].iter().filter(|p| **p >= thr).count() as f32 / (fb - fa) as f32
}

/// The last `n` characters of `s`, starting at a word boundary when there is one.
fn tail_chars(s: &str, n: usize) -> String {
    let count = s.chars().count();
    if count <= n {
        return s.trim().to_string();
    }
    let start = s.char_indices().nth(count - n).map_or(0, |(i, _)| i);
    let t = &s[start..];
    match t.find(' ') {
        Some(i) if i + 1 < t.len() && i < n / 2 => t[i + 1..].trim().to_string(),
        _ => t.trim().to_string(),
    }
}

/// Joins segment texts (a space between Latin-script pieces, none around CJK).
fn join_text<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let cjk_edge = out.chars().last().is_some_and(tingji_transcript::is_cjk)
            || p.chars().next().is_some_and(tingji_transcript::is_cjk);
        if !out.is_empty() && !cjk_edge {
            out.push(' ');
        }
        out.push_str(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SegConfig {
        SegConfig::new(&LiveConfig {
            threads: 1,
            ..LiveConfig::default()
        })
    }

    /// Feeds frames with the given probabilities; audio is a marker (frame index) for checks.
    fn run(seg: &mut Segmenter, probs: &[f32], first_frame: u64) -> Vec<Utterance> {
        let mut out = Vec::new();
        for (i, &p) in probs.iter().enumerate() {
            let idx = first_frame + i as u64;
            let frame = [idx as f32; FRAME];
            seg.frame(idx * FRAME as u64, &frame, p, &mut out);
        }
        out
    }

    fn frames(ms: u64) -> usize {
        (ms * 16).div_ceil(FRAME as u64) as usize
    }

    /// Every sample's marker must equal its frame position: the audio is contiguous and aligned.
    fn check_aligned(u: &Utterance) {
        assert_eq!(u.audio.len() % FRAME, 0);
        assert_eq!(u.probs.len(), u.audio.len() / FRAME);
        for (k, chunk) in u.audio.chunks(FRAME).enumerate() {
            assert_eq!(chunk[0] as u64, u.start_pos / FRAME as u64 + k as u64);
        }
    }

    #[test]
    fn silence_gives_nothing_and_preroll_is_bounded() {
        let mut seg = Segmenter::new(cfg());
        let out = run(&mut seg, &vec![0.1; frames(60_000)], 0);
        assert!(out.is_empty());
        assert!(seg.preroll.len() <= cfg().pad);
        let mut out = Vec::new();
        seg.close(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn utterance_with_preroll_partials_and_final_after_end_silence() {
        let c = cfg();
        let mut seg = Segmenter::new(c);
        let lead = frames(2000);
        let speech = frames(2500);
        let mut probs = vec![0.0; lead];
        probs.extend(vec![0.9; speech]);
        probs.extend(vec![0.0; frames(1000)]);
        let out = run(&mut seg, &probs, 0);
        let partials: Vec<_> = out.iter().filter(|u| !u.is_final).collect();
        let finals: Vec<_> = out.iter().filter(|u| u.is_final).collect();
        assert_eq!(finals.len(), 1);
        assert!(partials.len() >= 2, "{} partials", partials.len());
        for p in &partials {
            check_aligned(p);
            assert_eq!(p.id, finals[0].id);
        }
        // Partials grow by partial_every.
        assert!(partials[1].audio.len() - partials[0].audio.len() >= c.partial_every);
        let f = finals[0];
        check_aligned(f);
        let onset = (lead * FRAME) as u64;
        assert_eq!(f.start_pos, onset - c.pad as u64);
        let speech_end = onset + (speech * FRAME) as u64;
        let end = f.start_pos + f.audio.len() as u64;
        assert!(
            end >= speech_end + c.pad as u64 - FRAME as u64
                && end <= speech_end + c.pad as u64 + FRAME as u64
        );
        // The final was emitted end_silence after the speech ended: its position in `out` is
        // last, and nothing is open any more.
        assert!(out.last().unwrap().is_final);
        assert!(seg.open.is_none());
    }

    #[test]
    fn final_comes_exactly_after_end_silence() {
        let c = cfg();
        let mut seg = Segmenter::new(c);
        let mut out = run(&mut seg, &vec![0.9; frames(1500)], 0);
        out.retain(|u| u.is_final);
        assert!(out.is_empty());
        let need = (c.end_silence as usize).div_ceil(FRAME);
        let before = run(&mut seg, &vec![0.0; need - 1], frames(1500) as u64);
        assert!(before.iter().all(|u| !u.is_final));
        let at = run(&mut seg, &[0.0], (frames(1500) + need - 1) as u64);
        assert_eq!(at.iter().filter(|u| u.is_final).count(), 1);
    }

    #[test]
    fn short_clicks_are_dropped() {
        let mut seg = Segmenter::new(cfg());
        let mut probs = vec![0.0; 50];
        probs.extend(vec![0.9; 5]); // 80 ms < min_voiced 200 ms
        probs.extend(vec![0.0; 100]);
        assert!(run(&mut seg, &probs, 0).is_empty());
    }

    #[test]
    fn long_speech_is_cut_at_the_quietest_frame_of_the_last_third() {
        let c = cfg();
        let mut seg = Segmenter::new(c);
        let max_frames = c.max_len / FRAME;
        let mut probs = vec![0.9; frames(25_000)];
        // A dip in the last third of the first utterance (which starts at frame 0, no preroll).
        let dip = max_frames * 5 / 6;
        probs[dip] = 0.05;
        let out = run(&mut seg, &probs, 0);
        let finals: Vec<_> = out.iter().filter(|u| u.is_final).collect();
        assert!(finals.len() >= 2);
        assert_eq!(finals[0].audio.len(), dip * FRAME);
        assert_eq!(finals[1].start_pos, (dip * FRAME) as u64);
        for f in &finals {
            check_aligned(f);
            assert!(f.audio.len() <= c.max_len);
        }
        // Without a dip the cut is at the limit; coverage stays contiguous.
        assert_eq!(finals[1].audio.len(), c.max_len);
        assert_eq!(finals[2].start_pos, finals[1].start_pos + c.max_len as u64);
        let mut rest = Vec::new();
        seg.close(&mut rest);
        assert_eq!(rest.len(), 1);
        assert_eq!(
            rest[0].start_pos,
            finals[2].start_pos + finals[2].audio.len() as u64
        );
        assert_eq!(
            rest[0].start_pos + rest[0].audio.len() as u64,
            (probs.len() * FRAME) as u64
        );
    }

    #[test]
    fn close_emits_the_open_utterance_and_forgets_preroll() {
        let mut seg = Segmenter::new(cfg());
        let mut probs = vec![0.0; 40];
        probs.extend(vec![0.9; 40]);
        let out = run(&mut seg, &probs, 0);
        assert!(out.iter().all(|u| !u.is_final));
        let mut fin = Vec::new();
        seg.close(&mut fin);
        assert_eq!(fin.len(), 1);
        assert!(fin[0].is_final);
        check_aligned(&fin[0]);
        assert!(seg.preroll.is_empty() && seg.open.is_none());
    }

    #[test]
    fn channel_fills_small_gaps_and_restarts_after_large_ones() {
        let cfg = LiveConfig {
            threads: 1,
            vad: VadConfig {
                enabled: false,
                ..VadConfig::default()
            },
            ..LiveConfig::default()
        };
        let mut ch = Channel::new(&cfg);
        let now = Instant::now();
        let mut out = Vec::new();
        ch.block(0, &vec![0.1; 3200], now, &mut out);
        ch.block(3200 + 320, &vec![0.1; 3200], now, &mut out); // 20 ms dropped: zero-filled
        assert_eq!(ch.next_pos, Some(6720));
        ch.block(100_000, &vec![0.1; 320], now, &mut out); // jump: close and restart
        let finals: Vec<_> = out.iter().filter(|(u, _)| u.is_final).collect();
        assert_eq!(finals.len(), 1);
        let (u, stamps) = finals[0];
        assert_eq!(u.start_pos, 0);
        assert_eq!(u.audio.len(), 6912); // 6720 samples padded to whole frames
        assert_eq!(stamps.len(), 2);
        assert_eq!(ch.next_pos, Some(100_320));
        assert_eq!(ch.stamps.len(), 1);
    }

    #[test]
    fn wall_time_maps_positions_through_block_stamps() {
        let t0 = Instant::now();
        let stamps = [
            Stamp {
                start: 0,
                end: 320,
                at: t0 + Duration::from_millis(20),
            },
            Stamp {
                start: 320,
                end: 640,
                at: t0 + Duration::from_millis(40),
            },
        ];
        assert_eq!(
            wall_time(&stamps, 639),
            Some(t0 + Duration::from_millis(40))
        );
        assert_eq!(
            wall_time(&stamps, 320 + 159),
            Some(t0 + Duration::from_micros(30_000))
        );
        assert_eq!(
            wall_time(&stamps, 10_000),
            Some(t0 + Duration::from_millis(40))
        );
    }

    #[test]
    fn prompt_tail_and_join() {
        let s = "word ".repeat(40);
        let t = tail_chars(&s, 100);
        assert!(t.len() <= 100 && t.starts_with("word"));
        assert_eq!(join_text(["Hello", "world."].into_iter()), "Hello world.");
        assert_eq!(join_text(["你好", "世界"].into_iter()), "你好世界");
    }
}
