//! Full-fidelity JSON export and import of one meeting.

use serde::{Deserialize, Serialize};
use tingji_transcript::Transcript;

use rusqlite::{OptionalExtension, params};

use crate::error::{LibraryError, Result};
use crate::model::*;
use crate::{Library, check_transcript, insert_version, load_transcript, media, parse_col};

/// `format` field of an export.
pub const EXPORT_FORMAT: &str = "tingji.meeting";
/// `format_version` written by this build; imports accept it and older.
pub const EXPORT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct Export {
    format: String,
    format_version: u32,
    meeting: ExportMeeting,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    speakers: Vec<Speaker>,
    #[serde(default)]
    media: Vec<ExportMedia>,
    versions: Vec<ExportVersion>,
    #[serde(default)]
    marks: Vec<ExportMark>,
    #[serde(default)]
    notes: Option<ExportNotes>,
    #[serde(default)]
    ai_notes: Vec<AiNote>,
    #[serde(default)]
    action_items: Vec<ActionItem>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ExportMeeting {
    id: i64,
    title: String,
    created_at: i64,
    updated_at: i64,
    duration_ms: u64,
    source_kind: SourceKind,
    language: Option<String>,
    folder: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ExportMedia {
    path: String,
    original_path: Option<String>,
    sha256: String,
    bytes: u64,
    kept_as: KeepAs,
}

#[derive(Debug, Serialize, Deserialize)]
struct ExportVersion {
    id: i64,
    created_at: i64,
    is_current: bool,
    /// Speaker labels as transcribed (given names are in `speakers`).
    transcript: Transcript,
}

#[derive(Debug, Serialize, Deserialize)]
struct ExportMark {
    version_id: i64,
    segment_idx: u32,
    kind: MarkKind,
    created_at: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct ExportNotes {
    markdown: String,
    updated_at: i64,
}

impl Library {
    /// The meeting and all its rows (every transcript version, speakers, media records, marks,
    /// notes, AI notes, action items) as pretty JSON. Media bytes are not included.
    pub fn export_json(&self, id: MeetingId) -> Result<String> {
        let conn = self.connection();
        let meeting = conn
            .query_row(
                "SELECT id, title, created_at, updated_at, duration_ms, source_kind, language, folder \
                 FROM meetings WHERE id = ?1",
                [id.0],
                |r| {
                    Ok(ExportMeeting {
                        id: r.get(0)?,
                        title: r.get(1)?,
                        created_at: r.get(2)?,
                        updated_at: r.get(3)?,
                        duration_ms: r.get(4)?,
                        source_kind: parse_col(r, 5)?,
                        language: r.get(6)?,
                        folder: r.get(7)?,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| LibraryError::not_found("meeting", id))?;
        let tags: Vec<String> = conn
            .prepare("SELECT tag FROM tags WHERE meeting_id = ?1 ORDER BY tag")?
            .query_map([id.0], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let speakers: Vec<Speaker> = conn
            .prepare("SELECT label, name FROM speakers WHERE meeting_id = ?1 ORDER BY label")?
            .query_map([id.0], |r| {
                Ok(Speaker {
                    label: r.get(0)?,
                    name: r.get(1)?,
                    // A name a voiceprint gave travels as a plain name (voices never leave).
                    matched: None,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let media: Vec<ExportMedia> = conn
            .prepare("SELECT path, original_path, sha256, bytes, kept_as FROM media WHERE meeting_id = ?1 ORDER BY id")?
            .query_map([id.0], |r| {
                Ok(ExportMedia {
                    path: r.get(0)?,
                    original_path: r.get(1)?,
                    sha256: r.get(2)?,
                    bytes: r.get(3)?,
                    kept_as: parse_col(r, 4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let version_rows: Vec<(i64, i64, bool)> = conn
            .prepare("SELECT id, created_at, is_current FROM transcript_versions WHERE meeting_id = ?1 ORDER BY id")?
            .query_map([id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut versions = Vec::with_capacity(version_rows.len());
        for (vid, created_at, is_current) in version_rows {
            versions.push(ExportVersion {
                id: vid,
                created_at,
                is_current,
                transcript: load_transcript(conn, vid, None)?,
            });
        }
        let marks: Vec<ExportMark> = conn
            .prepare(
                "SELECT s.version_id, s.idx, k.kind, k.created_at FROM marks k JOIN segments s ON s.id = k.segment_id \
                 JOIN transcript_versions v ON v.id = s.version_id WHERE v.meeting_id = ?1 \
                 ORDER BY s.version_id, s.idx, k.id",
            )?
            .query_map([id.0], |r| {
                Ok(ExportMark {
                    version_id: r.get(0)?,
                    segment_idx: r.get(1)?,
                    kind: parse_col(r, 2)?,
                    created_at: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let notes = conn
            .query_row(
                "SELECT markdown, updated_at FROM notes WHERE meeting_id = ?1",
                [id.0],
                |r| {
                    Ok(ExportNotes {
                        markdown: r.get(0)?,
                        updated_at: r.get(1)?,
                    })
                },
            )
            .optional()?;
        let export = Export {
            format: EXPORT_FORMAT.to_string(),
            format_version: EXPORT_VERSION,
            meeting,
            tags,
            speakers,
            media,
            versions,
            marks,
            notes,
            ai_notes: self.ai_notes(id)?,
            action_items: self.action_items(id)?,
        };
        Ok(serde_json::to_string_pretty(&export)?)
    }

    /// Adds a meeting from [`Library::export_json`] output, in one transaction. Ids (meeting,
    /// versions, action items) are kept when free in this library, else new ones are given. Media
    /// rows are restored as records; the files are not touched (see [`MediaInfo::present`]).
    pub fn import_json(&mut self, json: &str) -> Result<MeetingId> {
        let e: Export = serde_json::from_str(json)?;
        if e.format != EXPORT_FORMAT {
            return Err(LibraryError::InvalidExport(format!(
                "format is {:?}, not {EXPORT_FORMAT:?}",
                e.format
            )));
        }
        if e.format_version > EXPORT_VERSION {
            return Err(LibraryError::InvalidExport(format!(
                "format version {} is newer than this build supports ({EXPORT_VERSION})",
                e.format_version
            )));
        }
        if e.versions.is_empty() {
            return Err(LibraryError::InvalidExport("no transcript version".into()));
        }
        if e.versions.iter().filter(|v| v.is_current).count() != 1 {
            return Err(LibraryError::InvalidExport(
                "exactly one version must be current".into(),
            ));
        }
        for v in &e.versions {
            check_transcript(&v.transcript)?;
        }
        for m in &e.media {
            if !media::is_safe_relative(&m.path) {
                return Err(LibraryError::InvalidExport(format!(
                    "media path {:?} is outside media/",
                    m.path
                )));
            }
        }
        let tx = self.write_tx()?;
        let free = |table: &str, id: i64| -> Result<bool> {
            let sql = format!("SELECT NOT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)");
            Ok(tx.query_row(&sql, [id], |r| r.get(0))?)
        };
        let m = &e.meeting;
        let want_id = free("meetings", m.id)?.then_some(m.id);
        tx.execute(
            "INSERT INTO meetings (id, title, created_at, updated_at, duration_ms, source_kind, language, folder) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                want_id,
                m.title,
                m.created_at,
                m.updated_at,
                m.duration_ms,
                m.source_kind.as_str(),
                m.language,
                m.folder
            ],
        )?;
        let id = tx.last_insert_rowid();
        for t in &e.tags {
            tx.execute(
                "INSERT OR IGNORE INTO tags (meeting_id, tag) VALUES (?1, ?2)",
                params![id, t],
            )?;
        }
        for md in &e.media {
            tx.execute(
                "INSERT INTO media (meeting_id, path, original_path, sha256, bytes, kept_as) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, md.path, md.original_path, md.sha256, md.bytes, md.kept_as.as_str()],
            )?;
        }
        let mut version_map = std::collections::HashMap::new();
        for v in &e.versions {
            let want = free("transcript_versions", v.id)?.then_some(v.id);
            let vid = insert_version(&tx, id, want, &v.transcript, v.created_at, v.is_current)?;
            version_map.insert(v.id, vid);
        }
        // Names after the versions created the labels; labels only in `speakers` are kept too.
        for s in &e.speakers {
            tx.execute(
                "INSERT INTO speakers (meeting_id, label, name) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (meeting_id, label) DO UPDATE SET name = excluded.name",
                params![id, s.label, s.name],
            )?;
        }
        for k in &e.marks {
            let vid = version_map.get(&k.version_id).ok_or_else(|| {
                LibraryError::InvalidExport(format!("mark on unknown version {}", k.version_id))
            })?;
            let n = tx.execute(
                "INSERT INTO marks (segment_id, kind, created_at) \
                 SELECT id, ?3, ?4 FROM segments WHERE version_id = ?1 AND idx = ?2",
                params![vid, k.segment_idx, k.kind.as_str(), k.created_at],
            )?;
            if n != 1 {
                return Err(LibraryError::InvalidExport(format!(
                    "mark on unknown segment {} of version {}",
                    k.segment_idx, k.version_id
                )));
            }
        }
        if let Some(n) = &e.notes {
            tx.execute(
                "INSERT INTO notes (meeting_id, markdown, updated_at) VALUES (?1, ?2, ?3)",
                params![id, n.markdown, n.updated_at],
            )?;
        }
        for a in &e.ai_notes {
            tx.execute(
                "INSERT INTO ai_notes (meeting_id, kind, json, model, prompt_version, created_at, language, template) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![id, a.kind, a.json, a.model, a.prompt_version, a.created_at, a.language, a.template],
            )?;
        }
        for a in &e.action_items {
            let want = match a.id {
                Some(aid) if free("action_items", aid)? => Some(aid),
                _ => None,
            };
            tx.execute(
                "INSERT INTO action_items (id, meeting_id, text, owner, due, source_ms, done, origin) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![want, id, a.text, a.owner, a.due, a.source_ms, a.done, a.origin.as_str()],
            )?;
        }
        tx.commit()?;
        Ok(MeetingId(id))
    }
}
