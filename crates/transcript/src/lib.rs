//! The transcript data model shared by every Tingji crate.
//!
//! Invariants:
//! - Times are integer milliseconds from the start of the source file (never window-relative).
//! - `Transcript::segments` is sorted by `start_ms` (ties by channel) and `start_ms <= end_ms`.
//! - Word times come from the recogniser (token timestamps), never from interpolation.
//! - The JSON form is versioned by [`SCHEMA_VERSION`]; readers reject a newer major version.

pub mod notes;

use serde::{Deserialize, Serialize};

/// Version of the JSON transcript schema written by this crate.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TranscriptError {
    #[error("transcript JSON is invalid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("transcript schema version {found} is newer than this build supports ({supported})")]
    NewerVersion { found: u32, supported: u32 },
}

impl TranscriptError {
    pub fn code(&self) -> &'static str {
        match self {
            TranscriptError::Json(_) => "invalid_transcript",
            TranscriptError::NewerVersion { .. } => "transcript_version",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Transcript {
    pub version: u32,
    pub source: SourceInfo,
    /// ISO-639-1 code of the language the text is in ("en", "zh", …).
    pub language: String,
    /// Probability of `language` when it was auto-detected; `None` when the user fixed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_probability: Option<f32>,
    pub duration_ms: u64,
    pub model: ModelInfo,
    pub parameters: Parameters,
    pub segments: Vec<Segment>,
    /// Things the user should know about (truncated file, re-decoded loops, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SourceInfo {
    pub path: String,
    pub container: String,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ModelInfo {
    pub name: String,
    /// ggml file type: "f16", "q8_0", "q5_0", …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ftype: Option<String>,
    pub multilingual: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case", tag = "strategy")]
pub enum Sampling {
    Greedy { best_of: u32 },
    Beam { beam_size: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Script {
    /// Convert Chinese output to Simplified characters (the default).
    #[default]
    Simplified,
    /// Convert Chinese output to Traditional characters.
    Traditional,
    /// Leave the recogniser's output as it is.
    AsIs,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Parameters {
    /// What the user asked for: "auto" or a language code.
    pub language: String,
    pub sampling: Sampling,
    pub threads: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_prompt: Option<String>,
    pub temperature: f32,
    /// Step for the temperature fallback (0 disables it).
    pub temperature_inc: f32,
    pub vad: bool,
    /// Each channel transcribed on its own (segments carry `channel`).
    pub separate_channels: bool,
    pub script: Script,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Segment {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    /// Source channel (0 = left) when channels were transcribed separately.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<String>,
    #[serde(default)]
    pub words: Vec<Word>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Word {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    /// Recogniser probability of this word (product-free mean of its tokens), 0..=1.
    pub p: f32,
}

impl Transcript {
    /// The whole text, segments joined (a space between Latin-script segments).
    pub fn text(&self) -> String {
        join_segments(self.segments.iter().map(|s| s.text.as_str()))
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("transcript serialises")
    }

    pub fn from_json(s: &str) -> Result<Transcript, TranscriptError> {
        #[derive(Deserialize)]
        struct V {
            version: u32,
        }
        let v: V = serde_json::from_str(s)?;
        if v.version > SCHEMA_VERSION {
            return Err(TranscriptError::NewerVersion { found: v.version, supported: SCHEMA_VERSION });
        }
        Ok(serde_json::from_str(s)?)
    }

    /// Sort segments into the canonical order (by start, then channel).
    pub fn sort_segments(&mut self) {
        self.segments.sort_by_key(|s| (s.start_ms, s.channel.unwrap_or(0), s.end_ms));
    }
}

/// Joins pieces of text, putting a space only between pieces where Latin-script text meets.
pub fn join_segments<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        if let (Some(a), Some(b)) = (out.chars().last(), p.chars().next())
            && !(is_cjk(a) || is_cjk(b))
        {
            out.push(' ');
        }
        out.push_str(p);
    }
    out
}

/// True for Han ideographs, kana, hangul and CJK punctuation: scripts written without spaces.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F | 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF |
        0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Transcript {
        Transcript {
            version: SCHEMA_VERSION,
            source: SourceInfo {
                path: "a.wav".into(),
                container: "wav".into(),
                codec: "pcm_s16le".into(),
                sample_rate: 16000,
                channels: 1,
                track_note: None,
            },
            language: "en".into(),
            language_probability: Some(0.97),
            duration_ms: 11000,
            model: ModelInfo { name: "tiny.en".into(), ftype: Some("f16".into()), multilingual: false },
            parameters: Parameters {
                language: "auto".into(),
                sampling: Sampling::Beam { beam_size: 5 },
                threads: 2,
                initial_prompt: None,
                temperature: 0.0,
                temperature_inc: 0.2,
                vad: true,
                separate_channels: false,
                script: Script::Simplified,
            },
            segments: vec![Segment {
                start_ms: 0,
                end_ms: 1000,
                text: "Hello there.".into(),
                channel: None,
                speaker: None,
                words: vec![Word { start_ms: 0, end_ms: 400, text: "Hello".into(), p: 0.9 }],
            }],
            warnings: vec![],
        }
    }

    #[test]
    fn json_round_trip() {
        let t = sample();
        let back = Transcript::from_json(&t.to_json_pretty()).unwrap();
        assert_eq!(t, back);
    }

    #[test]
    fn newer_version_rejected() {
        let mut t = sample();
        t.version = SCHEMA_VERSION + 1;
        let err = Transcript::from_json(&serde_json::to_string(&t).unwrap()).unwrap_err();
        assert_eq!(err.code(), "transcript_version");
    }

    #[test]
    fn join_spaces_only_between_latin() {
        assert_eq!(join_segments(["Hello", "world."]), "Hello world.");
        assert_eq!(join_segments(["你好", "世界"]), "你好世界");
        assert_eq!(join_segments(["我用", "Rust", "写"]), "我用Rust写");
    }
}
