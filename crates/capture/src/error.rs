use std::path::PathBuf;

/// Everything that can go wrong while listing devices, recording or recovering.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    #[error("no audio system is available: {0}")]
    HostUnavailable(String),
    #[error("no {kind} device named {name:?}; available: {available}")]
    DeviceNotFound { kind: &'static str, name: String, available: String },
    #[error("there is no default {0} device")]
    NoDefault(&'static str),
    #[error("nothing to record: both the microphone and the system audio are \"none\"")]
    NothingToRecord,
    #[error("cannot open {device}: {detail}")]
    Open { device: String, detail: String },
    #[error("{device} delivered no audio within {waited_ms} ms")]
    NoAudio { device: String, waited_ms: u64 },
    #[error("{device} disappeared while recording ({detail}); the audio up to that point is saved")]
    DeviceLost { device: String, detail: String },
    #[error("the disk is full: {path}; the audio up to that point is saved")]
    DiskFull { path: PathBuf },
    #[error("{path} exists already; recordings never overwrite a file")]
    Exists { path: PathBuf },
    #[error("{path} is not a recording this app can repair: {detail}")]
    NotRepairable { path: PathBuf, detail: String },
    #[error("{path} is being recorded by a running process")]
    Busy { path: PathBuf },
    #[error("I/O error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the recorder stopped unexpectedly")]
    WorkerGone,
}

impl CaptureError {
    /// Stable machine-readable code (CLI `error[code]`, IPC).
    pub fn code(&self) -> &'static str {
        match self {
            CaptureError::HostUnavailable(_) => "audio_host_unavailable",
            CaptureError::DeviceNotFound { .. } => "device_not_found",
            CaptureError::NoDefault(_) => "no_default_device",
            CaptureError::NothingToRecord => "nothing_to_record",
            CaptureError::Open { .. } => "device_open",
            CaptureError::NoAudio { .. } => "no_audio",
            CaptureError::DeviceLost { .. } => "device_lost",
            CaptureError::DiskFull { .. } => "disk_full",
            CaptureError::Exists { .. } => "exists",
            CaptureError::NotRepairable { .. } => "not_repairable",
            CaptureError::Busy { .. } => "busy",
            CaptureError::Io { .. } => "io",
            CaptureError::WorkerGone => "worker_gone",
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> CaptureError {
        if source.raw_os_error() == Some(28) || source.kind() == std::io::ErrorKind::StorageFull {
            return CaptureError::DiskFull { path: path.to_path_buf() };
        }
        CaptureError::Io { path: path.to_path_buf(), source }
    }
}

pub type Result<T, E = CaptureError> = std::result::Result<T, E>;
