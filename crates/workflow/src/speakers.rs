//! Who said what in a transcribed file: diarize it and put the speakers on the transcript's
//! words and segments. One rule for the CLI and the app.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

pub use tingji_diarize::{Diarization, Event};
use tingji_diarize::der::{self, Labelled};
use tingji_diarize::{DiarizeOptions, Diarizer, ModelPaths, attribute, speaker_label};
use tingji_library::{Library, MeetingId, SpeakerVoice, VersionId, VoiceMatch};
use tingji_models::ModelStore;
use tingji_transcript::Transcript;

use crate::Result;

/// The diarization models: `<data>/models/diarization/` (segmentation-3.0 and CAM++ ONNX).
pub fn models_dir(store: &ModelStore) -> PathBuf {
    store.root().join("diarization")
}

pub fn model_paths(store: &ModelStore) -> ModelPaths {
    ModelPaths::in_dir(&models_dir(store))
}

/// Where the diarization of `path` (or of its `channel`) keeps its progress: the jobs folder
/// transcription checkpoints use too, so a killed or cancelled job resumes.
pub fn checkpoint(store: &ModelStore, path: &Path, channel: Option<usize>) -> PathBuf {
    tingji_diarize::checkpoint_path(&crate::paths::jobs_dir(store), path, channel)
}

/// Loads ONNX Runtime (the library diarization runs on) and returns where it was found: beside
/// the executable, in `../lib/tingji/` from it (the .deb), or `$TINGJI_ONNXRUNTIME`.
pub fn runtime() -> Result<PathBuf> {
    tingji_diarize::runtime::ensure()?;
    Ok(tingji_diarize::runtime::loaded_path().map(Path::to_path_buf).unwrap_or_default())
}

/// True when both model files are there (the runtime library is checked when loading).
pub fn installed(store: &ModelStore) -> bool {
    let m = model_paths(store);
    m.segmentation.is_file() && m.embedding.is_file()
}

/// Installs the diarization models from files the user has (pyannote segmentation-3.0 and
/// CAM++ as ONNX, e.g. sherpa-onnx's downloads). Each is checked first — the segmentation by
/// its metadata, the embedding by embedding a second of noise — and a file that fails leaves
/// the installed models as they were. Both are copied beside their places, then renamed in.
pub fn install_models(store: &ModelStore, segmentation: &Path, embedding: &Path) -> Result<()> {
    let given = ModelPaths { segmentation: segmentation.to_path_buf(), embedding: embedding.to_path_buf() };
    let mut d = Diarizer::load(&given, 1)?;
    let noise: Vec<f32> = (0..16_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 16) as f32 / 65_536.0 * 0.2 - 0.1).collect();
    let not_embedding = |detail: String| tingji_diarize::DiarizeError::ModelLoad { path: embedding.to_path_buf(), detail };
    let probe = d.embed(&noise).map_err(|e| not_embedding(format!("not a speaker-embedding model ({e})")))?;
    if probe.is_none_or(|v| v.len() < 32) {
        return Err(not_embedding("it gives no voice embedding: not a speaker-embedding model".into()).into());
    }
    let dir = models_dir(store);
    let io = |op: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| crate::WorkflowError::Io { op, path, source }
    };
    std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
    let dest = model_paths(store);
    let pairs = [(segmentation, &dest.segmentation), (embedding, &dest.embedding)];
    // Both copies first, then both renames: a failed copy leaves the installed pair alone.
    for (src, dst) in pairs {
        let part = dst.with_extension("onnx.part");
        std::fs::copy(src, &part).map_err(io("copy to", &part))?;
    }
    for (_, dst) in pairs {
        std::fs::rename(dst.with_extension("onnx.part"), dst).map_err(io("install", dst))?;
    }
    Ok(())
}

/// Downloads the diarization models (the sherpa-onnx release files, size and SHA-256 checked),
/// then installs them as [`install_models`] does. The files are staged in
/// `<models>/diarization/.download/` (a cut download resumes from there) and removed once they
/// are installed — or refused by the check, so a retry downloads afresh.
pub fn download_models(
    store: &ModelStore,
    source: &tingji_models::DiarizationSource,
    progress: &mut dyn FnMut(tingji_models::DiarizationRole, tingji_models::DownloadProgress),
    cancel: &AtomicBool,
) -> Result<()> {
    let staging = models_dir(store).join(".download");
    let got = tingji_models::download_diarization(&staging, source, progress, cancel)?;
    let installed = install_models(store, &got.segmentation, &got.embedding);
    if let Err(e) = std::fs::remove_dir_all(&staging) {
        tracing::warn!(path = %staging.display(), error = %e, "could not remove the downloaded files");
    }
    installed
}

/// Diarizes `path` and, when it finds two or more speakers, sets every segment's (and so every
/// word's) speaker in `t`, splitting segments where the speaker changes between words. Returns
/// the diarization (turns, voices).
pub fn diarize_transcript(
    diarizer: &mut Diarizer,
    path: &Path,
    t: &mut Transcript,
    opts: &DiarizeOptions,
    on_event: &mut dyn FnMut(tingji_diarize::Event),
    cancel: &Arc<AtomicBool>,
) -> Result<Diarization> {
    let d = diarizer.diarize_file(path, opts, on_event, cancel)?;
    label(t, &d);
    Ok(d)
}

/// Puts the speakers on `t` when there are at least two: one voice needs no label (and a
/// per-speaker summary of a lone speaker only repeats the summary).
fn label(t: &mut Transcript, d: &Diarization) {
    if d.speakers.len() >= 2 {
        attribute::attribute(t, &d.turns, &speaker_label);
    }
}

/// Cosine similarity from which a speaker's voice is taken for a voiceprint's. CAM++ cluster
/// centroids, measured on the meeting clips in the test data: the same person in two meetings
/// (VoxConverse halves) 0.89 and 0.95; two different people in one meeting (AMI, VoxConverse)
/// up to 0.76, across meetings 0.62 for the VoxConverse newcomer.
pub const VOICEPRINT_MATCH: f32 = 0.8;

/// The embedding model voices come from (voiceprints of another model are not compared).
pub const VOICE_MODEL: &str = tingji_diarize::models::EMBEDDING_FILE;

/// Keeps the voices of meeting `id`'s speakers (those the transcript `t` shows) and names the
/// ones a voiceprint recognises; returns those names.
pub fn remember_voices(lib: &mut Library, id: MeetingId, t: &Transcript, d: &Diarization) -> Result<Vec<VoiceMatch>> {
    remember_labelled(lib, id, t, d, &speaker_label)
}

/// [`remember_voices`] for voices put on the transcript as `label(speaker)`.
fn remember_labelled(lib: &mut Library, id: MeetingId, t: &Transcript, d: &Diarization, label: &dyn Fn(usize) -> String) -> Result<Vec<VoiceMatch>> {
    let voices: Vec<_> = d
        .speakers
        .iter()
        .map(|s| (label(s.id), s))
        .filter(|(l, s)| !s.centroid.is_empty() && t.segments.iter().any(|g| g.speaker.as_deref() == Some(l.as_str())))
        .map(|(label, s)| SpeakerVoice { label, voice: s.centroid.clone(), speech_ms: s.speech_ms })
        .collect();
    if voices.is_empty() {
        return Ok(Vec::new());
    }
    lib.set_speaker_voices(id, VOICE_MODEL, &voices)?;
    Ok(lib.recognize_speakers(id, VOICEPRINT_MATCH)?)
}

/// What [`rediarize`] did.
#[derive(Debug, Clone)]
pub struct Rediarized {
    /// The new current transcript version (None: no speech was found, nothing changed).
    pub version: Option<VersionId>,
    pub speakers: usize,
    /// Speakers a voiceprint named.
    pub named: Vec<VoiceMatch>,
}

/// True for the labels diarization gives (`S1`, `S2`, …).
fn is_diarized(label: &str) -> bool {
    label.strip_prefix('S').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Tells meeting `id`'s speakers apart again from its kept audio — with `count` to split two
/// voices taken for one, or to join them — as a new current transcript version (the old one
/// stays). A new speaker keeps the label, and so the name, of the old speaker it overlaps most;
/// a voice split off gets a new label. A recording is re-diarized on the channel its voices
/// were told apart on; "me" stays "me".
pub fn rediarize(
    lib: &mut Library,
    store: &ModelStore,
    id: MeetingId,
    count: Option<usize>,
    threads: usize,
    on_event: &mut dyn FnMut(Event),
    cancel: &Arc<AtomicBool>,
) -> Result<Rediarized> {
    let m = lib.meeting(id)?;
    let audio = m.media.iter().find(|x| x.present).map(|x| x.abs_path.clone()).ok_or(crate::WorkflowError::NoMedia(id.0))?;
    let version = m.current_version.ok_or(crate::WorkflowError::NoTranscript(id.0))?;
    let mut t = lib.transcript_version(version)?;
    let channels: std::collections::BTreeSet<u16> = t.segments.iter().filter_map(|s| s.channel).collect();
    let target = (channels.len() >= 2)
        .then(|| {
            let diarized = t.segments.iter().find(|s| s.speaker.as_deref().is_some_and(is_diarized));
            let not_me = || t.segments.iter().find(|s| s.speaker.as_deref() != Some(tingji_capture::Role::Mic.speaker()));
            diarized.or_else(not_me).and_then(|s| s.channel)
        })
        .flatten();
    let mut opts = DiarizeOptions { threads, checkpoint: Some(checkpoint(store, &audio, target.map(usize::from))), ..Default::default() };
    if let Some(n) = count {
        opts.count = tingji_diarize::Count::Exact(n.max(1));
    }
    let mut dz = Diarizer::load(&model_paths(store), threads)?;
    let d = match target {
        Some(ch) => dz.diarize_channel(&audio, ch as usize, &opts, on_event, cancel)?,
        None => dz.diarize_file(&audio, &opts, on_event, cancel)?,
    };
    if d.speakers.is_empty() {
        return Ok(Rediarized { version: None, speakers: 0, named: Vec::new() });
    }
    let in_scope = |s: &tingji_transcript::Segment| target.is_none_or(|ch| s.channel == Some(ch));
    // New speakers take the old labels they overlap most (one each); the rest get fresh ones.
    let old: Vec<Labelled> = t
        .segments
        .iter()
        .filter(|s| in_scope(s))
        .filter_map(|s| Some(Labelled { start_ms: s.start_ms, end_ms: s.end_ms, speaker: s.speaker.clone()? }))
        .collect();
    let map = der::mapping(&old, &der::labelled(&d.turns));
    let mut next = t.segments.iter().filter_map(|s| s.speaker.as_deref()?.strip_prefix('S')?.parse::<usize>().ok()).max().unwrap_or(0);
    let labels: Vec<String> = (0..d.speakers.len())
        .map(|i| match map.iter().find(|(h, _)| *h == speaker_label(i)).and_then(|(_, r)| r.clone()) {
            Some(old) => old,
            None => {
                next += 1;
                format!("S{next}")
            }
        })
        .collect();
    let (mut part, others): (Vec<_>, Vec<_>) = std::mem::take(&mut t.segments).into_iter().partition(|s| in_scope(s));
    if d.speakers.len() == 1 {
        part.iter_mut().for_each(|s| s.speaker = Some(labels[0].clone()));
    } else {
        part.iter_mut().for_each(|s| s.speaker = None);
        let mut p = Transcript { segments: part, ..t.clone() };
        attribute::attribute(&mut p, &d.turns, &|i| labels[i].clone());
        part = p.segments;
    }
    t.segments = others;
    t.segments.extend(part);
    t.segments.sort_by_key(|x| (x.start_ms, x.channel.unwrap_or(0)));
    let v = lib.add_transcript_version(id, &t)?;
    let named = remember_labelled(lib, id, &t, &d, &|i| labels[i].clone())?;
    Ok(Rediarized { version: Some(v), speakers: d.speakers.len(), named })
}

/// Speakers for a freshly transcribed file when the models are installed (the app's imports).
/// A failure other than a cancel keeps the transcript as it is, with a warning saying why:
/// a missing runtime or a broken model never costs the user the transcript.
pub fn add_if_installed(
    store: &ModelStore,
    path: &Path,
    t: &mut Transcript,
    threads: usize,
    on_event: &mut dyn FnMut(tingji_diarize::Event),
    cancel: &Arc<AtomicBool>,
) -> Result<Option<Diarization>> {
    if !installed(store) {
        return Ok(None);
    }
    let opts = DiarizeOptions { threads, checkpoint: Some(checkpoint(store, path, None)), ..Default::default() };
    let res = Diarizer::load(&model_paths(store), threads)
        .map_err(crate::WorkflowError::from)
        .and_then(|mut d| diarize_transcript(&mut d, path, t, &opts, on_event, cancel));
    match res {
        Ok(d) => Ok(Some(d)),
        Err(e @ crate::WorkflowError::Diarize(tingji_diarize::DiarizeError::Cancelled)) => Err(e),
        Err(e) => {
            t.warnings.push(format!("speakers not told apart: {e}"));
            Ok(None)
        }
    }
}

/// What [`for_recording`] did.
#[derive(Debug, Clone, Default)]
pub struct RecordingSpeakers {
    pub echo: tingji_diarize::echo::EchoReport,
    /// The channel that was diarized and the voices found on it.
    pub diarized: Option<(u16, usize)>,
    /// That diarization when its voices were put on the transcript (for [`remember_voices`]).
    pub voices: Option<Diarization>,
}

/// Who said what in a recording: the microphone's channel is "me"; mic words that are the
/// system audio coming back through the speakers are removed (echo); the system channel is
/// diarized into the remote speakers — or, when it holds no speech at all (an in-room meeting),
/// the mic channel is. Speakers are set only where two or more voices are found; the rest keep
/// their channel's name ("me"/"them", set at import). An echo or diarization failure other
/// than a cancel becomes a warning and costs nothing.
pub fn for_recording(
    store: &ModelStore,
    wav: &Path,
    session: &tingji_capture::Session,
    t: &mut Transcript,
    threads: usize,
    on_event: &mut dyn FnMut(tingji_diarize::Event),
    cancel: &Arc<AtomicBool>,
) -> Result<RecordingSpeakers> {
    use tingji_capture::Role;
    let mut out = RecordingSpeakers::default();
    let (mic, system) = (session.channel_of(Role::Mic), session.channel_of(Role::System));
    if let (Some(m), Some(s)) = (mic, system) {
        match tingji_diarize::echo::remove_echo(wav, t, m, s, cancel) {
            Ok(r) => out.echo = r,
            Err(tingji_diarize::DiarizeError::Cancelled) => return Err(tingji_diarize::DiarizeError::Cancelled.into()),
            // The transcript stays as it is; the user is told why it may repeat the far side.
            Err(e) => t.warnings.push(format!("echo not checked: {e}")),
        }
        if out.echo.removed > 0 {
            t.warnings.push(format!(
                "echo: {} words the microphone picked up from the speakers were removed (they are the remote side's; delay {:.0} ms)",
                out.echo.removed,
                out.echo.delay_ms.unwrap_or(0.0)
            ));
        }
    }
    let target = match (mic, system) {
        (_, Some(s)) if t.segments.iter().any(|x| x.channel.unwrap_or(0) == s) => Some(s),
        (Some(m), _) => Some(m),
        (None, s) => s,
    };
    let Some(ch) = target else { return Ok(out) };
    if !installed(store) {
        return Ok(out);
    }
    let opts = DiarizeOptions { threads, checkpoint: Some(checkpoint(store, wav, Some(ch as usize))), ..Default::default() };
    let res = Diarizer::load(&model_paths(store), threads)
        .and_then(|mut d| d.diarize_channel(wav, ch as usize, &opts, on_event, cancel))
        .map_err(crate::WorkflowError::from);
    let d = match res {
        Ok(d) => d,
        Err(e @ crate::WorkflowError::Diarize(tingji_diarize::DiarizeError::Cancelled)) => return Err(e),
        Err(e) => {
            t.warnings.push(format!("speakers not told apart: {e}"));
            return Ok(out);
        }
    };
    out.diarized = Some((ch, d.speakers.len()));
    if d.speakers.len() >= 2 {
        // Only that channel's segments take the voices found on it.
        let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut t.segments).into_iter().partition(|x| x.channel.unwrap_or(0) == ch);
        let mut part = Transcript { segments: mine, ..t.clone() };
        attribute::attribute(&mut part, &d.turns, &speaker_label);
        t.segments = others;
        t.segments.extend(part.segments);
        t.segments.sort_by_key(|x| (x.start_ms, x.channel.unwrap_or(0)));
        out.voices = Some(d);
    }
    Ok(out)
}

/// A library meeting's transcript as the notes model and questions read it: every line under
/// its speaker's name where one was given (the label otherwise), so summaries and action owners
/// use the names. [`NamedTranscript::to_labels`] turns the names in the notes back into labels,
/// which is what notes store: the app shows each label under the speaker's current name, so a
/// later rename follows into the per-speaker summary and the owners.
pub struct NamedTranscript {
    pub transcript: Transcript,
    /// (name, label), first label first where two speakers share a name.
    names: Vec<(String, String)>,
}

/// (The library's current transcript already shows the names; this keeps the way back.)
pub fn named_transcript(m: &tingji_library::Meeting) -> Result<NamedTranscript> {
    let t = m.transcript.clone().ok_or(crate::WorkflowError::NoTranscript(m.summary.id.0))?;
    let names = m.speakers.iter().filter_map(|s| Some((s.name.clone()?, s.label.clone()))).collect();
    Ok(NamedTranscript { transcript: t, names })
}

impl NamedTranscript {
    /// The per-speaker summaries' and the actions' owners back from names to labels (names the
    /// notes made up, or that no speaker has, stay as written).
    pub fn to_labels(&self, notes: &mut tingji_transcript::notes::MeetingNotes) {
        let label = |who: &mut String| {
            if let Some((_, l)) = self.names.iter().find(|(n, _)| n == who) {
                *who = l.clone();
            }
        };
        notes.speakers.iter_mut().flatten().for_each(|s| label(&mut s.speaker));
        notes.actions.iter_mut().flatten().filter_map(|a| a.owner.as_mut()).for_each(label);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tingji_transcript::notes::{Action, MeetingNotes, SpeakerSummary};

    /// Notes written after a speaker was named are stored by label, so a later rename follows
    /// into the per-speaker summary and the owners (the export shows the current name).
    #[test]
    fn notes_keep_labels_so_a_later_rename_follows() {
        let dir = tempfile::tempdir().unwrap();
        let mut lib = Library::open(dir.path()).unwrap();
        let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/fixtures/meeting_en.json")).unwrap();
        let mut t = Transcript::from_json(&json).unwrap();
        for s in &mut t.segments {
            s.speaker = s.speaker.as_deref().map(|n| if n == "Alice" { "S1".to_string() } else { "S2".to_string() });
        }
        let id = lib.import_meeting(&t, None, None).unwrap();
        lib.rename_speaker(id, "S1", Some("Ann Lee")).unwrap();

        let named = named_transcript(&lib.meeting(id).unwrap()).unwrap();
        let who: std::collections::BTreeSet<_> = named.transcript.segments.iter().filter_map(|s| s.speaker.clone()).collect();
        assert_eq!(who.into_iter().collect::<Vec<_>>(), ["Ann Lee", "S2"], "the model reads the names");

        let said = |speaker: &str| SpeakerSummary { speaker: speaker.into(), summary: format!("{speaker} spoke") };
        let act = |owner: Option<&str>| Action { task: "ship it".into(), owner: owner.map(str::to_string), due: None, start_ms: 0 };
        let mut notes = MeetingNotes {
            speakers: Some(vec![said("Ann Lee"), said("S2"), said("Nobody")]),
            actions: Some(vec![act(Some("Ann Lee")), act(Some("Zed")), act(None)]),
            ..MeetingNotes::default()
        };
        named.to_labels(&mut notes);
        let speakers: Vec<_> = notes.speakers.as_ref().unwrap().iter().map(|s| s.speaker.as_str()).collect();
        assert_eq!(speakers, ["S1", "S2", "Nobody"]);
        let owners: Vec<_> = notes.actions.as_ref().unwrap().iter().map(|a| a.owner.as_deref()).collect();
        assert_eq!(owners, [Some("S1"), Some("Zed"), None]);

        lib.save_notes(id, &notes).unwrap();
        lib.rename_speaker(id, "S1", Some("Ann Park")).unwrap();
        let opts = crate::document::options(tingji_export::Format::Md, &[], &[]).unwrap();
        let md = String::from_utf8(crate::document::render(&lib, id, tingji_export::Format::Md, &opts).unwrap()).unwrap();
        assert!(md.contains("Ann Park: Ann Lee spoke") && !md.contains("Ann Lee:"), "{md}");
    }
}
