//! # tingji-media: any audio/video file → a stream of 16 kHz f32 chunks
//!
//! [`AudioStream::open`] recognises a file by its content (the extension is only a hint),
//! picks the audio track to decode and then hands out the audio as a sequence of [`Chunk`]s of
//! (at most) one second at [`TARGET_RATE`] = 16 kHz, either downmixed to mono or with every
//! source channel kept ([`ChannelMode`]).
//!
//! ## Backends
//!
//! * **Native** (pure Rust, via symphonia; Opus via the bundled libopus): WAV (PCM int/float,
//!   any rate and channel count), FLAC, MP3, AAC/M4A, ALAC, Ogg Vorbis, Opus (Ogg, WebM/MKV),
//!   AIFF, CAF, and the audio track of MP4/MOV/M4V and MKV/WebM videos.
//! * **ffmpeg**: everything else (WMA/ASF, AMR, FLV, AVI, MPEG-PS/TS, codecs symphonia lacks such
//!   as AC-3, ...) when an `ffmpeg` executable is allowed by [`FfmpegPolicy`] and can be found.
//!   ffmpeg's output is read from a pipe as it is produced; the child is killed and reaped when
//!   the stream is dropped. Without ffmpeg such files give [`MediaError::FfmpegMissing`].
//! * **Raw**: headerless PCM, only when [`DecodeOptions::raw`] says how to read it.
//!
//! ## Invariants
//!
//! * **Streaming, bounded memory.** Nothing is ever decoded "whole": the decoder, the resampler
//!   and the output queue hold at most a few seconds of audio, so memory use does not grow with
//!   the file length (a 6-hour file decodes in well under 400 MB peak RSS). Only the convenience
//!   function [`decode_all`] collects everything, and is meant for short files.
//! * **One resampler per stream.** Each [`AudioStream`] creates exactly one resampler (covering
//!   all output channels) when it is opened and feeds it across packet boundaries; its start-up
//!   delay is trimmed and its tail flushed at the end, so the output has
//!   `ceil(source_frames * 16000 / source_rate)` samples and is time-aligned with the source.
//!   Sources that are already 16 kHz are passed through untouched. (The resampler is only reset
//!   after a seek in [`AudioStream::skip_to`], or rebuilt if the stream changes its sample rate.)
//! * **Mono is the average** of all source channels.
//! * **The source file is never modified** — it is only ever opened for reading (and given to
//!   ffmpeg as an input).
//! * **Errors are classified, never panics**: every failure maps to a [`MediaError`] variant with
//!   a stable [`code`](MediaError::code) (even a panic inside symphonia on malformed data is
//!   caught and reported as [`MediaError::Corrupt`]). A damaged packet in the middle is skipped
//!   with a warning; a file that ends early returns what could be decoded and reports
//!   `"file is truncated at 12.3 s"` in [`AudioStream::warnings`]. A file is recognised by its
//!   content: a text file named `.mp3` is [`MediaError::NotMedia`], a WAV named `.mp3` decodes.
//! * **Time-aligned output**: sample `i` of the output is at `i / 16000` s of the track.
//!   Encoder delay is removed where the container says how (gapless info of MP3/Vorbis/Opus,
//!   the edit list of AAC in MP4/M4A); ffmpeg's output follows the stream timestamps.
//!
//! ## Track choice
//!
//! The audio track flagged default is decoded (for Matroska/WebM the `FlagDefault` elements are
//! read directly, because a missing element means "default"), otherwise the first audio track;
//! [`DecodeOptions::track`] overrides this. With several audio tracks,
//! [`MediaInfo::track_note`] says which one was taken.
//!
//! ```no_run
//! use tingji_media::{AudioStream, DecodeOptions};
//! # fn main() -> Result<(), tingji_media::MediaError> {
//! let mut stream = AudioStream::open("talk.mp4".as_ref(), &DecodeOptions::default())?;
//! while let Some(chunk) = stream.next_chunk()? {
//!     let mono: &[f32] = &chunk.channels[0];
//!     // feed `mono` (16 kHz) to the recogniser; chunk.start_sample is its position
//!     # let _ = mono;
//! }
//! for w in stream.warnings() {
//!     eprintln!("warning: {w}");
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

mod error;
mod ffmpeg;
mod ffprobe;
mod identity;
mod mkv;
mod mp4;
mod native;
mod options;
mod raw;
mod resample;
mod sniff;

pub use error::MediaError;
pub use identity::file_identity;
pub use options::{ChannelMode, DecodeOptions, FfmpegPolicy, RawFormat, RawSample};

use resample::StreamResampler;
use sniff::Sniffed;

/// The output sample rate.
pub const TARGET_RATE: u32 = 16_000;

/// Frames per chunk handed out by [`AudioStream::next_chunk`] (one second; the last chunk may
/// be shorter).
pub const CHUNK_FRAMES: usize = TARGET_RATE as usize;

/// Which decoder is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// symphonia (+ libopus), in process.
    Native,
    /// An external ffmpeg process.
    Ffmpeg,
    /// Headerless PCM ([`DecodeOptions::raw`]).
    Raw,
}

/// What was opened.
#[derive(Debug, Clone)]
pub struct MediaInfo {
    /// The file.
    pub path: PathBuf,
    /// The decoder in use.
    pub backend: Backend,
    /// Container format, e.g. `"wav"`, `"mp4"`, `"m4a"`, `"mkv"`, `"webm"`, `"ogg"`, `"asf"`.
    pub container: String,
    /// Codec of the decoded track, e.g. `"pcm_s16le"`, `"aac"`, `"opus"`, `"wmav2"`.
    pub codec: String,
    /// Sample rate of the source track in Hz (0 if unknown).
    pub sample_rate: u32,
    /// Channels of the source track.
    pub channels: u16,
    /// Duration declared by the container, if known.
    pub duration_ms: Option<u64>,
    /// Id of the decoded track (container track id; ffmpeg stream index for the ffmpeg backend).
    pub track_id: u32,
    /// Number of audio tracks in the file.
    pub audio_tracks: usize,
    /// Set when there are several audio tracks, e.g. `"3 audio tracks; using track 1 (default)"`.
    pub track_note: Option<String>,
}

/// A piece of decoded audio at 16 kHz.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// Index (at 16 kHz, from the start of the file) of the chunk's first sample.
    pub start_sample: u64,
    /// One Vec in [`ChannelMode::Mono`], one per source channel in [`ChannelMode::Separate`];
    /// all of the same length.
    pub channels: Vec<Vec<f32>>,
}

impl Chunk {
    /// Number of samples per channel.
    pub fn len(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// True if the chunk holds no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Most warnings kept per stream (further ones are only logged).
const MAX_WARNINGS: usize = 50;

/// Non-fatal problems met while decoding.
#[derive(Debug, Default)]
pub(crate) struct Warnings {
    list: Vec<String>,
    full: bool,
    truncated_ms: Option<u64>,
}

impl Warnings {
    pub(crate) fn push(&mut self, msg: String) {
        if self.list.len() < MAX_WARNINGS {
            self.list.push(msg);
        } else if !self.full {
            self.full = true;
            self.list
                .push("further warnings are not listed (see the log)".into());
        }
    }

    pub(crate) fn truncated_at(&mut self, secs: f64) {
        self.truncated_ms = Some((secs * 1000.0).round().max(0.0) as u64);
        self.list.push(format!("file is truncated at {secs:.1} s"));
    }

    fn truncated_early(&mut self, secs: f64, declared_secs: f64) {
        self.truncated_ms = Some((secs * 1000.0).round().max(0.0) as u64);
        self.list.push(format!(
            "file is truncated at {secs:.1} s (its header declares {declared_secs:.1} s)"
        ));
    }
}

/// A decoder backend producing planar f32 blocks at some sample rate.
pub(crate) trait Source: Send {
    /// Decode the next block into `out` (one Vec per channel, all the same length). Returns the
    /// block's sample rate, or `None` at the end of the stream.
    fn read(
        &mut self,
        out: &mut Vec<Vec<f32>>,
        warnings: &mut Warnings,
    ) -> Result<Option<u32>, MediaError>;

    /// Reposition so that the next block starts at or before source frame `frame`. Returns the
    /// source frame at which the next block starts, or `None` if seeking is unsupported.
    fn seek(&mut self, frame: u64, warnings: &mut Warnings) -> Result<Option<u64>, MediaError>;

    /// An error to report after the end of the stream (e.g. ffmpeg's exit status).
    fn take_error(&mut self) -> Option<MediaError> {
        None
    }
}

/// A decoding audio stream: call [`next_chunk`](AudioStream::next_chunk) until it returns
/// `Ok(None)`.
pub struct AudioStream {
    info: MediaInfo,
    opts: DecodeOptions,
    source: Box<dyn Source>,
    resampler: StreamResampler,
    out_channels: usize,
    /// A decoded block not yet fed to the resampler.
    stash: Option<(Vec<Vec<f32>>, u32)>,
    src_buf: Vec<Vec<f32>>,
    mix_buf: Vec<Vec<f32>>,
    /// Resampled audio not yet handed out; `queue[c][0]` is sample `pos`.
    queue: Vec<Vec<f32>>,
    pos: u64,
    eof: bool,
    deferred: Option<MediaError>,
    warnings: Warnings,
    channel_mismatch_warned: bool,
    /// Duration the track header declares (to notice files that end early without an error).
    declared_ms: Option<u64>,
}

impl fmt::Debug for AudioStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AudioStream")
            .field("info", &self.info)
            .field("out_channels", &self.out_channels)
            .field("pos", &self.pos)
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}

/// Fill in the path of errors created deep inside a backend.
/// Sample rates a file may declare (outside, a crafted or broken header: resampling from 1 Hz or
/// 2 GHz would take minutes and gigabytes).
pub const RATE_RANGE: std::ops::RangeInclusive<u32> = 1_000..=768_000;
/// Channels a file may declare.
pub const MAX_CHANNELS: usize = 64;

/// Refuses a declared format no real recording has, before anything is decoded or allocated.
fn check_format(path: &Path, rate: u32, channels: usize) -> Result<(), MediaError> {
    let detail = if !RATE_RANGE.contains(&rate) {
        format!("it declares a sample rate of {rate} Hz (supported: 1 000–768 000 Hz)")
    } else if channels == 0 || channels > MAX_CHANNELS {
        format!("it declares {channels} channels (supported: 1–{MAX_CHANNELS})")
    } else {
        return Ok(());
    };
    Err(MediaError::Unsupported {
        path: path.to_path_buf(),
        detail,
    })
}

fn with_path(e: MediaError, path: &Path) -> MediaError {
    match e {
        MediaError::Corrupt { path: p, detail } if p.as_os_str().is_empty() => {
            MediaError::Corrupt {
                path: path.to_path_buf(),
                detail,
            }
        }
        MediaError::Truncated { path: p, at_ms } if p.as_os_str().is_empty() => {
            MediaError::Truncated {
                path: path.to_path_buf(),
                at_ms,
            }
        }
        other => other,
    }
}

const RAW_HINT: &str = "if it is headerless PCM, pass its format, e.g. --raw-format s16le:16000:1 (sample:rate:channels)";

/// How the ffmpeg fallback was reached (decides the error when ffmpeg cannot help).
enum Via {
    /// Recognised as a format without a native reader.
    Foreign(String),
    /// Not recognised at all.
    Unknown,
    /// Native decoding is not supported for this file (codec or variant).
    NativeUnsupported(String),
    /// Native decoding found the file damaged.
    NativeCorrupt(String),
    /// Native demuxing found no audio track.
    NativeNoAudio,
}

fn read_head(path: &Path) -> Result<Vec<u8>, MediaError> {
    let f = std::fs::File::open(path)?;
    let mut head = Vec::with_capacity(sniff::HEAD_LEN);
    f.take(sniff::HEAD_LEN as u64).read_to_end(&mut head)?;
    Ok(head)
}

fn container_from_symphonia(short: &str) -> String {
    match short {
        "wave" => "wav",
        "isomp4" => "mp4",
        "matroska" => "mkv",
        other => other,
    }
    .to_string()
}

fn ffmpeg_container(format_name: &str) -> String {
    let first = format_name.split(',').next().unwrap_or(format_name);
    match first {
        "mov" => "mp4",
        "matroska" => "mkv",
        "mpegts" => "mpeg-ts",
        "mpeg" => "mpeg-ps",
        other => other,
    }
    .to_string()
}

/// ffmpeg "formats" that are not audio or video files.
fn ffmpeg_non_media(format_name: &str) -> bool {
    let first = format_name.split(',').next().unwrap_or(format_name);
    first.ends_with("_pipe")
        || matches!(
            first,
            "image2"
                | "tty"
                | "srt"
                | "ass"
                | "webvtt"
                | "subviewer"
                | "subviewer1"
                | "lrc"
                | "microdvd"
                | "jacosub"
                | "sami"
                | "mpl2"
                | "pjs"
                | "realtext"
                | "stl"
                | "vplayer"
                | "aqtitle"
                | "mpsub"
                | "scc"
                | "ffmetadata"
                | "concat"
                | "hls"
                | "gif"
                | "apng"
                | "bin"
                | "txt"
        )
}

impl AudioStream {
    /// Open a file for decoding.
    pub fn open(path: &Path, opts: &DecodeOptions) -> Result<AudioStream, MediaError> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(MediaError::NotFound(path.to_path_buf()));
            }
            Err(e) => return Err(MediaError::Io(e)),
        };
        if meta.is_dir() {
            return Err(MediaError::IsDirectory(path.to_path_buf()));
        }
        if meta.is_file() && meta.len() == 0 {
            return Err(MediaError::Empty(path.to_path_buf()));
        }
        let mut warnings = Warnings::default();

        if let Some(raw) = opts.raw {
            let source = raw::RawSource::open(path, raw)?;
            let frames = meta.len() / raw.frame_bytes() as u64;
            let info = MediaInfo {
                path: path.to_path_buf(),
                backend: Backend::Raw,
                container: "raw".into(),
                codec: format!("pcm_{}", raw.sample.name()),
                sample_rate: raw.rate,
                channels: raw.channels,
                duration_ms: Some(frames * 1000 / raw.rate as u64),
                track_id: 0,
                audio_tracks: 1,
                track_note: None,
            };
            return Self::build(info, opts, Box::new(source), warnings, None);
        }

        let head = read_head(path)?;
        if head.is_empty() {
            return Err(MediaError::Empty(path.to_path_buf()));
        }
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        let sniffed = sniff::sniff(&head);
        tracing::debug!(path = %path.display(), ?sniffed, "sniffed");
        match sniffed {
            Sniffed::NotMedia(detail) => Err(MediaError::NotMedia {
                path: path.to_path_buf(),
                detail,
            }),
            Sniffed::Foreign(name) => Self::open_ffmpeg(
                path,
                opts,
                Via::Foreign(name.to_string()),
                ext.as_deref(),
                warnings,
            ),
            Sniffed::Unknown => {
                if ext.as_deref().is_some_and(sniff::is_raw_extension) {
                    return Err(MediaError::Unsupported {
                        path: path.to_path_buf(),
                        detail: format!("headerless audio data; {RAW_HINT}"),
                    });
                }
                Self::open_ffmpeg(path, opts, Via::Unknown, ext.as_deref(), warnings)
            }
            Sniffed::Native(container) => {
                let open_ended = sniff::wav_open_ended(&head);
                match native::open(path, ext.as_deref(), opts.track, open_ended, &mut warnings) {
                    Ok(n) => {
                        check_format(path, n.sample_rate, n.channels as usize)?;
                        let container = if container == "mp3" || container == "aac" {
                            // Trust symphonia about MPEG audio layers / ADTS.
                            container_from_symphonia(n.format_short_name)
                        } else {
                            container.to_string()
                        };
                        let info = MediaInfo {
                            path: path.to_path_buf(),
                            backend: Backend::Native,
                            container,
                            codec: n.codec,
                            sample_rate: n.sample_rate,
                            channels: n.channels,
                            duration_ms: n.duration_ms,
                            track_id: n.track_id,
                            audio_tracks: n.audio_tracks,
                            track_note: n.track_note,
                        };
                        Self::build(
                            info,
                            opts,
                            Box::new(n.source),
                            warnings,
                            n.track_duration_ms,
                        )
                    }
                    Err(fail) => {
                        tracing::debug!(?fail, "native decoding not possible");
                        let via = match fail {
                            native::NativeFail::NoAudio => Via::NativeNoAudio,
                            native::NativeFail::TrackNotFound { track, available } => {
                                return Err(MediaError::TrackNotFound {
                                    path: path.to_path_buf(),
                                    track,
                                    available,
                                });
                            }
                            native::NativeFail::UnsupportedCodec(codec) => {
                                Via::NativeUnsupported(format!("{container} with {codec} audio"))
                            }
                            native::NativeFail::Unsupported(m) => {
                                Via::NativeUnsupported(format!("{container} ({m})"))
                            }
                            native::NativeFail::Corrupt(d) => Via::NativeCorrupt(d),
                            native::NativeFail::Truncated => {
                                return Err(MediaError::Truncated {
                                    path: path.to_path_buf(),
                                    at_ms: 0,
                                });
                            }
                            native::NativeFail::Io(e) => return Err(MediaError::Io(e)),
                        };
                        // Problems met by the failed native attempt are not this stream's.
                        Self::open_ffmpeg(path, opts, via, ext.as_deref(), Warnings::default())
                    }
                }
            }
        }
    }

    fn open_ffmpeg(
        path: &Path,
        opts: &DecodeOptions,
        via: Via,
        ext: Option<&str>,
        warnings: Warnings,
    ) -> Result<AudioStream, MediaError> {
        let p = || path.to_path_buf();
        let Some(tools) = ffmpeg::locate(&opts.ffmpeg) else {
            return Err(match via {
                Via::Foreign(format) | Via::NativeUnsupported(format) => {
                    MediaError::FfmpegMissing { path: p(), format }
                }
                Via::NativeCorrupt(detail) => MediaError::Corrupt { path: p(), detail },
                Via::NativeNoAudio => MediaError::NoAudioTrack(p()),
                Via::Unknown => match ext.and_then(sniff::media_extension_name) {
                    Some(name) => MediaError::FfmpegMissing {
                        path: p(),
                        format: name.into(),
                    },
                    None => MediaError::NotMedia {
                        path: p(),
                        detail: format!("unrecognised data; {RAW_HINT}"),
                    },
                },
            });
        };
        let probe = match ffmpeg::probe(&tools, path)? {
            ffmpeg::Probed::Ok(info) => info,
            ffmpeg::Probed::Failed(line) => {
                tracing::debug!("ffmpeg cannot read {}: {line}", path.display());
                return Err(match via {
                    Via::Unknown => MediaError::NotMedia {
                        path: p(),
                        detail: format!("unrecognised data (ffmpeg: {line}); {RAW_HINT}"),
                    },
                    Via::NativeNoAudio => MediaError::NoAudioTrack(p()),
                    Via::NativeCorrupt(detail) => MediaError::Corrupt { path: p(), detail },
                    Via::Foreign(_) | Via::NativeUnsupported(_) => MediaError::Corrupt {
                        path: p(),
                        detail: format!("ffmpeg: {line}"),
                    },
                });
            }
        };
        if matches!(via, Via::Unknown) {
            let low = probe.probe_score.is_some_and(|s| s < 25);
            if low || ffmpeg_non_media(&probe.format_name) {
                return Err(MediaError::NotMedia {
                    path: p(),
                    detail: format!(
                        "unrecognised data (ffmpeg guesses {:?}{}); {RAW_HINT}",
                        probe.format_name,
                        if low { " with low confidence" } else { "" }
                    ),
                });
            }
        }
        let audio: Vec<&ffmpeg::StreamInfo> = probe.audio().collect();
        if audio.is_empty() {
            return Err(match via {
                Via::NativeCorrupt(detail) => MediaError::Corrupt { path: p(), detail },
                _ => MediaError::NoAudioTrack(p()),
            });
        }
        let (stream, reason) = match opts.track {
            Some(id) => match audio.iter().find(|s| s.index == id) {
                Some(s) => (*s, "requested"),
                None => {
                    return Err(MediaError::TrackNotFound {
                        path: p(),
                        track: id,
                        available: audio.iter().map(|s| s.index).collect(),
                    });
                }
            },
            None => match audio.iter().find(|s| s.default) {
                Some(s) => (*s, "default"),
                None => (audio[0], "first"),
            },
        };
        if let (Some(rate), Some(ch)) = (stream.sample_rate, stream.channels) {
            check_format(path, rate, ch as usize)?;
        }
        let channels = stream
            .channels
            .unwrap_or(if opts.channels == ChannelMode::Mono {
                1
            } else {
                2
            });
        let track_note = (audio.len() > 1).then(|| {
            format!(
                "{} audio tracks; using track {} ({reason})",
                audio.len(),
                stream.index
            )
        });
        let container = match &via {
            Via::Foreign(name) => name.clone(),
            _ => ffmpeg_container(&probe.format_name),
        };
        let info = MediaInfo {
            path: p(),
            backend: Backend::Ffmpeg,
            container,
            codec: stream.codec_name.clone(),
            sample_rate: stream.sample_rate.unwrap_or(0),
            channels,
            duration_ms: stream
                .duration
                .or(probe.duration)
                .filter(|d| d.is_finite() && *d >= 0.0)
                .map(|d| (d * 1000.0).round() as u64),
            track_id: stream.index,
            audio_tracks: audio.len(),
            track_note,
        };
        match &via {
            Via::NativeUnsupported(what) => {
                tracing::info!("{}: using ffmpeg for {what}", path.display())
            }
            Via::NativeCorrupt(why) => {
                tracing::info!(
                    "{}: native decoder failed ({why}); using ffmpeg",
                    path.display()
                )
            }
            _ => tracing::debug!("{}: using ffmpeg", path.display()),
        }
        let mut warnings = warnings;
        if let Via::NativeCorrupt(why) = &via {
            warnings.push(format!(
                "the native decoder failed ({why}); decoded with ffmpeg"
            ));
        }
        let declared_ms = stream
            .duration
            .filter(|d| d.is_finite() && *d > 0.0)
            .map(|d| (d * 1000.0) as u64);
        let source = ffmpeg::FfmpegSource::spawn(&tools.ffmpeg, path, stream.index, channels)?;
        Self::build(info, opts, Box::new(source), warnings, declared_ms)
    }

        /// Decode the first block, create the resampler and assemble the stream.
    fn build(
        mut info: MediaInfo,
        opts: &DecodeOptions,
        mut source: Box<dyn Source>,
        mut warnings: Warnings,
        declared_ms: Option<u64>,
    ) -> Result<AudioStream, MediaError> {
        let path = info.path.clone();
        let mut first = Vec::new();
        let first_rate = source
            .read(&mut first, &mut warnings)
            .map_err(|e| with_path(e, &path))?;
        let (rate, src_channels) = match first_rate {
            Some(rate) => {
                if info.backend != Backend::Ffmpeg {
                    info.sample_rate = rate;
                    info.channels = first.len() as u16;
                }
                (rate, first.len())
            }
            None => {
                if let Some(e) = source.take_error() {
                    return Err(with_path(e, &path));
                }
                let rate = if info.backend == Backend::Ffmpeg {
                    TARGET_RATE
                } else {
                    info.sample_rate
                };
                (rate.max(1), info.channels.max(1) as usize)
            }
        };
        check_format(&path, rate, src_channels)?;
        let out_channels = match opts.channels {
            ChannelMode::Mono => 1,
            ChannelMode::Separate => src_channels.max(1),
        };
        let resampler = StreamResampler::new(rate, out_channels)?;
        Ok(AudioStream {
            info,
            opts: opts.clone(),
            source,
            resampler,
            out_channels,
            stash: first_rate.map(|r| (first, r)),
            src_buf: Vec::new(),
            mix_buf: vec![Vec::new(); out_channels],
            queue: vec![Vec::with_capacity(CHUNK_FRAMES * 2); out_channels],
            pos: 0,
            eof: false,
            deferred: None,
            warnings,
            channel_mismatch_warned: false,
            declared_ms,
        })
    }

    /// What was opened.
    pub fn info(&self) -> &MediaInfo {
        &self.info
    }

    /// Number of channels in every [`Chunk`] (1 in mono mode).
    pub fn output_channels(&self) -> usize {
        self.out_channels
    }

    /// Non-fatal problems met so far (damaged packets skipped, `"file is truncated at 12.3 s"`,
    /// ffmpeg messages, ...).
    pub fn warnings(&self) -> &[String] {
        &self.warnings.list
    }

    /// If the file ended unexpectedly: the position (source time, ms) where it ends.
    pub fn truncated_at_ms(&self) -> Option<u64> {
        self.warnings.truncated_ms
    }

    /// Index (at 16 kHz) of the first sample the next chunk will start with.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Decode until at least one more block has been added to the output queue, or the end.
    fn fill(&mut self) -> Result<(), MediaError> {
        let rate = match self.stash.take() {
            Some((buf, rate)) => {
                self.src_buf = buf;
                Some(rate)
            }
            None => self.source.read(&mut self.src_buf, &mut self.warnings)?,
        };
        let Some(rate) = rate else {
            self.resampler.finish(&mut self.queue)?;
            self.eof = true;
            self.deferred = self.source.take_error();
            self.check_declared_duration();
            return Ok(());
        };
        let frames = self.src_buf.first().map_or(0, Vec::len);
        if frames == 0 {
            return Ok(());
        }
        if rate != self.resampler.rate() {
            tracing::warn!(
                "sample rate changed from {} to {rate} Hz",
                self.resampler.rate()
            );
            self.resampler.finish(&mut self.queue)?;
            self.resampler = StreamResampler::new(rate, self.out_channels)?;
        }
        let n_src = self.src_buf.len();
        match self.opts.channels {
            ChannelMode::Mono if n_src == 1 => {
                self.resampler
                    .push(&self.src_buf, frames, &mut self.queue)?;
            }
            ChannelMode::Mono => {
                let mix = &mut self.mix_buf[0];
                mix.clear();
                mix.extend_from_slice(&self.src_buf[0][..frames]);
                for ch in &self.src_buf[1..] {
                    for (m, s) in mix.iter_mut().zip(ch) {
                        *m += *s;
                    }
                }
                let scale = 1.0 / n_src as f32;
                for m in mix.iter_mut() {
                    *m *= scale;
                }
                self.resampler
                    .push(&self.mix_buf, frames, &mut self.queue)?;
            }
            ChannelMode::Separate if n_src == self.out_channels => {
                self.resampler
                    .push(&self.src_buf, frames, &mut self.queue)?;
            }
            ChannelMode::Separate => {
                if !self.channel_mismatch_warned {
                    self.channel_mismatch_warned = true;
                    let msg = format!(
                        "channel count changed from {} to {n_src}; missing channels are silent",
                        self.out_channels
                    );
                    tracing::warn!("{msg}");
                    self.warnings.push(msg);
                }
                for (c, m) in self.mix_buf.iter_mut().enumerate() {
                    m.clear();
                    match self.src_buf.get(c) {
                        Some(s) => m.extend_from_slice(&s[..frames]),
                        None => m.resize(frames, 0.0),
                    }
                }
                self.resampler
                    .push(&self.mix_buf, frames, &mut self.queue)?;
            }
        }
        Ok(())
    }

    /// At the end: a stream much shorter than its header declares was cut off.
    fn check_declared_duration(&mut self) {
        let (Some(declared), None) = (self.declared_ms, self.warnings.truncated_ms) else {
            return;
        };
        let total = self.pos + self.queue[0].len() as u64;
        let decoded_ms = total * 1000 / TARGET_RATE as u64;
        if decoded_ms + (declared / 33).max(1000) < declared {
            let msg = format!("decoded {decoded_ms} ms of the declared {declared} ms");
            tracing::warn!(
                "{}: {msg}; the file is probably truncated",
                self.info.path.display()
            );
            self.warnings
                .truncated_early(decoded_ms as f64 / 1000.0, declared as f64 / 1000.0);
        }
    }

    fn fill_checked(&mut self) -> Result<(), MediaError> {
        if let Err(e) = self.fill() {
            // Errors are final: the stream ends here.
            self.eof = true;
            for q in &mut self.queue {
                q.clear();
            }
            return Err(with_path(e, &self.info.path));
        }
        Ok(())
    }

    /// The next chunk of (at most) one second, or `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, MediaError> {
        loop {
            let avail = self.queue[0].len();
            if avail >= CHUNK_FRAMES || (self.eof && avail > 0) {
                let n = avail.min(CHUNK_FRAMES);
                let channels: Vec<Vec<f32>> = self
                    .queue
                    .iter_mut()
                    .map(|q| q.drain(..n).collect())
                    .collect();
                let chunk = Chunk {
                    start_sample: self.pos,
                    channels,
                };
                self.pos += n as u64;
                return Ok(Some(chunk));
            }
            if self.eof {
                if let Some(e) = self.deferred.take() {
                    return Err(with_path(e, &self.info.path));
                }
                return Ok(None);
            }
            self.fill_checked()?;
        }
    }

    /// Skip forward so that the next chunk starts at 16 kHz sample `sample_16k` (used to resume
    /// from a checkpoint). Uses a container seek when the distance is large and the backend
    /// supports it, otherwise decodes and discards. Skipping backwards reopens the file.
    /// Skipping past the end leaves the stream at its end.
    pub fn skip_to(&mut self, sample_16k: u64) -> Result<(), MediaError> {
        if sample_16k < self.pos {
            tracing::debug!("skip_to backwards: reopening {}", self.info.path.display());
            *self = AudioStream::open(&self.info.path.clone(), &self.opts.clone())?;
        }
        const SEEK_MIN: u64 = 5 * TARGET_RATE as u64;
        if !self.eof && sample_16k - self.pos > SEEK_MIN {
            let rate = self.resampler.rate() as u64;
            let src_frame = (sample_16k as u128 * rate as u128 / TARGET_RATE as u128) as u64;
            match self.source.seek(src_frame, &mut self.warnings) {
                Ok(Some(actual)) => {
                    let new_pos = (actual as u128 * TARGET_RATE as u128 / rate as u128) as u64;
                    tracing::debug!(target = sample_16k, new_pos, "seeked");
                    self.resampler.reset();
                    self.stash = None;
                    for q in &mut self.queue {
                        q.clear();
                    }
                    self.pos = new_pos;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!("seek failed ({e}); reopening and decoding forward");
                    *self = AudioStream::open(&self.info.path.clone(), &self.opts.clone())?;
                }
            }
        }
        while self.pos < sample_16k {
            let avail = self.queue[0].len() as u64;
            if avail == 0 {
                if self.eof {
                    if let Some(e) = self.deferred.take() {
                        return Err(with_path(e, &self.info.path));
                    }
                    break;
                }
                self.fill_checked()?;
                continue;
            }
            let n = avail.min(sample_16k - self.pos) as usize;
            for q in &mut self.queue {
                q.drain(..n);
            }
            self.pos += n as u64;
        }
        Ok(())
    }
}

/// Decode a whole file into memory: returns the info and one Vec per output channel.
/// Convenient for short files and tests; use [`AudioStream`] for anything long.
pub fn decode_all(
    path: &Path,
    opts: &DecodeOptions,
) -> Result<(MediaInfo, Vec<Vec<f32>>), MediaError> {
    let mut stream = AudioStream::open(path, opts)?;
    let mut out = vec![Vec::new(); stream.output_channels()];
    while let Some(chunk) = stream.next_chunk()? {
        for (o, c) in out.iter_mut().zip(chunk.channels) {
            o.extend_from_slice(&c);
        }
    }
    Ok((stream.info().clone(), out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<AudioStream>();
    }

    #[test]
    fn codes_are_snake_case() {
        let e = MediaError::NoAudioTrack(PathBuf::from("x"));
        assert_eq!(e.code(), "no_audio_track");
        let e = MediaError::FfmpegMissing {
            path: "a.wma".into(),
            format: "asf".into(),
        };
        assert!(e.to_string().contains("ffmpeg"));
    }
}

/// Peak levels (0..=1, scaled so the loudest slice is 1) of a whole file in `buckets` equal
/// slices of time, for drawing a waveform. Streams the file: memory is one value per 100 ms
/// (a 6-hour file: 216,000 values), whatever its length.
pub fn peaks(path: &Path, buckets: usize) -> Result<Vec<f32>, MediaError> {
    const STEP: usize = 1600; // 100 ms at 16 kHz
    let mut stream = AudioStream::open(path, &DecodeOptions::default())?;
    let mut fine: Vec<f32> = Vec::new();
    let (mut cur, mut n) = (0f32, 0usize);
    while let Some(chunk) = stream.next_chunk()? {
        for &x in chunk.channels.first().map(Vec::as_slice).unwrap_or(&[]) {
            cur = cur.max(x.abs());
            n += 1;
            if n == STEP {
                fine.push(cur);
                (cur, n) = (0.0, 0);
            }
        }
    }
    if n > 0 {
        fine.push(cur);
    }
    Ok(reduce_peaks(&fine, buckets))
}

/// `fine` peaks as `buckets` maxima, normalised to the loudest.
fn reduce_peaks(fine: &[f32], buckets: usize) -> Vec<f32> {
    if fine.is_empty() || buckets == 0 {
        return Vec::new();
    }
    let out: Vec<f32> = (0..buckets)
        .map(|b| {
            let lo = b * fine.len() / buckets;
            let hi = ((b + 1) * fine.len() / buckets).max(lo + 1).min(fine.len());
            fine[lo.min(fine.len() - 1)..hi].iter().copied().fold(0.0, f32::max)
        })
        .collect();
    let max = out.iter().copied().fold(0.0, f32::max);
    if max > 0.0 { out.into_iter().map(|x| x / max).collect() } else { out }
}

#[cfg(test)]
mod peaks_tests {
    #[test]
    fn peaks_are_maxima_of_equal_slices_normalised_to_the_loudest() {
        let fine = [0.1, 0.2, 0.4, 0.1, 0.0, 0.05];
        assert_eq!(super::reduce_peaks(&fine, 3), vec![0.5, 1.0, 0.125]);
        // More buckets than values: each value repeated, never an empty slice.
        assert_eq!(super::reduce_peaks(&[0.5, 1.0], 4), vec![0.5, 0.5, 1.0, 1.0]);
        assert!(super::reduce_peaks(&[], 10).is_empty());
    }
}
