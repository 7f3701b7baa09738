//! The isosurface module on analytic fields: closed manifolds of the right genus and size.

use threedgpt_engine::CancelFlag;
use threedgpt_engine::isosurface::{Inside, ScalarGrid, extract_isosurface};

fn grid(samples: usize, field: impl Fn([f32; 3]) -> f32) -> ScalarGrid {
    let spacing = 2.0 / (samples - 1) as f32;
    ScalarGrid::from_fn([samples; 3], [-1.0; 3], [spacing; 3], field)
}

#[test]
fn a_sphere_field_gives_a_closed_sphere_of_the_right_radius() {
    let radius = 0.7;
    let field = grid(64, |[x, y, z]| (x * x + y * y + z * z).sqrt() - radius);
    let mesh = extract_isosurface(&field, 0.0, Inside::Below, &CancelFlag::new()).unwrap();
    let topology = mesh.topology();
    assert!(topology.is_watertight_manifold(), "{topology:?}");
    assert_eq!(topology.genus(), 0);
    assert_eq!(topology.components, 1);
    let cell = field.spacing[0];
    for p in &mesh.positions {
        let r = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
        assert!((r - radius).abs() < cell, "vertex at radius {r}");
    }
    let expected = 4.0 / 3.0 * std::f64::consts::PI * f64::from(radius).powi(3);
    let volume = mesh.volume();
    assert!((volume - expected).abs() / expected < 0.02, "volume {volume} vs {expected}");
}

#[test]
fn a_torus_field_gives_genus_one() {
    let (major, minor) = (0.6f32, 0.25f32);
    let field = grid(72, |[x, y, z]| {
        let ring = (x * x + z * z).sqrt() - major;
        (ring * ring + y * y).sqrt() - minor
    });
    let mesh = extract_isosurface(&field, 0.0, Inside::Below, &CancelFlag::new()).unwrap();
    let topology = mesh.topology();
    assert!(topology.is_watertight_manifold(), "{topology:?}");
    assert_eq!(topology.genus(), 1);
    let expected = 2.0 * std::f64::consts::PI.powi(2) * f64::from(major) * f64::from(minor).powi(2);
    let volume = mesh.volume();
    assert!((volume - expected).abs() / expected < 0.03, "volume {volume} vs {expected}");
}

#[test]
fn densities_above_the_level_are_inside_and_the_surface_faces_out() {
    // A density like the triplane decoder's: high inside a ball, with the surface at 25.
    let field = grid(48, |[x, y, z]| 50.0 * (1.0 - (x * x + y * y + z * z).sqrt() / 0.5));
    let mesh = extract_isosurface(&field, 25.0, Inside::Above, &CancelFlag::new()).unwrap();
    assert!(mesh.topology().is_watertight_manifold());
    assert!(mesh.volume() > 0.0, "surface faces inward");
}

#[test]
fn noisy_fields_and_solids_touching_the_grid_edge_stay_closed_where_inside() {
    // Pseudo-random values: many tiny blobs, all of which must still be closed surfaces.
    let mut state = 12345u32;
    let values: Vec<f32> = (0..20 * 20 * 20)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1 << 24) as f32 - 0.5
        })
        .collect();
    // Keep the outer layer outside so every blob is closed.
    let values = values
        .iter()
        .enumerate()
        .map(|(index, &value)| {
            let (x, y, z) = (index % 20, index / 20 % 20, index / 400);
            if [x, y, z].iter().any(|&c| c == 0 || c == 19) { 1.0 } else { value }
        })
        .collect();
    let field = ScalarGrid { dims: [20; 3], values, origin: [0.0; 3], spacing: [1.0; 3] };
    let mesh = extract_isosurface(&field, 0.0, Inside::Below, &CancelFlag::new()).unwrap();
    let topology = mesh.topology();
    assert!(topology.is_watertight_manifold(), "{topology:?}");
    assert!(mesh.volume() > 0.0);
}

#[test]
fn a_cancel_stops_extraction() {
    let field = grid(40, |[x, y, z]| (x * x + y * y + z * z).sqrt() - 0.5);
    let cancel = CancelFlag::new();
    cancel.cancel();
    assert!(extract_isosurface(&field, 0.0, Inside::Below, &cancel).is_err());
}

/// A grid of `side³` samples, -1 (inside) where `inside` says so and +1 elsewhere, with the outer
/// layer outside so every solid is enclosed.
fn signs(side: usize, inside: impl Fn(usize, usize, usize) -> bool) -> ScalarGrid {
    let values = (0..side.pow(3))
        .map(|index| {
            let (x, y, z) = (index % side, index / side % side, index / side / side);
            let border = [x, y, z].iter().any(|&c| c == 0 || c == side - 1);
            if !border && inside(x, y, z) { -1.0 } else { 1.0 }
        })
        .collect();
    ScalarGrid { dims: [side; 3], values, origin: [0.0; 3], spacing: [1.0; 3] }
}

#[test]
fn every_configuration_of_a_cube_and_its_neighbours_closes() {
    // Each of the 256 corner configurations of the middle cube of a 4³ grid: the cube and its 26
    // neighbours (whose other corners are outside) must give closed, outward-facing surfaces.
    for code in 1..256usize {
        let field = signs(4, |x, y, z| {
            let corner = (x - 1) | ((y - 1) << 1) | ((z - 1) << 2);
            (1..=2).contains(&x) && (1..=2).contains(&y) && (1..=2).contains(&z) && code >> corner & 1 == 1
        });
        let mesh = extract_isosurface(&field, 0.0, Inside::Below, &CancelFlag::new()).unwrap();
        let topology = mesh.topology();
        assert!(topology.is_watertight_manifold(), "case {code}: {topology:?}");
        assert!(mesh.volume() > 0.0, "case {code}: surface faces inward");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, ..Default::default() })]

    /// Any pattern of inside and outside samples gives closed, 2-manifold, outward-facing surfaces.
    #[test]
    fn any_field_gives_closed_manifold_surfaces(bits in proptest::collection::vec(proptest::prelude::any::<bool>(), 7 * 7 * 7)) {
        let field = signs(7, |x, y, z| bits[(z * 7 + y) * 7 + x]);
        let mesh = extract_isosurface(&field, 0.0, Inside::Below, &CancelFlag::new()).unwrap();
        let topology = mesh.topology();
        proptest::prop_assert!(topology.is_watertight_manifold(), "{:?}", topology);
        proptest::prop_assert!(mesh.triangles.is_empty() || mesh.volume() > 0.0);
    }
}

#[test]
fn a_large_surface_simplifies_to_a_closed_mesh_of_the_target_size_and_volume() {
    let radius = 0.8;
    let field = grid(110, |[x, y, z]| (x * x + y * y + (z * 1.2).powi(2)).sqrt() - radius);
    let mesh = extract_isosurface(&field, 0.0, Inside::Below, &CancelFlag::new()).unwrap();
    assert!(mesh.triangles.len() > 40_000, "{} triangles", mesh.triangles.len());
    let (simplified, topology) = mesh.simplified_with_topology(5_000);
    assert_eq!(topology, simplified.topology());
    assert!(topology.is_watertight_manifold(), "{topology:?}");
    assert_eq!((topology.components, topology.genus()), (1, 0));
    let faces = simplified.triangles.len() as f64;
    assert!((faces - 5_000.0).abs() / 5_000.0 < 0.01, "{faces} faces");
    let (before, after) = (mesh.volume(), simplified.volume());
    assert!((after - before).abs() / before < 0.01, "volume {after} vs {before}");
}
