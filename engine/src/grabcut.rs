//! Colour-model segmentation for the built-in background removal, after Rother, Kolmogorov and
//! Blake's GrabCut: Gaussian mixtures of the object's and the background's colours, seeded from a
//! first mask, and a graph cut that trades how well each pixel fits either model against how
//! strongly the picture's edges separate neighbours; repeated while the labelling changes. Also
//! finds contact shadows: a darker region of the backdrop's own colour along the object's base,
//! which a flood fill from the border takes for part of the object.

use crate::error::Result;
use crate::mask::Mask;
use crate::maxflow::Graph;
use crate::progress::CancelFlag;

/// Gaussians per mixture, as in GrabCut.
const COMPONENTS: usize = 5;
/// The weight of agreeing with the picture's edges against fitting the colour models.
const SMOOTHNESS: f32 = 50.0;
/// Nats to integer capacity units.
const SCALE: f32 = 16.0;
/// Rounds of refitting the models and cutting again.
const ROUNDS: usize = 5;

/// One Gaussian of a mixture, in CIE Lab.
#[derive(Debug, Clone)]
struct Component {
    log_weight: f32,
    mean: [f32; 3],
    /// The inverse covariance, row by row.
    inverse: [f32; 9],
    /// `−½ ln((2π)³ |Σ|)`.
    log_norm: f32,
}

#[derive(Debug, Clone)]
struct Mixture {
    components: Vec<Component>,
}

impl Mixture {
    /// Fits one Gaussian per label in `0..COMPONENTS` to the samples carrying it.
    fn fit(samples: impl Iterator<Item = ([f32; 3], usize)>) -> Option<Self> {
        let mut count = [0usize; COMPONENTS];
        let mut sum = [[0f64; 3]; COMPONENTS];
        let mut products = [[0f64; 9]; COMPONENTS];
        for (colour, label) in samples {
            count[label] += 1;
            for row in 0..3 {
                sum[label][row] += f64::from(colour[row]);
                for column in 0..3 {
                    products[label][row * 3 + column] += f64::from(colour[row]) * f64::from(colour[column]);
                }
            }
        }
        let total: usize = count.iter().sum();
        if total == 0 {
            return None;
        }
        let mut components = Vec::new();
        for label in 0..COMPONENTS {
            if count[label] < 4 {
                continue;
            }
            let n = count[label] as f64;
            let mean = sum[label].map(|value| value / n);
            let mut covariance = [0f64; 9];
            for row in 0..3 {
                for column in 0..3 {
                    covariance[row * 3 + column] = products[label][row * 3 + column] / n - mean[row] * mean[column];
                }
                // Regularised: JPEG's flat areas would give a singular covariance.
                covariance[row * 4] += 1.0;
            }
            let (inverse, determinant) = invert(&covariance)?;
            components.push(Component {
                log_weight: (n / total as f64).ln() as f32,
                mean: mean.map(|value| value as f32),
                inverse: inverse.map(|value| value as f32),
                log_norm: (-0.5 * ((2.0 * std::f64::consts::PI).powi(3) * determinant).ln()) as f32,
            });
        }
        (!components.is_empty()).then_some(Self { components })
    }

    fn component_log_densities(&self, colour: [f32; 3]) -> impl Iterator<Item = f32> + '_ {
        self.components.iter().map(move |component| {
            let d = [colour[0] - component.mean[0], colour[1] - component.mean[1], colour[2] - component.mean[2]];
            let m = &component.inverse;
            let quadratic = d[0] * (m[0] * d[0] + m[1] * d[1] + m[2] * d[2])
                + d[1] * (m[3] * d[0] + m[4] * d[1] + m[5] * d[2])
                + d[2] * (m[6] * d[0] + m[7] * d[1] + m[8] * d[2]);
            component.log_weight + component.log_norm - 0.5 * quadratic
        })
    }

    /// `−ln p(colour)`.
    fn cost(&self, colour: [f32; 3]) -> f32 {
        let densities: Vec<f32> = self.component_log_densities(colour).collect();
        let peak = densities.iter().copied().fold(f32::MIN, f32::max);
        let sum: f32 = densities.iter().map(|&density| (density - peak).exp()).sum();
        -(peak + sum.ln())
    }

    fn likeliest(&self, colour: [f32; 3]) -> usize {
        self.component_log_densities(colour)
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(0, |(index, _)| index)
    }
}

fn invert(m: &[f64; 9]) -> Option<([f64; 9], f64)> {
    let cofactor = [
        m[4] * m[8] - m[5] * m[7],
        m[2] * m[7] - m[1] * m[8],
        m[1] * m[5] - m[2] * m[4],
        m[5] * m[6] - m[3] * m[8],
        m[0] * m[8] - m[2] * m[6],
        m[2] * m[3] - m[0] * m[5],
        m[3] * m[7] - m[4] * m[6],
        m[1] * m[6] - m[0] * m[7],
        m[0] * m[4] - m[1] * m[3],
    ];
    let determinant = m[0] * cofactor[0] + m[1] * cofactor[3] + m[2] * cofactor[6];
    (determinant > 1e-9).then(|| (cofactor.map(|value| value / determinant), determinant))
}

/// A first mixture for a set of colours: k-means from spread-out seeds, then one Gaussian each.
fn seed_mixture(colours: &[[f32; 3]]) -> Option<Mixture> {
    if colours.is_empty() {
        return None;
    }
    // Enough samples for the clusters, not every pixel.
    let stride = (colours.len() / 6000).max(1);
    let samples: Vec<[f32; 3]> = colours.iter().step_by(stride).copied().collect();
    let mean = average(samples.iter());
    // Farthest-point seeds: deterministic, and they find the rare colours too.
    let mut centres = vec![mean];
    let mut nearest: Vec<f32> = samples.iter().map(|&colour| distance2(colour, mean)).collect();
    while centres.len() < COMPONENTS {
        let (index, &far) = nearest.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
        if far < 1.0 {
            break;
        }
        centres.push(samples[index]);
        for (value, &colour) in nearest.iter_mut().zip(&samples) {
            *value = value.min(distance2(colour, samples[index]));
        }
    }
    let mut labels = vec![0usize; samples.len()];
    for _ in 0..6 {
        for (label, &colour) in labels.iter_mut().zip(&samples) {
            *label = closest(&centres, colour);
        }
        for (index, centre) in centres.iter_mut().enumerate() {
            let members = samples.iter().zip(&labels).filter(|&(_, &label)| label == index).map(|(colour, _)| colour);
            let members: Vec<&[f32; 3]> = members.collect();
            if !members.is_empty() {
                *centre = average(members.into_iter());
            }
        }
    }
    Mixture::fit(colours.iter().map(|&colour| (colour, closest(&centres, colour))))
}

fn closest(centres: &[[f32; 3]], colour: [f32; 3]) -> usize {
    centres
        .iter()
        .enumerate()
        .min_by(|a, b| distance2(*a.1, colour).total_cmp(&distance2(*b.1, colour)))
        .map_or(0, |(index, _)| index)
}

fn average<'a>(colours: impl Iterator<Item = &'a [f32; 3]>) -> [f32; 3] {
    let mut sum = [0f64; 3];
    let mut count = 0usize;
    for colour in colours {
        for channel in 0..3 {
            sum[channel] += f64::from(colour[channel]);
        }
        count += 1;
    }
    sum.map(|value| (value / count.max(1) as f64) as f32)
}

fn distance2(a: [f32; 3], b: [f32; 3]) -> f32 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

/// The object by colour-model segmentation of the Lab picture (`width × height`, row by row),
/// starting from `first` (the object as a flood fill from the border found it); `background` is
/// sure to be background (the border's backdrop, and what lies far from the first mask). `None`
/// when a model cannot be fitted (too few pixels of one kind).
pub(crate) fn segment(
    lab: &[[f32; 3]],
    width: usize,
    height: usize,
    first: &Mask,
    background: &Mask,
    cancel: &CancelFlag,
) -> Result<Option<Mask>> {
    let mut object: Vec<bool> =
        first.cells.iter().zip(&background.cells).map(|(&inside, &sure)| inside && !sure).collect();
    let edges = neighbour_weights(lab, width, height);
    for _ in 0..ROUNDS {
        cancel.check()?;
        let pick = |wanted: bool| -> Vec<[f32; 3]> {
            lab.iter().zip(&object).filter(|&(_, &inside)| inside == wanted).map(|(&colour, _)| colour).collect()
        };
        let (Some(object_model), Some(background_model)) = (seed_mixture(&pick(true)), seed_mixture(&pick(false)))
        else {
            return Ok(None);
        };
        // Each pixel joins the likeliest Gaussian of its own side's mixture; both are refitted.
        let refit = |model: &Mixture, wanted: bool| {
            Mixture::fit(
                lab.iter()
                    .zip(&object)
                    .filter(|&(_, &inside)| inside == wanted)
                    .map(|(&colour, _)| (colour, model.likeliest(colour))),
            )
        };
        let (Some(object_model), Some(background_model)) =
            (refit(&object_model, true), refit(&background_model, false))
        else {
            return Ok(None);
        };
        cancel.check()?;
        let mut graph = Graph::new(width * height);
        for (index, &colour) in lab.iter().enumerate() {
            if background.cells[index] {
                graph.set_terminals(index, 0, i32::MAX / 4);
                continue;
            }
            let as_object = object_model.cost(colour).clamp(-50.0, 50.0);
            let as_background = background_model.cost(colour).clamp(-50.0, 50.0);
            // Labelling a pixel background cuts its arc from the source (the object), and so on.
            let difference = ((as_background - as_object) * SCALE).round() as i32;
            graph.set_terminals(index, difference.max(0), (-difference).max(0));
        }
        for &(from, to, weight) in &edges {
            graph.add_edge(from, to, weight, weight);
        }
        let (side, _) = graph.min_cut();
        let changed = side.iter().zip(&object).filter(|&(a, b)| a != b).count();
        object = side;
        if changed * 500 < width * height {
            break;
        }
    }
    Ok(Some(Mask { width, height, cells: object }))
}

/// The pairs of 8-neighbours and how much separating them costs: much across a weak colour
/// difference, little across one of the picture's edges.
fn neighbour_weights(lab: &[[f32; 3]], width: usize, height: usize) -> Vec<(usize, usize, i32)> {
    let offsets: [(isize, isize, f32); 4] =
        [(1, 0, 1.0), (0, 1, 1.0), (1, 1, std::f32::consts::FRAC_1_SQRT_2), (-1, 1, std::f32::consts::FRAC_1_SQRT_2)];
    let mut pairs = Vec::with_capacity(width * height * 4);
    for y in 0..height {
        for x in 0..width {
            for &(dx, dy, _) in &offsets {
                let (nx, ny) = (x as isize + dx, y as isize + dy);
                if nx < 0 || nx >= width as isize || ny >= height as isize {
                    continue;
                }
                pairs.push((y * width + x, ny as usize * width + nx as usize));
            }
        }
    }
    let mean =
        pairs.iter().map(|&(a, b)| f64::from(distance2(lab[a], lab[b]))).sum::<f64>() / pairs.len().max(1) as f64;
    let beta = 1.0 / (2.0 * mean.max(1e-6)) as f32;
    pairs
        .into_iter()
        .map(|(a, b)| {
            let diagonal = a % width != b % width && a / width != b / width;
            let length = if diagonal { std::f32::consts::FRAC_1_SQRT_2 } else { 1.0 };
            let weight = SMOOTHNESS * length * (-beta * distance2(lab[a], lab[b])).exp();
            (a, b, (weight * SCALE).round() as i32)
        })
        .collect()
}

/// Contact shadows in `object` (the first mask): regions of `linear` (linear RGB) that are the
/// backdrop's colour darkened, joined to the outside, lying along the object's base and smooth.
/// `backdrop` holds the backdrop's colours in linear RGB.
pub(crate) fn shadows(object: &Mask, linear: &[[f32; 3]], backdrop: &[[f32; 3]]) -> Mask {
    let (width, height) = (object.width, object.height);
    let darker = |colour: [f32; 3]| {
        backdrop.iter().any(|&shade| {
            let norm = shade[0] * shade[0] + shade[1] * shade[1] + shade[2] * shade[2];
            if norm <= 1e-6 {
                return false;
            }
            let k = (colour[0] * shade[0] + colour[1] * shade[1] + colour[2] * shade[2]) / norm;
            let off = distance2(colour, [shade[0] * k, shade[1] * k, shade[2] * k]).sqrt();
            (0.15..0.97).contains(&k) && off < 0.1 * k * norm.sqrt() + 0.004
        })
    };
    let candidates = Mask::from_fn(width, height, |x, y| object.get(x, y) && darker(linear[y * width + x]));
    let Some((_, top, _, bottom)) = object.bounding_box() else {
        return Mask::filled(width, height, false);
    };
    let core = Mask::from_fn(width, height, |x, y| object.get(x, y) && !candidates.get(x, y));
    // An object mostly of the backdrop's colour, darker (brown on beige), leaves no body to tell
    // its shadow from: it keeps everything.
    if core.area() * 10 < object.area() * 4 {
        return Mask::filled(width, height, false);
    }
    let core_bottom = core.bounding_box().map_or(bottom, |(_, _, _, core_bottom)| core_bottom);
    let core_centre_y =
        core.cells.iter().enumerate().filter(|&(_, &set)| set).map(|(index, _)| (index / width) as f64).sum::<f64>()
            / core.area().max(1) as f64;
    let span = (bottom - top).max(1) as f32;
    let (labels, areas) = candidates.components();
    let mut touches_outside = vec![false; areas.len()];
    let mut sum_y = vec![0f64; areas.len()];
    let mut roughness = vec![0f64; areas.len()];
    for y in 0..height {
        for x in 0..width {
            let label = labels[y * width + x];
            if label == 0 {
                continue;
            }
            let region = label as usize - 1;
            sum_y[region] += y as f64;
            let outside = |nx: usize, ny: usize| !object.get(nx, ny);
            let on_edge = x == 0 || y == 0 || x + 1 == width || y + 1 == height;
            if on_edge || outside(x - 1, y) || outside(x + 1, y) || outside(x, y - 1) || outside(x, y + 1) {
                touches_outside[region] = true;
            }
            // Within the region only: its own edge against the backdrop is not texture.
            let here = luminance(linear[y * width + x]);
            for neighbour in [y * width + x + 1, (y + 1) * width + x] {
                if x + 1 < width && y + 1 < height && labels[neighbour] == label {
                    let step = (here - luminance(linear[neighbour])).abs() / here.max(0.02);
                    roughness[region] += f64::from(step) / 2.0;
                }
            }
        }
    }
    let shadow_regions: Vec<bool> = (0..areas.len())
        .map(|region| {
            let area = areas[region].max(1) as f64;
            let centre_y = sum_y[region] / area;
            // Along the base: below the body's middle, and in the lower part of the object or
            // below its body.
            let low = centre_y > core_centre_y
                && ((centre_y as f32 - top as f32) / span > 0.55 || centre_y as usize > core_bottom.saturating_sub(2));
            // A shadow is soft; a textured or printed part of the object is not.
            let smooth = roughness[region] / area < 0.08;
            touches_outside[region] && low && smooth && areas[region] >= 9
        })
        .collect();
    Mask {
        width,
        height,
        cells: labels.iter().map(|&label| label != 0 && shadow_regions[label as usize - 1]).collect(),
    }
}

fn luminance(colour: [f32; 3]) -> f32 {
    0.2126 * colour[0] + 0.7152 * colour[1] + 0.0722 * colour[2]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disc(width: usize, height: usize, cx: f32, cy: f32, radius: f32) -> Mask {
        Mask::from_fn(width, height, |x, y| (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) <= radius * radius)
    }

    #[test]
    fn the_cut_follows_a_low_contrast_object_from_a_rough_first_mask() {
        let (width, height) = (96, 96);
        let truth = disc(width, height, 48.0, 48.0, 24.0);
        // A light grey disc on a slightly lighter grey with noise: the kind of picture a flood fill
        // gets wrong.
        let mut seed = 7u32;
        let mut noise = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 16) as f32 / 65536.0 - 0.5
        };
        let lab: Vec<[f32; 3]> = truth
            .cells
            .iter()
            .map(|&inside| [if inside { 78.0 } else { 84.0 } + 2.0 * noise(), noise(), noise()])
            .collect();
        let first = disc(width, height, 44.0, 50.0, 30.0);
        let sure = Mask::from_fn(width, height, |x, y| x < 3 || y < 3 || x > 92 || y > 92);
        let object = segment(&lab, width, height, &first, &sure, &CancelFlag::new()).unwrap().unwrap();
        let overlap = object.cells.iter().zip(&truth.cells).filter(|&(&a, &b)| a && b).count();
        let union = object.cells.iter().zip(&truth.cells).filter(|&(&a, &b)| a || b).count();
        assert!(overlap as f32 / union as f32 > 0.95, "IoU {}", overlap as f32 / union as f32);
    }

    #[test]
    fn a_darker_patch_of_the_backdrop_below_the_object_is_its_shadow() {
        let (width, height) = (80, 80);
        let body = Mask::from_fn(width, height, |x, y| (30..50).contains(&x) && (20..60).contains(&y));
        let shadow =
            Mask::from_fn(width, height, |x, y| (30..66).contains(&x) && (56..64).contains(&y) && !body.get(x, y));
        let backdrop = [0.5, 0.45, 0.4];
        let linear: Vec<[f32; 3]> = (0..width * height)
            .map(|index| {
                if body.cells[index] {
                    [0.05, 0.2, 0.6]
                } else if shadow.cells[index] {
                    backdrop.map(|channel| channel * 0.55)
                } else {
                    backdrop
                }
            })
            .collect();
        let first = Mask::from_fn(width, height, |x, y| body.get(x, y) || shadow.get(x, y));
        let found = shadows(&first, &linear, &[backdrop]);
        assert_eq!(found.cells, shadow.cells);
        // A same-coloured part at the top of the object is not a shadow.
        let hat = Mask::from_fn(width, height, |x, y| (30..50).contains(&x) && (14..20).contains(&y));
        let mut with_hat = first.clone();
        let mut linear = linear;
        for ((colour, cell), &on_hat) in linear.iter_mut().zip(with_hat.cells.iter_mut()).zip(&hat.cells) {
            if on_hat {
                *cell = true;
                *colour = backdrop.map(|channel| channel * 0.55);
            }
        }
        let found = shadows(&with_hat, &linear, &[backdrop]);
        assert!(!found.cells.iter().zip(&hat.cells).any(|(&a, &b)| a && b));
    }
}
