//! Helpers shared by the CLI tests: run the real `tingji` binary, score transcripts.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn testdata() -> PathBuf {
    std::env::var_os("TINGJI_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/testdata")))
}

pub fn data(rel: &str) -> PathBuf {
    let p = testdata().join(rel);
    assert!(p.exists(), "test data missing: {}", p.display());
    p
}

pub fn tingji() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tingji"));
    c.env("TINGJI_QUIET", "1");
    c
}

/// Runs `tingji transcribe FILE --model M --format json [extra…]` and parses the transcript.
pub fn transcribe_json(file: &Path, model: &str, extra: &[&str]) -> serde_json::Value {
    let out = tingji()
        .arg("transcribe")
        .arg(file)
        .args(["--model", model, "--format", "json"])
        .args(extra)
        .output()
        .expect("run tingji");
    assert_success(&out, &format!("transcribe {}", file.display()));
    serde_json::from_slice(&out.stdout).expect("json transcript on stdout")
}

pub fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn text_of(t: &serde_json::Value) -> String {
    t["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .map(|s| s["text"].as_str().unwrap().trim().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

pub const JFK: &str = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.";

fn number_word(n: u64) -> Option<&'static str> {
    const W: [&str; 21] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
        "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
    ];
    W.get(n as usize).copied()
}

/// English normalisation for WER in the spirit of Whisper's: case, punctuation, hyphens,
/// common abbreviations and small numbers.
pub fn normalize_en(s: &str) -> Vec<String> {
    let lowered = s.to_lowercase().replace(['-', '—'], " ");
    let mut out = Vec::new();
    for w in lowered.split_whitespace() {
        let w: String = w.chars().filter(|c| c.is_alphanumeric() || *c == '\'').collect();
        let w = w.trim_matches('\'').replace('\'', "");
        if w.is_empty() {
            continue;
        }
        let w = match w.as_str() {
            "mr" => "mister".to_string(),
            "mrs" => "missus".to_string(),
            "dr" => "doctor".to_string(),
            _ => w,
        };
        if let Ok(n) = w.parse::<u64>()
            && let Some(word) = number_word(n)
        {
            out.push(word.to_string());
            continue;
        }
        out.push(w);
    }
    out
}

/// Chinese normalisation for CER: characters only (punctuation and spaces removed).
pub fn normalize_zh(s: &str) -> Vec<String> {
    s.chars().filter(|c| c.is_alphanumeric()).map(|c| c.to_lowercase().to_string()).collect()
}

pub fn edit_distance(a: &[String], b: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(x != y)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

pub fn reference(rel: &str) -> String {
    let refs = std::fs::read_to_string(testdata().join("references.tsv")).expect("references.tsv");
    refs.lines()
        .find_map(|l| {
            let mut it = l.split('\t');
            (it.next() == Some(rel)).then(|| it.nth(2).unwrap_or("").to_string())
        })
        .unwrap_or_else(|| panic!("no reference for {rel}"))
}

pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg").args(["-nostdin", "-v", "error", "-y"]).args(args).output().expect("ffmpeg on PATH");
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A data dir of its own (fresh library) that shares the provisioned models.
pub fn private_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let models = PathBuf::from(std::env::var("TINGJI_DATA_DIR").expect("TINGJI_DATA_DIR")).join("models");
    std::os::unix::fs::symlink(&models, dir.path().join("models")).unwrap();
    dir
}

/// Runs `tingji ARGS` with `data` as its data dir; asserts success and returns stdout.
pub fn run_in(data: &Path, args: &[&str]) -> String {
    let out = tingji().args(args).env("TINGJI_DATA_DIR", data).output().unwrap();
    assert_success(&out, &args.join(" "));
    String::from_utf8(out.stdout).unwrap()
}

/// `python3 -m http.server` on a free loopback port serving `dir`, killed on drop.
pub struct FileServer {
    child: std::process::Child,
    pub url: String,
}

impl FileServer {
    pub fn start(dir: &Path) -> FileServer {
        let mut child = Command::new("python3")
            .args(["-u", "-m", "http.server", "--bind", "127.0.0.1", "0", "--directory"])
            .arg(dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        let port = line.split(" port ").nth(1).and_then(|r| r.split_whitespace().next()).unwrap_or_else(|| panic!("http.server said {line:?}"));
        FileServer { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file under `dir` (none when it cannot be read).
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
