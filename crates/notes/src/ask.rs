//! "Ask the meeting": retrieve the segments that share the most (idf-weighted) words or CJK
//! bigrams with the question, with their neighbours, and ask the model to answer from those
//! excerpts only, citing segment numbers. A 3-hour transcript is never pasted whole.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tingji_llm::{Cancel, ChatModel, Message, tokens};
use tingji_transcript::Transcript;
use tingji_transcript::notes::Usage;

use crate::prompts::{self, Prompts};
use crate::{NotesError, NotesEvent, Result, Runner, merge, schema};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub answer: String,
    pub citations: Vec<Citation>,
    pub usage: Usage,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citation {
    pub segment: usize,
    pub start_ms: u64,
    pub text: String,
}

/// Segment indexes most relevant to `question`, best first (at most `k`).
pub fn retrieve(t: &Transcript, question: &str, k: usize) -> Vec<usize> {
    let docs: Vec<_> = t.segments.iter().map(|s| merge::shingles(&s.text)).collect();
    let mut df: HashMap<&str, usize> = HashMap::new();
    for d in &docs {
        for w in d {
            *df.entry(w.as_str()).or_default() += 1;
        }
    }
    let n = docs.len().max(1) as f64;
    let q = merge::shingles(question);
    let mut scored: Vec<(f64, usize)> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let s: f64 = q
                .iter()
                .filter(|w| d.contains(*w))
                .map(|w| (n / *df.get(w.as_str()).unwrap_or(&1) as f64).ln() + 0.01)
                .sum();
            (s, i)
        })
        .filter(|(s, _)| *s > 0.0)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(k).map(|(_, i)| i).collect()
}

/// Answers `question` from the transcript, citing the segments used.
pub async fn ask(
    model: &dyn ChatModel,
    t: &Transcript,
    question: &str,
    language: Option<&str>,
    context_tokens: Option<usize>,
    on_event: &mut (dyn FnMut(NotesEvent<'_>) + Send),
    cancel: &Cancel,
) -> Result<Answer> {
    if t.segments.is_empty() {
        return Err(NotesError::EmptyTranscript);
    }
    let language = language.map(str::to_string).unwrap_or_else(|| t.language.clone());
    let p = Prompts::for_language(&language);
    let context = context_tokens.or(model.context_tokens()).unwrap_or(8192);
    // Excerpts get at most a third of the context (and never more than ~1,500 tokens).
    let budget = (context / 3).min(1500);
    let mut chosen = BTreeSet::new();
    let mut used = 0;
    'outer: for hit in retrieve(t, question, 8) {
        for i in hit.saturating_sub(1)..=(hit + 1).min(t.segments.len() - 1) {
            if chosen.contains(&i) {
                continue;
            }
            let c = tokens::estimate(&prompts::segment_line(t, i)) + 1;
            if used + c > budget {
                break 'outer;
            }
            used += c;
            chosen.insert(i);
        }
    }
    if chosen.is_empty() {
        // Nothing shares a word with the question: show the opening of the meeting.
        let mut i = 0;
        while i < t.segments.len() && used < budget / 2 {
            used += tokens::estimate(&prompts::segment_line(t, i)) + 1;
            chosen.insert(i);
            i += 1;
        }
    }
    let excerpts: String = chosen.iter().map(|&i| format!("{}\n", prompts::segment_line(t, i))).collect();
    let msg = format!(
        "{}\n\n{excerpts}\n{}",
        p.get("transcript_intro"),
        p.get("ask").replace("{question}", question.trim())
    );
    let mut r = Runner {
        model,
        t,
        p,
        max_output_tokens: 400,
        repairs: 2,
        temperature: 0.1,
        on_event,
        cancel,
        usage: Usage::default(),
        requests: 0,
    };
    let system = r.p.system();
    let (answer, cited) = r
        .request("answer", vec![Message::system(system), Message::user(msg)], schema::ask(), |v| {
            let answer = schema::text(v, &["answer", "text"]).ok_or("expected {\"answer\": \"...\", \"segments\": [..]}")?;
            let cited: Vec<usize> = v
                .get("segments")
                .or_else(|| v.get("citations"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_i64().or_else(|| x.as_str().and_then(|s| s.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok())))
                        .filter(|&i| i >= 0 && chosen.contains(&(i as usize)))
                        .map(|i| i as usize)
                        .collect()
                })
                .unwrap_or_default();
            Ok((answer, cited))
        })
        .await?;
    let mut cited = cited;
    if cited.is_empty() {
        // The model cited nothing usable: cite the excerpt closest to its answer.
        if let Some(best) = chosen.iter().copied().max_by(|&a, &b| {
            merge::similarity(&t.segments[a].text, &answer).total_cmp(&merge::similarity(&t.segments[b].text, &answer)).then(b.cmp(&a))
        }) {
            cited.push(best);
        }
    }
    cited.sort_unstable();
    cited.dedup();
    let citations = cited
        .into_iter()
        .map(|i| Citation { segment: i, start_ms: t.segments[i].start_ms, text: t.segments[i].text.clone() })
        .collect();
    Ok(Answer { answer, citations, usage: r.usage })
}
