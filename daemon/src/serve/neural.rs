//! The daemon's side of learned models: ONNX Runtime, found and loaded on first need (never at
//! start-up, so an idle daemon stays small and starts fast), and the model store in the data
//! folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use threedgpt_neural::segmentation::OnnxSegmenter;
use threedgpt_neural::triplane::TriplaneModel;
use threedgpt_neural::{Installed, ModelStore, RuntimeError, RuntimeInfo, runtime};

pub(crate) struct Neural {
    candidates: Vec<PathBuf>,
    pub(crate) store: ModelStore,
    runtime: OnceLock<Result<RuntimeInfo, RuntimeError>>,
    /// Loaded models, kept for the next job (loading costs more than running).
    segmenters: Mutex<HashMap<String, Arc<OnnxSegmenter>>>,
    reconstructors: Mutex<HashMap<String, Arc<TriplaneModel>>>,
}

/// Intra-op threads per inference: a share of the cores, so CPU jobs running beside it still move.
fn inference_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| cores.get()).div_ceil(2)
}

impl Neural {
    /// `configured` is `--onnxruntime`; the store is `<data_dir>/models`.
    pub(crate) fn new(configured: Option<&Path>, data_dir: &Path) -> Neural {
        Neural {
            candidates: runtime::candidates(configured, data_dir),
            store: model_store(data_dir),
            runtime: OnceLock::new(),
            segmenters: Mutex::new(HashMap::new()),
            reconstructors: Mutex::new(HashMap::new()),
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

    /// The installed segmentation model, loaded once and reused (blocking). The error says what to
    /// do: install ONNX Runtime, or reinstall a damaged model.
    pub(crate) fn segmenter(&self, model: &Installed) -> Result<Arc<OnnxSegmenter>, String> {
        self.cached(
            &self.segmenters,
            model,
            |model, threads| OnnxSegmenter::load_on(model, threads, true),
            |loaded| loaded.placement().to_string(),
        )
    }

    /// The installed triplane model, loaded once and reused (blocking).
    pub(crate) fn reconstructor(&self, model: &Installed) -> Result<Arc<TriplaneModel>, String> {
        self.cached(
            &self.reconstructors,
            model,
            |model, threads| TriplaneModel::load_on(model, threads, true),
            |loaded| loaded.placement().to_string(),
        )
    }

    /// A model from `cache`, or loaded (on the GPU when there is one, falling back to the CPU with
    /// the reason) and kept there.
    fn cached<T>(
        &self,
        cache: &Mutex<HashMap<String, Arc<T>>>,
        model: &Installed,
        load: impl FnOnce(&Installed, usize) -> Result<T, threedgpt_neural::session::ModelError>,
        placement: impl FnOnce(&T) -> String,
    ) -> Result<Arc<T>, String> {
        let name = &model.manifest.name;
        if let Some(loaded) = cache.lock().unwrap_or_else(PoisonError::into_inner).get(name) {
            return Ok(loaded.clone());
        }
        self.runtime().map_err(|error| format!("{name} needs ONNX Runtime: {error}"))?;
        let loaded = Arc::new(load(model, inference_threads()).map_err(|error| error.to_string())?);
        tracing::info!(model = %name, kind = model.manifest.kind.name(), placement = %placement(&loaded), "model loaded");
        cache.lock().unwrap_or_else(PoisonError::into_inner).insert(name.clone(), loaded.clone());
        Ok(loaded)
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
