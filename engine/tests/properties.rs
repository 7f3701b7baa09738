//! Property tests: no input makes the engine panic, and every mesh it returns is closed.

mod support;

use proptest::prelude::*;
use threedgpt_engine::mesh::TriMesh;
use threedgpt_engine::relief::inflate;
use threedgpt_engine::{CancelFlag, Models, NoProgress, Options, Side, View, generate, generate_views};

fn small() -> Options {
    Options::default().with_grid_px(48).with_texture_px(256).with_target_faces(500)
}

fn check_result(bytes: &[u8]) {
    // Errors are fine; panics and broken meshes are not.
    if let Ok(asset) = generate("fuzz.png", bytes, &small(), &NoProgress, &CancelFlag::new()) {
        let topology = asset.mesh.topology();
        assert!(topology.is_watertight_manifold(), "{topology:?}");
        assert!(asset.mesh.volume() > 0.0);
        assert!(asset.mesh.positions.iter().flatten().all(|value| value.is_finite()));
    }
}

fn image_strategy() -> impl Strategy<Value = image::RgbaImage> {
    (1u32..40, 1u32..40, any::<u64>(), 0u8..3).prop_map(|(width, height, seed, style)| {
        let mut draws = Draws(seed | 1);
        image::RgbaImage::from_fn(width, height, |x, y| {
            let noise = draws.next();
            match style {
                // Random blobs of opaque colour on transparency.
                0 => image::Rgba([noise as u8, (noise >> 8) as u8, 90, if noise.is_multiple_of(3) { 255 } else { 0 }]),
                // A shape on a plain background with noise.
                1 => {
                    let inside = (x * 7 + y * 3 + (noise % 5) as u32) % 11 < 5;
                    image::Rgba(if inside { [200, 40, 40, 255] } else { [240, 240, 240, 255] })
                }
                // Pure noise.
                _ => image::Rgba([noise as u8, (noise >> 8) as u8, (noise >> 16) as u8, (noise >> 24) as u8]),
            }
        })
    })
}

/// A random number source from a seed, so proptest shrinks the seed and the sizes, not pixels.
struct Draws(u64);

impl Draws {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `low..high` (`low` when the range is empty).
    fn between(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low).max(0.0) * (self.next() % 10_000) as f32 / 10_000.0
    }
}

/// A picture of a thing the shape readers look for, drawn carelessly (`style` 0 and 2 furniture,
/// 1 other shapes; 2 with pixels knocked out): a table on four legs (its top narrowing or not, the
/// back legs apart from the front ones, touching them or overlapping, feet at any height), or
/// rings, stadiums, ellipses and boxes; shaded flat, by a gradient or as a curved surface; on
/// transparency or, `on_backdrop`, on a studio backdrop (a gradient, sometimes a darker floor),
/// which the built-in background removal takes off first. Random noise seldom reaches the
/// readers' edge cases; these do.
fn object_picture(side: u32, seed: u64, style: u8, on_backdrop: bool) -> image::RgbaImage {
    let mut draws = Draws(seed | 1);
    let n = side as f32;
    let mut shapes: Vec<Box<dyn Fn(f32, f32) -> bool>> = Vec::new();
    if style != 1 {
        // A table: a top band (its far edge drawn shorter or not), front legs at its ends
        // standing on the ground, back legs between them standing higher, apart from the front
        // legs, touching them or overlapping.
        let (top, thick) = (draws.between(0.0, 0.4 * n), draws.between(1.0, 0.2 * n));
        let (left, right) = (draws.between(0.0, 0.3 * n), draws.between(0.7 * n, n));
        let narrowing = draws.between(0.0, 0.2 * n) * f32::from(!draws.next().is_multiple_of(4));
        shapes.push(Box::new(move |x, y| {
            let inset = narrowing * (1.0 - ((y - top) / thick).clamp(0.0, 1.0));
            (top..top + thick).contains(&y) && x >= left + inset && x <= right - inset
        }));
        let ground = draws.between(top + thick, n + 1.0);
        let (width, inset) = (draws.between(0.5, 0.25 * n), draws.between(0.0, 0.1 * n));
        for (start, feet) in [
            (left + inset, ground),
            (right - inset - width, ground),
            (left + inset + draws.between(-width, 3.0 * width), ground - draws.between(0.0, 0.3 * n)),
            (right - inset - width - draws.between(-width, 3.0 * width), ground - draws.between(0.0, 0.3 * n)),
        ] {
            let width = width + draws.between(-1.0, 1.0);
            shapes.push(Box::new(move |x, y| (start..start + width).contains(&x) && (top..feet).contains(&y)));
        }
    } else {
        for _ in 0..1 + draws.next() % 3 {
            let (cx, cy) = (draws.between(0.2 * n, 0.8 * n), draws.between(0.2 * n, 0.8 * n));
            let (long, short) = (draws.between(1.0, 0.5 * n), draws.between(0.5, 0.3 * n));
            let (sin, cos) = draws.between(0.0, std::f32::consts::PI).sin_cos();
            let hole = draws.between(0.0, 0.9) * f32::from(draws.next().is_multiple_of(2));
            let kind = draws.next() % 3;
            shapes.push(Box::new(move |x, y| {
                let (u, v) = ((x - cx) * cos + (y - cy) * sin, (y - cy) * cos - (x - cx) * sin);
                match kind {
                    // An ellipse or a ring.
                    0 => {
                        let r = (u / long).hypot(v / short);
                        r <= 1.0 && r >= hole
                    }
                    // A stadium.
                    1 => (u.abs() - long).max(0.0).hypot(v) <= short,
                    // A box.
                    _ => u.abs() <= long && v.abs() <= short,
                }
            }));
        }
    }
    let shading = draws.next() % 4;
    let light = draws.between(-1.0, 1.0);
    // One pixel in `every` knocked out.
    let knock_out = (style == 2).then(|| 3 + draws.next() % 40);
    let tint = [draws.between(0.3, 1.0), draws.between(0.3, 1.0), draws.between(0.3, 1.0)];
    let (backdrop, fall, floor) = if on_backdrop {
        (draws.between(0.3, 1.0), draws.between(-0.3, 0.3), draws.between(0.5, 1.5) * n)
    } else {
        (0.0, 0.0, 0.0)
    };
    image::RgbaImage::from_fn(side, side, |x, y| {
        let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
        let noise = draws.next();
        if !shapes.iter().any(|inside| inside(px, py)) || knock_out.is_some_and(|every| noise.is_multiple_of(every)) {
            if !on_backdrop {
                return image::Rgba([0, 0, 0, 0]);
            }
            let level = (backdrop + fall * py / n) * if py > floor { 0.8 } else { 1.0 };
            let grey = (255.0 * level).clamp(0.0, 255.0) as u8;
            return image::Rgba([grey, grey, grey, 255]);
        }
        let level = match shading {
            0 => 0.7,
            1 => 0.5 + 0.4 * light * (py / n - 0.5),
            // Curved across or along: a cylinder's or a ring's shading.
            2 => 0.2 + 0.7 * (std::f32::consts::PI * px / n).sin().abs(),
            _ => 0.2 + 0.7 * (std::f32::consts::PI * (py / n + light)).sin().abs(),
        };
        let [r, g, b] = tint.map(|channel| (255.0 * channel * level).clamp(0.0, 255.0) as u8);
        image::Rgba([r, g, b, 255])
    })
}

/// Pictures the properties once found breaking the engine, kept whatever the strategies become.
#[test]
fn pictures_that_once_broke_the_engine_give_closed_meshes() {
    // Furniture whose legs' middle row showed two wide runs: legs read half the piece wide
    // reached past the sampled volume and the solid was open.
    check_result(&support::png_bytes(&object_picture(52, 15_497_164_303_627_488_562, 2, false)));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_result(&bytes);
    }

    #[test]
    fn damaged_images_never_panic(image in image_strategy(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let mut bytes = support::png_bytes(&image);
        for (position, value) in flips {
            let index = 8 + position % (bytes.len() - 8);
            bytes[index] ^= value;
        }
        let keep = 8 + cut % (bytes.len() - 7);
        bytes.truncate(keep);
        check_result(&bytes);
    }

    #[test]
    fn small_random_images_give_closed_meshes_or_clear_errors(image in image_strategy()) {
        check_result(&support::png_bytes(&image));
    }

    #[test]
    fn object_like_pictures_give_closed_meshes_or_clear_errors(
        side in 16u32..120,
        seed in any::<u64>(),
        style in 0u8..3,
        on_backdrop in any::<bool>(),
    ) {
        check_result(&support::png_bytes(&object_picture(side, seed, style, on_backdrop)));
    }

    #[test]
    fn several_views_of_object_like_things_give_closed_meshes_or_clear_errors(
        front in (16u32..80, any::<u64>(), 0u8..3),
        others in proptest::collection::vec((16u32..80, any::<u64>(), 0u8..3), 1..5),
    ) {
        let picture = |(side, seed, style): (u32, u64, u8)| support::png_bytes(&object_picture(side, seed, style, false));
        let front = picture(front);
        let pictures: Vec<Vec<u8>> = others.into_iter().map(picture).collect();
        let views: Vec<View<'_>> = Side::ALL
            .into_iter()
            .zip(&pictures)
            .map(|(side, bytes)| View { side, name: side.name(), bytes })
            .collect();
        let result = generate_views("front.png", &front, &views, &small(), Models::default(), &NoProgress, &CancelFlag::new());
        if let Ok(asset) = result {
            // Split where texture charts meet; closed by position.
            let welded = support::welded_by_position(&asset.mesh);
            prop_assert!(welded.topology().is_watertight_manifold(), "{:?}", welded.topology());
            prop_assert!(asset.record.watertight && welded.volume() > 0.0);
            prop_assert!(asset.mesh.positions.iter().flatten().all(|value| value.is_finite()));
        }
    }

    #[test]
    fn any_mask_inflates_to_a_closed_manifold(cells in proptest::collection::vec(0u8..4, 24 * 24)) {
        // Coverage values 0, 1/3, 2/3, 1 make outlines pass between and near grid vertices.
        let coverage: Vec<f32> = cells.iter().map(|&cell| f32::from(cell) / 3.0).collect();
        let relief = inflate(&coverage, 24, 24, 1.0, &CancelFlag::new(), &mut |_| {}).unwrap();
        let mesh: TriMesh = relief.mesh;
        let topology = mesh.topology();
        prop_assert!(topology.is_watertight_manifold(), "{:?}", topology);
        if !mesh.triangles.is_empty() {
            prop_assert!(mesh.volume() < 0.0); // grid space mirrors y
            let simplified = mesh.simplified(mesh.face_count() / 4 + 1);
            prop_assert!(simplified.topology().is_watertight_manifold(), "{:?}", simplified.topology());
        }
    }
}
