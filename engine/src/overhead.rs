//! A solid of revolution photographed from above: a vase or a tin on a table, the camera at a
//! standing person's eye. Each of its circular cross-sections is drawn as an ellipse whose height
//! is its width times the sine of the angle it is seen at, so its outline ends in two elliptical
//! arcs, the back of its top and the front of its base: of one aspect through a long lens, the
//! base's the steeper through a short one. Read level, the same outline revolves into a solid with
//! a dome for a top and a round bottom, tipped towards the camera.
//!
//! Objects stand on a flat base, so an outline whose two ends are such arcs, seen from between
//! [`MIN_ABOVE_DEG`] and [`MAX_ABOVE_DEG`], is read as seen from above (a ball, whose ends are
//! half circles, and a pawn, whose base is straight, are not). The two ends' angles give the
//! camera's, and how much more steeply the base is seen gives the lens's focal length, its axis
//! taken through the cutout's middle. The solid is then the largest one of revolution about the
//! leaning axis that the outline holds: each disc as wide as its ellipse can be without leaving
//! the outline (the visual hull of one view and the symmetry). Along each line of sight, where it
//! enters and leaves the discs gives the middle `M` and the half depth `H` of the `z = M ± H`
//! height field that [`shape`](crate::shape) builds every solid as, in the picture's frame that
//! [`Lens::unproject`] takes the mesh out of.

use crate::shape::Lens;

/// The least camera angle above the object read from the arcs, in degrees: below it a base drawn
/// a few cells high is not told from the antialiased corners of a flat one.
const MIN_ABOVE_DEG: f32 = 10.0;

/// The largest, in degrees: above it the ends are near half circles, as a ball's are.
const MAX_ABOVE_DEG: f32 = 60.0;

/// How much more steeply than the top the base may be seen and the lens still be taken for a long
/// one, in degrees (measuring noise).
const MAX_ANGLE_GAP_DEG: f32 = 3.0;

/// The shortest lens a camera is taken to have: one over its focal length, times the outline's
/// height (a focal length of half the object's height in the picture sees it across 90°).
const MAX_INVERSE_FOCAL: f32 = 2.0;

/// How closely an end must follow its elliptical arc: root mean square, as a share of its width.
const MAX_CAP_MISFIT: f32 = 0.04;

/// The least share of the outline's height between the two ends' centres: an outline that is one
/// ellipse (an egg, a lentil on edge) has no body between its ends.
const MIN_BODY_SHARE: f32 = 0.15;

/// The rows between the discs' centres. Each disc gives a line of cells one depth, so the solid's
/// surface is a staircase of them; a quarter of a row apart, a step could leave a run of cells
/// exactly level that the simplifier could not always close (the 85 mm tin of the lens set).
const DISC_STEP: f32 = 0.125;

/// A solid of revolution about an upright axis in the picture, seen from above, through a lens
/// whose axis meets the picture at `principal` (orthographic when `inverse_focal` is 0).
#[derive(Debug, Clone)]
pub(crate) struct Overhead {
    /// The axis's column.
    axis_x: f32,
    /// Where the lens's axis meets the picture, and one over its focal length (grid cells).
    principal: [f32; 2],
    inverse_focal: f32,
    /// The sine and cosine of the angle the lens's axis looks down at.
    sin: f32,
    cos: f32,
    /// The discs: their centres (x and y in the picture's units at depth 0, z the depth towards
    /// the camera), radii, and the picture's rows each one's ellipse covers.
    discs: Vec<Disc>,
}

/// One cross-section of the solid.
#[derive(Debug, Clone, Copy)]
struct Disc {
    centre: [f32; 3],
    radius: f32,
    rows: (f32, f32),
}

impl Overhead {
    /// The solid seen from above whose outline has, about the upright axis at column `axis_x`, the
    /// half widths `widths` (one per row, `(row, half width)`, top to bottom) and crosses the axis
    /// at rows `top` and `bottom`; none when its ends do not show a camera above it. The lens's
    /// axis is taken through `principal` (the cutout's middle): each end's arc gives the angle the
    /// camera sees it at, and a short lens sees the base more steeply than the top, by the angle
    /// between the two ends' lines of sight, which gives its focal length.
    pub(crate) fn of(axis_x: f32, widths: &[(f32, f32)], top: f32, bottom: f32, principal: [f32; 2]) -> Option<Self> {
        let (top_height, top_width) = cap(widths.iter().map(|&(row, width)| (row - top, width)))?;
        let (bottom_height, bottom_width) = cap(widths.iter().rev().map(|&(row, width)| (bottom - row, width)))?;
        let (top_aspect, bottom_aspect) = (top_height / top_width, bottom_height / bottom_width);
        tracing::debug!(top_aspect, bottom_aspect, "the ends' arcs");
        let range = MIN_ABOVE_DEG.to_radians().sin()..=MAX_ABOVE_DEG.to_radians().sin();
        if !range.contains(&top_aspect) || !range.contains(&bottom_aspect) {
            return None;
        }
        let (first_centre, last_centre) = (top + top_height, bottom - bottom_height);
        if last_centre - first_centre < MIN_BODY_SHARE * (bottom - top) {
            return None;
        }
        // The angle each end is seen at; a long lens sees both alike, a short one the base more
        // steeply: atan(w·(row - principal)) apart from the lens's axis.
        let (top_angle, bottom_angle) = (top_aspect.asin(), bottom_aspect.asin());
        let rows = (first_centre - principal[1], last_centre - principal[1]);
        let spread = |w: f32| (w * rows.1).atan() - (w * rows.0).atan();
        let gap = bottom_angle - top_angle;
        if gap < -MAX_ANGLE_GAP_DEG.to_radians() {
            // The top seen more steeply than the base: not a camera above a standing solid.
            return None;
        }
        let inverse_focal = if gap <= MAX_ANGLE_GAP_DEG.to_radians() {
            0.0
        } else {
            let widest = MAX_INVERSE_FOCAL / widths.len().max(1) as f32;
            if spread(widest) < gap {
                return None;
            }
            let (low, high) = bisect(0.0, widest, 32, |w| spread(w) < gap);
            0.5 * (low + high)
        };
        // With no lens the two ends' angles are weighed by their arcs' sizes.
        let pitch = if inverse_focal > 0.0 {
            top_angle - (inverse_focal * rows.0).atan()
        } else {
            ((top_height + bottom_height) / (top_width + bottom_width)).asin()
        };
        let (sin, cos) = pitch.sin_cos();
        let aspect = |row: f32| (pitch + (inverse_focal * (row - principal[1])).atan()).sin();
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
        // The widest ellipse centred on each row that stays inside the outline (half a cell of
        // slack for the outline's own antialiasing): a smaller concentric ellipse of the same
        // aspect lies inside a larger one, so the widest is found by bisection.
        let count = ((last_centre - first_centre) / DISC_STEP).floor() as usize + 1;
        let middle_row = 0.5 * (first_centre + last_centre);
        let overhead = Self { axis_x, principal, inverse_focal, sin, cos, discs: Vec::new() };
        let discs = (0..count)
            .map(|index| {
                let row = first_centre + index as f32 * DISC_STEP;
                let squash = aspect(row);
                let fits = |radius: f32| {
                    let reach = radius * squash;
                    let mut at = (row - reach).ceil();
                    while at <= row + reach {
                        let across = (at - row) / reach.max(1.0e-6);
                        if radius * (1.0 - across * across).max(0.0).sqrt() > width_at(at) + 0.5 {
                            return false;
                        }
                        at += 1.0;
                    }
                    true
                };
                let widest = width_at(row) + 0.5;
                let high = if fits(widest) { widest } else { bisect(0.0, widest, 16, fits).0 };
                // The centre: where the line of sight through the row's point of the axis meets
                // the axis (through the middle row's point at depth 0, along the world's up).
                let centre = overhead.on_axis(row, middle_row);
                let radius = high * (1.0 - inverse_focal * centre[2]);
                // The rows its nearest and farthest points are drawn on (through a short lens the
                // near half of its ellipse is drawn taller than the far half), a row beyond each.
                let drawn = |sign: f32| {
                    let [y, z] = [centre[1] + sign * radius * sin, centre[2] + sign * radius * cos];
                    principal[1] + (y - principal[1]) / (1.0 - inverse_focal * z).max(1.0e-3)
                };
                let (far, near) = (drawn(-1.0), drawn(1.0));
                Disc { centre, radius, rows: (far.min(near) - 1.0, far.max(near) + 1.0) }
            })
            .collect();
        Some(Self { discs, ..overhead })
    }

    /// The camera's angle above the object (the lens's axis's), in degrees.
    pub(crate) fn above_deg(&self) -> f32 {
        self.sin.asin().to_degrees()
    }

    /// The way up of the world, a unit vector in the picture's frame (x right, y down, z towards
    /// the camera) with depths `thickness` times the solid's: along the axis, up the picture and
    /// towards the camera.
    pub(crate) fn up(&self, thickness: f32) -> [f32; 3] {
        crate::linear::unit([0.0, -self.cos, self.sin * thickness])
    }

    /// The lens, when it is not a long one, with depths `thickness` times the solid's (vertex
    /// coordinates: a cell's centre at its index plus a half).
    pub(crate) fn lens(&self, thickness: f32) -> Option<Lens> {
        Lens::on_grid(self.principal, self.inverse_focal, thickness)
    }

    /// The line of sight through the picture's point `(x, y)`: `(x, y, 0) + z·sight`.
    fn sight(&self, x: f32, y: f32) -> [f32; 3] {
        let w = self.inverse_focal;
        [-(x - self.principal[0]) * w, -(y - self.principal[1]) * w, 1.0]
    }

    /// Where the line of sight through the axis's point on `row` meets the axis, the line along
    /// the world's up through the middle row's point at depth 0.
    fn on_axis(&self, row: f32, middle_row: f32) -> [f32; 3] {
        // The axis: (axis_x, middle_row - cos·h, sin·h); the sight: (row + sight_y·z, z).
        let sight = self.sight(self.axis_x, row);
        let h = (row - middle_row) / (-self.cos - sight[1] * self.sin);
        [self.axis_x, middle_row - self.cos * h, self.sin * h]
    }

    /// The middle between the solid's front and back along each cell's line of sight, and half
    /// the distance between them (depths towards the camera), on an `n`-wide square grid. The
    /// line of sight meets a disc's plane where `((x, y, 0) - centre + z·sight)·up = 0`, inside it
    /// when that point is within the radius of the centre. Where it misses every disc the half is
    /// 0 and the middle is carried on from the nearest cells that meet one, so the outline's
    /// vertices, which take it from cells on both sides, stay on the solid's rim.
    pub(crate) fn depths(&self, n: usize) -> (Vec<f32>, Vec<f32>) {
        let up = [0.0, -self.cos, self.sin];
        let mut middle = vec![0.0; n * n];
        let mut half = vec![0.0; n * n];
        let mut met = vec![false; n * n];
        for y in 0..n {
            let row = y as f32;
            let discs: Vec<&Disc> = self.discs.iter().filter(|disc| disc.rows.0 <= row && row <= disc.rows.1).collect();
            // How far from the axis the row's discs are drawn, at the nearest they come.
            let reach = discs
                .iter()
                .map(|disc| disc.radius / (1.0 - self.inverse_focal * (disc.centre[2] + disc.radius)).max(1.0e-3))
                .fold(0.0f32, f32::max)
                + 1.0;
            for x in 0..n {
                let index = y * n + x;
                if (x as f32 - self.axis_x).abs() > reach {
                    continue;
                }
                let sight = self.sight(x as f32, row);
                let rate = sight[1] * up[1] + sight[2] * up[2];
                if rate.abs() < 1.0e-6 {
                    continue;
                }
                // The discs' planes are parallel, so the line of sight crosses them in order: the
                // first and the last it meets inside give the solid's two sides.
                let meets = |disc: &&Disc| {
                    let offset = [x as f32 - disc.centre[0], row - disc.centre[1], -disc.centre[2]];
                    let z = -(offset[1] * up[1] + offset[2] * up[2]) / rate;
                    let point = [offset[0] + z * sight[0], offset[1] + z * sight[1], offset[2] + z * sight[2]];
                    let inside =
                        point[0] * point[0] + point[1] * point[1] + point[2] * point[2] <= disc.radius * disc.radius;
                    inside.then_some(z)
                };
                let first = discs.iter().find_map(meets);
                let last = discs.iter().rev().find_map(meets);
                let (near, far) = match (first, last) {
                    (Some(first), Some(last)) => (first.min(last), first.max(last)),
                    _ => (f32::INFINITY, f32::NEG_INFINITY),
                };
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

/// `(low, high)` narrowed `steps` times by halving around where `below` (true from `low` up to some
/// point, false from there to `high`) turns false.
fn bisect(mut low: f32, mut high: f32, steps: usize, below: impl Fn(f32) -> bool) -> (f32, f32) {
    for _ in 0..steps {
        let middle = 0.5 * (low + high);
        if below(middle) { low = middle } else { high = middle }
    }
    (low, high)
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
            let overhead = Overhead::of(128.0, &widths, top, bottom, [128.0, 128.0]).expect("a tin seen from above");
            assert!((overhead.above_deg() - above).abs() < 2.5, "{above}°: read {}°", overhead.above_deg());
            assert!(overhead.lens(1.0).is_none(), "{above}°: an orthographic picture read through a lens");
            // Every disc of a cylinder is as wide as it.
            let middle = overhead.discs[overhead.discs.len() / 2].radius;
            assert!((middle - 40.0).abs() < 1.5, "{middle}");
            // The line of sight through the body's middle crosses it at the camera's angle.
            let (_, half) = overhead.depths(256);
            let body = (top + bottom) / 2.0;
            let through_body = half[body.round() as usize * 256 + 128];
            let expected = 40.0 / overhead.cos;
            assert!((through_body - expected).abs() < 0.1 * expected, "{above}°: {through_body}, not {expected}");
        }
    }

    /// The outline of a cylinder of `radius` and `length` (metres) photographed from `above_deg`
    /// above by a pinhole `distance` metres from its middle, aimed at it, with a focal length of
    /// `focal` cells and its axis through (128, 128): the half widths about column 128, row by
    /// row, and the rows where it crosses the axis.
    fn photographed_cylinder(
        radius: f32,
        length: f32,
        above_deg: f32,
        distance: f32,
        focal: f32,
    ) -> (Vec<(f32, f32)>, f32, f32) {
        let (sin, cos) = above_deg.to_radians().sin_cos();
        let camera = [0.0, length / 2.0 + distance * sin, distance * cos];
        let (forward, up) = ([0.0, -sin, -cos], [0.0, cos, -sin]);
        let dot = |a: [f32; 3], b: [f32; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
        let mut points = Vec::new();
        for step in 0..720 {
            let turn = (step as f32 / 720.0) * std::f32::consts::TAU;
            for height in [0.0, length] {
                let relative = [radius * turn.cos() - camera[0], height - camera[1], radius * turn.sin() - camera[2]];
                let depth = dot(relative, forward);
                points.push([128.0 + focal * relative[0] / depth, 128.0 - focal * dot(relative, up) / depth]);
            }
        }
        // The outline is the convex hull of the two ends' pictures: per row, the widest of the
        // ends' points drawn within half a row of it, or the straight side between the widest
        // points of the two ends.
        let (top, bottom) =
            points.iter().fold((f32::MAX, f32::MIN), |(low, high), point| (low.min(point[1]), high.max(point[1])));
        let widths = (top.ceil() as i32..=bottom.floor() as i32)
            .map(|row| {
                let row = row as f32;
                let widest = points
                    .iter()
                    .filter(|point| (point[1] - row).abs() <= 0.5)
                    .map(|point| (point[0] - 128.0).abs())
                    .fold(0.0f32, f32::max);
                (row, widest)
            })
            .collect::<Vec<_>>();
        let widest_at = |pick: usize| {
            points.iter().skip(pick).step_by(2).fold([0.0f32, 0.0], |best, point| {
                if (point[0] - 128.0).abs() > best[0] { [(point[0] - 128.0).abs(), point[1]] } else { best }
            })
        };
        let (lid, base) = (widest_at(1), widest_at(0));
        let widths = widths
            .into_iter()
            .map(|(row, width)| {
                let side = if row >= lid[1] && row <= base[1] {
                    lid[0] + (base[0] - lid[0]) * (row - lid[1]) / (base[1] - lid[1])
                } else {
                    0.0
                };
                (row, width.max(side))
            })
            .collect();
        (widths, top, bottom)
    }

    #[test]
    fn a_tin_photographed_through_a_short_lens_keeps_its_proportions() {
        for (above, focal) in [(30.0f32, 300.0f32), (25.0, 450.0), (35.0, 800.0)] {
            let (widths, top, bottom) = photographed_cylinder(0.35, 0.8, above, 1.9, focal);
            let overhead = Overhead::of(128.0, &widths, top, bottom, [128.0, 128.0]).expect("a tin seen from above");
            let (first, last) = (overhead.discs.first().unwrap(), overhead.discs.last().unwrap());
            let middle = overhead.discs[overhead.discs.len() / 2];
            let length = (0..3).map(|axis| (first.centre[axis] - last.centre[axis]).powi(2)).sum::<f32>().sqrt();
            let (read, read_focal) = (overhead.above_deg(), 1.0 / overhead.inverse_focal);
            // The lens's axis is aimed at the tin's middle, so it looks down at the camera's angle.
            assert!((read - above).abs() < 2.5, "{above}°: read {read}°");
            assert!((read_focal / focal - 1.0).abs() < 0.1, "{above}°, focal length {focal}: read {read_focal}");
            let proportion = length / (2.0 * middle.radius);
            assert!((proportion / (0.8 / 0.7) - 1.0).abs() < 0.03, "{above}°: length over diameter {proportion}");
        }
    }

    #[test]
    fn a_level_cylinder_a_ball_and_an_egg_are_not_seen_from_above() {
        // Level: the ends are straight.
        let (widths, top, bottom) = cylinder(40.0, 80.0, 0.0, 200.0);
        assert!(Overhead::of(128.0, &widths, top - 0.5, bottom + 0.5, [128.0, 128.0]).is_none());
        // A ball: its ends are half circles.
        let ball: Vec<(f32, f32)> = (60..=140)
            .map(|row| (row as f32, (40.0f32 * 40.0 - (row as f32 - 100.0).powi(2)).max(0.0).sqrt()))
            .collect();
        assert!(Overhead::of(128.0, &ball, 60.0, 140.0, [128.0, 128.0]).is_none());
        // An ellipse twice as wide as high: both ends fit one aspect, but there is no body.
        let lentil: Vec<(f32, f32)> = (80..=120)
            .map(|row| (row as f32, 40.0 * (1.0 - ((row as f32 - 100.0) / 20.0).powi(2)).max(0.0).sqrt()))
            .collect();
        assert!(Overhead::of(128.0, &lentil, 80.0, 120.0, [128.0, 128.0]).is_none());
    }
}
