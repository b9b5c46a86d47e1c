//! CTranslate2 (faster-whisper) → whisper.cpp ggml conversion.

use std::fmt;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use half::f16;
use serde::Serialize;

use crate::ModelError;
use crate::ct2::{Ct2Model, Dtype, Var, read_bpe_tokens};
use crate::ggml::{GGML_MAGIC, GGML_QNT_VERSION, GGML_QNT_VERSION_FACTOR, GgmlHparams, ttype};
use crate::mel::slaney_mel_filters;
use crate::quant::{QK, quantize_q5_0, quantize_q8_0};

/// Storage of the big weight matrices in the converted file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub enum Quant {
    /// Half precision, like the official `ggml-{name}.bin` files (ftype 1).
    F16,
    /// ggml Q8_0: 32-value blocks, f16 scale + 32 × i8 (ftype 7). Half the size of f16.
    Q8_0,
    /// ggml Q5_0: 32-value blocks, f16 scale + 5-bit values (ftype 8). About a third of f16.
    Q5_0,
}

impl Quant {
    pub const ALL: [Quant; 3] = [Quant::F16, Quant::Q8_0, Quant::Q5_0];

    pub fn as_str(self) -> &'static str {
        match self {
            Quant::F16 => "f16",
            Quant::Q8_0 => "q8_0",
            Quant::Q5_0 => "q5_0",
        }
    }

    /// `enum ggml_ftype` value.
    pub fn ggml_ftype(self) -> i32 {
        match self {
            Quant::F16 => 1,
            Quant::Q8_0 => 7,
            Quant::Q5_0 => 8,
        }
    }

    /// Value of the `ftype` header field as whisper.cpp's own tools write it: quantized files
    /// carry `GGML_QNT_VERSION * 1000` on top (2007, 2008); whisper.cpp reads `ftype % 1000`.
    pub fn header_ftype(self) -> i32 {
        match self {
            Quant::F16 => self.ggml_ftype(),
            _ => GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR + self.ggml_ftype(),
        }
    }

    /// `enum ggml_type` of the quantized matrices.
    pub fn ggml_type(self) -> i32 {
        match self {
            Quant::F16 => ttype::F16,
            Quant::Q8_0 => ttype::Q8_0,
            Quant::Q5_0 => ttype::Q5_0,
        }
    }

    /// From a header `ftype` (with or without the quantization version).
    pub fn from_header_ftype(ftype: i32) -> Option<Quant> {
        match ftype % GGML_QNT_VERSION_FACTOR {
            1 => Some(Quant::F16),
            7 => Some(Quant::Q8_0),
            8 => Some(Quant::Q5_0),
            _ => None,
        }
    }
}

impl fmt::Display for Quant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Quant> for String {
    fn from(q: Quant) -> String {
        q.as_str().to_string()
    }
}

/// Error of `Quant::from_str`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown quantization {0:?}; expected f16, q8_0 or q5_0")]
pub struct ParseQuantError(pub String);

impl FromStr for Quant {
    type Err = ParseQuantError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "f16" => Ok(Quant::F16),
            "q8_0" => Ok(Quant::Q8_0),
            "q5_0" => Ok(Quant::Q5_0),
            _ => Err(ParseQuantError(s.to_string())),
        }
    }
}

/// Result of a conversion.
#[derive(Debug, Clone, Serialize)]
pub struct ConvertReport {
    pub out: PathBuf,
    pub n_tensors: usize,
    pub multilingual: bool,
    pub n_vocab: u32,
    pub quant: Quant,
    /// Size of the written file.
    pub bytes: u64,
    pub hparams: GgmlHparams,
    /// Number of regular BPE tokens written to the vocabulary section.
    pub n_tokens: usize,
    pub seconds: f64,
}

/// What a CTranslate2 folder contains, without converting it.
#[derive(Debug, Clone, Serialize)]
pub struct Ct2Info {
    pub dir: PathBuf,
    /// Hyper-parameters the converted file would have (ftype of f16).
    pub hparams: GgmlHparams,
    pub multilingual: bool,
    /// How many `model.bin` files (1, or the number of `model.bin.partN`).
    pub n_parts: usize,
    /// The whisper.cpp name of this architecture: `tiny`, `base.en`, `large-v3`, ... or
    /// `custom` when the shape matches none of the official models.
    pub suggested_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Always f32 (biases, norms, positional embeddings).
    F32,
    /// Always f16 (convolution kernels).
    F16,
    /// f16, or the requested quantization (2-D matrices).
    Matrix,
}

struct Job {
    name: String,
    src: Var,
    /// Per-row (or scalar) dequantization scale of int8/int16 exports.
    scale: Option<Vec<f32>>,
    /// First source row (for 1-D sources: first element; then `row_len` is the slice length).
    row_start: u64,
    rows: u64,
    row_len: u64,
    ne: Vec<i32>,
    kind: Kind,
}

impl Job {
    fn src_bytes(&self) -> u64 {
        self.rows * self.row_len * self.src.dtype.size() as u64
    }
}

fn bad(dir: &Path, detail: impl Into<String>) -> ModelError {
    ModelError::NotCTranslate2 {
        dir: dir.to_path_buf(),
        detail: detail.into(),
    }
}

fn expect_dims(dir: &Path, var: &Var, want: &[u64]) -> Result<(), ModelError> {
    if var.dims != want {
        return Err(bad(
            dir,
            format!(
                "tensor {} has shape {:?}, expected {:?}",
                var.name, var.dims, want
            ),
        ));
    }
    Ok(())
}

fn count_layers(model: &Ct2Model, prefix: &str) -> usize {
    let mut n = 0;
    for name in model.var_names() {
        if let Some(rest) = name.strip_prefix(prefix)
            && let Some((idx, _)) = rest.split_once('/')
            && let Ok(i) = idx.parse::<usize>()
        {
            n = n.max(i + 1);
        }
    }
    n
}

fn as_i32(dir: &Path, what: &str, v: u64) -> Result<i32, ModelError> {
    i32::try_from(v).map_err(|_| bad(dir, format!("{what} = {v} is out of range")))
}

fn derive_hparams(model: &mut Ct2Model) -> Result<GgmlHparams, ModelError> {
    let dir = model.dir.clone();
    let emb = model.require("decoder/embeddings/weight")?.clone();
    let epe = model
        .require("encoder/position_encodings/encodings")?
        .clone();
    let dpe = model
        .require("decoder/position_encodings/encodings")?
        .clone();
    let conv1 = model.require("encoder/conv1/weight")?.clone();
    for v in [&emb, &epe, &dpe] {
        if v.dims.len() != 2 {
            return Err(bad(
                &dir,
                format!("{} should be 2-D, has shape {:?}", v.name, v.dims),
            ));
        }
    }
    if conv1.dims.len() != 3 {
        return Err(bad(
            &dir,
            format!(
                "encoder/conv1/weight should be 3-D, has shape {:?}",
                conv1.dims
            ),
        ));
    }
    let n_audio_state = epe.dims[1];
    let n_text_state = dpe.dims[1];
    if n_audio_state != n_text_state || emb.dims[1] != n_text_state {
        return Err(bad(
            &dir,
            "encoder and decoder widths differ (whisper.cpp requires them equal)",
        ));
    }
    let n_audio_layer = count_layers(model, "encoder/layer_");
    let n_text_layer = count_layers(model, "decoder/layer_");
    if n_audio_layer == 0 || n_text_layer == 0 {
        return Err(bad(&dir, "no encoder/layer_N or decoder/layer_N tensors"));
    }
    let heads = |model: &mut Ct2Model, name: &str| -> Result<u64, ModelError> {
        match model.scalar_int(name)? {
            Some(h) if h > 0 && (n_audio_state % h as u64) == 0 => Ok(h as u64),
            Some(h) => Err(bad(
                &dir,
                format!("{name} = {h} does not divide the width {n_audio_state}"),
            )),
            None => {
                // Every Whisper size uses 64-wide heads.
                tracing::warn!("{name} missing; assuming 64-dimensional heads");
                Ok(n_audio_state / 64)
            }
        }
    };
    let n_audio_head = heads(model, "encoder/num_heads")?;
    let n_text_head = heads(model, "decoder/num_heads")?;
    Ok(GgmlHparams {
        n_vocab: as_i32(&dir, "n_vocab", emb.dims[0])?,
        n_audio_ctx: as_i32(&dir, "n_audio_ctx", epe.dims[0])?,
        n_audio_state: as_i32(&dir, "n_audio_state", n_audio_state)?,
        n_audio_head: as_i32(&dir, "n_audio_head", n_audio_head)?,
        n_audio_layer: as_i32(&dir, "n_audio_layer", n_audio_layer as u64)?,
        n_text_ctx: as_i32(&dir, "n_text_ctx", dpe.dims[0])?,
        n_text_state: as_i32(&dir, "n_text_state", n_text_state)?,
        n_text_head: as_i32(&dir, "n_text_head", n_text_head)?,
        n_text_layer: as_i32(&dir, "n_text_layer", n_text_layer as u64)?,
        n_mels: as_i32(&dir, "n_mels", conv1.dims[1])?,
        ftype: Quant::F16.header_ftype(),
    })
}

fn suggest_name(hp: &GgmlHparams) -> String {
    let size = match (hp.n_audio_layer, hp.n_audio_state) {
        (4, 384) => "tiny",
        (6, 512) => "base",
        (12, 768) => "small",
        (24, 1024) => "medium",
        (32, 1280) if hp.n_text_layer == 4 => "large-v3-turbo",
        (32, 1280) if hp.n_vocab == 51866 => "large-v3",
        (32, 1280) => "large",
        _ => "custom",
    };
    let en = if hp.n_vocab == 51864 && size != "custom" {
        ".en"
    } else {
        ""
    };
    format!("{size}{en}")
}

/// Reads the model index and vocabulary of a CTranslate2 Whisper folder without converting.
pub fn inspect_ct2(dir: &Path) -> Result<Ct2Info, ModelError> {
    let mut model = Ct2Model::open(dir)?;
    let hparams = derive_hparams(&mut model)?;
    Ok(Ct2Info {
        dir: dir.to_path_buf(),
        multilingual: hparams.multilingual(),
        suggested_name: suggest_name(&hparams),
        n_parts: model.n_parts,
        hparams,
    })
}

struct Planner {
    dir: PathBuf,
    n: u64,
    jobs: Vec<Job>,
}

impl Planner {
    fn chk(&self, model: &Ct2Model, name: &str, dims: &[u64]) -> Result<(), ModelError> {
        expect_dims(&self.dir, model.require(name)?, dims)
    }

    /// Adds a job over rows `[a, b)` of a 2-D+ source, or elements `[a, b)` of a 1-D source.
    fn add(
        &mut self,
        model: &mut Ct2Model,
        name: String,
        src: &str,
        range: Option<(u64, u64)>,
        ne_override: Option<Vec<i32>>,
        kind: Kind,
    ) -> Result<(), ModelError> {
        let var = model.require(src)?.clone();
        let (rows_total, row_len_full) = match var.dims.len() {
            0 => {
                return Err(bad(
                    &self.dir,
                    format!("{src} is a scalar, expected a tensor"),
                ));
            }
            1 => (1, var.dims[0]),
            _ => (var.dims[0], var.dims[1..].iter().product()),
        };
        let (row_start, rows, row_len) = match (var.dims.len(), range) {
            (1, Some((a, b))) => (a, 1, b - a),
            (1, None) => (0, 1, row_len_full),
            (_, Some((a, b))) => (a, b - a, row_len_full),
            (_, None) => (0, rows_total, row_len_full),
        };
        let ne = match ne_override {
            Some(ne) => ne,
            None => {
                let mut dims = var.dims.clone();
                dims[0] = if var.dims.len() == 1 { row_len } else { rows };
                dims.iter().rev().map(|&d| d as i32).collect()
            }
        };
        let scale = match var.dtype {
            Dtype::F32 | Dtype::F16 | Dtype::Bf16 => None,
            Dtype::I8 | Dtype::I16 => Some(self.load_scale(model, &var, rows_total)?),
            Dtype::I32 => {
                return Err(ModelError::UnsupportedDtype {
                    name: src.to_string(),
                    dtype: "int32".into(),
                });
            }
        };
        self.jobs.push(Job {
            name,
            src: var,
            scale,
            row_start,
            rows,
            row_len,
            ne,
            kind,
        });
        Ok(())
    }

    /// The `weight_scale` of an int8/int16 CTranslate2 weight: one per output row (int8) or a
    /// single one (int16).
    fn load_scale(
        &self,
        model: &mut Ct2Model,
        var: &Var,
        rows_total: u64,
    ) -> Result<Vec<f32>, ModelError> {
        let src = &var.name;
        let scale_name = src
            .strip_suffix("/weight")
            .map(|p| format!("{p}/weight_scale"))
            .unwrap_or_else(|| format!("{src}_scale"));
        let Some(sv) = model.get(&scale_name).cloned() else {
            return Err(ModelError::UnsupportedDtype {
                name: src.clone(),
                dtype: format!("{} without {scale_name}", var.dtype.name()),
            });
        };
        let count = sv.numel();
        if count != 1 && count != rows_total {
            return Err(ModelError::UnsupportedDtype {
                name: src.clone(),
                dtype: format!(
                    "{} with a {:?} scale (expected one per row or one in total)",
                    var.dtype.name(),
                    sv.dims
                ),
            });
        }
        let mut raw = Vec::new();
        let mut vals = Vec::new();
        model.read_f32(&sv, 0, count, &mut raw, &mut vals)?;
        if vals.iter().any(|s| *s == 0.0 || !s.is_finite()) {
            return Err(bad(
                &self.dir,
                format!("{scale_name} has zero or non-finite values"),
            ));
        }
        Ok(vals)
    }

    /// Self-attention with fused q/k/v (`linear_0`) and output (`linear_1`); key bias dropped.
    fn self_attn(&mut self, model: &mut Ct2Model, src: &str, dst: &str) -> Result<(), ModelError> {
        let n = self.n;
        self.chk(model, &format!("{src}/linear_0/weight"), &[3 * n, n])?;
        self.chk(model, &format!("{src}/linear_0/bias"), &[3 * n])?;
        self.chk(model, &format!("{src}/linear_1/weight"), &[n, n])?;
        self.chk(model, &format!("{src}/linear_1/bias"), &[n])?;
        self.chk(model, &format!("{src}/layer_norm/gamma"), &[n])?;
        self.chk(model, &format!("{src}/layer_norm/beta"), &[n])?;
        let w = format!("{src}/linear_0/weight");
        let b = format!("{src}/linear_0/bias");
        self.add(
            model,
            format!("{dst}.query.weight"),
            &w,
            Some((0, n)),
            None,
            Kind::Matrix,
        )?;
        self.add(
            model,
            format!("{dst}.query.bias"),
            &b,
            Some((0, n)),
            None,
            Kind::F32,
        )?;
        self.add(
            model,
            format!("{dst}.key.weight"),
            &w,
            Some((n, 2 * n)),
            None,
            Kind::Matrix,
        )?;
        check_zero_bias(model, &b, n, 2 * n)?;
        self.add(
            model,
            format!("{dst}.value.weight"),
            &w,
            Some((2 * n, 3 * n)),
            None,
            Kind::Matrix,
        )?;
        self.add(
            model,
            format!("{dst}.value.bias"),
            &b,
            Some((2 * n, 3 * n)),
            None,
            Kind::F32,
        )?;
        self.add(
            model,
            format!("{dst}.out.weight"),
            &format!("{src}/linear_1/weight"),
            None,
            None,
            Kind::Matrix,
        )?;
        self.add(
            model,
            format!("{dst}.out.bias"),
            &format!("{src}/linear_1/bias"),
            None,
            None,
            Kind::F32,
        )?;
        self.add(
            model,
            format!("{dst}_ln.weight"),
            &format!("{src}/layer_norm/gamma"),
            None,
            None,
            Kind::F32,
        )?;
        self.add(
            model,
            format!("{dst}_ln.bias"),
            &format!("{src}/layer_norm/beta"),
            None,
            None,
            Kind::F32,
        )?;
        Ok(())
    }

    /// Cross-attention: query (`linear_0`), fused key/value (`linear_1`), output (`linear_2`).
    fn cross_attn(&mut self, model: &mut Ct2Model, a: &str, c: &str) -> Result<(), ModelError> {
        let n = self.n;
        self.chk(model, &format!("{a}/linear_0/weight"), &[n, n])?;
        self.chk(model, &format!("{a}/linear_0/bias"), &[n])?;
        self.chk(model, &format!("{a}/linear_1/weight"), &[2 * n, n])?;
        self.chk(model, &format!("{a}/linear_1/bias"), &[2 * n])?;
        self.chk(model, &format!("{a}/linear_2/weight"), &[n, n])?;
        self.chk(model, &format!("{a}/linear_2/bias"), &[n])?;
        self.chk(model, &format!("{a}/layer_norm/gamma"), &[n])?;
        self.chk(model, &format!("{a}/layer_norm/beta"), &[n])?;
        let kv_w = format!("{a}/linear_1/weight");
        let kv_b = format!("{a}/linear_1/bias");
        self.add(
            model,
            format!("{c}.query.weight"),
            &format!("{a}/linear_0/weight"),
            None,
            None,
            Kind::Matrix,
        )?;
        self.add(
            model,
            format!("{c}.query.bias"),
            &format!("{a}/linear_0/bias"),
            None,
            None,
            Kind::F32,
        )?;
        self.add(
            model,
            format!("{c}.key.weight"),
            &kv_w,
            Some((0, n)),
            None,
            Kind::Matrix,
        )?;
        check_zero_bias(model, &kv_b, 0, n)?;
        self.add(
            model,
            format!("{c}.value.weight"),
            &kv_w,
            Some((n, 2 * n)),
            None,
            Kind::Matrix,
        )?;
        self.add(
            model,
            format!("{c}.value.bias"),
            &kv_b,
            Some((n, 2 * n)),
            None,
            Kind::F32,
        )?;
        self.add(
            model,
            format!("{c}.out.weight"),
            &format!("{a}/linear_2/weight"),
            None,
            None,
            Kind::Matrix,
        )?;
        self.add(
            model,
            format!("{c}.out.bias"),
            &format!("{a}/linear_2/bias"),
            None,
            None,
            Kind::F32,
        )?;
        self.add(
            model,
            format!("{c}_ln.weight"),
            &format!("{a}/layer_norm/gamma"),
            None,
            None,
            Kind::F32,
        )?;
        self.add(
            model,
            format!("{c}_ln.bias"),
            &format!("{a}/layer_norm/beta"),
            None,
            None,
            Kind::F32,
        )?;
        Ok(())
    }

    fn ffn(&mut self, model: &mut Ct2Model, src: &str, dst: &str) -> Result<(), ModelError> {
        let n = self.n;
        self.chk(model, &format!("{src}/linear_0/weight"), &[4 * n, n])?;
        self.chk(model, &format!("{src}/linear_0/bias"), &[4 * n])?;
        self.chk(model, &format!("{src}/linear_1/weight"), &[n, 4 * n])?;
        self.chk(model, &format!("{src}/linear_1/bias"), &[n])?;
        self.chk(model, &format!("{src}/layer_norm/gamma"), &[n])?;
        self.chk(model, &format!("{src}/layer_norm/beta"), &[n])?;
        self.add(
            model,
            format!("{dst}.mlp.0.weight"),
            &format!("{src}/linear_0/weight"),
            None,
            None,
            Kind::Matrix,
        )?;
        self.add(
            model,
            format!("{dst}.mlp.0.bias"),
            &format!("{src}/linear_0/bias"),
            None,
            None,
            Kind::F32,
        )?;
        self.add(
            model,
            format!("{dst}.mlp.2.weight"),
            &format!("{src}/linear_1/weight"),
            None,
            None,
            Kind::Matrix,
        )?;
        self.add(
            model,
            format!("{dst}.mlp.2.bias"),
            &format!("{src}/linear_1/bias"),
            None,
            None,
            Kind::F32,
        )?;
        self.add(
            model,
            format!("{dst}.mlp_ln.weight"),
            &format!("{src}/layer_norm/gamma"),
            None,
            None,
            Kind::F32,
        )?;
        self.add(
            model,
            format!("{dst}.mlp_ln.bias"),
            &format!("{src}/layer_norm/beta"),
            None,
            None,
            Kind::F32,
        )?;
        Ok(())
    }
}

/// Collects the jobs in whisper.cpp / PyTorch state-dict order and validates every shape.
fn plan(model: &mut Ct2Model, hp: &GgmlHparams) -> Result<Vec<Job>, ModelError> {
    let n = hp.n_audio_state as u64;
    let mut p = Planner {
        dir: model.dir.clone(),
        n,
        jobs: Vec::new(),
    };
    let n_mels = hp.n_mels as u64;
    let n_vocab = hp.n_vocab as u64;
    p.chk(
        model,
        "encoder/position_encodings/encodings",
        &[hp.n_audio_ctx as u64, n],
    )?;
    p.chk(model, "encoder/conv1/weight", &[n, n_mels, 3])?;
    p.chk(model, "encoder/conv1/bias", &[n])?;
    p.chk(model, "encoder/conv2/weight", &[n, n, 3])?;
    p.chk(model, "encoder/conv2/bias", &[n])?;
    p.chk(model, "encoder/layer_norm/gamma", &[n])?;
    p.chk(model, "encoder/layer_norm/beta", &[n])?;
    p.chk(
        model,
        "decoder/position_encodings/encodings",
        &[hp.n_text_ctx as u64, n],
    )?;
    p.chk(model, "decoder/embeddings/weight", &[n_vocab, n])?;
    p.chk(model, "decoder/layer_norm/gamma", &[n])?;
    p.chk(model, "decoder/layer_norm/beta", &[n])?;

    let conv_bias_ne = Some(vec![1, n as i32]);
    p.add(
        model,
        "encoder.positional_embedding".into(),
        "encoder/position_encodings/encodings",
        None,
        None,
        Kind::F32,
    )?;
    p.add(
        model,
        "encoder.conv1.weight".into(),
        "encoder/conv1/weight",
        None,
        None,
        Kind::F16,
    )?;
    p.add(
        model,
        "encoder.conv1.bias".into(),
        "encoder/conv1/bias",
        None,
        conv_bias_ne.clone(),
        Kind::F32,
    )?;
    p.add(
        model,
        "encoder.conv2.weight".into(),
        "encoder/conv2/weight",
        None,
        None,
        Kind::F16,
    )?;
    p.add(
        model,
        "encoder.conv2.bias".into(),
        "encoder/conv2/bias",
        None,
        conv_bias_ne,
        Kind::F32,
    )?;
    for i in 0..hp.n_audio_layer {
        p.self_attn(
            model,
            &format!("encoder/layer_{i}/self_attention"),
            &format!("encoder.blocks.{i}.attn"),
        )?;
        p.ffn(
            model,
            &format!("encoder/layer_{i}/ffn"),
            &format!("encoder.blocks.{i}"),
        )?;
    }
    p.add(
        model,
        "encoder.ln_post.weight".into(),
        "encoder/layer_norm/gamma",
        None,
        None,
        Kind::F32,
    )?;
    p.add(
        model,
        "encoder.ln_post.bias".into(),
        "encoder/layer_norm/beta",
        None,
        None,
        Kind::F32,
    )?;

    p.add(
        model,
        "decoder.positional_embedding".into(),
        "decoder/position_encodings/encodings",
        None,
        None,
        Kind::F32,
    )?;
    p.add(
        model,
        "decoder.token_embedding.weight".into(),
        "decoder/embeddings/weight",
        None,
        None,
        Kind::Matrix,
    )?;
    for i in 0..hp.n_text_layer {
        p.self_attn(
            model,
            &format!("decoder/layer_{i}/self_attention"),
            &format!("decoder.blocks.{i}.attn"),
        )?;
        p.cross_attn(
            model,
            &format!("decoder/layer_{i}/attention"),
            &format!("decoder.blocks.{i}.cross_attn"),
        )?;
        p.ffn(
            model,
            &format!("decoder/layer_{i}/ffn"),
            &format!("decoder.blocks.{i}"),
        )?;
    }
    p.add(
        model,
        "decoder.ln.weight".into(),
        "decoder/layer_norm/gamma",
        None,
        None,
        Kind::F32,
    )?;
    p.add(
        model,
        "decoder.ln.bias".into(),
        "decoder/layer_norm/beta",
        None,
        None,
        Kind::F32,
    )?;

    let expected = 11 + 15 * hp.n_audio_layer as usize + 24 * hp.n_text_layer as usize;
    debug_assert_eq!(p.jobs.len(), expected);
    Ok(p.jobs)
}

/// whisper.cpp has no key bias; CTranslate2 stores zeros there. Warn if they are not zeros.
fn check_zero_bias(model: &mut Ct2Model, name: &str, a: u64, b: u64) -> Result<(), ModelError> {
    let var = model.require(name)?.clone();
    if matches!(var.dtype, Dtype::I8 | Dtype::I16 | Dtype::I32) {
        return Ok(());
    }
    let mut raw = Vec::new();
    let mut vals = Vec::new();
    model.read_f32(&var, a, b - a, &mut raw, &mut vals)?;
    let max = vals.iter().fold(0f32, |m, v| m.max(v.abs()));
    if max > 0.0 {
        tracing::warn!(
            tensor = name,
            max_abs = max,
            "key bias is not zero; whisper.cpp has no key bias, dropping it"
        );
    }
    Ok(())
}

fn out_type(job: &Job, quant: Quant) -> i32 {
    match job.kind {
        Kind::F32 => ttype::F32,
        Kind::F16 => ttype::F16,
        Kind::Matrix => quant.ggml_type(),
    }
}

fn write_i32(w: &mut impl Write, v: i32) -> std::io::Result<()> {
    w.write_all(&v.to_le_bytes())
}

/// Converts a CTranslate2 Whisper export (a folder with `model.bin` or `model.bin.part1..N`,
/// and `vocabulary.txt` or `vocabulary.json`) into a whisper.cpp ggml file.
///
/// Tensors are streamed in bounded chunks (a few MB of memory regardless of model size). The
/// file is written to `{out}.partial` and renamed to `out` only when complete; on error the
/// partial file is removed. `progress` receives fractions in `0.0..=1.0`.
pub fn convert_ct2_to_ggml(
    src_dir: &Path,
    out: &Path,
    quant: Quant,
    progress: &mut dyn FnMut(f32),
) -> Result<ConvertReport, ModelError> {
    let started = Instant::now();
    let mut model = Ct2Model::open(src_dir)?;
    let mut hp = derive_hparams(&mut model)?;
    hp.ftype = quant.header_ftype();
    let tokens = read_bpe_tokens(src_dir)?;
    if tokens.len() > hp.n_vocab as usize {
        return Err(bad(
            src_dir,
            format!(
                "vocabulary has {} regular tokens but the embedding only {} rows",
                tokens.len(),
                hp.n_vocab
            ),
        ));
    }
    let jobs = plan(&mut model, &hp)?;
    if quant != Quant::F16 {
        for job in jobs.iter().filter(|j| j.kind == Kind::Matrix) {
            if !job.row_len.is_multiple_of(QK as u64) {
                return Err(bad(
                    src_dir,
                    format!(
                        "{} has rows of {} values, not a multiple of {QK}: cannot store it as {quant}",
                        job.name, job.row_len
                    ),
                ));
            }
        }
    }
    tracing::info!(
        src = %src_dir.display(),
        out = %out.display(),
        %quant,
        n_vocab = hp.n_vocab,
        n_audio_layer = hp.n_audio_layer,
        n_text_layer = hp.n_text_layer,
        n_mels = hp.n_mels,
        n_tensors = jobs.len(),
        "converting CTranslate2 model to ggml"
    );

    let mut partial = out.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let result = write_ggml(&mut model, &hp, &tokens, &jobs, quant, &partial, progress);
    if let Err(e) = result {
        let _ = fs::remove_file(&partial);
        return Err(e);
    }
    fs::rename(&partial, out)?;
    let bytes = fs::metadata(out)?.len();
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(out = %out.display(), bytes, seconds, "ggml model written");
    Ok(ConvertReport {
        out: out.to_path_buf(),
        n_tensors: jobs.len(),
        multilingual: hp.multilingual(),
        n_vocab: hp.n_vocab as u32,
        quant,
        bytes,
        hparams: hp,
        n_tokens: tokens.len(),
        seconds,
    })
}

fn write_ggml(
    model: &mut Ct2Model,
    hp: &GgmlHparams,
    tokens: &[Vec<u8>],
    jobs: &[Job],
    quant: Quant,
    path: &Path,
    progress: &mut dyn FnMut(f32),
) -> Result<(), ModelError> {
    let file = File::create(path)?;
    let mut w = BufWriter::with_capacity(1 << 20, file);

    write_i32(&mut w, GGML_MAGIC as i32)?;
    for v in hp.to_array() {
        write_i32(&mut w, v)?;
    }
    const N_FFT: usize = 400;
    let filters = slaney_mel_filters(hp.n_mels as usize, N_FFT, 16_000);
    write_i32(&mut w, hp.n_mels)?;
    write_i32(&mut w, (N_FFT / 2 + 1) as i32)?;
    for v in &filters {
        w.write_all(&v.to_le_bytes())?;
    }
    write_i32(&mut w, tokens.len() as i32)?;
    for t in tokens {
        w.write_all(&(t.len() as u32).to_le_bytes())?;
        w.write_all(t)?;
    }

    let total: u64 = jobs.iter().map(Job::src_bytes).sum::<u64>().max(1);
    let mut done: u64 = 0;
    progress(0.0);
    let mut raw = Vec::new();
    let mut vals: Vec<f32> = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    const CHUNK_ELEMS: u64 = 1 << 20;

    for job in jobs {
        let tt = out_type(job, quant);
        write_i32(&mut w, job.ne.len() as i32)?;
        write_i32(&mut w, job.name.len() as i32)?;
        write_i32(&mut w, tt)?;
        for &d in &job.ne {
            write_i32(&mut w, d)?;
        }
        w.write_all(job.name.as_bytes())?;

        let rows_per_chunk = (CHUNK_ELEMS / job.row_len).max(1);
        let mut r = 0;
        while r < job.rows {
            let nr = rows_per_chunk.min(job.rows - r);
            let first_row = job.row_start + r;
            // For 1-D sources `row_start` is an element offset and there is a single "row".
            let elem_start = if job.src.dims.len() == 1 {
                job.row_start
            } else {
                first_row * job.row_len
            };
            let count = nr * job.row_len;
            match &job.scale {
                None => model.read_f32(&job.src, elem_start, count, &mut raw, &mut vals)?,
                Some(scale) => {
                    model.read_int(&job.src, elem_start, count, &mut raw, &mut vals)?;
                    // CTranslate2 stores round(w * scale): w = q / scale.
                    for (i, row) in vals.chunks_exact_mut(job.row_len as usize).enumerate() {
                        let s = if scale.len() == 1 {
                            scale[0]
                        } else {
                            scale[(first_row + i as u64) as usize]
                        };
                        row.iter_mut().for_each(|v| *v /= s);
                    }
                }
            }
            buf.clear();
            match tt {
                ttype::F32 => buf.extend(vals.iter().flat_map(|v| v.to_le_bytes())),
                ttype::F16 => buf.extend(vals.iter().flat_map(|v| f16::from_f32(*v).to_le_bytes())),
                ttype::Q8_0 => quantize_q8_0(&vals, &mut buf),
                ttype::Q5_0 => quantize_q5_0(&vals, &mut buf),
                _ => unreachable!("no other output types"),
            }
            w.write_all(&buf)?;
            done += count * job.src.dtype.size() as u64;
            progress((done as f64 / total as f64) as f32);
            r += nr;
        }
    }
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    progress(1.0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quant_parse_and_display() {
        for q in Quant::ALL {
            assert_eq!(q.as_str().parse::<Quant>().unwrap(), q);
            assert_eq!(q.to_string(), q.as_str());
            assert_eq!(Quant::from_header_ftype(q.header_ftype()), Some(q));
            assert_eq!(Quant::from_header_ftype(q.ggml_ftype()), Some(q));
        }
        assert_eq!("Q8_0".parse::<Quant>().unwrap(), Quant::Q8_0);
        assert!("q4_0".parse::<Quant>().is_err());
        assert_eq!(Quant::Q8_0.header_ftype(), 2007);
        assert_eq!(Quant::Q5_0.header_ftype(), 2008);
        assert_eq!(Quant::F16.header_ftype(), 1);
    }

    #[test]
    fn names_from_shapes() {
        let mut hp = GgmlHparams {
            n_vocab: 51864,
            n_audio_ctx: 1500,
            n_audio_state: 384,
            n_audio_head: 6,
            n_audio_layer: 4,
            n_text_ctx: 448,
            n_text_state: 384,
            n_text_head: 6,
            n_text_layer: 4,
            n_mels: 80,
            ftype: 1,
        };
        assert_eq!(suggest_name(&hp), "tiny.en");
        hp.n_vocab = 51865;
        hp.n_audio_layer = 6;
        hp.n_audio_state = 512;
        assert_eq!(suggest_name(&hp), "base");
        hp.n_audio_layer = 32;
        hp.n_audio_state = 1280;
        hp.n_vocab = 51866;
        assert_eq!(suggest_name(&hp), "large-v3-turbo");
        hp.n_text_layer = 32;
        assert_eq!(suggest_name(&hp), "large-v3");
        hp.n_audio_layer = 5;
        assert_eq!(suggest_name(&hp), "custom");
    }
}
