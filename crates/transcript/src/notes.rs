//! The AI-notes data model ("导读"): what the LLM produces about one transcript.
//!
//! Invariants:
//! - Every time is integer milliseconds in the transcript's own time base and lies inside
//!   `0..=duration_ms` of the transcript the notes were made from.
//! - `chapters` are in time order, non-overlapping, and their bounds are segment boundaries.
//! - Each output is optional: `None`/empty means "not generated", so `--only` is expressible.
//! - `Translation::segments[i]` translates `Transcript::segments[i]` (same length).

use serde::{Deserialize, Serialize};

/// Version of the notes JSON written by this crate.
pub const NOTES_SCHEMA_VERSION: u32 = 1;

/// One kind of output. The names are the CLI's `--only` words and the library's `ai_notes.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    Summary,
    KeyPoints,
    Keywords,
    Decisions,
    Chapters,
    Speakers,
    Qa,
    Actions,
    MindMap,
    Translation,
    Sections,
}

impl NoteKind {
    pub const ALL: [NoteKind; 11] = [
        NoteKind::Summary,
        NoteKind::KeyPoints,
        NoteKind::Keywords,
        NoteKind::Decisions,
        NoteKind::Chapters,
        NoteKind::Speakers,
        NoteKind::Qa,
        NoteKind::Actions,
        NoteKind::MindMap,
        NoteKind::Translation,
        NoteKind::Sections,
    ];
    /// Every kind `tingji notes` makes by default: all but translation and template sections
    /// (the last two of [`NoteKind::ALL`]), which are made only on request.
    pub const DEFAULT: &'static [NoteKind] = NoteKind::ALL.split_at(9).0;

    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Summary => "summary",
            NoteKind::KeyPoints => "key_points",
            NoteKind::Keywords => "keywords",
            NoteKind::Decisions => "decisions",
            NoteKind::Chapters => "chapters",
            NoteKind::Speakers => "speakers",
            NoteKind::Qa => "qa",
            NoteKind::Actions => "actions",
            NoteKind::MindMap => "mind_map",
            NoteKind::Translation => "translation",
            NoteKind::Sections => "sections",
        }
    }
}

impl std::str::FromStr for NoteKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        let alias = match s.as_str() {
            "keypoints" | "points" => "key_points",
            "action_items" | "todo" | "todos" => "actions",
            "speaker" | "per_speaker" => "speakers",
            "mindmap" => "mind_map",
            "questions" | "q&a" => "qa",
            "translate" => "translation",
            "template" => "sections",
            other => other,
        };
        NoteKind::ALL
            .into_iter()
            .find(|k| k.as_str() == alias)
            .ok_or_else(|| {
                let all: Vec<&str> = NoteKind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown notes output {s:?} (one of: {})", all.join(", "))
            })
    }
}

/// Everything generated about one transcript.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MeetingNotes {
    pub version: u32,
    /// Language the notes are written in (ISO-639-1).
    pub language: String,
    /// "provider/model" that wrote them.
    pub model: String,
    pub prompt_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_points: Option<Vec<Point>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keywords: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decisions: Option<Vec<Point>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chapters: Option<Vec<Chapter>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speakers: Option<Vec<SpeakerSummary>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qa: Option<Vec<QaPair>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<Action>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mind_map: Option<MindNode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub translation: Option<Translation>,
    /// A custom template's own sections, in the template's order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sections: Option<Vec<Section>>,
    /// Tokens spent on all requests that made these notes.
    #[serde(default)]
    pub usage: Usage,
    /// Parts of a long meeting the model gave no usable answer for (the rest is still there).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A statement anchored to where the meeting said it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Point {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Chapter {
    pub title: String,
    pub summary: String,
    pub start_ms: u64,
    pub end_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SpeakerSummary {
    pub speaker: String,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct QaPair {
    pub question: String,
    pub answer: String,
    pub start_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Action {
    pub task: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// Start of the sentence that created the task.
    pub start_ms: u64,
}

/// Mind map: a tree of at most [`MindNode::MAX_DEPTH`] levels (the root is level 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MindNode {
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<MindNode>,
}

impl MindNode {
    pub const MAX_DEPTH: usize = 4;

    /// Levels in this tree (a leaf is 1).
    pub fn depth(&self) -> usize {
        1 + self.children.iter().map(MindNode::depth).max().unwrap_or(0)
    }

    /// Cuts the tree to `max` levels.
    pub fn truncate(&mut self, max: usize) {
        if max <= 1 {
            self.children.clear();
        } else {
            for c in &mut self.children {
                c.truncate(max - 1);
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Translation {
    /// Target language (ISO-639-1).
    pub language: String,
    /// `segments[i]` translates transcript segment `i`.
    pub segments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Section {
    pub title: String,
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub requests: u32,
}

impl Usage {
    pub fn add(&mut self, o: Usage) {
        self.prompt_tokens += o.prompt_tokens;
        self.completion_tokens += o.completion_tokens;
        self.requests += o.requests;
    }
}

impl MeetingNotes {
    pub fn new(language: &str, model: &str, prompt_version: &str) -> MeetingNotes {
        MeetingNotes {
            version: NOTES_SCHEMA_VERSION,
            language: language.to_string(),
            model: model.to_string(),
            prompt_version: prompt_version.to_string(),
            ..MeetingNotes::default()
        }
    }

    /// The kinds present in these notes.
    pub fn kinds(&self) -> Vec<NoteKind> {
        NoteKind::ALL.into_iter().filter(|k| self.part(*k).is_some()).collect()
    }

    /// One output as JSON (what the library stores per kind), or `None` when not generated.
    pub fn part(&self, kind: NoteKind) -> Option<serde_json::Value> {
        fn v<T: Serialize>(x: &Option<T>) -> Option<serde_json::Value> {
            x.as_ref().map(|x| serde_json::to_value(x).expect("notes serialise"))
        }
        match kind {
            NoteKind::Summary => v(&self.summary),
            NoteKind::KeyPoints => v(&self.key_points),
            NoteKind::Keywords => v(&self.keywords),
            NoteKind::Decisions => v(&self.decisions),
            NoteKind::Chapters => v(&self.chapters),
            NoteKind::Speakers => v(&self.speakers),
            NoteKind::Qa => v(&self.qa),
            NoteKind::Actions => v(&self.actions),
            NoteKind::MindMap => v(&self.mind_map),
            NoteKind::Translation => v(&self.translation),
            NoteKind::Sections => v(&self.sections),
        }
    }

    /// Sets one output from its JSON form (the inverse of [`MeetingNotes::part`]).
    pub fn set_part(&mut self, kind: NoteKind, json: serde_json::Value) -> Result<(), serde_json::Error> {
        use serde_json::from_value as f;
        match kind {
            NoteKind::Summary => self.summary = Some(f(json)?),
            NoteKind::KeyPoints => self.key_points = Some(f(json)?),
            NoteKind::Keywords => self.keywords = Some(f(json)?),
            NoteKind::Decisions => self.decisions = Some(f(json)?),
            NoteKind::Chapters => self.chapters = Some(f(json)?),
            NoteKind::Speakers => self.speakers = Some(f(json)?),
            NoteKind::Qa => self.qa = Some(f(json)?),
            NoteKind::Actions => self.actions = Some(f(json)?),
            NoteKind::MindMap => self.mind_map = Some(f(json)?),
            NoteKind::Translation => self.translation = Some(f(json)?),
            NoteKind::Sections => self.sections = Some(f(json)?),
        }
        Ok(())
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("notes serialise")
    }

    pub fn from_json(s: &str) -> Result<MeetingNotes, crate::TranscriptError> {
        #[derive(Deserialize)]
        struct V {
            version: u32,
        }
        let v: V = serde_json::from_str(s)?;
        if v.version > NOTES_SCHEMA_VERSION {
            return Err(crate::TranscriptError::NewerVersion {
                found: v.version,
                supported: NOTES_SCHEMA_VERSION,
            });
        }
        Ok(serde_json::from_str(s)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_round_trip_every_kind() {
        let mut n = MeetingNotes::new("en", "builtin/qwen", "1");
        n.summary = Some("s".into());
        n.key_points = Some(vec![Point { text: "k".into(), start_ms: Some(5) }]);
        n.keywords = Some(vec!["a".into()]);
        n.decisions = Some(vec![Point { text: "d".into(), start_ms: None }]);
        n.chapters = Some(vec![Chapter { title: "t".into(), summary: "s".into(), start_ms: 0, end_ms: 9 }]);
        n.speakers = Some(vec![SpeakerSummary { speaker: "A".into(), summary: "x".into() }]);
        n.qa = Some(vec![QaPair { question: "q".into(), answer: "a".into(), start_ms: 3 }]);
        n.actions = Some(vec![Action { task: "t".into(), owner: Some("Bo".into()), due: None, start_ms: 1 }]);
        n.mind_map = Some(MindNode { text: "r".into(), children: vec![] });
        n.translation = Some(Translation { language: "zh".into(), segments: vec!["你好".into()] });
        n.sections = Some(vec![Section { title: "Blockers".into(), body: "none".into() }]);
        assert_eq!(n.kinds(), NoteKind::ALL.to_vec());
        let mut back = MeetingNotes::new("en", "builtin/qwen", "1");
        for k in n.kinds() {
            back.set_part(k, n.part(k).unwrap()).unwrap();
        }
        assert_eq!(back, n);
        assert_eq!(MeetingNotes::from_json(&n.to_json_pretty()).unwrap(), n);
    }

    #[test]
    fn kind_names_parse_with_aliases_and_reject_unknown() {
        for k in NoteKind::ALL {
            assert_eq!(k.as_str().parse::<NoteKind>().unwrap(), k);
        }
        assert_eq!(NoteKind::DEFAULT.len(), 9);
        assert!(!NoteKind::DEFAULT.contains(&NoteKind::Translation) && !NoteKind::DEFAULT.contains(&NoteKind::Sections));
        assert_eq!("action-items".parse::<NoteKind>().unwrap(), NoteKind::Actions);
        assert_eq!("mindmap".parse::<NoteKind>().unwrap(), NoteKind::MindMap);
        let e = "minutes".parse::<NoteKind>().unwrap_err();
        assert!(e.contains("unknown notes output") && e.contains("summary"), "{e}");
    }

    #[test]
    fn mind_map_depth_is_cut_to_the_limit() {
        let leaf = |t: &str| MindNode { text: t.into(), children: vec![] };
        let mut m = MindNode {
            text: "1".into(),
            children: vec![MindNode {
                text: "2".into(),
                children: vec![MindNode {
                    text: "3".into(),
                    children: vec![MindNode { text: "4".into(), children: vec![leaf("5")] }],
                }],
            }],
        };
        assert_eq!(m.depth(), 5);
        m.truncate(MindNode::MAX_DEPTH);
        assert_eq!(m.depth(), 4);
    }

    #[test]
    fn newer_notes_version_is_refused() {
        let e = MeetingNotes::from_json(r#"{"version": 99, "language":"en","model":"m","prompt_version":"1"}"#)
            .unwrap_err();
        assert_eq!(e.code(), "transcript_version");
    }
}
