//! `tingji models`: the whisper models (installed, catalog, download, CTranslate2 import) and
//! the speaker-diarization models (download, import).

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use clap::Subcommand;
use indicatif::ProgressBar;
use tingji_models::{DiarizationSource, DownloadSource, ModelStore, Quant};

use crate::with_download_progress;

#[derive(Subcommand)]
pub enum ModelsCmd {
    /// Installed models and the catalog of downloadable ones.
    List,
    /// Download a standard whisper.cpp ggml model (resumable, SHA-256 checked).
    Download {
        name: String,
        /// Mirror to download from instead of the default host ({URL}/ggml-NAME.bin).
        #[arg(long)]
        base_url: Option<String>,
        /// Expected SHA-256 (overrides the catalog's).
        #[arg(long)]
        sha256: Option<String>,
    },
    /// Install the speaker-diarization models from files you have (pyannote segmentation-3.0
    /// and CAM++ as ONNX, e.g. sherpa-onnx's downloads); each is checked before it is copied in.
    ImportSpeakers { segmentation: PathBuf, embedding: PathBuf },
    /// Download the speaker-diarization models (pyannote segmentation-3.0 and CAM++ zh+en, from
    /// the sherpa-onnx releases; resumable, size and SHA-256 checked, then probed like an import).
    DownloadSpeakers {
        /// Mirror to download from ({URL}/<release file name>).
        #[arg(long)]
        base_url: Option<String>,
        /// Expected SHA-256 of the segmentation .tar.bz2 (overrides the pinned one).
        #[arg(long)]
        segmentation_sha256: Option<String>,
        /// Expected SHA-256 of the CAM++ .onnx (overrides the pinned one).
        #[arg(long)]
        embedding_sha256: Option<String>,
    },
    /// Convert a faster-whisper / CTranslate2 model folder to ggml and install it.
    Import {
        dir: PathBuf,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "f16")]
        quantize: String,
    },
}

pub fn run(cmd: ModelsCmd) -> Result<()> {
    let store = ModelStore::open_default()?;
    match cmd {
        ModelsCmd::List => {
            let installed = store.list()?;
            out!("Installed in {}:", store.root().display());
            if installed.is_empty() {
                out!("  (none)");
            }
            for m in &installed {
                out!(
                    "  {:<18} {:>8.1} MB  {:<5} {}",
                    m.name,
                    m.size as f64 / 1e6,
                    m.weight_type.to_string(),
                    if m.multilingual { "multilingual" } else { "English-only" }
                );
            }
            let dz = tingji_workflow::speakers::models_dir(&store);
            out!(
                "Speaker diarization (segmentation-3.0 + CAM++) in {}: {}",
                dz.display(),
                if tingji_workflow::speakers::installed(&store) {
                    "installed"
                } else {
                    "not installed (tingji models download-speakers, or import-speakers SEG EMB)"
                }
            );
            out!("Downloadable (tingji models download NAME):");
            for c in tingji_models::catalog() {
                let mark = if installed.iter().any(|m| m.name == c.name) { " (installed)" } else { "" };
                out!("  {:<18} {:>8.1} MB{mark}", c.name, c.size_bytes as f64 / 1e6);
            }
        }
        ModelsCmd::Download { name, base_url, sha256 } => {
            let src = DownloadSource { base_url, sha256 };
            let path = with_download_progress(&name, |progress, cancel| store.download(&name, &src, progress, cancel))?;
            out!("installed {name} at {}", path.display());
        }
        ModelsCmd::DownloadSpeakers { base_url, segmentation_sha256, embedding_sha256 } => {
            let src = DiarizationSource { base_url, segmentation_sha256, embedding_sha256 };
            with_download_progress("speaker models", |progress, cancel| {
                tingji_workflow::speakers::download_models(&store, &src, &mut |_, p| progress(p), cancel)
            })?;
            out!("installed the diarization models in {}", tingji_workflow::speakers::models_dir(&store).display());
        }
        ModelsCmd::ImportSpeakers { segmentation, embedding } => {
            tingji_workflow::speakers::install_models(&store, &segmentation, &embedding)?;
            out!("installed the diarization models in {}", tingji_workflow::speakers::models_dir(&store).display());
        }
        ModelsCmd::Import { dir, name, quantize } => {
            let q: Quant = quantize.parse().map_err(|e| anyhow!("{e}"))?;
            let bar = ProgressBar::new(1000);
            let m = store.import_ct2(&dir, name.as_deref(), q, &mut |p| bar.set_position((p * 1000.0) as u64))?;
            bar.finish_and_clear();
            out!("installed {} ({:.1} MB) at {}", m.name, m.size as f64 / 1e6, m.path.display());
        }
    }
    Ok(())
}
