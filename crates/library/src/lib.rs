//! The user's meeting library: one SQLite file (`root/library.sqlite3`) plus the media it keeps
//! (`root/media/<meeting id>/<file name>`).
//!
//! Users keep hundreds of meetings here and must never lose one. Invariants:
//!
//! - **One transaction per logical change.** Every public method that writes does all its rows in
//!   a single `BEGIN IMMEDIATE` transaction: a meeting appears with its media row, transcript
//!   version, segments, words, speakers and tags, or not at all; a crash (even `kill -9` or power
//!   loss) mid-import leaves the library as it was (see the `crash` test).
//! - **Durability.** `journal_mode=WAL` with `synchronous=FULL`: in WAL mode NORMAL only loses the
//!   last commits on power loss, but "imported" must mean "kept" (and a moved original is removed
//!   only after the commit), and commits are user-paced (one per logical change), so the one WAL
//!   fsync per commit costs nothing noticeable. `foreign_keys=ON`; every table hangs off
//!   `meetings` with `ON DELETE CASCADE`.
//! - **Media is deleted only by [`Library::delete_meeting`]**, and only files inside
//!   `media/<that meeting's id>/` that no other media row points to. Imports copy the file into a
//!   staging folder, fsync it, read it back and verify its SHA-256 before any row is written; a
//!   failed import removes only that staged copy of its own. With [`KeepAs::Move`] the original
//!   is removed only after the copy is verified *and* the transaction has committed. A
//!   `media/<id>` folder found without rows (a crash between placing a copy and committing) is
//!   moved aside to `media/.orphaned/`, never deleted.
//! - **Migrations.** The schema is versioned by `PRAGMA user_version`; `MIGRATIONS[i]` (in
//!   `schema.rs`) takes version i to i + 1 in one transaction with the version bump. A database
//!   newer than this build is refused ([`LibraryError::NewerSchema`]), never written.
//! - **Search index in sync.** `segments_fts` (FTS5) is maintained by triggers on `segments`, so
//!   it changes in the same transaction as the rows, including cascaded deletes. Text is folded by
//!   the `tingji_fold` SQL function (registered on every connection the library opens): Chinese,
//!   Japanese and Korean one character per token, other words lower-cased; a query word becomes a
//!   phrase, so a two-character Chinese word matches wherever it occurs (see `text.rs`).
//! - **Old transcript versions stay** until [`Library::drop_version`]; exactly one version per
//!   meeting is current (a partial unique index enforces it).
//!
//! Search choice (measured by `tests/bench.rs`, 1,000 meetings × 60 mixed English/Chinese
//! segments, release build): FTS5 `trigram` cannot match the two-character words Chinese is full
//! of (协会, 跑步), and its `LIKE` fallback scans every segment (~14 ms here, growing with the
//! library); the one-character-per-token index answers the same phrase in ≤ 1.5 ms, needs no
//! dictionary (unlike jieba segmentation, whose recall depends on the query being cut the same
//! way as the text) and finds every substring. `search()` end to end: p50 ≈ 2 ms, p95 ≈ 6 ms.
//!
//! A crash during an import's copy can leave a folder in `media/.staging/`; nothing refers to it
//! and the library never deletes it by itself.

mod error;
mod export;
mod media;
mod model;
mod schema;
mod speakers;
mod text;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use tingji_transcript::notes::{MeetingNotes, NoteKind};
use tingji_transcript::{Segment, Transcript, Word};

pub use error::{LibraryError, Result};
pub use model::*;
pub use schema::SCHEMA_VERSION;
#[doc(hidden)]
pub use text::fold as fold_for_search;

/// File name of the database inside the library root.
pub const DB_FILE: &str = "library.sqlite3";
/// Folder of kept media inside the library root.
pub const MEDIA_DIR: &str = "media";

/// Failure injection for tests (the library never sets one itself).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailPoint {
    /// `import_meeting`: after the media is in place and all rows are written, before commit.
    ImportBeforeCommit,
}

/// The meeting library. Writes take `&mut self`; open one `Library` per thread (SQLite
/// serialises writers across connections and processes, waiting up to 5 s for the lock).
pub struct Library {
    root: PathBuf,
    conn: Connection,
    fail_point: Option<FailPoint>,
}

/// Marks meeting `id` as changed at `at_ms` (`meetings.updated_at`).
pub(crate) fn touch_meeting(tx: &Transaction<'_>, id: i64, at_ms: i64) -> Result<()> {
    tx.execute(
        "UPDATE meetings SET updated_at = ?2 WHERE id = ?1",
        params![id, at_ms],
    )?;
    Ok(())
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The default library folder: `$TINGJI_DATA_DIR/library` when that variable is set (and not
/// empty), else the platform data directory (`~/.local/share/tingji/library` on Linux).
pub fn default_root() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TINGJI_DATA_DIR").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir).join("library"));
    }
    directories::ProjectDirs::from("", "", "tingji").map(|d| d.data_dir().join("library"))
}

fn conv_err(e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

fn parse_col<T: FromStr>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    row.get::<_, String>(idx)?.parse().map_err(conv_err)
}

fn json_col<T: serde::de::DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    serde_json::from_str(&row.get::<_, String>(idx)?).map_err(conv_err)
}

fn path_string(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn clean_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = tags
        .iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn check_transcript(t: &Transcript) -> Result<()> {
    if t.version > tingji_transcript::SCHEMA_VERSION {
        return Err(LibraryError::TranscriptVersion {
            found: t.version,
            supported: tingji_transcript::SCHEMA_VERSION,
        });
    }
    Ok(())
}

const SUMMARY_COLS: &str = "m.id, m.title, m.created_at, m.updated_at, m.duration_ms, m.source_kind, \
     m.language, m.folder, \
     (SELECT group_concat(tag, char(31)) FROM (SELECT tag FROM tags WHERE meeting_id = m.id ORDER BY tag))";

fn summary_from_row(row: &Row<'_>) -> rusqlite::Result<MeetingSummary> {
    let tags: Option<String> = row.get(8)?;
    Ok(MeetingSummary {
        id: MeetingId(row.get(0)?),
        title: row.get(1)?,
        created_at: row.get(2)?,
        updated_at: row.get(3)?,
        duration_ms: row.get(4)?,
        source_kind: parse_col(row, 5)?,
        language: row.get(6)?,
        folder: row.get(7)?,
        tags: tags
            .map(|t| t.split('\u{1f}').map(str::to_string).collect())
            .unwrap_or_default(),
    })
}

/// SQL conditions (joined with AND, over alias `m`, and `s` for segments when `segments`) and
/// their parameters for a filter.
fn filter_sql(f: &Filter, segments: bool, params: &mut Vec<Value>) -> String {
    let mut conds: Vec<String> = Vec::new();
    let push = |params: &mut Vec<Value>, v: Value| {
        params.push(v);
        params.len()
    };
    if let Some(folder) = &f.folder {
        let i = push(params, Value::Text(folder.clone()));
        conds.push(format!("m.folder = ?{i}"));
    }
    if let Some(tag) = &f.tag {
        let i = push(params, Value::Text(tag.trim().to_string()));
        conds.push(format!(
            "EXISTS (SELECT 1 FROM tags t WHERE t.meeting_id = m.id AND t.tag = ?{i})"
        ));
    }
    if let Some(from) = f.from_ms {
        let i = push(params, Value::Integer(from));
        conds.push(format!("m.created_at >= ?{i}"));
    }
    if let Some(to) = f.to_ms {
        let i = push(params, Value::Integer(to));
        conds.push(format!("m.created_at < ?{i}"));
    }
    if let Some(sp) = &f.speaker {
        let i = push(params, Value::Text(sp.clone()));
        if segments {
            conds.push(format!(
                "s.speaker IN (SELECT label FROM speakers x WHERE x.meeting_id = m.id \
                 AND (x.label = ?{i} OR x.name = ?{i}))"
            ));
        } else {
            conds.push(format!(
                "EXISTS (SELECT 1 FROM speakers x WHERE x.meeting_id = m.id \
                 AND (x.label = ?{i} OR x.name = ?{i}))"
            ));
        }
    }
    if conds.is_empty() {
        "1".to_string()
    } else {
        conds.join(" AND ")
    }
}

fn order_sql(sort: Sort) -> &'static str {
    match sort {
        Sort::CreatedDesc => "m.created_at DESC, m.id DESC",
        Sort::CreatedAsc => "m.created_at ASC, m.id ASC",
        Sort::Title => "m.title COLLATE NOCASE ASC, m.created_at DESC, m.id DESC",
    }
}

/// Inserts one transcript version with its segments, words and (new) speaker labels.
fn insert_version(
    tx: &Transaction<'_>,
    meeting: i64,
    id: Option<i64>,
    t: &Transcript,
    created_at: i64,
    current: bool,
) -> Result<i64> {
    tx.prepare_cached(
        "INSERT INTO transcript_versions (id, meeting_id, created_at, schema_version, source_json, \
         language, language_probability, duration_ms, model, model_json, parameters, warnings, is_current) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        id,
        meeting,
        created_at,
        t.version,
        serde_json::to_string(&t.source)?,
        t.language,
        t.language_probability,
        t.duration_ms,
        t.model.name,
        serde_json::to_string(&t.model)?,
        serde_json::to_string(&t.parameters)?,
        serde_json::to_string(&t.warnings)?,
        current,
    ])?;
    let vid = tx.last_insert_rowid();
    let mut seg = tx.prepare_cached(
        "INSERT INTO segments (version_id, idx, start_ms, end_ms, text, channel, speaker) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut word = tx.prepare_cached(
        "INSERT INTO words (segment_id, idx, start_ms, end_ms, text, p) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut labels = HashSet::new();
    for (i, s) in t.segments.iter().enumerate() {
        seg.execute(params![
            vid, i as i64, s.start_ms, s.end_ms, s.text, s.channel, s.speaker
        ])?;
        let sid = tx.last_insert_rowid();
        for (k, w) in s.words.iter().enumerate() {
            word.execute(params![sid, k as i64, w.start_ms, w.end_ms, w.text, w.p])?;
        }
        if let Some(sp) = &s.speaker {
            labels.insert(sp.as_str());
        }
    }
    let mut spk =
        tx.prepare_cached("INSERT OR IGNORE INTO speakers (meeting_id, label) VALUES (?1, ?2)")?;
    let mut labels: Vec<&str> = labels.into_iter().collect();
    labels.sort_unstable();
    for l in labels {
        spk.execute(params![meeting, l])?;
    }
    Ok(vid)
}

/// Rebuilds a transcript version from its rows; `names` replaces speaker labels by given names.
fn load_transcript(
    conn: &Connection,
    vid: i64,
    names: Option<&HashMap<String, String>>,
) -> Result<Transcript> {
    let mut t = conn
        .prepare_cached(
            "SELECT schema_version, source_json, language, language_probability, duration_ms, \
             model_json, parameters, warnings FROM transcript_versions WHERE id = ?1",
        )?
        .query_row([vid], |r| {
            Ok(Transcript {
                version: r.get(0)?,
                source: json_col(r, 1)?,
                language: r.get(2)?,
                language_probability: r.get(3)?,
                duration_ms: r.get(4)?,
                model: json_col(r, 5)?,
                parameters: json_col(r, 6)?,
                segments: Vec::new(),
                warnings: json_col(r, 7)?,
            })
        })
        .optional()?
        .ok_or_else(|| LibraryError::not_found("transcript version", vid))?;
    let mut ids = Vec::new();
    {
        let mut st = conn.prepare_cached(
            "SELECT id, start_ms, end_ms, text, channel, speaker FROM segments WHERE version_id = ?1 ORDER BY idx",
        )?;
        let rows = st.query_map([vid], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                Segment {
                    start_ms: r.get(1)?,
                    end_ms: r.get(2)?,
                    text: r.get(3)?,
                    channel: r.get(4)?,
                    speaker: r.get(5)?,
                    words: Vec::new(),
                },
            ))
        })?;
        for row in rows {
            let (id, mut s) = row?;
            if let (Some(names), Some(sp)) = (names, &s.speaker)
                && let Some(n) = names.get(sp)
            {
                s.speaker = Some(n.clone());
            }
            ids.push(id);
            t.segments.push(s);
        }
    }
    let pos: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut st = conn.prepare_cached(
        "SELECT w.segment_id, w.start_ms, w.end_ms, w.text, w.p FROM words w \
         JOIN segments s ON s.id = w.segment_id WHERE s.version_id = ?1 ORDER BY s.idx, w.idx",
    )?;
    let rows = st.query_map([vid], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            Word {
                start_ms: r.get(1)?,
                end_ms: r.get(2)?,
                text: r.get(3)?,
                p: r.get(4)?,
            },
        ))
    })?;
    for row in rows {
        let (sid, w) = row?;
        if let Some(&i) = pos.get(&sid) {
            t.segments[i].words.push(w);
        }
    }
    Ok(t)
}

impl Library {
    /// Opens (creating if needed) the library in `root` and upgrades its schema to the current
    /// version.
    pub fn open(root: &Path) -> Result<Library> {
        Self::open_at_version(root, SCHEMA_VERSION)
    }

    /// Opens the library migrated only up to `version` (for upgrade tests). The API expects the
    /// current version: use only [`Library::connection`] on an older one.
    #[doc(hidden)]
    pub fn open_at_version(root: &Path, version: u32) -> Result<Library> {
        fs::create_dir_all(root.join(MEDIA_DIR))
            .map_err(LibraryError::io("create", root.join(MEDIA_DIR)))?;
        let mut conn = Connection::open(root.join(DB_FILE))?;
        configure(&conn)?;
        schema::migrate(&mut conn, version)?;
        Ok(Library {
            root: root.to_path_buf(),
            conn,
            fail_point: None,
        })
    }

    /// The raw connection (tests and diagnostics only).
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    #[doc(hidden)]
    pub fn set_fail_point(&mut self, fp: Option<FailPoint>) {
        self.fail_point = fp;
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `PRAGMA integrity_check` plus the FTS5 index's own check: the problems found (empty when
    /// the database is sound).
    pub fn check_integrity(&self) -> Result<Vec<String>> {
        let mut st = self.conn.prepare("PRAGMA integrity_check")?;
        let rows: Vec<String> = st
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut problems: Vec<String> = rows.into_iter().filter(|r| r != "ok").collect();
        if let Err(e) = self.conn.execute(
            "INSERT INTO segments_fts(segments_fts) VALUES ('integrity-check')",
            [],
        ) {
            problems.push(format!("search index: {e}"));
        }
        Ok(problems)
    }

    fn write_tx(&mut self) -> Result<Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    fn media_root(&self) -> PathBuf {
        self.root.join(MEDIA_DIR)
    }

    // ----- import -----

    /// Adds a meeting with `t` as its first (current) transcript version, keeping `media` (copied
    /// or moved into `root/media/<id>/`). All rows go in one transaction; if the copy fails,
    /// nothing is inserted.
    pub fn import_meeting(
        &mut self,
        t: &Transcript,
        media: Option<(&Path, KeepAs)>,
        title: Option<&str>,
    ) -> Result<MeetingId> {
        self.import_meeting_with(
            t,
            media,
            &NewMeeting {
                title,
                ..Default::default()
            },
        )
    }

    /// [`Library::import_meeting`] with more options (source kind, folder, date, tags).
    pub fn import_meeting_with(
        &mut self,
        t: &Transcript,
        media: Option<(&Path, KeepAs)>,
        opts: &NewMeeting<'_>,
    ) -> Result<MeetingId> {
        check_transcript(t)?;
        let title = opts
            .title
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .or_else(|| {
                media
                    .and_then(|(p, _)| p.file_stem())
                    .map(|s| s.to_string_lossy().into_owned())
            })
            .or_else(|| {
                Path::new(&t.source.path)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "Meeting".to_string());
        if let Some((src, KeepAs::Move)) = media {
            let inside = match (src.canonicalize(), self.media_root().canonicalize()) {
                (Ok(s), Ok(m)) => s.starts_with(m),
                _ => false,
            };
            if inside {
                return Err(LibraryError::InvalidInput(format!(
                    "{} is already kept by the library; it cannot be moved",
                    src.display()
                )));
            }
        }
        let media_root = self.media_root();
        // The long copy happens before the write lock is taken.
        let staged = match media {
            Some((src, _)) => Some(media::stage_copy(&media_root, src)?),
            None => None,
        };
        let created_at = opts.created_at.unwrap_or_else(now_ms);
        let tags = clean_tags(opts.tags);
        let fail_point = self.fail_point;
        let mut placed: Option<PathBuf> = None;
        let result = (|| -> Result<MeetingId> {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO meetings (title, created_at, updated_at, duration_ms, source_kind, language, folder) \
                 VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6)",
                params![
                    title,
                    created_at,
                    t.duration_ms,
                    opts.source_kind.unwrap_or(SourceKind::Imported).as_str(),
                    t.language,
                    opts.folder.map(str::trim).filter(|f| !f.is_empty()),
                ],
            )?;
            let id = tx.last_insert_rowid();
            if let (Some(st), Some((src, keep))) = (&staged, media) {
                let id_dir = media_root.join(id.to_string());
                if fs::symlink_metadata(&id_dir).is_ok() {
                    media::move_aside(&media_root, &id_dir, id)?;
                }
                fs::rename(&st.dir, &id_dir).map_err(LibraryError::io("rename", &st.dir))?;
                placed = Some(id_dir);
                media::fsync_dir(&media_root)?;
                tx.execute(
                    "INSERT INTO media (meeting_id, path, original_path, sha256, bytes, kept_as) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        id,
                        format!("{MEDIA_DIR}/{id}/{}", st.file_name),
                        path_string(
                            &std::path::absolute(src).unwrap_or_else(|_| src.to_path_buf())
                        ),
                        st.sha256,
                        st.bytes,
                        keep.as_str(),
                    ],
                )?;
            }
            for tag in &tags {
                tx.execute(
                    "INSERT INTO tags (meeting_id, tag) VALUES (?1, ?2)",
                    params![id, tag],
                )?;
            }
            insert_version(&tx, id, None, t, created_at, true)?;
            if fail_point == Some(FailPoint::ImportBeforeCommit) {
                return Err(LibraryError::Injected("import before commit"));
            }
            tx.commit()?;
            Ok(MeetingId(id))
        })();
        match result {
            Ok(id) => {
                if let (Some((src, KeepAs::Move)), Some(_)) = (media, &staged) {
                    // The copy is fsynced, verified and committed: now the original may go.
                    if let Err(e) = fs::remove_file(src) {
                        tracing::warn!(path = %src.display(), error = %e, "kept a copy but could not remove the original");
                    }
                }
                Ok(id)
            }
            Err(e) => {
                if let Some(st) = &staged {
                    // Put our own copy back into staging (undoing the placement), then drop it.
                    if let Some(dir) = &placed
                        && let Err(re) = fs::rename(dir, &st.dir)
                    {
                        tracing::warn!(dir = %dir.display(), error = %re, "could not withdraw media copy of a failed import");
                    }
                    st.discard();
                }
                Err(e)
            }
        }
    }

    // ----- reading -----

    /// Meetings matching `filter`, in its sort order.
    pub fn list(&self, filter: &Filter) -> Result<Vec<MeetingSummary>> {
        let mut params = Vec::new();
        let cond = filter_sql(filter, false, &mut params);
        let sql = format!(
            "SELECT {SUMMARY_COLS} FROM meetings m WHERE {cond} ORDER BY {}",
            order_sql(filter.sort)
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(params), summary_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn summary(&self, id: MeetingId) -> Result<MeetingSummary> {
        let sql = format!("SELECT {SUMMARY_COLS} FROM meetings m WHERE m.id = ?1");
        self.conn
            .prepare_cached(&sql)?
            .query_row([id.0], summary_from_row)
            .optional()?
            .ok_or_else(|| LibraryError::not_found("meeting", id))
    }

    fn speakers(&self, id: MeetingId) -> Result<Vec<Speaker>> {
        let mut st = self.conn.prepare_cached(
            "SELECT label, name, match_score FROM speakers WHERE meeting_id = ?1 ORDER BY label",
        )?;
        let rows = st.query_map([id.0], |r| {
            Ok(Speaker {
                label: r.get(0)?,
                name: r.get(1)?,
                matched: r
                    .get::<_, Option<f64>>(2)?
                    .map(|s| (s * 100.0).round().clamp(0.0, 100.0) as u8),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn current_version(&self, id: MeetingId) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id FROM transcript_versions WHERE meeting_id = ?1 AND is_current = 1",
            )?
            .query_row([id.0], |r| r.get(0))
            .optional()?)
    }

    /// A meeting with its current transcript, versions, tags, speakers, media and notes.
    pub fn meeting(&self, id: MeetingId) -> Result<Meeting> {
        let summary = self.summary(id)?;
        let speakers = self.speakers(id)?;
        let names: HashMap<String, String> = speakers
            .iter()
            .filter_map(|s| s.name.clone().map(|n| (s.label.clone(), n)))
            .collect();
        let current = self.current_version(id)?;
        let transcript = current
            .map(|v| load_transcript(&self.conn, v, Some(&names)))
            .transpose()?;
        let versions = {
            let mut st = self.conn.prepare_cached(
                "SELECT v.id, v.created_at, v.model, v.language, v.is_current, \
                 (SELECT count(*) FROM segments s WHERE s.version_id = v.id) \
                 FROM transcript_versions v WHERE v.meeting_id = ?1 ORDER BY v.created_at, v.id",
            )?;
            st.query_map([id.0], |r| {
                Ok(VersionInfo {
                    id: VersionId(r.get(0)?),
                    created_at: r.get(1)?,
                    model: r.get(2)?,
                    language: r.get(3)?,
                    is_current: r.get(4)?,
                    segments: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
        };
        let media = self.media(id)?;
        let marks = {
            let mut st = self.conn.prepare_cached(
                "SELECT s.version_id, s.idx, s.start_ms, k.kind, k.created_at FROM marks k \
                 JOIN segments s ON s.id = k.segment_id JOIN transcript_versions v ON v.id = s.version_id \
                 WHERE v.meeting_id = ?1 ORDER BY s.version_id, s.idx, k.id",
            )?;
            st.query_map([id.0], |r| {
                Ok(Mark {
                    version_id: VersionId(r.get(0)?),
                    segment_idx: r.get(1)?,
                    start_ms: r.get(2)?,
                    kind: parse_col(r, 3)?,
                    created_at: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
        };
        let notes = self
            .conn
            .prepare_cached("SELECT markdown FROM notes WHERE meeting_id = ?1")?
            .query_row([id.0], |r| r.get(0))
            .optional()?;
        Ok(Meeting {
            summary,
            transcript,
            current_version: current.map(VersionId),
            versions,
            speakers,
            media,
            marks,
            notes,
            ai_notes: self.ai_notes(id)?,
            action_items: self.action_items(id)?,
        })
    }

    fn media(&self, id: MeetingId) -> Result<Vec<MediaInfo>> {
        let mut st = self.conn.prepare_cached(
            "SELECT path, original_path, sha256, bytes, kept_as FROM media WHERE meeting_id = ?1 ORDER BY id",
        )?;
        let rows = st.query_map([id.0], |r| {
            let path: String = r.get(0)?;
            let abs_path = self.root.join(&path);
            Ok(MediaInfo {
                present: abs_path.is_file(),
                abs_path,
                path,
                original_path: r.get(1)?,
                sha256: r.get(2)?,
                bytes: r.get(3)?,
                kept_as: parse_col(r, 4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn ai_notes(&self, id: MeetingId) -> Result<Vec<AiNote>> {
        let mut st = self.conn.prepare_cached(
            "SELECT kind, json, model, prompt_version, created_at, language, template FROM ai_notes \
             WHERE meeting_id = ?1 ORDER BY id",
        )?;
        let rows = st.query_map([id.0], |r| {
            Ok(AiNote {
                kind: r.get(0)?,
                json: r.get(1)?,
                model: r.get(2)?,
                prompt_version: r.get(3)?,
                created_at: r.get(4)?,
                language: r.get(5)?,
                template: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn action_items(&self, id: MeetingId) -> Result<Vec<ActionItem>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, text, owner, due, source_ms, done, origin FROM action_items WHERE meeting_id = ?1 ORDER BY id",
        )?;
        let rows = st.query_map([id.0], |r| {
            Ok(ActionItem {
                id: Some(r.get(0)?),
                text: r.get(1)?,
                owner: r.get(2)?,
                due: r.get(3)?,
                source_ms: r.get(4)?,
                done: r.get(5)?,
                origin: parse_col(r, 6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A stored transcript version as it was imported (speaker labels, not given names).
    pub fn transcript_version(&self, version: VersionId) -> Result<Transcript> {
        load_transcript(&self.conn, version.0, None)
    }

    // ----- transcript versions -----

    fn ensure_meeting(tx: &Transaction<'_>, id: MeetingId) -> Result<()> {
        let found: Option<i64> = tx
            .query_row("SELECT id FROM meetings WHERE id = ?1", [id.0], |r| {
                r.get(0)
            })
            .optional()?;
        found
            .map(|_| ())
            .ok_or_else(|| LibraryError::not_found("meeting", id))
    }

    /// Stores `t` as a new transcript version of the meeting and makes it current; earlier
    /// versions stay.
    pub fn add_transcript_version(&mut self, id: MeetingId, t: &Transcript) -> Result<VersionId> {
        check_transcript(t)?;
        let tx = self.write_tx()?;
        Self::ensure_meeting(&tx, id)?;
        tx.execute("UPDATE transcript_versions SET is_current = 0 WHERE meeting_id = ?1 AND is_current = 1", [id.0])?;
        let vid = insert_version(&tx, id.0, None, t, now_ms(), true)?;
        tx.execute(
            "UPDATE meetings SET duration_ms = ?2, language = ?3, updated_at = ?4 WHERE id = ?1",
            params![id.0, t.duration_ms, t.language, now_ms()],
        )?;
        tx.commit()?;
        Ok(VersionId(vid))
    }

    /// Makes an existing version the current one.
    pub fn set_current_version(&mut self, version: VersionId) -> Result<()> {
        let tx = self.write_tx()?;
        let meeting: i64 = tx
            .query_row(
                "SELECT meeting_id FROM transcript_versions WHERE id = ?1",
                [version.0],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| LibraryError::not_found("transcript version", version))?;
        Self::make_current(&tx, meeting, version.0)?;
        tx.commit()?;
        Ok(())
    }

    fn make_current(tx: &Transaction<'_>, meeting: i64, vid: i64) -> Result<()> {
        tx.execute("UPDATE transcript_versions SET is_current = 0 WHERE meeting_id = ?1 AND is_current = 1", [meeting])?;
        tx.execute(
            "UPDATE transcript_versions SET is_current = 1 WHERE id = ?1",
            [vid],
        )?;
        tx.execute(
            "UPDATE meetings SET duration_ms = v.duration_ms, language = v.language, updated_at = ?2 \
             FROM (SELECT duration_ms, language FROM transcript_versions WHERE id = ?1) AS v WHERE meetings.id = ?3",
            params![vid, now_ms(), meeting],
        )?;
        Ok(())
    }

    /// Deletes one transcript version (its segments, words and marks). The meeting keeps at least
    /// one version; when the current one is dropped, the newest remaining becomes current. Media
    /// is not touched.
    pub fn drop_version(&mut self, version: VersionId) -> Result<()> {
        let tx = self.write_tx()?;
        let (meeting, current): (i64, bool) = tx
            .query_row(
                "SELECT meeting_id, is_current FROM transcript_versions WHERE id = ?1",
                [version.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| LibraryError::not_found("transcript version", version))?;
        let count: i64 = tx.query_row(
            "SELECT count(*) FROM transcript_versions WHERE meeting_id = ?1",
            [meeting],
            |r| r.get(0),
        )?;
        if count <= 1 {
            return Err(LibraryError::LastVersion(version.0));
        }
        tx.execute("DELETE FROM transcript_versions WHERE id = ?1", [version.0])?;
        if current {
            let newest: i64 = tx.query_row(
                "SELECT id FROM transcript_versions WHERE meeting_id = ?1 ORDER BY created_at DESC, id DESC LIMIT 1",
                [meeting],
                |r| r.get(0),
            )?;
            Self::make_current(&tx, meeting, newest)?;
        } else {
            touch_meeting(&tx, meeting, now_ms())?;
        }
        tx.commit()?;
        Ok(())
    }

    // ----- metadata -----

    fn update_meeting(&mut self, id: MeetingId, sql: &str, value: Option<&str>) -> Result<()> {
        let tx = self.write_tx()?;
        let n = tx.execute(sql, params![id.0, value, now_ms()])?;
        if n == 0 {
            return Err(LibraryError::not_found("meeting", id));
        }
        tx.commit()?;
        Ok(())
    }

    pub fn rename(&mut self, id: MeetingId, title: &str) -> Result<()> {
        let title = title.trim();
        if title.is_empty() {
            return Err(LibraryError::InvalidInput("a title cannot be empty".into()));
        }
        self.update_meeting(
            id,
            "UPDATE meetings SET title = ?2, updated_at = ?3 WHERE id = ?1",
            Some(title),
        )
    }

    /// Moves the meeting into `folder` (`None` or empty: no folder).
    pub fn set_folder(&mut self, id: MeetingId, folder: Option<&str>) -> Result<()> {
        let folder = folder.map(str::trim).filter(|f| !f.is_empty());
        self.update_meeting(
            id,
            "UPDATE meetings SET folder = ?2, updated_at = ?3 WHERE id = ?1",
            folder,
        )
    }

    /// Replaces the meeting's tags (trimmed, deduplicated; empty ones dropped).
    pub fn set_tags(&mut self, id: MeetingId, tags: &[String]) -> Result<()> {
        let tags = clean_tags(tags);
        let tx = self.write_tx()?;
        Self::ensure_meeting(&tx, id)?;
        tx.execute("DELETE FROM tags WHERE meeting_id = ?1", [id.0])?;
        for t in &tags {
            tx.execute(
                "INSERT INTO tags (meeting_id, tag) VALUES (?1, ?2)",
                params![id.0, t],
            )?;
        }
        touch_meeting(&tx, id.0, now_ms())?;
        tx.commit()?;
        Ok(())
    }

    /// Replaces the user's notes (Markdown) for the meeting.
    pub fn set_notes(&mut self, id: MeetingId, markdown: &str) -> Result<()> {
        let tx = self.write_tx()?;
        Self::ensure_meeting(&tx, id)?;
        let now = now_ms();
        tx.execute(
            "INSERT INTO notes (meeting_id, markdown, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (meeting_id) DO UPDATE SET markdown = excluded.markdown, updated_at = excluded.updated_at",
            params![id.0, markdown, now],
        )?;
        touch_meeting(&tx, id.0, now)?;
        tx.commit()?;
        Ok(())
    }

    pub fn add_ai_note(&mut self, id: MeetingId, note: &AiNote) -> Result<()> {
        let tx = self.write_tx()?;
        Self::ensure_meeting(&tx, id)?;
        tx.execute(
            "INSERT INTO ai_notes (meeting_id, kind, json, model, prompt_version, created_at, language, template) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![id.0, note.kind, note.json, note.model, note.prompt_version, note.created_at, note.language, note.template],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Stores AI notes in one transaction: each kind present replaces that kind's earlier rows
    /// (kinds not present keep theirs), and when the notes have actions they replace the
    /// earlier AI-made action items (an item whose text is unchanged keeps its done state;
    /// the user's own items are never touched).
    pub fn save_notes(&mut self, id: MeetingId, notes: &MeetingNotes) -> Result<()> {
        let tx = self.write_tx()?;
        Self::ensure_meeting(&tx, id)?;
        let now = now_ms();
        for kind in notes.kinds() {
            let json = notes.part(kind).map(|v| v.to_string()).unwrap_or_default();
            tx.execute(
                "DELETE FROM ai_notes WHERE meeting_id = ?1 AND kind = ?2",
                params![id.0, kind.as_str()],
            )?;
            tx.execute(
                "INSERT INTO ai_notes (meeting_id, kind, json, model, prompt_version, created_at, language, template) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![id.0, kind.as_str(), json, notes.model, notes.prompt_version, now, notes.language, notes.template],
            )?;
        }
        if let Some(actions) = &notes.actions {
            let done_before: HashSet<String> = {
                let mut st = tx.prepare(
                    "SELECT text FROM action_items WHERE meeting_id = ?1 AND origin = 'ai' AND done = 1",
                )?;
                st.query_map([id.0], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?
            };
            tx.execute(
                "DELETE FROM action_items WHERE meeting_id = ?1 AND origin = 'ai'",
                [id.0],
            )?;
            for a in actions {
                tx.execute(
                    "INSERT INTO action_items (meeting_id, text, owner, due, source_ms, done, origin) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'ai')",
                    params![id.0, a.task, a.owner, a.due, a.start_ms, done_before.contains(&a.task)],
                )?;
            }
        }
        touch_meeting(&tx, id.0, now)?;
        tx.commit()?;
        Ok(())
    }

    /// The meeting's AI notes: the latest row of each kind, with language, model, prompt version
    /// and template from the latest row. `None` when none were made. A row that no longer parses
    /// as its kind (or an unknown kind) is skipped with a warning, not an error.
    pub fn notes(&self, id: MeetingId) -> Result<Option<MeetingNotes>> {
        let mut rows = self.ai_notes(id)?;
        if rows.is_empty() {
            self.summary(id)?;
            return Ok(None);
        }
        rows.sort_by_key(|r| r.created_at);
        let mut notes = MeetingNotes::new("", "", "");
        let mut any = false;
        for r in &rows {
            let parsed = NoteKind::from_str(&r.kind).map_err(|e| e.to_string()).and_then(|k| {
                let v = serde_json::from_str(&r.json).map_err(|e| e.to_string())?;
                notes.set_part(k, v).map_err(|e| e.to_string())
            });
            match parsed {
                Ok(()) => {
                    any = true;
                    notes.language = r.language.clone().unwrap_or_default();
                    notes.model = r.model.clone();
                    notes.prompt_version = r.prompt_version.clone();
                    notes.template = r.template.clone();
                }
                Err(e) => {
                    tracing::warn!(meeting = id.0, kind = %r.kind, error = %e, "skipping unreadable AI notes row")
                }
            }
        }
        Ok(any.then_some(notes))
    }

    /// Adds an action item; returns its id.
    pub fn add_action_item(&mut self, id: MeetingId, item: &ActionItem) -> Result<i64> {
        let tx = self.write_tx()?;
        Self::ensure_meeting(&tx, id)?;
        tx.execute(
            "INSERT INTO action_items (meeting_id, text, owner, due, source_ms, done, origin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id.0, item.text, item.owner, item.due, item.source_ms, item.done, item.origin.as_str()],
        )?;
        let item_id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(item_id)
    }

    pub fn set_action_done(&mut self, item: i64, done: bool) -> Result<()> {
        let tx = self.write_tx()?;
        if tx.execute(
            "UPDATE action_items SET done = ?2 WHERE id = ?1",
            params![item, done],
        )? == 0
        {
            return Err(LibraryError::not_found("action item", item));
        }
        tx.commit()?;
        Ok(())
    }

    /// Marks segment `segment_idx` of a transcript version.
    pub fn add_mark(&mut self, version: VersionId, segment_idx: u32, kind: MarkKind) -> Result<()> {
        let tx = self.write_tx()?;
        let sid: i64 = tx
            .query_row(
                "SELECT id FROM segments WHERE version_id = ?1 AND idx = ?2",
                params![version.0, segment_idx],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| {
                LibraryError::not_found("segment", format!("{segment_idx} of version {version}"))
            })?;
        tx.execute(
            "INSERT INTO marks (segment_id, kind, created_at) VALUES (?1, ?2, ?3)",
            params![sid, kind.as_str(), now_ms()],
        )?;
        tx.commit()?;
        Ok(())
    }

    // ----- deletion -----

    /// Deletes the meeting, everything attached to it and its kept media files. The rows go
    /// first (one transaction); then the files under `media/<id>/` that no other meeting's media
    /// row names. This is the only code path that deletes kept media.
    pub fn delete_meeting(&mut self, id: MeetingId) -> Result<()> {
        let root = self.root.clone();
        let tx = self.write_tx()?;
        Self::ensure_meeting(&tx, id)?;
        let paths: Vec<String> = {
            let mut st = tx.prepare("SELECT path FROM media WHERE meeting_id = ?1")?;
            st.query_map([id.0], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        tx.execute("DELETE FROM meetings WHERE id = ?1", [id.0])?;
        let mut deletable = Vec::new();
        let own_dir = Path::new(MEDIA_DIR).join(id.0.to_string());
        for p in paths {
            let still_used: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM media WHERE path = ?1)",
                [&p],
                |r| r.get(0),
            )?;
            if media::is_safe_relative(&p) && Path::new(&p).starts_with(&own_dir) && !still_used {
                deletable.push(root.join(&p));
            } else {
                tracing::warn!(path = %p, meeting = id.0, "not deleting media outside the meeting's folder or still in use");
            }
        }
        tx.commit()?;
        for f in &deletable {
            match fs::remove_file(f) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(LibraryError::Io {
                        op: "delete",
                        path: f.clone(),
                        source: e,
                    });
                }
            }
        }
        let dir = self.root.join(own_dir);
        if dir.is_dir() {
            // Only if empty: anything else in there is not ours to delete.
            let _ = fs::remove_dir(&dir);
            let _ = media::fsync_dir(&self.media_root());
        }
        Ok(())
    }

    // ----- search -----

    /// Full-text search over the current transcript of every meeting matching `filter`. Words
    /// match by prefix ("meet" finds "meeting"), Chinese/Japanese/Korean text as a substring of
    /// any length, `"quoted text"` as an exact phrase; all query terms must match in one segment.
    /// Hits come in the filter's meeting order, then by time.
    pub fn search(&self, query: &str, filter: &Filter, limit: usize) -> Result<Vec<SearchHit>> {
        let terms = text::parse_query(query);
        let Some(expr) = text::match_expr(&terms) else {
            return Ok(Vec::new());
        };
        let mut params = vec![Value::Text(expr)];
        let cond = filter_sql(filter, true, &mut params);
        params.push(Value::Integer(limit.min(i64::MAX as usize) as i64));
        // Sort only the keys of every match (bounded by LIMIT), then fetch text and names for
        // the rows kept: a common word matches thousands of segments.
        let limit_param = params.len();
        let order = |p: &str| match filter.sort {
            Sort::CreatedDesc => format!("{p}mc DESC, {p}mid DESC, {p}st, {p}si"),
            Sort::CreatedAsc => format!("{p}mc ASC, {p}mid ASC, {p}st, {p}si"),
            Sort::Title => {
                format!("{p}mt COLLATE NOCASE ASC, {p}mc DESC, {p}mid DESC, {p}st, {p}si")
            }
        };
        let sql = format!(
            "WITH h AS ( \
                SELECT s.id AS sid, m.id AS mid, m.created_at AS mc, m.title AS mt, s.start_ms AS st, s.idx AS si \
                FROM segments_fts f \
                JOIN segments s ON s.id = f.rowid \
                JOIN transcript_versions v ON v.id = s.version_id AND v.is_current = 1 \
                JOIN meetings m ON m.id = v.meeting_id \
                WHERE segments_fts MATCH ?1 AND {cond} \
                ORDER BY {} LIMIT ?{limit_param}) \
             SELECT h.mid, h.mt, s.version_id, s.idx, s.start_ms, s.end_ms, coalesce(sp.name, s.speaker), s.text \
             FROM h JOIN segments s ON s.id = h.sid \
             LEFT JOIN speakers sp ON sp.meeting_id = h.mid AND sp.label = s.speaker \
             ORDER BY {}",
            order(""),
            order("h.")
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(params), |r| {
            let text: String = r.get(7)?;
            Ok(SearchHit {
                meeting_id: MeetingId(r.get(0)?),
                title: r.get(1)?,
                version_id: VersionId(r.get(2)?),
                segment_idx: r.get(3)?,
                start_ms: r.get(4)?,
                end_ms: r.get(5)?,
                speaker: r.get(6)?,
                snippet: text::snippet(&text, &terms),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Rebuilds the full-text index from the segment rows (for repair; one transaction).
    pub fn rebuild_search_index(&mut self) -> Result<()> {
        let tx = self.write_tx()?;
        tx.execute(
            "INSERT INTO segments_fts(segments_fts) VALUES ('delete-all')",
            [],
        )?;
        tx.execute(
            "INSERT INTO segments_fts(rowid, body) SELECT id, tingji_fold(text) FROM segments",
            [],
        )?;
        tx.commit()?;
        Ok(())
    }

    // ----- jobs -----

    /// Records a queued job (so it can be resumed after a restart).
    pub fn create_job(
        &mut self,
        kind: JobKind,
        meeting: Option<MeetingId>,
        input: Option<&Path>,
    ) -> Result<JobId> {
        let now = now_ms();
        let tx = self.write_tx()?;
        tx.execute(
            "INSERT INTO jobs (kind, meeting_id, input_path, state, progress, created_at, updated_at) \
             VALUES (?1, ?2, ?3, 'queued', 0, ?4, ?4)",
            params![kind.as_str(), meeting.map(|m| m.0), input.map(path_string), now],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(JobId(id))
    }

    pub fn update_job(&mut self, id: JobId, u: &JobUpdate) -> Result<()> {
        let tx = self.write_tx()?;
        let n = tx.execute(
            "UPDATE jobs SET state = coalesce(?2, state), progress = coalesce(?3, progress), \
             error = coalesce(?4, error), checkpoint_path = coalesce(?5, checkpoint_path), \
             meeting_id = coalesce(?6, meeting_id), updated_at = ?7 WHERE id = ?1",
            params![
                id.0,
                u.state.map(JobState::as_str),
                u.progress.map(|p| p.clamp(0.0, 1.0)),
                u.error,
                u.checkpoint_path.as_deref().map(path_string),
                u.meeting_id.map(|m| m.0),
                now_ms()
            ],
        )?;
        if n == 0 {
            return Err(LibraryError::not_found("job", id));
        }
        tx.commit()?;
        Ok(())
    }

    fn jobs_where(&self, cond: &str, p: &[&dyn rusqlite::ToSql]) -> Result<Vec<Job>> {
        let sql = format!(
            "SELECT id, kind, meeting_id, input_path, state, progress, error, checkpoint_path, created_at, updated_at \
             FROM jobs WHERE {cond} ORDER BY id"
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let rows = st.query_map(p, |r| {
            Ok(Job {
                id: JobId(r.get(0)?),
                kind: parse_col(r, 1)?,
                meeting_id: r.get::<_, Option<i64>>(2)?.map(MeetingId),
                input_path: r.get::<_, Option<String>>(3)?.map(PathBuf::from),
                state: parse_col(r, 4)?,
                progress: r.get(5)?,
                error: r.get(6)?,
                checkpoint_path: r.get::<_, Option<String>>(7)?.map(PathBuf::from),
                created_at: r.get(8)?,
                updated_at: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn job(&self, id: JobId) -> Result<Job> {
        self.jobs_where("id = ?1", &[&id.0])?
            .pop()
            .ok_or_else(|| LibraryError::not_found("job", id))
    }

    /// Jobs still queued or running (after a crash: the ones to resume), oldest first.
    pub fn unfinished_jobs(&self) -> Result<Vec<Job>> {
        self.jobs_where("state IN ('queued', 'running')", &[])
    }
}

fn configure(conn: &Connection) -> Result<()> {
    conn.create_scalar_function(
        "tingji_fold",
        1,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        |ctx| {
            let s: Option<String> = ctx.get(0)?;
            Ok(s.map(|s| text::fold(&s)))
        },
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "library database is not in WAL mode");
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}
