//! Speakers from the command line: `tingji speakers …` (list with talk time, rename, merge) over
//! `tingji_library::Library` — renaming changes every line, export and note that shows the
//! speaker, since they all read the name from the library — and the diarization step of
//! `transcribe`/`process` (loading, options, progress lines).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::Result;
use tingji_diarize::{Count, DiarizeOptions, Diarizer};
use tingji_library::{Library, MeetingId};
use tingji_models::ModelStore;

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

/// The diarizer for `transcribe`/`process`. `process` (`keep_going`) keeps the transcript when
/// speakers cannot be told apart (a warning); an explicit `transcribe --diarize` fails with why.
pub fn load_diarizer(store: &ModelStore, threads: u32, keep_going: bool) -> Result<Option<Diarizer>> {
    match Diarizer::load(&tingji_workflow::speakers::model_paths(store), threads as usize) {
        Ok(d) => Ok(Some(d)),
        Err(e) if keep_going => {
            eprintln!("tingji: warning: speakers not told apart: error[{}]: {e}", e.code());
            Ok(None)
        }
        Err(e) => Err(anyhow::Error::new(e).context("loading the diarization models")),
    }
}

/// Diarization options from `--speakers N` or `--min-speakers`/`--max-speakers`.
pub fn options(
    (exact, min, max): (Option<usize>, Option<usize>, Option<usize>),
    threads: u32,
    decode: &tingji_media::DecodeOptions,
) -> DiarizeOptions {
    let d = DiarizeOptions::default();
    let count = match (exact, d.count) {
        (Some(n), _) => Count::Exact(n.max(1)),
        (None, Count::Estimate { min: lo, max: hi }) => Count::Estimate { min: min.unwrap_or(lo), max: max.unwrap_or(hi) },
        (None, c) => c,
    };
    DiarizeOptions { threads: threads as usize, count, decode: decode.clone(), ..d }
}

/// Diarization progress lines on stderr (every 2 s; none with `TINGJI_QUIET`).
pub fn progress() -> impl FnMut(tingji_diarize::Event) {
    let quiet = std::env::var_os("TINGJI_QUIET").is_some();
    let mut last = Instant::now();
    move |e: tingji_diarize::Event| {
        let tingji_diarize::Event::Progress { done_ms, total_ms, eta_ms } = e;
        if !quiet && last.elapsed() > Duration::from_secs(2) {
            last = Instant::now();
            let pct = total_ms.filter(|t| *t > 0).map(|t| format!("{}%", (done_ms * 100 / t).min(100))).unwrap_or("?".into());
            eprintln!("speakers {pct} {} ETA {}", crate::fmt_ms(done_ms), eta_ms.map(crate::fmt_ms).unwrap_or("--:--".into()));
        }
    }
}

/// Tells the speakers of one transcribed file apart, with progress lines on stderr.
pub fn diarize_one(
    d: &mut Diarizer,
    f: &Path,
    t: &mut tingji_transcript::Transcript,
    opts: &DiarizeOptions,
    cancel: &Arc<AtomicBool>,
) -> Result<tingji_diarize::Diarization> {
    let quiet = std::env::var_os("TINGJI_QUIET").is_some();
    let mut on_event = progress();
    let dz = tingji_workflow::speakers::diarize_transcript(d, f, t, opts, &mut on_event, cancel)
        .map_err(|e| anyhow::Error::new(e).context(format!("{}: speakers", f.display())))?;
    if !quiet {
        eprintln!("{}: {} speakers", f.display(), dz.speakers.len());
    }
    Ok(dz)
}
