//! `tingji export MEETING`: a library meeting as TXT, Markdown, SRT, WebVTT, HTML, DOCX, PDF
//! (through `tingji_export::render`) or the library's full-fidelity JSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use tingji_export::{ActionEntry, Document, ExportOptions, Format, MarkKind, SegmentMark};
use tingji_library::{Library, MeetingId};

const AFTER_HELP: &str = "\
Parts (--with / --without, comma-separated): timestamps, speakers, marks, notes, bilingual.
  notes     = AI notes (summary, key points, decisions, chapters, Q&A, per-speaker summaries,
              keywords, mind map), action items as a checklist with their done state, and your notes
  bilingual = the translation under each segment, when the AI notes have one
Defaults:
  md, html, docx, pdf  everything on
  txt                  speakers only (a transcript without labels is one paragraph)
  srt, vtt             speakers and bilingual (the translation goes under a cue only if every cue
                       of the file then still fits 2 lines of 42 Latin / 18 CJK characters)
  json                 the full meeting (every version, notes, marks; readable by import-json);
                       --with/--without do not apply
PDF: Chinese needs a CJK font: $TINGJI_PDF_FONT (path, or path#index for a .ttc), else the first
found of fonts-wqy-zenhei, fonts-noto-cjk (or the macOS/Windows fonts).";

/// Export a library meeting (json = full fidelity, readable by `import-json`).
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct ExportArgs {
    /// Meeting id (see `tingji library list`).
    pub meeting: i64,
    /// txt, md, srt, vtt, html, docx, pdf or json.
    #[arg(long, default_value = "md")]
    pub format: String,
    /// Output file (default: stdout; docx and pdf need a file when stdout is a terminal).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Parts to include on top of the format's defaults.
    #[arg(long, value_name = "PARTS")]
    pub with: Vec<String>,
    /// Parts to leave out (applied after --with).
    #[arg(long, value_name = "PARTS")]
    pub without: Vec<String>,
}

/// The options for `format` after `--with` and `--without`.
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

/// Everything the export shows about a library meeting: its current transcript (speaker
/// labels, with the given names alongside), AI notes, the user's notes, marks on the current
/// version and action items.
pub fn document(lib: &Library, id: MeetingId) -> Result<Document> {
    let m = lib.meeting(id)?;
    let version = m.current_version.ok_or_else(|| anyhow!("meeting {id} has no transcript"))?;
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

pub fn run(a: ExportArgs, lib: &Library) -> Result<()> {
    let format: Format = a.format.parse()?;
    let opts = options(format, &a.with, &a.without)?;
    let id = MeetingId(a.meeting);
    let bytes = if format == Format::Json {
        lib.export_json(id)?.into_bytes()
    } else {
        tingji_export::render(&document(lib, id)?, format, &opts)?
    };
    match &a.output {
        Some(o) => crate::write_atomic(o, &bytes)?,
        None => {
            use std::io::IsTerminal;
            if format.is_binary() && std::io::stdout().is_terminal() {
                anyhow::bail!("{} is binary: give --output FILE (or redirect stdout)", format.extension());
            }
            std::io::stdout().lock().write_all(&bytes).context("writing to stdout")?;
        }
    }
    Ok(())
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
        assert_eq!(e.downcast_ref::<tingji_export::ExportError>().unwrap().code(), "unknown_option");
    }
}
