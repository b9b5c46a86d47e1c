//! A library meeting as an export: the [`Document`] every format renders, and the bytes.

use std::io::Write;
use std::path::{Path, PathBuf};

use tingji_export::{ActionEntry, Document, ExportOptions, Format, MarkKind, SegmentMark};
use tingji_library::{Library, MeetingId};

use crate::{Result, WorkflowError};

/// Everything the export shows about a library meeting: its current transcript (speaker
/// labels, with the given names alongside), AI notes, the user's notes, marks on the current
/// version and action items.
pub fn document(lib: &Library, id: MeetingId) -> Result<Document> {
    let m = lib.meeting(id)?;
    let version = m.current_version.ok_or(WorkflowError::NoTranscript(id.0))?;
    let transcript = lib.transcript_version(version)?;
    let marks = m
        .marks
        .iter()
        .filter(|k| k.version_id == version)
        .map(|k| SegmentMark {
            segment_idx: k.segment_idx as usize,
            kind: match k.kind {
                tingji_library::MarkKind::Key => MarkKind::Key,
                tingji_library::MarkKind::Question => MarkKind::Question,
                tingji_library::MarkKind::Todo => MarkKind::Todo,
            },
        })
        .collect();
    let actions = m
        .action_items
        .iter()
        .map(|a| ActionEntry { task: a.text.clone(), owner: a.owner.clone(), due: a.due.clone(), start_ms: a.source_ms, done: a.done })
        .collect();
    Ok(Document {
        title: m.summary.title.clone(),
        created_ms: Some(m.summary.created_at),
        duration_ms: m.summary.duration_ms,
        transcript,
        notes: lib.notes(id)?,
        user_notes: m.notes.clone(),
        marks,
        actions,
        speaker_names: m.speakers.iter().filter_map(|s| s.name.clone().map(|n| (s.label.clone(), n))).collect(),
    })
}

/// The options for `format` after the parts to add (`with`) and then to leave out (`without`);
/// each entry may be a comma-separated list.
pub fn options(format: Format, with: &[String], without: &[String]) -> Result<ExportOptions> {
    let mut o = ExportOptions::defaults_for(format);
    for w in with {
        o.set(w, true)?;
    }
    for w in without {
        o.set(w, false)?;
    }
    Ok(o)
}

/// A library meeting in `format` (JSON = the library's full-fidelity export).
pub fn render(lib: &Library, id: MeetingId, format: Format, opts: &ExportOptions) -> Result<Vec<u8>> {
    Ok(if format == Format::Json { lib.export_json(id)?.into_bytes() } else { tingji_export::render(&document(lib, id)?, format, opts)? })
}

/// Writes an export to `path`, replacing what is there (the user named the file): the bytes go
/// to a new temp file beside it (a fresh random name, created exclusively, so a planted link
/// is never written through) that is then renamed over `path`. Nothing is left half-written.
pub fn save(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_beside(path, bytes)?;
    tmp.persist(path).map_err(|e| io("writing", path, e.error))?;
    Ok(())
}

/// Writes an export into the folder `dir` as `name.ext` (characters no file system takes
/// replaced), or `name (2).ext` and so on when that is taken: a folder export never replaces a
/// file, and two meetings with the same title keep both. Returns the path written.
pub fn save_in(dir: &Path, name: &str, ext: &str, bytes: &[u8]) -> Result<PathBuf> {
    let stem: String = name.trim().chars().map(|c| if "/\\:*?\"<>|".contains(c) || c.is_control() { '_' } else { c }).collect();
    let stem = if stem.trim().is_empty() { "meeting".to_string() } else { stem.trim().to_string() };
    let mut tmp = temp_beside(&dir.join("x"), bytes)?;
    for n in 1..10_000 {
        let path = dir.join(if n == 1 { format!("{stem}.{ext}") } else { format!("{stem} ({n}).{ext}") });
        match tmp.persist_noclobber(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => tmp = e.file,
            Err(e) => return Err(io("writing", &path, e.error)),
        }
    }
    Err(io("writing", &dir.join(format!("{stem}.{ext}")), std::io::Error::other("10 000 files of that name")))
}

fn temp_beside(path: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new().prefix(".tingji-export-").tempfile_in(dir).map_err(|e| io("creating a file in", dir, e))?;
    tmp.write_all(bytes).and_then(|()| tmp.as_file().sync_all()).map_err(|e| io("writing", tmp.path(), e))?;
    Ok(tmp)
}

fn io(op: &'static str, path: &Path, source: std::io::Error) -> WorkflowError {
    WorkflowError::Io { op, path: path.to_path_buf(), source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_export_never_replaces_a_file_and_a_named_one_does() {
        let d = tempfile::tempdir().unwrap();
        let a = save_in(d.path(), "Weekly: sync", "md", b"one").unwrap();
        let b = save_in(d.path(), "Weekly: sync", "md", b"two").unwrap();
        assert_eq!(a, d.path().join("Weekly_ sync.md"));
        assert_eq!(b, d.path().join("Weekly_ sync (2).md"));
        assert_eq!(std::fs::read(&a).unwrap(), b"one");
        save(&a, b"three").unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"three");
        // Only the two exports are left: no temp files.
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_link_at_the_old_temp_name_is_not_written_through() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim.txt");
        std::fs::write(&victim, b"keep me").unwrap();
        // The name the exporter used to write to before renaming.
        std::os::unix::fs::symlink(&victim, d.path().join("out.md.tmp")).unwrap();
        save(&d.path().join("out.md"), b"export").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
        assert_eq!(std::fs::read(d.path().join("out.md")).unwrap(), b"export");
    }

    #[test]
    fn with_and_without_change_the_format_defaults() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let o = options(Format::Txt, &s(&["timestamps,notes"]), &[]).unwrap();
        assert!(o.timestamps && o.notes && o.speakers && !o.marks);
        let o = options(Format::Pdf, &[], &s(&["timestamps", "bilingual,marks"])).unwrap();
        assert!(!o.timestamps && !o.bilingual && !o.marks && o.notes && o.speakers);
        let e = options(Format::Md, &s(&["colour"]), &[]).unwrap_err();
        assert_eq!(e.code(), "unknown_option");
    }
}
