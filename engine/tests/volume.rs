//! Volumetric sampling on analytic fields: coarse-to-fine finds the same surface as a dense grid
//! with far fewer queries, and the atlas bake colours every triangle.

use std::cell::Cell;

use threedgpt_engine::volume::{Field, Sampling, bake_atlas, sample_surface};
use threedgpt_engine::{CancelFlag, Result};

/// A torus around +Y and a ball beside it, as a density (high inside, the surface at 25), coloured
/// by position; counts the points it is asked about.
struct Shapes {
    queries: Cell<usize>,
}

impl Shapes {
    fn density([x, y, z]: [f32; 3]) -> f32 {
        let ring = (x * x + z * z).sqrt() - 0.45;
        let torus = 0.15 - (ring * ring + y * y).sqrt();
        let ball = 0.18 - ((x - 0.1).powi(2) + (y - 0.45).powi(2) + z * z).sqrt();
        25.0 + 100.0 * torus.max(ball)
    }
}

impl Field for Shapes {
    fn densities(&self, points: &[[f32; 3]], _: &CancelFlag) -> Result<Vec<f32>> {
        self.queries.set(self.queries.get() + points.len());
        Ok(points.iter().map(|&point| Self::density(point)).collect())
    }

    fn colours(&self, points: &[[f32; 3]], _: &CancelFlag) -> Result<Vec<[f32; 3]>> {
        Ok(points.iter().map(|&[x, y, _]| [(x + 1.0) / 2.0, (y + 1.0) / 2.0, 0.5]).collect())
    }
}

fn sample(grid: usize, coarse_to_fine: bool) -> threedgpt_engine::volume::Surface {
    let field = Shapes { queries: Cell::new(0) };
    let surface =
        sample_surface(&field, 0.87, 25.0, Sampling { grid, coarse_to_fine }, &CancelFlag::new(), &mut |_| {}).unwrap();
    assert_eq!(surface.queries, field.queries.get());
    surface
}

#[test]
fn coarse_to_fine_finds_the_dense_surface_with_fewer_queries() {
    for grid in [64, 96] {
        let dense = sample(grid, false);
        let sparse = sample(grid, true);
        assert_eq!(dense.queries, (grid + 1).pow(3));
        assert!(dense.queries >= 3 * sparse.queries, "{grid}: {} vs {} queries", dense.queries, sparse.queries);
        let topology = sparse.mesh.topology();
        assert!(topology.is_watertight_manifold(), "{grid}: {topology:?}");
        assert_eq!((topology.components, topology.genus()), (2, 1), "{grid}: a torus and a ball");
        assert_eq!(sparse.mesh, dense.mesh, "{grid}: the same mesh either way");
    }
}

#[test]
fn the_atlas_bake_paints_each_triangle_and_the_texels_around_it_with_the_field_colour() {
    let surface = sample(48, true);
    let mesh = surface.mesh.simplified(2_000);
    let field = Shapes { queries: Cell::new(0) };
    let side = 512.0;
    let baked = bake_atlas(&mesh, &field, side as u32, &CancelFlag::new()).unwrap();
    assert_eq!(baked.mesh.triangles.len(), mesh.triangles.len());
    let expected_at = |point: [f32; 3]| field.colours(&[point], &CancelFlag::new()).unwrap()[0].map(|c| c * 255.0);
    let check = |t: usize, what: &str, uv: [f32; 2], expected: [f32; 3]| {
        let texel = baked.texture.get_pixel((uv[0] * side) as u32, (uv[1] * side) as u32);
        for channel in 0..3 {
            let difference = (f32::from(texel[channel]) - expected[channel]).abs();
            assert!(difference <= 3.0, "triangle {t}, {what}: texel {texel:?}, expected {expected:?}");
        }
    };
    for (t, triangle) in baked.mesh.triangles.iter().enumerate().step_by(7) {
        let corners = triangle.map(|vertex| vertex as usize);
        let position = |weights: [f32; 3]| {
            [0, 1, 2].map(|axis| (0..3).map(|k| weights[k] * baked.mesh.positions[corners[k]][axis]).sum::<f32>())
        };
        let uv = |weights: [f32; 3]| {
            [0, 1].map(|axis| (0..3).map(|k| weights[k] * baked.uvs[corners[k]][axis]).sum::<f32>())
        };
        let third = 1.0 / 3.0;
        check(t, "centre", uv([third; 3]), expected_at(position([third; 3])));
        // Just outside each edge (one texel beyond its midpoint, away from the centre), a bilinear
        // sample still reads the triangle's own colour there, not the background.
        let centre = uv([third; 3]);
        for edge in [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5]] {
            let middle = uv(edge);
            let away = [middle[0] - centre[0], middle[1] - centre[1]];
            let length = (away[0] * away[0] + away[1] * away[1]).sqrt() * side;
            let outside = [0, 1].map(|axis| middle[axis] + away[axis] / length);
            check(t, "beside an edge", outside, expected_at(position(edge)));
        }
    }
}

#[test]
fn progress_only_goes_forward_and_ends_at_one() {
    // At 256³ the first wave of fine points spans several query chunks, and later waves add more.
    let field = Shapes { queries: Cell::new(0) };
    let mut reports = Vec::new();
    let sampling = Sampling { grid: 256, coarse_to_fine: true };
    sample_surface(&field, 0.87, 25.0, sampling, &CancelFlag::new(), &mut |fraction| reports.push(fraction)).unwrap();
    assert!(reports.len() > 3, "{reports:?}");
    assert!(reports.windows(2).all(|pair| pair[1] >= pair[0]), "{reports:?}");
    assert_eq!(reports.last(), Some(&1.0));
}

/// A field that runs past the cube (inside everywhere): the surface closes flat on its faces.
struct Everywhere;

impl Field for Everywhere {
    fn densities(&self, points: &[[f32; 3]], _: &CancelFlag) -> Result<Vec<f32>> {
        Ok(points.iter().map(|&[x, _, _]| if x < 0.5 { 30.0 } else { 0.0 }).collect())
    }

    fn colours(&self, points: &[[f32; 3]], _: &CancelFlag) -> Result<Vec<[f32; 3]>> {
        Ok(vec![[0.5; 3]; points.len()])
    }
}

#[test]
fn a_field_running_past_the_cube_is_closed_on_its_faces() {
    for coarse_to_fine in [false, true] {
        let sampling = Sampling { grid: 16, coarse_to_fine };
        let surface = sample_surface(&Everywhere, 1.0, 25.0, sampling, &CancelFlag::new(), &mut |_| {}).unwrap();
        let topology = surface.mesh.topology();
        assert!(topology.is_watertight_manifold(), "{coarse_to_fine}: {topology:?}");
        assert_eq!(topology.components, 1);
        let (low, high) = surface.mesh.bounds();
        assert!(low.iter().all(|&value| value >= -1.0) && high[0] <= 0.6 && high[1] <= 1.0, "{low:?} {high:?}");
        assert!(low[0] < -0.85 && high[1] > 0.85, "reaches to within a cell of the faces: {low:?} {high:?}");
    }
}
