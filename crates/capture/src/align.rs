//! Puts one source's audio on the recording's clock without editing it.
//!
//! A source's own sample count is its clock: every sample it delivers is resampled to 16 kHz
//! (with **one persistent** resampler) and written, in order. Wall time is used for two things
//! only, and both read it from the audio callbacks' arrival times, never from when the writer
//! happened to look:
//! - **Placement.** Where the source's first sample sits in the recording. A callback that
//!   arrives at `t` after `F` frames says frame 0 was captured at `t − F/rate` or earlier
//!   (delivery is only ever late), so the earliest such estimate over the first
//!   [`PLACE_MS`] is the start. Bursty delivery (a Pulse monitor rendering 2 s at once) and a
//!   loaded machine make estimates later, never earlier.
//! - **Clock drift.** The same estimate, taken as the minimum over each 10 s window, moves
//!   in a straight line when the device's clock runs fast or slow. Its slope (least squares
//!   over the last 10 minutes) is the source's drift. A jump between windows is a latency
//!   change (a monitor's grows when something starts playing into its sink): it is taken out
//!   of the line, not corrected. One source is the recording's reference and is never
//!   resampled (its sample count is the recording's clock); another source's drift *against
//!   it* is corrected by trimming the resampler's ratio (≤ 500 ppm, inaudible), never by
//!   cutting or padding. Sources on one clock (relative slope under 15 ppm, offset under 8 ms)
//!   get no trim, and nothing is trimmed before 3 minutes of evidence: arrival times also drift
//!   with slow latency ramps (measured 100–300 ppm for minutes on PulseAudio null sinks whose
//!   sample clocks agree to 0.0 ms), which a short fit takes for clock drift.
//!
//! Silence is inserted only for a gap the device reports: frames the ring had no room for
//! (exact count), a device overrun (xrun: the jump of the start estimate over the next second,
//! inserted where the gap was — the file waits that second), a replacement device starting
//! later than the last one stopped. Each is a [`Correction`] the recorder logs.

use std::collections::VecDeque;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Adjustable, Async, FixedAsync, Resampler, SincInterpolationParameters, WindowFunction};

/// Output rate of every channel of a recording.
pub const RATE: u32 = 16_000;
/// A source is placed after its callbacks were watched this long (ms of recording time).
pub(crate) const PLACE_MS: f64 = 2500.0;
/// Drift is measured on the earliest-arrival estimate of each window this long (ms).
const WINDOW_MS: f64 = 10_000.0;
/// A jump between two windows larger than this (ms) is a latency step or a gap, not drift.
const STEP_MS: f64 = 5.0;
/// After an overrun, the callbacks of this long (ms) measure its gap.
const GAP_MS: f64 = 1000.0;
/// Windows in the drift fit (10 minutes), and the fewest that give a slope (3 minutes): a
/// recording shorter than that is never resampled. PulseAudio's delivery to two clients of
/// null sinks that share one clock drifted apart by 100–300 ppm for minutes (latency ramps),
/// which a one-minute fit took for clock drift.
const HISTORY: usize = 60;
const MIN_WINDOWS: usize = 18;
/// Largest ratio trim: 500 ppm (a pitch change of 0.009 semitones). Real clocks differ by
/// under 100 ppm; the bound leaves room for worse hardware.
const MAX_TRIM: f64 = 0.0005;
/// Below both, the clocks are the same: no trim at all.
const SLOPE_DEADBAND: f64 = 15e-6;
const OFFSET_DEADBAND_MS: f64 = 8.0;
/// An accumulated offset is pulled back over about this long (s).
const TAU_S: f64 = 120.0;

/// Why silence was inserted into (or audio removed from) a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The device reported an overrun and its audio resumed this much later.
    Overrun,
    /// The ring between the audio callback and the writer was full: frames were lost.
    RingFull,
    /// A replacement device started later than the previous one stopped.
    DeviceChange,
    /// A source lagged the others by more than the recorder can hold.
    Lag,
    /// A replacement device's first audio overlapped what was already recorded.
    Overlap,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Overrun => "device overrun",
            Reason::RingFull => "capture buffer full",
            Reason::DeviceChange => "device change",
            Reason::Lag => "source too late",
            Reason::Overlap => "device change overlap",
        }
    }
}

/// A change to a channel's content: `samples` > 0 inserted (silence), < 0 removed, at
/// recording position `at`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Correction {
    pub at: u64,
    pub samples: i64,
    pub reason: Reason,
}

/// A source's clock against the wall clock: how fast it runs (−: slow) and how far its
/// positions have moved from where the wall clock puts them (ms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Drift {
    pub skew: f64,
    pub offset_ms: f64,
}

struct Overrun {
    at: u64,
    before: f64,
    after: f64,
    first_ms: Option<f64>,
}

/// Earliest-arrival estimate of frame 0 over a stretch of callbacks.
#[derive(Default)]
struct Window {
    first_ms: Option<f64>,
    min_t0: f64,
}

impl Window {
    fn add(&mut self, at_ms: f64, t0: f64) {
        match self.first_ms {
            None => {
                self.first_ms = Some(at_ms);
                self.min_t0 = t0;
            }
            Some(_) => self.min_t0 = self.min_t0.min(t0),
        }
    }
    fn age(&self, at_ms: f64) -> f64 {
        self.first_ms.map_or(0.0, |f| at_ms - f)
    }
}

pub(crate) struct Aligner {
    resampler: Async<f32>,
    rate_in: u32,
    chunk: usize,
    pending: Vec<f32>,
    scratch: Vec<f32>,
    /// Placed audio waiting to be written; its end is at `position`.
    out: VecDeque<f32>,
    /// Resampled audio of a source not placed yet (starts at its frame 0).
    unplaced: Vec<f32>,
    placed: bool,
    position: u64,
    delay_left: usize,
    /// Output samples minus nominal ones since placement (ms): what trims moved.
    trimmed_ms: f64,
    trim: f64,
    /// Content time the trims moved over the whole recording (ms; + = stretched).
    pub trimmed_total_ms: f64,
    drift: Option<Drift>,
    reference: Option<Drift>,
    is_reference: bool,
    /// Placement maps recording time to file position through this pair (ms, samples): the
    /// start, the moment of a resume, or the old device's last callback. The file follows the
    /// sources' clocks, which drift from the wall clock, so a later placement starts from there.
    origin: (f64, u64),
    /// The latest callback of the placed source: (recording ms, position).
    anchor: Option<(f64, u64)>,
    place: Window,
    window: Window,
    /// Start estimate at placement, last window's, and the latency steps taken out since.
    t0_placed: f64,
    last_t0: f64,
    steps_ms: f64,
    history: VecDeque<(f64, f64)>,
    /// An overrun being measured: where the gap is (recording position), the earliest start
    /// estimate before it, the earliest after it, and when the first callback after it came.
    overrun: Option<Overrun>,
    corrections: Vec<Correction>,
    /// Where the first placed sample sits (recording samples), once placed.
    pub start: Option<u64>,
    pub inserted: u64,
    pub removed: u64,
}

impl Aligner {
    pub(crate) fn new(rate_in: u32) -> Result<Aligner, String> {
        let chunk = (rate_in as usize / 50).max(16);
        let params = SincInterpolationParameters::new(128, WindowFunction::BlackmanHarris2);
        let resampler = Async::<f32>::new_sinc(RATE as f64 / rate_in as f64, 1.0 + 20.0 * MAX_TRIM, &params, chunk, 1, FixedAsync::Input)
            .map_err(|e| e.to_string())?;
        let delay_left = resampler.output_delay();
        let scratch = vec![0.0; resampler.output_frames_max()];
        Ok(Aligner {
            resampler,
            rate_in,
            chunk,
            pending: Vec::with_capacity(chunk * 2),
            scratch,
            out: VecDeque::with_capacity(RATE as usize * 4),
            unplaced: Vec::with_capacity(RATE as usize * 4),
            placed: false,
            position: 0,
            delay_left,
            trimmed_ms: 0.0,
            trim: 0.0,
            trimmed_total_ms: 0.0,
            drift: None,
            reference: None,
            is_reference: true,
            origin: (0.0, 0),
            anchor: None,
            place: Window::default(),
            window: Window::default(),
            t0_placed: 0.0,
            last_t0: 0.0,
            steps_ms: 0.0,
            history: VecDeque::with_capacity(HISTORY),
            overrun: None,
            corrections: Vec::new(),
            start: None,
            inserted: 0,
            removed: 0,
        })
    }

    /// The source's next frames, in order.
    pub(crate) fn feed(&mut self, input: &[f32]) {
        self.pending.extend_from_slice(input);
        let mut used = 0;
        while self.pending.len() - used >= self.chunk {
            let inp = InterleavedSlice::new(&self.pending[used..used + self.chunk], 1, self.chunk).expect("sized");
            let frames = self.scratch.len();
            let mut outp = InterleavedSlice::new_mut(&mut self.scratch[..], 1, frames).expect("sized");
            match self.resampler.process_into_buffer(&inp, &mut outp, None) {
                Ok((_, produced)) => {
                    let skip = self.delay_left.min(produced);
                    self.delay_left -= skip;
                    let got = &self.scratch[skip..produced];
                    if self.placed {
                        self.out.extend(got.iter().copied());
                        self.position += got.len() as u64;
                        if skip == 0 {
                            let nominal = self.chunk as f64 * RATE as f64 / self.rate_in as f64;
                            let moved = (produced as f64 - nominal) * 1000.0 / RATE as f64;
                            self.trimmed_ms += moved;
                            if self.trim != 0.0 {
                                self.trimmed_total_ms += moved;
                            }
                        }
                    } else {
                        self.unplaced.extend_from_slice(got);
                    }
                }
                Err(e) => tracing::warn!("resampler: {e}"),
            }
            used += self.chunk;
        }
        self.pending.drain(..used);
    }

    /// `n` frames the device delivered but the ring had no room for: the same length of
    /// silence keeps everything after them in place.
    pub(crate) fn lost(&mut self, n: u64) {
        let at = self.position;
        let zeros = [0.0f32; 256];
        let mut left = n as usize;
        while left > 0 {
            let k = left.min(zeros.len());
            self.feed(&zeros[..k]);
            left -= k;
        }
        let samples = (n * RATE as u64 / self.rate_in as u64) as i64;
        self.inserted += samples as u64;
        self.corrections.push(Correction { at, samples, reason: Reason::RingFull });
    }

    /// The device reported an overrun: a latency jump in the next window is a real gap.
    /// Everything fed so far came before the gap; the file is held there until the callbacks
    /// after it (for [`GAP_MS`]) tell how long it was.
    pub(crate) fn overrun(&mut self) {
        if !self.placed || self.overrun.is_some() {
            return;
        }
        let before = if self.window.first_ms.is_some() { self.window.min_t0 } else { self.last_t0 };
        self.overrun = Some(Overrun { at: self.position, before, after: f64::INFINITY, first_ms: None });
    }

    fn measure_overrun(&mut self, at_ms: f64, t0: f64) {
        let Some(o) = self.overrun.as_mut() else { return };
        o.after = o.after.min(t0);
        let first = *o.first_ms.get_or_insert(at_ms);
        if at_ms - first < GAP_MS {
            return;
        }
        let o = self.overrun.take().expect("measuring");
        let gap_ms = o.after - o.before;
        let pad = (gap_ms * RATE as f64 / 1000.0).round() as i64;
        if gap_ms <= STEP_MS || pad <= 0 {
            return;
        }
        // Silence goes where the gap was: between what came before and after it.
        let idx = (self.out.len() as u64).saturating_sub(self.position - o.at) as usize;
        let mut tail = self.out.split_off(idx);
        self.out.extend(std::iter::repeat_n(0.0, pad as usize));
        self.out.append(&mut tail);
        self.position += pad as u64;
        self.inserted += pad as u64;
        self.corrections.push(Correction { at: o.at, samples: pad, reason: Reason::Overrun });
    }

    /// A callback arrived at recording time `at_ms` after `frames` frames (counted like
    /// [`Aligner::feed`] counts them) — the only wall-clock input.
    pub(crate) fn observe(&mut self, frames: u64, at_ms: f64) {
        let t0 = at_ms - frames as f64 * 1000.0 / self.rate_in as f64;
        if !self.placed {
            self.place.add(at_ms, t0);
            return;
        }
        self.anchor = Some((at_ms, self.position));
        self.measure_overrun(at_ms, t0);
        self.window.add(at_ms, t0);
        if self.window.age(at_ms) >= WINDOW_MS {
            let first = self.window.first_ms.unwrap_or(at_ms);
            let v = self.window.min_t0;
            self.window = Window::default();
            self.close_window((first + at_ms) / 2.0, v);
        }
    }

    /// Placement is due once the source was watched long enough.
    pub(crate) fn wants_placing(&self, at_ms: f64) -> bool {
        !self.placed && self.place.age(at_ms) >= PLACE_MS
    }

    pub(crate) fn is_placed(&self) -> bool {
        self.placed
    }

    /// Places the source on the recording from the callbacks seen so far. Audio before
    /// `floor` (what this channel already has) is not written twice; a start later than
    /// `floor` is preceded by silence — a correction when `gap` says the channel had audio
    /// before (a device change), the start latency otherwise.
    pub(crate) fn place(&mut self, gap: bool) {
        if self.placed || self.place.first_ms.is_none() {
            return;
        }
        let floor = self.position;
        let t0 = self.place.min_t0;
        let p0 = self.origin.1 as i64 + ((t0 - self.origin.0) * RATE as f64 / 1000.0).round() as i64;
        let at = floor;
        if p0 < floor as i64 {
            let cut = ((floor as i64 - p0) as usize).min(self.unplaced.len());
            self.unplaced.drain(..cut);
            if gap && cut > 0 {
                self.removed += cut as u64;
                self.corrections.push(Correction { at, samples: -(cut as i64), reason: Reason::Overlap });
            }
        } else if p0 > floor as i64 {
            let pad = (p0 - floor as i64) as usize;
            self.out.extend(std::iter::repeat_n(0.0, pad));
            self.position += pad as u64;
            if gap {
                self.inserted += pad as u64;
                self.corrections.push(Correction { at, samples: pad as i64, reason: Reason::DeviceChange });
            }
        }
        self.start.get_or_insert(self.position);
        self.position += self.unplaced.len() as u64;
        self.out.extend(self.unplaced.drain(..));
        self.placed = true;
        // Frame 0's capture time: later windows are judged against it.
        self.t0_placed = t0;
        self.last_t0 = t0;
        self.steps_ms = 0.0;
        self.trimmed_ms = 0.0;
        self.history.clear();
        self.drift = None;
        self.window = Window::default();
        self.place = Window::default();
    }

    fn close_window(&mut self, mid_ms: f64, v: f64) {
        let predicted = self.slope() * WINDOW_MS;
        let d = v - self.last_t0 - predicted;
        self.last_t0 = v;
        if d.abs() > STEP_MS {
            // A latency change, or an overrun's gap (already filled): out of the drift line.
            tracing::debug!(step_ms = d, "step in the start estimate");
            self.steps_ms += d;
        }
        let u = v - self.steps_ms;
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back((mid_ms, u));
        // Capture time moves by −skew·t; positions moved by the trims so far.
        let skew = -self.slope();
        let offset_ms = self.trimmed_ms - (u - self.t0_placed);
        self.drift = (self.history.len() >= MIN_WINDOWS).then_some(Drift { skew, offset_ms });
        // Only the drift against the reference source is corrected: the reference itself (and a
        // source alone) is never resampled, and sources on one clock are never touched.
        self.trim = match (self.drift, self.reference) {
            (Some(me), Some(r)) if !self.is_reference => {
                let (skew, offset_ms) = (me.skew - r.skew, me.offset_ms - r.offset_ms);
                if skew.abs() < SLOPE_DEADBAND && offset_ms.abs() < OFFSET_DEADBAND_MS {
                    0.0
                } else {
                    (-skew - offset_ms / (TAU_S * 1000.0)).clamp(-MAX_TRIM, MAX_TRIM)
                }
            }
            _ => 0.0,
        };
        let _ = self.resampler.set_resample_ratio_relative(1.0 + self.trim, true);
        tracing::debug!(mid_ms, v, d, u, skew, offset_ms, trim = self.trim, reference = self.is_reference, "drift window");
    }

    /// This source's clock against the wall clock, once measured.
    pub(crate) fn drift(&self) -> Option<Drift> {
        self.drift
    }

    /// The recording's reference source is never resampled for drift; the others follow its
    /// clock (`reference`: its drift, `None` until measured).
    pub(crate) fn follow(&mut self, is_reference: bool, reference: Option<Drift>) {
        self.is_reference = is_reference;
        self.reference = if is_reference { None } else { reference };
    }

    /// Least-squares slope of the de-stepped start estimates (0 until enough windows).
    fn slope(&self) -> f64 {
        let n = self.history.len();
        if n < MIN_WINDOWS {
            return 0.0;
        }
        let (mx, my) = self.history.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
        let (mx, my) = (mx / n as f64, my / n as f64);
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for (x, y) in &self.history {
            sxy += (x - mx) * (y - my);
            sxx += (x - mx) * (x - mx);
        }
        if sxx > 0.0 { sxy / sxx } else { 0.0 }
    }

    /// The ratio trim in use, parts per million (negative: the device runs fast).
    pub(crate) fn trim_ppm(&self) -> f64 {
        self.trim * 1e6
    }

    /// Corrections since the last call.
    pub(crate) fn take_corrections(&mut self, into: &mut Vec<Correction>) {
        into.append(&mut self.corrections);
    }

    /// Moves `n` samples into `dst`; returns how many were missing (silence). The recorder
    /// asks for more than a live source has only for a source that is gone or at the end.
    pub(crate) fn take(&mut self, n: usize, dst: &mut Vec<f32>) -> usize {
        dst.clear();
        let have = n.min(self.out.len());
        dst.extend(self.out.drain(..have));
        if have < n {
            dst.resize(n, 0.0);
            self.position += (n - have) as u64;
        }
        n - have
    }

    /// Silence up to `pos` for a source that fell too far behind (a correction).
    pub(crate) fn pad_to(&mut self, pos: u64) {
        if pos > self.position && self.placed {
            let pad = pos - self.position;
            let at = self.position;
            self.out.extend(std::iter::repeat_n(0.0, pad as usize));
            self.position = pos;
            self.inserted += pad;
            self.corrections.push(Correction { at, samples: pad as i64, reason: Reason::Lag });
        }
    }

    /// A new device takes over this channel at `rate_in`: what the old one delivered stays;
    /// the new one is placed like a recording's first source.
    pub(crate) fn restart(&mut self, rate_in: u32) -> Result<(), String> {
        if rate_in != self.rate_in {
            let fresh = Aligner::new(rate_in)?;
            self.resampler = fresh.resampler;
            self.rate_in = rate_in;
            self.chunk = fresh.chunk;
            self.scratch = fresh.scratch;
        }
        self.resampler.reset();
        let _ = self.resampler.set_resample_ratio_relative(1.0, false);
        self.origin = self.anchor.unwrap_or((0.0, self.position));
        self.restart_state();
        Ok(())
    }

    fn restart_state(&mut self) {
        self.pending.clear();
        self.unplaced.clear();
        self.delay_left = self.resampler.output_delay();
        self.placed = false;
        self.anchor = None;
        self.trim = 0.0;
        self.overrun = None;
        self.place = Window::default();
        self.window = Window::default();
    }

    /// After a pause: forget queued and in-flight audio; the channel continues at file position
    /// `expected`, which is recording time `at_ms`.
    pub(crate) fn reset(&mut self, expected: u64, at_ms: f64) {
        self.out.clear();
        self.position = expected;
        self.origin = (at_ms, expected);
        self.resampler.reset();
        let _ = self.resampler.set_resample_ratio_relative(1.0, false);
        self.restart_state();
    }

    /// Recording position up to which this source has audio (held at an overrun's gap while
    /// it is measured).
    pub(crate) fn available_upto(&self) -> u64 {
        self.overrun.as_ref().map_or(self.position, |o| o.at.min(self.position))
    }
}

#[cfg(test)]
mod tests;
