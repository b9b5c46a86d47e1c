//! CTranslate2 → ggml conversion, checked by parsing the output back with an independent reader.
//!
//! Real weights: `TINGJI_CT2_TINY` (tiny.en) and `TINGJI_CT2_BASE` (multilingual base) name
//! folders with `model.bin` (or `model.bin.part1` + `part2` ...) and `vocabulary.txt`. With
//! `CI=true` they must be set; otherwise those tests are skipped. `TINGJI_CONVERT_OUT_DIR`, if
//! set, keeps the converted files there (`ggml-tiny.en.bin`, `ggml-base-q8_0.bin`, ...).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::*;
use tingji_models::{
    ModelError, ModelStore, Quant, convert_ct2_to_ggml, inspect_ct2, inspect_ggml,
    slaney_mel_filters,
};

/// (ggml name, CTranslate2 name, row range (elements for 1-D) or None for all)
type Mapping = Vec<(String, String, Option<(usize, usize)>)>;

fn mapping(n: usize, la: usize, lt: usize) -> Mapping {
    let mut m: Mapping = Vec::new();
    let mut add = |g: String, c: String, r: Option<(usize, usize)>| m.push((g, c, r));
    add(
        "encoder.positional_embedding".into(),
        "encoder/position_encodings/encodings".into(),
        None,
    );
    add(
        "encoder.conv1.weight".into(),
        "encoder/conv1/weight".into(),
        None,
    );
    add(
        "encoder.conv1.bias".into(),
        "encoder/conv1/bias".into(),
        None,
    );
    add(
        "encoder.conv2.weight".into(),
        "encoder/conv2/weight".into(),
        None,
    );
    add(
        "encoder.conv2.bias".into(),
        "encoder/conv2/bias".into(),
        None,
    );
    add(
        "encoder.ln_post.weight".into(),
        "encoder/layer_norm/gamma".into(),
        None,
    );
    add(
        "encoder.ln_post.bias".into(),
        "encoder/layer_norm/beta".into(),
        None,
    );
    add(
        "decoder.positional_embedding".into(),
        "decoder/position_encodings/encodings".into(),
        None,
    );
    add(
        "decoder.token_embedding.weight".into(),
        "decoder/embeddings/weight".into(),
        None,
    );
    add(
        "decoder.ln.weight".into(),
        "decoder/layer_norm/gamma".into(),
        None,
    );
    add(
        "decoder.ln.bias".into(),
        "decoder/layer_norm/beta".into(),
        None,
    );
    let blocks =
        |side: &str, i: usize, add: &mut dyn FnMut(String, String, Option<(usize, usize)>)| {
            let g = format!("{side}.blocks.{i}");
            let c = format!("{side}/layer_{i}");
            let sa = format!("{c}/self_attention");
            add(
                format!("{g}.attn.query.weight"),
                format!("{sa}/linear_0/weight"),
                Some((0, n)),
            );
            add(
                format!("{g}.attn.query.bias"),
                format!("{sa}/linear_0/bias"),
                Some((0, n)),
            );
            add(
                format!("{g}.attn.key.weight"),
                format!("{sa}/linear_0/weight"),
                Some((n, 2 * n)),
            );
            add(
                format!("{g}.attn.value.weight"),
                format!("{sa}/linear_0/weight"),
                Some((2 * n, 3 * n)),
            );
            add(
                format!("{g}.attn.value.bias"),
                format!("{sa}/linear_0/bias"),
                Some((2 * n, 3 * n)),
            );
            add(
                format!("{g}.attn.out.weight"),
                format!("{sa}/linear_1/weight"),
                None,
            );
            add(
                format!("{g}.attn.out.bias"),
                format!("{sa}/linear_1/bias"),
                None,
            );
            add(
                format!("{g}.attn_ln.weight"),
                format!("{sa}/layer_norm/gamma"),
                None,
            );
            add(
                format!("{g}.attn_ln.bias"),
                format!("{sa}/layer_norm/beta"),
                None,
            );
            let ff = format!("{c}/ffn");
            add(
                format!("{g}.mlp.0.weight"),
                format!("{ff}/linear_0/weight"),
                None,
            );
            add(
                format!("{g}.mlp.0.bias"),
                format!("{ff}/linear_0/bias"),
                None,
            );
            add(
                format!("{g}.mlp.2.weight"),
                format!("{ff}/linear_1/weight"),
                None,
            );
            add(
                format!("{g}.mlp.2.bias"),
                format!("{ff}/linear_1/bias"),
                None,
            );
            add(
                format!("{g}.mlp_ln.weight"),
                format!("{ff}/layer_norm/gamma"),
                None,
            );
            add(
                format!("{g}.mlp_ln.bias"),
                format!("{ff}/layer_norm/beta"),
                None,
            );
            if side == "decoder" {
                let a = format!("{c}/attention");
                add(
                    format!("{g}.cross_attn.query.weight"),
                    format!("{a}/linear_0/weight"),
                    None,
                );
                add(
                    format!("{g}.cross_attn.query.bias"),
                    format!("{a}/linear_0/bias"),
                    None,
                );
                add(
                    format!("{g}.cross_attn.key.weight"),
                    format!("{a}/linear_1/weight"),
                    Some((0, n)),
                );
                add(
                    format!("{g}.cross_attn.value.weight"),
                    format!("{a}/linear_1/weight"),
                    Some((n, 2 * n)),
                );
                add(
                    format!("{g}.cross_attn.value.bias"),
                    format!("{a}/linear_1/bias"),
                    Some((n, 2 * n)),
                );
                add(
                    format!("{g}.cross_attn.out.weight"),
                    format!("{a}/linear_2/weight"),
                    None,
                );
                add(
                    format!("{g}.cross_attn.out.bias"),
                    format!("{a}/linear_2/bias"),
                    None,
                );
                add(
                    format!("{g}.cross_attn_ln.weight"),
                    format!("{a}/layer_norm/gamma"),
                    None,
                );
                add(
                    format!("{g}.cross_attn_ln.bias"),
                    format!("{a}/layer_norm/beta"),
                    None,
                );
            }
        };
    for i in 0..la {
        blocks("encoder", i, &mut add);
    }
    for i in 0..lt {
        blocks("decoder", i, &mut add);
    }
    m
}

fn is_matrix(name: &str) -> bool {
    name.ends_with(".weight")
        && (name.contains(".attn.")
            || name.contains(".cross_attn.")
            || name.contains(".mlp.")
            || name.contains("token_embedding"))
}

/// Checks names, types, shapes and values of a converted file against its CTranslate2 source.
/// `exact_matrices`: compare quantizable matrices exactly (f16) or within the block error.
fn check_against_source(
    g: &Ggml,
    src: &BTreeMap<String, Ct2Var>,
    quant: Quant,
    la: usize,
    lt: usize,
    full_values: bool,
) {
    let n = g.hparams[2] as usize;
    let mut names: Vec<String> = g.tensors.iter().map(|t| t.name.clone()).collect();
    names.sort();
    assert_eq!(names, expected_tensor_names(la, lt), "tensor names");
    assert!(!names.iter().any(|s| s.ends_with("key.bias")));

    for (gname, cname, range) in mapping(n, la, lt) {
        let t = g.tensor(&gname);
        let cv = &src[&cname];
        // Shape: numpy order reversed, with the row slice applied.
        let mut dims: Vec<i32> = cv.dims.iter().map(|&d| d as i32).collect();
        if let Some((a, b)) = range {
            dims[0] = (b - a) as i32;
        }
        dims.reverse();
        if gname.starts_with("encoder.conv") && gname.ends_with(".bias") {
            assert_eq!(t.ne, vec![1, n as i32], "{gname} shape");
        } else {
            assert_eq!(t.ne, dims, "{gname} shape");
        }
        // Type.
        let want_type = if gname.ends_with("positional_embedding")
            || !gname.ends_with(".weight")
            || gname.contains("_ln.")
            || gname.contains("ln_post")
            || gname == "decoder.ln.weight"
        {
            0
        } else if gname.starts_with("encoder.conv") {
            1
        } else {
            assert!(is_matrix(&gname), "{gname}");
            match quant {
                Quant::F16 => 1,
                Quant::Q8_0 => 8,
                Quant::Q5_0 => 6,
            }
        };
        assert_eq!(t.ttype, want_type, "{gname} type");

        if !full_values && !gname.contains("blocks.0.") && gname.contains("blocks.") {
            continue;
        }
        let all = cv.f32s();
        let row_len: usize = if cv.dims.len() == 1 {
            1
        } else {
            cv.dims[1..].iter().map(|&d| d as usize).product()
        };
        let want: &[f32] = match range {
            None => &all,
            Some((a, b)) => &all[a * row_len..b * row_len],
        };
        let got = g.values(&gname);
        assert_eq!(got.len(), want.len(), "{gname} length");
        if t.ttype <= 1 {
            assert!(
                got.iter().zip(want).all(|(a, b)| a == b),
                "{gname} values differ"
            );
        } else {
            let step = if t.ttype == 8 { 127.0 } else { 16.0 };
            for (bi, (gb, wb)) in got.chunks(32).zip(want.chunks(32)).enumerate() {
                let amax = wb.iter().fold(0f32, |m, v| m.max(v.abs()));
                for (a, b) in gb.iter().zip(wb) {
                    assert!(
                        (a - b).abs() <= amax / step + amax * 2e-3,
                        "{gname} block {bi}: {a} vs {b}"
                    );
                }
            }
        }
    }
}

fn out_dir(tmp: &Path) -> PathBuf {
    match env_dir("TINGJI_CONVERT_OUT_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d).unwrap();
            d
        }
        None => tmp.to_path_buf(),
    }
}

// ---------------------------------------------------------------------------------------------
// Synthetic models (always run)

fn synthetic_vocab(dir: &Path, n_regular: usize, n_vocab: usize) -> Vec<Vec<u8>> {
    let b2u = byte_to_unicode();
    let mut toks: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    toks.extend([
        b" the".to_vec(),
        "你好".as_bytes().to_vec(),
        b"\n\n".to_vec(),
        b"!!".to_vec(),
    ]);
    while toks.len() < n_regular - 1 {
        toks.push(format!("tok{}", toks.len()).into_bytes());
    }
    toks.push(Vec::new()); // the empty token of multilingual vocabularies
    let mut text = String::new();
    for t in &toks {
        text.extend(t.iter().map(|&b| b2u[b as usize]));
        text.push('\n');
    }
    text.push_str("<|endoftext|>\n<|startoftranscript|>\n");
    for i in toks.len() + 2..n_vocab {
        text.push_str(&format!("<|extra{i}|>\n"));
    }
    std::fs::write(dir.join("vocabulary.txt"), text).unwrap();
    toks
}

#[test]
fn synthetic_model_all_quants_and_split_parts() {
    let tmp = tempfile::tempdir().unwrap();
    let (n, la, lt, n_vocab) = (64u32, 2usize, 3usize, 300u32);
    let vars = synthetic_whisper(n, la as u32, lt as u32, n_vocab, 4);
    for (parts, quant) in [(1, Quant::F16), (3, Quant::Q8_0), (2, Quant::Q5_0)] {
        let src = tmp.path().join(format!("ct2-{parts}-{quant}"));
        std::fs::create_dir_all(&src).unwrap();
        write_ct2(
            &src,
            &vars,
            &[("decoder/projection/weight", "decoder/embeddings/weight")],
            parts,
        );
        let toks = synthetic_vocab(&src, 270, n_vocab as usize);

        let info = inspect_ct2(&src).unwrap();
        assert_eq!(info.n_parts, parts);
        assert_eq!(info.suggested_name, "custom");
        assert!(!info.multilingual); // 300 < 51865

        let out = tmp.path().join(format!("out-{quant}.bin"));
        let mut seen = Vec::new();
        let report = convert_ct2_to_ggml(&src, &out, quant, &mut |f| seen.push(f)).unwrap();
        assert!(!tmp.path().join(format!("out-{quant}.bin.partial")).exists());
        assert_eq!(report.n_tensors, 11 + 15 * la + 24 * lt);
        assert_eq!(report.n_vocab, n_vocab);
        assert_eq!(report.quant, quant);
        assert_eq!(report.bytes, std::fs::metadata(&out).unwrap().len());
        assert!(
            seen.windows(2).all(|w| w[0] <= w[1]),
            "progress must not go back"
        );
        assert_eq!(*seen.last().unwrap(), 1.0);

        let g = Ggml::read(&out);
        let ftype = match quant {
            Quant::F16 => 1,
            Quant::Q8_0 => 2007,
            _ => 2008,
        };
        assert_eq!(
            g.hparams,
            [
                n_vocab as i32,
                30,
                64,
                4,
                la as i32,
                16,
                64,
                4,
                lt as i32,
                80,
                ftype
            ]
        );
        assert_eq!((g.n_mel, g.n_fft), (80, 201));
        assert_eq!(g.filters, slaney_mel_filters(80, 400, 16000));
        assert_eq!(g.tokens, toks);
        check_against_source(&g, &read_ct2_any(&src), quant, la, lt, true);

        // The library's own parser agrees.
        let info = inspect_ggml(&out).unwrap();
        assert_eq!(info.tensors.len(), g.tensors.len());
        assert_eq!(info.tokens.len(), toks.len());
    }
}

/// Reads parts written by `write_ct2` (the common reader handles both layouts).
fn read_ct2_any(dir: &Path) -> BTreeMap<String, Ct2Var> {
    read_ct2(dir)
}

#[test]
fn int8_exports_are_dequantized() {
    let tmp = tempfile::tempdir().unwrap();
    let (n, la, lt, n_vocab) = (64u32, 1usize, 1usize, 270u32);
    let f16_vars = synthetic_whisper(n, la as u32, lt as u32, n_vocab, 4);
    // int8 export: every 2-D linear weight becomes int8 with a per-row weight_scale, the way
    // CTranslate2 quantizes (scale = 127 / amax(row), q = round(w * scale)).
    let mut vars = BTreeMap::new();
    for (name, v) in &f16_vars {
        if name.ends_with("/weight") && v.dims.len() == 2 && !name.contains("embeddings") {
            let vals = v.f32s();
            let cols = v.dims[1] as usize;
            let mut q = Vec::new();
            let mut scales = Vec::new();
            for row in vals.chunks(cols) {
                let amax = row.iter().fold(0f32, |m, x| m.max(x.abs()));
                let s = 127.0 / amax;
                scales.push(s);
                q.extend(row.iter().map(|x| (x * s).round() as i8 as u8));
            }
            vars.insert(
                name.clone(),
                Ct2Var {
                    dims: v.dims.clone(),
                    dtype: 1,
                    data: q,
                },
            );
            let scale_name = format!("{}_scale", name);
            vars.insert(
                scale_name,
                Ct2Var {
                    dims: vec![v.dims[0]],
                    dtype: 0,
                    data: scales.iter().flat_map(|s| s.to_le_bytes()).collect(),
                },
            );
        } else {
            vars.insert(
                name.clone(),
                Ct2Var {
                    dims: v.dims.clone(),
                    dtype: v.dtype,
                    data: v.data.clone(),
                },
            );
        }
    }
    let src = tmp.path().join("ct2-int8");
    std::fs::create_dir_all(&src).unwrap();
    write_ct2(&src, &vars, &[], 1);
    synthetic_vocab(&src, 265, n_vocab as usize);
    let out = tmp.path().join("int8.bin");
    convert_ct2_to_ggml(&src, &out, Quant::F16, &mut |_| {}).unwrap();
    let g = Ggml::read(&out);
    // Compare with the original float weights: int8 rounding error only.
    let got = g.values("decoder.blocks.0.cross_attn.value.weight");
    let orig = f16_vars["decoder/layer_0/attention/linear_1/weight"].f32s();
    let want = &orig[(n * n) as usize..];
    for (a, b) in got.iter().zip(want) {
        assert!((a - b).abs() < 0.5 / 127.0 + 1e-3, "{a} vs {b}");
    }

    // int8 without a scale is refused with a clear error.
    vars.remove("encoder/layer_0/ffn/linear_0/weight_scale");
    let bad = tmp.path().join("ct2-int8-noscale");
    std::fs::create_dir_all(&bad).unwrap();
    write_ct2(&bad, &vars, &[], 1);
    synthetic_vocab(&bad, 265, n_vocab as usize);
    let err =
        convert_ct2_to_ggml(&bad, &tmp.path().join("x.bin"), Quant::F16, &mut |_| {}).unwrap_err();
    assert_eq!(err.code(), "unsupported_dtype", "{err}");
    assert!(err.to_string().contains("weight_scale"), "{err}");
    assert!(!tmp.path().join("x.bin").exists());
    assert!(!tmp.path().join("x.bin.partial").exists());
}

#[test]
fn broken_inputs_give_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o.bin");
    // Not a model folder at all.
    let err = convert_ct2_to_ggml(tmp.path(), &out, Quant::F16, &mut |_| {}).unwrap_err();
    assert_eq!(err.code(), "not_ctranslate2");

    // Missing tensor.
    let mut vars = synthetic_whisper(64, 1, 1, 270, 4);
    vars.remove("decoder/layer_0/attention/linear_2/bias");
    let d = tmp.path().join("missing");
    std::fs::create_dir_all(&d).unwrap();
    write_ct2(&d, &vars, &[], 1);
    synthetic_vocab(&d, 265, 270);
    let err = convert_ct2_to_ggml(&d, &out, Quant::F16, &mut |_| {}).unwrap_err();
    assert!(
        matches!(&err, ModelError::MissingTensor(n) if n == "decoder/layer_0/attention/linear_2/bias"),
        "{err}"
    );

    // Wrong shape.
    let mut vars = synthetic_whisper(64, 1, 1, 270, 4);
    vars.insert(
        "encoder/layer_0/ffn/linear_0/bias".into(),
        f16_var(&[100], &noise(100, 3)),
    );
    let d = tmp.path().join("shape");
    std::fs::create_dir_all(&d).unwrap();
    write_ct2(&d, &vars, &[], 1);
    synthetic_vocab(&d, 265, 270);
    let err = convert_ct2_to_ggml(&d, &out, Quant::F16, &mut |_| {}).unwrap_err();
    assert_eq!(err.code(), "not_ctranslate2");
    assert!(
        err.to_string()
            .contains("encoder/layer_0/ffn/linear_0/bias"),
        "{err}"
    );

    // Truncated model.bin.
    let vars = synthetic_whisper(64, 1, 1, 270, 4);
    let d = tmp.path().join("trunc");
    std::fs::create_dir_all(&d).unwrap();
    write_ct2(&d, &vars, &[], 1);
    synthetic_vocab(&d, 265, 270);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(d.join("model.bin"))
        .unwrap();
    f.set_len(5000).unwrap();
    let err = convert_ct2_to_ggml(&d, &out, Quant::F16, &mut |_| {}).unwrap_err();
    assert_eq!(err.code(), "not_ctranslate2", "{err}");

    // Vocabulary without <|endoftext|>.
    let d = tmp.path().join("vocab");
    std::fs::create_dir_all(&d).unwrap();
    write_ct2(&d, &vars, &[], 1);
    std::fs::write(d.join("vocabulary.txt"), "a\nb\n").unwrap();
    let err = convert_ct2_to_ggml(&d, &out, Quant::F16, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("endoftext"), "{err}");
    assert!(!out.exists());
}

// ---------------------------------------------------------------------------------------------
// Real weights

struct Real {
    dir: PathBuf,
    tag: &'static str,
    n_vocab: i32,
    n_tokens: usize,
    layers: usize,
    heads: i32,
    n_tensors: usize,
    /// Token 262 differs between the English-only and the multilingual vocabulary.
    tok262: &'static [u8],
}

fn real(var: &str, real: Real) {
    let Some(dir) = env_dir(var) else {
        assert!(
            !ci(),
            "{var} must point to a CTranslate2 model folder when CI=true"
        );
        eprintln!("{var} not set: skipping");
        return;
    };
    let real = Real { dir, ..real };
    assert!(
        real.dir.is_dir(),
        "{var}={} is not a folder",
        real.dir.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    let outd = out_dir(tmp.path());
    let src = read_ct2(&real.dir);
    for quant in Quant::ALL {
        let name = match quant {
            Quant::F16 => format!("ggml-{}.bin", real.tag),
            q => format!("ggml-{}-{q}.bin", real.tag),
        };
        let out = outd.join(name);
        let t = Instant::now();
        let report = convert_ct2_to_ggml(&real.dir, &out, quant, &mut |_| {}).unwrap();
        eprintln!(
            "{}: {quant} conversion took {:.2} s, {} bytes",
            real.tag,
            t.elapsed().as_secs_f64(),
            report.bytes
        );
        assert_eq!(report.n_tensors, real.n_tensors);
        assert_eq!(report.n_vocab as i32, real.n_vocab);
        assert_eq!(report.multilingual, real.n_vocab >= 51865);

        let g = Ggml::read(&out);
        assert_eq!(g.tensors.len(), real.n_tensors);
        assert_eq!(g.hparams[0], real.n_vocab);
        assert_eq!(
            &g.hparams[1..10],
            &[
                1500,
                g.hparams[2],
                real.heads,
                real.layers as i32,
                448,
                g.hparams[2],
                real.heads,
                real.layers as i32,
                80
            ]
        );
        assert_eq!(g.tokens.len(), real.n_tokens);
        assert_eq!(g.tokens[0], b"!");
        assert_eq!(g.tokens[220], b" ");
        assert_eq!(g.tokens[262], real.tok262);
        if real.n_tokens == 50257 {
            assert_eq!(g.tokens[50256], b"", "id 50256 is the empty token");
        }
        assert_eq!(g.filters, slaney_mel_filters(80, 400, 16000));
        // Full value comparison for f16; for quantized files block 0 layers and globals.
        check_against_source(
            &g,
            &src,
            quant,
            real.layers,
            real.layers,
            quant == Quant::F16,
        );
    }

    // Import into a store: name from the architecture, atomic write, list() reads it back.
    let store = ModelStore::at(tmp.path().join("store"));
    let m = store
        .import_ct2(&real.dir, None, Quant::Q8_0, &mut |_| {})
        .unwrap();
    assert_eq!(m.name, format!("{}-q8_0", real.tag));
    assert_eq!(m.quant, Some(Quant::Q8_0));
    assert_eq!(store.resolve(&m.name).unwrap(), store.model_path(&m.name));
    let listed = store.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].n_vocab as i32, real.n_vocab);
    assert!(std::fs::read_dir(store.root()).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".partial")
    }));
}

#[test]
fn real_tiny_en() {
    real(
        "TINGJI_CT2_TINY",
        Real {
            dir: PathBuf::new(),
            tag: "tiny.en",
            n_vocab: 51864,
            n_tokens: 50256,
            layers: 4,
            heads: 6,
            n_tensors: 167,
            tok262: b" the",
        },
    );
}

#[test]
fn real_base_multilingual() {
    real(
        "TINGJI_CT2_BASE",
        Real {
            dir: PathBuf::new(),
            tag: "base",
            n_vocab: 51865,
            n_tokens: 50257,
            layers: 6,
            heads: 8,
            n_tensors: 245,
            tok262: b" s",
        },
    );
}
