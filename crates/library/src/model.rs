//! Public value types of the library API.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tingji_transcript::Transcript;

use crate::error::LibraryError;

macro_rules! id_type {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse().map($name)
            }
        }
    };
}

id_type!(
    MeetingId,
    "Identifies a meeting; stable for the life of the library (never reused)."
);
id_type!(VersionId, "Identifies one transcript version of a meeting.");
id_type!(JobId, "Identifies a background job.");

macro_rules! str_enum {
    ($name:ident { $($var:ident = $s:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($var),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
        }

        impl FromStr for $name {
            type Err = LibraryError;
            fn from_str(s: &str) -> Result<Self, LibraryError> {
                match s {
                    $($s => Ok($name::$var),)+
                    other => Err(LibraryError::InvalidInput(
                        format!("unknown {} {other:?}", stringify!($name)))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

str_enum!(KeepAs { Copy = "copy", Move = "move" });
str_enum!(SourceKind { Recorded = "recorded", Imported = "imported" });
str_enum!(MarkKind { Key = "key", Question = "question", Todo = "todo" });
str_enum!(JobKind { Import = "import", Transcribe = "transcribe", Notes = "notes" });
str_enum!(ActionOrigin { User = "user", Ai = "ai" });
str_enum!(JobState { Queued = "queued", Running = "running", Done = "done", Failed = "failed" });

/// Which meetings [`crate::Library::list`] and [`crate::Library::search`] consider. Empty = all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub folder: Option<String>,
    pub tag: Option<String>,
    /// Meetings created at or after this time (unix ms).
    pub from_ms: Option<i64>,
    /// Meetings created before this time (unix ms).
    pub to_ms: Option<i64>,
    /// A speaker label or given name. `list`: meetings with that speaker; `search`: segments
    /// spoken by them.
    pub speaker: Option<String>,
    pub sort: Sort,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    /// Newest first.
    #[default]
    CreatedDesc,
    CreatedAsc,
    /// By title (case-insensitive), then newest first.
    Title,
}

/// Options for a new meeting beyond its transcript.
#[derive(Debug, Clone, Default)]
pub struct NewMeeting<'a> {
    /// Default: the media file's stem, else the transcript's source file stem.
    pub title: Option<&'a str>,
    /// Default: [`SourceKind::Imported`].
    pub source_kind: Option<SourceKind>,
    pub folder: Option<&'a str>,
    /// Unix ms; default: now.
    pub created_at: Option<i64>,
    pub tags: &'a [String],
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeetingSummary {
    pub id: MeetingId,
    pub title: String,
    /// Unix ms.
    pub created_at: i64,
    pub updated_at: i64,
    pub duration_ms: u64,
    pub source_kind: SourceKind,
    pub language: Option<String>,
    pub folder: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Speaker {
    /// The label the transcript uses (e.g. "S1" from diarisation, or a channel name).
    pub label: String,
    /// The name the user gave, or a voiceprint's; shown instead of the label when set.
    #[serde(default)]
    pub name: Option<String>,
    /// Set when `name` came from a voiceprint (not from the user): how alike the voices are,
    /// in percent (cosine similarity). Naming the speaker clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<u8>,
}

/// A speaker's voice as diarization found it, for [`crate::Library::set_speaker_voices`].
#[derive(Debug, Clone, PartialEq)]
pub struct SpeakerVoice {
    pub label: String,
    /// Unit-length embedding.
    pub voice: Vec<f32>,
    /// How long the speaker talks (weighs the voice in a voiceprint).
    pub speech_ms: u64,
}

/// A named voice kept across meetings (never exported; deleted by `forget_voiceprint`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Voiceprint {
    pub id: i64,
    pub name: String,
    /// The embedding model the voice comes from; only voices of the same model are compared.
    pub model: String,
    /// Speech the voiceprint was built from.
    pub speech_ms: u64,
    /// Speakers (in meetings still in the library) named by or with it.
    pub speakers: u32,
    pub updated_at: i64,
}

/// A meeting's speaker named from a voiceprint by [`crate::Library::recognize_speakers`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VoiceMatch {
    pub label: String,
    pub name: String,
    /// Cosine similarity of the two voices.
    pub score: f32,
}

impl Speaker {
    pub fn display(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.label)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaInfo {
    /// Path relative to the library root (`media/<meeting id>/<file name>`).
    pub path: String,
    /// Absolute path of the kept copy.
    pub abs_path: PathBuf,
    pub original_path: Option<String>,
    pub sha256: String,
    pub bytes: u64,
    pub kept_as: KeepAs,
    /// Whether the file is there now (it may be missing after `import_json`).
    pub present: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionInfo {
    pub id: VersionId,
    pub created_at: i64,
    pub model: String,
    pub language: String,
    pub is_current: bool,
    pub segments: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mark {
    pub version_id: VersionId,
    pub segment_idx: u32,
    pub start_ms: u64,
    pub kind: MarkKind,
    pub created_at: i64,
}

impl Default for ActionOrigin {
    /// Items from before origins were recorded were all the user's.
    fn default() -> Self {
        ActionOrigin::User
    }
}

/// One stored AI output: `kind` is a `NoteKind::as_str()`, `json` that kind's
/// `MeetingNotes::part`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AiNote {
    pub kind: String,
    /// The generated notes as JSON text, stored verbatim.
    pub json: String,
    pub model: String,
    pub prompt_version: String,
    pub created_at: i64,
    /// Language the notes are written in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The notes template they were made with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub text: String,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub due: Option<String>,
    /// Where in the meeting it was said.
    #[serde(default)]
    pub source_ms: Option<u64>,
    #[serde(default)]
    pub done: bool,
    /// Made by the user, or by AI notes (replaced when the notes are made again).
    #[serde(default)]
    pub origin: ActionOrigin,
}

/// A meeting with its current transcript and everything attached to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Meeting {
    #[serde(flatten)]
    pub summary: MeetingSummary,
    /// The current transcript version, rebuilt from the rows; segment speakers are shown by
    /// their given names where the user named them.
    pub transcript: Option<Transcript>,
    pub current_version: Option<VersionId>,
    pub versions: Vec<VersionInfo>,
    pub speakers: Vec<Speaker>,
    pub media: Vec<MediaInfo>,
    pub marks: Vec<Mark>,
    pub notes: Option<String>,
    pub ai_notes: Vec<AiNote>,
    pub action_items: Vec<ActionItem>,
}

/// One search result: a segment of a meeting's current transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    pub meeting_id: MeetingId,
    pub title: String,
    pub version_id: VersionId,
    pub segment_idx: u32,
    pub start_ms: u64,
    pub end_ms: u64,
    pub speaker: Option<String>,
    /// The segment text with each match wrapped in `[` `]` (cut around the first match when long).
    pub snippet: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: JobId,
    pub kind: JobKind,
    pub meeting_id: Option<MeetingId>,
    pub input_path: Option<PathBuf>,
    pub state: JobState,
    /// 0..=1.
    pub progress: f64,
    pub error: Option<String>,
    pub checkpoint_path: Option<PathBuf>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Changes to a job; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct JobUpdate {
    pub state: Option<JobState>,
    pub progress: Option<f64>,
    pub error: Option<String>,
    pub checkpoint_path: Option<PathBuf>,
    pub meeting_id: Option<MeetingId>,
}
