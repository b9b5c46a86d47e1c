//! Headerless PCM.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::{MediaError, RawFormat, Source, Warnings};

/// Frames per block.
const BLOCK_FRAMES: usize = 8192;

pub(crate) struct RawSource {
    file: File,
    fmt: RawFormat,
    bytes: Vec<u8>,
    carry: usize,
    finished: bool,
}

impl RawSource {
    pub(crate) fn open(path: &Path, fmt: RawFormat) -> Result<Self, MediaError> {
        let file = File::open(path)?;
        Ok(RawSource {
            file,
            fmt,
            bytes: vec![0; BLOCK_FRAMES * fmt.frame_bytes()],
            carry: 0,
            finished: false,
        })
    }
}

impl Source for RawSource {
    fn read(
        &mut self,
        out: &mut Vec<Vec<f32>>,
        warnings: &mut Warnings,
    ) -> Result<Option<u32>, MediaError> {
        if self.finished {
            return Ok(None);
        }
        let fb = self.fmt.frame_bytes();
        let sb = self.fmt.sample.bytes();
        let ch = self.fmt.channels as usize;
        // Fill the block as far as possible.
        let mut filled = self.carry;
        while filled < self.bytes.len() {
            match self.file.read(&mut self.bytes[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(MediaError::Io(e)),
            }
        }
        let frames = filled / fb;
        if frames == 0 {
            self.finished = true;
            if filled > 0 {
                warnings.push(format!(
                    "ignored {filled} trailing bytes (not a whole {}-byte frame)",
                    fb
                ));
            }
            return Ok(None);
        }
        out.resize(ch, Vec::new());
        for v in out.iter_mut() {
            v.clear();
            v.reserve(frames);
        }
        let sample = self.fmt.sample;
        for f in self.bytes[..frames * fb].chunks_exact(fb) {
            for (c, s) in f.chunks_exact(sb).enumerate() {
                out[c].push(sample.decode(s));
            }
        }
        let used = frames * fb;
        self.bytes.copy_within(used..filled, 0);
        self.carry = filled - used;
        Ok(Some(self.fmt.rate))
    }

    fn seek(&mut self, frame: u64, _warnings: &mut Warnings) -> Result<Option<u64>, MediaError> {
        let len = self.file.metadata()?.len();
        let total = len / self.fmt.frame_bytes() as u64;
        let frame = frame.min(total);
        self.file
            .seek(SeekFrom::Start(frame * self.fmt.frame_bytes() as u64))?;
        self.carry = 0;
        self.finished = false;
        Ok(Some(frame))
    }
}
