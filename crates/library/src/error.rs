use std::path::PathBuf;

/// Every error the library returns; [`LibraryError::code`] is stable for front ends.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LibraryError {
    #[error("library database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error(
        "library database schema version {found} is newer than this build supports ({supported})"
    )]
    NewerSchema { found: u32, supported: u32 },
    #[error("the copy of {} does not match the original (sha256 {expected} vs {found})", path.display())]
    ChecksumMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("version {0} is the meeting's only transcript version; delete the meeting instead")]
    LastVersion(i64),
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not a Tingji meeting export: {0}")]
    InvalidExport(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("transcript schema version {found} is newer than this build supports ({supported})")]
    TranscriptVersion { found: u32, supported: u32 },
    #[doc(hidden)]
    #[error("injected failure at {0}")]
    Injected(&'static str),
}

impl LibraryError {
    pub fn code(&self) -> &'static str {
        match self {
            LibraryError::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull => {
                "disk_full"
            }
            LibraryError::Db(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DiskFull =>
            {
                "disk_full"
            }
            LibraryError::Db(_) => "library_db",
            LibraryError::Io { .. } => "library_io",
            LibraryError::NotFound { .. } => "not_found",
            LibraryError::NewerSchema { .. } => "library_version",
            LibraryError::ChecksumMismatch { .. } => "checksum_mismatch",
            LibraryError::LastVersion(_) => "last_version",
            LibraryError::Json(_) => "invalid_json",
            LibraryError::InvalidExport(_) => "invalid_export",
            LibraryError::InvalidInput(_) => "invalid_input",
            LibraryError::TranscriptVersion { .. } => "transcript_version",
            LibraryError::Injected(_) => "injected_failure",
        }
    }

    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| LibraryError::Io { op, path, source }
    }

    pub(crate) fn not_found(what: &'static str, id: impl ToString) -> Self {
        LibraryError::NotFound {
            what,
            id: id.to_string(),
        }
    }
}

pub type Result<T, E = LibraryError> = std::result::Result<T, E>;
