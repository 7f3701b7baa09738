//! Furniture on legs seen from the front, as a catalogue shows a table, a desk, a bench, a stool or
//! a chair: a thin slab (the top, or a chair's seat) spanning the silhouette, its legs under the
//! slab's ends reaching the ground, open between them, and above a chair's seat its back, open
//! between its posts. The back legs stand behind the front ones, so the picture shows neither them
//! nor anything of the depth, and no height field over the picture can hold two legs on one line
//! of sight.
//!
//! The solid is the visual hull of the front silhouette and the side view such a piece shows: the
//! slab across the whole depth, over a front and a back leg as far in from its front and back edges
//! as the front legs stand in from its ends, as deep as they are wide, and a chair's back rising
//! from its back legs. The hull is extracted with the engine's isosurface, so the slab, the legs
//! and the back are one closed 2-manifold. The depth is a prior: as deep as the slab is high,
//! between half its width and its width. A dining table (about 180 × 75 × 90 cm wide, tall and
//! deep), a desk (140 × 75 × 70), a coffee table (120 × 45 × 60), a stool (40 × 65 × 40) and a
//! dining chair's seat (45 × 45 × 45) come out within a sixth of their depth.

use crate::error::Result;
use crate::isosurface::{Inside, ScalarGrid, extract_isosurface};
use crate::mask::Mask;
use crate::mesh::TriMesh;
use crate::progress::CancelFlag;

/// The least share of the width a row of the top slab spans in one piece.
const MIN_SLAB_SPAN: f32 = 0.9;

/// The thickest the top slab may be, as a share of the height: below it, the legs.
const MAX_SLAB_SHARE: f32 = 0.3;

/// The widest a leg may be where it meets the ground, as a share of the width.
const MAX_LEG_SHARE: f32 = 0.2;

/// The farthest the outer legs may stand in from the slab's ends, as a share of the width.
const MAX_END_INSET: f32 = 0.15;

/// The least share of the height under the slab: the legs.
const MIN_LEGS_SHARE: f32 = 0.4;

/// The least share of the height a chair's back takes, and the least share of its rows that show
/// it open (posts apart).
const MIN_BACK_SHARE: f32 = 0.2;
const MIN_OPEN_BACK: f32 = 0.3;

/// The least share of the rows under the slab that show the legs apart (a stretcher between them
/// joins a few).
const MIN_APART_SHARE: f32 = 0.6;

/// The silhouette's height over the rows its top or bottom edge may be ragged in.
const EDGE_ROWS_PER: usize = 64;

/// The most samples of the volume (64 MiB of them); a finer grid than the default 256 samples it
/// more coarsely than a cell.
pub(crate) const MAX_SAMPLES: usize = 1 << 24;

/// The spacing of the samples over a box `extent` cells wide, a cell or more so they stay within
/// [`MAX_SAMPLES`], and how many fall along each axis.
pub(crate) fn volume_sampling(extent: [f32; 3]) -> (f32, [usize; 3]) {
    let spacing = (extent.iter().product::<f32>() / MAX_SAMPLES as f32).cbrt().max(1.0);
    (spacing, extent.map(|extent| (extent / spacing).ceil() as usize + 1))
}

/// The closed surface where `field` (sampled in the grid's frame, positive inside) crosses 0,
/// wound outwards in that frame, its depths scaled by `thickness`.
pub(crate) fn carved_surface(field: &ScalarGrid, thickness: f32, cancel: &CancelFlag) -> Result<TriMesh> {
    let mut mesh = extract_isosurface(field, 0.0, Inside::Above, cancel)?;
    // The isosurface winds outwards in its own frame; the grid's frame mirrors y.
    mesh.reverse_winding();
    for position in &mut mesh.positions {
        position[2] *= thickness;
    }
    Ok(mesh)
}

/// The most legs the ground row may show (a stool's three or a table's four can show apart).
const MAX_LEGS: usize = 4;

/// A piece of furniture on legs, read from its front silhouette; cells of the reconstruction grid.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Legs {
    /// The silhouette's first and one-past-last column and row.
    bounds: (usize, usize, usize, usize),
    /// The slab's first row, and the first under it.
    top: usize,
    under: usize,
    /// How far the outer legs stand in from the slab's ends.
    inset: f32,
    /// The outer legs' width, and so their depth.
    leg: f32,
    /// The piece's depth.
    depth: f32,
}

/// The runs of set cells in row `y` of `mask`, as `start..end` columns.
pub(crate) fn runs(mask: &Mask, y: usize) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for x in 0..=mask.width {
        match (start, x < mask.width && mask.get(x, y)) {
            (None, true) => start = Some(x),
            (Some(first), false) => {
                runs.push((first, x));
                start = None;
            }
            _ => {}
        }
    }
    runs
}

impl Legs {
    /// The piece on legs `mask` shows, if it is one.
    pub(crate) fn of(mask: &Mask) -> Option<Self> {
        let (x0, y0, x1, y1) = mask.bounding_box()?;
        let (width, height) = ((x1 - x0) as f32, (y1 - y0) as f32);
        let rows: Vec<Vec<(usize, usize)>> = (0..y1).map(|y| if y < y0 { Vec::new() } else { runs(mask, y) }).collect();
        let spans = |y: usize| {
            let runs = &rows[y];
            runs.len() == 1 && (runs[0].1 - runs[0].0) as f32 >= MIN_SLAB_SPAN * width
        };
        // The outline's top and bottom rows are where the coverage crosses a half, ragged on a fine
        // grid: the slab may start and the legs are read a few rows in.
        let edge = 1 + (y1 - y0) / EDGE_ROWS_PER;
        // The slab (a table's top, a chair's seat) is the lowest band of rows spanning the
        // silhouette with legs under it for much of the height (a stretcher has less).
        let mut below = y1;
        let (top, under) = loop {
            let under = (y0..below).rev().find(|&y| spans(y))? + 1;
            let top = (y0..under).rev().find(|&y| !spans(y)).map_or(y0, |y| y + 1);
            if (y1 - under) as f32 >= MIN_LEGS_SHARE * height {
                break (if top - y0 < edge { y0 } else { top }, under);
            }
            below = top;
        };
        // Above the slab, a chair's back: open (its posts apart in some rows), so that a table's
        // top seen from above, a solid band narrowing away, is not one.
        if top > y0 {
            let open = (y0 + edge..top).filter(|&y| rows[y].len() >= 2).count();
            if ((top - y0) as f32) < MIN_BACK_SHARE * height || (open as f32) < MIN_OPEN_BACK * (top - y0) as f32 {
                return None;
            }
        }
        let standing = (y1 - top) as f32;
        if under - top < 2 || (under - top) as f32 > MAX_SLAB_SHARE * standing {
            return None;
        }
        let ground = &rows[y1 - edge];
        let (first, last) = (*ground.first()?, *ground.last()?);
        let end_inset = MAX_END_INSET * width;
        let outer_legs = (first.0 - x0) as f32 <= end_inset && (x1 - last.1) as f32 <= end_inset;
        let narrow = |run: &(usize, usize)| (run.1 - run.0) as f32 <= MAX_LEG_SHARE * width;
        if !(2..=MAX_LEGS).contains(&ground.len()) || !outer_legs || !ground.iter().all(narrow) {
            return None;
        }
        let apart = (under..y1).filter(|&y| rows[y].len() >= 2).count();
        if (apart as f32) < MIN_APART_SHARE * (y1 - under) as f32 {
            return None;
        }
        // The legs' inset and width halfway down them, where a splayed leg is neither at the top
        // nor at the ground; at the feet where that row shows no two narrow legs.
        let middle = &rows[(under + y1) / 2];
        let (left, right) = match (middle.first(), middle.last()) {
            (Some(left), Some(right)) if middle.len() >= 2 && narrow(left) && narrow(right) => (*left, *right),
            _ => (first, last),
        };
        let inset = ((left.0 - x0) + (x1 - right.1)) as f32 / 2.0;
        let leg = ((left.1 - left.0) + (right.1 - right.0)) as f32 / 2.0;
        let depth = width.min((width / 2.0).max(standing));
        Some(Self { bounds: (x0, y0, x1, y1), top, under, inset, leg, depth })
    }

    /// Whether a chair's back rises above the slab (at its far edge).
    fn has_back(&self) -> bool {
        self.top > self.bounds.1
    }

    /// How far inside the side view a point at row position `y` and depth `z` is, in cells
    /// (negative outside): the slab over the whole depth above `under`, a front and a back leg
    /// below it.
    fn side_inside(&self, y: f32, z: f32) -> f32 {
        let (top, under) = (self.top as f32, self.under as f32);
        let half = self.depth / 2.0;
        let slab = if self.has_back() { (y - top).min(under - y) } else { under - y }.min(half - z.abs());
        let leg_middle = self.leg_middle();
        // The legs and the back reach a cell into the slab so they join it.
        let leg = (y - (under - 1.0)).min(self.leg / 2.0 - (z.abs() - leg_middle).abs());
        // A chair's back rises from its back legs.
        let back = if self.has_back() { (top + 1.0 - y).min(self.leg / 2.0 - (z + leg_middle).abs()) } else { -1.0 };
        // Nothing is deeper than the piece, however wide its legs were read: the samples past the
        // depth stay outside and the surface closed.
        slab.max(leg).max(back).min(half - z.abs())
    }

    /// How far from the middle of the depth the legs' middles stand.
    fn leg_middle(&self) -> f32 {
        (self.depth / 2.0 - self.inset - self.leg / 2.0).max(self.leg / 2.0)
    }

    /// Where the volume is sampled: its first sample, the samples along x, y and z, and the
    /// spacing, a cell or more so the samples stay within [`MAX_SAMPLES`].
    fn sampling(&self) -> ([f32; 3], [usize; 3], f32) {
        let (x0, y0, x1, y1) = self.bounds;
        // Samples a cell and a half beyond the bounds on every side keep the surface closed.
        let origin = [x0 as f32 - 1.5, y0 as f32 - 1.5, -(self.depth / 2.0 + 1.5)];
        let extent = [(x1 - x0 + 3) as f32, (y1 - y0 + 3) as f32, self.depth + 3.0];
        let (spacing, dims) = volume_sampling(extent);
        (origin, dims, spacing)
    }

    /// The solid in grid units (`x` right and `y` down over an `n`-cell grid, `z` towards the
    /// camera), its depths scaled by `thickness`, and the front's height at each grid cell.
    /// `coverage` is the silhouette's coverage at a point of the grid (cell centres at a half).
    pub(crate) fn solid(
        &self,
        coverage: &dyn Fn([f32; 2]) -> f32,
        n: usize,
        thickness: f32,
        cancel: &CancelFlag,
    ) -> Result<(TriMesh, Vec<f32>)> {
        let half = self.depth / 2.0;
        let (origin, dims, spacing) = self.sampling();
        cancel.check()?;
        // Inside both views: the front's coverage over (x, y), the side's over (y, z).
        let at = |index: usize, axis: usize| origin[axis] + index as f32 * spacing;
        let front: Vec<f32> =
            (0..dims[0] * dims[1]).map(|i| coverage([at(i % dims[0], 0), at(i / dims[0], 1)]) - 0.5).collect();
        let side: Vec<f32> = (0..dims[1] * dims[2])
            .map(|i| (self.side_inside(at(i % dims[1], 1), at(i / dims[1], 2)) / 2.0).clamp(-0.5, 0.5))
            .collect();
        let mut values = Vec::with_capacity(dims[0] * dims[1] * dims[2]);
        for z in 0..dims[2] {
            for y in 0..dims[1] {
                let side = side[z * dims[1] + y];
                values.extend(front[y * dims[0]..(y + 1) * dims[0]].iter().map(|front| front.min(side)));
            }
        }
        let field = ScalarGrid { dims, values, origin, spacing: [spacing; 3] };
        let mesh = carved_surface(&field, thickness, cancel)?;
        let front = |y: usize| {
            thickness
                * if self.has_back() && y < self.top {
                    self.leg / 2.0 - self.leg_middle()
                } else if y < self.under {
                    half
                } else {
                    half - self.inset
                }
        };
        let heights = (0..n * n)
            .map(|index| {
                let (x, y) = (index % n, index / n);
                if coverage([x as f32 + 0.5, y as f32 + 0.5]) >= 0.5 { front(y) } else { 0.0 }
            })
            .collect();
        Ok((mesh, heights))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table's front on an `n`-cell grid: a slab `slab` rows thick across `x0..x1` from row
    /// `y0`, legs `leg` wide standing `inset` in from its ends down to row `y1`.
    fn table(n: usize, (x0, y0, x1, y1): (usize, usize, usize, usize), slab: usize, leg: usize, inset: usize) -> Mask {
        Mask::from_fn(n, n, |x, y| {
            let across = (x0..x1).contains(&x) && (y0..y1).contains(&y);
            let in_leg = (x0 + inset..x0 + inset + leg).contains(&x) || (x1 - inset - leg..x1 - inset).contains(&x);
            across && (y < y0 + slab || in_leg)
        })
    }

    #[test]
    fn a_table_stands_on_four_legs_as_deep_as_it_is_tall() {
        let n = 128;
        let mask = table(n, (14, 40, 114, 92), 5, 6, 3);
        let legs = Legs::of(&mask).expect("a table is read as furniture on legs");
        assert_eq!(legs.under, 45);
        assert_eq!((legs.inset, legs.leg), (3.0, 6.0));
        assert_eq!(legs.depth, 52.0, "as deep as it is tall, being more than half as tall as wide");
        let coverage = |[x, y]: [f32; 2]| {
            let (cx, cy) = ((x - 0.5).round() as usize, (y - 0.5).round() as usize);
            if cx < n && cy < n && mask.get(cx, cy) { 1.0 } else { 0.0 }
        };
        let (mesh, heights) = legs.solid(&coverage, n, 1.0, &CancelFlag::new()).unwrap();
        let topology = mesh.topology();
        assert!(topology.is_watertight_manifold(), "{topology:?}");
        assert!(mesh.volume() < 0.0, "wound outwards once the grid's y is mirrored");
        assert_eq!(topology.components, 1, "the legs hold on to the slab");
        assert_eq!(topology.genus(), 0, "legs hanging from a slab make no handle: {topology:?}");
        // Under the slab, a line of sight through a front leg meets a back leg behind it.
        let leg_x = 14.0 + 3.0 + 3.0;
        let depths: Vec<f32> = mesh
            .positions
            .iter()
            .filter(|p| (p[0] - leg_x).abs() < 1.0 && (p[1] - 70.0).abs() < 1.0)
            .map(|p| p[2])
            .collect();
        let (near, far) = depths.iter().fold((f32::MIN, f32::MAX), |(near, far), &z| (near.max(z), far.min(z)));
        assert!((near - 23.0).abs() < 1.5 && (far + 23.0).abs() < 1.5, "legs from {far} to {near}");
        assert!(!depths.iter().any(|z| z.abs() < 10.0), "nothing between the front and the back legs");
        assert_eq!(heights[70 * n + 20], 23.0);
        assert_eq!(heights[42 * n + 60], 26.0);
    }

    /// A chair's front: `table`'s seat and legs under a back of two posts `leg` wide over the
    /// legs, joined by a top rail, rising `back` rows above the seat.
    fn chair(n: usize, (x0, y0, x1, y1): (usize, usize, usize, usize), back: usize) -> Mask {
        let (slab, leg, inset) = (5, 6, 3);
        let seat = table(n, (x0, y0 + back, x1, y1), slab, leg, inset);
        Mask::from_fn(n, n, |x, y| {
            let post = (x0 + inset..x0 + inset + leg).contains(&x) || (x1 - inset - leg..x1 - inset).contains(&x);
            let rail = (x0 + inset..x1 - inset).contains(&x) && (y0..y0 + 6).contains(&y);
            seat.get(x, y) || (y0..y0 + back).contains(&y) && (post || rail)
        })
    }

    #[test]
    fn a_chair_has_its_back_over_its_back_legs() {
        let n = 128;
        let legs = Legs::of(&chair(n, (30, 20, 90, 110), 40)).expect("a chair");
        assert_eq!((legs.top, legs.under, legs.has_back()), (60, 65, true));
        assert_eq!(legs.depth, 50.0, "as deep as the seat is high");
        let half = legs.depth / 2.0;
        assert!(legs.side_inside(40.0, 3.0 + legs.inset - half) > 0.0, "the back rises from the back legs");
        assert!(legs.side_inside(40.0, 0.5 - half) < 0.0, "inset as they are");
        assert!(legs.side_inside(40.0, 0.0) < 0.0, "nothing over the seat's middle");
        assert!(legs.side_inside(62.0, 0.0) > 0.0, "the seat across the depth");
        let mask = chair(n, (30, 20, 90, 110), 40);
        let coverage = |[x, y]: [f32; 2]| {
            let (cx, cy) = ((x - 0.5).round() as usize, (y - 0.5).round() as usize);
            if cx < n && cy < n && mask.get(cx, cy) { 1.0 } else { 0.0 }
        };
        let (mesh, _) = legs.solid(&coverage, n, 1.0, &CancelFlag::new()).unwrap();
        let topology = mesh.topology();
        assert!(topology.is_watertight_manifold() && topology.components == 1, "{topology:?}");
        assert!(mesh.volume() < 0.0, "wound outwards once the grid's y is mirrored");
        assert_eq!(topology.genus(), 1, "the back's posts and rail close one hole: {topology:?}");
        // A solid band above the slab narrowing away (a table's top seen from above) is no back.
        let table = table(n, (30, 50, 90, 110), 5, 6, 3);
        let trapezoid = Mask::from_fn(n, n, |x, y| {
            let narrowing = (20..50).contains(&y) && x + (50 - y) / 5 >= 30 && x < 90 - (50 - y) / 5;
            table.get(x, y) || narrowing
        });
        assert_eq!(Legs::of(&trapezoid), None);
    }

    #[test]
    fn a_ragged_top_and_ground_row_are_read_past() {
        // On a fine grid the outline's first and last rows are where the coverage crosses a half,
        // broken into many runs.
        let n = 512;
        let mut mask = table(n, (32, 140, 480, 370), 10, 20, 8);
        for x in (32..480).step_by(3) {
            mask.cells[140 * n + x] = false;
        }
        for x in [45, 50, 455, 460] {
            mask.cells[369 * n + x] = false;
        }
        let legs = Legs::of(&mask).expect("a table with ragged edges");
        assert_eq!((legs.under, legs.inset, legs.leg), (150, 8.0, 20.0));
    }

    #[test]
    fn a_fine_grid_samples_the_volume_more_coarsely() {
        let sampled = |n: usize| {
            let (_, dims, spacing) =
                Legs::of(&table(n, (n / 16, n / 4, n - n / 16, n * 3 / 4), n / 32, n / 24, n / 48))
                    .expect("a table")
                    .sampling();
            (dims.iter().product::<usize>(), spacing)
        };
        assert_eq!(sampled(256).1, 1.0, "a cell apart on the default grid");
        let (samples, spacing) = sampled(2048);
        assert!(samples <= MAX_SAMPLES * 11 / 10 && spacing > 4.0, "{samples} samples {spacing} apart");
    }

    #[test]
    fn a_sign_a_post_and_a_block_are_not_furniture() {
        let n = 128;
        // A sign board twice as tall as a table's top.
        assert_eq!(Legs::of(&table(n, (14, 40, 114, 92), 30, 6, 3)), None);
        // One post.
        let post = Mask::from_fn(n, n, |x, y| {
            (40..92).contains(&y) && ((14..114).contains(&x) && y < 45 || (60..68).contains(&x))
        });
        assert_eq!(Legs::of(&post), None);
        // Legs as wide as half the slab (a block with a slot).
        assert_eq!(Legs::of(&table(n, (14, 40, 114, 92), 5, 47, 0)), None);
        // Legs far in from the ends (a sign on two posts).
        assert_eq!(Legs::of(&table(n, (14, 40, 114, 92), 5, 6, 30)), None);
        // A block.
        assert_eq!(Legs::of(&table(n, (14, 40, 114, 92), 52, 6, 3)), None);
    }

    #[test]
    fn legs_are_read_where_they_are_narrow_and_kept_within_the_depth() {
        let n = 128;
        // A stretcher across the legs' middle row with a cell's gap in it: two wide runs there,
        // which are not legs; the feet give the legs' width.
        let mask = Mask::from_fn(n, n, |x, y| {
            table(n, (14, 40, 114, 92), 5, 6, 3).get(x, y) || (y == 68 && (14..114).contains(&x) && x != 64)
        });
        let legs = Legs::of(&mask).expect("a table with a stretcher");
        assert_eq!((legs.inset, legs.leg), (3.0, 6.0));
        // However wide legs are read, the solid stays as deep as the piece, and closed.
        let wide = Legs { leg: 60.0, ..legs };
        let coverage = |[x, y]: [f32; 2]| {
            let (cx, cy) = ((x - 0.5).round() as usize, (y - 0.5).round() as usize);
            if cx < n && cy < n && mask.get(cx, cy) { 1.0 } else { 0.0 }
        };
        let (mesh, _) = wide.solid(&coverage, n, 1.0, &CancelFlag::new()).unwrap();
        assert!(mesh.topology().is_watertight_manifold(), "{:?}", mesh.topology());
        let deepest = mesh.positions.iter().map(|p| p[2].abs()).fold(0.0, f32::max);
        assert!(deepest <= wide.depth / 2.0 + 1.0, "{deepest} deep against {}", wide.depth);
    }
}
