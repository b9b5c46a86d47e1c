//! Text-level guards: building words from tokens, repetition-loop detection, Chinese script.

use tingji_transcript::{Script, Word, is_cjk};

use crate::engine::RawToken;

fn is_punct(s: &str) -> bool {
    !s.trim().is_empty() && s.trim().chars().all(|c| c.is_ascii_punctuation() || "，。！？、；：“”‘’（）《》…—".contains(c))
}

/// Groups tokens into words with the tokens' own timestamps (no interpolation).
/// A word starts at a token with a leading space, and every CJK character is its own word.
/// Token bytes are joined before decoding, so a character split across tokens survives.
pub fn words_from_tokens(tokens: &[RawToken], offset: impl Fn(u64) -> u64) -> Vec<Word> {
    struct Acc {
        bytes: Vec<u8>,
        start: u64,
        end: u64,
        ps: Vec<f32>,
    }
    let mut words: Vec<Word> = Vec::new();
    let mut cur: Option<Acc> = None;
    let finish = |acc: Acc, words: &mut Vec<Word>| {
        let text = String::from_utf8_lossy(&acc.bytes).into_owned();
        if text.trim().is_empty() {
            return;
        }
        let p = acc.ps.iter().sum::<f32>() / acc.ps.len().max(1) as f32;
        words.push(Word { start_ms: acc.start, end_ms: acc.end.max(acc.start), text, p });
    };
    for t in tokens {
        let tok_text = std::str::from_utf8(&t.bytes).ok();
        let boundary = match (&cur, tok_text) {
            (None, _) => true,
            (Some(_), None) => false, // partial UTF-8: continues the current word
            (Some(acc), Some(tt)) => {
                let cur_text = std::str::from_utf8(&acc.bytes).ok();
                match cur_text {
                    None => false, // current word is mid-character
                    Some(ct) => {
                        if is_punct(tt) {
                            false
                        } else {
                            tt.starts_with(' ')
                                || tt.chars().next().is_some_and(is_cjk)
                                || ct.chars().last().is_some_and(|c| is_cjk(c) && !is_punct(&c.to_string()))
                        }
                    }
                }
            }
        };
        if boundary && let Some(acc) = cur.take() {
            finish(acc, &mut words);
        }
        let acc = cur.get_or_insert_with(|| Acc { bytes: Vec::new(), start: offset(t.start_ms), end: offset(t.start_ms), ps: Vec::new() });
        acc.bytes.extend_from_slice(&t.bytes);
        acc.end = offset(t.end_ms);
        acc.ps.push(t.p);
    }
    if let Some(acc) = cur {
        finish(acc, &mut words);
    }
    // CJK text has no spaces; strip a leading space of Latin words only where a segment starts.
    words
}

/// Units for loop detection: words for space-separated text, characters for CJK.
fn units(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if is_cjk(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if !is_punct(&c.to_string()) {
                out.push(c.to_string());
            }
        } else if c.is_whitespace() || c.is_ascii_punctuation() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        } else {
            word.extend(c.to_lowercase());
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Detects a repetition loop: some n-gram (n ≤ 10) repeated back to back so often that it
/// covers at least `min_units` units and repeats at least 4 times (n = 1: 6 times).
pub fn has_repetition_loop(text: &str) -> bool {
    let u = units(text);
    let min_units = 12;
    for n in 1..=10usize {
        if u.len() < n * 4 {
            break;
        }
        let need = if n == 1 { 6 } else { 4 };
        let mut run = 1;
        let mut i = n;
        while i + n <= u.len() {
            if u[i..i + n] == u[i - n..i] {
                run += 1;
                if run >= need && run * n >= min_units.min(need * n) {
                    return true;
                }
                i += n;
            } else {
                run = 1;
                i += 1;
            }
        }
    }
    false
}

/// Converts Chinese text to the chosen script.
pub fn to_script(text: &str, script: Script) -> String {
    match script {
        Script::AsIs => text.to_string(),
        Script::Simplified => zhconv::zhconv(text, zhconv::Variant::ZhHans),
        Script::Traditional => zhconv::zhconv(text, zhconv::Variant::ZhHant),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(s: &[u8], a: u64, b: u64) -> RawToken {
        RawToken { bytes: s.to_vec(), start_ms: a, end_ms: b, p: 0.9 }
    }

    #[test]
    fn latin_words_follow_spaces() {
        let t = [tok(b" And", 0, 100), tok(b" so", 100, 300), tok(b" my", 300, 400), tok(b" fel", 400, 500), tok(b"low", 500, 700), tok(b",", 700, 700)];
        let w = words_from_tokens(&t, |x| x + 1000);
        let texts: Vec<&str> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, [" And", " so", " my", " fellow,"]);
        assert_eq!(w[3].start_ms, 1400);
        assert_eq!(w[3].end_ms, 1700);
    }

    #[test]
    fn cjk_split_bytes_rejoined() {
        let s = "广州市".as_bytes();
        // "广" split over two tokens
        let t = [tok(&s[0..2], 0, 50), tok(&s[2..3], 50, 100), tok(&s[3..9], 100, 300), tok("。".as_bytes(), 300, 310)];
        let w = words_from_tokens(&t, |x| x);
        let texts: Vec<&str> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["广", "州市。"]);
    }

    #[test]
    fn loops_detected() {
        assert!(has_repetition_loop("I think so. I think so. I think so. I think so. I think so."));
        assert!(has_repetition_loop("好的好的好的好的好的好的好的"));
        assert!(has_repetition_loop("the the the the the the the"));
        assert!(!has_repetition_loop("And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."));
        assert!(!has_repetition_loop("one two three, one two three"));
        assert!(!has_repetition_loop("我认为跑步最重要的就是给我带来了身体健康"));
    }

    #[test]
    fn script_conversion() {
        assert_eq!(to_script("廣州市房地產", Script::Simplified), "广州市房地产");
        assert_eq!(to_script("广州", Script::Traditional), "廣州");
        assert_eq!(to_script("廣州", Script::AsIs), "廣州");
    }
}
