//! The recording session: sources → aligners → one crash-safe WAV (+ an optional audio tap for
//! live captions), on one writer thread that mixes nothing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::align::{Aligner, HARD_MS, RATE};
use crate::device::{DeviceSpec, Role};
use crate::error::{CaptureError, Result};
use crate::session::{ChannelInfo, Mark, Pause, SESSION_VERSION, Session, SessionState};
use crate::source::Source;
use crate::wav::WavWriter;

/// Audio written to the file lags the wall clock by at least this much (a source's block in
/// flight still lands in place); the writer also waits for a source running later than this.
const SLACK_MS: u64 = 100;
const TICK: Duration = Duration::from_millis(20);
/// Written to the OS (survives `kill -9`) this often, with the header patched …
const WRITE_EVERY: Duration = Duration::from_millis(250);
/// … and forced to the disk (survives power loss) this often.
const SYNC_EVERY: Duration = Duration::from_secs(1);
/// A source that delivers nothing for this long is treated as gone.
const STALL: Duration = Duration::from_secs(3);

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

enum Ctl {
    Stop,
    Pause,
    Resume,
    Mark(String),
}

/// Live figures (lock-free).
#[derive(Default)]
struct Status {
    frames: AtomicU64,
    paused: AtomicBool,
    done: AtomicBool,
    peaks: [AtomicU32; 2],
}

/// A running recording. Dropping it stops the recording cleanly.
pub struct Recorder {
    ctl: mpsc::Sender<Ctl>,
    status: Arc<Status>,
    channels: Vec<ChannelInfo>,
    path: PathBuf,
    thread: Option<JoinHandle<Result<Recording>>>,
}

struct Slot {
    role: Role,
    spec: DeviceSpec,
    source: Option<Source>,
    aligner: Aligner,
    last_callbacks: u64,
    last_progress: Instant,
}

fn samples_to_duration(n: u64) -> Duration {
    Duration::from_micros(n * 1_000_000 / RATE as u64)
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
        };
        session.save(&session_path)?;
        let mut slots = Vec::new();
        for mut s in sources {
            // Audio from before the start instant is not part of the recording.
            let n = s.consumer.slots();
            if let Ok(c) = s.consumer.read_chunk(n) {
                c.commit_all();
            }
            let aligner = Aligner::new(s.rate).map_err(|d| CaptureError::Open { device: s.info.id.clone(), detail: d })?;
            slots.push(Slot {
                role: s.role,
                spec: s.spec.clone(),
                last_callbacks: s.shared.callbacks.load(Ordering::Acquire),
                source: Some(s),
                aligner,
                last_progress: Instant::now(),
            });
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

struct Writer {
    slots: Vec<Slot>,
    wav: Option<WavWriter>,
    tap: Option<Box<dyn AudioTap>>,
    status: Arc<Status>,
    session: Session,
    session_path: PathBuf,
    path: PathBuf,
    max: Option<Duration>,
}

/// Recording time: wall time since the start minus pauses.
struct Clock {
    start: Instant,
    paused_total: Duration,
    paused_at: Option<Instant>,
}

impl Clock {
    fn samples(&self, now: Instant) -> u64 {
        let end = self.paused_at.unwrap_or(now);
        let d = end.saturating_duration_since(self.start).saturating_sub(self.paused_total);
        (d.as_micros() as u64) * RATE as u64 / 1_000_000
    }
}

impl Writer {
    fn run(mut self, ctl: mpsc::Receiver<Ctl>, on_event: &mut dyn FnMut(RecorderEvent)) -> Result<Recording> {
        let mut clock = Clock { start: Instant::now(), paused_total: Duration::ZERO, paused_at: None };
        let mut written: u64 = 0;
        let mut scratch: Vec<f32> = Vec::with_capacity(RATE as usize * 3);
        let mut block: Vec<Vec<f32>> = vec![Vec::with_capacity(RATE as usize); self.slots.len()];
        let mut inter: Vec<i16> = Vec::with_capacity(RATE as usize * 2);
        let mut last_write = Instant::now();
        let mut last_sync = Instant::now();
        let slack = SLACK_MS * RATE as u64 / 1000;
        let max_samples = self.max.map(|m| m.as_millis() as u64 * RATE as u64 / 1000);
        let stop = loop {
            let mut stop = None;
            match ctl.recv_timeout(TICK) {
                Ok(Ctl::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => stop = Some(StopReason::Requested),
                Ok(Ctl::Pause) if clock.paused_at.is_none() => {
                    let now = Instant::now();
                    let at = clock.samples(now);
                    // Keep everything up to the pause, then stop the clock.
                    if let Err(e) = self.write_upto(at, &mut written, &mut block, &mut inter, now) {
                        break self.fail(e);
                    }
                    clock.paused_at = Some(now);
                    self.status.paused.store(true, Ordering::Relaxed);
                    if let Some(t) = self.tap.as_mut() {
                        t.paused();
                    }
                    let at_ms = written * 1000 / RATE as u64;
                    self.session.pauses.push(Pause { at_ms, wall_ms: 0 });
                    self.save_session();
                    on_event(RecorderEvent::Paused { at_ms });
                }
                Ok(Ctl::Resume) => {
                    if let Some(p) = clock.paused_at.take() {
                        let now = Instant::now();
                        clock.paused_total += now - p;
                        let at = clock.samples(now);
                        for s in &mut self.slots {
                            s.aligner.reset(at);
                            s.last_progress = now;
                        }
                        if let Some(last) = self.session.pauses.last_mut() {
                            last.wall_ms = (now - p).as_millis().max(1) as u64;
                        }
                        self.status.paused.store(false, Ordering::Relaxed);
                        self.save_session();
                        on_event(RecorderEvent::Resumed { at_ms: at * 1000 / RATE as u64 });
                    }
                }
                Ok(Ctl::Mark(kind)) => {
                    let m = Mark { at_ms: clock.samples(Instant::now()) * 1000 / RATE as u64, kind };
                    self.session.marks.push(m.clone());
                    self.save_session();
                    on_event(RecorderEvent::Marked(m));
                }
                Ok(Ctl::Pause) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            let now = Instant::now();
            let expected = clock.samples(now);
            let paused = clock.paused_at.is_some();
            for i in 0..self.slots.len() {
                if let Some(ev) = self.pump(i, expected, paused, now, &mut scratch) {
                    on_event(ev);
                }
            }
            if self.slots.iter().all(|s| s.source.is_none()) {
                let detail = self.session.warnings.last().cloned().unwrap_or_else(|| "no source left".into());
                stop = Some(StopReason::DevicesLost(detail));
            }
            if !paused {
                // Wait for a late source (its latency is not a gap), but never longer than
                // the hard limit: then it is stalled and its channel gets silence.
                let wait_floor = expected.saturating_sub(HARD_MS * RATE as u64 / 1000);
                let mut target = expected.saturating_sub(slack);
                for s in self.slots.iter().filter(|s| s.source.is_some()) {
                    target = target.min(s.aligner.available_upto().max(wait_floor));
                }
                if let Some(max) = max_samples {
                    if expected >= max + slack {
                        stop = stop.or(Some(StopReason::Duration));
                    }
                    target = target.min(max);
                }
                if stop.is_some() {
                    // Everything already captured goes in.
                    target = max_samples.map_or(expected, |max| expected.min(max));
                }
                let captured_at = now.checked_sub(samples_to_duration(expected.saturating_sub(target))).unwrap_or(now);
                if let Err(e) = self.write_upto(target, &mut written, &mut block, &mut inter, captured_at) {
                    break self.fail(e);
                }
            }
            if last_write.elapsed() >= WRITE_EVERY || stop.is_some() {
                last_write = Instant::now();
                let sync = last_sync.elapsed() >= SYNC_EVERY || stop.is_some();
                if sync {
                    last_sync = last_write;
                }
                if let Some(w) = self.wav.as_mut()
                    && let Err(e) = w.flush(sync)
                {
                    break self.fail(e);
                }
            }
            if let Some(s) = stop {
                break s;
            }
        };
        self.status.done.store(true, Ordering::Release);
        // Release the devices before the (slow) final sync.
        for s in &mut self.slots {
            s.source.take();
        }
        let frames = match self.wav.take() {
            Some(w) => match w.finish() {
                Ok(f) => f,
                Err(e) => {
                    self.session.warnings.push(e.to_string());
                    written
                }
            },
            None => written,
        };
        self.session.duration_ms = frames * 1000 / RATE as u64;
        self.session.state = SessionState::Finished;
        if let Some(p) = self.session.pauses.last_mut()
            && p.wall_ms == 0
        {
            p.wall_ms = clock.paused_at.map(|p| p.elapsed().as_millis().max(1) as u64).unwrap_or(1);
        }
        self.session.save(&self.session_path)?;
        Ok(Recording { path: self.path, session_path: self.session_path, session: self.session, stop })
    }

    fn fail(&mut self, e: CaptureError) -> StopReason {
        self.session.warnings.push(e.to_string());
        match e {
            CaptureError::DiskFull { .. } => StopReason::DiskFull,
            other => StopReason::WriteFailed(other.to_string()),
        }
    }

    fn save_session(&mut self) {
        if let Err(e) = self.session.save(&self.session_path) {
            tracing::warn!("saving {}: {e}", self.session_path.display());
        }
    }

    /// Drains one source into its aligner; handles a lost source.
    fn pump(&mut self, i: usize, expected: u64, paused: bool, now: Instant, scratch: &mut Vec<f32>) -> Option<RecorderEvent> {
        let slot = &mut self.slots[i];
        let src = slot.source.as_mut()?;
        let n = src.consumer.slots();
        if n > 0 {
            scratch.clear();
            if let Ok(chunk) = src.consumer.read_chunk(n) {
                let (a, b) = chunk.as_slices();
                scratch.extend_from_slice(a);
                scratch.extend_from_slice(b);
                chunk.commit_all();
            }
            if !paused {
                slot.aligner.feed(scratch, expected);
            }
        }
        self.status.peaks[i].fetch_max(src.shared.take_peak().to_bits(), Ordering::Relaxed);
        let cb = src.shared.callbacks.load(Ordering::Acquire);
        if cb != slot.last_callbacks {
            slot.last_callbacks = cb;
            slot.last_progress = now;
        }
        let lost = src.failure().or_else(|| {
            (now.duration_since(slot.last_progress) > STALL).then(|| format!("no audio for {} s", STALL.as_secs()))
        })?;
        let device = src.info.id.clone();
        let src_rate = src.rate;
        slot.source = None;
        let role = slot.role;
        let mut replacement = None;
        if slot.spec == DeviceSpec::Default {
            match Source::open(&DeviceSpec::Default, role) {
                Ok(Some(s)) => {
                    replacement = Some(s.info.id.clone());
                    if s.rate != src_rate {
                        match Aligner::new(s.rate) {
                            Ok(mut a) => {
                                a.reset(slot.aligner.available_upto());
                                slot.aligner = a;
                            }
                            Err(e) => tracing::warn!("resampler for {}: {e}", s.info.id),
                        }
                    }
                    slot.aligner.restart();
                    slot.last_callbacks = s.shared.callbacks.load(Ordering::Acquire);
                    slot.last_progress = Instant::now();
                    slot.source = Some(s);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("reopening the default {}: {e}", role.as_str()),
            }
        }
        let msg = match &replacement {
            Some(r) => format!("{device} ({}) stopped ({lost}) at {} ms; continuing on {r}", role.as_str(), expected * 1000 / RATE as u64),
            None => format!("{device} ({}) stopped ({lost}) at {} ms", role.as_str(), expected * 1000 / RATE as u64),
        };
        tracing::info!("{msg}");
        self.session.warnings.push(msg);
        self.save_session();
        Some(RecorderEvent::SourceLost { role, device, detail: lost, replacement })
    }

    /// Writes every channel up to recording position `target` (silence where a source has
    /// nothing), and hands the same audio to the tap (`captured_at`: when the sample at
    /// `target` was captured).
    fn write_upto(
        &mut self,
        target: u64,
        written: &mut u64,
        block: &mut [Vec<f32>],
        inter: &mut Vec<i16>,
        captured_at: Instant,
    ) -> Result<()> {
        if target <= *written {
            return Ok(());
        }
        let n = (target - *written) as usize;
        for (slot, b) in self.slots.iter_mut().zip(block.iter_mut()) {
            slot.aligner.take(n, b);
        }
        inter.clear();
        for f in 0..n {
            for b in block.iter() {
                inter.push((b[f].clamp(-1.0, 1.0) * 32767.0).round() as i16);
            }
        }
        if let Some(w) = self.wav.as_mut() {
            w.write(inter)?;
        }
        if let Some(t) = self.tap.as_mut() {
            for (ch, b) in block.iter().enumerate() {
                t.audio(ch as u16, *written, b, captured_at);
            }
        }
        *written = target;
        self.status.frames.store(target, Ordering::Relaxed);
        Ok(())
    }
}
