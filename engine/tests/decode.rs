//! Decoding: every supported layout reads, and every bad file gives its own clear error.

mod support;

use image::{DynamicImage, ImageFormat};
use threedgpt_engine::decode::decode_image;
use threedgpt_engine::{DecodeLimits, EngineError};

fn decode(bytes: &[u8]) -> Result<image::RgbaImage, EngineError> {
    decode_image(bytes, "photo.png", &DecodeLimits::default())
}

fn sample() -> image::RgbaImage {
    image::RgbaImage::from_fn(40, 20, |x, _| {
        if x < 20 { image::Rgba([255, 0, 0, 255]) } else { image::Rgba([0, 0, 255, 128]) }
    })
}

#[test]
fn png_layouts_decode_to_rgba() {
    let rgba = DynamicImage::ImageRgba8(sample());
    for (layout, image) in [
        ("rgba8", rgba.clone()),
        ("rgba16", DynamicImage::ImageRgba16(rgba.to_rgba16())),
        ("grey", DynamicImage::ImageLuma8(rgba.to_luma8())),
        ("grey16", DynamicImage::ImageLuma16(rgba.to_luma16())),
        ("grey+alpha", DynamicImage::ImageLumaA8(rgba.to_luma_alpha8())),
        ("rgb", DynamicImage::ImageRgb8(rgba.to_rgb8())),
    ] {
        let decoded = decode(&support::encode(&image, ImageFormat::Png)).unwrap_or_else(|e| panic!("{layout}: {e}"));
        assert_eq!(decoded.dimensions(), (40, 20), "{layout}");
        let expected_alpha = if layout.contains("alpha") || layout.starts_with("rgba") { 128 } else { 255 };
        assert_eq!(decoded.get_pixel(30, 5)[3], expected_alpha, "{layout}");
    }
}

#[test]
fn palette_png_decodes() {
    let decoded = decode(&palette_png()).unwrap();
    assert_eq!(decoded.dimensions(), (4, 2));
    assert_eq!(decoded.get_pixel(0, 0).0, [255, 0, 0, 255]);
    assert_eq!(decoded.get_pixel(3, 1).0, [0, 255, 0, 255]);
}

#[test]
fn jpeg_and_webp_decode() {
    let rgb = DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(sample()).to_rgb8());
    let jpeg = decode(&support::encode(&rgb, ImageFormat::Jpeg)).unwrap();
    assert_eq!(jpeg.dimensions(), (40, 20));
    assert!(jpeg.get_pixel(5, 5)[0] > 200);
    let webp = decode(&support::encode(&DynamicImage::ImageRgba8(sample()), ImageFormat::WebP)).unwrap();
    assert_eq!(webp.get_pixel(30, 5).0, [0, 0, 255, 128]);
}

#[test]
fn jpeg_exif_orientation_is_applied() {
    // Red on the left, blue on the right; EXIF orientation 6 means "rotate 90° clockwise to view".
    let rgb = DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(sample()).to_rgb8());
    let jpeg = support::encode(&rgb, ImageFormat::Jpeg);
    let exif: &[u8] = &[
        0xFF, 0xE1, 0x00, 0x22, b'E', b'x', b'i', b'f', 0, 0, b'I', b'I', 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    let mut with_exif = jpeg[..2].to_vec();
    with_exif.extend_from_slice(exif);
    with_exif.extend_from_slice(&jpeg[2..]);
    let upright = decode(&with_exif).unwrap();
    assert_eq!(upright.dimensions(), (20, 40), "rotation not applied");
    assert!(upright.get_pixel(10, 5)[0] > 200, "the left (red) half should now be on top");
    assert!(upright.get_pixel(10, 35)[2] > 200, "the right (blue) half should now be at the bottom");
}

#[test]
fn bad_files_give_clear_errors_naming_the_file() {
    let png = support::png_bytes(&sample());
    let check = |bytes: &[u8], expect: fn(&EngineError) -> bool, words: &str| {
        let error = decode(bytes).expect_err("should fail");
        assert!(expect(&error), "unexpected error {error:?}");
        let message = error.to_string();
        assert!(message.contains("photo.png") && message.contains(words), "message: {message}");
    };
    check(&[], |e| matches!(e, EngineError::EmptyInput { .. }), "empty");
    check(b"this is not an image at all", |e| matches!(e, EngineError::UnsupportedFormat { .. }), "PNG, JPEG or WebP");
    check(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", |e| matches!(e, EngineError::UnsupportedFormat { .. }), "convert");
    check(&png[..png.len() / 2], |e| matches!(e, EngineError::Corrupt { .. }), "corrupt or truncated");
    let mut broken_jpeg = vec![0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x04];
    broken_jpeg.extend_from_slice(&[0x55; 64]);
    check(&broken_jpeg, |e| matches!(e, EngineError::Corrupt { .. }), "could not decode");
}

#[test]
fn limits_are_checked_before_decoding() {
    let wide = support::png_bytes(&image::RgbaImage::new(17_000, 2));
    let error = decode(&wide).unwrap_err();
    assert!(matches!(error, EngineError::TooLarge { width: 17_000, .. }), "{error:?}");
    assert!(error.to_string().contains("limit is 16384 px per side"), "{error}");

    let limits = DecodeLimits::default().with_max_pixels(500);
    let error = decode_image(&support::png_bytes(&sample()), "photo.png", &limits).unwrap_err();
    assert!(matches!(error, EngineError::TooManyPixels { .. }), "{error:?}");

    let limits = DecodeLimits::default().with_max_side_px(30);
    let error = decode_image(&support::png_bytes(&sample()), "photo.png", &limits).unwrap_err();
    assert!(error.to_string().contains("40x20 px; the limit is 30 px"), "{error}");
}

/// A 4x2 palette PNG (red, green), written by hand with stored deflate blocks so the test needs no
/// palette encoder.
fn palette_png() -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&4u32.to_be_bytes());
    header.extend_from_slice(&2u32.to_be_bytes());
    header.extend_from_slice(&[8, 3, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"PLTE", &[255, 0, 0, 0, 255, 0]);
    // Two rows: filter byte 0, then palette indices.
    let raw = [0u8, 0, 0, 1, 1, 0, 0, 0, 1, 1];
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend_from_slice(&(raw.len() as u16).to_le_bytes());
    zlib.extend_from_slice(&(!(raw.len() as u16)).to_le_bytes());
    zlib.extend_from_slice(&raw);
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn a_truncated_jpeg_is_refused_as_truncated() {
    // The example photo and a synthetic one: cut anywhere inside, each says it is truncated.
    let ring = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/ring.jpg")).unwrap();
    let rgb = DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(sample()).to_rgb8());
    for whole in [ring, support::encode(&rgb, ImageFormat::Jpeg)] {
        assert!(decode(&whole).is_ok());
        for share in [0.33, 0.6, 0.95, 0.999] {
            let cut = &whole[..(whole.len() as f64 * share) as usize];
            let error = decode(cut).unwrap_err();
            assert!(matches!(error, EngineError::Truncated { .. }), "cut to {share}: {error:?}");
            assert!(error.to_string().contains("the file is truncated"), "{error}");
        }
        // Bytes after the end marker (some cameras append data) do not make a file truncated.
        let mut padded = whole.clone();
        padded.extend_from_slice(b"trailing data from a camera");
        assert!(decode(&padded).is_ok());
    }
}
