//! Measures the engine on data written by `scripts/bench.py`, so both sides of a comparison run
//! on the same input in one run. Prints one JSON object.
//!
//! `bench_compare isosurface FIELD.f32 N` — a raw little-endian N³ field (x fastest), level 0.
//! `bench_compare export VERTICES.f32 FACES.u32 OUT.glb` — a mesh to GLB bytes in memory, and to a
//! file (written atomically and flushed to disk).
#![allow(clippy::print_stdout)]

use std::hint::black_box;
use std::time::Instant;

use threedgpt_engine::isosurface::{Inside, ScalarGrid, extract_isosurface};
use threedgpt_engine::mesh::TriMesh;
use threedgpt_engine::{CancelFlag, NoProgress, Options, generate};

const RUNS: usize = 5;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("isosurface") if args.len() == 3 => isosurface(&args[1], args[2].parse()?),
        Some("export") if args.len() == 4 => export(&args[1], &args[2], &args[3]),
        _ => anyhow::bail!("usage: bench_compare isosurface FIELD N | export VERTICES FACES OUT"),
    }
}

fn median(mut seconds: Vec<f64>) -> f64 {
    seconds.sort_by(f64::total_cmp);
    seconds[seconds.len() / 2]
}

fn floats(path: &str) -> anyhow::Result<Vec<f32>> {
    Ok(std::fs::read(path)?.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

fn isosurface(path: &str, samples: usize) -> anyhow::Result<()> {
    let field = ScalarGrid { dims: [samples; 3], values: floats(path)?, origin: [0.0; 3], spacing: [1.0; 3] };
    let mut times = Vec::new();
    let mut triangles = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let mesh = extract_isosurface(&field, 0.0, Inside::Below, &CancelFlag::new())?;
        times.push(started.elapsed().as_secs_f64());
        triangles = mesh.triangles.len();
    }
    println!("{}", serde_json::json!({"median_s": median(times), "triangles": triangles}));
    Ok(())
}

fn export(vertices: &str, faces: &str, out: &str) -> anyhow::Result<()> {
    let positions: Vec<[f32; 3]> = floats(vertices)?.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
    let triangles: Vec<[u32; 3]> = std::fs::read(faces)?
        .chunks_exact(12)
        .map(|c| {
            let at = |offset: usize| u32::from_le_bytes([c[offset], c[offset + 1], c[offset + 2], c[offset + 3]]);
            [at(0), at(4), at(8)]
        })
        .collect();
    // A real asset (record, texture) with its mesh swapped for the given one.
    let picture = image::RgbaImage::from_fn(64, 64, |x, y| {
        let inside = (x as i32 - 32).pow(2) + (y as i32 - 32).pow(2) < 400;
        image::Rgba(if inside { [200, 60, 60, 255] } else { [0, 0, 0, 0] })
    });
    let mut png = Vec::new();
    picture.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
    let options = Options::default().with_texture_px(256).with_grid_px(32).with_target_faces(100);
    let mut asset = generate("bench.png", &png, &options, &NoProgress, &CancelFlag::new())?;
    asset.mesh = TriMesh { positions, triangles };
    asset.normals = asset.mesh.smooth_normals();
    asset.uvs = asset.mesh.positions.iter().map(|p| [p[0], p[1]]).collect();
    let mut in_memory = Vec::new();
    let mut to_file = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        black_box(threedgpt_engine::export::glb_bytes(&asset, true)?);
        in_memory.push(started.elapsed().as_secs_f64());
        let started = Instant::now();
        threedgpt_engine::export::write(&asset, std::path::Path::new(out), threedgpt_engine::Format::Glb, true)?;
        to_file.push(started.elapsed().as_secs_f64());
    }
    let triangles = asset.mesh.triangles.len();
    println!(
        "{}",
        serde_json::json!({"median_s": median(in_memory), "to_file_median_s": median(to_file), "triangles": triangles})
    );
    Ok(())
}
