//! Crash safety: a process killed with SIGKILL in the middle of a large import leaves the library
//! intact (integrity check ok), without the half-written meeting, with every earlier meeting.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use tingji_library::*;

const CHILD_ENV: &str = "TINGJI_LIBRARY_CRASH_CHILD";
const EARLIER: usize = 5;
const BIG_SEGMENTS: usize = 200_000;

fn big_transcript() -> tingji_transcript::Transcript {
    let texts = [
        "And so my fellow Americans, ask not what your country can do for you",
        "广州市房地产中介协会分析",
        "we will review the quarterly budget and the hiring plan",
        "我认为跑步最重要的就是给我带来了身体健康",
    ];
    let segs: Vec<(u64, u64, &str, Option<&str>)> = (0..BIG_SEGMENTS)
        .map(|i| {
            (
                i as u64 * 1000,
                i as u64 * 1000 + 900,
                texts[i % texts.len()],
                Some(if i % 2 == 0 { "S1" } else { "S2" }),
            )
        })
        .collect();
    transcript("en", &segs)
}

/// The child role: runs only when re-executed by `kill_mid_import_keeps_library_consistent`.
#[test]
fn crash_child() {
    let Some(root) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let root = PathBuf::from(root);
    let mut lib = Library::open(&root).unwrap();
    let t = big_transcript();
    let media = media_file(&root, "big-call.wav", 2_000_000);
    std::fs::write(root.join("child-started"), b"").unwrap();
    lib.import_meeting(&t, Some((&media, KeepAs::Copy)), Some("half-written"))
        .unwrap();
    // Reached only if the parent failed to kill us in time.
    std::fs::write(root.join("child-finished"), b"").unwrap();
}

fn wal_size(root: &Path) -> u64 {
    std::fs::metadata(root.join(format!("{DB_FILE}-wal")))
        .map(|m| m.len())
        .unwrap_or(0)
}

#[test]
fn kill_mid_import_keeps_library_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lib");
    let src = tempfile::tempdir().unwrap();
    let mut earlier = Vec::new();
    {
        let mut lib = Library::open(&root).unwrap();
        for i in 0..EARLIER {
            let m = media_file(src.path(), &format!("m{i}.wav"), 10_000 + i);
            let t = transcript(
                "en",
                &[(0, 1000, &format!("earlier meeting number {i}"), Some("S1"))],
            );
            earlier.push(
                lib.import_meeting(&t, Some((&m, KeepAs::Copy)), Some(&format!("earlier {i}")))
                    .unwrap(),
            );
        }
        lib.connection()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
    }
    let wal_before = wal_size(&root);

    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &root)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // Wait until the child is inside its write transaction: it spills uncommitted pages to the
    // WAL once its page cache is full, so a WAL that has grown by megabytes proves it.
    let start = Instant::now();
    let mut spilled = false;
    while start.elapsed() < Duration::from_secs(120) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("child exited before it was killed: {status}");
        }
        if root.join("child-started").exists() && wal_size(&root) > wal_before + 8 * 1024 * 1024 {
            spilled = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed_after = start.elapsed();
    assert!(spilled, "child never got into its big transaction");
    assert!(
        !root.join("child-finished").exists(),
        "the import finished before the kill; make it bigger"
    );
    println!(
        "killed the child {killed_after:?} after start with {} MB in the WAL",
        wal_size(&root) >> 20
    );

    let mut lib = Library::open(&root).unwrap();
    let ok: String = lib
        .connection()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    assert!(
        lib.check_integrity().unwrap().is_empty(),
        "{:?}",
        lib.check_integrity()
    );
    let list = lib
        .list(&Filter {
            sort: Sort::CreatedAsc,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        list.iter().map(|m| m.id).collect::<Vec<_>>(),
        earlier,
        "all earlier meetings, nothing more"
    );
    assert!(list.iter().all(|m| m.title != "half-written"));
    let segs: i64 = lib
        .connection()
        .query_row("SELECT count(*) FROM segments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(segs, EARLIER as i64);
    for id in &earlier {
        let m = lib.meeting(*id).unwrap();
        assert_eq!(m.transcript.unwrap().segments.len(), 1);
        assert!(m.media[0].present);
        assert_eq!(sha256(&m.media[0].abs_path), m.media[0].sha256);
    }
    assert_eq!(
        lib.search("earlier", &Filter::default(), 100)
            .unwrap()
            .len(),
        EARLIER
    );
    assert!(
        lib.search("协会", &Filter::default(), 10)
            .unwrap()
            .is_empty()
    );
    // The library keeps working: the next import gets the id the dead one had taken.
    let t = transcript("en", &[(0, 1000, "after the crash", None)]);
    let m = media_file(src.path(), "after.wav", 500);
    let id = lib
        .import_meeting(&t, Some((&m, KeepAs::Copy)), None)
        .unwrap();
    assert!(lib.meeting(id).unwrap().media[0].present);
    assert_eq!(lib.list(&Filter::default()).unwrap().len(), EARLIER + 1);
}
