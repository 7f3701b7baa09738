//! Keeps finished generations in the history when the user wants that, and the daemon's settings
//! that decide it (kept in `settings.json` in the data folder).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use threedgpt_engine::Asset;
use threedgpt_engine::preview::{View, render_png};

use super::held::{HOLD_FOR, Held};
use crate::history::{HistoryStore, NewGeneration};

/// Side of the thumbnails kept with each generation.
const THUMBNAIL_PX: u32 = 256;

/// User settings. Signed in, the account's settings (sync, telemetry, consent, email) are the
/// service's and these are this device's own for when it is signed out.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Settings {
    pub(crate) history_enabled: bool,
    pub(crate) sync: bool,
    pub(crate) telemetry: bool,
    pub(crate) training_consent: bool,
    pub(crate) marketing_email: bool,
    /// What `background` "auto" uses: "auto", "builtin" or a segmentation model's name.
    pub(crate) segmentation: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            history_enabled: true,
            sync: true,
            telemetry: false,
            training_consent: false,
            marketing_email: false,
            segmentation: "auto".to_owned(),
        }
    }
}

/// What the recorder tells whoever listens (sync, telemetry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    /// A generation went into the history.
    Kept,
    /// A job finished, taking this long.
    Finished { duration_ms: u64 },
}

/// The history (when one could be opened) and the settings.
pub(crate) struct Recorder {
    pub(crate) store: Option<Arc<HistoryStore>>,
    /// Why there is no store, or where its key lives.
    pub(crate) status: String,
    settings: Mutex<Settings>,
    settings_path: PathBuf,
    /// Results of history-only generations that could not go to the history.
    pub(crate) held: Held,
    listener: std::sync::OnceLock<Box<dyn Fn(Notice) + Send + Sync>>,
}

impl Recorder {
    /// Reads the settings from `data_dir` (defaults when absent or unreadable).
    pub(crate) fn new(store: Option<Arc<HistoryStore>>, status: String, data_dir: &Path) -> Recorder {
        let settings_path = data_dir.join("settings.json");
        let settings = std::fs::read(&settings_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Recorder {
            store,
            status,
            settings: Mutex::new(settings),
            settings_path,
            held: Held::new(HOLD_FOR),
            listener: Default::default(),
        }
    }

    /// Sets who hears the recorder's notices (once).
    pub(crate) fn listen(&self, listener: impl Fn(Notice) + Send + Sync + 'static) {
        let _ = self.listener.set(Box::new(listener));
    }

    pub(crate) fn notify(&self, notice: Notice) {
        if let Some(listener) = self.listener.get() {
            listener(notice);
        }
    }

    pub(crate) fn settings(&self) -> Settings {
        self.settings.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Changes and saves the settings (written to a temporary file and renamed).
    pub(crate) fn update(&self, change: impl FnOnce(&mut Settings)) -> std::io::Result<Settings> {
        let mut settings = self.settings.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut next = settings.clone();
        change(&mut next);
        let text = serde_json::to_vec_pretty(&next).unwrap_or_default();
        threedgpt_engine::export::write_atomic(&self.settings_path, &text).map_err(std::io::Error::other)?;
        *settings = next.clone();
        Ok(next)
    }

    /// Holds a history-only generation's asset in memory for its client (history off or
    /// unavailable); returns the id to download it by.
    pub(crate) fn hold(&self, source: &str, asset: &Asset, reproducible: bool) -> threedgpt_engine::Result<String> {
        let glb = threedgpt_engine::export::glb_bytes(asset, reproducible)?;
        let record_json = serde_json::to_string(&asset.record).unwrap_or_default();
        Ok(self.held.hold(source, record_json, glb))
    }

    /// Whether a finished generation goes to the history now.
    pub(crate) fn keeps_history(&self) -> bool {
        self.store.is_some() && self.settings().history_enabled
    }

    /// The gallery picture kept with a generation: the asset rendered from the front.
    pub(crate) fn thumbnail(asset: &Asset) -> threedgpt_engine::Result<Vec<u8>> {
        render_png(asset, THUMBNAIL_PX, View::FRONT)
    }

    /// Stores a finished generation (with its thumbnail when already drawn); returns its id, or
    /// `None` when history is off or unavailable. A failure to store (a full disk, say) never fails
    /// the job, whose asset is already written: it is logged and returned as a sentence for the
    /// job's warnings.
    pub(crate) fn record(
        &self,
        source: &str,
        input: &[u8],
        asset: &Asset,
        glb: Option<Vec<u8>>,
        thumbnail: Option<Vec<u8>>,
        reproducible: bool,
    ) -> Result<Option<String>, String> {
        let Some(store) = self.store.as_ref() else { return Ok(None) };
        if !self.settings().history_enabled {
            return Ok(None);
        }
        let stored = (|| -> anyhow::Result<String> {
            let glb = match glb {
                Some(glb) => glb,
                None => threedgpt_engine::export::glb_bytes(asset, reproducible)?,
            };
            let thumbnail = match thumbnail {
                Some(thumbnail) => thumbnail,
                None => Self::thumbnail(asset)?,
            };
            let record_json = serde_json::to_string(&asset.record)?;
            let generation = store.add(&NewGeneration {
                source,
                record_json: &record_json,
                input,
                asset_glb: &glb,
                thumbnail_png: &thumbnail,
            })?;
            Ok(generation.id)
        })();
        match stored {
            Ok(id) => {
                self.notify(Notice::Kept);
                Ok(Some(id))
            }
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "could not keep the generation in the history");
                Err(format!(
                    "this generation could not be kept in the history ({error:#}); free some space in {} or \
                     switch the history off with `3dgpt settings set history false`",
                    store.folder().display()
                ))
            }
        }
    }
}
