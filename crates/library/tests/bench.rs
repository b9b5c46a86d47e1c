//! Search latency over a library of 1,000 meetings × 60 segments of mixed English and Chinese
//! text (the requirement: p95 ≤ 50 ms). Run with `cargo test --release`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use tingji_library::*;

const MEETINGS: usize = 1000;
const SEGMENTS: usize = 60;

const EN_EXTRA: &[&str] = &[
    "budget",
    "meeting",
    "project",
    "deadline",
    "customer",
    "release",
    "review",
    "quarter",
    "hiring",
    "design",
    "roadmap",
    "feedback",
    "database",
    "migration",
    "search",
    "latency",
    "marketing",
    "sales",
    "contract",
    "invoice",
    "schedule",
    "priority",
    "risk",
    "team",
    "launch",
    "metrics",
    "revenue",
    "support",
    "ticket",
    "the",
    "and",
    "we",
    "will",
    "to",
    "of",
    "a",
    "is",
    "that",
    "for",
    "on",
    "this",
    "next",
    "week",
];

struct Corpus {
    en_words: Vec<String>,
    zh_words: Vec<String>,
}

impl Corpus {
    fn new() -> Corpus {
        let refs = references();
        let mut en_words: Vec<String> = refs
            .iter()
            .filter(|(l, _)| l == "en")
            .flat_map(|(_, t)| {
                t.split_whitespace()
                    .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_string())
            })
            .filter(|w| !w.is_empty())
            .collect();
        en_words.extend(EN_EXTRA.iter().map(|s| s.to_string()));
        // Chinese "words": the zh reference lines cut into 2- and 3-character pieces.
        let mut zh_words = Vec::new();
        for (l, t) in refs.iter().filter(|(l, _)| l == "zh") {
            let _ = l;
            let chars: Vec<char> = t.chars().collect();
            let mut i = 0;
            while i + 1 < chars.len() {
                let n = if i % 3 == 0 { 3 } else { 2 }.min(chars.len() - i);
                zh_words.push(chars[i..i + n].iter().collect());
                i += n;
            }
        }
        Corpus { en_words, zh_words }
    }

    fn segment(&self, rng: &mut Rng) -> String {
        if rng.below(2) == 0 {
            let n = 8 + rng.below(10);
            let words: Vec<&str> = (0..n)
                .map(|_| self.en_words[rng.below(self.en_words.len())].as_str())
                .collect();
            let mut s = words.join(" ");
            s.push('.');
            s
        } else {
            let n = 5 + rng.below(8);
            let mut s: String = (0..n)
                .map(|_| self.zh_words[rng.below(self.zh_words.len())].as_str())
                .collect();
            s.push('。');
            s
        }
    }
}

fn build_library(root: &Path) -> (Library, Duration) {
    let corpus = Corpus::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut lib = Library::open(root).unwrap();
    let start = Instant::now();
    let folders = ["Work", "Personal", "Clients"];
    for m in 0..MEETINGS {
        let texts: Vec<String> = (0..SEGMENTS).map(|_| corpus.segment(&mut rng)).collect();
        let segs: Vec<(u64, u64, &str, Option<&str>)> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (
                    i as u64 * 5000,
                    i as u64 * 5000 + 4500,
                    t.as_str(),
                    Some(["S1", "S2", "S3"][i % 3]),
                )
            })
            .collect();
        let t = transcript(if m % 2 == 0 { "en" } else { "zh" }, &segs);
        let tags = vec![format!("t{}", m % 10)];
        let title = format!("Meeting {m}");
        lib.import_meeting_with(
            &t,
            None,
            &NewMeeting {
                title: Some(&title),
                folder: Some(folders[m % 3]),
                tags: &tags,
                created_at: Some(1_700_000_000_000 + m as i64 * 3_600_000),
                ..Default::default()
            },
        )
        .unwrap();
    }
    (lib, start.elapsed())
}

const QUERIES: &[&str] = &[
    // common and rarer English words, prefixes, phrases, several terms
    "country",
    "Americans",
    "budget",
    "the",
    "we",
    "deadline",
    "cotton",
    "sorrow",
    "amiable",
    "respectable",
    "fellow Americans",
    "\"ask not\"",
    "helmet",
    "Houston",
    "clubs",
    "forward",
    "meters",
    "wizard",
    "horizon",
    "review budget",
    "migrat",
    "lat",
    "revenue",
    "ticket support",
    "dashwood",
    "selfish",
    "fantasy dreams",
    // two-character Chinese words, longer phrases, mixed
    "协会",
    "跑步",
    "销售",
    "商场",
    "业绩",
    "健康",
    "滨海",
    "交易",
    "停滞",
    "知道",
    "体验",
    "模型",
    "中介",
    "房地产",
    "广州市",
    "语音识别",
    "身体健康",
    "达摩院推出",
    "汇报一下",
    "首先 商场",
    "经理",
    "新区",
    "部门",
    "budget 协会",
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[test]
fn search_1000_meetings_p95() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, build) = build_library(dir.path());
    let db_mb = std::fs::metadata(dir.path().join(DB_FILE)).unwrap().len() as f64 / 1e6;
    println!("built {MEETINGS} meetings x {SEGMENTS} segments in {build:?} ({db_mb:.1} MB + WAL)");
    let filter = Filter::default();
    // Warm up (first query pays for opening pages).
    for q in QUERIES {
        lib.search(q, &filter, 50).unwrap();
    }
    let mut times = Vec::new();
    let mut total_hits = 0;
    for q in QUERIES {
        let t = Instant::now();
        let hits = lib.search(q, &filter, 50).unwrap();
        let el = t.elapsed();
        total_hits += hits.len();
        times.push(el);
        if el > Duration::from_millis(20) {
            println!("  slow query {q:?}: {el:?} ({} hits)", hits.len());
        }
    }
    // Filtered searches too.
    for q in ["协会", "budget", "country"] {
        let f = Filter {
            folder: Some("Work".into()),
            tag: Some("t3".into()),
            ..Default::default()
        };
        let t = Instant::now();
        lib.search(q, &f, 50).unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    let (p50, p95, max) = (
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        *times.last().unwrap(),
    );
    println!(
        "search over {} queries: p50 {p50:?}, p95 {p95:?}, max {max:?}; {total_hits} hits",
        times.len()
    );
    assert!(total_hits > 0);
    for q in ["协会", "跑步", "country"] {
        assert!(
            !lib.search(q, &filter, 5).unwrap().is_empty(),
            "{q} finds something"
        );
    }
    // Listing the whole library is fast too.
    let t = Instant::now();
    assert_eq!(lib.list(&Filter::default()).unwrap().len(), MEETINGS);
    println!("list of {MEETINGS} meetings: {:?}", t.elapsed());
    // The requirement is for release builds; a debug build (opt-level 1) gets some slack.
    let bound = Duration::from_millis(if cfg!(debug_assertions) { 150 } else { 50 });
    assert!(p95 <= bound, "p95 {p95:?} > {bound:?}");
}

/// The measurement behind the choice of index (run with `--ignored --nocapture`): the same corpus
/// searched through (a) our unigram-CJK phrase index, (b) an FTS5 `trigram` index with a `LIKE`
/// scan for queries under 3 characters, (c) `LIKE` alone.
#[test]
#[ignore]
fn compare_search_strategies() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, _) = build_library(dir.path());
    let c = lib.connection();
    let t = Instant::now();
    c.execute_batch(
        "CREATE VIRTUAL TABLE tri USING fts5(text, content='segments', content_rowid='id', tokenize='trigram');
         INSERT INTO tri(tri) VALUES ('rebuild');",
    )
    .unwrap();
    println!("trigram index built in {:?}", t.elapsed());
    let words = [
        "协会",
        "跑步",
        "销售",
        "健康",
        "country",
        "budget",
        "房地产",
        "语音识别",
        "the",
        "we",
    ];
    let run = |name: &str, f: &dyn Fn(&str) -> usize| {
        let mut times = Vec::new();
        for w in words {
            f(w);
            let t = Instant::now();
            let n = f(w);
            times.push(t.elapsed());
            println!("  {name:8} {w:10} {n:6} rows {:?}", times.last().unwrap());
        }
        times.sort();
        println!(
            "{name}: p50 {:?}, max {:?}",
            percentile(&times, 0.5),
            times.last().unwrap()
        );
    };
    let count = |sql: &str, arg: String| -> usize {
        c.prepare_cached(sql)
            .unwrap()
            .query_map([arg], |_| Ok(()))
            .unwrap()
            .count()
    };
    run("library", &|w| {
        lib.search(w, &Filter::default(), 100_000).unwrap().len()
    });
    run("unigram", &|w| {
        let phrase = fold_for_search(w);
        count(
            "SELECT rowid FROM segments_fts WHERE segments_fts MATCH ?1",
            format!("\"{phrase}\""),
        )
    });
    run("trigram", &|w| {
        if w.chars().count() >= 3 {
            count(
                "SELECT rowid FROM tri WHERE tri MATCH ?1",
                format!("\"{w}\""),
            )
        } else {
            count(
                "SELECT id FROM segments WHERE text LIKE ?1",
                format!("%{w}%"),
            )
        }
    });
    run("like", &|w| {
        count(
            "SELECT id FROM segments WHERE text LIKE ?1",
            format!("%{w}%"),
        )
    });
}
