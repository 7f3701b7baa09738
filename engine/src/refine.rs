//! Refining a learned saliency map with the picture itself. A model such as U²-Net sees the
//! picture at 320 px and answers "where is the salient object" in soft, blurred strokes: it fills
//! real holes (the inside of a ring, a mug's handle) and smears thin parts. Here the map is
//! stretched over the picture, its edges are snapped to the picture's own edges with a colour
//! guided filter (He, Sun and Tang's local linear model, with box filters, so linear in the pixel
//! count), contact shadows the map takes in are cut by the built-in removal's test, the largest
//! object is kept with the pieces the map joins to it (a table's leg it sees faintly where it meets
//! the top), background-coloured regions the object encloses become holes again, by the same
//! border colour model the built-in removal uses, and a coloured object's shadow fringe along its
//! outline is cut.

use image::RgbaImage;

use crate::mask::Mask;
use crate::resample::resample;

/// A map value from which the map is trusted over the backdrop's colour.
const SURE: f32 = 0.9;

/// A map value that joins pieces of the object it is sure of elsewhere.
const WEAK: f32 = 0.25;

/// The picture's backdrop, when its border has a colour model, judged at the work size.
pub(crate) struct Backdrop {
    /// Whether each pixel is of the backdrop's colours.
    pub(crate) plain: Mask,
    /// The picture in linear RGB, a colour per pixel.
    pub(crate) linear: Vec<[f32; 3]>,
    /// The picture in CIE Lab, a colour per pixel.
    pub(crate) lab: Vec<[f32; 3]>,
    /// The backdrop's colours in linear RGB, for its contact shadows.
    pub(crate) shades: Vec<[f32; 3]>,
}

/// The probabilities (`width × height` of the map) refined against `image`: the object's coverage
/// per pixel of the picture. `small` is the picture at the size the object is decided at (the
/// built-in removal's analysis size, or the picture itself when smaller): a larger picture gets
/// its outline at its own resolution all the same, as the guided filter's coefficients found at
/// that size are applied to the picture's own pixels (He and Sun's fast guided filter), while the
/// fills and hole tests cost what they cost at the small size. `backdrop` is the backdrop found
/// from the picture's border, when it has a colour model (for the fill, the holes and the shadows).
pub(crate) fn refine(
    image: &RgbaImage,
    small: &RgbaImage,
    map: (&[f32], usize, usize),
    backdrop: Option<&Backdrop>,
) -> Vec<f32> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let work = (small.width() as usize, small.height() as usize);
    let guide = guide_of(small);
    let (values, map_width, map_height) = map;
    let mut soft = resample(values, 1, (map_width, map_height), work);
    let plain = backdrop.map(|backdrop| &backdrop.plain);
    // On a plain backdrop, what its colour joins to the picture's edge is backdrop where the map
    // is unsure (a map a little too wide, or stretched over a wide picture, leaks into it). Where
    // the map is sure, it wins: a white object on a white backdrop is of the backdrop's colours.
    if let Some(plain) = plain {
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
    // Holes next: the map fills them, and the firm inside made below must not cover them.
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
    // thickness: a rocket 20 px wide still has a firm inside.
    let outline = Mask::from_fn(work.0, work.1, |x, y| soft[y * work.0 + x] >= 0.5);
    let band = (longest / 48).min(inscribed_radius(&outline) / 3).max(2);
    let settled = firm_outside_band(&soft, &outline, band);
    let coefficients = guided_coefficients(&guide, &settled, work, (longest / 256).max(2), 1e-3);
    let snapped = coefficients.applied(&guide);

    let solid = Mask::from_fn(work.0, work.1, |x, y| snapped[y * work.0 + x] >= 0.5);
    // Thin rims and threads the band let through go, as in the built-in removal.
    let mut opened = solid.opened((longest / 256).max(1));
    // A contact shadow is the backdrop's colour, darker, along the object's base: where the map
    // is unsure of it (it often takes a hard shadow in), it is backdrop, as in the built-in
    // removal. A black pawn's shadow on a white floor: IoU 0.941 without this, 0.983 with.
    if let Some(backdrop) = backdrop {
        let shadow = crate::grabcut::shadows(&opened, &backdrop.linear, &backdrop.shades);
        for ((cell, &shaded), &value) in opened.cells.iter_mut().zip(&shadow.cells).zip(&soft) {
            if shaded && value < SURE {
                *cell = false;
            }
        }
    }
    let mut object = with_its_parts(&opened, &soft);
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
    let peeled = backdrop.map(|backdrop| peel_shadow_fringe(&mut object, &backdrop.lab, longest));
    let mut kept = object.dilated(1);
    // A shadow pixel is not even partly the object's.
    if let Some(peeled) = &peeled {
        for (cell, &shadow) in kept.cells.iter_mut().zip(&peeled.cells) {
            *cell &= !shadow;
        }
    }
    if work != (width, height) {
        return at_full_size(image, &coefficients, &object, &kept);
    }
    snapped
        .iter()
        .zip(&kept.cells)
        .zip(&object.cells)
        .map(|((&value, &near), &inside)| covered(value, inside, inside, near))
        .collect()
}

/// How near the backdrop's chroma (Lab a, b) an outline pixel must be to be its shadow.
const FRINGE_CHROMA: f32 = 4.0;

/// How far from the backdrop's chroma the object beside it must be for its outline to be judged.
const OBJECT_CHROMA: f32 = 8.0;

/// Cuts the shadow fringe along a coloured object's outline: a pixel within the outline's last
/// `longest / 256` pixels that has the chroma of the backdrop around it and is darker than it,
/// where the object beside it is of a clearly other colour, is the object's shadow on the
/// backdrop, which a filter guided by the picture's edges keeps (a gold key's shadow meets its
/// dark lower edge with no edge between them). Grey, white and black objects are left alone:
/// their own pixels pass the same test. Returns the cells cut.
fn peel_shadow_fringe(object: &mut Mask, lab: &[[f32; 3]], longest: usize) -> Mask {
    let (width, height) = (object.width, object.height);
    let mut peeled = Mask::filled(width, height, false);
    if lab.len() != width * height {
        return peeled;
    }
    let outside = object.dilated(3);
    let inner = object.eroded(3);
    let band = object.eroded((longest / 256).max(1));
    // The share of a window of `radius` that `within`'s cells fill, and the mean of each of
    // `channels` over those cells.
    let local = |within: &dyn Fn(usize) -> bool, channels: &[usize], radius: usize| -> (Vec<f32>, Vec<Vec<f32>>) {
        let weights: Vec<f32> = (0..width * height).map(|index| f32::from(u8::from(within(index)))).collect();
        let share = box_mean(&weights, (width, height), radius);
        let means = channels
            .iter()
            .map(|&channel| {
                let values: Vec<f32> =
                    lab.iter().zip(&weights).map(|(colour, weight)| colour[channel] * weight).collect();
                let sum = box_mean(&values, (width, height), radius);
                sum.iter().zip(&share).map(|(sum, share)| sum / share.max(1.0e-6)).collect()
            })
            .collect();
        (share, means)
    };
    // The windows reach past the three cells kept clear either side of the outline.
    let (far, near) = ((longest / 32).max(6), (longest / 64).max(5));
    let (backdrop_share, backdrop) = local(&|index| !outside.cells[index], &[0, 1, 2], far);
    let (object_share, object_ab) = local(&|index| inner.cells[index], &[1, 2], near);
    let [backdrop_l, backdrop_a, backdrop_b] = [&backdrop[0], &backdrop[1], &backdrop[2]];
    let [object_a, object_b] = [&object_ab[0], &object_ab[1]];
    for index in 0..width * height {
        if !object.cells[index] || band.cells[index] || backdrop_share[index] <= 0.0 || object_share[index] <= 0.0 {
            continue;
        }
        let [l, a, b] = lab[index];
        let shade = (a - backdrop_a[index]).hypot(b - backdrop_b[index]) < FRINGE_CHROMA && l < backdrop_l[index];
        let coloured = (object_a[index] - backdrop_a[index]).hypot(object_b[index] - backdrop_b[index]) > OBJECT_CHROMA;
        if shade && coloured {
            object.cells[index] = false;
            peeled.cells[index] = true;
        }
    }
    peeled
}

/// A pixel's coverage from the filtered map's `value`: at least one half where the object is
/// (`all_inside`: every work cell under the pixel is the object's), the filter's own answer along
/// the object's outline (`any_inside`), at most one half just outside it (`near`), else none.
fn covered(value: f32, all_inside: bool, any_inside: bool, near: bool) -> f32 {
    if all_inside {
        value.clamp(0.5, 1.0)
    } else if any_inside {
        value.clamp(0.0, 1.0)
    } else if near {
        value.clamp(0.0, 0.5)
    } else {
        0.0
    }
}

/// The coverage of every pixel of `image`, from what was decided at the work size: the guided
/// filter's coefficients (bilinear between work cells) applied to the pixel's own colour, within
/// the object, its holes and its outline as the work cells under the pixel have them.
fn at_full_size(image: &RgbaImage, coefficients: &Coefficients, object: &Mask, kept: &Mask) -> Vec<f32> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    // Growing, each position has the two nearest work cells along each axis, and their weights.
    let pairs = |cells: usize, size: usize| -> Vec<[(usize, f32); 2]> {
        crate::resample::axis_footprints(cells, size)
            .into_iter()
            .map(|footprint| match footprint.as_slice() {
                [first, second] => [*first, *second],
                [only] => [*only, (only.0, 0.0)],
                _ => [(0, 0.0); 2],
            })
            .collect()
    };
    let (columns, rows) = (pairs(object.width, width), pairs(object.height, height));
    let planes = [&coefficients.a[0], &coefficients.a[1], &coefficients.a[2], &coefficients.b];
    let pixels = image.as_raw();
    let mut coverage = vec![0.0f32; width * height];
    for (y, row) in rows.iter().enumerate() {
        for (x, column) in columns.iter().enumerate() {
            let (mut all_inside, mut any_inside, mut near) = (true, false, false);
            let mut mixed = [0.0f32; 4];
            for &(cell_y, weight_y) in row {
                for &(cell_x, weight_x) in column {
                    let weight = weight_x * weight_y;
                    let cell = cell_y * object.width + cell_x;
                    if weight > 0.0 {
                        all_inside &= object.cells[cell];
                        any_inside |= object.cells[cell];
                        near |= kept.cells[cell];
                    }
                    for (sum, plane) in mixed.iter_mut().zip(planes) {
                        *sum += weight * plane[cell];
                    }
                }
            }
            if near {
                let pixel = &pixels[4 * (y * width + x)..4 * (y * width + x) + 3];
                let value = mixed[0] * f32::from(pixel[0]) / 255.0
                    + mixed[1] * f32::from(pixel[1]) / 255.0
                    + mixed[2] * f32::from(pixel[2]) / 255.0
                    + mixed[3];
                coverage[y * width + x] = covered(value, all_inside, any_inside, near);
            }
        }
    }
    coverage
}

/// The map made firm away from its outline: 1 farther than `band` inside it, 0 farther outside,
/// the map's own value in the band between, which the guided filter then snaps to the picture's
/// edges. (Deciding the band by colour models of the two sides, k-means in Lab, was measured
/// worse on every low-contrast scene and no better elsewhere: the map already knows better than
/// colours the backdrop shares with the object.)
fn firm_outside_band(soft: &[f32], outline: &Mask, band: usize) -> Vec<f32> {
    let (inner, outer) = (outline.eroded(band), outline.dilated(band));
    soft.iter()
        .zip(inner.cells.iter().zip(&outer.cells))
        .map(|(&value, (&inside, &near))| {
            if inside {
                1.0
            } else if near {
                value
            } else {
                0.0
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

/// The picture's RGB in 0..=1, three floats per pixel.
fn guide_of(image: &RgbaImage) -> Vec<f32> {
    image.pixels().flat_map(|pixel| [pixel[0], pixel[1], pixel[2]].map(|value| f32::from(value) / 255.0)).collect()
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

/// The colour guided filter's local linear model of `p` in `guide`'s colours (three floats per
/// pixel): per pixel, the window-averaged coefficients `a` (one per channel) and `b` of
/// `p ≈ a·colour + b`. `epsilon` sets how strong an edge in the guide must be to be kept.
pub(crate) struct Coefficients {
    a: [Vec<f32>; 3],
    b: Vec<f32>,
}

impl Coefficients {
    /// The filtered map: the model applied to `guide`, of the size it was found at.
    pub(crate) fn applied(&self, guide: &[f32]) -> Vec<f32> {
        guide
            .chunks_exact(3)
            .enumerate()
            .map(|(index, colour)| {
                self.a[0][index] * colour[0]
                    + self.a[1][index] * colour[1]
                    + self.a[2][index] * colour[2]
                    + self.b[index]
            })
            .collect()
    }
}

/// The guided filter's coefficients of `p` in `guide` (He, Sun and Tang), with box means of
/// `radius`.
pub(crate) fn guided_coefficients(
    guide: &[f32],
    p: &[f32],
    size: (usize, usize),
    radius: usize,
    epsilon: f32,
) -> Coefficients {
    let count = size.0 * size.1;
    let channel = |c: usize| -> Vec<f32> { (0..count).map(|index| guide[3 * index + c]).collect() };
    let colours = [channel(0), channel(1), channel(2)];
    let mean = |values: &[f32]| box_mean(values, size, radius);
    let product = |a: &[f32], b: &[f32]| -> Vec<f32> { a.iter().zip(b).map(|(x, y)| x * y).collect() };
    let pairs = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)];
    // The thirteen window means the model needs: the colours', the map's, and their products'.
    let mut jobs: Vec<Box<dyn Fn() -> Vec<f32> + Sync + '_>> = Vec::new();
    for colour in &colours {
        jobs.push(Box::new(move || mean(colour)));
    }
    jobs.push(Box::new(|| mean(p)));
    for &(first, second) in &pairs {
        let (first, second) = (&colours[first], &colours[second]);
        jobs.push(Box::new(move || mean(&product(first, second))));
    }
    for colour in &colours {
        jobs.push(Box::new(move || mean(&product(colour, p))));
    }
    let mut means = in_parallel(&jobs).into_iter();
    let mut next = || means.next().unwrap_or_default();
    let mean_i = [next(), next(), next()];
    let mean_p = next();
    let corr_ii: Vec<Vec<f32>> = (0..pairs.len()).map(|_| next()).collect();
    let corr_ip = [next(), next(), next()];
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
    let (a, b) = (&a, &b);
    let jobs: [Box<dyn Fn() -> Vec<f32> + Sync + '_>; 4] =
        [Box::new(|| mean(&a[0])), Box::new(|| mean(&a[1])), Box::new(|| mean(&a[2])), Box::new(|| mean(b))];
    let [a0, a1, a2, b]: [Vec<f32>; 4] = in_parallel(&jobs).try_into().unwrap_or_default();
    Coefficients { a: [a0, a1, a2], b }
}

/// Each of `jobs`' results, in order, computed on the machine's cores (the model before the
/// refinement used them all; the refinement would otherwise use one).
fn in_parallel<T: Send>(jobs: &[Box<dyn Fn() -> T + Sync + '_>]) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(jobs.len());
    if threads <= 1 {
        return jobs.iter().map(|job| job()).collect();
    }
    let mut results: Vec<Option<T>> = (0..jobs.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                scope.spawn(move || {
                    jobs.iter()
                        .enumerate()
                        .skip(worker)
                        .step_by(threads)
                        .map(|(index, job)| (index, job()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for worker in workers {
            for (index, result) in worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)) {
                results[index] = Some(result);
            }
        }
    });
    results.into_iter().flatten().collect()
}

/// The largest object of `solid`, with the other pieces of it the map (`soft`, per cell) joins to
/// it through weaker values (hysteresis, as in Canny's edges): a table's leg whose top the map sees
/// faintly. Pieces under 1% of the largest, and pieces the map does not join, are dropped (another
/// salient thing in a photograph is not the object). The joining cells themselves stay out: they
/// are where the picture's edges put the outline.
fn with_its_parts(solid: &Mask, soft: &[f32]) -> Mask {
    let (labels, areas) = solid.components();
    let Some((largest, &largest_area)) = areas.iter().enumerate().max_by_key(|&(_, &area)| area) else {
        return solid.clone();
    };
    let seed = labels.iter().position(|&label| label as usize == largest + 1);
    let weak = Mask::from_fn(solid.width, solid.height, |x, y| solid.get(x, y) || soft[y * solid.width + x] >= WEAK);
    let reached = Mask::flooded(&weak, seed);
    let least = largest_area / 100;
    Mask::from_fn(solid.width, solid.height, |x, y| {
        let index = y * solid.width + x;
        let label = labels[index];
        label != 0 && reached.cells[index] && areas[label as usize - 1] >= least
    })
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
    fn a_coloured_objects_shadow_fringe_is_cut_and_a_grey_objects_outline_is_not() {
        let n = 64;
        // A grey backdrop; the object's mask takes in its shadow, one pixel along its right side.
        let object = Mask::from_fn(n, n, |x, y| (20..=44).contains(&x) && (20..=44).contains(&y));
        let picture = |colour: [f32; 3]| -> Vec<[f32; 3]> {
            (0..n * n)
                .map(|index| {
                    let (x, y) = (index % n, index / n);
                    if x == 44 && (20..=44).contains(&y) {
                        [30.0, 0.5, -0.5]
                    } else if object.get(x, y) {
                        colour
                    } else {
                        [55.0, 0.0, 0.0]
                    }
                })
                .collect()
        };
        let mut gold = object.clone();
        let peeled = peel_shadow_fringe(&mut gold, &picture([60.0, 5.0, 30.0]), n);
        for y in 21..44 {
            assert!(peeled.get(44, y) && !gold.get(44, y), "the shadow at row {y} stays");
        }
        assert!(gold.get(20, 30) && gold.get(30, 20) && gold.get(43, 30), "the object's own outline goes");
        // A grey object is of the backdrop's chroma: its darker edge cannot be told from a shadow.
        let mut grey = object.clone();
        let peeled = peel_shadow_fringe(&mut grey, &picture([40.0, 0.0, 0.0]), n);
        assert_eq!(peeled.area(), 0);
        assert_eq!(grey.area(), object.area());
    }

    #[test]
    fn a_piece_the_map_joins_faintly_is_kept_and_a_separate_one_is_not() {
        // A table top (rows 10..20), a leg below it after a gap of rows 20..26 the map sees at
        // 0.35, and a blob off to the side with nothing between.
        let (width, height) = (60, 50);
        let top = |x: usize, y: usize| (5..45).contains(&x) && (10..20).contains(&y);
        let leg = |x: usize, y: usize| (8..12).contains(&x) && (26..45).contains(&y);
        let gap = |x: usize, y: usize| (8..12).contains(&x) && (20..26).contains(&y);
        let blob = |x: usize, y: usize| (52..58).contains(&x) && (30..40).contains(&y);
        let soft: Vec<f32> = (0..width * height)
            .map(|index| {
                let (x, y) = (index % width, index / width);
                if top(x, y) || leg(x, y) || blob(x, y) {
                    0.9
                } else if gap(x, y) {
                    0.35
                } else {
                    0.05
                }
            })
            .collect();
        let solid = Mask::from_fn(width, height, |x, y| top(x, y) || leg(x, y) || blob(x, y));
        let kept = with_its_parts(&solid, &soft);
        assert!(kept.get(10, 35), "the leg is dropped");
        assert!(kept.get(20, 15) && !kept.get(10, 22), "the top is kept, the faint joint is not made solid");
        assert!(!kept.get(55, 35), "the separate blob is kept");
        // Without the faint joint, the leg is another thing.
        let unjoined: Vec<f32> = soft.iter().map(|&value| if value == 0.35 { 0.05 } else { value }).collect();
        assert!(!with_its_parts(&solid, &unjoined).get(10, 35));
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
    fn a_large_pictures_outline_follows_its_own_pixels_not_the_work_size() {
        // 1024 px wide: dark left of x = 601, bright object from there (an odd column, so at the
        // 512 px work size the edge falls inside a pixel). The map is a blurred ramp around it.
        let picture = RgbaImage::from_fn(1024, 256, |x, _| {
            if x < 601 { image::Rgba([40, 50, 60, 255]) } else { image::Rgba([220, 200, 180, 255]) }
        });
        let small = crate::decode::shrunk(&picture, 512);
        assert_eq!(small.dimensions(), (512, 128));
        // Each of its 64 columns covers 16 pixels; the ramp crosses one half near x = 600.
        let map: Vec<f32> = (0..64 * 16)
            .map(|index| (((index % 64) * 16 + 8) as f32 - 600.0).clamp(-32.0, 32.0) / 64.0 + 0.5)
            .collect();
        let coverage = refine(&picture, &small, (&map, 64, 16), None);
        assert_eq!(coverage.len(), 1024 * 256);
        let row = &coverage[128 * 1024..129 * 1024];
        // At the picture's own edge, and the rise is there, between two pixels: a work-size
        // coverage stretched over the picture would rise as much over its neighbours too.
        assert!(row[600] < 0.5 && row[601] > 0.5, "the outline is not at the picture's edge: {:?}", &row[596..606]);
        let beside = (row[600] - row[599]).abs().max((row[602] - row[601]).abs());
        assert!(row[601] - row[600] > 4.0 * beside, "the outline is not the picture's edge: {:?}", &row[596..606]);
        assert!(row[..560].iter().all(|&value| value == 0.0) && row[640..].iter().all(|&value| value > 0.9));
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
        let snapped = guided_coefficients(&guide, &map, size, 4, 1e-3).applied(&guide);
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
