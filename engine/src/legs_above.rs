//! Furniture on legs photographed from a little above, as a shop shows a table, a desk or a bench:
//! its top drawn as a band narrowing away (the far edge shorter, through the lens), its front legs
//! reaching the ground at the ends and its back legs standing between them, their feet drawn
//! higher. Seen from the front ([`legs`]) the back legs hide and the depth is a prior; from above
//! the picture shows it.
//!
//! The reading fits a table (width, depth, height, the top's thickness, square legs' width and how
//! far in they stand) and a level pinhole camera looking down at it (the angle, and the lens's
//! strength) by least squares to what the silhouette shows: the top's four corners, its front
//! edge's underside, the front legs where they leave the top, and the feet. Through a longer lens
//! or under a shallow piece the back legs are drawn joined to the front ones, and only their inner
//! edges and where they end are read. The depth comes from the perspective (how much shorter the
//! far edge is, how the legs converge), so the longer the lens the less sure it is: through an 85
//! mm lens the angle is found within 2°.
//!
//! The solid is that table filled on a grid in the picture's frame (each sample where the camera
//! draws it, at its depth) and extracted with the engine's isosurface; the lens and the way up go
//! to the pipeline, as for a box seen from above ([`cuboid`]), which moves the mesh to where the
//! table is and stands it on its feet. A table turned on its legs, a round top or a chair seen from
//! above is not read here.
//!
//! [`cuboid`]: crate::cuboid
//! [`legs`]: crate::legs

use crate::cuboid::{MIN_NEARNESS, drawn};
use crate::error::Result;
use crate::isosurface::ScalarGrid;
use crate::legs::{carved_surface, runs, volume_sampling};
use crate::linear;
use crate::mask::Mask;
use crate::mesh::TriMesh;
use crate::progress::CancelFlag;
use crate::shape::Lens;

/// The widest a leg may be, as a share of the width.
const MAX_LEG_SHARE: f32 = 0.2;

/// The farthest the front legs may stand in from the top's ends, as a share of the width.
const MAX_END_INSET: f32 = 0.15;

/// The least share of the height under the top's front edge: the legs.
const MIN_LEGS_SHARE: f32 = 0.3;

/// How much shorter than the near edge the far edge must be drawn, as a share of the width: a lens
/// that shows it (a long one draws the back legs behind the front ones).
const MIN_NARROWING: f32 = 0.02;

/// The least share of the rows between the top and the back feet that show four legs apart.
const MIN_FOUR_SHARE: f32 = 0.5;

/// The least a back foot is drawn above a front one, as a share of the height.
const MIN_FEET_RISE: f32 = 0.03;

/// The camera's angle above the table must lie between these, in degrees.
const ABOVE_DEG: (f32, f32) = (3.0, 70.0);

/// The most the fitted table may miss the points it is fitted to, root mean square, as a share of
/// the silhouette's width.
const MAX_MISS: f32 = 0.02;

/// The least step by which the back legs, joined to the front ones, widen their runs: in cells,
/// and as a share of a front leg's width. A gap of at most `MIN_STEP` cells between a front and a
/// back leg is read as joined.
const MIN_STEP: f32 = 2.0;
const MIN_STEP_SHARE: f32 = 0.3;

/// The silhouette's height over the rows its top or bottom edge may be ragged in.
const EDGE_ROWS_PER: usize = 64;

/// A table on four legs and the camera looking down at it, in cells of the reconstruction grid
/// (point coordinates: cell `(x, y)` spans `x..x + 1`, `y..y + 1`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LegsAbove {
    /// Where the camera's axis meets the picture.
    principal: [f32; 2],
    /// Where the table's middle (its bounding box's) is, at depth 0.
    middle: [f32; 2],
    /// The camera's angle above the horizontal, in radians.
    above: f32,
    /// One over the camera's distance from the plane of depth 0 (0: a long lens).
    w: f32,
    /// Width, height (the top's upper face above the ground) and depth.
    size: [f32; 3],
    /// The top's thickness, the legs' width (and depth), and how far in from the top's edges they
    /// stand.
    top: f32,
    leg: f32,
    inset: f32,
}

/// What the silhouette shows of a table seen from above: the top's far and near corners, the
/// row of its front edge's underside, and where the legs are drawn: the front ones just under the
/// top and at their feet, the back ones at their feet (each leg's first and one-past-last column,
/// and the row it ends on for the feet).
#[derive(Debug, Clone, Copy)]
struct Drawn {
    far: ([f32; 2], [f32; 2]),
    near: ([f32; 2], [f32; 2]),
    under: f32,
    front_tops: [[f32; 2]; 2],
    front_feet: ([[f32; 2]; 2], f32),
    back_feet: ([[f32; 2]; 2], f32),
}

impl Drawn {
    /// The table `mask` shows from above, if it shows one.
    fn of(mask: &Mask) -> Option<Self> {
        let (x0, y0, x1, y1) = mask.bounding_box()?;
        let (width, height) = ((x1 - x0) as f32, (y1 - y0) as f32);
        let edge = 1 + (y1 - y0) / EDGE_ROWS_PER;
        let rows: Vec<Vec<(usize, usize)>> = (0..y1).map(|y| if y < y0 { Vec::new() } else { runs(mask, y) }).collect();
        // The top: one run a row down to its front edge, widening as it comes nearer.
        let under = (y0 + edge..y1).find(|&y| rows[y].len() != 1)?;
        if under < y0 + edge + 2 || ((y1 - under) as f32) < MIN_LEGS_SHARE * height {
            return None;
        }
        let band: Vec<(usize, usize)> = (y0 + edge..under).map(|y| rows[y][0]).collect();
        let (far, widest) = (band[0], band.iter().map(|run| run.1 - run.0).max()?);
        let near_row = band.iter().position(|run| run.1 - run.0 + 1 >= widest)?;
        let near = band[near_row];
        if ((near.1 - near.0) - (far.1 - far.0)) as f32 <= MIN_NARROWING * width || near.0 > far.0 || near.1 < far.1 {
            return None;
        }
        // The far corners on the silhouette's first row, the near ones where the top is widest.
        let (far_y, near_y) = (y0 as f32, (y0 + edge + near_row) as f32 + 0.5);
        let (far, near) = ((far.0 as f32, far.1 as f32), (near.0 as f32, near.1 as f32));
        // The front legs reach the ground at the ends.
        let ground = &rows[y1 - edge];
        let (left, right) = (*ground.first()?, *ground.last()?);
        let narrow = |run: &(usize, usize)| (run.1 - run.0) as f32 <= MAX_LEG_SHARE * width;
        let inset = MAX_END_INSET * width;
        if ground.len() != 2 || !narrow(&left) || !narrow(&right) {
            return None;
        }
        if (left.0 - x0) as f32 > inset || (x1 - right.1) as f32 > inset {
            return None;
        }
        let (back_foot, back) = Self::back_legs(&rows, (under, y1), edge, &narrow)?;
        if ((y1 - 1 - back_foot) as f32) < MIN_FEET_RISE * height {
            return None;
        }
        let below_top = &rows[under + edge];
        let joined = back[0][0].is_nan(); // the left back leg's outer edge
        let columns = |run: (usize, usize)| [run.0 as f32, run.1 as f32];
        Some(Self {
            far: ([far.0, far_y], [far.1, far_y]),
            near: ([near.0, near_y], [near.1, near_y]),
            under: under as f32,
            front_tops: if joined {
                // The back legs join the front ones' runs there too: only the outer edges are theirs.
                [[below_top.first()?.0 as f32, f32::NAN], [f32::NAN, below_top.last()?.1 as f32]]
            } else {
                [columns(*below_top.first()?), columns(*below_top.last()?)]
            },
            front_feet: ([columns(left), columns(right)], y1 as f32),
            back_feet: (back, back_foot as f32 + 1.0),
        })
    }

    /// The back legs' feet: the row the lowest stands on, and each one's columns a little above it,
    /// NaN for the outer edge when it is hidden. The lens draws them between the front legs, apart
    /// from them (four legs in a row) or, for a shallow piece or a long lens, joined to them: then
    /// the front legs' runs narrow by a step where the back legs end.
    fn back_legs(
        rows: &[Vec<(usize, usize)>],
        (under, ground): (usize, usize),
        edge: usize,
        narrow: &dyn Fn(&(usize, usize)) -> bool,
    ) -> Option<(usize, [[f32; 2]; 2])> {
        let four = |y: usize| {
            let row = &rows[y];
            (row.len() == 4 && row.iter().all(narrow)).then_some(row)
        };
        if let Some(back_foot) = (under..ground).rev().find(|&y| four(y).is_some()) {
            let shown = (under..=back_foot).filter(|&y| four(y).is_some()).count();
            // A little above their feet, where the foot's edge is not ragged.
            let row = (under..=back_foot).rev().filter_map(four).nth(edge);
            if let Some(row) = row.filter(|_| shown as f32 >= MIN_FOUR_SHARE * (back_foot + 1 - under) as f32) {
                let columns = |run: (usize, usize)| [run.0 as f32, run.1 as f32];
                return Some((back_foot, [columns(row[1]), columns(row[2])]));
            }
        }
        // Joined: each side's run a step wider above some row than the front leg is below it
        // (where a back leg just clears a front one, the gap between them is closed).
        let two = |y: usize| {
            let mut row: Vec<(usize, usize)> = Vec::new();
            for &run in &rows[y] {
                match row.last_mut() {
                    Some(last) if (run.0 - last.1) as f32 <= MIN_STEP => last.1 = run.1,
                    _ => row.push(run),
                }
            }
            (row.len() == 2 && row.iter().all(narrow)).then(|| [row[0], row[1]])
        };
        let lowest = ground - edge;
        let step = |side: usize| {
            let width = |y: usize| two(y).map(|row| (row[side].1 - row[side].0) as f32);
            let front = width(lowest)?;
            let jump = MIN_STEP.max(MIN_STEP_SHARE * front);
            let foot = (under + edge..lowest - 2).rev().find(|&y| {
                let below = width(y + 2).unwrap_or(front);
                (y - edge..=y).all(|above| width(above).is_some_and(|wide| wide >= below + jump))
            })?;
            let shown = (under..=foot).filter(|&y| width(y).is_some_and(|wide| wide >= front + jump)).count();
            ((shown as f32) >= MIN_FOUR_SHARE * (foot + 1 - under) as f32).then_some(foot)
        };
        let (left, right) = (step(0)?, step(1)?);
        if left.abs_diff(right) > 1 + (ground - under) / 32 {
            return None;
        }
        let back_foot = left.max(right);
        let row = two(left.min(right) - edge)?;
        Some((back_foot, [[f32::NAN, row[0].1 as f32], [row[1].0 as f32, f32::NAN]]))
    }

    /// How many of the [`MISSES`] distances compare something the picture shows.
    fn compared(&self) -> usize {
        let hidden = self.front_tops.iter().chain(&self.back_feet.0).flatten().filter(|edge| edge.is_nan()).count();
        MISSES - hidden
    }
}

/// How many distances the fit makes small.
const MISSES: usize = 25;

/// The fitted parameters: the middle (2), the angle above, `w` times the grid's side, the size
/// (3), the top's thickness, the legs' width and their inset.
type Parameters = [f64; 10];

impl LegsAbove {
    /// The table photographed from above that `mask` shows, if it shows one.
    pub(crate) fn of(mask: &Mask) -> Option<Self> {
        let drawn = Drawn::of(mask)?;
        let n = mask.width.max(mask.height) as f32;
        let principal = [mask.width as f32 / 2.0, mask.height as f32 / 2.0];
        let (x0, y0, x1, y1) = mask.bounding_box()?;
        let width = drawn.near.1[0] - drawn.near.0[0];
        let height = (y1 - y0) as f32;
        let start_above = 20f32.to_radians();
        let depth = ((drawn.near.0[1] - drawn.far.0[1]) / start_above.sin()).clamp(0.2 * width, 1.5 * width);
        let [left, right] = drawn.front_feet.0;
        let leg = ((left[1] - left[0]) + (right[1] - right[0])) / 2.0;
        let [left, right] = drawn.front_tops;
        let inset = ((left[0] - drawn.near.0[0]) + (drawn.near.1[0] - right[1])) / 2.0;
        let start: Parameters = [
            (x0 + x1) as f64 / 2.0,
            (y0 + y1) as f64 / 2.0,
            f64::from(start_above),
            0.0,
            f64::from(width),
            f64::from(height),
            f64::from(depth),
            f64::from((drawn.under - drawn.near.0[1]).max(1.0)),
            f64::from(leg),
            f64::from(inset.max(0.0)),
        ];
        let model = |parameters: &Parameters| Self::from_parameters(parameters, principal, n);
        let misses = |parameters: &Parameters| -> [f64; MISSES] { model(parameters).misses(&drawn) };
        let parameters = linear::least_squares(start, misses, 100);
        let table = model(&parameters);
        let rms =
            (misses(&parameters).iter().map(|miss| miss * miss).sum::<f64>() / drawn.compared() as f64).sqrt() as f32;
        let above_deg = table.above.to_degrees();
        let positive = table.size.iter().chain([&table.top, &table.leg]).all(|&length| length > 0.0);
        let sound = rms <= MAX_MISS * width
            && (ABOVE_DEG.0..=ABOVE_DEG.1).contains(&above_deg)
            && table.w >= 0.0
            && positive
            && table.inset >= 0.0
            && table.nearest() >= MIN_NEARNESS;
        tracing::debug!(?table, rms, sound, "a table seen from above?");
        sound.then_some(table)
    }

    fn from_parameters(parameters: &Parameters, principal: [f32; 2], n: f32) -> Self {
        let value = |index: usize| parameters[index] as f32;
        Self {
            principal,
            middle: [value(0), value(1)],
            above: value(2),
            w: value(3) / n,
            size: [value(4), value(5), value(6)],
            top: value(7),
            leg: value(8),
            inset: value(9),
        }
    }

    /// How far the fitted table's corners, front edge and feet are drawn from where the picture
    /// shows them, in cells.
    fn misses(&self, drawn: &Drawn) -> [f64; MISSES] {
        let [width, height, depth] = self.size.map(|length| length / 2.0);
        let corners = [
            ([-width, height, -depth], drawn.far.0),
            ([width, height, -depth], drawn.far.1),
            ([-width, height, depth], drawn.near.0),
            ([width, height, depth], drawn.near.1),
        ];
        let mut misses = [0.0; MISSES];
        for (index, (point, seen)) in corners.iter().enumerate() {
            let at = self.draw(*point);
            misses[2 * index] = f64::from(at[0] - seen[0]);
            misses[2 * index + 1] = f64::from(at[1] - seen[1]);
        }
        misses[8] = f64::from(self.draw([0.0, height - self.top, depth])[1] - drawn.under);
        // Each leg drawn from the leftmost to the rightmost of its four edges at a height (which
        // of its sides show depends on where it stands), its foot as low as its nearest corner.
        let under_top = height - self.top;
        let legs = [
            (drawn.front_tops, None, under_top, 1.0),
            (drawn.front_feet.0, Some(drawn.front_feet.1), -height, 1.0),
            (drawn.back_feet.0, Some(drawn.back_feet.1), -height, -1.0),
        ];
        let mut index = 9;
        for (seen, row, y, front) in legs {
            for (side, columns) in [-1.0, 1.0].into_iter().zip(seen) {
                let (x_out, z_out) = (side * (width - self.inset), front * (depth - self.inset));
                let (x_in, z_in) = (x_out - side * self.leg, z_out - front * self.leg);
                let drawn =
                    [[x_out, z_out], [x_in, z_out], [x_out, z_in], [x_in, z_in]].map(|[x, z]| self.draw([x, y, z]));
                let left = drawn.iter().map(|at| at[0]).fold(f32::INFINITY, f32::min);
                let right = drawn.iter().map(|at| at[0]).fold(f32::MIN, f32::max);
                // A back leg's outer edge, hidden behind the front leg's, is not compared.
                misses[index] = if columns[0].is_nan() { 0.0 } else { f64::from(left - columns[0]) };
                misses[index + 1] = if columns[1].is_nan() { 0.0 } else { f64::from(right - columns[1]) };
                index += 2;
                if let Some(row) = row {
                    let lowest = drawn.iter().map(|at| at[1]).fold(f32::MIN, f32::max);
                    misses[index] = f64::from(lowest - row);
                    index += 1;
                }
            }
        }
        misses
    }

    /// A point of the table (right, up and towards the camera from its middle) in the picture's
    /// frame before the lens: where it is across and down, and its depth.
    fn turned(&self, [x, y, z]: [f32; 3]) -> [f32; 3] {
        let (sin, cos) = self.above.sin_cos();
        [self.middle[0] + x, self.middle[1] - y * cos + z * sin, y * sin + z * cos]
    }

    /// Where the camera draws a point of the table.
    fn draw(&self, point: [f32; 3]) -> [f32; 2] {
        drawn(self.principal, self.w, self.turned(point))
    }

    /// The eight corners of the table's bounding box (right, up and towards the camera from its
    /// middle).
    fn box_corners(&self) -> [[f32; 3]; 8] {
        let half = self.size.map(|length| length / 2.0);
        std::array::from_fn(|corner| {
            [0, 1, 2].map(|axis| if corner >> axis & 1 == 1 { half[axis] } else { -half[axis] })
        })
    }

    /// The nearest share of the camera's distance any corner of the table's box is at.
    fn nearest(&self) -> f32 {
        self.box_corners().map(|corner| 1.0 - self.w * self.turned(corner)[2]).into_iter().fold(f32::INFINITY, f32::min)
    }

    /// How far inside the table a point (right, up and towards the camera from its middle) is,
    /// in cells (negative outside): inside the top or one of the legs.
    fn inside(&self, [x, y, z]: [f32; 3]) -> f32 {
        let [width, height, depth] = self.size.map(|length| length / 2.0);
        let top = (width - x.abs()).min(depth - z.abs()).min(self.top / 2.0 - (y - height + self.top / 2.0).abs());
        let leg_x = width - self.inset - self.leg / 2.0;
        let leg_z = depth - self.inset - self.leg / 2.0;
        // The legs reach a cell into the top so they join it.
        let leg = (self.leg / 2.0 - (x.abs() - leg_x).abs())
            .min(self.leg / 2.0 - (z.abs() - leg_z).abs())
            .min(y + height)
            .min(height - self.top + 1.0 - y);
        top.max(leg)
    }

    /// The way up of the world in the picture's frame (x right, y down, z towards the camera) with
    /// depths `thickness` times the table's.
    pub(crate) fn up(&self, thickness: f32) -> [f32; 3] {
        let (sin, cos) = self.above.sin_cos();
        linear::unit([0.0, -cos, sin * thickness])
    }

    /// The camera, when it is not a long one, with depths `thickness` times the table's.
    pub(crate) fn lens(&self, thickness: f32) -> Option<Lens> {
        Lens::on_grid(self.principal.map(|value| value - 0.5), self.w, thickness)
    }

    /// The solid in the picture's frame (`x` right and `y` down where the picture draws each point,
    /// over an `n`-cell grid, `z` its depth towards the camera, scaled by `thickness`), and the
    /// front's depth at each grid cell.
    pub(crate) fn solid(&self, n: usize, thickness: f32, cancel: &CancelFlag) -> Result<(TriMesh, Vec<f32>)> {
        // The table's box, drawn: its samples span the corners' pictures and depths.
        let corners = self.box_corners().map(|corner| {
            let [x, y] = self.draw(corner);
            [x, y, self.turned(corner)[2]]
        });
        let low = [0, 1, 2].map(|axis| corners.iter().map(|corner| corner[axis]).fold(f32::INFINITY, f32::min) - 1.5);
        let high = [0, 1, 2].map(|axis| corners.iter().map(|corner| corner[axis]).fold(f32::MIN, f32::max) + 1.5);
        let extent = [0, 1, 2].map(|axis| high[axis] - low[axis]);
        let (spacing, dims) = volume_sampling(extent);
        let (sin, cos) = self.above.sin_cos();
        let mut values = Vec::with_capacity(dims.iter().product());
        for k in 0..dims[2] {
            cancel.check()?;
            let depth = low[2] + k as f32 * spacing;
            let nearness = 1.0 - self.w * depth;
            for j in 0..dims[1] {
                let y =
                    self.principal[1] + (low[1] + j as f32 * spacing - self.principal[1]) * nearness - self.middle[1];
                for i in 0..dims[0] {
                    let x = self.principal[0] + (low[0] + i as f32 * spacing - self.principal[0]) * nearness
                        - self.middle[0];
                    let inside = self.inside([x, -y * cos + depth * sin, y * sin + depth * cos]);
                    values.push((inside / 2.0).clamp(-0.5, 0.5));
                }
            }
        }
        let field = ScalarGrid { dims, values, origin: low, spacing: [spacing; 3] };
        // The front: the nearest sample inside along each cell's line of sight.
        let heights = (0..n * n)
            .map(|index| {
                let (x, y) = (index % n, index / n);
                let column = |value: f32, axis: usize| ((value - low[axis]) / spacing).round();
                let (i, j) = (column(x as f32 + 0.5, 0), column(y as f32 + 0.5, 1));
                if i < 0.0 || j < 0.0 || i as usize >= dims[0] || j as usize >= dims[1] {
                    return 0.0;
                }
                let (i, j) = (i as usize, j as usize);
                (0..dims[2])
                    .rev()
                    .find(|&k| field.values[(k * dims[1] + j) * dims[0] + i] > 0.0)
                    .map_or(0.0, |k| (low[2] + k as f32 * spacing) * thickness)
            })
            .collect();
        let mesh = carved_surface(&field, thickness, cancel)?;
        Ok((mesh, heights))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table `size` cells (width, height, depth) on legs `leg` wide standing `inset` in, its top
    /// `top` thick, photographed from `above_deg` above by a pinhole `distance` cells from its
    /// middle with a focal length of `focal` cells, aimed at its middle, on an `n`-cell grid: each
    /// cell set whose centre's line of sight meets the table.
    struct Photo {
        size: [f32; 3],
        top: f32,
        leg: f32,
        inset: f32,
        above_deg: f32,
        distance: f32,
        focal: f32,
    }

    impl Photo {
        /// The table's boxes, world coordinates (x right, y up from the ground, z towards the
        /// camera), as (least, most) corners.
        fn boxes(&self) -> Vec<([f32; 3], [f32; 3])> {
            let [width, height, depth] = self.size;
            let mut boxes = vec![([-width / 2.0, height - self.top, -depth / 2.0], [width / 2.0, height, depth / 2.0])];
            for x in [-1.0, 1.0] {
                for z in [-1.0, 1.0] {
                    let (cx, cz) = (
                        x * (width / 2.0 - self.inset - self.leg / 2.0),
                        z * (depth / 2.0 - self.inset - self.leg / 2.0),
                    );
                    let half = self.leg / 2.0;
                    boxes.push(([cx - half, 0.0, cz - half], [cx + half, height - self.top, cz + half]));
                }
            }
            boxes
        }

        fn mask(&self, n: usize) -> Mask {
            let (sin, cos) = self.above_deg.to_radians().sin_cos();
            let middle = [0.0, self.size[1] / 2.0, 0.0];
            let camera = [0.0, middle[1] + self.distance * sin, self.distance * cos];
            let (forward, up) = ([0.0, -sin, -cos], [0.0, cos, -sin]);
            let boxes = self.boxes();
            Mask::from_fn(n, n, |x, y| {
                let across = (x as f32 + 0.5 - n as f32 / 2.0) / self.focal;
                let down = (y as f32 + 0.5 - n as f32 / 2.0) / self.focal;
                let ray: [f32; 3] =
                    [0, 1, 2].map(|axis| forward[axis] + across * [1.0, 0.0, 0.0][axis] - down * up[axis]);
                boxes.iter().any(|(low, high)| {
                    let (mut near, mut far) = (0.0f32, f32::INFINITY);
                    for axis in 0..3 {
                        let (a, b) = ((low[axis] - camera[axis]) / ray[axis], (high[axis] - camera[axis]) / ray[axis]);
                        near = near.max(a.min(b));
                        far = far.min(a.max(b));
                    }
                    near <= far
                })
            })
        }
    }

    const TABLE: Photo = Photo {
        size: [160.0, 80.0, 90.0],
        top: 5.0,
        leg: 8.0,
        inset: 6.0,
        above_deg: 25.0,
        distance: 420.0,
        focal: 520.0,
    };

    #[test]
    fn a_table_photographed_from_above_keeps_its_proportions() {
        for (photo, joined) in [
            (TABLE, false),
            // From lower down, its back legs drawn just clear of (and then joined to) its front ones.
            (Photo { above_deg: 15.0, focal: 700.0, distance: 560.0, ..TABLE }, true),
            // A bench through an 85 mm lens: its back legs drawn joined to its front ones.
            (
                Photo {
                    size: [160.0, 60.0, 45.0],
                    inset: 5.0,
                    distance: 480.0,
                    focal: 600.0,
                    above_deg: 30.0,
                    ..TABLE
                },
                true,
            ),
        ] {
            let mask = photo.mask(256);
            let drawn = Drawn::of(&mask).expect("a table from above");
            assert_eq!(drawn.back_feet.0[0][0].is_nan(), joined, "{drawn:?}");
            let table = LegsAbove::of(&mask).expect("a table from above");
            let above_deg = table.above.to_degrees();
            assert!((above_deg - photo.above_deg).abs() < 2.0, "looked down {above_deg:.1}°, not {}°", photo.above_deg);
            let [width, height, depth] = table.size;
            let (tall, deep) = (height / width, depth / width);
            let truth = (photo.size[1] / photo.size[0], photo.size[2] / photo.size[0]);
            assert!(
                (tall - truth.0).abs() < 0.03 && (deep - truth.1).abs() < 0.04,
                "{tall:.3} {deep:.3} against {truth:?}"
            );
            let focal = 1.0 / table.w;
            assert!((focal / photo.focal - 1.0).abs() < 0.2, "focal length {focal:.0} cells, not {}", photo.focal);
            let (mesh, heights) = table.solid(256, 1.0, &CancelFlag::new()).unwrap();
            let topology = mesh.topology();
            assert!(topology.is_watertight_manifold() && topology.components == 1, "{topology:?}");
            assert_eq!(topology.genus(), 0, "four legs hanging from a top make no handle");
            assert!(mesh.volume() < 0.0, "wound outwards once the grid's y is mirrored");
            assert_eq!(heights.len(), 256 * 256);
        }
    }

    #[test]
    fn a_level_table_a_long_lens_and_a_box_are_not_read_from_above() {
        // Seen level, the top is a band as wide at its far edge as at its near one.
        assert_eq!(LegsAbove::of(&Photo { above_deg: 0.0, ..TABLE }.mask(256)), None);
        // Through a very long lens the back legs hide behind the front ones.
        assert_eq!(LegsAbove::of(&Photo { distance: 40_000.0, focal: 50_000.0, ..TABLE }.mask(256)), None);
        // A crate from above: no legs.
        let crate_ = Photo { size: [160.0, 80.0, 90.0], top: 80.0, ..TABLE };
        assert_eq!(LegsAbove::of(&crate_.mask(256)), None);
    }

    #[test]
    fn legs_whose_runs_close_up_into_one_are_not_read() {
        // Each row's two runs are a cell apart, so the joined reading closes them into one run:
        // that row shows no pair of legs (found by the property tests, which once panicked here).
        let rows = vec![vec![(0, 3), (4, 7)]; 12];
        assert_eq!(Drawn::back_legs(&rows, (0, 11), 1, &|_| true), None);
        // Nor does a row with nothing in it.
        let rows = vec![Vec::new(); 12];
        assert_eq!(Drawn::back_legs(&rows, (0, 11), 1, &|_| true), None);
    }
}
