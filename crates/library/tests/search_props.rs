//! Library search under arbitrary queries (proptest): nothing a user can type reaches SQLite as
//! syntax, and the words of a stored line find it.

mod common;

use common::*;
use proptest::prelude::*;
use tingji_library::*;

/// Pieces of FTS5 query syntax and awkward text, mixed with arbitrary characters.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\"".to_string()),
        Just("NEAR(".to_string()),
        Just("col:".to_string()),
        Just("body:".to_string()),
        Just("*".to_string()),
        Just("^".to_string()),
        Just("-".to_string()),
        Just(" AND ".to_string()),
        Just(" OR ".to_string()),
        Just(" NOT ".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("\0".to_string()),
        Just("'".to_string()),
        Just("{".to_string()),
        Just("会议".to_string()),
        Just("e\u{301}".to_string()),
        Just("🎙".to_string()),
        "\\PC{0,6}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

/// A line as whisper might write it: Latin words, digits and Chinese, with punctuation.
fn line() -> impl Strategy<Value = String> {
    let word = prop_oneof!["[a-zA-Z]{1,9}", "[0-9]{1,4}", "[一-龥]{1,4}", "[a-zéü]{2,6}"];
    let sep = prop_oneof![Just(" "), Just(", "), Just("。"), Just("-"), Just(" \""), Just("'s ")];
    prop::collection::vec((word, sep), 1..12).prop_map(|v| v.into_iter().map(|(w, s)| format!("{w}{s}")).collect::<String>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_query_is_an_sqlite_error(q in hostile()) {
        let dir = tempfile::tempdir().unwrap();
        let mut lib = Library::open(dir.path()).unwrap();
        lib.import_meeting(&transcript("en", &[(0, 1000, "NEAR the col: \"quoted\" AND * ^ text 会议", None)]), None, Some("t")).unwrap();
        let r = lib.search(&q, &Filter::default(), 50);
        prop_assert!(r.is_ok(), "{q:?}: {r:?}");
    }

    /// Any run of whole words of a stored line finds it; so does a run whose last Latin word
    /// is cut after its third letter (prefix search), and any run of Chinese characters.
    #[test]
    fn the_words_of_a_line_find_it(text in line(), from in any::<prop::sample::Index>(), len in 1usize..6, cut in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let mut lib = Library::open(dir.path()).unwrap();
        let id = lib.import_meeting(&transcript("en", &[(0, 1000, &text, None)]), None, Some("t")).unwrap();
        lib.import_meeting(&transcript("en", &[(0, 1000, "unrelated words only", None)]), None, Some("u")).unwrap();
        let words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        prop_assume!(!words.is_empty());
        let a = from.index(words.len());
        let b = (a + len).min(words.len());
        let mut q: Vec<String> = words[a..b].iter().map(|w| w.to_string()).collect();
        if cut {
            let last = q.last_mut().expect("one word");
            let chars: Vec<char> = last.chars().collect();
            if chars.len() > 3 && chars.iter().all(|c| c.is_ascii_alphabetic()) {
                *last = chars[..3].iter().collect();
            }
        }
        let q = q.join(" ");
        let hits = lib.search(&q, &Filter::default(), 10).unwrap();
        prop_assert!(hits.iter().any(|h| h.meeting_id == id), "{q:?} did not find {text:?}: {hits:?}");
    }
}

#[test]
fn ten_thousand_terms_are_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = Library::open(dir.path()).unwrap();
    lib.import_meeting(&transcript("en", &[(0, 1000, "alpha beta", None)]), None, Some("t")).unwrap();
    let q: String = (0..10_000).map(|i| format!("w{i} ")).collect();
    assert!(lib.search(&q, &Filter::default(), 10).unwrap().is_empty());
    let q: String = std::iter::repeat_n("alpha ", 10_000).collect();
    assert_eq!(lib.search(&q, &Filter::default(), 10).unwrap().len(), 1);
}
