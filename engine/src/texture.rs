//! Texture baking: the cutout's colours resampled to the texture size, with the object's colours
//! pushed outward past its outline so no background can bleed into the rim.
//!
//! The UV layout is the front-view projection, shared by the front and the back of the relief: the
//! back shows the picture mirrored, as if seen through the object, and the outline needs no seam.

use image::RgbImage;

use crate::foreground::Cutout;
use crate::mask::Mask;
use crate::resample::resample;

/// Coverage at or above which a texel's colour is trusted; softer texels mix in the background.
const TRUSTED_COVERAGE: f32 = 0.9;

/// Bakes a `texture_px` square texture from the cutout.
pub fn bake_texture(cutout: &Cutout, texture_px: u32) -> RgbImage {
    bake(cutout, texture_px, None)
}

/// [`bake_texture`] with each colour multiplied by `gain` (a `gain_px` square over the cutout, in
/// linear light): the picture's light divided out (see [`crate::light`]).
pub fn bake_delit_texture(cutout: &Cutout, texture_px: u32, gain: &[f32], gain_px: usize) -> RgbImage {
    bake(cutout, texture_px, Some((gain, gain_px)))
}

fn bake(cutout: &Cutout, texture_px: u32, gain: Option<(&[f32], usize)>) -> RgbImage {
    let texture_px = texture_px as usize;
    encode_srgb(&filled_colours(cutout, texture_px, gain), texture_px)
}

/// The cutout's colours in linear light (three per texel) on a `texture_px` square, with the object's
/// colours pushed outward past its outline; `gain` multiplies them as in [`bake_delit_texture`].
pub(crate) fn filled_colours(cutout: &Cutout, texture_px: usize, gain: Option<(&[f32], usize)>) -> Vec<f32> {
    let side = cutout.side() as usize;
    // Premultiply so resampling never mixes background colours into object texels.
    let to_linear: [f32; 256] = std::array::from_fn(|channel| crate::foreground::srgb_to_linear(channel as u8));
    // Pixels along the outline mix the object with the background (anti-aliasing, compression
    // ringing), so colours are only trusted a little way inside it.
    let trusted = Mask {
        width: side,
        height: side,
        cells: cutout.coverage.iter().map(|&coverage| coverage >= TRUSTED_COVERAGE).collect(),
    }
    .eroded((side / 256).max(1));
    let mut premultiplied = Vec::with_capacity(side * side * 4);
    for (pixel, &is_trusted) in cutout.rgba.pixels().zip(&trusted.cells) {
        let weight = if is_trusted { 1.0 } else { 0.0 };
        for channel in 0..3 {
            premultiplied.push(to_linear[usize::from(pixel[channel])] * weight);
        }
        premultiplied.push(weight);
    }
    let mut resampled = resample(&premultiplied, 4, (side, side), (texture_px, texture_px));
    if let Some((gain, gain_px)) = gain.filter(|(gain, gain_px)| gain.len() == gain_px * gain_px) {
        let gain = resample(gain, 1, (gain_px, gain_px), (texture_px, texture_px));
        for (texel, gain) in resampled.chunks_exact_mut(4).zip(&gain) {
            for channel in &mut texel[..3] {
                *channel *= gain;
            }
        }
    }
    push_pull(resampled, texture_px)
}

/// Encodes linear colours (three per texel of a `texture_px` square) as an sRGB texture.
pub(crate) fn encode_srgb(colours: &[f32], texture_px: usize) -> RgbImage {
    // A fine table of the sRGB curve; its steps are far below one 8-bit level.
    const STEPS: usize = 8192;
    let to_srgb: Vec<u8> = (0..=STEPS).map(|step| linear_to_srgb(step as f32 / STEPS as f32)).collect();
    let encode = |value: f32| to_srgb[(value.clamp(0.0, 1.0) * STEPS as f32 + 0.5) as usize];
    let mut texture = RgbImage::new(texture_px as u32, texture_px as u32);
    for (pixel, colour) in texture.pixels_mut().zip(colours.chunks_exact(3)) {
        pixel.0 = [encode(colour[0]), encode(colour[1]), encode(colour[2])];
    }
    texture
}

/// Fills texels without weight from coarser levels of a weight-aware image pyramid (push-pull), so
/// colours spread smoothly from the object into the empty area. Input: premultiplied RGB plus
/// weight per texel; output: RGB per texel.
pub(crate) fn push_pull(level: Vec<f32>, side: usize) -> Vec<f32> {
    if side <= 1 {
        let weight = level[3];
        return if weight > 0.0 {
            vec![level[0] / weight, level[1] / weight, level[2] / weight]
        } else {
            vec![0.5, 0.5, 0.5]
        };
    }
    let coarse_side = side.div_ceil(2);
    let mut coarse = vec![0.0f32; coarse_side * coarse_side * 4];
    for y in 0..side {
        for x in 0..side {
            let source = (y * side + x) * 4;
            let target = ((y / 2) * coarse_side + x / 2) * 4;
            for channel in 0..4 {
                coarse[target + channel] += level[source + channel];
            }
        }
    }
    let coarse_colours = push_pull(coarse, coarse_side);
    let mut colours = vec![0.0f32; side * side * 3];
    for y in 0..side {
        for x in 0..side {
            let source = (y * side + x) * 4;
            let weight = level[source + 3];
            let target = (y * side + x) * 3;
            if weight >= 1.0e-3 {
                for channel in 0..3 {
                    colours[target + channel] = level[source + channel] / weight;
                }
            } else {
                let parent = ((y / 2) * coarse_side + x / 2) * 3;
                colours[target..target + 3].copy_from_slice(&coarse_colours[parent..parent + 3]);
            }
        }
    }
    colours
}

fn linear_to_srgb(value: f32) -> u8 {
    let value = value.clamp(0.0, 1.0);
    let encoded = if value <= 0.003_130_8 { value * 12.92 } else { 1.055 * value.powf(1.0 / 2.4) - 0.055 };
    (encoded * 255.0 + 0.5) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::foreground::MaskSource;

    #[test]
    fn object_colours_spread_past_the_outline_and_the_background_never_shows() {
        // A red square on a bright green background; only the square is covered.
        let side = 64u32;
        let inside = |x: u32, y: u32| (16..48).contains(&x) && (16..48).contains(&y);
        let rgba = image::RgbaImage::from_fn(side, side, |x, y| {
            if inside(x, y) { image::Rgba([200, 20, 20, 255]) } else { image::Rgba([0, 255, 0, 255]) }
        });
        let coverage =
            (0..side * side).map(|index| if inside(index % side, index / side) { 1.0 } else { 0.0 }).collect();
        let cutout = Cutout { rgba, coverage, source: MaskSource::Alpha, warnings: Vec::new() };
        let texture = bake_texture(&cutout, 256);
        for pixel in texture.pixels() {
            assert!(pixel[1] < 40 && pixel[0] > 150, "background bled into {pixel:?}");
        }
    }
}
