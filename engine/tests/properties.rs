//! Property tests: no input makes the engine panic, and every mesh it returns is closed.

mod support;

use proptest::prelude::*;
use threedgpt_engine::mesh::TriMesh;
use threedgpt_engine::relief::inflate;
use threedgpt_engine::{CancelFlag, NoProgress, Options, generate};

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
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        image::RgbaImage::from_fn(width, height, |x, y| {
            let noise = next();
            match style {
                // Random blobs of opaque colour on transparency.
                0 => image::Rgba([noise as u8, (noise >> 8) as u8, 90, if noise % 3 == 0 { 255 } else { 0 }]),
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
