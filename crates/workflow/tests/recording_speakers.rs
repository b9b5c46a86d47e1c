//! An in-room meeting recorded as "me + them": nothing came through the system side, so the
//! voices are told apart on the microphone's channel. Real diarization models (the data
//! dir's, installed by scripts/setup.sh) on the real 4-speaker AMI minute.

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

/// A transcript of the mic channel: a 3-second segment every 3 s, a word a second.
fn mic_transcript(secs: u64) -> Transcript {
    let json = r#"{"version":1,"source":{"path":"room.wav","container":"wav","codec":"pcm","sample_rate":16000,"channels":2},
        "language":"en","duration_ms":60000,"model":{"name":"tiny","multilingual":true},
        "parameters":{"language":"auto","sampling":{"strategy":"greedy","best_of":1},"threads":2,"temperature":0.0,
        "temperature_inc":0.2,"vad":true,"separate_channels":true,"script":"simplified"},"segments":[]}"#;
    let mut t: Transcript = serde_json::from_str(json).unwrap();
    t.segments = (0..secs / 3)
        .map(|i| {
            let start = i * 3000;
            let words: Vec<Word> = (0..3)
                .map(|k| Word { start_ms: start + k * 1000, end_ms: start + k * 1000 + 900, text: format!(" w{i}_{k}"), p: 1.0 })
                .collect();
            Segment {
                start_ms: start,
                end_ms: start + 3000,
                text: words.iter().map(|w| w.text.as_str()).collect(),
                channel: Some(0),
                speaker: None,
                words,
            }
        })
        .collect();
    t
}

#[test]
fn an_in_room_meeting_is_diarized_on_the_microphone() {
    let store = tingji_models::ModelStore::open_default().unwrap();
    assert!(
        tingji_workflow::speakers::installed(&store),
        "diarization models missing in {} (scripts/setup.sh installs them)",
        tingji_workflow::speakers::models_dir(&store).display()
    );
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("room.wav");
    // Left (the mic): the AMI minute, four people in one room. Right (the system side): silence.
    let ami = testdata().join("meeting/pyannote_ami_seriously/mixture.wav");
    let st = Command::new("sox").arg(&ami).args(["-b", "16"]).arg(&wav).args(["remix", "1", "0"]).status().unwrap();
    assert!(st.success(), "sox");
    let session = r#"{"version":1,"state":"finished","wav":"room.wav","started_at_ms":1,"pid":1,"rate":16000,
        "channels":[{"index":0,"role":"mic","device":"m","device_name":"Mic"},{"index":1,"role":"system","device":"s.monitor","device_name":"Speakers"}],
        "pauses":[],"marks":[],"warnings":[],"duration_ms":60000,"timing":[],"corrections":[]}"#;
    let session_path = dir.path().join("room.session.json");
    std::fs::write(&session_path, session).unwrap();
    let session = tingji_capture::Session::load(&session_path).unwrap();
    let mut t = mic_transcript(60);
    let cancel = Arc::new(AtomicBool::new(false));
    let out = tingji_workflow::speakers::for_recording(&store, &wav, &session, &mut t, 2, &mut |_| {}, &cancel).unwrap();
    let (channel, found) = out.diarized.expect("a channel was diarized");
    assert_eq!(channel, 0, "the mic channel, since the system side said nothing");
    assert!((3..=4).contains(&found), "{found} voices (one of the four talks 1.2 s in all)");
    let mut speakers: Vec<&str> = t.segments.iter().filter_map(|s| s.speaker.as_deref()).collect();
    assert_eq!(speakers.len(), t.segments.len(), "every mic line has a speaker");
    speakers.sort();
    speakers.dedup();
    assert!(speakers.len() >= 3, "the lines carry the voices found: {speakers:?}");
}
