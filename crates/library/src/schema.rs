//! Versioned schema. `MIGRATIONS[i]` takes the database from `user_version` i to i + 1; each runs
//! in one transaction together with the `user_version` bump, so a database is always exactly at
//! one version. Never edit a released migration: append a new one.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{LibraryError, Result};

/// Migration 1: the base schema.
pub(crate) const M1: &str = r#"
CREATE TABLE meetings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,               -- unix ms
    duration_ms INTEGER NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    source_kind TEXT    NOT NULL CHECK (source_kind IN ('recorded', 'imported')),
    language    TEXT,
    folder      TEXT
);
CREATE INDEX meetings_created ON meetings(created_at);
CREATE INDEX meetings_folder ON meetings(folder);

CREATE TABLE tags (
    meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    tag        TEXT    NOT NULL,
    PRIMARY KEY (meeting_id, tag)
) WITHOUT ROWID;
CREATE INDEX tags_tag ON tags(tag);

CREATE TABLE media (
    id            INTEGER PRIMARY KEY,
    meeting_id    INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    path          TEXT    NOT NULL,             -- relative to the library root
    original_path TEXT,
    sha256        TEXT    NOT NULL,
    bytes         INTEGER NOT NULL,
    kept_as       TEXT    NOT NULL CHECK (kept_as IN ('copy', 'move'))
);
CREATE INDEX media_meeting ON media(meeting_id);
CREATE INDEX media_path ON media(path);

CREATE TABLE transcript_versions (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    meeting_id           INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    created_at           INTEGER NOT NULL,
    schema_version       INTEGER NOT NULL,      -- Transcript::version
    source_json          TEXT    NOT NULL,      -- SourceInfo
    language             TEXT    NOT NULL,
    language_probability REAL,
    duration_ms          INTEGER NOT NULL,
    model                TEXT    NOT NULL,      -- model name
    model_json           TEXT    NOT NULL,      -- full ModelInfo
    parameters           TEXT    NOT NULL,      -- Parameters as JSON
    warnings             TEXT    NOT NULL DEFAULT '[]',
    is_current           INTEGER NOT NULL DEFAULT 0 CHECK (is_current IN (0, 1))
);
CREATE INDEX versions_meeting ON transcript_versions(meeting_id);
CREATE UNIQUE INDEX versions_one_current ON transcript_versions(meeting_id) WHERE is_current = 1;

CREATE TABLE segments (
    id         INTEGER PRIMARY KEY,
    version_id INTEGER NOT NULL REFERENCES transcript_versions(id) ON DELETE CASCADE,
    idx        INTEGER NOT NULL,
    start_ms   INTEGER NOT NULL,
    end_ms     INTEGER NOT NULL,
    text       TEXT    NOT NULL,
    channel    INTEGER,
    speaker    TEXT,                            -- speakers.label
    UNIQUE (version_id, idx)
);

CREATE TABLE words (
    segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    idx        INTEGER NOT NULL,
    start_ms   INTEGER NOT NULL,
    end_ms     INTEGER NOT NULL,
    text       TEXT    NOT NULL,
    p          REAL    NOT NULL,
    PRIMARY KEY (segment_id, idx)
) WITHOUT ROWID;

CREATE TABLE speakers (
    meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    label      TEXT    NOT NULL,
    name       TEXT,
    PRIMARY KEY (meeting_id, label)
) WITHOUT ROWID;

CREATE TABLE notes (
    meeting_id INTEGER PRIMARY KEY REFERENCES meetings(id) ON DELETE CASCADE,
    markdown   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE ai_notes (
    id             INTEGER PRIMARY KEY,
    meeting_id     INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    kind           TEXT    NOT NULL,
    json           TEXT    NOT NULL,
    model          TEXT    NOT NULL,
    prompt_version TEXT    NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX ai_notes_meeting ON ai_notes(meeting_id);

CREATE TABLE action_items (
    id         INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    text       TEXT    NOT NULL,
    owner      TEXT,
    due        TEXT,
    source_ms  INTEGER,
    done       INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1))
);
CREATE INDEX action_items_meeting ON action_items(meeting_id);

CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL CHECK (kind IN ('import', 'transcribe', 'notes')),
    meeting_id      INTEGER REFERENCES meetings(id) ON DELETE CASCADE,
    input_path      TEXT,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    progress        REAL    NOT NULL DEFAULT 0,
    error           TEXT,
    checkpoint_path TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX jobs_state ON jobs(state);
CREATE INDEX jobs_meeting ON jobs(meeting_id);

-- Full-text index over segment text, folded by tingji_fold() (see text.rs): CJK one character
-- per token, other words lower-cased. Contentless: the text lives in `segments` only.
CREATE VIRTUAL TABLE segments_fts USING fts5(
    body, content = '', contentless_delete = 1, tokenize = 'ascii'
);
CREATE TRIGGER segments_fts_insert AFTER INSERT ON segments BEGIN
    INSERT INTO segments_fts(rowid, body) VALUES (new.id, tingji_fold(new.text));
END;
CREATE TRIGGER segments_fts_delete AFTER DELETE ON segments BEGIN
    DELETE FROM segments_fts WHERE rowid = old.id;
END;
CREATE TRIGGER segments_fts_update AFTER UPDATE OF text ON segments BEGIN
    DELETE FROM segments_fts WHERE rowid = old.id;
    INSERT INTO segments_fts(rowid, body) VALUES (new.id, tingji_fold(new.text));
END;
"#;

/// Migration 2: marks on segments, and `meetings.updated_at` (filled from `created_at`).
pub(crate) const M2: &str = r#"
ALTER TABLE meetings ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE meetings SET updated_at = created_at;

CREATE TABLE marks (
    id         INTEGER PRIMARY KEY,
    segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('key', 'question', 'todo')),
    created_at INTEGER NOT NULL
);
CREATE INDEX marks_segment ON marks(segment_id);
"#;

/// Migration 3: who made an action item (`origin`: the user, or AI notes, which
/// `Library::save_notes` replaces), and the language and template of each AI-notes row.
pub(crate) const M3: &str = r#"
ALTER TABLE action_items ADD COLUMN origin TEXT NOT NULL DEFAULT 'user' CHECK (origin IN ('user', 'ai'));
ALTER TABLE ai_notes ADD COLUMN language TEXT;
ALTER TABLE ai_notes ADD COLUMN template TEXT;
CREATE INDEX ai_notes_meeting_kind ON ai_notes(meeting_id, kind);
"#;

/// Migration 4: voiceprints. A speaker keeps the voice diarization found for it (unit-length
/// embedding, f32 little-endian) and how long it talks; a voiceprint is a named voice across
/// meetings, the speech-weighted sum of the voices the user named so (`in_voiceprint`), so a
/// voice can be taken out again exactly. `match_score` is set when the name came from a
/// voiceprint rather than from the user.
pub(crate) const M4: &str = r#"
CREATE TABLE voiceprints (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    model      TEXT    NOT NULL,
    voice_sum  BLOB    NOT NULL,
    speech_ms  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
ALTER TABLE speakers ADD COLUMN voice BLOB;
ALTER TABLE speakers ADD COLUMN voice_model TEXT;
ALTER TABLE speakers ADD COLUMN voice_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE speakers ADD COLUMN voiceprint_id INTEGER REFERENCES voiceprints(id) ON DELETE SET NULL;
ALTER TABLE speakers ADD COLUMN in_voiceprint INTEGER NOT NULL DEFAULT 0;
ALTER TABLE speakers ADD COLUMN match_score REAL;
CREATE INDEX speakers_voiceprint ON speakers(voiceprint_id);
"#;

pub(crate) const MIGRATIONS: &[&str] = &[M1, M2, M3, M4];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

pub(crate) fn user_version(conn: &Connection) -> Result<u32> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))?)
}

/// Applies the migrations from the database's version up to `target`, one transaction each.
pub(crate) fn migrate(conn: &mut Connection, target: u32) -> Result<()> {
    let found = user_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(LibraryError::NewerSchema {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for v in found..target.min(SCHEMA_VERSION) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Re-read inside the write lock: another process may have migrated meanwhile.
        if user_version(&tx)? != v {
            tx.commit()?;
            continue;
        }
        tx.execute_batch(MIGRATIONS[v as usize])?;
        tx.pragma_update(None, "user_version", v + 1)?;
        tx.commit()?;
        tracing::info!(from = v, to = v + 1, "library schema migrated");
    }
    Ok(())
}
