//! What the tests with the real ONNX Runtime share.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use threedgpt_neural::{RuntimeInfo, runtime};

pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// ONNX Runtime's library, installed into target/onnxruntime by the set-up script when missing.
pub(crate) fn runtime() -> RuntimeInfo {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    let library = LIBRARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("THREEDGPT_TEST_ORT") {
            return PathBuf::from(path);
        }
        let folder = workspace().join("target").join("onnxruntime");
        let library = folder.join(runtime::LIBRARY);
        if !library.exists() {
            let status = Command::new(workspace().join("scripts/install_onnxruntime.sh")).arg(&folder).status();
            assert!(status.is_ok_and(|status| status.success()), "scripts/install_onnxruntime.sh failed");
        }
        library
    });
    runtime::load(std::slice::from_ref(library)).expect("ONNX Runtime loads")
}

/// The Python of the test environment (`.venv`, made by scripts/test.sh).
pub(crate) fn python() -> PathBuf {
    std::env::var_os("THREEDGPT_PYTHON").map(PathBuf::from).unwrap_or_else(|| workspace().join(".venv/bin/python"))
}
