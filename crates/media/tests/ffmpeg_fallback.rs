//! Formats without a native decoder go through ffmpeg (always installed where these tests run);
//! with ffmpeg disabled they fail with FfmpegMissing.

mod common;

use std::path::PathBuf;

use common::*;
use tingji_media::{AudioStream, Backend, ChannelMode, DecodeOptions, FfmpegPolicy, decode_all};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

const LOSSY: f64 = 0.85;

fn never() -> DecodeOptions {
    DecodeOptions {
        ffmpeg: FfmpegPolicy::Never,
        ..Default::default()
    }
}

fn assert_ffmpeg_missing(p: &std::path::Path) {
    let e = AudioStream::open(p, &never()).unwrap_err();
    assert_eq!(e.code(), "ffmpeg_missing", "{}: {e}", p.display());
    let msg = e.to_string();
    assert!(msg.contains("ffmpeg") && msg.contains("convert"), "{msg}");
    // A configured ffmpeg path that does not exist is the same as no ffmpeg.
    let opts = DecodeOptions {
        ffmpeg: FfmpegPolicy::Path(PathBuf::from("/nonexistent/bin/ffmpeg")),
        ..Default::default()
    };
    let e = AudioStream::open(p, &opts).unwrap_err();
    assert_eq!(e.code(), "ffmpeg_missing", "{e}");
}

#[test]
fn wma_asf() {
    let d = tmp();
    let p = make_from_jfk(d.path(), "a.wma", &["-c:a", "wmav2", "-b:a", "128k"]);
    let info = check_jfk(&p, Backend::Ffmpeg, LOSSY);
    assert_eq!(info.codec, "wmav2");
    assert_eq!(info.container, "asf");
    assert_eq!((info.sample_rate, info.channels), (16000, 1));
    assert!(info.duration_ms.is_some());
    assert_ffmpeg_missing(&p);
    let e = AudioStream::open(&p, &never()).unwrap_err();
    assert!(e.to_string().contains("asf"), "{e}");
}

#[test]
fn wma_stereo_separate_channels() {
    let d = tmp();
    let sd = data("en/fasterwhisper_stereo_diarization.wav");
    let p = d.path().join("stereo.wma");
    ffmpeg(&[
        "-i",
        sd.to_str().unwrap(),
        "-c:a",
        "wmav2",
        "-b:a",
        "192k",
        p.to_str().unwrap(),
    ]);
    let opts = DecodeOptions {
        channels: ChannelMode::Separate,
        ..Default::default()
    };
    let (info, ch) = decode_all(&p, &opts).unwrap();
    assert_eq!(info.backend, Backend::Ffmpeg);
    assert_eq!(ch.len(), 2);
    // Right channel is silent after ~2.6 s, the left one is not.
    let e = |c: &[f32]| c.iter().map(|x| x * x).sum::<f32>();
    let (l, r) = (e(&ch[0][48_000..64_000]), e(&ch[1][48_000..64_000]));
    assert!(l > 100.0 * r.max(1e-9), "left {l} right {r}");
}

#[test]
fn amr_if_encoder_available() {
    if !ffmpeg_has_encoder("libopencore_amrnb") {
        eprintln!("this ffmpeg has no AMR encoder; nothing to test");
        return;
    }
    let d = tmp();
    let p = make_from_jfk(
        d.path(),
        "a.amr",
        &["-ar", "8000", "-c:a", "libopencore_amrnb", "-b:a", "12.2k"],
    );
    check_jfk(&p, Backend::Ffmpeg, 0.5);
    assert_ffmpeg_missing(&p);
}

#[test]
fn flv() {
    let d = tmp();
    let p = make_video(
        d.path(),
        "v.flv",
        &["-c:v", "flv"],
        &["-c:a", "libmp3lame", "-ar", "22050"],
    );
    let info = check_jfk(&p, Backend::Ffmpeg, LOSSY);
    assert_eq!(info.container, "flv");
    assert_ffmpeg_missing(&p);
}

#[test]
fn avi() {
    let d = tmp();
    let p = make_video(
        d.path(),
        "v.avi",
        &["-c:v", "mpeg4"],
        &["-c:a", "pcm_s16le"],
    );
    let info = check_jfk(&p, Backend::Ffmpeg, 0.99);
    assert_eq!(info.container, "avi");
    assert_ffmpeg_missing(&p);
}

#[test]
fn mpeg_ps() {
    let d = tmp();
    let p = make_video(
        d.path(),
        "v.mpg",
        &["-c:v", "mpeg1video"],
        &["-c:a", "mp2", "-ar", "44100", "-b:a", "192k"],
    );
    check_jfk(&p, Backend::Ffmpeg, LOSSY);
    assert_ffmpeg_missing(&p);
}

#[test]
fn mpeg_ts() {
    let d = tmp();
    let p = make_video(
        d.path(),
        "v.ts",
        &["-c:v", "libx264", "-preset", "ultrafast"],
        &["-c:a", "aac"],
    );
    let info = check_jfk(&p, Backend::Ffmpeg, LOSSY);
    assert_eq!(info.container, "mpeg-ts");
    assert_ffmpeg_missing(&p);
}

#[test]
fn three_gp() {
    // 3GP is ISO-BMFF: symphonia reads AAC in it natively; either backend must give the audio.
    let d = tmp();
    let out = d.path().join("v.3gp");
    let jfk = jfk_wav();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=176x144:rate=15",
        "-i",
        jfk.to_str().unwrap(),
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-shortest",
        "-c:v",
        "h263",
        "-c:a",
        "aac",
        "-ar",
        "16000",
        out.to_str().unwrap(),
    ]);
    let (info, ch) = decode_all(&out, &DecodeOptions::default()).unwrap();
    eprintln!("{info:?}");
    assert!(
        ch[0].len().abs_diff(JFK_SAMPLES) <= JFK_SAMPLES / 100,
        "{}",
        ch[0].len()
    );
    assert!(similarity(&ch[0], &jfk_reference(), 1600).0 > LOSSY);
}

#[test]
fn ac3_in_mkv_falls_back_to_ffmpeg() {
    // A container symphonia reads, with a codec it cannot decode.
    let d = tmp();
    let p = make_video(
        d.path(),
        "v.mkv",
        &["-c:v", "libx264", "-preset", "ultrafast"],
        &["-c:a", "ac3", "-ar", "48000"],
    );
    let info = check_jfk(&p, Backend::Ffmpeg, LOSSY);
    assert_eq!(info.codec, "ac3");
    let e = AudioStream::open(&p, &never()).unwrap_err();
    assert_eq!(e.code(), "ffmpeg_missing", "{e}");
    assert!(e.to_string().contains("ac3"), "{e}");
}

#[test]
fn explicit_ffmpeg_path() {
    let d = tmp();
    let p = make_from_jfk(d.path(), "a.wma", &["-c:a", "wmav2"]);
    let ffmpeg = std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join("ffmpeg"))
        .find(|p| p.is_file())
        .unwrap();
    let opts = DecodeOptions {
        ffmpeg: FfmpegPolicy::Path(ffmpeg),
        ..Default::default()
    };
    let (info, ch) = decode_all(&p, &opts).unwrap();
    assert_eq!(info.backend, Backend::Ffmpeg);
    assert!(ch[0].len().abs_diff(JFK_SAMPLES) <= JFK_SAMPLES / 100);
}

#[test]
fn ffmpeg_without_ffprobe() {
    // Only ffmpeg in a directory (symlink): stream info comes from `ffmpeg -i`'s banner.
    let d = tmp();
    let p = make_from_jfk(d.path(), "a.wma", &["-c:a", "wmav2"]);
    let real = std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join("ffmpeg"))
        .find(|p| p.is_file())
        .unwrap();
    let bin = d.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(&real, bin.join("ffmpeg")).unwrap();
    let opts = DecodeOptions {
        ffmpeg: FfmpegPolicy::Path(bin.join("ffmpeg")),
        ..Default::default()
    };
    let (info, ch) = decode_all(&p, &opts).unwrap();
    assert_eq!(info.backend, Backend::Ffmpeg);
    assert_eq!(info.codec, "wmav2");
    assert_eq!((info.sample_rate, info.channels), (16000, 1));
    assert!(info.duration_ms.unwrap().abs_diff(11_000) < 200, "{info:?}");
    assert!(ch[0].len().abs_diff(JFK_SAMPLES) <= JFK_SAMPLES / 100);
}

#[test]
fn ffmpeg_stream_is_chunked_and_dropping_it_early_is_fine() {
    let d = tmp();
    let p = make_from_jfk(d.path(), "a.wma", &["-c:a", "wmav2"]);
    let mut s = AudioStream::open(&p, &DecodeOptions::default()).unwrap();
    let c = s.next_chunk().unwrap().unwrap();
    assert_eq!(c.start_sample, 0);
    assert_eq!(c.len(), 16_000);
    let c = s.next_chunk().unwrap().unwrap();
    assert_eq!(c.start_sample, 16_000);
    drop(s); // kills and reaps ffmpeg
}

#[test]
fn ffmpeg_backend_skip_to() {
    let d = tmp();
    let p = make_from_jfk(d.path(), "a.wma", &["-c:a", "wmav2", "-b:a", "128k"]);
    let (_, full) = decode_all(&p, &DecodeOptions::default()).unwrap();
    let mut s = AudioStream::open(&p, &DecodeOptions::default()).unwrap();
    s.skip_to(120_000).unwrap();
    let c = s.next_chunk().unwrap().unwrap();
    assert_eq!(c.start_sample, 120_000);
    let (corr, lag) = similarity(&c.channels[0], &full[0][120_000..120_000 + c.len()], 160);
    assert!(corr > 0.95 && lag.abs() <= 16, "corr {corr} lag {lag}");
    let mut n = c.len();
    while let Some(c) = s.next_chunk().unwrap() {
        n += c.len();
    }
    assert!(
        (120_000 + n).abs_diff(full[0].len()) <= 400,
        "{} vs {}",
        120_000 + n,
        full[0].len()
    );
}

/// A fake `ffmpeg` (shell script) that describes a 5 s mono WMA stream, then outputs one second
/// of audio and dies with an error.
fn fake_ffmpeg(dir: &std::path::Path, exit_code: i32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        r#"#!/bin/sh
for a in "$@"; do
  if [ "$a" = "pipe:1" ]; then
    head -c 64000 /dev/zero
    echo "[wmav2 @ 0x1] something odd" >&2
    echo "fake decoder exploded" >&2
    exit {exit_code}
  fi
done
echo "Input #0, asf, from 'x.wma':" >&2
echo "  Duration: 00:00:05.00, start: 0.000000, bitrate: 64 kb/s" >&2
echo "  Stream #0:0: Audio: wmav2 (a[1][0][0] / 0x0161), 16000 Hz, mono, fltp, 64 kb/s" >&2
echo "At least one output file must be specified" >&2
exit 1
"#
    );
    let p = bin.join("ffmpeg");
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn ffmpeg_failure_is_reported_after_the_audio() {
    let d = tmp();
    let p = make_from_jfk(d.path(), "a.wma", &["-c:a", "wmav2"]);
    let opts = DecodeOptions {
        ffmpeg: FfmpegPolicy::Path(fake_ffmpeg(d.path(), 1)),
        ..Default::default()
    };
    let mut s = AudioStream::open(&p, &opts).unwrap();
    assert_eq!(s.info().backend, Backend::Ffmpeg);
    assert_eq!(s.info().duration_ms, Some(5000));
    let c = s.next_chunk().unwrap().unwrap();
    assert_eq!(c.len(), 16_000);
    let e = s.next_chunk().unwrap_err();
    assert_eq!(e.code(), "ffmpeg", "{e}");
    assert!(e.to_string().contains("fake decoder exploded"), "{e}");
    // The stream is finished afterwards.
    assert!(s.next_chunk().unwrap().is_none());

    // Exit status 0: the audio is delivered and ffmpeg's stderr lines become warnings.
    let opts = DecodeOptions {
        ffmpeg: FfmpegPolicy::Path(fake_ffmpeg(&d.path().join("ok"), 0)),
        ..Default::default()
    };
    let mut s = AudioStream::open(&p, &opts).unwrap();
    let mut n = 0;
    while let Some(c) = s.next_chunk().unwrap() {
        n += c.len();
    }
    assert_eq!(n, 16_000);
    assert!(
        s.warnings()
            .iter()
            .any(|w| w.contains("fake decoder exploded")),
        "{:?}",
        s.warnings()
    );
}
