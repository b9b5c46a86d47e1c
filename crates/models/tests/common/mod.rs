//! Test helpers written independently of the library: a ggml reader (to parse converted files
//! back), a CTranslate2 reader (to compare values) and a CTranslate2 writer (synthetic models).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use half::f16;

pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

// ---------------------------------------------------------------------------------------------
// ggml

pub struct GgmlTensor {
    pub name: String,
    pub ne: Vec<i32>,
    pub ttype: i32,
    pub data: std::ops::Range<usize>,
}

pub struct Ggml {
    pub bytes: Vec<u8>,
    pub hparams: [i32; 11],
    pub n_mel: i32,
    pub n_fft: i32,
    pub filters: Vec<f32>,
    pub tokens: Vec<Vec<u8>>,
    pub tensors: Vec<GgmlTensor>,
}

fn rd_i32(b: &[u8], pos: &mut usize) -> i32 {
    let v = i32::from_le_bytes(b[*pos..*pos + 4].try_into().unwrap());
    *pos += 4;
    v
}

pub fn type_size(ttype: i32, nel: usize) -> usize {
    match ttype {
        0 => nel * 4,
        1 => nel * 2,
        6 => {
            assert_eq!(nel % 32, 0);
            nel / 32 * 22
        }
        8 => {
            assert_eq!(nel % 32, 0);
            nel / 32 * 34
        }
        t => panic!("unexpected tensor type {t}"),
    }
}

impl Ggml {
    pub fn read(path: &Path) -> Ggml {
        let bytes = std::fs::read(path).unwrap();
        let mut p = 0;
        assert_eq!(rd_i32(&bytes, &mut p) as u32, 0x6767_6d6c, "magic");
        let mut hparams = [0i32; 11];
        for h in &mut hparams {
            *h = rd_i32(&bytes, &mut p);
        }
        let n_mel = rd_i32(&bytes, &mut p);
        let n_fft = rd_i32(&bytes, &mut p);
        let mut filters = Vec::new();
        for _ in 0..(n_mel * n_fft) {
            filters.push(f32::from_le_bytes(bytes[p..p + 4].try_into().unwrap()));
            p += 4;
        }
        let n_tokens = rd_i32(&bytes, &mut p);
        let mut tokens = Vec::new();
        for _ in 0..n_tokens {
            let n = rd_i32(&bytes, &mut p) as usize;
            tokens.push(bytes[p..p + n].to_vec());
            p += n;
        }
        let mut tensors = Vec::new();
        while p < bytes.len() {
            let n_dims = rd_i32(&bytes, &mut p);
            let name_len = rd_i32(&bytes, &mut p) as usize;
            let ttype = rd_i32(&bytes, &mut p);
            assert!((1..=3).contains(&n_dims));
            let ne: Vec<i32> = (0..n_dims).map(|_| rd_i32(&bytes, &mut p)).collect();
            let name = String::from_utf8(bytes[p..p + name_len].to_vec()).unwrap();
            p += name_len;
            let nel: usize = ne.iter().map(|&n| n as usize).product();
            let sz = type_size(ttype, nel);
            assert!(p + sz <= bytes.len(), "{name} truncated");
            tensors.push(GgmlTensor {
                name,
                ne,
                ttype,
                data: p..p + sz,
            });
            p += sz;
        }
        Ggml {
            bytes,
            hparams,
            n_mel,
            n_fft,
            filters,
            tokens,
            tensors,
        }
    }

    pub fn tensor(&self, name: &str) -> &GgmlTensor {
        self.tensors
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no tensor {name}"))
    }

    /// Tensor values as f32 (dequantizing Q8_0 / Q5_0 with ggml's reference formulas).
    pub fn values(&self, name: &str) -> Vec<f32> {
        let t = self.tensor(name);
        let b = &self.bytes[t.data.clone()];
        match t.ttype {
            0 => b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect(),
            1 => b
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            8 => b
                .chunks_exact(34)
                .flat_map(|blk| {
                    let d = f16::from_le_bytes([blk[0], blk[1]]).to_f32();
                    blk[2..]
                        .iter()
                        .map(move |&q| (q as i8) as f32 * d)
                        .collect::<Vec<_>>()
                })
                .collect(),
            6 => b
                .chunks_exact(22)
                .flat_map(|blk| {
                    let d = f16::from_le_bytes([blk[0], blk[1]]).to_f32();
                    let qh = u32::from_le_bytes(blk[2..6].try_into().unwrap());
                    let qs = &blk[6..22];
                    let mut out = [0f32; 32];
                    for j in 0..16 {
                        let h0 = ((qh >> j) & 1) << 4;
                        let h1 = ((qh >> (j + 16)) & 1) << 4;
                        out[j] = (((qs[j] & 0x0F) as u32 | h0) as i32 - 16) as f32 * d;
                        out[j + 16] = (((qs[j] >> 4) as u32 | h1) as i32 - 16) as f32 * d;
                    }
                    out.to_vec()
                })
                .collect(),
            t => panic!("type {t}"),
        }
    }
}

/// Tensor names whisper.cpp expects, in no particular order.
pub fn expected_tensor_names(n_audio_layer: usize, n_text_layer: usize) -> Vec<String> {
    let mut v: Vec<String> = [
        "encoder.positional_embedding",
        "encoder.conv1.weight",
        "encoder.conv1.bias",
        "encoder.conv2.weight",
        "encoder.conv2.bias",
        "encoder.ln_post.weight",
        "encoder.ln_post.bias",
        "decoder.positional_embedding",
        "decoder.token_embedding.weight",
        "decoder.ln.weight",
        "decoder.ln.bias",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let attn = |p: &str| {
        vec![
            format!("{p}.query.weight"),
            format!("{p}.query.bias"),
            format!("{p}.key.weight"),
            format!("{p}.value.weight"),
            format!("{p}.value.bias"),
            format!("{p}.out.weight"),
            format!("{p}.out.bias"),
            format!("{p}_ln.weight"),
            format!("{p}_ln.bias"),
        ]
    };
    let mlp = |p: &str| {
        vec![
            format!("{p}.mlp.0.weight"),
            format!("{p}.mlp.0.bias"),
            format!("{p}.mlp.2.weight"),
            format!("{p}.mlp.2.bias"),
            format!("{p}.mlp_ln.weight"),
            format!("{p}.mlp_ln.bias"),
        ]
    };
    for i in 0..n_audio_layer {
        let b = format!("encoder.blocks.{i}");
        v.extend(attn(&format!("{b}.attn")));
        v.extend(mlp(&b));
    }
    for i in 0..n_text_layer {
        let b = format!("decoder.blocks.{i}");
        v.extend(attn(&format!("{b}.attn")));
        v.extend(attn(&format!("{b}.cross_attn")));
        v.extend(mlp(&b));
    }
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// CTranslate2

pub struct Ct2Var {
    pub dims: Vec<u32>,
    pub dtype: u8,
    pub data: Vec<u8>,
}

/// Reads a whole CTranslate2 model.bin (or its parts, concatenated) into memory.
pub fn read_ct2(dir: &Path) -> BTreeMap<String, Ct2Var> {
    let mut bytes = Vec::new();
    if dir.join("model.bin").exists() {
        bytes = std::fs::read(dir.join("model.bin")).unwrap();
    } else {
        for i in 1.. {
            let p = dir.join(format!("model.bin.part{i}"));
            if !p.exists() {
                break;
            }
            bytes.extend(std::fs::read(p).unwrap());
        }
    }
    let mut p = 0usize;
    let u32_ = |p: &mut usize| {
        let v = u32::from_le_bytes(bytes[*p..*p + 4].try_into().unwrap());
        *p += 4;
        v
    };
    let s = |p: &mut usize| {
        let n = u16::from_le_bytes(bytes[*p..*p + 2].try_into().unwrap()) as usize;
        let v = String::from_utf8(bytes[*p + 2..*p + 2 + n - 1].to_vec()).unwrap();
        *p += 2 + n;
        v
    };
    assert_eq!(u32_(&mut p), 6);
    assert_eq!(s(&mut p), "WhisperSpec");
    u32_(&mut p);
    let n = u32_(&mut p);
    let mut vars = BTreeMap::new();
    for _ in 0..n {
        let name = s(&mut p);
        let rank = bytes[p] as usize;
        p += 1;
        let dims: Vec<u32> = (0..rank).map(|_| u32_(&mut p)).collect();
        let dtype = bytes[p];
        p += 1;
        let nb = u32_(&mut p) as usize;
        vars.insert(
            name,
            Ct2Var {
                dims,
                dtype,
                data: bytes[p..p + nb].to_vec(),
            },
        );
        p += nb;
    }
    vars
}

impl Ct2Var {
    pub fn f32s(&self) -> Vec<f32> {
        match self.dtype {
            0 => self
                .data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect(),
            4 => self
                .data
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            t => panic!("dtype {t}"),
        }
    }
}

/// Writes a CTranslate2 (binary version 6) Whisper model, optionally split into `n_parts`
/// `model.bin.partN` files.
pub fn write_ct2(
    dir: &Path,
    vars: &BTreeMap<String, Ct2Var>,
    aliases: &[(&str, &str)],
    n_parts: usize,
) {
    let mut b = Vec::new();
    let s = |b: &mut Vec<u8>, v: &str| {
        b.extend(((v.len() + 1) as u16).to_le_bytes());
        b.extend(v.as_bytes());
        b.push(0);
    };
    b.extend(6u32.to_le_bytes());
    s(&mut b, "WhisperSpec");
    b.extend(3u32.to_le_bytes());
    b.extend((vars.len() as u32).to_le_bytes());
    for (name, v) in vars {
        s(&mut b, name);
        b.push(v.dims.len() as u8);
        for d in &v.dims {
            b.extend(d.to_le_bytes());
        }
        b.push(v.dtype);
        b.extend((v.data.len() as u32).to_le_bytes());
        b.extend(&v.data);
    }
    b.extend((aliases.len() as u32).to_le_bytes());
    for (a, t) in aliases {
        s(&mut b, a);
        s(&mut b, t);
    }
    if n_parts <= 1 {
        std::fs::write(dir.join("model.bin"), &b).unwrap();
    } else {
        let chunk = b.len().div_ceil(n_parts);
        for (i, c) in b.chunks(chunk).enumerate() {
            std::fs::File::create(dir.join(format!("model.bin.part{}", i + 1)))
                .unwrap()
                .write_all(c)
                .unwrap();
        }
    }
}

/// Deterministic pseudo-random values in [-0.5, 0.5).
pub fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

pub fn f16_var(dims: &[u32], vals: &[f32]) -> Ct2Var {
    assert_eq!(dims.iter().product::<u32>() as usize, vals.len());
    Ct2Var {
        dims: dims.to_vec(),
        dtype: 4,
        data: vals
            .iter()
            .flat_map(|v| f16::from_f32(*v).to_le_bytes())
            .collect(),
    }
}

pub fn scalar_i16(v: i16) -> Ct2Var {
    Ct2Var {
        dims: vec![],
        dtype: 2,
        data: v.to_le_bytes().to_vec(),
    }
}

type Vars = BTreeMap<String, Ct2Var>;

/// A miniature Whisper in CTranslate2 layout: width `n`, `la` encoder and `lt` decoder layers,
/// `n_vocab` embedding rows, 80 mels. Returns the variables (f16 throughout).
pub fn synthetic_whisper(
    n: u32,
    la: u32,
    lt: u32,
    n_vocab: u32,
    heads: i16,
) -> BTreeMap<String, Ct2Var> {
    let mut vars = BTreeMap::new();
    let mut seed = 1u64;
    let mut t = |vars: &mut Vars, name: String, dims: &[u32]| {
        seed += 1;
        let nel = dims.iter().product::<u32>() as usize;
        vars.insert(name, f16_var(dims, &noise(nel, seed)));
    };
    vars.insert("encoder/num_heads".into(), scalar_i16(heads));
    vars.insert("decoder/num_heads".into(), scalar_i16(heads));
    vars.insert(
        "decoder/activation".into(),
        Ct2Var {
            dims: vec![],
            dtype: 1,
            data: vec![3],
        },
    );
    t(
        &mut vars,
        "encoder/position_encodings/encodings".into(),
        &[30, n],
    );
    t(
        &mut vars,
        "decoder/position_encodings/encodings".into(),
        &[16, n],
    );
    t(&mut vars, "encoder/conv1/weight".into(), &[n, 80, 3]);
    t(&mut vars, "encoder/conv1/bias".into(), &[n]);
    t(&mut vars, "encoder/conv2/weight".into(), &[n, n, 3]);
    t(&mut vars, "encoder/conv2/bias".into(), &[n]);
    t(&mut vars, "encoder/layer_norm/gamma".into(), &[n]);
    t(&mut vars, "encoder/layer_norm/beta".into(), &[n]);
    t(&mut vars, "decoder/layer_norm/gamma".into(), &[n]);
    t(&mut vars, "decoder/layer_norm/beta".into(), &[n]);
    t(&mut vars, "decoder/embeddings/weight".into(), &[n_vocab, n]);
    let ln = |t: &mut dyn FnMut(&mut Vars, String, &[u32]), vars: &mut Vars, p: &str| {
        t(vars, format!("{p}/layer_norm/gamma"), &[n]);
        t(vars, format!("{p}/layer_norm/beta"), &[n]);
    };
    for (side, layers) in [("encoder", la), ("decoder", lt)] {
        for i in 0..layers {
            let p = format!("{side}/layer_{i}");
            let sa = format!("{p}/self_attention");
            t(&mut vars, format!("{sa}/linear_0/weight"), &[3 * n, n]);
            t(&mut vars, format!("{sa}/linear_0/bias"), &[3 * n]);
            t(&mut vars, format!("{sa}/linear_1/weight"), &[n, n]);
            t(&mut vars, format!("{sa}/linear_1/bias"), &[n]);
            ln(&mut t, &mut vars, &sa);
            let ff = format!("{p}/ffn");
            t(&mut vars, format!("{ff}/linear_0/weight"), &[4 * n, n]);
            t(&mut vars, format!("{ff}/linear_0/bias"), &[4 * n]);
            t(&mut vars, format!("{ff}/linear_1/weight"), &[n, 4 * n]);
            t(&mut vars, format!("{ff}/linear_1/bias"), &[n]);
            ln(&mut t, &mut vars, &ff);
            if side == "decoder" {
                let a = format!("{p}/attention");
                t(&mut vars, format!("{a}/linear_0/weight"), &[n, n]);
                t(&mut vars, format!("{a}/linear_0/bias"), &[n]);
                t(&mut vars, format!("{a}/linear_1/weight"), &[2 * n, n]);
                t(&mut vars, format!("{a}/linear_1/bias"), &[2 * n]);
                t(&mut vars, format!("{a}/linear_2/weight"), &[n, n]);
                t(&mut vars, format!("{a}/linear_2/bias"), &[n]);
                ln(&mut t, &mut vars, &a);
            }
        }
    }
    vars
}

/// GPT-2 `bytes_to_unicode()`: byte → char.
pub fn byte_to_unicode() -> Vec<char> {
    let mut bs: Vec<u32> = (33..=126).chain(0xA1..=0xAC).chain(0xAE..=0xFF).collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    let mut out = vec!['\0'; 256];
    for (b, c) in bs.iter().zip(cs) {
        out[*b as usize] = char::from_u32(c).unwrap();
    }
    out
}

pub fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}
