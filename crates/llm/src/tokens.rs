//! Token estimate for when the backend cannot count (cloud providers). It is deliberately
//! pessimistic — chunking with it must never overflow a context — and is checked against real
//! tokenizers in the notes tests (Qwen's BPE on English and Chinese transcripts).

/// Upper estimate of the tokens `text` costs: each CJK character (and other non-ASCII
/// character) one token, ASCII words one token per 3 characters (rounded up), punctuation one.
pub fn estimate(text: &str) -> usize {
    let mut n = 0usize;
    let mut word = 0usize;
    let flush = |word: &mut usize, n: &mut usize| {
        if *word > 0 {
            *n += word.div_ceil(3);
            *word = 0;
        }
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word += 1;
        } else {
            flush(&mut word, &mut n);
            if c.is_whitespace() {
                continue;
            }
            n += 1;
        }
    }
    flush(&mut word, &mut n);
    n
}

#[cfg(test)]
mod tests {
    use super::estimate;

    #[test]
    fn counts_words_cjk_and_punctuation() {
        assert_eq!(estimate(""), 0);
        assert_eq!(estimate("cat"), 1);
        assert_eq!(estimate("meeting"), 3);
        assert_eq!(estimate("we agreed, Bob."), 1 + 2 + 1 + 1 + 1);
        assert_eq!(estimate("明天开会"), 4);
    }
}
