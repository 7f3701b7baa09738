//! Wavefront OBJ with an MTL material referring to the PNG texture.

use std::fmt::Write;

use crate::asset::Asset;

/// The OBJ text and the MTL text for `asset`, naming the given side files.
pub(crate) fn obj_and_mtl(asset: &Asset, mtl_name: &str, png_name: &str, reproducible: bool) -> (String, String) {
    let material = format!("{}_material", asset.name);
    let mut obj = String::with_capacity(asset.mesh.positions.len() * 96 + asset.mesh.triangles.len() * 40);
    let _ = writeln!(obj, "# {}", crate::asset::generator_name());
    if !reproducible {
        let _ = writeln!(obj, "# timings_ms {}", serde_json::to_string(&asset.record.timings_ms).unwrap_or_default());
    }
    let _ = writeln!(obj, "mtllib {mtl_name}\no {}", asset.name);
    for [x, y, z] in &asset.mesh.positions {
        let _ = writeln!(obj, "v {x} {y} {z}");
    }
    // OBJ's texture origin is the bottom left, glTF's the top left.
    for [u, v] in &asset.uvs {
        let _ = writeln!(obj, "vt {u} {}", 1.0 - v);
    }
    for [x, y, z] in &asset.normals {
        let _ = writeln!(obj, "vn {x} {y} {z}");
    }
    let _ = writeln!(obj, "usemtl {material}\ns 1");
    for triangle in &asset.mesh.triangles {
        let [a, b, c] = triangle.map(|index| index + 1);
        let _ = writeln!(obj, "f {a}/{a}/{a} {b}/{b}/{b} {c}/{c}/{c}");
    }
    let mtl = format!(
        "# {}\nnewmtl {material}\nKa 1 1 1\nKd 1 1 1\nKs 0 0 0\nd 1\nillum 1\nPr 0.9\nPm 0\nmap_Kd {png_name}\n",
        crate::asset::generator_name()
    );
    (obj, mtl)
}
