//! Per-stage benchmarks of the engine on a 1024 x 1024 RGBA picture, plus the isosurface on a 256³
//! grid and GLB export of a 1M-triangle mesh. Run with `cargo bench -p threedgpt-engine`.

use std::hint::black_box;

use image::{Rgba, RgbaImage};
use threedgpt_engine::foreground::{Cutout, extract_foreground};
use threedgpt_engine::isosurface::{Inside, ScalarGrid, extract_isosurface};
use threedgpt_engine::mesh::TriMesh;
use threedgpt_engine::relief::inflate;
use threedgpt_engine::shape::{Square, reconstruct};
use threedgpt_engine::texture::{ReliefShading, bake_relief_texture, bake_texture};
use threedgpt_engine::{
    Background, CancelFlag, DecodeLimits, Models, NoProgress, Options, Shape, Side, View, generate, generate_views,
};

fn main() {
    divan::main();
}

/// A duck-like shape on transparency, with colour detail, `side` px square.
fn picture(side: u32) -> RgbaImage {
    let s = side as f32 / 640.0;
    RgbaImage::from_fn(side, side, |x, y| {
        let (fx, fy) = (x as f32 / s, y as f32 / s);
        let body = ((fx - 300.0) / 210.0).powi(2) + ((fy - 420.0) / 150.0).powi(2) <= 1.0;
        let head = (fx - 410.0).powi(2) + (fy - 220.0).powi(2) <= 110.0f32.powi(2);
        if body || head {
            Rgba([(fx as u32 % 256) as u8, 200, (fy as u32 % 256) as u8, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    })
}

fn on_white(image: &RgbaImage) -> RgbaImage {
    RgbaImage::from_fn(image.width(), image.height(), |x, y| {
        let pixel = image.get_pixel(x, y);
        if pixel[3] == 0 { Rgba([245, 245, 245, 255]) } else { *pixel }
    })
}

fn png(image: &RgbaImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
    bytes
}

fn cutout() -> Cutout {
    extract_foreground(&picture(1024), true, &Background::Auto, &DecodeLimits::default(), 0.85, &CancelFlag::new())
        .unwrap()
}

/// The whole job: 1024² RGBA PNG bytes to GLB bytes with 20k faces and a 1024 px texture.
#[divan::bench(sample_count = 20)]
fn end_to_end_1024_to_glb(bencher: divan::Bencher) {
    let bytes = png(&picture(1024));
    let options = Options::default();
    bencher.bench(|| {
        let asset = generate("bench.png", black_box(&bytes), &options, &NoProgress, &CancelFlag::new()).unwrap();
        threedgpt_engine::export::glb_bytes(&asset, false).unwrap()
    });
}

/// The rendered pawn of `tests/shapes/` (a solid of revolution for `auto`), scaled to `side` px.
fn pawn(side: u32) -> RgbaImage {
    rendered("pawn", "front", side)
}

/// The whole job on a revolvable object: `auto` finds the axis, revolves, and divides the light out.
#[divan::bench(sample_count = 20)]
fn end_to_end_1024_pawn_to_glb(bencher: divan::Bencher) {
    let bytes = png(&pawn(1024));
    let options = Options::default();
    bencher.bench(|| {
        let asset = generate("pawn.png", black_box(&bytes), &options, &NoProgress, &CancelFlag::new()).unwrap();
        threedgpt_engine::export::glb_bytes(&asset, false).unwrap()
    });
}

/// The picture of `tests/shapes/`'s `object` from `view` (`front`, `right`, `back`), scaled to
/// `side` px.
fn rendered(object: &str, view: &str, side: u32) -> RgbaImage {
    let path = format!("{}/../tests/shapes/images/{object}.{view}.png", env!("CARGO_MANIFEST_DIR"));
    let image = image::open(path).unwrap().to_rgba8();
    image::imageops::resize(&image, side, side, image::imageops::FilterType::Triangle)
}

/// The whole job on furniture on legs: `auto` reads the table's top and legs and carves the volume
/// its front and the side it assumes share.
#[divan::bench(sample_count = 20)]
fn end_to_end_1024_table_to_glb(bencher: divan::Bencher) {
    let bytes = png(&rendered("table", "front", 1024));
    let options = Options::default();
    bencher.bench(|| {
        let asset = generate("table.png", black_box(&bytes), &options, &NoProgress, &CancelFlag::new()).unwrap();
        threedgpt_engine::export::glb_bytes(&asset, false).unwrap()
    });
}

/// The whole job on furniture photographed from a little above through a 50 mm lens (the lens set
/// of `tests/shapes/`): `auto` reads the top's corners and the feet, fits the table and the camera,
/// and fills the table's volume in the picture's frame.
#[divan::bench(sample_count = 20)]
fn end_to_end_1024_table_from_above_to_glb(bencher: divan::Bencher) {
    let path = format!("{}/../tests/shapes/lens/table-50mm.png", env!("CARGO_MANIFEST_DIR"));
    let image = image::open(path).unwrap().to_rgba8();
    let bytes = png(&image::imageops::resize(&image, 1024, 1024, image::imageops::FilterType::Triangle));
    let options = Options::default();
    bencher.bench(|| {
        let asset = generate("table.png", black_box(&bytes), &options, &NoProgress, &CancelFlag::new()).unwrap();
        threedgpt_engine::export::glb_bytes(&asset, false).unwrap()
    });
}

/// The whole job from three pictures (front, right and back, 1024² each): the hull carved, the
/// charts textured from the pictures that see them.
#[divan::bench(sample_count = 10)]
fn end_to_end_1024_pawn_three_views_to_glb(bencher: divan::Bencher) {
    let [front, right, back] = ["front", "right", "back"].map(|view| png(&rendered("pawn", view, 1024)));
    let views = [
        View { side: Side::Right, name: "right.png", bytes: &right },
        View { side: Side::Back, name: "back.png", bytes: &back },
    ];
    let options = Options::default();
    bencher.bench(|| {
        let asset = generate_views(
            "pawn.png",
            black_box(&front),
            &views,
            &options,
            Models::default(),
            &NoProgress,
            &CancelFlag::new(),
        )
        .unwrap();
        threedgpt_engine::export::glb_bytes(&asset, false).unwrap()
    });
}

/// Each shape the built-in reconstructor makes of the pawn's 1024² cutout on the 256 grid.
#[divan::bench(sample_count = 20, args = ["auto", "relief", "revolve", "extrude"])]
fn reconstruct_shape_256(bencher: divan::Bencher, name: &str) {
    let cutout =
        extract_foreground(&pawn(1024), true, &Background::Auto, &DecodeLimits::default(), 0.85, &CancelFlag::new())
            .unwrap();
    let shape = Shape::from_name(name).unwrap();
    bencher.bench(|| {
        let square = Square { coverage: &cutout.coverage, luminance: &[], side: cutout.side() as usize };
        reconstruct(square, 256, 1.0, shape, None, &CancelFlag::new(), &mut |_| {}).unwrap()
    });
}

#[divan::bench(sample_count = 20)]
fn decode_png_1024(bencher: divan::Bencher) {
    let bytes = png(&picture(1024));
    bencher.bench(|| threedgpt_engine::decode::decode_image(black_box(&bytes), "bench.png", &DecodeLimits::default()));
}

#[divan::bench(sample_count = 20, args = ["alpha", "plain_background"])]
fn foreground_1024(bencher: divan::Bencher, source: &str) {
    let (image, has_alpha) = if source == "alpha" { (picture(1024), true) } else { (on_white(&picture(1024)), false) };
    bencher.bench(|| {
        extract_foreground(&image, has_alpha, &Background::Auto, &DecodeLimits::default(), 0.85, &CancelFlag::new())
            .unwrap()
    });
}

#[divan::bench(sample_count = 20)]
fn reconstruct_relief_256(bencher: divan::Bencher) {
    let cutout = cutout();
    bencher.bench(|| {
        inflate(&cutout.coverage, cutout.side() as usize, 256, 1.0, &CancelFlag::new(), &mut |_| {}).unwrap()
    });
}

#[divan::bench(sample_count = 20)]
fn mesh_simplify_to_20k(bencher: divan::Bencher) {
    let cutout = cutout();
    let relief = inflate(&cutout.coverage, cutout.side() as usize, 256, 1.0, &CancelFlag::new(), &mut |_| {}).unwrap();
    bencher.bench(|| relief.mesh.simplified(20_000));
}

#[divan::bench(sample_count = 20)]
fn texture_bake_1024(bencher: divan::Bencher) {
    let cutout = cutout();
    bencher.bench(|| bake_texture(black_box(&cutout), 1024));
}

/// The relief's bake: as above, with the sides (where the relief turns away from the picture)
/// blended into the smooth colour.
#[divan::bench(sample_count = 20)]
fn texture_bake_relief_1024(bencher: divan::Bencher) {
    let cutout = cutout();
    let grid_px = 256;
    let relief =
        inflate(&cutout.coverage, cutout.side() as usize, grid_px, 1.0, &CancelFlag::new(), &mut |_| {}).unwrap();
    let facing: Vec<f32> =
        threedgpt_engine::light::normals(&relief.front_heights, grid_px).iter().map(|normal| normal[2]).collect();
    let shading = ReliefShading { grid_px, gain: None, facing: Some(&facing) };
    bencher.bench(|| bake_relief_texture(black_box(&cutout), 1024, &shading));
}

/// Signed distance of a sphere on a 256³ grid, the field the comparison script also uses.
pub fn sphere_field(samples: usize) -> ScalarGrid {
    let spacing = 2.0 / (samples - 1) as f32;
    ScalarGrid::from_fn([samples; 3], [-1.0; 3], [spacing; 3], |[x, y, z]| (x * x + y * y + z * z).sqrt() - 0.7)
}

#[divan::bench(sample_count = 10)]
fn isosurface_256(bencher: divan::Bencher) {
    let field = sphere_field(256);
    bencher.bench(|| extract_isosurface(black_box(&field), 0.0, Inside::Below, &CancelFlag::new()).unwrap());
}

#[divan::bench(sample_count = 10)]
fn export_glb_1m_triangles(bencher: divan::Bencher) {
    let asset = big_asset(1_000_000);
    bencher.bench(|| threedgpt_engine::export::glb_bytes(black_box(&asset), true).unwrap());
}

/// An asset with about `triangles` triangles (a finely tessellated grid sheet closed as a pillow).
fn big_asset(triangles: usize) -> threedgpt_engine::Asset {
    let options = Options::default().with_texture_px(256);
    let mut asset = generate("big.png", &png(&picture(256)), &options, &NoProgress, &CancelFlag::new()).unwrap();
    let side = ((triangles / 2) as f64).sqrt() as u32;
    let mut mesh = TriMesh::default();
    for y in 0..=side {
        for x in 0..=side {
            mesh.positions.push([x as f32 / side as f32, y as f32 / side as f32, 0.0]);
        }
    }
    for y in 0..side {
        for x in 0..side {
            let a = y * (side + 1) + x;
            mesh.triangles.push([a, a + 1, a + side + 2]);
            mesh.triangles.push([a, a + side + 2, a + side + 1]);
        }
    }
    asset.normals = vec![[0.0, 0.0, 1.0]; mesh.positions.len()];
    asset.uvs = mesh.positions.iter().map(|p| [p[0], p[1]]).collect();
    asset.mesh = mesh;
    asset
}
