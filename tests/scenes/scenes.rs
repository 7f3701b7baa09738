//! The rendered background-removal scenes (`tests/scenes/`, made by `render.py`), for the tests
//! that score a remover on them: included by path from the engine's and the neural crate's tests.

use std::path::{Path, PathBuf};

use image::RgbaImage;

/// One rendered photograph and its ground truth.
pub(crate) struct Scene {
    pub(crate) name: String,
    pub(crate) tags: Vec<String>,
    pub(crate) picture: RgbaImage,
    /// The render's alpha at one half, per pixel.
    pub(crate) truth: Vec<bool>,
}

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenes")
}

/// Every scene `scenes.json` lists, in its order.
pub(crate) fn scenes() -> Vec<Scene> {
    let listing: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder().join("scenes.json")).unwrap()).unwrap();
    let scenes = listing["scenes"].as_object().unwrap();
    assert!(scenes.len() >= 20, "the set has {} scenes", scenes.len());
    scenes
        .iter()
        .map(|(name, about)| {
            let images = folder().join("images");
            let picture = image::open(images.join(format!("{name}.jpg"))).unwrap().to_rgba8();
            let mask = image::open(images.join(format!("{name}.mask.png"))).unwrap().to_luma8();
            assert_eq!(picture.dimensions(), mask.dimensions(), "{name}");
            let tags = about["tags"].as_array().unwrap().iter().map(|tag| tag.as_str().unwrap().to_owned()).collect();
            Scene { name: name.clone(), tags, picture, truth: mask.pixels().map(|pixel| pixel[0] >= 128).collect() }
        })
        .collect()
}

/// Intersection over union of a coverage (at one half) and the truth.
pub(crate) fn iou(coverage: &[f32], truth: &[bool]) -> f64 {
    let (mut both, mut either) = (0usize, 0usize);
    for (value, &inside) in coverage.iter().zip(truth) {
        let found = *value >= 0.5;
        both += usize::from(found && inside);
        either += usize::from(found || inside);
    }
    both as f64 / either.max(1) as f64
}

pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) { (sorted[middle - 1] + sorted[middle]) / 2.0 } else { sorted[middle] }
}

/// Writes a coverage as a grey PNG into the folder `THREEDGPT_DUMP_MASKS` names, when it is set,
/// to look at what a remover found.
pub(crate) fn dump(name: &str, coverage: &[f32], width: u32, height: u32) {
    let Some(folder) = std::env::var_os("THREEDGPT_DUMP_MASKS") else {
        return;
    };
    let grey = image::GrayImage::from_fn(width, height, |x, y| {
        image::Luma([(coverage[(y * width + x) as usize] * 255.0).round() as u8])
    });
    grey.save(Path::new(&folder).join(format!("{name}.found.png"))).unwrap();
}
