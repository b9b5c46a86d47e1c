//! Native decoding with symphonia (+ libopus for Opus).

use std::fs::File;
use std::path::Path;
use std::sync::OnceLock;

use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::well_known as ids;
use symphonia::core::codecs::audio::{AudioCodecId, AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::CodecRegistry;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{
    FormatOptions, FormatReader, SeekMode, SeekTo, Track, TrackFlags, TrackType,
};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::packet::Packet;
use symphonia::core::units::{Time, TimeBase, Timestamp};

use crate::{MediaError, Source, Warnings};

/// The codec registry: all symphonia codecs plus libopus.
fn registry() -> &'static CodecRegistry {
    static REG: OnceLock<CodecRegistry> = OnceLock::new();
    REG.get_or_init(|| {
        let mut r = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut r);
        r.register_audio_decoder::<symphonia_adapter_libopus::OpusDecoder>();
        r
    })
}

/// Why the native backend could not open a file.
#[derive(Debug)]
pub(crate) enum NativeFail {
    /// No audio track in the container.
    NoAudio,
    /// `DecodeOptions::track` names no audio track.
    TrackNotFound { track: u32, available: Vec<u32> },
    /// The audio codec has no native decoder.
    UnsupportedCodec(String),
    /// symphonia does not support this variant of the container.
    Unsupported(String),
    /// The header could not be parsed, or no audio could be decoded.
    Corrupt(String),
    /// The header parsed but the file ends before any audio.
    Truncated,
    /// An I/O error.
    Io(std::io::Error),
}

pub(crate) struct NativeOpen {
    pub source: NativeSource,
    pub format_short_name: &'static str,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub duration_ms: Option<u64>,
    /// Duration declared for the decoded track itself (not the whole media).
    pub track_duration_ms: Option<u64>,
    pub track_id: u32,
    pub audio_tracks: usize,
    pub track_note: Option<String>,
}

/// Name of an audio codec, ffmpeg style where possible.
fn codec_name(id: AudioCodecId) -> String {
    if let Some(reg) = registry().get_audio_decoder(id) {
        return reg.codec.info.short_name.to_string();
    }
    let n = match id {
        ids::CODEC_ID_AC3 => "ac3",
        ids::CODEC_ID_EAC3 => "eac3",
        ids::CODEC_ID_AC4 => "ac4",
        ids::CODEC_ID_DCA => "dts",
        ids::CODEC_ID_WMA => "wma",
        ids::CODEC_ID_SPEEX => "speex",
        ids::CODEC_ID_MUSEPACK => "musepack",
        ids::CODEC_ID_ATRAC1 => "atrac1",
        ids::CODEC_ID_ATRAC3 => "atrac3",
        ids::CODEC_ID_ATRAC3PLUS => "atrac3plus",
        ids::CODEC_ID_ATRAC9 => "atrac9",
        ids::CODEC_ID_COOK => "cook",
        ids::CODEC_ID_SIPR => "sipr",
        ids::CODEC_ID_RA10 | ids::CODEC_ID_RA20 => "realaudio",
        ids::CODEC_ID_SBC => "sbc",
        ids::CODEC_ID_APTX | ids::CODEC_ID_APTX_HD => "aptx",
        ids::CODEC_ID_LDAC => "ldac",
        ids::CODEC_ID_WAVPACK => "wavpack",
        ids::CODEC_ID_MONKEYS_AUDIO => "ape",
        ids::CODEC_ID_TTA => "tta",
        ids::CODEC_ID_TRUEHD => "truehd",
        ids::CODEC_ID_ADPCM_G722 => "adpcm_g722",
        ids::CODEC_ID_ADPCM_G726 | ids::CODEC_ID_ADPCM_G726LE => "adpcm_g726",
        symphonia::core::codecs::audio::CODEC_ID_NULL_AUDIO => "unknown",
        other => return format!("codec {other}"),
    };
    n.to_string()
}

/// symphonia reports some malformed data as I/O errors of these kinds; real I/O failures
/// (permissions, device errors, ...) have other kinds.
fn is_data_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        InvalidData | InvalidInput | Other | OutOfMemory | FileTooLarge
    )
}

fn map_open_err(e: SymError) -> NativeFail {
    match e {
        SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            NativeFail::Corrupt("unexpected end of file while reading the header".into())
        }
        SymError::IoError(io) if is_data_error(&io) => NativeFail::Corrupt(io.to_string()),
        SymError::IoError(io) => NativeFail::Io(io),
        SymError::DecodeError(m) => NativeFail::Corrupt(m.to_string()),
        // symphonia reports some structural damage as "unsupported".
        SymError::Unsupported(m)
            if m.contains("missing") || m.contains("not marked") || m.contains(" is not ") =>
        {
            NativeFail::Corrupt(m.to_string())
        }
        SymError::Unsupported(m) => NativeFail::Unsupported(m.to_string()),
        SymError::LimitError(m) => NativeFail::Corrupt(format!("limit reached: {m}")),
        other => NativeFail::Corrupt(other.to_string()),
    }
}

/// Run symphonia code, turning a panic (a bug triggered by malformed input) into an error
/// message: this crate classifies bad input, it never crashes on it.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into())
    })
}

fn is_audio(t: &Track) -> bool {
    matches!(t.codec_params, Some(CodecParameters::Audio(_)))
}

/// Open `path` with symphonia, choose the audio track, create the decoder and decode the first
/// block (so that codec problems surface here, where a fallback is still possible).
pub(crate) fn open(
    path: &Path,
    ext: Option<&str>,
    track: Option<u32>,
    open_ended: bool,
    warnings: &mut Warnings,
) -> Result<NativeOpen, NativeFail> {
    let file = File::open(path).map_err(NativeFail::Io)?;
    let mss = MediaSourceStream::new(Box::new(file), MediaSourceStreamOptions::default());
    let mut hint = Hint::new();
    if let Some(ext) = ext {
        hint.with_extension(ext);
    }
    let format = guarded(|| {
        symphonia::default::get_probe().probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
    })
    .map_err(|m| NativeFail::Corrupt(format!("the demuxer crashed: {m}")))?
    .map_err(map_open_err)?;

    let audio: Vec<&Track> = format.tracks().iter().filter(|t| is_audio(t)).collect();
    if audio.is_empty() {
        return Err(NativeFail::NoAudio);
    }
    let audio_tracks = audio.len();
    let (chosen, reason) = match track {
        Some(id) => match audio.iter().find(|t| t.id == id) {
            Some(t) => (*t, "requested"),
            None => {
                return Err(NativeFail::TrackNotFound {
                    track: id,
                    available: audio.iter().map(|t| t.id).collect(),
                });
            }
        },
        None => {
            // Matroska: read the default flags ourselves (see `mkv`).
            let mkv_default = (format.format_info().short_name == "matroska" && audio_tracks > 1)
                .then(|| crate::mkv::default_audio_track(path))
                .flatten()
                .and_then(|id| audio.iter().find(|t| t.id == id));
            match (mkv_default, format.default_track(TrackType::Audio)) {
                (Some(t), _) => (*t, "default"),
                (None, Some(t)) if t.flags.contains(TrackFlags::DEFAULT) => (t, "default"),
                (None, Some(t)) => (t, "first"),
                (None, None) => (audio[0], "first"),
            }
        }
    };
    let track_note = (audio_tracks > 1).then(|| {
        let lang = chosen
            .language
            .as_deref()
            .filter(|l| !l.is_empty() && *l != "und")
            .map(|l| format!(", language {l}"))
            .unwrap_or_default();
        format!(
            "{audio_tracks} audio tracks; using track {} ({reason}{lang})",
            chosen.id
        )
    });
    let Some(CodecParameters::Audio(params)) = &chosen.codec_params else {
        return Err(NativeFail::NoAudio);
    };
    let params = params.clone();
    let track_id = chosen.id;
    let time_base = chosen.time_base;
    let codec = codec_name(params.codec);

    // Duration of the track itself (used to detect truncation), then of the whole media.
    let track_duration_ms = match (chosen.num_frames, params.sample_rate) {
        (Some(n), Some(sr)) if sr > 0 => Some(n * 1000 / sr as u64),
        _ => chosen
            .time_base
            .zip(chosen.duration)
            .and_then(|(tb, d)| tb.calc_duration(d))
            .map(|t| t.as_millis().max(0) as u64),
    };
    // A declared duration of 0 (e.g. fragmented MP4) means "unknown".
    let track_duration_ms = track_duration_ms.filter(|&d| d > 0);
    let duration_ms = track_duration_ms.or_else(|| {
        let mi = format.media_info();
        mi.time_base
            .zip(mi.duration)
            .and_then(|(tb, d)| tb.calc_duration(d))
            .map(|t| t.as_millis().max(0) as u64)
            .filter(|&d| d > 0)
    });

    let decoder = match registry().make_audio_decoder(&params, &AudioDecoderOptions::default()) {
        Ok(d) => d,
        Err(SymError::Unsupported(m)) => {
            tracing::debug!("no native decoder for {codec}: {m}");
            return Err(NativeFail::UnsupportedCodec(codec));
        }
        Err(e) => return Err(map_open_err(e)),
    };

    let format_short_name = format.format_info().short_name;

    // AAC/MP3 in MP4: apply the edit list (encoder priming / padding), which symphonia ignores.
    let mut edit_skip = 0;
    let mut limit = None;
    // (Only for codecs whose decoders do not trim by themselves: Opus, for one, does.)
    let trims_by_edit_list = format_short_name == "isomp4"
        && matches!(
            params.codec,
            ids::CODEC_ID_AAC | ids::CODEC_ID_MP3 | ids::CODEC_ID_MP2 | ids::CODEC_ID_MP1
        )
        && chosen.delay.is_none();
    if let (true, Some(rate)) = (trims_by_edit_list, params.sample_rate)
        && let Some(edit) = crate::mp4::track_edit(path, track_id)
    {
        let scale = |t: u64| (t as u128 * rate as u128 / edit.timescale.max(1) as u128) as u64;
        limit = edit.media_duration.map(scale);
        edit_skip = scale(edit.media_start);
        tracing::debug!(edit_skip, ?limit, "mp4 edit list");
    }

    let mut source = NativeSource {
        format,
        decoder,
        track_id,
        time_base,
        rate: params.sample_rate.unwrap_or(0),
        frames_out: 0,
        base_frame: 0,
        decode_errors: 0,
        primed: None,
        pending_packet: None,
        quiet: false,
        ended: false,
        last_pts: Timestamp::new(0),
        edit_skip,
        trim_left: edit_skip,
        limit,
        open_ended,
    };

    // Decode the first block now.
    let mut first = Vec::new();
    let rate = match source.read_inner(&mut first, warnings) {
        Ok(Some(rate)) => Some(rate),
        Ok(None) => None,
        Err(ReadErr::Unsupported(m)) => {
            tracing::debug!("native decoder for {codec} failed: {m}");
            return Err(NativeFail::UnsupportedCodec(codec));
        }
        Err(ReadErr::NoAudio(detail)) => return Err(NativeFail::Corrupt(detail)),
        Err(ReadErr::TruncatedEmpty) => return Err(NativeFail::Truncated),
        Err(ReadErr::Io(e)) => return Err(NativeFail::Io(e)),
    };
    let (sample_rate, channels) = match rate {
        Some(rate) => (rate, first.len() as u16),
        None => (
            params.sample_rate.unwrap_or(0),
            params
                .channels
                .as_ref()
                .map(|c| c.count() as u16)
                .unwrap_or(1),
        ),
    };
    if let Some(rate) = rate {
        source.primed = Some((first, rate));
    }
    if sample_rate == 0 && rate.is_some() {
        return Err(NativeFail::Corrupt("sample rate is 0".into()));
    }
    Ok(NativeOpen {
        source,
        format_short_name,
        codec,
        sample_rate,
        channels: channels.max(1),
        duration_ms,
        track_duration_ms,
        track_id,
        audio_tracks,
        track_note,
    })
}

pub(crate) struct NativeSource {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    time_base: Option<TimeBase>,
    rate: u32,
    /// Source frames produced since `base_frame`.
    frames_out: u64,
    /// Source frame index of the stream position after the last seek.
    base_frame: u64,
    /// Demuxer and decoder errors so far.
    decode_errors: u64,
    /// A block decoded ahead of time (at open / after a seek).
    primed: Option<(Vec<Vec<f32>>, u32)>,
    pending_packet: Option<Packet>,
    /// Suppress decode warnings (decoder warm-up after a seek).
    quiet: bool,
    ended: bool,
    /// Timestamp of the packet of the last decoded block.
    last_pts: Timestamp,
    /// Frames at the start of the media that are not presented (MP4 edit list).
    edit_skip: u64,
    /// Frames still to drop at the start.
    trim_left: u64,
    /// Total presented frames (MP4 edit list), if known.
    limit: Option<u64>,
    /// The header does not state the length: the end of the file is the end of the stream.
    open_ended: bool,
}

enum ReadErr {
    /// The decoder cannot decode this stream at all.
    Unsupported(String),
    /// Nothing decodable at all (errors only).
    NoAudio(String),
    /// The file ended before any audio.
    TruncatedEmpty,
    Io(std::io::Error),
}

/// Give up after this many consecutive errors (demuxer or decoder).
const MAX_CONSECUTIVE_ERRORS: u32 = 200;

impl NativeSource {
    fn secs_out(&self) -> f64 {
        if self.rate == 0 {
            0.0
        } else {
            (self.base_frame + self.frames_out) as f64 / self.rate as f64
        }
    }

    fn read_inner(
        &mut self,
        out: &mut Vec<Vec<f32>>,
        warnings: &mut Warnings,
    ) -> Result<Option<u32>, ReadErr> {
        if let Some((buf, rate)) = self.primed.take() {
            *out = buf;
            return Ok(Some(rate));
        }
        if self.ended {
            return Ok(None);
        }
        let mut consecutive = 0u32;
        let mut last_error = String::new();
        loop {
            if consecutive >= MAX_CONSECUTIVE_ERRORS {
                self.ended = true;
                if self.frames_out == 0 && self.base_frame == 0 {
                    return Err(ReadErr::NoAudio(format!(
                        "{consecutive} consecutive errors and no audio decoded (last: {last_error})"
                    )));
                }
                warnings.push(format!(
                    "stopped decoding at {:.1} s after {consecutive} consecutive errors (last: \
                     {last_error})",
                    self.secs_out()
                ));
                return Ok(None);
            }
            let packet = match self.pending_packet.take() {
                Some(p) => p,
                None => match guarded(|| self.format.next_packet()) {
                    Err(m) => return self.crashed(&m, warnings),
                    Ok(Ok(Some(p))) => p,
                    Ok(Ok(None)) => {
                        self.ended = true;
                        if self.frames_out == 0 && self.base_frame == 0 && self.decode_errors > 0 {
                            return Err(ReadErr::NoAudio(format!(
                                "no audio could be decoded ({} errors, last: {last_error})",
                                self.decode_errors
                            )));
                        }
                        return Ok(None);
                    }
                    Ok(Err(SymError::IoError(e)))
                        if e.kind() == std::io::ErrorKind::UnexpectedEof =>
                    {
                        self.ended = true;
                        if self.frames_out == 0 && self.base_frame == 0 {
                            return Err(ReadErr::TruncatedEmpty);
                        }
                        let secs = self.secs_out();
                        if !self.open_ended {
                            tracing::warn!("file is truncated at {secs:.1} s");
                            warnings.truncated_at(secs);
                        }
                        return Ok(None);
                    }
                    Ok(Err(SymError::IoError(e))) if !is_data_error(&e) => {
                        return Err(ReadErr::Io(e));
                    }
                    Ok(Err(SymError::ResetRequired)) => {
                        if !self.recreate_decoder() {
                            self.ended = true;
                            return Ok(None);
                        }
                        continue;
                    }
                    Ok(Err(e)) => {
                        consecutive += 1;
                        self.decode_errors += 1;
                        last_error = e.to_string();
                        tracing::warn!("demuxer error at {:.1} s: {e}", self.secs_out());
                        if consecutive == 1 {
                            warnings.push(format!(
                                "skipped damaged data at {:.1} s: {e}",
                                self.secs_out()
                            ));
                        }
                        if matches!(e, SymError::Unsupported(_) | SymError::SeekError(_)) {
                            // These do not resolve by reading on.
                            consecutive = MAX_CONSECUTIVE_ERRORS;
                        }
                        continue;
                    }
                },
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let decoded = match guarded(|| self.decoder.decode(&packet)) {
                Ok(r) => r,
                Err(m) => return self.crashed(&m, warnings),
            };
            match decoded {
                Ok(buf) => {
                    self.quiet = false;
                    let frames = buf.frames();
                    if frames == 0 {
                        continue;
                    }
                    let rate = buf.spec().rate();
                    buf.copy_to_vecs_planar::<f32>(out);
                    let mut frames = frames;
                    if self.trim_left > 0 {
                        let t = (self.trim_left as usize).min(frames);
                        for ch in out.iter_mut() {
                            ch.drain(..t);
                        }
                        self.trim_left -= t as u64;
                        frames -= t;
                        if frames == 0 {
                            continue;
                        }
                    }
                    if let Some(limit) = self.limit {
                        let pos = self.base_frame + self.frames_out;
                        if pos >= limit {
                            self.ended = true;
                            return Ok(None);
                        }
                        if pos + frames as u64 > limit {
                            frames = (limit - pos) as usize;
                            for ch in out.iter_mut() {
                                ch.truncate(frames);
                            }
                        }
                    }
                    if self.rate != rate {
                        if self.rate != 0 && self.frames_out > 0 {
                            tracing::warn!("sample rate changed from {} to {rate}", self.rate);
                        }
                        self.rate = rate;
                    }
                    self.frames_out += frames as u64;
                    self.last_pts = packet.pts;
                    return Ok(Some(rate));
                }
                Err(SymError::ResetRequired) => {
                    if !self.recreate_decoder() {
                        self.ended = true;
                        return Ok(None);
                    }
                    self.pending_packet = Some(packet);
                    consecutive += 1;
                }
                Err(SymError::Unsupported(m)) => {
                    if self.frames_out == 0 && self.base_frame == 0 {
                        return Err(ReadErr::Unsupported(m.to_string()));
                    }
                    consecutive += 1;
                    self.decode_errors += 1;
                    last_error = format!("unsupported feature: {m}");
                }
                Err(e) => {
                    consecutive += 1;
                    self.decode_errors += 1;
                    last_error = e.to_string();
                    if self.quiet {
                        tracing::debug!("decode error after seek (warm-up): {e}");
                    } else {
                        let secs = self.secs_out();
                        tracing::warn!("skipping a damaged packet at {secs:.1} s: {e}");
                        warnings.push(format!("skipped a damaged packet at {secs:.1} s: {e}"));
                    }
                }
            }
        }
    }

    /// symphonia panicked: its state is unknown, so the stream ends here.
    fn crashed(&mut self, msg: &str, warnings: &mut Warnings) -> Result<Option<u32>, ReadErr> {
        self.ended = true;
        tracing::error!("symphonia crashed: {msg}");
        if self.frames_out == 0 && self.base_frame == 0 {
            return Err(ReadErr::NoAudio(format!("the decoder crashed: {msg}")));
        }
        warnings.push(format!(
            "decoding stopped at {:.1} s: the decoder crashed on damaged data ({msg})",
            self.secs_out()
        ));
        Ok(None)
    }

    fn recreate_decoder(&mut self) -> bool {
        let params = self
            .format
            .tracks()
            .iter()
            .find(|t| t.id == self.track_id)
            .and_then(|t| match &t.codec_params {
                Some(CodecParameters::Audio(p)) => Some(p.clone()),
                _ => None,
            });
        match params.map(|p| registry().make_audio_decoder(&p, &AudioDecoderOptions::default())) {
            Some(Ok(d)) => {
                self.decoder = d;
                true
            }
            _ => {
                tracing::warn!("stream changed and cannot be decoded further");
                false
            }
        }
    }

    fn ts_to_frame(&self, ts: Timestamp) -> u64 {
        let secs = match self.time_base {
            Some(tb) => tb.calc_time(ts).map(|t| t.as_secs_f64()).unwrap_or(0.0),
            None => ts.get() as f64 / self.rate.max(1) as f64,
        };
        ((secs.max(0.0) * self.rate as f64).round() as u64).saturating_sub(self.edit_skip)
    }
}

impl Source for NativeSource {
    fn read(
        &mut self,
        out: &mut Vec<Vec<f32>>,
        warnings: &mut Warnings,
    ) -> Result<Option<u32>, MediaError> {
        self.read_inner(out, warnings).map_err(|e| match e {
            ReadErr::Unsupported(m) => MediaError::Corrupt {
                path: Default::default(),
                detail: format!("unsupported feature: {m}"),
            },
            ReadErr::NoAudio(d) => MediaError::Corrupt {
                path: Default::default(),
                detail: d,
            },
            ReadErr::TruncatedEmpty => MediaError::Truncated {
                path: Default::default(),
                at_ms: 0,
            },
            ReadErr::Io(e) => MediaError::Io(e),
        })
    }

    fn seek(&mut self, frame: u64, warnings: &mut Warnings) -> Result<Option<u64>, MediaError> {
        if self.rate == 0 {
            return Ok(None);
        }
        let secs = frame as f64 / self.rate as f64;
        let Some(time) = Time::try_from_secs_f64(secs) else {
            return Ok(None);
        };
        let seeked = guarded(|| {
            self.format.seek(
                SeekMode::Accurate,
                SeekTo::Time {
                    time,
                    track_id: Some(self.track_id),
                },
            )
        })
        .unwrap_or(Err(SymError::DecodeError("crash during seek")));
        if let Err(e) = seeked {
            tracing::debug!("native seek failed: {e}");
            return Err(MediaError::Corrupt {
                path: Default::default(),
                detail: format!("seek failed: {e}"),
            });
        }
        self.decoder.reset();
        self.primed = None;
        self.pending_packet = None;
        self.ended = false;
        self.trim_left = 0;
        // Decode the first block after the seek; its packet timestamp is the new position.
        loop {
            let next = guarded(|| self.format.next_packet())
                .unwrap_or(Err(SymError::DecodeError("crash after seek")));
            let packet = match next {
                Ok(Some(p)) if p.track_id == self.track_id => p,
                Ok(Some(_)) => continue,
                Ok(None) => {
                    self.ended = true;
                    return Ok(Some(frame));
                }
                Err(e) => {
                    return Err(MediaError::Corrupt {
                        path: Default::default(),
                        detail: format!("seek failed: {e}"),
                    });
                }
            };
            self.base_frame = self.ts_to_frame(packet.pts);
            self.pending_packet = Some(packet);
            self.frames_out = 0;
            self.quiet = true;
            let mut buf = Vec::new();
            return match self.read_inner(&mut buf, warnings) {
                Ok(Some(rate)) => {
                    // The block starts at the timestamp of the packet that decoded (packets
                    // that failed during decoder warm-up are skipped).
                    let frames = buf.first().map_or(0, Vec::len) as u64;
                    let start = self.ts_to_frame(self.last_pts);
                    self.base_frame = start;
                    self.frames_out = frames;
                    self.primed = Some((buf, rate));
                    Ok(Some(start))
                }
                Ok(None) => Ok(Some(frame)),
                Err(_) => Err(MediaError::Corrupt {
                    path: Default::default(),
                    detail: "decoding failed after seek".into(),
                }),
            };
        }
    }
}
