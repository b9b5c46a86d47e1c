//! Echo: without headphones the microphone also hears the far side of a call, a little later
//! and quieter. Those words are the remote speaker's, already on the system channel; on the
//! mic channel they would be a second, wrong "me" line.
//!
//! Each mic word (or a wordless mic segment) is compared with the system channel up to
//! [`MAX_DELAY_MS`] earlier: normalised cross-correlation, coarse on 4× decimated audio, then
//! exact. A word whose audio is the system audio delayed (correlation ≥ [`THRESHOLD`]) and not
//! louder than it is echo and is removed, as is one that correlates weakly but that the system
//! channel said just before; speech over the echo (double talk) correlates far less and stays. The recording is streamed once; memory holds a word and the delay.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tingji_media::{AudioStream, ChannelMode, DecodeOptions};
use tingji_transcript::{Segment, Transcript};

use crate::DiarizeError;
use crate::attribute::join_words;

/// The longest loudspeaker-to-microphone delay looked for (ms).
pub const MAX_DELAY_MS: u64 = 400;
/// Correlation from which mic audio counts as the system audio coming back.
pub const THRESHOLD: f64 = 0.6;
/// A weaker correlation still counts when the system channel has the same word just before:
/// a word's span often runs into the silence after it, which dilutes the correlation.
const SAME_WORD_THRESHOLD: f64 = 0.25;
/// Shortest span compared (ms): a shorter word is widened around its middle.
const MIN_SPAN_MS: u64 = 240;
const RATE: u64 = 16;

/// What [`remove_echo`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EchoReport {
    /// Mic words (or wordless segments) removed as echo.
    pub removed: usize,
    /// Mic segments left with nothing.
    pub segments_removed: usize,
    /// The median delay of the echo found (ms).
    pub delay_ms: Option<f64>,
}

/// A mic word to check: where it is in the transcript and its span (samples).
struct Item {
    seg: usize,
    word: Option<usize>,
    start: u64,
    end: u64,
    /// The word, lower-case letters and digits only.
    text: String,
}

fn norm(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

fn ncc(a: &[f32], b: &[f32]) -> f64 {
    let (mut xy, mut xx, mut yy) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (*x as f64, *y as f64);
        xy += x * y;
        xx += x * x;
        yy += y * y;
    }
    if xx == 0.0 || yy == 0.0 { 0.0 } else { xy / (xx * yy).sqrt() }
}

fn rms(v: &[f32]) -> f64 {
    (v.iter().map(|x| (*x as f64) * (*x as f64)).sum::<f64>() / v.len().max(1) as f64).sqrt()
}

fn decimate(v: &[f32]) -> Vec<f32> {
    v.chunks(4).map(|c| c.iter().sum::<f32>() / c.len() as f32).collect()
}

/// Best correlation of `mic` with `sys` (which starts `max` samples before `mic` and ends with
/// it) and its delay in samples.
fn best_delay(mic: &[f32], sys: &[f32], max: usize) -> (f64, usize) {
    let (md, sd) = (decimate(mic), decimate(sys));
    let mut coarse = (f64::MIN, 0usize);
    for lag in 0..=max / 4 {
        let from = max / 4 - lag;
        if from + md.len() > sd.len() {
            continue;
        }
        let c = ncc(&md, &sd[from..from + md.len()]);
        if c > coarse.0 {
            coarse = (c, lag * 4);
        }
    }
    let mut fine = (f64::MIN, coarse.1);
    for lag in coarse.1.saturating_sub(4)..=(coarse.1 + 4).min(max) {
        let from = max - lag;
        let c = ncc(mic, &sys[from..from + mic.len()]);
        if c > fine.0 {
            fine = (c, lag);
        }
    }
    fine
}

/// Removes from `t` the words on channel `mic` that are channel `system` coming back (see the
/// module doc). `path` is the recording `t` was transcribed from.
pub fn remove_echo(path: &Path, t: &mut Transcript, mic: u16, system: u16, cancel: &Arc<AtomicBool>) -> Result<EchoReport, DiarizeError> {
    let span = |a: u64, b: u64| -> (u64, u64) {
        let (a, b) = (a * RATE, b.max(a) * RATE);
        let min = MIN_SPAN_MS * RATE;
        if b - a >= min {
            (a, b)
        } else {
            let from = ((a + b) / 2).saturating_sub(min / 2);
            (from, from + min)
        }
    };
    let mut items: Vec<Item> = Vec::new();
    for (si, s) in t.segments.iter().enumerate().filter(|(_, s)| s.channel == Some(mic)) {
        if s.words.is_empty() {
            let (start, end) = span(s.start_ms, s.end_ms);
            items.push(Item { seg: si, word: None, start, end, text: String::new() });
        }
        for (wi, w) in s.words.iter().enumerate() {
            let (start, end) = span(w.start_ms, w.end_ms);
            items.push(Item { seg: si, word: Some(wi), start, end, text: norm(&w.text) });
        }
    }
    // The system channel's words: (start, end) in ms and text.
    let far: Vec<(u64, u64, String)> = t
        .segments
        .iter()
        .filter(|s| s.channel == Some(system))
        .flat_map(|s| s.words.iter().map(|w| (w.start_ms, w.end_ms, norm(&w.text))))
        .collect();
    let said_before = |it: &Item| {
        let (a, b) = (it.start / RATE, it.end / RATE);
        !it.text.is_empty() && far.iter().any(|(s, e, w)| *w == it.text && *s + MAX_DELAY_MS + 1000 >= a && *e <= b + 200)
    };
    items.sort_by_key(|i| i.start);
    let mut report = EchoReport::default();
    if items.is_empty() {
        return Ok(report);
    }
    let opts = DecodeOptions { channels: ChannelMode::Separate, ..Default::default() };
    let mut stream = AudioStream::open(path, &opts)?;
    let max = (MAX_DELAY_MS * RATE) as usize;
    let (mut mbuf, mut sbuf): (Vec<f32>, Vec<f32>) = (Vec::new(), Vec::new());
    // Sample index of the buffers' first sample.
    let mut base: u64 = 0;
    let mut echo: Vec<(usize, Option<usize>)> = Vec::new();
    let mut delays: Vec<f64> = Vec::new();
    let mut next = 0;
    let mut eof = false;
    while next < items.len() {
        if cancel.load(Ordering::Relaxed) {
            return Err(DiarizeError::Cancelled);
        }
        let buffered = base + mbuf.len() as u64;
        let it = &items[next];
        if it.end > buffered && !eof {
            match stream.next_chunk()? {
                Some(c) => {
                    let (Some(m), Some(s)) = (c.channels.get(mic as usize), c.channels.get(system as usize)) else {
                        return Ok(report);
                    };
                    mbuf.extend_from_slice(m);
                    sbuf.extend_from_slice(s);
                }
                None => eof = true,
            }
            continue;
        }
        let end = it.end.min(buffered);
        if end > it.start + 1600 && it.start >= base + max as u64 {
            let (a, b) = ((it.start - base) as usize, (end - base) as usize);
            let m = &mbuf[a..b];
            let s = &sbuf[a - max..b];
            let (c, lag) = best_delay(m, s, max);
            let louder = rms(&s[max - lag..max - lag + m.len()]) * 2.0 >= rms(m);
            let echoed = (c >= THRESHOLD && louder) || (c >= SAME_WORD_THRESHOLD && said_before(it));
            if echoed && rms(m) > 1e-4 {
                echo.push((it.seg, it.word));
                delays.push(lag as f64 / RATE as f64);
            }
        }
        next += 1;
        // Keep what the next word (and its delay) needs.
        let keep_from = items.get(next).map_or(buffered, |i| i.start.min(buffered)).saturating_sub(max as u64);
        if keep_from > base {
            let cut = ((keep_from - base) as usize).min(mbuf.len());
            mbuf.drain(..cut);
            sbuf.drain(..cut);
            base += cut as u64;
        }
    }
    delays.sort_by(f64::total_cmp);
    report.delay_ms = delays.get(delays.len() / 2).copied();
    report.removed = echo.len();
    drop_items(t, &echo, &mut report);
    Ok(report)
}

/// Takes the echo words out of their segments; a segment left without words goes.
fn drop_items(t: &mut Transcript, echo: &[(usize, Option<usize>)], report: &mut EchoReport) {
    let mut out: Vec<Segment> = Vec::with_capacity(t.segments.len());
    for (si, mut s) in std::mem::take(&mut t.segments).into_iter().enumerate() {
        if echo.contains(&(si, None)) {
            report.segments_removed += 1;
            continue;
        }
        let gone: Vec<usize> = echo.iter().filter(|(e, _)| *e == si).filter_map(|(_, w)| *w).collect();
        if gone.is_empty() {
            out.push(s);
            continue;
        }
        let words: Vec<_> = s.words.iter().enumerate().filter(|(i, _)| !gone.contains(i)).map(|(_, w)| w.clone()).collect();
        if words.is_empty() {
            report.segments_removed += 1;
            continue;
        }
        s.start_ms = words[0].start_ms;
        s.end_ms = words[words.len() - 1].end_ms;
        s.text = join_words(&words);
        s.words = words;
        out.push(s);
    }
    t.segments = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic speech-like noise (an LCG through a short smoothing filter).
    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut x = seed;
        let mut prev = 0.0f32;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let v = ((x >> 33) as f32 / (1u64 << 31) as f32) - 0.5;
                prev = 0.6 * prev + 0.4 * v;
                prev
            })
            .collect()
    }

    #[test]
    fn a_delayed_quieter_copy_is_found_at_its_delay_and_double_talk_is_not() {
        let max = (MAX_DELAY_MS * RATE) as usize;
        let sys = noise(max + 8000, 1);
        // The mic hears the system 40 ms later at a quarter of the amplitude (−12 dB).
        let delay = 640;
        let echo: Vec<f32> = sys[max - delay..max - delay + 8000].iter().map(|x| x * 0.25).collect();
        let (c, lag) = best_delay(&echo, &sys, max);
        assert!(c > 0.99 && lag == delay, "{c} at {lag}");
        // The user talking over the echo (double talk): far below the threshold.
        let voice = noise(8000, 2);
        let both: Vec<f32> = echo.iter().zip(&voice).map(|(e, v)| e + v).collect();
        let (c, _) = best_delay(&both, &sys, max);
        assert!(c < THRESHOLD, "double talk correlates {c}");
    }

    #[test]
    fn echo_words_leave_their_segment_and_an_emptied_segment_goes() {
        let w = |a: u64, text: &str| tingji_transcript::Word { start_ms: a, end_ms: a + 300, text: text.into(), p: 0.9 };
        let seg = |words: Vec<tingji_transcript::Word>| Segment {
            start_ms: words[0].start_ms,
            end_ms: words[words.len() - 1].end_ms,
            text: join_words(&words),
            channel: Some(0),
            speaker: None,
            words,
        };
        let mut t = crate::attribute::tests::transcript(vec![
            seg(vec![w(0, " ask"), w(400, " not")]),
            seg(vec![w(1000, " my"), w(1400, " own"), w(1800, " words")]),
        ]);
        let mut r = EchoReport::default();
        drop_items(&mut t, &[(0, Some(0)), (0, Some(1)), (1, Some(0))], &mut r);
        assert_eq!(r.segments_removed, 1);
        assert_eq!(t.segments.len(), 1);
        assert_eq!((t.segments[0].text.as_str(), t.segments[0].start_ms), ("own words", 1400));
    }
}
