//! Voiceprints through the library's API on a real SQLite file: naming a speaker keeps its voice,
//! later meetings are named from it (never over the user's names), and forget deletes it all.
//! (The voices here are hand-made vectors; `cli/tests/speakers.rs` uses real ones.)

mod common;

use common::*;
use tingji_library::*;

const MODEL: &str = "test-voice";

/// A unit vector near axis `k` (8 dimensions), nudged by `e` along the next axis.
fn voice(k: usize, e: f32) -> Vec<f32> {
    let mut v = vec![0.0; 8];
    v[k] = 1.0;
    v[(k + 1) % 8] = e;
    v
}

fn meeting(lib: &mut Library, voices: &[(&str, Vec<f32>)]) -> MeetingId {
    let segs: Vec<(u64, u64, &str, Option<&str>)> = voices
        .iter()
        .enumerate()
        .map(|(i, (l, _))| (i as u64 * 1000, i as u64 * 1000 + 900, "words", Some(*l)))
        .collect();
    let id = lib.import_meeting(&transcript("en", &segs), None, None).unwrap();
    let v: Vec<SpeakerVoice> = voices
        .iter()
        .map(|(l, v)| SpeakerVoice {
            label: l.to_string(),
            voice: v.clone(),
            speech_ms: 10_000,
        })
        .collect();
    lib.set_speaker_voices(id, MODEL, &v).unwrap();
    id
}

fn names(lib: &Library, id: MeetingId) -> Vec<(String, Option<String>, Option<u8>)> {
    lib.meeting(id)
        .unwrap()
        .speakers
        .into_iter()
        .map(|s| (s.label, s.name, s.matched))
        .collect()
}

#[test]
fn named_voices_name_later_meetings() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = Library::open(dir.path()).unwrap();
    let first = meeting(
        &mut lib,
        &[("S1", voice(0, 0.0)), ("S2", voice(2, 0.0)), ("S3", voice(4, 0.0))],
    );
    lib.rename_speaker(first, "S1", Some("Alice")).unwrap();
    lib.rename_speaker(first, "S2", Some("Bob")).unwrap();
    let vps = lib.voiceprints().unwrap();
    assert_eq!(
        vps.iter().map(|v| (v.name.as_str(), v.speakers)).collect::<Vec<_>>(),
        [("Alice", 1), ("Bob", 1)]
    );

    // Bob and Alice again (voices a little different), and a newcomer.
    let second = meeting(
        &mut lib,
        &[("S1", voice(2, 0.2)), ("S2", voice(6, 0.0)), ("S3", voice(0, 0.3))],
    );
    let got = lib.recognize_speakers(second, 0.8).unwrap();
    assert_eq!(
        got.iter()
            .map(|m| (m.label.as_str(), m.name.as_str()))
            .collect::<Vec<_>>(),
        [("S1", "Bob"), ("S3", "Alice")]
    );
    assert!(got.iter().all(|m| m.score > 0.9 && m.score <= 1.0), "{got:?}");
    let n = names(&lib, second);
    assert_eq!(n[0].1.as_deref(), Some("Bob"));
    assert!(
        n[0].2.is_some_and(|p| p >= 90),
        "a name from a voiceprint carries its score: {n:?}"
    );
    assert_eq!(
        (n[1].1.as_deref(), n[1].2),
        (None, None),
        "the newcomer gets no known name"
    );
    // The transcript shows the names.
    let t = lib.meeting(second).unwrap().transcript.unwrap();
    assert_eq!(
        t.segments
            .iter()
            .map(|s| s.speaker.clone().unwrap())
            .collect::<Vec<_>>(),
        ["Bob", "S2", "Alice"]
    );

    // Each voiceprint names one speaker at most; a name the user set is never replaced, and the
    // voiceprint it uses is not given to anyone else in that meeting.
    let third = meeting(
        &mut lib,
        &[("S1", voice(0, 0.1)), ("S2", voice(0, 0.2)), ("S3", voice(2, 0.0))],
    );
    lib.rename_speaker(third, "S3", Some("Carol")).unwrap();
    let got = lib.recognize_speakers(third, 0.8).unwrap();
    assert_eq!(
        got.iter()
            .map(|m| (m.label.as_str(), m.name.as_str()))
            .collect::<Vec<_>>(),
        [("S1", "Alice")]
    );
    assert_eq!(names(&lib, third)[2], ("S3".into(), Some("Carol".into()), None));

    // Confirming a matched name makes it the user's and adds the voice to the voiceprint.
    lib.rename_speaker(second, "S1", Some("Bob")).unwrap();
    assert_eq!(names(&lib, second)[0], ("S1".into(), Some("Bob".into()), None));
    let bob = lib
        .voiceprints()
        .unwrap()
        .into_iter()
        .find(|v| v.name == "Bob")
        .unwrap();
    assert_eq!(bob.speech_ms, 20_000);
    // Renaming a named speaker takes its voice out of the old voiceprint; one left empty goes.
    lib.rename_speaker(third, "S3", Some("Dave")).unwrap();
    assert!(lib.voiceprints().unwrap().iter().all(|v| v.name != "Carol"));
    lib.rename_speaker(third, "S3", None).unwrap();
    assert!(lib.voiceprints().unwrap().iter().all(|v| v.name != "Dave"));
}

#[test]
fn voiceprints_rename_merge_and_forget() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = Library::open(dir.path()).unwrap();
    let a = meeting(&mut lib, &[("S1", voice(0, 0.0)), ("S2", voice(3, 0.0))]);
    lib.rename_speaker(a, "S1", Some("Alice")).unwrap();
    lib.rename_speaker(a, "S2", Some("Al")).unwrap();
    let b = meeting(&mut lib, &[("S1", voice(0, 0.1)), ("S2", voice(5, 0.0))]);
    assert_eq!(lib.recognize_speakers(b, 0.8).unwrap().len(), 1);

    // Rename: every speaker it named follows; a taken name is refused.
    assert_eq!(
        lib.rename_voiceprint("Alice", "Al").unwrap_err().code(),
        "invalid_input"
    );
    lib.rename_voiceprint("alice", "Alicia").unwrap();
    assert_eq!(names(&lib, a)[0].1.as_deref(), Some("Alicia"));
    assert_eq!(names(&lib, b)[0].1.as_deref(), Some("Alicia"));
    // Merge: one voiceprint with both voices, the speakers of both named by it.
    lib.merge_voiceprints("Al", "Alicia").unwrap();
    let v = lib.voiceprints().unwrap();
    assert_eq!(
        v.iter()
            .map(|v| (v.name.as_str(), v.speech_ms, v.speakers))
            .collect::<Vec<_>>(),
        [("Alicia", 20_000, 3)]
    );
    assert_eq!(names(&lib, a)[1].1.as_deref(), Some("Alicia"));
    assert_eq!(
        lib.merge_voiceprints("nobody", "Alicia").unwrap_err().code(),
        "not_found"
    );

    // Forget: the voiceprint and the voices it came from are gone; names in transcripts stay,
    // and nothing is recognised any more.
    assert_eq!(lib.forget_voiceprint("ALICIA").unwrap(), 3);
    assert!(lib.voiceprints().unwrap().is_empty());
    let voices: i64 = lib
        .connection()
        .query_row("SELECT count(*) FROM speakers WHERE voice IS NOT NULL", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(voices, 1, "only b's unnamed S2 keeps its voice");
    assert_eq!(names(&lib, a)[0].1.as_deref(), Some("Alicia"));
    let c = meeting(&mut lib, &[("S1", voice(0, 0.0)), ("S2", voice(3, 0.0))]);
    assert!(lib.recognize_speakers(c, 0.5).unwrap().is_empty());
    lib.rename_speaker(a, "S1", Some("Alicia")).unwrap();
    assert!(
        lib.voiceprints().unwrap().is_empty(),
        "a forgotten voice does not come back by renaming"
    );
    assert_eq!(lib.forget_voiceprint("Alicia").unwrap_err().code(), "not_found");
}

#[test]
fn merging_speakers_merges_their_voices() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = Library::open(dir.path()).unwrap();
    let a = meeting(
        &mut lib,
        &[("S1", voice(0, 0.0)), ("S2", voice(0, 0.4)), ("S3", voice(4, 0.0))],
    );
    lib.rename_speaker(a, "S1", Some("Alice")).unwrap();
    lib.merge_speakers(a, "S2", "S1").unwrap();
    let v = lib.voiceprints().unwrap();
    assert_eq!((v[0].name.as_str(), v[0].speech_ms), ("Alice", 20_000));
    // Not-a-voice is refused before anything is written.
    let bad = [SpeakerVoice {
        label: "S3".into(),
        voice: vec![f32::NAN; 8],
        speech_ms: 1,
    }];
    assert_eq!(
        lib.set_speaker_voices(a, MODEL, &bad).unwrap_err().code(),
        "invalid_input"
    );
    // A voice of another model is never compared.
    let b = meeting(&mut lib, &[("S1", voice(0, 0.0))]);
    lib.set_speaker_voices(
        b,
        "other-model",
        &[SpeakerVoice {
            label: "S1".into(),
            voice: voice(0, 0.0),
            speech_ms: 5,
        }],
    )
    .unwrap();
    assert!(lib.recognize_speakers(b, 0.5).unwrap().is_empty());
}
