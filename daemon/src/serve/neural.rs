//! The daemon's side of learned models: ONNX Runtime, found and loaded on first need (never at
//! start-up, so an idle daemon stays small and starts fast), and the model store in the data
//! folder.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use threedgpt_neural::{Installed, ModelStore, RuntimeError, RuntimeInfo, runtime};

pub(crate) struct Neural {
    candidates: Vec<PathBuf>,
    pub(crate) store: ModelStore,
    runtime: OnceLock<Result<RuntimeInfo, RuntimeError>>,
}

impl Neural {
    /// `configured` is `--onnxruntime`; the store is `<data_dir>/models`.
    pub(crate) fn new(configured: Option<&Path>, data_dir: &Path) -> Neural {
        Neural {
            candidates: runtime::candidates(configured, data_dir),
            store: model_store(data_dir),
            runtime: OnceLock::new(),
        }
    }

    /// ONNX Runtime, loaded on the first call (blocking: call it off the async runtime). A missing
    /// library is remembered: installing it takes a daemon restart (`3dgpt daemon stop`).
    pub(crate) fn runtime(&self) -> Result<RuntimeInfo, RuntimeError> {
        self.runtime
            .get_or_init(|| {
                let loaded = runtime::load(&self.candidates);
                if let Err(error) = &loaded {
                    tracing::info!(%error, "neural models are unavailable");
                }
                loaded
            })
            .clone()
    }

    /// The installed models (blocking: reads the store's folder).
    pub(crate) fn installed(&self) -> Vec<Installed> {
        self.store.list()
    }
}

/// The model store in a data folder; the CLI's `models install|verify|remove` use the same one.
pub(crate) fn model_store(data_dir: &Path) -> ModelStore {
    ModelStore::new(data_dir.join("models"))
}
