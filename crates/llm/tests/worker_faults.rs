//! The built-in model's child process misbehaving on purpose (a shell script in the worker's
//! place, speaking its JSON-lines protocol): every fault ends the request with a named error in
//! bounded time, the misbehaving process is gone, and the next request gets a fresh worker.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tingji_llm::{Cancel, ChatModel, ChatRequest, LocalChat, Message};

/// A worker that answers its first process's first chat with `fault` (shell), and behaves
/// otherwise (later chats, later processes). Each process writes its pid to `pids`.
fn fake_worker(dir: &Path, fault: &str) -> PathBuf {
    let script = format!(
        r#"#!/bin/bash
echo $$ >> "{dir}/pids"
read -r load
echo '{{"event":"loaded","model":"fake","load_ms":1}}'
first=0
if [ ! -e "{dir}/faulted" ]; then touch "{dir}/faulted"; first=1; fi
while read -r line; do
  case "$line" in
    *'"op":"chat"'*)
      if [ $first = 1 ]; then
        first=0
        {fault}
      fi
      echo '{{"event":"delta","text":"fine"}}'
      echo '{{"event":"done","finish_reason":"stop","prompt_tokens":3,"completion_tokens":1}}'
      ;;
  esac
done
"#,
        dir = dir.display()
    );
    let p = dir.join("worker.sh");
    std::fs::write(&p, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    // LocalChat wants a model file that exists; the fake worker never opens it.
    std::fs::write(dir.join("m.gguf"), b"GGUF").unwrap();
    p
}

fn chat_model(dir: &Path, fault: &str, idle: Duration) -> LocalChat {
    let bin = fake_worker(dir, fault);
    LocalChat::new(&dir.join("m.gguf"), 4096, 1).unwrap().with_worker_binary(&bin).with_idle_timeout(idle)
}

/// A fresh folder under the system temp dir, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("tingji-worker-faults-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pids(dir: &Path) -> Vec<u32> {
    std::fs::read_to_string(dir.join("pids")).unwrap_or_default().lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// True once `pid` is gone (or a zombie): waits up to 2 s.
fn gone(pid: u32) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(2) {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(s) if s.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z')) => return true,
            Ok(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    false
}

async fn ask(m: &LocalChat, cancel: &Cancel) -> Result<String, tingji_llm::LlmError> {
    m.chat(&ChatRequest::new(vec![Message::user("hi")]), &mut |_| {}, cancel).await.map(|r| r.text)
}

#[tokio::test]
async fn a_worker_that_hangs_is_killed_after_the_idle_timeout_and_the_next_request_is_fine() {
    let d = TempDir::new();
    let m = chat_model(d.path(), "sleep 600", Duration::from_secs(1));
    let t0 = Instant::now();
    let e = ask(&m, &Cancel::new()).await.unwrap_err();
    assert_eq!(e.code(), "llm_timeout", "{e}");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert!(gone(pids(d.path())[0]), "the hung worker is still running");
    assert_eq!(ask(&m, &Cancel::new()).await.unwrap(), "fine");
}

#[tokio::test]
async fn a_worker_that_ignores_cancel_is_killed_after_the_grace_period() {
    let d = TempDir::new();
    // Deltas every 100 ms, for ever, whatever it is told.
    let fault = r#"while true; do echo '{"event":"delta","text":"x"}'; sleep 0.1; done"#;
    let m = chat_model(d.path(), fault, Duration::from_secs(60));
    let cancel = Cancel::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        c.cancel();
    });
    let t0 = Instant::now();
    let e = ask(&m, &cancel).await.unwrap_err();
    assert_eq!(e.code(), "cancelled", "{e}");
    let took = t0.elapsed();
    assert!(took < Duration::from_millis(500) + Duration::from_secs(6), "{took:?}");
    assert!(gone(pids(d.path())[0]), "the worker that ignored the cancel is still running");
    assert_eq!(ask(&m, &Cancel::new()).await.unwrap(), "fine");
}

#[tokio::test]
async fn a_cancel_that_lands_mid_line_keeps_the_worker() {
    let d = TempDir::new();
    // Half a delta, a pause (the cancel lands here), the rest; then it honours the cancel.
    let fault = r#"printf '{"event":"delta",'; sleep 1; echo '"text":"x"}'; read -r cancel; echo '{"event":"done","finish_reason":"cancelled"}'; continue"#;
    let m = chat_model(d.path(), fault, Duration::from_secs(60));
    let cancel = Cancel::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        c.cancel();
    });
    let e = ask(&m, &cancel).await.unwrap_err();
    assert_eq!(e.code(), "cancelled", "{e}");
    // The same process answers the next request: the line was not torn.
    assert_eq!(ask(&m, &Cancel::new()).await.unwrap(), "fine");
    assert_eq!(pids(d.path()).len(), 1, "the worker was restarted: {:?}", pids(d.path()));
}

#[tokio::test]
async fn a_worker_line_without_end_is_not_buffered() {
    let d = TempDir::new();
    // 100 MB without a newline, then a hang.
    let fault = "head -c 100000000 /dev/zero | tr '\\0' 'x'; sleep 600";
    let m = chat_model(d.path(), fault, Duration::from_secs(60));
    let t0 = Instant::now();
    // The first worker fails on its long line; the restart (a fresh process) answers.
    assert_eq!(ask(&m, &Cancel::new()).await.unwrap(), "fine");
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    assert!(gone(pids(d.path())[0]), "the first worker is still running");
}

#[tokio::test]
async fn garbage_or_an_exit_midway_restarts_the_worker_once() {
    for fault in ["echo 'not json at all'", r#"echo '{"event":"delta","text":"par"}'; exit 3"#] {
        let d = TempDir::new();
        let m = chat_model(d.path(), fault, Duration::from_secs(60));
        assert_eq!(ask(&m, &Cancel::new()).await.unwrap(), "fine", "{fault}");
        let p = pids(d.path());
        assert_eq!(p.len(), 2, "one restart: {p:?}");
        assert!(gone(p[0]), "{fault}: the first worker is still running");
    }
}
