//! Which solid a silhouette becomes: a solid of revolution, a rounded extrusion, an inflated relief,
//! or a revolved core with relief appendages (a mug's body and its handle).
//!
//! Furniture on legs seen from the front ([`legs`]) hides its back legs behind its front ones, and
//! is carved as a volume, as is a ring seen edge-on ([`ring`]), whose far side its near side
//! hides; seen from above ([`legs_above`]) it is fitted as a table and filled as
//! one. Every other solid is symmetric front to back about a middle surface, the picture's
//! plane for all but a leaning ring ([`ring`]), a box ([`cuboid`]) and a solid of revolution
//! ([`overhead`]) seen from above, so each is a height field `z = M(x, y) ± H(x, y)` over the
//! silhouette with `H` vanishing on the outline, and [`relief`]'s marching-triangles lift (then a
//! shear by `M` along the view) turns it into one closed 2-manifold whose holes are the
//! silhouette's holes. A
//! solid of revolution about an axis in the picture's plane is one exactly: at distance `s` from
//! the axis, where the profile's radius is `r`, it spans `|z| ≤ sqrt(r² - s²)`; the union of
//! parts is the larger of their heights.
//!
//! The analysis works on the reconstruction grid: the best mirror axis (vertical or leaning up to
//! [`MAX_LEAN_DEG`]), the profile's radius along it (the nearer of the two sides where they
//! disagree, so an appendage on one side does not widen the core), the core the profile sweeps and
//! what is left of the silhouette (the appendages); the outline simplified to a polygon for the
//! straight-edged test and the shading across the object for the flat test.
//!
//! [`cuboid`]: crate::cuboid
//! [`legs`]: crate::legs
//! [`legs_above`]: crate::legs_above
//! [`overhead`]: crate::overhead
//! [`relief`]: crate::relief
//! [`ring`]: crate::ring

use crate::cuboid::Cuboid;
use crate::error::Result;
use crate::legs::Legs;
use crate::legs_above::LegsAbove;
use crate::mask::Mask;
use crate::options::Shape;
use crate::overhead::Overhead;
use crate::progress::CancelFlag;
use crate::refine::box_mean;
use crate::relief::{DepthMap, Relief, inflate_grid, is_inside, lift, solve_poisson};
use crate::resample::resample;
use crate::ring::{EdgeOn, Tilt, shear};

/// The largest lean of a revolution axis from the picture's vertical, in degrees.
const MAX_LEAN_DEG: f32 = 30.0;

/// How much more of the silhouette a leaning mirror axis must map onto itself than an upright one.
const MIN_LEAN_GAIN: f32 = 0.03;

/// `auto` revolves when the core the profile sweeps holds at least this share of the silhouette.
const MIN_CORE_SHARE: f32 = 0.75;

/// Below this share of the silhouette, what the core leaves is slivers along its edge, not parts.
const MIN_APPENDAGE_SHARE: f32 = 0.01;

/// An extrusion's half depth as a share of the silhouette's longest side (signs, cards and tiles
/// are a few percent as deep as they are wide).
const EXTRUDE_HALF_DEPTH: f32 = 0.02;

/// How much an extrusion's faces bulge, as a share of its half depth.
const EXTRUDE_DOME: f32 = 0.02;

/// The spread (10th to 90th percentile) of smoothed luminance across a face lit evenly enough to
/// be flat; a curved surface's shading spreads much wider.
const MAX_FLAT_SPREAD: f32 = 0.1;

/// The flat test smooths over at most the silhouette's inscribed radius over this.
const MIN_INRADIUS_PER_SMOOTHING: f32 = 6.0;

/// What the reconstructor built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Built {
    /// The inflated silhouette.
    Relief,
    /// A solid of revolution.
    Revolve,
    /// A solid of revolution with relief appendages.
    Parts,
    /// A flat, rounded extrusion.
    Extrude,
    /// Round tubes along the silhouette (a ring seen face-on: a solid of revolution about the
    /// axis through its hole, not about one in the picture).
    Tubes,
    /// A box seen from above, its three visible faces read from its hexagonal outline.
    Box,
    /// Furniture on legs seen from the front (a table, a bench, a stool, a chair): its top slab or
    /// seat over a front and a back pair of legs, a chair's back over the back pair.
    Legs,
}

impl Built {
    /// The name in the generation record.
    pub fn name(self) -> &'static str {
        match self {
            Built::Relief => "relief",
            Built::Revolve => "revolve",
            Built::Parts => "parts",
            Built::Extrude => "extrude",
            Built::Tubes => "tubes",
            Built::Box => "box",
            Built::Legs => "legs",
        }
    }
}

/// A reconstruction and the shape it was built as.
#[derive(Debug, Clone)]
pub struct Reconstruction {
    /// The closed mesh in grid units.
    pub relief: Relief,
    /// The shape chosen (for `auto`) or asked for.
    pub built: Built,
    /// The world's up in the grid's frame (x right, y down, z towards the camera; a unit vector)
    /// when the shape shows that the camera looked down on the object (a box's upright edge, a
    /// lying ring's axis, leans towards it); none when the picture's up is the world's.
    pub up: Option<[f32; 3]>,
    /// The camera's lens, when the shape shows that it was not a long one (a box's far sides
    /// drawn shorter): the mesh is then in the picture's frame, each vertex where the picture shows
    /// it, and [`Lens::unproject`] moves it to where it is.
    pub lens: Option<Lens>,
}

/// A pinhole camera looking at the picture: its axis meets the picture at `principal` (grid
/// vertex coordinates), and it is `1 / inverse_distance` units in front of the plane of depth 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lens {
    /// Where the camera's axis meets the picture.
    pub principal: [f32; 2],
    /// One over the camera's distance from the plane of depth 0, per unit of depth.
    pub inverse_distance: f32,
}

impl Lens {
    /// The lens of a solid read on the reconstruction grid: its axis through the cell coordinates
    /// `principal` (a cell's centre at its index; vertices are a half further on), `inverse_focal`
    /// one over its focal length in cells, the solid's depths scaled by `thickness`. None for a
    /// long lens (`inverse_focal` 0).
    pub(crate) fn on_grid(principal: [f32; 2], inverse_focal: f32, thickness: f32) -> Option<Self> {
        (inverse_focal > 0.0).then(|| Lens {
            principal: [principal[0] + 0.5, principal[1] + 0.5],
            inverse_distance: inverse_focal / thickness.max(1.0e-6),
        })
    }

    /// Moves each vertex of a mesh in the picture's frame (x, y where the picture draws the point,
    /// z its depth towards the camera) to the point itself: `x' = principal + (x - principal)·(1 -
    /// w·z)`. Nothing moves at depth 0; nearer points were drawn larger and shrink. The map keeps
    /// orientation (its Jacobian is `(1 - w·z)² > 0` in front of the camera), so a closed,
    /// outward-wound mesh stays one.
    pub fn unproject(&self, mesh: &mut crate::mesh::TriMesh) {
        for position in &mut mesh.positions {
            let nearness = 1.0 - self.inverse_distance * position[2];
            for (value, principal) in position.iter_mut().zip(self.principal) {
                *value = principal + (*value - principal) * nearness;
            }
        }
    }
}

/// The least half depth of a box, per cell inside the silhouette's outline.
const BOX_RIM_SLOPE: f32 = 0.5;

/// How far the two sides of a profile row may differ, as a share of the wider, and still be one
/// symmetric outline (else the farther holds an appendage).
const PROFILE_SIDES_AGREE: f32 = 0.06;

/// The largest lean of a revolution axis in the picture that is read as upright when looking for
/// a camera above the object, in degrees.
const MAX_OVERHEAD_LEAN_DEG: f32 = 1.0;

/// The square cutout a solid is built from.
#[derive(Debug, Clone, Copy)]
pub struct Square<'a> {
    /// `side` x `side` coverage values in `0..=1`, row by row.
    pub coverage: &'a [f32],
    /// The same square's linear luminance in `0..=1`, which tells flat faces from curved ones;
    /// empty when unknown.
    pub luminance: &'a [f32],
    /// The square's side in pixels.
    pub side: usize,
}

/// Builds the solid for `square` as `shape` asks, on a `grid_px` grid. `thickness` scales the
/// depth; a depth map shapes a relief's front, and with `Shape::Auto` it keeps the relief.
pub fn reconstruct(
    square: Square<'_>,
    grid_px: usize,
    thickness: f32,
    shape: Shape,
    depth: Option<&DepthMap>,
    cancel: &CancelFlag,
    progress: &mut dyn FnMut(f32),
) -> Result<Reconstruction> {
    let Square { coverage, luminance, side } = square;
    let grid = resample(coverage, 1, (side, side), (grid_px, grid_px));
    if shape == Shape::Relief || (shape == Shape::Auto && depth.is_some()) {
        let relief = inflate_grid(&grid, grid_px, thickness, depth, cancel, progress)?;
        return Ok(Reconstruction { relief, built: Built::Relief, up: None, lens: None });
    }
    let shading = (luminance.len() == side * side).then(|| resample(luminance, 1, (side, side), (grid_px, grid_px)));
    let silhouette = Silhouette::new(&grid, grid_px);
    progress(0.1);
    let revolved = if shape == Shape::Extrude { None } else { silhouette.revolved() };
    let (mut cuboid, mut legs, mut legs_above, mut edge_on) = (None, None, None, None);
    let built = match shape {
        Shape::Extrude => Built::Extrude,
        Shape::Revolve => match &revolved {
            Some(revolved) if revolved.appendage_share < MIN_APPENDAGE_SHARE => Built::Revolve,
            Some(_) => Built::Parts,
            None => Built::Relief,
        },
        _ => {
            let corners = silhouette.corners();
            let polygonal = (3..=12).contains(&corners.len());
            if let Some(found) = LegsAbove::of(&silhouette.mask) {
                legs_above = Some(found);
                Built::Legs
            } else if let Some(found) = Legs::of(&silhouette.mask) {
                legs = Some(found);
                Built::Legs
            } else if polygonal && shading.as_deref().is_some_and(|shading| silhouette.is_flat(shading)) {
                Built::Extrude
            } else if let Some(found) =
                shading.as_deref().and_then(|shading| Cuboid::of(&silhouette.mask, &corners, shading))
            {
                cuboid = Some(found);
                Built::Box
            } else if let Some(found) = edge_on_ring(&silhouette, revolved.as_ref(), shading.as_deref()) {
                edge_on = Some(found);
                Built::Tubes
            } else {
                match &revolved {
                    Some(revolved) if !revolved.broken && revolved.core_share >= MIN_CORE_SHARE => {
                        if revolved.appendage_share < MIN_APPENDAGE_SHARE { Built::Revolve } else { Built::Parts }
                    }
                    Some(revolved) if revolved.broken => Built::Tubes,
                    _ => Built::Relief,
                }
            }
        }
    };
    tracing::debug!(shape = built.name(), "chose the shape");
    progress(0.3);
    let solid = if let Some(legs) = legs {
        tracing::debug!(?legs, "furniture on legs");
        let coverage = |[x, y]: [f32; 2]| silhouette.at([x - 0.5, y - 0.5]);
        Some(legs.solid(&coverage, grid_px, thickness, cancel)?)
    } else if let Some(ring) = edge_on {
        tracing::debug!(?ring, "a ring seen edge-on");
        Some(ring.solid(grid_px, thickness, cancel)?)
    } else {
        None
    };
    if let Some((mesh, front_heights)) = solid {
        progress(1.0);
        let relief = Relief { mesh, grid_px, front_heights, middle: Vec::new() };
        return Ok(Reconstruction { relief, built, up: None, lens: None });
    }
    if let Some(table) = legs_above {
        tracing::debug!(?table, "furniture on legs seen from above");
        let (mesh, front_heights) = table.solid(grid_px, thickness, cancel)?;
        progress(1.0);
        let relief = Relief { mesh, grid_px, front_heights, middle: Vec::new() };
        let (up, lens) = (Some(table.up(thickness)), table.lens(thickness));
        return Ok(Reconstruction { relief, built, up, lens });
    }
    let mut middle = Vec::new();
    let (mut up, mut lens) = (None, None);
    let heights = match (built, revolved, &cuboid) {
        (Built::Extrude, _, _) => silhouette.extruded(thickness),
        (Built::Box, _, Some(cuboid)) => {
            let (middles, halves) = cuboid.depths(grid_px, grid_px * grid_px);
            tracing::debug!(?cuboid, "a box seen from above");
            middle = middles.iter().map(|depth| depth * thickness).collect();
            up = Some(cuboid.up(thickness));
            lens = cuboid.lens(thickness);
            silhouette.closed_halves(&halves, thickness)
        }
        (Built::Tubes, _, _) => {
            let (heights, centres) = inscribed_balls(&silhouette.mask, silhouette.distance());
            if let Some(tilt) = Tilt::of(&silhouette.mask) {
                tracing::debug!(?tilt, "the ring leans back");
                middle = tilt.middle_depths(&centres, grid_px).iter().map(|depth| depth * thickness).collect();
                up = tilt.up(thickness);
            }
            heights.iter().map(|height| height * thickness).collect()
        }
        (Built::Revolve | Built::Parts, Some(revolved), _) => {
            let mut heights = match silhouette.overhead(&revolved.profile) {
                Some(overhead) => {
                    let (middles, halves) = overhead.depths(grid_px);
                    tracing::debug!(above_deg = overhead.above_deg(), "a solid of revolution seen from above");
                    middle = middles.iter().map(|depth| depth * thickness).collect();
                    up = Some(overhead.up(thickness));
                    lens = overhead.lens(thickness);
                    silhouette.closed_halves(&halves, thickness)
                }
                None => revolved.heights.iter().map(|height| height * thickness).collect(),
            };
            if built == Built::Parts {
                // The appendages (a mug's handle) in the picture's plane, or, seen from above, at
                // the depth the solid's middle carries on to beside them.
                let appendages = silhouette.appendage_heights(&revolved.core, thickness, cancel)?;
                for (height, appendage) in heights.iter_mut().zip(appendages) {
                    *height = height.max(appendage);
                }
            }
            heights
        }
        _ => {
            let relief = inflate_grid(&grid, grid_px, thickness, None, cancel, progress)?;
            return Ok(Reconstruction { relief, built: Built::Relief, up: None, lens: None });
        }
    };
    cancel.check()?;
    let mut mesh = lift(&grid, &heights, &heights, grid_px);
    if !middle.is_empty() {
        shear(&mut mesh, &middle, grid_px);
    }
    progress(1.0);
    Ok(Reconstruction { relief: Relief { mesh, grid_px, front_heights: heights, middle }, built, up, lens })
}

/// A ring standing edge-on, read where the silhouette would otherwise be revolved about its length.
fn edge_on_ring(silhouette: &Silhouette<'_>, revolved: Option<&Revolved>, shading: Option<&[f32]>) -> Option<EdgeOn> {
    EdgeOn::of(&silhouette.mask, shading?, revolved?.profile.axis.direction)
}

/// The coverage on the grid and what the shape analysis reads from it.
struct Silhouette<'a> {
    coverage: &'a [f32],
    n: usize,
    mask: Mask,
    area: usize,
    /// [`distance_inside`] the mask, computed once when first asked for.
    distance: std::cell::OnceCell<Vec<f32>>,
}

/// A line in the picture: through `origin`, along the unit `direction` (pointing down the picture).
#[derive(Debug, Clone, Copy)]
struct Axis {
    origin: [f32; 2],
    direction: [f32; 2],
}

impl Axis {
    fn leaning(origin: [f32; 2], lean_deg: f32) -> Self {
        let (sin, cos) = lean_deg.to_radians().sin_cos();
        Self { origin, direction: [sin, cos] }
    }

    /// The unit normal: `s` grows along it.
    fn normal(&self) -> [f32; 2] {
        [self.direction[1], -self.direction[0]]
    }

    /// `(s, t)`: signed distance from the axis and position along it.
    fn frame(&self, [x, y]: [f32; 2]) -> (f32, f32) {
        let (dx, dy) = (x - self.origin[0], y - self.origin[1]);
        let normal = self.normal();
        (dx * normal[0] + dy * normal[1], dx * self.direction[0] + dy * self.direction[1])
    }

    fn point(&self, s: f32, t: f32) -> [f32; 2] {
        let normal = self.normal();
        [self.origin[0] + s * normal[0] + t * self.direction[0], self.origin[1] + s * normal[1] + t * self.direction[1]]
    }
}

/// A profile about an axis: each side's radius per row `first..end`, row 0 at `t_start`.
struct Profile {
    axis: Axis,
    t_start: f32,
    first: usize,
    end: usize,
    radii: Vec<(f32, f32)>,
}

/// A solid of revolution fitted to the silhouette.
struct Revolved {
    /// Its height at each grid vertex (0 outside the core).
    heights: Vec<f32>,
    /// The vertices it covers.
    core: Mask,
    /// Its share of the silhouette.
    core_share: f32,
    /// The share of the silhouette outside it, slivers along its edge left out.
    appendage_share: f32,
    /// The axis leaves the silhouette and comes back (a face-on ring): not one solid of revolution.
    broken: bool,
    /// The profile it sweeps (its axis and rows), from which the solid seen from above is read
    /// once it is chosen.
    profile: Profile,
}

impl<'a> Silhouette<'a> {
    fn new(coverage: &'a [f32], n: usize) -> Self {
        let mask = Mask::from_fn(n, n, |x, y| is_inside(coverage[y * n + x]));
        let area = mask.area();
        Self { coverage, n, mask, area, distance: std::cell::OnceCell::new() }
    }

    /// Each cell's distance inside the outline ([`distance_inside`]).
    fn distance(&self) -> &[f32] {
        self.distance.get_or_init(|| distance_inside(&self.mask))
    }

    /// Coverage at a point between grid vertices, bilinear; 0 off the grid.
    fn at(&self, [x, y]: [f32; 2]) -> f32 {
        let n = self.n;
        if !(x >= 0.0 && y >= 0.0 && x <= (n - 1) as f32 && y <= (n - 1) as f32) {
            return 0.0;
        }
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(n - 1), (y0 + 1).min(n - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let value = |x: usize, y: usize| self.coverage[y * n + x];
        (value(x0, y0) * (1.0 - fx) + value(x1, y0) * fx) * (1.0 - fy)
            + (value(x0, y1) * (1.0 - fx) + value(x1, y1) * fx) * fy
    }

    /// The share of `points` whose mirror image across `axis` is inside too.
    fn mirror_score(&self, points: &[[f32; 2]], axis: &Axis) -> f32 {
        let normal = axis.normal();
        let hits = points
            .iter()
            .filter(|&&point| {
                let (s, _) = axis.frame(point);
                self.mask.get_nearest(point[0] - 2.0 * s * normal[0], point[1] - 2.0 * s * normal[1])
            })
            .count();
        hits as f32 / points.len().max(1) as f32
    }

    /// The mirror axis that maps most of the silhouette onto itself: a coarse search over leans
    /// and offsets on a sparse sample of the inside, refined around the best on a denser one.
    fn mirror_axis(&self) -> Option<Axis> {
        let (x0, _, x1, _) = self.mask.bounding_box()?;
        let sample = |stride: usize| -> Vec<[f32; 2]> {
            let mut points = Vec::new();
            for y in (0..self.n).step_by(stride) {
                for x in (0..self.n).step_by(stride) {
                    if self.mask.get(x, y) {
                        points.push([x as f32, y as f32]);
                    }
                }
            }
            points
        };
        let dense = sample((self.n / 128).max(1));
        let sparse = sample((self.n / 48).max(1));
        let count = dense.len().max(1) as f32;
        let centroid = dense.iter().fold([0.0f32; 2], |sum, point| [sum[0] + point[0], sum[1] + point[1]]);
        let centroid = [centroid[0] / count, centroid[1] / count];
        let reach = 0.2 * (x1 - x0) as f32;
        let search = |points: &[[f32; 2]], leans: &[f32], offsets: &[f32], around: (f32, f32)| {
            let mut best = (f32::MIN, around.0, around.1);
            for &lean in leans {
                let normal = Axis::leaning(centroid, around.0 + lean).normal();
                for &offset in offsets {
                    let shift = around.1 + offset;
                    let origin = [centroid[0] + shift * normal[0], centroid[1] + shift * normal[1]];
                    let score = self.mirror_score(points, &Axis::leaning(origin, around.0 + lean));
                    if score > best.0 {
                        best = (score, around.0 + lean, shift);
                    }
                }
            }
            best
        };
        let steps = |from: f32, to: f32, step: f32| -> Vec<f32> {
            let count = ((to - from) / step).round() as usize;
            (0..=count).map(|index| from + index as f32 * step).collect()
        };
        let offsets = steps(-reach, reach, (self.n as f32 / 128.0).max(1.0));
        let leaning = search(&sparse, &steps(-MAX_LEAN_DEG, MAX_LEAN_DEG, 3.0), &offsets, (0.0, 0.0));
        let upright = search(&sparse, &[0.0], &offsets, (0.0, 0.0));
        // Objects mostly stand upright: a lean must earn its place, or a spout on one side and a
        // handle on the other tilt the axis of a kettle.
        let (coarse, lean_reach) = if leaning.0 > upright.0 + MIN_LEAN_GAIN { (leaning, 3.0) } else { (upright, 1.0) };
        let (_, lean, shift) =
            search(&dense, &steps(-lean_reach, lean_reach, 0.5), &steps(-2.0, 2.0, 0.25), (coarse.1, coarse.2));
        let normal = Axis::leaning(centroid, lean).normal();
        Some(Axis::leaning([centroid[0] + shift * normal[0], centroid[1] + shift * normal[1]], lean))
    }

    /// The distance from the axis to the outline along `±normal` at `t`, to a tenth of a cell
    /// (the crossing of coverage 0.5 between the last sample inside and the first outside).
    fn extent(&self, axis: &Axis, t: f32, sign: f32) -> f32 {
        let step = 0.5;
        let mut previous = (0.0, self.at(axis.point(0.0, t)));
        let limit = 2.0 * self.n as f32;
        while previous.0 < limit {
            let s = previous.0 + step;
            let value = self.at(axis.point(sign * s, t));
            if value <= 0.5 {
                let fraction = (previous.1 - 0.5) / (previous.1 - value).max(1.0e-6);
                return previous.0 + step * fraction.clamp(0.0, 1.0);
            }
            previous = (s, value);
        }
        limit
    }

    /// The solid of revolution about the mirror axis, or none when the axis misses the silhouette.
    fn revolved(&self) -> Option<Revolved> {
        if self.area < 16 {
            return None;
        }
        let axis = self.mirror_axis()?;
        let n = self.n;
        // The silhouette's extent along the axis, one cell per profile row.
        let (mut t_min, mut t_max) = (f32::MAX, f32::MIN);
        for y in 0..n {
            for x in 0..n {
                if self.mask.get(x, y) {
                    let (_, t) = axis.frame([x as f32, y as f32]);
                    t_min = t_min.min(t);
                    t_max = t_max.max(t);
                }
            }
        }
        let t_start = t_min.floor() - 1.0;
        let rows = (t_max.ceil() - t_start) as usize + 2;
        // Per row: the two sides' extents where the axis is inside.
        let sides: Vec<Option<(f32, f32)>> = (0..rows)
            .map(|row| {
                let t = t_start + row as f32;
                (self.at(axis.point(0.0, t)) > 0.5).then(|| (self.extent(&axis, t, -1.0), self.extent(&axis, t, 1.0)))
            })
            .collect();
        // The runs of rows where the axis is inside; the one sweeping the most is the core.
        let mut runs: Vec<(usize, usize, f32)> = Vec::new();
        for (row, side) in sides.iter().enumerate() {
            let Some((left, right)) = side else { continue };
            let width = left.min(*right);
            match runs.last_mut() {
                Some((_, end, swept)) if *end == row => {
                    *end = row + 1;
                    *swept += width * width;
                }
                _ => runs.push((row, row + 1, width * width)),
            }
        }
        let total: f32 = runs.iter().map(|run| run.2).sum();
        let &(first, end, swept) = runs.iter().max_by(|a, b| a.2.total_cmp(&b.2))?;
        let broken = total - swept > 0.02 * total;
        // Each side's radius: its own extent where the two agree (the object is symmetric and the
        // outline exact), else the nearer side's on both (the far side holds an appendage).
        let radii: Vec<(f32, f32)> = (0..rows)
            .map(|row| match sides[row] {
                Some((left, right)) if (first..end).contains(&row) => {
                    let tolerance = (PROFILE_SIDES_AGREE * left.max(right)).max(1.5);
                    if (left - right).abs() <= tolerance {
                        (left, right)
                    } else {
                        let near = left.min(right);
                        (near, near)
                    }
                }
                _ => (0.0, 0.0),
            })
            .collect();
        let profile = Profile { axis, t_start, first, end, radii: smoothed_profile(&radii, first, end) };
        // What the core leaves, slivers along its edge left out.
        let left_out = |core: &Mask| Mask::from_fn(n, n, |x, y| self.mask.get(x, y) && !core.get(x, y)).opened(2);
        let (mut heights, mut core) = self.swept(&profile);
        let mut rest = left_out(&core);
        // A band of the profile that reaches out under or over a piece the core leaves out is a
        // cut through that piece (the ears of a head), not a disc about the axis: the profile
        // bridges it, and the piece becomes an appendage.
        let overhung = self.overhung_rows(&profile, &rest);
        if overhung.iter().any(|&row| row) {
            let profile = Profile { radii: bridged(&profile.radii, &overhung, first, end), ..profile };
            (heights, core) = self.swept(&profile);
            rest = left_out(&core);
        }
        let core_area = core.area();
        Some(Revolved {
            heights,
            core,
            core_share: core_area as f32 / self.area as f32,
            appendage_share: rest.area() as f32 / self.area as f32,
            broken,
            profile,
        })
    }

    /// The solid of revolution about `profile`'s axis seen from above, when the axis is upright
    /// in the picture and the outline's ends say the camera looked down on it ([`Overhead::of`]).
    fn overhead(&self, profile: &Profile) -> Option<Overhead> {
        let Profile { axis, t_start, first, end, .. } = profile;
        if axis.direction[0].abs() > MAX_OVERHEAD_LEAN_DEG.to_radians().sin() {
            return None;
        }
        let row_of = |t: f32| axis.point(0.0, t)[1];
        // The outline's own widths, not the profile's smoothed ones: smoothing rounds the ends'
        // arcs off, and the end discs would then be drawn smaller than the outline. Where the two
        // sides disagree (a handle on one), the nearer, as for the profile.
        let widths: Vec<(f32, f32)> = (*first..*end)
            .map(|row| {
                let t = t_start + row as f32;
                let (left, right) = (self.extent(axis, t, -1.0), self.extent(axis, t, 1.0));
                let width = if (left - right).abs() <= (PROFILE_SIDES_AGREE * left.max(right)).max(1.5) {
                    0.5 * (left + right)
                } else {
                    left.min(right)
                };
                (row_of(t), width)
            })
            .collect();
        // Where the outline crosses the axis, to a tenth of a cell past the first and last rows.
        let crossing = |from: f32, step: f32| {
            let mut t = from;
            while self.at(axis.point(0.0, t + step)) > 0.5 && (t - from).abs() < 2.0 {
                t += step;
            }
            t + 0.5 * step
        };
        let top = crossing(t_start + *first as f32, -0.1);
        let bottom = crossing(t_start + (*end - 1) as f32, 0.1);
        // The cutout centres the object: the lens's axis is taken through the middle.
        let principal = [(self.n as f32 - 1.0) / 2.0; 2];
        Overhead::of(axis.point(0.0, 0.0)[0], &widths, row_of(top), row_of(bottom), principal)
    }

    /// The solid the profile sweeps about its axis: the height at each grid vertex and the
    /// vertices it covers.
    fn swept(&self, profile: &Profile) -> (Vec<f32>, Mask) {
        let n = self.n;
        let Profile { axis, t_start, first, end, radii } = profile;
        let (t_start, first, end) = (*t_start, *first, *end);
        let mut heights = vec![0.0f32; n * n];
        let mut core = Mask::filled(n, n, false);
        for y in 0..n {
            for x in 0..n {
                let index = y * n + x;
                if !self.mask.cells[index] {
                    continue;
                }
                let (s, t) = axis.frame([x as f32, y as f32]);
                let position = t - t_start;
                if position < first as f32 || position > (end - 1) as f32 {
                    continue;
                }
                let row = (position.floor() as usize).min(end - 1);
                let next = (row + 1).min(end - 1);
                let fraction = position - row as f32;
                let lerp = |a: f32, b: f32| a + (b - a) * fraction;
                let (left, right) = (lerp(radii[row].0, radii[next].0), lerp(radii[row].1, radii[next].1));
                let extent = if s < 0.0 { left } else { right };
                // The radius about the axis is the mean of the two sides; each side's distance is
                // stretched to its own extent so the solid fills the outline exactly.
                let radius = 0.5 * (left + right);
                if extent <= 0.0 || s.abs() > extent {
                    continue;
                }
                let across = s.abs() / extent * radius;
                heights[index] = (radius * radius - across * across).max(0.0).sqrt();
                core.cells[index] = true;
            }
        }
        (heights, core)
    }

    /// The profile rows that reach past pieces of `rest` above or below them on both sides (a
    /// piece on one side only is already left out by the nearer side's radius): walking along
    /// the axis from a piece's cell, every row met whose radius on that side still passes it.
    fn overhung_rows(&self, profile: &Profile, rest: &Mask) -> Vec<bool> {
        let n = self.n;
        let Profile { axis, t_start, first, end, radii } = profile;
        let mut overhung = vec![[false; 2]; radii.len()];
        for y in 0..n {
            for x in 0..n {
                if !rest.get(x, y) {
                    continue;
                }
                let (s, t) = axis.frame([x as f32, y as f32]);
                let row = (t - t_start).round();
                if row < *first as f32 || row >= *end as f32 {
                    continue;
                }
                let side = usize::from(s >= 0.0);
                let passes = |other: usize| {
                    let radius = if side == 0 { radii[other].0 } else { radii[other].1 };
                    radius > s.abs() + 1.0
                };
                for step in [-1isize, 1] {
                    let mut other = row as isize + step;
                    while other >= *first as isize && (other as usize) < *end && passes(other as usize) {
                        overhung[other as usize][side] = true;
                        other += step;
                    }
                }
            }
        }
        overhung.iter().map(|&[left, right]| left && right).collect()
    }

    /// Relief heights for what the core leaves, calibrated to the core's round cross-sections
    /// (`sqrt(2u)` makes a long strip a round tube), and reaching a little into the core so each
    /// part's end is buried in the body it joins.
    fn appendage_heights(&self, core: &Mask, thickness: f32, cancel: &CancelFlag) -> Result<Vec<f32>> {
        let n = self.n;
        let rest = Mask::from_fn(n, n, |x, y| self.mask.get(x, y) && !core.get(x, y)).opened(1);
        let reach = (n / 64).max(2);
        let grown = rest.dilated(reach);
        let coverage: Vec<f32> = self
            .coverage
            .iter()
            .zip(&grown.cells)
            .zip(&self.mask.cells)
            .map(|((&value, &grown), &inside)| if grown && inside { value } else { 0.0 })
            .collect();
        let potential = solve_poisson(&coverage, n, cancel)?;
        Ok(potential.iter().map(|&value| (thickness as f64 * (2.0 * value.max(0.0)).sqrt()) as f32).collect())
    }

    /// The half depths of a solid read along lines of sight (a box's, a solid of revolution's seen
    /// from above), closed for the lift: the extrusion's faint dome, so no face is exactly flat
    /// for the simplifier; and at least a sliver of depth growing inwards from the outline, where
    /// the solid drawn and the silhouette differ by a cell, so no rim cell inside the silhouette is
    /// flat.
    fn closed_halves(&self, halves: &[f32], thickness: f32) -> Vec<f32> {
        halves
            .iter()
            .zip(self.dome())
            .zip(self.distance())
            .map(|((half, dome), rim)| half.max(BOX_RIM_SLOPE * rim) * thickness * dome)
            .collect()
    }

    /// A flat slab with rounded edges: the half depth a few percent of the silhouette's size, the
    /// edge a quarter circle as wide as the half depth (thin parts stay thinner).
    fn extruded(&self, thickness: f32) -> Vec<f32> {
        let n = self.n;
        let (x0, y0, x1, y1) = self.mask.bounding_box().unwrap_or((0, 0, n, n));
        let half_depth = (thickness * EXTRUDE_HALF_DEPTH * (x1 - x0).max(y1 - y0) as f32).max(1.5);
        self.distance()
            .iter()
            .zip(self.dome())
            .map(|(&distance, dome)| {
                let reach = (distance / half_depth).min(1.0);
                half_depth * dome * (1.0 - (1.0 - reach) * (1.0 - reach)).max(0.0).sqrt()
            })
            .collect()
    }

    /// A factor on each cell's half depth that bulges a flat face by a fiftieth, too little to
    /// see: on an exactly flat face three vertices of a grid row stay exactly in line, the
    /// simplifier joins them into a triangle of no area, and removing it would open the surface.
    fn dome(&self) -> Vec<f32> {
        let n = self.n;
        let (x0, y0, x1, y1) = self.mask.bounding_box().unwrap_or((0, 0, n, n));
        let centre = [(x0 + x1) as f32 / 2.0, (y0 + y1) as f32 / 2.0];
        let reach_squared = (((x1 - x0).pow(2) + (y1 - y0).pow(2)) as f32 / 4.0).max(1.0);
        (0..n * n)
            .map(|index| {
                let (dx, dy) = ((index % n) as f32 - centre[0], (index / n) as f32 - centre[1]);
                1.0 + EXTRUDE_DOME * (1.0 - (dx * dx + dy * dy) / reach_squared)
            })
            .collect()
    }

    /// The corners of the outline simplified to within a little over a hundredth of its size: a
    /// polygon of a few long straight sides is a sign, a card, a tile, or a box.
    fn corners(&self) -> Vec<[f32; 2]> {
        outline_corners(&self.mask)
    }

    /// Whether the object's shading is even across it (a flat face), read from its luminance
    /// smoothed over a twentieth of its size inside an eroded silhouette.
    fn is_flat(&self, luminance: &[f32]) -> bool {
        let n = self.n;
        let Some((x0, y0, x1, y1)) = self.mask.bounding_box() else { return false };
        let size = (x1 - x0).max(y1 - y0);
        let inradius = self.distance().iter().copied().fold(0.0f32, f32::max);
        // The rim's last cells are left out (its edge pixels blend with the background), but never
        // more than a third of the object's half-width: a thin part (a rod, a rocket) is judged by
        // its own shading, not by whatever wider part is left once it is eroded away.
        let interior = self.mask.eroded((size / 25).min((inradius / 3.0) as usize).max(1));
        let weights: Vec<f32> = interior.cells.iter().map(|&inside| f32::from(u8::from(inside))).collect();
        if weights.iter().sum::<f32>() < 16.0 {
            return false;
        }
        let weighted: Vec<f32> = luminance.iter().zip(&weights).map(|(value, weight)| value * weight).collect();
        // Smoothed over a twentieth of its size, but never over much of its width: across a thin
        // round part (a rod, a candle) the shading's curve is all there is to see.
        let radius = (size / 20).min((inradius / MIN_INRADIUS_PER_SMOOTHING) as usize).max(1);
        let (sum, total) = (box_mean(&weighted, (n, n), radius), box_mean(&weights, (n, n), radius));
        let mut smoothed: Vec<f32> = (0..n * n)
            .filter(|&index| interior.cells[index])
            .map(|index| sum[index] / total[index].max(1.0e-6))
            .collect();
        smoothed.sort_by(f32::total_cmp);
        let at = |fraction: f32| smoothed[((smoothed.len() - 1) as f32 * fraction).round() as usize];
        at(0.9) - at(0.1) < MAX_FLAT_SPREAD
    }
}

/// The radii with each run of `overhung` rows replaced, side by side, by a cubic that carries on
/// the profile's value and slope either side of it (so a round head stays round), never wider
/// than before. At an end of the profile the run keeps the row beside it.
fn bridged(radii: &[(f32, f32)], overhung: &[bool], first: usize, end: usize) -> Vec<(f32, f32)> {
    let radius_at = |row: usize, which: usize| if which == 0 { radii[row].0 } else { radii[row].1 };
    let mut bridged = radii.to_vec();
    let mut row = first;
    while row < end {
        if !overhung[row] {
            row += 1;
            continue;
        }
        let run_start = row;
        while row < end && overhung[row] {
            row += 1;
        }
        let span = (row - run_start + 1) as f32;
        for which in 0..2 {
            // The value at the row before the run and after it, and the slope per row there.
            let before = (run_start > first).then(|| {
                let at = run_start - 1;
                let slope = if at > first { radius_at(at, which) - radius_at(at - 1, which) } else { 0.0 };
                (radius_at(at, which), slope.clamp(-1.0, 1.0))
            });
            let after = (row < end).then(|| {
                let slope = if row + 1 < end { radius_at(row + 1, which) - radius_at(row, which) } else { 0.0 };
                (radius_at(row, which), slope.clamp(-1.0, 1.0))
            });
            let ((a, slope_a), (b, slope_b)) = match (before, after) {
                (Some(before), Some(after)) => (before, after),
                (Some(before), None) => ((before.0, 0.0), (before.0, 0.0)),
                (None, Some(after)) => ((after.0, 0.0), (after.0, 0.0)),
                (None, None) => ((0.0, 0.0), (0.0, 0.0)),
            };
            for (offset, radius) in bridged[run_start..row].iter_mut().enumerate() {
                let u = (offset + 1) as f32 / span;
                let (u2, u3) = (u * u, u * u * u);
                let line = (2.0 * u3 - 3.0 * u2 + 1.0) * a
                    + (u3 - 2.0 * u2 + u) * span * slope_a
                    + (-2.0 * u3 + 3.0 * u2) * b
                    + (u3 - u2) * span * slope_b;
                let radius = if which == 0 { &mut radius.0 } else { &mut radius.1 };
                *radius = radius.min(line.max(0.0));
            }
        }
    }
    bridged
}

/// The profile's radii over rows `first..end` with the measuring noise smoothed, each side on its
/// own: where the outline crosses the cells at a slant, its measured extent wobbles by a tenth of a
/// cell with a period of a few rows, which the normals' vertical part would show as bands. A
/// Gaussian over ±`PROFILE_REACH` rows; a neighbour further off than a cell plus half a cell per
/// row between them is a step in the profile (a collar, a rim) and is left out, so steps stay
/// sharp.
fn smoothed_profile(radii: &[(f32, f32)], first: usize, end: usize) -> Vec<(f32, f32)> {
    const PROFILE_REACH: usize = 6;
    let side = |pick: fn(&(f32, f32)) -> f32, row: usize| -> f32 {
        let centre = pick(&radii[row]);
        let (mut sum, mut total) = (0.0f32, 0.0f32);
        let from = row.saturating_sub(PROFILE_REACH).max(first);
        for (other, radius) in radii.iter().enumerate().take((row + PROFILE_REACH + 1).min(end)).skip(from) {
            let distance = other.abs_diff(row) as f32;
            let value = pick(radius);
            if (value - centre).abs() <= 1.0 + 0.5 * distance {
                let weight = (-distance * distance / 18.0).exp();
                sum += weight * value;
                total += weight;
            }
        }
        sum / total
    };
    (0..radii.len())
        .map(|row| {
            if (first..end).contains(&row) {
                (side(|radius| radius.0, row), side(|radius| radius.1, row))
            } else {
                radii[row]
            }
        })
        .collect()
}

/// The height of the union of the balls inscribed in the silhouette at each vertex: every inside
/// vertex `q` carries a ball as wide as its distance to the outline, and the surface is the top of
/// all of them, `sqrt(max over q of (d(q)² − |p − q|²))` (round tubes for strips, a sphere for a
/// disc), found with the same lower envelope of parabolas as the distance, run on `−d²`. With it,
/// the cell whose ball that is, for each vertex (inside or not). `distance` is
/// [`distance_inside`] the mask.
fn inscribed_balls(mask: &Mask, distance: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let (width, height) = (mask.width, mask.height);
    let far = ((width + height) * (width + height)) as f32;
    let mut lowest: Vec<f32> =
        distance.iter().zip(&mask.cells).map(|(&d, &inside)| if inside { -d * d } else { far }).collect();
    let centres = parabola_envelope_2d(&mut lowest, width, height);
    let heights = lowest
        .iter()
        .zip(&mask.cells)
        .map(|(&value, &inside)| if inside { (-value).max(0.0).sqrt() } else { 0.0 })
        .collect();
    (heights, centres)
}

/// The Euclidean distance from each inside cell's centre to the nearest outside cell's centre,
/// less half a cell (so the outline, halfway between, is at 0); 0 outside. Exact, by lower
/// envelopes of parabolas along rows then columns (Felzenszwalb and Huttenlocher).
fn distance_inside(mask: &Mask) -> Vec<f32> {
    let (width, height) = (mask.width, mask.height);
    let far = ((width + height) * (width + height)) as f32;
    let mut squared: Vec<f32> = mask.cells.iter().map(|&inside| if inside { far } else { 0.0 }).collect();
    parabola_envelope_2d(&mut squared, width, height);
    squared
        .iter()
        .zip(&mask.cells)
        .map(|(&value, &inside)| if inside { (value.sqrt() - 0.5).max(0.0) } else { 0.0 })
        .collect()
}

/// [`parabola_envelope`] over a `width` × `height` grid in place: `min over q of |p − q|² + f(q)`,
/// rows then columns (the squared distance splits by axis). Returns the minimising `q` (a cell
/// index) for each `p`.
fn parabola_envelope_2d(values: &mut [f32], width: usize, height: usize) -> Vec<u32> {
    let mut line = Vec::new();
    let mut along_rows = vec![0u32; values.len()];
    for y in 0..height {
        line.clear();
        line.extend_from_slice(&values[y * width..(y + 1) * width]);
        let (transformed, nearest) = parabola_envelope(&line);
        values[y * width..(y + 1) * width].copy_from_slice(&transformed);
        along_rows[y * width..(y + 1) * width].copy_from_slice(&nearest);
    }
    let mut nearest_cells = vec![0u32; values.len()];
    for x in 0..width {
        line.clear();
        line.extend((0..height).map(|y| values[y * width + x]));
        let (transformed, nearest) = parabola_envelope(&line);
        for (y, (value, row)) in transformed.into_iter().zip(nearest).enumerate() {
            let row = row as usize;
            values[y * width + x] = value;
            nearest_cells[y * width + x] = (row * width) as u32 + along_rows[row * width + x];
        }
    }
    nearest_cells
}

/// `min over q of (p - q)² + f(q)` for every `p`, and the minimising `q`: the 1D squared distance
/// transform.
fn parabola_envelope(f: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let n = f.len();
    let mut out = vec![0.0f32; n];
    let mut nearest = vec![0u32; n];
    if n == 0 {
        return (out, nearest);
    }
    let mut vertices = vec![0usize; n];
    let mut bounds = vec![0.0f32; n + 1];
    let mut count = 0usize;
    bounds[0] = f32::NEG_INFINITY;
    bounds[1] = f32::INFINITY;
    let meet = |q: usize, v: usize| -> f32 {
        ((f[q] + (q * q) as f32) - (f[v] + (v * v) as f32)) / (2.0 * q as f32 - 2.0 * v as f32)
    };
    for q in 1..n {
        let mut crossing = meet(q, vertices[count]);
        while crossing <= bounds[count] {
            count -= 1;
            crossing = meet(q, vertices[count]);
        }
        count += 1;
        vertices[count] = q;
        bounds[count] = crossing;
        bounds[count + 1] = f32::INFINITY;
    }
    let mut k = 0usize;
    for (p, (value, nearest)) in out.iter_mut().zip(&mut nearest).enumerate() {
        while bounds[k + 1] < p as f32 {
            k += 1;
        }
        let offset = p as f32 - vertices[k] as f32;
        *value = offset * offset + f[vertices[k]];
        *nearest = vertices[k] as u32;
    }
    (out, nearest)
}

/// The outer boundary of a one-component mask as cell positions in order (Moore-neighbour
/// tracing, clockwise in picture coordinates).
fn outline(mask: &Mask) -> Vec<[f32; 2]> {
    let (width, height) = (mask.width as isize, mask.height as isize);
    let inside = |x: isize, y: isize| x >= 0 && y >= 0 && x < width && y < height && mask.get(x as usize, y as usize);
    let Some(start) = mask.cells.iter().position(|&cell| cell) else { return Vec::new() };
    let start = ((start % mask.width) as isize, (start / mask.width) as isize);
    // The eight neighbours clockwise from the west (y grows down).
    const AROUND: [(isize, isize); 8] = [(-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1)];
    let mut points = vec![[start.0 as f32, start.1 as f32]];
    let (mut current, mut from) = (start, 0usize);
    let limit = 4 * (mask.width + mask.height) * 4;
    for _ in 0..limit {
        let mut next = None;
        for turn in 0..8 {
            let direction = (from + turn) % 8;
            let (dx, dy) = AROUND[direction];
            if inside(current.0 + dx, current.1 + dy) {
                next = Some((direction, (current.0 + dx, current.1 + dy)));
                break;
            }
        }
        let Some((direction, cell)) = next else { break };
        if cell == start && points.len() > 1 {
            break;
        }
        points.push([cell.0 as f32, cell.1 as f32]);
        current = cell;
        // The next search starts at the last outside cell this one checked, seen from the new cell.
        from = (direction + if direction % 2 == 0 { 6 } else { 5 }) % 8;
    }
    points
}

/// The corners of the outline of `mask`'s largest part, simplified to within 1.2% of its size (none
/// for a speck).
pub(crate) fn outline_corners(mask: &Mask) -> Vec<[f32; 2]> {
    let Some((x0, y0, x1, y1)) = mask.bounding_box() else { return Vec::new() };
    let size = (x1 - x0).max(y1 - y0) as f32;
    let outline = outline(&mask.largest_component());
    if outline.len() < 8 {
        return Vec::new();
    }
    simplified_polygon(&outline, (0.012 * size).max(1.0))
}

/// The closed outline simplified by Douglas–Peucker to within `tolerance`: its corners.
fn simplified_polygon(points: &[[f32; 2]], tolerance: f32) -> Vec<[f32; 2]> {
    let first = points[0];
    let far = (0..points.len())
        .max_by(|&a, &b| squared_distance(points[a], first).total_cmp(&squared_distance(points[b], first)))
        .unwrap_or(0);
    let mut keep = vec![false; points.len()];
    keep[0] = true;
    keep[far] = true;
    let closed: Vec<[f32; 2]> = points.iter().copied().chain(std::iter::once(first)).collect();
    let mut stack = vec![(0usize, far), (far, points.len())];
    while let Some((from, to)) = stack.pop() {
        let (a, b) = (closed[from], closed[to]);
        let mut worst = (0.0f32, from);
        for (index, &point) in closed.iter().enumerate().take(to).skip(from + 1) {
            let distance = line_distance(point, a, b);
            if distance > worst.0 {
                worst = (distance, index);
            }
        }
        if worst.0 > tolerance {
            keep[worst.1] = true;
            stack.push((from, worst.1));
            stack.push((worst.1, to));
        }
    }
    points.iter().zip(&keep).filter(|(_, keep)| **keep).map(|(point, _)| *point).collect()
}

fn squared_distance(a: [f32; 2], b: [f32; 2]) -> f32 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
}

/// The distance from `point` to the segment `a`–`b`.
fn line_distance(point: [f32; 2], a: [f32; 2], b: [f32; 2]) -> f32 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let length = (dx * dx + dy * dy).sqrt();
    if length < 1.0e-6 {
        return squared_distance(point, a).sqrt();
    }
    let along = (((point[0] - a[0]) * dx + (point[1] - a[1]) * dy) / (length * length)).clamp(0.0, 1.0);
    squared_distance(point, [a[0] + along * dx, a[1] + along * dy]).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Antialiased coverage of the cells `inside` accepts, from a 4×4 supersample.
    fn coverage(n: usize, inside: impl Fn(f32, f32) -> bool) -> Vec<f32> {
        let mut values = vec![0.0f32; n * n];
        for y in 0..n {
            for x in 0..n {
                let mut hits = 0;
                for sy in 0..4 {
                    for sx in 0..4 {
                        let (px, py) =
                            (x as f32 + (sx as f32 + 0.5) / 4.0 - 0.5, y as f32 + (sy as f32 + 0.5) / 4.0 - 0.5);
                        hits += u32::from(inside(px, py));
                    }
                }
                values[y * n + x] = hits as f32 / 16.0;
            }
        }
        values
    }

    fn build(coverage: &[f32], luminance: &[f32], n: usize, shape: Shape) -> Reconstruction {
        let square = Square { coverage, luminance, side: n };
        reconstruct(square, n, 1.0, shape, None, &CancelFlag::new(), &mut |_| {}).unwrap()
    }

    /// Shading of a surface of revolution about `x = axis` lit from the front: bright in the middle,
    /// dark towards the sides.
    fn cylinder_shading(n: usize, axis: f32, radius: f32) -> Vec<f32> {
        (0..n * n)
            .map(|index| {
                let across = ((index % n) as f32 - axis) / radius;
                0.15 + 0.8 * (1.0 - across * across).max(0.0).sqrt()
            })
            .collect()
    }

    /// The front's greatest height over the vertices with `x` in `range`.
    fn deepest_across(mesh: &crate::mesh::TriMesh, range: std::ops::Range<f32>) -> f32 {
        mesh.positions
            .iter()
            .filter(|position| range.contains(&position[0]))
            .map(|position| position[2])
            .fold(0.0, f32::max)
    }

    fn vase_radius(y: f32) -> f32 {
        34.0 + 14.0 * ((y - 28.0) / 17.0).sin()
    }

    #[test]
    fn a_vase_revolves_with_its_radius_at_every_height() {
        let n = 128;
        let axis = 63.7;
        let covered = coverage(n, |x, y| (12.0..116.0).contains(&y) && (x - axis).abs() <= vase_radius(y));
        let built = build(&covered, &cylinder_shading(n, axis, 48.0), n, Shape::Auto);
        assert_eq!(built.built, Built::Revolve);
        let mesh = &built.relief.mesh;
        assert!(mesh.topology().is_watertight_manifold());
        assert_eq!(mesh.topology().genus(), 0);
        // The mesh's depth at each height is the profile's radius (mesh y is the cell centre + 0.5).
        for row in 16..112 {
            let y = row as f32 + 0.5;
            let depth = mesh
                .positions
                .iter()
                .filter(|position| (position[1] - y).abs() < 0.01)
                .map(|position| position[2])
                .fold(0.0f32, f32::max);
            let radius = vase_radius(row as f32);
            assert!((depth - radius).abs() <= 0.02 * radius, "at row {row}: depth {depth}, radius {radius}");
        }
    }

    #[test]
    fn a_leaning_bottle_revolves_about_its_own_axis() {
        let n = 128;
        let axis = Axis::leaning([64.0, 64.0], 15.0);
        let covered = coverage(n, |x, y| {
            let (s, t) = axis.frame([x, y]);
            t.abs() <= 48.0 && s.abs() <= if t < -20.0 { 9.0 } else { 22.0 }
        });
        let built = build(&covered, &[], n, Shape::Auto);
        assert_eq!(built.built, Built::Revolve);
        let depth = built.relief.mesh.positions.iter().map(|position| position[2]).fold(0.0f32, f32::max);
        assert!((depth - 22.0).abs() < 0.6, "depth {depth}");
    }

    #[test]
    fn a_face_on_ring_is_a_round_tube_about_its_hole_and_keeps_it() {
        let n = 128;
        let covered = coverage(n, |x, y| (20.0..=44.0).contains(&((x - 64.0).hypot(y - 64.0))));
        let built = build(&covered, &cylinder_shading(n, 64.0, 44.0), n, Shape::Auto);
        assert_eq!(built.built, Built::Tubes);
        let mesh = &built.relief.mesh;
        assert_eq!(mesh.topology().genus(), 1);
        assert!(mesh.topology().is_watertight_manifold());
        // The band is 24 wide, so the tube is 12 deep at its middle line and round across it
        // (the inflation's relief would be √2 deeper: 17).
        let depth_at = |radius: f32| {
            mesh.positions
                .iter()
                .filter(|position| ((position[0] - 64.0).hypot(position[1] - 64.0) - radius).abs() < 0.75)
                .map(|position| position[2])
                .fold(0.0f32, f32::max)
        };
        assert!((depth_at(32.0) - 12.0).abs() < 1.0, "middle {}", depth_at(32.0));
        let round = (12.0f32 * 12.0 - 8.0 * 8.0).sqrt();
        assert!((depth_at(40.0) - round).abs() < 1.0, "8 from the middle {} against {round}", depth_at(40.0));
    }

    #[test]
    fn a_thin_capsule_shaded_as_one_stays_a_solid_of_revolution() {
        // A stadium is also a ring's outline seen edge-on, and a slab's with rounded ends: a
        // capsule's shading, curved across its width, keeps it a capsule (a rod, a candle).
        let n = 128;
        let stadium = coverage(n, |x, y| ((y - 64.0).abs() - 36.0).max(0.0).hypot(x - 64.0) <= 12.0);
        let built = build(&stadium, &cylinder_shading(n, 64.0, 12.0), n, Shape::Auto);
        assert_eq!(built.built, Built::Revolve);
        assert!(built.relief.mesh.topology().is_watertight_manifold());
        assert_eq!(built.relief.mesh.topology().genus(), 0);
    }

    #[test]
    fn a_thin_rod_on_a_wide_foot_is_judged_by_its_own_shading() {
        // A rocket on its launch mount at a fine grid: the rod is 24 cells wide, the foot 100. The
        // rim left out used to be a 25th of the size (17 cells), which erased the rod and judged
        // the flat foot alone: the rocket was extruded at grids from 384 up and revolved below.
        let n = 512;
        let rod = |x: f32, y: f32| (244.0..=268.0).contains(&x) && (40.0..=430.0).contains(&y);
        let foot = |x: f32, y: f32| (206.0..=306.0).contains(&x) && (430.0..=470.0).contains(&y);
        let covered = coverage(n, |x, y| rod(x, y) || foot(x, y));
        let curved = cylinder_shading(n, 256.0, 12.0);
        let luminance: Vec<f32> = (0..n * n)
            .map(|index| {
                let (x, y) = ((index % n) as f32, (index / n) as f32);
                if rod(x, y) { curved[index] } else { 0.6 }
            })
            .collect();
        let built = build(&covered, &luminance, n, Shape::Auto);
        assert!(matches!(built.built, Built::Revolve | Built::Parts), "{:?}", built.built);
        assert!(built.relief.mesh.topology().is_watertight_manifold());
    }

    #[test]
    fn a_flat_sign_on_a_post_extrudes() {
        let n = 128;
        let covered = coverage(n, |x, y| {
            ((20.0..=108.0).contains(&x) && (20.0..=70.0).contains(&y))
                || ((60.0..=68.0).contains(&x) && (70.0..=112.0).contains(&y))
        });
        let built = build(&covered, &vec![0.6; n * n], n, Shape::Auto);
        assert_eq!(built.built, Built::Extrude);
        let mesh = &built.relief.mesh;
        assert!(mesh.topology().is_watertight_manifold());
        let depth = mesh.positions.iter().map(|position| position[2]).fold(0.0f32, f32::max);
        assert!((1.5..2.5).contains(&depth), "half depth {depth}");
        // Its faces simplify without opening (exactly flat, they did not: see EXTRUDE_DOME).
        for share in [2, 3, 5] {
            let target = mesh.triangles.len() / share;
            assert!(mesh.simplified_to(target).is_some(), "did not simplify soundly to {target} faces");
        }
        // The same outline shaded like a cylinder is not flat: it revolves.
        let built = build(&covered, &cylinder_shading(n, 64.0, 44.0), n, Shape::Auto);
        assert_ne!(built.built, Built::Extrude);
    }

    #[test]
    fn a_mug_becomes_a_revolved_body_and_a_relief_handle() {
        let n = 128;
        let covered = coverage(n, |x, y| {
            let body = (24.0..=84.0).contains(&x) && (24.0..=104.0).contains(&y);
            let handle = (14.0..=24.0).contains(&((x - 84.0).hypot(y - 64.0))) && x > 84.0;
            body || handle
        });
        let built = build(&covered, &cylinder_shading(n, 54.0, 30.0), n, Shape::Auto);
        assert_eq!(built.built, Built::Parts);
        let mesh = &built.relief.mesh;
        assert!(mesh.topology().is_watertight_manifold());
        assert_eq!(mesh.topology().genus(), 1, "the handle's hole goes through");
        // The body is as deep as it is wide; the handle is a tube about as deep as it is thick.
        let deepest = |range: std::ops::Range<f32>| deepest_across(mesh, range);
        assert!((deepest(50.0..60.0) - 30.0).abs() < 1.0, "body {}", deepest(50.0..60.0));
        let handle = deepest(100.0..110.0);
        assert!((3.5..7.0).contains(&handle), "handle {handle}");
    }

    #[test]
    fn ears_on_both_sides_stay_ears_and_do_not_sweep_a_brim() {
        let n = 128;
        // A round head on a neck, and an ear either side joined to it along a band narrower than
        // the ear is tall, so the rows through that band reach the ears' tips.
        let covered = coverage(n, |x, y| {
            let head = (x - 64.0).hypot(y - 60.0) <= 30.0;
            let neck = (52.0..=76.0).contains(&x) && (60.0..=110.0).contains(&y);
            let ears = (x - 24.0).hypot(y - 60.0) <= 12.0 || (x - 104.0).hypot(y - 60.0) <= 12.0;
            head || neck || ears
        });
        let built = build(&covered, &cylinder_shading(n, 64.0, 30.0), n, Shape::Revolve);
        assert_eq!(built.built, Built::Parts);
        let mesh = &built.relief.mesh;
        assert!(mesh.topology().is_watertight_manifold());
        let deepest = |range: std::ops::Range<f32>| deepest_across(mesh, range);
        assert!((deepest(60.0..68.0) - 30.0).abs() < 1.5, "head {}", deepest(60.0..68.0));
        // A brim through the ears would be sqrt(52² − 40²) ≈ 33 deep there; an ear is a relief.
        for ear in [deepest(20.0..28.0), deepest(100.0..108.0)] {
            assert!(ear < 14.0, "ear {ear}");
        }
    }

    #[test]
    fn the_distance_inside_is_euclidean() {
        let mask = Mask::from_fn(21, 21, |x, y| (x as f32 - 10.0).hypot(y as f32 - 10.0) <= 8.0);
        let distance = distance_inside(&mask);
        // The nearest outside cells are (18, 11) and its mirror images, at sqrt(65).
        assert!((distance[10 * 21 + 10] - (65f32.sqrt() - 0.5)).abs() < 1.0e-4, "{}", distance[10 * 21 + 10]);
        assert!((distance[10 * 21 + 18] - 0.5).abs() < 1.0e-4, "{}", distance[10 * 21 + 18]);
        assert_eq!(distance[0], 0.0);
    }
}
