//! A WAV file that is valid at every moment that matters.
//!
//! 16-bit PCM. The header reserves a 28-byte `JUNK` chunk (EBU Tech 3306) so a recording that
//! passes 4 GiB (18 h of 16 kHz stereo) becomes RF64 in place. [`WavWriter::flush`] appends the
//! buffered samples, then patches the sizes, then (optionally) `fdatasync`s: after a crash the
//! file is a valid WAV of everything flushed, and [`repair`] recovers anything written after
//! the last patch (sizes from the file length, a torn last frame cut off).

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::error::{CaptureError, Result};

/// Bytes before the first sample.
pub const HEADER_LEN: u64 = 80;
const RIFF_LIMIT: u64 = u32::MAX as u64;

/// The file operations the writer needs (a trait so tests can inject a full disk).
pub trait WavFile: Send {
    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()>;
    fn sync_data(&mut self) -> io::Result<()>;
}

impl WavFile for File {
    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::write_all_at(self, buf, offset)
        }
        #[cfg(windows)]
        {
            let mut done = 0;
            while done < buf.len() {
                let n = std::os::windows::fs::FileExt::seek_write(self, &buf[done..], offset + done as u64)?;
                if n == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                done += n;
            }
            Ok(())
        }
    }
    fn sync_data(&mut self) -> io::Result<()> {
        File::sync_data(self)
    }
}

fn header(channels: u16, rate: u32, data_len: u64) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    let riff_len = data_len + HEADER_LEN - 8;
    let rf64 = riff_len > RIFF_LIMIT;
    let block = channels as u32 * 2;
    h[0..4].copy_from_slice(if rf64 { b"RF64" } else { b"RIFF" });
    h[4..8].copy_from_slice(&(if rf64 { u32::MAX } else { riff_len as u32 }).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(if rf64 { b"ds64" } else { b"JUNK" });
    h[16..20].copy_from_slice(&28u32.to_le_bytes());
    if rf64 {
        h[20..28].copy_from_slice(&riff_len.to_le_bytes());
        h[28..36].copy_from_slice(&data_len.to_le_bytes());
        h[36..44].copy_from_slice(&(data_len / block as u64).to_le_bytes());
    }
    h[48..52].copy_from_slice(b"fmt ");
    h[52..56].copy_from_slice(&16u32.to_le_bytes());
    h[56..58].copy_from_slice(&1u16.to_le_bytes());
    h[58..60].copy_from_slice(&channels.to_le_bytes());
    h[60..64].copy_from_slice(&rate.to_le_bytes());
    h[64..68].copy_from_slice(&(rate * block).to_le_bytes());
    h[68..70].copy_from_slice(&(block as u16).to_le_bytes());
    h[70..72].copy_from_slice(&16u16.to_le_bytes());
    h[72..76].copy_from_slice(b"data");
    h[76..80].copy_from_slice(&(if rf64 { u32::MAX } else { data_len as u32 }).to_le_bytes());
    h
}

/// Appends interleaved 16-bit frames; see the module docs for the crash-safety contract.
pub struct WavWriter<F: WavFile = File> {
    file: F,
    path: PathBuf,
    channels: u16,
    rate: u32,
    /// Data bytes on disk (written, maybe not yet in the header).
    data_len: u64,
    /// Data bytes the header currently states.
    patched_len: u64,
    buf: Vec<u8>,
}

impl WavWriter<File> {
    /// Creates `path` (never overwrites) with an empty, valid header, synced to disk.
    pub fn create(path: &Path, channels: u16, rate: u32) -> Result<WavWriter<File>> {
        let file = OpenOptions::new().write(true).read(true).create_new(true).open(path).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                CaptureError::Exists { path: path.to_path_buf() }
            } else {
                CaptureError::io(path, e)
            }
        })?;
        let w = WavWriter::with_file(file, path, channels, rate)?;
        w.file.sync_data().map_err(|e| CaptureError::io(path, e))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the new directory entry durable too.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(w)
    }

    /// The open file (for locking).
    pub fn file(&self) -> &File {
        &self.file
    }
}

impl<F: WavFile> WavWriter<F> {
    pub fn with_file(mut file: F, path: &Path, channels: u16, rate: u32) -> Result<WavWriter<F>> {
        file.write_all_at(&header(channels, rate, 0), 0).map_err(|e| CaptureError::io(path, e))?;
        Ok(WavWriter {
            file,
            path: path.to_path_buf(),
            channels,
            rate,
            data_len: 0,
            patched_len: 0,
            buf: Vec::with_capacity(1 << 16),
        })
    }

    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// Frames written so far (buffered included).
    pub fn frames(&self) -> u64 {
        (self.data_len + self.buf.len() as u64) / (2 * self.channels as u64)
    }

    /// Buffers interleaved frames (`samples.len()` must be a multiple of the channel count).
    pub fn write(&mut self, samples: &[i16]) -> Result<()> {
        debug_assert_eq!(samples.len() % self.channels as usize, 0);
        for s in samples {
            self.buf.extend_from_slice(&s.to_le_bytes());
        }
        if self.buf.len() >= 1 << 16 {
            self.write_out()?;
        }
        Ok(())
    }

    fn write_out(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let res = self.file.write_all_at(&self.buf, HEADER_LEN + self.data_len);
        match res {
            Ok(()) => {
                self.data_len += self.buf.len() as u64;
                self.buf.clear();
                Ok(())
            }
            Err(e) => {
                // Whatever part of the buffer reached the disk is cut off by the next patch:
                // the header keeps describing only whole, fully written frames.
                self.buf.clear();
                let _ = self.patch();
                Err(CaptureError::io(&self.path, e))
            }
        }
    }

    fn patch(&mut self) -> io::Result<()> {
        if self.patched_len != self.data_len {
            self.file.write_all_at(&header(self.channels, self.rate, self.data_len), 0)?;
            self.patched_len = self.data_len;
        }
        Ok(())
    }

    /// Appends the buffer, patches the header sizes and, with `sync`, forces both to disk.
    pub fn flush(&mut self, sync: bool) -> Result<()> {
        self.write_out()?;
        self.patch().map_err(|e| CaptureError::io(&self.path, e))?;
        if sync {
            self.file.sync_data().map_err(|e| CaptureError::io(&self.path, e))?;
        }
        Ok(())
    }

    /// Flushes and syncs; returns the number of frames in the file.
    pub fn finish(mut self) -> Result<u64> {
        self.flush(true)?;
        Ok(self.frames())
    }
}

/// What [`repair`] found and fixed.
#[derive(Debug, Clone, PartialEq)]
pub struct Repaired {
    pub channels: u16,
    pub rate: u32,
    pub frames: u64,
    /// Bytes of a torn last frame that were cut off.
    pub cut_bytes: u64,
    /// The header sizes were stale and have been rewritten.
    pub patched: bool,
}

impl Repaired {
    pub fn duration_ms(&self) -> u64 {
        self.frames * 1000 / self.rate.max(1) as u64
    }
}

/// Makes an interrupted recording a valid WAV of everything that reached the disk.
/// Only 16-bit PCM files whose `data` chunk is last are accepted (what [`WavWriter`] makes).
pub fn repair(path: &Path) -> Result<Repaired> {
    let bad = |detail: &str| CaptureError::NotRepairable { path: path.to_path_buf(), detail: detail.to_string() };
    let mut f = OpenOptions::new().read(true).write(true).open(path).map_err(|e| CaptureError::io(path, e))?;
    let len = f.metadata().map_err(|e| CaptureError::io(path, e))?.len();
    if len < HEADER_LEN {
        return Err(bad("shorter than a WAV header"));
    }
    let mut h = [0u8; HEADER_LEN as usize];
    f.read_exact(&mut h).map_err(|e| CaptureError::io(path, e))?;
    if !(&h[0..4] == b"RIFF" || &h[0..4] == b"RF64") || &h[8..12] != b"WAVE" {
        return Err(bad("no RIFF/WAVE header"));
    }
    if &h[48..52] != b"fmt " || &h[72..76] != b"data" {
        return Err(bad("not laid out as a Tingji recording (fmt at 48, data at 72)"));
    }
    let u16_at = |o: usize| u16::from_le_bytes([h[o], h[o + 1]]);
    let format = u16_at(56);
    let channels = u16_at(58);
    let rate = u32::from_le_bytes(h[60..64].try_into().expect("4 bytes"));
    let bits = u16_at(70);
    if format != 1 || bits != 16 || channels == 0 || rate == 0 {
        return Err(bad("not 16-bit PCM"));
    }
    let block = 2 * channels as u64;
    let on_disk = len - HEADER_LEN;
    let data_len = on_disk - on_disk % block;
    let cut = on_disk - data_len;
    if cut > 0 {
        f.set_len(HEADER_LEN + data_len).map_err(|e| CaptureError::io(path, e))?;
    }
    let fresh = header(channels, rate, data_len);
    let patched = fresh[..] != h[..];
    if patched {
        WavFile::write_all_at(&mut f, &fresh, 0).map_err(|e| CaptureError::io(path, e))?;
    }
    f.sync_all().map_err(|e| CaptureError::io(path, e))?;
    Ok(Repaired { channels, rate, frames: data_len / block, cut_bytes: cut, patched })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_read_back_by_hound_at_every_flush() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        let mut w = WavWriter::create(&p, 2, 16_000).unwrap();
        let frames: Vec<i16> = (0..3200).map(|i| (i % 200) as i16 * 100).collect();
        for round in 1..=3u32 {
            w.write(&frames).unwrap();
            w.flush(round % 2 == 0).unwrap();
            let r = hound::WavReader::open(&p).unwrap();
            assert_eq!(r.spec().channels, 2);
            assert_eq!(r.len(), 3200 * round);
            let back: Vec<i16> = r.into_samples::<i16>().map(|s| s.unwrap()).collect();
            assert_eq!(&back[..3200], &frames[..]);
        }
        assert_eq!(w.finish().unwrap(), 4800);
    }

    #[test]
    fn repair_takes_sizes_from_the_file_and_cuts_a_torn_frame() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.wav");
        let mut w = WavWriter::create(&p, 2, 16_000).unwrap();
        w.write(&vec![7i16; 32_000]).unwrap();
        w.flush(true).unwrap();
        drop(w);
        // A crash after more data reached the disk but before the header was patched,
        // in the middle of a frame.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        std::io::Write::write_all(&mut f, &[1u8; 4 * 1000 + 3]).unwrap();
        drop(f);
        assert_eq!(hound::WavReader::open(&p).unwrap().duration(), 16_000);
        let r = repair(&p).unwrap();
        assert_eq!(r.frames, 17_000);
        assert_eq!(r.cut_bytes, 3);
        assert!(r.patched);
        assert_eq!(r.duration_ms(), 1062);
        assert_eq!(hound::WavReader::open(&p).unwrap().duration(), 17_000);
        // Repairing a sound file changes nothing.
        let again = repair(&p).unwrap();
        assert!(!again.patched && again.cut_bytes == 0 && again.frames == 17_000);
    }

    #[test]
    fn repair_names_what_it_cannot_fix() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.wav");
        std::fs::write(&p, b"RIFF0000WAVEnot really").unwrap();
        let e = repair(&p).unwrap_err();
        assert_eq!(e.code(), "not_repairable");
        std::fs::write(&p, vec![0u8; 200]).unwrap();
        assert_eq!(repair(&p).unwrap_err().code(), "not_repairable");
        // The file is left as it was.
        assert_eq!(std::fs::read(&p).unwrap(), vec![0u8; 200]);
    }

    #[test]
    fn a_header_past_4_gib_is_rf64() {
        let h = header(2, 16_000, 5_000_000_000);
        assert_eq!(&h[0..4], b"RF64");
        assert_eq!(&h[12..16], b"ds64");
        assert_eq!(u64::from_le_bytes(h[28..36].try_into().unwrap()), 5_000_000_000);
        assert_eq!(u64::from_le_bytes(h[36..44].try_into().unwrap()), 1_250_000_000);
        assert_eq!(u32::from_le_bytes(h[76..80].try_into().unwrap()), u32::MAX);
        let small = header(1, 16_000, 1000);
        assert_eq!(&small[0..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(small[4..8].try_into().unwrap()), 1072);
    }

    /// A disk that fills up after `room` bytes.
    struct FullDisk {
        inner: Vec<u8>,
        room: u64,
    }
    impl WavFile for FullDisk {
        fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
            let end = offset + buf.len() as u64;
            if end > self.room {
                let fit = self.room.saturating_sub(offset) as usize;
                self.write_all_at(&buf[..fit.min(buf.len())], offset)?;
                return Err(io::Error::from_raw_os_error(28));
            }
            if self.inner.len() < end as usize {
                self.inner.resize(end as usize, 0);
            }
            self.inner[offset as usize..end as usize].copy_from_slice(buf);
            Ok(())
        }
        fn sync_data(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_full_disk_is_named_and_the_header_describes_only_whole_writes() {
        let disk = FullDisk { inner: Vec::new(), room: HEADER_LEN + 64_000 + 1000 };
        let mut w = WavWriter::with_file(disk, Path::new("/rec/x.wav"), 2, 16_000).unwrap();
        w.write(&vec![3i16; 32_000]).unwrap();
        w.flush(true).unwrap();
        w.write(&vec![3i16; 32_000]).unwrap();
        let e = w.flush(true).unwrap_err();
        assert_eq!(e.code(), "disk_full", "{e}");
        let h = &w.file.inner[..HEADER_LEN as usize];
        assert_eq!(u32::from_le_bytes(h[76..80].try_into().unwrap()), 64_000);
    }
}
