//! The built-in reconstructor's quality bar: a disc inflates to a sphere, the silhouette matches the
//! mask, and every mask gives one closed, consistently wound 2-manifold whose genus is its hole count.

mod support;

use threedgpt_engine::CancelFlag;
use threedgpt_engine::mesh::TriMesh;
use threedgpt_engine::relief::inflate;

const GRID: usize = 256;

fn relief_of(side: usize, inside: impl Fn(f32, f32) -> bool) -> TriMesh {
    let coverage = support::coverage(side, inside);
    inflate(&coverage, side, GRID, 1.0, &CancelFlag::new(), &mut |_| {}).expect("inflate").mesh
}

/// Chamfer distance between a mesh and the sphere of `radius` at `centre`: the mean of the vertices'
/// distance to the sphere and the distance from evenly spread sphere points to the nearest vertex.
fn chamfer_to_sphere(mesh: &TriMesh, centre: [f32; 3], radius: f32) -> f32 {
    let to_sphere: f32 = mesh
        .positions
        .iter()
        .map(|p| {
            let d = ((p[0] - centre[0]).powi(2) + (p[1] - centre[1]).powi(2) + (p[2] - centre[2]).powi(2)).sqrt();
            (d - radius).abs()
        })
        .sum::<f32>()
        / mesh.positions.len() as f32;
    let samples = 1500;
    let golden = std::f32::consts::PI * (3.0 - 5.0f32.sqrt());
    let mut to_mesh = 0.0;
    for index in 0..samples {
        let z = 1.0 - 2.0 * (index as f32 + 0.5) / samples as f32;
        let ring = (1.0 - z * z).sqrt();
        let angle = golden * index as f32;
        let point =
            [centre[0] + radius * ring * angle.cos(), centre[1] + radius * ring * angle.sin(), centre[2] + radius * z];
        let nearest = mesh
            .positions
            .iter()
            .map(|p| (p[0] - point[0]).powi(2) + (p[1] - point[1]).powi(2) + (p[2] - point[2]).powi(2))
            .fold(f32::MAX, f32::min)
            .sqrt();
        to_mesh += nearest;
    }
    (to_sphere + to_mesh / samples as f32) / 2.0
}

#[test]
fn a_disc_inflates_to_a_sphere_within_two_percent() {
    let side = 512;
    let radius_px = 0.4 * side as f32;
    let centre_px = side as f32 / 2.0;
    let mesh = relief_of(side, |x, y| ((x - centre_px).powi(2) + (y - centre_px).powi(2)).sqrt() <= radius_px);
    let scale = GRID as f32 / side as f32;
    let (centre, radius) = ([centre_px * scale, centre_px * scale, 0.0], radius_px * scale);
    let relative = chamfer_to_sphere(&mesh, centre, radius) / radius;
    eprintln!("sphere: Chamfer {:.3}% of the radius, {} faces", relative * 100.0, mesh.face_count());
    assert!(relative < 0.02, "Chamfer distance is {:.2}% of the radius", relative * 100.0);

    let simplified = mesh.simplified(20_000);
    let relative = chamfer_to_sphere(&simplified, centre, radius) / radius;
    eprintln!("sphere simplified: Chamfer {:.3}% of the radius", relative * 100.0);
    assert!(relative < 0.02, "after simplification: {:.2}% of the radius", relative * 100.0);
}

#[test]
fn thickness_scales_the_depth() {
    let side = 256;
    let disc = |x: f32, y: f32| ((x - 128.0).powi(2) + (y - 128.0).powi(2)).sqrt() <= 100.0;
    let coverage = support::coverage(side, disc);
    let depth = |thickness| {
        let mesh = inflate(&coverage, side, GRID, thickness, &CancelFlag::new(), &mut |_| {}).unwrap().mesh;
        let (min, max) = mesh.bounds();
        max[2] - min[2]
    };
    let ratio = depth(0.5) / depth(1.0);
    assert!((ratio - 0.5).abs() < 0.01, "half thickness gave {ratio} of the depth");
}

/// A named shape with its expected genus and component count.
type Shape = (&'static str, Box<dyn Fn(f32, f32) -> bool>, i64, usize);

/// Shapes with a known number of holes and components.
fn shapes() -> Vec<Shape> {
    let circle = |cx: f32, cy: f32, r: f32| move |x: f32, y: f32| ((x - cx).powi(2) + (y - cy).powi(2)).sqrt() <= r;
    vec![
        ("disc", Box::new(circle(256.0, 256.0, 200.0)), 0, 1),
        ("ring", Box::new(move |x, y| circle(256.0, 256.0, 200.0)(x, y) && !circle(256.0, 256.0, 90.0)(x, y)), 1, 1),
        (
            "two holes",
            Box::new(move |x, y| {
                circle(256.0, 256.0, 220.0)(x, y)
                    && !circle(160.0, 256.0, 50.0)(x, y)
                    && !circle(350.0, 256.0, 60.0)(x, y)
            }),
            2,
            1,
        ),
        (
            "two discs",
            Box::new(move |x, y| circle(150.0, 256.0, 100.0)(x, y) || circle(380.0, 256.0, 90.0)(x, y)),
            0,
            2,
        ),
        (
            "L shape",
            Box::new(|x, y| {
                (60.0..200.0).contains(&x) && (60.0..450.0).contains(&y)
                    || (60.0..450.0).contains(&x) && (330.0..450.0).contains(&y)
            }),
            0,
            1,
        ),
        (
            "duck",
            Box::new(move |x, y| {
                ((x - 230.0) / 170.0).powi(2) + ((y - 330.0) / 120.0).powi(2) <= 1.0
                    || circle(330.0, 170.0, 90.0)(x, y)
                    || ((x - 430.0) / 60.0).powi(2) + ((y - 190.0) / 22.0).powi(2) <= 1.0
            }),
            0,
            1,
        ),
    ]
}

#[test]
fn every_shape_is_a_closed_manifold_with_its_genus_and_a_matching_silhouette() {
    let side = 512;
    for (name, inside, genus, components) in shapes() {
        let mesh = relief_of(side, &inside);
        let in_grid = |x: f32, y: f32| inside(x * side as f32 / GRID as f32, y * side as f32 / GRID as f32);
        for (stage, mesh) in [("relief", mesh.clone()), ("simplified", mesh.simplified(20_000))] {
            let topology = mesh.topology();
            assert!(topology.is_watertight_manifold(), "{name} ({stage}): {topology:?}");
            assert_eq!(topology.genus(), genus, "{name} ({stage}) genus");
            assert_eq!(topology.components, components, "{name} ({stage}) components");
            // In grid space y points down, which mirrors the solid: outward winding shows as negative volume.
            assert!(mesh.volume() < 0.0, "{name} ({stage}) is wound inward");
            let iou = support::silhouette_iou(&mesh, GRID, in_grid);
            eprintln!("{name} ({stage}): IoU {iou:.4}, {} faces", mesh.face_count());
            assert!(iou >= 0.98, "{name} ({stage}): silhouette IoU {iou:.4}");
        }
    }
}

#[test]
fn pixel_level_pinches_and_slivers_still_give_a_closed_manifold() {
    // Two squares touching only at a corner, a one-pixel line, a single pixel and a checkerboard patch.
    let side = GRID;
    let inside = |x: f32, y: f32| {
        let (x, y) = (x as usize, y as usize);
        let squares =
            (40..80).contains(&x) && (40..80).contains(&y) || (80..120).contains(&x) && (80..120).contains(&y);
        let line = y == 150 && (20..200).contains(&x);
        let dot = x == 220 && y == 30;
        let checker = (150..180).contains(&x) && (180..210).contains(&y) && (x + y) % 2 == 0;
        squares || line || dot || checker
    };
    let coverage: Vec<f32> = (0..side * side)
        .map(|index| f32::from(u8::from(inside((index % side) as f32, (index / side) as f32))))
        .collect();
    let mesh = inflate(&coverage, side, GRID, 1.0, &CancelFlag::new(), &mut |_| {}).unwrap().mesh;
    let topology = mesh.topology();
    assert!(topology.is_watertight_manifold(), "{topology:?}");
    let simplified = mesh.simplified(2_000);
    assert!(simplified.topology().is_watertight_manifold(), "{:?}", simplified.topology());
}

#[test]
fn a_cancel_stops_the_solver() {
    let coverage = support::coverage(256, |x, y| ((x - 128.0).powi(2) + (y - 128.0).powi(2)).sqrt() <= 100.0);
    let cancel = CancelFlag::new();
    cancel.cancel();
    let result = inflate(&coverage, 256, 1024, 1.0, &cancel, &mut |_| {});
    assert!(matches!(result, Err(threedgpt_engine::EngineError::Cancelled)));
}
