//! Texture baking: the cutout's colours resampled to the texture size, with the object's colours
//! pushed outward past its outline so no background can bleed into the rim.
//!
//! The UV layout is the front-view projection, shared by the front and the back of the relief: the
//! back shows the picture mirrored, as if seen through the object, and the outline needs no seam.
//! Where the surface turns away from the picture (its sides), one texel is stretched across the
//! whole depth, so the picture's detail along the outline would print across the sides as streaks;
//! there the colour is blended into a smooth one (see [`ReliefShading`]).

use image::RgbImage;

use crate::foreground::Cutout;
use crate::mask::Mask;
use crate::refine::box_mean;
use crate::resample::resample;

/// Coverage at or above which a texel's colour is trusted; softer texels mix in the background.
const TRUSTED_COVERAGE: f32 = 0.9;

/// The front-facing component of the normal at and above which the picture's colour is kept as it
/// is; below it the side blends into the smooth colour, fully by [`SIDE_FACING`].
const FRONT_FACING: f32 = 0.6;

/// See [`FRONT_FACING`]: from here down to a side seen edge-on the colour is the smooth one.
const SIDE_FACING: f32 = 0.2;

/// The smooth colour's reach, as a share of the texture's side: wider than the streaks a row's
/// outline colour makes, narrow enough to keep the colour of each part of the object.
const SIDE_BLUR_SHARE: f32 = 1.0 / 48.0;

/// What a relief's texture takes from its shape, per vertex of its `grid_px` square grid.
#[derive(Debug, Clone, Copy)]
pub struct ReliefShading<'a> {
    /// The grid's side.
    pub grid_px: usize,
    /// The factor that divides the picture's light out of each colour (see [`crate::light`]).
    pub gain: Option<&'a [f32]>,
    /// How squarely the picture sees the surface: the normal's component towards the camera.
    pub facing: Option<&'a [f32]>,
}

/// Bakes a `texture_px` square texture from the cutout.
pub fn bake_texture(cutout: &Cutout, texture_px: u32) -> RgbImage {
    let texture_px = texture_px as usize;
    encode_srgb(&filled_colours(cutout, texture_px, None), texture_px)
}

/// [`bake_texture`] for a relief: the picture's light divided out, and the sides, which the
/// picture sees edge-on, coloured smoothly instead of streaked.
pub fn bake_relief_texture(cutout: &Cutout, texture_px: u32, shading: &ReliefShading<'_>) -> RgbImage {
    let texture_px = texture_px as usize;
    encode_srgb(&filled_colours(cutout, texture_px, Some(shading)), texture_px)
}

/// The cutout's colours in linear light (three per texel) on a `texture_px` square, with the object's
/// colours pushed outward past its outline, shaded as in [`bake_relief_texture`].
pub(crate) fn filled_colours(cutout: &Cutout, texture_px: usize, shading: Option<&ReliefShading<'_>>) -> Vec<f32> {
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
    if let Some(shading) = shading {
        let grid = (shading.grid_px, shading.grid_px);
        let on_grid = |values: &[f32]| {
            (values.len() == grid.0 * grid.1).then(|| resample(values, 1, grid, (texture_px, texture_px)))
        };
        if let Some(gain) = shading.gain.and_then(on_grid) {
            for (texel, gain) in resampled.chunks_exact_mut(4).zip(&gain) {
                for channel in &mut texel[..3] {
                    *channel *= gain;
                }
            }
        }
        if let Some(facing) = shading.facing.filter(|facing| facing.len() == shading.grid_px * shading.grid_px) {
            smooth_the_sides(&mut resampled, facing, shading.grid_px, texture_px);
        }
    }
    push_pull(resampled, texture_px)
}

/// Blends each texel's colour (premultiplied RGB and weight, four per texel) into the mean colour
/// around it as the surface there turns from facing the picture to edge-on (`facing`, per vertex of
/// a `grid_px` grid over the texture).
fn smooth_the_sides(texels: &mut [f32], facing: &[f32], grid_px: usize, texture_px: usize) {
    let blend: Vec<f32> = facing
        .iter()
        .map(|&facing| {
            let t = ((FRONT_FACING - facing) / (FRONT_FACING - SIDE_FACING)).clamp(0.0, 1.0);
            t * t * (3.0 - 2.0 * t)
        })
        .collect();
    if blend.iter().all(|&blend| blend == 0.0) {
        return;
    }
    // The blend at a texel's centre, bilinear between the grid's vertices.
    let scale = grid_px as f32 / texture_px as f32;
    let blend_at = |x: usize, y: usize| {
        let (gx, gy) = (((x as f32 + 0.5) * scale - 0.5).max(0.0), ((y as f32 + 0.5) * scale - 0.5).max(0.0));
        let (x0, y0) = ((gx as usize).min(grid_px - 1), (gy as usize).min(grid_px - 1));
        let (x1, y1) = ((x0 + 1).min(grid_px - 1), (y0 + 1).min(grid_px - 1));
        let (fx, fy) = (gx - x0 as f32, gy - y0 as f32);
        let row = |y: usize| blend[y * grid_px + x0] * (1.0 - fx) + blend[y * grid_px + x1] * fx;
        row(y0) * (1.0 - fy) + row(y1) * fy
    };
    // The mean is smooth at this reach, so it is taken on a half-size copy, a quarter of the work.
    let half = texture_px.div_ceil(2);
    let radius = ((half as f32 * SIDE_BLUR_SHARE).round() as usize).max(1);
    let mut halved = vec![0.0f32; half * half * 4];
    for (index, texel) in texels.chunks_exact(4).enumerate() {
        let (x, y) = (index % texture_px, index / texture_px);
        let target = ((y / 2) * half + x / 2) * 4;
        for channel in 0..4 {
            halved[target + channel] += texel[channel];
        }
    }
    let means: Vec<Vec<f32>> = (0..4)
        .map(|channel| {
            let plane: Vec<f32> = halved.chunks_exact(4).map(|texel| texel[channel]).collect();
            box_mean(&plane, (half, half), radius)
        })
        .collect();
    for (index, texel) in texels.chunks_exact_mut(4).enumerate() {
        if texel[3] <= 0.0 {
            continue;
        }
        let (x, y) = (index % texture_px, index / texture_px);
        let blend = blend_at(x, y);
        let at = (y / 2) * half + x / 2;
        let weight_mean = means[3][at];
        if blend <= 0.0 || weight_mean <= 1.0e-6 {
            continue;
        }
        let weight = texel[3];
        for (colour, mean) in texel[..3].iter_mut().zip(&means) {
            let smooth = mean[at] / weight_mean * weight;
            *colour += (smooth - *colour) * blend;
        }
    }
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

    /// The mean difference between neighbouring rows' red, over the texels `chosen` accepts.
    fn row_contrast(texture: &RgbImage, chosen: impl Fn(f32, f32) -> bool) -> f32 {
        let side = texture.width();
        let (mut sum, mut count) = (0.0f32, 0usize);
        for y in 1..side {
            for x in 0..side {
                let at = |y: u32| ((x as f32 + 0.5) / side as f32, (y as f32 + 0.5) / side as f32);
                if chosen(at(y).0, at(y).1) && chosen(at(y - 1).0, at(y - 1).1) {
                    sum += (f32::from(texture.get_pixel(x, y)[0]) - f32::from(texture.get_pixel(x, y - 1)[0])).abs();
                    count += 1;
                }
            }
        }
        sum / count.max(1) as f32
    }

    #[test]
    fn the_sides_take_a_smooth_colour_instead_of_the_outlines_streaks() {
        // A ball striped red and blue every other row. Its sides are seen edge-on, so each row's
        // colour at the outline would stretch across them as a horizontal streak.
        let (side, grid_px) = (256u32, 128usize);
        let radius = 0.4f32;
        let distance = |u: f32, v: f32| ((u - 0.5).powi(2) + (v - 0.5).powi(2)).sqrt();
        let rgba = image::RgbaImage::from_fn(side, side, |x, y| {
            let inside = distance((x as f32 + 0.5) / side as f32, (y as f32 + 0.5) / side as f32) < radius;
            match (inside, y % 4 < 2) {
                (false, _) => image::Rgba([0, 0, 0, 0]),
                (true, true) => image::Rgba([220, 30, 30, 255]),
                (true, false) => image::Rgba([30, 30, 220, 255]),
            }
        });
        let coverage = rgba.pixels().map(|pixel| f32::from(pixel[3]) / 255.0).collect();
        let cutout = Cutout { rgba, coverage, source: MaskSource::Alpha, warnings: Vec::new() };
        let facing: Vec<f32> = (0..grid_px * grid_px)
            .map(|index| {
                let (u, v) = ((index % grid_px) as f32 / grid_px as f32, (index / grid_px) as f32 / grid_px as f32);
                (1.0 - (distance(u, v) / radius).min(1.0).powi(2)).sqrt()
            })
            .collect();
        let shading = ReliefShading { grid_px, gain: None, facing: Some(&facing) };
        let (plain, smoothed) = (bake_texture(&cutout, 256), bake_relief_texture(&cutout, 256, &shading));
        let centre = |u: f32, v: f32| distance(u, v) < 0.5 * radius;
        let rim = |u: f32, v: f32| (0.96 * radius..0.99 * radius).contains(&distance(u, v));
        let (plain_rim, smoothed_rim) = (row_contrast(&plain, rim), row_contrast(&smoothed, rim));
        assert!(plain_rim > 60.0, "the stripes reach the outline unsmoothed: {plain_rim}");
        assert!(smoothed_rim < 0.2 * plain_rim, "the sides keep the streaks: {smoothed_rim} against {plain_rim}");
        // Where the ball faces the picture, its detail stays.
        let (plain_centre, smoothed_centre) = (row_contrast(&plain, centre), row_contrast(&smoothed, centre));
        assert!(smoothed_centre > 0.95 * plain_centre, "{smoothed_centre} against {plain_centre}");
    }
}
