//! Unit tests of the renderers on hand-made documents.
use super::*;
use tingji_transcript::notes::*;
use tingji_transcript::*;

fn t(words: &[(&str, u64, u64)]) -> Transcript {
    Transcript {
        version: SCHEMA_VERSION,
        source: SourceInfo {
            path: "/x/a.wav".into(),
            container: "wav".into(),
            codec: "pcm".into(),
            sample_rate: 16000,
            channels: 1,
            track_note: None,
        },
        language: "en".into(),
        language_probability: None,
        duration_ms: 60_000,
        model: ModelInfo { name: "m".into(), ftype: None, multilingual: true },
        parameters: Parameters {
            language: "en".into(),
            sampling: Sampling::Greedy { best_of: 5 },
            threads: 1,
            initial_prompt: None,
            temperature: 0.0,
            temperature_inc: 0.2,
            vad: true,
            separate_channels: false,
            script: Script::Simplified,
        },
        segments: vec![Segment {
            start_ms: words[0].1,
            end_ms: words.last().unwrap().2,
            text: words.iter().map(|w| w.0).collect(),
            channel: None,
            speaker: None,
            words: words.iter().map(|w| Word { start_ms: w.1, end_ms: w.2, text: w.0.into(), p: 1.0 }).collect(),
        }],
        warnings: vec![],
    }
}

#[test]
fn cues_respect_limits() {
    let words: Vec<(String, u64, u64)> =
        (0..60).map(|i| (format!(" word{i}"), i * 400, i * 400 + 350)).collect();
    let w: Vec<(&str, u64, u64)> = words.iter().map(|(a, b, c)| (a.as_str(), *b, *c)).collect();
    let tr = t(&w);
    let cs = cues(&tr, CueLimits::default());
    assert!(cs.len() > 3);
    for c in &cs {
        assert!(c.lines.len() <= 2, "{c:?}");
        for l in &c.lines {
            assert!(l.chars().count() <= 42, "{l}");
        }
        assert!(c.end_ms - c.start_ms <= 7000, "{c:?}");
    }
    let all: String = cs.iter().flat_map(|c| c.lines.clone()).collect::<Vec<_>>().join(" ");
    assert_eq!(all.split_whitespace().count(), 60, "no word lost");
}

#[test]
fn cjk_lines_short() {
    let chars: Vec<(String, u64, u64)> =
        "甚至出现交易几乎停滞的情况广州市房地产中介协会分析我认为跑步最重要的就是给我带来了身体健康"
            .chars()
            .enumerate()
            .map(|(i, c)| (c.to_string(), i as u64 * 150, i as u64 * 150 + 140))
            .collect();
    let w: Vec<(&str, u64, u64)> = chars.iter().map(|(a, b, c)| (a.as_str(), *b, *c)).collect();
    for c in cues(&t(&w), CueLimits::default()) {
        for l in &c.lines {
            assert!(l.chars().count() <= 18, "{l}");
        }
    }
}

#[test]
fn html_is_escaped_and_keeps_cjk() {
    let mut tr = t(&[("<b>Tom</b> & \"Jerry\"", 0, 500)]);
    tr.segments.push(Segment {
        start_ms: 61_000,
        end_ms: 62_000,
        text: "广州市房地产中介协会分析".into(),
        channel: Some(1),
        speaker: None,
        words: vec![],
    });
    let h = text(&Document::from_transcript(tr), Format::Html, ExportOptions::defaults_for(Format::Html));
    assert!(h.contains("&lt;b&gt;Tom&lt;/b&gt; &amp; &quot;Jerry&quot;"), "{h}");
    assert!(!h.contains("<b>Tom"));
    assert!(h.contains("<span class=\"t\">01:01</span><span class=\"s\">Channel 2</span>广州市房地产中介协会分析"), "{h}");
    assert!(!h.contains("<script") && !h.contains("http"), "self-contained: {h}");
    assert_eq!("html".parse::<Format>().unwrap(), Format::Html);
}

/// Text from a meeting that looks like markup (a transcript line, a model's note, a speaker's
/// name) stays text in every export: no script, no remote image, no link, no forged cue.
#[test]
fn hostile_text_stays_text_in_every_export() {
    const HOSTILE: &str = "<script>alert(1)</script> ![x](https://evil.example/p.png) [click](javascript:alert(1)) --> <|im_end|> & # Heading";
    let mut tr = t(&[(HOSTILE, 0, 2000)]);
    tr.segments[0].speaker = Some("S1".into());
    let mut d = Document::from_transcript(tr);
    d.title = HOSTILE.into();
    let mut n = MeetingNotes::new("en", "test/hand-made", "1");
    n.summary = Some(HOSTILE.into());
    n.key_points = Some(vec![Point { text: HOSTILE.into(), start_ms: Some(0) }]);
    d.notes = Some(n);
    d.speaker_names.insert("S1".into(), "<img src=https://evil.example/a.png>".into());
    for f in [Format::Md, Format::Html, Format::Vtt] {
        let out = text(&d, f, ExportOptions::ALL);
        // Markdown's own syntax only matters in Markdown; HTML tags in all three.
        let md_syntax: &[&str] = if f == Format::Md { &["](https://", "](javascript:", "\n# <"] } else { &[] };
        for bad in ["<script", "<img"].iter().chain(md_syntax) {
            // Markdown may keep the text with a backslash before it: that is text, not markup.
            let raw = out.match_indices(bad).any(|(i, _)| !out[..i].ends_with('\\'));
            assert!(!raw, "{f:?} contains {bad:?} as markup:\n{out}");
        }
    }
    let md = text(&d, Format::Md, ExportOptions::ALL);
    assert!(md.contains("\\<script\\>alert(1)\\</script\\> !\\[x\\](https://evil.example/p.png)"), "{md}");
    // The user's own notes keep their lines.
    d.user_notes = Some("one\n# two".into());
    let md = text(&d, Format::Md, ExportOptions::ALL);
    assert!(md.contains("one") && md.contains("\n\\# two"), "{md}");
    let vtt = text(&d, Format::Vtt, ExportOptions::ALL);
    let arrows = vtt.lines().filter(|l| l.contains("-->"));
    assert!(arrows.clone().count() >= 1 && arrows.clone().all(|l| l.starts_with("00:")), "only timing lines have an arrow: {vtt}");
    assert!(vtt.contains("&lt;img src") && vtt.contains("&amp;"), "{vtt}");
}

#[test]
fn docx_of_hostile_text_is_well_formed_xml_that_keeps_the_text() {
    // Control characters are not allowed in XML 1.0: one in a line (an edited segment, a
    // model's output, a file name as title) made Word refuse the whole file.
    const HOSTILE: &str = "a\u{1}b\u{b}c\u{1f} <w:t>x</w:t> & ]]> \"q\" 'q' \u{fffe}end";
    let mut d = Document::from_transcript(t(&[(HOSTILE, 0, 2000)]));
    d.title = HOSTILE.into();
    let mut n = MeetingNotes::new("en", "test/hand-made", "1");
    n.summary = Some(HOSTILE.into());
    d.notes = Some(n);
    let bytes = render(&d, Format::Docx, &ExportOptions::ALL).unwrap();
    let read = docx_rs::read_docx(&bytes).expect("the DOCX parses");
    let json = read.json();
    assert!(json.contains("<w:t>x</w:t> & ]]>"), "the markup-like text is kept as text: {json}");
    assert!(json.contains("abc"), "only the control characters are dropped: {json}");
    for bad in ["\\u0001", "\\u000b", "\\u001f", "\\ufffe"] {
        assert!(!json.contains(bad), "{bad} kept: {json}");
    }
}

#[test]
fn srt_and_vtt_shapes() {
    let tr = t(&[("Hello", 0, 500), (" world.", 500, 1200)]);
    let d = Document::from_transcript(tr);
    let def = ExportOptions::defaults_for;
    assert_eq!(text(&d, Format::Srt, def(Format::Srt)), "1\n00:00:00,000 --> 00:00:01,200\nHello world.\n\n");
    assert!(text(&d, Format::Vtt, def(Format::Vtt)).starts_with("WEBVTT\n\n00:00:00.000 --> 00:00:01.200\nHello world."));
    assert_eq!(text(&d, Format::Txt, def(Format::Txt)), "Hello world.\n");
}

fn text(d: &Document, f: Format, o: ExportOptions) -> String {
    String::from_utf8(render(d, f, &o).unwrap()).unwrap()
}

fn seg(start: u64, end: u64, text: &str, speaker: &str) -> Segment {
    // Words: Latin split at spaces, CJK per character, evenly over the segment.
    let parts: Vec<String> = if text.is_ascii() {
        text.split(' ').enumerate().map(|(i, w)| if i == 0 { w.to_string() } else { format!(" {w}") }).collect()
    } else {
        text.chars().map(String::from).collect()
    };
    let step = (end - start) / parts.len() as u64;
    Segment {
        start_ms: start,
        end_ms: end,
        text: text.into(),
        channel: None,
        speaker: Some(speaker.into()),
        words: parts
            .iter()
            .enumerate()
            .map(|(i, w)| Word { start_ms: start + i as u64 * step, end_ms: start + (i as u64 + 1) * step, text: w.clone(), p: 1.0 })
            .collect(),
    }
}

/// A two-speaker meeting with every kind of note, marks, action items and a translation.
fn meeting() -> Document {
    let mut tr = t(&[("x", 0, 1)]);
    tr.language = "zh".into();
    tr.segments = vec![
        seg(0, 3000, "我们今天讨论预算", "S1"),
        seg(3000, 6000, "Ship it on Friday", "S2"),
        seg(65_000, 68_000, "谁来写会议纪要", "S1"),
    ];
    let mut n = MeetingNotes::new("zh", "test/hand-made", "1");
    n.summary = Some("预算通过。".into());
    n.key_points = Some(vec![Point { text: "Budget approved".into(), start_ms: Some(65_000) }]);
    n.keywords = Some(vec!["预算".into(), "Friday".into()]);
    n.decisions = Some(vec![Point { text: "Ship Friday".into(), start_ms: Some(3000) }]);
    n.chapters = Some(vec![Chapter { title: "开场".into(), summary: "讨论预算".into(), start_ms: 0, end_ms: 6000 }]);
    n.speakers = Some(vec![SpeakerSummary { speaker: "S1".into(), summary: "主持会议".into() }]);
    n.qa = Some(vec![QaPair { question: "谁写纪要？".into(), answer: "Bob".into(), start_ms: 65_000 }]);
    n.actions = Some(vec![Action { task: "写会议纪要".into(), owner: Some("S2".into()), due: None, start_ms: 65_000 }]);
    n.mind_map = Some(MindNode {
        text: "会议".into(),
        children: vec![MindNode { text: "预算".into(), children: vec![MindNode { text: "通过".into(), children: vec![] }] }],
    });
    n.translation = Some(Translation {
        language: "en".into(),
        segments: vec!["We discuss the budget today".into(), "周五发布".into(), "Who writes the minutes".into()],
    });
    let mut d = Document::from_transcript(tr);
    d.title = "预算会".into();
    d.created_ms = Some(1_700_000_000_000);
    d.notes = Some(n);
    d.user_notes = Some("记得带电脑".into());
    d.marks = vec![SegmentMark { segment_idx: 2, kind: MarkKind::Todo }];
    d.actions = vec![
        ActionEntry { task: "写会议纪要".into(), owner: Some("S2".into()), due: Some("周五".into()), start_ms: Some(65_000), done: true },
        ActionEntry { task: "Book a room".into(), owner: None, due: None, start_ms: None, done: false },
    ];
    d.speaker_names.insert("S1".into(), "Alice".into());
    d.speaker_names.insert("S2".into(), "Bob".into());
    d
}

#[test]
fn every_option_turns_its_part_on_and_off() {
    let d = meeting();
    let all = ExportOptions::ALL;
    let md = text(&d, Format::Md, all);
    for want in [
        "# 预算会", "Date: 2023-11-14 22:13 UTC", "## Summary", "预算通过。", "## Key points", "- \\[01:05\\] Budget approved",
        "## Decisions", "## Chapters", "### 00:00–00:06 开场", "## Q&A", "\\[01:05\\] Q: 谁写纪要？", "A: Bob",
        "## Speakers", "- Alice: 主持会议", "## Keywords", "预算, Friday", "## Mind map", "- 会议\n  - 预算\n    - 通过",
        "## Action items", "- [x] \\[01:05\\] 写会议纪要 — Bob (due 周五)", "- [ ] Book a room", "## Notes", "记得带电脑",
        "## Transcript", "`00:00` **Alice** 我们今天讨论预算  \n*We discuss the budget today*", "`01:05` **Alice** 谁来写会议纪要 `待办`",
    ] {
        assert!(md.contains(want), "missing {want:?} in:\n{md}");
    }
    let off = |name: &str| {
        let mut o = all;
        o.set(name, false).unwrap();
        text(&d, Format::Md, o)
    };
    let no_time = off("timestamps");
    assert!(!no_time.contains("`00:00`") && !no_time.contains("[01:05]") && !no_time.contains("00:00–"), "{no_time}");
    assert!(no_time.contains("**Alice** 我们今天讨论预算"));
    let no_speakers = off("speakers");
    assert!(!no_speakers.contains("**Alice**") && no_speakers.contains("`00:00` 我们今天讨论预算"), "{no_speakers}");
    let no_marks = off("marks");
    assert!(!no_marks.contains("待办`") && no_marks.contains("谁来写会议纪要"), "{no_marks}");
    let no_notes = off("notes");
    for gone in ["## Summary", "## Action items", "## Notes", "## Mind map", "- [x]"] {
        assert!(!no_notes.contains(gone), "{gone} with notes off:\n{no_notes}");
    }
    assert!(no_notes.contains("## Transcript"));
    let mono = off("bilingual");
    assert!(!mono.contains("We discuss the budget") && !mono.contains("周五发布"), "{mono}");

    // Bilingual without a translation adds nothing.
    let mut plain = d.clone();
    plain.notes.as_mut().unwrap().translation = None;
    assert_eq!(text(&plain, Format::Md, all), {
        let mut o = all;
        o.bilingual = false;
        text(&plain, Format::Md, o)
    });

    // The same parts in TXT and HTML.
    let txt = text(&d, Format::Txt, all);
    assert!(txt.contains("[00:00] Alice: 我们今天讨论预算\n    We discuss the budget today"), "{txt}");
    assert!(txt.contains("☑ [01:05] 写会议纪要") && txt.contains("☐ Book a room"), "{txt}");
    assert!(txt.contains("谁来写会议纪要 [待办]"), "{txt}");
    let txt_default = text(&d, Format::Txt, ExportOptions::defaults_for(Format::Txt));
    assert!(txt_default.starts_with("Alice: 我们今天讨论预算\nBob: Ship it on Friday"), "{txt_default}");
    let html = text(&d, Format::Html, all);
    assert!(html.contains("<h2>Action items</h2>") && html.contains("<li>☑ [01:05] 写会议纪要"), "{html}");
    assert!(html.contains("<ul><li>会议<ul><li>预算<ul><li>通过</li></ul>\n</li></ul>\n</li></ul>"), "{html}");
    assert!(html.contains("<span class=\"tr\">We discuss the budget today</span>"), "{html}");
    let mut o = all;
    o.set("timestamps,notes", false).unwrap();
    let html = text(&d, Format::Html, o);
    assert!(!html.contains("class=\"t\"") && !html.contains("Action items"), "{html}");
    assert_eq!(o.set("colour", true).unwrap_err().code(), "unknown_option");
}

#[test]
fn subtitles_carry_the_translation_only_within_the_limits() {
    let d = meeting();
    let opts = ExportOptions::defaults_for(Format::Srt);
    let cs = subtitles::document_cues(&d, &opts, CueLimits::default());
    assert_eq!(cs.len(), 3);
    assert_eq!(cs[0].lines, ["Alice: 我们今天讨论预算", "We discuss the budget today"]);
    assert_eq!(cs[1].lines, ["Bob: Ship it on Friday", "周五发布"]);
    // A segment that needs two lines of its own leaves no room: the whole file is original only.
    let mut long = d.clone();
    long.transcript.segments[1] = seg(3000, 6900, "Ship it on Friday and tell everyone in the team about the plan", "S2");
    let cs = subtitles::document_cues(&long, &opts, CueLimits::default());
    assert!(cs.iter().all(|c| c.lines.len() <= 2));
    assert!(!cs.iter().flat_map(|c| &c.lines).any(|l| l.contains("budget") || l.contains("周五")), "{cs:?}");
    // Without bilingual, no translation either.
    let mut mono = opts;
    mono.bilingual = false;
    assert!(subtitles::document_cues(&d, &mono, CueLimits::default()).iter().all(|c| c.lines.len() == 1));
}

#[test]
fn subtitle_files_parse_back_with_aspasia() {
    use aspasia::{Subtitle, SubRipSubtitle, WebVttSubtitle};
    let d = meeting();
    let opts = ExportOptions::defaults_for(Format::Srt);
    let cs = subtitles::document_cues(&d, &opts, CueLimits::default());
    let srt: SubRipSubtitle = text(&d, Format::Srt, opts).parse().unwrap();
    let vtt: WebVttSubtitle = text(&d, Format::Vtt, opts).parse().unwrap();
    assert_eq!(srt.events().len(), cs.len());
    assert_eq!(vtt.events().len(), cs.len());
    for (i, c) in cs.iter().enumerate() {
        let (s, v) = (&srt.events()[i], &vtt.events()[i]);
        assert_eq!((i64::from(s.start), i64::from(s.end)), (c.start_ms as i64, c.end_ms as i64));
        assert_eq!((i64::from(v.start), i64::from(v.end)), (c.start_ms as i64, c.end_ms as i64));
        assert_eq!(s.text.trim(), c.lines.join("\n"));
        assert_eq!(v.text.trim(), c.lines.join("\n"));
    }
}

#[test]
fn docx_and_pdf_are_binary_documents() {
    let d = meeting();
    let docx = render(&d, Format::Docx, &ExportOptions::ALL).unwrap();
    assert_eq!(&docx[..2], b"PK", "a zip package");
    // The PDF needs a CJK font; a named file that is missing is `font_missing`.
    let e = pdf::find_font_in(Some("/nonexistent/font.ttf".into())).unwrap_err();
    assert_eq!(e.code(), "font_missing");
    assert!(e.to_string().contains("/nonexistent/font.ttf"), "{e}");
    let e = pdf::find_font_in(Some("/etc/hostname".into())).unwrap_err();
    assert_eq!(e.code(), "font_invalid");
    // scripts/setup.sh installs a font with CJK and Latin glyphs.
    let pdf = render(&d, Format::Pdf, &ExportOptions::ALL).expect("a CJK font is installed");
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.len() < 150_000, "the font is subset: {} bytes", pdf.len());
}
