//! Decoding options and the raw PCM format description.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::MediaError;

/// How the channels of the source are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelMode {
    /// Downmix to one channel (the average of all source channels).
    #[default]
    Mono,
    /// Keep every original channel, each resampled to 16 kHz.
    Separate,
}

/// Sample encoding of headerless PCM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawSample {
    /// Unsigned 8-bit.
    U8,
    /// Signed 8-bit.
    S8,
    /// Signed 16-bit little-endian.
    S16Le,
    /// Signed 16-bit big-endian.
    S16Be,
    /// Signed 24-bit little-endian (3 bytes per sample).
    S24Le,
    /// Signed 32-bit little-endian.
    S32Le,
    /// 32-bit IEEE float little-endian.
    F32Le,
    /// 64-bit IEEE float little-endian.
    F64Le,
}

impl RawSample {
    /// Bytes per sample.
    pub fn bytes(self) -> usize {
        match self {
            RawSample::U8 | RawSample::S8 => 1,
            RawSample::S16Le | RawSample::S16Be => 2,
            RawSample::S24Le => 3,
            RawSample::S32Le | RawSample::F32Le => 4,
            RawSample::F64Le => 8,
        }
    }

    /// The short name used in format strings ("s16le", ...).
    pub fn name(self) -> &'static str {
        match self {
            RawSample::U8 => "u8",
            RawSample::S8 => "s8",
            RawSample::S16Le => "s16le",
            RawSample::S16Be => "s16be",
            RawSample::S24Le => "s24le",
            RawSample::S32Le => "s32le",
            RawSample::F32Le => "f32le",
            RawSample::F64Le => "f64le",
        }
    }

    /// Decode one sample from exactly `self.bytes()` bytes to f32 in [-1, 1].
    #[inline]
    pub(crate) fn decode(self, b: &[u8]) -> f32 {
        match self {
            RawSample::U8 => (b[0] as f32 - 128.0) / 128.0,
            RawSample::S8 => (b[0] as i8) as f32 / 128.0,
            RawSample::S16Le => i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0,
            RawSample::S16Be => i16::from_be_bytes([b[0], b[1]]) as f32 / 32768.0,
            RawSample::S24Le => {
                let v = i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8;
                v as f32 / 8_388_608.0
            }
            RawSample::S32Le => {
                i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0
            }
            RawSample::F32Le => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            RawSample::F64Le => {
                f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
            }
        }
    }
}

impl FromStr for RawSample {
    type Err = MediaError;
    fn from_str(s: &str) -> Result<Self, MediaError> {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_prefix("pcm_").unwrap_or(&s);
        Ok(match s {
            "u8" => RawSample::U8,
            "s8" | "i8" => RawSample::S8,
            "s16le" | "s16" | "i16" | "i16le" => RawSample::S16Le,
            "s16be" | "i16be" => RawSample::S16Be,
            "s24le" | "s24" | "i24" | "i24le" => RawSample::S24Le,
            "s32le" | "s32" | "i32" | "i32le" => RawSample::S32Le,
            "f32le" | "f32" | "float" | "float32" => RawSample::F32Le,
            "f64le" | "f64" | "double" | "float64" => RawSample::F64Le,
            other => {
                return Err(MediaError::BadRawFormat(format!(
                    "unknown sample type {other:?}; expected one of u8, s8, s16le, s16be, s24le, \
                     s32le, f32le, f64le"
                )));
            }
        })
    }
}

/// Description of headerless PCM: sample type, sample rate and channel count.
///
/// Parsed from strings like `"s16le:16000:1"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFormat {
    /// Sample encoding.
    pub sample: RawSample,
    /// Sample rate in Hz.
    pub rate: u32,
    /// Number of interleaved channels.
    pub channels: u16,
}

impl RawFormat {
    /// Bytes per interleaved frame.
    pub fn frame_bytes(&self) -> usize {
        self.sample.bytes() * self.channels as usize
    }
}

impl fmt::Display for RawFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.sample.name(), self.rate, self.channels)
    }
}

impl FromStr for RawFormat {
    type Err = MediaError;

    fn from_str(s: &str) -> Result<Self, MediaError> {
        let usage = |why: String| {
            MediaError::BadRawFormat(format!(
                "{why} in {s:?}; expected SAMPLE:RATE:CHANNELS, e.g. \"s16le:16000:1\""
            ))
        };
        let parts: Vec<&str> = s.trim().split(':').collect();
        if parts.len() != 3 {
            return Err(usage(format!(
                "expected 3 fields separated by ':', found {}",
                parts.len()
            )));
        }
        let sample: RawSample = parts[0].parse().map_err(|e| match e {
            MediaError::BadRawFormat(m) => usage(m),
            other => other,
        })?;
        let rate_str = parts[1].trim().to_ascii_lowercase();
        let rate: u32 = if let Some(k) = rate_str.strip_suffix('k') {
            k.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
                .map(|v| (v * 1000.0).round() as u32)
                .ok_or_else(|| usage(format!("invalid sample rate {:?}", parts[1])))?
        } else {
            rate_str
                .parse()
                .map_err(|_| usage(format!("invalid sample rate {:?}", parts[1])))?
        };
        if !(1_000..=768_000).contains(&rate) {
            return Err(usage(format!(
                "sample rate {rate} out of range 1000..=768000"
            )));
        }
        let channels: u16 = parts[2]
            .trim()
            .parse()
            .map_err(|_| usage(format!("invalid channel count {:?}", parts[2])))?;
        if !(1..=64).contains(&channels) {
            return Err(usage(format!(
                "channel count {channels} out of range 1..=64"
            )));
        }
        Ok(RawFormat {
            sample,
            rate,
            channels,
        })
    }
}

/// Whether and which ffmpeg executable may be used for formats without a native decoder.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FfmpegPolicy {
    /// Use ffmpeg if it is available: `$TINGJI_FFMPEG` if set (a path, or `never`/`none`/`0` to
    /// disable), otherwise `ffmpeg` found on `PATH`.
    #[default]
    Auto,
    /// Never use ffmpeg.
    Never,
    /// Use this ffmpeg executable (`ffprobe` is looked up next to it).
    Path(PathBuf),
}

/// Options for [`AudioStream::open`](crate::AudioStream::open).
#[derive(Debug, Clone, Default)]
pub struct DecodeOptions {
    /// Downmix to mono (default) or keep channels separate.
    pub channels: ChannelMode,
    /// Treat the file as headerless PCM of this format.
    pub raw: Option<RawFormat>,
    /// ffmpeg fallback policy.
    pub ffmpeg: FfmpegPolicy,
    /// Audio track to decode (the container's track id; for the ffmpeg backend the stream index).
    /// `None` picks the default audio track.
    pub track: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_raw_format() {
        let f: RawFormat = "s16le:16000:1".parse().unwrap();
        assert_eq!(
            f,
            RawFormat {
                sample: RawSample::S16Le,
                rate: 16000,
                channels: 1
            }
        );
        assert_eq!(f.to_string(), "s16le:16000:1");
        let f: RawFormat = "F32LE:44.1k:2".parse().unwrap();
        assert_eq!(
            f,
            RawFormat {
                sample: RawSample::F32Le,
                rate: 44100,
                channels: 2
            }
        );
        for bad in [
            "",
            "s16le",
            "s16le:16000",
            "x:16000:1",
            "s16le:abc:1",
            "s16le:16000:0",
            "s16le:0:1",
            "s16le:16000:1:2",
        ] {
            let e = bad.parse::<RawFormat>().unwrap_err();
            assert_eq!(e.code(), "bad_raw_format", "{bad}");
            assert!(e.to_string().contains("s16le:16000:1"), "{e}");
        }
    }

    #[test]
    fn raw_sample_decode() {
        assert_eq!(RawSample::U8.decode(&[128]), 0.0);
        assert_eq!(RawSample::S16Le.decode(&[0, 0x80]), -1.0);
        assert_eq!(RawSample::S24Le.decode(&[0, 0, 0x80]), -1.0);
        assert!((RawSample::S24Le.decode(&[0xff, 0xff, 0x7f]) - 1.0).abs() < 1e-6);
        assert_eq!(RawSample::F32Le.decode(&0.5f32.to_le_bytes()), 0.5);
    }
}
