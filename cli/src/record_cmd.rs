//! `tingji devices` and `tingji record`: microphone + system audio on two channels, live
//! captions, crash recovery, then the full-quality pass into the library.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use tingji_asr::live::{Caption, LiveConfig};
use tingji_asr::{Engine, Strategy, TranscribeOptions, VadConfig};
use tingji_capture::{AudioTap, CaptureError, DeviceSpec, Recorder, RecorderConfig, RecorderEvent, Session};
use tingji_workflow::recording;
use tingji_models::ModelStore;

#[derive(Parser)]
pub struct RecordArgs {
    /// Microphone: a device id from `tingji devices`, "default" or "none".
    #[arg(long, default_value = "default")]
    mic: DeviceSpec,
    /// System audio (the other side of a call): a monitor/loopback id, "default" or "none".
    #[arg(long, default_value = "default")]
    system: DeviceSpec,
    /// The WAV to write (default: a new file in the data folder's recordings/).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Live captions while recording.
    #[arg(long)]
    live: bool,
    /// Stop after this many seconds of recorded audio (pauses excluded).
    #[arg(long)]
    duration: Option<f64>,
    /// Model for live captions (default: tiny.en for English, else the smallest multilingual).
    #[arg(long)]
    live_model: Option<String>,
    /// Model for the full-quality pass after the recording (default: the best installed).
    #[arg(long)]
    model: Option<String>,
    /// Language code, or "auto".
    #[arg(long, default_value = "auto")]
    language: String,
    /// Keep the recording file only: no full-quality pass, nothing added to the library.
    #[arg(long)]
    no_transcribe: bool,
    /// Meeting title (default: "Recording" and the start time).
    #[arg(long)]
    title: Option<String>,
    /// Don't record: repair recordings a crash left unfinished and add every recording not yet
    /// in the library (transcribed).
    #[arg(long)]
    recover: bool,
}

pub fn devices(json: bool) -> Result<()> {
    let list = tingji_capture::device::list()?;
    if json {
        out!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if list.is_empty() {
        out!("no input devices");
    }
    for d in list {
        out!(
            "{:<6} {}{:<40} {}",
            d.role.as_str(),
            if d.is_default { "* " } else { "  " },
            d.id,
            d.name
        );
    }
    Ok(())
}





pub fn record(a: RecordArgs) -> Result<()> {
    let store = ModelStore::open_default()?;
    let dir = tingji_workflow::paths::recordings_dir(&store);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // Whatever a crash left behind comes first: repaired, never deleted.
    let mut scan = vec![dir.clone()];
    if let Some(p) = a.output.as_ref().and_then(|o| o.parent()).filter(|p| !p.as_os_str().is_empty()) {
        scan.push(p.to_path_buf());
    }
    for d in &scan {
        for r in tingji_capture::session::recover(d) {
            match r {
                Ok(r) => eprintln!(
                    "recovered an unfinished recording: {} ({:.1} s of audio)",
                    r.wav.display(),
                    r.session.duration_ms as f64 / 1000.0
                ),
                Err(e) => eprintln!("tingji: warning[{}]: {e}", e.code()),
            }
        }
    }
    if a.recover {
        let pending: Vec<(PathBuf, Session)> = scan.iter().flat_map(|d| tingji_capture::session::pending(d)).collect();
        if pending.is_empty() {
            eprintln!("no recordings waiting to be added");
        }
        for (sp, s) in pending {
            let wav = sp.with_file_name(&s.wav);
            let kept = recording::kept_captions(&wav);
            finish_recording(&a, &store, &wav, &sp, (kept, "live"), wav.starts_with(&dir))?;
        }
        return Ok(());
    }
    let language = a.language.clone();
    let output = match &a.output {
        Some(o) => o.clone(),
        None => dir.join(recording::new_file_name()),
    };
    let mut cfg = RecorderConfig::new(a.mic.clone(), a.system.clone(), output.clone());
    cfg.max_duration = a.duration.map(Duration::from_secs_f64);

    // Live captions: a whisper worker of its own, fed by the recorder's tap.
    let live = if a.live {
        let name = match &a.live_model {
            Some(m) => m.clone(),
            None => tingji_workflow::live_model_for(&store, &language)?,
        };
        let engine = Arc::new(Engine::load(&store.resolve(&name)?, &name).with_context(|| format!("loading {name}"))?);
        eprintln!("live captions with {name}");
        let lc = LiveConfig {
            language: (language != "auto").then(|| language.clone()),
            threads: tingji_asr::default_threads(),
            ..LiveConfig::default()
        };
        let tty = std::io::stdout().is_terminal();
        let live = recording::LiveCaptions::start(engine, lc, &output, move |c: &Caption, who| {
            let kind = if c.is_final { "final" } else { "partial" };
            let line = format!(
                "caption[{kind}] {}-{} {}: {} (lag {:.1} s)",
                crate::fmt_ms(c.start_ms),
                crate::fmt_ms(c.end_ms),
                who.unwrap_or("?"),
                c.text.trim(),
                c.lag_ms as f64 / 1000.0
            );
            let mut out = std::io::stdout().lock();
            if tty && !c.is_final {
                let _ = write!(out, "\r\x1b[2K{line}");
            } else {
                let _ = writeln!(out, "{}{line}", if tty { "\r\x1b[2K" } else { "" });
            }
            let _ = out.flush();
        });
        Some((live, name))
    } else {
        None
    };
    let tap = || -> Option<Box<dyn AudioTap>> { live.as_ref().map(|(c, _)| c.tap()) };
    let (ev_tx, ev_rx) = mpsc::channel::<RecorderEvent>();
    let on_event = move |e| {
        let _ = ev_tx.send(e);
    };
    let recorder = match Recorder::start(cfg.clone(), tap(), on_event.clone()) {
        // Nothing plays sound here (no monitor/loopback device): the microphone alone.
        Err(CaptureError::NoDefault(kind)) if a.system == DeviceSpec::Default && a.mic != DeviceSpec::None && kind.starts_with("system") => {
            eprintln!("tingji: warning: there is no system-audio device to record; recording the microphone only");
            cfg.system = DeviceSpec::None;
            Recorder::start(cfg, tap(), on_event)?
        }
        other => other?,
    };
    if let Some((c, _)) = &live {
        c.set_channels(recorder.channels());
    }
    let chans: Vec<String> = recorder
        .channels()
        .iter()
        .map(|c| format!("{} = {} ({})", if recorder.channels().len() == 1 { "mono" } else if c.index == 0 { "left" } else { "right" }, c.device, c.role.speaker()))
        .collect();
    eprintln!("recording to {}: {}", output.display(), chans.join(", "));
    eprintln!("keys: p + Enter = pause/resume, k/q/t + Enter = mark key point/question/to-do, s + Enter or Ctrl-C = stop");
    // Machine-readable start line (tests, scripts): printed only once audio flows.
    out!("recording {}", output.display());
    let _ = std::io::stdout().flush();

    let (key_tx, key_rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if key_tx.send(line.trim().to_string()).is_err() {
                break;
            }
        }
    });
    let cancel = crate::cancel_flag();
    let tty = std::io::stderr().is_terminal();
    let quiet = std::env::var_os("TINGJI_QUIET").is_some();
    let mut last_status = Instant::now();
    loop {
        if cancel.load(Ordering::SeqCst) || recorder.is_finished() {
            break;
        }
        while let Ok(k) = key_rx.try_recv() {
            match k.as_str() {
                "p" | "pause" | "resume" => {
                    if recorder.is_paused() {
                        recorder.resume()
                    } else {
                        recorder.pause()
                    }
                }
                "k" | "key" => recorder.mark("key"),
                "q" | "question" => recorder.mark("question"),
                "t" | "todo" => recorder.mark("todo"),
                "s" | "stop" => cancel.store(true, Ordering::SeqCst),
                _ => {}
            }
        }
        while let Ok(e) = ev_rx.try_recv() {
            match e {
                RecorderEvent::Paused { at_ms } => eprintln!("paused at {}", crate::fmt_ms(at_ms)),
                RecorderEvent::Resumed { at_ms } => eprintln!("resumed at {}", crate::fmt_ms(at_ms)),
                RecorderEvent::Marked(m) => eprintln!("mark {} at {}", m.kind, crate::fmt_ms(m.at_ms)),
                RecorderEvent::SourceLost { role, device, detail, replacement } => match replacement {
                    Some(r) => eprintln!("tingji: warning: the {} device {device} stopped ({detail}); continuing on {r}", role.as_str()),
                    None => eprintln!("tingji: warning: the {} device {device} stopped ({detail}); its channel is silent from here", role.as_str()),
                },
                RecorderEvent::Warning(w) => eprintln!("tingji: warning: {w}"),
            }
        }
        if last_status.elapsed() >= Duration::from_secs(if tty { 1 } else { 5 }) && !quiet {
            last_status = Instant::now();
            let levels: Vec<String> = recorder.levels().iter().map(|(r, p)| format!("{} {}", r.as_str(), meter(*p))).collect();
            let state = if recorder.is_paused() { "paused" } else { "● rec" };
            if tty {
                eprint!("\r\x1b[2K{state} {}  {}", crate::fmt_ms(recorder.elapsed_ms()), levels.join("  "));
            } else {
                eprintln!("{state} {}  {}", crate::fmt_ms(recorder.elapsed_ms()), levels.join("  "));
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if tty {
        eprintln!();
    }
    let rec = recorder.stop()?;
    let mut live_model = String::new();
    let finals = match live {
        Some((captions, name)) => {
            live_model = name;
            let v = captions.finish(&rec.path);
            if let Some(p) = p95(v.iter().map(|c| c.lag_ms)) {
                out!("live captions: {} final, lag p95 {:.1} s", v.len(), p as f64 / 1000.0);
            }
            v
        }
        None => Vec::new(),
    };
    out!(
        "recorded {} ({:.1} s) → {}",
        stop_label(&rec.stop),
        rec.session.duration_ms as f64 / 1000.0,
        rec.path.display()
    );
    for t in &rec.session.timing {
        let role = rec.session.channels.get(t.index as usize).map_or("?", |c| c.role.as_str());
        if t.inserted_samples + t.removed_samples > 0 {
            eprintln!(
                "tingji: warning: {role}: {} ms of silence inserted and {} ms removed for the device's gaps ({} overruns; every change is listed in {})",
                t.inserted_samples * 1000 / rec.session.rate as u64,
                t.removed_samples * 1000 / rec.session.rate as u64,
                t.overruns,
                rec.session_path.display()
            );
        }
    }
    if rec.stop.is_problem() {
        eprintln!("tingji: warning: the recording stopped early: {}; everything recorded until then is saved", rec.session.warnings.last().cloned().unwrap_or_default());
    }
    if a.no_transcribe {
        return Ok(());
    }
    let owned = a.output.is_none();
    finish_recording(&a, &store, &rec.path, &rec.session_path, (finals, &live_model), owned)
}

fn stop_label(stop: &tingji_capture::StopReason) -> &'static str {
    use tingji_capture::StopReason as R;
    match stop {
        R::Requested => "until stopped",
        R::Duration => "for the requested duration",
        R::DevicesLost(_) => "until the devices disappeared",
        R::DiskFull => "until the disk was full",
        R::WriteFailed(_) => "until writing failed",
    }
}

fn meter(peak: f32) -> String {
    let db = 20.0 * peak.max(1e-6).log10();
    let bars = (((db + 60.0) / 60.0).clamp(0.0, 1.0) * 10.0).round() as usize;
    format!("{}{} {:>4.0} dB", "▮".repeat(bars), "▯".repeat(10 - bars), db.max(-99.0))
}

fn p95(lags: impl Iterator<Item = u64>) -> Option<u64> {
    let mut v: Vec<u64> = lags.collect();
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[((v.len() as f64 * 0.95).ceil() as usize).clamp(1, v.len()) - 1])
}

/// Full-quality pass over the recording, then the library: the meeting gets the full
/// transcript as its current version and the live captions as a second one, plus the marks.
/// Claimed first: a recording the app is adding (or added meanwhile) is left to it.
fn finish_recording(
    a: &RecordArgs,
    store: &ModelStore,
    wav: &Path,
    session_path: &Path,
    captions: (Vec<Caption>, &str),
    owned: bool,
) -> Result<()> {
    let Some((_claim, session)) = tingji_capture::session::claim(session_path)? else {
        eprintln!("{}: another Tingji is adding this recording to the library, or has added it; left to it", wav.display());
        return Ok(());
    };
    let model_name = match &a.model {
        Some(m) => m.clone(),
        None => tingji_workflow::default_whisper_model(store)?,
    };
    eprintln!("full-quality pass with {model_name} …");
    let engine = Engine::load(&store.resolve(&model_name)?, &model_name)?;
    let opts = TranscribeOptions {
        language: (a.language != "auto").then(|| a.language.clone()),
        strategy: Strategy::Beam { beam_size: 5 },
        threads: tingji_asr::default_threads(),
        vad: VadConfig::default(),
        separate_channels: session.channels.len() > 1,
        ..TranscribeOptions::default()
    };
    let cancel = crate::cancel_flag();
    let mut full = crate::transcribe_one(&engine, wav, &opts, &cancel)?;
    let threads = tingji_asr::default_threads() as usize;
    let who = tingji_workflow::speakers::for_recording(store, wav, &session, &mut full, threads, &mut crate::speakers_cmd::progress(), &cancel)?;
    if who.echo.removed > 0 {
        eprintln!("echo: {} words the microphone picked up from the speakers removed", who.echo.removed);
    }
    if let Some((ch, n)) = who.diarized {
        eprintln!("speakers: {n} voices on channel {ch}");
    }
    let empty = full.segments.is_empty();
    let mut lib = crate::open_library()?;
    let named = full.clone();
    let r = recording::FinishedRecording { wav, session_path, session, full, captions, title: a.title.clone(), owned };
    let (id, title) = recording::import(&mut lib, r)?;
    if let Some(dz) = &who.voices {
        crate::speakers_cmd::remember_voices(&mut lib, id, &named, dz, wav);
    }
    out!("{id}\t{title}");
    if empty {
        bail!("the recording has no speech the model recognised (meeting {id} keeps the audio)");
    }
    Ok(())
}
