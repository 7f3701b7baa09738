//! Finding the object: from the alpha channel, a mask image, or by removing a plain background;
//! then cropping and recentring it into a square frame.

use image::{DynamicImage, RgbaImage};

use crate::decode::decode_dynamic;
use crate::error::{EngineError, Result};
use crate::mask::Mask;
use crate::options::{Background, DecodeLimits};
use crate::progress::CancelFlag;

/// The object cut out of the picture, recentred in a square frame.
#[derive(Debug, Clone)]
pub struct Cutout {
    /// The square crop's colours; transparent where the frame extends past the picture.
    pub rgba: RgbaImage,
    /// Object coverage per pixel of `rgba`, in `0.0..=1.0` (soft along the outline).
    pub coverage: Vec<f32>,
    /// Where the mask came from.
    pub source: MaskSource,
    /// What the user should know about the mask (a best effort on a hard picture).
    pub warnings: Vec<String>,
}

impl Cutout {
    /// Side of the square frame in pixels.
    pub fn side(&self) -> u32 {
        self.rgba.width()
    }
}

/// Where a foreground mask came from, recorded in the generation record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskSource {
    /// The image's own alpha channel.
    Alpha,
    /// Automatic removal of a plain background.
    BackgroundRemoval,
    /// A mask image the caller supplied.
    MaskImage,
    /// The whole picture.
    WholeImage,
    /// A learned segmentation model.
    Segmentation,
}

/// A learned foreground model, run by the caller's inference runtime (the engine runs none): the
/// object's probability at each pixel of the picture stretched to the mask's size.
pub trait Segmenter: Send + Sync + std::fmt::Debug {
    /// The model's name, for the generation record.
    fn name(&self) -> &str;
    /// The probabilities for `image` (0 = background, 1 = object).
    fn segment(&self, image: &RgbaImage) -> std::result::Result<SoftMask, String>;
}

/// Per-pixel object probabilities, row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct SoftMask {
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// `width × height` probabilities in 0..=1.
    pub values: Vec<f32>,
    /// A coarse saliency map (U²-Net's) to be refined with the picture: edges snapped to the
    /// picture's, enclosed background-coloured regions made holes. `false` for an alpha matte
    /// that already follows the picture.
    pub refine: bool,
}

/// A model's output plane (`what`: "mask", "depth map") must hold `width × height` values, and some.
pub(crate) fn check_plane(width: u32, height: u32, values: usize, what: &str) -> std::result::Result<(), String> {
    if width == 0 || height == 0 || values != width as usize * height as usize {
        return Err(format!("it returned {values} values for a {width}x{height} {what}"));
    }
    Ok(())
}

/// Coverage from a segmentation model. A saliency map (`refine`) is refined with the picture
/// (`refine.rs`: edges snapped to the picture's, the largest object, enclosed background-coloured
/// regions as holes); a matte is stretched back to the picture, thresholded at one half and
/// cleaned like the built-in removal (small specks and all but the largest object dropped). Soft
/// values are kept along the outline.
fn segmented_coverage(image: &RgbaImage, segmenter: &dyn Segmenter) -> Result<Vec<f32>> {
    let failed = |reason: String| EngineError::Segmentation { model: segmenter.name().to_owned(), reason };
    let soft = segmenter.segment(image).map_err(failed)?;
    check_plane(soft.width, soft.height, soft.values.len(), "mask").map_err(failed)?;
    let values: Vec<f32> =
        soft.values.iter().map(|value| if value.is_finite() { value.clamp(0.0, 1.0) } else { 0.0 }).collect();
    let (width, height) = (image.width() as usize, image.height() as usize);
    if soft.refine {
        let small = crate::decode::shrunk(image, ANALYSIS_PX);
        let (small_width, small_height) = (small.width() as usize, small.height() as usize);
        let border = border_pixels(small_width, small_height, (small_width.min(small_height) / 100).max(2));
        let samples: Vec<([f32; 3], u8)> = border
            .iter()
            .map(|&(index, sides)| {
                let pixel = small.get_pixel((index % small_width) as u32, (index / small_width) as u32);
                (srgb_to_lab([pixel[0], pixel[1], pixel[2]]), sides)
            })
            .collect();
        let model = BackgroundModel::fit(&samples);
        // Stricter than the built-in removal: the model already found the object, and a
        // low-contrast one must not be taken for the backdrop.
        let backdrop = model.map(|model| {
            let lab: Vec<[f32; 3]> = small.pixels().map(|pixel| srgb_to_lab([pixel[0], pixel[1], pixel[2]])).collect();
            let linear: Vec<[f32; 3]> =
                small.pixels().map(|pixel| [pixel[0], pixel[1], pixel[2]].map(srgb_to_linear)).collect();
            let indices: Vec<usize> = border.iter().map(|&(index, _)| index).collect();
            crate::refine::Backdrop {
                plain: Mask {
                    width: small_width,
                    height: small_height,
                    cells: lab.iter().map(|&colour| model.distance(colour) < model.tolerance * 0.6).collect(),
                },
                shades: model.linear_centres(&indices, &lab, &linear),
                linear,
                lab,
            }
        });
        return Ok(crate::refine::refine(
            image,
            &small,
            (&values, soft.width as usize, soft.height as usize),
            backdrop.as_ref(),
        ));
    }
    let stretched = crate::resample::resample(&values, 1, (soft.width as usize, soft.height as usize), (width, height));
    let solid = Mask::from_fn(width, height, |x, y| stretched[y * width + x] >= 0.5);
    let object = solid.opened(1).largest_component().dilated(1);
    Ok(stretched.iter().zip(&object.cells).map(|(&value, &kept)| if kept { value } else { 0.0 }).collect())
}

/// Longest side of the image the automatic background removal looks at. Finer detail is restored
/// by resampling the mask softly to the full image.
const ANALYSIS_PX: u32 = 512;

/// Finds the object in `image` and recentres it so its longer side fills `foreground_ratio` of a
/// square frame.
pub fn extract_foreground(
    image: &RgbaImage,
    has_alpha: bool,
    background: &Background,
    limits: &DecodeLimits,
    foreground_ratio: f32,
    cancel: &CancelFlag,
) -> Result<Cutout> {
    extract_foreground_with(image, has_alpha, background, None, limits, foreground_ratio, cancel)
}

/// [`extract_foreground`], with a segmentation model finding the object when the background is
/// `Auto` (an explicit mask or `Keep` still wins).
pub fn extract_foreground_with(
    image: &RgbaImage,
    has_alpha: bool,
    background: &Background,
    segmenter: Option<&dyn Segmenter>,
    limits: &DecodeLimits,
    foreground_ratio: f32,
    cancel: &CancelFlag,
) -> Result<Cutout> {
    let found = object_coverage(image, has_alpha, background, segmenter, limits, cancel)?;
    cancel.check()?;
    let mut cutout = recentre(image, &found.values, foreground_ratio, found.source)?;
    cutout.warnings = found.warnings;
    Ok(cutout)
}

/// The object's coverage of a picture, as [`object_coverage`] finds it.
#[derive(Debug, Clone)]
pub struct ObjectCoverage {
    /// Coverage of each pixel, 0..=1, row by row.
    pub values: Vec<f32>,
    /// Where it came from.
    pub source: MaskSource,
    /// What the user should know about it (a best effort on a hard picture).
    pub warnings: Vec<String>,
}

/// The object's coverage of each pixel of `image` (0..=1, row by row) as
/// [`extract_foreground_with`] finds it, and where it came from: what a mask preview or a
/// remover's benchmark compares.
pub fn object_coverage(
    image: &RgbaImage,
    has_alpha: bool,
    background: &Background,
    segmenter: Option<&dyn Segmenter>,
    limits: &DecodeLimits,
    cancel: &CancelFlag,
) -> Result<ObjectCoverage> {
    let (values, source) = match (background, segmenter) {
        // A picture that carries its own mask needs no model.
        (Background::Auto, Some(segmenter)) => match alpha_coverage(image, has_alpha) {
            Some(coverage) => (coverage, MaskSource::Alpha),
            None => (segmented_coverage(image, segmenter)?, MaskSource::Segmentation),
        },
        _ => return plain_coverage(image, has_alpha, background, limits, cancel),
    };
    Ok(ObjectCoverage { values, source, warnings: Vec::new() })
}

fn plain_coverage(
    image: &RgbaImage,
    has_alpha: bool,
    background: &Background,
    limits: &DecodeLimits,
    cancel: &CancelFlag,
) -> Result<ObjectCoverage> {
    let found = |values, source| ObjectCoverage { values, source, warnings: Vec::new() };
    let removed = || -> Result<ObjectCoverage> {
        let (values, warnings) = remove_background(image, cancel)?;
        Ok(ObjectCoverage { values, source: MaskSource::BackgroundRemoval, warnings })
    };
    Ok(match background {
        Background::Keep => found(vec![1.0; pixel_count(image)], MaskSource::WholeImage),
        Background::Mask { name, bytes } => found(mask_coverage(image, name, bytes, limits)?, MaskSource::MaskImage),
        Background::Builtin => removed()?,
        Background::Auto => match alpha_coverage(image, has_alpha) {
            Some(coverage) => found(coverage, MaskSource::Alpha),
            None => removed()?,
        },
    })
}

fn pixel_count(image: &RgbaImage) -> usize {
    image.width() as usize * image.height() as usize
}

/// The alpha channel as coverage, when it carries a real mask: some pixels clearly transparent and
/// some clearly opaque. Specks far smaller than the object are dropped.
fn alpha_coverage(image: &RgbaImage, has_alpha: bool) -> Option<Vec<f32>> {
    if !has_alpha {
        return None;
    }
    let total = pixel_count(image);
    let transparent = image.pixels().filter(|pixel| pixel[3] < 128).count();
    // A fully opaque alpha channel, or one with only a few soft pixels, is not a mask.
    if transparent * 200 < total {
        return None;
    }
    let solid = Mask::from_fn(image.width() as usize, image.height() as usize, |x, y| {
        image.get_pixel(x as u32, y as u32)[3] >= 128
    });
    let (_, areas) = solid.components();
    let largest = areas.iter().copied().max().unwrap_or(0);
    let kept = solid.without_specks((largest / 100).max(4)).dilated(1);
    Some(
        image
            .pixels()
            .zip(&kept.cells)
            .map(|(pixel, &keep)| if keep { f32::from(pixel[3]) / 255.0 } else { 0.0 })
            .collect(),
    )
}

/// Coverage from a mask image: its alpha channel if that carries a mask, else its brightness.
fn mask_coverage(image: &RgbaImage, name: &str, bytes: &[u8], limits: &DecodeLimits) -> Result<Vec<f32>> {
    let mask = decode_dynamic(bytes, name, limits)?;
    let has_alpha = mask.color().has_alpha();
    let mask_rgba = mask.to_rgba8();
    let use_alpha = has_alpha && mask_rgba.pixels().any(|pixel| pixel[3] < 128);
    let grey = if use_alpha {
        image::GrayImage::from_fn(mask_rgba.width(), mask_rgba.height(), |x, y| {
            image::Luma([mask_rgba.get_pixel(x, y)[3]])
        })
    } else {
        DynamicImage::ImageRgba8(mask_rgba).to_luma8()
    };
    let (width, height) = image.dimensions();
    let (mask_width, mask_height) = grey.dimensions();
    let grey = if (mask_width, mask_height) == (width, height) {
        grey
    } else {
        let aspect_difference = (f64::from(mask_width) * f64::from(height) - f64::from(mask_height) * f64::from(width))
            .abs()
            / (f64::from(mask_height) * f64::from(width));
        if aspect_difference > 0.01 {
            return Err(EngineError::MaskMismatch { mask_width, mask_height, width, height });
        }
        image::imageops::resize(&grey, width, height, image::imageops::FilterType::Triangle)
    };
    Ok(grey.pixels().map(|pixel| f32::from(pixel[0]) / 255.0).collect())
}

/// Removes a plain or near-uniform background: a colour model of the image border and a flood
/// fill from the border give a first mask; contact shadows (the backdrop's colour, darker, along
/// the object's base) are taken out of it; a colour-model segmentation with a graph cut
/// (`grabcut.rs`) then finds the outline; the largest object and real holes are kept. Returns
/// the coverage and any warnings (a best effort on a low-contrast picture).
fn remove_background(image: &RgbaImage, cancel: &CancelFlag) -> Result<(Vec<f32>, Vec<String>)> {
    let small = crate::decode::shrunk(image, ANALYSIS_PX);
    let (width, height) = (small.width() as usize, small.height() as usize);
    if width < 8 || height < 8 {
        return Err(EngineError::NoObject {
            reason: format!("the image is only {width}x{height} px, too small to find an object in"),
        });
    }
    let lab: Vec<[f32; 3]> = small.pixels().map(|pixel| srgb_to_lab([pixel[0], pixel[1], pixel[2]])).collect();
    let border_with_sides = border_pixels(width, height, (width.min(height) / 100).max(2));
    let border: Vec<usize> = border_with_sides.iter().map(|&(index, _)| index).collect();
    let model =
        BackgroundModel::fit(&border_with_sides.iter().map(|&(index, sides)| (lab[index], sides)).collect::<Vec<_>>())
            .ok_or_else(|| EngineError::NoObject {
                reason: "the background is not plain (its border has no dominant colour)".to_owned(),
            })?;
    cancel.check()?;
    let distances: Vec<f32> = lab.iter().map(|&colour| model.distance(colour)).collect();
    let radius = (width.max(height) / 256).max(1);
    let least_area = (width * height) / 2000 + 16;
    let mut warnings = Vec::new();

    // A first mask: a flood fill from the border through background-coloured pixels, stepping
    // only across small colour differences (of the picture smoothed a little, against JPEG's
    // noise): it follows the backdrop's gradients and soft shadows but stops at the object's edge,
    // even where the object's colour is one the backdrop has elsewhere. An object close to the
    // backdrop's colour everywhere vanishes at the usual tolerance; a tighter one finds it.
    let smooth = box_blur(&lab, width, height);
    let step = backdrop_step(&smooth, width, &border);
    let mut tolerance = model.tolerance;
    let (plain, object) = loop {
        let plain = Mask { width, height, cells: distances.iter().map(|&distance| distance < tolerance).collect() };
        let background =
            Mask::flooded_by(&plain, border.iter().copied(), |from, to| delta_e(smooth[from], smooth[to]) < step);
        let object = background.inverted().opened(radius).closed(radius).largest_component();
        if object.area() >= least_area {
            break (plain, object);
        }
        if tolerance <= 4.0 {
            return Err(EngineError::NoObject { reason: "everything looks like background".to_owned() });
        }
        tolerance = (tolerance * 0.5).max(4.0);
        if warnings.is_empty() {
            warnings.push(low_contrast_warning(model.tolerance));
        }
    };
    cancel.check()?;
    if object.area() * 1000 > width * height * 995 {
        return Err(EngineError::NoObject {
            reason: "nothing in the picture stands out from the background colour".to_owned(),
        });
    }

    // Where the fill leaked into the object (white on white: its shading runs smoothly into the
    // backdrop's), little of it is left: start instead from a frame around whatever differs from
    // the backdrop at all, as GrabCut starts from a rectangle, and say it is a best effort.
    let mut frame = None;
    let object = if object.area() * 60 < width * height || tolerance < model.tolerance {
        match edge_frame(&smooth, width, height, step) {
            Some((x0, y0, x1, y1)) if (x1 - x0) * (y1 - y0) >= least_area * 4 => {
                let margin = ((x1 - x0).max(y1 - y0) / 25).max(2);
                let (x0, y0) = (x0.saturating_sub(margin), y0.saturating_sub(margin));
                let (x1, y1) = ((x1 + margin).min(width - 1), (y1 + margin).min(height - 1));
                frame = Some((x0, y0, x1, y1));
                if warnings.is_empty() {
                    warnings.push(low_contrast_warning(model.tolerance));
                }
                Mask::from_fn(width, height, |x, y| (x0..=x1).contains(&x) && (y0..=y1).contains(&y))
            }
            _ => object,
        }
    } else {
        object
    };
    let inside_frame =
        |x: usize, y: usize| frame.is_none_or(|(x0, y0, x1, y1)| (x0..=x1).contains(&x) && (y0..=y1).contains(&y));

    // Contact shadows are the backdrop, darker: out of the first mask before the colour models
    // learn them as the object's.
    let linear: Vec<[f32; 3]> =
        small.pixels().map(|pixel| [pixel[0], pixel[1], pixel[2]].map(srgb_to_linear)).collect();
    let backdrop = model.linear_centres(&border, &lab, &linear);
    let mut on_border = Mask::filled(width, height, false);
    for &index in &border {
        on_border.cells[index] = true;
    }
    let shadow = crate::grabcut::shadows(&object, &linear, &backdrop);
    let mut first = Mask::from_fn(width, height, |x, y| object.get(x, y) && !shadow.get(x, y)).largest_component();
    // The backdrop seen through holes (a ring's inside, which no fill from the border reaches)
    // must not teach the object's colour model: regions of the backdrop's colour, parted from
    // the outline by an edge, start as background. The cut then decides.
    let clearly_plain =
        Mask { width, height, cells: distances.iter().map(|&distance| distance < tolerance * 0.5).collect() };
    let first_area = first.area();
    first.cut_enclosed_by(&clearly_plain, (first_area / 400).max(9), |from, to| {
        delta_e(smooth[from], smooth[to]) < step
    });

    // The outline by colour models and a graph cut, in a window around the first mask; what
    // lies outside it, and the border's backdrop, is background for sure.
    let refined = match first.bounding_box() {
        Some((x0, y0, x1, y1)) => {
            let margin = ((x1 - x0).max(y1 - y0) / 8).max(8);
            let (left, top) = (x0.saturating_sub(margin), y0.saturating_sub(margin));
            let (right, bottom) = ((x1 + margin + 1).min(width), (y1 + margin + 1).min(height));
            let (window_width, window_height) = (right - left, bottom - top);
            let window_lab: Vec<[f32; 3]> = (top..bottom)
                .flat_map(|y| (left..right).map(move |x| (x, y)))
                .map(|(x, y)| lab[y * width + x])
                .collect();
            let sure = Mask::from_fn(window_width, window_height, |x, y| {
                let index = (y + top) * width + x + left;
                (on_border.cells[index] && plain.cells[index])
                    || shadow.cells[index]
                    || !inside_frame(x + left, y + top)
            });
            let window_first = first.cropped(left, top, window_width, window_height);
            crate::grabcut::segment(&window_lab, window_width, window_height, &window_first, &sure, cancel)?.map(
                |cut| {
                    Mask::from_fn(width, height, |x, y| {
                        (left..right).contains(&x) && (top..bottom).contains(&y) && cut.get(x - left, y - top)
                    })
                },
            )
        }
        None => None,
    };
    let mut object = match refined.map(|mask| mask.opened(radius).closed(radius).largest_component()) {
        // A cut that lost most of the first mask found something else: keep the first.
        Some(mask) if (frame.is_some() || mask.area() * 2 >= first.area()) && mask.area() >= least_area => mask,
        _ => first,
    };

    // Background-coloured regions inside the object that do not reach the outside are real holes
    // (the inside of a ring) when they are big enough; smaller ones are part of the object.
    let object_area = object.area();
    object.cut_enclosed(&plain, (object_area / 400).max(9));
    // The hole test above works on the cleaned mask; fill what was not a real hole too.
    let object = object.opened(radius).largest_component();
    cancel.check()?;
    Ok((upsample_mask(&object, image.width() as usize, image.height() as usize), warnings))
}

/// The bounding box of the picture's edges (steps well over the backdrop's own), the strokes of
/// a few pixels and more: where the object is when its colours are the backdrop's.
fn edge_frame(smooth: &[[f32; 3]], width: usize, height: usize, step: f32) -> Option<(usize, usize, usize, usize)> {
    let edges = Mask::from_fn(width, height, |x, y| {
        let index = y * width + x;
        (x + 1 < width && delta_e(smooth[index], smooth[index + 1]) > step * 1.5)
            || (y + 1 < height && delta_e(smooth[index], smooth[index + width]) > step * 1.5)
    });
    edges.dilated(1).without_specks((width * height / 4000).max(4)).bounding_box()
}

/// A 3×3 box blur of a Lab picture (edges clamped), channel by channel.
fn box_blur(lab: &[[f32; 3]], width: usize, height: usize) -> Vec<[f32; 3]> {
    let channels: Vec<Vec<f32>> = (0..3)
        .map(|channel| {
            let plane: Vec<f32> = lab.iter().map(|colour| colour[channel]).collect();
            crate::refine::box_mean(&plane, (width, height), 1)
        })
        .collect();
    (0..lab.len()).map(|index| [channels[0][index], channels[1][index], channels[2][index]]).collect()
}

/// How far apart two neighbouring pixels of the backdrop may be and still be backdrop (ΔE, of the
/// smoothed picture): a few times the border's own typical step, within bounds.
fn backdrop_step(smooth: &[[f32; 3]], width: usize, border: &[usize]) -> f32 {
    let steps = border
        .iter()
        .filter(|&&index| index + 1 < smooth.len() && (index + 1) % width != 0)
        .map(|&index| delta_e(smooth[index], smooth[index + 1]));
    step_limit(steps, (1.5, 4.0)).unwrap_or(3.0)
}

/// The largest colour step a fill through the backdrop may take: four times the 75th percentile
/// of the steps between neighbours along the border (its noise and gradient), within `bounds`;
/// `None` without steps. The built-in removal (in ΔE) and the refinement (in RGB) share it.
pub(crate) fn step_limit(steps: impl Iterator<Item = f32>, bounds: (f32, f32)) -> Option<f32> {
    let mut steps: Vec<f32> = steps.collect();
    steps.sort_by(f32::total_cmp);
    steps.get(steps.len() * 3 / 4).map(|&typical| (typical * 4.0).clamp(bounds.0, bounds.1))
}

/// The built-in removal's best effort on a picture whose object is close to the backdrop's colour.
fn low_contrast_warning(tolerance: f32) -> String {
    format!(
        "the object's colour is close to the background's (within {tolerance:.0} ΔE): the outline is a best effort; \
         check it, or give a mask (--mask) or install a learned remover (3dgpt models install u2netp)"
    )
}

/// An sRGB channel as linear light, from a table (a `powf` per channel was most of a Lab
/// conversion's cost).
pub(crate) fn srgb_to_linear(channel: u8) -> f32 {
    static TABLE: std::sync::LazyLock<[f32; 256]> = std::sync::LazyLock::new(|| {
        std::array::from_fn(|channel| {
            let value = channel as f32 / 255.0;
            if value <= 0.04045 { value / 12.92 } else { ((value + 0.055) / 1.055).powf(2.4) }
        })
    });
    TABLE[usize::from(channel)]
}

/// Resamples a binary mask to a larger size with bilinear weights, so the outline comes out soft.
fn upsample_mask(mask: &Mask, width: usize, height: usize) -> Vec<f32> {
    let scale_x = mask.width as f32 / width as f32;
    let scale_y = mask.height as f32 / height as f32;
    let value = |x: isize, y: isize| -> f32 {
        let x = x.clamp(0, mask.width as isize - 1) as usize;
        let y = y.clamp(0, mask.height as isize - 1) as usize;
        f32::from(u8::from(mask.get(x, y)))
    };
    let mut out = Vec::with_capacity(width * height);
    for y in 0..height {
        let source_y = (y as f32 + 0.5) * scale_y - 0.5;
        let y0 = source_y.floor();
        let fy = source_y - y0;
        for x in 0..width {
            let source_x = (x as f32 + 0.5) * scale_x - 0.5;
            let x0 = source_x.floor();
            let fx = source_x - x0;
            let (x0, y0i) = (x0 as isize, y0 as isize);
            let top = value(x0, y0i) * (1.0 - fx) + value(x0 + 1, y0i) * fx;
            let bottom = value(x0, y0i + 1) * (1.0 - fx) + value(x0 + 1, y0i + 1) * fx;
            out.push(top * (1.0 - fy) + bottom * fy);
        }
    }
    out
}

/// Indices of the pixels within `band` of the image edge, each with the sides it lies on (bits:
/// 1 top, 2 bottom, 4 left, 8 right).
fn border_pixels(width: usize, height: usize, band: usize) -> Vec<(usize, u8)> {
    let band = band.min(width / 2).min(height / 2).max(1);
    (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .filter_map(|(x, y)| {
            let sides = u8::from(y < band)
                | u8::from(y + band >= height) << 1
                | u8::from(x < band) << 2
                | u8::from(x + band >= width) << 3;
            (sides != 0).then_some((y * width + x, sides))
        })
        .collect()
}

/// A few dominant colours of the border, in CIE Lab, and how far from them a pixel may be and
/// still count as background.
#[derive(Debug)]
struct BackgroundModel {
    centres: Vec<[f32; 3]>,
    tolerance: f32,
}

impl BackgroundModel {
    /// Clusters the border's colours greedily; returns `None` when no small set of colours covers
    /// most of the border (a busy background). A colour counts as background only where it runs
    /// along at least two sides: an object cut off by one edge of the picture must not become
    /// background.
    fn fit(samples: &[([f32; 3], u8)]) -> Option<Self> {
        const JOIN_DISTANCE: f32 = 10.0;
        let mut sums: Vec<([f64; 3], usize)> = Vec::new();
        let mut side_counts: Vec<[usize; 4]> = Vec::new();
        let mut centres: Vec<[f32; 3]> = Vec::new();
        let mut side_totals = [0usize; 4];
        for &(_, sides) in samples {
            for (side, total) in side_totals.iter_mut().enumerate() {
                *total += usize::from(sides >> side & 1);
            }
        }
        let add_sides = |counts: &mut [usize; 4], sides: u8| {
            for (side, count) in counts.iter_mut().enumerate() {
                *count += usize::from(sides >> side & 1);
            }
        };
        let colours: Vec<[f32; 3]> = samples.iter().map(|&(colour, _)| colour).collect();
        for &(colour, sides) in samples {
            let nearest = centres
                .iter()
                .enumerate()
                .map(|(index, &centre)| (index, delta_e(colour, centre)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            match nearest {
                Some((index, distance)) if distance < JOIN_DISTANCE => {
                    let (sum, count) = &mut sums[index];
                    for channel in 0..3 {
                        sum[channel] += f64::from(colour[channel]);
                    }
                    *count += 1;
                    add_sides(&mut side_counts[index], sides);
                    let count = *count as f64;
                    centres[index] = [(sum[0] / count) as f32, (sum[1] / count) as f32, (sum[2] / count) as f32];
                }
                _ if centres.len() < 32 => {
                    sums.push(([f64::from(colour[0]), f64::from(colour[1]), f64::from(colour[2])], 1));
                    let mut counts = [0; 4];
                    add_sides(&mut counts, sides);
                    side_counts.push(counts);
                    centres.push(colour);
                }
                _ => {}
            }
        }
        let total = samples.len().max(1);
        let along_two_sides =
            |counts: &[usize; 4]| (0..4).filter(|&side| counts[side] * 10 >= side_totals[side].max(1)).count() >= 2;
        let mut kept: Vec<([f32; 3], usize)> = centres
            .into_iter()
            .zip(sums.iter().map(|(_, count)| *count))
            .zip(&side_counts)
            .filter(|&((_, count), counts)| count * 20 >= total && along_two_sides(counts))
            .map(|(kept, _)| kept)
            .collect();
        kept.sort_by_key(|&(_, count)| std::cmp::Reverse(count));
        kept.truncate(4);
        let covered: usize = kept.iter().map(|&(_, count)| count).sum();
        if kept.is_empty() || covered * 10 < total * 7 {
            return None;
        }
        let centres: Vec<[f32; 3]> = kept.into_iter().map(|(centre, _)| centre).collect();
        // The tolerance grows with the border's own spread (noise, gradients), within bounds.
        let mut spread: Vec<f32> = colours
            .iter()
            .map(|&colour| centres.iter().map(|&centre| delta_e(colour, centre)).fold(f32::MAX, f32::min))
            .collect();
        spread.sort_by(f32::total_cmp);
        let p90 = spread[(spread.len() * 9 / 10).min(spread.len() - 1)];
        let tolerance = (p90 * 2.0 + 6.0).clamp(12.0, 30.0);
        Some(Self { centres, tolerance })
    }

    fn distance(&self, colour: [f32; 3]) -> f32 {
        self.centres.iter().map(|&centre| delta_e(colour, centre)).fold(f32::MAX, f32::min)
    }

    /// The backdrop's colours in linear RGB: the mean of the border pixels nearest each centre.
    fn linear_centres(&self, border: &[usize], lab: &[[f32; 3]], linear: &[[f32; 3]]) -> Vec<[f32; 3]> {
        let mut sums = vec![([0f64; 3], 0usize); self.centres.len()];
        for &index in border {
            let Some((nearest, distance)) = self
                .centres
                .iter()
                .map(|&centre| delta_e(lab[index], centre))
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1))
            else {
                continue;
            };
            if distance < self.tolerance {
                let (sum, count) = &mut sums[nearest];
                for channel in 0..3 {
                    sum[channel] += f64::from(linear[index][channel]);
                }
                *count += 1;
            }
        }
        sums.into_iter()
            .filter(|&(_, count)| count > 0)
            .map(|(sum, count)| sum.map(|value| (value / count as f64) as f32))
            .collect()
    }
}

fn delta_e(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// sRGB (D65) to CIE L*a*b*.
pub(crate) fn srgb_to_lab(rgb: [u8; 3]) -> [f32; 3] {
    let linear = rgb.map(srgb_to_linear);
    let x = (0.4124 * linear[0] + 0.3576 * linear[1] + 0.1805 * linear[2]) / 0.950_47;
    let y = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
    let z = (0.0193 * linear[0] + 0.1192 * linear[1] + 0.9505 * linear[2]) / 1.088_83;
    let f = |t: f32| {
        if t > 0.008_856 { t.cbrt() } else { 7.787 * t + 16.0 / 116.0 }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// Crops a square around the object so its longer side fills `foreground_ratio` of the frame.
fn recentre(image: &RgbaImage, coverage: &[f32], foreground_ratio: f32, source: MaskSource) -> Result<Cutout> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let solid = Mask { width, height, cells: coverage.iter().map(|&value| value >= 0.5).collect() };
    let area = solid.area();
    let Some((x0, y0, x1, y1)) = solid.bounding_box().filter(|_| area >= 16) else {
        return Err(EngineError::NoObject {
            reason: match source {
                MaskSource::MaskImage => "the mask is empty (no white or opaque pixels)".to_owned(),
                MaskSource::Alpha => "the image is fully transparent".to_owned(),
                _ => "the object is too small".to_owned(),
            },
        });
    };
    let longest = (x1 - x0).max(y1 - y0) as f32;
    let side = ((longest / foreground_ratio).ceil() as usize).max(longest as usize).max(8);
    // Centre of the bounding box in doubled pixel units keeps the crop exact and deterministic.
    let left = (x0 + x1) as isize / 2 - side as isize / 2;
    let top = (y0 + y1) as isize / 2 - side as isize / 2;
    let mut rgba = RgbaImage::new(side as u32, side as u32);
    let mut cut_coverage = vec![0.0f32; side * side];
    for y in 0..side {
        let source_y = top + y as isize;
        if source_y < 0 || source_y >= height as isize {
            continue;
        }
        for x in 0..side {
            let source_x = left + x as isize;
            if source_x < 0 || source_x >= width as isize {
                continue;
            }
            let source_index = source_y as usize * width + source_x as usize;
            let pixel = *image.get_pixel(source_x as u32, source_y as u32);
            rgba.put_pixel(x as u32, y as u32, pixel);
            cut_coverage[y * side + x] = coverage[source_index];
        }
    }
    Ok(Cutout { rgba, coverage: cut_coverage, source, warnings: Vec::new() })
}
