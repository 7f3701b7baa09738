//! Binary STL: geometry only, one facet normal per triangle.

use crate::asset::Asset;

/// The asset as binary STL bytes.
pub(crate) fn stl_bytes(asset: &Asset) -> Vec<u8> {
    let triangles = &asset.mesh.triangles;
    let mut out = Vec::with_capacity(84 + triangles.len() * 50);
    let mut header = [b' '; 80];
    let title = format!("{} - {}", crate::asset::generator_name(), asset.name);
    let length = title.len().min(80);
    header[..length].copy_from_slice(&title.as_bytes()[..length]);
    out.extend_from_slice(&header);
    out.extend_from_slice(&(triangles.len() as u32).to_le_bytes());
    for &[a, b, c] in triangles {
        let [p, q, r] = [a, b, c].map(|index| asset.mesh.positions[index as usize]);
        let u = [q[0] - p[0], q[1] - p[1], q[2] - p[2]];
        let v = [r[0] - p[0], r[1] - p[1], r[2] - p[2]];
        let n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
        let length = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt().max(f32::MIN_POSITIVE);
        for value in n.map(|component| component / length).iter().chain(p.iter()).chain(q.iter()).chain(r.iter()) {
            out.extend_from_slice(&value.to_le_bytes());
        }
        out.extend_from_slice(&0u16.to_le_bytes());
    }
    out
}
