//! The sidecar of a recording (`NAME.session.json`) and crash recovery.
//!
//! The sidecar is written (atomically: temp file + rename) when a recording starts, on every
//! pause, resume and mark, and when it stops. A sidecar still saying `recording` whose WAV
//! nobody holds locked is a recording whose process died: [`recover`] repairs the WAV and marks
//! it `recovered` so the app can offer it as a meeting. Recovery never deletes anything.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::device::Role;
use crate::error::{CaptureError, Result};
use crate::wav;

pub const SESSION_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// A process is recording (or died while recording).
    Recording,
    /// Stopped normally.
    Finished,
    /// Repaired after its process died.
    Recovered,
    /// Added to the library (the app will not offer it again).
    Imported,
}

/// One channel of the recording file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelInfo {
    pub index: u16,
    pub role: Role,
    /// Device id at the start (a `default` source may move to another device).
    pub device: String,
    pub device_name: String,
}

/// How one channel's source was put on the recording's clock.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChannelTiming {
    pub index: u16,
    /// Where the source's first sample sits in the recording (ms): its start latency.
    pub start_ms: f64,
    /// Silence inserted for gaps the device had (samples at the recording's rate); 0 when
    /// every sample it delivered was written without a gap.
    pub inserted_samples: u64,
    /// Samples removed (a replacement device overlapping what was recorded); normally 0.
    pub removed_samples: u64,
    /// Clock drift corrected by resampling at the end, parts per million (0: shared clock).
    pub drift_ppm: f64,
    /// Content time those corrections moved over the whole recording (ms; 0: none).
    #[serde(default)]
    pub drift_corrected_ms: f64,
    /// Overruns the device reported.
    pub overruns: u64,
    /// Frames the device delivered that the capture buffer had no room for (filled with silence).
    pub lost_frames: u64,
}

/// One change to a channel's content, with its place and size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    pub at_ms: u64,
    pub channel: u16,
    /// Samples inserted (silence, > 0) or removed (< 0).
    pub samples: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pause {
    /// Recording time at which the pause began.
    pub at_ms: u64,
    /// Wall time the pause lasted (0 while it lasts).
    pub wall_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub at_ms: u64,
    /// "key", "question" or "todo".
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub version: u32,
    pub state: SessionState,
    /// File name of the WAV (same folder).
    pub wav: String,
    /// Unix ms.
    pub started_at_ms: i64,
    pub pid: u32,
    pub rate: u32,
    pub channels: Vec<ChannelInfo>,
    #[serde(default)]
    pub pauses: Vec<Pause>,
    #[serde(default)]
    pub marks: Vec<Mark>,
    /// What went wrong along the way (device lost, switched to another, disk full, …).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Recorded audio (without pauses); updated when the recording stops or is recovered.
    #[serde(default)]
    pub duration_ms: u64,
    /// Per channel: start latency, inserted/removed samples, drift.
    #[serde(default)]
    pub timing: Vec<ChannelTiming>,
    /// Every insertion or removal (the first 1000).
    #[serde(default)]
    pub corrections: Vec<Correction>,
}

impl Session {
    /// Sidecar path of a recording.
    pub fn path_for(wav: &Path) -> PathBuf {
        wav.with_extension("session.json")
    }

    /// Reads a session file. Its `wav` must be the plain name of the recording beside it
    /// (the one [`Session::path_for`] names this file after): recovery repairs and moves that
    /// file, so an absolute path, a `..` or another recording's name is refused.
    pub fn load(path: &Path) -> Result<Session> {
        let text = std::fs::read_to_string(path).map_err(|e| CaptureError::io(path, e))?;
        let bad = |detail: String| CaptureError::NotRepairable { path: path.to_path_buf(), detail };
        let s: Session = serde_json::from_str(&text).map_err(|e| bad(format!("bad session file: {e}")))?;
        let plain = matches!(Path::new(&s.wav).components().collect::<Vec<_>>()[..], [std::path::Component::Normal(_)]);
        if !plain || Session::path_for(&path.with_file_name(&s.wav)) != path {
            return Err(bad(format!("the session names {:?}, not the recording beside it", s.wav)));
        }
        Ok(s)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(self).expect("session serialises");
        (|| {
            let mut f = File::create(&tmp)?;
            std::io::Write::write_all(&mut f, &text)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })()
        .map_err(|e| CaptureError::io(path, e))
    }

    /// The channel a role was recorded on.
    pub fn channel_of(&self, role: Role) -> Option<u16> {
        self.channels.iter().find(|c| c.role == role).map(|c| c.index)
    }
}

/// The right to add one finished recording to the library, held by one process while it
/// transcribes and stores it: the CLI and the app (or two app windows) never both add the same
/// recording. An exclusive lock on `NAME.session.claim`, released when dropped or when the
/// process dies, so a crashed claim does not block the recording for ever.
#[derive(Debug)]
pub struct Claim {
    _lock: File,
}

/// Claims the recording whose sidecar is `session_path`: `Ok(None)` when another process holds
/// it, or when it is no longer waiting to be added (it was, meanwhile). The session returned is
/// read after the claim was taken.
pub fn claim(session_path: &Path) -> Result<Option<(Claim, Session)>> {
    let lock_path = session_path.with_extension("claim");
    let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(|e| CaptureError::io(&lock_path, e))?;
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
        Err(std::fs::TryLockError::Error(e)) => return Err(CaptureError::io(&lock_path, e)),
    }
    let s = Session::load(session_path)?;
    Ok(matches!(s.state, SessionState::Finished | SessionState::Recovered).then_some((Claim { _lock: f }, s)))
}

/// A recording found unfinished and repaired.
#[derive(Debug, Clone)]
pub struct Recovered {
    pub wav: PathBuf,
    pub session_path: PathBuf,
    pub session: Session,
    pub repaired: wav::Repaired,
}

/// Repairs every recording in `dir` whose process died; recordings still being made are left
/// alone. Problems with one recording are returned next to the others' results.
pub fn recover(dir: &Path) -> Vec<Result<Recovered>> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".session.json"))
        .collect();
    paths.sort();
    for sp in paths {
        match Session::load(&sp) {
            Ok(s) if s.state == SessionState::Recording => out.push(recover_one(&sp, s)),
            Ok(_) => {}
            Err(e) => out.push(Err(e)),
        }
    }
    out.into_iter().filter(|r| !matches!(r, Err(CaptureError::Busy { .. }))).collect()
}

fn recover_one(session_path: &Path, mut s: Session) -> Result<Recovered> {
    let wav_path = session_path.with_file_name(&s.wav);
    let f = File::open(&wav_path).map_err(|e| CaptureError::io(&wav_path, e))?;
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Err(CaptureError::Busy { path: wav_path }),
        Err(std::fs::TryLockError::Error(e)) => return Err(CaptureError::io(&wav_path, e)),
    }
    let repaired = wav::repair(&wav_path)?;
    s.state = SessionState::Recovered;
    s.duration_ms = repaired.duration_ms();
    s.warnings.push(format!(
        "recovered after the recording process stopped unexpectedly ({} ms of audio kept)",
        s.duration_ms
    ));
    for p in &mut s.pauses {
        // A pause still open when the process died lasted until the end.
        if p.wall_ms == 0 && p.at_ms >= s.duration_ms {
            p.wall_ms = 1;
        }
    }
    s.save(session_path)?;
    drop(f);
    Ok(Recovered { wav: wav_path, session_path: session_path.to_path_buf(), session: s, repaired })
}

/// Sessions in `dir` that are finished or recovered but not yet in the library.
pub fn pending(dir: &Path) -> Vec<(PathBuf, Session)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut v: Vec<(PathBuf, Session)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".session.json"))
        .filter_map(|p| Session::load(&p).ok().map(|s| (p, s)))
        .filter(|(_, s)| matches!(s.state, SessionState::Finished | SessionState::Recovered))
        .collect();
    v.sort_by_key(|(_, s)| s.started_at_ms);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wav::WavWriter;

    fn session(wav: &str) -> Session {
        Session {
            version: SESSION_VERSION,
            state: SessionState::Recording,
            wav: wav.into(),
            started_at_ms: 1,
            pid: 1,
            rate: 16_000,
            channels: vec![ChannelInfo { index: 0, role: Role::Mic, device: "m".into(), device_name: "M".into() }],
            pauses: vec![],
            marks: vec![Mark { at_ms: 500, kind: "todo".into() }],
            warnings: vec![],
            duration_ms: 0,
            timing: vec![],
            corrections: vec![],
        }
    }

    #[test]
    fn a_recording_is_claimed_by_one_holder_at_a_time_and_not_once_imported() {
        let d = tempfile::tempdir().unwrap();
        let wav = d.path().join("r.wav");
        std::fs::write(&wav, b"").unwrap();
        let sp = Session::path_for(&wav);
        let mut s = session("r.wav");
        s.state = SessionState::Finished;
        s.save(&sp).unwrap();
        let (held, got) = claim(&sp).unwrap().expect("the first claim");
        assert_eq!(got.state, SessionState::Finished);
        assert!(claim(&sp).unwrap().is_none(), "a second holder while the first holds it");
        // The holder adds it, then lets go: nobody claims it again.
        let mut done = got;
        done.state = SessionState::Imported;
        done.save(&sp).unwrap();
        drop(held);
        assert!(claim(&sp).unwrap().is_none(), "an imported recording");
        // A holder that goes away without adding it (a crash) leaves it claimable.
        done.state = SessionState::Recovered;
        done.save(&sp).unwrap();
        drop(claim(&sp).unwrap().expect("claimable"));
        assert!(claim(&sp).unwrap().is_some(), "claimable again after the holder went away");
    }

    #[test]
    fn an_abandoned_recording_is_repaired_and_a_live_one_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        // Abandoned: written, never finished, nobody holds it.
        let a = dir.path().join("a.wav");
        let mut w = WavWriter::create(&a, 1, 16_000).unwrap();
        w.write(&vec![100i16; 16_000]).unwrap();
        w.flush(false).unwrap();
        w.write(&vec![100i16; 8_000]).unwrap();
        w.flush(false).unwrap();
        std::mem::forget(w); // as if killed: no finish()
        session("a.wav").save(&Session::path_for(&a)).unwrap();
        // Live: its writer holds the lock.
        let b = dir.path().join("b.wav");
        let wb = WavWriter::create(&b, 1, 16_000).unwrap();
        wb.file().lock().unwrap();
        session("b.wav").save(&Session::path_for(&b)).unwrap();

        let found = recover(dir.path());
        assert_eq!(found.len(), 1, "{found:?}");
        let r = found.into_iter().next().unwrap().unwrap();
        assert_eq!(r.wav, a);
        assert_eq!(r.repaired.frames, 24_000);
        assert_eq!(r.session.duration_ms, 1500);
        assert_eq!(r.session.marks.len(), 1);
        assert_eq!(Session::load(&Session::path_for(&a)).unwrap().state, SessionState::Recovered);
        assert_eq!(Session::load(&Session::path_for(&b)).unwrap().state, SessionState::Recording);
        assert_eq!(pending(dir.path()).len(), 1);
        // Nothing is offered twice.
        assert!(recover(dir.path()).is_empty());
        drop(wb);
    }

    #[test]
    fn a_session_naming_any_other_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.wav");
        std::fs::write(&outside, b"not to be touched").unwrap();
        let rec = dir.path().join("recordings");
        std::fs::create_dir(&rec).unwrap();
        let target = rec.join("c.wav");
        for wav in [outside.to_str().unwrap(), "../outside.wav", "sub/c.wav", "d.wav", "", "."] {
            session(wav).save(&Session::path_for(&target)).unwrap();
            let found = recover(&rec);
            assert!(
                matches!(&found[..], [Err(CaptureError::NotRepairable { .. })]),
                "{wav:?}: {found:?}"
            );
            assert!(pending(&rec).is_empty(), "{wav:?}");
        }
        assert_eq!(std::fs::read(&outside).unwrap(), b"not to be touched");
    }
}
