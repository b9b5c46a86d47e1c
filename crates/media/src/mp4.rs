//! Minimal ISO-BMFF reader for a track's edit list.
//!
//! symphonia parses `elst` but does not apply it, so AAC in MP4/M4A would keep the encoder
//! priming (typically 1024 frames ≈ 23–64 ms of leading garbage/silence, shifting every
//! timestamp) and the trailing padding. This reads the edit of one track so the native source can
//! trim exactly what a player would.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// The presentation edit of a track, converted to the track's media timescale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edit {
    /// Media time (media timescale units) where presentation starts.
    pub media_start: u64,
    /// Presented duration in media timescale units, if a single edit describes it.
    pub media_duration: Option<u64>,
    /// Media timescale (ticks per second).
    pub timescale: u32,
}

struct Atom {
    kind: [u8; 4],
    /// Absolute offset of the payload.
    body: u64,
    /// Payload size (to the end of the parent / file if the atom says "to the end").
    size: u64,
}

fn read_u32<R: Read>(r: &mut R) -> Option<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b).ok()?;
    Some(u32::from_be_bytes(b))
}

fn read_u64<R: Read>(r: &mut R) -> Option<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b).ok()?;
    Some(u64::from_be_bytes(b))
}

/// Children of the region `[start, end)`.
fn atoms<R: Read + Seek>(r: &mut R, start: u64, end: u64) -> Option<Vec<Atom>> {
    let mut out = Vec::new();
    let mut pos = start;
    while pos + 8 <= end && out.len() < 4096 {
        r.seek(SeekFrom::Start(pos)).ok()?;
        let size32 = read_u32(r)? as u64;
        let mut kind = [0u8; 4];
        r.read_exact(&mut kind).ok()?;
        let (header, total) = match size32 {
            0 => (8, end - pos),
            1 => (16, read_u64(r)?),
            n => (8, n),
        };
        if total < header || pos.checked_add(total).is_none_or(|e| e > end) {
            // Damaged or truncated: keep what is complete.
            break;
        }
        out.push(Atom {
            kind,
            body: pos + header,
            size: total - header,
        });
        pos += total;
    }
    Some(out)
}

fn find<'a>(list: &'a [Atom], kind: &[u8; 4]) -> Option<&'a Atom> {
    list.iter().find(|a| &a.kind == kind)
}

/// Version byte and, for version 1, whether 64-bit fields are used.
fn full_box<R: Read + Seek>(r: &mut R, a: &Atom) -> Option<u8> {
    r.seek(SeekFrom::Start(a.body)).ok()?;
    let vf = read_u32(r)?;
    Some((vf >> 24) as u8)
}

/// The u32 that follows the creation and modification times of an `mvhd`, `tkhd` or `mdhd`
/// box (timescale, track_ID, timescale): the times are 64-bit in version 1, 32-bit otherwise.
fn u32_after_times<R: Read + Seek>(r: &mut R, a: &Atom) -> Option<u32> {
    if full_box(r, a)? == 1 {
        read_u64(r)?;
        read_u64(r)?;
    } else {
        read_u32(r)?;
        read_u32(r)?;
    }
    read_u32(r)
}

/// Edit of track `track_id` (tkhd track_ID), if the file has a simple one.
pub(crate) fn track_edit(path: &Path, track_id: u32) -> Option<Edit> {
    let file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let mut r = BufReader::new(file);
    let top = atoms(&mut r, 0, len)?;
    let moov = find(&top, b"moov")?;
    let moov_children = atoms(&mut r, moov.body, moov.body + moov.size)?;

    // Movie timescale (edit durations are expressed in it).
    let mvhd = find(&moov_children, b"mvhd")?;
    let movie_timescale = u32_after_times(&mut r, mvhd)?;

    for trak in moov_children.iter().filter(|a| &a.kind == b"trak") {
        let children = atoms(&mut r, trak.body, trak.body + trak.size)?;
        let tkhd = find(&children, b"tkhd")?;
        let id = u32_after_times(&mut r, tkhd)?;
        if id != track_id {
            continue;
        }
        let mdia = find(&children, b"mdia")?;
        let mdia_children = atoms(&mut r, mdia.body, mdia.body + mdia.size)?;
        let mdhd = find(&mdia_children, b"mdhd")?;
        let timescale = u32_after_times(&mut r, mdhd)?;
        let edts = find(&children, b"edts")?;
        let edts_children = atoms(&mut r, edts.body, edts.body + edts.size)?;
        let elst = find(&edts_children, b"elst")?;
        let v = full_box(&mut r, elst)?;
        let count = read_u32(&mut r)?;
        let mut edits = Vec::new();
        for _ in 0..count.min(16) {
            let (dur, time) = if v == 1 {
                (read_u64(&mut r)?, read_u64(&mut r)? as i64)
            } else {
                (read_u32(&mut r)? as u64, read_u32(&mut r)? as i32 as i64)
            };
            let rate = read_u32(&mut r)?;
            edits.push((dur, time, rate));
        }
        // Ignore empty edits (media_time = -1); handle a single normal-speed edit.
        let real: Vec<_> = edits.iter().filter(|e| e.1 >= 0).collect();
        let [(dur, time, rate)] = real.as_slice() else {
            return None;
        };
        if *rate != 0x0001_0000 || timescale == 0 || movie_timescale == 0 {
            return None;
        }
        let media_duration =
            (*dur > 0).then(|| (*dur as u128 * timescale as u128 / movie_timescale as u128) as u64);
        return Some(Edit {
            media_start: *time as u64,
            media_duration,
            timescale,
        });
    }
    None
}
