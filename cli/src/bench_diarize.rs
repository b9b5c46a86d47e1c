//! `tingji bench --diarization`: Tingji's speaker diarization against sherpa-onnx's offline
//! diarization on the same two networks (segmentation-3.0 + CAM++), same clips and threads:
//! DER per clip (no collar, overlap scored, count estimated by each), and the real-time factor
//! and peak memory on ten minutes of meeting audio. Not a test: it prints figures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::bench::{peak_rss_mb, tempfile_dir, write_wav, write_wav_looped};

/// Longer than this, the peer is not run (see the speed part).
const PEER_MAX_MINUTES: f32 = 60.0;
use tingji_diarize::der::{Labelled, der, labelled, parse_rttm};
use tingji_diarize::{DiarizeOptions, Diarizer};
use tingji_media::{AudioStream, DecodeOptions, TARGET_RATE};
use tingji_models::ModelStore;

/// The peer: sherpa-onnx's Python binding, printing `start end speaker` lines and its time.
const SHERPA: &str = r#"
import sys, time, wave, numpy as np, sherpa_onnx
seg, emb, wav, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cfg = sherpa_onnx.OfflineSpeakerDiarizationConfig(
    segmentation=sherpa_onnx.OfflineSpeakerSegmentationModelConfig(
        pyannote=sherpa_onnx.OfflineSpeakerSegmentationPyannoteModelConfig(model=seg), num_threads=threads),
    embedding=sherpa_onnx.SpeakerEmbeddingExtractorConfig(model=emb, num_threads=threads),
    clustering=sherpa_onnx.FastClusteringConfig(num_clusters=-1, threshold=0.5))
sd = sherpa_onnx.OfflineSpeakerDiarization(cfg)
with wave.open(wav) as w:
    x = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768
t = time.time()
r = sd.process(x).sort_by_start_time()
print("time", time.time() - t)
for s in r:
    print(s.start, s.end, s.speaker)
"#;

struct Clip {
    name: &'static str,
    audio: &'static str,
    rttm: &'static str,
    uri: Option<&'static str>,
}

const CLIPS: &[Clip] = &[
    Clip { name: "AMI seriously (60 s, 4 spk)", audio: "meeting/pyannote_ami_seriously/mixture.wav", rttm: "meeting/pyannote_ami_seriously/mixture.rttm", uri: None },
    Clip { name: "VoxConverse aepyx (169 s, 4)", audio: "meeting/voxconverse_aepyx/aepyx_8k.wav", rttm: "meeting/voxconverse_aepyx/aepyx.rttm", uri: None },
    Clip { name: "AMI debug tst00 (30 s, 4)", audio: "meeting/pyannote_ami_debug/tst00.wav", rttm: "meeting/pyannote_ami_debug/debug.test.rttm", uri: Some("tst00") },
    Clip { name: "AMI debug tst01 (30 s, 4)", audio: "meeting/pyannote_ami_debug/tst01.wav", rttm: "meeting/pyannote_ami_debug/debug.test.rttm", uri: Some("tst01") },
    Clip { name: "AMI debug dev00 (30 s, 2)", audio: "meeting/pyannote_ami_debug/dev00.wav", rttm: "meeting/pyannote_ami_debug/debug.development.rttm", uri: Some("dev00") },
    Clip { name: "AMI debug dev01 (30 s, 2)", audio: "meeting/pyannote_ami_debug/dev01.wav", rttm: "meeting/pyannote_ami_debug/debug.development.rttm", uri: Some("dev01") },
];

fn decode(path: &Path) -> Result<Vec<f32>> {
    let mut s = AudioStream::open(path, &DecodeOptions::default())?;
    let mut out = Vec::new();
    while let Some(c) = s.next_chunk()? {
        out.extend_from_slice(&c.channels[0]);
    }
    Ok(out)
}

/// Runs the peer on a 16 kHz WAV; `None` (with the reason printed once) when it cannot run.
fn sherpa(python: &str, store: &ModelStore, wav: &Path, threads: u32) -> Option<(Vec<Labelled>, f64)> {
    let m = tingji_workflow::speakers::model_paths(store);
    let out = Command::new(python)
        .args(["-c", SHERPA])
        .arg(&m.segmentation)
        .arg(&m.embedding)
        .arg(wav)
        .arg(threads.to_string())
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("sherpa-onnx did not run: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or(""));
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut secs = 0.0;
    let mut turns = Vec::new();
    for l in text.lines() {
        let p: Vec<&str> = l.split_whitespace().collect();
        match p.as_slice() {
            ["time", t] => secs = t.parse().unwrap_or(0.0),
            [s, e, who] => turns.push(Labelled {
                start_ms: (s.parse::<f64>().unwrap_or(0.0) * 1000.0) as u64,
                end_ms: (e.parse::<f64>().unwrap_or(0.0) * 1000.0) as u64,
                speaker: format!("p{who}"),
            }),
            _ => {}
        }
    }
    Some((turns, secs))
}

fn ours(d: &mut Diarizer, wav: &Path, threads: u32) -> Result<(Vec<Labelled>, usize, f64)> {
    let opts = DiarizeOptions { threads: threads as usize, ..Default::default() };
    let t = Instant::now();
    let r = d.diarize_file(wav, &opts, &mut |_| {}, &Arc::new(AtomicBool::new(false)))?;
    Ok((labelled(&r.turns), r.speakers.len(), t.elapsed().as_secs_f64()))
}

pub fn run(testdata: &Path, python: &str, threads: u32, minutes: f32) -> Result<()> {
    let store = ModelStore::open_default()?;
    let mut d = Diarizer::load(&tingji_workflow::speakers::model_paths(&store), threads as usize).context("loading the diarization models")?;
    let dir = tempfile_dir()?;
    out!("Speaker diarization, {threads} threads, DER % (miss/false alarm/confusion), speakers found");
    out!("{:<32} {:>28} {:>28}", "clip", "Tingji", "sherpa-onnx 0.5 threshold");
    let mut all = Vec::new();
    for c in CLIPS {
        let audio = decode(&testdata.join(c.audio))?;
        all.extend_from_slice(&audio);
        let wav: PathBuf = dir.join("clip.wav");
        write_wav(&wav, &audio)?;
        let reference = parse_rttm(&std::fs::read_to_string(testdata.join(c.rttm))?, c.uri)?;
        let (h, n, _) = ours(&mut d, &wav, threads)?;
        let a = der(&reference, &h);
        let peer = sherpa(python, &store, &wav, threads).map(|(p, _)| {
            let b = der(&reference, &p);
            let k = p.iter().map(|t| t.speaker.as_str()).collect::<std::collections::BTreeSet<_>>().len();
            format!("{:5.1} ({:.1}/{:.1}/{:.1}) {k}", b.der * 100.0, b.missed * 100.0, b.false_alarm * 100.0, b.confusion * 100.0)
        });
        out!(
            "{:<32} {:5.1} ({:.1}/{:.1}/{:.1}) {n:>2}   {}",
            c.name,
            a.der * 100.0,
            a.missed * 100.0,
            a.false_alarm * 100.0,
            a.confusion * 100.0,
            peer.unwrap_or_else(|| "(not run)".into())
        );
    }
    // Speed: the clips end to end, repeated to `minutes`, streamed from a file as a user's
    // recording would be (so the peak memory is the diarizer's, not the benchmark's).
    let want = (minutes * 60.0 * TARGET_RATE as f32) as usize;
    let wav = dir.join("long.wav");
    write_wav_looped(&wav, &all, want)?;
    let before = peak_rss_mb();
    drop(all);
    let secs = want as f64 / TARGET_RATE as f64;
    let (_, n, el) = ours(&mut d, &wav, threads)?;
    out!(
        "\n{:.1} min of meeting audio: Tingji {el:.1} s (RTF {:.3}, {n} speakers, peak RSS {:.0} MB; {before:.0} MB before it)",
        secs / 60.0,
        el / secs,
        peak_rss_mb()
    );
    if minutes > PEER_MAX_MINUTES {
        // sherpa-onnx takes the whole recording as one array and its clustering is quadratic.
        out!("sherpa-onnx: not run over {PEER_MAX_MINUTES} min (it holds the whole recording in memory)");
    } else {
        match sherpa(python, &store, &wav, threads) {
            Some((_, p)) => out!("sherpa-onnx: {p:.1} s (RTF {:.3}); Tingji / sherpa-onnx time: {:.2}", p / secs, el / p.max(1e-9)),
            None => out!("sherpa-onnx: not run"),
        }
    }
    let _ = std::fs::remove_file(&wav);
    Ok(())
}
