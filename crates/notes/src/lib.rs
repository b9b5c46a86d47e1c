//! AI notes ("导读") from a transcript through any [`ChatModel`]: summary, key points, keywords,
//! decisions, chapters, per-speaker summaries, Q&A, action items, mind map, template sections,
//! segment-aligned translation, and "ask the meeting".
//!
//! Invariants:
//! - The model sees numbered segment lines and cites segment numbers; every time in the notes is
//!   the start (or end) of a real segment, so it lies inside the meeting.
//! - The transcript is only read. Notes are a separate value; nothing here writes files.
//! - A prompt never exceeds the model's context: transcripts longer than one window are split
//!   into segment-aligned chunks with overlap (map), and the per-chunk answers are merged
//!   (reduce) with duplicates dropped and times kept.
//! - Every request asks for JSON under a schema; an unreadable answer is sent back to the model
//!   with the reason ([`NotesOptions::repairs`] times) before the output fails with a named error.
//! - Each request's transcript block comes first and is identical across output kinds, so
//!   servers with a prompt cache (llama.cpp, the built-in worker) read it once.

pub mod ask;
mod ground;
mod merge;
pub mod prompts;
pub mod schema;
pub mod template;

use std::ops::Range;

use serde_json::Value;
use tingji_llm::{Cancel, ChatModel, ChatRequest, LlmError, Message, StreamEvent, tokens};
use tingji_transcript::Transcript;
use tingji_transcript::notes::{
    Action, MeetingNotes, MindNode, NoteKind, Point, QaPair, Section, SpeakerSummary, Translation, Usage,
};
use tracing::{info, warn};

pub use ask::{Answer, Citation, ask};
pub use prompts::PROMPT_VERSION;
pub use template::Template;

use prompts::Prompts;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotesError {
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("the model's {what} could not be used after {attempts} attempts: {error}")]
    Invalid { what: String, attempts: u32, error: String },
    #[error("the transcript has no text to make notes from")]
    EmptyTranscript,
    #[error("the model's context ({context} tokens) is too small for notes (need at least {needed})")]
    ContextTooSmall { context: usize, needed: usize },
    #[error("template: {0}")]
    Template(String),
    #[error("cancelled")]
    Cancelled,
}

impl NotesError {
    pub fn code(&self) -> &'static str {
        match self {
            NotesError::Llm(LlmError::Cancelled) | NotesError::Cancelled => "cancelled",
            NotesError::Llm(e) => e.code(),
            NotesError::Invalid { .. } => "notes_invalid_output",
            NotesError::EmptyTranscript => "empty_transcript",
            NotesError::ContextTooSmall { .. } => "llm_context_too_small",
            NotesError::Template(_) => "template",
        }
    }
}

pub type Result<T, E = NotesError> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub struct NotesOptions {
    /// Outputs to make (translation needs [`NotesOptions::translate_to`]).
    pub kinds: Vec<NoteKind>,
    /// Language of the notes; `None` = the transcript's.
    pub language: Option<String>,
    pub template: Option<Template>,
    pub translate_to: Option<String>,
    /// Overrides the model's context size (tokens).
    pub context_tokens: Option<usize>,
    /// Longest answer per request.
    pub max_output_tokens: u32,
    /// Times an unusable answer is sent back for repair.
    pub repairs: u32,
    pub temperature: f32,
}

impl Default for NotesOptions {
    fn default() -> NotesOptions {
        NotesOptions {
            kinds: NoteKind::DEFAULT.to_vec(),
            language: None,
            template: None,
            translate_to: None,
            context_tokens: None,
            max_output_tokens: 640,
            repairs: 2,
            temperature: 0.2,
        }
    }
}

/// What generation reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum NotesEvent<'a> {
    /// The work ahead: model requests (without repairs) and transcript chunks.
    Plan { requests: usize, chunks: usize },
    /// Request `index` (1-based) starts; `what` names it ("chapters", "actions 2/5", …).
    Request { index: usize, what: &'a str },
    /// Streamed answer text of the current request.
    Text(&'a str),
    /// The current answer is discarded (a retry or a repair follows).
    Restart,
    /// An answer was unusable and goes back to the model with this reason.
    Repair { what: &'a str, error: &'a str },
}

/// Shared by notes and ask: one model, one transcript, counters and the event sink.
pub(crate) struct Runner<'a> {
    pub model: &'a dyn ChatModel,
    pub t: &'a Transcript,
    pub p: Prompts,
    pub max_output_tokens: u32,
    pub repairs: u32,
    pub temperature: f32,
    pub on_event: &'a mut (dyn FnMut(NotesEvent<'_>) + Send),
    pub cancel: &'a Cancel,
    pub usage: Usage,
    pub requests: usize,
}

impl Runner<'_> {
    /// One JSON request with repair: `read` turns the parsed JSON into `T` or says why not.
    pub async fn request<T>(
        &mut self,
        what: &str,
        mut messages: Vec<Message>,
        schema: Value,
        read: impl Fn(&Value) -> std::result::Result<T, String>,
    ) -> Result<T> {
        self.requests += 1;
        (self.on_event)(NotesEvent::Request { index: self.requests, what });
        let mut last = String::new();
        let asked = messages.len();
        for attempt in 0..=self.repairs {
            if self.cancel.is_cancelled() {
                return Err(NotesError::Cancelled);
            }
            let req = ChatRequest {
                messages: messages.clone(),
                max_tokens: self.max_output_tokens,
                temperature: self.temperature,
                json_schema: Some(schema.clone()),
                seed: Some(42 + attempt as u64),
            };
            let on_event = &mut *self.on_event;
            let mut sink = |e: StreamEvent<'_>| match e {
                StreamEvent::Text(s) => on_event(NotesEvent::Text(s)),
                StreamEvent::Restart => on_event(NotesEvent::Restart),
            };
            let resp = match self.model.chat(&req, &mut sink, self.cancel).await {
                Err(LlmError::Cancelled) => return Err(NotesError::Cancelled),
                r => r?,
            };
            self.usage.add(Usage {
                prompt_tokens: resp.usage.prompt_tokens,
                completion_tokens: resp.usage.completion_tokens,
                requests: 1,
            });
            match schema::extract_json(&resp.text).and_then(|v| read(&v)) {
                Ok(x) => return Ok(x),
                Err(mut e) => {
                    if resp.finish_reason.as_deref() == Some("length") {
                        e = format!("{e}; the answer was cut off at the length limit, so answer more briefly");
                    }
                    warn!("{what}: unusable answer (attempt {}): {e}", attempt + 1);
                    (self.on_event)(NotesEvent::Restart);
                    (self.on_event)(NotesEvent::Repair { what, error: &e });
                    // The bad answer goes back clipped: the reason says what to mend, and the
                    // chunk plan reserves room for this turn, not for a second full answer.
                    messages.truncate(asked);
                    messages.push(Message::assistant(clip_tokens(&resp.text, 200).to_string()));
                    messages.push(Message::user(self.p.get("repair").replace("{error}", &e)));
                    last = e;
                }
            }
        }
        Err(NotesError::Invalid { what: what.to_string(), attempts: self.repairs + 1, error: last })
    }

    /// Tokens of `text`: the model's own count when it can tell, else the estimate.
    pub async fn count(&self, text: &str) -> Result<usize> {
        Ok(match self.model.count_tokens(text).await? {
            Some(n) => n,
            None => tokens::estimate(text),
        })
    }
}

/// Makes the notes `opts` asks for. Long transcripts are split to fit the model's context.
pub async fn generate(
    model: &dyn ChatModel,
    t: &Transcript,
    opts: &NotesOptions,
    on_event: &mut (dyn FnMut(NotesEvent<'_>) + Send),
    cancel: &Cancel,
) -> Result<MeetingNotes> {
    if t.segments.iter().all(|s| s.text.trim().is_empty()) {
        return Err(NotesError::EmptyTranscript);
    }
    let language = opts.language.clone().unwrap_or_else(|| t.language.clone());
    let mut kinds = opts.kinds.clone();
    if let Some(tpl) = &opts.template {
        for k in tpl.note_kinds().map_err(NotesError::Template)? {
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        if !kinds.contains(&NoteKind::Sections) {
            kinds.push(NoteKind::Sections);
        }
    }
    kinds.sort();
    kinds.dedup();
    if kinds.contains(&NoteKind::Translation) && opts.translate_to.is_none() {
        return Err(NotesError::Template("translation needs a target language (--translate-to)".into()));
    }
    let mut r = Runner {
        model,
        t,
        p: Prompts::for_language(&language),
        max_output_tokens: opts.max_output_tokens,
        repairs: opts.repairs,
        temperature: opts.temperature,
        on_event,
        cancel,
        usage: Usage::default(),
        requests: 0,
    };
    let context = opts.context_tokens.or(model.context_tokens()).unwrap_or(8192);
    let speakers_known = t.segments.iter().any(|s| s.speaker.as_deref().is_some_and(|s| !s.is_empty()));
    let map_kinds: Vec<NoteKind> = kinds
        .iter()
        .copied()
        .filter(|k| !matches!(k, NoteKind::Translation) && (*k != NoteKind::Speakers || speakers_known))
        .collect();
    let chunks = plan_chunks(&r, context, &map_kinds, opts.template.as_ref()).await?;
    let multi = chunks.len() > 1;
    let system = r.p.system();
    // What the parts wrote is merged in rounds, each request holding as many of them as fit the
    // context, until one answer remains (three hours are ~25 parts on 4k).
    let merge_budget = context.saturating_sub(
        tokens::estimate(&system) + tokens::estimate(r.p.get("merge_summary")).max(tokens::estimate(r.p.get("merge_speakers")))
            + r.max_output_tokens as usize
            + 300,
    );
    let answer_cost = r.max_output_tokens as usize;
    let speaker_count = {
        let mut names: Vec<&str> = t.segments.iter().filter_map(|s| s.speaker.as_deref()).filter(|s| !s.is_empty()).collect();
        names.sort_unstable();
        names.dedup();
        names.len().max(1)
    };
    // Merge requests are planned for answers as long as allowed, then re-planned from the real
    // answers when the merging starts.
    let summary_merges = if multi && map_kinds.contains(&NoteKind::Summary) {
        merge_requests(vec![answer_cost; chunks.len()], merge_budget, answer_cost, 1)
    } else {
        0
    };
    let speaker_merges = if multi && map_kinds.contains(&NoteKind::Speakers) {
        merge_requests(vec![answer_cost / 2; chunks.len() * speaker_count], merge_budget, answer_cost / 2, speaker_count)
    } else {
        0
    };
    let mind_map_merge = usize::from(multi && map_kinds.contains(&NoteKind::MindMap));
    let per_chunk = map_kinds.iter().filter(|k| !(multi && **k == NoteKind::MindMap)).count();
    let translation_chunks = match &opts.translate_to {
        Some(_) if kinds.contains(&NoteKind::Translation) => translation_chunks(t, context, opts.max_output_tokens).len(),
        _ => 0,
    };
    let mut planned = per_chunk * chunks.len() + summary_merges + speaker_merges + mind_map_merge + translation_chunks;
    (r.on_event)(NotesEvent::Plan { requests: planned, chunks: chunks.len() });
    info!("notes: {} chunk(s), {:?}", chunks.len(), map_kinds);

    let mut notes = MeetingNotes::new(&language, &model.name(), PROMPT_VERSION);
    notes.template = opts.template.as_ref().map(|t| t.name.clone());
    let mut parts = Parts::default();
    for (ci, range) in chunks.iter().enumerate() {
        let block = prompts::transcript_block(&r.p, t, range.clone());
        let label = |k: NoteKind| {
            if multi { format!("{} {}/{}", k.as_str(), ci + 1, chunks.len()) } else { k.as_str().to_string() }
        };
        for &k in &map_kinds {
            if multi && k == NoteKind::MindMap {
                continue;
            }
            let instruction = map_instruction(&r.p, k, multi, opts.template.as_ref());
            let messages = vec![Message::system(system.clone()), Message::user(format!("{block}\n{instruction}"))];
            let rg = range.clone();
            let what = label(k);
            // In a long meeting one part's unusable answer costs that part, not the whole run.
            let res: Result<()> = async {
                match k {
                    NoteKind::Summary => {
                        let s = r.request(&what, messages, schema::for_kind(k), read_summary).await?;
                        parts.summaries.push(s);
                    }
                    NoteKind::KeyPoints | NoteKind::Decisions => {
                        let v = r.request(&what, messages, schema::for_kind(k), |v| read_points(t, &rg, v, k)).await?;
                        if k == NoteKind::KeyPoints { parts.key_points.extend(v) } else { parts.decisions.extend(v) }
                    }
                    NoteKind::Keywords => parts.keywords.push(r.request(&what, messages, schema::for_kind(k), read_keywords).await?),
                    NoteKind::Chapters => {
                        let v = r.request(&what, messages, schema::for_kind(k), |v| read_chapters(t, &rg, v)).await?;
                        parts.chapters.extend(v);
                    }
                    NoteKind::Speakers => {
                        let v = r.request(&what, messages, schema::for_kind(k), |v| read_speakers(t, v)).await?;
                        parts.speakers.extend(v);
                    }
                    NoteKind::Qa => parts.qa.extend(r.request(&what, messages, schema::for_kind(k), |v| read_qa(t, &rg, v)).await?),
                    NoteKind::Actions => {
                        parts.actions.extend(r.request(&what, messages, schema::for_kind(k), |v| read_actions(t, &rg, v)).await?)
                    }
                    NoteKind::MindMap => notes.mind_map = Some(r.request(&what, messages, schema::for_kind(k), read_mind_map).await?),
                    NoteKind::Sections => {
                        let tpl = opts.template.as_ref().expect("sections need a template");
                        let titles: Vec<&str> = tpl.sections.iter().map(|s| s.title.as_str()).collect();
                        let v = r.request(&what, messages, schema::sections(&titles), |v| read_sections(tpl, v)).await?;
                        parts.sections.push(v);
                    }
                    NoteKind::Translation => unreachable!("translation is not a map kind"),
                }
                Ok(())
            }
            .await;
            match res {
                Err(NotesError::Invalid { what, error, .. }) if multi => {
                    warn!("{what}: skipped: {error}");
                    notes.warnings.push(format!("{what}: no usable answer ({error})"));
                }
                r => r?,
            }
        }
    }

    // Reduce.
    let mut replan = |r: &mut Runner<'_>, total: usize| {
        if total != planned {
            planned = total;
            (r.on_event)(NotesEvent::Plan { requests: total, chunks: chunks.len() });
        }
    };
    if kinds.contains(&NoteKind::Summary) {
        let items = std::mem::take(&mut parts.summaries);
        let costs = items.iter().map(|s| tokens::estimate(s)).collect();
        let rest = speaker_merges + mind_map_merge + translation_chunks;
        let total = r.requests + merge_requests(costs, merge_budget, answer_cost, 1) + rest;
        replan(&mut r, total);
        let merged = merge_in_rounds(items, merge_budget, true, String::clone, async |round, joined| {
            let msg = format!("{joined}\n{}", r.p.get("merge_summary"));
            let what = format!("summary (merge, round {round})");
            let one = r.request(&what, vec![Message::system(system.clone()), Message::user(msg)], schema::for_kind(NoteKind::Summary), read_summary).await?;
            Ok(vec![one])
        })
        .await?;
        notes.summary = Some(merged.into_iter().next().unwrap_or_default());
    }
    if kinds.contains(&NoteKind::KeyPoints) {
        notes.key_points = Some(merge::dedupe(parts.key_points, |p| p.text.clone(), |p| p.start_ms.unwrap_or(0), 0.6));
    }
    if kinds.contains(&NoteKind::Decisions) {
        notes.decisions = Some(merge::dedupe(parts.decisions, |p| p.text.clone(), |p| p.start_ms.unwrap_or(0), 0.6));
    }
    if kinds.contains(&NoteKind::Keywords) {
        notes.keywords = Some(merge::keywords(parts.keywords, 20));
    }
    if kinds.contains(&NoteKind::Chapters) {
        notes.chapters = Some(merge::chapters(t, parts.chapters));
    }
    if kinds.contains(&NoteKind::Qa) {
        notes.qa = Some(merge::dedupe(parts.qa, |q| q.question.clone(), |q| q.start_ms, 0.6));
    }
    if kinds.contains(&NoteKind::Actions) {
        notes.actions = Some(merge::dedupe(parts.actions, |a| a.task.clone(), |a| a.start_ms, 0.6));
    }
    if kinds.contains(&NoteKind::Speakers) {
        let items = std::mem::take(&mut parts.speakers);
        let line = |s: &SpeakerSummary| format!("{}: {}", s.speaker, s.summary);
        // A round that cannot shrink the list (every group already one line per speaker) ends it.
        notes.speakers = Some(if multi {
            let costs = items.iter().map(|s| tokens::estimate(&line(s))).collect();
            let total = r.requests + merge_requests(costs, merge_budget, answer_cost / 2, speaker_count) + mind_map_merge + translation_chunks;
            replan(&mut r, total);
            merge_in_rounds(items, merge_budget, false, line, async |round, joined| {
                let msg = format!("{joined}\n{}", r.p.get("merge_speakers"));
                let what = format!("speakers (merge, round {round})");
                r.request(&what, vec![Message::system(system.clone()), Message::user(msg)], schema::for_kind(NoteKind::Speakers), |v| read_speakers(t, v))
                    .await
            })
            .await?
        } else {
            items
        });
    }
    if multi && kinds.contains(&NoteKind::MindMap) {
        let outline: String = match &notes.chapters {
            Some(c) if !c.is_empty() => c.iter().map(|c| format!("- {}: {}\n", c.title, c.summary)).collect(),
            _ => notes.summary.clone().unwrap_or_else(|| parts.summaries.join("\n")),
        };
        let msg = format!("{}\n{}", clip_tokens(&outline, merge_budget), r.p.get("merge_mind_map"));
        notes.mind_map = Some(
            r.request("mind_map (merge)", vec![Message::system(system.clone()), Message::user(msg)], schema::for_kind(NoteKind::MindMap), read_mind_map)
                .await?,
        );
    }
    if let Some(tpl) = &opts.template
        && kinds.contains(&NoteKind::Sections)
    {
        notes.sections = Some(merge_sections(tpl, parts.sections));
    }
    if let (Some(target), true) = (&opts.translate_to, kinds.contains(&NoteKind::Translation)) {
        notes.translation = Some(translate(&mut r, target, context).await?);
    }
    notes.usage = r.usage;
    Ok(notes)
}

/// Consecutive groups of items costing `costs` tokens that fit `budget` together, each of at
/// least two items when two are left (a lone long item is clipped to half the budget when sent).
fn merge_groups(costs: &[usize], budget: usize) -> Vec<Range<usize>> {
    let cost = |c: usize| c.min(budget / 2) + 8;
    let mut groups = Vec::new();
    let mut start = 0;
    while start < costs.len() {
        let mut end = start;
        let mut sum = 0;
        while end < costs.len() && (end - start < 2 || sum + cost(costs[end]) <= budget) {
            sum += cost(costs[end]);
            end += 1;
        }
        groups.push(start..end);
        start = end;
    }
    groups
}

/// Merges `items` in rounds: every group of items whose lines fit `budget` is sent to `merge`
/// (the round number, the group's lines) and replaced by its answer; a lone item passes
/// through. Rounds repeat until one item is left, the last round had one group, or a round
/// did not shrink the list.
async fn merge_in_rounds<T: Clone>(
    mut items: Vec<T>,
    budget: usize,
    numbered: bool,
    line: impl Fn(&T) -> String,
    mut merge: impl AsyncFnMut(usize, String) -> Result<Vec<T>>,
) -> Result<Vec<T>> {
    let mut round = 0;
    while items.len() > 1 {
        round += 1;
        let lines: Vec<String> = items.iter().map(&line).collect();
        let costs: Vec<usize> = lines.iter().map(|l| tokens::estimate(l)).collect();
        let groups = merge_groups(&costs, budget);
        let mut next = Vec::new();
        for g in &groups {
            if g.len() == 1 {
                next.push(items[g.start].clone());
                continue;
            }
            let joined: String = lines[g.clone()]
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let l = clip_tokens(l, budget / 2);
                    if numbered { format!("({}) {l}\n", i + 1) } else { format!("{l}\n") }
                })
                .collect();
            next.extend(merge(round, joined).await?);
        }
        let done = groups.len() == 1 || next.len() >= items.len();
        items = next;
        if done {
            break;
        }
    }
    Ok(items)
}

/// The requests [`merge_in_rounds`] makes for items costing `costs` tokens when each merge
/// answers with `per_answer` items of `answer_cost` tokens.
fn merge_requests(mut costs: Vec<usize>, budget: usize, answer_cost: usize, per_answer: usize) -> usize {
    let mut requests = 0;
    while costs.len() > 1 {
        let groups = merge_groups(&costs, budget);
        let mut next = Vec::new();
        for g in &groups {
            if g.len() == 1 {
                next.push(costs[g.start]);
            } else {
                requests += 1;
                next.extend(std::iter::repeat_n(answer_cost, per_answer.min(g.len())));
            }
        }
        let done = groups.len() == 1 || next.len() >= costs.len();
        costs = next;
        if done {
            break;
        }
    }
    requests
}

/// The beginning of `text` that costs at most `max` tokens (by the pessimistic estimate).
fn clip_tokens(text: &str, max: usize) -> &str {
    if tokens::estimate(text) <= max {
        return text;
    }
    let (mut lo, mut hi) = (0usize, text.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let cut = text.floor_char_boundary(mid);
        if cut > lo && tokens::estimate(&text[..cut]) <= max { lo = cut } else { hi = mid - 1 }
    }
    &text[..text.floor_char_boundary(lo)]
}

#[derive(Default)]
struct Parts {
    summaries: Vec<String>,
    key_points: Vec<Point>,
    decisions: Vec<Point>,
    keywords: Vec<Vec<String>>,
    chapters: Vec<(usize, String, String)>,
    speakers: Vec<SpeakerSummary>,
    qa: Vec<QaPair>,
    actions: Vec<Action>,
    sections: Vec<Vec<Section>>,
}

/// What a map request asks of one chunk (a part of a longer meeting gets a shorter summary).
fn map_instruction(p: &Prompts, k: NoteKind, multi: bool, tpl: Option<&Template>) -> String {
    match k {
        NoteKind::Sections => sections_instruction(p, tpl.expect("sections need a template")),
        NoteKind::Summary if multi => p.get("part_summary").to_string(),
        _ => p.get(k.as_str()).to_string(),
    }
}

/// Segment ranges whose prompt fits `context` with room for the longest instruction of `kinds`
/// and the answer. Consecutive chunks share up to two segments so nothing said across a border
/// is lost.
async fn plan_chunks(r: &Runner<'_>, context: usize, kinds: &[NoteKind], tpl: Option<&Template>) -> Result<Vec<Range<usize>>> {
    let longest_instruction = kinds
        .iter()
        .flat_map(|&k| [map_instruction(&r.p, k, false, tpl), map_instruction(&r.p, k, true, tpl)])
        .map(|s| tokens::estimate(&s))
        .max()
        .unwrap_or(0);
    // Chat-template tokens, the repair turn, rounding.
    let overhead = tokens::estimate(&r.p.system()) + longest_instruction + r.max_output_tokens as usize + 300;
    let needed = overhead + 200;
    if context < needed {
        return Err(NotesError::ContextTooSmall { context, needed });
    }
    let budget = context - overhead;
    let t = r.t;
    let n = t.segments.len();
    let cost: Vec<usize> = (0..n).map(|i| tokens::estimate(&prompts::segment_line(t, i)) + 1).collect();
    let intro = tokens::estimate(r.p.get("transcript_intro")) + 2;
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < n {
        let mut end = start;
        let mut sum = intro;
        while end < n && (end == start || sum + cost[end] <= budget) {
            sum += cost[end];
            end += 1;
        }
        // The estimate is pessimistic. Where the model can count, the chunk grows once by what
        // its real count leaves free (scaled by how far off the estimate was for this chunk),
        // and shrinks until the real count fits.
        let mut grown = false;
        loop {
            let block = prompts::transcript_block(&r.p, t, start..end);
            let exact = r.count(&block).await?;
            if exact > budget && end - start > 1 {
                end = start + ((end - start) * 9 / 10).max(1);
                continue;
            }
            if !grown && end < n {
                grown = true;
                let estimate = tokens::estimate(&block).max(1);
                let mut real = exact;
                let before = end;
                while end < n && real + cost[end] * exact / estimate <= budget {
                    real += cost[end] * exact / estimate;
                    end += 1;
                }
                if end > before {
                    continue;
                }
            }
            break;
        }
        chunks.push(start..end);
        if end >= n {
            break;
        }
        let overlap = if end - start > 6 { 2 } else { 0 };
        start = end - overlap;
    }
    Ok(chunks)
}

fn sections_instruction(p: &Prompts, tpl: &Template) -> String {
    let list: String = tpl.sections.iter().map(|s| format!("- {}: {}\n", s.title, s.instruction)).collect();
    p.get("sections").replace("{sections}", list.trim_end())
}

fn read_summary(v: &Value) -> std::result::Result<String, String> {
    v.as_str()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| schema::text(v, &["summary", "text", "content"]))
        .ok_or_else(|| "expected {\"summary\": \"...\"} with a non-empty summary".into())
}

fn read_points(t: &Transcript, rg: &Range<usize>, v: &Value, k: NoteKind) -> std::result::Result<Vec<Point>, String> {
    let key = k.as_str();
    let list = schema::list(v, key, &["points", "items", "key_points", "decisions"])?;
    Ok(list
        .iter()
        .filter_map(|it| {
            let text = it.as_str().map(str::to_string).or_else(|| schema::text(it, &["text", "point", "decision", "content"]))?;
            let seg = merge::anchor(t, rg, schema::segment(it, &["segment", "start_segment"]), &text);
            Some(Point { text, start_ms: Some(t.segments[seg].start_ms) })
        })
        .collect())
}

fn read_keywords(v: &Value) -> std::result::Result<Vec<String>, String> {
    let list = schema::list(v, "keywords", &["keyphrases", "items"])?;
    Ok(list
        .iter()
        .filter_map(|k| k.as_str().map(|s| s.trim().to_string()).or_else(|| schema::text(k, &["keyword", "text"])))
        .filter(|s| !s.is_empty())
        .take(20)
        .collect())
}

fn read_chapters(t: &Transcript, rg: &Range<usize>, v: &Value) -> std::result::Result<Vec<(usize, String, String)>, String> {
    let list = schema::list(v, "chapters", &["sections", "items"])?;
    let out: Vec<_> = list
        .iter()
        .filter_map(|c| {
            let title = schema::text(c, &["title", "name", "topic"])?;
            let summary = schema::text(c, &["summary", "description", "text"]).unwrap_or_default();
            let seg = merge::anchor(t, rg, schema::segment(c, &["start_segment", "segment", "start"]), &format!("{title} {summary}"));
            Some((seg, title, summary))
        })
        .collect();
    if out.is_empty() {
        return Err("expected at least one chapter with a title and a start_segment".into());
    }
    Ok(out)
}

fn read_speakers(t: &Transcript, v: &Value) -> std::result::Result<Vec<SpeakerSummary>, String> {
    let known: Vec<&str> = t.segments.iter().filter_map(|s| s.speaker.as_deref()).collect();
    let list = schema::list(v, "speakers", &["items"])?;
    let all: Vec<SpeakerSummary> = list
        .iter()
        .filter_map(|s| {
            let speaker = schema::text(s, &["speaker", "name"])?;
            let summary = schema::text(s, &["summary", "text"])?;
            let canonical = known.iter().find(|k| k.eq_ignore_ascii_case(&speaker))?;
            Some(SpeakerSummary { speaker: canonical.to_string(), summary })
        })
        .collect();
    if all.is_empty() && !list.is_empty() {
        return Err(format!("use the speaker names exactly as in the transcript: {}", dedup_names(&known).join(", ")));
    }
    let mut out: Vec<SpeakerSummary> = Vec::new();
    for s in all {
        match out.iter_mut().find(|o| o.speaker == s.speaker) {
            Some(o) => {
                o.summary.push(' ');
                o.summary.push_str(&s.summary);
            }
            None => out.push(s),
        }
    }
    Ok(out)
}

fn dedup_names<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = Vec::new();
    for n in names {
        if !v.contains(n) {
            v.push(n);
        }
    }
    v
}

fn read_qa(t: &Transcript, rg: &Range<usize>, v: &Value) -> std::result::Result<Vec<QaPair>, String> {
    let list = schema::list(v, "qa", &["questions", "items"])?;
    Ok(list
        .iter()
        .filter_map(|q| {
            let question = schema::text(q, &["question", "q"])?;
            let answer = schema::text(q, &["answer", "a"]).unwrap_or_default();
            let seg = merge::anchor(t, rg, schema::segment(q, &["segment", "start_segment"]), &question);
            // Only where a question was asked; a bare "yes" gives way to the reply's words.
            let Some((seg, answer)) = ground::qa_pair(t, rg, seg, answer) else {
                tracing::debug!(%question, "Q&A pair dropped: no question asked there");
                return None;
            };
            Some(QaPair { question, answer, start_ms: t.segments[seg].start_ms })
        })
        .collect())
}

/// Action items. An owner the chunk never mentions (neither as a speaker nor in the text) is
/// dropped, and so is a due date sharing no word with it: small models invent names and dates,
/// and a wrong one is worse than none.
fn read_actions(t: &Transcript, rg: &Range<usize>, v: &Value) -> std::result::Result<Vec<Action>, String> {
    let list = schema::list(v, "actions", &["action_items", "todos", "tasks", "items"])?;
    let said: String = rg
        .clone()
        .map(|i| format!("{} {}", t.segments[i].speaker.as_deref().unwrap_or(""), t.segments[i].text))
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let said_words = merge::shingles(&said);
    Ok(list
        .iter()
        .filter_map(|a| {
            let task = a.as_str().map(str::to_string).or_else(|| schema::text(a, &["task", "text", "action", "item"]))?;
            let owner = schema::text(a, &["owner", "assignee", "who", "responsible"])
                .filter(|o| said.contains(&o.to_lowercase()));
            let due = schema::text(a, &["due", "deadline", "due_date", "when"])
                .filter(|d| merge::shingles(d).iter().any(|w| said_words.contains(w)));
            let seg = merge::anchor(t, rg, schema::segment(a, &["segment", "start_segment"]), &task);
            Some(Action { task, owner, due, start_ms: t.segments[seg].start_ms })
        })
        .collect())
}

fn read_mind_map(v: &Value) -> std::result::Result<MindNode, String> {
    fn node(v: &Value) -> Option<MindNode> {
        let text = v.as_str().map(|s| s.trim().to_string()).or_else(|| schema::text(v, &["text", "title", "topic", "root", "name"]))?;
        let children = ["children", "branches", "nodes", "subtopics"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_array))
            .map(|a| a.iter().filter_map(node).collect())
            .unwrap_or_default();
        Some(MindNode { text, children })
    }
    let root = v.get("mind_map").or_else(|| v.get("root").filter(|r| r.is_object())).unwrap_or(v);
    let mut m = node(root).ok_or("expected {\"text\": \"root\", \"children\": [...]}")?;
    m.truncate(MindNode::MAX_DEPTH);
    Ok(m)
}

fn read_sections(tpl: &Template, v: &Value) -> std::result::Result<Vec<Section>, String> {
    let list = schema::list(v, "sections", &["items"])?;
    let got: Vec<(String, String)> = list
        .iter()
        .filter_map(|s| Some((schema::text(s, &["title", "name"])?, schema::text(s, &["body", "text", "content"]).unwrap_or_default())))
        .collect();
    let by_title = |ts: &template::TemplateSection| {
        got.iter()
            .find(|(t, _)| t.trim().eq_ignore_ascii_case(&ts.title) || merge::similarity(t, &ts.title) >= 0.5)
            .map(|(_, b)| b.clone())
    };
    let any_title = tpl.sections.iter().any(|ts| by_title(ts).is_some());
    let out: Vec<Section> = tpl
        .sections
        .iter()
        .enumerate()
        .map(|(i, ts)| Section {
            title: ts.title.clone(),
            // No title matched at all: the model renamed them; take its sections in order.
            body: if any_title { by_title(ts) } else { got.get(i).map(|(_, b)| b.clone()) }.unwrap_or_default(),
        })
        .collect();
    if out.iter().all(|s| s.body.is_empty()) {
        let titles: Vec<&str> = tpl.sections.iter().map(|s| s.title.as_str()).collect();
        return Err(format!("expected sections titled: {}", titles.join(", ")));
    }
    Ok(out)
}

fn merge_sections(tpl: &Template, parts: Vec<Vec<Section>>) -> Vec<Section> {
    tpl.sections
        .iter()
        .enumerate()
        .map(|(i, ts)| Section {
            title: ts.title.clone(),
            body: parts
                .iter()
                .filter_map(|p| p.get(i).map(|s| s.body.trim()).filter(|b| !b.is_empty()))
                .collect::<Vec<_>>()
                .join("\n"),
        })
        .collect()
}

/// Segment ranges for translation: the answer is as long as the input, so chunks are small.
fn translation_chunks(t: &Transcript, context: usize, max_out: u32) -> Vec<Range<usize>> {
    let budget = (max_out as usize / 2).min(context / 4).max(64);
    let mut out = Vec::new();
    let mut start = 0;
    while start < t.segments.len() {
        let mut end = start;
        let mut sum = 0;
        while end < t.segments.len() && (end == start || sum + tokens::estimate(&t.segments[end].text) + 4 <= budget) {
            sum += tokens::estimate(&t.segments[end].text) + 4;
            end += 1;
        }
        out.push(start..end);
        start = end;
    }
    out
}

async fn translate(r: &mut Runner<'_>, target: &str, context: usize) -> Result<Translation> {
    let t = r.t;
    let mut lines = vec![String::new(); t.segments.len()];
    let tp = Prompts::for_language(target);
    let system = tp.system();
    let chunks = translation_chunks(t, context, r.max_output_tokens);
    let total = chunks.len();
    for (ci, rg) in chunks.into_iter().enumerate() {
        let n = rg.len();
        let src: String = rg.clone().enumerate().map(|(k, i)| format!("({}) {}\n", k + 1, t.segments[i].text.trim())).collect();
        let instr = tp.get("translation").replace("{language}", tp.language_name()).replace("{n}", &n.to_string());
        let messages = vec![Message::system(system.clone()), Message::user(format!("{instr}\n\n{src}"))];
        let got = r
            .request(&format!("translation {}/{}", ci + 1, total), messages, schema::translation(Some(n)), |v| {
                let list = schema::list(v, "lines", &["translations", "items"])?;
                // Strings in order; objects with a text are taken in order too (a server
                // without a grammar may answer in the older numbered shape).
                let out: Vec<String> = list
                    .iter()
                    .map(|it| it.as_str().map(|s| s.trim().to_string()).or_else(|| schema::text(it, &["text", "translation"])).unwrap_or_default())
                    .collect();
                if out.len() != n || out.iter().all(String::is_empty) {
                    return Err(format!("expected {{\"lines\": [...]}} with exactly {n} translated lines, one per line in order; got {}", out.len()));
                }
                Ok(out)
            })
            .await?;
        for (i, text) in rg.zip(got) {
            lines[i] = text;
        }
    }
    Ok(Translation { language: target.to_string(), segments: lines })
}
