//! ggml block quantization, bit-for-bit the reference (`*_ref`) routines of ggml-quants.c that
//! whisper.cpp's `quantize` tool uses (`ggml_quantize_chunk` without importance matrix).

use half::f16;

/// Values per block for Q8_0 and Q5_0.
pub const QK: usize = 32;
/// Bytes per Q8_0 block: f16 scale + 32 × i8.
pub const Q8_0_BLOCK_BYTES: usize = 2 + QK;
/// Bytes per Q5_0 block: f16 scale + u32 high bits + 16 bytes of low nibbles.
pub const Q5_0_BLOCK_BYTES: usize = 2 + 4 + QK / 2;

/// `quantize_row_q8_0_ref`: appends `x.len() / 32` blocks to `out`.
///
/// Panics if `x.len()` is not a multiple of 32.
pub fn quantize_q8_0(x: &[f32], out: &mut Vec<u8>) {
    assert!(
        x.len().is_multiple_of(QK),
        "row length must be a multiple of {QK}"
    );
    out.reserve(x.len() / QK * Q8_0_BLOCK_BYTES);
    for block in x.chunks_exact(QK) {
        let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        for &v in block {
            // C roundf: half away from zero, like f32::round. Saturating cast as in C's
            // in-range conversion (|v * id| <= 127 up to rounding).
            out.push(((v * id).round() as i8) as u8);
        }
    }
}

/// `quantize_row_q5_0_ref`: appends `x.len() / 32` blocks to `out`.
///
/// Panics if `x.len()` is not a multiple of 32.
pub fn quantize_q5_0(x: &[f32], out: &mut Vec<u8>) {
    assert!(
        x.len().is_multiple_of(QK),
        "row length must be a multiple of {QK}"
    );
    out.reserve(x.len() / QK * Q5_0_BLOCK_BYTES);
    for block in x.chunks_exact(QK) {
        let mut amax = 0f32;
        let mut max = 0f32;
        for &v in block {
            if amax < v.abs() {
                amax = v.abs();
                max = v;
            }
        }
        let d = max / -16.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());

        let mut qh: u32 = 0;
        let mut qs = [0u8; QK / 2];
        for j in 0..QK / 2 {
            let x0 = block[j] * id;
            let x1 = block[j + QK / 2] * id;
            // (int8_t)(x + 16.5f) truncates toward zero, then MIN(31, ·) as uint8_t.
            let xi0 = ((x0 + 16.5) as i8).min(31) as u8;
            let xi1 = ((x1 + 16.5) as i8).min(31) as u8;
            qs[j] = (xi0 & 0x0F) | ((xi1 & 0x0F) << 4);
            qh |= u32::from((xi0 & 0x10) >> 4) << j;
            qh |= u32::from((xi1 & 0x10) >> 4) << (j + QK / 2);
        }
        out.extend_from_slice(&qh.to_le_bytes());
        out.extend_from_slice(&qs);
    }
}

/// Inverse of [`quantize_q8_0`] (ggml `dequantize_row_q8_0`), for tests and diagnostics.
pub fn dequantize_q8_0(blocks: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(blocks.len() / Q8_0_BLOCK_BYTES * QK);
    for b in blocks.chunks_exact(Q8_0_BLOCK_BYTES) {
        let d = f16::from_le_bytes([b[0], b[1]]).to_f32();
        out.extend(b[2..].iter().map(|&q| f32::from(q as i8) * d));
    }
    out
}

/// Inverse of [`quantize_q5_0`] (ggml `dequantize_row_q5_0`), for tests and diagnostics.
pub fn dequantize_q5_0(blocks: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(blocks.len() / Q5_0_BLOCK_BYTES * QK);
    for b in blocks.chunks_exact(Q5_0_BLOCK_BYTES) {
        let d = f16::from_le_bytes([b[0], b[1]]).to_f32();
        let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
        let qs = &b[6..];
        let mut block = [0f32; QK];
        for j in 0..QK / 2 {
            let xh0 = (((qh >> j) << 4) & 0x10) as u8;
            let xh1 = ((qh >> (j + 12)) & 0x10) as u8;
            let x0 = i32::from((qs[j] & 0x0F) | xh0) - 16;
            let x1 = i32::from((qs[j] >> 4) | xh1) - 16;
            block[j] = x0 as f32 * d;
            block[j + QK / 2] = x1 as f32 * d;
        }
        out.extend_from_slice(&block);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((s >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.2
            })
            .collect()
    }

    #[test]
    fn q8_0_roundtrip_error_is_small() {
        let x = sample(32 * 64, 1);
        let mut q = Vec::new();
        quantize_q8_0(&x, &mut q);
        assert_eq!(q.len(), 64 * Q8_0_BLOCK_BYTES);
        let y = dequantize_q8_0(&q);
        for (b, (xs, ys)) in x.chunks(32).zip(y.chunks(32)).enumerate() {
            let amax = xs.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (a, c) in xs.iter().zip(ys) {
                // Half a step, plus the f16 rounding of the scale (relative 2^-11, times up to 127 steps).
                assert!(
                    (a - c).abs() <= amax / 127.0 * 0.5 + amax * 1e-3,
                    "block {b}: {a} vs {c}"
                );
            }
        }
    }

    #[test]
    fn q5_0_roundtrip_error_is_small() {
        let x = sample(32 * 64, 7);
        let mut q = Vec::new();
        quantize_q5_0(&x, &mut q);
        assert_eq!(q.len(), 64 * Q5_0_BLOCK_BYTES);
        let y = dequantize_q5_0(&q);
        for (xs, ys) in x.chunks(32).zip(y.chunks(32)) {
            let amax = xs.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (a, c) in xs.iter().zip(ys) {
                // Values of the sign opposite to the block's max-magnitude value clip at 15 steps: the
                // reference design loses up to one step (amax/16) there; elsewhere half a step.
                assert!((a - c).abs() <= amax / 16.0 + amax * 1e-3, "{a} vs {c}");
            }
        }
    }

    #[test]
    fn q5_0_hand_checked_block() {
        // max |x| is -1.6 (negative) -> d = 0.1, id = 10.
        let mut x = [0f32; 32];
        x[0] = -1.6; // -16 + 16.5 = 0.5 -> 0
        x[1] = 1.5; // 15 + 16.5 = 31.5 -> 31
        x[16] = 0.07; // 0.7 + 16.5 = 17.2 -> 17 (bit 4 set)
        x[17] = -0.04; // -0.4 + 16.5 = 16.1 -> 16 (bit 4 set)
        let mut q = Vec::new();
        quantize_q5_0(&x, &mut q);
        let d = f16::from_le_bytes([q[0], q[1]]).to_f32();
        assert!((d - 0.1).abs() < 1e-4);
        let qh = u32::from_le_bytes([q[2], q[3], q[4], q[5]]);
        let qs = &q[6..22];
        assert_eq!(qs[0], (17 & 0x0F) << 4); // low nibble 0 (x[0]), high nibble from x[16]
        assert_eq!(qs[1], 31 & 0x0F); // high nibble: 16 & 0x0F == 0 (x[17])
        // x[0]=0 -> bit0 clear; x[1]=31 -> bit1 set; x[16]=17 -> bit16 set; x[17]=16 -> bit17 set;
        // zeros elsewhere quantize to 16 -> bit set.
        assert_eq!(qh & 1, 0);
        assert_eq!((qh >> 1) & 1, 1);
        assert_eq!((qh >> 16) & 1, 1);
        assert_eq!((qh >> 17) & 1, 1);
        assert_eq!((qh >> 2) & 1, 1);
    }

    #[test]
    fn q8_0_zero_block() {
        let mut q = Vec::new();
        quantize_q8_0(&[0.0; 32], &mut q);
        assert!(q.iter().all(|b| *b == 0));
    }
}
