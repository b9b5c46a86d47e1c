//! Fallback decoding through an external `ffmpeg` process.
//!
//! ffmpeg converts the selected audio stream to 32-bit float at 16 kHz (keeping the source's
//! channel count) and writes it to a pipe, which is read incrementally. The child process is
//! killed and reaped when the source is dropped.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::ffprobe::spawn_err;
pub(crate) use crate::ffprobe::{Probed, StreamInfo, probe};
use crate::{FfmpegPolicy, MediaError, Source, TARGET_RATE, Warnings};

/// Located ffmpeg (and, if found, ffprobe) executables.
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    pub ffmpeg: PathBuf,
    pub ffprobe: Option<PathBuf>,
}

fn is_executable(p: &Path) -> bool {
    match std::fs::metadata(p) {
        Ok(m) if m.is_file() => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                m.permissions().mode() & 0o111 != 0
            }
            #[cfg(not(unix))]
            {
                true
            }
        }
        _ => false,
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        let cand = dir.join(name);
        if is_executable(&cand) {
            return Some(cand);
        }
        #[cfg(windows)]
        {
            let cand = dir.join(format!("{name}.exe"));
            if is_executable(&cand) {
                return Some(cand);
            }
        }
    }
    None
}

/// `ffprobe` next to a given `ffmpeg` (same directory, same suffix).
fn sibling_ffprobe(ffmpeg: &Path) -> Option<PathBuf> {
    let name = ffmpeg.file_name()?.to_string_lossy().into_owned();
    let probe_name = if name.contains("ffmpeg") {
        name.replacen("ffmpeg", "ffprobe", 1)
    } else {
        "ffprobe".to_string()
    };
    let cand = ffmpeg.with_file_name(probe_name);
    is_executable(&cand).then_some(cand)
}

/// Resolve the policy to executables, or `None` if ffmpeg may not / cannot be used.
pub(crate) fn locate(policy: &FfmpegPolicy) -> Option<Tools> {
    locate_with(policy, std::env::var_os("TINGJI_FFMPEG"))
}

/// A configured executable: a path, or a bare name looked up on `PATH`.
fn configured(p: &Path) -> Option<PathBuf> {
    if is_executable(p) {
        Some(p.to_path_buf())
    } else if p.components().count() == 1 {
        find_on_path(&p.to_string_lossy())
    } else {
        None
    }
}

fn locate_with(policy: &FfmpegPolicy, env: Option<OsString>) -> Option<Tools> {
    let (ffmpeg, from_path) = match policy {
        FfmpegPolicy::Never => return None,
        FfmpegPolicy::Path(p) => (configured(p)?, false),
        FfmpegPolicy::Auto => match env.filter(|v| !v.is_empty()) {
            Some(v) => {
                let s = v.to_string_lossy().to_ascii_lowercase();
                if matches!(s.as_str(), "0" | "no" | "none" | "never" | "off" | "false") {
                    return None;
                }
                (configured(Path::new(&v))?, false)
            }
            None => (find_on_path("ffmpeg")?, true),
        },
    };
    let ffprobe =
        sibling_ffprobe(&ffmpeg).or_else(|| from_path.then(|| find_on_path("ffprobe")).flatten());
    Some(Tools { ffmpeg, ffprobe })
}

/// Bounded log of ffmpeg's stderr, filled by a background thread.
#[derive(Default)]
struct StderrLog {
    lines: VecDeque<String>,
    total: usize,
}

const STDERR_KEEP: usize = 20;

pub(crate) struct FfmpegSource {
    ffmpeg: PathBuf,
    path: PathBuf,
    stream_index: u32,
    channels: usize,
    child: Option<Child>,
    stdout: Option<ChildStdout>,
    stderr_thread: Option<JoinHandle<()>>,
    log: Arc<Mutex<StderrLog>>,
    bytes: Vec<u8>,
    /// Bytes of an incomplete frame carried over to the next read.
    carry: usize,
    produced: u64,
    error: Option<MediaError>,
    finished: bool,
}

const READ_BYTES: usize = 64 * 1024;

impl FfmpegSource {
    pub(crate) fn spawn(
        ffmpeg: &Path,
        path: &Path,
        stream_index: u32,
        channels: u16,
    ) -> Result<Self, MediaError> {
        let mut s = FfmpegSource {
            ffmpeg: ffmpeg.to_path_buf(),
            path: path.to_path_buf(),
            stream_index,
            channels: channels.max(1) as usize,
            child: None,
            stdout: None,
            stderr_thread: None,
            log: Default::default(),
            bytes: vec![0; READ_BYTES],
            carry: 0,
            produced: 0,
            error: None,
            finished: false,
        };
        s.start(None)?;
        Ok(s)
    }

    fn start(&mut self, start_secs: Option<f64>) -> Result<(), MediaError> {
        self.stop();
        let mut args: Vec<OsString> = ["-nostdin", "-hide_banner", "-nostats", "-v", "error"]
            .iter()
            .map(Into::into)
            .collect();
        // Seeking: a fast (keyframe/packet-accurate) input seek to a few seconds before the
        // target, then an exact output seek for the rest.
        let (coarse, fine) = match start_secs {
            Some(ss) if ss > 0.0 => {
                let coarse = (ss - 10.0).max(0.0);
                (Some(coarse), Some(ss - coarse))
            }
            _ => (None, None),
        };
        if let Some(c) = coarse.filter(|c| *c > 0.0) {
            args.push("-ss".into());
            args.push(format!("{c:.6}").into());
        }
        args.push("-i".into());
        args.push(self.path.clone().into_os_string());
        args.push("-map".into());
        args.push(format!("0:{}", self.stream_index).into());
        if let Some(f) = fine {
            args.push("-ss".into());
            args.push(format!("{f:.6}").into());
        }
        for a in [
            // Honour timestamps (pad gaps such as decoder delay, drop overlaps), so that sample
            // index == presentation time, with or without seeking.
            "-af".to_string(),
            "aresample=async=1:min_hard_comp=0.02:first_pts=0".into(),
            "-vn".into(),
            "-sn".into(),
            "-dn".into(),
            "-f".into(),
            "f32le".into(),
            "-acodec".into(),
            "pcm_f32le".into(),
            "-ac".into(),
            self.channels.to_string(),
            "-ar".into(),
            TARGET_RATE.to_string(),
            "pipe:1".into(),
        ] {
            args.push(a.into());
        }
        tracing::debug!(ffmpeg = %self.ffmpeg.display(), ?args, "spawning ffmpeg");
        let mut child = Command::new(&self.ffmpeg)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| spawn_err(&self.ffmpeg, e))?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let log = Arc::new(Mutex::new(StderrLog::default()));
        let log2 = Arc::clone(&log);
        let thread = stderr.map(|stderr| {
            std::thread::spawn(move || {
                let reader = BufReader::new(stderr);
                for line in reader.split(b'\n') {
                    let Ok(line) = line else { break };
                    let line = String::from_utf8_lossy(&line).trim().to_string();
                    if line.is_empty() {
                        continue;
                    }
                    tracing::debug!("ffmpeg: {line}");
                    if let Ok(mut l) = log2.lock() {
                        l.total += 1;
                        if l.lines.len() == STDERR_KEEP {
                            l.lines.pop_front();
                        }
                        l.lines.push_back(line);
                    }
                }
            })
        });
        self.child = Some(child);
        self.stdout = stdout;
        self.stderr_thread = thread;
        self.log = log;
        self.carry = 0;
        self.finished = false;
        self.error = None;
        Ok(())
    }

    /// Kill (if still running) and reap the child.
    fn stop(&mut self) {
        self.stdout = None;
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(t) = self.stderr_thread.take() {
            let _ = t.join();
        }
    }

    /// End of stdout: reap the child and check how it ended.
    fn finish(&mut self, warnings: &mut Warnings) {
        self.finished = true;
        self.stdout = None;
        let status = self.child.take().map(|mut c| c.wait());
        if let Some(t) = self.stderr_thread.take() {
            let _ = t.join();
        }
        let (lines, total) = match self.log.lock() {
            Ok(l) => (l.lines.iter().cloned().collect::<Vec<_>>(), l.total),
            Err(_) => (Vec::new(), 0),
        };
        let last = lines.last().cloned().unwrap_or_default();
        match status {
            Some(Ok(st)) if st.success() => {
                if total > lines.len() {
                    warnings.push(format!(
                        "ffmpeg reported {total} problems; the last ones follow"
                    ));
                }
                for l in &lines {
                    warnings.push(format!("ffmpeg: {l}"));
                }
            }
            Some(Ok(st)) => {
                let detail = if last.is_empty() {
                    format!("ffmpeg exited with {st}")
                } else {
                    last
                };
                self.error = Some(MediaError::Ffmpeg { detail });
            }
            Some(Err(e)) => {
                self.error = Some(MediaError::Ffmpeg {
                    detail: format!("waiting for ffmpeg: {e}"),
                });
            }
            None => {}
        }
    }

    pub(crate) fn take_error(&mut self) -> Option<MediaError> {
        self.error.take()
    }
}

impl Drop for FfmpegSource {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Source for FfmpegSource {
    fn read(
        &mut self,
        out: &mut Vec<Vec<f32>>,
        warnings: &mut Warnings,
    ) -> Result<Option<u32>, MediaError> {
        if self.finished {
            return Ok(None);
        }
        let frame_bytes = 4 * self.channels;
        loop {
            let Some(stdout) = self.stdout.as_mut() else {
                self.finish(warnings);
                return Ok(None);
            };
            let n = match stdout.read(&mut self.bytes[self.carry..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(MediaError::Io(e)),
            };
            if n == 0 {
                if self.carry > 0 {
                    warnings.push("ffmpeg output ended with an incomplete frame".into());
                }
                self.finish(warnings);
                return Ok(None);
            }
            let avail = self.carry + n;
            let frames = avail / frame_bytes;
            if frames == 0 {
                self.carry = avail;
                continue;
            }
            out.resize(self.channels, Vec::new());
            for ch in out.iter_mut() {
                ch.clear();
                ch.reserve(frames);
            }
            for f in self.bytes[..frames * frame_bytes].chunks_exact(frame_bytes) {
                for (c, s) in f.chunks_exact(4).enumerate() {
                    out[c].push(f32::from_le_bytes([s[0], s[1], s[2], s[3]]));
                }
            }
            let used = frames * frame_bytes;
            self.bytes.copy_within(used..avail, 0);
            self.carry = avail - used;
            self.produced += frames as u64;
            return Ok(Some(TARGET_RATE));
        }
    }

    fn seek(&mut self, frame: u64, _warnings: &mut Warnings) -> Result<Option<u64>, MediaError> {
        self.start(Some(frame as f64 / TARGET_RATE as f64))?;
        self.produced = frame;
        Ok(Some(frame))
    }

    fn take_error(&mut self) -> Option<MediaError> {
        FfmpegSource::take_error(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locating_ffmpeg() {
        assert!(locate_with(&FfmpegPolicy::Never, None).is_none());
        assert!(locate_with(&FfmpegPolicy::Auto, Some("never".into())).is_none());
        assert!(locate_with(&FfmpegPolicy::Auto, Some("/nonexistent/ffmpeg".into())).is_none());
        let missing = FfmpegPolicy::Path("/nonexistent/ffmpeg".into());
        assert!(locate_with(&missing, None).is_none());
        // ffmpeg is installed wherever these tests run.
        let t = locate_with(&FfmpegPolicy::Auto, None).expect("ffmpeg on PATH");
        assert!(t.ffmpeg.ends_with("ffmpeg"));
        let t2 = locate_with(&FfmpegPolicy::Auto, Some(t.ffmpeg.clone().into_os_string())).unwrap();
        assert_eq!(t2.ffmpeg, t.ffmpeg);
        let t3 = locate_with(&FfmpegPolicy::Path("ffmpeg".into()), None).unwrap();
        assert_eq!(t3.ffmpeg, t.ffmpeg);
    }
}
