//! Streaming conversion of planar f32 audio at any rate to 16 kHz.
//!
//! One [`StreamResampler`] lives as long as its [`AudioStream`](crate::AudioStream): it is fed
//! block after block (whatever size the decoder produces), keeps the unconsumed input and the
//! FFT overlap between calls, trims its own start-up delay, and at the end flushes its tail so the
//! output has exactly `ceil(input_frames * 16000 / rate)` frames.

use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Indexing, Resampler, WindowFunction};

use crate::{MediaError, TARGET_RATE};

/// Input frames per resampler call (at the source rate). One FFT block of about this size:
/// large enough for a steep anti-aliasing filter (cutoff ≈ 98–99 % of 8 kHz), small enough to
/// keep latency and memory trivial.
const CHUNK_IN: usize = 2048;

pub(crate) struct StreamResampler {
    rate: u32,
    channels: usize,
    /// `None` when the source is already at 16 kHz (pass-through).
    fft: Option<Fft<f32>>,
    /// Input not yet consumed by the resampler (always < one resampler chunk after `push`).
    pending: Vec<Vec<f32>>,
    /// Scratch output of one resampler call.
    scratch: Vec<Vec<f32>>,
    /// Output frames still to drop at the start (resampler delay).
    delay_left: usize,
    /// Input frames fed since creation / the last reset.
    fed: u64,
    /// Output frames delivered since creation / the last reset.
    produced: u64,
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn rs_err(e: impl std::fmt::Display) -> MediaError {
    MediaError::Resample(e.to_string())
}

impl StreamResampler {
    pub(crate) fn new(rate: u32, channels: usize) -> Result<Self, MediaError> {
        if rate == 0 || channels == 0 {
            return Err(MediaError::Resample(format!(
                "invalid source: {rate} Hz, {channels} channels"
            )));
        }
        let (fft, scratch, delay) = if rate == TARGET_RATE {
            (None, Vec::new(), 0)
        } else {
            // One FFT block per chunk, made of an *even* number of the minimal blocks
            // (rate / gcd frames): then the filter's centre (fft_size_in / 2 input frames) maps to
            // exactly `output_delay()` output frames, so trimming the delay leaves no sub-sample
            // time shift.
            let min_in = rate as usize / gcd(rate as usize, TARGET_RATE as usize);
            let blocks = CHUNK_IN.div_ceil(min_in).next_multiple_of(2);
            let fft = Fft::<f32>::new_custom(
                rate as usize,
                TARGET_RATE as usize,
                blocks * min_in,
                1,
                channels,
                WindowFunction::BlackmanHarris2,
                FixedSync::Input,
            )
            .map_err(rs_err)?;
            let scratch = vec![vec![0.0f32; fft.output_frames_max()]; channels];
            let delay = fft.output_delay();
            (Some(fft), scratch, delay)
        };
        Ok(StreamResampler {
            rate,
            channels,
            fft,
            pending: vec![Vec::with_capacity(CHUNK_IN * 2); channels],
            scratch,
            delay_left: delay,
            fed: 0,
            produced: 0,
        })
    }

    pub(crate) fn rate(&self) -> u32 {
        self.rate
    }

    /// Forget all state (after a seek). The next input is treated as a fresh start.
    pub(crate) fn reset(&mut self) {
        if let Some(fft) = &mut self.fft {
            fft.reset();
            self.delay_left = fft.output_delay();
        }
        for p in &mut self.pending {
            p.clear();
        }
        self.fed = 0;
        self.produced = 0;
    }

    /// Feed `frames` frames of `input` (one slice per channel) and append the resampled output
    /// to `out` (one Vec per channel).
    pub(crate) fn push(
        &mut self,
        input: &[Vec<f32>],
        frames: usize,
        out: &mut [Vec<f32>],
    ) -> Result<(), MediaError> {
        debug_assert_eq!(input.len(), self.channels);
        self.fed += frames as u64;
        let Some(fft) = &mut self.fft else {
            for (o, i) in out.iter_mut().zip(input) {
                o.extend_from_slice(&i[..frames]);
            }
            self.produced += frames as u64;
            return Ok(());
        };
        for (p, i) in self.pending.iter_mut().zip(input) {
            p.extend_from_slice(&i[..frames]);
        }
        let avail = self.pending[0].len();
        let mut offset = 0;
        let out_max = self.scratch[0].len();
        while avail - offset >= fft.input_frames_next() {
            let input_adapter =
                SequentialSliceOfVecs::new(&self.pending, self.channels, avail).map_err(rs_err)?;
            let mut output_adapter =
                SequentialSliceOfVecs::new_mut(&mut self.scratch, self.channels, out_max)
                    .map_err(rs_err)?;
            let idx = Indexing::new().input_offset(offset);
            let (n_in, n_out) = fft
                .process_into_buffer(&input_adapter, &mut output_adapter, Some(&idx))
                .map_err(rs_err)?;
            offset += n_in;
            Self::deliver(
                &self.scratch,
                n_out,
                &mut self.delay_left,
                &mut self.produced,
                out,
            );
        }
        if offset > 0 {
            for p in &mut self.pending {
                p.drain(..offset);
            }
        }
        Ok(())
    }

    fn deliver(
        scratch: &[Vec<f32>],
        n_out: usize,
        delay_left: &mut usize,
        produced: &mut u64,
        out: &mut [Vec<f32>],
    ) {
        let skip = (*delay_left).min(n_out);
        *delay_left -= skip;
        if n_out > skip {
            for (o, s) in out.iter_mut().zip(scratch) {
                o.extend_from_slice(&s[skip..n_out]);
            }
            *produced += (n_out - skip) as u64;
        }
    }

    /// Flush the tail: after this, exactly `ceil(fed * 16000 / rate)` frames have been delivered
    /// since the last reset.
    pub(crate) fn finish(&mut self, out: &mut [Vec<f32>]) -> Result<(), MediaError> {
        let Some(fft) = &mut self.fft else {
            return Ok(());
        };
        let expected = (self.fed as u128 * TARGET_RATE as u128).div_ceil(self.rate as u128) as u64;
        let before: Vec<usize> = out.iter().map(Vec::len).collect();
        let produced_before = self.produced;
        let out_max = self.scratch[0].len();
        let mut remaining = self.pending[0].len();
        let mut offset = 0;
        // Guard against a resampler that never produces output (cannot happen, but never hang).
        let mut guard = 0usize;
        while self.produced < expected && guard < 10_000 {
            guard += 1;
            let part = remaining.min(fft.input_frames_next());
            let avail = self.pending[0].len();
            let input_adapter =
                SequentialSliceOfVecs::new(&self.pending, self.channels, avail).map_err(rs_err)?;
            let mut output_adapter =
                SequentialSliceOfVecs::new_mut(&mut self.scratch, self.channels, out_max)
                    .map_err(rs_err)?;
            let idx = Indexing::new().input_offset(offset).partial_len(part);
            let (_, n_out) = fft
                .process_into_buffer(&input_adapter, &mut output_adapter, Some(&idx))
                .map_err(rs_err)?;
            offset += part;
            remaining -= part;
            Self::deliver(
                &self.scratch,
                n_out,
                &mut self.delay_left,
                &mut self.produced,
                out,
            );
        }
        for p in &mut self.pending {
            p.clear();
        }
        if self.produced > expected {
            let excess = (self.produced - expected) as usize;
            for (o, b) in out.iter_mut().zip(before) {
                let keep = o.len().saturating_sub(excess).max(b);
                o.truncate(keep);
            }
            self.produced = expected;
        }
        tracing::trace!(
            fed = self.fed,
            produced_before,
            produced = self.produced,
            "resampler flushed"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rate: u32, total: usize, block: usize) -> Vec<f32> {
        let mut r = StreamResampler::new(rate, 1).unwrap();
        let freq = 440.0;
        let sig: Vec<f32> = (0..total)
            .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin() * 0.5)
            .collect();
        let mut out = vec![Vec::new()];
        for c in sig.chunks(block) {
            r.push(&[c.to_vec()], c.len(), &mut out).unwrap();
        }
        r.finish(&mut out).unwrap();
        out.pop().unwrap()
    }

    #[test]
    fn lengths_are_exact() {
        for &(rate, total, block) in &[
            (44100u32, 44100usize * 3 + 17, 1152usize),
            (48000, 48000, 4096),
            (8000, 8001, 100),
            (22050, 500, 1000),
            (16000, 12345, 999),
            (44100, 0, 10),
            (96000, 1, 1),
        ] {
            let out = run(rate, total, block);
            let expected = (total as u64 * 16000).div_ceil(rate as u64) as usize;
            assert_eq!(out.len(), expected, "rate {rate} total {total}");
        }
    }

    #[test]
    fn sine_is_preserved_and_aligned() {
        for rate in [44100, 48000, 22050, 8000, 11025, 32000] {
            sine_check(rate);
        }
    }

    fn sine_check(rate: u32) {
        let out = run(rate, rate as usize * 2, 777);
        // Compare to an ideal 440 Hz sine at 16 kHz, away from the edges.
        let mut err = 0.0f64;
        let mut n = 0;
        for (i, &v) in out.iter().enumerate().skip(2000).take(20000) {
            let ideal = (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 16000.0).sin() * 0.5;
            err += (v as f64 - ideal).powi(2);
            n += 1;
        }
        let rms = (err / n as f64).sqrt();
        let (mut a, mut b) = (0.0f64, 0.0f64);
        for (i, &v) in out.iter().enumerate().skip(2000).take(20000) {
            let w = 2.0 * std::f64::consts::PI * 440.0 * i as f64 / 16000.0;
            a += v as f64 * w.sin();
            b += v as f64 * w.cos();
        }
        let amp = 2.0 * (a * a + b * b).sqrt() / 20000.0;
        let shift = b.atan2(a) / (2.0 * std::f64::consts::PI * 440.0 / 16000.0);
        assert!(shift.abs() < 0.05, "{rate}: misaligned by {shift} samples");
        assert!((amp - 0.5).abs() < 0.005, "amplitude {amp}");
        assert!(rms < 0.02, "rms error {rms}");
    }
}
