//! Notes logic against a scripted model (a fake inside a test: the real models are exercised by
//! `cli/tests/notes.rs`): repair of unusable answers, map-reduce over a small context, anchoring.

use std::sync::Mutex;

use tingji_llm::{BoxFuture, Cancel, ChatModel, ChatRequest, ChatResponse, StreamEvent, TokenUsage};
use tingji_notes::{NotesEvent, NotesOptions, generate};
use tingji_transcript::notes::NoteKind;
use tingji_transcript::*;

/// Answers from `script` in order (the last repeats); records every prompt.
struct Scripted {
    script: Vec<String>,
    prompts: Mutex<Vec<String>>,
    context: usize,
}

impl Scripted {
    fn new(script: &[&str], context: usize) -> Scripted {
        Scripted { script: script.iter().map(|s| s.to_string()).collect(), prompts: Mutex::new(vec![]), context }
    }
}

impl ChatModel for Scripted {
    fn name(&self) -> String {
        "test/scripted".into()
    }
    fn context_tokens(&self) -> Option<usize> {
        Some(self.context)
    }
    fn chat<'a>(
        &'a self,
        req: &'a ChatRequest,
        on_event: &'a mut (dyn FnMut(StreamEvent<'_>) + Send),
        _cancel: &'a Cancel,
    ) -> BoxFuture<'a, tingji_llm::Result<ChatResponse>> {
        Box::pin(async move {
            let prompt: String = req.messages.iter().map(|m| m.content.as_str()).collect::<Vec<_>>().join("\n");
            let mut p = self.prompts.lock().unwrap();
            let text = self.script[p.len().min(self.script.len() - 1)].clone();
            p.push(prompt);
            on_event(StreamEvent::Text(&text));
            Ok(ChatResponse { text, usage: TokenUsage::default(), finish_reason: Some("stop".into()), timings: None })
        })
    }
}

fn transcript(n: usize) -> Transcript {
    Transcript {
        version: SCHEMA_VERSION,
        source: SourceInfo { path: "m.wav".into(), container: "wav".into(), codec: "pcm".into(), sample_rate: 16000, channels: 1, track_note: None },
        language: "en".into(),
        language_probability: None,
        duration_ms: n as u64 * 5000,
        model: ModelInfo { name: "m".into(), ftype: None, multilingual: true },
        parameters: Parameters {
            language: "en".into(),
            sampling: Sampling::Greedy { best_of: 1 },
            threads: 1,
            initial_prompt: None,
            temperature: 0.0,
            temperature_inc: 0.0,
            vad: true,
            separate_channels: false,
            script: Script::AsIs,
        },
        segments: (0..n)
            .map(|i| Segment {
                start_ms: i as u64 * 5000,
                end_ms: i as u64 * 5000 + 4500,
                text: format!("In part {i} Bob said we should review the quarterly budget numbers together"),
                channel: None,
                speaker: Some(if i % 2 == 0 { "Bob".into() } else { "Ann".into() }),
                words: vec![],
            })
            .collect(),
        warnings: vec![],
    }
}

async fn run(model: &Scripted, t: &Transcript, opts: &NotesOptions) -> (Result<tingji_transcript::notes::MeetingNotes, tingji_notes::NotesError>, Vec<String>) {
    let mut events = Vec::new();
    let r = generate(
        model,
        t,
        opts,
        &mut |e| match e {
            NotesEvent::Repair { what, error } => events.push(format!("repair {what}: {error}")),
            NotesEvent::Plan { requests, chunks } => events.push(format!("plan {requests} {chunks}")),
            _ => {}
        },
        &Cancel::new(),
    )
    .await;
    (r, events)
}

#[tokio::test]
async fn invalid_json_is_sent_back_and_repaired() {
    let t = transcript(4);
    let m = Scripted::new(&["Sure! Here you go: {\"summary\": ", "{\"summary\": \"Budget review.\"}"], 8192);
    let opts = NotesOptions { kinds: vec![NoteKind::Summary], ..NotesOptions::default() };
    let (r, events) = run(&m, &t, &opts).await;
    assert_eq!(r.unwrap().summary.as_deref(), Some("Budget review."));
    assert!(events.iter().any(|e| e.starts_with("repair summary: invalid JSON")), "{events:?}");
    let prompts = m.prompts.lock().unwrap();
    assert!(prompts[1].contains("Reply again with only the corrected JSON"), "the reason goes back to the model");
}

#[tokio::test]
async fn an_answer_that_stays_unusable_is_a_named_error_and_the_transcript_is_untouched() {
    let t = transcript(4);
    let before = t.clone();
    let m = Scripted::new(&["I cannot do that."], 8192);
    let opts = NotesOptions { kinds: vec![NoteKind::Chapters], ..NotesOptions::default() };
    let (r, _) = run(&m, &t, &opts).await;
    let e = r.unwrap_err();
    assert_eq!(e.code(), "notes_invalid_output");
    assert_eq!(m.prompts.lock().unwrap().len(), 3, "one answer and two repairs");
    assert_eq!(t, before);
}

#[tokio::test]
async fn a_long_transcript_is_mapped_over_chunks_and_merged_in_order() {
    let t = transcript(400);
    // Every chunk proposes a chapter at segment 0 (invalid outside the first chunk: re-anchored
    // to the most similar segment of that chunk) and one action owned by a real speaker.
    let m = Scripted::new(
        &["{\"chapters\": [{\"title\": \"Budget\", \"summary\": \"s\", \"start_segment\": 0}], \"actions\": [{\"task\": \"review the quarterly budget\", \"owner\": \"Bob\", \"due\": \"Friday\", \"segment\": 99999}]}"],
        2048,
    );
    let opts = NotesOptions { kinds: vec![NoteKind::Chapters, NoteKind::Actions], ..NotesOptions::default() };
    let (r, events) = run(&m, &t, &opts).await;
    let n = r.unwrap();
    let chunks: usize = events.iter().find_map(|e| e.strip_prefix("plan ")?.split(' ').nth(1)?.parse().ok()).unwrap();
    assert!(chunks >= 5, "400 segments need several 2k windows, got {chunks}");
    for p in m.prompts.lock().unwrap().iter() {
        assert!(tingji_llm::tokens::estimate(p) + 640 <= 2048, "a prompt exceeds the context");
    }
    let ch = n.chapters.unwrap();
    assert_eq!(ch[0].start_ms, 0);
    assert!(ch.len() >= chunks - 1, "one chapter per chunk survives: {}", ch.len());
    assert!(ch.windows(2).all(|w| w[0].end_ms <= w[1].start_ms && w[0].start_ms < w[1].start_ms));
    assert_eq!(ch.last().unwrap().end_ms, t.segments.last().unwrap().end_ms);
    // Identical actions from every chunk collapse into one; the invented due date is dropped
    // ("Friday" is never said), the owner kept (Bob speaks).
    let a = n.actions.unwrap();
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].owner.as_deref(), Some("Bob"));
    assert_eq!(a[0].due, None);
    assert!(t.segments.iter().any(|s| s.start_ms == a[0].start_ms));
}

#[tokio::test]
async fn many_long_part_summaries_are_merged_in_rounds_within_the_context() {
    let t = transcript(600);
    // A wordy model: every part's summary is ~300 tokens, so two dozen of them cannot be
    // merged in one 2k request.
    let long = "The team reviewed the quarterly budget numbers together and agreed to revisit them. ".repeat(12);
    let answer = serde_json::json!({ "summary": long }).to_string();
    let m = Scripted::new(&[answer.as_str()], 2048);
    let opts = NotesOptions { kinds: vec![NoteKind::Summary], ..NotesOptions::default() };
    let (r, events) = run(&m, &t, &opts).await;
    let n = r.unwrap();
    assert!(n.summary.unwrap().contains("quarterly budget"));
    let chunks: usize = events.iter().find_map(|e| e.strip_prefix("plan ")?.split(' ').nth(1)?.parse().ok()).unwrap();
    let prompts = m.prompts.lock().unwrap();
    for p in prompts.iter() {
        assert!(tingji_llm::tokens::estimate(p) + opts.max_output_tokens as usize <= 2048, "a prompt exceeds the context");
    }
    let merges = prompts.len() - chunks;
    // More than one merge request (one would not fit), and fewer than one per part.
    assert!(merges >= 2 && merges < chunks, "{chunks} parts, {merges} merges");
    // The progress total counts the merge rounds: the plan is corrected once the parts' real
    // summaries are known, and then says exactly how many requests were made.
    let plans: Vec<usize> = events.iter().filter_map(|e| e.strip_prefix("plan ")?.split(' ').next()?.parse().ok()).collect();
    assert_eq!(*plans.last().unwrap(), prompts.len(), "plans {plans:?}");
    assert!(plans[0] >= prompts.len(), "the first plan counts merges for answers as long as allowed: {plans:?}");
}

#[tokio::test]
async fn a_translation_is_aligned_by_position_and_a_wrong_count_is_repaired() {
    let t = transcript(3);
    // First answer: one line short (refused with the count), then the three lines in order.
    let m = Scripted::new(&[r#"{"lines": ["第一", "第二"]}"#, r#"{"lines": ["第一行", "第二行", "第三行"]}"#], 8192);
    let opts = NotesOptions { kinds: vec![NoteKind::Translation], translate_to: Some("zh".into()), ..NotesOptions::default() };
    let (r, events) = run(&m, &t, &opts).await;
    let tr = r.unwrap().translation.unwrap();
    assert_eq!(tr.language, "zh");
    assert_eq!(tr.segments, ["第一行", "第二行", "第三行"]);
    assert!(events.iter().any(|e| e.contains("exactly 3 translated lines") && e.contains("got 2")), "{events:?}");
    // The model sees the lines numbered from 1 and the count it must return.
    let prompts = m.prompts.lock().unwrap();
    assert!(prompts[0].contains("(1) In part 0 Bob said") && prompts[0].contains("(3) In part 2") && prompts[0].contains("正好 3 条"), "{}", prompts[0]);
}
