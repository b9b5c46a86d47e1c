//! The types that cross the IPC edge. `ui/src/bindings.ts` is generated from these and from the
//! command signatures in `commands.rs` (tauri-specta); a test fails when it is stale.
//!
//! Conventions: times are integer milliseconds; ids are numbers; every command returns
//! `Result<T, AppError>`, so the UI always gets `{ status: "ok", data } | { status: "error", error }`.

use serde::{Deserialize, Serialize};
use specta::Type;

pub use tingji_transcript::notes::{MeetingNotes, NoteKind};

/// The one error type of every command: a stable machine-readable `code` (the core crates'
/// `code()`: "not_found", "unsupported_format", "cancelled", "llm_unreachable", …) and a message
/// for people. API keys and file contents never appear in it.
#[derive(Debug, Clone, Serialize, Deserialize, Type, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    pub code: String,
    pub message: String,
}

/// What the app is running with; the first call the UI makes.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct AppInfo {
    pub version: String,
    pub data_dir: String,
    pub library_dir: String,
    pub recordings_dir: String,
    /// True until the user finished onboarding once.
    pub first_run: bool,
    /// Whisper models installed, best default first.
    pub whisper_models: Vec<WhisperModelItem>,
    /// Built-in LLMs (GGUF files) installed.
    pub llm_models: Vec<String>,
    /// Recordings whose process died; offered for recovery on start.
    pub pending_recordings: Vec<PendingRecording>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct WhisperModelItem {
    pub name: String,
    pub size_bytes: u64,
    pub multilingual: bool,
}

/// Whisper models that can be downloaded (the catalog), with whether each is installed.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct CatalogItem {
    pub name: String,
    pub size_bytes: u64,
    pub installed: bool,
}

/// Settings the user changes in the app; stored as JSON in the config dir.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Settings {
    /// UI language: "zh" or "en".
    pub ui_language: String,
    /// "light", "dark" or "system".
    pub theme: String,
    /// Whisper model for files (None = the best installed).
    pub file_model: Option<String>,
    /// Whisper model for live captions (None = tiny.en for English, else the file model).
    pub live_model: Option<String>,
    /// Transcription language: "auto" or a code.
    pub language: String,
    pub llm: LlmSettings,
    pub onboarded: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ui_language: "zh".into(),
            theme: "system".into(),
            file_model: None,
            live_model: None,
            language: "auto".into(),
            llm: LlmSettings::default(),
            onboarded: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct LlmSettings {
    /// "builtin" (the local GGUF model, nothing leaves the machine) or a preset id:
    /// "dashscope", "openai", "deepseek", "ollama", "lmstudio", "llamacpp", "vllm", "custom".
    pub provider: String,
    /// Empty = the preset's URL.
    pub base_url: String,
    /// Empty = the preset's default model (for "builtin": the best installed GGUF).
    pub model: String,
    /// Output language of notes: "" = the transcript's.
    pub notes_language: String,
}

impl Default for LlmSettings {
    fn default() -> Self {
        LlmSettings { provider: "builtin".into(), base_url: String::new(), model: String::new(), notes_language: String::new() }
    }
}

/// A provider preset as the settings screen shows it.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct ProviderPreset {
    pub id: String,
    pub label: String,
    pub base_url: String,
    pub default_model: String,
    /// Whether it runs on this machine (nothing leaves it) or is a cloud service.
    pub local: bool,
    pub needs_key: bool,
    /// An API key is stored in the OS keyring or the environment (the key itself never reaches the UI).
    pub has_key: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct ConnectionTest {
    pub model: String,
    pub latency_ms: u64,
    pub reply: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type, Default)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    #[default]
    Newest,
    Oldest,
    Title,
    Longest,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Type)]
#[serde(default)]
pub struct ListQuery {
    pub folder: Option<String>,
    pub tag: Option<String>,
    pub sort: SortKey,
}

/// One row of the library list.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct MeetingItem {
    pub id: i64,
    pub title: String,
    pub created_ms: u64,
    pub duration_ms: u64,
    /// "imported" or "recorded".
    pub source_kind: String,
    pub folder: Option<String>,
    pub tags: Vec<String>,
    pub language: Option<String>,
    pub has_notes: bool,
}

/// A search result: where in which meeting, with the matching text around it.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct SearchHitItem {
    pub meeting_id: i64,
    pub title: String,
    pub segment_idx: u32,
    pub start_ms: u64,
    /// The segment text with the matches between `[` and `]`.
    pub snippet: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct SpeakerItem {
    pub label: String,
    pub name: Option<String>,
    /// Set when the name came from a voiceprint (not the user): how alike the voices are, in %.
    pub matched: Option<u8>,
}

/// A named voice kept across meetings (Settings → voiceprints).
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct VoiceprintItem {
    pub name: String,
    pub speech_ms: u64,
    /// Speakers in the library it named or was built from.
    pub speakers: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct WordView {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct SegmentView {
    pub idx: u32,
    pub start_ms: u64,
    pub end_ms: u64,
    /// The speaker's label (`SpeakerItem::label`); its name, if any, is in the meeting's speakers.
    pub speaker: Option<String>,
    pub text: String,
    pub words: Vec<WordView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum MarkKindDto {
    /// 重点
    Key,
    /// 问题
    Question,
    /// 待办
    Todo,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct MarkItem {
    pub segment_idx: u32,
    pub kind: MarkKindDto,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct ActionView {
    pub id: i64,
    pub text: String,
    pub owner: Option<String>,
    pub due: Option<String>,
    pub source_ms: Option<u64>,
    pub done: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct VersionItem {
    pub id: i64,
    pub label: String,
    pub model: String,
    pub created_ms: u64,
    pub current: bool,
}

/// Everything the meeting view shows.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct MeetingView {
    pub id: i64,
    pub title: String,
    pub created_ms: u64,
    pub duration_ms: u64,
    pub source_kind: String,
    pub folder: Option<String>,
    pub tags: Vec<String>,
    pub language: Option<String>,
    /// The audio file in the library (played through the asset protocol), if kept.
    pub audio_path: Option<String>,
    pub speakers: Vec<SpeakerItem>,
    pub segments: Vec<SegmentView>,
    pub marks: Vec<MarkItem>,
    pub versions: Vec<VersionItem>,
    /// The user's own notes (Markdown).
    pub user_notes: String,
    pub notes: Option<MeetingNotes>,
    pub actions: Vec<ActionView>,
}

/// How to transcribe (import, re-transcribe, recording's full pass).
#[derive(Debug, Clone, Default, Serialize, Deserialize, Type)]
#[serde(default)]
pub struct TranscribeRequest {
    /// None = the settings' file model.
    pub model: Option<String>,
    /// None = the settings' language ("auto").
    pub language: Option<String>,
}

/// A time range of a meeting (re-transcribe a selection).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Type)]
pub struct TimeRange {
    pub start_ms: u64,
    pub end_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Type)]
#[serde(default)]
pub struct NotesRequest {
    /// Empty = every default kind.
    pub kinds: Vec<NoteKind>,
    /// A template name (shipped or the user's own).
    pub template: Option<String>,
    /// Output language; None = the settings', else the transcript's.
    pub language: Option<String>,
    /// Translate the transcript into this language.
    pub translate_to: Option<String>,
}

/// A job the app started; its events arrive on the channel passed with the command.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct JobTicket {
    pub job_id: u32,
    /// The file (import) or what the job is about.
    pub label: String,
}

/// Progress of a long job (transcription, notes, export, download), in order:
/// `queued` → `started` → `progress`/`text`* → one of `done` / `failed` / `cancelled`.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobEvent {
    Queued { job_id: u32, label: String },
    Started { job_id: u32 },
    Progress {
        job_id: u32,
        /// What is being done now ("decoding", "transcribing", "notes 2/7: chapters", …).
        stage: String,
        /// 0..=1 when known.
        fraction: Option<f64>,
        eta_ms: Option<u64>,
    },
    /// Text as the model writes it (notes).
    Text { job_id: u32, text: String },
    Done { job_id: u32, meeting_id: Option<i64>, path: Option<String> },
    Failed { job_id: u32, error: AppError },
    Cancelled { job_id: u32 },
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct AskAnswer {
    pub answer: String,
    /// Where the answer comes from (segment starts).
    pub citations: Vec<Citation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct Citation {
    pub start_ms: u64,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct ExportFormatItem {
    /// "md", "txt", "srt", "vtt", "docx", "pdf", "json", …
    pub id: String,
    pub extension: String,
    /// Section names the format can include or leave out ("summary", "chapters", "timestamps", …).
    pub sections: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Type)]
#[serde(default)]
pub struct ExportRequest {
    pub format: String,
    /// Where to write; an existing directory gets "<title>.<ext>".
    pub path: String,
    pub with: Vec<String>,
    pub without: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct ExportResult {
    pub path: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct DeviceItem {
    /// Stable id to pass back ("default" is also accepted).
    pub id: String,
    pub name: String,
    /// "mic" or "system".
    pub role: String,
    pub is_default: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct RecordRequest {
    /// Device id, "default", or None for no microphone.
    pub mic: Option<String>,
    /// Device id, "default", or None for no system audio.
    pub system: Option<String>,
    pub live_captions: bool,
    pub title: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct PendingRecording {
    pub path: String,
    pub title: Option<String>,
    pub started_ms: u64,
}

/// Events of the current recording.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordEvent {
    /// Audio flows from every source; the file is `path`.
    Started { path: String },
    /// About 10 times a second: peak levels 0..=1 and recorded time (pauses excluded).
    Levels { mic: Option<f64>, system: Option<f64>, elapsed_ms: u64, paused: bool },
    Caption {
        /// "me" (microphone) or "them" (system audio).
        speaker: String,
        start_ms: u64,
        end_ms: u64,
        text: String,
        is_final: bool,
    },
    Mark { mark: MarkKindDto, at_ms: u64 },
    Warning { message: String },
    Stopped { path: String, duration_ms: u64 },
    Failed { error: AppError },
}
