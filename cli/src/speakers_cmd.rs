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
    /// A meeting's speakers (label, name, segments, talk time, and how sure a name from a
    /// voiceprint is); without a meeting, the voiceprints.
    List { meeting: Option<i64> },
    /// Give a speaker a name (an empty name goes back to the label). A diarized speaker's voice
    /// joins the voiceprint of that name, which names the same voice in later meetings.
    Rename { meeting: i64, label: String, name: String },
    /// Relabel every line of speaker FROM as INTO (e.g. one voice split in two).
    Merge { meeting: i64, from: String, into: String },
    /// Rename a voiceprint; the speakers it named follow.
    RenameVoice { name: String, new_name: String },
    /// Fold voiceprint FROM into INTO (one person kept under two names).
    MergeVoices { from: String, into: String },
    /// Delete a voiceprint and the voices it was built from (names in transcripts stay).
    Forget { name: String },
    /// Tell a meeting's speakers apart again from its audio, e.g. `--speakers 3` to split a voice
    /// taken for two people; a new transcript version, names kept where the voices match.
    Rediarize {
        meeting: i64,
        /// The number of speakers (estimated when not given).
        #[arg(long)]
        speakers: Option<usize>,
    },
}

pub fn run(cmd: SpeakersCmd, lib: &mut Library) -> Result<()> {
    match cmd {
        SpeakersCmd::List { meeting: None } => {
            for v in lib.voiceprints()? {
                out!("{}\t{} speech\t{} speakers\t{}", v.name, crate::fmt_ms(v.speech_ms), v.speakers, v.model);
            }
        }
        SpeakersCmd::List { meeting: Some(meeting) } => {
            let m = lib.meeting(MeetingId(meeting))?;
            let segments = m.transcript.map(|t| t.segments).unwrap_or_default();
            for s in &m.speakers {
                let shown = s.name.as_deref().unwrap_or(&s.label);
                let mine: Vec<_> = segments.iter().filter(|g| g.speaker.as_deref() == Some(shown)).collect();
                let ms: u64 = mine.iter().map(|g| g.end_ms.saturating_sub(g.start_ms)).sum();
                let name = match (&s.name, s.matched) {
                    (Some(n), Some(p)) => format!("{n} (voiceprint {p}%)"),
                    (Some(n), None) => n.clone(),
                    (None, _) => "-".into(),
                };
                out!("{}\t{name}\t{} segments\t{}", s.label, mine.len(), crate::fmt_ms(ms));
            }
        }
        SpeakersCmd::Rename { meeting, label, name } => lib.rename_speaker(MeetingId(meeting), &label, Some(&name))?,
        SpeakersCmd::Merge { meeting, from, into } => lib.merge_speakers(MeetingId(meeting), &from, &into)?,
        SpeakersCmd::RenameVoice { name, new_name } => lib.rename_voiceprint(&name, &new_name)?,
        SpeakersCmd::MergeVoices { from, into } => lib.merge_voiceprints(&from, &into)?,
        SpeakersCmd::Rediarize { meeting, speakers } => {
            let store = ModelStore::open_default()?;
            let threads = tingji_asr::default_threads() as usize;
            let r = tingji_workflow::speakers::rediarize(lib, &store, MeetingId(meeting), speakers, threads, &mut progress(), &crate::cancel_flag())?;
            match r.version {
                Some(v) => out!("{} speakers; transcript version {}", r.speakers, v.0),
                None => out!("no speech found; the transcript is unchanged"),
            }
            for m in r.named {
                eprintln!("{} is {} (voiceprint, {:.0}% alike)", m.label, m.name, m.score * 100.0);
            }
        }
        SpeakersCmd::Forget { name } => {
            let n = lib.forget_voiceprint(&name)?;
            eprintln!("forgot {name}: the voiceprint and the voices of {n} speakers are deleted");
        }
    }
    Ok(())
}

/// Keeps a new meeting's voices and says which speakers a voiceprint named; the meeting is
/// saved already, so a failure is a warning.
pub fn remember_voices(lib: &mut Library, id: MeetingId, t: &tingji_transcript::Transcript, dz: &tingji_diarize::Diarization, f: &Path) {
    match tingji_workflow::speakers::remember_voices(lib, id, t, dz) {
        Ok(named) => {
            for m in named {
                eprintln!("{}: {} is {} (voiceprint, {:.0}% alike)", f.display(), m.label, m.name, m.score * 100.0);
            }
        }
        Err(e) => eprintln!("tingji: warning: {}: voices not kept: {e}", f.display()),
    }
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
        let (done_ms, total_ms, eta_ms) = match e {
            tingji_diarize::Event::Progress { done_ms, total_ms, eta_ms } => (done_ms, total_ms, eta_ms),
            tingji_diarize::Event::Resumed { from_ms, .. } => {
                if !quiet {
                    eprintln!("speakers: resuming at {} (a checkpoint of an interrupted run)", crate::fmt_ms(from_ms));
                }
                return;
            }
        };
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
