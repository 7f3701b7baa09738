//! The daemon's side of learned models: ONNX Runtime, found and loaded on first need (never at
//! start-up, so an idle daemon stays small and starts fast), and the model store in the data
//! folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use threedgpt_neural::depth::OnnxDepth;
use threedgpt_neural::segmentation::OnnxSegmenter;
use threedgpt_neural::session::{ModelError, Placement};
use threedgpt_neural::triplane::TriplaneModel;
use threedgpt_neural::{Installed, ModelStore, RuntimeError, RuntimeInfo, runtime};

use super::execute::Remover;

/// What a built-in removal that found no object adds when no learned remover is installed.
pub(crate) const LEARNED_ADVICE: &str = "a learned background remover finds objects on busy backgrounds too: install \
     one with `3dgpt models install u2netp` (4.6 MB)";

pub(crate) struct Neural {
    candidates: Vec<PathBuf>,
    pub(crate) store: ModelStore,
    runtime: OnceLock<Result<RuntimeInfo, RuntimeError>>,
    /// Taken to read a model's files (loading, verifying), and exclusively to remove one: a remove
    /// never pulls files from under a load.
    files: std::sync::RwLock<()>,
    /// Loaded models, kept for the next job (loading costs more than running) until idle.
    segmenters: Cache<OnnxSegmenter>,
    depths: Cache<OnnxDepth>,
    reconstructors: Cache<TriplaneModel>,
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
            files: std::sync::RwLock::new(()),
            segmenters: Cache::default(),
            depths: Cache::default(),
            reconstructors: Cache::default(),
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

    /// What `background` "auto" uses on a picture without transparency (blocking): `preference`
    /// is the `segmentation` setting ("auto": the installed segmentation model of the highest
    /// quality; "builtin"; or a model's name). `Err` is the built-in removal, with why no learned
    /// remover is used when one is installed, and how one would help.
    pub(crate) fn auto_segmenter(&self, preference: &str) -> Result<Installed, Remover> {
        let builtin =
            |warning: Option<String>, advice: Option<String>| Remover { name: "builtin".to_owned(), warning, advice };
        if preference == "builtin" {
            return Err(builtin(None, None));
        }
        let mut installed: Vec<Installed> = self
            .installed()
            .into_iter()
            .filter(|model| model.manifest.kind == threedgpt_neural::Kind::Segmentation)
            .collect();
        let chosen = match preference {
            "" | "auto" => {
                installed.retain(|model| model.manifest.quality > 0);
                installed.sort_by_key(|model| std::cmp::Reverse(model.manifest.quality));
                installed.into_iter().next()
            }
            name => installed.into_iter().find(|model| model.manifest.name == name),
        };
        let Some(chosen) = chosen else {
            let missing = (!matches!(preference, "" | "auto")).then(|| {
                format!(
                    "the segmentation setting names {preference:?}, which is not installed; the built-in \
                     background removal ran instead. Install it with `3dgpt models install {preference}`, or \
                     `3dgpt settings set segmentation auto`"
                )
            });
            return Err(builtin(missing, Some(LEARNED_ADVICE.to_owned())));
        };
        if let Err(error) = self.runtime() {
            let name = &chosen.manifest.name;
            return Err(builtin(
                Some(format!(
                    "{name} is installed but ONNX Runtime is not ({error}); the built-in background removal ran \
                     instead"
                )),
                Some(format!("{name} would find it once ONNX Runtime is installed: {}", runtime::INSTALL_ADVICE)),
            ));
        }
        Ok(chosen)
    }

    /// The installed segmentation model, loaded once (per device) and reused (blocking). The error
    /// says what to do: install ONNX Runtime, or reinstall a damaged model.
    pub(crate) fn segmenter(&self, model: &Installed, gpu: bool) -> Result<Arc<OnnxSegmenter>, String> {
        self.cached(&self.segmenters, model, gpu, |model, threads| OnnxSegmenter::load_on(model, threads, gpu))
    }

    /// The installed depth model, loaded once (per device) and reused (blocking).
    pub(crate) fn depth(&self, model: &Installed, gpu: bool) -> Result<Arc<OnnxDepth>, String> {
        self.cached(&self.depths, model, gpu, |model, threads| OnnxDepth::load_on(model, threads, gpu))
    }

    /// The installed triplane model, loaded once (per device) and reused (blocking).
    pub(crate) fn reconstructor(&self, model: &Installed, gpu: bool) -> Result<Arc<TriplaneModel>, String> {
        self.cached(&self.reconstructors, model, gpu, |model, threads| TriplaneModel::load_on(model, threads, gpu))
    }

    /// A model from `cache`, or loaded and kept there.
    fn cached<T: Placed>(
        &self,
        cache: &Cache<T>,
        model: &Installed,
        gpu: bool,
        load: impl FnOnce(&Installed, usize) -> Result<T, ModelError>,
    ) -> Result<Arc<T>, String> {
        let name = &model.manifest.name;
        // Keyed by the files' hashes too: a model reinstalled with other files loads afresh.
        let files: Vec<&str> = model.manifest.files.iter().map(|file| file.sha256.as_str()).collect();
        cache.get_or_load(&format!("{name}#{}", files.join("+")), gpu, || {
            self.runtime().map_err(|error| format!("{name} needs ONNX Runtime: {error}"))?;
            let _reading = self.files.read().unwrap_or_else(PoisonError::into_inner);
            let loaded = load(model, inference_threads()).map_err(|error| error.to_string())?;
            tracing::info!(model = %name, kind = model.manifest.kind.name(), placement = %loaded.placement(), "model loaded");
            Ok(loaded)
        })
    }

    /// Drops the models no job has used for `idle` (their sessions hold the weights in memory, on
    /// the GPU too); a job still holding one keeps it alive until it ends. Returns their names.
    pub(crate) fn unload_idle(&self, idle: Duration) -> Vec<String> {
        let mut unloaded = self.segmenters.unload_idle(idle);
        unloaded.extend(self.depths.unload_idle(idle));
        unloaded.extend(self.reconstructors.unload_idle(idle));
        for name in &unloaded {
            tracing::info!(model = %name, idle_s = idle.as_secs(), "model unloaded after idling");
        }
        unloaded
    }

    /// Re-checks an installed model's files (blocking).
    pub(crate) fn verify(&self, name: &str) -> Result<Installed, threedgpt_neural::StoreError> {
        let _reading = self.files.read().unwrap_or_else(PoisonError::into_inner);
        self.store.verify(name)
    }

    /// Removes an installed model (blocking): refused while a job holds it loaded; its idle
    /// sessions are dropped first, and no load reads its files meanwhile.
    pub(crate) fn remove(&self, name: &str) -> Result<(), RemoveError> {
        let _writing = self.files.write().unwrap_or_else(PoisonError::into_inner);
        self.store.get(name).map_err(RemoveError::Store)?;
        let held = self.segmenters.held(name) || self.depths.held(name) || self.reconstructors.held(name);
        if held {
            return Err(RemoveError::InUse(name.to_owned()));
        }
        for unloaded in
            [self.segmenters.drop_named(name), self.depths.drop_named(name), self.reconstructors.drop_named(name)]
        {
            if unloaded {
                tracing::info!(model = %name, "model unloaded to be removed");
            }
        }
        self.store.remove(name).map_err(RemoveError::Store)
    }

    /// The installed models (blocking: reads the store's folder).
    pub(crate) fn installed(&self) -> Vec<Installed> {
        self.store.list()
    }
}

/// The model store in a data folder (`models install|verify|remove` are RPCs on it).
pub(crate) fn model_store(data_dir: &Path) -> ModelStore {
    ModelStore::new(threedgpt_paths::models_dir(data_dir))
}

/// Why a model could not be removed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RemoveError {
    #[error("{0} is in use by a running or queued job; remove it once that job has ended")]
    InUse(String),
    #[error(transparent)]
    Store(threedgpt_neural::StoreError),
}

/// Where a loaded model runs.
pub(crate) trait Placed {
    fn placement(&self) -> &Placement;
}

impl Placed for OnnxSegmenter {
    fn placement(&self) -> &Placement {
        OnnxSegmenter::placement(self)
    }
}

impl Placed for OnnxDepth {
    fn placement(&self) -> &Placement {
        OnnxDepth::placement(self)
    }
}

impl Placed for TriplaneModel {
    fn placement(&self) -> &Placement {
        TriplaneModel::placement(self)
    }
}

/// A model (its name and file hashes) and whether it runs on the GPU.
type CacheKey = (String, bool);

/// Loaded models by name and device, with when a job last took each.
struct Cache<T> {
    entries: Mutex<HashMap<CacheKey, (Arc<T>, Instant)>>,
}

impl<T> Default for Cache<T> {
    fn default() -> Self {
        Cache { entries: Mutex::new(HashMap::new()) }
    }
}

impl<T> Cache<T> {
    /// The model, from the cache or loaded by `load` (outside the lock: loading takes seconds and
    /// other models stay usable meanwhile).
    fn get_or_load(&self, name: &str, gpu: bool, load: impl FnOnce() -> Result<T, String>) -> Result<Arc<T>, String> {
        let key = (name.to_owned(), gpu);
        if let Some((loaded, used)) = self.entries.lock().unwrap_or_else(PoisonError::into_inner).get_mut(&key) {
            *used = Instant::now();
            return Ok(loaded.clone());
        }
        let loaded = Arc::new(load()?);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        // Two jobs may have loaded it at once: keep the first, so both share one session.
        let (kept, _) = entries.entry(key).or_insert_with(|| (loaded, Instant::now()));
        Ok(kept.clone())
    }

    /// Whether a job holds a session of the model `name` (any files, any device).
    fn held(&self, name: &str) -> bool {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.iter().any(|((key, _), (loaded, _))| model_name(key) == name && Arc::strong_count(loaded) > 1)
    }

    /// Drops every session of the model `name`; returns whether there was one.
    fn drop_named(&self, name: &str) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let before = entries.len();
        entries.retain(|(key, _), _| model_name(key) != name);
        entries.len() != before
    }

    fn unload_idle(&self, idle: Duration) -> Vec<String> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let stale: Vec<CacheKey> = entries
            .iter()
            .filter(|(_, (loaded, used))| used.elapsed() >= idle && Arc::strong_count(loaded) == 1)
            .map(|(key, _)| key.clone())
            .collect();
        for key in &stale {
            entries.remove(key);
        }
        stale.into_iter().map(|(key, _)| model_name(&key).to_owned()).collect()
    }
}

/// The model's name in a cache key (`name#hashes`).
fn model_name(key: &str) -> &str {
    key.split('#').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_models_are_unloaded_unless_a_job_still_holds_them() {
        let cache: Cache<String> = Cache::default();
        let mut loads = 0;
        let first = cache
            .get_or_load("seg#a1", false, || {
                loads += 1;
                Ok("session".to_owned())
            })
            .unwrap();
        let again = cache.get_or_load("seg#a1", false, || panic!("loaded twice")).unwrap();
        assert!(Arc::ptr_eq(&first, &again) && loads == 1);
        let on_gpu = cache.get_or_load("seg#a1", true, || Ok("gpu session".to_owned())).unwrap();
        assert_eq!(*on_gpu, "gpu session", "each device has its own session");
        drop(on_gpu);
        let failed = cache.get_or_load("broken", false, || Err("damaged".to_owned()));
        assert_eq!(failed.unwrap_err(), "damaged");

        // "seg" on the CPU is still held by a job (`first`, `again`): it stays. Names are given
        // without the file hashes the cache keys carry.
        assert_eq!(cache.unload_idle(Duration::ZERO), ["seg"]);
        assert!(cache.unload_idle(Duration::from_secs(3600)).is_empty());
        drop((first, again));
        assert!(cache.unload_idle(Duration::from_secs(3600)).is_empty(), "used just now");
        assert_eq!(cache.unload_idle(Duration::ZERO), ["seg"]);
        let mut reloaded = false;
        cache
            .get_or_load("seg#a1", false, || {
                reloaded = true;
                Ok("session".to_owned())
            })
            .unwrap();
        assert!(reloaded, "an unloaded model loads again on the next job");

        let held = cache.get_or_load("seg#a1", false, || panic!("still cached")).unwrap();
        assert!(cache.held("seg") && !cache.held("other"), "a job's session is held");
        drop(held);
        assert!(!cache.held("seg"));
        assert!(cache.drop_named("seg") && !cache.drop_named("seg"));
    }
}
