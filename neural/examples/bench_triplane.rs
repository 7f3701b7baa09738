//! Measures the triplane path on an installed model (`scripts/bench.py` installs `tiny-sphere`):
//! decoder throughput, and the surface sampled densely and coarse-to-fine at 128³ and 256³ (queries,
//! time, and whether the meshes agree). Prints one JSON object.
//!
//! `bench_triplane LIBONNXRUNTIME MODEL_STORE NAME`
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::Instant;

use threedgpt_engine::volume::{Sampling, sample_surface};
use threedgpt_engine::{CancelFlag, Reconstructor};
use threedgpt_neural::{runtime, store::ModelStore, triplane::TriplaneModel};

const RUNS: usize = 3;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [library, store, name] = args.as_slice() else {
        anyhow::bail!("usage: bench_triplane LIBONNXRUNTIME MODEL_STORE NAME");
    };
    runtime::load(&[PathBuf::from(library)])?;
    let model = TriplaneModel::load(&ModelStore::new(store).get(name)?, 1)?;
    let picture = image::RgbaImage::from_pixel(512, 512, image::Rgba([200, 120, 40, 255]));
    let planes = model.encode_planes(&picture).map_err(anyhow::Error::msg)?;
    let cancel = CancelFlag::new();

    let points: Vec<[f32; 3]> = (0..1_000_000).map(|i| [(i % 1000) as f32 / 1000.0 - 0.5, 0.1, 0.2]).collect();
    let decoder_s = median(
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                model.query(&planes, &points, &cancel, &mut |_| {}).map(|_| started.elapsed().as_secs_f64())
            })
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?,
    );

    let field = model.encode(&picture)?;
    let mut grids = Vec::new();
    for grid in [128, 256] {
        let mut row = serde_json::Map::new();
        let mut meshes = Vec::new();
        for (label, coarse_to_fine) in [("dense", false), ("coarse_to_fine", true)] {
            let sampling = Sampling { grid, coarse_to_fine };
            let mut times = Vec::new();
            let mut surface = None;
            for _ in 0..RUNS {
                let started = Instant::now();
                surface = Some(sample_surface(
                    field.as_ref(),
                    model.radius(),
                    model.level(),
                    sampling,
                    &cancel,
                    &mut |_| {},
                )?);
                times.push(started.elapsed().as_secs_f64());
            }
            let surface = surface.expect("RUNS is at least one");
            row.insert(
                label.to_owned(),
                serde_json::json!({
                    "queries": surface.queries,
                    "median_s": median(times),
                    "triangles": surface.mesh.triangles.len(),
                }),
            );
            meshes.push(surface.mesh);
        }
        row.insert("same_mesh".to_owned(), serde_json::json!(meshes[0] == meshes[1]));
        row.insert("grid".to_owned(), serde_json::json!(grid));
        grids.push(serde_json::Value::Object(row));
    }
    println!("{}", serde_json::json!({"decoder_points_per_s": points.len() as f64 / decoder_s, "grids": grids}));
    Ok(())
}
