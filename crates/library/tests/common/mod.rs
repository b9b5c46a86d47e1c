//! Helpers shared by the library's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use tingji_transcript::{ModelInfo, Parameters, Sampling, Script, Segment, SourceInfo, Transcript, Word};

/// The shared test-data directory (override with `TINGJI_TESTDATA`).
pub fn testdata() -> PathBuf {
    match std::env::var_os("TINGJI_TESTDATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata")),
    }
}

/// `(language, reference text)` of every line of `references.tsv`.
pub fn references() -> Vec<(String, String)> {
    let path = testdata().join("references.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols.len() >= 4).then(|| (cols[1].to_string(), cols[3].to_string()))
        })
        .collect()
}

pub fn reference(lang: &str, contains: &str) -> String {
    references()
        .into_iter()
        .find(|(l, t)| l == lang && t.contains(contains))
        .unwrap_or_else(|| panic!("no {lang} reference containing {contains:?}"))
        .1
}

/// A transcript with the given `(start_ms, end_ms, text, speaker)` segments; each segment gets
/// one word per whitespace-separated piece (or per character for Chinese) with made-up times.
pub fn transcript(language: &str, segs: &[(u64, u64, &str, Option<&str>)]) -> Transcript {
    let segments = segs
        .iter()
        .map(|&(start, end, text, speaker)| {
            let pieces: Vec<String> = if text.contains(' ') {
                text.split_whitespace().map(str::to_string).collect()
            } else {
                text.chars().map(|c| c.to_string()).collect()
            };
            let step = (end - start) / pieces.len().max(1) as u64;
            let words = pieces
                .iter()
                .enumerate()
                .map(|(i, w)| Word {
                    start_ms: start + step * i as u64,
                    end_ms: start + step * (i as u64 + 1),
                    text: w.clone(),
                    p: 0.5 + (i % 5) as f32 * 0.1,
                })
                .collect();
            Segment { start_ms: start, end_ms: end, text: text.to_string(), channel: None, speaker: speaker.map(str::to_string), words }
        })
        .collect();
    Transcript {
        version: tingji_transcript::SCHEMA_VERSION,
        source: SourceInfo {
            path: "/recordings/meeting.wav".into(),
            container: "wav".into(),
            codec: "pcm_s16le".into(),
            sample_rate: 16000,
            channels: 1,
            track_note: None,
        },
        language: language.into(),
        language_probability: Some(0.93),
        duration_ms: segs.last().map_or(0, |s| s.1),
        model: ModelInfo { name: "base".into(), ftype: Some("q8_0".into()), multilingual: true },
        parameters: Parameters {
            language: "auto".into(),
            sampling: Sampling::Beam { beam_size: 5 },
            threads: 2,
            initial_prompt: None,
            temperature: 0.0,
            temperature_inc: 0.2,
            vad: true,
            separate_channels: false,
            script: Script::Simplified,
        },
        segments,
        warnings: vec![],
    }
}

pub fn sha256(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// Writes a small fake media file of `len` bytes with varied content.
pub fn media_file(dir: &Path, name: &str, len: usize) -> PathBuf {
    let p = dir.join(name);
    let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Minimal xorshift generator (tests must not depend on a random crate).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
