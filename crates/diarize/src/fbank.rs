//! Kaldi-compatible log-mel filter bank features (what CAM++ was trained on): 25 ms Povey
//! windows every 10 ms, DC removed, pre-emphasis 0.97, 512-point FFT power spectrum, 80
//! triangular mel bins from 20 Hz to Nyquist, natural log, and instead of random dither its
//! expected energy added (below). Without that floor it matched kaldi-native-fbank (no dither)
//! on JFK to 0.002.

use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

const FRAME: usize = 400;
const SHIFT: usize = 160;
const NFFT: usize = 512;
pub const BINS: usize = 80;

/// One planner, window and filter bank, reused for every call (no allocation per frame).
pub struct Fbank {
    window: Vec<f32>,
    banks: Vec<(usize, Vec<f32>)>,
    /// Per mel bin, the energy white noise of one 16-bit step would give (see `new`).
    floor: Vec<f32>,
    fft: Arc<dyn Fft<f32>>,
    buf: Vec<Complex32>,
    scratch: Vec<Complex32>,
}

fn mel(f: f64) -> f64 {
    1127.0 * (1.0 + f / 700.0).ln()
}

impl Default for Fbank {
    fn default() -> Self {
        Self::new()
    }
}

impl Fbank {
    pub fn new() -> Fbank {
        let window: Vec<f32> = (0..FRAME)
            .map(|n| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / (FRAME - 1) as f64).cos()).powf(0.85) as f32)
            .collect();
        let (lo, hi) = (mel(20.0), mel(8000.0));
        let step = (hi - lo) / (BINS + 1) as f64;
        let bin_hz = 16000.0 / NFFT as f64;
        let banks: Vec<(usize, Vec<f32>)> = (0..BINS)
            .map(|m| {
                let (l, c, r) = (lo + m as f64 * step, lo + (m + 1) as f64 * step, lo + (m + 2) as f64 * step);
                let mut first = None;
                let mut w = Vec::new();
                for i in 0..NFFT / 2 {
                    let f = mel(bin_hz * i as f64);
                    if f > l && f < r {
                        first.get_or_insert(i);
                        w.push(if f <= c { (f - l) / (c - l) } else { (r - f) / (r - c) } as f32);
                    } else if first.is_some() {
                        break;
                    }
                }
                (first.unwrap_or(0), w)
            })
            .collect();
        // Kaldi dithers with noise of one 16-bit step so that empty bands have a floor; without
        // it a band that holds nothing (4–8 kHz of a telephone recording brought to 16 kHz) is
        // log(resampler leakage), and that changed VoxConverse's speakers with the resampler
        // (DER 11 % vs 19 % for the same 8 kHz clip through two good resamplers). Adding the
        // noise's expected energy instead keeps the features deterministic.
        let noise_bin = (1.0 + 0.97f32 * 0.97) * window.iter().map(|w| w * w).sum::<f32>();
        let floor = banks.iter().map(|(_, w)| noise_bin * w.iter().sum::<f32>()).collect();
        let fft = FftPlanner::new().plan_fft_forward(NFFT);
        let scratch = vec![Complex32::default(); fft.get_inplace_scratch_len()];
        Fbank { window, banks, floor, fft, buf: vec![Complex32::default(); NFFT], scratch }
    }

    /// Features of 16 kHz samples in [-1, 1], row-major `[frames][80]`, each bin's mean over the
    /// frames subtracted (CAM++'s `global-mean` normalisation). Fewer than 400 samples: no frames.
    pub fn compute_normalized(&mut self, samples: &[f32], out: &mut Vec<f32>) -> usize {
        out.clear();
        let frames = frames(samples.len());
        if frames == 0 {
            return 0;
        }
        out.reserve(frames * BINS);
        let mut power = [0f32; NFFT / 2 + 1];
        for f in 0..frames {
            let x = &samples[f * SHIFT..f * SHIFT + FRAME];
            let mean = x.iter().sum::<f32>() / FRAME as f32;
            let mut prev = 0.0;
            for (i, b) in self.buf.iter_mut().enumerate() {
                *b = if i < FRAME {
                    let v = (x[i] - mean) * 32768.0;
                    let p = if i == 0 { v } else { prev };
                    prev = v;
                    Complex32::new((v - 0.97 * p) * self.window[i], 0.0)
                } else {
                    Complex32::default()
                };
            }
            self.fft.process_with_scratch(&mut self.buf, &mut self.scratch);
            for (p, c) in power.iter_mut().zip(&self.buf) {
                *p = c.norm_sqr();
            }
            for ((first, w), floor) in self.banks.iter().zip(&self.floor) {
                let e: f32 = w.iter().zip(&power[*first..]).map(|(a, b)| a * b).sum();
                out.push((e + floor).ln());
            }
        }
        let mut mean = [0f32; BINS];
        for row in out.chunks_exact(BINS) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        for m in &mut mean {
            *m /= frames as f32;
        }
        for row in out.chunks_exact_mut(BINS) {
            for (v, m) in row.iter_mut().zip(&mean) {
                *v -= m;
            }
        }
        frames
    }
}

/// Feature frames [`Fbank::compute_normalized`] makes of `samples` samples.
pub fn frames(samples: usize) -> usize {
    if samples < FRAME { 0 } else { 1 + (samples - FRAME) / SHIFT }
}
