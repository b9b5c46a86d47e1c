//! Probing a file with `ffprobe` (or the banner `ffmpeg -i` prints when there is no ffprobe):
//! its container, streams, codecs, rates and channels, for the ffmpeg fallback to pick a stream.
//! A probe that hangs is killed after a bound.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::MediaError;
use crate::ffmpeg::Tools;

/// One stream as reported by ffprobe / ffmpeg.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamInfo {
    pub index: u32,
    pub codec_type: String,
    pub codec_name: String,
    pub sample_rate: Option<u32>,
    pub channels: Option<u16>,
    pub duration: Option<f64>,
    pub default: bool,
}

/// What ffprobe / ffmpeg found in a file.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProbeInfo {
    pub format_name: String,
    pub duration: Option<f64>,
    pub probe_score: Option<u32>,
    pub streams: Vec<StreamInfo>,
}

impl ProbeInfo {
    pub fn audio(&self) -> impl Iterator<Item = &StreamInfo> {
        self.streams.iter().filter(|s| s.codec_type == "audio")
    }
}

/// Result of probing: the info, or the reason ffmpeg could not read the file.
pub(crate) enum Probed {
    Ok(ProbeInfo),
    Failed(String),
}

/// How long a probe (`ffprobe`, or `ffmpeg -i`) may take: it reads a file's header, so a probe
/// still running after this is stuck (a pipe, a dead network share) and is killed.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs `cmd` to the end like `Command::output`, killing it after `limit`.
fn output_within(
    cmd: &mut Command,
    exe: &Path,
    limit: std::time::Duration,
) -> Result<std::process::Output, MediaError> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_err(exe, e))?;
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut v);
            }
            v
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let t0 = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if t0.elapsed() < limit => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(MediaError::Ffmpeg {
                    detail: format!(
                        "{} gave no answer in {} s (stopped)",
                        exe.display(),
                        limit.as_secs()
                    ),
                });
            }
            Err(e) => return Err(spawn_err(exe, e)),
        }
    };
    Ok(std::process::Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

pub(crate) fn spawn_err(exe: &Path, e: std::io::Error) -> MediaError {
    MediaError::Ffmpeg {
        detail: format!("cannot run {}: {e}", exe.display()),
    }
}

fn last_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

/// Probe `path` with ffprobe (or `ffmpeg -i` when there is no ffprobe).
pub(crate) fn probe(tools: &Tools, path: &Path) -> Result<Probed, MediaError> {
    match &tools.ffprobe {
        Some(ffprobe) => probe_ffprobe(ffprobe, path),
        None => probe_ffmpeg(&tools.ffmpeg, path),
    }
}

fn unquote(v: &str) -> &str {
    v.trim().trim_matches('"')
}

fn probe_ffprobe(ffprobe: &Path, path: &Path) -> Result<Probed, MediaError> {
    let out = output_within(
        Command::new(ffprobe)
            .args(["-v", "error", "-show_entries"])
            .arg(
                "format=format_name,duration,probe_score:stream=index,codec_type,codec_name,\
                 sample_rate,channels,duration:stream_disposition=default",
            )
            .args(["-of", "flat"])
            .arg(path)
            .stdin(Stdio::null()),
        ffprobe,
        PROBE_TIMEOUT,
    )?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let line = last_line(&stderr);
        return Ok(Probed::Failed(if line.is_empty() {
            format!("ffprobe exited with {}", out.status)
        } else {
            line
        }));
    }
    let mut info = ProbeInfo::default();
    let mut streams: std::collections::BTreeMap<u32, StreamInfo> = Default::default();
    for line in stdout.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(value);
        if let Some(rest) = key.strip_prefix("format.") {
            match rest {
                "format_name" => info.format_name = value.to_string(),
                "duration" => info.duration = value.parse().ok(),
                "probe_score" => info.probe_score = value.parse().ok(),
                _ => {}
            }
        } else if let Some(rest) = key.strip_prefix("streams.stream.") {
            let Some((n, field)) = rest.split_once('.') else {
                continue;
            };
            let Ok(n) = n.parse::<u32>() else { continue };
            let s = streams.entry(n).or_default();
            match field {
                "index" => s.index = value.parse().unwrap_or(n),
                "codec_type" => s.codec_type = value.to_string(),
                "codec_name" => s.codec_name = value.to_string(),
                "sample_rate" => s.sample_rate = value.parse().ok().filter(|&r| r > 0),
                "channels" => s.channels = value.parse().ok().filter(|&c| c > 0),
                "duration" => s.duration = value.parse().ok(),
                "disposition.default" => s.default = value == "1",
                _ => {}
            }
        }
    }
    info.streams = streams.into_values().collect();
    Ok(Probed::Ok(info))
}

fn parse_duration(s: &str) -> Option<f64> {
    let mut parts = s.trim().split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let sec: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + sec)
}

fn parse_channels(s: &str) -> Option<u16> {
    let s = s.trim();
    let base = s.split('(').next().unwrap_or(s).trim();
    Some(match base {
        "mono" => 1,
        "stereo" | "downmix" => 2,
        "2.1" | "3.0" => 3,
        "quad" | "4.0" | "3.1" => 4,
        "5.0" | "4.1" => 5,
        "5.1" | "6.0" => 6,
        "6.1" | "7.0" => 7,
        "7.1" => 8,
        _ => {
            let n = base.strip_suffix("channels")?.trim();
            n.parse().ok()?
        }
    })
}

/// Parse the stream list `ffmpeg -i FILE` prints on stderr.
fn probe_ffmpeg(ffmpeg: &Path, path: &Path) -> Result<Probed, MediaError> {
    let out = output_within(
        Command::new(ffmpeg)
            .args(["-hide_banner", "-nostdin", "-i"])
            .arg(path)
            .stdin(Stdio::null()),
        ffmpeg,
        PROBE_TIMEOUT,
    )?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    Ok(parse_ffmpeg_banner(&stderr))
}

pub(crate) fn parse_ffmpeg_banner(stderr: &str) -> Probed {
    let mut info = ProbeInfo::default();
    let mut found_input = false;
    for line in stderr.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("Input #0, ") {
            found_input = true;
            info.format_name = rest.split(", from").next().unwrap_or("").to_string();
        } else if let Some(rest) = t.strip_prefix("Duration: ") {
            info.duration = parse_duration(rest.split(',').next().unwrap_or(""));
        } else if let Some(rest) = t.strip_prefix("Stream #0:") {
            let idx: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let Ok(index) = idx.parse() else { continue };
            let mut s = StreamInfo {
                index,
                ..Default::default()
            };
            let kinds = [
                ("Audio: ", "audio"),
                ("Video: ", "video"),
                ("Subtitle: ", "subtitle"),
                ("Data: ", "data"),
            ];
            let Some((desc, kind)) = kinds
                .iter()
                .find_map(|(k, n)| rest.split_once(k).map(|(_, d)| (d, *n)))
            else {
                continue;
            };
            s.codec_type = kind.to_string();
            s.codec_name = desc.split([' ', ',']).next().unwrap_or("").to_string();
            s.default = rest.contains("(default)");
            if kind == "audio" {
                let fields: Vec<&str> = desc.split(", ").collect();
                for (i, f) in fields.iter().enumerate() {
                    if let Some(hz) = f.strip_suffix(" Hz") {
                        s.sample_rate = hz.trim().parse().ok();
                        if let Some(ch) = fields.get(i + 1) {
                            s.channels = parse_channels(ch);
                        }
                    }
                }
            }
            info.streams.push(s);
        }
    }
    if found_input {
        Probed::Ok(info)
    } else {
        Probed::Failed(last_line(stderr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_probe_that_hangs_is_stopped_with_a_named_error() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let exe = d.path().join("ffprobe");
        std::fs::write(&exe, "#!/bin/sh\necho started\nexec sleep 600\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let t0 = std::time::Instant::now();
        let e = output_within(
            &mut Command::new(&exe),
            &exe,
            std::time::Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            t0.elapsed()
        );
        assert_eq!(e.code(), "ffmpeg");
        assert!(e.to_string().contains("gave no answer"), "{e}");
        // One that answers in time is read whole.
        let out = output_within(
            Command::new("sh").args(["-c", "echo out; echo err >&2"]),
            &exe,
            PROBE_TIMEOUT,
        )
        .unwrap();
        assert_eq!(
            (out.stdout.as_slice(), out.stderr.as_slice()),
            (&b"out\n"[..], &b"err\n"[..])
        );
    }

    #[test]
    fn banner_parsing() {
        let s = "Input #0, asf, from 'x.wma':\n  Metadata:\n    encoder : Lavf\n  Duration: 00:00:11.05, start: 0.000000, bitrate: 66 kb/s\n  Stream #0:0: Audio: wmav2 (a[1][0][0] / 0x0161), 16000 Hz, 2 channels, fltp, 64 kb/s\n  Stream #0:1(eng): Audio: aac (LC), 44100 Hz, 5.1(side), fltp (default)\nAt least one output file must be specified\n";
        let Probed::Ok(info) = parse_ffmpeg_banner(s) else {
            panic!()
        };
        assert_eq!(info.format_name, "asf");
        assert!((info.duration.unwrap() - 11.05).abs() < 1e-9);
        assert_eq!(info.streams.len(), 2);
        assert_eq!(info.streams[0].codec_name, "wmav2");
        assert_eq!(info.streams[0].channels, Some(2));
        assert_eq!(info.streams[0].sample_rate, Some(16000));
        assert_eq!(info.streams[1].channels, Some(6));
        assert!(info.streams[1].default);
        let Probed::Failed(m) =
            parse_ffmpeg_banner("x.txt: Invalid data found when processing input\n")
        else {
            panic!()
        };
        assert!(m.contains("Invalid data"));
    }
}
