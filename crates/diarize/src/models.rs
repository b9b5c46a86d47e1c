//! The two networks: pyannote segmentation-3.0 (who is active in each ~17 ms frame of a 10 s
//! window, up to three local speakers, two at once) and CAM++ (a 192-d voice embedding).

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;

use crate::fbank::{BINS, Fbank};
use crate::{DiarizeError, runtime};

/// File names inside the diarization model folder.
pub const SEGMENTATION_FILE: &str = "segmentation-3.0.onnx";
pub const EMBEDDING_FILE: &str = "campplus_zh_en_common_advanced.onnx";

/// Where the two model files are.
#[derive(Debug, Clone)]
pub struct ModelPaths {
    pub segmentation: PathBuf,
    pub embedding: PathBuf,
}

impl ModelPaths {
    /// The standard file names inside `dir`.
    pub fn in_dir(dir: &Path) -> ModelPaths {
        ModelPaths { segmentation: dir.join(SEGMENTATION_FILE), embedding: dir.join(EMBEDDING_FILE) }
    }
}

fn open(path: &Path, threads: usize) -> Result<Session, DiarizeError> {
    if !path.is_file() {
        return Err(DiarizeError::ModelMissing(path.to_path_buf()));
    }
    let env = runtime::ensure()?;
    let load = |e: ort::Error| DiarizeError::ModelLoad { path: path.to_path_buf(), detail: e.to_string() };
    Session::builder(env)
        .map_err(load)?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| load(e.into()))?
        .with_intra_threads(threads.max(1))
        .map_err(|e| load(e.into()))?
        .with_inter_threads(1)
        .map_err(|e| load(e.into()))?
        .commit_from_file(path)
        .map_err(load)
}

fn meta_usize(s: &Session, path: &Path, key: &str) -> Result<usize, DiarizeError> {
    let bad = |detail: String| DiarizeError::ModelLoad { path: path.to_path_buf(), detail };
    let m = s.metadata().map_err(|e| bad(e.to_string()))?;
    m.custom(key)
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| bad(format!("metadata `{key}` is missing: not a pyannote segmentation export")))
}

/// Powerset class → local speakers active (pyannote's order: none, 1, 2, 3, 1+2, 1+3, 2+3).
pub const POWERSET: [[bool; 3]; 7] = [
    [false, false, false],
    [true, false, false],
    [false, true, false],
    [false, false, true],
    [true, true, false],
    [true, false, true],
    [false, true, true],
];

pub struct Segmenter {
    session: Session,
    /// Samples per window (160 000 = 10 s).
    pub window: usize,
    /// Samples between frames (270) and one frame's receptive field (991).
    pub frame_shift: usize,
    pub receptive_field: usize,
}

impl Segmenter {
    pub fn load(path: &Path, threads: usize) -> Result<Segmenter, DiarizeError> {
        let session = open(path, threads)?;
        let window = meta_usize(&session, path, "window_size")?;
        let frame_shift = meta_usize(&session, path, "receptive_field_shift")?;
        let receptive_field = meta_usize(&session, path, "receptive_field_size")?;
        let classes = meta_usize(&session, path, "num_classes")?;
        let speakers = meta_usize(&session, path, "num_speakers")?;
        if classes != 7 || speakers != 3 || window == 0 || frame_shift == 0 || window > 16000 * 60 {
            return Err(DiarizeError::ModelLoad {
                path: path.to_path_buf(),
                detail: format!("unsupported segmentation model ({speakers} speakers, {classes} classes, window {window})"),
            });
        }
        Ok(Segmenter { session, window, frame_shift, receptive_field })
    }

    /// Log-probabilities `[batch][frames][7]` for `batch` windows laid end to end in `audio`;
    /// returns them with the frame count.
    pub fn run(&mut self, audio: &[f32], batch: usize) -> Result<(Vec<f32>, usize), DiarizeError> {
        let input = TensorRef::from_array_view(([batch, 1, self.window], audio))?;
        let out = self.session.run(ort::inputs!["x" => input])?;
        let (shape, data) = out[0].try_extract_tensor::<f32>()?;
        if shape.len() != 3 || shape[0] as usize != batch || shape[2] != 7 {
            return Err(DiarizeError::Inference(format!("segmentation output shape {shape:?}")));
        }
        Ok((data.to_vec(), shape[1] as usize))
    }
}

pub struct Embedder {
    session: Session,
    fbank: Fbank,
    feats: Vec<f32>,
    pub dim: usize,
}

/// Below this many feature frames (0.5 s) an embedding says little about a voice.
pub const MIN_EMBED_FRAMES: usize = 50;

impl Embedder {
    pub fn load(path: &Path, threads: usize) -> Result<Embedder, DiarizeError> {
        let session = open(path, threads)?;
        let dim = meta_usize(&session, path, "output_dim").unwrap_or(192);
        Ok(Embedder { session, fbank: Fbank::new(), feats: Vec::new(), dim })
    }

    /// True when `samples` 16 kHz samples are long enough to embed (see [`MIN_EMBED_FRAMES`]).
    pub fn long_enough(samples: usize) -> bool {
        crate::fbank::frames(samples) >= MIN_EMBED_FRAMES
    }

    /// The L2-normalised embedding of 16 kHz speech, or `None` when it is too short.
    pub fn embed(&mut self, samples: &[f32]) -> Result<Option<Vec<f32>>, DiarizeError> {
        let frames = self.fbank.compute_normalized(samples, &mut self.feats);
        if frames < MIN_EMBED_FRAMES {
            return Ok(None);
        }
        let input = TensorRef::from_array_view(([1, frames, BINS], self.feats.as_slice()))?;
        let out = self.session.run(ort::inputs!["x" => input])?;
        let (_, data) = out[0].try_extract_tensor::<f32>()?;
        let mut e = data.to_vec();
        crate::cluster::normalize(&mut e);
        Ok(Some(e))
    }
}
