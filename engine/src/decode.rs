//! Decoding PNG, JPEG and WebP into RGBA, with size limits checked before any large allocation and
//! EXIF orientation applied.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbaImage};

use crate::error::{EngineError, Result};
use crate::options::DecodeLimits;

/// Decodes `bytes` (named `name` in errors) into an 8-bit RGBA image, upright as the camera saw it.
pub fn decode_image(bytes: &[u8], name: &str, limits: &DecodeLimits) -> Result<RgbaImage> {
    Ok(decode_dynamic(bytes, name, limits)?.into_rgba8())
}

/// Decodes into whatever layout the file has, so callers can look at the alpha channel's presence.
pub(crate) fn decode_dynamic(
    bytes: &[u8],
    name: &str,
    limits: &DecodeLimits,
) -> Result<DynamicImage> {
    if bytes.is_empty() {
        return Err(EngineError::EmptyInput {
            name: name.to_owned(),
        });
    }
    let format = image::guess_format(bytes).map_err(|_| EngineError::UnsupportedFormat {
        name: name.to_owned(),
    })?;
    if !matches!(
        format,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP
    ) {
        return Err(EngineError::UnsupportedFormat {
            name: name.to_owned(),
        });
    }
    let corrupt = |source| EngineError::Corrupt {
        name: name.to_owned(),
        source,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_side_px);
    decoder_limits.max_image_height = Some(limits.max_side_px);
    // 16-bit RGBA is the widest layout the decoders produce; allow it for the largest permitted image.
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(1 << 24));
    reader.limits(decoder_limits);
    let mut decoder = reader.into_decoder().map_err(|error| match error {
        image::ImageError::Limits(_) => match header_dimensions(bytes, format) {
            Some((width, height)) => check_dimensions(name, width, height, limits)
                .err()
                .unwrap_or_else(|| corrupt(error)),
            None => corrupt(error),
        },
        other => corrupt(other),
    })?;
    let (width, height) = decoder.dimensions();
    check_dimensions(name, width, height, limits)?;
    let orientation = decoder.orientation().map_err(corrupt)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    image.apply_orientation(orientation);
    Ok(image)
}

fn check_dimensions(name: &str, width: u32, height: u32, limits: &DecodeLimits) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(EngineError::ZeroSized {
            name: name.to_owned(),
            width,
            height,
        });
    }
    if width > limits.max_side_px || height > limits.max_side_px {
        return Err(EngineError::TooLarge {
            name: name.to_owned(),
            width,
            height,
            max_side_px: limits.max_side_px,
        });
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(EngineError::TooManyPixels {
            name: name.to_owned(),
            width,
            height,
            megapixels: pixels as f64 / 1.0e6,
            max_megapixels: limits.max_pixels as f64 / 1.0e6,
        });
    }
    Ok(())
}

/// Reads the width and height from a PNG header, so a decoder that refuses an image for its size can
/// still be answered with the size. Other formats fall back to the decoder's own message.
fn header_dimensions(bytes: &[u8], format: ImageFormat) -> Option<(u32, u32)> {
    if format != ImageFormat::Png || bytes.len() < 24 {
        return None;
    }
    let width = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
    let height = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
    Some((width, height))
}

/// Shrinks `image` so its longer side is at most `max_side_px`, keeping the aspect ratio. Large photos
/// carry more detail than the texture can show; working smaller keeps memory and time bounded.
pub(crate) fn shrink_to(image: RgbaImage, max_side_px: u32) -> RgbaImage {
    let (width, height) = image.dimensions();
    let longest = width.max(height);
    if longest <= max_side_px {
        return image;
    }
    let scale = f64::from(max_side_px) / f64::from(longest);
    let new_width = ((f64::from(width) * scale).round() as u32).max(1);
    let new_height = ((f64::from(height) * scale).round() as u32).max(1);
    image::imageops::resize(
        &image,
        new_width,
        new_height,
        image::imageops::FilterType::Triangle,
    )
}
