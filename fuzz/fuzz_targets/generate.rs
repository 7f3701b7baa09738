//! Arbitrary bytes through decode and the whole pipeline to a GLB: nothing may panic, and any mesh
//! that comes out must be closed and manifold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threedgpt_engine::{CancelFlag, DecodeLimits, NoProgress, Options, generate};

fuzz_target!(|data: &[u8]| {
    // Small grids and a pixel cap keep each input fast; the code paths are the same as at full size.
    let options = Options::default()
        .with_grid_px(32)
        .with_texture_px(256)
        .with_target_faces(200)
        .with_limits(DecodeLimits::default().with_max_pixels(4_000_000));
    if let Ok(asset) = generate("fuzz.bin", data, &options, &NoProgress, &CancelFlag::new()) {
        assert!(asset.mesh.topology().is_watertight_manifold());
        threedgpt_engine::export::glb_bytes(&asset, true).expect("a generated asset always exports");
    }
});
