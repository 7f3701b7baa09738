//! The whole pipeline as a caller sees it: foreground modes, orientation, texture placement,
//! progress, cancellation, determinism, export and error paths.

mod support;

use std::sync::Mutex;

use image::{DynamicImage, ImageFormat, Rgba, RgbaImage};
use threedgpt_engine::export::WriteOptions;
use threedgpt_engine::foreground::MaskSource;
use threedgpt_engine::{
    Asset, Background, CancelFlag, EngineError, Format, NoProgress, Options, Stage, export_asset, generate,
};

const RED: [u8; 4] = [220, 30, 30, 255];
const WHITE: [u8; 4] = [245, 245, 245, 255];
const CLEAR: [u8; 4] = [0, 0, 0, 0];

fn fast() -> Options {
    Options::default().with_grid_px(128).with_texture_px(256).with_target_faces(4_000)
}

fn reproducible() -> WriteOptions {
    WriteOptions::default().with_reproducible(true)
}

fn run(bytes: &[u8], options: &Options) -> Result<Asset, EngineError> {
    generate("test.png", bytes, options, &NoProgress, &CancelFlag::new())
}

fn assert_sound(asset: &Asset) {
    let topology = asset.mesh.topology();
    assert!(topology.is_watertight_manifold(), "{topology:?}");
    assert!(asset.mesh.volume() > 0.0, "mesh is wound inward");
    assert!(asset.record.watertight);
    let (min, max) = asset.mesh.bounds();
    let longest = (0..3).map(|axis| max[axis] - min[axis]).fold(0.0f32, f32::max);
    assert!((longest - 1.0).abs() < 1e-4, "longest side {longest}");
    // The origin is at the centre of the base: centred across, standing on y = 0.
    for axis in [0, 2] {
        assert!((min[axis] + max[axis]).abs() < 1e-4, "not centred on axis {axis}");
    }
    assert!(min[1].abs() < 1e-4, "the base is at y = {}", min[1]);
    assert_eq!(asset.normals.len(), asset.mesh.positions.len());
    assert_eq!(asset.uvs.len(), asset.mesh.positions.len());
    for normal in &asset.normals {
        let length = (normal[0] * normal[0] + normal[1] * normal[1] + normal[2] * normal[2]).sqrt();
        assert!((length - 1.0).abs() < 1e-3);
    }
}

/// A snowman on a transparent background: a small head above a big body, the left half red and the
/// right half blue, so orientation and mirroring mistakes show.
fn snowman() -> RgbaImage {
    RgbaImage::from_fn(300, 400, |x, y| {
        let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
        let head = (fx - 150.0).powi(2) + (fy - 110.0).powi(2) <= 60.0f32.powi(2);
        let body = (fx - 150.0).powi(2) + (fy - 260.0).powi(2) <= 110.0f32.powi(2);
        if head || body {
            if fx < 150.0 { Rgba([230, 20, 20, 255]) } else { Rgba([20, 20, 230, 255]) }
        } else {
            Rgba(CLEAR)
        }
    })
}

#[test]
fn the_object_stands_upright_faces_plus_z_and_is_not_mirrored() {
    let asset = run(&support::png_bytes(&snowman()), &fast()).unwrap();
    assert_sound(&asset);
    assert_eq!(asset.record.mask, MaskSource::Alpha);
    let positions = &asset.mesh.positions;
    let (min, max) = asset.mesh.bounds();
    // Up is +Y: the top fifth (the head) is narrower than the bottom fifth (the body).
    let width_in = |low: f32, high: f32| {
        let xs: Vec<f32> = positions.iter().filter(|p| p[1] >= low && p[1] <= high).map(|p| p[0]).collect();
        xs.iter().copied().fold(f32::MIN, f32::max) - xs.iter().copied().fold(f32::MAX, f32::min)
    };
    let height = max[1] - min[1];
    assert!(width_in(max[1] - height / 5.0, max[1]) < 0.7 * width_in(min[1], min[1] + height / 5.0), "upside down");
    assert!(height > max[0] - min[0], "the snowman should be taller than wide");
    // The front (+Z) shows the picture: its right side (+X) samples the blue half of the texture.
    let texel = |uv: [f32; 2]| {
        let size = asset.texture.width() as f32;
        *asset.texture.get_pixel(((uv[0] * size) as u32).min(255), ((uv[1] * size) as u32).min(255))
    };
    let front_right = (0..positions.len())
        .filter(|&index| positions[index][2] > 0.05)
        .max_by(|&a, &b| positions[a][0].total_cmp(&positions[b][0]))
        .unwrap();
    let colour = texel(asset.uvs[front_right]);
    assert!(colour[2] > 150 && colour[0] < 100, "right side should be blue, got {colour:?}");
    // Normals on the front point towards +Z.
    let front = (0..positions.len()).max_by(|&a, &b| positions[a][2].total_cmp(&positions[b][2])).unwrap();
    assert!(asset.normals[front][2] > 0.9);
}

#[test]
fn the_origin_is_at_the_base_or_the_centre_as_asked() {
    let bytes = support::png_bytes(&snowman());
    let standing = run(&bytes, &fast()).unwrap();
    let (min, max) = standing.mesh.bounds();
    assert!(min[1].abs() < 1e-4 && max[1] > 0.99, "the base at {}, the top at {}", min[1], max[1]);
    assert_eq!(standing.record.options.origin, "bottom");
    let centred = run(&bytes, &fast().with_origin(threedgpt_engine::Origin::Center)).unwrap();
    let (min, max) = centred.mesh.bounds();
    for axis in 0..3 {
        assert!((min[axis] + max[axis]).abs() < 1e-4, "not centred on axis {axis}");
    }
    assert_eq!(centred.record.options.origin, "center");
    // Only the placement differs.
    assert_eq!(standing.mesh.triangles, centred.mesh.triangles);
}

#[test]
fn a_plain_background_is_removed() {
    let photo = DynamicImage::ImageRgba8(support::disc_on(400, 120.0, RED, WHITE)).to_rgb8();
    let jpeg = support::encode(&DynamicImage::ImageRgb8(photo), ImageFormat::Jpeg);
    let asset = run(&jpeg, &fast()).unwrap();
    assert_sound(&asset);
    assert_eq!(asset.record.mask, MaskSource::BackgroundRemoval);
    // A disc inflates to a ball: depth close to width.
    let size = asset.record.size_m;
    assert!((size[0] - size[1]).abs() < 0.03 && size[2] > 0.9, "size {size:?}");
    // No white from the backdrop reaches the texture.
    for pixel in asset.texture.pixels() {
        assert!(pixel[1] < 120, "backdrop colour bled into the texture: {pixel:?}");
    }
}

#[test]
fn a_ring_on_a_plain_background_keeps_its_hole() {
    let image = RgbaImage::from_fn(400, 400, |x, y| {
        let r = ((x as f32 - 200.0).powi(2) + (y as f32 - 200.0).powi(2)).sqrt();
        Rgba(if (70.0..170.0).contains(&r) { [40, 90, 200, 255] } else { WHITE })
    });
    let asset = run(&support::png_bytes(&image), &fast()).unwrap();
    assert_sound(&asset);
    assert_eq!(asset.record.genus, 1);
    assert_eq!(asset.mesh.topology().genus(), 1);
}

#[test]
fn keep_background_uses_the_whole_picture_and_a_mask_image_is_honoured() {
    let photo = support::png_bytes(&support::disc_on(200, 60.0, RED, WHITE));
    let kept =
        run(&photo, &fast().with_background(Background::Keep).with_shape(threedgpt_engine::Shape::Relief)).unwrap();
    assert_sound(&kept);
    assert_eq!(kept.record.mask, MaskSource::WholeImage);
    // A square picture inflates to a pillow as wide as tall; -Δu = 1 on a square of side L peaks
    // at u = 0.0737 L², so the depth 2·2·sqrt(u) is 1.086 L.
    let size = kept.record.size_m;
    assert!((size[0] - size[1]).abs() < 0.02, "size {size:?}");
    assert!((size[2] / size[0] - 1.086).abs() < 0.03, "size {size:?}");

    // A mask selecting a square at the left, at half the picture's resolution.
    let mask = image::GrayImage::from_fn(100, 100, |x, y| {
        image::Luma([if x < 40 && (30..70).contains(&y) { 255 } else { 0 }])
    });
    let mask_bytes = support::encode(&DynamicImage::ImageLuma8(mask), ImageFormat::Png);
    let masked =
        run(&photo, &fast().with_background(Background::Mask { name: "mask.png".into(), bytes: mask_bytes })).unwrap();
    assert_sound(&masked);
    assert_eq!(masked.record.mask, MaskSource::MaskImage);

    let wrong = support::encode(&DynamicImage::ImageLuma8(image::GrayImage::new(100, 40)), ImageFormat::Png);
    let error =
        run(&photo, &fast().with_background(Background::Mask { name: "mask.png".into(), bytes: wrong })).unwrap_err();
    assert!(matches!(error, EngineError::MaskMismatch { .. }), "{error:?}");
    assert!(error.to_string().contains("the mask is 100x40 px but the image is 200x200 px"), "{error}");
}

#[test]
fn pictures_without_an_object_are_refused_with_advice() {
    let cases = [
        ("uniform", support::png_bytes(&RgbaImage::from_pixel(100, 100, Rgba(WHITE)))),
        ("transparent", support::png_bytes(&RgbaImage::from_pixel(100, 100, Rgba(CLEAR)))),
        ("busy background", {
            let mut state = 99u32;
            support::png_bytes(&RgbaImage::from_fn(100, 100, |_, _| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let value = (state >> 16) as u8;
                Rgba([value, value.wrapping_mul(7), value.wrapping_mul(13), 255])
            }))
        }),
        ("empty mask", support::png_bytes(&RgbaImage::from_pixel(100, 100, Rgba(WHITE)))),
    ];
    for (name, bytes) in cases {
        let options = if name == "empty mask" {
            let mask = support::png_bytes(&RgbaImage::from_pixel(100, 100, Rgba([0, 0, 0, 255])));
            fast().with_background(Background::Mask { name: "mask.png".into(), bytes: mask })
        } else {
            fast()
        };
        let error = run(&bytes, &options).unwrap_err();
        assert!(matches!(error, EngineError::NoObject { .. }), "{name}: {error:?}");
        assert!(error.to_string().contains("background \"keep\""), "{name}: {error}");
    }
}

#[test]
fn invalid_options_name_the_option() {
    let bytes = support::png_bytes(&snowman());
    for (options, option) in [
        (fast().with_texture_px(1000), "texture_size"),
        (fast().with_texture_px(8192), "texture_size"),
        (fast().with_foreground_ratio(1.5), "foreground_ratio"),
        (fast().with_foreground_ratio(f32::NAN), "foreground_ratio"),
        (fast().with_target_faces(10), "faces"),
        (fast().with_thickness(0.0), "thickness"),
        (fast().with_size_m(-1.0), "size"),
    ] {
        let error = run(&bytes, &options).unwrap_err();
        assert!(matches!(error, EngineError::InvalidOption { option: named, .. } if named == option), "{error:?}");
    }
}

#[test]
fn progress_runs_through_every_stage_in_order_and_a_cancel_stops_the_work() {
    let bytes = support::png_bytes(&snowman());
    let seen = Mutex::new(Vec::new());
    let sink = |stage: Stage, fraction: f32| seen.lock().unwrap().push((stage, fraction));
    let mut asset = generate("snowman.png", &bytes, &fast(), &sink, &CancelFlag::new()).unwrap();
    let folder = tempfile::tempdir().unwrap();
    export_asset(
        &mut asset,
        &folder.path().join("snowman.glb"),
        Format::Glb,
        &WriteOptions::default(),
        &sink,
        &CancelFlag::new(),
    )
    .unwrap();
    let seen = seen.into_inner().unwrap();
    let mut order: Vec<Stage> = seen.iter().map(|&(stage, _)| stage).collect();
    order.dedup();
    assert_eq!(order, Stage::ALL.to_vec());
    assert!(seen.iter().all(|&(_, fraction)| (0.0..=1.0).contains(&fraction)));
    assert!(asset.record.timings_ms.export.is_some());

    // Cancel as soon as reconstruction starts: the generation ends there with Cancelled.
    let cancel = CancelFlag::new();
    let stages = Mutex::new(Vec::new());
    let cancelling = |stage: Stage, _fraction: f32| {
        stages.lock().unwrap().push(stage);
        if stage == Stage::Reconstruct {
            cancel.cancel();
        }
    };
    let result = generate("snowman.png", &bytes, &Options::default().with_grid_px(1024), &cancelling, &cancel);
    assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?}");
    assert!(!stages.lock().unwrap().contains(&Stage::Mesh), "work went on after the cancel");
}

#[test]
fn equal_inputs_give_identical_bytes() {
    let bytes = support::png_bytes(&snowman());
    let glb = |reproducible: bool| {
        let asset = run(&bytes, &fast().with_reproducible(reproducible)).unwrap();
        threedgpt_engine::export::glb_bytes(&asset, reproducible).unwrap()
    };
    assert_eq!(glb(true), glb(true));
    // With timings, only the timings differ.
    let strip = |file: Vec<u8>| {
        let json_length = u32::from_le_bytes(file[12..16].try_into().unwrap()) as usize;
        let mut document: serde_json::Value = serde_json::from_slice(&file[20..20 + json_length]).unwrap();
        let extras = document["scenes"][0]["extras"].as_object_mut().unwrap();
        assert!(extras.remove("timings_ms").is_some(), "timings missing from the record");
        (document, file[20 + json_length..].to_vec())
    };
    assert_eq!(strip(glb(false)), strip(glb(false)));
}

#[test]
fn every_format_is_written_whole_and_nothing_partial_is_left() {
    let mut asset = run(&support::png_bytes(&snowman()), &fast()).unwrap();
    let folder = tempfile::tempdir().unwrap();
    for (format, expected) in [
        (Format::Glb, vec!["duck.glb"]),
        (Format::Gltf, vec!["duck_texture.png", "duck.bin", "duck.gltf"]),
        // The glTF's texture is its own: the OBJ beside it gets another.
        (Format::Obj, vec!["duck_texture-2.png", "duck.mtl", "duck.obj"]),
        (Format::Stl, vec!["duck.stl"]),
        (Format::Ply, vec!["duck.ply"]),
    ] {
        let path = folder.path().join(format!("duck.{}", format.extension()));
        let written =
            export_asset(&mut asset, &path, format, &reproducible(), &NoProgress, &CancelFlag::new()).unwrap();
        let names: Vec<String> =
            written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, expected);
        for file in &written {
            assert!(std::fs::metadata(file).unwrap().len() > 0);
        }
    }
    let glb = std::fs::read(folder.path().join("duck.glb")).unwrap();
    assert_eq!(&glb[..4], b"glTF");
    assert_eq!(u32::from_le_bytes(glb[8..12].try_into().unwrap()) as usize, glb.len());
    let stl = std::fs::read(folder.path().join("duck.stl")).unwrap();
    assert_eq!(stl.len(), 84 + 50 * asset.mesh.triangles.len());
    let leftovers: Vec<_> = std::fs::read_dir(folder.path())
        .unwrap()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    let missing = folder.path().join("no-such-folder").join("duck.glb");
    let error =
        export_asset(&mut asset, &missing, Format::Glb, &reproducible(), &NoProgress, &CancelFlag::new()).unwrap_err();
    assert!(matches!(error, EngineError::Write { .. }), "{error:?}");
    assert!(error.to_string().contains("no-such-folder"), "{error}");
}

#[test]
fn side_files_never_replace_the_input_or_a_file_nobody_asked_for() {
    let mut asset = run(&support::png_bytes(&snowman()), &fast()).unwrap();
    let folder = tempfile::tempdir().unwrap();
    let names = |written: &[std::path::PathBuf]| -> Vec<String> {
        written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect()
    };
    for (format, sides) in
        [(Format::Gltf, ["duck_texture.png", "duck.bin"]), (Format::Obj, ["duck_texture.png", "duck.mtl"])]
    {
        let folder = folder.path().join(format.extension());
        std::fs::create_dir(&folder).unwrap();
        // The user's photo `duck.png` is the input; `duck_texture.png` is a picture of theirs too.
        let input = folder.join("duck.png");
        let theirs = folder.join("duck_texture.png");
        std::fs::write(&input, b"the user's photo").unwrap();
        std::fs::write(&theirs, b"another picture of the user's").unwrap();
        let options = reproducible().with_protected([input.clone()]);
        let main = folder.join(format!("duck.{}", format.extension()));
        let written = export_asset(&mut asset, &main, format, &options, &NoProgress, &CancelFlag::new()).unwrap();
        assert_eq!(std::fs::read(&input).unwrap(), b"the user's photo", "{format}: the input was replaced");
        assert_eq!(std::fs::read(&theirs).unwrap(), b"another picture of the user's", "{format}");
        let expected = ["duck_texture-2.png", sides[1], &format!("duck.{}", format.extension())];
        assert_eq!(names(&written), expected, "{format}");
        // The main file names the side files it was written with.
        let text = std::fs::read_to_string(&main).unwrap();
        let material = if format == Format::Obj {
            std::fs::read_to_string(folder.join("duck.mtl")).unwrap()
        } else {
            text.clone()
        };
        assert!(material.contains("duck_texture-2.png"), "{format}: {material}");
        // Run again: its own side files are replaced, not multiplied.
        let again = export_asset(&mut asset, &main, format, &options, &NoProgress, &CancelFlag::new()).unwrap();
        assert_eq!(names(&again), expected, "{format}: a second run renamed its own side files");
        let mut present: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        present.sort();
        let mut wanted: Vec<String> = expected
            .iter()
            .map(|name| name.to_string())
            .chain(["duck.png".to_owned(), "duck_texture.png".to_owned()])
            .collect();
        wanted.sort();
        assert_eq!(present, wanted, "{format}: nothing else appears or is left behind");
        // A picture named like a side file (in a folder turned into assets in place) is protected too.
        let protected = reproducible().with_protected([input.clone(), folder.join("duck_texture-2.png")]);
        std::fs::remove_file(&main).unwrap();
        let fresh = export_asset(&mut asset, &main, format, &protected, &NoProgress, &CancelFlag::new()).unwrap();
        assert_eq!(names(&fresh)[0], "duck_texture-3.png", "{format}");
    }
    // The main file itself may not be the input.
    let input = folder.path().join("photo.glb");
    std::fs::write(&input, b"x").unwrap();
    let options = reproducible().with_protected([input.clone()]);
    let error = export_asset(&mut asset, &input, Format::Glb, &options, &NoProgress, &CancelFlag::new()).unwrap_err();
    assert!(error.to_string().contains("the picture the asset is made from"), "{error}");
    assert_eq!(std::fs::read(&input).unwrap(), b"x");
}

#[test]
fn the_face_target_is_met_at_fine_grids_or_a_warning_says_why() {
    // At 1024 cells the duck's relief does not simplify soundly to 40,000 faces in one pass (its
    // own alpha is the mask, so this does not move with the background removal); the grid steps
    // down and the target is still met, with a warning that says so.
    let duck = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/duck.png")).unwrap();
    let options = Options::default().with_grid_px(1024).with_texture_px(256).with_target_faces(40_000);
    let asset = generate("duck.png", &duck, &options, &NoProgress, &CancelFlag::new()).unwrap();
    assert_sound(&asset);
    let faces = asset.record.faces as f64;
    assert!((faces - 40_000.0).abs() / 40_000.0 <= 0.01, "{faces} faces");
    assert_eq!(asset.warnings.len(), 1, "{:?}", asset.warnings);
    assert!(asset.warnings[0].contains("lowered from 1024 to 512"), "{}", asset.warnings[0]);
    // A coarse grid has fewer faces than asked for: the warning says so and what to do.
    let options = fast().with_grid_px(64).with_target_faces(200_000);
    let asset = run(&support::png_bytes(&snowman()), &options).unwrap();
    assert!(asset.record.faces < 200_000);
    assert_eq!(asset.warnings.len(), 1, "{:?}", asset.warnings);
    assert!(
        asset.warnings[0].contains("fewer than the 200000 asked for") && asset.warnings[0].contains("raise the grid")
    );
    // Met within 1%: no warning.
    assert!(run(&support::png_bytes(&snowman()), &fast()).unwrap().warnings.is_empty());
}

#[test]
fn the_target_face_count_is_met() {
    let asset = run(&support::png_bytes(&snowman()), &Options::default()).unwrap();
    assert_sound(&asset);
    let faces = asset.record.faces as f64;
    assert!((faces - 20_000.0).abs() / 20_000.0 < 0.01, "{faces} faces");
    assert_eq!(asset.texture.width(), 1024);
}

#[test]
fn previews_show_the_picture_in_front_and_its_mirror_behind() {
    use threedgpt_engine::preview::{View, render};
    let asset = run(&support::png_bytes(&snowman()), &fast()).unwrap();
    let front = render(&asset, 128, View::FRONT);
    assert_eq!(front.get_pixel(0, 0)[3], 0, "the background stays transparent");
    // The body's centre row: red on the left of the image, blue on the right.
    let row = 90;
    let left = *front.get_pixel(45, row);
    let right = *front.get_pixel(83, row);
    assert!(left[3] == 255 && left[0] > left[2], "front left should be red, got {left:?}");
    assert!(right[3] == 255 && right[2] > right[0], "front right should be blue, got {right:?}");
    // From behind, the left of the image is the object's right side: blue.
    let back = render(&asset, 128, View::BACK);
    let behind_left = *back.get_pixel(45, row);
    assert!(behind_left[2] > behind_left[0], "back left should be blue, got {behind_left:?}");
    // The silhouette from the front matches the picture's shape: taller than wide.
    let opaque_rows = (0..128).filter(|&y| (0..128).any(|x| front.get_pixel(x, y)[3] == 255)).count();
    let opaque_columns = (0..128).filter(|&x| (0..128).any(|y| front.get_pixel(x, y)[3] == 255)).count();
    assert!(opaque_rows > opaque_columns, "{opaque_rows} rows, {opaque_columns} columns");
}

#[test]
fn an_object_cut_off_by_the_picture_edge_is_kept() {
    // A product photo: a wide green box standing on the bottom edge of a light backdrop, covering
    // a third of the bottom border.
    let image = RgbaImage::from_fn(300, 300, |x, y| {
        Rgba(if (100..200).contains(&x) && y >= 120 { [40, 160, 60, 255] } else { [235, 235, 240, 255] })
    });
    let asset = run(&support::png_bytes(&image), &fast()).unwrap();
    assert_sound(&asset);
    assert_eq!(asset.record.mask, MaskSource::BackgroundRemoval);
    // The box is 100 px wide and 180 px tall: its asset keeps that shape.
    let [width, height, _] = asset.record.size_m;
    assert!((width / height - 100.0 / 180.0).abs() < 0.04, "{width} x {height}");
}

#[test]
fn a_written_glb_reads_back_into_the_same_asset() {
    let asset = run(&support::png_bytes(&snowman()), &fast().with_reproducible(true)).unwrap();
    let glb = threedgpt_engine::export::glb_bytes(&asset, true).unwrap();
    let back = threedgpt_engine::export::asset_from_glb(&glb).unwrap();
    assert_eq!(back.mesh, asset.mesh);
    assert_eq!(back.normals, asset.normals);
    assert_eq!(back.uvs, asset.uvs);
    assert_eq!(back.texture, asset.texture);
    assert_eq!(back.record.faces, asset.record.faces);
    // Written again it is the same file, and every other format can be made from it.
    assert_eq!(threedgpt_engine::export::glb_bytes(&back, true).unwrap(), glb);
    let stl = threedgpt_engine::export::single_file_bytes(&back, Format::Stl, true).unwrap().unwrap();
    assert_eq!(stl.len(), 84 + 50 * asset.mesh.triangles.len());
    assert!(threedgpt_engine::export::single_file_bytes(&back, Format::Obj, true).is_none());
    for broken in [&glb[..10], &glb[..glb.len() / 2], b"glTF\x01\x00\x00\x00".as_slice()] {
        let error = threedgpt_engine::export::asset_from_glb(broken).unwrap_err();
        assert!(matches!(error, EngineError::UnreadableAsset { .. }), "{error:?}");
    }
}

/// A stand-in for a learned segmentation model: a centred disc (or a failure), at 64x64.
#[derive(Debug)]
struct DiscModel {
    fail: bool,
}

impl threedgpt_engine::Segmenter for DiscModel {
    fn name(&self) -> &str {
        "disc-model"
    }

    fn segment(&self, image: &RgbaImage) -> Result<threedgpt_engine::SoftMask, String> {
        assert!(image.width() > 0, "the model sees the picture");
        if self.fail {
            return Err("out of memory".to_owned());
        }
        // Pixel units: a disc of radius 0.6 of the half-side around the centre (32, 32).
        let values = support::coverage(64, |x, y| (x - 32.0).powi(2) + (y - 32.0).powi(2) <= (0.6f32 * 32.0).powi(2));
        Ok(threedgpt_engine::SoftMask { width: 64, height: 64, values, refine: false })
    }
}

/// A saliency model as U²-Net is one: it sees the picture at 100 px and answers with a blurred,
/// filled disc a little off the object's real outline.
#[derive(Debug)]
struct BlurryModel;

impl threedgpt_engine::Segmenter for BlurryModel {
    fn name(&self) -> &str {
        "blurry-model"
    }

    fn segment(&self, _image: &RgbaImage) -> Result<threedgpt_engine::SoftMask, String> {
        // The ring's outline at 100 px is a circle of radius 37.5 around (50, 50): here a ramp
        // 3 px wide crossing one half at radius 38.5, around (51, 50).
        let values = (0..100 * 100)
            .map(|index| {
                let (x, y) = ((index % 100) as f32 + 0.5, (index / 100) as f32 + 0.5);
                let distance = ((x - 51.0).powi(2) + (y - 50.0).powi(2)).sqrt();
                (0.5 - (distance - 38.5) / 3.0).clamp(0.0, 1.0) * 0.9 + 0.05
            })
            .collect();
        Ok(threedgpt_engine::SoftMask { width: 100, height: 100, values, refine: true })
    }
}

#[test]
fn a_saliency_map_is_refined_with_the_picture_its_edges_and_its_holes() {
    // A dark red ring (outer radius 150, inner 60) on a light grey backdrop with some noise.
    let (side, centre) = (400u32, 200.0f32);
    let inside = |x: f32, y: f32| {
        let distance = ((x - centre).powi(2) + (y - centre).powi(2)).sqrt();
        (60.0..=150.0).contains(&distance)
    };
    let picture = RgbaImage::from_fn(side, side, |x, y| {
        let noise = ((x * 7919 + y * 104_729) % 13) as u8;
        if inside(x as f32 + 0.5, y as f32 + 0.5) {
            Rgba([150 + noise, 30, 40, 255])
        } else {
            Rgba([205 + noise, 205, 200, 255])
        }
    });
    let found = threedgpt_engine::foreground::object_coverage(
        &picture,
        false,
        &threedgpt_engine::Background::Auto,
        Some(&BlurryModel),
        &threedgpt_engine::DecodeLimits::default(),
        &threedgpt_engine::CancelFlag::new(),
    )
    .unwrap();
    assert_eq!(found.source, threedgpt_engine::foreground::MaskSource::Segmentation);
    let coverage = found.values;
    let (mut both, mut either) = (0usize, 0usize);
    for (index, value) in coverage.iter().enumerate() {
        let (x, y) = ((index as u32 % side) as f32 + 0.5, (index as u32 / side) as f32 + 0.5);
        let (truth, found) = (inside(x, y), *value >= 0.5);
        both += usize::from(truth && found);
        either += usize::from(truth || found);
    }
    let iou = both as f64 / either as f64;
    assert!(iou > 0.98, "IoU {iou:.3} against the ring");
    let middle = (side / 2 * side + side / 2) as usize;
    assert_eq!(coverage[middle], 0.0, "the ring's inside is a hole");
}

#[test]
fn a_segmentation_model_finds_the_object_where_the_built_in_removal_cannot() {
    // Stripes everywhere: no plain background for the built-in removal to find.
    let busy = RgbaImage::from_fn(300, 200, |x, y| {
        if (x / 7 + y / 5) % 2 == 0 { Rgba([200, 30, 30, 255]) } else { Rgba([20, 90, 220, 255]) }
    });
    let bytes = support::png_bytes(&busy);
    assert!(matches!(run(&bytes, &fast()), Err(EngineError::NoObject { .. })));

    let model = DiscModel { fail: false };
    let models = threedgpt_engine::Models { segmenter: Some(&model), ..Default::default() };
    let asset =
        threedgpt_engine::generate_with("busy.png", &bytes, &fast(), models, &NoProgress, &CancelFlag::new()).unwrap();
    assert_sound(&asset);
    assert_eq!(asset.record.mask, MaskSource::Segmentation);
    assert_eq!(asset.record.segmentation_model.as_deref(), Some("disc-model"));
    // The disc was stretched back over the 3:2 picture: an ellipse 1.5 times wider than tall.
    let [width, height, _] = asset.record.size_m;
    assert!((width / height - 1.5).abs() < 0.08, "{width} x {height}");

    // An explicit choice of the whole picture still wins over the model.
    let keep = fast().with_background(threedgpt_engine::Background::Keep);
    let asset =
        threedgpt_engine::generate_with("busy.png", &bytes, &keep, models, &NoProgress, &CancelFlag::new()).unwrap();
    assert_eq!(asset.record.mask, MaskSource::WholeImage);
    assert_eq!(asset.record.segmentation_model, None);

    let failing = DiscModel { fail: true };
    let models = threedgpt_engine::Models { segmenter: Some(&failing), ..Default::default() };
    let error = threedgpt_engine::generate_with("busy.png", &bytes, &fast(), models, &NoProgress, &CancelFlag::new())
        .unwrap_err();
    assert!(matches!(error, EngineError::Segmentation { .. }) && error.to_string().contains("disc-model"), "{error}");
}

/// A stand-in for a learned depth model: nearness rising from left to right (a ramp), or a
/// failure, or a map of the wrong size.
#[derive(Debug)]
enum RampDepth {
    Ramp,
    Fails,
    Broken,
}

impl threedgpt_engine::DepthEstimator for RampDepth {
    fn name(&self) -> &str {
        "ramp-depth"
    }

    fn estimate(&self, image: &RgbaImage) -> Result<threedgpt_engine::DepthMap, String> {
        assert_eq!(image.width(), image.height(), "the model sees the square cutout");
        let values = (0..48 * 48).map(|index| (index % 48) as f32 * 0.1).collect();
        match self {
            RampDepth::Ramp => Ok(threedgpt_engine::DepthMap { width: 48, height: 48, values }),
            RampDepth::Fails => Err("out of memory".to_owned()),
            RampDepth::Broken => Ok(threedgpt_engine::DepthMap { width: 48, height: 47, values }),
        }
    }
}

/// The highest front point among vertices left (`side < 0`) or right of the middle third.
fn front_peak(asset: &Asset, side: f32) -> f32 {
    let (min, max) = asset.mesh.bounds();
    let third = (max[0] - min[0]) / 6.0;
    asset.mesh.positions.iter().filter(|p| p[0] * side > third).map(|p| p[2]).fold(f32::MIN, f32::max)
}

#[test]
fn a_depth_model_shapes_the_front_and_keeps_the_solid_closed() {
    let bytes = support::png_bytes(&support::disc_on(256, 90.0, RED, WHITE));
    let plain = run(&bytes, &fast()).unwrap();
    assert!((front_peak(&plain, 1.0) - front_peak(&plain, -1.0)).abs() < 0.01, "a disc inflates symmetrically");

    let model = RampDepth::Ramp;
    let models = threedgpt_engine::Models { depth: Some(&model), ..Default::default() };
    let shaped =
        threedgpt_engine::generate_with("disc.png", &bytes, &fast(), models, &NoProgress, &CancelFlag::new()).unwrap();
    assert_sound(&shaped);
    assert_eq!(shaped.record.depth_model.as_deref(), Some("ramp-depth"));
    assert_eq!(shaped.record.model, "relief");
    // Nearer on the right: the front bulges there and flattens on the left; the back is unchanged.
    let (right, left) = (front_peak(&shaped, 1.0), front_peak(&shaped, -1.0));
    assert!(right - left > 0.1, "right {right}, left {left}");
    let depth_ratio = |asset: &Asset| {
        let (min, max) = asset.mesh.bounds();
        (max[2] - min[2]) / (max[0] - min[0])
    };
    assert!(depth_ratio(&shaped) > 1.03 * depth_ratio(&plain), "the nearest part stands out beyond the inflation");

    for (broken, says) in [(RampDepth::Fails, "out of memory"), (RampDepth::Broken, "2304 values for a 48x47")] {
        let models = threedgpt_engine::Models { depth: Some(&broken), ..Default::default() };
        let error =
            threedgpt_engine::generate_with("disc.png", &bytes, &fast(), models, &NoProgress, &CancelFlag::new())
                .unwrap_err();
        assert!(matches!(error, EngineError::Depth { .. }), "{error:?}");
        assert!(error.to_string().contains("ramp-depth") && error.to_string().contains(says), "{error}");
    }
}

/// A stand-in for a triplane model: the density of a sphere of radius 0.5 (surface at 25) and a
/// colour gradient, in a cube of half-side 0.87.
#[derive(Debug)]
struct SphereModel;

struct SphereField;

impl threedgpt_engine::Field for SphereField {
    fn densities(&self, points: &[[f32; 3]], cancel: &CancelFlag) -> Result<Vec<f32>, EngineError> {
        cancel.check()?;
        Ok(points.iter().map(|[x, y, z]| 25.0 + 100.0 * (0.5 - (x * x + y * y + z * z).sqrt())).collect())
    }

    fn colours(&self, points: &[[f32; 3]], _cancel: &CancelFlag) -> Result<Vec<[f32; 3]>, EngineError> {
        Ok(points.iter().map(|p| p.map(|value| (value + 0.5).clamp(0.0, 1.0))).collect())
    }
}

impl threedgpt_engine::Reconstructor for SphereModel {
    fn name(&self) -> &str {
        "sphere-model"
    }

    fn radius(&self) -> f32 {
        0.87
    }

    fn level(&self) -> f32 {
        25.0
    }

    fn encode<'a>(&'a self, image: &RgbaImage) -> Result<Box<dyn threedgpt_engine::Field + 'a>, EngineError> {
        assert_eq!(image.width(), image.height(), "the model sees the square cutout");
        Ok(Box::new(SphereField))
    }
}

#[test]
fn a_volumetric_model_gives_a_closed_textured_surface_with_its_colours() {
    let bytes = support::png_bytes(&support::disc_on(200, 70.0, RED, CLEAR));
    let model = SphereModel;
    let models = threedgpt_engine::Models { reconstructor: Some(&model), ..Default::default() };
    // 128³ makes 152k triangles; simplifying them to 20k folded a few back-to-back pairs
    // ("fins") that used to fail the watertightness check and leave the mesh unsimplified.
    let options = fast().with_target_faces(20_000).with_texture_px(1024);
    let asset =
        threedgpt_engine::generate_with("disc.png", &bytes, &options, models, &NoProgress, &CancelFlag::new()).unwrap();
    let record = &asset.record;
    assert_eq!(record.model, "sphere-model");
    assert!(record.watertight && record.genus == 0, "the welded surface is closed: {record:?}");
    assert!((record.faces as i64 - 20_000).abs() <= 200, "{}", record.faces);
    assert_eq!(asset.mesh.positions.len(), record.faces * 3, "vertices are split per triangle for the atlas");
    for [x, y, z] in &asset.mesh.positions {
        // The sphere stands on the ground: its centre is half its size up.
        let radius = (x * x + (y - 0.5) * (y - 0.5) + z * z).sqrt();
        assert!((radius - 0.5).abs() < 0.02, "a vertex at radius {radius}");
    }
    // Each vertex's texel holds the field's colour there (the placed sphere is the model's).
    let side = asset.texture.width() as f32;
    let mut worst = 0.0f32;
    for (position, uv) in asset.mesh.positions.iter().zip(&asset.uvs).step_by(7) {
        let texel = asset.texture.get_pixel(
            ((uv[0] * side) as u32).min(asset.texture.width() - 1),
            ((uv[1] * side) as u32).min(asset.texture.height() - 1),
        );
        for axis in 0..3 {
            let centre = if axis == 1 { 0.5 } else { 0.0 };
            let expected = (position[axis] - centre + 0.5).clamp(0.0, 1.0);
            worst = worst.max((f32::from(texel[axis]) / 255.0 - expected).abs());
        }
    }
    assert!(worst < 0.08, "a texel is {worst} off its colour");

    // Written and read back as GLB, the mesh welds into a closed surface.
    let glb = threedgpt_engine::export::glb_bytes(&asset, true).unwrap();
    let back = threedgpt_engine::export::asset_from_glb(&glb).unwrap();
    assert_eq!(back.mesh.triangles.len(), record.faces);
}

#[test]
fn a_volume_finer_than_memory_allows_is_sampled_at_the_most_with_a_warning() {
    // At the grid's largest setting (2048) the samples alone would need 34 GB.
    let bytes = support::png_bytes(&support::disc_on(200, 70.0, RED, CLEAR));
    let model = SphereModel;
    let models = threedgpt_engine::Models { reconstructor: Some(&model), ..Default::default() };
    let options = fast().with_grid_px(2048);
    let asset =
        threedgpt_engine::generate_with("disc.png", &bytes, &options, models, &NoProgress, &CancelFlag::new()).unwrap();
    assert!(asset.record.watertight, "{:?}", asset.record);
    assert!(
        asset.warnings.iter().any(|warning| warning.contains("lowered from 2048 to 512 cells")),
        "{:?}",
        asset.warnings
    );
}

#[test]
fn side_pictures_far_deeper_than_the_front_are_sampled_coarser_or_refused() {
    let picture = |width: u32, height: u32| {
        let image = RgbaImage::from_fn(width + 20, height + 20, |x, y| {
            let inside = (10..10 + width).contains(&x) && (10..10 + height).contains(&y);
            Rgba(if inside { RED } else { CLEAR })
        });
        support::encode(&DynamicImage::ImageRgba8(image), ImageFormat::Png)
    };
    let generate = |front: &[u8], right: &[u8], grid: u32| {
        threedgpt_engine::generate_views(
            "front.png",
            front,
            &[threedgpt_engine::View { side: threedgpt_engine::Side::Right, name: "right.png", bytes: right }],
            &fast().with_grid_px(grid),
            threedgpt_engine::Models::default(),
            &NoProgress,
            &CancelFlag::new(),
        )
    };
    // A plank seen end-on: its side six times as long as the front is wide. The whole depth
    // is sampled at the front's grid, so the grid comes down, and says so.
    let asset = generate(&picture(60, 60), &picture(360, 60), 256).unwrap();
    let welded = support::welded_by_position(&asset.mesh);
    assert!(welded.topology().is_watertight_manifold() && asset.record.watertight, "{:?}", welded.topology());
    let (min, max) = asset.mesh.bounds();
    assert!((max[2] - min[2]) / (max[0] - min[0]) > 5.0, "as deep as the side shows: {min:?} {max:?}");
    assert!(
        asset.warnings.iter().any(|warning| warning.contains("at most 512 cells across its whole depth")),
        "{:?}",
        asset.warnings
    );
    // A side picture of something drawn a hundred times flatter than the front is not the same
    // object: refused with the reason, not sampled into the machine's memory.
    let refused = generate(&picture(60, 200), &picture(300, 2), 128);
    assert!(
        matches!(&refused, Err(EngineError::NoObject { reason }) if reason.contains("times as deep as the front picture is wide")),
        "{:?}",
        refused.map(|asset| asset.warnings)
    );
}

/// The rendered pawn of `tests/shapes/` seen from `view`.
fn pawn_view(view: &str) -> RgbaImage {
    let path = format!("{}/../tests/shapes/images/pawn.{view}.png", env!("CARGO_MANIFEST_DIR"));
    image::open(path).unwrap().to_rgba8()
}

#[test]
fn a_turnaround_sheet_is_split_into_its_views_and_carved() {
    // Front, right, back and left side by side on white, as a turnaround sheet is drawn.
    let panels = [
        pawn_view("front"),
        pawn_view("right"),
        pawn_view("back"),
        image::imageops::flip_horizontal(&pawn_view("right")),
    ];
    let side = panels[0].width();
    let mut sheet = RgbaImage::from_pixel(side * 4, side, Rgba(WHITE));
    for (index, panel) in panels.iter().enumerate() {
        image::imageops::overlay(&mut sheet, panel, i64::from(side) * index as i64, 0);
    }
    let asset = threedgpt_engine::generate_sheet(
        "sheet.png",
        &support::encode(&DynamicImage::ImageRgba8(sheet), ImageFormat::Png),
        &fast(),
        threedgpt_engine::Models::default(),
        &NoProgress,
        &CancelFlag::new(),
    )
    .unwrap();
    assert_eq!(asset.record.views, ["front", "right", "back", "left"]);
    assert!(["revolve", "parts"].contains(&asset.record.shape.as_str()), "{}", asset.record.shape);
    assert!(asset.record.watertight && asset.record.genus == 0);
    assert!(asset.mesh.volume() > 0.0, "mesh is wound inward");
    // Standing on the ground, the pawn as deep as it is wide.
    let (min, max) = asset.mesh.bounds();
    assert!(min[1].abs() < 1e-4);
    let (width, depth) = (max[0] - min[0], max[2] - min[2]);
    assert!((depth / width - 1.0).abs() < 0.05, "width {width}, depth {depth}");
}

#[test]
fn views_that_cannot_be_used_are_refused_with_the_reason() {
    let front = support::encode(&DynamicImage::ImageRgba8(pawn_view("front")), ImageFormat::Png);
    let right = support::encode(&DynamicImage::ImageRgba8(pawn_view("right")), ImageFormat::Png);
    let empty =
        support::encode(&DynamicImage::ImageRgba8(RgbaImage::from_pixel(64, 64, Rgba(WHITE))), ImageFormat::Png);
    let generate = |views: &[threedgpt_engine::View<'_>]| {
        threedgpt_engine::generate_views(
            "pawn.png",
            &front,
            views,
            &fast(),
            threedgpt_engine::Models::default(),
            &NoProgress,
            &CancelFlag::new(),
        )
    };
    use threedgpt_engine::{Side, View};
    let twice = generate(&[
        View { side: Side::Right, name: "a.png", bytes: &right },
        View { side: Side::Right, name: "b.png", bytes: &right },
    ]);
    assert!(
        matches!(&twice, Err(EngineError::InvalidOption { option: "views", reason }) if reason.contains("two right pictures")),
        "{twice:?}"
    );
    let blank = generate(&[View { side: Side::Right, name: "right.png", bytes: &empty }]);
    assert!(
        matches!(&blank, Err(EngineError::NoObject { reason }) if reason.contains("right picture (right.png)")),
        "{blank:?}"
    );
    let broken = generate(&[View { side: Side::Back, name: "back.png", bytes: b"not an image" }]);
    assert!(matches!(&broken, Err(error) if error.to_string().contains("back.png")), "{broken:?}");
}
