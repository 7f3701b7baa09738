//! Refining a learned saliency map with the picture itself. A model such as U²-Net sees the
//! picture at 320 px and answers "where is the salient object" in soft, blurred strokes: it fills
//! real holes (the inside of a ring, a mug's handle) and smears thin parts. Here the map is
//! stretched over the picture, its edges are snapped to the picture's own edges with a colour
//! guided filter (He, Sun and Tang's local linear model, with box filters, so linear in the pixel
//! count), the largest object is kept, and background-coloured regions the object encloses become
//! holes again, by the same border colour model the built-in removal uses.

use image::RgbaImage;

use crate::mask::Mask;
use crate::resample::resample;

/// Longest side the refinement works at; larger pictures get its result resampled (softly) to
/// their size, which keeps the stage's cost bounded for 12-megapixel photos.
pub(crate) const REFINE_PX: usize = 1024;

/// A map value from which the map is trusted over the backdrop's colour.
const SURE: f32 = 0.9;

/// Whether a colour (RGB in 0..=1) is the backdrop's.
pub(crate) type IsBackground<'a> = &'a dyn Fn(&[f32; 3]) -> bool;

/// The probabilities (`width × height` of the map) refined against `image`: the object's coverage
/// per pixel of the picture. `holes` says whether a colour (RGB in 0..=1) is the background's, when
/// the picture's border has a colour model.
pub(crate) fn refine(image: &RgbaImage, map: (&[f32], usize, usize), holes: Option<IsBackground<'_>>) -> Vec<f32> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let scale = (REFINE_PX as f64 / width.max(height) as f64).min(1.0);
    let work = (((width as f64 * scale).round() as usize).max(1), ((height as f64 * scale).round() as usize).max(1));
    let guide = guide_of(image, work);
    let (values, map_width, map_height) = map;
    let mut soft = resample(values, 1, (map_width, map_height), work);
    // The backdrop's colour, judged once per pixel: for the flood fill and both hole tests.
    let plain = holes.map(|is_background| {
        Mask::from_fn(work.0, work.1, |x, y| {
            let index = 3 * (y * work.0 + x);
            is_background(&[guide[index], guide[index + 1], guide[index + 2]])
        })
    });
    // On a plain backdrop, what its colour joins to the picture's edge is backdrop where the map
    // is unsure (a map a little too wide, or stretched over a wide picture, leaks into it). Where
    // the map is sure, it wins: a white object on a white backdrop is of the backdrop's colours.
    if let Some(plain) = &plain {
        let unsure = Mask {
            width: work.0,
            height: work.1,
            cells: plain.cells.iter().zip(&soft).map(|(&backdrop, &value)| backdrop && value < SURE).collect(),
        };
        for (value, &outside) in soft.iter_mut().zip(&flood_from_edges(&unsure, &guide).cells) {
            if outside {
                *value = 0.0;
            }
        }
    }
    let hole_candidates = plain.map(|plain| plain.opened(1));
    // Holes next: the map fills them, and their colour must not join the object's colour model.
    if let Some(candidates) = &hole_candidates {
        let filled = Mask::from_fn(work.0, work.1, |x, y| soft[y * work.0 + x] >= 0.5).opened(1).largest_component();
        let mut holed = filled.clone();
        cut_holes(&mut holed, candidates);
        for ((value, &was), &is) in soft.iter_mut().zip(&filled.cells).zip(&holed.cells) {
            if was && !is {
                *value = 0.0;
            }
        }
    }
    let longest = work.0.max(work.1);
    // The band is a share of the picture, but never more than a third of the object's own
    // thickness: a rocket 20 px wide still has an inside to learn its colours from.
    let outline = Mask::from_fn(work.0, work.1, |x, y| soft[y * work.0 + x] >= 0.5);
    let band = (longest / 48).min(inscribed_radius(&outline) / 3).max(2);
    let settled = settle_band(&guide, &soft, &outline, band);
    let snapped = guided_filter(&guide, &settled, work, (longest / 256).max(2), 1e-3);

    let solid = Mask::from_fn(work.0, work.1, |x, y| snapped[y * work.0 + x] >= 0.5);
    // Thin rims and threads the band let through go, as in the built-in removal.
    let mut object = solid.opened((longest / 256).max(1)).largest_component();
    // Specks of background inside the object, smaller than a real hole, are the object's.
    let (labels, areas) = object.enclosed_regions();
    let min_hole_area = (object.area() / 400).max(9);
    for (cell, &label) in object.cells.iter_mut().zip(&labels) {
        if label != 0 && areas[label as usize - 1] < min_hole_area {
            *cell = true;
        }
    }
    if let Some(candidates) = &hole_candidates {
        cut_holes(&mut object, candidates);
    }
    let kept = object.dilated(1);
    let coverage: Vec<f32> = snapped
        .iter()
        .zip(&kept.cells)
        .zip(&object.cells)
        .map(|((&value, &near), &inside)| {
            if inside {
                value.clamp(0.5, 1.0)
            } else if near {
                value.clamp(0.0, 0.5)
            } else {
                0.0
            }
        })
        .collect();
    if work == (width, height) { coverage } else { resample(&coverage, 1, work, (width, height)) }
}

/// The map's uncertain band decided by colour. Pixels farther than `band` inside the map's
/// outline are the object's, farther outside the background's; colour models of both (k-means
/// in CIE Lab) then judge each pixel of the band between, weighted with the map's own guess. This
/// moves an outline the coarse map placed a few pixels off onto the picture's edge, which a
/// filter alone cannot do across a flat colour.
fn settle_band(guide: &[f32], soft: &[f32], outline: &Mask, band: usize) -> Vec<f32> {
    let (inner, outer) = (outline.eroded(band), outline.dilated(band));
    let lab: Vec<[f32; 3]> = (0..soft.len())
        .map(|index| {
            let rgb = [guide[3 * index], guide[3 * index + 1], guide[3 * index + 2]];
            crate::foreground::srgb_to_lab(rgb.map(|value| (value * 255.0).round().clamp(0.0, 255.0) as u8))
        })
        .collect();
    let samples = |pick: &dyn Fn(usize) -> bool| -> Vec<[f32; 3]> {
        let chosen: Vec<usize> = (0..soft.len()).filter(|&index| pick(index)).collect();
        let stride = (chosen.len() / 4000).max(1);
        chosen.iter().step_by(stride).map(|&index| lab[index]).collect()
    };
    let object = samples(&|index| inner.cells[index]);
    let background = samples(&|index| !outer.cells[index]);
    if object.len() < 16 || background.len() < 16 {
        return soft.to_vec();
    }
    let (object, background) = (kmeans(&object, 6), kmeans(&background, 6));
    let nearest = |centres: &[[f32; 3]], colour: [f32; 3]| {
        centres.iter().map(|centre| distance(*centre, colour)).fold(f32::MAX, f32::min)
    };
    (0..soft.len())
        .map(|index| {
            if inner.cells[index] {
                1.0
            } else if !outer.cells[index] {
                0.0
            } else {
                let (to_object, to_background) = (nearest(&object, lab[index]), nearest(&background, lab[index]));
                let by_colour = to_background / (to_object + to_background).max(1e-3);
                0.3 * soft[index] + 0.7 * by_colour
            }
        })
        .collect()
}

/// The radius of the largest disc inside `mask`, in pixels (a 3-4 chamfer distance transform: two
/// passes, within a few per cent of the Euclidean one).
fn inscribed_radius(mask: &Mask) -> usize {
    let (width, height) = (mask.width, mask.height);
    let far = u32::MAX / 2;
    let mut distance: Vec<u32> = mask.cells.iter().map(|&inside| if inside { far } else { 0 }).collect();
    let at = |distance: &[u32], x: isize, y: isize| -> u32 {
        if x < 0 || y < 0 || x >= width as isize || y >= height as isize {
            0
        } else {
            distance[y as usize * width + x as usize]
        }
    };
    for y in 0..height as isize {
        for x in 0..width as isize {
            let index = y as usize * width + x as usize;
            if distance[index] == 0 {
                continue;
            }
            let best = [
                (at(&distance, x - 1, y), 3),
                (at(&distance, x, y - 1), 3),
                (at(&distance, x - 1, y - 1), 4),
                (at(&distance, x + 1, y - 1), 4),
            ]
            .iter()
            .map(|&(value, step)| value + step)
            .min()
            .unwrap_or(far);
            distance[index] = distance[index].min(best);
        }
    }
    for y in (0..height as isize).rev() {
        for x in (0..width as isize).rev() {
            let index = y as usize * width + x as usize;
            if distance[index] == 0 {
                continue;
            }
            let best = [
                (at(&distance, x + 1, y), 3),
                (at(&distance, x, y + 1), 3),
                (at(&distance, x + 1, y + 1), 4),
                (at(&distance, x - 1, y + 1), 4),
            ]
            .iter()
            .map(|&(value, step)| value + step)
            .min()
            .unwrap_or(far);
            distance[index] = distance[index].min(best);
        }
    }
    (distance.iter().copied().max().unwrap_or(0) / 3) as usize
}

fn distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// Up to `k` colour centres of `colours` (Lloyd's iterations from centres spread by farthest
/// point).
fn kmeans(colours: &[[f32; 3]], k: usize) -> Vec<[f32; 3]> {
    let mut centres = vec![colours[0]];
    while centres.len() < k {
        let (farthest, gap) = colours
            .iter()
            .map(|&colour| centres.iter().map(|&centre| distance(centre, colour)).fold(f32::MAX, f32::min))
            .enumerate()
            .fold((0, 0.0f32), |best, (index, gap)| if gap > best.1 { (index, gap) } else { best });
        if gap < 2.0 {
            break;
        }
        centres.push(colours[farthest]);
    }
    for _ in 0..8 {
        let mut sums = vec![([0.0f64; 3], 0usize); centres.len()];
        for &colour in colours {
            let nearest = (0..centres.len())
                .min_by(|&a, &b| distance(centres[a], colour).total_cmp(&distance(centres[b], colour)))
                .unwrap_or(0);
            for (sum, value) in sums[nearest].0.iter_mut().zip(colour) {
                *sum += f64::from(value);
            }
            sums[nearest].1 += 1;
        }
        for (centre, (sum, count)) in centres.iter_mut().zip(&sums) {
            if *count > 0 {
                *centre = sum.map(|value| (value / *count as f64) as f32);
            }
        }
    }
    centres
}

/// The picture as linear-ish RGB in 0..=1 at `size`, three floats per pixel.
fn guide_of(image: &RgbaImage, size: (usize, usize)) -> Vec<f32> {
    let rgb: Vec<f32> =
        image.pixels().flat_map(|pixel| [pixel[0], pixel[1], pixel[2]].map(|value| f32::from(value) / 255.0)).collect();
    let full = (image.width() as usize, image.height() as usize);
    if size == full { rgb } else { resample(&rgb, 3, full, size) }
}

/// The pixels of the backdrop's colour (`plain`) joined to the picture's edge through such pixels,
/// stepping only across small colour differences of `guide` (RGB, 0..=1, three per pixel), a few
/// times the border's own: the fill follows the backdrop's gradients but stops at the object's
/// edge, even where the object is of a colour the backdrop has elsewhere (white on white).
fn flood_from_edges(plain: &Mask, guide: &[f32]) -> Mask {
    let (width, height) = (plain.width, plain.height);
    let on_edge = |index: usize| {
        let (x, y) = (index % width, index / width);
        x == 0 || y == 0 || x + 1 == width || y + 1 == height
    };
    let difference = |a: usize, b: usize| {
        let (a, b) = (&guide[3 * a..3 * a + 3], &guide[3 * b..3 * b + 3]);
        ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
    };
    let steps = (0..width * height)
        .filter(|&index| on_edge(index) && (index + 1) % width != 0 && index + 1 < width * height)
        .map(|index| difference(index, index + 1));
    let step = crate::foreground::step_limit(steps, (0.015, 0.04)).unwrap_or(0.03);
    Mask::flooded_by(plain, (0..width * height).filter(|&index| on_edge(index)), |from, to| difference(from, to) < step)
}

/// Regions of `candidates` (the backdrop's colour) inside `object` which do not reach its
/// outline are holes (the inside of a ring) when they are big enough; they are taken out.
fn cut_holes(object: &mut Mask, candidates: &Mask) {
    let min_hole_area = (object.area() / 400).max(9);
    object.cut_enclosed(candidates, min_hole_area);
}

/// The mean of each pixel's `(2·radius+1)²` window (clipped at the edges), one channel.
pub(crate) fn box_mean(values: &[f32], (width, height): (usize, usize), radius: usize) -> Vec<f32> {
    let mut rows = vec![0.0f32; values.len()];
    for y in 0..height {
        let row = &values[y * width..(y + 1) * width];
        let out = &mut rows[y * width..(y + 1) * width];
        let mut sum: f32 = row[..radius.min(width - 1) + 1].iter().sum();
        for x in 0..width {
            let (low, high) = (x.saturating_sub(radius), (x + radius).min(width - 1));
            out[x] = sum / (high - low + 1) as f32;
            if x + radius + 1 < width {
                sum += row[x + radius + 1];
            }
            if x >= radius {
                sum -= row[x - radius];
            }
        }
    }
    let mut out = vec![0.0f32; values.len()];
    let mut sums = vec![0.0f32; width];
    for y in 0..=radius.min(height - 1) {
        for (sum, value) in sums.iter_mut().zip(&rows[y * width..(y + 1) * width]) {
            *sum += value;
        }
    }
    for y in 0..height {
        let (low, high) = (y.saturating_sub(radius), (y + radius).min(height - 1));
        let count = (high - low + 1) as f32;
        for (target, sum) in out[y * width..(y + 1) * width].iter_mut().zip(&sums) {
            *target = sum / count;
        }
        if y + radius + 1 < height {
            let add = (y + radius + 1) * width;
            for (sum, value) in sums.iter_mut().zip(&rows[add..add + width]) {
                *sum += value;
            }
        }
        if y >= radius {
            let remove = (y - radius) * width;
            for (sum, value) in sums.iter_mut().zip(&rows[remove..remove + width]) {
                *sum -= value;
            }
        }
    }
    out
}

/// The colour guided filter: `p` filtered so its edges follow `guide`'s (three floats per pixel).
/// `epsilon` sets how strong an edge in the guide must be to be kept.
pub(crate) fn guided_filter(guide: &[f32], p: &[f32], size: (usize, usize), radius: usize, epsilon: f32) -> Vec<f32> {
    let count = size.0 * size.1;
    let channel = |c: usize| -> Vec<f32> { (0..count).map(|index| guide[3 * index + c]).collect() };
    let colours = [channel(0), channel(1), channel(2)];
    let mean = |values: &[f32]| box_mean(values, size, radius);
    let product = |a: &[f32], b: &[f32]| -> Vec<f32> { a.iter().zip(b).map(|(x, y)| x * y).collect() };
    let mean_i = [mean(&colours[0]), mean(&colours[1]), mean(&colours[2])];
    let mean_p = mean(p);
    let pairs = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)];
    let corr_ii: Vec<Vec<f32>> = pairs.iter().map(|&(a, b)| mean(&product(&colours[a], &colours[b]))).collect();
    let corr_ip: Vec<Vec<f32>> = colours.iter().map(|colour| mean(&product(colour, p))).collect();
    let mut a = [vec![0.0f32; count], vec![0.0f32; count], vec![0.0f32; count]];
    let mut b = vec![0.0f32; count];
    for index in 0..count {
        let mi = [mean_i[0][index], mean_i[1][index], mean_i[2][index]];
        let mp = mean_p[index];
        let covariance = |pair: usize| {
            let (x, y) = pairs[pair];
            corr_ii[pair][index] - mi[x] * mi[y] + if x == y { epsilon } else { 0.0 }
        };
        let (rr, rg, rb, gg, gb, bb) =
            (covariance(0), covariance(1), covariance(2), covariance(3), covariance(4), covariance(5));
        let cov_ip = [corr_ip[0][index] - mi[0] * mp, corr_ip[1][index] - mi[1] * mp, corr_ip[2][index] - mi[2] * mp];
        // The symmetric 3x3 inverse by cofactors.
        let inverse = [
            gg * bb - gb * gb,
            gb * rb - rg * bb,
            rg * gb - gg * rb,
            rr * bb - rb * rb,
            rb * rg - rr * gb,
            rr * gg - rg * rg,
        ];
        let determinant = rr * inverse[0] + rg * inverse[1] + rb * inverse[2];
        let coefficients = if determinant.abs() > 1e-12 {
            [
                (inverse[0] * cov_ip[0] + inverse[1] * cov_ip[1] + inverse[2] * cov_ip[2]) / determinant,
                (inverse[1] * cov_ip[0] + inverse[3] * cov_ip[1] + inverse[4] * cov_ip[2]) / determinant,
                (inverse[2] * cov_ip[0] + inverse[4] * cov_ip[1] + inverse[5] * cov_ip[2]) / determinant,
            ]
        } else {
            [0.0; 3]
        };
        for channel in 0..3 {
            a[channel][index] = coefficients[channel];
        }
        b[index] = mp - coefficients[0] * mi[0] - coefficients[1] * mi[1] - coefficients[2] * mi[2];
    }
    let mean_a = [mean(&a[0]), mean(&a[1]), mean(&a[2])];
    let mean_b = mean(&b);
    (0..count)
        .map(|index| {
            mean_a[0][index] * colours[0][index]
                + mean_a[1][index] * colours[1][index]
                + mean_a[2][index] * colours[2][index]
                + mean_b[index]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inscribed_radius_is_half_the_thickness() {
        let bar = Mask::from_fn(100, 60, |x, y| (10..90).contains(&x) && (20..40).contains(&y));
        assert_eq!(inscribed_radius(&bar), 10);
        assert_eq!(inscribed_radius(&Mask::filled(5, 5, false)), 0);
    }

    #[test]
    fn box_means_average_the_clipped_window() {
        let values: Vec<f32> = (0..12).map(|value| value as f32).collect();
        let means = box_mean(&values, (4, 3), 1);
        // Corner (0,0): the window holds 0, 1, 4, 5.
        assert!((means[0] - 2.5).abs() < 1e-5);
        // Centre (1,1): 0..=2, 4..=6, 8..=10.
        assert!((means[5] - 5.0).abs() < 1e-5);
        let wide = box_mean(&values, (4, 3), 10);
        assert!(wide.iter().all(|mean| (mean - 5.5).abs() < 1e-5), "{wide:?}");
    }

    #[test]
    fn the_guided_filter_snaps_a_blurred_map_to_the_pictures_edge() {
        // The picture: a sharp vertical edge at x = 40 (dark left, bright right). The map: a ramp
        // from x = 30 to x = 50, a blurred guess of that edge.
        let size = (80, 20);
        let guide: Vec<f32> = (0..size.0 * size.1)
            .flat_map(|index| if index % size.0 < 40 { [0.1, 0.2, 0.1] } else { [0.9, 0.8, 0.7] })
            .collect();
        let map: Vec<f32> =
            (0..size.0 * size.1).map(|index| ((index % size.0) as f32 - 30.0).clamp(0.0, 20.0) / 20.0).collect();
        let snapped = guided_filter(&guide, &map, size, 4, 1e-3);
        let row = &snapped[10 * size.0..11 * size.0];
        // The map rises by 0.05 a pixel; the filtered one jumps where the picture does, and
        // crosses one half there.
        assert!(row[40] - row[39] > 0.2, "no jump at the edge: {:?}", &row[30..50]);
        assert!(row[39] < 0.5 && row[40] > 0.5, "{:?}", &row[30..50]);
        assert!(
            row[..24].iter().all(|value| value.abs() < 0.05)
                && row[56..].iter().all(|value| (value - 1.0).abs() < 0.05),
            "{row:?}"
        );
    }
}
