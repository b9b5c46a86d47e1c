//! SRT and WebVTT: cues built from word times within [`CueLimits`], one segment never sharing
//! a cue with another.

use std::fmt::Write as _;

use tingji_transcript::{Segment, Transcript, is_cjk};

use crate::blocks::{speaker_of, translation_of};
use crate::wrap::wrap;
use crate::{Document, ExportOptions};

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
    /// Index of the transcript segment the cue shows.
    pub segment: usize,
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
    segment: usize,
    out: Vec<Cue>,
}

impl CueBuilder {
    fn flush(&mut self) {
        let lines: Vec<String> =
            self.lines.drain(..).map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
        if let (Some(start), false) = (self.start.take(), lines.is_empty()) {
            self.out.push(Cue { start_ms: start, end_ms: self.end.max(start + 1), lines, segment: self.segment });
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

/// Splits the transcript into subtitle cues within `limits` (speaker labels or channel names
/// in front of each segment when the transcript has any).
pub fn cues(t: &Transcript, limits: CueLimits) -> Vec<Cue> {
    let opts = ExportOptions { bilingual: false, ..ExportOptions::defaults_for(crate::Format::Srt) };
    document_cues(&Document::from_transcript(t.clone()), &opts, limits)
}

fn build(t: &Transcript, limits: CueLimits, label: &dyn Fn(&Segment) -> Option<String>) -> Vec<Cue> {
    let mut b = CueBuilder { limits, lines: Vec::new(), start: None, end: 0, segment: 0, out: Vec::new() };
    for (i, seg) in t.segments.iter().enumerate() {
        b.segment = i;
        let mut ps = pieces(seg);
        if let (Some(l), Some(first)) = (label(seg), ps.first_mut()) {
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

/// The document's cues: speakers by display name when `opts.speakers` (and the transcript has
/// any); with `opts.bilingual` and a translation, each translated segment's translation as the
/// cue's last line(s) — only if every such segment is a single cue that stays within the
/// limits with its translation; otherwise the file is the original only.
pub(crate) fn document_cues(doc: &Document, opts: &ExportOptions, limits: CueLimits) -> Vec<Cue> {
    let t = &doc.transcript;
    let labelled = opts.speakers && t.segments.iter().any(|s| s.channel.is_some() || s.speaker.is_some());
    let mut out = build(t, limits, &|s| if labelled { speaker_of(doc, s) } else { None });
    if !opts.bilingual {
        return out;
    }
    let max_w = limits.max_latin_chars as f32;
    let mut added: Vec<(usize, Vec<String>)> = Vec::new();
    for (i, _) in t.segments.iter().enumerate() {
        let Some(tr) = translation_of(doc, i) else { continue };
        let idx: Vec<usize> = out.iter().enumerate().filter(|(_, c)| c.segment == i).map(|(k, _)| k).collect();
        let [k] = idx[..] else { return out };
        let lines = wrap(tr, max_w, &|s| width(s, &limits));
        if out[k].lines.len() + lines.len() > limits.max_lines {
            return out;
        }
        added.push((k, lines));
    }
    for (k, lines) in added {
        out[k].lines.extend(lines);
    }
    out
}

pub(crate) fn srt(doc: &Document, opts: &ExportOptions) -> String {
    let mut out = String::new();
    for (i, c) in document_cues(doc, opts, CueLimits::default()).iter().enumerate() {
        let _ = write!(out, "{}\n{} --> {}\n{}\n\n", i + 1, stamp(c.start_ms, ','), stamp(c.end_ms, ','), c.lines.join("\n"));
    }
    out
}

pub(crate) fn vtt(doc: &Document, opts: &ExportOptions) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for c in document_cues(doc, opts, CueLimits::default()) {
        // Cue text is markup in WebVTT: `<`, `&` and `>` (which also ends a `-->`) are escaped.
        let lines: Vec<String> = c.lines.iter().map(|l| l.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")).collect();
        let _ = write!(out, "{} --> {}\n{}\n\n", stamp(c.start_ms, '.'), stamp(c.end_ms, '.'), lines.join("\n"));
    }
    out
}

fn stamp(ms: u64, sep: char) -> String {
    format!("{:02}:{:02}:{:02}{}{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, sep, ms % 1000)
}
