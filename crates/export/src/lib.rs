//! Renders a meeting ([`Document`]: transcript, AI notes, the user's notes, marks, action items)
//! as TXT, Markdown, SRT, WebVTT, JSON, HTML (a self-contained page: no scripts, no remote
//! content), DOCX and PDF (CJK text in an embedded, subsetted system font).
//!
//! One pipeline: [`render`] turns the document into [`blocks`] (headings, paragraphs, bullets,
//! checklist items, transcript lines) filtered by [`ExportOptions`], and each text-like back end
//! (`markup` for TXT/Markdown/HTML, `docx`, `pdf`) only lays those blocks out. Subtitles are
//! built from word times by `subtitles`.
//!
//! Invariants: rendering never changes the transcript; subtitle cues keep to common subtitle
//! conventions (≤ 2 lines, ≤ 42 Latin or ≤ 18 CJK characters a line, ≤ 7 s a cue) and stay in
//! time order without overlap; a bilingual subtitle file adds the translation under a cue only
//! when every cue of the file stays within those limits, otherwise the file is the original
//! only; the PDF never falls back to a font without CJK glyphs (`font_missing` instead).

mod blocks;
mod docx;
mod markup;
mod pdf;
mod subtitles;
mod wrap;

use std::collections::BTreeMap;

use tingji_transcript::Transcript;
use tingji_transcript::notes::MeetingNotes;

pub use pdf::{FONT_ENV, find_font};
pub use subtitles::{Cue, CueLimits, cues};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Txt,
    Srt,
    Vtt,
    Json,
    Md,
    Html,
    Docx,
    Pdf,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    #[error("unknown export format '{0}' (use txt, md, srt, vtt, json, html, docx or pdf)")]
    UnknownFormat(String),
    #[error("unknown export option '{0}' (use timestamps, speakers, marks, notes, bilingual)")]
    UnknownOption(String),
    #[error(
        "no font with Chinese glyphs found for the PDF (looked at {searched}); install \
         fonts-wqy-zenhei or fonts-noto-cjk, or set {FONT_ENV} to a .ttf/.otf/.ttc file"
    )]
    FontMissing { searched: String },
    #[error("font {path} cannot be used for the PDF: {reason}")]
    FontInvalid { path: String, reason: String },
    #[error("writing the PDF failed: {0}")]
    Pdf(String),
    #[error("writing the DOCX failed: {0}")]
    Docx(String),
}

impl ExportError {
    pub fn code(&self) -> &'static str {
        match self {
            ExportError::UnknownFormat(_) => "unknown_format",
            ExportError::UnknownOption(_) => "unknown_option",
            ExportError::FontMissing { .. } => "font_missing",
            ExportError::FontInvalid { .. } => "font_invalid",
            ExportError::Pdf(_) => "pdf_failed",
            ExportError::Docx(_) => "docx_failed",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = ExportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "txt" | "text" => Format::Txt,
            "srt" => Format::Srt,
            "vtt" | "webvtt" => Format::Vtt,
            "json" => Format::Json,
            "md" | "markdown" => Format::Md,
            "html" | "htm" => Format::Html,
            "docx" | "word" => Format::Docx,
            "pdf" => Format::Pdf,
            other => return Err(ExportError::UnknownFormat(other.to_string())),
        })
    }
}

impl Format {
    /// Every format, in the order an export dialog lists them.
    pub const ALL: [Format; 8] = [Format::Md, Format::Docx, Format::Pdf, Format::Html, Format::Txt, Format::Srt, Format::Vtt, Format::Json];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Txt => "txt",
            Format::Srt => "srt",
            Format::Vtt => "vtt",
            Format::Json => "json",
            Format::Md => "md",
            Format::Html => "html",
            Format::Docx => "docx",
            Format::Pdf => "pdf",
        }
    }

    /// DOCX and PDF are binary; the others are UTF-8 text.
    pub fn is_binary(self) -> bool {
        matches!(self, Format::Docx | Format::Pdf)
    }
}

/// What goes into an export besides the transcript text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportOptions {
    /// Segment start times (and times of key points, chapters, Q&A, action items).
    pub timestamps: bool,
    /// Speaker (or channel) names in front of segments.
    pub speakers: bool,
    /// The user's marks (重点 / 问题 / 待办) after the segments they mark.
    pub marks: bool,
    /// AI notes, action items (a checklist with done state) and the user's own notes.
    pub notes: bool,
    /// The translation line under each segment, when the notes have a translation.
    pub bilingual: bool,
}

impl ExportOptions {
    pub const ALL: ExportOptions =
        ExportOptions { timestamps: true, speakers: true, marks: true, notes: true, bilingual: true };

    /// Defaults: documents (md, html, docx, pdf) carry everything; TXT is the plain transcript
    /// (speaker names only); subtitles carry speakers and, when it fits, the translation;
    /// JSON is the full-fidelity data and ignores options.
    pub fn defaults_for(format: Format) -> ExportOptions {
        match format {
            Format::Md | Format::Html | Format::Docx | Format::Pdf | Format::Json => ExportOptions::ALL,
            Format::Txt => ExportOptions { timestamps: false, speakers: true, marks: false, notes: false, bilingual: false },
            Format::Srt | Format::Vtt => {
                ExportOptions { timestamps: true, speakers: true, marks: false, notes: false, bilingual: true }
            }
        }
    }

    /// Turns the comma-separated options in `list` on or off (`timestamps,speakers,…`).
    pub fn set(&mut self, list: &str, on: bool) -> Result<(), ExportError> {
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let field = match name.to_ascii_lowercase().as_str() {
                "timestamps" | "timestamp" | "times" | "time" => &mut self.timestamps,
                "speakers" | "speaker" => &mut self.speakers,
                "marks" | "mark" => &mut self.marks,
                "notes" | "note" | "ai-notes" | "ai_notes" => &mut self.notes,
                "bilingual" | "translation" => &mut self.bilingual,
                _ => return Err(ExportError::UnknownOption(name.to_string())),
            };
            *field = on;
        }
        Ok(())
    }
}

/// A mark the user put on a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    Key,
    Question,
    Todo,
}

impl MarkKind {
    /// The label shown in exports.
    pub fn label(self) -> &'static str {
        match self {
            MarkKind::Key => "重点",
            MarkKind::Question => "问题",
            MarkKind::Todo => "待办",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentMark {
    /// Index into `Document::transcript.segments`.
    pub segment_idx: usize,
    pub kind: MarkKind,
}

/// An action item with its done state (from the library, or the AI notes' actions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionEntry {
    pub task: String,
    pub owner: Option<String>,
    pub due: Option<String>,
    pub start_ms: Option<u64>,
    pub done: bool,
}

/// Everything an export can show about one meeting.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub title: String,
    /// When the meeting took place (unix ms), if known.
    pub created_ms: Option<i64>,
    pub duration_ms: u64,
    pub transcript: Transcript,
    pub notes: Option<MeetingNotes>,
    /// The user's own notes (Markdown, shown as written).
    pub user_notes: Option<String>,
    pub marks: Vec<SegmentMark>,
    /// Action items with done state; when empty, the notes' actions are shown as not done.
    pub actions: Vec<ActionEntry>,
    /// Speaker label → display name.
    pub speaker_names: BTreeMap<String, String>,
}

impl Document {
    /// A document with only a transcript, titled by its source file name.
    pub fn from_transcript(t: Transcript) -> Document {
        let title = std::path::Path::new(&t.source.path)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| t.source.path.clone());
        Document {
            title,
            created_ms: None,
            duration_ms: t.duration_ms,
            transcript: t,
            notes: None,
            user_notes: None,
            marks: Vec::new(),
            actions: Vec::new(),
            speaker_names: BTreeMap::new(),
        }
    }
}

/// Renders the document. JSON is the transcript's own JSON (the library's full-fidelity meeting
/// export lives in `tingji-library`); DOCX and PDF are binary.
pub fn render(doc: &Document, format: Format, opts: &ExportOptions) -> Result<Vec<u8>, ExportError> {
    Ok(match format {
        Format::Json => (doc.transcript.to_json_pretty() + "\n").into_bytes(),
        Format::Srt => subtitles::srt(doc, opts).into_bytes(),
        Format::Vtt => subtitles::vtt(doc, opts).into_bytes(),
        Format::Txt => markup::txt(&blocks::blocks(doc, opts)).into_bytes(),
        Format::Md => markup::markdown(&blocks::blocks(doc, opts)).into_bytes(),
        Format::Html => markup::html(doc, &blocks::blocks(doc, opts)).into_bytes(),
        Format::Docx => docx::docx(doc, &blocks::blocks(doc, opts))?,
        Format::Pdf => pdf::pdf(doc, &blocks::blocks(doc, opts))?,
    })
}

/// `h:mm:ss` (or `mm:ss` under an hour); with `millis`, `.mmm` appended.
pub fn clock(ms: u64, millis: bool) -> String {
    let base = if ms >= 3_600_000 {
        format!("{}:{:02}:{:02}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60)
    } else {
        format!("{:02}:{:02}", ms / 60_000, ms / 1000 % 60)
    };
    if millis { format!("{base}.{:03}", ms % 1000) } else { base }
}

/// `YYYY-MM-DD HH:MM` (UTC) from unix milliseconds.
pub fn date(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", rem / 3600, rem / 60 % 60)
}

#[cfg(test)]
mod tests;
