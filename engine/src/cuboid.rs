//! A box seen from above at an angle, as product photos show one: its outline is a hexagon, the
//! box's three edge directions each drawn twice, and its three visible faces are each evenly
//! shaded.
//!
//! Seen through a long lens (orthographically), opposite sides of the hexagon are equal and
//! parallel, and the three edges' directions in the picture fix the box: three edges of a box are
//! at right angles to each other, which gives each edge's depth up to one sign for all three
//! (`u·v + zu·zv = 0` for each pair). That is the first estimate. Through a shorter lens the far
//! sides are drawn shorter and the upright edges converge; the box is then fitted to the hexagon's
//! six corners through a pinhole camera (its distance found with the box: the corners give twelve
//! numbers for nine unknowns), which keeps the right angles. The pinhole looks at the middle of the
//! cutout, which centres the object.
//!
//! The depth sign is the Necker cube's: one picture shows a box seen from above or the same box
//! seen from below, turned over. As for a leaning ring, photos are taken from above: the edge that
//! is upright in the picture (the box stands on its base, the camera is level) rises towards the
//! camera, so the top face is the one seen.
//!
//! A box seen square-on (one face, a rectangle) or with one edge along the view (two faces) shows
//! nothing of its depth and is not one of these; it stays the extrusion of a flat shape.

use crate::linear;
use crate::mask::Mask;
use crate::shape::Lens;

/// The longest an outline side may differ from the opposite one (as a vector), as a share of the
/// outline's size, for the first, parallel estimate: a lens draws the far sides shorter.
const MAX_SIDES_GAP: f32 = 0.4;

/// The most the fitted box's corners may miss the outline's, root mean square, as a share of the
/// outline's size.
const MAX_CORNER_MISS: f32 = 0.02;

/// The least intersection over union of the hexagon with the silhouette.
const MIN_HEXAGON_FIT: f32 = 0.95;

/// The most the fitted box's upright edge may lean sideways, in degrees (a level camera draws a
/// standing box's upright edges in the plane of the picture's vertical).
pub(crate) const MAX_UPRIGHT_LEAN_DEG: f32 = 8.0;

/// The most the first estimate's upright side may lean in the picture, in degrees: a lens draws the
/// upright edges converging, and their mean leans when the box is off the lens's axis.
const MAX_DRAWN_UPRIGHT_LEAN_DEG: f32 = 15.0;

/// The smallest `|cos|` between two edges in the picture: at right angles in the picture, two
/// edges of a box lie in the picture's plane and the depths cannot be read.
const MIN_EDGES_COS: f32 = 0.05;

/// The least share of the shading's variance inside the silhouette that the three faces' means
/// must explain: three evenly shaded faces, not a curved surface with a hexagonal outline.
const MIN_FACES_EXPLAIN: f32 = 0.6;

/// How far the fit may put the camera behind the picture (`-w` times the outline's size) and still
/// be taken for a long lens with the corners' noise.
const MAX_REVERSED_PERSPECTIVE: f64 = 0.05;

/// Where a pinhole camera on the axis through `principal`, `1 / w` in front of the plane of depth 0
/// (`w` 0: orthographic), draws the point `(x, y, z)` of the picture's frame before its lens:
/// `principal + (p - principal) / (1 - w·z)`, the inverse of [`crate::shape::Lens::unproject`].
pub(crate) fn drawn(principal: [f32; 2], w: f32, [x, y, z]: [f32; 3]) -> [f32; 2] {
    let nearness = 1.0 - w * z;
    [principal[0] + (x - principal[0]) / nearness, principal[1] + (y - principal[1]) / nearness]
}

/// The least `1 - w·z` at any corner of a box (or a table's bounding box) seen through a lens: the
/// camera stays well in front of it.
pub(crate) const MIN_NEARNESS: f32 = 0.25;

/// A box in the picture's frame: cells, x right, y down, z towards the camera, seen by a pinhole
/// camera on the axis through `principal`, `1 / w` cells in front of the plane through the box's
/// centre (`w` 0: orthographic). A point `(x, y, z)` is drawn at `principal + (p - principal) / (1 -
/// w·z)` for its `p = (x, y)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cuboid {
    /// Its centre (its depth is 0).
    centre: [f32; 2],
    /// Its three edges, each from one face to the opposite one.
    edges: [[f32; 3]; 3],
    /// Which edge is upright: the box stands on the face across it.
    upright: usize,
    /// Where the camera's axis meets the picture.
    principal: [f32; 2],
    /// One over the camera's distance, per cell.
    w: f32,
}

impl Cuboid {
    /// The box whose picture is `mask` with the outline's `corners` (in order around it), shaded
    /// `luminance` (per cell, as the mask); none when the picture is not a box seen from above.
    pub(crate) fn of(mask: &Mask, corners: &[[f32; 2]], luminance: &[f32]) -> Option<Self> {
        let corners = &hexagon(corners)?;
        if luminance.len() != mask.cells.len() {
            return None;
        }
        let (x0, y0, x1, y1) = mask.bounding_box()?;
        let size = (x1 - x0).max(y1 - y0) as f32;
        if polygon_fit(mask, corners) < MIN_HEXAGON_FIT {
            return None;
        }
        // The cutout centres the object: the lens's axis is taken through the middle.
        let principal = [(mask.width as f32 - 1.0) / 2.0, (mask.height as f32 - 1.0) / 2.0];
        let fitted = Self::parallel(corners, size, principal)?.fitted(corners, size)?;
        // A level camera: the upright edge stays in the plane of the picture's vertical and the view.
        let upright = fitted.edges[fitted.upright];
        if upright[0].abs() > MAX_UPRIGHT_LEAN_DEG.to_radians().sin() * length3(upright) {
            return None;
        }
        (fitted.faces_explain(mask, luminance) >= MIN_FACES_EXPLAIN).then_some(fitted)
    }

    /// The box a long lens would draw as this hexagon: each edge the mean of its two opposite
    /// sides, the depths from the right angles.
    fn parallel(corners: &[[f32; 2]], size: f32, principal: [f32; 2]) -> Option<Self> {
        let side = |index: usize| sub(corners[(index + 1) % 6], corners[index]);
        let mut flat = [[0.0f32; 2]; 3];
        for (index, edge) in flat.iter_mut().enumerate() {
            let (near, far) = (side(index), side(index + 3));
            if length([near[0] + far[0], near[1] + far[1]]) > MAX_SIDES_GAP * size {
                return None;
            }
            *edge = [(near[0] - far[0]) / 2.0, (near[1] - far[1]) / 2.0];
        }
        let centre =
            corners.iter().fold([0.0, 0.0], |sum, corner| [sum[0] + corner[0] / 6.0, sum[1] + corner[1] / 6.0]);
        // One edge upright, pointing up the picture.
        let upright = (0..3).find(|&index| {
            let edge = flat[index];
            edge[0].abs() <= MAX_DRAWN_UPRIGHT_LEAN_DEG.to_radians().sin() * length(edge)
        })?;
        if flat[upright][1] > 0.0 {
            flat[upright] = [-flat[upright][0], -flat[upright][1]];
        }
        // Depths from the right angles: zi·zj = -(ei·ej) for each pair.
        let [u, v, w] = flat;
        let (uv, uw, vw) = (dot(u, v), dot(u, w), dot(v, w));
        for (product, a, b) in [(uv, u, v), (uw, u, w), (vw, v, w)] {
            if product.abs() < MIN_EDGES_COS * length(a) * length(b) {
                return None;
            }
        }
        let zu_squared = -uv * uw / vw;
        if zu_squared <= 0.0 {
            return None;
        }
        let zu = zu_squared.sqrt();
        let mut depths = [zu, -uv / zu, -uw / zu];
        if depths.iter().zip(&flat).any(|(depth, edge)| depth.abs() < MIN_EDGES_COS * length(*edge)) {
            return None;
        }
        // From above: the upright edge, pointing up, rises towards the camera.
        if depths[upright] < 0.0 {
            depths = depths.map(|depth| -depth);
        }
        let edges = [0, 1, 2].map(|index| [flat[index][0], flat[index][1], depths[index]]);
        Some(Self { centre, edges, upright, principal, w: 0.0 })
    }

    /// This box moved, turned, resized and seen from the distance that draws its outline's corners
    /// closest to `corners` (Levenberg–Marquardt from this box, seen orthographically); none when
    /// no box draws them (the corners miss by more than [`MAX_CORNER_MISS`], or the camera would
    /// be inside the box or behind it).
    fn fitted(&self, corners: &[[f32; 2]], size: f32) -> Option<Self> {
        // Which corner of the box each outline corner is: the nearest of the six on this box's
        // outline (all but the corner nearest the camera and the one farthest from it).
        let towards = self.edges.map(|edge| edge[2].signum());
        let outline: Vec<[f32; 3]> = corner_signs()
            .filter(|signs: &[f32; 3]| {
                let along = (0..3).filter(|&axis| signs[axis] == towards[axis]).count();
                along != 0 && along != 3
            })
            .collect();
        let mut matched = [0usize; 6];
        for (slot, corner) in matched.iter_mut().zip(corners) {
            let distance = |signs: &[f32; 3]| {
                let drawn = self.draw(self.corner(*signs));
                length(sub(drawn, *corner))
            };
            *slot = (0..outline.len()).min_by(|&a, &b| distance(&outline[a]).total_cmp(&distance(&outline[b])))?;
        }
        if (0..6).any(|a| (a + 1..6).any(|b| matched[a] == matched[b])) {
            return None;
        }
        let signs: [[f32; 3]; 6] = matched.map(|index| outline[index]);

        // Parameters: the centre, a turn (rotation vector), each edge's log length, w times size.
        let lengths = self.edges.map(length3);
        let directions: [[f64; 3]; 3] =
            [0, 1, 2].map(|index| self.edges[index].map(|value| f64::from(value / lengths[index])));
        let scale = f64::from(size);
        let model = |parameters: &[f64; 9]| -> Self {
            let turn = linear::rotation(&[parameters[2], parameters[3], parameters[4]]);
            let edges = [0, 1, 2].map(|index| {
                let turned = linear::apply(&turn, &directions[index]);
                let length = f64::from(lengths[index]) * parameters[5 + index].exp();
                turned.map(|value| (value * length) as f32)
            });
            Self {
                centre: [parameters[0] as f32, parameters[1] as f32],
                edges,
                upright: self.upright,
                principal: self.principal,
                w: (parameters[8] / scale) as f32,
            }
        };
        let misses = |parameters: &[f64; 9]| -> [f64; 12] {
            let cuboid = model(parameters);
            let mut out = [0.0; 12];
            for (index, (signs, corner)) in signs.iter().zip(corners).enumerate() {
                let drawn = cuboid.draw(cuboid.corner(*signs));
                out[2 * index] = f64::from(drawn[0] - corner[0]);
                out[2 * index + 1] = f64::from(drawn[1] - corner[1]);
            }
            out
        };
        let start = [f64::from(self.centre[0]), f64::from(self.centre[1]), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let mut parameters = linear::least_squares(start, misses, 60);
        // A far side drawn a little longer than the near one is the corners' noise, not a camera
        // behind the picture: a long lens.
        if parameters[8] < 0.0 && parameters[8] > -MAX_REVERSED_PERSPECTIVE {
            parameters[8] = 0.0;
        }
        let cuboid = model(&parameters);
        let cost: f64 = misses(&parameters).iter().map(|miss| miss * miss).sum();
        let rms = (cost / 6.0).sqrt() as f32;
        let upright = cuboid.edges[cuboid.upright];
        let nearest = corner_signs()
            .map(|signs| cuboid.corner(signs))
            .map(|corner| 1.0 - cuboid.w * corner[2])
            .fold(f32::INFINITY, f32::min);
        (rms <= MAX_CORNER_MISS * size
            && cuboid.w >= 0.0
            && nearest >= MIN_NEARNESS
            && upright[1] < 0.0
            && upright[2] > 0.0)
            .then_some(cuboid)
    }

    /// The corner `centre + Σ signs[i]·edges[i] / 2`.
    fn corner(&self, signs: [f32; 3]) -> [f32; 3] {
        let mut corner = [self.centre[0], self.centre[1], 0.0];
        for (sign, edge) in signs.iter().zip(&self.edges) {
            for axis in 0..3 {
                corner[axis] += sign * edge[axis] / 2.0;
            }
        }
        corner
    }

    /// Where the camera draws `point`.
    fn draw(&self, point: [f32; 3]) -> [f32; 2] {
        drawn(self.principal, self.w, point)
    }

    /// The way up of the world the box stands in, a unit vector in the picture's frame with depths
    /// `thickness` times the box's: along its upright edge, which points up the picture and towards
    /// the camera (the camera looks down on the box by the angle this makes with the picture).
    pub(crate) fn up(&self, thickness: f32) -> [f32; 3] {
        let [x, y, z] = self.edges[self.upright];
        linear::unit([x, y, z * thickness])
    }

    /// The camera, when it is not orthographic: where its axis meets the picture (in the
    /// reconstructor's vertex coordinates, a cell's centre at its index plus a half) and one over
    /// its distance per unit of depth, depths being `thickness` times the box's.
    pub(crate) fn lens(&self, thickness: f32) -> Option<Lens> {
        Lens::on_grid(self.principal, self.w.max(0.0), thickness)
    }

    /// Where the line of sight through cell `(x, y)` leaves the box at the back and enters it at
    /// the front (depths, the back's the smaller), through which edge's face it enters, and
    /// whether it misses the box (then the depths cross and carry on smoothly).
    fn cast(&self, x: f32, y: f32) -> (f32, f32, usize, bool) {
        // The line of sight: (x, y, 0) + z·sight.
        let sight = [-(x - self.principal[0]) * self.w, -(y - self.principal[1]) * self.w, 1.0];
        let (dx, dy) = (x - self.centre[0], y - self.centre[1]);
        let (mut near, mut far, mut face, mut missed) = (f32::NEG_INFINITY, f32::INFINITY, 0, false);
        for (index, edge) in self.edges.iter().enumerate() {
            // Between the two faces across this edge: |(p - centre)·edge| <= |edge|² / 2.
            let reach = (edge[0] * edge[0] + edge[1] * edge[1] + edge[2] * edge[2]) / 2.0;
            let across = dx * edge[0] + dy * edge[1];
            let rate = sight[0] * edge[0] + sight[1] * edge[1] + sight[2] * edge[2];
            if rate.abs() < 1.0e-6 {
                // Along the faces: inside their slab all the way, or never.
                missed |= across.abs() > reach;
                continue;
            }
            let (a, b) = ((-reach - across) / rate, (reach - across) / rate);
            near = near.max(a.min(b));
            // The face seen is the last the line of sight crosses coming from the camera.
            if a.max(b) < far {
                far = a.max(b);
                face = index;
            }
        }
        if !near.is_finite() || !far.is_finite() {
            return (0.0, 0.0, face, true);
        }
        (near, far, face, missed || near > far)
    }

    /// The share of the shading's variance over the silhouette that the three visible faces' mean
    /// shades explain, each cell taken to show the face its line of sight enters by.
    fn faces_explain(&self, mask: &Mask, luminance: &[f32]) -> f32 {
        let mut sums = [[0.0f64; 3]; 3];
        let mut all = [0.0f64; 3];
        for (index, _) in mask.cells.iter().enumerate().filter(|(_, inside)| **inside) {
            let value = luminance[index] as f64;
            for (sum, add) in all.iter_mut().zip([1.0, value, value * value]) {
                *sum += add;
            }
            let (_, _, face, missed) = self.cast((index % mask.width) as f32, (index / mask.width) as f32);
            if !missed {
                for (sum, add) in sums[face].iter_mut().zip([1.0, value, value * value]) {
                    *sum += add;
                }
            }
        }
        let variance = |[count, sum, squares]: [f64; 3]| if count > 0.0 { squares - sum * sum / count } else { 0.0 };
        let total = variance(all);
        if total <= 1.0e-9 || sums.iter().any(|face| face[0] < 0.05 * all[0]) {
            return 0.0;
        }
        let within: f64 = sums.iter().map(|&face| variance(face)).sum::<f64>()
            + (all[0] - sums.iter().map(|face| face[0]).sum::<f64>()).max(0.0) * total / all[0];
        (1.0 - within / total) as f32
    }

    /// The depth of the middle between the box's front and back, and half the distance between
    /// them, along each cell's line of sight, for a `width`-wide grid of `cells` cells. Where the
    /// view misses the box the half is 0 and the middle carries on smoothly (the depth where the
    /// view passes closest), so the outline's vertices, which take it from cells on both sides,
    /// are not pulled off it.
    pub(crate) fn depths(&self, width: usize, cells: usize) -> (Vec<f32>, Vec<f32>) {
        let mut middle = vec![0.0; cells];
        let mut half = vec![0.0; cells];
        for index in 0..cells {
            let (near, far, _, missed) = self.cast((index % width) as f32, (index / width) as f32);
            middle[index] = (near + far) / 2.0;
            half[index] = if missed { 0.0 } else { (far - near) / 2.0 };
        }
        (middle, half)
    }
}

/// The eight corners' signs along the three edges, each ±1.
fn corner_signs() -> impl Iterator<Item = [f32; 3]> {
    (0..8).map(|bits: u32| [0, 1, 2].map(|axis| if bits >> axis & 1 == 1 { 1.0 } else { -1.0 }))
}

/// The most a corner may turn the outline, in degrees, and still be a bend of a side rather than
/// a corner of the box: the simplified outline of an obtuse corner (a thin top seen through a long
/// lens) can keep both ends of its short, nearly straight stretch.
const MAX_BEND_DEG: f32 = 25.0;

/// The six corners of a hexagonal outline: `corners` as they are, or seven with the one that turns
/// the outline least (under [`MAX_BEND_DEG`]) left out.
fn hexagon(corners: &[[f32; 2]]) -> Option<Vec<[f32; 2]>> {
    match corners.len() {
        6 => Some(corners.to_vec()),
        7 => {
            let turn = |index: usize| {
                let (before, after) =
                    (sub(corners[index], corners[(index + 6) % 7]), sub(corners[(index + 1) % 7], corners[index]));
                let cross = before[0] * after[1] - before[1] * after[0];
                cross.atan2(dot(before, after)).abs()
            };
            let flattest = (0..7).min_by(|&a, &b| turn(a).total_cmp(&turn(b)))?;
            (turn(flattest) <= MAX_BEND_DEG.to_radians()).then(|| {
                corners.iter().enumerate().filter(|(index, _)| *index != flattest).map(|(_, corner)| *corner).collect()
            })
        }
        _ => None,
    }
}

fn sub(a: [f32; 2], b: [f32; 2]) -> [f32; 2] {
    [a[0] - b[0], a[1] - b[1]]
}

fn dot(a: [f32; 2], b: [f32; 2]) -> f32 {
    a[0] * b[0] + a[1] * b[1]
}

fn length(a: [f32; 2]) -> f32 {
    a[0].hypot(a[1])
}

fn length3(a: [f32; 3]) -> f32 {
    (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt()
}

/// The intersection over union of `mask` and the convex polygon through `corners`.
fn polygon_fit(mask: &Mask, corners: &[[f32; 2]]) -> f32 {
    let count = corners.len();
    // The sign of the winding, so "inside" is the same side of every side.
    let winding: f32 = (0..count)
        .map(|index| {
            let (a, b) = (corners[index], corners[(index + 1) % count]);
            a[0] * b[1] - a[1] * b[0]
        })
        .sum::<f32>()
        .signum();
    let polygon: Vec<bool> = (0..mask.cells.len())
        .map(|index| {
            let point = [(index % mask.width) as f32, (index / mask.width) as f32];
            (0..count).all(|side| {
                let (a, b) = (corners[side], corners[(side + 1) % count]);
                winding * ((b[0] - a[0]) * (point[1] - a[1]) - (b[1] - a[1]) * (point[0] - a[0]))
                    >= -0.5 * length(sub(b, a))
            })
        })
        .collect();
    mask.iou(&polygon)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A box of `size` (width, height, depth) turned `turn_deg` about the vertical and seen from
    /// `above_deg` above, drawn on a 128 grid through a camera `1 / w` cells away (`w` 0:
    /// orthographically) with each face its own shade; its silhouette, its shading, and its three
    /// edges in the picture's frame.
    fn drawn_box(size: [f32; 3], turn_deg: f32, above_deg: f32, w: f32) -> (Mask, Vec<f32>, [[f32; 3]; 3]) {
        let (turn, above) = (turn_deg.to_radians(), above_deg.to_radians());
        // World: x right, y up, z towards the camera; turn about y, then tilt the top towards the camera.
        let place = |[x, y, z]: [f32; 3]| {
            let (x, z) = (x * turn.cos() + z * turn.sin(), -x * turn.sin() + z * turn.cos());
            let (y, z) = (y * above.cos() - z * above.sin(), y * above.sin() + z * above.cos());
            // The picture's frame: y down.
            [x, -y, z]
        };
        let edges = [place([size[0], 0.0, 0.0]), place([0.0, size[1], 0.0]), place([0.0, 0.0, size[2]])];
        let cuboid = Cuboid { centre: [64.0, 64.0], edges, upright: 1, principal: [63.5, 63.5], w };
        let mask = Mask::from_fn(128, 128, |x, y| !cuboid.cast(x as f32, y as f32).3);
        // Each cell's shade: the face its line of sight enters by.
        let luminance = (0..128 * 128)
            .map(|index| {
                let (_, _, face, missed) = cuboid.cast((index % 128) as f32, (index / 128) as f32);
                if missed { 0.0 } else { [0.3, 0.6, 0.85][face] }
            })
            .collect();
        (mask, luminance, edges)
    }

    /// The distance from `edge` to the nearest of `found`, either way round.
    fn miss(edge: [f32; 3], found: &[[f32; 3]; 3]) -> f32 {
        found
            .iter()
            .map(|found| {
                let same = (0..3).map(|axis| (found[axis] - edge[axis]).powi(2)).sum::<f32>().sqrt();
                let opposite = (0..3).map(|axis| (found[axis] + edge[axis]).powi(2)).sum::<f32>().sqrt();
                same.min(opposite)
            })
            .fold(f32::INFINITY, f32::min)
    }

    fn corners(mask: &Mask) -> Vec<[f32; 2]> {
        crate::shape::outline_corners(mask)
    }

    #[test]
    fn a_box_seen_from_above_is_read_from_its_hexagon_with_its_top_towards_the_camera() {
        let (mask, luminance, truth) = drawn_box([60.0, 40.0, 36.0], 30.0, 25.0, 0.0);
        let cuboid = Cuboid::of(&mask, &corners(&mask), &luminance).expect("a box");
        // Each true edge is matched by one found edge (up to its direction) within a few cells.
        for edge in truth {
            assert!(miss(edge, &cuboid.edges) < 3.0, "edge {edge:?} against {:?}", cuboid.edges);
        }
        assert!(cuboid.w.abs() < 1.0e-4, "a long lens, found {}", cuboid.w);
        // The upright edge, pointing up the picture, comes towards the camera.
        let upright = cuboid.edges.iter().find(|edge| edge[0].abs() < 0.2 * edge[1].abs()).expect("upright");
        assert!(upright[1] < 0.0 && upright[2] > 0.0, "{upright:?}");
        // The world's up is that edge: the camera looks down by 25°.
        let [x, y, z] = cuboid.up(1.0);
        let down_deg = z.atan2(-y).to_degrees();
        assert!(x.abs() < 0.05 && (down_deg - 25.0).abs() < 3.0, "up {:?}: {down_deg}°", [x, y, z]);
    }

    #[test]
    fn a_box_seen_through_a_short_lens_is_fitted_with_the_cameras_distance() {
        // The camera 150 cells from a box 60 wide: a 35 mm lens's view, the far sides a fifth
        // shorter than the near ones.
        let w = 1.0 / 150.0;
        let (mask, luminance, truth) = drawn_box([60.0, 40.0, 36.0], -35.0, 30.0, w);
        let corners = corners(&mask);
        let parallel = Cuboid::parallel(&corners, 64.0, [63.5, 63.5]).expect("a first estimate");
        let cuboid = Cuboid::of(&mask, &corners, &luminance).expect("a box");
        assert!((cuboid.w - w).abs() < 0.15 * w, "the camera at {} cells, not 150", 1.0 / cuboid.w);
        for edge in truth {
            // The fit finds each edge within two cells.
            assert!(miss(edge, &cuboid.edges) < 2.0, "edge {edge:?} against {:?}", cuboid.edges);
        }
        // And it draws the silhouette, where the parallel box, drawn orthographically, does not.
        let drawn = |cuboid: &Cuboid| -> Vec<bool> {
            (0..128 * 128).map(|index| !cuboid.cast((index % 128) as f32, (index / 128) as f32).3).collect()
        };
        let (fitted, first) = (mask.iou(&drawn(&cuboid)), mask.iou(&drawn(&parallel)));
        assert!(
            fitted >= 0.95 && first <= fitted - 0.03,
            "the fit draws the silhouette at {fitted:.3}, the first estimate at {first:.3}"
        );
        let [x, y, z] = cuboid.up(1.0);
        let down_deg = z.atan2(-y).to_degrees();
        assert!(x.abs() < 0.05 && (down_deg - 30.0).abs() < 2.0, "up {:?}: {down_deg}°", [x, y, z]);
    }

    #[test]
    fn a_square_a_flat_hexagon_and_a_disc_are_not_boxes() {
        // Square-on: a rectangle, no depth to read.
        let (mask, luminance, _) = drawn_box([60.0, 40.0, 36.0], 0.0, 0.0, 0.0);
        assert_eq!(Cuboid::of(&mask, &corners(&mask), &luminance), None);
        // The box's outline shaded as one flat face (a hexagonal sign): not three faces.
        let (mask, _, _) = drawn_box([60.0, 40.0, 36.0], 30.0, 25.0, 0.0);
        let flat: Vec<f32> = (0..128 * 128)
            .map(|index| if mask.cells[index] { 0.5 + (index % 128) as f32 * 1.0e-3 } else { 0.0 })
            .collect();
        assert_eq!(Cuboid::of(&mask, &corners(&mask), &flat), None);
        let disc = Mask::from_fn(128, 128, |x, y| (x as f32 - 64.0).hypot(y as f32 - 64.0) <= 40.0);
        let shade = vec![0.5; 128 * 128];
        assert_eq!(Cuboid::of(&disc, &corners(&disc), &shade), None);
    }
}
