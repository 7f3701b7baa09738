//! Binary masks on a pixel grid: morphology, connected components and box resampling. The
//! foreground stage and the reconstructor share them.

/// A binary mask, row-major, `true` = object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height` cells, row by row.
    pub cells: Vec<bool>,
}

impl Mask {
    /// A mask of the given size with every cell set to `value`.
    pub fn filled(width: usize, height: usize, value: bool) -> Self {
        Self { width, height, cells: vec![value; width * height] }
    }

    /// Builds a mask by evaluating `inside(x, y)` on every cell.
    pub fn from_fn(width: usize, height: usize, mut inside: impl FnMut(usize, usize) -> bool) -> Self {
        let mut cells = Vec::with_capacity(width * height);
        for y in 0..height {
            for x in 0..width {
                cells.push(inside(x, y));
            }
        }
        Self { width, height, cells }
    }

    /// Whether the cell at (x, y) is set.
    pub fn get(&self, x: usize, y: usize) -> bool {
        self.cells[y * self.width + x]
    }

    /// Whether the cell nearest the point `(x, y)` (cell centres at whole numbers) is set; false
    /// off the mask.
    pub fn get_nearest(&self, x: f32, y: f32) -> bool {
        let (x, y) = (x.round(), y.round());
        x >= 0.0
            && y >= 0.0
            && (x as usize) < self.width
            && (y as usize) < self.height
            && self.get(x as usize, y as usize)
    }

    /// Number of set cells.
    pub fn area(&self) -> usize {
        self.cells.iter().filter(|&&cell| cell).count()
    }

    /// The tight bounding box of the set cells as `(x0, y0, x1, y1)`, exclusive at the end.
    pub fn bounding_box(&self) -> Option<(usize, usize, usize, usize)> {
        let mut bounds: Option<(usize, usize, usize, usize)> = None;
        for y in 0..self.height {
            let row = &self.cells[y * self.width..(y + 1) * self.width];
            let Some(first) = row.iter().position(|&cell| cell) else {
                continue;
            };
            let last = row.iter().rposition(|&cell| cell).unwrap_or(first);
            bounds = Some(match bounds {
                None => (first, y, last + 1, y + 1),
                Some((x0, y0, x1, _)) => (x0.min(first), y0, x1.max(last + 1), y + 1),
            });
        }
        bounds
    }

    /// The intersection over union of the set cells with `other` (one flag per cell, as `cells`).
    pub fn iou(&self, other: &[bool]) -> f32 {
        let both = self.cells.iter().zip(other).filter(|(a, b)| **a && **b).count();
        let either = self.cells.iter().zip(other).filter(|(a, b)| **a || **b).count();
        both as f32 / either.max(1) as f32
    }

    /// The cells set in either `self` or its complement, swapped.
    pub fn inverted(&self) -> Self {
        Self { width: self.width, height: self.height, cells: self.cells.iter().map(|&cell| !cell).collect() }
    }

    /// Dilation by a (2r+1)-square, done as two running-window passes.
    pub fn dilated(&self, radius: usize) -> Self {
        if radius == 0 {
            return self.clone();
        }
        let rows = sweep(&self.cells, self.width, self.height, radius, true);
        let cells = sweep(&rows, self.width, self.height, radius, false);
        Self { width: self.width, height: self.height, cells }
    }

    /// Erosion by a (2r+1)-square; cells outside the image count as unset.
    pub fn eroded(&self, radius: usize) -> Self {
        if radius == 0 {
            return self.clone();
        }
        // Erosion is the complement of dilating the complement, with the outside counted as background.
        let padded = self.padded(radius, false).inverted().dilated(radius).inverted();
        padded.cropped(radius, radius, self.width, self.height)
    }

    /// Opening: removes specks and spurs thinner than the square.
    pub fn opened(&self, radius: usize) -> Self {
        self.eroded(radius).dilated(radius)
    }

    /// Closing: fills cracks and pinholes smaller than the square.
    pub fn closed(&self, radius: usize) -> Self {
        // Pad so a closing never glues the object to the image border.
        self.padded(radius, false).dilated(radius).eroded(radius).cropped(radius, radius, self.width, self.height)
    }

    /// A copy with `pad` cells of `value` on every side.
    pub fn padded(&self, pad: usize, value: bool) -> Self {
        let width = self.width + 2 * pad;
        let height = self.height + 2 * pad;
        let mut cells = vec![value; width * height];
        for y in 0..self.height {
            let source = &self.cells[y * self.width..(y + 1) * self.width];
            let start = (y + pad) * width + pad;
            cells[start..start + self.width].copy_from_slice(source);
        }
        Self { width, height, cells }
    }

    /// The `width` x `height` window starting at (x0, y0), which must lie inside.
    pub fn cropped(&self, x0: usize, y0: usize, width: usize, height: usize) -> Self {
        let mut cells = Vec::with_capacity(width * height);
        for y in y0..y0 + height {
            cells.extend_from_slice(&self.cells[y * self.width + x0..y * self.width + x0 + width]);
        }
        Self { width, height, cells }
    }

    /// Labels the 4-connected components of set cells. Returns one label per cell (0 = unset,
    /// components numbered from 1) and each component's area, indexed by `label - 1`.
    pub fn components(&self) -> (Vec<u32>, Vec<usize>) {
        let mut labels = vec![0u32; self.cells.len()];
        let mut areas = Vec::new();
        let mut stack = Vec::new();
        for start in 0..self.cells.len() {
            if !self.cells[start] || labels[start] != 0 {
                continue;
            }
            areas.push(0usize);
            let label = areas.len() as u32;
            labels[start] = label;
            stack.push(start);
            while let Some(index) = stack.pop() {
                areas[label as usize - 1] += 1;
                let (x, y) = (index % self.width, index / self.width);
                let mut visit = |neighbour: usize| {
                    if self.cells[neighbour] && labels[neighbour] == 0 {
                        labels[neighbour] = label;
                        stack.push(neighbour);
                    }
                };
                if x > 0 {
                    visit(index - 1);
                }
                if x + 1 < self.width {
                    visit(index + 1);
                }
                if y > 0 {
                    visit(index - self.width);
                }
                if y + 1 < self.height {
                    visit(index + self.width);
                }
            }
        }
        (labels, areas)
    }

    /// Keeps the largest connected component only (the first one found on a tie).
    pub fn largest_component(&self) -> Self {
        let (labels, areas) = self.components();
        let Some(best) = (0..areas.len()).max_by_key(|&index| (areas[index], usize::MAX - index)) else {
            return self.clone();
        };
        let best_label = best as u32 + 1;
        Self {
            width: self.width,
            height: self.height,
            cells: labels.iter().map(|&label| label == best_label).collect(),
        }
    }

    /// Keeps the components whose area is at least `min_area` cells.
    pub fn without_specks(&self, min_area: usize) -> Self {
        let (labels, areas) = self.components();
        Self {
            width: self.width,
            height: self.height,
            cells: labels.iter().map(|&label| label != 0 && areas[label as usize - 1] >= min_area).collect(),
        }
    }

    /// The cells of `passable` joined to one of `seeds` (indices) through passable cells
    /// (4-connected): a flood fill, e.g. of the backdrop's colour from the picture's edge.
    pub fn flooded(passable: &Mask, seeds: impl IntoIterator<Item = usize>) -> Mask {
        Self::flooded_by(passable, seeds, |_, _| true)
    }

    /// [`Mask::flooded`], stepping from a reached cell to a passable neighbour only where
    /// `joins(from, to)` (indices) says so: e.g. only across a small colour difference, so a fill
    /// follows a gradient backdrop but stops at an object's edge.
    pub fn flooded_by(
        passable: &Mask,
        seeds: impl IntoIterator<Item = usize>,
        joins: impl Fn(usize, usize) -> bool,
    ) -> Mask {
        let (width, height) = (passable.width, passable.height);
        let mut reached = vec![false; passable.cells.len()];
        let mut stack: Vec<usize> = seeds.into_iter().filter(|&index| passable.cells[index]).collect();
        for &index in &stack {
            reached[index] = true;
        }
        while let Some(index) = stack.pop() {
            let (x, y) = (index % width, index / width);
            let neighbours = [
                (x > 0).then(|| index - 1),
                (x + 1 < width).then(|| index + 1),
                (y > 0).then(|| index - width),
                (y + 1 < height).then(|| index + width),
            ];
            for neighbour in neighbours.into_iter().flatten() {
                if !reached[neighbour] && passable.cells[neighbour] && joins(index, neighbour) {
                    reached[neighbour] = true;
                    stack.push(neighbour);
                }
            }
        }
        Mask { width, height, cells: reached }
    }

    /// Clears the regions of `candidates` inside this mask that do not reach its outline (or the
    /// image edge) and cover at least `min_area` cells: real holes, such as a ring's inside.
    pub fn cut_enclosed(&mut self, candidates: &Mask, min_area: usize) {
        self.cut_enclosed_by(candidates, min_area, |_, _| true);
    }

    /// [`Mask::cut_enclosed`], where a region reaches the outline only through neighbours that
    /// `joins(from, to)` (indices): with a colour step as the test, a ring's inside is a hole even
    /// where the ring itself is partly the backdrop's colour.
    pub fn cut_enclosed_by(&mut self, candidates: &Mask, min_area: usize, joins: impl Fn(usize, usize) -> bool) {
        let (width, height) = (self.width, self.height);
        let inside = Mask {
            width,
            height,
            cells: self.cells.iter().zip(&candidates.cells).map(|(&set, &candidate)| set && candidate).collect(),
        };
        let on_outline = |index: usize| {
            let (x, y) = (index % width, index / width);
            x == 0
                || y == 0
                || x + 1 == width
                || y + 1 == height
                || !self.cells[index - 1]
                || !self.cells[index + 1]
                || !self.cells[index - width]
                || !self.cells[index + width]
        };
        let seeds: Vec<usize> =
            (0..inside.cells.len()).filter(|&index| inside.cells[index] && on_outline(index)).collect();
        let reached = Mask::flooded_by(&inside, seeds, joins);
        let rest = Mask {
            width,
            height,
            cells: inside.cells.iter().zip(&reached.cells).map(|(&set, &outside)| set && !outside).collect(),
        };
        let (labels, areas) = rest.components();
        for (cell, &label) in self.cells.iter_mut().zip(&labels) {
            if label != 0 && areas[label as usize - 1] >= min_area {
                *cell = false;
            }
        }
    }

    /// The unset regions that do not touch the image border (holes), labelled as by
    /// [`Mask::components`] on the complement, with the labels of border-touching regions cleared.
    pub fn enclosed_regions(&self) -> (Vec<u32>, Vec<usize>) {
        let (mut labels, mut areas) = self.inverted().components();
        let mut touches_border = vec![false; areas.len()];
        for y in 0..self.height {
            for x in [0, self.width - 1] {
                mark_border(&labels, &mut touches_border, y * self.width + x);
            }
        }
        for x in 0..self.width {
            for y in [0, self.height - 1] {
                mark_border(&labels, &mut touches_border, y * self.width + x);
            }
        }
        for label in &mut labels {
            if *label != 0 && touches_border[*label as usize - 1] {
                *label = 0;
            }
        }
        for (area, touches) in areas.iter_mut().zip(&touches_border) {
            if *touches {
                *area = 0;
            }
        }
        (labels, areas)
    }
}

fn mark_border(labels: &[u32], touches_border: &mut [bool], index: usize) {
    if labels[index] != 0 {
        touches_border[labels[index] as usize - 1] = true;
    }
}

/// One pass of a box dilation along rows (`horizontal`) or columns: a cell is set when any cell
/// within `radius` along that axis is set. Runs in time independent of the radius.
fn sweep(cells: &[bool], width: usize, height: usize, radius: usize, horizontal: bool) -> Vec<bool> {
    let (lines, length) = if horizontal { (height, width) } else { (width, height) };
    let at = |line: usize, position: usize| {
        if horizontal { line * width + position } else { position * width + line }
    };
    let mut out = vec![false; cells.len()];
    for line in 0..lines {
        // Count of set cells in the window [position - radius, position + radius].
        let mut count = 0usize;
        for position in 0..radius.min(length) {
            count += usize::from(cells[at(line, position)]);
        }
        for position in 0..length {
            let entering = position + radius;
            if entering < length {
                count += usize::from(cells[at(line, entering)]);
            }
            if position > radius {
                count -= usize::from(cells[at(line, position - radius - 1)]);
            }
            out[at(line, position)] = count > 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(size: usize, x0: usize, y0: usize, side: usize) -> Mask {
        Mask::from_fn(size, size, |x, y| (x0..x0 + side).contains(&x) && (y0..y0 + side).contains(&y))
    }

    #[test]
    fn dilation_and_erosion_grow_and_shrink_a_square_by_the_radius() {
        let mask = square(20, 5, 5, 6);
        assert_eq!(mask.dilated(2).bounding_box(), Some((3, 3, 13, 13)));
        assert_eq!(mask.dilated(2).area(), 100);
        assert_eq!(mask.eroded(1).bounding_box(), Some((6, 6, 10, 10)));
        assert_eq!(mask.eroded(3).area(), 0);
    }

    #[test]
    fn opening_removes_a_speck_and_keeps_the_body() {
        let mut mask = square(20, 2, 2, 8);
        mask.cells[15 * 20 + 15] = true;
        let opened = mask.opened(1);
        assert!(!opened.get(15, 15));
        assert_eq!(opened.area(), 64);
    }

    #[test]
    fn components_and_holes_are_found() {
        let mut mask = square(12, 1, 1, 7);
        mask.cells[4 * 12 + 4] = false;
        mask.cells[10 * 12 + 10] = true;
        let (_, areas) = mask.components();
        assert_eq!(areas.len(), 2);
        assert_eq!(mask.largest_component().area(), 48);
        let (labels, hole_areas) = mask.enclosed_regions();
        assert_eq!(hole_areas.iter().filter(|&&area| area > 0).count(), 1);
        assert_ne!(labels[4 * 12 + 4], 0);
        assert_eq!(labels[0], 0);
    }
}
