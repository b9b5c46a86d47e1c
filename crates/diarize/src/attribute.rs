//! Speakers onto a transcript: each word takes the speaker who talks most during it (overlap
//! keeps the dominant one), a segment is split where its words change speaker, and a segment
//! without word times takes the speaker who talks most during the whole segment.

use tingji_transcript::{Segment, Transcript, Word, join_segments};

use crate::Turn;

/// Speaker with the most time inside `[a, b)` (ties: the lower id); `None` when nobody talks
/// there. A zero-length span looks 200 ms around its point.
fn dominant(turns: &[Turn], a: u64, b: u64) -> Option<usize> {
    let (a, b) = if b > a { (a, b) } else { (a.saturating_sub(100), a + 100) };
    let mut best: Option<(u64, usize)> = None;
    for t in turns.iter().filter(|t| t.start_ms < b && t.end_ms > a) {
        let ov = t.end_ms.min(b) - t.start_ms.max(a);
        let mut total = ov;
        // Sum this speaker's other turns in the span too.
        for u in turns.iter().filter(|u| u.speaker == t.speaker && !std::ptr::eq(*u, t) && u.start_ms < b && u.end_ms > a) {
            total += u.end_ms.min(b) - u.start_ms.max(a);
        }
        if best.is_none_or(|(bt, bs)| total > bt || (total == bt && t.speaker < bs)) {
            best = Some((total, t.speaker));
        }
    }
    best.map(|(_, s)| s)
}

/// The speaker nearest in time to `ms` (for words in the gaps the diarization left).
fn nearest(turns: &[Turn], ms: u64) -> Option<usize> {
    turns.iter().min_by_key(|t| if ms < t.start_ms { t.start_ms - ms } else { ms.saturating_sub(t.end_ms) }).map(|t| t.speaker)
}

pub(crate) fn join_words(words: &[Word]) -> String {
    // Whisper's word texts carry their own leading spaces in Latin scripts.
    let joined: String = words.iter().map(|w| w.text.as_str()).collect();
    let t = joined.trim();
    if t.is_empty() { join_segments(words.iter().map(|w| w.text.as_str())) } else { t.to_string() }
}

/// Sets `speaker` (via `label`) on every segment of `t`, splitting segments at speaker changes
/// between words. Segments that already have a speaker and `only_missing` keep it.
pub fn attribute(t: &mut Transcript, turns: &[Turn], label: &dyn Fn(usize) -> String) {
    if turns.is_empty() {
        return;
    }
    let mut out: Vec<Segment> = Vec::with_capacity(t.segments.len());
    for seg in std::mem::take(&mut t.segments) {
        if seg.words.is_empty() {
            let who = dominant(turns, seg.start_ms, seg.end_ms).or_else(|| nearest(turns, (seg.start_ms + seg.end_ms) / 2));
            out.push(Segment { speaker: who.map(label), ..seg });
            continue;
        }
        let mut who: Vec<Option<usize>> = seg.words.iter().map(|w| dominant(turns, w.start_ms, w.end_ms)).collect();
        // Words in a gap take their neighbour's speaker (previous, else next, else nearest turn).
        for i in 0..who.len() {
            if who[i].is_none() {
                who[i] = who[..i].iter().rev().flatten().next().copied().or_else(|| who[i..].iter().flatten().next().copied());
            }
        }
        let mid = |w: &Word| (w.start_ms + w.end_ms) / 2;
        let fallback = nearest(turns, mid(&seg.words[0]));
        let who: Vec<Option<usize>> = who.into_iter().map(|w| w.or(fallback)).collect();
        let mut start = 0;
        for i in 1..=seg.words.len() {
            if i < seg.words.len() && who[i] == who[start] {
                continue;
            }
            let words = seg.words[start..i].to_vec();
            let whole = start == 0 && i == seg.words.len();
            out.push(Segment {
                start_ms: if start == 0 { seg.start_ms } else { words[0].start_ms },
                end_ms: if i == seg.words.len() { seg.end_ms } else { words.last().map_or(seg.end_ms, |w| w.end_ms) },
                text: if whole { seg.text.clone() } else { join_words(&words) },
                channel: seg.channel,
                speaker: who[start].map(label),
                words,
            });
            start = i;
        }
    }
    t.segments = out;
    t.sort_segments();
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tingji_transcript::{ModelInfo, Parameters, SCHEMA_VERSION, Sampling, Script, SourceInfo};

    fn w(s: u64, e: u64, text: &str) -> Word {
        Word { start_ms: s, end_ms: e, text: text.into(), p: 0.9 }
    }

    pub(crate) fn transcript(segments: Vec<Segment>) -> Transcript {
        Transcript {
            version: SCHEMA_VERSION,
            source: SourceInfo {
                path: "a.wav".into(),
                container: "wav".into(),
                codec: "pcm".into(),
                sample_rate: 16000,
                channels: 1,
                track_note: None,
            },
            language: "en".into(),
            language_probability: None,
            duration_ms: 10_000,
            model: ModelInfo { name: "t".into(), ftype: None, multilingual: false },
            parameters: Parameters {
                language: "en".into(),
                sampling: Sampling::Beam { beam_size: 5 },
                threads: 1,
                initial_prompt: None,
                temperature: 0.0,
                temperature_inc: 0.2,
                vad: true,
                separate_channels: false,
                script: Script::AsIs,
            },
            segments,
            warnings: vec![],
        }
    }

    #[test]
    fn a_segment_spanning_a_speaker_change_is_split_at_the_word_boundary() {
        let seg = Segment {
            start_ms: 0,
            end_ms: 4000,
            text: "Hello there. Hi Ann.".into(),
            channel: None,
            speaker: None,
            words: vec![w(0, 500, "Hello"), w(500, 1800, " there."), w(2100, 2600, " Hi"), w(2600, 3900, " Ann.")],
        };
        let mut t = transcript(vec![seg]);
        // Speaker 0 talks to 2 s; speaker 1 from 2 s, overlapping speaker 0 until 2.2 s.
        let turns = [Turn { start_ms: 0, end_ms: 2200, speaker: 0 }, Turn { start_ms: 2000, end_ms: 4000, speaker: 1 }];
        attribute(&mut t, &turns, &|i| format!("S{}", i + 1));
        let got: Vec<(&str, Option<&str>, u64, u64)> =
            t.segments.iter().map(|s| (s.text.as_str(), s.speaker.as_deref(), s.start_ms, s.end_ms)).collect();
        assert_eq!(got, vec![("Hello there.", Some("S1"), 0, 1800), ("Hi Ann.", Some("S2"), 2100, 4000)]);
    }

    #[test]
    fn words_in_gaps_take_a_neighbour_and_wordless_segments_the_majority() {
        let seg = Segment {
            start_ms: 5000,
            end_ms: 7000,
            text: "a b".into(),
            channel: None,
            speaker: None,
            words: vec![w(5000, 5400, "a"), w(6500, 6900, " b")],
        };
        let bare = Segment { start_ms: 0, end_ms: 3000, text: "x".into(), channel: None, speaker: None, words: vec![] };
        let mut t = transcript(vec![bare, seg]);
        let turns = [
            Turn { start_ms: 0, end_ms: 1000, speaker: 1 },
            Turn { start_ms: 1000, end_ms: 3000, speaker: 0 },
            Turn { start_ms: 6400, end_ms: 7000, speaker: 1 },
        ];
        attribute(&mut t, &turns, &|i| format!("S{}", i + 1));
        assert_eq!(t.segments[0].speaker.as_deref(), Some("S1"));
        // "a" is in a gap: it takes the next word's speaker, so the segment stays whole.
        assert_eq!(t.segments.len(), 2);
        assert_eq!(t.segments[1].speaker.as_deref(), Some("S2"));
        assert_eq!(t.segments[1].text, "a b");
    }
}
