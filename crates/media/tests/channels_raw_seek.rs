//! Channel modes, headerless PCM, chunking and skip_to.

mod common;

use common::*;
use tingji_media::{
    AudioStream, Backend, CHUNK_FRAMES, ChannelMode, DecodeOptions, RawFormat, decode_all,
};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn separate() -> DecodeOptions {
    DecodeOptions {
        channels: ChannelMode::Separate,
        ..Default::default()
    }
}

fn energy(x: &[f32]) -> f64 {
    x.iter().map(|v| (*v as f64) * (*v as f64)).sum::<f64>() / x.len().max(1) as f64
}

#[test]
fn stereo_separate_keeps_speakers_apart() {
    let p = data("en/fasterwhisper_stereo_diarization.wav");
    let (info, ch) = decode_all(&p, &separate()).unwrap();
    assert_eq!(info.backend, Backend::Native);
    assert_eq!(info.channels, 2);
    assert_eq!(ch.len(), 2);
    assert_eq!(ch[0].len(), 80_000);
    assert_eq!(ch[1].len(), 80_000);
    // Per 0.5 s window: the right speaker stops at ~2.6 s, the left one goes on; at 0.5-1 s the
    // right one is much louder.
    let win = 8000;
    let (l, r): (Vec<f64>, Vec<f64>) = (0..10)
        .map(|w| {
            (
                energy(&ch[0][w * win..(w + 1) * win]),
                energy(&ch[1][w * win..(w + 1) * win]),
            )
        })
        .unzip();
    eprintln!("L {l:?}\nR {r:?}");
    assert!(r[1] > 3.0 * l[1], "window 1: L {} R {}", l[1], r[1]);
    for w in 6..9 {
        assert!(
            l[w] > 1000.0 * r[w].max(1e-12),
            "window {w}: L {} R {}",
            l[w],
            r[w]
        );
    }
    // The two channels are different signals.
    let (corr, _) = similarity(&ch[0], &ch[1], 0);
    assert!(corr.abs() < 0.5, "corr {corr}");

    // Mono is the average of the two.
    let mut s = AudioStream::open(&p, &DecodeOptions::default()).unwrap();
    assert_eq!(s.output_channels(), 1);
    let mut mono = Vec::new();
    while let Some(c) = s.next_chunk().unwrap() {
        assert_eq!(c.channels.len(), 1);
        mono.extend_from_slice(&c.channels[0]);
    }
    assert_eq!(mono.len(), 80_000);
    for i in (0..80_000).step_by(97) {
        assert!((mono[i] - (ch[0][i] + ch[1][i]) / 2.0).abs() < 1e-6);
    }
}

#[test]
fn separate_mode_on_resampled_stereo() {
    // 44.1 kHz stereo FLAC with different content per channel: JFK left, silence right.
    let d = tmp();
    let p = d.path().join("lr.flac");
    let jfk = jfk_wav();
    ffmpeg(&[
        "-i",
        jfk.to_str().unwrap(),
        "-af",
        "pan=stereo|c0=c0|c1=0*c0",
        "-ar",
        "44100",
        p.to_str().unwrap(),
    ]);
    let (info, ch) = decode_all(&p, &separate()).unwrap();
    assert_eq!((info.sample_rate, info.channels), (44100, 2));
    assert_eq!(ch.len(), 2);
    assert_eq!(ch[0].len(), JFK_SAMPLES);
    assert_eq!(ch[1].len(), JFK_SAMPLES);
    assert!(similarity(&ch[0], &jfk_reference(), 100).0 > 0.99);
    assert!(energy(&ch[1]) < 1e-10);
}

#[test]
fn raw_pcm_with_format() {
    let p = data("en/pocketsphinx/goforward.raw");
    let fmt: RawFormat = "s16le:16000:1".parse().unwrap();
    let opts = DecodeOptions {
        raw: Some(fmt),
        ..Default::default()
    };
    let (info, ch) = decode_all(&p, &opts).unwrap();
    assert_eq!(info.backend, Backend::Raw);
    assert_eq!(info.container, "raw");
    assert_eq!(info.codec, "pcm_s16le");
    assert_eq!(info.duration_ms, Some(2786));
    assert_eq!(ch[0].len(), 89_160 / 2); // 2.79 s
    // Same samples as a WAV made from it.
    let d = tmp();
    let wav = d.path().join("gf.wav");
    ffmpeg(&[
        "-f",
        "s16le",
        "-ar",
        "16000",
        "-ac",
        "1",
        "-i",
        p.to_str().unwrap(),
        wav.to_str().unwrap(),
    ]);
    let (_, w) = decode_all(&wav, &DecodeOptions::default()).unwrap();
    assert_eq!(w[0], ch[0]);
}

#[test]
fn raw_pcm_float_stereo_44k() {
    let d = tmp();
    let p = d.path().join("jfk.f32");
    let jfk = jfk_wav();
    ffmpeg(&[
        "-i",
        jfk.to_str().unwrap(),
        "-ar",
        "44100",
        "-ac",
        "2",
        "-f",
        "f32le",
        p.to_str().unwrap(),
    ]);
    let opts = DecodeOptions {
        raw: Some("f32le:44100:2".parse().unwrap()),
        ..Default::default()
    };
    let (info, ch) = decode_all(&p, &opts).unwrap();
    assert_eq!((info.sample_rate, info.channels), (44100, 2));
    assert_eq!(ch[0].len(), JFK_SAMPLES);
    assert!(similarity(&ch[0], &jfk_reference(), 100).0 > 0.99);
    // And u8 at 8 kHz.
    let p = d.path().join("jfk.u8");
    ffmpeg(&[
        "-i",
        jfk.to_str().unwrap(),
        "-ar",
        "8000",
        "-f",
        "u8",
        p.to_str().unwrap(),
    ]);
    let opts = DecodeOptions {
        raw: Some("u8:8000:1".parse().unwrap()),
        ..Default::default()
    };
    let (_, ch) = decode_all(&p, &opts).unwrap();
    assert_eq!(ch[0].len(), JFK_SAMPLES);
    assert!(similarity(&ch[0], &jfk_reference(), 100).0 > 0.9);
}

#[test]
fn chunks_are_one_second_and_contiguous() {
    let d = tmp();
    let p = make_from_jfk(d.path(), "a.flac", &["-ar", "48000"]);
    let mut s = AudioStream::open(&p, &DecodeOptions::default()).unwrap();
    let mut next = 0u64;
    let mut lens = Vec::new();
    while let Some(c) = s.next_chunk().unwrap() {
        assert_eq!(c.start_sample, next);
        assert_eq!(s.position(), next + c.len() as u64);
        next += c.len() as u64;
        lens.push(c.len());
    }
    assert_eq!(next as usize, JFK_SAMPLES);
    assert!(
        lens[..lens.len() - 1].iter().all(|&l| l == CHUNK_FRAMES),
        "{lens:?}"
    );
    assert!(*lens.last().unwrap() <= CHUNK_FRAMES);
    // After the end: stays at the end.
    assert!(s.next_chunk().unwrap().is_none());
    assert!(s.next_chunk().unwrap().is_none());
}

/// skip_to(target) then decode: must match the full decode from `target` on.
fn check_skip(p: &std::path::Path, target: u64, exact: bool) {
    let (_, full) = decode_all(p, &DecodeOptions::default()).unwrap();
    let full = &full[0];
    let mut s = AudioStream::open(p, &DecodeOptions::default()).unwrap();
    s.skip_to(target).unwrap();
    assert_eq!(s.position(), target);
    let mut rest = Vec::new();
    let mut first = true;
    while let Some(c) = s.next_chunk().unwrap() {
        if first {
            assert_eq!(c.start_sample, target);
            first = false;
        }
        rest.extend_from_slice(&c.channels[0]);
    }
    let t = target as usize;
    let expected = &full[t..];
    assert!(
        rest.len().abs_diff(expected.len()) <= 64,
        "{}: {} samples after skip, {} expected",
        p.display(),
        rest.len(),
        expected.len()
    );
    if exact {
        assert_eq!(&rest[..], expected, "{}", p.display());
    } else {
        let n = rest.len().min(expected.len()).min(32_000);
        let (corr, lag) = similarity(&rest[..n], &expected[..n], 64);
        eprintln!(
            "{}: skip to {target}: corr {corr:.4} lag {lag}",
            p.display()
        );
        assert!(
            corr > 0.98 && lag.abs() <= 2,
            "{}: corr {corr} lag {lag}",
            p.display()
        );
    }
}

#[test]
fn skip_to_wav_exact() {
    // 16 kHz: pass-through, so both the seek path (> 5 s) and decode-and-discard are exact.
    check_skip(&jfk_wav(), 100_000, true);
    check_skip(&jfk_wav(), 20_000, true);
    check_skip(&jfk_wav(), 12_345, true);
}

#[test]
fn skip_to_resampled_formats() {
    let d = tmp();
    let flac = make_from_jfk(d.path(), "a.flac", &["-ar", "44100"]);
    check_skip(&flac, 100_000, false);
    check_skip(&flac, 30_000, false);
    let mp3 = make_from_jfk(d.path(), "a.mp3", &["-ar", "44100", "-c:a", "libmp3lame"]);
    check_skip(&mp3, 120_000, false);
    let ogg = make_from_jfk(d.path(), "a.ogg", &["-ar", "48000", "-c:a", "libvorbis"]);
    check_skip(&ogg, 110_000, false);
    let m4a = make_from_jfk(d.path(), "a.m4a", &["-ar", "44100", "-c:a", "aac"]);
    check_skip(&m4a, 100_000, false);
    let raw = d.path().join("a.raw");
    ffmpeg(&[
        "-i",
        jfk_wav().to_str().unwrap(),
        "-ar",
        "22050",
        "-f",
        "s16le",
        raw.to_str().unwrap(),
    ]);
    let opts = DecodeOptions {
        raw: Some("s16le:22050:1".parse().unwrap()),
        ..Default::default()
    };
    let (_, full) = decode_all(&raw, &opts).unwrap();
    let mut s = AudioStream::open(&raw, &opts).unwrap();
    s.skip_to(100_000).unwrap();
    let c = s.next_chunk().unwrap().unwrap();
    let (corr, lag) = similarity(&c.channels[0], &full[0][100_000..100_000 + c.len()], 64);
    assert!(corr > 0.98 && lag.abs() <= 2, "raw: {corr} {lag}");
}

#[test]
fn skip_backwards_and_past_the_end() {
    let mut s = AudioStream::open(&jfk_wav(), &DecodeOptions::default()).unwrap();
    for _ in 0..5 {
        s.next_chunk().unwrap().unwrap();
    }
    s.skip_to(16_000).unwrap();
    let c = s.next_chunk().unwrap().unwrap();
    assert_eq!(c.start_sample, 16_000);
    let (_, full) = decode_all(&jfk_wav(), &DecodeOptions::default()).unwrap();
    assert_eq!(c.channels[0], full[0][16_000..32_000]);
    s.skip_to(10_000_000).unwrap();
    assert!(s.next_chunk().unwrap().is_none());
}

#[test]
fn stream_can_move_to_another_thread() {
    let s = AudioStream::open(&jfk_wav(), &DecodeOptions::default()).unwrap();
    let n = std::thread::spawn(move || {
        let mut s = s;
        let mut n = 0;
        while let Some(c) = s.next_chunk().unwrap() {
            n += c.len();
        }
        n
    })
    .join()
    .unwrap();
    assert_eq!(n, JFK_SAMPLES);
}
