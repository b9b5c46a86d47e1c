//! Recording: the user's microphone and the computer's own output (the other side of a call),
//! each on its own channel of one WAV file that survives a crash.
//!
//! Code map:
//! - [`device`]: devices by stable id; microphones and system-audio sources (Pulse monitors,
//!   WASAPI/Core Audio loopback).
//! - `source`: one thread per device owns its `cpal::Stream`; the audio callback only copies
//!   into a preallocated lock-free ring.
//! - `align`: one persistent resampler per source to 16 kHz; places each source on the
//!   recording clock (wall time minus pauses) from its callbacks' arrival times and trims the
//!   ratio for clock drift. A source's sample count is its clock.
//! - [`wav`]: the crash-safe WAV writer and [`wav::repair`].
//! - [`session`]: the sidecar (devices, pauses, marks, state) and [`session::recover`].
//! - [`recorder`]: starting, controlling and stopping a recording; `writer`: its thread, which
//!   drains the sources into their aligners and writes the file at the pace of the latest one.
//!
//! Invariants:
//! - The file is a valid WAV of everything up to the last flush (≤ 1 s ago) at every moment;
//!   after `kill -9` or power loss, [`session::recover`] makes it one of everything on disk.
//! - Left channel = microphone ("me"), right = system audio ("them"); mono when only one
//!   source is recorded. Nothing is ever mixed.
//! - The audio callback never allocates, locks or blocks; no `cpal::Stream` crosses threads.
//! - A recording is reported only after every source delivered its first audio.
//! - Memory does not grow with the length of a recording (rings, queues and buffers are
//!   bounded), so a 24-hour session costs what a 1-minute one does.
//! - Nothing here deletes audio. Every sample a device delivers is written, in order; silence
//!   goes in only for a gap the device had (overrun, full buffer, device change), and each
//!   insertion is a [`Correction`] in the session file and a warning on the spot.

pub mod align;
pub mod device;
mod error;
pub mod recorder;
pub mod session;
mod source;
pub mod wav;
mod writer;

pub use align::RATE;
pub use device::{DeviceInfo, DeviceSpec, Role};
pub use error::{CaptureError, Result};
pub use recorder::{AudioTap, Recorder, RecorderConfig, RecorderEvent, Recording, StopReason};
pub use session::{ChannelInfo, ChannelTiming, Correction, Mark, Recovered, Session, SessionState};
