//! `tingji export MEETING`: a library meeting as TXT, Markdown, SRT, WebVTT, HTML, DOCX, PDF
//! (through `tingji_export::render`) or the library's full-fidelity JSON.

use std::path::PathBuf;

use anyhow::Result;
use tingji_export::Format;
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

pub fn run(a: ExportArgs, lib: &Library) -> Result<()> {
    let format: Format = a.format.parse()?;
    let opts = tingji_workflow::export_options(format, &a.with, &a.without)?;
    let bytes = tingji_workflow::render_meeting(lib, MeetingId(a.meeting), format, &opts)?;
    match &a.output {
        Some(o) => crate::write_atomic(o, &bytes)?,
        None => {
            use std::io::IsTerminal;
            if format.is_binary() && std::io::stdout().is_terminal() {
                anyhow::bail!("{} is binary: give --output FILE (or redirect stdout)", format.extension());
            }
            crate::stdout_bytes(&bytes)?;
        }
    }
    Ok(())
}
