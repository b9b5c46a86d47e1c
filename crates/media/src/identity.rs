//! Which version of a file a piece of resumable work was done on.

use std::path::Path;

/// `"{size}|{mtime ns}"` of `path` (zeros when it cannot be read): a checkpoint keyed with it is
/// not resumed once the file has changed.
pub fn file_identity(path: &Path) -> String {
    let meta = std::fs::metadata(path).ok();
    let size = meta.as_ref().map_or(0, |m| m.len());
    let mtime = meta
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("{size}|{mtime}")
}
