//! Voice activity detection and windowing.
//!
//! A [`Windower`] takes one channel's 16 kHz samples in any chunk size and emits [`Window`]s of
//! at most `max_window_ms` of audio for whisper. With VAD on, only speech regions (plus padding)
//! go into windows — long silences never reach the recogniser, so they cannot become invented
//! text — and several short regions are packed into one window (fewer encoder passes). Every
//! window carries the map from its own sample positions back to source positions.
//!
//! Memory is bounded: a windower holds at most one region and one window (≤ 2 × max window).

use std::collections::VecDeque;

/// Samples per VAD frame (16 ms at 16 kHz), fixed by the earshot model.
pub const FRAME: usize = 256;
const RATE: u64 = 16_000;

#[derive(Debug, Clone, Copy)]
pub struct VadConfig {
    pub enabled: bool,
    /// A region starts when a frame's speech probability reaches this.
    pub on: f32,
    /// A frame at or above this keeps a region alive.
    pub off: f32,
    /// Silence that ends a region.
    pub min_silence_ms: u64,
    /// Audio kept before and after each region.
    pub pad_ms: u64,
    /// Regions with less voiced audio than this are dropped (clicks, breaths).
    pub min_voiced_ms: u64,
    pub max_window_ms: u64,
}

impl Default for VadConfig {
    fn default() -> Self {
        VadConfig {
            enabled: true,
            on: 0.5,
            off: 0.3,
            min_silence_ms: 700,
            pad_ms: 300,
            min_voiced_ms: 200,
            max_window_ms: 29_000,
        }
    }
}

/// A contiguous piece of a window taken from the source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    pub win_start: usize,
    pub src_start: u64,
    pub len: usize,
}

/// Audio ready for the recogniser.
#[derive(Debug, Clone)]
pub struct Window {
    pub channel: u16,
    pub audio: Vec<f32>,
    pub pieces: Vec<Piece>,
    /// Speech probability of each FRAME-sized frame of `audio`.
    pub probs: Vec<f32>,
}

impl Window {
    /// Source sample of a window sample (clamped into the piece it falls in).
    pub fn to_source(&self, win_sample: usize) -> u64 {
        let mut last = None;
        for p in &self.pieces {
            if win_sample < p.win_start {
                break;
            }
            last = Some(p);
        }
        match last {
            Some(p) => p.src_start + (win_sample - p.win_start).min(p.len) as u64,
            None => self.pieces.first().map_or(0, |p| p.src_start),
        }
    }

    pub fn src_start(&self) -> u64 {
        self.pieces.first().map_or(0, |p| p.src_start)
    }

    pub fn src_end(&self) -> u64 {
        self.pieces.last().map_or(0, |p| p.src_start + p.len as u64)
    }

    /// Fraction of frames in window samples [a, b) with speech probability ≥ `thr`.
    pub fn voiced_fraction(&self, a: usize, b: usize, thr: f32) -> f32 {
        let fa = a / FRAME;
        let fb = b.div_ceil(FRAME).min(self.probs.len());
        if fb <= fa {
            return 0.0;
        }
        let n = self.probs[fa..fb].iter().filter(|p| **p >= thr).count();
        n as f32 / (fb - fa) as f32
    }
}

struct Region {
    src_start: u64,
    audio: Vec<f32>,
    probs: Vec<f32>,
    last_voice_end: u64,
    voiced: u64,
}

/// Turns one channel's samples into windows.
pub struct Windower {
    channel: u16,
    cfg: VadConfig,
    det: Box<earshot::Detector>,
    frame: Vec<f32>,
    /// Source position of the next sample pushed.
    pos: u64,
    /// Samples before `ignore_before` are skipped (resume).
    ignore_before: u64,
    preroll: VecDeque<f32>,
    region: Option<Region>,
    window: Option<Window>,
    ready: VecDeque<Window>,
}

impl Windower {
    pub fn new(channel: u16, cfg: VadConfig, start_pos: u64, ignore_before: u64) -> Self {
        Windower {
            channel,
            cfg,
            det: earshot::Detector::default_boxed(),
            frame: Vec::with_capacity(FRAME),
            pos: start_pos,
            ignore_before,
            preroll: VecDeque::new(),
            region: None,
            window: None,
            ready: VecDeque::new(),
        }
    }

    fn ms(&self, ms: u64) -> u64 {
        ms * RATE / 1000
    }

    /// Padding around regions, rounded up to whole frames.
    fn pad_samples(&self) -> usize {
        (self.ms(self.cfg.pad_ms) as usize).div_ceil(FRAME) * FRAME
    }

    pub fn push(&mut self, samples: &[f32]) {
        for &s in samples {
            self.frame.push(s);
            if self.frame.len() == FRAME {
                let frame = std::mem::take(&mut self.frame);
                self.frame_in(&frame);
                self.frame = frame;
                self.frame.clear();
            }
        }
    }

    fn frame_in(&mut self, frame: &[f32]) {
        let start = self.pos;
        self.pos += FRAME as u64;
        if start < self.ignore_before {
            return;
        }
        let p = if self.cfg.enabled {
            let clamped: [f32; FRAME] = std::array::from_fn(|i| frame[i].clamp(-1.0, 1.0));
            self.det.predict_f32(&clamped)
        } else {
            1.0
        };
        let max_len = self.ms(self.cfg.max_window_ms) as usize;
        let min_silence = self.ms(self.cfg.min_silence_ms);
        match &mut self.region {
            None => {
                if p >= self.cfg.on {
                    // The preroll holds whole frames, so probs stay aligned with FRAME blocks.
                    let mut audio: Vec<f32> = self.preroll.drain(..).collect();
                    let src_start = start - audio.len() as u64;
                    let mut probs = vec![0.0; audio.len() / FRAME];
                    audio.extend_from_slice(frame);
                    probs.push(p);
                    self.region = Some(Region { src_start, audio, probs, last_voice_end: self.pos, voiced: FRAME as u64 });
                } else {
                    self.preroll.extend(frame.iter().copied());
                    let keep = self.pad_samples();
                    while self.preroll.len() > keep {
                        self.preroll.pop_front();
                    }
                }
            }
            Some(r) => {
                r.audio.extend_from_slice(frame);
                r.probs.push(p);
                if p >= self.cfg.off {
                    r.last_voice_end = self.pos;
                    r.voiced += FRAME as u64;
                }
                let silence = self.pos - r.last_voice_end;
                if silence >= min_silence {
                    self.end_region();
                } else if r.audio.len() + FRAME > max_len {
                    self.split_region();
                }
            }
        }
    }

    /// Ends the open region after its last voiced frame plus padding.
    fn end_region(&mut self) {
        let Some(mut r) = self.region.take() else { return };
        // Cut on a frame boundary so the tail, which becomes the next preroll, is whole frames.
        let keep = ((r.last_voice_end + self.ms(self.cfg.pad_ms) - r.src_start) as usize).div_ceil(FRAME) * FRAME;
        let keep = keep.min(r.audio.len());
        let tail: Vec<f32> = r.audio.split_off(keep);
        r.probs.truncate(keep / FRAME);
        self.preroll.clear();
        let keep_pre = self.pad_samples();
        self.preroll.extend(tail.iter().rev().take(keep_pre).rev().copied());
        if r.voiced >= self.ms(self.cfg.min_voiced_ms) {
            self.pack(r);
        }
    }

    /// A region reached the window limit while speech goes on: cut at the quietest frame of
    /// its last third and carry the rest over as a new region.
    fn split_region(&mut self) {
        let Some(mut r) = self.region.take() else { return };
        let n = r.probs.len();
        let from = n * 2 / 3;
        let mut best = n;
        let mut best_p = f32::MAX;
        for i in from..n {
            if r.probs[i] < best_p {
                best_p = r.probs[i];
                best = i;
            }
        }
        if best_p >= self.cfg.off {
            best = n; // no pause to cut at (or VAD off): cut at the limit
        }
        let cut = best * FRAME;
        let rest_audio = r.audio.split_off(cut);
        let rest_probs = r.probs.split_off(best);
        let rest = Region {
            src_start: r.src_start + cut as u64,
            audio: rest_audio,
            probs: rest_probs,
            last_voice_end: r.last_voice_end.max(r.src_start + cut as u64),
            voiced: FRAME as u64,
        };
        self.pack(r);
        self.region = Some(rest);
    }

    fn pack(&mut self, r: Region) {
        let max_len = self.ms(self.cfg.max_window_ms) as usize;
        if let Some(w) = &self.window
            && w.audio.len() + r.audio.len() > max_len
        {
            let w = self.window.take().expect("window");
            self.ready.push_back(w);
        }
        let w = self.window.get_or_insert_with(|| Window {
            channel: self.channel,
            audio: Vec::with_capacity(max_len),
            pieces: Vec::new(),
            probs: Vec::new(),
        });
        w.pieces.push(Piece { win_start: w.audio.len(), src_start: r.src_start, len: r.audio.len() });
        w.audio.extend_from_slice(&r.audio);
        w.probs.extend_from_slice(&r.probs);
    }

    /// A window that is complete, if any.
    pub fn pop(&mut self) -> Option<Window> {
        self.ready.pop_front()
    }

    /// End of stream: close everything and return the remaining windows.
    pub fn finish(&mut self) -> Vec<Window> {
        if !self.frame.is_empty() {
            let mut f = std::mem::take(&mut self.frame);
            f.resize(FRAME, 0.0);
            self.frame_in(&f);
        }
        self.end_region();
        if let Some(w) = self.window.take() {
            self.ready.push_back(w);
        }
        self.ready.drain(..).collect()
    }

    /// Every source sample before this has been placed in an emitted window or judged silent.
    pub fn committed_upto(&self) -> u64 {
        let mut c = self.pos.saturating_sub(self.preroll.len() as u64 + self.frame.len() as u64);
        if let Some(r) = &self.region {
            c = c.min(r.src_start);
        }
        if let Some(w) = &self.window {
            c = c.min(w.src_start());
        }
        if let Some(w) = self.ready.front() {
            c = c.min(w.src_start());
        }
        c.max(self.ignore_before.min(self.pos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(ms: u64) -> Vec<f32> {
        // A voiced-like harmonic signal; earshot may or may not call it speech, so these tests
        // use VAD off (pure windowing) or silence (which must never be speech).
        (0..ms * 16).map(|i| (i as f32 * 0.05).sin() * 0.3).collect()
    }

    #[test]
    fn silence_never_makes_a_window() {
        let mut w = Windower::new(0, VadConfig::default(), 0, 0);
        w.push(&vec![0.0; 16_000 * 120]);
        assert!(w.pop().is_none());
        assert!(w.finish().is_empty());
    }

    #[test]
    fn vad_off_cuts_fixed_windows_and_maps_back() {
        let cfg = VadConfig { enabled: false, ..VadConfig::default() };
        let mut w = Windower::new(1, cfg, 0, 0);
        let audio = tone(70_000);
        for c in audio.chunks(1000) {
            w.push(c);
        }
        let mut wins = Vec::new();
        while let Some(x) = w.pop() {
            wins.push(x);
        }
        wins.extend(w.finish());
        let total: usize = wins.iter().map(|x| x.audio.len()).sum();
        assert_eq!(total, audio.len());
        for x in &wins {
            assert!(x.audio.len() <= 29 * 16_000);
            assert_eq!(x.channel, 1);
        }
        assert_eq!(wins[1].to_source(0), wins[0].audio.len() as u64);
    }

    #[test]
    fn resume_ignores_earlier_audio() {
        let cfg = VadConfig { enabled: false, ..VadConfig::default() };
        let mut w = Windower::new(0, cfg, 0, 16_000 * 10);
        w.push(&tone(20_000));
        let wins = w.finish();
        assert_eq!(wins[0].src_start(), 16_000 * 10);
    }
}
