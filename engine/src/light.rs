//! The picture's light, estimated against the reconstructed shape and divided out of the texture, so
//! the texture holds the object's own colours (albedo) and the back, which shows the front's
//! colours, does not repeat its highlights and shadows.
//!
//! The model is Lambertian under one distant light and an ambient term: luminance
//! `I = ρ (a + d · max(0, n·l))`. With the albedo `ρ` taken as varying slowly over the object, the
//! terms `a`, `d·l` come from a linear least-squares fit of `I` against the surface normals (a pixel
//! the light cannot reach constrains `a` alone), repeated as the shadowed set settles. What the fit
//! leaves unexplained (the residual) also tells which of two candidate shapes the shading agrees
//! with better.

/// A distant light and an ambient term, in the grid's frame (x right, y down, z towards the viewer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Light {
    /// Unit vector towards the light.
    pub direction: [f32; 3],
    /// The ambient term, in the picture's linear luminance.
    pub ambient: f32,
    /// The directional term's strength.
    pub diffuse: f32,
    /// Root-mean-square misfit over the object, relative to its mean luminance.
    pub residual: f32,
}

/// Rounds of refitting as the set of pixels facing away from the light settles.
const ROUNDS: usize = 4;

/// The shading is never taken below this share of its mean when it is divided out: a pixel in deep
/// shadow keeps some of its darkness rather than being amplified into noise.
pub(crate) const MIN_SHADING_SHARE: f32 = 0.5;

/// Unit normals of the height field `z = heights` at each grid vertex (central differences).
pub fn normals(heights: &[f32], n: usize) -> Vec<[f32; 3]> {
    let at = |x: isize, y: isize| -> f32 {
        if x < 0 || y < 0 || x >= n as isize || y >= n as isize { 0.0 } else { heights[y as usize * n + x as usize] }
    };
    (0..n * n)
        .map(|index| {
            let (x, y) = ((index % n) as isize, (index / n) as isize);
            let dx = (at(x + 1, y) - at(x - 1, y)) / 2.0;
            let dy = (at(x, y + 1) - at(x, y - 1)) / 2.0;
            let length = (dx * dx + dy * dy + 1.0).sqrt();
            [-dx / length, -dy / length, 1.0 / length]
        })
        .collect()
}

/// Fits the light to `luminance` (linear, one value per grid vertex) over the vertices `use_vertex`
/// accepts, given the surface normals there; none when too few vertices or no light explains them.
pub fn estimate(luminance: &[f32], normals: &[[f32; 3]], use_vertex: &[bool]) -> Option<Light> {
    let chosen: Vec<usize> = (0..luminance.len()).filter(|&index| use_vertex[index]).collect();
    if chosen.len() < 32 {
        return None;
    }
    let mean = chosen.iter().map(|&index| f64::from(luminance[index])).sum::<f64>() / chosen.len() as f64;
    if mean <= 1.0e-6 {
        return None;
    }
    let mut lit: Vec<bool> = vec![true; chosen.len()];
    let mut fitted = None;
    for _ in 0..ROUNDS {
        // Normal equations of I ≈ a + v·n (v = d l) over the lit pixels, I ≈ a over the others.
        let mut normal_matrix = [[0.0f64; 4]; 4];
        let mut right = [0.0f64; 4];
        for (&index, &is_lit) in chosen.iter().zip(&lit) {
            let normal = normals[index];
            let row = if is_lit {
                [1.0, f64::from(normal[0]), f64::from(normal[1]), f64::from(normal[2])]
            } else {
                [1.0, 0.0, 0.0, 0.0]
            };
            for i in 0..4 {
                for j in 0..4 {
                    normal_matrix[i][j] += row[i] * row[j];
                }
                right[i] += row[i] * f64::from(luminance[index]);
            }
        }
        let [ambient, vx, vy, vz] = crate::linear::solve(normal_matrix, right)?;
        let diffuse = (vx * vx + vy * vy + vz * vz).sqrt();
        if diffuse <= 1.0e-9 {
            return None;
        }
        let direction = [vx / diffuse, vy / diffuse, vz / diffuse];
        for (is_lit, &index) in lit.iter_mut().zip(&chosen) {
            let normal = normals[index];
            *is_lit = f64::from(normal[0]) * direction[0]
                + f64::from(normal[1]) * direction[1]
                + f64::from(normal[2]) * direction[2]
                > 0.0;
        }
        fitted = Some(Light {
            direction: direction.map(|value| value as f32),
            ambient: ambient as f32,
            diffuse: diffuse as f32,
            residual: 0.0,
        });
    }
    let mut light = fitted?;
    let squared: f64 = chosen
        .iter()
        .map(|&index| {
            let misfit = f64::from(luminance[index]) - f64::from(light.shading(normals[index]));
            misfit * misfit
        })
        .sum();
    light.residual = ((squared / chosen.len() as f64).sqrt() / mean) as f32;
    Some(light)
}

impl Light {
    /// The modelled shading at a surface of this normal.
    pub fn shading(&self, normal: [f32; 3]) -> f32 {
        let facing = normal[0] * self.direction[0] + normal[1] * self.direction[1] + normal[2] * self.direction[2];
        self.ambient + self.diffuse * facing.max(0.0)
    }

    /// The factor that divides this light out of each vertex's colour, normalised so the object's
    /// mean brightness stays (1 where `inside` is false).
    pub fn gain(&self, normals: &[[f32; 3]], inside: &[bool]) -> Vec<f32> {
        let shading: Vec<f32> = normals.iter().map(|&normal| self.shading(normal)).collect();
        let (sum, count) = shading
            .iter()
            .zip(inside)
            .filter(|(_, inside)| **inside)
            .fold((0.0f64, 0usize), |(sum, count), (value, _)| (sum + f64::from(*value), count + 1));
        if count == 0 || sum <= 0.0 {
            return vec![1.0; normals.len()];
        }
        let mean = (sum / count as f64) as f32;
        shading
            .iter()
            .zip(inside)
            .map(|(&value, &inside)| if inside { mean / value.max(MIN_SHADING_SHARE * mean) } else { 1.0 })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Lambertian sphere of radius `radius` centred on an `n` grid, lit from `light`, with the
    /// ambient term `ambient`, and its heights.
    fn sphere(n: usize, radius: f32, light: [f32; 3], ambient: f32) -> (Vec<f32>, Vec<f32>, Vec<bool>) {
        let centre = n as f32 / 2.0;
        let mut heights = vec![0.0f32; n * n];
        let mut luminance = vec![0.0f32; n * n];
        let mut inside = vec![false; n * n];
        for y in 0..n {
            for x in 0..n {
                let (dx, dy) = (x as f32 - centre, y as f32 - centre);
                let squared = radius * radius - dx * dx - dy * dy;
                if squared <= 0.0 {
                    continue;
                }
                let index = y * n + x;
                heights[index] = squared.sqrt();
                let normal = [dx / radius, dy / radius, squared.sqrt() / radius];
                let facing = normal[0] * light[0] + normal[1] * light[1] + normal[2] * light[2];
                luminance[index] = 0.8 * (ambient + facing.max(0.0));
                // The rim's normals are unreliable in a height field; the fit uses the inside.
                inside[index] = squared > (0.15 * radius) * (0.15 * radius);
            }
        }
        (heights, luminance, inside)
    }

    fn unit(vector: [f32; 3]) -> [f32; 3] {
        let length = (vector[0] * vector[0] + vector[1] * vector[1] + vector[2] * vector[2]).sqrt();
        vector.map(|value| value / length)
    }

    #[test]
    fn a_rendered_spheres_light_is_found_within_ten_degrees() {
        let n = 128;
        for light in [unit([-0.5, -0.6, 0.62]), unit([0.7, 0.1, 0.7]), unit([0.0, 0.0, 1.0])] {
            let (heights, luminance, inside) = sphere(n, 50.0, light, 0.15);
            let normals = normals(&heights, n);
            let found = estimate(&luminance, &normals, &inside).unwrap();
            let cosine: f32 = (0..3).map(|axis| found.direction[axis] * light[axis]).sum();
            let degrees = cosine.clamp(-1.0, 1.0).acos().to_degrees();
            assert!(degrees < 10.0, "light {light:?} found as {:?}, {degrees:.1}° off", found.direction);
            assert!(found.residual < 0.1, "residual {}", found.residual);
            // Divided out, the sphere's colour is even where the light reaches (away from the rim,
            // where finite differences of a height field's steep edge give poor normals).
            let gain = found.gain(&normals, &inside);
            let delit: Vec<f32> = (0..n * n)
                .filter(|&index| heights[index] > 0.6 * 50.0 && gain[index] < 1.0 / MIN_SHADING_SHARE - 1.0e-3)
                .map(|index| luminance[index] * gain[index])
                .collect();
            let mean = delit.iter().sum::<f32>() / delit.len() as f32;
            let spread = delit.iter().map(|value| (value - mean).abs()).fold(0.0f32, f32::max) / mean;
            assert!(spread < 0.2, "delit luminance varies by {spread}");
        }
    }

    #[test]
    fn a_flat_picture_has_no_light_to_find() {
        let n = 32;
        let flat = vec![[0.0, 0.0, 1.0]; n * n];
        // Every normal the same: the directional term cannot be told from the ambient one.
        assert_eq!(estimate(&vec![0.5; n * n], &flat, &vec![true; n * n]), None);
    }
}
