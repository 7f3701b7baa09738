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
pub(crate) fn decode_dynamic(bytes: &[u8], name: &str, limits: &DecodeLimits) -> Result<DynamicImage> {
    if bytes.is_empty() {
        return Err(EngineError::EmptyInput { name: name.to_owned() });
    }
    let format = image::guess_format(bytes).map_err(|_| EngineError::UnsupportedFormat { name: name.to_owned() })?;
    if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP) {
        return Err(EngineError::UnsupportedFormat { name: name.to_owned() });
    }
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        // The JPEG decoder fills what is missing with grey and reports success.
        return Err(EngineError::Truncated { name: name.to_owned() });
    }
    let corrupt = |source| EngineError::Corrupt { name: name.to_owned(), source };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_side_px);
    decoder_limits.max_image_height = Some(limits.max_side_px);
    // 16-bit RGBA is the widest layout the decoders produce; allow it for the largest permitted image.
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(1 << 24));
    reader.limits(decoder_limits);
    let mut decoder = reader.into_decoder().map_err(|error| match error {
        image::ImageError::Limits(_) => match header_dimensions(bytes, format) {
            Some((width, height)) => {
                check_dimensions(name, width, height, limits).err().unwrap_or_else(|| corrupt(error))
            }
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

/// Whether a JPEG's image data ends with its end-of-image marker. The marker segments before the
/// first scan are walked by their lengths (so an EXIF thumbnail's own end marker is skipped); then
/// the scan data must be followed by an end marker, which never occurs inside it (a 0xFF data byte
/// is always followed by 0x00 there). A file that is malformed in some other way counts as complete
/// here and is left to the decoder.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut at = 2; // After the start-of-image marker.
    loop {
        if at >= bytes.len() {
            return false;
        }
        if bytes[at] != 0xff {
            return true;
        }
        while at < bytes.len() && bytes[at] == 0xff {
            at += 1; // Fill bytes.
        }
        let Some(&marker) = bytes.get(at) else { return false };
        at += 1;
        match marker {
            0xd9 => return true,
            0x01 | 0xd0..=0xd7 => {}
            _ => {
                let Some(length) =
                    bytes.get(at..at + 2).map(|pair| usize::from(u16::from_be_bytes([pair[0], pair[1]])))
                else {
                    return false;
                };
                if length < 2 {
                    return true;
                }
                at += length;
                if marker == 0xda {
                    // Start of scan: the rest is entropy-coded data (and any later scans).
                    return bytes.get(at..).is_some_and(|rest| rest.windows(2).rev().any(|pair| pair == [0xff, 0xd9]));
                }
            }
        }
    }
}

fn check_dimensions(name: &str, width: u32, height: u32, limits: &DecodeLimits) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(EngineError::ZeroSized { name: name.to_owned(), width, height });
    }
    if width > limits.max_side_px || height > limits.max_side_px {
        return Err(EngineError::TooLarge { name: name.to_owned(), width, height, max_side_px: limits.max_side_px });
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

/// Converts a decoded picture to RGBA no larger than about `max_side_px` on its longer side. Big
/// 8-bit photos are first box-averaged by a whole factor straight from their own layout, so an
/// 8192² JPEG never exists as a full-size RGBA copy.
pub(crate) fn to_working_rgba(image: DynamicImage, max_side_px: u32) -> RgbaImage {
    let longest = image.width().max(image.height());
    let factor = (longest / max_side_px.max(1)) as usize;
    let shrunk = match (&image, factor) {
        (_, 0 | 1) => None,
        (DynamicImage::ImageRgb8(rgb), _) => Some(box_shrink::<3>(rgb.as_raw(), rgb.width(), rgb.height(), factor)),
        (DynamicImage::ImageRgba8(rgba), _) => {
            Some(box_shrink::<4>(rgba.as_raw(), rgba.width(), rgba.height(), factor))
        }
        _ => None,
    };
    let rgba = match shrunk {
        Some(shrunk) => {
            drop(image);
            shrunk
        }
        None => image.into_rgba8(),
    };
    shrink_to(rgba, max_side_px)
}

/// Averages `factor` x `factor` blocks of an 8-bit image with `CHANNELS` channels (3 or 4) into RGBA.
fn box_shrink<const CHANNELS: usize>(raw: &[u8], width: u32, height: u32, factor: usize) -> RgbaImage {
    let (width, height) = (width as usize, height as usize);
    let (out_width, out_height) = ((width / factor).max(1), (height / factor).max(1));
    let mut out = RgbaImage::new(out_width as u32, out_height as u32);
    let mut sums = vec![0u32; out_width * 4];
    for out_y in 0..out_height {
        sums.fill(0);
        let rows = (out_y * factor)..((out_y + 1) * factor).min(height);
        let row_count = rows.len();
        for y in rows {
            let row = &raw[y * width * CHANNELS..(y + 1) * width * CHANNELS];
            for out_x in 0..out_width {
                let sum = &mut sums[out_x * 4..out_x * 4 + 4];
                for pixel in
                    row[out_x * factor * CHANNELS..((out_x + 1) * factor).min(width) * CHANNELS].chunks_exact(CHANNELS)
                {
                    for channel in 0..CHANNELS {
                        sum[channel] += u32::from(pixel[channel]);
                    }
                    if CHANNELS == 3 {
                        sum[3] += 255;
                    }
                }
            }
        }
        for out_x in 0..out_width {
            let columns = (((out_x + 1) * factor).min(width) - out_x * factor) as u32;
            let count = columns * row_count as u32;
            let sum = &sums[out_x * 4..out_x * 4 + 4];
            out.put_pixel(
                out_x as u32,
                out_y as u32,
                image::Rgba(std::array::from_fn(|channel| ((sum[channel] + count / 2) / count) as u8)),
            );
        }
    }
    out
}

/// Shrinks `image` so its longer side is at most `max_side_px`, keeping the aspect ratio. Large photos
/// carry more detail than the texture can show; working smaller keeps memory and time bounded.
pub(crate) fn shrink_to(image: RgbaImage, max_side_px: u32) -> RgbaImage {
    if image.width().max(image.height()) <= max_side_px { image } else { shrunk(&image, max_side_px) }
}

/// A copy of `image` no larger than `max_side_px` on its longer side, resampled straight from the
/// borrowed image (no full-size copy first).
pub(crate) fn shrunk(image: &RgbaImage, max_side_px: u32) -> RgbaImage {
    let (width, height) = image.dimensions();
    let longest = width.max(height);
    if longest <= max_side_px {
        return image.clone();
    }
    let scale = f64::from(max_side_px) / f64::from(longest);
    let new_width = ((f64::from(width) * scale).round() as u32).max(1);
    let new_height = ((f64::from(height) * scale).round() as u32).max(1);
    resized(image, new_width, new_height)
}

/// `image` resampled to `width` x `height` with a triangle (bilinear) filter, colours weighted by
/// their alpha: fast_image_resize's convolution, several times faster than the image crate's.
pub fn resized(image: &RgbaImage, width: u32, height: u32) -> RgbaImage {
    use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
    let mut resized = RgbaImage::new(width, height);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    match Resizer::new().resize(image, &mut resized, &options) {
        Ok(()) => resized,
        // Both are 8-bit RGBA, so this cannot fail; the image crate's filter is the same, slower.
        Err(_) => image::imageops::resize(image, width, height, image::imageops::FilterType::Triangle),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_photos_are_box_averaged_to_the_working_size() {
        // 4096 x 1024 RGB: left half black, right half white, with a grey column pair in the middle.
        let photo = image::RgbImage::from_fn(4096, 1024, |x, _| {
            let value = if x < 2048 { 0 } else { 255 };
            image::Rgb([value, value, value])
        });
        let working = to_working_rgba(DynamicImage::ImageRgb8(photo), 2048);
        assert_eq!(working.dimensions(), (2048, 512));
        assert_eq!(working.get_pixel(10, 10).0, [0, 0, 0, 255]);
        assert_eq!(working.get_pixel(2000, 100).0, [255, 255, 255, 255]);
        // The two source pixels straddling the middle average to grey.
        let odd = image::RgbaImage::from_fn(6, 2, |x, _| image::Rgba([if x % 2 == 0 { 0 } else { 200 }, 0, 0, 255]));
        let halved = to_working_rgba(DynamicImage::ImageRgba8(odd), 3);
        assert_eq!(halved.get_pixel(1, 0).0, [100, 0, 0, 255]);
    }

    #[test]
    fn small_pictures_are_only_converted() {
        let grey = image::GrayImage::from_pixel(30, 20, image::Luma([77]));
        let working = to_working_rgba(DynamicImage::ImageLuma8(grey), 2048);
        assert_eq!(working.dimensions(), (30, 20));
        assert_eq!(working.get_pixel(3, 3).0, [77, 77, 77, 255]);
    }
}
