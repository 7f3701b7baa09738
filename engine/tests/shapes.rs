//! The built-in reconstructor's shapes on the rendered objects of `tests/shapes/` (lathe-made vases
//! and pawns, signs, mugs with handles, tori in several orientations, boxes, characters), scored
//! against each object's true surface after normalisation (centred, the front silhouette's longest
//! side 1): the front and side silhouettes' IoU, the Chamfer distance and the F-score at 0.05, for
//! every shape mode, `auto`, and a naive baseline (the silhouette extruded straight, as deep as it
//! is wide on average). Prints the table the README shows:
//! `cargo test --workspace --locked --test shapes -- --nocapture`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use threedgpt_engine::{CancelFlag, Models, NoProgress, Options, Shape, Side, View, generate, generate_views};

mod support;

/// The regression floors: over every object, the targets (0.82 and 0.028; `auto` measures
/// 0.821 and 0.027); on revolvable objects and over every class but the ambiguous ones, a little
/// under what it measures today (0.99; 0.853 and 0.019; see the README).
const REVOLVABLE_SIDE_IOU_AT_LEAST: f64 = 0.95;
const MEAN_SIDE_IOU_AT_LEAST: f64 = 0.82;
const MEAN_CHAMFER_AT_MOST: f64 = 0.028;
const UNAMBIGUOUS_SIDE_IOU_AT_LEAST: f64 = 0.84;
const UNAMBIGUOUS_CHAMFER_AT_MOST: f64 = 0.021;
/// Objects whose pose one picture shows, built as it shows them (side IoU at least this): a round
/// ring leaning back leans back, one standing edge-on stands (its shading, not its outline, tells
/// it from a capsule), a box seen from above is a box (plain, or grained and turned the other
/// way), a vase, a tin and a mug seen from above revolve about their leaning axes, a table, a
/// stool and a chair stand on four legs (the table's side IoU is low for the depth its picture
/// cannot show, which moves its thin legs; a relief scores 0.03), the chair's back over its back
/// legs.
const POSED: [(&str, f64); 10] = [
    ("torus-tilted", 0.85),
    ("torus-side-on", 0.9),
    ("crate-from-above", 0.9),
    ("wooden-crate", 0.9),
    ("vase-from-above", 0.95),
    ("tin-from-above", 0.95),
    ("mug-from-above", 0.95),
    ("table", 0.5),
    ("stool", 0.9),
    ("chair", 0.9),
];
/// How far `auto`'s mean side IoU on a class may fall under the relief's (measuring noise).
const UNDER_RELIEF_AT_MOST: f64 = 0.02;
/// The classes a single picture cannot tell from another (a box seen square-on is a tile's
/// picture), left out of the comparison with the relief.
const AMBIGUOUS_CLASSES: [&str; 1] = ["box"];
const MEAN_FRONT_IOU_AT_LEAST: f64 = 0.98;
/// With a right picture (and a back one), the floors on the side IoU and Chamfer, over every object.
const VIEWS_MEAN_SIDE_IOU_AT_LEAST: f64 = 0.93;
const VIEWS_MEAN_CHAMFER_AT_MOST: f64 = 0.03;
/// Shapes `auto` must choose, by class.
const CHOICES: [(&str, &[&str]); 4] = [
    ("revolvable", &["revolve", "parts"]),
    ("extrudable", &["extrude"]),
    ("handle", &["parts"]),
    ("furniture", &["legs"]),
];

/// Distance for the F-score, in units of the front silhouette's longest side.
const F_SCORE_AT: f64 = 0.05;
/// Surface samples per mesh for Chamfer and F-score.
const SAMPLES: usize = 2000;
/// Raster side for the silhouettes.
const RASTER_PX: usize = 160;

struct Subject {
    name: String,
    kind: String,
    front: Vec<u8>,
    right: Vec<u8>,
    back: Vec<u8>,
    truth: Surface,
}

/// The test set's classes.
const CLASSES: [&str; 7] = ["revolvable", "extrudable", "handle", "torus", "box", "furniture", "character"];

/// Which classes a mean takes in.
type KindFilter = dyn Fn(&str) -> bool;

/// A triangle mesh's vertices and triangles.
struct Surface {
    positions: Vec<[f64; 3]>,
    triangles: Vec<[u32; 3]>,
}

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/shapes")
}

fn subjects() -> Vec<Subject> {
    let listing: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder().join("shapes.json")).unwrap()).unwrap();
    listing["objects"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, entry)| Subject {
            name: name.clone(),
            kind: entry["kind"].as_str().unwrap().to_owned(),
            front: std::fs::read(folder().join(format!("images/{name}.front.png"))).unwrap(),
            right: std::fs::read(folder().join(format!("images/{name}.right.png"))).unwrap(),
            back: std::fs::read(folder().join(format!("images/{name}.back.png"))).unwrap(),
            truth: read_ply(&folder().join(format!("meshes/{name}.ply"))),
        })
        .collect()
}

/// The little-endian binary PLY `render.py` writes: float x, y, z; faces as uchar-counted int lists.
fn read_ply(path: &Path) -> Surface {
    let bytes = std::fs::read(path).unwrap();
    let end = bytes.windows(11).position(|window| window == b"end_header\n").unwrap() + 11;
    let header = std::str::from_utf8(&bytes[..end]).unwrap();
    let count = |element: &str| -> usize {
        header.lines().find_map(|line| line.strip_prefix(&format!("element {element} "))).unwrap().parse().unwrap()
    };
    let (vertices, faces) = (count("vertex"), count("face"));
    let float = |at: usize| f64::from(f32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()));
    let positions = (0..vertices).map(|index| [0, 1, 2].map(|axis| float(end + index * 12 + axis * 4))).collect();
    let base = end + vertices * 12;
    let triangles = (0..faces)
        .map(|index| {
            let at = base + index * 13;
            assert_eq!(bytes[at], 3, "{}: not a triangle", path.display());
            [0, 1, 2].map(|corner| {
                i32::from_le_bytes(bytes[at + 1 + corner * 4..at + 5 + corner * 4].try_into().unwrap()) as u32
            })
        })
        .collect();
    Surface { positions, triangles }
}

/// Centred on its bounding box, scaled so the front silhouette's longest side (x or y) is 1.
fn normalised(positions: &[[f64; 3]]) -> Vec<[f64; 3]> {
    let mut low = [f64::MAX; 3];
    let mut high = [f64::MIN; 3];
    for position in positions {
        for axis in 0..3 {
            low[axis] = low[axis].min(position[axis]);
            high[axis] = high[axis].max(position[axis]);
        }
    }
    let scale = (high[0] - low[0]).max(high[1] - low[1]).max(f64::MIN_POSITIVE);
    positions
        .iter()
        .map(|position| [0, 1, 2].map(|axis| (position[axis] - (low[axis] + high[axis]) / 2.0) / scale))
        .collect()
}

/// The silhouette seen along the axis left out of `axes`, on a raster over `[-0.7, 0.7]²`.
fn silhouette(positions: &[[f64; 3]], triangles: &[[u32; 3]], axes: [usize; 2]) -> Vec<bool> {
    let mut raster = vec![false; RASTER_PX * RASTER_PX];
    let to_raster = |value: f64| (value + 0.7) / 1.4 * RASTER_PX as f64;
    for triangle in triangles {
        let corners = triangle.map(|index| {
            let position = positions[index as usize];
            [to_raster(position[axes[0]]), to_raster(position[axes[1]])]
        });
        let (min_x, max_x) = (
            corners.iter().map(|c| c[0]).fold(f64::MAX, f64::min),
            corners.iter().map(|c| c[0]).fold(f64::MIN, f64::max),
        );
        let (min_y, max_y) = (
            corners.iter().map(|c| c[1]).fold(f64::MAX, f64::min),
            corners.iter().map(|c| c[1]).fold(f64::MIN, f64::max),
        );
        let edge =
            |a: [f64; 2], b: [f64; 2], p: [f64; 2]| (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
        let area = edge(corners[0], corners[1], corners[2]);
        if area.abs() < 1.0e-12 {
            continue;
        }
        for y in (min_y.floor().max(0.0) as usize)..=(max_y.ceil().min(RASTER_PX as f64 - 1.0).max(0.0) as usize) {
            for x in (min_x.floor().max(0.0) as usize)..=(max_x.ceil().min(RASTER_PX as f64 - 1.0).max(0.0) as usize) {
                let p = [x as f64 + 0.5, y as f64 + 0.5];
                let w =
                    [edge(corners[1], corners[2], p), edge(corners[2], corners[0], p), edge(corners[0], corners[1], p)];
                if w.iter().all(|&w| w * area >= 0.0) {
                    raster[y * RASTER_PX + x] = true;
                }
            }
        }
    }
    raster
}

fn iou(a: &[bool], b: &[bool]) -> f64 {
    let both = a.iter().zip(b).filter(|(a, b)| **a && **b).count();
    let either = a.iter().zip(b).filter(|(a, b)| **a || **b).count();
    both as f64 / either.max(1) as f64
}

/// A small deterministic generator for the samples.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Points spread over the surface by area.
fn samples(positions: &[[f64; 3]], triangles: &[[u32; 3]]) -> Vec<[f64; 3]> {
    let corners = |triangle: &[u32; 3]| triangle.map(|index| positions[index as usize]);
    let mut cumulative = Vec::with_capacity(triangles.len());
    let mut total = 0.0;
    for triangle in triangles {
        let [a, b, c] = corners(triangle);
        let (u, v) = ([0, 1, 2].map(|i| b[i] - a[i]), [0, 1, 2].map(|i| c[i] - a[i]));
        let cross = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
        total += 0.5 * (cross[0] * cross[0] + cross[1] * cross[1] + cross[2] * cross[2]).sqrt();
        cumulative.push(total);
    }
    let mut random = Lcg(7);
    (0..SAMPLES)
        .map(|_| {
            let pick = random.next() * total;
            let index = cumulative.partition_point(|&sum| sum < pick).min(triangles.len() - 1);
            let [a, b, c] = corners(&triangles[index]);
            let (mut r, mut s) = (random.next(), random.next());
            if r + s > 1.0 {
                (r, s) = (1.0 - r, 1.0 - s);
            }
            [0, 1, 2].map(|i| a[i] + r * (b[i] - a[i]) + s * (c[i] - a[i]))
        })
        .collect()
}

/// The distance from each of `from` to the nearest of `to`.
fn nearest(from: &[[f64; 3]], to: &[[f64; 3]]) -> Vec<f64> {
    from.iter()
        .map(|p| {
            to.iter()
                .map(|q| (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2))
                .fold(f64::MAX, f64::min)
                .sqrt()
        })
        .collect()
}

#[derive(Clone, Copy, Default)]
struct Score {
    front_iou: f64,
    side_iou: f64,
    chamfer: f64,
    f_score: f64,
}

fn score(ours: &[[f64; 3]], our_samples: &[[f64; 3]], our_triangles: Option<&[[u32; 3]]>, truth: &Surface) -> Score {
    let truth_positions = normalised(&truth.positions);
    let truth_samples = samples(&truth_positions, &truth.triangles);
    let (to_truth, to_ours) = (nearest(our_samples, &truth_samples), nearest(&truth_samples, our_samples));
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len() as f64;
    let within = |values: &[f64]| values.iter().filter(|&&d| d <= F_SCORE_AT).count() as f64 / values.len() as f64;
    let (precision, recall) = (within(&to_truth), within(&to_ours));
    let (front_iou, side_iou) = match our_triangles {
        Some(triangles) => (
            iou(&silhouette(ours, triangles, [0, 1]), &silhouette(&truth_positions, &truth.triangles, [0, 1])),
            iou(&silhouette(ours, triangles, [2, 1]), &silhouette(&truth_positions, &truth.triangles, [2, 1])),
        ),
        None => (0.0, 0.0),
    };
    Score {
        front_iou,
        side_iou,
        chamfer: (mean(&to_truth) + mean(&to_ours)) / 2.0,
        f_score: if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 },
    }
}

/// The naive baseline: the front silhouette (the picture's alpha) extruded straight, as deep as the
/// silhouette's mean row width, as a closed box-walled prism of one cell per pixel.
fn baseline(front: &[u8]) -> Surface {
    let image = image::load_from_memory(front).unwrap().to_rgba8();
    let (width, height) = (image.width() as usize, image.height() as usize);
    let inside = |x: isize, y: isize| {
        x >= 0
            && y >= 0
            && (x as usize) < width
            && (y as usize) < height
            && image.get_pixel(x as u32, y as u32)[3] > 127
    };
    let rows: Vec<usize> =
        (0..height).map(|y| (0..width).filter(|&x| inside(x as isize, y as isize)).count()).collect();
    let filled: Vec<usize> = rows.iter().copied().filter(|&count| count > 0).collect();
    let depth = filled.iter().sum::<usize>() as f64 / filled.len().max(1) as f64;
    let mut surface = Surface { positions: Vec::new(), triangles: Vec::new() };
    let mut quad = |corners: [[f64; 3]; 4]| {
        let base = surface.positions.len() as u32;
        surface.positions.extend(corners);
        surface.triangles.push([base, base + 1, base + 2]);
        surface.triangles.push([base, base + 2, base + 3]);
    };
    let z = depth / 2.0;
    for y in 0..height as isize {
        for x in 0..width as isize {
            if !inside(x, y) {
                continue;
            }
            let (x0, x1, y0, y1) = (x as f64, x as f64 + 1.0, -(y as f64), -(y as f64) - 1.0);
            quad([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]]);
            quad([[x0, y0, -z], [x0, y1, -z], [x1, y1, -z], [x1, y0, -z]]);
            if !inside(x - 1, y) {
                quad([[x0, y0, z], [x0, y1, z], [x0, y1, -z], [x0, y0, -z]]);
            }
            if !inside(x + 1, y) {
                quad([[x1, y0, z], [x1, y0, -z], [x1, y1, -z], [x1, y1, z]]);
            }
            if !inside(x, y - 1) {
                quad([[x0, y0, z], [x0, y0, -z], [x1, y0, -z], [x1, y0, z]]);
            }
            if !inside(x, y + 1) {
                quad([[x0, y1, z], [x1, y1, z], [x1, y1, -z], [x0, y1, -z]]);
            }
        }
    }
    surface
}

fn generated(subject: &Subject, shape: Shape) -> (Surface, String, Vec<String>) {
    let options = Options::default().with_shape(shape).with_texture_px(256).with_target_faces(8000);
    let asset = generate(&format!("{}.png", subject.name), &subject.front, &options, &NoProgress, &CancelFlag::new())
        .unwrap_or_else(|error| panic!("{}: {error}", subject.name));
    let topology = asset.mesh.topology();
    assert!(topology.is_watertight_manifold(), "{} ({shape:?}): not closed", subject.name);
    assert!(asset.mesh.volume() > 0.0, "{} ({shape:?}): wound inwards", subject.name);
    let mut positions: Vec<[f64; 3]> = asset.mesh.positions.iter().map(|position| position.map(f64::from)).collect();
    if let Some(up) = asset.record.up_in_picture {
        // A box seen from above was stood on its base: turn it back into the picture's frame, where
        // the truth is.
        positions = turned_back(&positions, up);
    }
    (Surface { positions, triangles: asset.mesh.triangles.clone() }, asset.record.shape.clone(), asset.warnings)
}

/// `positions` turned by the smallest rotation that takes +y to `up` (a unit vector).
fn turned_back(positions: &[[f64; 3]], up: [f64; 3]) -> Vec<[f64; 3]> {
    let axis = [up[2], 0.0, -up[0]];
    let sin = (axis[0] * axis[0] + axis[2] * axis[2]).sqrt();
    let cos = up[1];
    if sin < 1.0e-9 {
        return positions.to_vec();
    }
    let k = axis.map(|value| value / sin);
    positions
        .iter()
        .map(|v| {
            let cross = [k[1] * v[2] - k[2] * v[1], k[2] * v[0] - k[0] * v[2], k[0] * v[1] - k[1] * v[0]];
            let along = k[0] * v[0] + k[1] * v[1] + k[2] * v[2];
            [0, 1, 2].map(|index| v[index] * cos + cross[index] * sin + k[index] * along * (1.0 - cos))
        })
        .collect()
}

/// `THREEDGPT_SHAPES=pawn,mug` scores only those objects (to look at them; the floors need the
/// whole set).
fn only_named() -> Option<Vec<String>> {
    std::env::var("THREEDGPT_SHAPES").ok().map(|names| names.split(',').map(str::to_owned).collect())
}

#[test]
fn the_shapes_follow_the_rendered_objects() {
    let modes =
        [("relief", Shape::Relief), ("revolve", Shape::Revolve), ("extrude", Shape::Extrude), ("auto", Shape::Auto)];
    let mut table = Vec::new();
    let mut by_mode: BTreeMap<&str, Vec<(String, Score)>> = BTreeMap::new();
    let mut wrong_choices = Vec::new();
    let mut names = Vec::new();
    let only = only_named();
    for subject in subjects() {
        if only.as_ref().is_some_and(|only| !only.contains(&subject.name)) {
            continue;
        }
        eprintln!("{}", subject.name);
        names.push(subject.name.clone());
        let mut row = format!("| {} | {} |", subject.name, subject.kind);
        let naive = baseline(&subject.front);
        let naive_positions = normalised(&naive.positions);
        let naive_score = score(
            &naive_positions,
            &samples(&naive_positions, &naive.triangles),
            Some(&naive.triangles),
            &subject.truth,
        );
        for (mode, shape) in modes {
            let (surface, built, warnings) = generated(&subject, shape);
            if !warnings.is_empty() {
                eprintln!("{} ({mode}): {}", subject.name, warnings.join("; "));
            }
            let positions = normalised(&surface.positions);
            let scored =
                score(&positions, &samples(&positions, &surface.triangles), Some(&surface.triangles), &subject.truth);
            if mode == "auto" {
                row.push_str(&format!(" {built} |"));
                if let Some((_, allowed)) = CHOICES.iter().find(|(kind, _)| *kind == subject.kind)
                    && !allowed.contains(&built.as_str())
                {
                    wrong_choices.push(format!("{} ({}) became {built}", subject.name, subject.kind));
                }
            }
            row.push_str(&format!(" {:.2} / {:.3} / {:.2} |", scored.side_iou, scored.chamfer, scored.f_score));
            by_mode.entry(mode).or_default().push((subject.kind.clone(), scored));
        }
        row.push_str(&format!(
            " {:.2} / {:.3} / {:.2} |",
            naive_score.side_iou, naive_score.chamfer, naive_score.f_score
        ));
        by_mode.entry("baseline").or_default().push((subject.kind.clone(), naive_score));
        let auto = by_mode["auto"].last().unwrap().1;
        row.push_str(&format!(" {:.3} |", auto.front_iou));
        table.push(row);
    }
    let mean_where = |scores: &[(String, Score)], keep: &dyn Fn(&str) -> bool, pick: fn(&Score) -> f64| {
        let chosen: Vec<f64> = scores.iter().filter(|(k, _)| keep(k)).map(|(_, s)| pick(s)).collect();
        chosen.iter().sum::<f64>() / chosen.len().max(1) as f64
    };
    let mean = |scores: &[(String, Score)], kind: Option<&str>, pick: fn(&Score) -> f64| {
        mean_where(scores, &|k| kind.is_none_or(|kind| k == kind), pick)
    };
    let unambiguous = |kind: &str| !AMBIGUOUS_CLASSES.contains(&kind);
    let mut summary = Vec::new();
    let is_class = |class: &'static str| move |kind: &str| kind == class;
    let mut groups: Vec<(&str, Box<KindFilter>)> =
        vec![("all", Box::new(|_| true)), ("all but boxes", Box::new(unambiguous))];
    groups.extend(CLASSES.map(|class| (class, Box::new(is_class(class)) as Box<KindFilter>)));
    for (name, keep) in &groups {
        let mut line = format!("| mean, {name} | |");
        for mode in ["relief", "revolve", "extrude", "auto", "baseline"] {
            if mode == "auto" {
                line.push_str(" |");
            }
            let scores = &by_mode[mode];
            line.push_str(&format!(
                " {:.2} / {:.3} / {:.2} |",
                mean_where(scores, keep, |s| s.side_iou),
                mean_where(scores, keep, |s| s.chamfer),
                mean_where(scores, keep, |s| s.f_score)
            ));
        }
        line.push_str(&format!(" {:.3} |", mean_where(&by_mode["auto"], keep, |s| s.front_iou)));
        summary.push(line);
    }
    eprintln!(
        "side IoU / Chamfer / F@{F_SCORE_AT} per mode\n\n| object | class | relief | revolve | extrude | auto chose | auto | baseline | auto front IoU |\n|---|---|---|---|---|---|---|---|---|\n{}\n{}",
        table.join("\n"),
        summary.join("\n")
    );
    if only.is_some() {
        return;
    }
    let auto = &by_mode["auto"];
    assert!(wrong_choices.is_empty(), "auto chose wrongly: {}", wrong_choices.join("; "));
    let revolvable = mean(auto, Some("revolvable"), |s| s.side_iou);
    assert!(revolvable >= REVOLVABLE_SIDE_IOU_AT_LEAST, "side IoU on revolvable objects {revolvable:.3}");
    let side = mean(auto, None, |s| s.side_iou);
    assert!(side >= MEAN_SIDE_IOU_AT_LEAST, "mean side IoU {side:.3}");
    let chamfer = mean(auto, None, |s| s.chamfer);
    assert!(chamfer <= MEAN_CHAMFER_AT_MOST, "mean Chamfer {chamfer:.4}");
    let side = mean_where(auto, &unambiguous, |s| s.side_iou);
    assert!(side >= UNAMBIGUOUS_SIDE_IOU_AT_LEAST, "mean side IoU but on boxes {side:.3}");
    let chamfer = mean_where(auto, &unambiguous, |s| s.chamfer);
    assert!(chamfer <= UNAMBIGUOUS_CHAMFER_AT_MOST, "mean Chamfer but on boxes {chamfer:.4}");
    for (posed, least) in POSED {
        let iou = auto.iter().zip(&names).find(|(_, name)| *name == posed).map(|((_, s), _)| s.side_iou);
        assert!(iou.is_some_and(|iou| iou >= least), "{posed}: side IoU {iou:?}, not built as its picture shows it");
    }
    let front = mean(auto, None, |s| s.front_iou);
    assert!(front >= MEAN_FRONT_IOU_AT_LEAST, "mean front IoU {front:.3}");
    for kind in CLASSES.into_iter().filter(|kind| !AMBIGUOUS_CLASSES.contains(kind)) {
        let (chosen, relief) =
            (mean(auto, Some(kind), |s| s.side_iou), mean(&by_mode["relief"], Some(kind), |s| s.side_iou));
        assert!(
            chosen >= relief - UNDER_RELIEF_AT_MOST,
            "{kind}: auto's side IoU {chosen:.3} under the relief's {relief:.3}"
        );
    }
}

/// The asset from the front and `sides` of `subject`, with `auto`.
fn generated_from_views(subject: &Subject, sides: &[Side]) -> (Surface, String) {
    let options = Options::default().with_texture_px(256).with_target_faces(8000);
    let views: Vec<View<'_>> = sides
        .iter()
        .map(|&side| View {
            side,
            name: side.name(),
            bytes: if side == Side::Back { &subject.back } else { &subject.right },
        })
        .collect();
    let asset = generate_views(
        &format!("{}.png", subject.name),
        &subject.front,
        &views,
        &options,
        Models::default(),
        &NoProgress,
        &CancelFlag::new(),
    )
    .unwrap_or_else(|error| panic!("{} ({sides:?}): {error}", subject.name));
    // The file's mesh is split where texture charts meet; welded by position it is closed.
    let welded = support::welded_by_position(&asset.mesh);
    assert!(welded.topology().is_watertight_manifold(), "{} ({sides:?}): not closed", subject.name);
    assert!(welded.volume() > 0.0, "{} ({sides:?}): wound inwards", subject.name);
    assert!(asset.record.watertight, "{} ({sides:?}): {:?} {:?}", subject.name, asset.record.faces, welded.topology());
    let positions = asset.mesh.positions.iter().map(|position| position.map(f64::from)).collect();
    (Surface { positions, triangles: asset.mesh.triangles.clone() }, asset.record.shape.clone())
}

#[test]
fn the_views_carve_the_rendered_objects() {
    let only = only_named();
    let mut table = Vec::new();
    let (mut right_scores, mut three_scores) = (Vec::new(), Vec::new());
    // The posed objects keep their pose with more views: each within the mean's Chamfer floor.
    let mut unposed = Vec::new();
    for subject in subjects() {
        if only.as_ref().is_some_and(|only| !only.contains(&subject.name)) {
            continue;
        }
        let mut row = format!("| {} | {} |", subject.name, subject.kind);
        for (sides, scores) in
            [(&[Side::Right][..], &mut right_scores), (&[Side::Right, Side::Back][..], &mut three_scores)]
        {
            let (surface, built) = generated_from_views(&subject, sides);
            let positions = normalised(&surface.positions);
            let scored =
                score(&positions, &samples(&positions, &surface.triangles), Some(&surface.triangles), &subject.truth);
            row.push_str(&format!(
                " {built} {:.2} / {:.3} / {:.2} ({:.3}) |",
                scored.side_iou, scored.chamfer, scored.f_score, scored.front_iou
            ));
            if POSED.iter().any(|(name, _)| *name == subject.name) && scored.chamfer > VIEWS_MEAN_CHAMFER_AT_MOST {
                unposed.push(format!("{} with {sides:?}: Chamfer {:.3}", subject.name, scored.chamfer));
            }
            scores.push((subject.kind.clone(), scored));
        }
        table.push(row);
    }
    let mean = |scores: &[(String, Score)], pick: fn(&Score) -> f64| {
        scores.iter().map(|(_, score)| pick(score)).sum::<f64>() / scores.len().max(1) as f64
    };
    let summary = |scores: &[(String, Score)], kind: Option<&str>| {
        let chosen: Vec<(String, Score)> =
            scores.iter().filter(|(k, _)| kind.is_none_or(|kind| k == kind)).cloned().collect();
        format!(
            "{:.2} / {:.3} / {:.2} ({:.3})",
            mean(&chosen, |s| s.side_iou),
            mean(&chosen, |s| s.chamfer),
            mean(&chosen, |s| s.f_score),
            mean(&chosen, |s| s.front_iou)
        )
    };
    let classes = std::iter::once(None).chain(CLASSES.map(Some));
    let means: Vec<String> = classes
        .map(|kind| {
            format!(
                "| mean, {} | | {} | {} |",
                kind.unwrap_or("all"),
                summary(&right_scores, kind),
                summary(&three_scores, kind)
            )
        })
        .collect();
    eprintln!(
        "side IoU / Chamfer / F@{F_SCORE_AT} (front IoU) with more views\n\n| object | class | front + right | front + right + back |\n|---|---|---|---|\n{}\n{}",
        table.join("\n"),
        means.join("\n")
    );
    if only.is_some() {
        return;
    }
    assert!(unposed.is_empty(), "lost their pose: {}", unposed.join("; "));
    for scores in [&right_scores, &three_scores] {
        let side = mean(scores, |s| s.side_iou);
        assert!(side >= VIEWS_MEAN_SIDE_IOU_AT_LEAST, "mean side IoU with a right view {side:.3}");
        let chamfer = mean(scores, |s| s.chamfer);
        assert!(chamfer <= VIEWS_MEAN_CHAMFER_AT_MOST, "mean Chamfer with a right view {chamfer:.4}");
        let front = mean(scores, |s| s.front_iou);
        assert!(front >= MEAN_FRONT_IOU_AT_LEAST, "mean front IoU with a right view {front:.3}");
    }
}

/// The crates photographed from 25° and 30° above, the ring seen from 50° above, and the vase, the
/// tin and the mug seen from 30°, 40° and 35° above are placed as they would stand: on their base at the origin
/// (the default `--origin bottom`), not tipped onto an edge or a point as the picture's frame has
/// them.
#[test]
fn what_is_seen_from_above_stands_on_its_base() {
    for (name, shape, down_deg) in [
        ("crate-from-above", "box", 25.0),
        ("wooden-crate", "box", 30.0),
        ("torus-tilted", "tubes", 50.0),
        ("vase-from-above", "revolve", 30.0),
        ("tin-from-above", "revolve", 40.0),
        ("mug-from-above", "parts", 35.0),
    ] {
        let front = std::fs::read(folder().join(format!("images/{name}.front.png"))).unwrap();
        let options = Options::default().with_texture_px(256).with_target_faces(8000);
        let asset = generate(&format!("{name}.png"), &front, &options, &NoProgress, &CancelFlag::new()).unwrap();
        assert_eq!(asset.record.shape, shape, "{name}");
        let [x, y, z] = asset.record.up_in_picture.unwrap_or_else(|| panic!("{name}: no up in the picture"));
        let found_deg = z.atan2(y).to_degrees();
        assert!(
            x.abs() < 0.05 && (found_deg - down_deg).abs() < 3.0,
            "{name}: up {:?}, the camera looked down {found_deg:.1}°",
            [x, y, z]
        );
        stands_on_its_base(name, &asset.mesh.positions);
    }
}

/// The extent of `points` along `axis`.
fn extent(axis: usize, points: &mut dyn Iterator<Item = &[f32; 3]>) -> f32 {
    let (low, high) = points
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(low, high), point| (low.min(point[axis]), high.max(point[axis])));
    high - low
}

/// Checks that the asset `positions` stands on its base at the origin: the points within 5% of its
/// height above the lowest span most of its footprint both ways (tipped, a box touches the ground
/// along a line or at a point).
fn stands_on_its_base(name: &str, positions: &[[f32; 3]]) {
    let height = extent(1, &mut positions.iter());
    let lowest = positions.iter().map(|position| position[1]).fold(f32::INFINITY, f32::min);
    assert!(lowest.abs() < 1.0e-4, "{name}: the base is at {lowest}, not at the origin");
    for axis in [0, 2] {
        let whole = extent(axis, &mut positions.iter());
        let base = extent(axis, &mut positions.iter().filter(|position| position[1] - lowest < 0.05 * height));
        assert!(base >= 0.6 * whole, "{name}, axis {axis}: the base spans {base:.3} of {whole:.3}");
    }
}

/// Checks that the asset `positions` stands on four legs: halfway up, the surface is only near its
/// ends, at its four corners.
fn stands_on_four_legs(name: &str, positions: &[[f32; 3]]) {
    let height = extent(1, &mut positions.iter());
    let (width, depth) = (extent(0, &mut positions.iter()), extent(2, &mut positions.iter()));
    let (left, back) = (
        positions.iter().map(|position| position[0]).fold(f32::INFINITY, f32::min),
        positions.iter().map(|position| position[2]).fold(f32::INFINITY, f32::min),
    );
    let mut corners = [0usize; 4];
    for position in positions.iter().filter(|position| (0.3..0.6).contains(&(position[1] / height))) {
        let (across, along) = ((position[0] - left) / width - 0.5, (position[2] - back) / depth - 0.5);
        assert!(
            across.abs() > 0.3,
            "{name}: something under the top at {across:.2} of its width, {along:.2} of its depth"
        );
        corners[usize::from(across > 0.0) + 2 * usize::from(along > 0.0)] += 1;
    }
    assert!(corners.iter().all(|&count| count > 0), "{name}: legs at the corners {corners:?}");
}

/// Crates, tins and tables photographed as a shop would, through a 35, 50 or 85 mm lens from 20° to
/// 35° above (`tests/shapes/lens/`, rendered by `render.py --lens`): a crate's far sides are drawn
/// shorter and its upright edges converge, a tin's base is seen more steeply than its lid, a
/// table's back legs stand between its front ones, yet each is a box, a solid of revolution or a
/// table on four legs, with the camera's angle, standing, in its proportions.
#[test]
fn what_is_photographed_through_a_lens_keeps_its_proportions() {
    let folder = folder().join("lens");
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("lens.json")).unwrap()).unwrap();
    for (name, photo) in truth.as_object().unwrap() {
        let front = std::fs::read(folder.join(format!("{name}.png"))).unwrap();
        let options = Options::default().with_texture_px(256).with_target_faces(8000);
        let asset = generate(&format!("{name}.png"), &front, &options, &NoProgress, &CancelFlag::new()).unwrap();
        let legs = photo.get("legs").is_some();
        let shape = if legs {
            "legs"
        } else if name.starts_with("tin") {
            "revolve"
        } else {
            "box"
        };
        assert_eq!(asset.record.shape, shape, "{name}");
        assert!(asset.warnings.is_empty(), "{name}: {:?}", asset.warnings);
        let [x, y, z] = asset.record.up_in_picture.unwrap_or_else(|| panic!("{name}: no up in the picture"));
        let (found_deg, above_deg) = (z.atan2(y).to_degrees(), photo["above_deg"].as_f64().unwrap());
        assert!(
            x.abs() < 0.05 && (found_deg - above_deg).abs() < 5.0,
            "{name}: up {:?}, the camera looked down {found_deg:.1}°, not {above_deg}°",
            [x, y, z]
        );
        assert!(asset.mesh.volume() > 0.0, "{name}: wound inwards");
        stands_on_its_base(name, &asset.mesh.positions);
        if legs {
            stands_on_four_legs(name, &asset.mesh.positions);
        }
        // The bounding box, standing: across the picture, up, and along the view.
        let size: Vec<f64> = photo["size_m"].as_array().unwrap().iter().map(|value| value.as_f64().unwrap()).collect();
        let turn = photo["turn_deg"].as_f64().unwrap().to_radians();
        let expected = [
            size[0] * turn.cos().abs() + size[1] * turn.sin().abs(),
            size[2],
            size[0] * turn.sin().abs() + size[1] * turn.cos().abs(),
        ];
        let longest = expected.iter().copied().fold(0.0, f64::max);
        let found = asset.record.size_m;
        let found_longest = found.iter().copied().fold(0.0, f64::max);
        // A table's depth is read from a few cells of perspective, its legs' feet and the far
        // corners of its top.
        let within = if legs { 0.05 } else { 0.03 };
        for axis in 0..3 {
            let (want, got) = (expected[axis] / longest, found[axis] / found_longest);
            assert!((want - got).abs() < within, "{name}: {found:?} against {expected:?} (axis {axis})");
        }
    }
}

/// The dining table of the background-removal scenes (`tests/scenes/render.py`: a top 160 × 90 cm,
/// 83.5 cm high, on round legs), photographed on a studio floor with its shadow from 20° above
/// through a 50 mm lens: cut out by the built-in removal, it stands on four legs in its proportions.
#[test]
fn a_table_photographed_on_a_floor_stands_on_four_legs() {
    let photo = std::fs::read(folder().join("../scenes/images/table.jpg")).unwrap();
    let options = Options::default().with_texture_px(256).with_target_faces(8000);
    let asset = generate("table.jpg", &photo, &options, &NoProgress, &CancelFlag::new()).unwrap();
    assert_eq!(asset.record.shape, "legs");
    assert!(asset.mesh.volume() > 0.0, "wound inwards");
    stands_on_its_base("table.jpg", &asset.mesh.positions);
    stands_on_four_legs("table.jpg", &asset.mesh.positions);
    let found = asset.record.size_m.map(|length| length / asset.record.size_m[0]);
    let expected = [1.0, 0.835 / 1.6, 0.9 / 1.6];
    for axis in 1..3 {
        assert!((found[axis] - expected[axis]).abs() < 0.05, "{found:?} against {expected:?}");
    }
}

#[test]
fn the_light_of_the_rendered_sphere_is_found_within_ten_degrees() {
    use threedgpt_engine::light;
    use threedgpt_engine::shape::{Square, reconstruct};
    let picture =
        image::load_from_memory(&std::fs::read(folder().join("images/sphere.front.png")).unwrap()).unwrap().to_rgba8();
    let side = picture.width() as usize;
    let to_linear = |value: u8| {
        let value = f32::from(value) / 255.0;
        if value <= 0.040_45 { value / 12.92 } else { ((value + 0.055) / 1.055).powf(2.4) }
    };
    let coverage: Vec<f32> = picture.pixels().map(|pixel| f32::from(pixel[3]) / 255.0).collect();
    let luminance: Vec<f32> = picture
        .pixels()
        .map(|pixel| 0.2126 * to_linear(pixel[0]) + 0.7152 * to_linear(pixel[1]) + 0.0722 * to_linear(pixel[2]))
        .collect();
    let square = Square { coverage: &coverage, luminance: &luminance, side };
    let built = reconstruct(square, side, 1.0, Shape::Auto, None, &CancelFlag::new(), &mut |_| {}).unwrap();
    let normals = light::normals(&built.relief.front_heights, side);
    // Well inside the outline, where a height field's normals are sound.
    let highest = built.relief.front_heights.iter().copied().fold(0.0f32, f32::max);
    let trusted: Vec<bool> = (0..side * side)
        .map(|index| coverage[index] > 0.99 && built.relief.front_heights[index] > 0.35 * highest)
        .collect();
    let found = light::estimate(&luminance, &normals, &trusted).expect("a light");
    // render.py's sun: rotated 50° about x, then -35° about z, seen by the front camera (grid frame:
    // x right, y down, z towards the camera).
    let (pitch, yaw) = (50f32.to_radians(), (-35f32).to_radians());
    let world = [-(-pitch.sin()) * yaw.sin(), -pitch.sin() * yaw.cos(), pitch.cos()];
    let truth = [world[0], -world[2], -world[1]];
    let cosine: f32 = (0..3).map(|axis| found.direction[axis] * truth[axis]).sum();
    let degrees = cosine.clamp(-1.0, 1.0).acos().to_degrees();
    assert!(degrees < 10.0, "found {:?}, the sun is at {truth:?}: {degrees:.1}° off", found.direction);
}

/// The 10th-to-90th percentile spread of the luminance of `pixels`, relative to its median.
fn relative_spread(mut values: Vec<f32>) -> f32 {
    values.sort_by(f32::total_cmp);
    let at = |fraction: f32| values[((values.len() - 1) as f32 * fraction).round() as usize];
    (at(0.9) - at(0.1)) / at(0.5)
}

/// Luminance of an sRGB pixel, in 8-bit units.
fn luminance(pixel: &[u8]) -> f32 {
    0.2126 * f32::from(pixel[0]) + 0.7152 * f32::from(pixel[1]) + 0.0722 * f32::from(pixel[2])
}

/// The luminance spread of the rendered sphere's picture within 70% of its disc's radius: the
/// part of it a texture is compared on.
fn lit_spread(png: &[u8]) -> f32 {
    let picture = image::load_from_memory(png).unwrap().to_rgba8();
    let inside: Vec<(u32, u32)> =
        picture.enumerate_pixels().filter(|(_, _, pixel)| pixel[3] == 255).map(|(x, y, _)| (x, y)).collect();
    let count = inside.len() as f32;
    let centre = inside.iter().fold((0.0, 0.0), |(sx, sy), &(x, y)| (sx + x as f32 / count, sy + y as f32 / count));
    let radius = (count / std::f32::consts::PI).sqrt();
    relative_spread(
        inside
            .iter()
            .filter(|&&(x, y)| (x as f32 - centre.0).hypot(y as f32 - centre.1) < 0.7 * radius)
            .map(|&(x, y)| luminance(&picture.get_pixel(x, y).0))
            .collect(),
    )
}

#[test]
fn the_texture_holds_the_colour_without_the_pictures_light() {
    let front = std::fs::read(folder().join("images/sphere.front.png")).unwrap();
    let lit = lit_spread(&front);
    let options = Options::default().with_texture_px(256);
    let asset = generate("sphere.png", &front, &options, &NoProgress, &CancelFlag::new()).unwrap();
    // The texture is the cutout's square: the disc fills the middle 85% of it.
    let side = asset.texture.width() as f32;
    let delit = relative_spread(
        asset
            .texture
            .enumerate_pixels()
            .filter(|(x, y, _)| (*x as f32 + 0.5 - side / 2.0).hypot(*y as f32 + 0.5 - side / 2.0) < 0.7 * 0.425 * side)
            .map(|(_, _, pixel)| luminance(&pixel.0))
            .collect(),
    );
    eprintln!("luminance spread: picture {lit:.3}, texture {delit:.3}");
    assert!(delit < 0.6 * lit, "the light stayed in the texture: spread {delit:.3} against the picture's {lit:.3}");
}

#[test]
fn the_views_texture_holds_the_colour_without_the_pictures_light() {
    let read = |view: &str| std::fs::read(folder().join(format!("images/sphere.{view}.png"))).unwrap();
    let (front, right, back) = (read("front"), read("right"), read("back"));
    let lit = lit_spread(&front);
    let views = [
        View { side: Side::Right, name: "right.png", bytes: &right },
        View { side: Side::Back, name: "back.png", bytes: &back },
    ];
    let options = Options::default().with_texture_px(512);
    let asset =
        generate_views("sphere.png", &front, &views, &options, Models::default(), &NoProgress, &CancelFlag::new())
            .unwrap();
    let side = asset.texture.width() as f32;
    // The texture where the surface faces the front camera within 45° (the picture's 0.7 radius),
    // and where it faces the back one, which is lit from behind the object.
    let seen = |toward_z: f32| {
        relative_spread(
            asset
                .normals
                .iter()
                .zip(&asset.uvs)
                .filter(|(normal, _)| normal[2] * toward_z > 0.71)
                .map(|(_, uv)| {
                    let texel = asset.texture.get_pixel(
                        ((uv[0] * side) as u32).min(side as u32 - 1),
                        ((uv[1] * side) as u32).min(side as u32 - 1),
                    );
                    luminance(&texel.0)
                })
                .collect(),
        )
    };
    let (front_spread, back_spread) = (seen(1.0), seen(-1.0));
    eprintln!("luminance spread: picture {lit:.3}, texture front {front_spread:.3}, back {back_spread:.3}");
    assert!(front_spread < 0.6 * lit, "the light stayed in the front: {front_spread:.3} against {lit:.3}");
    assert!(back_spread < 0.6 * lit, "the light stayed in the back: {back_spread:.3} against {lit:.3}");
}
