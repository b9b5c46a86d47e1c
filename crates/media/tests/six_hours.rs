//! A 6-hour file decodes with bounded memory (this test is alone in its binary so that the
//! process's peak RSS is its own).

mod common;

use std::io::{BufWriter, Write};
use std::time::Instant;

use common::*;
use tingji_media::{AudioStream, Backend, DecodeOptions};

const RATE: u32 = 16_000;
const HOURS: u64 = 6;

/// Peak resident set size of this process in kB (VmHWM).
fn vm_hwm_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

#[test]
fn six_hour_file_bounded_memory() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("six_hours.wav");

    // One minute = JFK (11 s) + 49 s of silence; repeated for 6 hours, streamed to disk.
    let jfk = jfk_reference();
    let period = 60 * RATE as usize;
    let mut minute = Vec::with_capacity(period * 2);
    for i in 0..period {
        let s = jfk.get(i).map_or(0i16, |v| {
            (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16
        });
        minute.extend_from_slice(&s.to_le_bytes());
    }
    let minutes = HOURS * 60;
    let total_samples = minutes * period as u64;
    let data_bytes = (total_samples * 2) as u32;
    let t0 = Instant::now();
    {
        let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
        w.write_all(b"RIFF").unwrap();
        w.write_all(&(36 + data_bytes).to_le_bytes()).unwrap();
        w.write_all(b"WAVEfmt ").unwrap();
        w.write_all(&16u32.to_le_bytes()).unwrap();
        w.write_all(&1u16.to_le_bytes()).unwrap(); // PCM
        w.write_all(&1u16.to_le_bytes()).unwrap(); // mono
        w.write_all(&RATE.to_le_bytes()).unwrap();
        w.write_all(&(RATE * 2).to_le_bytes()).unwrap();
        w.write_all(&2u16.to_le_bytes()).unwrap();
        w.write_all(&16u16.to_le_bytes()).unwrap();
        w.write_all(b"data").unwrap();
        w.write_all(&data_bytes.to_le_bytes()).unwrap();
        for _ in 0..minutes {
            w.write_all(&minute).unwrap();
        }
        w.flush().unwrap();
    }
    drop(minute);
    eprintln!(
        "wrote {} MB in {:.1?}",
        (data_bytes as u64 + 44) >> 20,
        t0.elapsed()
    );

    let t1 = Instant::now();
    let mut s = AudioStream::open(&path, &DecodeOptions::default()).unwrap();
    assert_eq!(s.info().backend, Backend::Native);
    assert_eq!(s.info().duration_ms, Some(HOURS * 3600 * 1000));
    let mut n = 0u64;
    let mut chunks = 0u64;
    let mut max_chunk = 0;
    let mut loud_in_minute = [0u64; 2];
    while let Some(c) = s.next_chunk().unwrap() {
        assert_eq!(c.start_sample, n);
        max_chunk = max_chunk.max(c.len());
        // Speech in the first 11 s of every minute, silence after.
        let sec = (c.start_sample / RATE as u64) % 60;
        let e: f32 = c.channels[0].iter().map(|x| x * x).sum();
        if e > 1.0 {
            loud_in_minute[(sec >= 11) as usize] += 1;
        }
        n += c.len() as u64;
        chunks += 1;
    }
    let hwm_mb = vm_hwm_kb() / 1024;
    eprintln!(
        "decoded {n} samples in {chunks} chunks in {:.1?}; peak RSS {hwm_mb} MB; warnings {:?}",
        t1.elapsed(),
        s.warnings()
    );
    assert_eq!(n, total_samples);
    assert_eq!(max_chunk, 16_000);
    assert_eq!(loud_in_minute[1], 0, "silence must stay silent");
    assert!(loud_in_minute[0] >= minutes * 9, "{loud_in_minute:?}");
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    assert!(hwm_mb < 400, "peak RSS {hwm_mb} MB");
    drop(s);

    // The resampling path too: read the same bytes as headerless 48 kHz PCM (2 hours at 16 kHz
    // after resampling; the 44-byte header counts as 22 samples).
    let t2 = Instant::now();
    let opts = DecodeOptions {
        raw: Some("s16le:48000:1".parse().unwrap()),
        ..Default::default()
    };
    let mut s = AudioStream::open(&path, &opts).unwrap();
    assert_eq!(s.info().backend, Backend::Raw);
    let mut n = 0u64;
    while let Some(c) = s.next_chunk().unwrap() {
        assert!(c.len() <= 16_000);
        n += c.len() as u64;
    }
    let hwm_mb = vm_hwm_kb() / 1024;
    eprintln!(
        "resampled 48k -> 16k: {n} samples in {:.1?}; peak RSS {hwm_mb} MB",
        t2.elapsed()
    );
    assert_eq!(n, (total_samples + 22).div_ceil(3));
    assert!(hwm_mb < 400, "peak RSS {hwm_mb} MB");
}
