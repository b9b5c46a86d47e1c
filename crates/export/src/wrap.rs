//! Line breaking for text that mixes scripts written with spaces (Latin) and without (Chinese,
//! Japanese): Latin breaks only at spaces, CJK between any two characters, closing punctuation
//! never starts a line, and a word longer than a line is cut by characters.

use tingji_transcript::is_cjk;

/// Punctuation that must stay on the line of the character before it.
fn closes(c: char) -> bool {
    matches!(
        c,
        '，' | '。' | '、' | '；' | '：' | '？' | '！' | '）' | '」' | '』' | '》' | '〉' | '】' | '”' | '’' | '…'
            | ',' | '.' | ';' | ':' | '?' | '!' | ')' | ']' | '}' | '%'
    )
}

/// Breakable units: (text, preceded by whitespace).
fn units(text: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut space = false;
    let mut cur = String::new();
    let mut cur_space = false;
    let flush = |cur: &mut String, cur_space: bool, out: &mut Vec<(String, bool)>| {
        if !cur.is_empty() {
            out.push((std::mem::take(cur), cur_space));
        }
    };
    for c in text.chars() {
        if c.is_whitespace() {
            flush(&mut cur, cur_space, &mut out);
            space = true;
            continue;
        }
        if closes(c) && !space {
            // Glue to what is before it (the current unit, or the last one).
            if !cur.is_empty() {
                cur.push(c);
            } else if let Some(last) = out.last_mut() {
                last.0.push(c);
            } else {
                cur.push(c);
                cur_space = space;
            }
            continue;
        }
        if is_cjk(c) {
            flush(&mut cur, cur_space, &mut out);
            cur.push(c);
            cur_space = space;
            flush(&mut cur, cur_space, &mut out);
        } else {
            if cur.is_empty() {
                cur_space = space;
            } else if cur.chars().last().is_some_and(is_cjk) {
                flush(&mut cur, cur_space, &mut out);
                cur_space = space;
            }
            cur.push(c);
        }
        space = false;
    }
    flush(&mut cur, cur_space, &mut out);
    out
}

/// Breaks `text` into lines no wider than `max` by `width` (a unit of text → its width).
/// Whitespace runs become single spaces; no line is empty.
pub(crate) fn wrap(text: &str, max: f32, width: &dyn Fn(&str) -> f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for (unit, spaced) in units(text) {
        let sep = if spaced && !line.is_empty() { " " } else { "" };
        let candidate = format!("{line}{sep}{unit}");
        if line.is_empty() || width(&candidate) <= max {
            line = candidate;
        } else {
            lines.push(std::mem::take(&mut line));
            line = unit;
        }
        // A unit wider than a whole line is cut by characters.
        while width(&line) > max && line.chars().count() > 1 {
            let mut head = String::new();
            let mut rest = line.chars().peekable();
            while let Some(&c) = rest.peek() {
                let mut next = head.clone();
                next.push(c);
                if !head.is_empty() && width(&next) > max {
                    break;
                }
                head = next;
                rest.next();
            }
            lines.push(head);
            line = rest.collect();
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> f32 {
        s.chars().count() as f32
    }

    #[test]
    fn latin_breaks_at_spaces_cjk_anywhere_punctuation_stays() {
        assert_eq!(wrap("ask not what your country", 10.0, &chars), ["ask not", "what your", "country"]);
        assert_eq!(wrap("广州市房地产中介协会分析", 5.0, &chars), ["广州市房地", "产中介协会", "分析"]);
        // "，" never starts a line: it stays with 地 even if that makes the line one wider.
        let l = wrap("广州市房地，产中介", 5.0, &chars);
        assert!(l.iter().all(|l| !l.starts_with('，')), "{l:?}");
        assert_eq!(l.concat(), "广州市房地，产中介");
        assert_eq!(wrap("我用Rust写代码", 4.0, &chars), ["我用", "Rust", "写代码"]);
        assert_eq!(wrap("abcdefghij", 4.0, &chars), ["abcd", "efgh", "ij"]);
        assert!(wrap("   ", 4.0, &chars).is_empty());
    }
}
