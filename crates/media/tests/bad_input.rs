//! Bad input is classified into the right MediaError variant: never a panic, never a hang.

mod common;

use std::io::Write;
use std::path::Path;

use common::*;
use tingji_media::{AudioStream, Backend, DecodeOptions, FfmpegPolicy, MediaError, decode_all};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn policies() -> [DecodeOptions; 2] {
    [
        DecodeOptions::default(),
        DecodeOptions {
            ffmpeg: FfmpegPolicy::Never,
            ..Default::default()
        },
    ]
}

fn open_err(p: &Path, opts: &DecodeOptions) -> MediaError {
    match AudioStream::open(p, opts) {
        Ok(s) => panic!("{} opened: {:?}", p.display(), s.info()),
        Err(e) => {
            eprintln!("{}: {} -> {e}", p.display(), e.code());
            e
        }
    }
}

/// Pseudo-random bytes (xorshift), deterministic.
fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn missing_file() {
    for o in policies() {
        let e = open_err(Path::new("/nonexistent/dir/file.wav"), &o);
        assert!(matches!(e, MediaError::NotFound(_)), "{e:?}");
        assert_eq!(e.code(), "not_found");
    }
}

#[test]
fn directory() {
    let d = tmp();
    for o in policies() {
        let e = open_err(d.path(), &o);
        assert!(matches!(e, MediaError::IsDirectory(_)), "{e:?}");
        assert_eq!(e.code(), "is_directory");
    }
}

#[test]
fn empty_file() {
    let d = tmp();
    for name in ["empty.wav", "empty.mp4", "empty"] {
        let p = d.path().join(name);
        std::fs::File::create(&p).unwrap();
        for o in policies() {
            let e = open_err(&p, &o);
            assert!(matches!(e, MediaError::Empty(_)), "{e:?}");
            assert_eq!(e.code(), "empty");
        }
    }
}

#[test]
fn random_bytes_named_wav() {
    let d = tmp();
    for (i, size) in [100usize, 4096, 300_000].into_iter().enumerate() {
        for name in ["noise.wav", "noise.mp3", "noise.mp4", "noise.bin"] {
            let p = d.path().join(format!("{i}-{name}"));
            std::fs::write(&p, random_bytes(size, 0x9E37_79B9_7F4A_7C15 + i as u64)).unwrap();
            for o in policies() {
                let e = open_err(&p, &o);
                assert!(
                    matches!(e, MediaError::NotMedia { .. } | MediaError::Corrupt { .. }),
                    "{}: {e:?}",
                    p.display()
                );
            }
        }
    }
}

#[test]
fn wav_header_then_garbage() {
    // A valid RIFF/WAVE start followed by random bytes: recognised, but corrupt.
    let d = tmp();
    let p = d.path().join("bad.wav");
    let mut bytes = b"RIFF\x24\x00\x10\x00WAVEfmt ".to_vec();
    bytes.extend(random_bytes(50_000, 7));
    std::fs::write(&p, bytes).unwrap();
    for o in policies() {
        let e = open_err(&p, &o);
        assert!(
            matches!(e, MediaError::Corrupt { .. } | MediaError::NotMedia { .. }),
            "{e:?}"
        );
    }
}

#[test]
fn text_files() {
    let d = tmp();
    let text =
        "WEBVTT\n\n00:00.000 --> 00:01.000\nHello there, this is a subtitle file.\n".repeat(20);
    for name in ["notes.txt", "notes.mp3", "subs.vtt", "lyrics.wav", "readme"] {
        let p = d.path().join(name);
        std::fs::write(&p, &text).unwrap();
        for o in policies() {
            let e = open_err(&p, &o);
            assert!(matches!(e, MediaError::NotMedia { .. }), "{name}: {e:?}");
            assert_eq!(e.code(), "not_media");
            assert!(e.to_string().contains("not an audio or video file"), "{e}");
        }
    }
    // Chinese text too.
    let p = d.path().join("中文.txt");
    std::fs::write(&p, "这是一个文本文件，不是音频。\n".repeat(50)).unwrap();
    assert!(matches!(
        open_err(&p, &DecodeOptions::default()),
        MediaError::NotMedia { .. }
    ));
}

#[test]
fn image_is_not_media() {
    let d = tmp();
    let p = d.path().join("pic.png");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x64",
        "-frames:v",
        "1",
        p.to_str().unwrap(),
    ]);
    for o in policies() {
        let e = open_err(&p, &o);
        assert!(matches!(e, MediaError::NotMedia { .. }), "{e:?}");
    }
}

fn video_only(dir: &Path, name: &str, vcodec: &[&str]) -> std::path::PathBuf {
    let p = dir.join(name);
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=25:duration=3",
    ];
    args.extend_from_slice(vcodec);
    args.push(p.to_str().unwrap());
    ffmpeg(&args);
    p
}

#[test]
fn video_without_audio() {
    let d = tmp();
    for (name, vc) in [
        (
            "silent.mp4",
            &["-c:v", "libx264", "-preset", "ultrafast"][..],
        ),
        (
            "silent.mkv",
            &["-c:v", "libx264", "-preset", "ultrafast"][..],
        ),
        (
            "silent.webm",
            &[
                "-c:v",
                "libvpx-vp9",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
            ][..],
        ),
        ("silent.avi", &["-c:v", "mpeg4"][..]),
    ] {
        let p = video_only(d.path(), name, vc);
        for o in policies() {
            let e = open_err(&p, &o);
            let ok = matches!(e, MediaError::NoAudioTrack(_))
                // Without ffmpeg an AVI cannot even be opened.
                || (name.ends_with(".avi") && o.ffmpeg == FfmpegPolicy::Never
                    && e.code() == "ffmpeg_missing");
            assert!(ok, "{name}: {e:?}");
        }
    }
}

fn truncate_half(src: &Path, dst: &Path) {
    let bytes = std::fs::read(src).unwrap();
    std::fs::write(dst, &bytes[..bytes.len() / 2]).unwrap();
}

/// Truncated files either decode the available part (with a warning) or give a classified
/// error; never panic, never hang.
fn check_truncated(p: &Path, must_decode: bool) {
    for o in policies() {
        match AudioStream::open(p, &o) {
            Ok(mut s) => {
                let mut n = 0usize;
                let mut err = None;
                loop {
                    match s.next_chunk() {
                        Ok(Some(c)) => n += c.len(),
                        Ok(None) => break,
                        Err(e) => {
                            err = Some(e);
                            break;
                        }
                    }
                }
                eprintln!(
                    "{}: {:?} decoded {n} samples, err {err:?}, warnings {:?}",
                    p.display(),
                    s.info().backend,
                    s.warnings()
                );
                if let Some(e) = err {
                    assert!(
                        matches!(
                            e,
                            MediaError::Truncated { .. }
                                | MediaError::Corrupt { .. }
                                | MediaError::Ffmpeg { .. }
                        ),
                        "{e:?}"
                    );
                } else {
                    // About half of the 11 s, and the caller is told.
                    assert!(n > 30_000 && n < 130_000, "{n} samples");
                    assert!(
                        s.warnings()
                            .iter()
                            .any(|w| w.starts_with("file is truncated at ")),
                        "{}: {:?}",
                        p.display(),
                        s.warnings()
                    );
                    assert!(s.truncated_at_ms().is_some());
                }
            }
            Err(e) => {
                eprintln!("{}: {e:?}", p.display());
                assert!(!must_decode, "{}: {e}", p.display());
                assert!(
                    matches!(e, MediaError::Truncated { .. } | MediaError::Corrupt { .. }),
                    "{e:?}"
                );
            }
        }
    }
}

#[test]
fn truncated_wav_decodes_with_warning() {
    let d = tmp();
    let p = d.path().join("half.wav");
    truncate_half(&jfk_wav(), &p);
    let mut s = AudioStream::open(&p, &DecodeOptions::default()).unwrap();
    assert_eq!(s.info().backend, Backend::Native);
    let mut n = 0;
    while let Some(c) = s.next_chunk().unwrap() {
        n += c.len();
    }
    assert!(n.abs_diff(88_000) < 2000, "{n}");
    assert!(
        s.warnings()
            .iter()
            .any(|w| w.starts_with("file is truncated at 5.")),
        "{:?}",
        s.warnings()
    );
    let at = s.truncated_at_ms().unwrap();
    assert!(at.abs_diff(5500) < 150, "{at}");
    check_truncated(&p, true);
}

#[test]
fn truncated_mp3() {
    let d = tmp();
    let full = make_from_jfk(d.path(), "full.mp3", &["-c:a", "libmp3lame", "-b:a", "64k"]);
    let p = d.path().join("half.mp3");
    truncate_half(&full, &p);
    check_truncated(&p, true);
    let (_, ch) = decode_all(&p, &DecodeOptions::default()).unwrap();
    assert!(ch[0].len().abs_diff(88_000) < 4000, "{}", ch[0].len());
}

#[test]
fn truncated_mp4_moov_at_end() {
    // ffmpeg writes the index (moov) at the end: half a file has no index -> Corrupt.
    let d = tmp();
    let full = make_video(
        d.path(),
        "full.mp4",
        &["-c:v", "libx264", "-preset", "ultrafast"],
        &["-c:a", "aac"],
    );
    let p = d.path().join("half.mp4");
    truncate_half(&full, &p);
    check_truncated(&p, false);
}

#[test]
fn truncated_mp4_faststart() {
    // Index at the front: the first half of the audio is decodable.
    let d = tmp();
    let full = make_video(
        d.path(),
        "full.mp4",
        &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-movflags",
            "+faststart",
        ],
        &["-c:a", "aac"],
    );
    let p = d.path().join("half.mp4");
    truncate_half(&full, &p);
    check_truncated(&p, false);
}

#[test]
fn truncated_flac_and_ogg() {
    let d = tmp();
    for (name, opts) in [
        ("a.flac", &["-c:a", "flac"][..]),
        ("a.ogg", &["-c:a", "libvorbis"][..]),
        ("a.opus", &["-c:a", "libopus"][..]),
        ("a.m4a", &["-c:a", "aac", "-movflags", "+faststart"][..]),
    ] {
        let full = make_from_jfk(d.path(), name, opts);
        let p = d.path().join(format!("half-{name}"));
        truncate_half(&full, &p);
        check_truncated(&p, false);
    }
}

#[test]
fn header_only_wav() {
    // 44-byte header claiming 11 s of data, and nothing else.
    let d = tmp();
    let p = d.path().join("hdr.wav");
    let bytes = std::fs::read(jfk_wav()).unwrap();
    std::fs::write(&p, &bytes[..44]).unwrap();
    for o in policies() {
        match AudioStream::open(&p, &o) {
            Ok(mut s) => assert!(s.next_chunk().unwrap().is_none()),
            Err(e) => assert!(
                matches!(e, MediaError::Truncated { .. } | MediaError::Corrupt { .. }),
                "{e:?}"
            ),
        }
    }
    // Cut inside the header: cannot be parsed -> Corrupt.
    std::fs::write(&p, &bytes[..20]).unwrap();
    for o in policies() {
        let e = open_err(&p, &o);
        assert!(matches!(e, MediaError::Corrupt { .. }), "{e:?}");
    }
}

#[test]
fn damaged_packets_mid_stream_are_skipped() {
    let d = tmp();
    for (name, opts) in [
        ("a.mp3", &["-c:a", "libmp3lame", "-b:a", "128k"][..]),
        ("a.flac", &["-c:a", "flac"][..]),
        ("a.ogg", &["-c:a", "libvorbis"][..]),
    ] {
        let full = make_from_jfk(d.path(), name, opts);
        let mut bytes = std::fs::read(&full).unwrap();
        // Overwrite 3 % of the file in the middle with noise.
        let mid = bytes.len() / 2;
        let n = bytes.len() * 3 / 100;
        bytes[mid..mid + n].copy_from_slice(&random_bytes(n, 42));
        let p = d.path().join(format!("damaged-{name}"));
        std::fs::File::create(&p)
            .unwrap()
            .write_all(&bytes)
            .unwrap();
        let mut s = AudioStream::open(&p, &DecodeOptions::default()).unwrap();
        assert_eq!(s.info().backend, Backend::Native);
        let mut out = Vec::new();
        while let Some(c) = s.next_chunk().unwrap() {
            out.extend_from_slice(&c.channels[0]);
        }
        eprintln!("{name}: {} samples, warnings {:?}", out.len(), s.warnings());
        assert!(out.len() > 140_000, "{name}: only {} samples", out.len());
        assert!(out.iter().all(|x| x.is_finite()));
        // The undamaged first third is intact.
        let r = jfk_reference();
        let (corr, _) = similarity(&out[..50_000], &r[..50_000], 1600);
        assert!(corr > 0.9, "{name}: {corr}");
    }
}

#[test]
fn raw_pcm_needs_a_format() {
    let p = data("en/pocketsphinx/goforward.raw");
    for o in policies() {
        let e = open_err(&p, &o);
        assert!(
            matches!(
                e,
                MediaError::Unsupported { .. } | MediaError::NotMedia { .. }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("--raw-format s16le:16000:1"), "{e}");
    }
}

#[test]
fn bad_raw_format_strings() {
    for s in ["", "s16le", "s17le:16000:1", "s16le:x:1", "s16le:16000:0"] {
        let e = s.parse::<tingji_media::RawFormat>().unwrap_err();
        assert!(matches!(e, MediaError::BadRawFormat(_)), "{e:?}");
        assert_eq!(e.code(), "bad_raw_format");
    }
}

#[test]
fn every_error_has_a_code() {
    let d = tmp();
    let p = d.path().join("x");
    let errs = [
        MediaError::NotFound(p.clone()),
        MediaError::IsDirectory(p.clone()),
        MediaError::Empty(p.clone()),
        MediaError::NotMedia {
            path: p.clone(),
            detail: "d".into(),
        },
        MediaError::Unsupported {
            path: p.clone(),
            detail: "d".into(),
        },
        MediaError::FfmpegMissing {
            path: p.clone(),
            format: "asf".into(),
        },
        MediaError::Ffmpeg { detail: "d".into() },
        MediaError::NoAudioTrack(p.clone()),
        MediaError::Corrupt {
            path: p.clone(),
            detail: "d".into(),
        },
        MediaError::Truncated {
            path: p.clone(),
            at_ms: 12_345,
        },
        MediaError::Io(std::io::Error::other("x")),
        MediaError::Resample("x".into()),
        MediaError::BadRawFormat("x".into()),
    ];
    let codes: Vec<&str> = errs.iter().map(|e| e.code()).collect();
    assert_eq!(
        codes,
        [
            "not_found",
            "is_directory",
            "empty",
            "not_media",
            "unsupported",
            "ffmpeg_missing",
            "ffmpeg",
            "no_audio_track",
            "corrupt",
            "truncated",
            "io",
            "resample",
            "bad_raw_format"
        ]
    );
    assert!(errs[9].to_string().contains("12.3 s"), "{}", errs[9]);
    assert!(
        errs[5].to_string().contains("install ffmpeg")
            || errs[5].to_string().contains("Install ffmpeg")
    );
}

const SEEDS: u64 = 16;

#[test]
fn mangled_files_never_panic() {
    // Random byte damage and random truncation of every native format: any outcome but a panic
    // or a hang is fine, and errors must be classified.
    let d = tmp();
    let sources = [
        make_from_jfk(d.path(), "s.wav", &["-ar", "22050"]),
        make_from_jfk(d.path(), "s.flac", &[]),
        make_from_jfk(d.path(), "s.mp3", &["-c:a", "libmp3lame"]),
        make_from_jfk(d.path(), "s.ogg", &["-c:a", "libvorbis"]),
        make_from_jfk(d.path(), "s.opus", &["-c:a", "libopus"]),
        make_from_jfk(d.path(), "s.m4a", &["-c:a", "aac"]),
        make_from_jfk(d.path(), "s.mka", &["-c:a", "libvorbis"]),
        make_from_jfk(d.path(), "s.aiff", &[]),
        make_from_jfk(d.path(), "s.caf", &["-c:a", "alac"]),
    ];
    // Mostly native only (fast); every 4th case may fall back to ffmpeg.
    let never = DecodeOptions {
        ffmpeg: FfmpegPolicy::Never,
        ..Default::default()
    };
    let auto = DecodeOptions::default();
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for (k, src) in sources.iter().enumerate() {
        let orig = std::fs::read(src).unwrap();
        for seed in 0..SEEDS {
            let mut bytes = orig.clone();
            let noise = random_bytes(64, seed * 977 + k as u64);
            // Damage: a few single bytes anywhere (headers included) ...
            for (i, b) in noise.chunks(2).take(6 + seed as usize).enumerate() {
                let pos = (u16::from_le_bytes([b[0], b[1]]) as usize * (i + 1) * 31) % bytes.len();
                bytes[pos] ^= 0x5A;
            }
            // ... and sometimes a truncation.
            if seed % 3 == 0 {
                let cut = bytes.len() * (20 + (seed as usize * 7) % 70) / 100;
                bytes.truncate(cut);
            }
            let p = d.path().join(format!(
                "m{seed}-{}",
                src.file_name().unwrap().to_string_lossy()
            ));
            std::fs::write(&p, &bytes).unwrap();
            let opts = if seed % 4 == 3 { &auto } else { &never };
            let outcome = match AudioStream::open(&p, opts) {
                Ok(mut s) => {
                    let mut n = 0usize;
                    let mut res = "ok".to_string();
                    loop {
                        match s.next_chunk() {
                            Ok(Some(c)) => {
                                assert!(c.channels[0].iter().all(|x| x.is_finite()));
                                n += c.len();
                                assert!(n < 30 * 16_000, "{}: far too long", p.display());
                            }
                            Ok(None) => break,
                            Err(e) => {
                                res = format!("err:{}", e.code());
                                break;
                            }
                        }
                    }
                    res
                }
                Err(e) => format!("open:{}", e.code()),
            };
            *outcomes.entry(outcome).or_default() += 1;
        }
    }
    eprintln!("{outcomes:?}");
    for k in outcomes.keys() {
        assert!(
            [
                "ok",
                "open:corrupt",
                "open:truncated",
                "open:not_media",
                "open:no_audio_track",
                "open:ffmpeg_missing",
                "open:unsupported",
                "err:corrupt",
                "err:truncated",
                "err:io"
            ]
            .contains(&k.as_str()),
            "{k}"
        );
    }
}

/// A WAV whose header declares `rate` and `channels` (16-bit PCM, a second of silence at most).
fn wav_declaring(rate: u32, channels: u16) -> Vec<u8> {
    let align = (channels as u32 * 2).max(1);
    let data = vec![0u8; (16_000 * align).min(64_000) as usize];
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&1u16.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&rate.wrapping_mul(align).to_le_bytes());
    fmt.extend_from_slice(&(align as u16).to_le_bytes());
    fmt.extend_from_slice(&16u16.to_le_bytes());
    let mut body = b"WAVEfmt ".to_vec();
    body.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    body.extend_from_slice(&fmt);
    body.extend_from_slice(b"data");
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&data);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// An AIFF whose COMM chunk declares `rate` (80-bit extended float) and `channels`.
fn aiff_declaring(rate: u32, channels: u16) -> Vec<u8> {
    let frames = 8_000u32;
    let data = vec![0u8; (frames * channels.max(1) as u32 * 2).min(64_000) as usize];
    let e = 31 - rate.leading_zeros();
    let mut comm = Vec::new();
    comm.extend_from_slice(&(channels as i16).to_be_bytes());
    comm.extend_from_slice(&frames.to_be_bytes());
    comm.extend_from_slice(&16i16.to_be_bytes());
    comm.extend_from_slice(&((16383 + e) as u16).to_be_bytes());
    comm.extend_from_slice(&((rate as u64) << (63 - e)).to_be_bytes());
    let mut body = b"AIFFCOMM".to_vec();
    body.extend_from_slice(&(comm.len() as u32).to_be_bytes());
    body.extend_from_slice(&comm);
    body.extend_from_slice(b"SSND");
    body.extend_from_slice(&(data.len() as u32 + 8).to_be_bytes());
    body.extend_from_slice(&[0u8; 8]);
    body.extend_from_slice(&data);
    let mut out = b"FORM".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Crafted headers (issue: one file could make the resampler ask for tens of GB): every rate
/// outside 1 000–768 000 Hz and every channel count outside 1–64 is refused at open, named
/// `unsupported` or `corrupt`, within a second and without memory growing.
#[test]
fn header_extremes_are_refused_at_open() {
    let d = tmp();
    let mut files = Vec::new();
    for rate in [1u32, 7, 999, 2_147_483_647, 4_294_967_295] {
        files.push((format!("rate_{rate}.wav"), wav_declaring(rate, 1)));
    }
    for ch in [0u16, 65, 65_535] {
        files.push((format!("ch_{ch}.wav"), wav_declaring(16_000, ch)));
    }
    for (rate, ch) in [(7u32, 1u16), (2_147_483_647, 1), (16_000, 65)] {
        files.push((format!("r{rate}_c{ch}.aiff"), aiff_declaring(rate, ch)));
    }
    for (name, bytes) in &files {
        let p = d.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        for opts in policies() {
            let t = std::time::Instant::now();
            let e = open_err(&p, &opts);
            assert!(matches!(e.code(), "unsupported" | "corrupt"), "{name}: {} {e}", e.code());
            assert!(t.elapsed().as_secs_f32() < 1.0, "{name}: {:?}", t.elapsed());
        }
    }
    let hwm = std::fs::read_to_string("/proc/self/status").unwrap().lines().find(|l| l.starts_with("VmHWM:")).unwrap().to_string();
    let kb: u64 = hwm.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(kb < 256 * 1024, "peak RSS {kb} kB");
    // A sane header next to them still opens.
    let ok = d.path().join("ok.wav");
    std::fs::write(&ok, wav_declaring(44_100, 2)).unwrap();
    assert!(AudioStream::open(&ok, &DecodeOptions::default()).is_ok());
}
