//! Helpers shared by the engine's integration tests: analytic shapes rasterised to coverage,
//! silhouettes of meshes, and encoded test images.
#![allow(dead_code, unreachable_pub)]

use threedgpt_engine::mesh::TriMesh;

/// Coverage of an analytic shape on a `side` x `side` raster, 4x4 supersampled.
pub fn coverage(side: usize, inside: impl Fn(f32, f32) -> bool) -> Vec<f32> {
    let mut out = Vec::with_capacity(side * side);
    for y in 0..side {
        for x in 0..side {
            let mut hits = 0;
            for sy in 0..4 {
                for sx in 0..4 {
                    let px = x as f32 + (sx as f32 + 0.5) / 4.0;
                    let py = y as f32 + (sy as f32 + 0.5) / 4.0;
                    hits += u32::from(inside(px, py));
                }
            }
            out.push(hits as f32 / 16.0);
        }
    }
    out
}

/// Intersection over union of the mesh's projection on the xy plane and `inside`, sampled at the
/// centres of a `side` x `side` raster (both in the same units).
pub fn silhouette_iou(mesh: &TriMesh, side: usize, inside: impl Fn(f32, f32) -> bool) -> f64 {
    let mut covered = vec![false; side * side];
    for &[a, b, c] in &mesh.triangles {
        let [p, q, r] = [a, b, c].map(|index| mesh.positions[index as usize]);
        let min_x = p[0].min(q[0]).min(r[0]).floor().max(0.0) as usize;
        let max_x = (p[0].max(q[0]).max(r[0]).ceil() as usize).min(side);
        let min_y = p[1].min(q[1]).min(r[1]).floor().max(0.0) as usize;
        let max_y = (p[1].max(q[1]).max(r[1]).ceil() as usize).min(side);
        let area = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]);
        if area.abs() < 1e-12 {
            continue;
        }
        for y in min_y..max_y {
            for x in min_x..max_x {
                let (sx, sy) = (x as f32 + 0.5, y as f32 + 0.5);
                let w0 = ((q[0] - sx) * (r[1] - sy) - (q[1] - sy) * (r[0] - sx)) / area;
                let w1 = ((r[0] - sx) * (p[1] - sy) - (r[1] - sy) * (p[0] - sx)) / area;
                let w2 = 1.0 - w0 - w1;
                if w0 >= 0.0 && w1 >= 0.0 && w2 >= 0.0 {
                    covered[y * side + x] = true;
                }
            }
        }
    }
    let (mut intersection, mut union) = (0usize, 0usize);
    for y in 0..side {
        for x in 0..side {
            let expected = inside(x as f32 + 0.5, y as f32 + 0.5);
            let got = covered[y * side + x];
            intersection += usize::from(expected && got);
            union += usize::from(expected || got);
        }
    }
    intersection as f64 / union.max(1) as f64
}

/// `mesh` with the vertices at one position made one: a file's mesh is split where texture charts
/// meet, and closed by position.
pub fn welded_by_position(mesh: &TriMesh) -> TriMesh {
    let mut index_of = std::collections::HashMap::new();
    let mut welded = TriMesh { positions: Vec::new(), triangles: Vec::new() };
    let remap: Vec<u32> = mesh
        .positions
        .iter()
        .map(|position| {
            *index_of.entry(position.map(f32::to_bits)).or_insert_with(|| {
                welded.positions.push(*position);
                (welded.positions.len() - 1) as u32
            })
        })
        .collect();
    welded.triangles = mesh.triangles.iter().map(|triangle| triangle.map(|vertex| remap[vertex as usize])).collect();
    welded
}

/// Encodes an RGBA image as PNG bytes.
pub fn png_bytes(image: &image::RgbaImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).expect("encode png");
    bytes
}

/// Encodes any dynamic image in the given format.
pub fn encode(image: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut bytes), format).expect("encode");
    bytes
}

/// A picture of a filled disc in `colour` on a `background` colour, `side` px square.
pub fn disc_on(side: u32, radius: f32, colour: [u8; 4], background: [u8; 4]) -> image::RgbaImage {
    let centre = side as f32 / 2.0;
    image::RgbaImage::from_fn(side, side, |x, y| {
        let inside = ((x as f32 + 0.5 - centre).powi(2) + (y as f32 + 0.5 - centre).powi(2)).sqrt() <= radius;
        image::Rgba(if inside { colour } else { background })
    })
}
