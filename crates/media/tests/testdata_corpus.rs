//! Every audio file of the shared test corpus decodes natively to its ffprobe duration (±1 %).

mod common;

use std::process::Command;

use common::*;
use tingji_media::{AudioStream, Backend, DecodeOptions};

fn ffprobe_duration(p: &std::path::Path) -> f64 {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "default=nw=1:nk=1",
        ])
        .arg(p)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn audio_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            audio_files(&p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("wav" | "mp3" | "flac" | "aiff" | "ogg" | "opus" | "m4a")
        ) {
            out.push(p);
        }
    }
}

#[test]
fn every_corpus_file_decodes() {
    let mut files = Vec::new();
    audio_files(&testdata(), &mut files);
    files.sort();
    assert!(files.len() >= 10, "{} files", files.len());
    for p in files {
        let mut s = AudioStream::open(&p, &DecodeOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(s.info().backend, Backend::Native, "{}", p.display());
        let mut n = 0usize;
        while let Some(c) = s.next_chunk().unwrap() {
            n += c.len();
        }
        let got = n as f64 / 16_000.0;
        let want = ffprobe_duration(&p);
        eprintln!(
            "{}: {got:.3} s (ffprobe {want:.3} s) {:?}",
            p.display(),
            s.warnings()
        );
        // MP3s: ffprobe counts encoder delay/padding that gapless decoding removes.
        let tol = (want * 0.01).max(0.1);
        assert!(
            (got - want).abs() <= tol,
            "{}: {got} s vs {want} s",
            p.display()
        );
    }
}
