//! A library meeting as an export: the [`Document`] every format renders, and the bytes.

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
        .map(|a| ActionEntry {
            task: a.text.clone(),
            owner: a.owner.clone(),
            due: a.due.clone(),
            start_ms: a.source_ms,
            done: a.done,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

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
