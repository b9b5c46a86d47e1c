//! Prompt texts (from `assets/prompts/{en,zh}.json`, compiled in) and the transcript as the
//! model sees it: one numbered line per segment.

use std::collections::HashMap;

use tingji_transcript::Transcript;

/// Changes whenever a prompt text, the line format or a schema changes; stored with the notes.
pub const PROMPT_VERSION: &str = "notes-3";

const EN: &str = include_str!("../../../assets/prompts/en.json");
const ZH: &str = include_str!("../../../assets/prompts/zh.json");

pub struct Prompts {
    texts: HashMap<String, String>,
    /// The output language's name, in the prompt language ("English", "中文"…).
    language_name: String,
}

impl Prompts {
    /// Prompts for writing in `language` (ISO-639-1): Chinese prompts for Chinese output,
    /// English prompts otherwise (with the language named).
    pub fn for_language(language: &str) -> Prompts {
        let zh = language.starts_with("zh");
        let texts: HashMap<String, String> =
            serde_json::from_str(if zh { ZH } else { EN }).expect("bundled prompts are valid JSON");
        Prompts { texts, language_name: language_name(language, zh) }
    }

    pub fn get(&self, key: &str) -> &str {
        self.texts.get(key).map(String::as_str).unwrap_or_else(|| panic!("bundled prompt {key:?} missing"))
    }

    /// The system message: role plus the output language.
    pub fn system(&self) -> String {
        format!("{}\n{}", self.get("system"), self.get("language").replace("{language}", &self.language_name))
    }

    pub fn language_name(&self) -> &str {
        &self.language_name
    }
}

/// A language's name as the prompts say it.
pub fn language_name(code: &str, in_chinese: bool) -> String {
    let (en, zh) = match code.split(['-', '_']).next().unwrap_or(code) {
        "en" => ("English", "英文"),
        "zh" => ("Simplified Chinese", "简体中文"),
        "ja" => ("Japanese", "日文"),
        "ko" => ("Korean", "韩文"),
        "fr" => ("French", "法文"),
        "de" => ("German", "德文"),
        "es" => ("Spanish", "西班牙文"),
        "ru" => ("Russian", "俄文"),
        "pt" => ("Portuguese", "葡萄牙文"),
        "it" => ("Italian", "意大利文"),
        other => return other.to_string(),
    };
    if code == "zh-Hant" || code == "zh-TW" || code == "zh-HK" {
        return if in_chinese { "繁体中文".into() } else { "Traditional Chinese".into() };
    }
    if in_chinese { zh.into() } else { en.into() }
}

/// `[12] 03:25 Alice: text` — the number is the segment index the model cites back.
pub fn segment_line(t: &Transcript, i: usize) -> String {
    let s = &t.segments[i];
    let clock = tingji_export::clock(s.start_ms, false);
    match s.speaker.as_deref() {
        Some(sp) if !sp.is_empty() => format!("[{i}] {clock} {sp}: {}", s.text.trim()),
        _ => format!("[{i}] {clock} {}", s.text.trim()),
    }
}

/// The transcript block of a prompt for segments `range`.
pub fn transcript_block(p: &Prompts, t: &Transcript, range: std::ops::Range<usize>) -> String {
    let mut s = String::from(p.get("transcript_intro"));
    s.push_str("\n\n");
    for i in range {
        s.push_str(&segment_line(t, i));
        s.push('\n');
    }
    s
}
