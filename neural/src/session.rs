//! Loading one ONNX file of a model and checking it against its manifest: every input and output
//! the manifest names must exist with the same element type and shape, or the file is refused with
//! a message that names the tensor that differs.

use std::path::{Path, PathBuf};

use ort::ep::ExecutionProviderDispatch;
use ort::session::Session;
use ort::session::builder::SessionBuilder;
use ort::value::{TensorElementType, ValueType};

use crate::manifest::{DType, FileSpec, TensorSpec};
use crate::runtime;

/// A model file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// ONNX Runtime is not loaded.
    #[error("ONNX Runtime is not loaded; {}", runtime::INSTALL_ADVICE)]
    NoRuntime,
    /// ONNX Runtime could not read the file.
    #[error("{} is not a model ONNX Runtime can load ({reason}); reinstall it with `3dgpt models install`", path.display())]
    Unloadable {
        /// The file.
        path: PathBuf,
        /// ONNX Runtime's reason.
        reason: String,
    },
    /// The file loads but its tensors differ from the manifest.
    #[error("{} does not match its manifest: {difference}; it is not the model the manifest describes", path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// Which tensor differs and how.
        difference: String,
    },
}

/// Where a session runs: the execution provider, and why a preferred one was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// "CUDA" or "CPU".
    pub provider: String,
    /// Why the GPU provider is not in use, when one was tried.
    pub fallback: Option<String>,
}

impl std::fmt::Display for Placement {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.fallback {
            Some(reason) => write!(formatter, "{} ({reason})", self.provider),
            None => formatter.write_str(&self.provider),
        }
    }
}

/// Loads a model file on the CPU with at most `threads` intra-op threads and checks it against
/// `spec`.
pub fn load(path: &Path, spec: &FileSpec, threads: usize) -> Result<Session, ModelError> {
    load_on(path, spec, threads, false).map(|(session, _)| session)
}

/// Loads a model file, on the GPU when `gpu` is asked and a GPU provider registers and starts
/// (see [`gpu_providers`]), else on the CPU, saying why; checks it against `spec`.
pub fn load_on(path: &Path, spec: &FileSpec, threads: usize, gpu: bool) -> Result<(Session, Placement), ModelError> {
    let environment = runtime::environment().ok_or(ModelError::NoRuntime)?;
    let unloadable = |error: ort::Error| ModelError::Unloadable { path: path.to_path_buf(), reason: error.to_string() };
    let builder = || -> Result<SessionBuilder, ModelError> {
        Session::builder(&environment)
            .map_err(unloadable)?
            .with_intra_threads(threads.max(1))
            .map_err(|error| unloadable(error.into()))
    };
    let mut fallback = None;
    if gpu {
        let mut gpu_builder = builder()?;
        let mut registered = Vec::new();
        let mut refused = Vec::new();
        for (name, provider) in gpu_providers(path) {
            match provider.register(&mut gpu_builder) {
                Ok(()) => registered.push(name),
                Err(error) => refused.push(format!("{name} is unavailable: {error}")),
            }
        }
        let reason = if registered.is_empty() {
            refused.join("; ")
        } else {
            match gpu_builder.commit_from_file(path) {
                Ok(session) => {
                    check(&session, spec)
                        .map_err(|difference| ModelError::Mismatch { path: path.to_path_buf(), difference })?;
                    return Ok((session, Placement { provider: registered.join("+"), fallback: None }));
                }
                Err(error) => format!("{} could not start the model: {error}", registered.join("+")),
            }
        };
        tracing::warn!(model = %path.display(), %reason, "GPU providers not used; running on the CPU");
        fallback = Some(format!("{reason}; running on the CPU"));
    }
    let session = builder()?.commit_from_file(path).map_err(unloadable)?;
    check(&session, spec).map_err(|difference| ModelError::Mismatch { path: path.to_path_buf(), difference })?;
    Ok((session, Placement { provider: "CPU".to_owned(), fallback }))
}

/// The GPU execution providers to try for a model file, in order of preference for this platform:
/// TensorRT then CUDA on Linux and Windows (TensorRT keeps its built engines beside the model, as
/// building them takes minutes), DirectML on Windows, CoreML on macOS. All that register are used;
/// ONNX Runtime gives each operator to the first that supports it and the rest to the CPU.
fn gpu_providers(path: &Path) -> Vec<(&'static str, ExecutionProviderDispatch)> {
    let mut providers = Vec::new();
    if cfg!(any(target_os = "linux", target_os = "windows")) {
        let cache = path.with_extension("tensorrt");
        providers.push((
            "TensorRT",
            ort::ep::TensorRT::default()
                .with_engine_cache(true)
                .with_engine_cache_path(cache.display())
                .with_timing_cache(true)
                .with_timing_cache_path(cache.display())
                .build(),
        ));
        providers.push(("CUDA", ort::ep::CUDA::default().build()));
    }
    if cfg!(target_os = "windows") {
        providers.push(("DirectML", ort::ep::DirectML::default().build()));
    }
    if cfg!(target_os = "macos") {
        providers.push(("CoreML", ort::ep::CoreML::default().build()));
    }
    providers
}

/// Whether an inference error says the device ran out of memory (CUDA, TensorRT, DirectML and
/// ONNX Runtime's own arena word it differently), so the job can move to the CPU.
pub fn is_out_of_memory(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    ["out of memory", "failed to allocate memory", "cudaerrormemoryallocation", "bfcarena", "e_outofmemory"]
        .iter()
        .any(|needle| message.contains(needle))
}

/// The first difference between the session's tensors and the manifest's, as a sentence.
fn check(session: &Session, spec: &FileSpec) -> Result<(), String> {
    let actual = |outlets: &[ort::value::Outlet]| -> Vec<(String, ValueType)> {
        outlets.iter().map(|outlet| (outlet.name().to_owned(), outlet.dtype().clone())).collect()
    };
    compare("input", &spec.inputs, &actual(session.inputs()))?;
    compare("output", &spec.outputs, &actual(session.outputs()))
}

fn compare(what: &str, expected: &[TensorSpec], actual: &[(String, ValueType)]) -> Result<(), String> {
    for tensor in expected {
        let Some((_, value_type)) = actual.iter().find(|(name, _)| *name == tensor.name) else {
            let names: Vec<&str> = actual.iter().map(|(name, _)| name.as_str()).collect();
            return Err(format!("it has no {what} {:?} (its {what}s are {names:?})", tensor.name));
        };
        let ValueType::Tensor { ty, shape, .. } = value_type else {
            return Err(format!("{what} {:?} is not a tensor", tensor.name));
        };
        if *ty != element_type(tensor.dtype) {
            return Err(format!("{what} {:?} holds {ty}, the manifest says {:?}", tensor.name, tensor.dtype));
        }
        let dims: Vec<i64> = shape.iter().copied().collect();
        if dims != tensor.shape {
            return Err(format!("{what} {:?} has shape {dims:?}, the manifest says {:?}", tensor.name, tensor.shape));
        }
    }
    Ok(())
}

fn element_type(dtype: DType) -> TensorElementType {
    match dtype {
        DType::F32 => TensorElementType::Float32,
        DType::F16 => TensorElementType::Float16,
        DType::I64 => TensorElementType::Int64,
        DType::U8 => TensorElementType::Uint8,
    }
}
