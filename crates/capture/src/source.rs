//! One source: a thread that owns the cpal stream (streams are not `Send`; nothing pretends
//! they are), and a lock-free ring the audio callback copies into.
//!
//! The callback never allocates, locks or blocks: it downmixes each frame to mono, pushes it
//! into a preallocated SPSC ring (10 s deep), notes when it ran and how many frames the device
//! had delivered by then in a second small ring (the recorder's only clock input), and
//! updates atomics (peak level, counters).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, SizedSample};

use crate::device::{self, DeviceInfo, DeviceSpec, Direction, Role};
use crate::error::{CaptureError, Result};

/// State the callback shares with the recorder (atomics only on the audio side).
#[derive(Default)]
pub(crate) struct Shared {
    pub callbacks: AtomicU64,
    pub frames: AtomicU64,
    /// Peak |sample| since the last read, as f32 bits (non-negative floats order like u32).
    pub peak: AtomicU32,
    /// Frames lost because the ring was full (the writer stalled for > 10 s).
    pub overflow: AtomicU64,
    /// Overruns the device reported (its audio has a gap).
    pub xruns: AtomicU64,
    pub failed: AtomicBool,
    /// Set by the error callback (not the audio callback), so a mutex is fine here.
    pub failure: Mutex<String>,
}

impl Shared {
    pub(crate) fn take_peak(&self) -> f32 {
        f32::from_bits(self.peak.swap(0, Ordering::Relaxed))
    }
}

/// One audio callback: the device had delivered `frames` frames in all (those the ring had no
/// room for included) when it ran, `at_ns` after the source's epoch.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tick {
    pub frames: u64,
    pub at_ns: u64,
}

pub(crate) struct Source {
    pub role: Role,
    pub spec: DeviceSpec,
    pub info: DeviceInfo,
    pub rate: u32,
    pub consumer: rtrb::Consumer<f32>,
    pub ticks: rtrb::Consumer<Tick>,
    /// `Tick::at_ns` counts from here.
    pub epoch: Instant,
    pub shared: Arc<Shared>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

type Opened = (DeviceInfo, u32, rtrb::Consumer<f32>, rtrb::Consumer<Tick>);

impl Source {
    /// Opens and starts the device `spec` names; `Ok(None)` for [`DeviceSpec::None`].
    pub(crate) fn open(spec: &DeviceSpec, role: Role) -> Result<Option<Source>> {
        if *spec == DeviceSpec::None {
            return Ok(None);
        }
        let shared = Arc::new(Shared::default());
        let (ready_tx, ready_rx) = mpsc::channel::<Result<Opened>>();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let sh = shared.clone();
        let spec2 = spec.clone();
        let epoch = Instant::now();
        let thread = std::thread::Builder::new()
            .name(format!("tingji-capture-{}", role.as_str()))
            .spawn(move || {
                let sh2 = sh.clone();
                let (stream, host, opened) = match build(&spec2, role, sh, epoch) {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let id = opened.0.id.clone();
                let _ = ready_tx.send(Ok(opened));
                // Own the stream until the recorder lets go of this source, checking every
                // second that the device still exists: some backends (Pulse) keep calling
                // back with nothing after their device is removed.
                while let Err(mpsc::RecvTimeoutError::Timeout) = stop_rx.recv_timeout(Duration::from_secs(1)) {
                    if let Err(CaptureError::DeviceNotFound { .. }) = device::find(&host, &DeviceSpec::Named(id.clone()), role) {
                        if let Ok(mut m) = sh2.failure.lock() {
                            *m = "the device was removed".into();
                        }
                        sh2.failed.store(true, Ordering::Release);
                        break;
                    }
                }
                let _ = stop_rx.recv();
                let _ = stream.pause();
                drop(stream);
            })
            .map_err(|e| CaptureError::Open { device: spec.to_string(), detail: e.to_string() })?;
        let (info, rate, consumer, ticks) = ready_rx
            .recv_timeout(Duration::from_secs(15))
            .map_err(|_| CaptureError::Open { device: spec.to_string(), detail: "the audio system did not answer".into() })??;
        Ok(Some(Source {
            role,
            spec: spec.clone(),
            info,
            rate,
            consumer,
            ticks,
            epoch,
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        }))
    }

    pub(crate) fn failure(&self) -> Option<String> {
        self.shared.failed.load(Ordering::Acquire).then(|| self.shared.failure.lock().map(|s| s.clone()).unwrap_or_default())
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn build(spec: &DeviceSpec, role: Role, shared: Arc<Shared>, epoch: Instant) -> Result<(cpal::Stream, cpal::Host, Opened)> {
    let host = cpal::default_host();
    let (dev, info, dir) = device::find(&host, spec, role)?.expect("spec is not None");
    let open_err = |e: cpal::Error| CaptureError::Open { device: info.id.clone(), detail: e.to_string() };
    let supported = match dir {
        Direction::Input => dev.default_input_config(),
        Direction::Loopback => dev.default_output_config(),
    }
    .map_err(open_err)?;
    let channels = supported.channels();
    let rate = supported.sample_rate();
    let format = supported.sample_format();
    // The backend's default buffer, not a short fixed one: cpal's PulseAudio host turns a fixed
    // buffer of 20 ms into a server-side record buffer (`maxlength`) of 20 ms, and the server
    // silently drops what a client has not read within it — a recorder thread scheduled 30 ms
    // late lost 10.75 ms of speech that `parecord` kept. Delivery in larger blocks changes
    // latency only (see `align`).
    let mut config: cpal::StreamConfig = supported.config();
    config.buffer_size = cpal::BufferSize::Default;
    let (producer, consumer) = rtrb::RingBuffer::<f32>::new(rate as usize * 10);
    // 10 s of callbacks at the shortest period cpal delivers here.
    let (tick_tx, tick_rx) = rtrb::RingBuffer::<Tick>::new(8192);
    let rings = Rings { audio: producer, ticks: tick_tx, epoch };
    let stream = make_stream(&dev, config, format, rings, shared.clone(), channels).map_err(open_err)?;
    stream.play().map_err(open_err)?;
    Ok((stream, host, (info, rate, consumer, tick_rx)))
}

/// What the audio callback writes to.
struct Rings {
    audio: rtrb::Producer<f32>,
    ticks: rtrb::Producer<Tick>,
    epoch: Instant,
}

fn make_stream(
    dev: &cpal::Device,
    config: cpal::StreamConfig,
    format: cpal::SampleFormat,
    rings: Rings,
    shared: Arc<Shared>,
    channels: u16,
) -> Result<cpal::Stream, cpal::Error> {
    let err_shared = shared.clone();
    let on_error = move |e: cpal::Error| {
        use cpal::ErrorKind as K;
        match e.kind() {
            K::Xrun => {
                tracing::debug!("stream: {e}");
                err_shared.xruns.fetch_add(1, Ordering::Relaxed);
            }
            K::DeviceChanged | K::RealtimeDenied => tracing::debug!("stream: {e}"),
            _ => {
                if let Ok(mut m) = err_shared.failure.lock() {
                    *m = e.to_string();
                }
                err_shared.failed.store(true, Ordering::Release);
            }
        }
    };
    macro_rules! build {
        ($t:ty) => {
            dev.build_input_stream::<$t, _, _>(config, callback::<$t>(rings, shared, channels), on_error, None)
        };
    }
    match format {
        cpal::SampleFormat::F32 => build!(f32),
        cpal::SampleFormat::I16 => build!(i16),
        cpal::SampleFormat::I32 => build!(i32),
        cpal::SampleFormat::U16 => build!(u16),
        cpal::SampleFormat::U8 => build!(u8),
        cpal::SampleFormat::I8 => build!(i8),
        cpal::SampleFormat::F64 => build!(f64),
        _ => build!(f32),
    }
}

/// The audio callback: downmix, copy into the ring, note the time, update atomics. Nothing else.
fn callback<T>(mut rings: Rings, shared: Arc<Shared>, channels: u16) -> impl FnMut(&[T], &cpal::InputCallbackInfo) + Send + 'static
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let ch = channels.max(1) as usize;
    let scale = 1.0 / ch as f32;
    let mut delivered = 0u64;
    move |data: &[T], _| {
        let mut peak = 0.0f32;
        let mut lost = 0u64;
        let frames = data.len() / ch;
        for frame in data.chunks_exact(ch) {
            let mut s = 0.0f32;
            for x in frame {
                s += x.to_sample::<f32>();
            }
            let s = s * scale;
            peak = peak.max(s.abs());
            if rings.audio.push(s).is_err() {
                lost += 1;
            }
        }
        shared.peak.fetch_max(peak.to_bits(), Ordering::Relaxed);
        shared.frames.fetch_add(frames as u64, Ordering::Relaxed);
        delivered += frames as u64;
        // A full tick ring only loses timing (the writer reads it every 20 ms), never audio.
        let _ = rings.ticks.push(Tick { frames: delivered, at_ns: rings.epoch.elapsed().as_nanos() as u64 });
        if lost > 0 {
            shared.overflow.fetch_add(lost, Ordering::Relaxed);
        }
        shared.callbacks.fetch_add(1, Ordering::Release);
    }
}
