//! Slaney-style mel filterbank, identical to `librosa.filters.mel(sr, n_fft, n_mels)` with its
//! defaults (`htk=False`, `norm="slaney"`, `fmin=0`, `fmax=sr/2`), which is what openai-whisper
//! stores in `assets/mel_filters.npz` and what whisper.cpp expects in the ggml header.

fn hz_to_mel(hz: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = (6.4f64).ln() / 27.0;
    if hz >= MIN_LOG_HZ {
        min_log_mel + (hz / MIN_LOG_HZ).ln() / logstep
    } else {
        hz / F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = (6.4f64).ln() / 27.0;
    if mel >= min_log_mel {
        MIN_LOG_HZ * (logstep * (mel - min_log_mel)).exp()
    } else {
        F_SP * mel
    }
}

/// Mel filterbank as a row-major `[n_mels][n_fft / 2 + 1]` matrix of `f32`.
///
/// Computed in `f64` and rounded once to `f32`, like librosa.
pub fn slaney_mel_filters(n_mels: usize, n_fft: usize, sample_rate: u32) -> Vec<f32> {
    let n_freqs = n_fft / 2 + 1;
    let sr = f64::from(sample_rate);
    // np.fft.rfftfreq(n_fft, d=1/sr): k * (1 / (n_fft * d))
    let val = 1.0 / (n_fft as f64 * (1.0 / sr));
    let fft_freqs: Vec<f64> = (0..n_freqs).map(|k| k as f64 * val).collect();

    let min_mel = hz_to_mel(0.0);
    let max_mel = hz_to_mel(sr / 2.0);
    let n_points = n_mels + 2;
    let mel_f: Vec<f64> = (0..n_points)
        .map(|i| {
            // np.linspace: i * step + start, with the last point exactly `stop`.
            let step = (max_mel - min_mel) / (n_points - 1) as f64;
            let m = if i + 1 == n_points {
                max_mel
            } else {
                i as f64 * step + min_mel
            };
            mel_to_hz(m)
        })
        .collect();
    let fdiff: Vec<f64> = mel_f.windows(2).map(|w| w[1] - w[0]).collect();

    let mut out = vec![0f32; n_mels * n_freqs];
    for i in 0..n_mels {
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = -(mel_f[i] - f) / fdiff[i];
            let upper = (mel_f[i + 2] - f) / fdiff[i + 1];
            // librosa stores the triangle in an f32 array first, then scales it in place
            // (the product is computed in f64 and rounded to f32 again).
            let w = lower.min(upper).max(0.0) as f32;
            out[i * n_freqs + k] = (f64::from(w) * enorm) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_basic_properties() {
        let f = slaney_mel_filters(80, 400, 16000);
        assert_eq!(f.len(), 80 * 201);
        assert!(f.iter().all(|v| *v >= 0.0 && v.is_finite()));
        // Every filter has some weight.
        for m in 0..80 {
            assert!(
                f[m * 201..(m + 1) * 201].iter().any(|v| *v > 0.0),
                "mel {m} empty"
            );
        }
        let f128 = slaney_mel_filters(128, 400, 16000);
        assert_eq!(f128.len(), 128 * 201);
    }

    #[test]
    fn mel_scale_roundtrip() {
        for hz in [0.0, 100.0, 999.0, 1000.0, 4000.0, 8000.0] {
            let back = mel_to_hz(hz_to_mel(hz));
            assert!((back - hz).abs() < 1e-9, "{hz} -> {back}");
        }
    }
}
