//! Several pictures of one object: the front plus pictures from its right, left, back or top
//! carve a visual hull, and each part of the surface is textured from the pictures that see it.
//!
//! Every picture is registered to the front by its object's bounding box: the side views share the
//! front's height, the top view its width, and each is centred on the object (orthographic views
//! are assumed; small shifts and scale differences between pictures are taken out this way, and
//! the side silhouettes are widened by a small tolerance so a slightly turned camera does not
//! carve the object away). The single-view shape (revolve, relief, parts) rounds what the
//! silhouettes alone leave blocky: its depth is stretched, row by row, to the depth the side views
//! show, and the hull is where that stretched shape and every silhouette agree. A flat extrusion
//! takes the hull as it is, since its side view shows its real depth.
//!
//! The texture is an atlas of charts, one per direction the surface faces (front, back, and right,
//! left and top where those pictures exist). Each chart texel is the surface point seen from its
//! direction, coloured by a blend of the pictures that see that point, weighted by how squarely
//! they see it, so colours meet without seams where charts do, each picture's light divided out
//! (fitted to the surface's normals as that picture saw them, as for one picture). A chart never
//! takes colours from the picture opposite to it: with a back picture, no texel of the back comes
//! from the front. Without one the back shows the front picture as if seen through the object, as
//! the single view does, and a missing left (or right) side shows the other side's picture the
//! same way.

use image::RgbImage;

use crate::error::{EngineError, Result};
use crate::foreground::Cutout;
use crate::mesh::{Topology, TriMesh};
use crate::progress::CancelFlag;
use crate::texture::{encode_srgb, filled_colours, push_pull};
use crate::volume::{MAX_SAMPLING_GRID, Sampling, sample_densities};

/// Where the camera went for a picture other than the front, named from the front's viewpoint:
/// `Right` is taken after moving the camera 90° to the viewer's right around the object (it shows
/// the side that was on the right of the front picture), `Top` from above with the front at the
/// bottom of the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// From the object's right.
    Right,
    /// From behind.
    Back,
    /// From the object's left.
    Left,
    /// From above, the front at the bottom of the picture.
    Top,
}

impl Side {
    /// Every side, in a turnaround sheet's order (after the front) and then the top.
    pub const ALL: [Side; 4] = [Side::Right, Side::Back, Side::Left, Side::Top];

    /// The name clients use (`right`, `back`, `left`, `top`).
    pub fn name(self) -> &'static str {
        match self {
            Side::Right => "right",
            Side::Back => "back",
            Side::Left => "left",
            Side::Top => "top",
        }
    }

    /// The side with this name.
    pub fn from_name(name: &str) -> Option<Side> {
        Side::ALL.into_iter().find(|side| side.name() == name)
    }

    fn facing(self) -> Facing {
        match self {
            Side::Right => Facing::Right,
            Side::Back => Facing::Back,
            Side::Left => Facing::Left,
            Side::Top => Facing::Top,
        }
    }
}

/// One extra picture of the object.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// Where its camera was.
    pub side: Side,
    /// Its file name, for errors and the record.
    pub name: &'a str,
    /// The encoded image.
    pub bytes: &'a [u8],
}

/// How far a side picture's silhouette is widened before it carves, as a share of the object's
/// size in it: a camera turned a degree or two, or a picture cropped a pixel off, keeps the object.
const TOLERANCE: f32 = 0.005;

/// How sharply the blend prefers the picture that sees a point most squarely: weights go as the
/// cosine between the surface normal and the camera to this power.
const BLEND_POWER: i32 = 4;

/// The weight of a picture seen "through" the object (the front for a missing back, one side for
/// the other), against a real picture of that side.
const THROUGH_WEIGHT: f32 = 0.25;

/// The share of a side picture's row its object must cover, between its ends, for the row to count
/// as one piece.
const SOLID_ROW: f32 = 0.6;

/// The depth factor that leaves a row to the silhouettes (large, and finite so it interpolates).
const UNROUNDED: f32 = 1.0e6;

/// The coarsest grid the hull is sampled on when a finer one cannot be simplified soundly.
const MIN_RETRY_GRID_PX: usize = 64;

/// The coarsest grid across the front the hull is carved on at all; pictures whose depth would
/// need coarser (against [`MAX_SAMPLING_GRID`]) are refused.
const MIN_CARVE_GRID: usize = 16;

/// Room the sampling grid's rounding up to a multiple of four may take.
const COARSE_CELLS: usize = 4;

/// Texels between charts, filled from the charts' own colours so bilinear reads stay on colour.
const CHART_PAD_PX: usize = 2;

/// Directions the object is seen or charted from, in the front's frame (x right, y down, z towards
/// the front camera, in the front cutout's pixels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Facing {
    Front,
    Right,
    Back,
    Left,
    Top,
}

impl Facing {
    const ALL: [Facing; 5] = [Facing::Front, Facing::Right, Facing::Back, Facing::Left, Facing::Top];

    /// A point's position across its picture (right, down) and its nearness to its camera.
    fn project(self, [x, y, z]: [f32; 3]) -> [f32; 3] {
        match self {
            Facing::Front => [x, y, z],
            Facing::Right => [-z, y, x],
            Facing::Back => [-x, y, -z],
            Facing::Left => [z, y, -x],
            Facing::Top => [x, z, -y],
        }
    }

    /// The unit direction towards its camera.
    fn toward(self) -> [f32; 3] {
        match self {
            Facing::Front => [0.0, 0.0, 1.0],
            Facing::Right => [1.0, 0.0, 0.0],
            Facing::Back => [0.0, 0.0, -1.0],
            Facing::Left => [-1.0, 0.0, 0.0],
            Facing::Top => [0.0, -1.0, 0.0],
        }
    }

    fn opposite(self) -> Option<Facing> {
        match self {
            Facing::Front => Some(Facing::Back),
            Facing::Back => Some(Facing::Front),
            Facing::Right => Some(Facing::Left),
            Facing::Left => Some(Facing::Right),
            Facing::Top => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// A picture registered to the front: how points of the front's frame land in its cutout.
struct Registered {
    facing: Facing,
    side_px: usize,
    /// Coverage as found.
    coverage: Vec<f32>,
    /// Coverage that carves, for a side widened by [`TOLERANCE`]; none for the front, whose
    /// coverage as found carves.
    widened: Option<Vec<f32>>,
    /// Linear colours, three per texel of a `colour_px` square, filled past the outline.
    colours: Vec<f32>,
    colour_px: usize,
    /// Picture pixels per front pixel.
    scale: f32,
    /// The picture pixel of the object's centre, and that centre's picture axes in the front's frame.
    centre: [f32; 2],
    world_centre: [f32; 2],
}

impl Registered {
    fn pixel(&self, point: [f32; 3]) -> [f32; 2] {
        let [a, b, _] = self.facing.project(point);
        [
            self.centre[0] + (a - self.world_centre[0]) * self.scale,
            self.centre[1] + (b - self.world_centre[1]) * self.scale,
        ]
    }

    fn carves(&self, point: [f32; 3]) -> f32 {
        let carve = self.widened.as_deref().unwrap_or(&self.coverage);
        bilinear::<1>(carve, self.side_px, self.pixel(point), true)[0]
    }

    fn colour(&self, point: [f32; 3]) -> [f32; 3] {
        let [u, v] = self.pixel(point);
        let to_colour = self.colour_px as f32 / self.side_px as f32;
        bilinear::<3>(&self.colours, self.colour_px, [u * to_colour, v * to_colour], false)
    }

    /// For a side picture, the depth range (`z`, front pixels) its silhouette covers at height `y`,
    /// and whether it covers it in one piece.
    fn depth_range(&self, y: f32) -> Option<([f32; 2], bool)> {
        let v = self.centre[1] + (y - self.world_centre[1]) * self.scale;
        let row = (v - 0.5).round();
        if row < 0.0 || row >= self.side_px as f32 {
            return None;
        }
        let row = &self.coverage[row as usize * self.side_px..(row as usize + 1) * self.side_px];
        let first = row.iter().position(|&coverage| coverage > 0.5)?;
        let last = row.iter().rposition(|&coverage| coverage > 0.5)? + 1;
        let across = |u: usize| self.world_centre[0] + (u as f32 - self.centre[0]) / self.scale;
        let (low, high) = (across(first), across(last));
        let covered = row[first..last].iter().filter(|&&coverage| coverage > 0.5).count();
        let whole = covered as f32 >= SOLID_ROW * (last - first) as f32;
        match self.facing {
            Facing::Right => Some(([-high, -low], whole)),
            Facing::Left => Some(([low, high], whole)),
            _ => None,
        }
    }
}

/// Bilinear sample of a `side`-square raster of `C` channels at picture coordinates (pixel centres
/// at half pixels). Outside the raster: zero, or the nearest edge texel.
fn bilinear<const C: usize>(values: &[f32], side: usize, [u, v]: [f32; 2], zero_outside: bool) -> [f32; C] {
    let (x, y) = (u - 0.5, v - 0.5);
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let mut sample = [0.0f32; C];
    let last = side as i64 - 1;
    for (dy, weight_y) in [(0, 1.0 - fy), (1, fy)] {
        for (dx, weight_x) in [(0, 1.0 - fx), (1, fx)] {
            let (cx, cy) = (x0 as i64 + dx, y0 as i64 + dy);
            if zero_outside && (cx < 0 || cy < 0 || cx > last || cy > last) {
                continue;
            }
            let base = (cy.clamp(0, last) as usize * side + cx.clamp(0, last) as usize) * C;
            for (channel, value) in sample.iter_mut().enumerate() {
                *value += weight_x * weight_y * values[base + channel];
            }
        }
    }
    sample
}

/// The object's bounding box in a cutout, `[left, top, right, bottom]` in pixels.
fn object_bounds(coverage: &[f32], side: usize) -> Option<[f32; 4]> {
    let mut bounds: Option<[usize; 4]> = None;
    for y in 0..side {
        let row = &coverage[y * side..(y + 1) * side];
        let Some(first) = row.iter().position(|&coverage| coverage > 0.5) else {
            continue;
        };
        let last = row.iter().rposition(|&coverage| coverage > 0.5).unwrap_or(first) + 1;
        bounds = Some(match bounds {
            None => [first, y, last, y + 1],
            Some([left, top, right, _]) => [left.min(first), top, right.max(last), y + 1],
        });
    }
    bounds.map(|bounds| bounds.map(|edge| edge as f32))
}

/// The largest value within `radius` pixels (a square), per pixel of a `side` square.
fn widened(values: &[f32], side: usize, radius: usize) -> Vec<f32> {
    let pass = |values: &[f32], along_rows: bool| -> Vec<f32> {
        let mut out = vec![0.0f32; values.len()];
        for line in 0..side {
            for position in 0..side {
                let (start, end) = (position.saturating_sub(radius), (position + radius + 1).min(side));
                let at = |other: usize| if along_rows { line * side + other } else { other * side + line };
                out[at(position)] = (start..end).map(|other| values[at(other)]).fold(0.0, f32::max);
            }
        }
        out
    };
    pass(&pass(values, true), false)
}

/// The front and the other pictures, registered to it.
pub(crate) struct Pictures {
    registered: Vec<Registered>,
    /// The front cutout's side: the front's frame spans `0..front_px` across and down.
    front_px: usize,
    /// The object's half-depth the side and top pictures show, widened as they carve, in front
    /// pixels.
    depth_half: Option<f32>,
}

impl Pictures {
    /// Registers `others` to `front`; colours are kept at up to `colour_px` per picture.
    pub(crate) fn new(front: &Cutout, others: &[(Side, &Cutout)], colour_px: usize) -> Result<Self> {
        let front_px = front.side() as usize;
        let no_object =
            |what: &str| EngineError::NoObject { reason: format!("no object was found in the {what} picture") };
        let [left, top, right, bottom] = object_bounds(&front.coverage, front_px).ok_or_else(|| no_object("front"))?;
        let world_middle = [(left + right) / 2.0, (top + bottom) / 2.0, 0.0];
        let colours = |cutout: &Cutout| {
            let px = colour_px.min(cutout.side() as usize).max(1);
            (filled_colours(cutout, px, None), px)
        };
        let (front_colours, front_colour_px) = colours(front);
        let mut registered = vec![Registered {
            facing: Facing::Front,
            side_px: front_px,
            coverage: front.coverage.clone(),
            widened: None,
            colours: front_colours,
            colour_px: front_colour_px,
            scale: 1.0,
            centre: [world_middle[0], world_middle[1]],
            world_centre: [world_middle[0], world_middle[1]],
        }];
        let mut depth_half: Option<f32> = None;
        for &(side, cutout) in others {
            let side_px = cutout.side() as usize;
            let [u0, v0, u1, v1] = object_bounds(&cutout.coverage, side_px).ok_or_else(|| no_object(side.name()))?;
            let facing = side.facing();
            let scale = if facing == Facing::Top { (u1 - u0) / (right - left) } else { (v1 - v0) / (bottom - top) };
            let [a, b, _] = facing.project(world_middle);
            let radius = (TOLERANCE * (u1 - u0).max(v1 - v0)).round().max(1.0) as usize;
            let (picture_colours, picture_colour_px) = colours(cutout);
            // As far as the widened silhouette carves: the volume sampled must hold all of it.
            let half = match facing {
                Facing::Right | Facing::Left => Some(((u1 - u0) / 2.0 + radius as f32) / scale),
                Facing::Top => Some(((v1 - v0) / 2.0 + radius as f32) / scale),
                _ => None,
            };
            if let Some(half) = half {
                depth_half = Some(depth_half.map_or(half, |known| known.max(half)));
            }
            registered.push(Registered {
                facing,
                side_px,
                coverage: cutout.coverage.clone(),
                widened: Some(widened(&cutout.coverage, side_px, radius)),
                colours: picture_colours,
                colour_px: picture_colour_px,
                scale,
                centre: [(u0 + u1) / 2.0, (v0 + v1) / 2.0],
                world_centre: [a, b],
            });
        }
        Ok(Self { registered, front_px, depth_half })
    }

    fn has_depth_views(&self) -> bool {
        self.depth_half.is_some()
    }

    /// The sides pictured, front first, for the record.
    pub(crate) fn names(&self) -> Vec<String> {
        self.registered
            .iter()
            .map(|picture| {
                match picture.facing {
                    Facing::Front => "front",
                    Facing::Right => "right",
                    Facing::Back => "back",
                    Facing::Left => "left",
                    Facing::Top => "top",
                }
                .to_owned()
            })
            .collect()
    }
}

/// The single-view shape's depth, stretched row by row to what the side pictures show.
struct ShapeDepth {
    /// Half-depth in front pixels at each cell centre of a `grid` square over the front cutout.
    heights: Vec<f32>,
    /// The depth of the middle between front and back there, in front pixels (a leaning ring's, a
    /// box's; 0 for the rest).
    middle: Vec<f32>,
    grid: usize,
    /// Front pixels per cell.
    cell: f32,
    /// Per grid row: the depth centre, the factor on the shape's half-depth, the centre of the
    /// shape's own depth range (moved onto the depth centre) and the factor on its middle's
    /// offsets from that (0 where the row is left to the silhouettes).
    rows: Vec<[f32; 4]>,
}

impl ShapeDepth {
    fn new(front_heights: &[f32], middle: &[f32], grid: usize, pictures: &Pictures) -> Self {
        let cell = pictures.front_px as f32 / grid as f32;
        let heights: Vec<f32> = front_heights.iter().map(|height| height.max(0.0) * cell).collect();
        let middle: Vec<f32> = if middle.len() == heights.len() {
            middle.iter().map(|depth| depth * cell).collect()
        } else {
            vec![0.0; heights.len()]
        };
        let sides: Vec<&Registered> = pictures
            .registered
            .iter()
            .filter(|picture| matches!(picture.facing, Facing::Right | Facing::Left))
            .collect();
        // Per row: the depth range the side pictures show (their union) and the shape's half-depth.
        let mut apart = vec![false; grid];
        let measured: Vec<Option<[f32; 4]>> = (0..grid)
            .map(|row| {
                // The shape's own depth range in this row: its centre and half.
                let cells = row * grid..(row + 1) * grid;
                let (low, high) = heights[cells.clone()]
                    .iter()
                    .zip(&middle[cells])
                    .filter(|(half, _)| **half > 0.0)
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(low, high), (half, middle)| {
                        (low.min(middle - half), high.max(middle + half))
                    });
                let (built, built_centre) =
                    if high > low { ((high - low) / 2.0, (high + low) / 2.0) } else { (0.0, 0.0) };
                let y = (row as f32 + 0.5) * cell;
                let range = sides
                    .iter()
                    .filter_map(|side| side.depth_range(y))
                    .reduce(|(a, whole_a), (b, whole_b)| ([a[0].min(b[0]), a[1].max(b[1])], whole_a && whole_b));
                apart[row] = range.is_some_and(|(_, whole)| !whole);
                range
                    .filter(|_| built > 1.0e-3 * cell)
                    .map(|([low, high], _)| [(low + high) / 2.0, (high - low) / 2.0, built, built_centre])
            })
            .collect();
        // Rows are smoothed over a few cells so one row's misreading does not print a ridge.
        let radius = 3isize;
        let rows = (0..grid as isize)
            .map(|row| {
                let Some(here) = measured[row as usize] else {
                    return [0.0, 1.0, 0.0, 1.0];
                };
                let (mut centre, mut half, mut total) = (0.0f32, 0.0f32, 0.0f32);
                for other in (row - radius).max(0)..(row + radius + 1).min(grid as isize) {
                    if let Some([c, h, _, _]) = measured[other as usize] {
                        let weight = (-((other - row) as f32).powi(2) / 4.0).exp();
                        centre += weight * c;
                        half += weight * h;
                        total += weight;
                    }
                }
                // Where the side shows the row in separate pieces (a table's front and back legs),
                // which part of the front lies in which piece is unknown: the silhouettes alone decide.
                if apart[row as usize] {
                    [0.0, UNROUNDED, here[3], 0.0]
                } else {
                    let factor = (half / total) / here[2];
                    [centre / total, factor, here[3], factor]
                }
            })
            .collect();
        Self { heights, middle, grid, cell, rows }
    }

    /// How far inside the stretched shape a point is, as a density around 0.5 at its surface.
    fn density(&self, [x, y, z]: [f32; 3]) -> f32 {
        let half = bilinear::<1>(&self.heights, self.grid, [x / self.cell, y / self.cell], true)[0];
        let middle = bilinear::<1>(&self.middle, self.grid, [x / self.cell, y / self.cell], true)[0];
        let row = (y / self.cell - 0.5).clamp(0.0, (self.grid - 1) as f32);
        let (low, high) = (row.floor() as usize, (row.ceil() as usize).min(self.grid - 1));
        let t = row - row.floor();
        let [centre, factor, built_centre, shift] =
            [0, 1, 2, 3].map(|k| self.rows[low][k] * (1.0 - t) + self.rows[high][k] * t);
        let inside_by = half * factor - (z - centre - (middle - built_centre) * shift).abs();
        (0.5 + inside_by / (2.0 * self.cell)).clamp(0.0, 1.0)
    }
}

/// The carved surface, welded, in the front's frame.
pub(crate) struct Carved {
    /// The simplified, closed mesh (x right, y down, z towards the front camera, front pixels).
    pub(crate) mesh: TriMesh,
    pub(crate) topology: Topology,
    /// Triangles before simplification.
    pub(crate) unsimplified_faces: usize,
    /// The record's shape: the single-view shape that rounded it, or `hull`.
    pub(crate) built: &'static str,
    /// The grid it was sampled on (lowered from the one asked for when that would not simplify, or
    /// when the depth the pictures show would not fit [`MAX_SAMPLING_GRID`]).
    pub(crate) grid: usize,
    /// Whether the depth lowered the grid.
    pub(crate) depth_limited: bool,
}

/// The single-view shape that rounds the hull, on a square grid over the front.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SingleView<'a> {
    /// Half depths in cells.
    pub(crate) half: &'a [f32],
    /// The depths of the middle between front and back, in cells; empty for the picture's plane.
    pub(crate) middle: &'a [f32],
    pub(crate) built: crate::shape::Built,
}

/// Carves the visual hull of `pictures`, rounded by the single-view shape `single` on a `grid`
/// square over the front, and simplifies it to `target_faces`.
pub(crate) fn carve(
    pictures: &Pictures,
    single: SingleView<'_>,
    grid: usize,
    target_faces: usize,
    cancel: &CancelFlag,
    progress: &mut dyn FnMut(f32),
) -> Result<Carved> {
    let SingleView { half: front_heights, middle, built } = single;
    // A flat extrusion's side picture shows its real depth; any other shape keeps its rounding.
    let shape = (!(built == crate::shape::Built::Extrude && pictures.has_depth_views()))
        .then(|| ShapeDepth::new(front_heights, middle, grid, pictures));
    let half_px = pictures.front_px as f32 / 2.0;
    let cell = pictures.front_px as f32 / grid as f32;
    let shape_half = front_heights
        .iter()
        .zip(middle.iter().chain(std::iter::repeat(&0.0)))
        .map(|(half, middle)| half + middle.abs())
        .fold(0.0f32, f32::max)
        * cell;
    let depth_half = pictures.depth_half.unwrap_or(shape_half);
    let radius = ((depth_half + 3.0 * cell) / half_px).max(1.0);
    // The sampled cube spans the whole depth at the front's resolution: a deep object (or a side
    // picture of something else, drawn far smaller) is sampled more coarsely to stay in memory.
    let fits = ((MAX_SAMPLING_GRID - COARSE_CELLS) as f32 / radius).floor() as usize;
    if fits < MIN_CARVE_GRID {
        return Err(EngineError::NoObject {
            reason: format!(
                "the other pictures show the object {:.0} times as deep as the front picture is wide: check that \
                 they are of the same object, each named for where its camera was",
                depth_half / half_px
            ),
        });
    }
    let density = |[x, y, z]: [f32; 3]| -> f32 {
        let point = [half_px * (1.0 + x), half_px * (1.0 - y), half_px * z];
        let mut value = shape.as_ref().map_or(1.0, |shape| shape.density(point));
        for picture in &pictures.registered {
            if value <= 0.0 {
                break;
            }
            value = value.min(picture.carves(point));
        }
        value
    };
    let densities = |points: &[[f32; 3]], cancel: &CancelFlag| -> Result<Vec<f32>> {
        cancel.check()?;
        let threads = std::thread::available_parallelism().map_or(1, |cores| cores.get()).clamp(1, 4);
        let mut values = vec![0.0f32; points.len()];
        let chunk = points.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            for (points, values) in points.chunks(chunk).zip(values.chunks_mut(chunk)) {
                scope.spawn(|| {
                    for (point, value) in points.iter().zip(values) {
                        *value = density(*point);
                    }
                });
            }
        });
        Ok(values)
    };
    // A dense surface can fold onto itself when simplified a long way in one pass; a coarser grid
    // gives the same shape with fewer faces to remove (as the relief's retry does).
    let mut cells = grid.min(fits);
    let depth_limited = cells < grid;
    let (mesh, topology, unsimplified_faces) = loop {
        let sampling_grid = ((cells as f32 * radius).ceil() as usize).next_multiple_of(4).max(8);
        let surface = sample_densities(
            &densities,
            radius,
            0.5,
            Sampling { grid: sampling_grid, coarse_to_fine: true },
            cancel,
            &mut |fraction| progress(0.8 * fraction),
        )?;
        let mut mesh = surface.mesh;
        for position in &mut mesh.positions {
            let [x, y, z] = *position;
            *position = [half_px * (1.0 + x), half_px * (1.0 - y), half_px * z];
        }
        cancel.check()?;
        let unsimplified_faces = mesh.triangles.len();
        if unsimplified_faces <= target_faces {
            let (mesh, topology) = mesh.simplified_with_topology(target_faces);
            break (mesh, topology, unsimplified_faces);
        }
        if let Some((mesh, topology)) = mesh.simplified_to(target_faces) {
            break (mesh, topology, unsimplified_faces);
        }
        if cells / 2 < MIN_RETRY_GRID_PX {
            let (mesh, topology) = mesh.simplified_with_topology(target_faces * 3 / 2 + 1);
            break (mesh, topology, unsimplified_faces);
        }
        tracing::info!(cells, target_faces, "the hull did not simplify soundly; sampling a coarser grid");
        cells /= 2;
    };
    progress(1.0);
    let built = if shape.is_some() { built.name() } else { "hull" };
    Ok(Carved { mesh, topology, unsimplified_faces, built, grid: cells, depth_limited })
}

/// The textured result: the welded mesh's vertices split where charts meet.
pub(crate) struct Charted {
    /// Per output vertex, the welded vertex it copies.
    pub(crate) welded_of: Vec<u32>,
    /// Triangles over the output vertices.
    pub(crate) triangles: Vec<[u32; 3]>,
    /// Per output vertex (glTF convention, origin at the top left).
    pub(crate) uvs: Vec<[f32; 2]>,
    pub(crate) texture: RgbImage,
}

/// The surface's nearness to a camera per pixel, for telling which pictures see a point.
struct DepthBuffer {
    facing: Facing,
    origin: [f32; 2],
    /// Buffer pixels per front pixel.
    scale: f32,
    width: usize,
    height: usize,
    nearness: Vec<f32>,
}

impl DepthBuffer {
    fn new(facing: Facing, mesh: &TriMesh, scale: f32) -> Self {
        let projected: Vec<[f32; 3]> = mesh.positions.iter().map(|&position| facing.project(position)).collect();
        let (mut low, mut high) = ([f32::MAX; 2], [f32::MIN; 2]);
        for point in &projected {
            for axis in 0..2 {
                low[axis] = low[axis].min(point[axis]);
                high[axis] = high[axis].max(point[axis]);
            }
        }
        let origin = [low[0] - 2.0 / scale, low[1] - 2.0 / scale];
        let [width, height] = [0, 1].map(|axis| ((high[axis] - origin[axis]) * scale).ceil() as usize + 3);
        let mut nearness = vec![f32::NEG_INFINITY; width * height];
        for triangle in &mesh.triangles {
            let corners = triangle.map(|vertex| projected[vertex as usize]);
            let flat = corners.map(|[a, b, _]| [(a - origin[0]) * scale, (b - origin[1]) * scale]);
            rasterize(flat, width, height, |x, y, weights| {
                let depth = weights[0] * corners[0][2] + weights[1] * corners[1][2] + weights[2] * corners[2][2];
                let texel = &mut nearness[y * width + x];
                *texel = texel.max(depth);
            });
        }
        Self { facing, origin, scale, width, height, nearness }
    }

    /// Whether `point` is on the surface nearest this camera (within `tolerance` front pixels).
    fn sees(&self, point: [f32; 3], tolerance: f32) -> bool {
        let [a, b, depth] = self.facing.project(point);
        let (x, y) = (((a - self.origin[0]) * self.scale) as isize, ((b - self.origin[1]) * self.scale) as isize);
        // The farthest surface around the pixel, so points on steep slopes and rims count as seen.
        let mut farthest = f32::INFINITY;
        for dy in -1..=1 {
            for dx in -1..=1 {
                let (cx, cy) = (x + dx, y + dy);
                if cx >= 0 && cy >= 0 && (cx as usize) < self.width && (cy as usize) < self.height {
                    let nearness = self.nearness[cy as usize * self.width + cx as usize];
                    if nearness.is_finite() {
                        farthest = farthest.min(nearness);
                    }
                }
            }
        }
        !farthest.is_finite() || depth >= farthest - tolerance
    }
}

/// Calls `visit(x, y, weights)` for every pixel of a `width` x `height` raster whose centre lies in
/// the triangle `corners`, with the centre's barycentric weights.
fn rasterize(corners: [[f32; 2]; 3], width: usize, height: usize, mut visit: impl FnMut(usize, usize, [f32; 3])) {
    let edge = |a: [f32; 2], b: [f32; 2], p: [f32; 2]| (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
    let [p0, p1, p2] = corners;
    let area = edge(p0, p1, p2);
    if area.abs() < 1.0e-9 {
        return;
    }
    let span = |axis: usize, limit: usize| {
        let low = p0[axis].min(p1[axis]).min(p2[axis]);
        let high = p0[axis].max(p1[axis]).max(p2[axis]);
        let first = (low - 0.5).ceil().clamp(0.0, limit as f32) as usize;
        let end = ((high - 0.5).floor() + 1.0).clamp(0.0, limit as f32) as usize;
        first..end
    };
    for y in span(1, height) {
        for x in span(0, width) {
            let p = [x as f32 + 0.5, y as f32 + 0.5];
            let (w0, w1) = (edge(p1, p2, p) / area, edge(p2, p0, p) / area);
            let w2 = 1.0 - w0 - w1;
            if w0 >= -1.0e-5 && w1 >= -1.0e-5 && w2 >= -1.0e-5 {
                visit(x, y, [w0, w1, w2]);
            }
        }
    }
}

/// A picture as a source of colour for surface points facing `facing`.
struct Source<'a> {
    facing: Facing,
    picture: &'a Registered,
    /// Which of the pictures it is (for its light).
    index: usize,
    /// Seen through the object: the picture of the opposite side.
    through: bool,
    weight: f32,
}

impl Source<'_> {
    /// The surface normal as the picture saw its point: in the picture's frame, mirrored through
    /// the picture's plane for a picture seen through the object.
    fn pictured_normal(&self, normal: [f32; 3]) -> [f32; 3] {
        let [a, b, depth] = self.picture.facing.project(normal);
        if self.through { [a, b, -depth] } else { [a, b, depth] }
    }
}

/// A picture's light, with its mean shading over the object, for dividing it out.
struct PictureLight {
    light: crate::light::Light,
    mean: f32,
}

impl PictureLight {
    /// The factor that takes the light out of a colour the picture shows with this normal.
    fn gain(&self, pictured_normal: [f32; 3]) -> f32 {
        self.mean / self.light.shading(pictured_normal).max(crate::light::MIN_SHADING_SHARE * self.mean)
    }
}

/// Texels sampled for each picture's light fit: one in this many.
const LIGHT_SAMPLE_STRIDE: usize = 5;

/// Lays the charts out on one `texture_px` square at one common scale (texels per front pixel) as
/// large as fits, in shelves; returns the scale and each chart's top-left texel.
fn pack(extents: &[[f32; 2]], texture_px: usize) -> (f32, Vec<[usize; 2]>) {
    let mut order: Vec<usize> = (0..extents.len()).collect();
    order.sort_by(|&a, &b| extents[b][1].total_cmp(&extents[a][1]));
    let place = |scale: f32| -> Option<Vec<[usize; 2]>> {
        let mut offsets = vec![[0usize; 2]; extents.len()];
        let (mut x, mut y, mut shelf) = (0usize, 0usize, 0usize);
        for &chart in &order {
            let [width, height] = extents[chart].map(|extent| (extent * scale).ceil() as usize + 2 * CHART_PAD_PX);
            if x + width > texture_px {
                (x, y, shelf) = (0, y + shelf, 0);
            }
            if x + width > texture_px {
                return None;
            }
            offsets[chart] = [x, y];
            x += width;
            shelf = shelf.max(height);
        }
        (y + shelf <= texture_px).then_some(offsets)
    };
    let longest = extents.iter().flatten().copied().fold(f32::MIN_POSITIVE, f32::max);
    let (mut low, mut high) = (0.0f32, texture_px as f32 / longest);
    for _ in 0..30 {
        let middle = (low + high) / 2.0;
        if place(middle).is_some() { low = middle } else { high = middle }
    }
    (low, place(low).unwrap_or_else(|| vec![[0, 0]; extents.len()]))
}

/// Textures the welded `mesh` (the front's frame) from `pictures` into a `texture_px` atlas;
/// `cell` (front pixels) sets the visibility tests' resolution.
pub(crate) fn texture(
    pictures: &Pictures,
    mesh: &TriMesh,
    texture_px: usize,
    cell: f32,
    cancel: &CancelFlag,
) -> Result<Charted> {
    let has = |facing: Facing| pictures.registered.iter().any(|picture| picture.facing == facing);
    let mut charts = vec![Facing::Front, Facing::Back];
    if has(Facing::Right) || has(Facing::Left) {
        charts.extend([Facing::Right, Facing::Left]);
    }
    if has(Facing::Top) {
        charts.push(Facing::Top);
    }
    let mut sources: Vec<Source<'_>> = pictures
        .registered
        .iter()
        .enumerate()
        .map(|(index, picture)| Source { facing: picture.facing, picture, index, through: false, weight: 1.0 })
        .collect();
    for (index, picture) in pictures.registered.iter().enumerate() {
        if let Some(opposite) = picture.facing.opposite()
            && !has(opposite)
        {
            sources.push(Source { facing: opposite, picture, index, through: true, weight: THROUGH_WEIGHT });
        }
    }
    // The mesh is in a y-down frame, where its winding gives inward normals: outward is the negation.
    let normals: Vec<[f32; 3]> = mesh.smooth_normals().into_iter().map(|normal| normal.map(|value| -value)).collect();
    let face_normal = |triangle: &[u32; 3]| -> [f32; 3] {
        let [p, q, r] = triangle.map(|vertex| mesh.positions[vertex as usize]);
        let (u, v) = ([q[0] - p[0], q[1] - p[1], q[2] - p[2]], [r[0] - p[0], r[1] - p[1], r[2] - p[2]]);
        [-(u[1] * v[2] - u[2] * v[1]), -(u[2] * v[0] - u[0] * v[2]), -(u[0] * v[1] - u[1] * v[0])]
    };
    let chart_of: Vec<usize> = mesh
        .triangles
        .iter()
        .map(|triangle| {
            let normal = face_normal(triangle);
            (0..charts.len())
                .max_by(|&a, &b| dot(normal, charts[a].toward()).total_cmp(&dot(normal, charts[b].toward())))
                .unwrap_or(0)
        })
        .collect();
    // Each chart spans its triangles' projection.
    let mut low = vec![[f32::MAX; 2]; charts.len()];
    let mut high = vec![[f32::MIN; 2]; charts.len()];
    for (triangle, &chart) in mesh.triangles.iter().zip(&chart_of) {
        for &vertex in triangle {
            let [a, b, _] = charts[chart].project(mesh.positions[vertex as usize]);
            low[chart] = [low[chart][0].min(a), low[chart][1].min(b)];
            high[chart] = [high[chart][0].max(a), high[chart][1].max(b)];
        }
    }
    let extents: Vec<[f32; 2]> = (0..charts.len())
        .map(|chart| {
            if low[chart][0] <= high[chart][0] {
                [high[chart][0] - low[chart][0], high[chart][1] - low[chart][1]]
            } else {
                [0.0, 0.0]
            }
        })
        .collect();
    let (scale, offsets) = pack(&extents, texture_px);
    let texel_of = |chart: usize, point: [f32; 3]| -> [f32; 2] {
        let [a, b, _] = charts[chart].project(point);
        [
            offsets[chart][0] as f32 + CHART_PAD_PX as f32 + (a - low[chart][0]) * scale,
            offsets[chart][1] as f32 + CHART_PAD_PX as f32 + (b - low[chart][1]) * scale,
        ]
    };
    cancel.check()?;

    let mut buffers: Vec<Option<DepthBuffer>> = Facing::ALL.iter().map(|_| None).collect();
    for source in &sources {
        if buffers[source.facing.index()].is_none() {
            buffers[source.facing.index()] = Some(DepthBuffer::new(source.facing, mesh, 1.0 / cell));
        }
    }
    cancel.check()?;

    // Which triangle each texel shows (the nearest of its chart's), and where on it.
    let mut owner = vec![u32::MAX; texture_px * texture_px];
    let mut at = vec![[0.0f32; 3]; texture_px * texture_px];
    let mut nearness = vec![f32::NEG_INFINITY; texture_px * texture_px];
    for (index, (triangle, &chart)) in mesh.triangles.iter().zip(&chart_of).enumerate() {
        let corners = triangle.map(|vertex| mesh.positions[vertex as usize]);
        let depths = corners.map(|corner| charts[chart].project(corner)[2]);
        rasterize(corners.map(|corner| texel_of(chart, corner)), texture_px, texture_px, |x, y, weights| {
            let depth = weights[0] * depths[0] + weights[1] * depths[1] + weights[2] * depths[2];
            let texel = y * texture_px + x;
            if depth > nearness[texel] {
                nearness[texel] = depth;
                owner[texel] = index as u32;
                at[texel] = weights;
            }
        });
    }
    cancel.check()?;

    let tolerance = 2.0 * cell;
    let usable: Vec<Vec<&Source<'_>>> = charts
        .iter()
        .map(|chart| sources.iter().filter(|source| chart.opposite() != Some(source.facing)).collect())
        .collect();
    let surface_at = |texel: usize| -> Option<([f32; 3], [f32; 3])> {
        let triangle = mesh.triangles.get(owner[texel] as usize)?;
        let weights = at[texel];
        let mut point = [0.0f32; 3];
        let mut normal = [0.0f32; 3];
        for (corner, weight) in triangle.iter().zip(weights) {
            for axis in 0..3 {
                point[axis] += weight * mesh.positions[*corner as usize][axis];
                normal[axis] += weight * normals[*corner as usize][axis];
            }
        }
        let length = dot(normal, normal).sqrt().max(1.0e-12);
        Some((point, normal.map(|value| value / length)))
    };
    let sees = |source: &Source<'_>, point: [f32; 3]| {
        buffers[source.facing.index()].as_ref().is_none_or(|buffer| buffer.sees(point, tolerance))
    };
    // Each picture's light, fitted to the luminance it shows of the points it sees squarely
    // against their normals (as for a single picture), so it can be divided out.
    let lights: Vec<Option<PictureLight>> = sources
        .iter()
        .filter(|source| !source.through)
        .map(|source| {
            let (mut luminance, mut pictured) = (Vec::new(), Vec::new());
            for texel in (0..owner.len()).step_by(LIGHT_SAMPLE_STRIDE) {
                let Some((point, normal)) = surface_at(texel) else {
                    continue;
                };
                if dot(normal, source.facing.toward()) < 0.3 || !sees(source, point) {
                    continue;
                }
                let [r, g, b] = source.picture.colour(point);
                luminance.push(0.2126 * r + 0.7152 * g + 0.0722 * b);
                pictured.push(source.pictured_normal(normal));
            }
            let light = crate::light::estimate(&luminance, &pictured, &vec![true; luminance.len()])?;
            if light.residual > crate::pipeline::MAX_LIGHT_RESIDUAL {
                return None;
            }
            let mean = pictured.iter().map(|&normal| light.shading(normal)).sum::<f32>() / pictured.len() as f32;
            (mean > 0.0).then_some(PictureLight { light, mean })
        })
        .collect();
    let colour_at = |texel: usize| -> Option<[f32; 3]> {
        let (point, normal) = surface_at(texel)?;
        let usable = &usable[chart_of[owner[texel] as usize]];
        let blend = |seen_only: bool| -> Option<[f32; 3]> {
            let mut sum = [0.0f32; 3];
            let mut total = 0.0f32;
            for source in usable {
                let facing = dot(normal, source.facing.toward());
                if facing <= 0.0 {
                    continue;
                }
                if seen_only && !sees(source, point) {
                    continue;
                }
                let weight = source.weight * facing.powi(BLEND_POWER);
                let gain =
                    lights[source.index].as_ref().map_or(1.0, |light| light.gain(source.pictured_normal(normal)));
                let colour = source.picture.colour(point).map(|channel| channel * gain);
                for axis in 0..3 {
                    sum[axis] += weight * colour[axis];
                }
                total += weight;
            }
            (total > 1.0e-6).then(|| sum.map(|value| value / total))
        };
        blend(true).or_else(|| blend(false)).or_else(|| {
            usable
                .iter()
                .max_by(|a, b| dot(normal, a.facing.toward()).total_cmp(&dot(normal, b.facing.toward())))
                .map(|source| source.picture.colour(point))
        })
    };
    let mut premultiplied = vec![0.0f32; texture_px * texture_px * 4];
    let threads = std::thread::available_parallelism().map_or(1, |cores| cores.get()).clamp(1, 4);
    let rows_per_band = texture_px.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (band, part) in premultiplied.chunks_mut(rows_per_band * texture_px * 4).enumerate() {
            let colour_at = &colour_at;
            scope.spawn(move || {
                for (offset, texel) in part.chunks_exact_mut(4).enumerate() {
                    if let Some(colour) = colour_at(band * rows_per_band * texture_px + offset) {
                        texel.copy_from_slice(&[colour[0], colour[1], colour[2], 1.0]);
                    }
                }
            });
        }
    });
    cancel.check()?;
    // Texels just past a chart's triangles take the chart's own colours, so bilinear reads along a
    // triangle's edge (and slivers narrower than a texel) never mix in a neighbouring chart.
    let mut chart_at: Vec<u8> =
        owner.iter().map(|&owner| chart_of.get(owner as usize).map_or(u8::MAX, |&chart| chart as u8)).collect();
    for _ in 0..CHART_PAD_PX {
        let (before, charts_before) = (premultiplied.clone(), chart_at.clone());
        for y in 0..texture_px {
            for x in 0..texture_px {
                let texel = y * texture_px + x;
                if charts_before[texel] != u8::MAX {
                    continue;
                }
                let (mut sum, mut count, mut chart) = ([0.0f32; 3], 0.0f32, u8::MAX);
                for (dx, dy) in [(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, -1), (-1, 1), (1, 1)] {
                    let (nx, ny) = (x as isize + dx, y as isize + dy);
                    if nx < 0 || ny < 0 || nx as usize >= texture_px || ny as usize >= texture_px {
                        continue;
                    }
                    let other = ny as usize * texture_px + nx as usize;
                    let other_chart = charts_before[other];
                    if other_chart == u8::MAX || (chart != u8::MAX && other_chart != chart) {
                        continue;
                    }
                    chart = other_chart;
                    for axis in 0..3 {
                        sum[axis] += before[other * 4 + axis];
                    }
                    count += 1.0;
                }
                if count > 0.0 {
                    premultiplied[texel * 4..texel * 4 + 4].copy_from_slice(&[
                        sum[0] / count,
                        sum[1] / count,
                        sum[2] / count,
                        1.0,
                    ]);
                    chart_at[texel] = chart;
                }
            }
        }
    }
    let texture = encode_srgb(&push_pull(premultiplied, texture_px), texture_px);

    // Vertices are split where charts meet, each copy carrying its chart's texture coordinate.
    let mut split = std::collections::HashMap::new();
    let (mut welded_of, mut uvs) = (Vec::new(), Vec::new());
    let triangles = mesh
        .triangles
        .iter()
        .zip(&chart_of)
        .map(|(triangle, &chart)| {
            triangle.map(|vertex| {
                *split.entry((vertex, chart)).or_insert_with(|| {
                    let [u, v] = texel_of(chart, mesh.positions[vertex as usize]);
                    welded_of.push(vertex);
                    uvs.push([u / texture_px as f32, v / texture_px as f32]);
                    (welded_of.len() - 1) as u32
                })
            })
        })
        .collect();
    Ok(Charted { welded_of, triangles, uvs, texture })
}

/// Splits a turnaround sheet into its panels, left to right: the front, then the right, back and
/// left. Panels are the runs of columns holding the object, told from the sheet's background (its
/// transparency, or the colour of its border); other sheets are cut into equal panels, as many as
/// their width holds squares (2 to 4), each cut moved to the middle of the background it falls in.
/// A sheet whose background is told apart and that shows a single object, or whose equal panels
/// would cut through the object, is refused rather than cut through it. Returns the panels' column
/// ranges.
pub(crate) fn sheet_panels(sheet: &image::RgbaImage) -> Result<Vec<std::ops::Range<u32>>> {
    let (width, height) = sheet.dimensions();
    let equal = |count: u32| -> Vec<std::ops::Range<u32>> {
        (0..count).map(|panel| panel * width / count..(panel + 1) * width / count).collect()
    };
    // The panels between cuts inside the sheet, from its left edge to its right.
    let between = |inner: Vec<u32>| -> Vec<std::ops::Range<u32>> {
        let cuts: Vec<u32> = std::iter::once(0).chain(inner).chain([width]).collect();
        cuts.windows(2).map(|pair| pair[0]..pair[1]).collect()
    };
    let too_few = || EngineError::InvalidOption {
        option: "views",
        reason: format!(
            "a {width}x{height} px sheet cannot hold two panels side by side; a turnaround sheet has the front, right, \
             back and left views in a row"
        ),
    };
    if width < 2 * 16 || height < 16 || width < height {
        return Err(too_few());
    }
    let transparent = sheet.pixels().any(|pixel| pixel[3] < 128);
    // The border's median colour stands for the background of an opaque sheet.
    let border: Vec<[u8; 3]> = (0..width)
        .flat_map(|x| [(x, 0), (x, height - 1)])
        .chain((0..height).flat_map(|y| [(0, y), (width - 1, y)]))
        .map(|(x, y)| {
            let pixel = sheet.get_pixel(x, y);
            [pixel[0], pixel[1], pixel[2]]
        })
        .collect();
    let median = [0, 1, 2].map(|channel| {
        let mut values: Vec<u8> = border.iter().map(|colour| colour[channel]).collect();
        values.sort_unstable();
        values[values.len() / 2]
    });
    let differs = |colour: [u8; 3]| {
        (0..3).map(|channel| (i32::from(colour[channel]) - i32::from(median[channel])).abs()).sum::<i32>() > 48
    };
    let is_object =
        |pixel: &image::Rgba<u8>| if transparent { pixel[3] >= 128 } else { differs([pixel[0], pixel[1], pixel[2]]) };
    // The background is told apart by transparency, or by a border mostly of one colour (objects
    // standing on its lower edge take a share of it).
    let told = transparent || border.iter().filter(|&&colour| !differs(colour)).count() * 4 >= border.len() * 3;
    // A column holds the object when more than a few of its pixels do (noise and specks do not).
    let least = (height / 100).max(2);
    let occupied: Vec<bool> =
        (0..width).map(|x| (0..height).filter(|&y| is_object(sheet.get_pixel(x, y))).count() as u32 >= least).collect();
    let mut runs: Vec<std::ops::Range<u32>> = Vec::new();
    let gap = (width / 50).max(2);
    for (x, &occupied) in occupied.iter().enumerate() {
        let x = x as u32;
        if !occupied {
            continue;
        }
        match runs.last_mut() {
            Some(run) if x - run.end < gap => run.end = x + 1,
            _ => runs.push(x..x + 1),
        }
    }
    runs.retain(|run| run.end - run.start >= gap);
    if (2..=4).contains(&runs.len()) {
        // Panels meet halfway between the runs.
        return Ok(between(runs.windows(2).map(|pair| (pair[0].end + pair[1].start) / 2).collect()));
    }
    let count = ((width as f32 / height as f32).round() as u32).clamp(2, 4);
    if !told || runs.is_empty() {
        return Ok(equal(count));
    }
    if runs.len() == 1 {
        return Err(EngineError::InvalidOption {
            option: "views",
            reason: "the sheet shows one object, not views side by side: generate from it as a single picture, or \
                     use a sheet with the front, right, back and left views in a row and some background between them"
                .to_owned(),
        });
    }
    // More runs than views (an object in parts): the equal cuts stand where they fall on the
    // background, moved to the middle of the background there.
    let mut cuts = Vec::new();
    for panel in equal(count).iter().skip(1) {
        let cut = panel.start as usize;
        if occupied[cut] {
            return Err(EngineError::InvalidOption {
                option: "views",
                reason: format!(
                    "the sheet's {count} views could not be told apart: the objects in it do not stand in {count} \
                     panels of equal width with background between them"
                ),
            });
        }
        let start = (0..cut).rev().find(|&x| occupied[x]).map_or(0, |x| x + 1);
        let end = (cut..width as usize).find(|&x| occupied[x]).unwrap_or(width as usize);
        cuts.push(((start + end) / 2) as u32);
    }
    Ok(between(cuts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::foreground::MaskSource;

    /// A cutout of `side` px where `inside(x, y)` (pixel centres, 0..1 across) is the object,
    /// coloured `colour`.
    fn cutout(side: u32, colour: [u8; 3], inside: impl Fn(f32, f32) -> bool) -> Cutout {
        let covered = |x: u32, y: u32| inside((x as f32 + 0.5) / side as f32, (y as f32 + 0.5) / side as f32);
        let rgba = image::RgbaImage::from_fn(side, side, |x, y| {
            if covered(x, y) { image::Rgba([colour[0], colour[1], colour[2], 255]) } else { image::Rgba([0, 0, 0, 0]) }
        });
        let coverage = (0..side * side).map(|index| f32::from(u8::from(covered(index % side, index / side)))).collect();
        Cutout { rgba, coverage, source: MaskSource::Alpha, warnings: Vec::new() }
    }

    fn square(low: f32, high: f32) -> impl Fn(f32, f32) -> bool {
        move |x, y| (low..high).contains(&x) && (low..high).contains(&y)
    }

    /// The hull of `pictures` rounded by half depths `heights` about the picture's plane.
    fn carve_flat(
        pictures: &Pictures,
        heights: &[f32],
        built: crate::shape::Built,
        grid: usize,
        faces: usize,
    ) -> Carved {
        carve(pictures, SingleView { half: heights, middle: &[], built }, grid, faces, &CancelFlag::new(), &mut |_| {})
            .unwrap()
    }

    #[test]
    fn a_box_from_the_front_and_the_right_is_carved_as_deep_as_the_right_shows() {
        // A front square (0.5 wide) and a right view showing half its width as depth.
        let front = cutout(128, [200, 30, 30], square(0.25, 0.75));
        let right = cutout(128, [30, 200, 30], |x, y| (0.375..0.625).contains(&x) && (0.25..0.75).contains(&y));
        let pictures = Pictures::new(&front, &[(Side::Right, &right)], 128).unwrap();
        let heights = vec![2.0f32; 64 * 64];
        let carved = carve_flat(&pictures, &heights, crate::shape::Built::Extrude, 64, 4000);
        assert!(carved.topology.is_watertight_manifold());
        assert_eq!(carved.built, "hull");
        let (low, high) = carved.mesh.bounds();
        let depth = high[2] - low[2];
        let width = high[0] - low[0];
        assert!((width - 64.0).abs() < 3.0, "width {width}");
        // The right picture's object is a quarter of its frame, the front's height a half: depth 32 px.
        assert!((depth - 32.0).abs() < 3.0, "depth {depth}");
    }

    #[test]
    fn a_cylinder_keeps_its_round_section_when_the_right_view_agrees() {
        // A revolved shape: half-depth sqrt(r² - (x - c)²) per column, 32 px front, radius 16 px.
        let front = cutout(64, [200, 200, 200], square(0.25, 0.75));
        let right = cutout(64, [200, 200, 200], square(0.25, 0.75));
        let pictures = Pictures::new(&front, &[(Side::Right, &right)], 64).unwrap();
        let grid = 64;
        let heights: Vec<f32> = (0..grid * grid)
            .map(|index| {
                let (x, y) = ((index % grid) as f32 + 0.5, (index / grid) as f32 + 0.5);
                if (16.0..48.0).contains(&y) { (256.0 - (x - 32.0).powi(2)).max(0.0).sqrt() } else { 0.0 }
            })
            .collect();
        let carved = carve_flat(&pictures, &heights, crate::shape::Built::Revolve, grid, 20000);
        assert_eq!(carved.built, "revolve");
        // A cylinder's volume is π r² h; the hull of two squares alone would be the whole box, 4/π more.
        let volume = carved.mesh.volume().abs();
        let cylinder = std::f64::consts::PI * 16.0 * 16.0 * 32.0;
        assert!((volume / cylinder - 1.0).abs() < 0.08, "volume {volume} against {cylinder}");
    }

    #[test]
    fn a_top_view_carves_what_the_front_and_side_cannot_see() {
        // A square from the front and a disc from above: a standing cylinder (the front alone
        // would be a box). The disc's diameter is the front's width, the top's scale.
        // 256 px pictures on a 128 grid: the disc is 64 px in radius (one more with the tolerance).
        let front = cutout(256, [200, 200, 200], square(0.25, 0.75));
        let top = cutout(256, [200, 200, 200], |x, y| (x - 0.5).hypot(y - 0.5) < 0.25);
        let pictures = Pictures::new(&front, &[(Side::Top, &top)], 256).unwrap();
        let heights = vec![2.0f32; 128 * 128];
        let carved = carve_flat(&pictures, &heights, crate::shape::Built::Extrude, 128, 40000);
        assert!(carved.topology.is_watertight_manifold() && carved.topology.genus() == 0);
        let volume = carved.mesh.volume().abs();
        let cylinder = std::f64::consts::PI * 64.0 * 64.0 * 128.0;
        assert!((volume / cylinder - 1.0).abs() < 0.06, "volume {volume} against {cylinder}");
        let (low, high) = carved.mesh.bounds();
        assert!(((high[2] - low[2]) - 128.0).abs() < 4.0, "depth {}", high[2] - low[2]);
    }

    #[test]
    fn each_side_is_textured_from_its_own_picture_and_the_back_never_from_the_front() {
        let front = cutout(128, [255, 0, 0], square(0.25, 0.75));
        let right = cutout(128, [0, 255, 0], square(0.25, 0.75));
        let back = cutout(128, [0, 0, 255], square(0.25, 0.75));
        let pictures = Pictures::new(&front, &[(Side::Right, &right), (Side::Back, &back)], 128).unwrap();
        let heights = vec![2.0f32; 64 * 64];
        let carved = carve_flat(&pictures, &heights, crate::shape::Built::Extrude, 64, 2000);
        let charted = texture(&pictures, &carved.mesh, 256, 2.0, &CancelFlag::new()).unwrap();
        // Sample each triangle's texture at its centre and compare with the way it faces.
        let smooth = carved.mesh.smooth_normals();
        let mut checked = [0usize; 3];
        for triangle in &charted.triangles {
            let uv = triangle.map(|vertex| charted.uvs[vertex as usize]);
            let centre = [0, 1].map(|axis| (uv[0][axis] + uv[1][axis] + uv[2][axis]) / 3.0 * 256.0);
            let texel = charted.texture.get_pixel(centre[0] as u32, centre[1] as u32).0;
            // The way the surface faces at the centre, from the (outward) vertex normals.
            let corners = triangle.map(|vertex| smooth[charted.welded_of[vertex as usize] as usize]);
            let sum = [0, 1, 2].map(|axis| -(corners[0][axis] + corners[1][axis] + corners[2][axis]));
            let facing = sum.map(|value| value / dot(sum, sum).sqrt());
            if facing[2] < -0.9 {
                assert!(texel[0] < 5 && texel[2] > 200, "a back triangle shows {texel:?}");
                checked[0] += 1;
            } else if facing[2] > 0.9 {
                // Near an edge the neighbouring side blends in a little; the back never shows the front.
                assert!(texel[0] > 200 && texel[1] < 100, "a front triangle shows {texel:?}");
                checked[1] += 1;
            } else if facing[0] > 0.9 {
                assert!(texel[1] > 200 && texel[0] < 100, "a right triangle shows {texel:?}");
                checked[2] += 1;
            }
        }
        assert!(checked.iter().all(|&count| count > 0), "{checked:?}");
        assert_eq!(charted.uvs.len(), charted.welded_of.len());
    }

    #[test]
    fn a_sheet_is_split_between_its_panels() {
        // Four objects on white, in panels of unequal width.
        let sheet = image::RgbaImage::from_fn(400, 100, |x, _| {
            let object =
                (20..80).contains(&x) || (130..170).contains(&x) || (220..280).contains(&x) || (330..370).contains(&x);
            if object { image::Rgba([40, 40, 40, 255]) } else { image::Rgba([255, 255, 255, 255]) }
        });
        let panels = sheet_panels(&sheet).unwrap();
        assert_eq!(panels, vec![0..105, 105..195, 195..305, 305..400]);
        // An empty sheet is cut into equal squares.
        let blank = image::RgbaImage::from_pixel(300, 100, image::Rgba([255, 255, 255, 255]));
        assert_eq!(sheet_panels(&blank).unwrap(), vec![0..100, 100..200, 200..300]);
        let tall = image::RgbaImage::from_pixel(100, 300, image::Rgba([255, 255, 255, 255]));
        assert!(matches!(sheet_panels(&tall), Err(EngineError::InvalidOption { option: "views", .. })));
    }

    /// A sheet drawn on a told-apart background.
    fn sheet_of(width: u32, height: u32, object: impl Fn(u32, u32) -> bool) -> image::RgbaImage {
        image::RgbaImage::from_fn(width, height, |x, y| {
            if object(x, y) { image::Rgba([40, 40, 40, 255]) } else { image::Rgba([255, 255, 255, 255]) }
        })
    }

    #[test]
    fn a_sheet_is_never_cut_through_its_object() {
        // One picture passed as a sheet (a pawn, square), or one wide object: refused, where equal
        // panels used to cut it in halves and carve one half with the other.
        for single in [
            sheet_of(256, 256, |x, y| (96..160).contains(&x) && y > 20),
            sheet_of(400, 100, |x, y| (50..350).contains(&x) && (10..90).contains(&y)),
        ] {
            match sheet_panels(&single) {
                Err(EngineError::InvalidOption { option: "views", reason }) => {
                    assert!(reason.contains("shows one object"), "{reason}")
                }
                other => panic!("{other:?}"),
            }
        }
        // Views in parts (each a pair of posts, eight runs in all), in four equal panels: cut in the
        // middle of the background between them.
        let posts = sheet_of(400, 100, |x, y| {
            (10..90).contains(&y) && [10, 50, 120, 160, 230, 260, 330, 370].iter().any(|&at| (at..at + 20).contains(&x))
        });
        assert_eq!(sheet_panels(&posts).unwrap(), vec![0..95, 95..205, 205..305, 305..400]);
        // Five runs that equal panels would cut through: refused.
        let crowded = sheet_of(400, 100, |x, y| {
            (10..90).contains(&y) && [0, 90, 180, 270, 360].iter().any(|&at| (at + 5..at + 35).contains(&x))
        });
        match sheet_panels(&crowded) {
            Err(EngineError::InvalidOption { option: "views", reason }) => {
                assert!(reason.contains("could not be told apart"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        // A busy, photographed background is not told apart: equal panels, as before.
        let busy = image::RgbaImage::from_fn(300, 100, |x, y| {
            image::Rgba([(x * 7 % 256) as u8, (y * 13 % 256) as u8, 90, 255])
        });
        assert_eq!(sheet_panels(&busy).unwrap(), vec![0..100, 100..200, 200..300]);
    }
}
