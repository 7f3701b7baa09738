//! The real ONNX Runtime (the CPU library from the PyPI wheel) with tiny models made by
//! `models/tools/make_test_models.py`: loading, manifest checks, running, and the model store.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use threedgpt_neural::manifest::Manifest;
use threedgpt_neural::runtime;
use threedgpt_neural::session::{self, ModelError};
use threedgpt_neural::store::{ModelStore, StoreError};

mod support;
use support::{runtime, workspace};

/// The tiny test models with their manifests, made once per test process.
fn models() -> &'static Path {
    static MODELS: OnceLock<tempfile::TempDir> = OnceLock::new();
    MODELS
        .get_or_init(|| {
            let folder = tempfile::tempdir().unwrap();
            let python = support::python();
            let output = Command::new(&python)
                .arg(workspace().join("models/tools/make_test_models.py"))
                .arg(folder.path())
                .output()
                .unwrap_or_else(|error| {
                    panic!("{} (from scripts/test.sh, with onnx) could not run: {error}", python.display())
                });
            assert!(output.status.success(), "make_test_models.py failed: {}", String::from_utf8_lossy(&output.stderr));
            folder
        })
        .path()
}

/// Installs one of the tiny test models into `store`.
fn install(store: &ModelStore, name: &str) -> threedgpt_neural::Installed {
    store.install(&models().join(format!("{name}.toml")), &models().join(name), &mut |_, _| {}).unwrap()
}

fn manifest(name: &str) -> Manifest {
    Manifest::read(&models().join(format!("{name}.toml"))).unwrap()
}

#[test]
fn the_runtime_reports_its_library_version_and_providers() {
    let info = runtime();
    assert_eq!(info.version, runtime::VERSION);
    assert!(info.path.ends_with(runtime::LIBRARY));
    assert_eq!(info.providers.last().map(String::as_str), Some("CPU"), "{:?}", info.providers);
    // The CPU-only library offers no GPU provider.
    assert!(!info.providers.iter().any(|provider| provider == "CUDA"), "{:?}", info.providers);
    assert_eq!(runtime::loaded(), Some(info));
}

#[test]
fn a_model_matching_its_manifest_loads_and_runs() {
    runtime();
    let manifest = manifest("tiny-segmentation");
    let spec = manifest.file("model").unwrap();
    let mut session = session::load(&models().join("tiny-segmentation/model.onnx"), spec, 1).unwrap();
    let image = ort::value::Tensor::from_array(([1usize, 3, 64, 64], vec![0.5f32; 3 * 64 * 64])).unwrap();
    let outputs = session.run(ort::inputs!["image" => image]).unwrap();
    let (shape, mask) = outputs["mask"].try_extract_tensor::<f32>().unwrap();
    assert_eq!(shape.iter().copied().collect::<Vec<i64>>(), vec![1, 1, 64, 64]);
    let inside = mask.iter().filter(|value| **value > 0.5).count();
    // A disc of radius 0.6 of the half-side: π·(0.6·32)² ≈ 1158 pixels.
    assert!((1100..1220).contains(&inside), "{inside}");

    let triplane = manifest_with_both("tiny-sphere");
    for role in ["encoder", "decoder"] {
        let path = models().join("tiny-sphere").join(&triplane.file(role).unwrap().path);
        session::load(&path, triplane.file(role).unwrap(), 1).unwrap();
    }
}

fn manifest_with_both(name: &str) -> Manifest {
    let manifest = manifest(name);
    assert!(manifest.file("encoder").is_some() && manifest.file("decoder").is_some());
    manifest
}

#[test]
fn a_file_that_differs_from_its_manifest_is_refused_naming_the_tensor() {
    runtime();
    let path = models().join("tiny-segmentation/model.onnx");
    let mut spec = manifest("tiny-segmentation").file("model").unwrap().clone();
    spec.inputs[0].shape = vec![1, 3, 1024, 1024];
    let error = session::load(&path, &spec, 1).unwrap_err();
    assert!(matches!(error, ModelError::Mismatch { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("\"image\"") && message.contains("[1, 3, 64, 64]") && message.contains("1024"),
        "{message}"
    );

    let mut renamed = manifest("tiny-segmentation").file("model").unwrap().clone();
    renamed.outputs[0].name = "alpha".to_owned();
    let message = session::load(&path, &renamed, 1).unwrap_err().to_string();
    assert!(message.contains("no output \"alpha\"") && message.contains("mask"), "{message}");

    let garbage = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(garbage.path(), b"this is not an ONNX model").unwrap();
    let error = session::load(garbage.path(), &spec, 1).unwrap_err();
    assert!(matches!(error, ModelError::Unloadable { .. }), "{error}");
}

#[test]
fn install_verify_and_remove_check_every_byte_and_leave_nothing_half_done() {
    let store_folder = tempfile::tempdir().unwrap();
    let store = ModelStore::new(store_folder.path().join("models"));
    let mut seen = Vec::new();
    let installed = store
        .install(&models().join("tiny-sphere.toml"), &models().join("tiny-sphere"), &mut |done, total| {
            seen.push((done, total))
        })
        .unwrap();
    assert_eq!(installed.manifest.name, "tiny-sphere");
    assert_eq!(seen.last().map(|(done, total)| done == total), Some(true));
    assert_eq!(store.list().len(), 1);
    store.verify("tiny-sphere").unwrap();

    // A one-file model installs from the file itself.
    store
        .install(
            &models().join("tiny-segmentation.toml"),
            &models().join("tiny-segmentation/model.onnx"),
            &mut |_, _| {},
        )
        .unwrap();
    assert_eq!(
        store.list().iter().map(|model| model.manifest.name.as_str()).collect::<Vec<_>>(),
        ["tiny-segmentation", "tiny-sphere"]
    );

    // A damaged installed file fails verification.
    let (decoder, _) = store.get("tiny-sphere").unwrap().file("decoder").unwrap();
    let mut bytes = std::fs::read(&decoder).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&decoder, &bytes).unwrap();
    let error = store.verify("tiny-sphere").unwrap_err();
    assert!(matches!(error, StoreError::Checksum { .. }) && error.to_string().contains("SHA-256"), "{error}");

    // A truncated or wrong source is refused and leaves no trace, the installed copy untouched.
    let source = tempfile::tempdir().unwrap();
    for name in ["encoder.onnx", "decoder.onnx"] {
        std::fs::copy(models().join("tiny-sphere").join(name), source.path().join(name)).unwrap();
    }
    let encoder = source.path().join("encoder.onnx");
    let full = std::fs::read(&encoder).unwrap();
    std::fs::write(&encoder, &full[..full.len() / 2]).unwrap();
    let error = store.install(&models().join("tiny-sphere.toml"), source.path(), &mut |_, _| {}).unwrap_err();
    assert!(error.to_string().contains("bytes where the manifest says"), "{error}");
    let leftovers: Vec<_> = std::fs::read_dir(store.root())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
    assert!(std::fs::read(&decoder).unwrap() == bytes, "a failed install keeps the installed model");

    std::fs::remove_file(source.path().join("decoder.onnx")).unwrap();
    std::fs::write(&encoder, &full).unwrap();
    let error = store.install(&models().join("tiny-sphere.toml"), source.path(), &mut |_, _| {}).unwrap_err();
    assert!(matches!(error, StoreError::MissingSource { .. }) && error.to_string().contains("decoder.onnx"), "{error}");

    store.remove("tiny-sphere").unwrap();
    assert!(matches!(store.remove("tiny-sphere"), Err(StoreError::NotInstalled(_))));
    assert!(!store.root().join("tiny-sphere").exists());
}

#[test]
fn a_segmentation_model_runs_for_the_engine_and_other_kinds_are_refused() {
    use threedgpt_engine::Segmenter;
    use threedgpt_neural::segmentation::OnnxSegmenter;
    runtime();
    let store_folder = tempfile::tempdir().unwrap();
    let store = ModelStore::new(store_folder.path());
    let installed = install(&store, "tiny-segmentation");
    let segmenter = OnnxSegmenter::load(&installed, 1).unwrap();
    let picture = image::RgbaImage::from_pixel(120, 80, image::Rgba([10, 200, 30, 255]));
    let mask = segmenter.segment(&picture).unwrap();
    assert_eq!((mask.width, mask.height, segmenter.name()), (64, 64, "tiny-segmentation"));
    let inside = mask.values.iter().filter(|value| **value > 0.5).count();
    assert!((1100..1220).contains(&inside), "{inside}");

    let sphere = install(&store, "tiny-sphere");
    let error = OnnxSegmenter::load(&sphere, 1).unwrap_err();
    assert!(error.to_string().contains("not a segmentation model"), "{error}");
}

#[test]
fn a_depth_model_shapes_the_relief_through_the_real_runtime() {
    use threedgpt_engine::DepthEstimator;
    use threedgpt_neural::depth::OnnxDepth;
    runtime();
    let store_folder = tempfile::tempdir().unwrap();
    let store = ModelStore::new(store_folder.path());
    let installed = install(&store, "tiny-depth");
    let depth = OnnxDepth::load_on(&installed, 1, false).unwrap();
    assert_eq!(depth.placement().provider, "CPU");
    let picture = image::RgbaImage::from_pixel(90, 90, image::Rgba([10, 200, 30, 255]));
    let map = depth.estimate(&picture).unwrap();
    assert_eq!((map.width, map.height, depth.name()), (64, 64, "tiny-depth"));
    // The test model's ramp: 0 on the left, 1 on the right, the same on every row.
    assert!(map.values[0].abs() < 1e-4 && (map.values[63] - 1.0).abs() < 1e-4, "{:?}", &map.values[..64]);
    assert_eq!(map.values[..64], map.values[64 * 40..64 * 41]);

    // Through the engine: a disc whose front rises to the right, still one closed solid.
    let disc = image::RgbaImage::from_fn(200, 200, |x, y| {
        let inside = (x as f32 - 99.5).powi(2) + (y as f32 - 99.5).powi(2) <= 70.0f32.powi(2);
        image::Rgba(if inside { [200, 40, 40, 255] } else { [0, 0, 0, 0] })
    });
    let mut bytes = Vec::new();
    disc.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
    let options = threedgpt_engine::Options::default().with_grid_px(96).with_texture_px(256).with_target_faces(3000);
    let helping = threedgpt_engine::Models { depth: Some(&depth), ..Default::default() };
    let asset = threedgpt_engine::generate_with(
        "disc.png",
        &bytes,
        &options,
        helping,
        &threedgpt_engine::NoProgress,
        &threedgpt_engine::CancelFlag::new(),
    )
    .unwrap();
    assert!(asset.mesh.topology().is_watertight_manifold());
    assert_eq!(asset.record.depth_model.as_deref(), Some("tiny-depth"));
    let peak =
        |side: f32| asset.mesh.positions.iter().filter(|p| p[0] * side > 0.15).map(|p| p[2]).fold(f32::MIN, f32::max);
    assert!(peak(1.0) - peak(-1.0) > 0.1, "right {} left {}", peak(1.0), peak(-1.0));

    let segmentation = install(&store, "tiny-segmentation");
    let error = OnnxDepth::load_on(&segmentation, 1, false).unwrap_err();
    assert!(error.to_string().contains("not a depth model"), "{error}");
}

#[test]
fn a_triplane_model_gives_a_closed_surface_where_its_density_says_and_coarse_to_fine_saves_queries() {
    use threedgpt_engine::Reconstructor;
    use threedgpt_engine::volume::{Sampling, sample_surface};
    use threedgpt_neural::triplane::TriplaneModel;
    runtime();
    let store_folder = tempfile::tempdir().unwrap();
    let store = ModelStore::new(store_folder.path());
    let installed = install(&store, "tiny-sphere");
    let model = TriplaneModel::load(&installed, 2).unwrap();
    let picture = image::RgbaImage::from_pixel(300, 300, image::Rgba([200, 120, 40, 255]));
    assert_eq!(model.encode_planes(&picture).unwrap().len(), 3 * 40 * 64 * 64);
    let field = model.encode(&picture).unwrap();

    let cancel = threedgpt_engine::CancelFlag::new();
    let mut surfaces = Vec::new();
    for (grid, coarse_to_fine) in [(64, false), (64, true), (128, true)] {
        let mut last = 0.0;
        let sampling = Sampling { grid, coarse_to_fine };
        let surface =
            sample_surface(field.as_ref(), model.radius(), model.level(), sampling, &cancel, &mut |fraction| {
                assert!(fraction >= last - 1e-6, "progress goes forward");
                last = fraction;
            })
            .unwrap();
        assert!(surface.mesh.topology().is_watertight_manifold(), "{grid} {coarse_to_fine}");
        let cell = 2.0 * model.radius() / grid as f32;
        for [x, y, z] in &surface.mesh.positions {
            let radius = (x * x + y * y + z * z).sqrt();
            assert!((radius - 0.5).abs() <= cell, "a vertex at radius {radius} with cells of {cell}");
        }
        surfaces.push(surface);
    }
    let dense = &surfaces[0];
    assert_eq!(dense.queries, 65 * 65 * 65);
    assert_eq!(surfaces[1].mesh.triangles.len(), dense.mesh.triangles.len(), "same surface either way");
    // At 128³ coarse-to-fine asks the decoder far less than the 129³ points of a dense grid.
    let ratio = (129.0f64 * 129.0 * 129.0) / surfaces[2].queries as f64;
    assert!(ratio >= 4.0, "only {ratio:.1}x fewer queries");

    cancel.cancel();
    let sampling = Sampling { grid: 64, coarse_to_fine: true };
    let error =
        sample_surface(field.as_ref(), model.radius(), model.level(), sampling, &cancel, &mut |_| {}).unwrap_err();
    assert!(matches!(error, threedgpt_engine::EngineError::Cancelled), "{error}");
    let segmentation = install(&store, "tiny-segmentation");
    assert!(TriplaneModel::load(&segmentation, 1).unwrap_err().to_string().contains("not a triplane model"));
}
