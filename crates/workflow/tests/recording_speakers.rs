//! Recordings ("me" on the left, "them" on the right) told apart by voice: a call's remote
//! voices on the system side, and an in-room meeting (nothing came through the system side) on
//! the microphone's channel. Real diarization models (the data dir's, installed by
//! scripts/setup.sh) on the real 4-speaker AMI minute.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tingji_transcript::{Segment, Transcript, Word};

fn testdata() -> PathBuf {
    std::env::var_os("TINGJI_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"))
}

/// A transcript of `channel`: a 3-second segment every 3 s, a word a second.
fn channel_transcript(secs: u64, channel: u16) -> Transcript {
    let json = r#"{"version":1,"source":{"path":"room.wav","container":"wav","codec":"pcm","sample_rate":16000,"channels":2},
        "language":"en","duration_ms":60000,"model":{"name":"tiny","multilingual":true},
        "parameters":{"language":"auto","sampling":{"strategy":"greedy","best_of":1},"threads":2,"temperature":0.0,
        "temperature_inc":0.2,"vad":true,"separate_channels":true,"script":"simplified"},"segments":[]}"#;
    let mut t: Transcript = serde_json::from_str(json).unwrap();
    t.segments = (0..secs / 3)
        .map(|i| {
            let start = i * 3000;
            let words: Vec<Word> = (0..3)
                .map(|k| Word { start_ms: start + k * 1000, end_ms: start + k * 1000 + 900, text: format!(" c{channel}w{i}_{k}"), p: 1.0 })
                .collect();
            Segment {
                start_ms: start,
                end_ms: start + 3000,
                text: words.iter().map(|w| w.text.as_str()).collect(),
                channel: Some(channel),
                speaker: None,
                words,
            }
        })
        .collect();
    t
}

fn store() -> tingji_models::ModelStore {
    let store = tingji_models::ModelStore::open_default().unwrap();
    assert!(
        tingji_workflow::speakers::installed(&store),
        "diarization models missing in {} (scripts/setup.sh installs them)",
        tingji_workflow::speakers::models_dir(&store).display()
    );
    store
}

/// `room.wav` from `left` and `right` (sox `remix` arguments over `input`) and its session.
fn recording(dir: &Path, inputs: &[&Path], remix: &[&str]) -> (PathBuf, tingji_capture::Session) {
    let wav = dir.join("room.wav");
    let mut sox = Command::new("sox");
    if inputs.len() > 1 {
        sox.arg("-M");
    }
    let st = sox.args(inputs).args(["-b", "16"]).arg(&wav).arg("remix").args(remix).status().unwrap();
    assert!(st.success(), "sox");
    let session = r#"{"version":1,"state":"finished","wav":"room.wav","started_at_ms":1,"pid":1,"rate":16000,
        "channels":[{"index":0,"role":"mic","device":"m","device_name":"Mic"},{"index":1,"role":"system","device":"s.monitor","device_name":"Speakers"}],
        "pauses":[],"marks":[],"warnings":[],"duration_ms":60000,"timing":[],"corrections":[]}"#;
    let session_path = dir.join("room.session.json");
    std::fs::write(&session_path, session).unwrap();
    (wav, tingji_capture::Session::load(&session_path).unwrap())
}

fn distinct<'a>(segs: impl Iterator<Item = &'a Segment>) -> Vec<&'a str> {
    let mut v: Vec<&str> = segs.filter_map(|s| s.speaker.as_deref()).collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn a_call_tells_the_remote_voices_apart_on_the_system_side() {
    let store = store();
    let dir = tempfile::tempdir().unwrap();
    // Left (the mic): one person reading; right (the system side): four colleagues in the AMI
    // minute on the far end of the call.
    let me = testdata().join("en/wenet_librispeech-1995-1837-0001.wav");
    let ami = testdata().join("meeting/pyannote_ami_seriously/mixture.wav");
    let (wav, session) = recording(dir.path(), &[&me, &ami], &["1", "2"]);
    let mut t = channel_transcript(15, 0);
    t.segments.extend(channel_transcript(60, 1).segments);
    let cancel = Arc::new(AtomicBool::new(false));
    let out = tingji_workflow::speakers::for_recording(&store, &wav, &session, &mut t, 2, &mut |_| {}, &cancel).unwrap();
    let (channel, found) = out.diarized.expect("a channel was diarized");
    assert_eq!(channel, 1, "the system side, where the remote voices are");
    assert!((3..=4).contains(&found), "{found} remote voices (one of the four talks 1.2 s in all)");
    let them: Vec<&Segment> = t.segments.iter().filter(|s| s.channel == Some(1)).collect();
    assert!(them.iter().all(|s| s.speaker.is_some()), "every remote line has a voice");
    assert!(distinct(them.iter().copied()).len() >= 3, "the remote lines carry the voices found");
    // The mic's lines keep the name they were given at import ("me"); no remote voice lands there.
    assert!(t.segments.iter().filter(|s| s.channel == Some(0)).all(|s| s.speaker.is_none()), "mic lines untouched");
    assert_eq!(out.echo.removed, 0, "nothing of the reader is an echo of the call");
}

#[test]
fn an_in_room_meeting_is_diarized_on_the_microphone() {
    let store = store();
    let dir = tempfile::tempdir().unwrap();
    // Left (the mic): the AMI minute, four people in one room. Right (the system side): silence.
    let ami = testdata().join("meeting/pyannote_ami_seriously/mixture.wav");
    let (wav, session) = recording(dir.path(), &[&ami], &["1", "0"]);
    let mut t = channel_transcript(60, 0);
    let cancel = Arc::new(AtomicBool::new(false));
    let out = tingji_workflow::speakers::for_recording(&store, &wav, &session, &mut t, 2, &mut |_| {}, &cancel).unwrap();
    let (channel, found) = out.diarized.expect("a channel was diarized");
    assert_eq!(channel, 0, "the mic channel, since the system side said nothing");
    assert!((3..=4).contains(&found), "{found} voices (one of the four talks 1.2 s in all)");
    assert!(t.segments.iter().all(|s| s.speaker.is_some()), "every mic line has a speaker");
    assert!(distinct(t.segments.iter()).len() >= 3, "the lines carry the voices found");
}
