//! A solid of revolution photographed from above: a vase or a tin on a table, the camera at a
//! standing person's eye. Each of its circular cross-sections is drawn as an ellipse whose height
//! is its width times the sine of the camera's angle, so its outline ends in two elliptical arcs,
//! the back of its top and the front of its base, of the same aspect. Read level, the same outline
//! revolves into a solid with a dome for a top and a round bottom, tipped towards the camera.
//!
//! Objects stand on a flat base, so an outline whose two ends are arcs of one aspect, between
//! [`MIN_ABOVE_DEG`] and [`MAX_ABOVE_DEG`], is read as seen from that angle (a ball, whose ends are
//! half circles, and a pawn, whose base is straight, are not). The solid is then the largest one of
//! revolution about the leaning axis that the outline holds: each disc as wide as its ellipse can
//! be without leaving the outline (the visual hull of one view and the symmetry). Along each line
//! of sight, where it enters and leaves the discs gives the middle `M` and the half depth `H` of
//! the `z = M ± H` height field that [`shape`](crate::shape) builds every solid as.

/// The least camera angle above the object read from the arcs, in degrees: below it a base drawn
/// a few cells high is not told from the antialiased corners of a flat one.
pub(crate) const MIN_ABOVE_DEG: f32 = 10.0;

/// The largest, in degrees: above it the ends are near half circles, as a ball's are.
pub(crate) const MAX_ABOVE_DEG: f32 = 60.0;

/// How far the two ends' aspects (the sines of the angle they give) may differ.
const MAX_ASPECT_GAP: f32 = 0.08;

/// How closely an end must follow its elliptical arc: root mean square, as a share of its width.
const MAX_CAP_MISFIT: f32 = 0.04;

/// The least share of the outline's height between the two ends' centres: an outline that is one
/// ellipse (an egg, a lentil on edge) has no body between its ends.
const MIN_BODY_SHARE: f32 = 0.15;

/// The rows between the discs' centres.
const DISC_STEP: f32 = 0.25;

/// A solid of revolution about an upright axis in the picture, seen from above.
#[derive(Debug, Clone)]
pub(crate) struct Overhead {
    /// The axis's column.
    axis_x: f32,
    /// The sine and cosine of the camera's angle above the object.
    sin: f32,
    cos: f32,
    /// The row of the first (top) disc's centre; the others follow every [`DISC_STEP`] rows.
    first_centre: f32,
    /// Each disc's radius.
    radii: Vec<f32>,
}

impl Overhead {
    /// The solid seen from above whose outline has, about the upright axis at column `axis_x`, the
    /// half widths `widths` (one per row, `(row, half width)`, top to bottom) and crosses the axis
    /// at rows `top` and `bottom`; none when its ends do not show a camera above it.
    pub(crate) fn of(axis_x: f32, widths: &[(f32, f32)], top: f32, bottom: f32) -> Option<Self> {
        let (top_height, top_width) = cap(widths.iter().map(|&(row, width)| (row - top, width)))?;
        let (bottom_height, bottom_width) = cap(widths.iter().rev().map(|&(row, width)| (bottom - row, width)))?;
        let (top_aspect, bottom_aspect) = (top_height / top_width, bottom_height / bottom_width);
        let range = MIN_ABOVE_DEG.to_radians().sin()..=MAX_ABOVE_DEG.to_radians().sin();
        tracing::debug!(top_aspect, bottom_aspect, "the ends' arcs");
        if !range.contains(&top_aspect) || !range.contains(&bottom_aspect) {
            return None;
        }
        if (top_aspect - bottom_aspect).abs() > MAX_ASPECT_GAP {
            return None;
        }
        let (first_centre, last_centre) = (top + top_height, bottom - bottom_height);
        if last_centre - first_centre < MIN_BODY_SHARE * (bottom - top) {
            return None;
        }
        let sin = (top_height + bottom_height) / (top_width + bottom_width);
        let cos = (1.0 - sin * sin).sqrt();
        let width_at = |row: f32| -> f32 {
            let (Some(&(start, _)), Some(&(end, _))) = (widths.first(), widths.last()) else { return 0.0 };
            if row < start || row > end {
                return 0.0;
            }
            let index = ((row - start).floor() as usize).min(widths.len() - 1);
            let next = (index + 1).min(widths.len() - 1);
            let fraction = row - start - index as f32;
            widths[index].1 + (widths[next].1 - widths[index].1) * fraction
        };
        // The widest disc centred on each row whose ellipse stays inside the outline (half a cell
        // of slack for the outline's own antialiasing): a smaller concentric ellipse of the same
        // aspect lies inside a larger one, so the widest is found by bisection.
        let count = ((last_centre - first_centre) / DISC_STEP).floor() as usize + 1;
        let radii = (0..count)
            .map(|index| {
                let centre = first_centre + index as f32 * DISC_STEP;
                let fits = |radius: f32| {
                    let reach = radius * sin;
                    let mut row = (centre - reach).ceil();
                    while row <= centre + reach {
                        let across = (row - centre) / reach.max(1.0e-6);
                        if radius * (1.0 - across * across).max(0.0).sqrt() > width_at(row) + 0.5 {
                            return false;
                        }
                        row += 1.0;
                    }
                    true
                };
                let (mut low, mut high) = (0.0f32, width_at(centre) + 0.5);
                if fits(high) {
                    return high;
                }
                for _ in 0..16 {
                    let middle = 0.5 * (low + high);
                    if fits(middle) { low = middle } else { high = middle }
                }
                low
            })
            .collect();
        Some(Self { axis_x, sin, cos, first_centre, radii })
    }

    /// The camera's angle above the object, in degrees.
    pub(crate) fn above_deg(&self) -> f32 {
        self.sin.asin().to_degrees()
    }

    /// The way up of the world, a unit vector in the picture's frame (x right, y down, z towards
    /// the camera) with depths `thickness` times the solid's: along the axis, up the picture and
    /// towards the camera.
    pub(crate) fn up(&self, thickness: f32) -> [f32; 3] {
        crate::linear::unit([0.0, -self.cos, self.sin * thickness])
    }

    /// The depth of the axis where the picture draws it at `row` (the middle disc's centre at
    /// depth 0; the axis comes nearer up the picture).
    fn axis_depth(&self, row: f32) -> f32 {
        let middle = self.first_centre + 0.5 * DISC_STEP * (self.radii.len() - 1) as f32;
        -(row - middle) * self.sin / self.cos
    }

    /// The middle between the solid's front and back along each cell's line of sight, and half
    /// the distance between them, on an `n`-wide square grid. A line of sight through the disc
    /// centred on row `c` meets its plane at depth `axis_depth(c) + cos·(y - c)/sin`, inside it when
    /// `(x - axis)² + ((y - c)/sin)² <= r²`. Where it misses every disc the half is 0 and the
    /// middle is carried on from the nearest cells that meet one, so the outline's vertices, which
    /// take it from cells on both sides, stay on the solid's rim.
    pub(crate) fn depths(&self, n: usize) -> (Vec<f32>, Vec<f32>) {
        let widest = self.radii.iter().copied().fold(0.0f32, f32::max);
        let reach = widest * self.sin;
        let mut middle = vec![0.0; n * n];
        let mut half = vec![0.0; n * n];
        let mut met = vec![false; n * n];
        for y in 0..n {
            let row = y as f32;
            let from = (((row - reach - self.first_centre) / DISC_STEP).floor().max(0.0)) as usize;
            let to = ((((row + reach - self.first_centre) / DISC_STEP).ceil().max(0.0)) as usize).min(self.radii.len());
            for x in 0..n {
                let index = y * n + x;
                let across = x as f32 - self.axis_x;
                let (mut near, mut far) = (f32::INFINITY, f32::NEG_INFINITY);
                for disc in from..to {
                    let centre = self.first_centre + disc as f32 * DISC_STEP;
                    let along = (row - centre) / self.sin;
                    let radius = self.radii[disc];
                    if across * across + along * along <= radius * radius {
                        let depth = self.axis_depth(centre) + self.cos * along;
                        near = near.min(depth);
                        far = far.max(depth);
                    }
                }
                if near <= far {
                    middle[index] = 0.5 * (near + far);
                    half[index] = 0.5 * (far - near);
                    met[index] = true;
                }
            }
        }
        carry_on(&mut middle, met, n);
        (middle, half)
    }
}

/// Gives each cell of an `n`-wide square grid not `known` the mean of its known neighbours (of the
/// four), ring after ring outwards from the known cells; with none known, the values stay.
fn carry_on(values: &mut [f32], mut known: Vec<bool>, n: usize) {
    let neighbours = |index: usize| {
        let (x, y) = (index % n, index / n);
        [
            (x > 0).then(|| index - 1),
            (x + 1 < n).then(|| index + 1),
            (y > 0).then(|| index - n),
            (y + 1 < n).then(|| index + n),
        ]
        .into_iter()
        .flatten()
    };
    let mut queued = known.clone();
    let mut ring: Vec<usize> = Vec::new();
    for index in (0..n * n).filter(|&index| known[index]) {
        for other in neighbours(index) {
            if !queued[other] {
                queued[other] = true;
                ring.push(other);
            }
        }
    }
    while !ring.is_empty() {
        let found: Vec<f32> = ring
            .iter()
            .map(|&index| {
                let (sum, count) = neighbours(index)
                    .filter(|&other| known[other])
                    .fold((0.0, 0.0), |(sum, count), other| (sum + values[other], count + 1.0));
                sum / count
            })
            .collect();
        for (&index, value) in ring.iter().zip(found) {
            values[index] = value;
            known[index] = true;
        }
        let mut next = Vec::new();
        for &index in &ring {
            for other in neighbours(index) {
                if !queued[other] {
                    queued[other] = true;
                    next.push(other);
                }
            }
        }
        ring = next;
    }
}

/// The elliptical arc an outline ends in: `(height, width)`, the arc's half height (from the end
/// to the widest row) and half width, read from `(distance from the end, half width)` pairs walking
/// into the object; none when the end is not such an arc. Of the heights tried, each with its
/// width fitted by least squares, the one the widths follow most closely is taken (an arc too
/// short or too long bends away from them), if within [`MAX_CAP_MISFIT`].
fn cap(widths: impl Iterator<Item = (f32, f32)>) -> Option<(f32, f32)> {
    let samples: Vec<(f32, f32)> = widths.filter(|&(distance, _)| distance >= 0.0).collect();
    let longest = samples.iter().map(|&(distance, _)| distance).fold(0.0f32, f32::max) / 2.0;
    let mut found = None;
    let mut height = 3.0;
    while height <= longest {
        let (mut along, mut squares, mut count) = (0.0f32, 0.0f32, 0usize);
        let arc = |distance: f32| (distance * (2.0 * height - distance)).max(0.0).sqrt() / height;
        for &(distance, width) in samples.iter().filter(|&&(distance, _)| distance <= height) {
            along += width * arc(distance);
            squares += arc(distance) * arc(distance);
            count += 1;
        }
        if count >= 4 && squares > 0.0 {
            let width = along / squares;
            let misfit = samples
                .iter()
                .filter(|&&(distance, _)| distance <= height)
                .map(|&(distance, measured)| (measured - width * arc(distance)).powi(2))
                .sum::<f32>()
                / count as f32;
            let misfit = misfit.sqrt() / width.max(1.0e-6);
            if width > 0.0 && misfit <= MAX_CAP_MISFIT && found.is_none_or(|(_, _, best)| misfit < best) {
                found = Some((height, width, misfit));
            }
        }
        height += 0.25;
    }
    found.map(|(height, width, _)| (height, width))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The half widths, row by row, of a cylinder of `radius` and `length` about a column seen
    /// from `above_deg` above, its base's centre drawn at row `base`; with the rows where its
    /// outline crosses the axis.
    fn cylinder(radius: f32, length: f32, above_deg: f32, base: f32) -> (Vec<(f32, f32)>, f32, f32) {
        let (sin, cos) = above_deg.to_radians().sin_cos();
        let (bottom, top) = (base + radius * sin, base - length * cos - radius * sin);
        let lid = base - length * cos;
        let widths = (top.ceil() as i32..=bottom.floor() as i32)
            .map(|row| {
                let row = row as f32;
                let ellipse = |centre: f32| {
                    let across = (row - centre) / (radius * sin);
                    radius * (1.0 - across * across).max(0.0).sqrt()
                };
                let width = if row < lid {
                    ellipse(lid)
                } else if row > base {
                    ellipse(base)
                } else {
                    radius
                };
                (row, width)
            })
            .collect();
        (widths, top, bottom)
    }

    #[test]
    fn a_cylinder_seen_from_above_is_read_with_the_cameras_angle() {
        for above in [15.0f32, 30.0, 45.0] {
            let (widths, top, bottom) = cylinder(40.0, 80.0, above, 200.0);
            let overhead = Overhead::of(128.0, &widths, top, bottom).expect("a tin seen from above");
            assert!((overhead.above_deg() - above).abs() < 2.5, "{above}°: read {}°", overhead.above_deg());
            // Every disc of a cylinder is as wide as it.
            let middle = overhead.radii.len() / 2;
            assert!((overhead.radii[middle] - 40.0).abs() < 1.5, "{}", overhead.radii[middle]);
            // The line of sight through the body's middle crosses it at the camera's angle.
            let (_, half) = overhead.depths(256);
            let body = (top + bottom) / 2.0;
            let through_body = half[body.round() as usize * 256 + 128];
            let expected = 40.0 / overhead.cos;
            assert!((through_body - expected).abs() < 0.1 * expected, "{above}°: {through_body}, not {expected}");
        }
    }

    #[test]
    fn a_level_cylinder_a_ball_and_an_egg_are_not_seen_from_above() {
        // Level: the ends are straight.
        let (widths, top, bottom) = cylinder(40.0, 80.0, 0.0, 200.0);
        assert!(Overhead::of(128.0, &widths, top - 0.5, bottom + 0.5).is_none());
        // A ball: its ends are half circles.
        let ball: Vec<(f32, f32)> = (60..=140)
            .map(|row| (row as f32, (40.0f32 * 40.0 - (row as f32 - 100.0).powi(2)).max(0.0).sqrt()))
            .collect();
        assert!(Overhead::of(128.0, &ball, 60.0, 140.0).is_none());
        // An ellipse twice as wide as high: both ends fit one aspect, but there is no body.
        let lentil: Vec<(f32, f32)> = (80..=120)
            .map(|row| (row as f32, 40.0 * (1.0 - ((row as f32 - 100.0) / 20.0).powi(2)).max(0.0).sqrt()))
            .collect();
        assert!(Overhead::of(128.0, &lentil, 80.0, 120.0).is_none());
    }
}
