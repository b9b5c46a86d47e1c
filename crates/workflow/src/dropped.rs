//! What a drop (or a file picker) hands the app: files stay as given, folders become the media
//! files inside them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Extensions a dropped folder is searched for (a file dropped on its own is always tried).
pub const MEDIA_EXTENSIONS: &[&str] = &[
    "wav", "mp3", "m4a", "aac", "flac", "ogg", "oga", "opus", "wma", "aiff", "aif", "caf", "amr", "mp4", "m4v", "mov", "mkv", "webm",
    "avi", "wmv", "flv", "ts", "mts", "3gp",
];

/// Folders deeper than this below a dropped one are not searched.
const MAX_DEPTH: usize = 32;

/// Files as given; folders as the media files inside them (recursively, sorted). A folder is
/// searched once however many links lead to it, so a link to a parent does not loop.
pub fn expand(paths: impl IntoIterator<Item = PathBuf>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(&p, 0, &mut seen, &mut found);
            found.sort();
            out.extend(found);
        } else {
            out.push(p);
        }
    }
    out
}

fn walk(dir: &Path, depth: usize, seen: &mut HashSet<PathBuf>, out: &mut Vec<PathBuf>) {
    let Ok(real) = dir.canonicalize() else { return };
    if depth > MAX_DEPTH || !seen.insert(real) {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, depth + 1, seen, out);
        } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| MEDIA_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())) {
            out.push(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_folder_becomes_its_media_files_in_order_and_a_file_stays_as_given() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("day 2");
        std::fs::create_dir_all(&sub).unwrap();
        for f in ["b.MP3", "a.wav", "notes.txt", "day 2/c.mkv", "day 2/cover.jpg"] {
            std::fs::write(d.path().join(f), b"x").unwrap();
        }
        let odd = d.path().join("notes.txt");
        let got = expand([d.path().to_path_buf(), odd.clone()]);
        let names: Vec<String> = got.iter().map(|p| p.strip_prefix(d.path()).unwrap().display().to_string()).collect();
        // Folders keep media only (case-insensitive extensions); a file the user names is tried whatever it is.
        assert_eq!(names, ["a.wav", "b.MP3", "day 2/c.mkv", "notes.txt"]);
    }

    #[cfg(unix)]
    #[test]
    fn links_back_to_a_parent_are_searched_once() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(d.path().join("a.wav"), b"x").unwrap();
        std::fs::write(sub.join("b.wav"), b"x").unwrap();
        // A loop (sub/up -> the dropped folder) and a second way into sub (alias -> sub).
        std::os::unix::fs::symlink(d.path(), sub.join("up")).unwrap();
        std::os::unix::fs::symlink(&sub, d.path().join("alias")).unwrap();
        let got = expand([d.path().to_path_buf()]);
        let names: Vec<String> = got.iter().map(|p| p.strip_prefix(d.path()).unwrap().display().to_string()).collect();
        assert_eq!(names.len(), 2, "each file once: {names:?}");
        assert!(names.contains(&"a.wav".to_string()), "{names:?}");
    }
}
