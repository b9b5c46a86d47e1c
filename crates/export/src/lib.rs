//! Renders a [`Transcript`] to the text formats users export: TXT, Markdown, SRT, WebVTT, JSON,
//! HTML (a self-contained page: no scripts, no remote content).
//!
//! Invariants: rendering never changes the transcript; subtitle cues keep to common subtitle
//! conventions (≤ 2 lines, ≤ 42 Latin or ≤ 18 CJK characters a line, ≤ 7 s a cue) and stay in
//! time order without overlap.

use std::fmt::Write as _;
use tingji_transcript::{Segment, Transcript, is_cjk, join_segments};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Txt,
    Srt,
    Vtt,
    Json,
    Md,
    Html,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    #[error("unknown export format '{0}' (use txt, srt, vtt, json, md or html)")]
    UnknownFormat(String),
}

impl ExportError {
    pub fn code(&self) -> &'static str {
        match self {
            ExportError::UnknownFormat(_) => "unknown_format",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = ExportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "txt" | "text" => Format::Txt,
            "srt" => Format::Srt,
            "vtt" | "webvtt" => Format::Vtt,
            "json" => Format::Json,
            "md" | "markdown" => Format::Md,
            "html" | "htm" => Format::Html,
            other => return Err(ExportError::UnknownFormat(other.to_string())),
        })
    }
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Txt => "txt",
            Format::Srt => "srt",
            Format::Vtt => "vtt",
            Format::Json => "json",
            Format::Md => "md",
            Format::Html => "html",
        }
    }
}

/// Subtitle limits.
#[derive(Debug, Clone, Copy)]
pub struct CueLimits {
    pub max_latin_chars: usize,
    pub max_cjk_chars: usize,
    pub max_lines: usize,
    pub max_duration_ms: u64,
}

impl Default for CueLimits {
    fn default() -> Self {
        CueLimits { max_latin_chars: 42, max_cjk_chars: 18, max_lines: 2, max_duration_ms: 7000 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub start_ms: u64,
    pub end_ms: u64,
    pub lines: Vec<String>,
}

pub fn render(t: &Transcript, format: Format) -> String {
    match format {
        Format::Txt => to_txt(t),
        Format::Srt => to_srt(t),
        Format::Vtt => to_vtt(t),
        Format::Json => t.to_json_pretty() + "\n",
        Format::Md => to_markdown(t),
        Format::Html => to_html(t),
    }
}

fn label(s: &Segment) -> Option<String> {
    if let Some(sp) = &s.speaker {
        return Some(sp.clone());
    }
    s.channel.map(|c| format!("Channel {}", c + 1))
}

pub fn to_txt(t: &Transcript) -> String {
    let multi = t.segments.iter().any(|s| s.channel.is_some() || s.speaker.is_some());
    if !multi {
        let mut s = join_segments(t.segments.iter().map(|s| s.text.as_str()));
        s.push('\n');
        return s;
    }
    let mut out = String::new();
    for s in &t.segments {
        let _ = writeln!(out, "[{}] {}: {}", clock(s.start_ms, false), label(s).unwrap_or_default(), s.text.trim());
    }
    out
}

pub fn to_markdown(t: &Transcript) -> String {
    let mut out = String::new();
    let title = std::path::Path::new(&t.source.path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| t.source.path.clone());
    let _ = writeln!(out, "# {title}\n");
    let _ = writeln!(
        out,
        "- Duration: {}\n- Language: {}\n- Model: {}\n",
        clock(t.duration_ms, false),
        t.language,
        t.model.name
    );
    let _ = writeln!(out, "## Transcript\n");
    for s in &t.segments {
        let who = label(s).map(|l| format!("**{l}** ")).unwrap_or_default();
        let _ = writeln!(out, "`{}` {}{}\n", clock(s.start_ms, false), who, s.text.trim());
    }
    out
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A self-contained HTML page: inline style, no scripts, no remote content.
pub fn to_html(t: &Transcript) -> String {
    let title = std::path::Path::new(&t.source.path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| t.source.path.clone());
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <style>body{{font-family:system-ui,'Noto Sans CJK SC',sans-serif;max-width:48rem;margin:2rem auto;line-height:1.6}}\
         .t{{color:#666;font-variant-numeric:tabular-nums;margin-right:.5rem}}.s{{font-weight:600;margin-right:.5rem}}</style>\n\
         </head>\n<body>\n<h1>{title}</h1>\n<p>Duration {dur} · Language {lang} · Model {model}</p>\n<h2>Transcript</h2>\n",
        lang = escape_html(&t.language),
        title = escape_html(&title),
        dur = clock(t.duration_ms, false),
        model = escape_html(&t.model.name),
    );
    for s in &t.segments {
        let who = label(s).map(|l| format!("<span class=\"s\">{}</span>", escape_html(&l))).unwrap_or_default();
        let _ = writeln!(
            out,
            "<p id=\"t{}\"><span class=\"t\">{}</span>{who}{}</p>",
            s.start_ms,
            clock(s.start_ms, false),
            escape_html(s.text.trim())
        );
    }
    out.push_str("</body>\n</html>\n");
    out
}

pub fn to_srt(t: &Transcript) -> String {
    let mut out = String::new();
    for (i, c) in cues(t, CueLimits::default()).iter().enumerate() {
        let _ = write!(out, "{}\n{} --> {}\n{}\n\n", i + 1, stamp(c.start_ms, ','), stamp(c.end_ms, ','), c.lines.join("\n"));
    }
    out
}

pub fn to_vtt(t: &Transcript) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for c in cues(t, CueLimits::default()) {
        let _ = write!(out, "{} --> {}\n{}\n\n", stamp(c.start_ms, '.'), stamp(c.end_ms, '.'), c.lines.join("\n"));
    }
    out
}

fn stamp(ms: u64, sep: char) -> String {
    format!("{:02}:{:02}:{:02}{}{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, sep, ms % 1000)
}

/// `h:mm:ss` (or `mm:ss` under an hour); with `millis`, `.mmm` appended.
pub fn clock(ms: u64, millis: bool) -> String {
    let base = if ms >= 3_600_000 {
        format!("{}:{:02}:{:02}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60)
    } else {
        format!("{:02}:{:02}", ms / 60_000, ms / 1000 % 60)
    };
    if millis { format!("{base}.{:03}", ms % 1000) } else { base }
}

/// Width of a piece of text in "Latin character" units relative to the limits: a CJK character
/// counts `max_latin / max_cjk` units.
fn width(s: &str, l: &CueLimits) -> f32 {
    let ratio = l.max_latin_chars as f32 / l.max_cjk_chars as f32;
    s.chars().map(|c| if is_cjk(c) { ratio } else { 1.0 }).sum()
}

struct Piece {
    start_ms: u64,
    end_ms: u64,
    text: String,
}

fn pieces(s: &Segment) -> Vec<Piece> {
    if s.words.is_empty() {
        // No word times: split the segment text evenly is interpolation; keep it whole.
        return vec![Piece { start_ms: s.start_ms, end_ms: s.end_ms, text: s.text.trim().to_string() }];
    }
    s.words
        .iter()
        .map(|w| Piece { start_ms: w.start_ms, end_ms: w.end_ms, text: w.text.clone() })
        .collect()
}

/// Splits a piece wider than one line into line-sized pieces (same times: display only).
fn split_wide(p: Piece, l: &CueLimits) -> Vec<Piece> {
    let max_w = l.max_latin_chars as f32;
    if width(&p.text, l) <= max_w {
        return vec![p];
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in p.text.chars() {
        let mut next = cur.clone();
        next.push(c);
        if width(next.trim(), l) > max_w && !cur.trim().is_empty() {
            out.push(Piece { start_ms: p.start_ms, end_ms: p.end_ms, text: std::mem::take(&mut cur) });
            cur.push(c);
        } else {
            cur = next;
        }
    }
    if !cur.trim().is_empty() {
        out.push(Piece { start_ms: p.start_ms, end_ms: p.end_ms, text: cur });
    }
    out
}

struct CueBuilder {
    limits: CueLimits,
    lines: Vec<String>,
    start: Option<u64>,
    end: u64,
    out: Vec<Cue>,
}

impl CueBuilder {
    fn flush(&mut self) {
        let lines: Vec<String> =
            self.lines.drain(..).map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
        if let (Some(start), false) = (self.start.take(), lines.is_empty()) {
            self.out.push(Cue { start_ms: start, end_ms: self.end.max(start + 1), lines });
        }
    }

    fn push(&mut self, p: Piece) {
        let max_w = self.limits.max_latin_chars as f32;
        if self.start.is_some_and(|s| p.end_ms.saturating_sub(s) > self.limits.max_duration_ms) {
            self.flush();
        }
        if self.lines.is_empty() {
            self.lines.push(String::new());
        }
        let cur = self.lines.last().expect("one line");
        let candidate = format!("{cur}{}", p.text);
        if width(candidate.trim(), &self.limits) > max_w && !cur.trim().is_empty() {
            if self.lines.len() < self.limits.max_lines {
                self.lines.push(String::new());
            } else {
                self.flush();
                self.lines.push(String::new());
            }
        }
        let cur = self.lines.last_mut().expect("one line");
        if cur.is_empty() {
            cur.push_str(p.text.trim_start());
        } else {
            cur.push_str(&p.text);
        }
        let prev_end = self.out.last().map_or(0, |c| c.end_ms);
        self.start.get_or_insert(p.start_ms.max(prev_end));
        self.end = p.end_ms;
    }
}

/// Splits the transcript into subtitle cues within `limits`.
pub fn cues(t: &Transcript, limits: CueLimits) -> Vec<Cue> {
    let labelled = t.segments.iter().any(|s| s.channel.is_some() || s.speaker.is_some());
    let mut b = CueBuilder { limits, lines: Vec::new(), start: None, end: 0, out: Vec::new() };
    for seg in &t.segments {
        let mut ps = pieces(seg);
        if labelled && let (Some(l), Some(first)) = (label(seg), ps.first_mut()) {
            first.text = format!("{l}: {}", first.text.trim_start());
        }
        for p in ps {
            if p.text.trim().is_empty() {
                continue;
            }
            for q in split_wide(p, &limits) {
                b.push(q);
            }
        }
        b.flush();
    }
    let mut out = b.out;
    // No overlaps: a cue ends no later than the next one starts.
    for i in 1..out.len() {
        let next_start = out[i].start_ms;
        if out[i - 1].end_ms > next_start {
            out[i - 1].end_ms = next_start.max(out[i - 1].start_ms + 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let h = to_html(&tr);
        assert!(h.contains("&lt;b&gt;Tom&lt;/b&gt; &amp; &quot;Jerry&quot;"), "{h}");
        assert!(!h.contains("<b>Tom"));
        assert!(h.contains("<span class=\"t\">01:01</span><span class=\"s\">Channel 2</span>广州市房地产中介协会分析"), "{h}");
        assert!(!h.contains("<script") && !h.contains("http"), "self-contained: {h}");
        assert_eq!("html".parse::<Format>().unwrap(), Format::Html);
    }

    #[test]
    fn srt_and_vtt_shapes() {
        let tr = t(&[("Hello", 0, 500), (" world.", 500, 1200)]);
        assert_eq!(to_srt(&tr), "1\n00:00:00,000 --> 00:00:01,200\nHello world.\n\n");
        assert!(to_vtt(&tr).starts_with("WEBVTT\n\n00:00:00.000 --> 00:00:01.200\nHello world."));
        assert_eq!(to_txt(&tr), "Hello world.\n");
    }
}
