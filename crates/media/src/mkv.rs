//! Minimal Matroska track-header reader, used only to find the default audio track.
//!
//! symphonia sets `TrackFlags::DEFAULT` only when a `FlagDefault` element is present with value 1,
//! but the element's schema default is 1 and muxers (ffmpeg included) omit it for default tracks
//! while writing `FlagDefault = 0` for the others. Reading the flags ourselves gives the track a
//! player would choose.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

const ID_EBML: u32 = 0x1A45_DFA3;
const ID_SEGMENT: u32 = 0x1853_8067;
const ID_TRACKS: u32 = 0x1654_AE6B;
const ID_CLUSTER: u32 = 0x1F43_B675;
const ID_TRACK_ENTRY: u32 = 0xAE;
const ID_TRACK_NUMBER: u32 = 0xD7;
const ID_TRACK_TYPE: u32 = 0x83;
const ID_FLAG_DEFAULT: u32 = 0x88;
const ID_FLAG_ENABLED: u32 = 0xB9;

const TRACK_TYPE_AUDIO: u64 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MkvTrack {
    pub number: u64,
    pub track_type: u64,
    pub default: bool,
    pub enabled: bool,
}

fn read_id<R: Read>(r: &mut R) -> Option<(u32, u64)> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b).ok()?;
    let len = b[0].leading_zeros() as usize + 1;
    if len > 4 {
        return None;
    }
    let mut id = b[0] as u32;
    for _ in 1..len {
        r.read_exact(&mut b).ok()?;
        id = (id << 8) | b[0] as u32;
    }
    Some((id, len as u64))
}

/// Returns (size, bytes used); size `None` means "unknown size".
fn read_size<R: Read>(r: &mut R) -> Option<(Option<u64>, u64)> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b).ok()?;
    let len = b[0].leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let mut v = (b[0] as u64) & (0xFF >> len);
    let mut all_ones = v == (0xFF >> len);
    for _ in 1..len {
        r.read_exact(&mut b).ok()?;
        v = (v << 8) | b[0] as u64;
        all_ones &= b[0] == 0xFF;
    }
    Some((if all_ones { None } else { Some(v) }, len as u64))
}

fn read_uint<R: Read>(r: &mut R, size: u64) -> Option<u64> {
    if size > 8 {
        return None;
    }
    let mut v = 0u64;
    let mut b = [0u8; 1];
    for _ in 0..size {
        r.read_exact(&mut b).ok()?;
        v = (v << 8) | b[0] as u64;
    }
    Some(v)
}

/// Read the track entries of a Matroska/WebM file.
pub(crate) fn read_tracks(path: &Path) -> Option<Vec<MkvTrack>> {
    let mut r = BufReader::new(File::open(path).ok()?);
    let (id, _) = read_id(&mut r)?;
    if id != ID_EBML {
        return None;
    }
    let (size, _) = read_size(&mut r)?;
    r.seek_relative(size? as i64).ok()?;
    let (id, _) = read_id(&mut r)?;
    if id != ID_SEGMENT {
        return None;
    }
    let _ = read_size(&mut r)?;
    // Top-level elements of the segment until Tracks (it precedes the clusters).
    for _ in 0..64 {
        let (id, _) = read_id(&mut r)?;
        let (size, _) = read_size(&mut r)?;
        match id {
            ID_TRACKS => return parse_tracks(&mut r, size?),
            ID_CLUSTER => return None,
            _ => {
                r.seek(SeekFrom::Current(size? as i64)).ok()?;
            }
        }
    }
    None
}

fn parse_tracks<R: Read + Seek>(r: &mut R, size: u64) -> Option<Vec<MkvTrack>> {
    let mut tracks = Vec::new();
    let mut used = 0u64;
    while used < size {
        let (id, il) = read_id(r)?;
        let (esize, sl) = read_size(r)?;
        let esize = esize?;
        used += il + sl + esize;
        if id != ID_TRACK_ENTRY {
            r.seek(SeekFrom::Current(esize as i64)).ok()?;
            continue;
        }
        let mut t = MkvTrack {
            number: 0,
            track_type: 0,
            default: true,
            enabled: true,
        };
        let mut u = 0u64;
        while u < esize {
            let (cid, cil) = read_id(r)?;
            let (csize, csl) = read_size(r)?;
            let csize = csize?;
            u += cil + csl + csize;
            match cid {
                ID_TRACK_NUMBER => t.number = read_uint(r, csize)?,
                ID_TRACK_TYPE => t.track_type = read_uint(r, csize)?,
                ID_FLAG_DEFAULT => t.default = read_uint(r, csize)? != 0,
                ID_FLAG_ENABLED => t.enabled = read_uint(r, csize)? != 0,
                _ => {
                    r.seek(SeekFrom::Current(csize as i64)).ok()?;
                }
            }
        }
        tracks.push(t);
    }
    Some(tracks)
}

/// The track number of the audio track a player would pick by default, if any is flagged.
pub(crate) fn default_audio_track(path: &Path) -> Option<u32> {
    let tracks = read_tracks(path)?;
    tracks
        .iter()
        .filter(|t| t.track_type == TRACK_TYPE_AUDIO && t.enabled)
        .find(|t| t.default)
        .and_then(|t| u32::try_from(t.number).ok())
}
