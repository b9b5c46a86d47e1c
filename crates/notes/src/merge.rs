//! Turning model answers into anchored notes: segment numbers → times, chapters snapped to
//! segment boundaries, and the merge step of map-reduce (duplicates from overlapping chunks
//! dropped, order by time kept).

use std::collections::{HashMap, HashSet};

use tingji_transcript::notes::Chapter;
use tingji_transcript::{Transcript, is_cjk};

/// Word and CJK-bigram shingles of a text, lower-cased; for similarity and retrieval.
pub fn shingles(s: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut word = String::new();
    let mut prev_cjk: Option<char> = None;
    for c in s.chars() {
        if is_cjk(c) {
            if !word.is_empty() {
                out.insert(std::mem::take(&mut word));
            }
            if let Some(p) = prev_cjk {
                out.insert(format!("{p}{c}"));
            } else {
                out.insert(c.to_string());
            }
            prev_cjk = Some(c);
        } else {
            prev_cjk = None;
            if c.is_alphanumeric() {
                word.extend(c.to_lowercase());
            } else if !word.is_empty() {
                out.insert(std::mem::take(&mut word));
            }
        }
    }
    if !word.is_empty() {
        out.insert(word);
    }
    out
}

/// Jaccard similarity of two texts' shingles.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (shingles(a), shingles(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    a.intersection(&b).count() as f64 / a.union(&b).count() as f64
}

/// A segment number the model gave, checked against `range` (the chunk it saw). An invalid
/// one is replaced by the segment in `range` whose text is most like `text`.
pub fn anchor(t: &Transcript, range: &std::ops::Range<usize>, seg: Option<i64>, text: &str) -> usize {
    if let Some(s) = seg
        && s >= 0
        && range.contains(&(s as usize))
    {
        return s as usize;
    }
    let words = shingles(text);
    range
        .clone()
        .max_by(|&a, &b| {
            let score = |i: usize| shingles(&t.segments[i].text).intersection(&words).count();
            score(a).cmp(&score(b)).then(b.cmp(&a))
        })
        .unwrap_or(range.start)
}

/// Keeps the first of items whose keys are alike (similarity ≥ `threshold`), then sorts by time.
pub fn dedupe<T>(items: Vec<T>, key: impl Fn(&T) -> String, time: impl Fn(&T) -> u64, threshold: f64) -> Vec<T> {
    let mut kept: Vec<T> = Vec::new();
    for it in items {
        let k = key(&it);
        if !kept.iter().any(|o| similarity(&key(o), &k) >= threshold) {
            kept.push(it);
        }
    }
    kept.sort_by_key(|x| time(x));
    kept
}

/// Chapters from (start segment, title, summary) proposals: sorted, one per start, the first
/// starting at segment 0, each ending where the next starts, the last at the transcript's end.
pub fn chapters(t: &Transcript, mut starts: Vec<(usize, String, String)>) -> Vec<Chapter> {
    if t.segments.is_empty() {
        return Vec::new();
    }
    starts.sort_by_key(|s| s.0);
    starts.dedup_by(|b, a| {
        // Same start, or the same title proposed twice by overlapping chunks (a few segments
        // apart); the same title far apart is a new chapter.
        a.0 == b.0 || (b.0 - a.0 <= 3 && similarity(&a.1, &b.1) >= 0.8)
    });
    if let Some(first) = starts.first_mut() {
        first.0 = 0;
    }
    let n = t.segments.len();
    let mut out = Vec::with_capacity(starts.len());
    for (i, (start, title, summary)) in starts.iter().enumerate() {
        let next = starts.get(i + 1).map(|s| s.0).unwrap_or(n);
        let start_ms = t.segments[*start].start_ms;
        let end_ms = if next < n {
            t.segments[next - 1].end_ms.min(t.segments[next].start_ms).max(start_ms)
        } else {
            t.segments[n - 1].end_ms.max(t.duration_ms.min(t.segments[n - 1].end_ms)).max(start_ms)
        };
        out.push(Chapter { title: title.clone(), summary: summary.clone(), start_ms, end_ms });
    }
    out
}

/// Keywords proposed by several chunks: ranked by how many chunks named them, then by first
/// appearance; case-insensitive duplicates merged; at most `max`.
pub fn keywords(lists: Vec<Vec<String>>, max: usize) -> Vec<String> {
    let mut count: HashMap<String, (usize, usize, String)> = HashMap::new();
    let mut order = 0;
    for list in lists {
        let mut seen = HashSet::new();
        for k in list {
            let norm = k.trim().to_lowercase();
            if norm.is_empty() || !seen.insert(norm.clone()) {
                continue;
            }
            order += 1;
            let e = count.entry(norm).or_insert((0, order, k.trim().to_string()));
            e.0 += 1;
        }
    }
    let mut v: Vec<_> = count.into_values().collect();
    v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    v.into_iter().take(max).map(|x| x.2).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tingji_transcript::*;

    pub(crate) fn transcript(texts: &[&str]) -> Transcript {
        Transcript {
            version: SCHEMA_VERSION,
            source: SourceInfo { path: "x".into(), container: "wav".into(), codec: "pcm".into(), sample_rate: 16000, channels: 1, track_note: None },
            language: "en".into(),
            language_probability: None,
            duration_ms: texts.len() as u64 * 1000,
            model: ModelInfo { name: "m".into(), ftype: None, multilingual: true },
            parameters: Parameters {
                language: "auto".into(),
                sampling: Sampling::Greedy { best_of: 1 },
                threads: 1,
                initial_prompt: None,
                temperature: 0.0,
                temperature_inc: 0.0,
                vad: true,
                separate_channels: false,
                script: Script::AsIs,
            },
            segments: texts
                .iter()
                .enumerate()
                .map(|(i, s)| Segment {
                    start_ms: i as u64 * 1000,
                    end_ms: i as u64 * 1000 + 900,
                    text: s.to_string(),
                    channel: None,
                    speaker: None,
                    words: vec![],
                })
                .collect(),
            warnings: vec![],
        }
    }

    #[test]
    fn chapters_cover_in_order_without_overlap() {
        let t = transcript(&["a", "b", "c", "d", "e"]);
        let c = chapters(
            &t,
            vec![(3, "Budget".into(), "".into()), (1, "Intro".into(), "".into()), (2, "Intro".into(), "".into())],
        );
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].start_ms, c[0].end_ms), (0, 2900));
        assert_eq!((c[1].start_ms, c[1].end_ms), (3000, 4900));
    }

    #[test]
    fn anchors_fall_back_to_the_most_similar_segment() {
        let t = transcript(&["hello all", "Bob will send the budget by Friday", "thanks"]);
        assert_eq!(anchor(&t, &(0..3), Some(2), "x"), 2);
        assert_eq!(anchor(&t, &(0..3), Some(99), "send the budget"), 1);
        assert_eq!(anchor(&t, &(1..3), None, "nothing alike"), 1);
    }

    #[test]
    fn dedupe_and_keywords() {
        let v = dedupe(
            vec![("Send the budget to Alice", 5), ("Book a room", 1), ("send the budget to alice.", 6)],
            |x| x.0.to_string(),
            |x| x.1,
            0.6,
        );
        assert_eq!(v, vec![("Book a room", 1), ("Send the budget to Alice", 5)]);
        let k = keywords(vec![vec!["Budget".into(), "Q3".into()], vec!["budget".into(), "Hiring".into()]], 2);
        assert_eq!(k, vec!["Budget".to_string(), "Q3".to_string()]);
        assert!(similarity("明天开会", "明天开会吧") > 0.6);
    }
}
