//! The recording session: sources → aligners → one crash-safe WAV (+ an optional audio tap for
//! live captions), on one writer thread that mixes nothing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::align::RATE;
use crate::device::{DeviceSpec, Role};
use crate::error::{CaptureError, Result};
use crate::session::{ChannelInfo, Mark, SESSION_VERSION, Session, SessionState};
use crate::source::Source;
use crate::wav::WavWriter;
use crate::writer::{Slot, Writer};

#[derive(Debug, Clone)]
pub struct RecorderConfig {
    pub mic: DeviceSpec,
    pub system: DeviceSpec,
    /// The WAV to create (never overwritten); its sidecar goes next to it.
    pub output: PathBuf,
    /// Stop by itself after this much recorded audio (pauses excluded).
    pub max_duration: Option<Duration>,
    /// How long to wait for each source's first audio before giving up.
    pub first_audio_timeout: Duration,
}

impl RecorderConfig {
    pub fn new(mic: DeviceSpec, system: DeviceSpec, output: PathBuf) -> Self {
        RecorderConfig { mic, system, output, max_duration: None, first_audio_timeout: Duration::from_secs(5) }
    }
}

/// Receives the recording's audio as it is written (16 kHz mono per channel).
/// Called on the writer thread: implementations must return at once (queue, never compute).
pub trait AudioTap: Send {
    /// `pos` is the recording position (samples) of `samples[0]`; `captured_at` is when the
    /// block's last sample was captured.
    fn audio(&mut self, channel: u16, pos: u64, samples: &[f32], captured_at: Instant);
    /// The recording paused: whatever is open should be closed.
    fn paused(&mut self) {}
}

/// Things the UI/CLI shows as they happen (delivered on the writer thread).
#[derive(Debug, Clone, PartialEq)]
pub enum RecorderEvent {
    Paused { at_ms: u64 },
    Resumed { at_ms: u64 },
    Marked(Mark),
    /// A source failed; `replacement` is the device recording in its place, if any.
    SourceLost { role: Role, device: String, detail: String, replacement: Option<String> },
    Warning(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum StopReason {
    Requested,
    Duration,
    /// Every source was lost.
    DevicesLost(String),
    DiskFull,
    WriteFailed(String),
}

impl StopReason {
    /// Problems end the recording but the file keeps what was recorded.
    pub fn is_problem(&self) -> bool {
        !matches!(self, StopReason::Requested | StopReason::Duration)
    }
}

/// What a finished recording is.
#[derive(Debug, Clone)]
pub struct Recording {
    pub path: PathBuf,
    pub session_path: PathBuf,
    pub session: Session,
    pub stop: StopReason,
}

pub(crate) enum Ctl {
    Stop,
    Pause,
    Resume,
    Mark(String),
}

/// Live figures (lock-free).
#[derive(Default)]
pub(crate) struct Status {
    pub frames: AtomicU64,
    pub paused: AtomicBool,
    pub done: AtomicBool,
    pub peaks: [AtomicU32; 2],
}

/// A running recording. Dropping it stops the recording cleanly.
pub struct Recorder {
    ctl: mpsc::Sender<Ctl>,
    status: Arc<Status>,
    channels: Vec<ChannelInfo>,
    path: PathBuf,
    thread: Option<JoinHandle<Result<Recording>>>,
}

fn unix_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Recorder {
    /// Opens the sources, waits for each one's first audio, creates the file, and returns once
    /// audio is being recorded.
    pub fn start(
        cfg: RecorderConfig,
        tap: Option<Box<dyn AudioTap>>,
        mut on_event: impl FnMut(RecorderEvent) + Send + 'static,
    ) -> Result<Recorder> {
        let mut sources = Vec::new();
        for (role, spec) in [(Role::Mic, &cfg.mic), (Role::System, &cfg.system)] {
            if let Some(s) = Source::open(spec, role)? {
                sources.push(s);
            }
        }
        if sources.is_empty() {
            return Err(CaptureError::NothingToRecord);
        }
        // "Recording" only once audio flows.
        let t0 = Instant::now();
        for s in &sources {
            while s.shared.callbacks.load(Ordering::Acquire) == 0 {
                if let Some(f) = s.failure() {
                    return Err(CaptureError::Open { device: s.info.id.clone(), detail: f });
                }
                if t0.elapsed() > cfg.first_audio_timeout {
                    return Err(CaptureError::NoAudio {
                        device: s.info.id.clone(),
                        waited_ms: cfg.first_audio_timeout.as_millis() as u64,
                    });
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        if let Some(dir) = cfg.output.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| CaptureError::io(dir, e))?;
        }
        let channels: Vec<ChannelInfo> = sources
            .iter()
            .enumerate()
            .map(|(i, s)| ChannelInfo { index: i as u16, role: s.role, device: s.info.id.clone(), device_name: s.info.name.clone() })
            .collect();
        let wav = WavWriter::create(&cfg.output, channels.len() as u16, RATE)?;
        wav.file().lock().map_err(|e| CaptureError::io(&cfg.output, e))?;
        let session_path = Session::path_for(&cfg.output);
        let session = Session {
            version: SESSION_VERSION,
            state: SessionState::Recording,
            wav: cfg.output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            started_at_ms: unix_ms(),
            pid: std::process::id(),
            rate: RATE,
            channels: channels.clone(),
            pauses: Vec::new(),
            marks: Vec::new(),
            warnings: Vec::new(),
            duration_ms: 0,
            timing: Vec::new(),
            corrections: Vec::new(),
        };
        session.save(&session_path)?;
        let mut slots = Vec::new();
        for mut s in sources {
            // Audio from before the start instant is not part of the recording.
            let n = s.consumer.slots();
            if let Ok(c) = s.consumer.read_chunk(n) {
                c.commit_all();
            }
            slots.push(Slot::new(s, n as u64)?);
        }
        let status = Arc::new(Status::default());
        let (ctl_tx, ctl_rx) = mpsc::channel();
        let st = status.clone();
        let path = cfg.output.clone();
        let writer = Writer {
            slots,
            wav: Some(wav),
            tap,
            status: st,
            session,
            session_path,
            path: cfg.output.clone(),
            max: cfg.max_duration,
        };
        let thread = std::thread::Builder::new()
            .name("tingji-recorder".into())
            .spawn(move || writer.run(ctl_rx, &mut on_event))
            .map_err(|e| CaptureError::io(&path, e))?;
        Ok(Recorder { ctl: ctl_tx, status, channels, path, thread: Some(thread) })
    }

    pub fn channels(&self) -> &[ChannelInfo] {
        &self.channels
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Recorded audio so far (pauses excluded).
    pub fn elapsed_ms(&self) -> u64 {
        self.status.frames.load(Ordering::Relaxed) * 1000 / RATE as u64
    }

    pub fn is_paused(&self) -> bool {
        self.status.paused.load(Ordering::Relaxed)
    }

    /// The recording ended by itself (duration reached, devices lost, disk full).
    pub fn is_finished(&self) -> bool {
        self.status.done.load(Ordering::Acquire)
    }

    /// Peak level (0..=1) of each channel since the last call, in channel order.
    pub fn levels(&self) -> Vec<(Role, f32)> {
        self.channels
            .iter()
            .map(|c| (c.role, f32::from_bits(self.status.peaks[c.index as usize].swap(0, Ordering::Relaxed))))
            .collect()
    }

    pub fn pause(&self) {
        let _ = self.ctl.send(Ctl::Pause);
    }

    pub fn resume(&self) {
        let _ = self.ctl.send(Ctl::Resume);
    }

    /// A mark ("key", "question", "todo") at the current moment.
    pub fn mark(&self, kind: &str) {
        let _ = self.ctl.send(Ctl::Mark(kind.to_string()));
    }

    /// Stops, flushes and syncs the file; returns what was recorded.
    pub fn stop(mut self) -> Result<Recording> {
        let _ = self.ctl.send(Ctl::Stop);
        self.thread.take().expect("running").join().map_err(|_| CaptureError::WorkerGone)?
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = self.ctl.send(Ctl::Stop);
            let _ = t.join();
        }
    }
}

