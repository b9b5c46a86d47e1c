//! The recording the app is making: the core recorder (its own threads own the audio streams),
//! live captions on a whisper worker of their own, and a ticker that sends levels to the UI.
//! Everything here runs on blocking threads, never on the async runtime.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tauri::ipc::Channel;
use tingji_asr::Engine;
use tingji_asr::live::{Caption, LiveConfig};
use tingji_capture::{AudioTap, DeviceSpec, Recorder, RecorderConfig, RecorderEvent, Role};
use tingji_models::ModelStore;
use tingji_workflow::recording;

use crate::api::{AppError, MarkKindDto, RecordEvent, RecordRequest, Settings};
use crate::error::AppResult;

struct Active {
    recorder: Recorder,
    captions: Option<(recording::LiveCaptions, String)>,
    ticker_stop: Arc<AtomicBool>,
    events: Channel<RecordEvent>,
    owned: bool,
}

/// What `stop` hands to the transcription job.
pub struct Stopped {
    pub rec: tingji_capture::Recording,
    pub captions: Vec<Caption>,
    pub live_model: String,
    pub owned: bool,
}

#[derive(Default)]
pub struct Recordings {
    active: Arc<Mutex<Option<Active>>>,
}

fn spec(s: &Option<String>) -> AppResult<DeviceSpec> {
    match s.as_deref() {
        None | Some("none") | Some("") => Ok(DeviceSpec::None),
        Some(v) => v.parse::<DeviceSpec>().map_err(|e| AppError::new("bad_device", format!("{v}: {e}"))),
    }
}

impl Recordings {
    pub fn is_active(&self) -> bool {
        self.active.lock().expect("recording").is_some()
    }

    /// Starts recording into a new file in `dir` (blocks until every source delivers audio).
    pub fn start(&self, req: &RecordRequest, settings: &Settings, dir: PathBuf, events: Channel<RecordEvent>) -> AppResult<PathBuf> {
        if self.is_active() {
            return Err(AppError::new("already_recording", "a recording is already running"));
        }
        std::fs::create_dir_all(&dir)?;
        let output = dir.join(recording::new_file_name());
        let cfg = RecorderConfig::new(spec(&req.mic)?, spec(&req.system)?, output.clone());
        let captions = if req.live_captions {
            let store = ModelStore::open_default()?;
            let name = match &settings.live_model {
                Some(m) => m.clone(),
                None => tingji_workflow::live_model_for(&store, &settings.language)?,
            };
            let engine = Arc::new(Engine::load(&store.resolve(&name)?, &name)?);
            let language = Some(settings.language.clone()).filter(|l| l != "auto" && !l.is_empty());
            let lc = LiveConfig { language, threads: tingji_asr::default_threads(), ..LiveConfig::default() };
            let ev = events.clone();
            let live = recording::LiveCaptions::start(engine, lc, &output, move |c: &Caption, speaker| {
                let speaker = speaker.unwrap_or_default().to_string();
                let _ = ev.send(RecordEvent::Caption { speaker, start_ms: c.start_ms, end_ms: c.end_ms, text: c.text.trim().to_string(), is_final: c.is_final });
            });
            Some((live, name))
        } else {
            None
        };
        let tap: Option<Box<dyn AudioTap>> = captions.as_ref().map(|(c, _)| c.tap());
        let ev = events.clone();
        let on_event = move |e: RecorderEvent| {
            let out = match e {
                RecorderEvent::Marked(m) => RecordEvent::Mark { mark: mark_kind(&m.kind), at_ms: m.at_ms },
                RecorderEvent::SourceLost { role, device, detail, replacement } => RecordEvent::Warning {
                    message: match replacement {
                        Some(r) => format!("{} device {device} stopped ({detail}); continuing on {r}", role.as_str()),
                        None => format!("{} device {device} stopped ({detail}); its channel is silent from here", role.as_str()),
                    },
                },
                RecorderEvent::Warning(w) => RecordEvent::Warning { message: w },
                RecorderEvent::Paused { .. } | RecorderEvent::Resumed { .. } => return,
            };
            let _ = ev.send(out);
        };
        let recorder = Recorder::start(cfg, tap, on_event)?;
        if let Some((c, _)) = &captions {
            c.set_channels(recorder.channels());
        }
        let _ = events.send(RecordEvent::Started { path: output.display().to_string() });
        let ticker_stop = Arc::new(AtomicBool::new(false));
        *self.active.lock().expect("recording") = Some(Active {
            recorder,
            captions,
            ticker_stop: ticker_stop.clone(),
            events: events.clone(),
            owned: true,
        });
        let active = self.active.clone();
        std::thread::Builder::new()
            .name("record-levels".into())
            .spawn(move || {
                while !ticker_stop.load(Ordering::SeqCst) {
                    let levels = {
                        let g = active.lock().expect("recording");
                        let Some(a) = g.as_ref() else { break };
                        let r = &a.recorder;
                        let peak = |role: Role| r.levels().iter().find(|(x, _)| *x == role).map(|(_, p)| *p as f64);
                        RecordEvent::Levels { mic: peak(Role::Mic), system: peak(Role::System), elapsed_ms: r.elapsed_ms(), paused: r.is_paused() }
                    };
                    if events.send(levels).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
            .map_err(AppError::from)?;
        Ok(output)
    }

    fn with<T>(&self, f: impl FnOnce(&Recorder) -> T) -> AppResult<T> {
        let g = self.active.lock().expect("recording");
        g.as_ref().map(|a| f(&a.recorder)).ok_or_else(|| AppError::new("not_recording", "no recording is running"))
    }

    pub fn pause(&self) -> AppResult<()> {
        self.with(Recorder::pause)
    }

    pub fn resume(&self) -> AppResult<()> {
        self.with(Recorder::resume)
    }

    pub fn mark(&self, kind: MarkKindDto) -> AppResult<()> {
        self.with(|r| r.mark(mark_name(kind)))
    }

    /// Stops the recording; the file is finished and the live captions collected.
    pub fn stop(&self) -> AppResult<Stopped> {
        let a = self.active.lock().expect("recording").take().ok_or_else(|| AppError::new("not_recording", "no recording is running"))?;
        a.ticker_stop.store(true, Ordering::SeqCst);
        let rec = a.recorder.stop()?;
        let (captions, live_model) = match a.captions {
            Some((c, name)) => (c.finish(&rec.path), name),
            None => (Vec::new(), String::new()),
        };
        let _ = a.events.send(RecordEvent::Stopped { path: rec.path.display().to_string(), duration_ms: rec.session.duration_ms });
        Ok(Stopped { rec, captions, live_model, owned: a.owned })
    }
}

fn mark_name(k: MarkKindDto) -> &'static str {
    match k {
        MarkKindDto::Key => "key",
        MarkKindDto::Question => "question",
        MarkKindDto::Todo => "todo",
    }
}

fn mark_kind(s: &str) -> MarkKindDto {
    match s {
        "question" => MarkKindDto::Question,
        "todo" => MarkKindDto::Todo,
        _ => MarkKindDto::Key,
    }
}
