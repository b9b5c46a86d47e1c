//! The legacy whisper.cpp ggml model file: header, mel filters, vocabulary, tensors.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::ModelError;

/// `0x67676d6c` ("ggml"), written little-endian.
pub const GGML_MAGIC: u32 = 0x6767_6d6c;
/// ggml's `GGML_QNT_VERSION`; quantized files store `ftype + 1000 * GGML_QNT_VERSION`.
pub const GGML_QNT_VERSION: i32 = 2;
/// ggml's `GGML_QNT_VERSION_FACTOR`.
pub const GGML_QNT_VERSION_FACTOR: i32 = 1000;

/// ggml tensor types that can appear in whisper.cpp files (`enum ggml_type`).
pub mod ttype {
    pub const F32: i32 = 0;
    pub const F16: i32 = 1;
    pub const Q4_0: i32 = 2;
    pub const Q4_1: i32 = 3;
    pub const Q5_0: i32 = 6;
    pub const Q5_1: i32 = 7;
    pub const Q8_0: i32 = 8;
}

/// The whisper.cpp hyper-parameters, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GgmlHparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    /// As stored, including the quantization-version part (`ftype % 1000` is the `ggml_ftype`).
    pub ftype: i32,
}

impl GgmlHparams {
    pub(crate) fn to_array(self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }

    fn from_array(a: [i32; 11]) -> Self {
        Self {
            n_vocab: a[0],
            n_audio_ctx: a[1],
            n_audio_state: a[2],
            n_audio_head: a[3],
            n_audio_layer: a[4],
            n_text_ctx: a[5],
            n_text_state: a[6],
            n_text_head: a[7],
            n_text_layer: a[8],
            n_mels: a[9],
            ftype: a[10],
        }
    }

    /// whisper.cpp treats a model as multilingual iff `n_vocab >= 51865`.
    pub fn multilingual(&self) -> bool {
        self.n_vocab >= 51865
    }

    /// The weight type (`ggml_ftype`, without the quantization version).
    pub fn weight_type(&self) -> WeightType {
        WeightType::from_ftype(self.ftype % GGML_QNT_VERSION_FACTOR)
    }
}

/// What the big matrices of a ggml model are stored as (`enum ggml_ftype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum WeightType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Other(i32),
}

impl WeightType {
    pub fn from_ftype(ftype: i32) -> Self {
        match ftype {
            0 => WeightType::F32,
            1 => WeightType::F16,
            2 => WeightType::Q4_0,
            3 => WeightType::Q4_1,
            7 => WeightType::Q8_0,
            8 => WeightType::Q5_0,
            9 => WeightType::Q5_1,
            other => WeightType::Other(other),
        }
    }
}

impl fmt::Display for WeightType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightType::F32 => f.write_str("f32"),
            WeightType::F16 => f.write_str("f16"),
            WeightType::Q4_0 => f.write_str("q4_0"),
            WeightType::Q4_1 => f.write_str("q4_1"),
            WeightType::Q5_0 => f.write_str("q5_0"),
            WeightType::Q5_1 => f.write_str("q5_1"),
            WeightType::Q8_0 => f.write_str("q8_0"),
            WeightType::Other(n) => write!(f, "ftype {n}"),
        }
    }
}

impl From<WeightType> for String {
    fn from(w: WeightType) -> String {
        w.to_string()
    }
}

/// One tensor record of a ggml file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GgmlTensorInfo {
    pub name: String,
    /// ggml order: `ne[0]` is the fastest-varying dimension.
    pub ne: Vec<i32>,
    pub ttype: i32,
    /// Offset of the tensor data in the file.
    pub offset: u64,
    pub nbytes: u64,
}

/// Parsed summary of a ggml whisper model file.
#[derive(Debug, Clone, Serialize)]
pub struct GgmlInfo {
    pub path: PathBuf,
    pub hparams: GgmlHparams,
    pub n_mel: i32,
    pub n_fft: i32,
    /// Tokens stored in the file (whisper.cpp synthesizes the special tokens beyond these).
    pub tokens: Vec<Vec<u8>>,
    pub tensors: Vec<GgmlTensorInfo>,
}

/// Bytes of tensor data for `nelements` elements of `ttype` (row length must fit the block size).
pub fn tensor_nbytes(ttype: i32, nelements: u64) -> Option<u64> {
    Some(match ttype {
        ttype::F32 => nelements * 4,
        ttype::F16 => nelements * 2,
        ttype::Q4_0 => nelements / 32 * 18,
        ttype::Q4_1 => nelements / 32 * 20,
        ttype::Q5_0 => nelements / 32 * 22,
        ttype::Q5_1 => nelements / 32 * 24,
        ttype::Q8_0 => nelements / 32 * 34,
        _ => return None,
    })
}

fn invalid(path: &Path, detail: impl Into<String>) -> ModelError {
    ModelError::InvalidGgml {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

fn read_i32(r: &mut impl Read) -> io::Result<i32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(i32::from_le_bytes(b))
}

fn read_header(path: &Path, r: &mut impl Read) -> Result<GgmlHparams, ModelError> {
    let eof = |e: io::Error| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            invalid(path, "file too short")
        } else {
            ModelError::Io(e)
        }
    };
    let magic = read_i32(r).map_err(eof)? as u32;
    if magic != GGML_MAGIC {
        return Err(invalid(path, format!("bad magic {magic:#010x}")));
    }
    let mut a = [0i32; 11];
    for v in &mut a {
        *v = read_i32(r).map_err(eof)?;
    }
    let hp = GgmlHparams::from_array(a);
    if hp.n_vocab <= 0 || hp.n_audio_layer <= 0 || hp.n_text_layer <= 0 || hp.n_mels <= 0 {
        return Err(invalid(
            path,
            format!("implausible hyper-parameters {hp:?}"),
        ));
    }
    Ok(hp)
}

/// Reads only the magic and the hyper-parameters (cheap; used by [`crate::ModelStore::list`]).
pub fn read_ggml_hparams(path: &Path) -> Result<GgmlHparams, ModelError> {
    let mut f = BufReader::with_capacity(64, File::open(path)?);
    read_header(path, &mut f)
}

/// Parses a whole ggml whisper file: header, mel filter dimensions, vocabulary and the tensor
/// directory (tensor data is skipped, not read).
pub fn inspect_ggml(path: &Path) -> Result<GgmlInfo, ModelError> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut r = BufReader::with_capacity(1 << 16, file);
    let hparams = read_header(path, &mut r)?;
    let eof = |e: io::Error| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            invalid(path, "truncated file")
        } else {
            ModelError::Io(e)
        }
    };
    let n_mel = read_i32(&mut r).map_err(eof)?;
    let n_fft = read_i32(&mut r).map_err(eof)?;
    if !(0..=1024).contains(&n_mel) || !(0..=4096).contains(&n_fft) {
        return Err(invalid(
            path,
            format!("implausible mel filter size {n_mel}x{n_fft}"),
        ));
    }
    r.seek_relative(i64::from(n_mel) * i64::from(n_fft) * 4)?;
    let n_tokens = read_i32(&mut r).map_err(eof)?;
    if !(0..=1_000_000).contains(&n_tokens) {
        return Err(invalid(path, format!("implausible token count {n_tokens}")));
    }
    let mut tokens = Vec::with_capacity(n_tokens as usize);
    for _ in 0..n_tokens {
        let n = read_i32(&mut r).map_err(eof)? as u32 as usize;
        if n > 1024 {
            return Err(invalid(path, format!("token of {n} bytes")));
        }
        let mut t = vec![0u8; n];
        r.read_exact(&mut t).map_err(eof)?;
        tokens.push(t);
    }
    let mut tensors = Vec::new();
    loop {
        let pos = r.stream_position()?;
        if pos == len {
            break;
        }
        let n_dims = read_i32(&mut r).map_err(eof)?;
        let name_len = read_i32(&mut r).map_err(eof)?;
        let tt = read_i32(&mut r).map_err(eof)?;
        if !(1..=4).contains(&n_dims) || !(1..=512).contains(&name_len) {
            return Err(invalid(path, format!("bad tensor record at offset {pos}")));
        }
        let mut ne = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            ne.push(read_i32(&mut r).map_err(eof)?);
        }
        let mut name = vec![0u8; name_len as usize];
        r.read_exact(&mut name).map_err(eof)?;
        let name = String::from_utf8_lossy(&name).into_owned();
        let nel: u64 = ne.iter().map(|&n| n.max(0) as u64).product();
        let nbytes = tensor_nbytes(tt, nel)
            .ok_or_else(|| invalid(path, format!("tensor {name} has unknown type {tt}")))?;
        let offset = r.stream_position()?;
        if offset + nbytes > len {
            return Err(invalid(
                path,
                format!("tensor {name} runs past the end of the file"),
            ));
        }
        r.seek(SeekFrom::Start(offset + nbytes))?;
        tensors.push(GgmlTensorInfo {
            name,
            ne,
            ttype: tt,
            offset,
            nbytes,
        });
    }
    Ok(GgmlInfo {
        path: path.to_path_buf(),
        hparams,
        n_mel,
        n_fft,
        tokens,
        tensors,
    })
}
