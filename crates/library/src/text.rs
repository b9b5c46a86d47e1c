//! Search tokenisation shared by the index (through the `tingji_fold` SQL function) and the query
//! and snippet code, so that what is indexed, what is asked and what is highlighted agree.
//!
//! Rules:
//! - Han ideographs, kana and hangul are indexed one character per token. A query word in those
//!   scripts becomes an FTS5 *phrase* of its characters, which matches exactly where the
//!   characters stand next to each other: substring search, for words of any length (a
//!   two-character word such as 协会 works; FTS5's trigram tokenizer cannot match it).
//! - Any other run of alphanumeric characters is one token, lower-cased (`char::to_lowercase`).
//! - Everything else (spaces, punctuation, CJK punctuation) separates tokens.
//!
//! The folded text is the tokens joined by single spaces; the index uses FTS5's `ascii`
//! tokenizer, which splits on ASCII spaces and punctuation and keeps every non-ASCII character as
//! a token character, so it splits the folded text exactly into these tokens.

/// One token of a text: its byte range in the original text and its folded form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub cjk: bool,
}

/// Scripts written without spaces between words: each character is its own token.
fn is_unspaced_letter(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x31F0..=0x31FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF |
        0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0x20000..=0x323AF)
        && c.is_alphanumeric()
}

pub(crate) fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut run: Option<(usize, String)> = None;
    for (i, c) in text.char_indices() {
        if is_unspaced_letter(c) {
            if let Some((s, t)) = run.take() {
                out.push(Token {
                    start: s,
                    end: i,
                    text: t,
                    cjk: false,
                });
            }
            out.push(Token {
                start: i,
                end: i + c.len_utf8(),
                text: c.to_string(),
                cjk: true,
            });
        } else if c.is_alphanumeric() {
            let r = run.get_or_insert_with(|| (i, String::new()));
            r.1.extend(c.to_lowercase());
        } else if let Some((s, t)) = run.take() {
            out.push(Token {
                start: s,
                end: i,
                text: t,
                cjk: false,
            });
        }
    }
    if let Some((s, t)) = run.take() {
        out.push(Token {
            start: s,
            end: text.len(),
            text: t,
            cjk: false,
        });
    }
    out
}

/// The text as stored in the full-text index.
pub fn fold(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + text.len() / 2);
    for t in tokens(text) {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(&t.text);
    }
    s
}

/// One term of a query: consecutive tokens; the last one may match as a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    pub tokens: Vec<String>,
    pub prefix: bool,
}

/// Shortest Latin word matched as a prefix ("meet" finds "meeting"); shorter ones match whole.
const PREFIX_MIN_CHARS: usize = 3;

/// Splits a user query into terms: `"quoted text"` is an exact phrase; every other
/// whitespace-separated word is a phrase of its tokens whose last Latin token matches as a prefix.
pub(crate) fn parse_query(query: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    let mut rest = query;
    while !rest.is_empty() {
        rest = rest.trim_start();
        if let Some(q) = rest.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            push_term(&mut terms, &q[..end], false);
            rest = q.get(end + 1..).unwrap_or("");
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(rest.len());
            push_term(&mut terms, &rest[..end], true);
            rest = &rest[end..];
        }
    }
    terms
}

fn push_term(terms: &mut Vec<Term>, text: &str, allow_prefix: bool) {
    let toks = tokens(text);
    if toks.is_empty() {
        return;
    }
    let last = toks.last().expect("non-empty");
    let prefix = allow_prefix && !last.cjk && last.text.chars().count() >= PREFIX_MIN_CHARS;
    let term = Term {
        tokens: toks.into_iter().map(|t| t.text).collect(),
        prefix,
    };
    if !terms.contains(&term) {
        terms.push(term);
    }
}

/// The FTS5 MATCH expression for parsed terms (all terms must match), or `None` when the query
/// has no searchable token. Tokens are alphanumeric only, so quoting them is always safe.
pub(crate) fn match_expr(terms: &[Term]) -> Option<String> {
    if terms.is_empty() {
        return None;
    }
    let parts: Vec<String> = terms
        .iter()
        .map(|t| {
            format!(
                "\"{}\"{}",
                t.tokens.join(" "),
                if t.prefix { "*" } else { "" }
            )
        })
        .collect();
    Some(parts.join(" AND "))
}

/// Byte ranges of `text` matched by the terms, merged and sorted.
pub(crate) fn match_ranges(text: &str, terms: &[Term]) -> Vec<(usize, usize)> {
    let toks = tokens(text);
    let mut ranges = Vec::new();
    for term in terms {
        let n = term.tokens.len();
        if n == 0 || n > toks.len() {
            continue;
        }
        for i in 0..=toks.len() - n {
            let ok = term.tokens.iter().enumerate().all(|(k, q)| {
                let t = &toks[i + k].text;
                if k == n - 1 && term.prefix {
                    t.starts_with(q.as_str())
                } else {
                    t == q
                }
            });
            if ok {
                ranges.push((toks[i].start, toks[i + n - 1].end));
            }
        }
    }
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// Characters of context kept on each side of the first match in a long segment.
const SNIPPET_CONTEXT: usize = 40;
/// Segments up to this many characters are shown whole.
const SNIPPET_WHOLE: usize = 120;

/// The segment text with every match wrapped in `[` `]`; long texts are cut to a window around
/// the first match, with `…` where text was left out.
pub(crate) fn snippet(text: &str, terms: &[Term]) -> String {
    let ranges = match_ranges(text, terms);
    let total = text.chars().count();
    let (from, to) = if total <= SNIPPET_WHOLE || ranges.is_empty() {
        if ranges.is_empty() && total > SNIPPET_WHOLE {
            (0, byte_at_char(text, SNIPPET_WHOLE))
        } else {
            (0, text.len())
        }
    } else {
        let (s, e) = ranges[0];
        let before = text[..s].chars().count();
        let from_char = before.saturating_sub(SNIPPET_CONTEXT);
        let from = byte_at_char(text, from_char);
        let after_end = text[e..]
            .char_indices()
            .nth(SNIPPET_CONTEXT)
            .map_or(text.len(), |(i, _)| e + i);
        let to = after_end.max(byte_at_char(text, (from_char + SNIPPET_WHOLE).min(total)));
        (from, to.min(text.len()))
    };
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut pos = from;
    for &(s, e) in &ranges {
        if e <= from || s >= to {
            continue;
        }
        let (s, e) = (s.max(from), e.min(to));
        out.push_str(&text[pos..s]);
        out.push('[');
        out.push_str(&text[s..e]);
        out.push(']');
        pos = e;
    }
    out.push_str(&text[pos..to]);
    if to < text.len() {
        out.push('…');
    }
    out
}

fn byte_at_char(text: &str, n: usize) -> usize {
    text.char_indices().nth(n).map_or(text.len(), |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_mixed_text() {
        assert_eq!(
            fold("广州市房地产中介协会分析"),
            "广 州 市 房 地 产 中 介 协 会 分 析"
        );
        assert_eq!(fold("我用Rust写, OK?"), "我 用 rust 写 ok");
        assert_eq!(
            fold("Ask not what your country can do"),
            "ask not what your country can do"
        );
        assert_eq!(fold("好，首先。"), "好 首 先");
        assert_eq!(fold("Apollo 11, Houston."), "apollo 11 houston");
        assert_eq!(fold(""), "");
    }

    #[test]
    fn query_terms_and_expression() {
        let t = parse_query("协会  Americans \"ask not\"");
        assert_eq!(
            match_expr(&t).unwrap(),
            "\"协 会\" AND \"americans\"* AND \"ask not\""
        );
        let t = parse_query("go 的");
        assert_eq!(match_expr(&t).unwrap(), "\"go\" AND \"的\"");
        assert!(match_expr(&parse_query(" ,. ")).is_none());
        assert!(match_expr(&parse_query("\"")).is_none());
    }

    #[test]
    fn snippets_highlight_the_match() {
        let t = parse_query("协会");
        assert_eq!(
            snippet("广州市房地产中介协会分析", &t),
            "广州市房地产中介[协会]分析"
        );
        let t = parse_query("countr");
        assert_eq!(
            snippet("ask what you can do for your country.", &t),
            "ask what you can do for your [country]."
        );
        let long = format!("{} needle {}", "a ".repeat(100), "b ".repeat(100));
        let s = snippet(&long, &parse_query("needle"));
        assert!(
            s.starts_with('…') && s.ends_with('…') && s.contains("[needle]"),
            "{s}"
        );
        assert!(s.chars().count() < 150, "{s}");
    }
}
