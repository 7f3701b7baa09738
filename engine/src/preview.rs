//! A small software renderer for previews and thumbnails: the textured asset seen from a chosen
//! direction, orthographic, with simple diffuse light, on a transparent background.

use image::{Rgba, RgbaImage};

use crate::asset::Asset;

/// Where the preview camera looks from.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct View {
    /// Turn around the up axis, degrees; 0 looks at the front (+Z), 90 at the right side (+X).
    pub yaw_deg: f32,
    /// Tilt, degrees; positive looks down from above.
    pub pitch_deg: f32,
}

impl View {
    /// Straight at the front.
    pub const FRONT: View = View { yaw_deg: 0.0, pitch_deg: 0.0 };
    /// A three-quarter view from the front right, a little above.
    pub const THREE_QUARTER: View = View { yaw_deg: 35.0, pitch_deg: 20.0 };
    /// Straight at the back.
    pub const BACK: View = View { yaw_deg: 180.0, pitch_deg: 0.0 };

    /// A point of the object turned so the camera, which looks down -Z, sees it from this view:
    /// turned about the up axis by the yaw, then tipped towards the camera by the pitch, so a
    /// positive pitch brings the top nearer and shows it.
    fn turned(self, [x, y, z]: [f32; 3]) -> [f32; 3] {
        let (sin_yaw, cos_yaw) = self.yaw_deg.to_radians().sin_cos();
        let (sin_pitch, cos_pitch) = self.pitch_deg.to_radians().sin_cos();
        let (x, z) = (x * cos_yaw - z * sin_yaw, x * sin_yaw + z * cos_yaw);
        let (y, z) = (y * cos_pitch - z * sin_pitch, y * sin_pitch + z * cos_pitch);
        [x, y, z]
    }
}

/// Renders `asset` into a `size_px` square image, fitted with a small margin.
pub fn render(asset: &Asset, size_px: u32, view: View) -> RgbaImage {
    let size = size_px.max(1) as usize;
    let turn = |point: [f32; 3]| view.turned(point);
    let positions: Vec<[f32; 3]> = asset.mesh.positions.iter().map(|&p| turn(p)).collect();
    let normals: Vec<[f32; 3]> = asset.normals.iter().map(|&n| turn(n)).collect();
    let mut image = RgbaImage::new(size as u32, size as u32);
    if positions.is_empty() {
        return image;
    }
    let (mut min, mut max) = ([f32::MAX; 2], [f32::MIN; 2]);
    for p in &positions {
        for axis in 0..2 {
            min[axis] = min[axis].min(p[axis]);
            max[axis] = max[axis].max(p[axis]);
        }
    }
    let extent = (max[0] - min[0]).max(max[1] - min[1]).max(f32::MIN_POSITIVE);
    let scale = size as f32 * 0.92 / extent;
    let centre = [(min[0] + max[0]) / 2.0, (min[1] + max[1]) / 2.0];
    let screen: Vec<[f32; 3]> = positions
        .iter()
        .map(|p| [(p[0] - centre[0]) * scale + size as f32 / 2.0, (centre[1] - p[1]) * scale + size as f32 / 2.0, p[2]])
        .collect();

    let light = normalise([-0.4, 0.5, 0.75]);
    let (texture_width, texture_height) = asset.texture.dimensions();
    let mut depth = vec![f32::MIN; size * size];
    for &[a, b, c] in &asset.mesh.triangles {
        let [p, q, r] = [a, b, c].map(|index| screen[index as usize]);
        // Screen y points down, so a front-facing (counter-clockwise) triangle has negative area.
        let area = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]);
        if area >= 0.0 {
            continue;
        }
        let x0 = p[0].min(q[0]).min(r[0]).floor().max(0.0) as usize;
        let x1 = (p[0].max(q[0]).max(r[0]).ceil().max(0.0) as usize).min(size);
        let y0 = p[1].min(q[1]).min(r[1]).floor().max(0.0) as usize;
        let y1 = (p[1].max(q[1]).max(r[1]).ceil().max(0.0) as usize).min(size);
        for y in y0..y1 {
            for x in x0..x1 {
                let (sx, sy) = (x as f32 + 0.5, y as f32 + 0.5);
                let wa = ((q[0] - sx) * (r[1] - sy) - (q[1] - sy) * (r[0] - sx)) / area;
                let wb = ((r[0] - sx) * (p[1] - sy) - (r[1] - sy) * (p[0] - sx)) / area;
                let wc = 1.0 - wa - wb;
                if wa < 0.0 || wb < 0.0 || wc < 0.0 {
                    continue;
                }
                let z = wa * p[2] + wb * q[2] + wc * r[2];
                let slot = &mut depth[y * size + x];
                if z <= *slot {
                    continue;
                }
                *slot = z;
                let blend = |values: &[[f32; 3]]| {
                    let [u, v, w] = [a, b, c].map(|index| values[index as usize]);
                    [0, 1, 2].map(|axis| wa * u[axis] + wb * v[axis] + wc * w[axis])
                };
                let normal = normalise(blend(&normals));
                let [ua, ub, uc] = [a, b, c].map(|index| asset.uvs[index as usize]);
                let uv = [wa * ua[0] + wb * ub[0] + wc * uc[0], wa * ua[1] + wb * ub[1] + wc * uc[1]];
                let texel = asset.texture.get_pixel(
                    ((uv[0] * texture_width as f32) as u32).min(texture_width - 1),
                    ((uv[1] * texture_height as f32) as u32).min(texture_height - 1),
                );
                let diffuse = normal[0] * light[0] + normal[1] * light[1] + normal[2] * light[2];
                let shade = 0.35 + 0.65 * diffuse.max(0.0);
                let colour = [0, 1, 2].map(|channel| (f32::from(texel[channel]) * shade).min(255.0) as u8);
                image.put_pixel(x as u32, y as u32, Rgba([colour[0], colour[1], colour[2], 255]));
            }
        }
    }
    image
}

fn normalise(v: [f32; 3]) -> [f32; 3] {
    let length = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt().max(f32::MIN_POSITIVE);
    [v[0] / length, v[1] / length, v[2] / length]
}

/// [`render`] encoded as PNG, for thumbnails.
pub fn render_png(asset: &Asset, size_px: u32, view: View) -> crate::Result<Vec<u8>> {
    let mut png = Vec::new();
    render(asset, size_px, view)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|source| crate::EngineError::TextureEncode { source })?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_from_a_little_above_shows_the_top() {
        let view = View::THREE_QUARTER;
        let [_, _, top_nearness] = view.turned([0.0, 1.0, 0.0]);
        assert!(top_nearness > 0.0, "the top turns towards the camera: {top_nearness}");
        let [_, front_height, _] = View { yaw_deg: 0.0, ..view }.turned([0.0, 0.0, 1.0]);
        assert!(front_height < 0.0, "the front edge drops below the middle: {front_height}");
        assert_eq!(View::FRONT.turned([0.3, 0.2, 0.1]), [0.3, 0.2, 0.1]);
        let [x, _, z] = View::BACK.turned([1.0, 0.0, 0.0]);
        assert!((x + 1.0).abs() < 1e-6 && z.abs() < 1e-6, "from behind, the right is on the left");
    }
}
