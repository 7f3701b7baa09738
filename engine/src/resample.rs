//! Resampling of multi-channel float rasters: area averaging when shrinking, bilinear when
//! growing. Used for coverage grids and texture baking, where speed matters more than a windowed
//! filter's sharpness.

/// Resamples `source` (`channels` floats per pixel, `source_width` x `source_height`, row-major) to
/// `width` x `height`.
pub(crate) fn resample(
    source: &[f32],
    channels: usize,
    (source_width, source_height): (usize, usize),
    (width, height): (usize, usize),
) -> Vec<f32> {
    debug_assert_eq!(source.len(), source_width * source_height * channels);
    let x_ranges = axis_footprints(source_width, width);
    let y_ranges = axis_footprints(source_height, height);
    let mut out = vec![0.0f32; width * height * channels];
    let mut sums = vec![0.0f32; channels];
    for (y, y_footprint) in y_ranges.iter().enumerate() {
        for (x, x_footprint) in x_ranges.iter().enumerate() {
            sums.fill(0.0);
            let mut total_weight = 0.0f32;
            for &(source_y, weight_y) in y_footprint {
                let row = source_y * source_width;
                for &(source_x, weight_x) in x_footprint {
                    let weight = weight_x * weight_y;
                    let base = (row + source_x) * channels;
                    for (sum, value) in sums.iter_mut().zip(&source[base..base + channels]) {
                        *sum += value * weight;
                    }
                    total_weight += weight;
                }
            }
            let base = (y * width + x) * channels;
            for (target, sum) in out[base..base + channels].iter_mut().zip(&sums) {
                *target = sum / total_weight.max(f32::MIN_POSITIVE);
            }
        }
    }
    out
}

/// For each output position along one axis, the source positions and weights that make it up.
pub(crate) fn axis_footprints(source: usize, target: usize) -> Vec<Vec<(usize, f32)>> {
    let scale = source as f32 / target as f32;
    (0..target)
        .map(|position| {
            if scale > 1.0 {
                // Shrinking: average the source cells the output cell covers, weighting partial cells.
                let start = position as f32 * scale;
                let end = start + scale;
                let first = start.floor() as usize;
                let last = (end.ceil() as usize).min(source);
                (first..last)
                    .map(|cell| {
                        let cell_start = (cell as f32).max(start);
                        let cell_end = ((cell + 1) as f32).min(end);
                        (cell, (cell_end - cell_start).max(0.0))
                    })
                    .filter(|&(_, weight)| weight > 0.0)
                    .collect()
            } else {
                // Growing: bilinear between the two nearest source centres.
                let centre = (position as f32 + 0.5) * scale - 0.5;
                let lower = centre.floor();
                let fraction = centre - lower;
                let clamp = |cell: f32| (cell.max(0.0) as usize).min(source - 1);
                vec![(clamp(lower), 1.0 - fraction), (clamp(lower + 1.0), fraction)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinking_averages_and_growing_interpolates() {
        let source = [0.0, 1.0, 1.0, 1.0];
        assert_eq!(resample(&source, 1, (2, 2), (1, 1)), vec![0.75]);
        let grown = resample(&[0.0, 1.0], 1, (2, 1), (4, 1));
        assert_eq!(grown, vec![0.0, 0.25, 0.75, 1.0]);
        let odd = resample(&[1.0, 1.0, 1.0], 1, (3, 1), (2, 1));
        assert_eq!(odd, vec![1.0, 1.0]);
    }
}
