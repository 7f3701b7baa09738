//! A box seen from above at an angle, as product photos show one: its outline is a hexagon whose
//! opposite sides are equal and parallel (the three edge directions of the box, each drawn twice),
//! and its three visible faces are each evenly shaded. The three edges' directions in the picture
//! fix the box: three edges of a box are at right angles to each other, which gives each edge's
//! depth up to one sign for all three (`u·v + zu·zv = 0` for each pair).
//!
//! That sign is the Necker cube's: one picture shows a box seen from above or the same box seen
//! from below, turned over. As for a leaning ring, photos are taken from above: the edge that is
//! upright in the picture (the box stands on its base, the camera is level) rises towards the
//! camera, so the top face is the one seen.
//!
//! A box seen square-on (one face, a rectangle) or with one edge along the view (two faces) shows
//! nothing of its depth and is not one of these; it stays the extrusion of a flat shape.

use crate::mask::Mask;

/// The longest an outline side may differ from the opposite one (as a vector), as a share of the
/// outline's size: a box's hexagon is centrally symmetric.
const MAX_SIDES_GAP: f32 = 0.08;

/// The least intersection over union of the hexagon with the silhouette.
const MIN_HEXAGON_FIT: f32 = 0.95;

/// The most an upright edge may lean in the picture, in degrees (a level camera draws a standing
/// box's upright edges upright).
pub(crate) const MAX_UPRIGHT_LEAN_DEG: f32 = 8.0;

/// The smallest `|cos|` between two edges in the picture: at right angles in the picture, two
/// edges of a box lie in the picture's plane and the depths cannot be read.
const MIN_EDGES_COS: f32 = 0.05;

/// The least share of the shading's variance inside the silhouette that the three faces' means
/// must explain: three evenly shaded faces, not a curved surface with a hexagonal outline.
const MIN_FACES_EXPLAIN: f32 = 0.6;

/// A box in the picture's frame: cells, x right, y down, z towards the camera.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cuboid {
    /// Its centre in the picture (its depth is 0).
    centre: [f32; 2],
    /// Its three edges, each from one face to the opposite one.
    edges: [[f32; 3]; 3],
    /// Which edge is upright: the box stands on the face across it.
    upright: usize,
}

impl Cuboid {
    /// The box whose picture is `mask` with the outline's `corners` (in order around it), shaded
    /// `luminance` (per cell, as the mask); none when the picture is not a box seen from above.
    pub(crate) fn of(mask: &Mask, corners: &[[f32; 2]], luminance: &[f32]) -> Option<Self> {
        if corners.len() != 6 || luminance.len() != mask.cells.len() {
            return None;
        }
        let (x0, y0, x1, y1) = mask.bounding_box()?;
        let size = (x1 - x0).max(y1 - y0) as f32;
        let side = |index: usize| sub(corners[(index + 1) % 6], corners[index]);
        // Opposite sides equal and opposite; each edge the mean of its two sides.
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
        if polygon_fit(mask, corners) < MIN_HEXAGON_FIT {
            return None;
        }
        // One edge upright, pointing up the picture.
        let upright = (0..3).find(|&index| {
            let edge = flat[index];
            edge[0].abs() <= MAX_UPRIGHT_LEAN_DEG.to_radians().sin() * length(edge)
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
        let cuboid = Self { centre, edges, upright };
        (cuboid.faces_explain(mask, luminance) >= MIN_FACES_EXPLAIN).then_some(cuboid)
    }

    /// The share of the shading's variance over the silhouette that the three visible faces' mean
    /// shades explain.
    fn faces_explain(&self, mask: &Mask, luminance: &[f32]) -> f32 {
        // The corner nearest the camera, in the picture: each visible face runs from it back along
        // two of the edges.
        let towards = self.edges.map(|edge| if edge[2] >= 0.0 { edge } else { edge.map(|value| -value) });
        let near = [
            self.centre[0] + towards.iter().map(|edge| edge[0] / 2.0).sum::<f32>(),
            self.centre[1] + towards.iter().map(|edge| edge[1] / 2.0).sum::<f32>(),
        ];
        let mut sums = [[0.0f64; 3]; 3];
        let mut all = [0.0f64; 3];
        for (index, _) in mask.cells.iter().enumerate().filter(|(_, inside)| **inside) {
            let point = [(index % mask.width) as f32 - near[0], (index / mask.width) as f32 - near[1]];
            let value = luminance[index] as f64;
            for (sum, add) in all.iter_mut().zip([1.0, value, value * value]) {
                *sum += add;
            }
            let face = [(0, 1), (0, 2), (1, 2)].iter().position(|&(a, b)| {
                let (a, b) = ([-towards[a][0], -towards[a][1]], [-towards[b][0], -towards[b][1]]);
                let determinant = a[0] * b[1] - a[1] * b[0];
                let alpha = (point[0] * b[1] - point[1] * b[0]) / determinant;
                let beta = (a[0] * point[1] - a[1] * point[0]) / determinant;
                (-0.02..=1.02).contains(&alpha) && (-0.02..=1.02).contains(&beta)
            });
            if let Some(face) = face {
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

    /// The way up of the world the box stands in, a unit vector in the picture's frame with depths
    /// `thickness` times the box's: along its upright edge, which points up the picture and towards
    /// the camera (the camera looks down on the box by the angle this makes with the picture).
    pub(crate) fn up(&self, thickness: f32) -> [f32; 3] {
        let [x, y, z] = self.edges[self.upright];
        let (x, y, z) = (x, y, z * thickness);
        let norm = (x * x + y * y + z * z).sqrt().max(f32::MIN_POSITIVE);
        [x / norm, y / norm, z / norm]
    }

    /// The depth of the middle between the box's front and back, and half the distance between
    /// them, for each cell of a `width`-wide grid of `cells` cells. Where the view misses the box
    /// the half is 0 and the middle carries on smoothly (the depth where the view passes closest),
    /// so the outline's vertices, which take it from cells on both sides, are not pulled off it.
    pub(crate) fn depths(&self, width: usize, cells: usize) -> (Vec<f32>, Vec<f32>) {
        let mut middle = vec![0.0; cells];
        let mut half = vec![0.0; cells];
        for index in 0..cells {
            let (dx, dy) = ((index % width) as f32 - self.centre[0], (index / width) as f32 - self.centre[1]);
            let (mut near, mut far) = (f32::NEG_INFINITY, f32::INFINITY);
            for edge in &self.edges {
                // Between the two faces across this edge: |(p - centre)·edge| <= |edge|² / 2. No
                // edge lies in the picture's plane (`of` asks each to have a depth).
                let reach = (edge[0] * edge[0] + edge[1] * edge[1] + edge[2] * edge[2]) / 2.0;
                let across = dx * edge[0] + dy * edge[1];
                let (a, b) = ((-reach - across) / edge[2], (reach - across) / edge[2]);
                near = near.max(a.min(b));
                far = far.min(a.max(b));
            }
            middle[index] = (near + far) / 2.0;
            half[index] = ((far - near) / 2.0).max(0.0);
        }
        (middle, half)
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
    /// `above_deg` above, drawn orthographically on a 128 grid with each face its own shade; its
    /// silhouette, its shading, and its three edges in the picture's frame.
    fn drawn_box(size: [f32; 3], turn_deg: f32, above_deg: f32) -> (Mask, Vec<f32>, [[f32; 3]; 3]) {
        let (turn, above) = (turn_deg.to_radians(), above_deg.to_radians());
        // World: x right, y up, z towards the camera; turn about y, then tilt the top towards the camera.
        let place = |[x, y, z]: [f32; 3]| {
            let (x, z) = (x * turn.cos() + z * turn.sin(), -x * turn.sin() + z * turn.cos());
            let (y, z) = (y * above.cos() - z * above.sin(), y * above.sin() + z * above.cos());
            // The picture's frame: y down.
            [x, -y, z]
        };
        let edges = [place([size[0], 0.0, 0.0]), place([0.0, size[1], 0.0]), place([0.0, 0.0, size[2]])];
        let cuboid = Cuboid { centre: [64.0, 64.0], edges, upright: 1 };
        let (_, half) = cuboid.depths(128, 128 * 128);
        let mask = Mask::from_fn(128, 128, |x, y| half[y * 128 + x] > 0.0);
        // Each cell's shade: the face the ray meets first (the one whose normal faces the camera most
        // at that point), found by which face's plane is nearest the front.
        let (middle, _) = cuboid.depths(128, 128 * 128);
        let luminance = (0..128 * 128)
            .map(|index| {
                if !mask.cells[index] {
                    return 0.0;
                }
                let front = middle[index] + half[index];
                let point = [(index % 128) as f32 - 64.0, (index / 128) as f32 - 64.0, front];
                let face = (0..3)
                    .min_by(|&a, &b| {
                        let gap = |edge: [f32; 3]| {
                            let reach = edge.iter().map(|value| value * value).sum::<f32>() / 2.0;
                            (reach - (point[0] * edge[0] + point[1] * edge[1] + point[2] * edge[2]).abs()).abs()
                                / reach.sqrt()
                        };
                        gap(edges[a]).total_cmp(&gap(edges[b]))
                    })
                    .unwrap_or(0);
                [0.3, 0.6, 0.85][face]
            })
            .collect();
        (mask, luminance, edges)
    }

    fn corners(mask: &Mask) -> Vec<[f32; 2]> {
        crate::shape::outline_corners(mask)
    }

    #[test]
    fn a_box_seen_from_above_is_read_from_its_hexagon_with_its_top_towards_the_camera() {
        let size = [60.0, 40.0, 36.0];
        let (mask, luminance, truth) = drawn_box(size, 30.0, 25.0);
        let cuboid = Cuboid::of(&mask, &corners(&mask), &luminance).expect("a box");
        // Each true edge is matched by one found edge (up to its direction) within a few cells.
        for edge in truth {
            let best = cuboid
                .edges
                .iter()
                .map(|found| {
                    let same = (0..3).map(|axis| (found[axis] - edge[axis]).powi(2)).sum::<f32>().sqrt();
                    let opposite = (0..3).map(|axis| (found[axis] + edge[axis]).powi(2)).sum::<f32>().sqrt();
                    same.min(opposite)
                })
                .fold(f32::INFINITY, f32::min);
            assert!(best < 3.0, "edge {edge:?} against {:?}", cuboid.edges);
        }
        // The upright edge, pointing up the picture, comes towards the camera.
        let upright = cuboid.edges.iter().find(|edge| edge[0].abs() < 0.2 * edge[1].abs()).expect("upright");
        assert!(upright[1] < 0.0 && upright[2] > 0.0, "{upright:?}");
        // The world's up is that edge: the camera looks down by 25°.
        let [x, y, z] = cuboid.up(1.0);
        let down_deg = z.atan2(-y).to_degrees();
        assert!(x.abs() < 0.05 && (down_deg - 25.0).abs() < 3.0, "up {:?}: {down_deg}°", [x, y, z]);
    }

    #[test]
    fn a_square_a_flat_hexagon_and_a_disc_are_not_boxes() {
        // Square-on: a rectangle, no depth to read.
        let (mask, luminance, _) = drawn_box([60.0, 40.0, 36.0], 0.0, 0.0);
        assert_eq!(Cuboid::of(&mask, &corners(&mask), &luminance), None);
        // The box's outline shaded as one flat face (a hexagonal sign): not three faces.
        let (mask, _, _) = drawn_box([60.0, 40.0, 36.0], 30.0, 25.0);
        let flat: Vec<f32> = (0..128 * 128)
            .map(|index| if mask.cells[index] { 0.5 + (index % 128) as f32 * 1.0e-3 } else { 0.0 })
            .collect();
        assert_eq!(Cuboid::of(&mask, &corners(&mask), &flat), None);
        let disc = Mask::from_fn(128, 128, |x, y| (x as f32 - 64.0).hypot(y as f32 - 64.0) <= 40.0);
        let shade = vec![0.5; 128 * 128];
        assert_eq!(Cuboid::of(&disc, &corners(&disc), &shade), None);
    }
}
