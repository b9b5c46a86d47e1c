//! The recorder is sample-exact: what `tingji record` writes is compared, half a second at a
//! time, with what PulseAudio's own recorder (`parecord`) recorded from the same devices at the
//! same time. After one constant offset per channel, every voiced window must match
//! (correlation ≥ 0.98) and sit at that offset ± 1 ms, plus whatever the recorder's own drift
//! correction (a ≤ 500 ppm resampling trim of a source against the reference source, logged in
//! the session file) moved; audio dropped or
//! inserted anywhere is a step between two windows and fails. Needs the PulseAudio server of
//! `scripts/pulse.sh` (`scripts/test`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::*;

/// One channel (1-based; 0: the mono mix) of any audio file at 16 kHz, band-limited to 4 kHz
/// with the same linear-phase filter for every file: Tingji's resampler and sox's differ near
/// 8 kHz (a window with strong sibilants matched at 0.978 when limited to 6 kHz), and that is
/// not what these tests measure.
fn pcm16k(file: &Path, channel: usize) -> Vec<f32> {
    let mut cmd = Command::new("sox");
    cmd.arg(file).args(["-t", "raw", "-e", "floating-point", "-b", "32", "-r", "16000", "-c", "1", "-"]);
    if channel > 0 {
        cmd.args(["remix", &channel.to_string()]);
    }
    let out = cmd.args(["sinc", "-4000"]).output().expect("sox");
    assert!(out.status.success(), "sox {}", String::from_utf8_lossy(&out.stderr));
    out.stdout.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

fn ncc(a: &[f32], b: &[f32]) -> f64 {
    let (mut xy, mut xx, mut yy) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (*x as f64, *y as f64);
        xy += x * y;
        xx += x * x;
        yy += y * y;
    }
    if xx == 0.0 || yy == 0.0 { 0.0 } else { xy / (xx * yy).sqrt() }
}

/// Half a second at 16 kHz.
const W: usize = 8000;

/// Where the reference's first voiced windows sit in the recording: coarse on 16× decimated
/// signals within ± 6 s, then exact.
fn global_offset(rec: &[f32], reference: &[f32]) -> i64 {
    let dec = |v: &[f32]| v.chunks(16).map(|c| c.iter().sum::<f32>() / c.len() as f32).collect::<Vec<f32>>();
    let (r, s) = (dec(rec), dec(reference));
    // 20 s of the reference from its first voiced window.
    let first = reference.chunks(W).position(|w| rms(w) >= 0.01).expect("the reference has speech") * W / 16;
    let probe = &s[first..(first + 1250).min(s.len())];
    let coarse = best_lag(&r, probe, first as i64, -6000..=6000).map_or(0, |b| b.1) * 16;
    let f0 = first * 16;
    let probe = &reference[f0..(f0 + 16 * 1250).min(reference.len())];
    best_lag(rec, probe, f0 as i64, coarse - 40..=coarse + 40).map_or(coarse, |b| b.1)
}

/// The lag `d` in `lags` at which `probe` best matches `rec[base + d ..]`, and the correlation
/// there; `None` when no lag fits inside `rec`.
fn best_lag(rec: &[f32], probe: &[f32], base: i64, lags: std::ops::RangeInclusive<i64>) -> Option<(f64, i64)> {
    let mut best: Option<(f64, i64)> = None;
    for d in lags {
        let at = base + d;
        if at < 0 || at as usize + probe.len() > rec.len() {
            continue;
        }
        let c = ncc(&rec[at as usize..at as usize + probe.len()], probe);
        if best.is_none_or(|b| c > b.0) {
            best = Some((c, d));
        }
    }
    best
}

fn rms(w: &[f32]) -> f32 {
    (w.iter().map(|x| x * x).sum::<f32>() / w.len().max(1) as f32).sqrt()
}

/// One voiced half second of the reference: where it is (s), its shift from the channel's
/// constant offset (samples) and how well it matches there.
#[derive(Debug, Clone, Copy)]
struct Window {
    at_s: f64,
    shift: i64,
    corr: f64,
}

struct Comparison {
    offset: i64,
    windows: Vec<Window>,
}

/// A recorder that applies no drift correction moves nothing; one that does may move the
/// content smoothly by at most 500 ppm (its largest trim) — never by a step.
const MAX_RATE: f64 = 500e-6;

impl Comparison {
    fn worst_shift(&self) -> i64 {
        self.windows.iter().map(|w| w.shift.abs()).max().unwrap_or(i64::MAX)
    }
    fn worst_corr(&self) -> f64 {
        self.windows.iter().map(|w| w.corr).fold(f64::INFINITY, f64::min)
    }
    /// Largest change of shift between two voiced windows beyond what the largest ratio trim
    /// can do in the time between them (samples): audio dropped or inserted.
    fn worst_step(&self) -> f64 {
        self.windows
            .windows(2)
            .map(|p| (p[1].shift - p[0].shift).abs() as f64 - MAX_RATE * (p[1].at_s - p[0].at_s) * 16_000.0)
            .fold(0.0, f64::max)
    }
    /// Slope of the shifts (ppm): the drift correction the recorder applied, seen from outside.
    fn drift_ppm(&self) -> f64 {
        let n = self.windows.len() as f64;
        let (mx, my) = self.windows.iter().fold((0.0, 0.0), |(a, b), w| (a + w.at_s, b + w.shift as f64));
        let (mx, my) = (mx / n, my / n);
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for w in &self.windows {
            sxy += (w.at_s - mx) * (w.shift as f64 - my);
            sxx += (w.at_s - mx).powi(2);
        }
        if sxx > 0.0 { sxy / sxx / 16_000.0 * 1e6 } else { 0.0 }
    }
    fn summary(&self) -> String {
        let bad: Vec<&Window> = self.windows.iter().filter(|w| w.shift.abs() > 16 || w.corr < 0.98).take(6).collect();
        format!(
            "offset {:.2} ms, {} voiced windows, largest shift {:.2} ms, largest step {:.2} ms, drift {:.1} ppm, lowest correlation {:.3}; outside 1 ms or 0.98: {bad:?}",
            self.offset as f64 / 16.0,
            self.windows.len(),
            self.worst_shift() as f64 / 16.0,
            self.worst_step() / 16.0,
            self.drift_ppm(),
            self.worst_corr()
        )
    }
}

/// Compares one recorded channel with the reference recording of the same device. Each window
/// is searched ± 2.5 ms around the previous window's shift, so a smooth drift correction is
/// followed and a step shows.
fn compare(rec: &[f32], reference: &[f32]) -> Comparison {
    let offset = global_offset(rec, reference);
    let mut windows = Vec::new();
    let mut prev = 0i64;
    for (k, w) in reference.chunks_exact(W).enumerate() {
        if rms(w) < 0.01 {
            continue;
        }
        if let Some(best) = best_lag(rec, w, (k * W) as i64 + offset, prev - 40..=prev + 40) {
            if best.0 >= 0.9 {
                prev = best.1;
            }
            windows.push(Window { at_s: k as f64 * 0.5, shift: best.1, corr: best.0 });
        }
    }
    Comparison { offset, windows }
}

/// Ends its processes when dropped (a failing test leaves no player or busy loop behind) with
/// SIGTERM, on which `parecord` finishes its WAV header.
struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = Command::new("kill").arg(c.id().to_string()).status();
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

fn parecord(device: &str, out: &Path) -> Child {
    Command::new("parecord").args(["-d", device, "--file-format=wav"]).arg(out).spawn().expect("parecord")
}

fn speech(out: &Path, secs: u32, side: &str) {
    let st = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/speech-with-pauses"))
        .arg(out)
        .arg(secs.to_string())
        .arg(side)
        .status()
        .expect("scripts/speech-with-pauses");
    assert!(st.success());
}

/// Records `secs` of speech played into `mic_sink` (heard through `mic`) and `system_sink`
/// with `tingji record` and, at the same time, with `parecord`; returns Tingji's WAV and the
/// two references (mic, system).
fn record_both(dir: &Path, mic: &str, mic_sink: &str, system_sink: &str, secs: u32, busy: bool) -> (PathBuf, PathBuf, PathBuf) {
    assert!(std::env::var_os("PULSE_SERVER").is_some(), "needs the PulseAudio server of scripts/pulse.sh (run through scripts/test)");
    let (mic_clip, sys_clip) = (dir.join("mic.wav"), dir.join("system.wav"));
    speech(&mic_clip, secs, "mic");
    speech(&sys_clip, secs, "system");
    let mut procs = Procs(Vec::new());
    if busy {
        // Both cores busy for the whole recording.
        for _ in 0..2 {
            procs.0.push(Command::new("sh").args(["-c", "while :; do :; done"]).spawn().unwrap());
        }
    }
    let wav = dir.join("tingji.wav");
    let system = format!("{system_sink}.monitor");
    let (ref_mic, ref_sys) = (dir.join("ref_mic.wav"), dir.join("ref_system.wav"));
    let rec = tingji()
        .args(["record", "--mic", mic, "--system", &system, "--no-transcribe", "--duration"])
        .arg((secs + 6).to_string())
        .arg("-o")
        .arg(&wav)
        .env("TINGJI_DATA_DIR", dir.join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tingji record");
    procs.0.push(parecord(mic, &ref_mic));
    procs.0.push(parecord(&system, &ref_sys));
    std::thread::sleep(std::time::Duration::from_secs(2));
    procs.0.push(Command::new("paplay").args(["-d", mic_sink]).arg(&mic_clip).spawn().unwrap());
    procs.0.push(Command::new("paplay").args(["-d", system_sink]).arg(&sys_clip).spawn().unwrap());
    let out = rec.wait_with_output().unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "tingji record failed");
    drop(procs);
    (wav, ref_mic, ref_sys)
}

/// Every channel against its reference, and the session's own account of what it changed:
/// every voiced window matches; no step between windows (nothing dropped or inserted); the
/// shift from the constant offset stays within 1 ms plus what the session says its drift
/// correction moved (0 when there was none).
fn assert_exact(wav: &Path, ref_mic: &Path, ref_sys: &Path, what: &str, min_windows: usize) {
    let session: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(wav.with_extension("session.json")).unwrap()).unwrap();
    eprintln!("{what}: timing {}", session["timing"]);
    for (i, (name, reference)) in [("mic", ref_mic), ("system", ref_sys)].into_iter().enumerate() {
        let c = compare(&pcm16k(wav, i + 1), &pcm16k(reference, 0));
        let t = &session["timing"][i];
        let corrected_ms = t["drift_corrected_ms"].as_f64().expect("drift_corrected_ms").abs();
        eprintln!("{what}, {name}: {}; the recorder's drift correction moved {corrected_ms:.2} ms", c.summary());
        assert!(c.windows.len() >= min_windows, "{what}, {name}: too little speech compared: {}", c.summary());
        // A resampled channel drifts by a fraction of a sample inside a window.
        let floor = if corrected_ms > 0.0 { 0.97 } else { 0.98 };
        assert!(c.worst_corr() >= floor, "{what}, {name}: a window does not match: {}", c.summary());
        assert!(c.worst_step() <= 16.0, "{what}, {name}: audio was dropped or inserted: {}", c.summary());
        let allowed = 16 + (corrected_ms * 16.0 * 1.2) as i64;
        assert!(c.worst_shift() <= allowed, "{what}, {name}: audio moved by more than 1 ms + the logged correction: {}", c.summary());
        assert_eq!((t["inserted_samples"].as_u64(), t["removed_samples"].as_u64()), (Some(0), Some(0)), "{what}: {t}");
    }
}

/// A folder for one test's files, kept after the run (the last run's, for a failure's autopsy).
fn workdir(name: &str) -> PathBuf {
    let d = PathBuf::from(std::env::var("TINGJI_CACHE").expect("TINGJI_CACHE (scripts/env.sh)")).join("record_exact").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn two_sources_are_sample_exact_against_parecord() {
    let dir = workdir("two_sources");
    let (wav, m, s) = record_both(&dir, "virtual_mic", "mic_in", "sys_out", 180, false);
    assert_exact(&wav, &m, &s, "two sources", 100);
}

/// Both cores busy, and the system side a null sink without a keep-alive stream, which renders
/// (and so delivers) in bursts of about 2 s.
#[test]
fn under_load_and_from_a_bursty_sink_nothing_is_dropped_or_inserted() {
    let dir = workdir("loaded_bursty");
    let (wav, m, s) = record_both(&dir, "virtual_mic", "mic_in", "burst_out", 180, true);
    assert_exact(&wav, &m, &s, "loaded, bursty", 100);
}

/// The 30-minute two-source recording `scripts/soak-record` makes beside the other tests (run
/// by its `check`, with the files in `TINGJI_SOAK_DIR`): the same checks over 30 minutes, and
/// speech compared in every minute.
#[test]
#[ignore = "run by scripts/soak-record check on its 30-minute recording"]
fn soak_channels_stay_in_place_every_minute() {
    let dir = PathBuf::from(std::env::var("TINGJI_SOAK_DIR").expect("TINGJI_SOAK_DIR"));
    let wav = dir.join("soak.wav");
    let recorded_min = hound::WavReader::open(&wav).unwrap().duration() as usize / 16_000 / 60;
    let session: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("soak.session.json")).unwrap()).unwrap();
    eprintln!("soak: timing {}", session["timing"]);
    for (i, name) in [(1, "mic"), (2, "system")] {
        let t = &session["timing"][i - 1];
        assert_eq!((t["inserted_samples"].as_u64(), t["removed_samples"].as_u64()), (Some(0), Some(0)), "soak: {t}");
        let corrected_ms = t["drift_corrected_ms"].as_f64().expect("drift_corrected_ms").abs();
        let c = compare(&pcm16k(&wav, i), &pcm16k(&dir.join(format!("ref_{name}.wav")), 0));
        eprintln!("soak, {name}: {}; the recorder's drift correction moved {corrected_ms:.2} ms", c.summary());
        for m in 0..recorded_min.saturating_sub(1) {
            let w: Vec<&Window> = c.windows.iter().filter(|w| w.at_s as usize / 60 == m).collect();
            let worst = w.iter().map(|w| w.shift.abs()).max().unwrap_or(0);
            eprintln!("soak, {name}, minute {m}: {} windows, largest shift {:.2} ms", w.len(), worst as f64 / 16.0);
            assert!(!w.is_empty(), "soak, {name}: no speech compared in minute {m}");
        }
        // The two devices share one clock (scripts/soak-record): nothing is resampled, and each
        // channel is held to PulseAudio's own recording exactly, for all 30 minutes.
        assert_eq!(corrected_ms, 0.0, "soak, {name}: the recorder corrected a drift the devices do not have: {t}");
        assert!(c.windows.len() >= recorded_min * 20, "soak, {name}: too little speech compared: {}", c.summary());
        assert!(c.worst_corr() >= 0.98, "soak, {name}: a window does not match: {}", c.summary());
        assert!(c.worst_step() <= 16.0 && c.worst_shift() <= 16, "soak, {name}: audio moved: {}", c.summary());
    }
}
