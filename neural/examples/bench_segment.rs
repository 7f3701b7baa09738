//! Measures the segmentation stage with the catalog's `u2netp` (installed out of its wheel into a
//! throwaway store): the model alone (resize, normalise, run, min-max) and the whole stage as a
//! job runs it (the model, then the refinement with the picture), per picture, medians of a few
//! runs after one warm-up. Prints one JSON object; `scripts/bench.py` sets it beside `rembg`.
//!
//! `bench_segment LIBONNXRUNTIME U2NETP_WHEEL PICTURE...`
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::Instant;

use threedgpt_engine::foreground::{Segmenter, object_coverage};
use threedgpt_engine::{Background, CancelFlag, DecodeLimits};
use threedgpt_neural::segmentation::OnnxSegmenter;
use threedgpt_neural::{catalog, runtime, store::ModelStore};

const RUNS: usize = 7;

fn median_ms(mut run: impl FnMut()) -> f64 {
    run();
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[RUNS / 2]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [library, wheel, pictures @ ..] = args.as_slice() else {
        anyhow::bail!("usage: bench_segment LIBONNXRUNTIME U2NETP_WHEEL PICTURE...");
    };
    runtime::load(&[PathBuf::from(library)])?;
    let folder = tempfile::tempdir()?;
    let entry = catalog::find("u2netp").ok_or_else(|| anyhow::anyhow!("u2netp is not in the catalog"))?;
    let installed =
        ModelStore::new(folder.path()).install_manifest(&entry.manifest, entry.text, wheel.as_ref(), &mut |_, _| {})?;
    let segmenter = OnnxSegmenter::load(&installed, 2)?;
    let mut results = Vec::new();
    for path in pictures {
        let picture = image::open(path)?.to_rgba8();
        let model_ms = median_ms(|| {
            segmenter.segment(&picture).expect("u2netp runs");
        });
        let stage_ms = median_ms(|| {
            object_coverage(
                &picture,
                false,
                &Background::Auto,
                Some(&segmenter),
                &DecodeLimits::default(),
                &CancelFlag::new(),
            )
            .expect("the stage finds the object");
        });
        results.push(serde_json::json!({
            "picture": path, "width": picture.width(), "height": picture.height(),
            "model_ms": model_ms, "stage_ms": stage_ms,
        }));
    }
    println!("{}", serde_json::json!({ "runs": RUNS, "pictures": results }));
    Ok(())
}
