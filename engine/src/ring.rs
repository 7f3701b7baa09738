//! A round ring seen at an angle: its picture is a band of even width about an ellipse, and the
//! ellipse's proportions give how far the ring leans back. The reconstructor builds the band's
//! round tubes as for a face-on ring, then moves each tube's middle to the depth the leaning
//! ring puts it at.
//!
//! Which way it leans, one picture cannot say: a ring leaning back and one leaning forward have
//! the same outline, and as their surfaces differ by a plane (a generalised bas-relief
//! transform), the same picture comes from either under another light on another albedo.
//! Photographs are taken from above far more often than from below, so the ring's upper side is
//! taken to be the far one: a donut on a plate, a ring on a table.
//!
//! Seen edge-on, a ring standing on its rim (a wheel, a tyre, a coin on edge) has no hole left in
//! its picture: its outline is a stadium, the same as a capsule's. The shading tells them apart:
//! along a capsule the surface faces the same way from one end of its straight part to the other,
//! while a ring's near side turns from facing up at its top to facing down at its bottom, as a
//! sphere's does. The light fitted to either shape's normals leaves a residual
//! ([`crate::light`]), and a ring is read only where its shape explains the shading far better.

use crate::error::Result;
use crate::isosurface::ScalarGrid;
use crate::legs::{carved_surface, volume_sampling};
use crate::mask::Mask;
use crate::mesh::TriMesh;
use crate::progress::CancelFlag;

/// The least share of the silhouette a leaning round ring's outline must explain (intersection
/// over union) before the silhouette is taken to be one: an oval frame or a square one is not.
const MIN_RING_FIT: f32 = 0.9;

/// The ellipse's axes must differ by more than this many cells, and this share of the longer,
/// before the ring is taken to lean: the outline's extents are measured to about a cell.
const MIN_AXES_GAP_CELLS: f32 = 1.5;
const MIN_AXES_GAP_SHARE: f32 = 0.03;

/// A ring seen closer to edge-on than this (the short axis under this share of the long one) has
/// no hole left to measure it by.
const MIN_AXES_RATIO: f32 = 0.2;

/// The least share of the silhouette a stadium must explain (intersection over union) before it
/// is taken for a ring seen edge-on.
const MIN_EDGE_ON_FIT: f32 = 0.93;

/// The least ratio of an edge-on ring's radius (to its tube's middle) to its tube's: a ring with a
/// hole through it, not a fat pill.
const MIN_EDGE_ON_RADII: f32 = 1.5;

/// The most a ring's shading residual may be of a capsule's before the ring is read, and the most
/// it may be at all (relative to the mean luminance): the shading must speak clearly for it.
const MAX_EDGE_ON_RESIDUAL_SHARE: f32 = 0.5;
const MAX_EDGE_ON_RESIDUAL: f32 = 0.2;

/// The most the stadium's length may lean from the axis of revolution found for the silhouette
/// (the cosine of 10°).
const MIN_EDGE_ON_AXIS_COS: f32 = 0.985;

/// How far inside the outline (in cells) the shading is compared: the rim's grazing normals and
/// its blended pixels say little.
const EDGE_ON_RIM_CELLS: f32 = 1.5;

/// How a round ring in the picture leans out of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tilt {
    /// The ring's centre, in cells.
    centre: [f32; 2],
    /// The unit direction in the picture along the ellipse's short axis, pointing up the picture:
    /// the ring recedes along it.
    up: [f32; 2],
    /// Depth lost per cell moved along `up`: the tangent of the lean.
    slope: f32,
}

impl Tilt {
    /// The lean of the ring `mask` shows (a band about an ellipse round a hole), or none when the
    /// mask is not such a band or the ring faces the picture.
    pub(crate) fn of(mask: &Mask) -> Option<Self> {
        let (centre, long) = principal_axis(mask)?;
        let short = [-long[1], long[0]];
        // The hole must hold the centre, and the band be crossed once each way along both axes.
        let (long_in, long_out) = crossing(mask, centre, long)?;
        let (short_in, short_out) = crossing(mask, centre, short)?;
        let radius = (long_in + long_out) / 2.0;
        let tube = (long_out - long_in) / 2.0;
        let short_radius = (short_in + short_out) / 2.0;
        if radius - short_radius <= MIN_AXES_GAP_CELLS.max(MIN_AXES_GAP_SHARE * radius) {
            return None;
        }
        let ratio = short_radius / radius;
        if ratio < MIN_AXES_RATIO {
            return None;
        }
        if ring_fit(mask, centre, long, radius, short_radius, tube) < MIN_RING_FIT {
            return None;
        }
        // Up the picture is -y; a short axis across the picture leans its right side back.
        let up = if short[1] < -1.0e-3 || (short[1].abs() <= 1.0e-3 && short[0] > 0.0) {
            short
        } else {
            [-short[0], -short[1]]
        };
        let slope = (1.0 - ratio * ratio).sqrt() / ratio;
        Some(Self { centre, up, slope })
    }

    /// The world's up in the picture's frame (a unit vector, depths `thickness` times the ring's)
    /// when the ring lies flat and the camera looks down on it: the ring's axis, when the ring
    /// recedes straight up the picture (a level camera). Leaning back is not a way a ring stands,
    /// lying on a plate or a table is. Leaning to one side, it stands turned about the vertical,
    /// and the picture's up is the world's (none).
    pub(crate) fn up(&self, thickness: f32) -> Option<[f32; 3]> {
        if self.up[0].abs() > crate::cuboid::MAX_UPRIGHT_LEAN_DEG.to_radians().sin() {
            return None;
        }
        Some(crate::linear::unit([thickness * self.slope * self.up[0], thickness * self.slope * self.up[1], 1.0]))
    }

    /// The depth of the middle of the tube whose ball is centred on cell `centres[i]`, for each cell
    /// `i` of a `width`-wide grid: the leaning ring's plane at that ball's centre.
    pub(crate) fn middle_depths(&self, centres: &[u32], width: usize) -> Vec<f32> {
        centres
            .iter()
            .map(|&cell| {
                let (x, y) = ((cell as usize % width) as f32, (cell as usize / width) as f32);
                -self.slope * ((x - self.centre[0]) * self.up[0] + (y - self.centre[1]) * self.up[1])
            })
            .collect()
    }
}

/// A round ring standing edge-on to the camera: its picture a stadium along `along`, the ring in
/// the plane of that line and the view, about a circle of `radius` cells through a tube of `tube`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct EdgeOn {
    /// The ring's centre, in cells.
    centre: [f32; 2],
    /// The unit direction in the picture along the stadium.
    along: [f32; 2],
    radius: f32,
    tube: f32,
}

impl EdgeOn {
    /// The ring edge-on that `mask` shows and `luminance` (linear, one value per cell) shades, or
    /// none when the mask is no stadium or a capsule along it explains the shading as well.
    /// `revolution_axis` is the direction the silhouette would otherwise be revolved about: a ring
    /// is read only where that is the stadium's length (a capsule), as revolved about its width
    /// the stadium is a puck whose near side is the ring's, and no shading tells those apart.
    pub(crate) fn of(mask: &Mask, luminance: &[f32], revolution_axis: [f32; 2]) -> Option<Self> {
        let (centre, along) = principal_axis(mask)?;
        if (along[0] * revolution_axis[0] + along[1] * revolution_axis[1]).abs() < MIN_EDGE_ON_AXIS_COS {
            return None;
        }
        // Each cell as (along, across) the stadium from its centre.
        let points: Vec<(f32, f32)> = (0..mask.cells.len())
            .map(|index| {
                along_across(along, [(index % mask.width) as f32 - centre[0], (index / mask.width) as f32 - centre[1]])
            })
            .collect();
        let (mut length, mut tube) = (0.0f32, 0.0f32);
        for ((u, t), _) in points.iter().zip(&mask.cells).filter(|(_, inside)| **inside) {
            (length, tube) = (length.max(u.abs()), tube.max(t.abs()));
        }
        let (length, tube) = (length + 0.5, tube + 0.5);
        let radius = length - tube;
        if radius < MIN_EDGE_ON_RADII * tube {
            return None;
        }
        let ring = Self { centre, along, radius, tube };
        // The stadium: within `tube` of the segment between the caps' centres.
        let off_axis: Vec<f32> = points.iter().map(|&point| ring.off_axis(point)).collect();
        let predicted: Vec<bool> = off_axis.iter().map(|&off| off <= tube).collect();
        if mask.iou(&predicted) < MIN_EDGE_ON_FIT {
            return None;
        }
        let compared: Vec<bool> =
            off_axis.iter().zip(&mask.cells).map(|(&off, &inside)| inside && off <= tube - EDGE_ON_RIM_CELLS).collect();
        let normals = |normal: &dyn Fn((f32, f32)) -> [f32; 3]| -> Vec<[f32; 3]> {
            points
                .iter()
                .map(|&point| {
                    let [u, t, z] = normal(point);
                    [u * along[0] - t * along[1], u * along[1] + t * along[0], z]
                })
                .collect()
        };
        let capsule = crate::light::estimate(luminance, &normals(&|point| ring.capsule_normal(point)), &compared)?;
        let edge_on = crate::light::estimate(luminance, &normals(&|point| ring.normal(point)), &compared)?;
        tracing::debug!(capsule = capsule.residual, ring = edge_on.residual, "a stadium's shading");
        (edge_on.residual <= MAX_EDGE_ON_RESIDUAL && edge_on.residual <= MAX_EDGE_ON_RESIDUAL_SHARE * capsule.residual)
            .then_some(ring)
    }

    /// How far the point `(u, t)` (along and across the stadium from its centre) is from the
    /// segment between the caps' centres.
    fn off_axis(&self, (u, t): (f32, f32)) -> f32 {
        (u.abs() - self.radius).max(0.0).hypot(t)
    }

    /// The depth of the ring's near side at `(u, t)`, in cells (0 off it).
    fn front(&self, (u, t): (f32, f32)) -> f32 {
        let reach = self.radius + (self.tube * self.tube - t * t).max(0.0).sqrt();
        (reach * reach - u * u).max(0.0).sqrt()
    }

    /// The unit normal of the ring's near side at `(u, t)`, as (along, across, towards the camera).
    fn normal(&self, (u, t): (f32, f32)) -> [f32; 3] {
        let z = self.front((u, t));
        let from_axis = u.hypot(z).max(1.0e-6);
        // From the nearest point of the ring's middle circle, in the plane of the stadium and the view.
        let (nu, nz) = (u - self.radius * u / from_axis, z - self.radius * z / from_axis);
        crate::linear::unit([nu, t, nz])
    }

    /// The unit normal at `(u, t)` of the capsule the same stadium outlines, revolved about its length.
    fn capsule_normal(&self, (u, t): (f32, f32)) -> [f32; 3] {
        let along = u.signum() * (u.abs() - self.radius).max(0.0);
        let off = self.off_axis((u, t)).min(self.tube);
        crate::linear::unit([along, t, (self.tube * self.tube - off * off).max(0.0).sqrt()])
    }

    /// The closed ring in grid units (as [`crate::legs::Legs::solid`]: `x` right and `y` down over
    /// an `n`-cell grid, a cell's centre at its index and a half, `z` towards the camera), depths
    /// scaled by `thickness`, and its near side's height at each grid cell.
    pub(crate) fn solid(&self, n: usize, thickness: f32, cancel: &CancelFlag) -> Result<(TriMesh, Vec<f32>)> {
        let centre = [self.centre[0] + 0.5, self.centre[1] + 0.5];
        let reach = self.radius + self.tube;
        // Its box in the picture, and a cell and a half beyond it on every side.
        let half = [0, 1].map(|axis| reach * self.along[axis].abs() + self.tube * self.along[1 - axis].abs() + 1.5);
        let origin = [centre[0] - half[0], centre[1] - half[1], -(reach + 1.5)];
        let extent = [2.0 * half[0], 2.0 * half[1], 2.0 * (reach + 1.5)];
        let (spacing, dims) = volume_sampling(extent);
        cancel.check()?;
        let mut values = Vec::with_capacity(dims.iter().product());
        for k in 0..dims[2] {
            let z = origin[2] + k as f32 * spacing;
            for j in 0..dims[1] {
                let dy = origin[1] + j as f32 * spacing - centre[1];
                values.extend((0..dims[0]).map(|i| {
                    let (u, t) = along_across(self.along, [origin[0] + i as f32 * spacing - centre[0], dy]);
                    self.tube - (u.hypot(z) - self.radius).hypot(t)
                }));
            }
        }
        let field = ScalarGrid { dims, values, origin, spacing: [spacing; 3] };
        let mesh = carved_surface(&field, thickness, cancel)?;
        let heights = (0..n * n)
            .map(|index| {
                let offset = [(index % n) as f32 - self.centre[0], (index / n) as f32 - self.centre[1]];
                thickness * self.front(along_across(self.along, offset))
            })
            .collect();
        Ok((mesh, heights))
    }
}

/// The offset `[dx, dy]` in the picture as (along, across) the unit direction `along`, across
/// being `along` turned a quarter towards +y.
fn along_across(along: [f32; 2], [dx, dy]: [f32; 2]) -> (f32, f32) {
    (dx * along[0] + dy * along[1], dy * along[0] - dx * along[1])
}

/// The centre of `mask` with its holes filled, and the unit direction of its longer principal axis.
fn principal_axis(mask: &Mask) -> Option<([f32; 2], [f32; 2])> {
    let (holes, _) = mask.enclosed_regions();
    let mut sums = [0.0f64; 6];
    for (index, _) in mask.cells.iter().zip(&holes).enumerate().filter(|(_, (inside, hole))| **inside || **hole != 0) {
        let (x, y) = ((index % mask.width) as f64, (index / mask.width) as f64);
        for (sum, value) in sums.iter_mut().zip([1.0, x, y, x * x, y * y, x * y]) {
            *sum += value;
        }
    }
    let [count, sum_x, sum_y, sum_xx, sum_yy, sum_xy] = sums;
    if count == 0.0 {
        return None;
    }
    let centre = [sum_x / count, sum_y / count];
    let xx = sum_xx / count - centre[0] * centre[0];
    let yy = sum_yy / count - centre[1] * centre[1];
    let xy = sum_xy / count - centre[0] * centre[1];
    let angle = 0.5 * (2.0 * xy).atan2(xx - yy);
    Some(([centre[0] as f32, centre[1] as f32], [angle.cos() as f32, angle.sin() as f32]))
}

/// Where the ray from `centre` along `direction`, both ways, enters the mask and leaves it again,
/// each the mean of its two ways; none if the centre is inside or the ray never meets the mask.
fn crossing(mask: &Mask, centre: [f32; 2], direction: [f32; 2]) -> Option<(f32, f32)> {
    const STEP: f32 = 0.25;
    let inside = |distance: f32, sign: f32| {
        mask.get_nearest(centre[0] + sign * distance * direction[0], centre[1] + sign * distance * direction[1])
    };
    if inside(0.0, 1.0) {
        return None;
    }
    let longest = (mask.width + mask.height) as f32;
    let mut sums = (0.0, 0.0);
    for sign in [1.0f32, -1.0] {
        let mut distance = 0.0;
        while !inside(distance, sign) {
            distance += STEP;
            if distance > longest {
                return None;
            }
        }
        let enters = distance - STEP / 2.0;
        while inside(distance, sign) {
            distance += STEP;
        }
        sums = (sums.0 + enters, sums.1 + distance - STEP / 2.0);
    }
    Some((sums.0 / 2.0, sums.1 / 2.0))
}

/// The intersection over union of `mask` and the picture of a round tube `tube` cells thick along
/// the ellipse about `centre` with semi-axes `radius` along `long` and `short_radius` across it:
/// what a leaning round ring looks like in a picture taken from afar.
fn ring_fit(mask: &Mask, centre: [f32; 2], long: [f32; 2], radius: f32, short_radius: f32, tube: f32) -> f32 {
    let (width, height) = (mask.width, mask.height);
    let mut predicted = vec![false; width * height];
    // Discs along the ellipse a quarter of their radius apart (their union's edge then dips under
    // the tube's by a 128th of its radius) or half a cell, so the work grows with the area.
    let spacing = (tube / 4.0).max(0.5);
    let steps = (std::f32::consts::TAU * radius / spacing).ceil().max(8.0) as usize;
    let reach = tube.ceil() as isize;
    for step in 0..steps {
        let angle = std::f32::consts::TAU * step as f32 / steps as f32;
        let (along, across) = (radius * angle.cos(), short_radius * angle.sin());
        let point = [centre[0] + along * long[0] - across * long[1], centre[1] + along * long[1] + across * long[0]];
        let (cx, cy) = (point[0].round() as isize, point[1].round() as isize);
        for y in (cy - reach).max(0)..=(cy + reach).min(height as isize - 1) {
            for x in (cx - reach).max(0)..=(cx + reach).min(width as isize - 1) {
                let (dx, dy) = (x as f32 - point[0], y as f32 - point[1]);
                if dx * dx + dy * dy <= tube * tube {
                    predicted[y as usize * width + x as usize] = true;
                }
            }
        }
    }
    mask.iou(&predicted)
}

/// Moves each vertex of `mesh` (grid units, cell `(x, y)`'s centre at `(x + 0.5, y + 0.5)`) by the
/// depth `middle` gives there, interpolated between cell centres: a shear along the view that
/// keeps the mesh closed and its triangles from crossing, as it moves every point of one line of
/// sight alike.
pub(crate) fn shear(mesh: &mut TriMesh, middle: &[f32], n: usize) {
    let last = (n - 1) as f32;
    let at = |x: usize, y: usize| middle[y * n + x];
    for position in &mut mesh.positions {
        let (x, y) = ((position[0] - 0.5).clamp(0.0, last), (position[1] - 0.5).clamp(0.0, last));
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(n - 1), (y0 + 1).min(n - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        position[2] +=
            (at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx) * (1.0 - fy) + (at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx) * fy;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The picture of a round ring (centre-line radius 40, tube 10) leaning back by `lean_deg`
    /// about the picture's horizontal, seen from afar, on a 128 grid.
    fn leaning_ring(lean_deg: f32) -> Mask {
        let cos = lean_deg.to_radians().cos();
        Mask::from_fn(128, 128, |x, y| {
            let (dx, dy) = (x as f32 - 64.0, y as f32 - 64.0);
            (0..720).any(|step| {
                let angle = std::f32::consts::TAU * step as f32 / 720.0;
                let (px, py) = (40.0 * angle.cos(), 40.0 * cos * angle.sin());
                (dx - px).hypot(dy - py) <= 10.0
            })
        })
    }

    #[test]
    fn a_leaning_rings_lean_is_read_from_its_ellipse_and_its_top_recedes() {
        let tilt = Tilt::of(&leaning_ring(40.0)).expect("a leaning ring");
        let lean = tilt.slope.atan().to_degrees();
        assert!((lean - 40.0).abs() < 3.0, "lean {lean}");
        assert!(tilt.up[1] < -0.99, "up {:?}", tilt.up);
        // The top of the ring (cell (64, 33)) is behind the picture's plane, the bottom in front.
        let width = 128;
        let depths = tilt.middle_depths(&[33 * width as u32 + 64, 95 * width as u32 + 64], width);
        assert!(depths[0] < -20.0 && depths[1] > 20.0, "{depths:?}");
        // It lies flat, seen from 50° above: its axis is the world's up.
        let [x, y, z] = tilt.up(1.0).expect("a ring lying flat");
        let above = z.atan2(-y).to_degrees();
        assert!(x.abs() < 0.01 && (above - 50.0).abs() < 3.0, "up {:?}: {above}° above", [x, y, z]);
    }

    #[test]
    fn a_ring_turned_about_the_vertical_stands() {
        let leaning = leaning_ring(40.0);
        let turned = Mask::from_fn(128, 128, |x, y| leaning.cells[x * 128 + y]);
        let tilt = Tilt::of(&turned).expect("a turned ring");
        assert!(tilt.up[0].abs() > 0.99, "up {:?}", tilt.up);
        assert_eq!(tilt.up(1.0), None);
    }

    /// A stadium on a 128 grid standing upright about (64, 64), 48 cells from its middle to either
    /// end and 12 cells wide each side, with the luminance `normal` shades under a light from the
    /// upper left and the front: what a ring seen edge-on or a capsule looks like.
    fn stadium(normal: impl Fn(&EdgeOn, (f32, f32)) -> [f32; 3]) -> (Mask, Vec<f32>) {
        let shape = EdgeOn { centre: [64.0, 64.0], along: [0.0, 1.0], radius: 36.0, tube: 12.0 };
        let light = crate::linear::unit([-0.4, -0.5, 0.77]);
        let frame = |x: usize, y: usize| (y as f32 - 64.0, 64.0 - x as f32);
        let mask = Mask::from_fn(128, 128, |x, y| shape.off_axis(frame(x, y)) <= 12.0);
        let luminance = (0..128 * 128)
            .map(|index| {
                let (u, t) = frame(index % 128, index / 128);
                // (along, across, z) to (x, y, z): along is +y, across is -x.
                let [nu, nt, nz] = normal(&shape, (u, t));
                let facing = -nt * light[0] + nu * light[1] + nz * light[2];
                if mask.cells[index] { 0.05 + 0.6 * facing.max(0.0) } else { 0.0 }
            })
            .collect();
        (mask, luminance)
    }

    #[test]
    fn a_ring_seen_edge_on_is_told_from_a_capsule_by_its_shading() {
        let (mask, luminance) = stadium(EdgeOn::normal);
        let ring = EdgeOn::of(&mask, &luminance, [0.0, 1.0]).expect("a ring standing edge-on");
        assert!((ring.radius - 36.0).abs() < 1.0 && (ring.tube - 12.0).abs() < 1.0, "{ring:?}");
        // Revolved about its width the stadium is a puck with the ring's near side: not read.
        assert_eq!(EdgeOn::of(&mask, &luminance, [1.0, 0.0]), None);
        let (mask, luminance) = stadium(EdgeOn::capsule_normal);
        assert_eq!(EdgeOn::of(&mask, &luminance, [0.0, 1.0]), None, "a capsule stays one");
        // Flat shading speaks for neither.
        let flat: Vec<f32> = mask.cells.iter().map(|&inside| if inside { 0.4 } else { 0.0 }).collect();
        assert_eq!(EdgeOn::of(&mask, &flat, [0.0, 1.0]), None);
    }

    #[test]
    fn an_edge_on_ring_is_a_closed_torus_with_its_hole_along_the_view() {
        let ring = EdgeOn { centre: [63.5, 63.5], along: [0.0, 1.0], radius: 36.0, tube: 12.0 };
        let (mesh, heights) = ring.solid(128, 1.0, &CancelFlag::new()).expect("a solid");
        let topology = mesh.topology();
        assert!(topology.is_watertight_manifold() && topology.components == 1, "{topology:?}");
        assert_eq!(topology.genus(), 1);
        let volume = -mesh.volume();
        assert!(volume > 0.0, "wound outwards once the grid's y is mirrored");
        let torus = 2.0 * std::f64::consts::PI.powi(2) * 36.0 * 12.0f64.powi(2);
        assert!((volume / torus - 1.0).abs() < 0.03, "volume {volume} against {torus}");
        let (low, high) = mesh.bounds();
        // Centred on the picture's plane, as deep as it is tall.
        assert!((high[2] - 48.0).abs() < 1.0 && (low[2] + 48.0).abs() < 1.0, "{low:?} {high:?}");
        assert!((high[1] - low[1] - 96.0).abs() < 1.5, "{low:?} {high:?}");
        // Its middle's near side is the ring's outer rim, 48 cells out; its ends are at the plane.
        assert!((heights[63 * 128 + 63] - 48.0).abs() < 0.5, "{}", heights[63 * 128 + 63]);
        assert!(heights[(63 + 48) * 128 + 63] < 10.0);
    }

    #[test]
    fn a_face_on_ring_an_oval_frame_and_a_disc_do_not_lean() {
        assert_eq!(Tilt::of(&leaning_ring(0.0)), None);
        // A frame whose sides are straight is not a ring's ellipse.
        let frame = Mask::from_fn(128, 128, |x, y| {
            let (dx, dy) = ((x as f32 - 64.0).abs(), (y as f32 - 64.0).abs());
            dx <= 50.0 && dy <= 30.0 && (dx > 38.0 || dy > 18.0)
        });
        assert_eq!(Tilt::of(&frame), None);
        let disc = Mask::from_fn(128, 128, |x, y| (x as f32 - 64.0).hypot((y as f32 - 64.0) * 1.5) <= 40.0);
        assert_eq!(Tilt::of(&disc), None);
    }
}
