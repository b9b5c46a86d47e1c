//! Checks that hold the model's extracted items to the transcript: a question-and-answer pair
//! only where a question was asked, and an answer with the substance of the reply.
//!
//! A small model asked for Q&A turns any line into a "question" and answers it "yes": on a
//! Mandarin clip with no question in it, eight invented pairs all answered "是的". A pair is
//! kept only when the line it points at (or the one next to it) is a question; a bare yes/no
//! answer where the reply says more takes the reply instead.

use std::ops::Range;

use tingji_transcript::Transcript;

/// True when `text` reads as a question: a question mark, a Chinese question word or final
/// particle, or an English sentence that opens with an interrogative or an auxiliary.
pub fn is_question(text: &str) -> bool {
    let t = text.trim();
    if t.contains('?') || t.contains('？') {
        return true;
    }
    const ZH: [&str; 20] = [
        "什么",
        "怎么",
        "为什么",
        "为何",
        "哪里",
        "哪儿",
        "哪个",
        "哪些",
        "谁",
        "几点",
        "多少",
        "多久",
        "是否",
        "是不是",
        "有没有",
        "能不能",
        "可不可以",
        "要不要",
        "对不对",
        "行不行",
    ];
    if ZH.iter().any(|w| t.contains(w)) {
        return true;
    }
    let end = t.trim_end_matches(|c: char| !c.is_alphanumeric());
    if end.ends_with('吗') || end.ends_with('呢') || end.ends_with('吧') && t.contains('你') {
        return true;
    }
    const EN: [&str; 24] = [
        "what", "why", "how", "when", "where", "who", "whom", "whose", "which", "do", "does", "did", "is", "are", "was", "were", "can",
        "could", "would", "should", "will", "shall", "have", "has",
    ];
    const LEAD: [&str; 11] = ["so", "and", "but", "okay", "ok", "well", "um", "uh", "then", "now", "alright"];
    // Each sentence of the line, past its "so"/"and"/"okay": "Okay. So what do we do next" asks.
    t.split(['.', '!', '。', '！', ';']).any(|s| {
        let words: Vec<String> = s.split_whitespace().map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase()).collect();
        let mut rest = words.iter().skip_while(|w| LEAD.contains(&w.as_str()));
        rest.next().is_some_and(|first| EN.contains(&first.as_str())) && rest.count() >= 2
    })
}

/// A bare yes or no (in English or Chinese), which says nothing a reader can use alone.
pub fn is_bare_yes_no(text: &str) -> bool {
    let t: String = text.chars().filter(|c| c.is_alphanumeric() || c.is_whitespace()).collect::<String>().trim().to_lowercase();
    const BARE: [&str; 22] = [
        "yes", "no", "yeah", "yep", "nope", "right", "correct", "sure", "ok", "okay", "是", "是的", "对", "对的", "对啊", "嗯", "好",
        "好的", "不是", "没有", "有", "不",
    ];
    BARE.contains(&t.as_str())
}

/// The pair anchored at segment `seg` of `range`, held to the transcript: `None` when no
/// question was asked there (the line, the one before or the one after); otherwise the answer,
/// where the model gave a bare yes/no, replaced by the reply's own words when it says more.
pub fn qa_pair(t: &Transcript, range: &Range<usize>, seg: usize, answer: String) -> Option<(usize, String)> {
    let near = seg.saturating_sub(1).max(range.start)..(seg + 2).min(range.end);
    let asked = near.clone().find(|&i| is_question(&t.segments[i].text))?;
    if !is_bare_yes_no(&answer) && !answer.trim().is_empty() {
        return Some((asked, answer));
    }
    // The reply: the lines after the question, up to the next question, while they say more
    // than a bare yes.
    let reply: Vec<&str> = (asked + 1..range.end.min(asked + 3))
        .take_while(|&i| !is_question(&t.segments[i].text))
        .map(|i| t.segments[i].text.trim())
        .filter(|s| !s.is_empty())
        .collect();
    let reply = reply.join(" ");
    if reply.chars().filter(|c| c.is_alphanumeric()).count() > answer.chars().filter(|c| c.is_alphanumeric()).count() + 2 {
        Some((asked, reply.chars().take(300).collect()))
    } else if answer.trim().is_empty() {
        None
    } else {
        Some((asked, answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::tests::transcript;

    #[test]
    fn questions_in_both_languages() {
        for q in [
            "我们什么时候上线",
            "这个方案你觉得可以吗",
            "预算够不够？",
            "What do we ship first",
            "Okay. So how do we test it",
            "Is that the plan?",
        ] {
            assert!(is_question(q), "{q}");
        }
        for s in ["我们下周上线", "今天天气不错。", "With menus", "And so my fellow Americans", "The remote is done"] {
            assert!(!is_question(s), "{s}");
        }
    }

    #[test]
    fn a_pair_needs_a_question_and_a_real_answer() {
        let t = transcript(&[
            "今天我们讨论新版遥控器。",
            "我们什么时候上线？",
            "是的，下周三先灰度上线，再全量。",
            "好的。",
            "我跑步锻炼身体。",
        ]);
        let all = 0..t.segments.len();
        // A statement far from any question: an invented pair.
        assert_eq!(qa_pair(&t, &all, 4, "是的".into()), None);
        // The question, answered "是的" by the model: the reply's words instead.
        let (seg, answer) = qa_pair(&t, &all, 1, "是的".into()).unwrap();
        assert_eq!(seg, 1);
        assert!(answer.contains("下周三"), "{answer}");
        // Anchored on the reply line: still the question's pair, the model's real answer kept.
        assert_eq!(qa_pair(&t, &all, 2, "下周三灰度上线".into()), Some((1, "下周三灰度上线".into())));
    }
}
