//! The built-in background removal on the rendered scenes of `tests/scenes/` (objects on studio
//! backdrops, with contact shadows, low contrast, holes and thin parts), scored by mask IoU against
//! the render's own alpha. Prints the table the README shows:
//! `cargo test -p threedgpt-engine --test scenes -- --nocapture`.

#[path = "../../tests/scenes/scenes.rs"]
mod scenes;

use threedgpt_engine::foreground::object_coverage;
use threedgpt_engine::{Background, CancelFlag, DecodeLimits};

/// The regression floors, a little under what the remover measures today (see the README): the
/// median, how many scenes reach 0.9, and the worst (dark on dark, where the backdrop and the
/// object differ by a few ΔE).
const MEDIAN_AT_LEAST: f64 = 0.93;
const SCENES_OVER_0_9_AT_LEAST: usize = 16;
const EVERY_SCENE_AT_LEAST: f64 = 0.3;

#[test]
fn the_builtin_removal_finds_the_rendered_objects() {
    let mut rows = Vec::new();
    let mut scores = Vec::new();
    for scene in scenes::scenes() {
        let started = std::time::Instant::now();
        let found = object_coverage(
            &scene.picture,
            false,
            &Background::Builtin,
            None,
            &DecodeLimits::default(),
            &CancelFlag::new(),
        );
        let took = started.elapsed().as_millis();
        let (score, note) = match &found {
            Ok(found) => {
                let (width, height) = scene.picture.dimensions();
                scenes::dump(&scene.name, &found.values, width, height);
                (scenes::iou(&found.values, &scene.truth), found.warnings.join("; "))
            }
            Err(error) => (0.0, error.to_string()),
        };
        rows.push(format!("| {} | {} | {score:.3} | {took} ms | {note} |", scene.name, scene.tags.join(", ")));
        scores.push((scene.name, score));
    }
    let values: Vec<f64> = scores.iter().map(|&(_, score)| score).collect();
    let median = scenes::median(&values);
    eprintln!(
        "| scene | what is hard | IoU | time | notes |\n|---|---|---|---|---|\n{}\nmedian {median:.3}",
        rows.join("\n")
    );
    assert!(median >= MEDIAN_AT_LEAST, "median IoU {median:.3}");
    let good = values.iter().filter(|&&score| score >= 0.9).count();
    assert!(good >= SCENES_OVER_0_9_AT_LEAST, "{good} scenes reach IoU 0.9");
    for (name, score) in &scores {
        assert!(*score >= EVERY_SCENE_AT_LEAST, "{name}: IoU {score:.3}");
    }
}
