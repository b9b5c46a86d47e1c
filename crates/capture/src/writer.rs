//! The writer thread of a recording: drains each source's rings into its aligner, writes every
//! channel up to where all sources have audio, and keeps the session file (pauses, marks,
//! warnings, corrections) current.
//!
//! The file advances at the pace of the latest source: a source that delivers in bursts holds
//! the others back (their audio queues), it is never padded to keep up. Only a source that is
//! gone (no audio for [`STALL`]) or more than [`MAX_LAG_S`] behind stops holding the file.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::align::{Aligner, Correction, PLACE_MS, RATE};
use crate::device::{DeviceSpec, Role};
use crate::error::{CaptureError, Result};
use crate::recorder::{AudioTap, Ctl, RecorderEvent, Recording, Status, StopReason};
use crate::session::{self, ChannelTiming, Pause, Session, SessionState};
use crate::source::Source;
use crate::wav::WavWriter;

const TICK: Duration = Duration::from_millis(20);
/// Written to the OS (survives `kill -9`) this often, with the header patched …
const WRITE_EVERY: Duration = Duration::from_millis(250);
/// … and forced to the disk (survives power loss) this often.
const SYNC_EVERY: Duration = Duration::from_secs(1);
/// A source that delivers nothing for this long is treated as gone.
const STALL: Duration = Duration::from_secs(3);
/// A source that delivers but lags the others by more than this (s) gets silence (a
/// correction) so the others' audio keeps flowing to the file.
const MAX_LAG_S: u64 = 10;
/// At a pause or the stop, late audio (a bursty source) is waited for this long.
const DRAIN: Duration = Duration::from_millis(PLACE_MS as u64);
/// Corrections kept in the session file (counts go on beyond).
const MAX_CORRECTIONS: usize = 1000;

pub(crate) struct Slot {
    role: Role,
    spec: DeviceSpec,
    source: Option<Source>,
    aligner: Aligner,
    last_callbacks: u64,
    last_progress: Instant,
    /// Device frames read from the ring or counted lost (the next sample's frame index) …
    consumed: u64,
    /// … and the frame index of the aligner's frame 0.
    base: u64,
    seen_overflow: u64,
    seen_xruns: u64,
    overruns: u64,
    lost_frames: u64,
    /// A replacement device is being placed: a late start is a correction.
    replaced: bool,
}

impl Slot {
    /// `consumed`: frames already taken from the source's ring (audio from before the start).
    pub(crate) fn new(source: Source, consumed: u64) -> std::result::Result<Slot, CaptureError> {
        let aligner = Aligner::new(source.rate).map_err(|d| CaptureError::Open { device: source.info.id.clone(), detail: d })?;
        Ok(Slot {
            role: source.role,
            spec: source.spec.clone(),
            last_callbacks: source.shared.callbacks.load(Ordering::Acquire),
            source: Some(source),
            aligner,
            last_progress: Instant::now(),
            consumed,
            base: consumed,
            seen_overflow: 0,
            seen_xruns: 0,
            overruns: 0,
            lost_frames: 0,
            replaced: false,
        })
    }

    /// How far this source lets the file advance: to its audio once placed, not at all before;
    /// a source that is gone holds nothing back.
    fn holds_at(&self, written: u64) -> Option<u64> {
        self.source.as_ref()?;
        Some(if self.aligner.is_placed() { self.aligner.available_upto() } else { written })
    }

    fn timing(&self, index: u16) -> ChannelTiming {
        let a = &self.aligner;
        ChannelTiming {
            index,
            start_ms: a.start.map_or(0.0, |s| s as f64 * 1000.0 / RATE as f64),
            inserted_samples: a.inserted,
            removed_samples: a.removed,
            drift_ppm: a.trim_ppm(),
            drift_corrected_ms: a.trimmed_total_ms,
            overruns: self.overruns,
            lost_frames: self.lost_frames,
        }
    }
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

    /// Recording time of `at` in ms (negative before the start).
    fn ms(&self, at: Instant) -> f64 {
        let at = self.paused_at.map_or(at, |p| at.min(p));
        let since = match at.checked_duration_since(self.start) {
            Some(d) => d.as_secs_f64(),
            None => -self.start.duration_since(at).as_secs_f64(),
        };
        (since - self.paused_total.as_secs_f64()) * 1000.0
    }
}

fn samples_to_duration(n: u64) -> Duration {
    Duration::from_micros(n * 1_000_000 / RATE as u64)
}

fn ms_of(samples: u64) -> u64 {
    samples * 1000 / RATE as u64
}

pub(crate) struct Writer {
    pub slots: Vec<Slot>,
    pub wav: Option<WavWriter>,
    pub tap: Option<Box<dyn AudioTap>>,
    pub status: Arc<Status>,
    pub session: Session,
    pub session_path: PathBuf,
    pub path: PathBuf,
    pub max: Option<Duration>,
}

/// Buffers the writer reuses (nothing is allocated per tick).
struct Scratch {
    audio: Vec<f32>,
    block: Vec<Vec<f32>>,
    inter: Vec<i16>,
    corrections: Vec<Correction>,
}

impl Writer {
    pub(crate) fn run(mut self, ctl: mpsc::Receiver<Ctl>, on_event: &mut dyn FnMut(RecorderEvent)) -> Result<Recording> {
        let mut clock = Clock { start: Instant::now(), paused_total: Duration::ZERO, paused_at: None };
        let mut written: u64 = 0;
        let mut sc = Scratch {
            audio: Vec::with_capacity(RATE as usize * 3),
            block: vec![Vec::with_capacity(RATE as usize); self.slots.len()],
            inter: Vec::with_capacity(RATE as usize * 2),
            corrections: Vec::new(),
        };
        let mut last_write = Instant::now();
        let mut last_sync = Instant::now();
        let max_samples = self.max.map(|m| m.as_millis() as u64 * RATE as u64 / 1000);
        let place_samples = PLACE_MS as u64 * RATE as u64 / 1000;
        let stop = loop {
            let mut stop = None;
            match ctl.recv_timeout(TICK) {
                Ok(Ctl::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => stop = Some(StopReason::Requested),
                Ok(Ctl::Pause) if clock.paused_at.is_none() => {
                    let now = Instant::now();
                    let at = clock.samples(now);
                    // Keep everything captured up to the pause (late audio included), then stop the clock.
                    if let Err(e) = self.drain_and_write(at, true, &clock, &mut written, &mut sc, now, on_event) {
                        break self.fail(e);
                    }
                    clock.paused_at = Some(now);
                    self.status.paused.store(true, Ordering::Relaxed);
                    if let Some(t) = self.tap.as_mut() {
                        t.paused();
                    }
                    let at_ms = ms_of(written);
                    self.session.pauses.push(Pause { at_ms, wall_ms: 0 });
                    self.save_session();
                    on_event(RecorderEvent::Paused { at_ms });
                }
                Ok(Ctl::Resume) => {
                    if let Some(p) = clock.paused_at {
                        let now = Instant::now();
                        // What arrived during the pause is not recorded.
                        self.pump_all(&clock, now, &mut sc, on_event);
                        clock.paused_at = None;
                        clock.paused_total += now - p;
                        let at_ms = clock.ms(now);
                        for s in &mut self.slots {
                            s.aligner.reset(written, at_ms);
                            s.base = s.consumed;
                            s.last_progress = now;
                        }
                        if let Some(last) = self.session.pauses.last_mut() {
                            last.wall_ms = (now - p).as_millis().max(1) as u64;
                        }
                        self.status.paused.store(false, Ordering::Relaxed);
                        self.save_session();
                        on_event(RecorderEvent::Resumed { at_ms: ms_of(written) });
                    }
                }
                Ok(Ctl::Mark(kind)) => {
                    let m = session::Mark { at_ms: ms_of(clock.samples(Instant::now())), kind };
                    self.session.marks.push(m.clone());
                    self.save_session();
                    on_event(RecorderEvent::Marked(m));
                }
                Ok(Ctl::Pause) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            let now = Instant::now();
            let expected = clock.samples(now);
            let paused = clock.paused_at.is_some();
            self.pump_all(&clock, now, &mut sc, on_event);
            self.follow_reference();
            self.report_corrections(&mut sc, on_event);
            if self.slots.iter().all(|s| s.source.is_none()) {
                let detail = self.session.warnings.last().cloned().unwrap_or_else(|| "no source left".into());
                stop = stop.or(Some(StopReason::DevicesLost(detail)));
            }
            if !paused {
                let mut end = expected;
                let mut exact_end = false;
                if let Some(max) = max_samples {
                    if written >= max || expected >= max + place_samples {
                        stop = stop.or(Some(StopReason::Duration));
                        exact_end = true;
                    }
                    end = end.min(max);
                }
                if stop.is_some() {
                    // Everything captured until now goes in, late audio included.
                    if let Err(e) = self.drain_and_write(end, !exact_end, &clock, &mut written, &mut sc, now, on_event) {
                        break self.fail(e);
                    }
                } else {
                    // The file follows the sources' own clocks (not the wall clock), held back
                    // by the latest one; a source far behind the others stops holding it.
                    let ahead = self.slots.iter().filter(|s| s.source.is_some()).map(|s| s.aligner.available_upto()).max().unwrap_or(0);
                    let floor = ahead.saturating_sub(MAX_LAG_S * RATE as u64);
                    let mut target = max_samples.unwrap_or(u64::MAX);
                    for s in &mut self.slots {
                        if s.aligner.is_placed() && s.source.is_some() && s.aligner.available_upto() < floor {
                            s.aligner.pad_to(floor);
                        }
                        if let Some(h) = s.holds_at(written) {
                            target = target.min(h);
                        }
                    }
                    if target == u64::MAX {
                        target = written;
                    }
                    let captured_at = now.checked_sub(samples_to_duration(expected.saturating_sub(target))).unwrap_or(now);
                    if let Err(e) = self.write_upto(target, &mut written, &mut sc, captured_at) {
                        break self.fail(e);
                    }
                    self.report_corrections(&mut sc, on_event);
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
        self.session.timing = self.slots.iter().enumerate().map(|(i, s)| s.timing(i as u16)).collect();
        // Release the devices before the (slow) final sync.
        for s in &mut self.slots {
            if let Some(src) = s.source.take() {
                let (cb, frames) = (src.shared.callbacks.load(Ordering::Relaxed), src.shared.frames.load(Ordering::Relaxed));
                tracing::debug!(device = %src.info.id, callbacks = cb, frames, per_callback = frames / cb.max(1), "source delivery");
            }
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
        self.session.duration_ms = ms_of(frames);
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

    /// The reference source (system audio, else the first live one) keeps its own clock; the
    /// others follow it.
    fn follow_reference(&mut self) {
        let live = |s: &Slot| s.source.is_some();
        let r = self.slots.iter().position(|s| live(s) && s.role == Role::System).or_else(|| self.slots.iter().position(live)).unwrap_or(0);
        let d = self.slots[r].aligner.drift();
        for (i, s) in self.slots.iter_mut().enumerate() {
            s.aligner.follow(i == r, d);
        }
    }

    /// Waits (up to [`DRAIN`]) for every live source to deliver audio up to `end` (wall-clock
    /// time), then writes up to `end` — or, with `extend`, up to what every live source has if
    /// that is more (their clocks may run ahead of the wall clock); a channel still short gets
    /// silence at its end, and a warning.
    #[allow(clippy::too_many_arguments)]
    fn drain_and_write(
        &mut self,
        mut end: u64,
        extend: bool,
        clock: &Clock,
        written: &mut u64,
        sc: &mut Scratch,
        at: Instant,
        on_event: &mut dyn FnMut(RecorderEvent),
    ) -> Result<()> {
        let deadline = Instant::now() + DRAIN;
        loop {
            let now = Instant::now();
            self.pump_all(clock, now, sc, on_event);
            let ready = self.slots.iter().all(|s| s.source.is_none() || (s.aligner.is_placed() && s.aligner.available_upto() >= end));
            if ready || now >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for s in &mut self.slots {
            // A source still being placed goes in with what it has.
            s.aligner.place(s.replaced);
            s.replaced = false;
        }
        if extend {
            let all = self.slots.iter().filter(|s| s.source.is_some()).map(|s| s.aligner.available_upto()).min();
            end = end.max(all.unwrap_or(end));
        }
        for i in 0..self.slots.len() {
            let s = &self.slots[i];
            let short = end.saturating_sub(s.aligner.available_upto().max(*written));
            if s.source.is_some() && short > RATE as u64 / 10 {
                let msg = format!(
                    "the last {} ms of {} had not arrived when the recording {}",
                    ms_of(short),
                    s.role.as_str(),
                    if clock.paused_at.is_some() { "paused" } else { "ended" }
                );
                tracing::warn!("{msg}");
                self.session.warnings.push(msg.clone());
                on_event(RecorderEvent::Warning(msg));
            }
        }
        self.write_upto(end, written, sc, at)?;
        self.report_corrections(sc, on_event);
        Ok(())
    }

    /// Logs the aligners' corrections: session file, warning event, trace.
    fn report_corrections(&mut self, sc: &mut Scratch, on_event: &mut dyn FnMut(RecorderEvent)) {
        let mut any = false;
        for (i, s) in self.slots.iter_mut().enumerate() {
            sc.corrections.clear();
            s.aligner.take_corrections(&mut sc.corrections);
            for c in &sc.corrections {
                any = true;
                let verb = if c.samples >= 0 { "inserted" } else { "removed" };
                let msg = format!(
                    "{}: {} ms of {} {verb} at {} ms ({})",
                    s.role.as_str(),
                    ms_of(c.samples.unsigned_abs()),
                    if c.samples >= 0 { "silence" } else { "audio" },
                    ms_of(c.at),
                    c.reason.as_str()
                );
                tracing::warn!("{msg}");
                if self.session.corrections.len() < MAX_CORRECTIONS {
                    self.session.corrections.push(session::Correction {
                        at_ms: ms_of(c.at),
                        channel: i as u16,
                        samples: c.samples,
                        reason: c.reason.as_str().into(),
                    });
                    self.session.warnings.push(msg.clone());
                }
                on_event(RecorderEvent::Warning(msg));
            }
        }
        if any {
            self.session.timing = self.slots.iter().enumerate().map(|(i, s)| s.timing(i as u16)).collect();
            self.save_session();
        }
    }

    /// [`Writer::pump`] for every source, events to `on_event`.
    fn pump_all(&mut self, clock: &Clock, now: Instant, sc: &mut Scratch, on_event: &mut dyn FnMut(RecorderEvent)) {
        for i in 0..self.slots.len() {
            if let Some(ev) = self.pump(i, clock, now, sc) {
                on_event(ev);
            }
        }
    }

    /// Drains one source's rings into its aligner (or discards them while paused); places the
    /// source once due; handles a lost source.
    fn pump(&mut self, i: usize, clock: &Clock, now: Instant, sc: &mut Scratch) -> Option<RecorderEvent> {
        let paused = clock.paused_at.is_some();
        let slot = &mut self.slots[i];
        let src = slot.source.as_mut()?;
        let overflow = src.shared.overflow.load(Ordering::Relaxed);
        if overflow > slot.seen_overflow {
            let lost = overflow - slot.seen_overflow;
            slot.seen_overflow = overflow;
            slot.lost_frames += lost;
            slot.consumed += lost;
            if !paused && slot.aligner.is_placed() {
                slot.aligner.lost(lost);
            }
        }
        let xruns = src.shared.xruns.load(Ordering::Relaxed);
        if xruns > slot.seen_xruns {
            slot.overruns += xruns - slot.seen_xruns;
            slot.seen_xruns = xruns;
            slot.aligner.overrun();
        }
        let n = src.consumer.slots();
        if n > 0 {
            sc.audio.clear();
            if let Ok(chunk) = src.consumer.read_chunk(n) {
                let (a, b) = chunk.as_slices();
                sc.audio.extend_from_slice(a);
                sc.audio.extend_from_slice(b);
                chunk.commit_all();
            }
            slot.consumed += sc.audio.len() as u64;
            if !paused {
                slot.aligner.feed(&sc.audio);
            }
        }
        let m = src.ticks.slots();
        if let Ok(chunk) = src.ticks.read_chunk(m) {
            let (a, b) = chunk.as_slices();
            for t in a.iter().chain(b) {
                if paused || t.frames <= slot.base {
                    continue;
                }
                let at = src.epoch + Duration::from_nanos(t.at_ns);
                slot.aligner.observe(t.frames - slot.base, clock.ms(at));
            }
            chunk.commit_all();
        }
        if !paused && slot.aligner.wants_placing(clock.ms(now)) {
            slot.aligner.place(slot.replaced);
            slot.replaced = false;
        }
        self.status.peaks[i].fetch_max(src.shared.take_peak().to_bits(), Ordering::Relaxed);
        let cb = src.shared.callbacks.load(Ordering::Acquire);
        if cb != slot.last_callbacks {
            slot.last_callbacks = cb;
            slot.last_progress = now;
        }
        let lost = src
            .failure()
            .or_else(|| (now.duration_since(slot.last_progress) > STALL).then(|| format!("no audio for {} s", STALL.as_secs())))?;
        let device = src.info.id.clone();
        slot.source = None;
        let role = slot.role;
        let at_ms = ms_of(clock.samples(now));
        let mut replacement = None;
        if slot.spec == DeviceSpec::Default {
            match Source::open(&DeviceSpec::Default, role) {
                Ok(Some(s)) => match slot.aligner.restart(s.rate) {
                    Ok(()) => {
                        replacement = Some(s.info.id.clone());
                        slot.last_callbacks = s.shared.callbacks.load(Ordering::Acquire);
                        slot.last_progress = Instant::now();
                        (slot.consumed, slot.base, slot.seen_overflow, slot.seen_xruns) = (0, 0, 0, 0);
                        slot.replaced = true;
                        slot.source = Some(s);
                    }
                    Err(e) => tracing::warn!("resampler for {}: {e}", s.info.id),
                },
                Ok(None) => {}
                Err(e) => tracing::warn!("reopening the default {}: {e}", role.as_str()),
            }
        }
        let msg = match &replacement {
            Some(r) => format!("{device} ({}) stopped ({lost}) at {at_ms} ms; continuing on {r}", role.as_str()),
            None => format!("{device} ({}) stopped ({lost}) at {at_ms} ms", role.as_str()),
        };
        tracing::info!("{msg}");
        self.session.warnings.push(msg);
        self.save_session();
        Some(RecorderEvent::SourceLost { role, device, detail: lost, replacement })
    }

    /// Writes every channel up to recording position `target` (silence where a source has
    /// nothing: it is gone, or the recording ends), and hands the same audio to the tap
    /// (`captured_at`: when the sample at `target` was captured).
    fn write_upto(&mut self, target: u64, written: &mut u64, sc: &mut Scratch, captured_at: Instant) -> Result<()> {
        if target <= *written {
            return Ok(());
        }
        let n = (target - *written) as usize;
        for (slot, b) in self.slots.iter_mut().zip(sc.block.iter_mut()) {
            slot.aligner.take(n, b);
        }
        sc.inter.clear();
        for f in 0..n {
            for b in sc.block.iter() {
                sc.inter.push((b[f].clamp(-1.0, 1.0) * 32767.0).round() as i16);
            }
        }
        if let Some(w) = self.wav.as_mut() {
            w.write(&sc.inter)?;
        }
        if let Some(t) = self.tap.as_mut() {
            for (ch, b) in sc.block.iter().enumerate() {
                t.audio(ch as u16, *written, b, captured_at);
            }
        }
        *written = target;
        self.status.frames.store(target, Ordering::Relaxed);
        Ok(())
    }
}
