//! The document as a list of layout-neutral blocks, filtered by the export options. Every
//! text-like back end (TXT, Markdown, HTML, DOCX, PDF) renders exactly these blocks, so the
//! formats never disagree on what a meeting export contains.

use tingji_transcript::Segment;
use tingji_transcript::notes::{MeetingNotes, MindNode};

use crate::{ActionEntry, Document, ExportOptions, clock, date};

/// Section headings (one place, so every format uses the same words).
pub(crate) mod heading {
    pub const SUMMARY: &str = "Summary";
    pub const KEY_POINTS: &str = "Key points";
    pub const DECISIONS: &str = "Decisions";
    pub const ACTIONS: &str = "Action items";
    pub const CHAPTERS: &str = "Chapters";
    pub const QA: &str = "Q&A";
    pub const SPEAKERS: &str = "Speakers";
    pub const KEYWORDS: &str = "Keywords";
    pub const MIND_MAP: &str = "Mind map";
    pub const NOTES: &str = "Notes";
    pub const TRANSCRIPT: &str = "Transcript";
}

/// Checklist boxes for action items.
pub(crate) const UNCHECKED: char = '☐';
pub(crate) const CHECKED: char = '☑';

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    /// The document title (once, first).
    Title(String),
    /// One line of metadata under the title.
    Meta(String),
    /// A section heading (level 2).
    Heading(String),
    /// A sub-heading inside a section (level 3).
    Subheading(String),
    Para(String),
    /// A list item; `depth` 0 is the outermost level.
    Bullet { depth: usize, text: String },
    /// An action item.
    Check { done: bool, text: String },
    /// One transcript segment.
    Line(Line),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    pub start_ms: u64,
    /// `mm:ss`, when timestamps are on.
    pub time: Option<String>,
    pub speaker: Option<String>,
    /// Mark labels (重点, 问题, 待办), when marks are on.
    pub marks: Vec<&'static str>,
    pub text: String,
    /// The translation of the segment, when bilingual is on and there is one.
    pub translation: Option<String>,
}

impl Line {
    /// `[00:12] Alice: text [重点]` with the parts the options left in.
    pub fn plain(&self) -> String {
        let mut s = String::new();
        if let Some(t) = &self.time {
            s.push_str(&format!("[{t}] "));
        }
        if let Some(sp) = &self.speaker {
            s.push_str(&format!("{sp}: "));
        }
        s.push_str(&self.text);
        for m in &self.marks {
            s.push_str(&format!(" [{m}]"));
        }
        s
    }
}

/// The display name of a segment's speaker (given name, label, or channel).
pub(crate) fn speaker_of(doc: &Document, s: &Segment) -> Option<String> {
    if let Some(sp) = &s.speaker {
        return Some(doc.speaker_names.get(sp).cloned().unwrap_or_else(|| sp.clone()));
    }
    s.channel.map(|c| format!("Channel {}", c + 1))
}

fn display_speaker(doc: &Document, label: &str) -> String {
    doc.speaker_names.get(label).cloned().unwrap_or_else(|| label.to_string())
}

/// The translation of segment `i`, if the notes have one of the same length.
pub(crate) fn translation_of(doc: &Document, i: usize) -> Option<&str> {
    let tr = doc.notes.as_ref()?.translation.as_ref()?;
    if tr.segments.len() != doc.transcript.segments.len() {
        return None;
    }
    tr.segments.get(i).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// The action items to show: the document's own (with done state), else the notes' actions.
pub(crate) fn actions(doc: &Document) -> Vec<ActionEntry> {
    if !doc.actions.is_empty() {
        return doc.actions.clone();
    }
    doc.notes
        .as_ref()
        .and_then(|n| n.actions.as_ref())
        .map(|a| {
            a.iter()
                .map(|a| ActionEntry {
                    task: a.task.clone(),
                    owner: a.owner.clone(),
                    due: a.due.clone(),
                    start_ms: Some(a.start_ms),
                    done: false,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn at(opts: &ExportOptions, ms: Option<u64>) -> String {
    match ms {
        Some(ms) if opts.timestamps => format!("[{}] ", clock(ms, false)),
        _ => String::new(),
    }
}

fn mind_map(out: &mut Vec<Block>, node: &MindNode, depth: usize) {
    out.push(Block::Bullet { depth, text: node.text.clone() });
    for c in &node.children {
        mind_map(out, c, depth + 1);
    }
}

fn notes_blocks(out: &mut Vec<Block>, doc: &Document, n: &MeetingNotes, opts: &ExportOptions) {
    if let Some(s) = n.summary.as_deref().filter(|s| !s.trim().is_empty()) {
        out.push(Block::Heading(heading::SUMMARY.into()));
        out.extend(s.split("\n\n").map(|p| Block::Para(p.trim().to_string())).filter(|b| b != &Block::Para(String::new())));
    }
    for (title, points) in [(heading::KEY_POINTS, &n.key_points), (heading::DECISIONS, &n.decisions)] {
        if let Some(points) = points.as_ref().filter(|p| !p.is_empty()) {
            out.push(Block::Heading(title.into()));
            for p in points {
                out.push(Block::Bullet { depth: 0, text: format!("{}{}", at(opts, p.start_ms), p.text) });
            }
        }
    }
    if let Some(chapters) = n.chapters.as_ref().filter(|c| !c.is_empty()) {
        out.push(Block::Heading(heading::CHAPTERS.into()));
        for c in chapters {
            let when = if opts.timestamps {
                format!("{}–{} ", clock(c.start_ms, false), clock(c.end_ms, false))
            } else {
                String::new()
            };
            out.push(Block::Subheading(format!("{when}{}", c.title)));
            if !c.summary.trim().is_empty() {
                out.push(Block::Para(c.summary.trim().to_string()));
            }
        }
    }
    if let Some(qa) = n.qa.as_ref().filter(|q| !q.is_empty()) {
        out.push(Block::Heading(heading::QA.into()));
        for q in qa {
            out.push(Block::Para(format!("{}Q: {}", at(opts, Some(q.start_ms)), q.question)));
            out.push(Block::Para(format!("A: {}", q.answer)));
        }
    }
    if let Some(sp) = n.speakers.as_ref().filter(|s| !s.is_empty()) {
        out.push(Block::Heading(heading::SPEAKERS.into()));
        for s in sp {
            out.push(Block::Bullet { depth: 0, text: format!("{}: {}", display_speaker(doc, &s.speaker), s.summary) });
        }
    }
    if let Some(k) = n.keywords.as_ref().filter(|k| !k.is_empty()) {
        out.push(Block::Heading(heading::KEYWORDS.into()));
        out.push(Block::Para(k.join(", ")));
    }
    if let Some(m) = &n.mind_map {
        out.push(Block::Heading(heading::MIND_MAP.into()));
        mind_map(out, m, 0);
    }
    for s in n.sections.iter().flatten() {
        out.push(Block::Heading(s.title.clone()));
        out.extend(s.body.split("\n\n").map(|p| Block::Para(p.trim().to_string())).filter(|b| b != &Block::Para(String::new())));
    }
}

pub(crate) fn blocks(doc: &Document, opts: &ExportOptions) -> Vec<Block> {
    let t = &doc.transcript;
    let mut out = vec![Block::Title(doc.title.clone())];
    let mut meta = Vec::new();
    if let Some(c) = doc.created_ms {
        meta.push(format!("Date: {} UTC", date(c)));
    }
    meta.push(format!("Duration: {}", clock(doc.duration_ms, false)));
    meta.push(format!("Language: {}", t.language));
    meta.push(format!("Model: {}", t.model.name));
    out.push(Block::Meta(meta.join(" · ")));

    if opts.notes {
        if let Some(n) = &doc.notes {
            notes_blocks(&mut out, doc, n, opts);
        }
        let actions = actions(doc);
        if !actions.is_empty() {
            out.push(Block::Heading(heading::ACTIONS.into()));
            for a in actions {
                let mut text = format!("{}{}", at(opts, a.start_ms), a.task);
                if let Some(o) = &a.owner {
                    text.push_str(&format!(" — {}", display_speaker(doc, o)));
                }
                if let Some(d) = &a.due {
                    text.push_str(&format!(" (due {d})"));
                }
                out.push(Block::Check { done: a.done, text });
            }
        }
        if let Some(u) = doc.user_notes.as_deref().filter(|u| !u.trim().is_empty()) {
            out.push(Block::Heading(heading::NOTES.into()));
            out.extend(u.trim().lines().filter(|l| !l.trim().is_empty()).map(|l| Block::Para(l.to_string())));
        }
    }

    out.push(Block::Heading(heading::TRANSCRIPT.into()));
    for (i, s) in t.segments.iter().enumerate() {
        let text = s.text.trim();
        if text.is_empty() {
            continue;
        }
        let marks = if opts.marks {
            doc.marks.iter().filter(|m| m.segment_idx == i).map(|m| m.kind.label()).collect()
        } else {
            Vec::new()
        };
        out.push(Block::Line(Line {
            start_ms: s.start_ms,
            time: opts.timestamps.then(|| clock(s.start_ms, false)),
            speaker: if opts.speakers { speaker_of(doc, s) } else { None },
            marks,
            text: text.to_string(),
            translation: if opts.bilingual { translation_of(doc, i).map(str::to_string) } else { None },
        }));
    }
    out
}
