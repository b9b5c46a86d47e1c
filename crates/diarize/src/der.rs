//! RTTM in and out, and the diarization error rate: no forgiveness collar, overlapped speech
//! scored, hypothesis speakers mapped one-to-one onto reference speakers to maximise their
//! shared time (Hungarian method), scored on a 10 ms grid as NIST md-eval does.

use crate::cluster::assign_distinct;
use crate::{DiarizeError, Turn};

/// One labelled stretch of speech, times in ms.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    pub start_ms: u64,
    pub end_ms: u64,
    pub speaker: String,
}

/// `SPEAKER <file> 1 <start s> <dur s> <NA> <NA> <speaker> <NA> <NA>` per turn.
pub fn to_rttm(file_id: &str, turns: &[Labelled]) -> String {
    let id: String = file_id.chars().map(|c| if c.is_whitespace() { '_' } else { c }).collect();
    let id = if id.is_empty() { "audio".to_string() } else { id };
    let mut s = String::new();
    for t in turns {
        s.push_str(&format!(
            "SPEAKER {id} 1 {:.3} {:.3} <NA> <NA> {} <NA> <NA>\n",
            t.start_ms as f64 / 1000.0,
            t.end_ms.saturating_sub(t.start_ms) as f64 / 1000.0,
            t.speaker.replace(char::is_whitespace, "_")
        ));
    }
    s
}

/// The `SPEAKER` lines of an RTTM file (of one file id when given).
pub fn parse_rttm(text: &str, file_id: Option<&str>) -> Result<Vec<Labelled>, DiarizeError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let p: Vec<&str> = line.split_whitespace().collect();
        if p.first() != Some(&"SPEAKER") {
            continue;
        }
        if file_id.is_some_and(|f| p.get(1) != Some(&f)) {
            continue;
        }
        let bad = || DiarizeError::Rttm(format!("line {}: {line}", i + 1));
        let start: f64 = p.get(3).and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let dur: f64 = p.get(4).and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let speaker = p.get(7).ok_or_else(bad)?.to_string();
        if !(start >= 0.0 && dur >= 0.0) {
            return Err(bad());
        }
        out.push(Labelled { start_ms: (start * 1000.0).round() as u64, end_ms: ((start + dur) * 1000.0).round() as u64, speaker });
    }
    Ok(out)
}

/// Turns with speakers named `S1`, `S2`, ….
pub fn labelled(turns: &[Turn]) -> Vec<Labelled> {
    turns.iter().map(|t| Labelled { start_ms: t.start_ms, end_ms: t.end_ms, speaker: crate::speaker_label(t.speaker) }).collect()
}

/// The error rate and its parts, as fractions of the reference speech time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Der {
    pub der: f64,
    pub missed: f64,
    pub false_alarm: f64,
    pub confusion: f64,
    /// Reference speaker time scored (seconds, overlap counted per speaker).
    pub scored_s: f64,
}

fn grid(turns: &[Labelled], labels: &[String], n: usize) -> Vec<Vec<bool>> {
    let mut g = vec![vec![false; labels.len()]; n];
    for t in turns {
        let c = labels.iter().position(|l| *l == t.speaker).expect("label listed");
        let (a, b) = (((t.start_ms + 5) / 10) as usize, (((t.end_ms + 5) / 10) as usize).min(n));
        for row in g.iter_mut().take(b).skip(a) {
            row[c] = true;
        }
    }
    g
}

fn labels_of(turns: &[Labelled]) -> Vec<String> {
    let mut v: Vec<String> = turns.iter().map(|t| t.speaker.clone()).collect();
    v.sort();
    v.dedup();
    v
}

pub fn der(reference: &[Labelled], hypothesis: &[Labelled]) -> Der {
    let end = reference.iter().chain(hypothesis).map(|t| t.end_ms).max().unwrap_or(0);
    let n = (end as usize).div_ceil(10) + 1;
    let (rl, hl) = (labels_of(reference), labels_of(hypothesis));
    let (r, h) = (grid(reference, &rl, n), grid(hypothesis, &hl, n));
    let mut co = vec![vec![0f32; hl.len()]; rl.len()];
    let (mut total, mut miss, mut fa, mut both) = (0u64, 0u64, 0u64, 0u64);
    for (rr, hh) in r.iter().zip(&h) {
        let nr = rr.iter().filter(|&&x| x).count() as u64;
        let nh = hh.iter().filter(|&&x| x).count() as u64;
        total += nr;
        miss += nr.saturating_sub(nh);
        fa += nh.saturating_sub(nr);
        both += nr.min(nh);
        for (i, _) in rr.iter().enumerate().filter(|x| *x.1) {
            for (j, _) in hh.iter().enumerate().filter(|x| *x.1) {
                co[i][j] += 1.0;
            }
        }
    }
    // Best one-to-one mapping (transpose when there are more reference than hypothesis speakers).
    let correct: f64 = if rl.is_empty() || hl.is_empty() {
        0.0
    } else if rl.len() <= hl.len() {
        assign_distinct(&co).iter().enumerate().map(|(i, &j)| co[i][j] as f64).sum()
    } else {
        let t: Vec<Vec<f32>> = (0..hl.len()).map(|j| (0..rl.len()).map(|i| co[i][j]).collect()).collect();
        assign_distinct(&t).iter().enumerate().map(|(j, &i)| t[j][i] as f64).sum()
    };
    let conf = both as f64 - correct;
    let tot = total.max(1) as f64;
    Der {
        der: (miss as f64 + fa as f64 + conf) / tot,
        missed: miss as f64 / tot,
        false_alarm: fa as f64 / tot,
        confusion: conf / tot,
        scored_s: total as f64 / 100.0,
    }
}

/// The mapping behind [`der`]: for each hypothesis speaker, the reference speaker it was matched
/// to (if any).
pub fn mapping(reference: &[Labelled], hypothesis: &[Labelled]) -> Vec<(String, Option<String>)> {
    let end = reference.iter().chain(hypothesis).map(|t| t.end_ms).max().unwrap_or(0);
    let n = (end as usize).div_ceil(10) + 1;
    let (rl, hl) = (labels_of(reference), labels_of(hypothesis));
    let (r, h) = (grid(reference, &rl, n), grid(hypothesis, &hl, n));
    let mut co = vec![vec![0f32; rl.len()]; hl.len()];
    for (rr, hh) in r.iter().zip(&h) {
        for (j, _) in hh.iter().enumerate().filter(|x| *x.1) {
            for (i, _) in rr.iter().enumerate().filter(|x| *x.1) {
                co[j][i] += 1.0;
            }
        }
    }
    if rl.is_empty() {
        return hl.into_iter().map(|l| (l, None)).collect();
    }
    if hl.len() <= rl.len() {
        let a = assign_distinct(&co);
        hl.into_iter().zip(a).map(|(l, i)| (l, Some(rl[i].clone()))).collect()
    } else {
        let t: Vec<Vec<f32>> = (0..rl.len()).map(|i| (0..hl.len()).map(|j| co[j][i]).collect()).collect();
        let a = assign_distinct(&t);
        hl.iter().enumerate().map(|(j, l)| (l.clone(), a.iter().position(|&x| x == j).map(|i| rl[i].clone()))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: u64, e: u64, who: &str) -> Labelled {
        Labelled { start_ms: s, end_ms: e, speaker: who.into() }
    }

    #[test]
    fn perfect_relabelled_hypothesis_scores_zero() {
        let r = [l(0, 1000, "A"), l(1000, 3000, "B"), l(2000, 2500, "A")];
        let h = [l(0, 1000, "x"), l(1000, 3000, "y"), l(2000, 2500, "x")];
        let d = der(&r, &h);
        assert_eq!(d.der, 0.0);
        assert!((d.scored_s - 3.5).abs() < 1e-9);
    }

    #[test]
    fn miss_false_alarm_and_confusion_are_counted_apart() {
        // Reference: A 0–4 s, B 4–8 s (8 s). Hypothesis: x 0–4 s (right), x 4–6 s (confusion:
        // x is mapped to A), nothing 6–8 s (2 s missed), y 8–9 s (1 s false alarm).
        let r = [l(0, 4000, "A"), l(4000, 8000, "B")];
        let h = [l(0, 6000, "x"), l(8000, 9000, "y")];
        let d = der(&r, &h);
        assert!((d.missed - 2.0 / 8.0).abs() < 1e-9, "{d:?}");
        assert!((d.false_alarm - 1.0 / 8.0).abs() < 1e-9, "{d:?}");
        assert!((d.confusion - 2.0 / 8.0).abs() < 1e-9, "{d:?}");
        assert!((d.der - 5.0 / 8.0).abs() < 1e-9);
    }

    #[test]
    fn overlap_is_scored_per_speaker_and_the_mapping_is_optimal() {
        // A and B overlap 1–2 s. One hypothesis speaker covering everything: it maps to the
        // longer speaker A, B's 2 s are missed where it overlaps and confused elsewhere.
        let r = [l(0, 2000, "A"), l(1000, 3000, "B")];
        let h = [l(0, 3000, "x")];
        let d = der(&r, &h);
        assert!((d.scored_s - 4.0).abs() < 1e-9);
        assert!((d.missed - 1.0 / 4.0).abs() < 1e-9, "{d:?}");
        assert!((d.confusion - 1.0 / 4.0).abs() < 1e-9, "{d:?}");
        assert_eq!(d.false_alarm, 0.0);
        // More hypothesis than reference speakers: the extra one is all confusion/false alarm.
        let h2 = [l(0, 2000, "p"), l(1000, 3000, "q"), l(3000, 4000, "z")];
        let d2 = der(&r, &h2);
        assert!((d2.der - 1.0 / 4.0).abs() < 1e-9, "{d2:?}");
        let m = mapping(&r, &h2);
        assert!(m.contains(&("p".into(), Some("A".into()))) && m.contains(&("z".into(), None)), "{m:?}");
    }

    #[test]
    fn rttm_round_trips_and_bad_lines_are_named() {
        let t = [l(1500, 2750, "S1"), l(3000, 4000, "Ann Lee")];
        let text = to_rttm("my file", &t);
        assert!(text.starts_with("SPEAKER my_file 1 1.500 1.250 <NA> <NA> S1 <NA> <NA>\n"), "{text}");
        let back = parse_rttm(&text, Some("my_file")).unwrap();
        assert_eq!(back[0], t[0]);
        assert_eq!(back[1].speaker, "Ann_Lee");
        assert!(parse_rttm(&text, Some("other")).unwrap().is_empty());
        let e = parse_rttm("SPEAKER f 1 abc 1.0 <NA> <NA> A <NA> <NA>", None).unwrap_err();
        assert_eq!(e.code(), "invalid_rttm");
    }
}
