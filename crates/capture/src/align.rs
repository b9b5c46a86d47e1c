//! Puts one source's audio on the recording's clock.
//!
//! The recording clock is the wall clock minus pauses, at 16 kHz. Each source has its own
//! (slightly wrong) sample clock, its own latency (which changes: a Pulse monitor's grows by
//! ~200 ms when a stream starts playing into its sink) and starts at its own moment. An
//! [`Aligner`] resamples the source to 16 kHz with **one persistent** resampler and:
//! - places the first block where the wall clock says it belongs;
//! - corrects clock drift by trimming the resampler's ratio (≤ 0.01 %, inaudible) once the
//!   smoothed offset leaves a ±250 ms dead band — latency changes inside the band never warp
//!   the audio;
//! - treats offsets beyond 2 s as events: a stall becomes silence where audio is missing, a
//!   burst has its surplus dropped.
//!
//! The writer waits (up to those same 2 s) for a late source instead of padding it, so a
//! source's latency never turns into gaps.

use std::collections::VecDeque;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Adjustable, Async, FixedAsync, Resampler, SincInterpolationParameters, WindowFunction};

/// Output rate of every channel of a recording.
pub const RATE: u32 = 16_000;
/// Offsets beyond this are events (stall, burst), fixed at once rather than by the ratio.
pub(crate) const HARD_MS: u64 = 2000;
/// Offsets inside ± this are latency, not drift: no correction.
const DEADBAND_MS: f64 = 250.0;
/// Largest ratio trim: 0.01 % (100 ppm; real clocks differ by less).
const MAX_TRIM: f64 = 0.0001;
/// Ratio trim per second of offset beyond the dead band.
const GAIN: f64 = 0.001;

pub(crate) struct Aligner {
    resampler: Async<f32>,
    rate_in: u32,
    chunk: usize,
    pending: Vec<f32>,
    scratch: Vec<f32>,
    out: VecDeque<f32>,
    /// Recording samples assigned to this source (written, queued, or padded).
    position: u64,
    delay_left: usize,
    started: bool,
    /// Smoothed offset (samples), position − expected.
    err: f64,
    pub padded: u64,
    pub dropped: u64,
}

impl Aligner {
    pub(crate) fn new(rate_in: u32) -> Result<Aligner, String> {
        let chunk = (rate_in as usize / 50).max(16);
        let params = SincInterpolationParameters::new(128, WindowFunction::BlackmanHarris2);
        let resampler = Async::<f32>::new_sinc(
            RATE as f64 / rate_in as f64,
            1.0 + 20.0 * MAX_TRIM,
            &params,
            chunk,
            1,
            FixedAsync::Input,
        )
        .map_err(|e| e.to_string())?;
        let delay_left = resampler.output_delay();
        let scratch = vec![0.0; resampler.output_frames_max()];
        Ok(Aligner {
            resampler,
            rate_in,
            chunk,
            pending: Vec::with_capacity(chunk * 2),
            scratch,
            out: VecDeque::with_capacity(RATE as usize * 2),
            position: 0,
            delay_left,
            started: false,
            err: 0.0,
            padded: 0,
            dropped: 0,
        })
    }

    /// Source audio that arrived when the recording clock stood at `expected` samples
    /// (its last sample was captured about then).
    pub(crate) fn feed(&mut self, input: &[f32], expected: u64) {
        if input.is_empty() {
            return;
        }
        // Where this source will stand once everything it delivered is resampled.
        let in_flight = ((self.pending.len() + input.len()) as u64 * RATE as u64 / self.rate_in as u64) as i64
            - self.delay_left as i64;
        let e = self.position as i64 + in_flight - expected as i64;
        let hard = (HARD_MS * RATE as u64 / 1000) as i64;
        if !self.started || e.abs() > hard {
            tracing::debug!(e, started = self.started, queued = self.out.len(), position = self.position, expected, "hard alignment");
            if e < 0 {
                let pad = (-e) as usize;
                self.out.extend(std::iter::repeat_n(0.0, pad));
                self.position += pad as u64;
                self.padded += pad as u64;
            } else if e > 0 {
                let drop = (e as usize).min(self.out.len());
                self.out.drain(..drop);
                self.position -= drop as u64;
                self.dropped += drop as u64;
            }
            self.started = true;
            self.err = 0.0;
        } else {
            // Proportional control on the smoothed offset (≈ 5 s time constant at 50 blocks/s)
            // beyond the dead band.
            self.err += (e as f64 - self.err) * 0.004;
            let band = DEADBAND_MS * RATE as f64 / 1000.0;
            let excess = self.err.signum() * (self.err.abs() - band).max(0.0);
            let trim = (-GAIN * excess / RATE as f64).clamp(-MAX_TRIM, MAX_TRIM);
            let _ = self.resampler.set_resample_ratio_relative(1.0 + trim, true);
            tracing::trace!(e, err = self.err, trim, "drift");
        }
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
                    self.out.extend(self.scratch[skip..produced].iter().copied());
                    self.position += (produced - skip) as u64;
                }
                Err(e) => tracing::warn!("resampler: {e}"),
            }
            used += self.chunk;
        }
        self.pending.drain(..used);
    }

    /// Moves `n` samples into `dst`; missing ones (a stalled or lost source) are silence.
    pub(crate) fn take(&mut self, n: usize, dst: &mut Vec<f32>) {
        dst.clear();
        let have = n.min(self.out.len());
        dst.extend(self.out.drain(..have));
        if have < n {
            dst.resize(n, 0.0);
            self.position += (n - have) as u64;
            self.padded += (n - have) as u64;
        }
    }

    /// A new device takes over this channel: its first block is placed by the wall clock like
    /// a recording's first (what the old device delivered stays).
    pub(crate) fn restart(&mut self) {
        self.pending.clear();
        self.resampler.reset();
        self.delay_left = self.resampler.output_delay();
        self.started = false;
        self.err = 0.0;
    }

    /// After a pause: forget queued and in-flight audio; continue at `expected`.
    pub(crate) fn reset(&mut self, expected: u64) {
        self.out.clear();
        self.pending.clear();
        self.resampler.reset();
        self.delay_left = self.resampler.output_delay();
        self.position = expected;
        self.started = false;
        self.err = 0.0;
    }

    /// Recording position up to which this source has audio (or silence already assigned).
    pub(crate) fn available_upto(&self) -> u64 {
        self.position
    }

    #[cfg(test)]
    fn queued(&self) -> usize {
        self.out.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, from: u64, n: usize) -> Vec<f32> {
        (0..n).map(|i| ((from + i as u64) as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 0.5).collect()
    }

    /// Simulates `secs` seconds of a device whose clock runs `skew` fast, delivering 20 ms
    /// blocks, and returns the worst offset (ms) between its position and the wall clock
    /// after the first 10 s.
    fn run(rate: u32, skew: f64, secs: u64) -> (f64, Aligner) {
        let mut a = Aligner::new(rate).unwrap();
        let mut fed = 0u64;
        let mut written = 0u64;
        let mut dst = Vec::new();
        let mut worst: f64 = 0.0;
        for tick in 1..=secs * 50 {
            let wall = tick * RATE as u64 / 50;
            let due = ((tick as f64 * rate as f64 / 50.0) * (1.0 + skew)) as u64;
            let block = tone(rate, fed, (due - fed) as usize);
            fed = due;
            a.feed(&block, wall);
            let target = wall.saturating_sub(RATE as u64 / 5).min(a.available_upto()).max(wall.saturating_sub(RATE as u64));
            if target > written {
                a.take((target - written) as usize, &mut dst);
                written = target;
            }
            if tick > 50 * 60 {
                let off = (a.position as f64 - wall as f64) * 1000.0 / RATE as f64;
                worst = worst.max(off.abs());
            }
        }
        (worst, a)
    }

    #[test]
    fn a_fast_clock_is_pulled_back_by_the_ratio_not_by_cuts() {
        // 80 ppm fast (a bad real device) for 2 hours: 576 ms of drift uncorrected.
        let (worst, a) = run(48_000, 0.00008, 7200);
        assert!(worst < 400.0, "offset {worst} ms");
        assert_eq!(a.dropped, 0, "no samples dropped");
    }

    #[test]
    fn a_slow_clock_is_pushed_forward_without_inserted_silence() {
        let (worst, a) = run(44_100, -0.00008, 7200);
        assert!(worst < 400.0, "offset {worst} ms");
        // Only the first block's placement pads.
        assert!(a.padded < RATE as u64 / 10, "padded {}", a.padded);
    }

    fn chirp(rate: u32, secs: f64) -> Vec<f32> {
        let n = (rate as f64 * secs) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / rate as f64;
                // 100 Hz → 3 kHz over `secs`, then again.
                let tt = t % 2.0;
                (std::f64::consts::TAU * (100.0 * tt + 725.0 * tt * tt)).sin() as f32 * 0.5
            })
            .collect()
    }

    #[test]
    fn resampled_audio_is_the_same_signal_at_16k() {
        let secs = 12.0;
        let src = chirp(48_000, secs);
        let reference = chirp(RATE, secs);
        let mut a = Aligner::new(48_000).unwrap();
        let mut out = Vec::new();
        let mut dst = Vec::new();
        let mut written = 0u64;
        for (k, block) in src.chunks(960).enumerate() {
            let wall = (k as u64 + 1) * 320;
            a.feed(block, wall);
            let target = wall.saturating_sub(3200);
            if target > written {
                a.take((target - written) as usize, &mut dst);
                out.extend_from_slice(&dst);
                written = target;
            }
        }
        let mut best = (0.0f64, 0usize);
        for lag in 0..400 {
            let n = reference.len().min(out.len() - lag) - 400;
            let (mut xy, mut xx, mut yy) = (0.0f64, 0.0f64, 0.0f64);
            for i in 0..n {
                let (x, y) = (out[lag + i] as f64, reference[i] as f64);
                xy += x * y;
                xx += x * x;
                yy += y * y;
            }
            let c = xy / (xx * yy).sqrt();
            if c > best.0 {
                best = (c, lag);
            }
        }
        assert!(best.0 > 0.95, "correlation {best:?}");
        assert!(best.1 < 200, "offset {} samples", best.1);
    }

    #[test]
    fn a_late_source_is_placed_at_its_wall_time_and_a_stall_becomes_silence() {
        let mut a = Aligner::new(48_000).unwrap();
        // The first audio arrives 1.5 s into the recording.
        a.feed(&tone(48_000, 0, 960), 24_000);
        assert!((a.position as i64 - 24_000).abs() < 400, "{}", a.position);
        assert!(a.queued() >= 23_000);
        // Nothing for 3 s, then audio again: silence fills the gap.
        a.feed(&tone(48_000, 960, 960), 24_000 + 48_000);
        assert!((a.position as i64 - 72_000).abs() < 400, "{}", a.position);
        // A latency step of 300 ms is neither cut nor padded.
        a.feed(&tone(48_000, 1920, 960), 72_000 + 320 + 4_800);
        assert!((a.position as i64 - 72_320).abs() < 400, "{}", a.position);
    }
}
