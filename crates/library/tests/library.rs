//! The library through its public API on real files in a temporary folder.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use tingji_library::*;

fn open(dir: &Path) -> Library {
    Library::open(dir).unwrap()
}

fn jfk() -> String {
    reference("en", "fellow Americans")
}

#[test]
fn open_sets_pragmas_and_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let c = lib.connection();
    let q = |sql: &str| {
        c.query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0))
            .unwrap()
    };
    assert_eq!(
        q("PRAGMA journal_mode"),
        rusqlite::types::Value::Text("wal".into())
    );
    assert_eq!(q("PRAGMA foreign_keys"), rusqlite::types::Value::Integer(1));
    assert_eq!(
        q("PRAGMA synchronous"),
        rusqlite::types::Value::Integer(2),
        "FULL"
    );
    assert_eq!(
        q("PRAGMA user_version"),
        rusqlite::types::Value::Integer(SCHEMA_VERSION as i64)
    );
    assert!(dir.path().join("library.sqlite3").is_file());
    assert!(dir.path().join("media").is_dir());
    assert!(lib.check_integrity().unwrap().is_empty());
    drop(lib);
    // Reopening is a no-op migration.
    let lib = open(dir.path());
    assert!(lib.list(&Filter::default()).unwrap().is_empty());
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    lib.connection()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(lib);
    let err = Library::open(dir.path())
        .err()
        .expect("newer schema must be refused");
    assert_eq!(err.code(), "library_version");
}

#[test]
fn migration_from_v1_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        let lib = Library::open_at_version(dir.path(), 1).unwrap();
        let c = lib.connection();
        let v: u32 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 1);
        // Version 1 has no marks table and no updated_at yet.
        assert!(c.prepare("SELECT updated_at FROM meetings").is_err());
        c.execute_batch(
            r#"
            INSERT INTO meetings (id, title, created_at, duration_ms, source_kind, language, folder)
                VALUES (7, 'Budget review', 1700000000000, 11000, 'recorded', 'en', 'Work');
            INSERT INTO tags VALUES (7, 'finance');
            INSERT INTO speakers VALUES (7, 'S1', 'Alice');
            INSERT INTO transcript_versions (id, meeting_id, created_at, schema_version, source_json,
                language, language_probability, duration_ms, model, model_json, parameters, is_current)
                VALUES (3, 7, 1700000000000, 1,
                '{"path":"a.wav","container":"wav","codec":"pcm_s16le","sample_rate":16000,"channels":1}',
                'en', NULL, 11000, 'base', '{"name":"base","multilingual":true}',
                '{"language":"en","sampling":{"strategy":"greedy","best_of":5},"threads":2,"temperature":0.0,"temperature_inc":0.2,"vad":true,"separate_channels":false,"script":"simplified"}',
                1);
            INSERT INTO segments (version_id, idx, start_ms, end_ms, text, speaker)
                VALUES (3, 0, 0, 11000, 'And so my fellow Americans, ask not what your country can do for you.', 'S1');
            INSERT INTO action_items (meeting_id, text, owner, done) VALUES (7, 'approve budget', 'Alice', 0);
            INSERT INTO ai_notes (meeting_id, kind, json, model, prompt_version, created_at)
                VALUES (7, 'keywords', '["budget"]', 'qwen', '1', 1700000000000);
            "#,
        )
        .unwrap();
    }
    let mut lib = open(dir.path());
    let v: u32 = lib
        .connection()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    let m = lib.meeting(MeetingId(7)).unwrap();
    assert_eq!(m.summary.title, "Budget review");
    assert_eq!(
        m.summary.updated_at, 1_700_000_000_000,
        "migration 2 fills updated_at from created_at"
    );
    assert_eq!(m.summary.tags, vec!["finance"]);
    assert_eq!(m.summary.folder.as_deref(), Some("Work"));
    let t = m.transcript.unwrap();
    assert_eq!(t.segments.len(), 1);
    assert_eq!(t.segments[0].speaker.as_deref(), Some("Alice"));
    // Rows written before the upgrade are searchable and can be marked (a v2 table).
    let hits = lib.search("americans", &Filter::default(), 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].meeting_id, MeetingId(7));
    lib.add_mark(VersionId(3), 0, MarkKind::Key).unwrap();
    assert_eq!(lib.meeting(MeetingId(7)).unwrap().marks.len(), 1);
    // Action items and AI notes from v1 survive migrations 2 and 3.
    let items = lib.meeting(MeetingId(7)).unwrap().action_items;
    assert_eq!((items[0].text.as_str(), items[0].origin), ("approve budget", ActionOrigin::User));
    assert_eq!(lib.notes(MeetingId(7)).unwrap().unwrap().keywords, Some(vec!["budget".to_string()]));
    assert!(lib.check_integrity().unwrap().is_empty());
}

#[test]
fn import_keeps_transcript_media_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let src_dir = tempfile::tempdir().unwrap();
    let media = media_file(src_dir.path(), "standup.wav", 300_000);
    let before = sha256(&media);
    let mut lib = open(dir.path());
    let t = transcript(
        "en",
        &[
            (0, 4000, "Good morning everyone.", Some("S1")),
            (4000, 9000, &jfk(), Some("S2")),
        ],
    );
    let tags = vec![
        "daily".to_string(),
        " team ".to_string(),
        "daily".to_string(),
    ];
    let id = lib
        .import_meeting_with(
            &t,
            Some((&media, KeepAs::Copy)),
            &NewMeeting {
                folder: Some("Work"),
                tags: &tags,
                source_kind: Some(SourceKind::Recorded),
                ..Default::default()
            },
        )
        .unwrap();
    let m = lib.meeting(id).unwrap();
    assert_eq!(
        m.summary.title, "standup",
        "title defaults to the media file's stem"
    );
    assert_eq!(m.summary.source_kind, SourceKind::Recorded);
    assert_eq!(m.summary.tags, vec!["daily", "team"]);
    assert_eq!(m.summary.duration_ms, 9000);
    assert_eq!(m.summary.language.as_deref(), Some("en"));
    assert_eq!(
        m.transcript.as_ref(),
        Some(&t),
        "transcript rebuilt from rows is identical"
    );
    assert_eq!(m.speakers.len(), 2);
    assert_eq!(m.versions.len(), 1);
    assert_eq!(m.media.len(), 1);
    let kept = &m.media[0];
    assert_eq!(kept.path, format!("media/{id}/standup.wav"));
    assert_eq!(kept.sha256, before);
    assert_eq!(kept.bytes, 300_000);
    assert_eq!(kept.kept_as, KeepAs::Copy);
    assert!(kept.present);
    assert_eq!(sha256(&kept.abs_path), before);
    assert!(media.is_file(), "a copy leaves the original alone");
    assert_eq!(sha256(&media), before);
    // Nothing left in staging.
    let staging = dir.path().join("media/.staging");
    assert!(!staging.exists() || fs::read_dir(&staging).unwrap().next().is_none());

    // Title given explicitly; no media.
    let id2 = lib.import_meeting(&t, None, Some("  Planning ")).unwrap();
    assert_eq!(lib.summary(id2).unwrap().title, "Planning");
    assert!(lib.meeting(id2).unwrap().media.is_empty());
    assert!(lib.check_integrity().unwrap().is_empty());
}

#[test]
fn move_removes_original_only_after_verified_commit() {
    let dir = tempfile::tempdir().unwrap();
    let src_dir = tempfile::tempdir().unwrap();
    let media = media_file(src_dir.path(), "call.m4a", 100_000);
    let sum = sha256(&media);
    let mut lib = open(dir.path());
    let t = transcript("en", &[(0, 1000, "hello", None)]);

    // A failed import (injected before commit) with Move keeps the original and inserts nothing.
    lib.set_fail_point(Some(FailPoint::ImportBeforeCommit));
    let err = lib
        .import_meeting(&t, Some((&media, KeepAs::Move)), None)
        .unwrap_err();
    assert_eq!(err.code(), "injected_failure");
    lib.set_fail_point(None);
    assert!(media.is_file());
    assert_eq!(sha256(&media), sum);
    assert!(lib.list(&Filter::default()).unwrap().is_empty());

    let id = lib
        .import_meeting(&t, Some((&media, KeepAs::Move)), None)
        .unwrap();
    assert!(!media.exists(), "moved original is removed");
    let m = lib.meeting(id).unwrap();
    assert_eq!(m.media[0].kept_as, KeepAs::Move);
    assert_eq!(sha256(&m.media[0].abs_path), sum);

    // A file already kept by the library cannot be moved in again.
    let err = lib
        .import_meeting(&t, Some((&m.media[0].abs_path, KeepAs::Move)), None)
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    assert_eq!(sha256(&m.media[0].abs_path), sum);
}

#[test]
fn failed_copy_inserts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = open(dir.path());
    let t = transcript("en", &[(0, 1000, "hello", None)]);
    let missing = dir.path().join("does-not-exist.wav");
    let err = lib
        .import_meeting(&t, Some((&missing, KeepAs::Copy)), None)
        .unwrap_err();
    assert_eq!(err.code(), "library_io");
    let err = lib
        .import_meeting(&t, Some((dir.path(), KeepAs::Copy)), None)
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input", "a folder is not media");
    assert!(lib.list(&Filter::default()).unwrap().is_empty());
    let n: i64 = lib
        .connection()
        .query_row("SELECT count(*) FROM segments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
    let mut newer = t.clone();
    newer.version += 1;
    assert_eq!(
        lib.import_meeting(&newer, None, None).unwrap_err().code(),
        "transcript_version"
    );
}

#[test]
fn versions_add_switch_and_drop() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = open(dir.path());
    let t1 = transcript("en", &[(0, 1000, "first draft of the minutes", None)]);
    let id = lib.import_meeting(&t1, None, Some("Versions")).unwrap();
    let v1 = lib.meeting(id).unwrap().current_version.unwrap();
    let mut t2 = transcript("zh", &[(0, 2000, "第二版会议纪要", Some("S1"))]);
    t2.model.name = "large-v3".into();
    let v2 = lib.add_transcript_version(id, &t2).unwrap();
    let m = lib.meeting(id).unwrap();
    assert_eq!(m.current_version, Some(v2));
    assert_eq!(m.transcript.as_ref(), Some(&t2));
    assert_eq!(m.versions.len(), 2);
    assert_eq!(m.summary.language.as_deref(), Some("zh"));
    assert_eq!(
        lib.transcript_version(v1).unwrap(),
        t1,
        "old versions stay intact"
    );
    // Search sees only the current version.
    assert!(
        lib.search("draft", &Filter::default(), 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(lib.search("纪要", &Filter::default(), 10).unwrap().len(), 1);
    lib.set_current_version(v1).unwrap();
    assert_eq!(
        lib.search("draft", &Filter::default(), 10).unwrap().len(),
        1
    );
    assert_eq!(
        lib.meeting(id).unwrap().summary.language.as_deref(),
        Some("en")
    );
    lib.set_current_version(v2).unwrap();
    lib.drop_version(v2).unwrap();
    let m = lib.meeting(id).unwrap();
    assert_eq!(
        m.current_version,
        Some(v1),
        "the newest remaining version becomes current"
    );
    assert_eq!(m.versions.len(), 1);
    assert_eq!(lib.drop_version(v1).unwrap_err().code(), "last_version");
    assert_eq!(
        lib.drop_version(VersionId(9999)).unwrap_err().code(),
        "not_found"
    );
    let n: i64 = lib
        .connection()
        .query_row("SELECT count(*) FROM segments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1, "segments of the dropped version are gone");
    assert!(lib.check_integrity().unwrap().is_empty());
}

#[test]
fn list_filters_and_sorts() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = open(dir.path());
    let day = 86_400_000i64;
    let mk = |lib: &mut Library,
              title: &str,
              day_n: i64,
              folder: Option<&str>,
              tags: &[&str],
              spk: &str| {
        let tags: Vec<String> = tags.iter().map(|s| s.to_string()).collect();
        let t = transcript("en", &[(0, 1000, "some words here", Some(spk))]);
        lib.import_meeting_with(
            &t,
            None,
            &NewMeeting {
                title: Some(title),
                folder,
                tags: &tags,
                created_at: Some(1_700_000_000_000 + day_n * day),
                ..Default::default()
            },
        )
        .unwrap()
    };
    let a = mk(&mut lib, "beta sync", 0, Some("Work"), &["weekly"], "S1");
    let b = mk(
        &mut lib,
        "Alpha kickoff",
        1,
        Some("Work"),
        &["project", "weekly"],
        "S2",
    );
    let c = mk(&mut lib, "gamma call", 2, None, &[], "S1");
    let ids_of = |lib: &Library, f: &Filter| {
        lib.list(f)
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>()
    };
    let ids = |f: &Filter| ids_of(&lib, f);
    assert_eq!(ids(&Filter::default()), vec![c, b, a]);
    assert_eq!(
        ids(&Filter {
            sort: Sort::CreatedAsc,
            ..Default::default()
        }),
        vec![a, b, c]
    );
    assert_eq!(
        ids(&Filter {
            sort: Sort::Title,
            ..Default::default()
        }),
        vec![b, a, c]
    );
    assert_eq!(
        ids(&Filter {
            folder: Some("Work".into()),
            ..Default::default()
        }),
        vec![b, a]
    );
    assert_eq!(
        ids(&Filter {
            tag: Some("weekly".into()),
            ..Default::default()
        }),
        vec![b, a]
    );
    assert_eq!(
        ids(&Filter {
            tag: Some("project".into()),
            ..Default::default()
        }),
        vec![b]
    );
    let from = 1_700_000_000_000 + day;
    assert_eq!(
        ids(&Filter {
            from_ms: Some(from),
            ..Default::default()
        }),
        vec![c, b]
    );
    assert_eq!(
        ids(&Filter {
            from_ms: Some(from),
            to_ms: Some(from + day),
            ..Default::default()
        }),
        vec![b]
    );
    lib.rename_speaker(a, "S1", Some("Alice")).unwrap();
    assert_eq!(
        ids_of(
            &lib,
            &Filter {
                speaker: Some("Alice".into()),
                ..Default::default()
            }
        ),
        vec![a]
    );
    assert_eq!(
        ids_of(
            &lib,
            &Filter {
                speaker: Some("S1".into()),
                ..Default::default()
            }
        ),
        vec![c, a]
    );

    lib.rename(c, "Gamma review").unwrap();
    lib.set_folder(c, Some("Personal")).unwrap();
    lib.set_tags(c, &["x".into(), "y".into()]).unwrap();
    let s = lib.summary(c).unwrap();
    assert_eq!(
        (s.title.as_str(), s.folder.as_deref(), s.tags.clone()),
        (
            "Gamma review",
            Some("Personal"),
            vec!["x".to_string(), "y".to_string()]
        )
    );
    lib.set_tags(c, &[]).unwrap();
    lib.set_folder(c, None).unwrap();
    let s = lib.summary(c).unwrap();
    assert!(s.tags.is_empty() && s.folder.is_none());
    assert_eq!(lib.rename(c, "  ").unwrap_err().code(), "invalid_input");
    assert_eq!(
        lib.rename(MeetingId(999), "x").unwrap_err().code(),
        "not_found"
    );
    assert_eq!(
        lib.set_tags(MeetingId(999), &[]).unwrap_err().code(),
        "not_found"
    );
}

#[test]
fn speakers_rename_and_merge() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = open(dir.path());
    let t = transcript(
        "en",
        &[
            (0, 1000, "hi", Some("S1")),
            (1000, 2000, "hello", Some("S2")),
            (2000, 3000, "bye", Some("S3")),
        ],
    );
    let id = lib.import_meeting(&t, None, None).unwrap();
    lib.rename_speaker(id, "S1", Some("Alice")).unwrap();
    let m = lib.meeting(id).unwrap();
    let tr = m.transcript.unwrap();
    assert_eq!(tr.segments[0].speaker.as_deref(), Some("Alice"));
    assert_eq!(tr.segments[1].speaker.as_deref(), Some("S2"));
    lib.merge_speakers(id, "S3", "S1").unwrap();
    let m = lib.meeting(id).unwrap();
    assert_eq!(
        m.speakers.iter().map(|s| s.display()).collect::<Vec<_>>(),
        vec!["Alice", "S2"]
    );
    assert_eq!(
        m.transcript.unwrap().segments[2].speaker.as_deref(),
        Some("Alice")
    );
    let hits = lib
        .search(
            "bye",
            &Filter {
                speaker: Some("Alice".into()),
                ..Default::default()
            },
            10,
        )
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].speaker.as_deref(), Some("Alice"));
    assert!(
        lib.search(
            "hello",
            &Filter {
                speaker: Some("Alice".into()),
                ..Default::default()
            },
            10
        )
        .unwrap()
        .is_empty()
    );
    assert_eq!(
        lib.merge_speakers(id, "S9", "S1").unwrap_err().code(),
        "not_found"
    );
    assert_eq!(
        lib.rename_speaker(id, "S9", Some("x")).unwrap_err().code(),
        "not_found"
    );
}

/// Real reference text: the English word and two-character Chinese words find their meeting and
/// timestamp; every Chinese character bigram of every Chinese reference line is found (recall).
#[test]
fn search_real_text_english_and_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = open(dir.path());
    let refs = references();
    let lines = |lang: &str| {
        let mut v: Vec<String> = Vec::new();
        for (_, t) in refs.iter().filter(|(l, _)| l == lang) {
            if !v.contains(t) {
                v.push(t.clone());
            }
        }
        v
    };
    let (zh, en) = (lines("zh"), lines("en"));
    assert!(zh.len() >= 8 && en.len() >= 10);
    // One Chinese meeting with every zh line as a segment 5 s apart; one English meeting likewise.
    let zh_segs: Vec<(u64, u64, &str, Option<&str>)> = zh
        .iter()
        .enumerate()
        .map(|(i, t)| (i as u64 * 5000, i as u64 * 5000 + 4000, t.as_str(), None))
        .collect();
    let en_segs: Vec<(u64, u64, &str, Option<&str>)> = en
        .iter()
        .enumerate()
        .map(|(i, t)| (i as u64 * 7000, i as u64 * 7000 + 6000, t.as_str(), None))
        .collect();
    let zh_id = lib
        .import_meeting(&transcript("zh", &zh_segs), None, Some("房地产例会"))
        .unwrap();
    let en_id = lib
        .import_meeting(&transcript("en", &en_segs), None, Some("Speeches"))
        .unwrap();
    // Noise meetings so a hit must be the right one.
    for i in 0..20 {
        let t = transcript(
            "en",
            &[
                (0, 1000, "nothing relevant is said in this meeting", None),
                (1000, 2000, "今天天气不错", None),
            ],
        );
        lib.import_meeting(&t, None, Some(&format!("noise {i}")))
            .unwrap();
    }

    let zh_ms = |needle: &str| zh.iter().position(|t| t.contains(needle)).unwrap() as u64 * 5000;
    for word in ["协会", "跑步"] {
        let hits = lib.search(word, &Filter::default(), 10).unwrap();
        assert_eq!(hits.len(), 1, "{word}: {hits:?}");
        assert_eq!(hits[0].meeting_id, zh_id);
        assert_eq!(hits[0].title, "房地产例会");
        assert_eq!(hits[0].start_ms, zh_ms(word));
        assert!(
            hits[0].snippet.contains(&format!("[{word}]")),
            "{}",
            hits[0].snippet
        );
    }
    let hits = lib
        .search("广州市房地产中介协会分析", &Filter::default(), 10)
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].snippet, "[广州市房地产中介协会分析]");

    let jfk_ms = en
        .iter()
        .position(|t| t.contains("fellow Americans"))
        .unwrap() as u64
        * 7000;
    let hits = lib.search("Americans", &Filter::default(), 10).unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!((hits[0].meeting_id, hits[0].start_ms), (en_id, jfk_ms));
    assert!(
        hits[0].snippet.contains("[Americans]"),
        "{}",
        hits[0].snippet
    );
    let hits = lib
        .search("\"ask not\" country", &Filter::default(), 10)
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].start_ms, jfk_ms);
    assert!(
        hits[0].snippet.contains("[ask not]") && hits[0].snippet.contains("[country]"),
        "{}",
        hits[0].snippet
    );
    // Prefix match on English words; case-insensitive.
    assert_eq!(
        lib.search("AMERIC", &Filter::default(), 10).unwrap().len(),
        1
    );
    assert!(
        lib.search("zzzz", &Filter::default(), 10)
            .unwrap()
            .is_empty()
    );
    assert!(
        lib.search("  ,, ", &Filter::default(), 10)
            .unwrap()
            .is_empty()
    );
    // Filters apply to search.
    assert!(
        lib.search(
            "协会",
            &Filter {
                tag: Some("none".into()),
                ..Default::default()
            },
            10
        )
        .unwrap()
        .is_empty()
    );

    // Recall: every two-character Han substring of each zh line finds that line's segment.
    let (mut total, mut found) = (0, 0);
    for (i, line) in zh.iter().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        for w in chars.windows(2) {
            let word: String = w.iter().collect();
            total += 1;
            let hits = lib.search(&word, &Filter::default(), 1000).unwrap();
            if hits
                .iter()
                .any(|h| h.meeting_id == zh_id && h.segment_idx as usize == i)
            {
                found += 1;
            }
        }
    }
    println!("Chinese two-character recall: {found}/{total}");
    assert_eq!(found, total);

    // Rebuilding the index gives the same answers.
    let before = lib.search("协会 分析", &Filter::default(), 10).unwrap();
    lib.rebuild_search_index().unwrap();
    assert_eq!(
        lib.search("协会 分析", &Filter::default(), 10).unwrap(),
        before
    );
    assert_eq!(
        lib.search("Americans", &Filter::default(), 10)
            .unwrap()
            .len(),
        1
    );
    assert!(lib.check_integrity().unwrap().is_empty());
}

#[test]
fn export_delete_import_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let src_dir = tempfile::tempdir().unwrap();
    let mut lib = open(dir.path());
    // Another meeting first, so ids are not all 1.
    lib.import_meeting(&transcript("en", &[(0, 1000, "warm up", None)]), None, None)
        .unwrap();
    let media = media_file(src_dir.path(), "board.wav", 5000);
    let t1 = transcript(
        "en",
        &[
            (0, 3000, &jfk(), Some("S1")),
            (3000, 6000, "Thanks, that's all.", Some("S2")),
        ],
    );
    let tags = vec!["board".to_string()];
    let id = lib
        .import_meeting_with(
            &t1,
            Some((&media, KeepAs::Copy)),
            &NewMeeting {
                folder: Some("Work"),
                tags: &tags,
                ..Default::default()
            },
        )
        .unwrap();
    let t2 = transcript("zh", &[(0, 3000, &reference("zh", "协会"), Some("S1"))]);
    let v2 = lib.add_transcript_version(id, &t2).unwrap();
    lib.rename_speaker(id, "S1", Some("Chair")).unwrap();
    lib.add_mark(v2, 0, MarkKind::Todo).unwrap();
    lib.set_notes(id, "# Notes\n- approve budget").unwrap();
    lib.add_ai_note(
        id,
        &AiNote {
            kind: "summary".into(),
            json: r#"{"summary":"budget approved"}"#.into(),
            model: "qwen".into(),
            prompt_version: "1".into(),
            created_at: 1_700_000_000_123,
            language: None,
            template: None,
        },
    )
    .unwrap();
    let item = lib
        .add_action_item(
            id,
            &ActionItem {
                id: None,
                text: "send minutes".into(),
                owner: Some("Bob".into()),
                due: Some("2025-01-31".into()),
                source_ms: Some(4200),
                done: false,
                origin: ActionOrigin::User,
            },
        )
        .unwrap();
    lib.set_action_done(item, true).unwrap();
    let notes = hand_made_notes();
    lib.save_notes(id, &notes).unwrap();
    let ai_item = lib.meeting(id).unwrap().action_items.iter().find(|a| a.origin == ActionOrigin::Ai).unwrap().id.unwrap();
    lib.set_action_done(ai_item, true).unwrap();

    let first = lib.export_json(id).unwrap();
    assert!(first.contains("\"format\": \"tingji.meeting\""));
    lib.delete_meeting(id).unwrap();
    assert_eq!(lib.meeting(id).unwrap_err().code(), "not_found");
    let back = lib.import_json(&first).unwrap();
    assert_eq!(back, id, "ids are kept when free");
    let second = lib.export_json(back).unwrap();
    assert_eq!(first, second);
    let m = lib.meeting(back).unwrap();
    assert_eq!(m.current_version, Some(v2));
    assert_eq!(m.marks.len(), 1);
    // AI notes and action items (with origin and done state) come back whole.
    assert_eq!(lib.notes(back).unwrap(), Some(notes));
    let items: Vec<(&str, bool, ActionOrigin)> =
        m.action_items.iter().map(|a| (a.text.as_str(), a.done, a.origin)).collect();
    assert_eq!(items, [("send minutes", true, ActionOrigin::User), ("写会议纪要", true, ActionOrigin::Ai)]);
    assert!(
        !m.media[0].present,
        "delete_meeting removed the file; import restores only the record"
    );

    // Importing again while the meeting exists gives new ids and the same content.
    let copy = lib.import_json(&first).unwrap();
    assert_ne!(copy, id);
    let third: serde_json::Value = serde_json::from_str(&lib.export_json(copy).unwrap()).unwrap();
    let mut first_v: serde_json::Value = serde_json::from_str(&first).unwrap();
    let strip = |v: &mut serde_json::Value| {
        v["meeting"]["id"] = 0.into();
        for ver in v["versions"].as_array_mut().unwrap() {
            ver["id"] = 0.into();
        }
        for k in v["marks"].as_array_mut().unwrap() {
            k["version_id"] = 0.into();
        }
        for a in v["action_items"].as_array_mut().unwrap() {
            a["id"] = 0.into();
        }
    };
    let mut third = third;
    strip(&mut first_v);
    strip(&mut third);
    assert_eq!(first_v, third);
    // Deleting the copy must not delete files in another meeting's folder.
    lib.delete_meeting(copy).unwrap();

    assert_eq!(
        lib.import_json("{not json").unwrap_err().code(),
        "invalid_json"
    );
    assert_eq!(
        lib.import_json(r#"{"format":"other"}"#).unwrap_err().code(),
        "invalid_json"
    );
    let bad = first.replace("\"media/", "\"../");
    assert_eq!(lib.import_json(&bad).unwrap_err().code(), "invalid_export");
    assert!(lib.check_integrity().unwrap().is_empty());
}

/// No operation but `delete_meeting` deletes kept media: add and drop versions, failed imports of
/// several kinds, rename, tags, folder, speakers, notes, export/import, reopen.
#[test]
fn media_deleted_only_by_delete_meeting() {
    let dir = tempfile::tempdir().unwrap();
    let src_dir = tempfile::tempdir().unwrap();
    let mut lib = open(dir.path());
    let media = media_file(src_dir.path(), "allhands.mp4", 1_000_000);
    let t = transcript(
        "en",
        &[
            (0, 1000, "one", Some("S1")),
            (1000, 2000, "two", Some("S2")),
        ],
    );
    let id = lib
        .import_meeting(&t, Some((&media, KeepAs::Copy)), Some("All hands"))
        .unwrap();
    let kept = lib.meeting(id).unwrap().media[0].abs_path.clone();
    let sum = sha256(&kept);
    let check = |what: &str| {
        assert!(kept.is_file(), "media gone after {what}");
        assert_eq!(sha256(&kept), sum, "media changed after {what}");
    };

    let v2 = lib
        .add_transcript_version(id, &transcript("en", &[(0, 1000, "uno", Some("S1"))]))
        .unwrap();
    check("add_transcript_version");
    lib.drop_version(v2).unwrap();
    check("drop_version of the current version");
    let v3 = lib.add_transcript_version(id, &t).unwrap();
    let v1 = lib.meeting(id).unwrap().versions[0].id;
    lib.drop_version(v1).unwrap();
    check("drop_version of an old version");
    assert_eq!(lib.drop_version(v3).unwrap_err().code(), "last_version");
    check("refused drop_version");
    lib.rename(id, "Renamed").unwrap();
    lib.set_tags(id, &["a".into()]).unwrap();
    lib.set_folder(id, Some("f")).unwrap();
    lib.rename_speaker(id, "S1", Some("Ann")).unwrap();
    lib.merge_speakers(id, "S2", "S1").unwrap();
    lib.set_notes(id, "notes").unwrap();
    check("rename/tags/folder/speakers/notes");

    // Failed imports: invalid JSON, injected failure after copying, missing media, newer transcript.
    assert!(lib.import_json("{ invalid").is_err());
    let other = media_file(src_dir.path(), "other.wav", 1000);
    lib.set_fail_point(Some(FailPoint::ImportBeforeCommit));
    assert!(
        lib.import_meeting(&t, Some((&other, KeepAs::Move)), None)
            .is_err()
    );
    lib.set_fail_point(None);
    assert!(other.is_file());
    assert!(
        lib.import_meeting(
            &t,
            Some((&src_dir.path().join("nope.wav"), KeepAs::Copy)),
            None
        )
        .is_err()
    );
    let mut newer = t.clone();
    newer.version += 1;
    assert!(lib.add_transcript_version(id, &newer).is_err());
    check("failed imports");
    // A re-import of the export gets another id and shares the media record: deleting it must not
    // remove the file the original meeting still keeps.
    let copy = lib.import_json(&lib.export_json(id).unwrap()).unwrap();
    lib.delete_meeting(copy).unwrap();
    check("delete_meeting of a copy that shares the media record");
    drop(lib);
    let mut lib = open(dir.path());
    check("reopen");
    assert_eq!(lib.list(&Filter::default()).unwrap().len(), 1);

    lib.delete_meeting(id).unwrap();
    assert!(!kept.exists(), "delete_meeting removes the media");
    assert!(!kept.parent().unwrap().exists(), "and its empty folder");
    assert_eq!(lib.delete_meeting(id).unwrap_err().code(), "not_found");
    let n: i64 = lib
        .connection()
        .query_row("SELECT (SELECT count(*) FROM segments) + (SELECT count(*) FROM words) + (SELECT count(*) FROM media)", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(n, 0, "cascade removed every row");
    assert!(
        lib.search("one", &Filter::default(), 10)
            .unwrap()
            .is_empty()
    );
    assert!(lib.check_integrity().unwrap().is_empty());
}

#[test]
fn jobs_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c);
    {
        let mut lib = open(dir.path());
        a = lib
            .create_job(JobKind::Import, None, Some(Path::new("/tmp/a.wav")))
            .unwrap();
        b = lib
            .create_job(JobKind::Transcribe, None, Some(Path::new("/tmp/b.wav")))
            .unwrap();
        c = lib.create_job(JobKind::Notes, None, None).unwrap();
        lib.update_job(
            b,
            &JobUpdate {
                state: Some(JobState::Running),
                progress: Some(0.4),
                checkpoint_path: Some("/data/jobs/b.partial.jsonl".into()),
                ..Default::default()
            },
        )
        .unwrap();
        lib.update_job(
            c,
            &JobUpdate {
                state: Some(JobState::Done),
                progress: Some(1.0),
                ..Default::default()
            },
        )
        .unwrap();
        // Process "dies" here without finishing a and b.
    }
    let mut lib = open(dir.path());
    let open_jobs = lib.unfinished_jobs().unwrap();
    assert_eq!(
        open_jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![a, b]
    );
    let jb = &open_jobs[1];
    assert_eq!(jb.state, JobState::Running);
    assert_eq!(jb.kind, JobKind::Transcribe);
    assert!((jb.progress - 0.4).abs() < 1e-9);
    assert_eq!(
        jb.checkpoint_path.as_deref(),
        Some(Path::new("/data/jobs/b.partial.jsonl"))
    );
    assert_eq!(jb.input_path.as_deref(), Some(Path::new("/tmp/b.wav")));
    lib.update_job(
        a,
        &JobUpdate {
            state: Some(JobState::Failed),
            error: Some("decode failed".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let id = lib
        .import_meeting(&transcript("en", &[(0, 1, "x", None)]), None, None)
        .unwrap();
    lib.update_job(
        b,
        &JobUpdate {
            state: Some(JobState::Done),
            meeting_id: Some(id),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(lib.unfinished_jobs().unwrap().is_empty());
    assert_eq!(lib.job(a).unwrap().error.as_deref(), Some("decode failed"));
    assert_eq!(lib.job(b).unwrap().meeting_id, Some(id));
    assert_eq!(
        lib.update_job(JobId(99), &JobUpdate::default())
            .unwrap_err()
            .code(),
        "not_found"
    );
}

#[test]
fn stray_media_folder_is_moved_aside_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let src_dir = tempfile::tempdir().unwrap();
    let mut lib = open(dir.path());
    // As if a crash happened after placing media/1/ but before the commit.
    let stray = dir.path().join("media/1");
    fs::create_dir_all(&stray).unwrap();
    fs::write(stray.join("lost.wav"), b"stray bytes").unwrap();
    let media = media_file(src_dir.path(), "new.wav", 1000);
    let id = lib
        .import_meeting(
            &transcript("en", &[(0, 1, "x", None)]),
            Some((&media, KeepAs::Copy)),
            None,
        )
        .unwrap();
    assert_eq!(id, MeetingId(1));
    assert!(dir.path().join("media/1/new.wav").is_file());
    assert!(!dir.path().join("media/1/lost.wav").exists());
    let aside: Vec<_> = fs::read_dir(dir.path().join("media/.orphaned"))
        .unwrap()
        .collect();
    assert_eq!(aside.len(), 1);
    let kept = aside[0].as_ref().unwrap().path().join("lost.wav");
    assert_eq!(fs::read(kept).unwrap(), b"stray bytes");
}

/// Notes as an LLM would make them, written by hand (no model runs in tests).
fn hand_made_notes() -> tingji_transcript::notes::MeetingNotes {
    use tingji_transcript::notes::*;
    let mut n = MeetingNotes::new("zh", "builtin/test", "3");
    n.template = Some("standup".into());
    n.summary = Some("预算通过。".into());
    n.key_points = Some(vec![Point { text: "预算".into(), start_ms: Some(0) }]);
    n.actions = Some(vec![Action { task: "写会议纪要".into(), owner: Some("S1".into()), due: None, start_ms: 1000 }]);
    n.mind_map = Some(MindNode { text: "会议".into(), children: vec![MindNode { text: "预算".into(), children: vec![] }] });
    n
}

#[test]
fn save_notes_replaces_its_kinds_and_the_ai_action_items_only() {
    use tingji_transcript::notes::*;
    let dir = tempfile::tempdir().unwrap();
    let mut lib = open(dir.path());
    let id = lib.import_meeting(&transcript("en", &[(0, 2000, &jfk(), Some("S1"))]), None, None).unwrap();
    assert_eq!(lib.notes(id).unwrap(), None);
    assert_eq!(lib.notes(MeetingId(999)).unwrap_err().code(), "not_found");
    let mine = ActionItem { id: None, text: "call Ann".into(), owner: None, due: None, source_ms: None, done: false, origin: ActionOrigin::User };
    lib.add_action_item(id, &mine).unwrap();
    let first = hand_made_notes();
    lib.save_notes(id, &first).unwrap();
    assert_eq!(lib.notes(id).unwrap().as_ref(), Some(&first));
    let rows = lib.meeting(id).unwrap().ai_notes;
    assert_eq!(rows.len(), first.kinds().len(), "one row per kind");
    for r in &rows {
        let kind: NoteKind = r.kind.parse().unwrap();
        assert_eq!(serde_json::from_str::<serde_json::Value>(&r.json).unwrap(), first.part(kind).unwrap());
        assert_eq!((r.language.as_deref(), r.model.as_str()), (Some("zh"), "builtin/test"));
    }
    let ai = lib.meeting(id).unwrap().action_items.into_iter().find(|a| a.origin == ActionOrigin::Ai).unwrap();
    lib.set_action_done(ai.id.unwrap(), true).unwrap();

    // Only a new summary and new actions: other kinds stay, the AI items are replaced (the
    // unchanged task keeps its done state), the user's item stays.
    let mut second = MeetingNotes::new("zh", "builtin/other", "4");
    second.summary = Some("新的摘要".into());
    second.actions = Some(vec![
        Action { task: "写会议纪要".into(), owner: None, due: None, start_ms: 1000 },
        Action { task: "订会议室".into(), owner: None, due: Some("周五".into()), start_ms: 1500 },
    ]);
    lib.save_notes(id, &second).unwrap();
    let got = lib.notes(id).unwrap().unwrap();
    assert_eq!(got.summary.as_deref(), Some("新的摘要"));
    assert_eq!(got.key_points, first.key_points, "kinds not in the new notes are kept");
    assert_eq!(got.mind_map, first.mind_map);
    assert_eq!(got.actions, second.actions);
    assert_eq!((got.model.as_str(), got.prompt_version.as_str()), ("builtin/other", "4"), "metadata of the latest rows");
    assert_eq!(lib.meeting(id).unwrap().ai_notes.len(), first.kinds().len(), "replaced, not added");
    let items: Vec<(String, bool, ActionOrigin)> =
        lib.meeting(id).unwrap().action_items.into_iter().map(|a| (a.text, a.done, a.origin)).collect();
    assert_eq!(
        items,
        [
            ("call Ann".to_string(), false, ActionOrigin::User),
            ("写会议纪要".to_string(), true, ActionOrigin::Ai),
            ("订会议室".to_string(), false, ActionOrigin::Ai),
        ]
    );
    assert_eq!(lib.save_notes(MeetingId(999), &second).unwrap_err().code(), "not_found");
}

#[test]
fn migration_from_v2_keeps_action_items_and_notes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let lib = Library::open_at_version(dir.path(), 2).unwrap();
        let c = lib.connection();
        assert!(c.prepare("SELECT origin FROM action_items").is_err(), "v2 has no origin");
        c.execute_batch(
            r#"
            INSERT INTO meetings (id, title, created_at, updated_at, duration_ms, source_kind)
                VALUES (4, 'Standup', 1700000000000, 1700000000000, 5000, 'recorded');
            INSERT INTO action_items (meeting_id, text, done) VALUES (4, 'send minutes', 1);
            INSERT INTO ai_notes (meeting_id, kind, json, model, prompt_version, created_at)
                VALUES (4, 'summary', '"Short."', 'qwen', '1', 1700000000001);
            "#,
        )
        .unwrap();
    }
    let mut lib = open(dir.path());
    let m = lib.meeting(MeetingId(4)).unwrap();
    assert_eq!(m.action_items.len(), 1);
    assert_eq!((m.action_items[0].done, m.action_items[0].origin), (true, ActionOrigin::User), "old items are the user's");
    let n = lib.notes(MeetingId(4)).unwrap().unwrap();
    assert_eq!((n.summary.as_deref(), n.language.as_str(), n.model.as_str()), (Some("Short."), "", "qwen"));
    // Saving notes over an upgraded database replaces AI items only.
    let mut new = tingji_transcript::notes::MeetingNotes::new("en", "m", "2");
    new.actions = Some(vec![]);
    lib.save_notes(MeetingId(4), &new).unwrap();
    assert_eq!(lib.meeting(MeetingId(4)).unwrap().action_items.len(), 1);
    assert!(lib.check_integrity().unwrap().is_empty());
}
