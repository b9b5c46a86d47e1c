//! The mel filterbank against openai-whisper's `whisper/assets/mel_filters.npz`.
//!
//! `TINGJI_MEL_NPZ` names that file (the CI script extracts it from the `openai-whisper` PyPI
//! sdist/wheel). With `CI=true` a missing file fails the test; otherwise it is skipped.

mod common;

use std::io::Read;

use tingji_models::slaney_mel_filters;

/// Minimal `.npy` reader: little-endian f32, C order. Returns (shape, data).
fn parse_npy(bytes: &[u8]) -> (Vec<usize>, Vec<f32>) {
    assert_eq!(&bytes[..6], b"\x93NUMPY", "not a .npy file");
    let major = bytes[6];
    let (header_len, start) = if major == 1 {
        (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10)
    } else {
        (
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
            12,
        )
    };
    let header = std::str::from_utf8(&bytes[start..start + header_len]).unwrap();
    assert!(
        header.contains("'descr': '<f4'"),
        "expected little-endian f32: {header}"
    );
    assert!(
        header.contains("'fortran_order': False"),
        "expected C order: {header}"
    );
    let shape_str = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let shape: Vec<usize> = shape_str
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let data_start = start + header_len;
    let data: Vec<f32> = bytes[data_start..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(data.len(), shape.iter().product::<usize>());
    (shape, data)
}

fn npz_array(path: &std::path::Path, key: &str) -> (Vec<usize>, Vec<f32>) {
    let file = std::fs::File::open(path).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut entry = zip.by_name(&format!("{key}.npy")).unwrap();
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).unwrap();
    parse_npy(&bytes)
}

#[test]
fn mel_filters_match_openai_whisper() {
    let Some(npz) = common::env_dir("TINGJI_MEL_NPZ") else {
        assert!(
            !common::ci(),
            "TINGJI_MEL_NPZ must point to whisper/assets/mel_filters.npz when CI=true"
        );
        eprintln!("TINGJI_MEL_NPZ not set: skipping");
        return;
    };
    assert!(
        npz.is_file(),
        "TINGJI_MEL_NPZ={} does not exist",
        npz.display()
    );
    for n_mels in [80usize, 128] {
        let (shape, want) = npz_array(&npz, &format!("mel_{n_mels}"));
        assert_eq!(shape, vec![n_mels, 201]);
        let got = slaney_mel_filters(n_mels, 400, 16000);
        assert_eq!(got.len(), want.len());
        let max_diff = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        eprintln!("mel_{n_mels}: max abs diff {max_diff:e}");
        assert!(max_diff < 1e-6, "mel_{n_mels}: max abs diff {max_diff}");
    }
}
