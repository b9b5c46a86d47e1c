//! `tingji speakers …`: a meeting's speakers from the command line (list with talk time, rename,
//! merge) over `tingji_library::Library`; renaming changes every line, export and note that
//! shows the speaker, since they all read the name from the library.

use anyhow::Result;
use tingji_library::{Library, MeetingId};

#[derive(clap::Subcommand, Debug)]
pub enum SpeakersCmd {
    /// A meeting's speakers: label, name, segments and talk time in the current transcript.
    List { meeting: i64 },
    /// Give a speaker a name (an empty name goes back to the label).
    Rename { meeting: i64, label: String, name: String },
    /// Relabel every line of speaker FROM as INTO (e.g. one voice split in two).
    Merge { meeting: i64, from: String, into: String },
}

pub fn run(cmd: SpeakersCmd, lib: &mut Library) -> Result<()> {
    match cmd {
        SpeakersCmd::List { meeting } => {
            let m = lib.meeting(MeetingId(meeting))?;
            let segments = m.transcript.map(|t| t.segments).unwrap_or_default();
            for s in &m.speakers {
                let shown = s.name.as_deref().unwrap_or(&s.label);
                let mine: Vec<_> = segments.iter().filter(|g| g.speaker.as_deref() == Some(shown)).collect();
                let ms: u64 = mine.iter().map(|g| g.end_ms.saturating_sub(g.start_ms)).sum();
                println!("{}\t{}\t{} segments\t{}", s.label, s.name.as_deref().unwrap_or("-"), mine.len(), crate::fmt_ms(ms));
            }
        }
        SpeakersCmd::Rename { meeting, label, name } => lib.rename_speaker(MeetingId(meeting), &label, Some(&name))?,
        SpeakersCmd::Merge { meeting, from, into } => lib.merge_speakers(MeetingId(meeting), &from, &into)?,
    }
    Ok(())
}
