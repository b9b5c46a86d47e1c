//! Reading CTranslate2 Whisper exports (`model.bin` binary versions 4–6, possibly split into
//! `model.bin.part1`, `model.bin.part2`, … which are read as one stream without joining them).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use half::{bf16, f16};

use crate::ModelError;

/// Element types of CTranslate2 variables (its `DataType` enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dtype {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl Dtype {
    fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => Dtype::F32,
            1 => Dtype::I8,
            2 => Dtype::I16,
            3 => Dtype::I32,
            4 => Dtype::F16,
            5 => Dtype::Bf16,
            _ => return None,
        })
    }

    pub(crate) fn size(self) -> usize {
        match self {
            Dtype::I8 => 1,
            Dtype::I16 | Dtype::F16 | Dtype::Bf16 => 2,
            Dtype::F32 | Dtype::I32 => 4,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "float32",
            Dtype::I8 => "int8",
            Dtype::I16 => "int16",
            Dtype::I32 => "int32",
            Dtype::F16 => "float16",
            Dtype::Bf16 => "bfloat16",
        }
    }
}

/// One variable of the model: where its data lives in the (virtual) file.
#[derive(Debug, Clone)]
pub(crate) struct Var {
    pub name: String,
    pub dims: Vec<u64>,
    pub dtype: Dtype,
    pub offset: u64,
}

impl Var {
    pub(crate) fn numel(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// `Read + Seek` over consecutive files as if they were one.
pub(crate) struct PartsReader {
    parts: Vec<(File, u64, u64)>, // (file, start offset in the virtual stream, length)
    total: u64,
    pos: u64,
}

impl PartsReader {
    fn open(paths: &[PathBuf]) -> io::Result<Self> {
        let mut parts = Vec::with_capacity(paths.len());
        let mut start = 0;
        for p in paths {
            let f = File::open(p)?;
            let len = f.metadata()?.len();
            parts.push((f, start, len));
            start += len;
        }
        Ok(Self {
            parts,
            total: start,
            pos: 0,
        })
    }

    pub(crate) fn total(&self) -> u64 {
        self.total
    }
}

impl Read for PartsReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.total {
            return Ok(0);
        }
        let Some((file, start, len)) = self
            .parts
            .iter_mut()
            .find(|(_, s, l)| self.pos >= *s && self.pos < *s + *l)
        else {
            return Ok(0);
        };
        let within = self.pos - *start;
        let avail = (*len - within).min(buf.len() as u64) as usize;
        file.seek(SeekFrom::Start(within))?;
        let n = file.read(&mut buf[..avail])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "model part shorter than when it was opened",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for PartsReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let new = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.total.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match new {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before start",
            )),
        }
    }
}

/// The model files in `dir`: `model.bin`, or `model.bin.part1..partN` (consecutive).
pub(crate) fn model_files(dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
    let single = dir.join("model.bin");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let mut parts = Vec::new();
    for i in 1.. {
        let p = dir.join(format!("model.bin.part{i}"));
        if !p.is_file() {
            break;
        }
        parts.push(p);
    }
    if parts.is_empty() {
        return Err(ModelError::NotCTranslate2 {
            dir: dir.to_path_buf(),
            detail: "no model.bin (or model.bin.part1, part2, ...) in this folder".into(),
        });
    }
    Ok(parts)
}

/// Parsed index of a CTranslate2 model; tensor data stays on disk until read.
pub(crate) struct Ct2Model {
    pub dir: PathBuf,
    reader: BufReader<PartsReader>,
    vars: HashMap<String, Var>,
    aliases: HashMap<String, String>,
    pub n_parts: usize,
}

fn bad(dir: &Path, detail: impl Into<String>) -> ModelError {
    ModelError::NotCTranslate2 {
        dir: dir.to_path_buf(),
        detail: detail.into(),
    }
}

fn read_u8(r: &mut impl Read) -> io::Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

fn read_u16(r: &mut impl Read) -> io::Result<u16> {
    let mut b = [0u8; 2];
    r.read_exact(&mut b)?;
    Ok(u16::from_le_bytes(b))
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

/// CTranslate2 string: u16 length including the trailing NUL, then the bytes.
fn read_str(r: &mut impl Read) -> io::Result<String> {
    let n = read_u16(r)? as usize;
    let mut b = vec![0u8; n];
    r.read_exact(&mut b)?;
    if b.last() == Some(&0) {
        b.pop();
    }
    String::from_utf8(b).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

impl Ct2Model {
    pub(crate) fn open(dir: &Path) -> Result<Self, ModelError> {
        let files = model_files(dir)?;
        let n_parts = files.len();
        let parts = PartsReader::open(&files)?;
        let total = parts.total();
        let mut r = BufReader::with_capacity(1 << 16, parts);
        let eof_to_bad = |e: io::Error| {
            if e.kind() == io::ErrorKind::UnexpectedEof || e.kind() == io::ErrorKind::InvalidData {
                bad(dir, format!("truncated or corrupt model.bin ({e})"))
            } else {
                ModelError::Io(e)
            }
        };

        let version = read_u32(&mut r).map_err(eof_to_bad)?;
        if !(4..=6).contains(&version) {
            return Err(bad(
                dir,
                format!("unsupported CTranslate2 binary version {version} (supported: 4 to 6)"),
            ));
        }
        let spec = read_str(&mut r).map_err(eof_to_bad)?;
        if spec != "WhisperSpec" {
            return Err(bad(
                dir,
                format!("model spec is {spec:?}, not \"WhisperSpec\""),
            ));
        }
        let spec_revision = read_u32(&mut r).map_err(eof_to_bad)?;
        let n_vars = read_u32(&mut r).map_err(eof_to_bad)?;
        let mut vars = HashMap::with_capacity(n_vars as usize);
        for _ in 0..n_vars {
            let name = read_str(&mut r).map_err(eof_to_bad)?;
            let rank = read_u8(&mut r).map_err(eof_to_bad)?;
            let mut dims = Vec::with_capacity(rank as usize);
            for _ in 0..rank {
                dims.push(u64::from(read_u32(&mut r).map_err(eof_to_bad)?));
            }
            let dtype_id = read_u8(&mut r).map_err(eof_to_bad)?;
            let nbytes = u64::from(read_u32(&mut r).map_err(eof_to_bad)?);
            let offset = r.stream_position()?;
            let dtype = Dtype::from_id(dtype_id).ok_or_else(|| ModelError::UnsupportedDtype {
                name: name.clone(),
                dtype: format!("type id {dtype_id}"),
            })?;
            let numel: u64 = dims.iter().product();
            if numel * dtype.size() as u64 != nbytes {
                return Err(bad(
                    dir,
                    format!(
                        "variable {name}: {nbytes} bytes do not match shape {dims:?} of {}",
                        dtype.name()
                    ),
                ));
            }
            if offset + nbytes > total {
                return Err(bad(
                    dir,
                    format!("variable {name} runs past the end of the file"),
                ));
            }
            r.seek_relative(nbytes as i64)?;
            vars.insert(
                name.clone(),
                Var {
                    name,
                    dims,
                    dtype,
                    offset,
                },
            );
        }
        let mut aliases = HashMap::new();
        if version >= 3 {
            let n_aliases = read_u32(&mut r).map_err(eof_to_bad)?;
            for _ in 0..n_aliases {
                let alias = read_str(&mut r).map_err(eof_to_bad)?;
                let target = read_str(&mut r).map_err(eof_to_bad)?;
                aliases.insert(alias, target);
            }
        }
        tracing::debug!(
            dir = %dir.display(),
            version,
            spec_revision,
            n_vars,
            n_parts,
            "read CTranslate2 model index"
        );
        Ok(Self {
            dir: dir.to_path_buf(),
            reader: r,
            vars,
            aliases,
            n_parts,
        })
    }

    /// Variable by name, following aliases.
    pub(crate) fn get(&self, name: &str) -> Option<&Var> {
        let mut name = name;
        for _ in 0..8 {
            if let Some(v) = self.vars.get(name) {
                return Some(v);
            }
            name = self.aliases.get(name)?;
        }
        None
    }

    pub(crate) fn require(&self, name: &str) -> Result<&Var, ModelError> {
        self.get(name)
            .ok_or_else(|| ModelError::MissingTensor(name.to_string()))
    }

    pub(crate) fn var_names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }

    /// Raw bytes of elements `[start, start + count)` of `var`.
    pub(crate) fn read_raw(
        &mut self,
        var: &Var,
        start: u64,
        count: u64,
        buf: &mut Vec<u8>,
    ) -> io::Result<()> {
        let es = var.dtype.size() as u64;
        debug_assert!(start + count <= var.numel());
        buf.resize((count * es) as usize, 0);
        self.reader.seek(SeekFrom::Start(var.offset + start * es))?;
        self.reader.read_exact(buf)
    }

    /// Elements `[start, start + count)` of a floating-point variable, as f32.
    pub(crate) fn read_f32(
        &mut self,
        var: &Var,
        start: u64,
        count: u64,
        raw: &mut Vec<u8>,
        out: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        self.read_raw(var, start, count, raw)?;
        out.clear();
        match var.dtype {
            Dtype::F32 => out.extend(
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            ),
            Dtype::F16 => out.extend(
                raw.chunks_exact(2)
                    .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32()),
            ),
            Dtype::Bf16 => out.extend(
                raw.chunks_exact(2)
                    .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32()),
            ),
            Dtype::I8 | Dtype::I16 | Dtype::I32 => {
                return Err(ModelError::UnsupportedDtype {
                    name: var.name.clone(),
                    dtype: var.dtype.name().into(),
                });
            }
        }
        Ok(())
    }

    /// Elements of an integer variable, converted to f32 (used for int8/int16 weights).
    pub(crate) fn read_int(
        &mut self,
        var: &Var,
        start: u64,
        count: u64,
        raw: &mut Vec<u8>,
        out: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        self.read_raw(var, start, count, raw)?;
        out.clear();
        match var.dtype {
            Dtype::I8 => out.extend(raw.iter().map(|&b| f32::from(b as i8))),
            Dtype::I16 => out.extend(
                raw.chunks_exact(2)
                    .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]]))),
            ),
            _ => {
                return Err(ModelError::UnsupportedDtype {
                    name: var.name.clone(),
                    dtype: var.dtype.name().into(),
                });
            }
        }
        Ok(())
    }

    /// Scalar integer variable (e.g. `encoder/num_heads`).
    pub(crate) fn scalar_int(&mut self, name: &str) -> Result<Option<i64>, ModelError> {
        let Some(var) = self.get(name).cloned() else {
            return Ok(None);
        };
        if var.numel() != 1 {
            return Err(bad(
                &self.dir,
                format!("{name} should be a scalar, has shape {:?}", var.dims),
            ));
        }
        let mut raw = Vec::new();
        self.read_raw(&var, 0, 1, &mut raw)?;
        Ok(Some(match var.dtype {
            Dtype::I8 => i64::from(raw[0] as i8),
            Dtype::I16 => i64::from(i16::from_le_bytes([raw[0], raw[1]])),
            Dtype::I32 => i64::from(i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]])),
            Dtype::F32 => f32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as i64,
            Dtype::F16 => f16::from_le_bytes([raw[0], raw[1]]).to_f32() as i64,
            Dtype::Bf16 => bf16::from_le_bytes([raw[0], raw[1]]).to_f32() as i64,
        }))
    }
}

/// GPT-2's `bytes_to_unicode()`, inverted: char → byte.
fn unicode_to_byte() -> HashMap<char, u8> {
    let mut bs: Vec<u32> = (u32::from(b'!')..=u32::from(b'~')).collect();
    bs.extend(0xA1..=0xAC);
    bs.extend(0xAE..=0xFF);
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    bs.iter()
        .zip(&cs)
        .map(|(&b, &c)| (char::from_u32(c).expect("valid char"), b as u8))
        .collect()
}

/// The tokenizer vocabulary of a CTranslate2 export (`vocabulary.txt`, one token per line, or
/// `vocabulary.json`, a JSON array), in GPT-2 byte-level unicode form.
pub(crate) fn read_vocabulary_strings(dir: &Path) -> Result<Vec<String>, ModelError> {
    let txt = dir.join("vocabulary.txt");
    let json = dir.join("vocabulary.json");
    if txt.is_file() {
        let text = std::fs::read_to_string(&txt).map_err(|e| {
            if e.kind() == io::ErrorKind::InvalidData {
                bad(dir, "vocabulary.txt is not UTF-8")
            } else {
                ModelError::Io(e)
            }
        })?;
        let mut lines: Vec<String> = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
            .collect();
        // A final newline ends the last token; it does not start an empty one. Empty lines in
        // the middle are real (empty) tokens and are kept.
        if text.ends_with('\n') {
            lines.pop();
        }
        Ok(lines)
    } else if json.is_file() {
        let f = File::open(&json)?;
        serde_json::from_reader(BufReader::new(f)).map_err(|e| {
            bad(
                dir,
                format!("vocabulary.json is not a JSON array of strings: {e}"),
            )
        })
    } else {
        Err(bad(dir, "no vocabulary.txt or vocabulary.json"))
    }
}

/// The regular BPE tokens (everything before `<|endoftext|>`) as raw bytes.
pub(crate) fn read_bpe_tokens(dir: &Path) -> Result<Vec<Vec<u8>>, ModelError> {
    let strings = read_vocabulary_strings(dir)?;
    let eot = strings
        .iter()
        .position(|s| s == "<|endoftext|>")
        .ok_or_else(|| bad(dir, "vocabulary has no <|endoftext|> token"))?;
    let map = unicode_to_byte();
    strings[..eot]
        .iter()
        .enumerate()
        .map(|(id, s)| {
            s.chars()
                .map(|c| map.get(&c).copied())
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| {
                    bad(
                        dir,
                        format!("token {id} ({s:?}) is not GPT-2 byte-level text"),
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_decoder_is_a_bijection() {
        let m = unicode_to_byte();
        assert_eq!(m.len(), 256);
        let mut bytes: Vec<u8> = m.values().copied().collect();
        bytes.sort();
        bytes.dedup();
        assert_eq!(bytes.len(), 256);
        assert_eq!(m[&'Ġ'], b' ');
        assert_eq!(m[&'Ċ'], b'\n');
        assert_eq!(m[&'!'], b'!');
    }

    #[test]
    fn parts_reader_reads_across_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        let c = dir.path().join("c");
        std::fs::write(&a, &data[..3333]).unwrap();
        std::fs::write(&b, &data[3333..3334]).unwrap();
        std::fs::write(&c, &data[3334..]).unwrap();
        let mut r = PartsReader::open(&[a, b, c]).unwrap();
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, data);
        r.seek(SeekFrom::Start(3330)).unwrap();
        let mut buf = [0u8; 10];
        r.read_exact(&mut buf).unwrap();
        assert_eq!(&buf[..], &data[3330..3340]);
    }

    #[test]
    fn vocabulary_keeps_empty_lines() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("vocabulary.txt"),
            "!\nĠthe\n\n<|endoftext|>\n<|en|>\n",
        )
        .unwrap();
        let toks = read_bpe_tokens(dir.path()).unwrap();
        assert_eq!(toks, vec![b"!".to_vec(), b" the".to_vec(), Vec::new()]);
    }
}
