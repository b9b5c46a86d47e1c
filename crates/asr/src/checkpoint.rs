//! Crash-safe partial transcripts: one JSON line per finished window, appended and fsynced, so a
//! killed run resumes after the last finished window instead of starting again.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tingji_transcript::Segment;

use crate::AsrError;

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    checkpoint: u32,
    key: String,
}

/// One finished window's contribution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// Per output channel: every source sample before this is transcribed (or silent).
    pub done_upto: Vec<u64>,
    pub language: String,
    pub language_probability: Option<f32>,
    pub segments: Vec<Segment>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

pub struct Checkpoint {
    path: PathBuf,
    file: File,
}

/// What an earlier, interrupted run left.
#[derive(Debug, Default)]
pub struct Restored {
    pub entries: Vec<Entry>,
}

impl Checkpoint {
    /// Opens (or creates) the checkpoint at `path` for `key`. An existing file with another key
    /// (other file, model or parameters) is discarded; a torn last line is ignored.
    pub fn open(path: &Path, key: &str) -> Result<(Checkpoint, Restored), AsrError> {
        let mut restored = Restored::default();
        if let Ok(f) = File::open(path) {
            let mut lines = BufReader::new(f).lines();
            let same = matches!(lines.next(), Some(Ok(l)) if serde_json::from_str::<Header>(&l).is_ok_and(|h| h.key == key));
            if same {
                for line in lines.map_while(Result::ok) {
                    match serde_json::from_str::<Entry>(&line) {
                        Ok(e) => restored.entries.push(e),
                        Err(_) => break, // torn write at the crash point
                    }
                }
            }
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Rewrite cleanly (drops a torn tail), then append from here on.
        let tmp = path.with_extension("tmp");
        {
            let mut f = File::create(&tmp)?;
            writeln!(f, "{}", serde_json::to_string(&Header { checkpoint: 1, key: key.to_string() }).expect("header"))?;
            for e in &restored.entries {
                writeln!(f, "{}", serde_json::to_string(e).expect("entry"))?;
            }
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok((Checkpoint { path: path.to_path_buf(), file }, restored))
    }

    pub fn append(&mut self, e: &Entry) -> Result<(), AsrError> {
        let mut line = serde_json::to_string(e).expect("entry");
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.sync_data()?;
        Ok(())
    }

    /// The transcript is complete: the partial file is no longer needed.
    pub fn finish(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
