//! Triangle meshes: topology checks (watertight, manifold, genus, volume), clean-up, simplification
//! with meshoptimizer, and smooth normals.

/// An indexed triangle mesh.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriMesh {
    /// Vertex positions.
    pub positions: Vec<[f32; 3]>,
    /// Triangles as vertex indices, counter-clockwise seen from outside.
    pub triangles: Vec<[u32; 3]>,
}

/// What [`TriMesh::topology`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topology {
    /// Edges used by one face only (holes in the surface).
    pub boundary_edges: usize,
    /// Edges used by more than two faces.
    pub non_manifold_edges: usize,
    /// Edges whose two faces run them in the same direction (inconsistent winding).
    pub misoriented_edges: usize,
    /// Vertices whose faces do not form one fan (pinches).
    pub non_manifold_vertices: usize,
    /// Connected components (by shared vertices).
    pub components: usize,
    /// `V - E + F` over used vertices.
    pub euler_characteristic: i64,
}

impl Topology {
    /// Closed, 2-manifold and consistently wound.
    pub fn is_watertight_manifold(&self) -> bool {
        self.boundary_edges == 0
            && self.non_manifold_edges == 0
            && self.misoriented_edges == 0
            && self.non_manifold_vertices == 0
    }

    /// Total genus (number of handles) of a closed orientable mesh.
    pub fn genus(&self) -> i64 {
        (2 * self.components as i64 - self.euler_characteristic) / 2
    }
}

/// Rounds of [`TriMesh::split_caps`]: a run of caps along one line takes one round per cap.
const CAP_ROUNDS: usize = 8;

/// Whether a triangle's corners' cross product is zero in the positions' own precision: a
/// repeated or collinear corner, or three so nearly on one line that `f32` cannot tell.
fn has_no_area(positions: &[[f32; 3]], triangle: [u32; 3]) -> bool {
    let [p, q, r] = triangle.map(|index| positions[index as usize]);
    let u = [q[0] - p[0], q[1] - p[1], q[2] - p[2]];
    let v = [r[0] - p[0], r[1] - p[1], r[2] - p[2]];
    let cross = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
    cross.iter().all(|&component| component == 0.0)
}

/// One corner of a triangle: its vertex, and the triangle's next two vertices after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Corner {
    vertex: u32,
    next: u32,
    following: u32,
}

/// The fans of one vertex's `group` of corners: around the vertex each corner runs from its next
/// vertex to its following one, and the corner after it starts where it ends; each closed chain
/// is a fan. Writes each corner's fan into `fan_of` and returns how many there are, or `None`
/// where the corners do not link into closed chains (an open or non-manifold edge at the vertex).
/// Fans are small (about six faces), so a linear search per step is cheapest.
fn fans(group: &[Corner], fan_of: &mut Vec<usize>) -> Option<usize> {
    let starting = |vertex: u32| {
        let mut found = group.iter().enumerate().filter(|(_, corner)| corner.next == vertex).map(|(index, _)| index);
        match (found.next(), found.next()) {
            (Some(index), None) => Some(index),
            _ => None,
        }
    };
    fan_of.clear();
    fan_of.resize(group.len(), usize::MAX);
    let mut count = 0;
    for start in 0..group.len() {
        if fan_of[start] != usize::MAX {
            continue;
        }
        let mut current = start;
        loop {
            fan_of[current] = count;
            match starting(group[current].following)? {
                next if next == start => break,
                next if fan_of[next] == usize::MAX => current = next,
                _ => return None,
            }
        }
        count += 1;
    }
    Some(count)
}

impl TriMesh {
    /// Number of triangles.
    pub fn face_count(&self) -> usize {
        self.triangles.len()
    }

    /// Checks watertightness, manifoldness and winding, and counts components and the Euler
    /// characteristic.
    pub fn topology(&self) -> Topology {
        // Every directed edge as (undirected key, runs low-to-high); sorting groups each edge's uses.
        let mut directed: Vec<(u64, bool)> = Vec::with_capacity(self.triangles.len() * 3);
        for triangle in &self.triangles {
            for corner in 0..3 {
                let (a, b) = (triangle[corner], triangle[(corner + 1) % 3]);
                let key = (u64::from(a.min(b)) << 32) | u64::from(a.max(b));
                directed.push((key, a < b));
            }
        }
        directed.sort_unstable();
        let mut boundary_edges = 0;
        let mut non_manifold_edges = 0;
        let mut misoriented_edges = 0;
        let mut edge_count = 0i64;
        for group in directed.chunk_by(|x, y| x.0 == y.0) {
            edge_count += 1;
            let forward = group.iter().filter(|&&(_, low_to_high)| low_to_high).count();
            match group.len() {
                1 => boundary_edges += 1,
                2 if forward == 1 => {}
                2 => misoriented_edges += 1,
                _ => non_manifold_edges += 1,
            }
        }

        // A vertex is manifold when the edges opposite it in its faces link into one cycle.
        let corners = self.corners();
        let mut non_manifold_vertices = 0;
        let mut used_vertices = 0i64;
        let mut fan_of = Vec::new();
        for group in corners.chunk_by(|x, y| x.vertex == y.vertex) {
            used_vertices += 1;
            if fans(group, &mut fan_of) != Some(1) {
                non_manifold_vertices += 1;
            }
        }

        Topology {
            boundary_edges,
            non_manifold_edges,
            misoriented_edges,
            non_manifold_vertices,
            components: self.component_count(),
            euler_characteristic: used_vertices - edge_count + self.triangles.len() as i64,
        }
    }

    fn component_count(&self) -> usize {
        let mut parent: Vec<u32> = (0..self.positions.len() as u32).collect();
        fn find(parent: &mut [u32], mut node: u32) -> u32 {
            while parent[node as usize] != node {
                parent[node as usize] = parent[parent[node as usize] as usize];
                node = parent[node as usize];
            }
            node
        }
        let mut used = vec![false; self.positions.len()];
        for triangle in &self.triangles {
            for &vertex in triangle {
                used[vertex as usize] = true;
            }
            let root = find(&mut parent, triangle[0]);
            for &vertex in &triangle[1..] {
                let other = find(&mut parent, vertex);
                parent[other as usize] = root;
            }
        }
        (0..self.positions.len() as u32)
            .filter(|&vertex| used[vertex as usize] && find(&mut parent, vertex) == vertex)
            .count()
    }

    /// Turns every triangle's winding the other way (the inside out).
    pub fn reverse_winding(&mut self) {
        for triangle in &mut self.triangles {
            triangle.swap(1, 2);
        }
    }

    /// Signed volume; positive for a closed mesh wound counter-clockwise seen from outside.
    pub fn volume(&self) -> f64 {
        self.triangles
            .iter()
            .map(|&[a, b, c]| {
                let [p, q, r] = [a, b, c].map(|index| self.positions[index as usize].map(f64::from));
                p[0] * (q[1] * r[2] - q[2] * r[1]) - p[1] * (q[0] * r[2] - q[2] * r[0])
                    + p[2] * (q[0] * r[1] - q[1] * r[0])
            })
            .sum::<f64>()
            / 6.0
    }

    /// Axis-aligned bounds as `(min, max)`; zeros for an empty mesh.
    pub fn bounds(&self) -> ([f32; 3], [f32; 3]) {
        if self.positions.is_empty() {
            return ([0.0; 3], [0.0; 3]);
        }
        let mut min = [f32::MAX; 3];
        let mut max = [f32::MIN; 3];
        for position in &self.positions {
            for axis in 0..3 {
                min[axis] = min[axis].min(position[axis]);
                max[axis] = max[axis].max(position[axis]);
            }
        }
        (min, max)
    }

    /// Removes triangles with a repeated vertex or zero area, and duplicate triangles, then drops
    /// unused vertices. Returns the old-to-new vertex map (`u32::MAX` for dropped vertices).
    pub fn clean(&mut self) -> Vec<u32> {
        let positions = &self.positions;
        let mut seen = std::collections::HashSet::with_capacity(self.triangles.len());
        self.triangles.retain(|&[a, b, c]| {
            if a == b || b == c || c == a || has_no_area(positions, [a, b, c]) {
                return false;
            }
            let mut key = [a, b, c];
            key.sort_unstable();
            seen.insert(key)
        });
        self.compact()
    }

    /// Makes flat triangles ("caps": three distinct corners on one line, as simplification leaves
    /// them) removable without opening the surface: the triangle across a cap's long edge is split
    /// at the cap's middle corner, so the two short edges have a partner each once the cap goes
    /// (which [`TriMesh::clean`] then does). A cap whose long edge has no single partner is left.
    pub fn split_caps(&mut self) {
        // Splitting across a cap can make another where the triangle across is flat too (a run of
        // caps along one line, as a box's edge simplifies to); a few rounds reach them all.
        for _ in 0..CAP_ROUNDS {
            if !self.split_caps_once() {
                return;
            }
        }
    }

    /// One round of [`TriMesh::split_caps`]; whether it split any triangle.
    fn split_caps_once(&mut self) -> bool {
        let positions = &self.positions;
        // Exactly the triangles `clean` drops for their area, or it would open the surface there.
        let flat = |[a, b, c]: [u32; 3]| a != b && b != c && c != a && has_no_area(positions, [a, b, c]);
        let caps: Vec<usize> = (0..self.triangles.len()).filter(|&index| flat(self.triangles[index])).collect();
        if caps.is_empty() {
            return false;
        }
        let mut across: std::collections::HashMap<(u32, u32), usize> = std::collections::HashMap::new();
        for (index, &[a, b, c]) in self.triangles.iter().enumerate() {
            for edge in [(a, b), (b, c), (c, a)] {
                across.insert(edge, index);
            }
        }
        let length = |a: u32, b: u32| {
            let [p, q] = [a, b].map(|index| self.positions[index as usize]);
            (0..3).map(|axis| (f64::from(q[axis]) - f64::from(p[axis])).powi(2)).sum::<f64>()
        };
        let mut resolved = vec![false; self.triangles.len()];
        for cap in caps {
            let [a, b, c] = self.triangles[cap];
            // Rotate so the long edge runs from `first` to `last`, `middle` on it.
            let [first, middle, last] = [[a, b, c], [b, c, a], [c, a, b]]
                .into_iter()
                .max_by(|x, y| length(x[0], x[2]).total_cmp(&length(y[0], y[2])))
                .unwrap_or([a, b, c]);
            // The cap runs last -> first on its long edge, so its partner runs first -> last.
            let Some(&partner) = across.get(&(first, last)) else {
                continue;
            };
            let [p, q, r] = self.triangles[partner];
            let opposite = [p, q, r].into_iter().find(|&vertex| vertex != first && vertex != last);
            let (Some(opposite), true) = (opposite, partner != cap) else {
                continue;
            };
            self.triangles[partner] = [first, middle, opposite];
            let split = self.triangles.len();
            self.triangles.push([middle, last, opposite]);
            for (edge, triangle) in
                [((first, middle), partner), ((middle, opposite), partner), ((opposite, first), partner)]
                    .into_iter()
                    .chain([((middle, last), split), ((last, opposite), split), ((opposite, middle), split)])
            {
                across.insert(edge, triangle);
            }
            across.remove(&(first, last));
            resolved[cap] = true;
        }
        // A cap whose partner was split goes now, so the next round's edges are the surface's; the
        // halves the splits added stay.
        let before = self.triangles.len();
        resolved.resize(before, false);
        let mut gone = resolved.into_iter();
        self.triangles.retain(|_| !gone.next().unwrap_or(false));
        self.triangles.len() < before
    }

    /// Splits every pinched vertex (one whose faces form several closed fans: two parts of the
    /// surface touching at a point, as simplification leaves where it collapses a thin neck) into
    /// a vertex per fan at the same position, so the surface is a 2-manifold there. Vertices on
    /// an open or non-manifold edge are left as they are. Returns how many vertices were added.
    pub fn split_pinches(&mut self) -> usize {
        let corners = self.corners();
        let mut fan_of = Vec::new();
        // The new vertex of each pinched corner, by its vertex and next vertex (a directed edge,
        // which one triangle runs where the edges are sound).
        let mut moved = std::collections::HashMap::new();
        let mut added = 0;
        for group in corners.chunk_by(|x, y| x.vertex == y.vertex) {
            let Some(count @ 2..) = fans(group, &mut fan_of) else { continue };
            let position = self.positions[group[0].vertex as usize];
            let first = self.positions.len() as u32;
            self.positions.extend(std::iter::repeat_n(position, count - 1));
            added += count - 1;
            for (corner, &fan) in group.iter().zip(&fan_of) {
                if fan > 0 {
                    moved.insert((corner.vertex, corner.next), first + fan as u32 - 1);
                }
            }
        }
        if moved.is_empty() {
            return 0;
        }
        for triangle in &mut self.triangles {
            let original = *triangle;
            for slot in 0..3 {
                if let Some(&copy) = moved.get(&(original[slot], original[(slot + 1) % 3])) {
                    triangle[slot] = copy;
                }
            }
        }
        added
    }

    /// Every triangle's corners, sorted, so each vertex's corners lie together.
    fn corners(&self) -> Vec<Corner> {
        let mut corners = Vec::with_capacity(self.triangles.len() * 3);
        for &[a, b, c] in &self.triangles {
            corners.extend([
                Corner { vertex: a, next: b, following: c },
                Corner { vertex: b, next: c, following: a },
                Corner { vertex: c, next: a, following: b },
            ]);
        }
        corners.sort_unstable();
        corners
    }

    /// Removes every copy of a triangle whose three vertices appear in more than one triangle.
    pub fn remove_fins(&mut self) {
        let mut copies: std::collections::HashMap<[u32; 3], u32> = std::collections::HashMap::new();
        let key = |&[a, b, c]: &[u32; 3]| {
            let mut key = [a, b, c];
            key.sort_unstable();
            key
        };
        for triangle in &self.triangles {
            *copies.entry(key(triangle)).or_insert(0) += 1;
        }
        self.triangles.retain(|triangle| copies[&key(triangle)] == 1);
    }

    /// Drops vertices no triangle uses, keeping the order of the rest.
    pub fn compact(&mut self) -> Vec<u32> {
        let mut remap = vec![u32::MAX; self.positions.len()];
        let mut positions = Vec::with_capacity(self.positions.len());
        for triangle in &mut self.triangles {
            for vertex in triangle.iter_mut() {
                let slot = &mut remap[*vertex as usize];
                if *slot == u32::MAX {
                    *slot = positions.len() as u32;
                    positions.push(self.positions[*vertex as usize]);
                }
                *vertex = *slot;
            }
        }
        self.positions = positions;
        remap
    }

    /// Simplifies towards `target_faces` triangles with meshoptimizer, keeping the mesh watertight:
    /// when a simplified mesh would lose that, a gentler target is tried, and at worst the input is
    /// kept.
    pub fn simplified(&self, target_faces: usize) -> TriMesh {
        self.simplified_with_topology(target_faces).0
    }

    /// [`TriMesh::simplified`] and the result's topology (which the simplification checks anyway).
    pub fn simplified_with_topology(&self, target_faces: usize) -> (TriMesh, Topology) {
        let kept = || {
            let mut copy = self.clone();
            copy.clean();
            let topology = copy.topology();
            (copy, topology)
        };
        if self.triangles.len() <= target_faces {
            return kept();
        }
        let mut target = target_faces;
        // A few ever gentler tries; a broken input never yields a sound output, so do not loop long.
        for _ in 0..4 {
            if target >= self.triangles.len() {
                break;
            }
            if let Some(done) = self.simplified_to(target) {
                return done;
            }
            tracing::debug!(target, "simplified mesh was not watertight; retrying gentler");
            target = target * 3 / 2 + 1;
        }
        kept()
    }

    /// The topology, after splitting the pinches of a surface whose edges are all sound (closed,
    /// manifold and consistently wound): a collapsed neck is two parts touching at a point, not a
    /// hole, and needs no coarser grid.
    fn unpinched_topology(&mut self) -> Topology {
        let topology = self.topology();
        let only_pinched = topology.non_manifold_vertices > 0
            && topology.boundary_edges == 0
            && topology.non_manifold_edges == 0
            && topology.misoriented_edges == 0;
        if only_pinched && self.split_pinches() > 0 { self.topology() } else { topology }
    }

    /// One meshoptimizer pass to `target_faces`, and its topology, when the result is watertight
    /// (dropping back-to-back triangle pairs if that is what it takes); `None` when it is not.
    pub fn simplified_to(&self, target_faces: usize) -> Option<(TriMesh, Topology)> {
        self.simplified_once(target_faces, false)
    }

    /// [`TriMesh::simplified_to`], splitting the vertices where the pass pinched the surface (a
    /// thin neck collapsed to a point: two parts touching there, each closed) rather than failing:
    /// for a surface whose file keeps its vertices, where such a point is sound. Not for a mesh
    /// that is split and welded again by position (the views' charts), where it would pinch again.
    pub fn simplified_to_unpinched(&self, target_faces: usize) -> Option<(TriMesh, Topology)> {
        self.simplified_once(target_faces, true)
    }

    fn simplified_once(&self, target_faces: usize, unpinch: bool) -> Option<(TriMesh, Topology)> {
        let indices: Vec<u32> = self.triangles.iter().flatten().copied().collect();
        let simplified = meshopt::simplify_decoder(
            &indices,
            &self.positions,
            target_faces * 3,
            f32::MAX,
            meshopt::SimplifyOptions::None,
            None,
        );
        let triangles: Vec<[u32; 3]> = simplified.chunks_exact(3).map(|t| [t[0], t[1], t[2]]).collect();
        let mut mesh = TriMesh { positions: self.positions.clone(), triangles: triangles.clone() };
        mesh.split_caps();
        mesh.clean();
        let topology = if unpinch { mesh.unpinched_topology() } else { mesh.topology() };
        if topology.is_watertight_manifold() {
            return Some((mesh, topology));
        }
        // Folding a thin region can leave back-to-back triangle pairs ("fins"); keeping one of a
        // pair opens the surface, dropping both closes it.
        let mut without_fins = TriMesh { positions: self.positions.clone(), triangles };
        without_fins.remove_fins();
        without_fins.split_caps();
        without_fins.clean();
        let topology = if unpinch { without_fins.unpinched_topology() } else { without_fins.topology() };
        if !without_fins.triangles.is_empty() && topology.is_watertight_manifold() {
            return Some((without_fins, topology));
        }
        None
    }

    /// Area-weighted smooth vertex normals, unit length.
    pub fn smooth_normals(&self) -> Vec<[f32; 3]> {
        let mut sums = vec![[0.0f64; 3]; self.positions.len()];
        for &[a, b, c] in &self.triangles {
            let [p, q, r] = [a, b, c].map(|index| self.positions[index as usize].map(f64::from));
            let u = [q[0] - p[0], q[1] - p[1], q[2] - p[2]];
            let v = [r[0] - p[0], r[1] - p[1], r[2] - p[2]];
            let cross = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
            for vertex in [a, b, c] {
                for axis in 0..3 {
                    sums[vertex as usize][axis] += cross[axis];
                }
            }
        }
        sums.into_iter()
            .map(|sum| {
                let length = (sum[0] * sum[0] + sum[1] * sum[1] + sum[2] * sum[2]).sqrt();
                if length > 1.0e-20 {
                    [(sum[0] / length) as f32, (sum[1] / length) as f32, (sum[2] / length) as f32]
                } else {
                    [0.0, 0.0, 1.0]
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tetrahedron() -> TriMesh {
        TriMesh {
            positions: vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            triangles: vec![[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]],
        }
    }

    #[test]
    fn two_solids_touching_at_a_point_are_split_there() {
        // Two tetrahedra sharing vertex 0, the second mirrored through it: closed, every edge
        // sound, one vertex pinched.
        let mut mesh = tetrahedron();
        mesh.positions.extend([[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]);
        mesh.triangles.extend([[0, 4, 5], [0, 6, 4], [0, 5, 6], [4, 6, 5]]);
        let pinched = mesh.topology();
        assert_eq!((pinched.non_manifold_vertices, pinched.boundary_edges, pinched.non_manifold_edges), (1, 0, 0));
        assert_eq!(mesh.split_pinches(), 1);
        let topology = mesh.topology();
        assert!(topology.is_watertight_manifold(), "{topology:?}");
        assert_eq!((topology.components, topology.genus()), (2, 0));
        assert_eq!(mesh.positions[7], [0.0, 0.0, 0.0]);
        assert!((mesh.volume() - 2.0 / 6.0).abs() < 1e-9);
        // A sound vertex, or one on an open edge, is left alone.
        assert_eq!(mesh.split_pinches(), 0);
        let mut open = tetrahedron();
        open.triangles.pop();
        assert_eq!(open.split_pinches(), 0);
        assert_eq!(open.positions.len(), 4);
    }

    #[test]
    fn a_flat_cap_goes_without_opening_the_surface() {
        // The tetrahedron's face [0, 1, 3] split at the middle of edge 0-1 (vertex 4), the gap to
        // the untouched face [0, 2, 1] closed by a flat cap, as simplification leaves them.
        let mut mesh = tetrahedron();
        mesh.positions.push([0.5, 0.0, 0.0]);
        mesh.triangles[1] = [0, 4, 3];
        mesh.triangles.push([4, 1, 3]);
        mesh.triangles.push([1, 4, 0]);
        assert!(mesh.topology().is_watertight_manifold());
        let mut removed = mesh.clone();
        removed.clean();
        assert!(!removed.topology().is_watertight_manifold(), "the cap alone opens the surface");
        mesh.split_caps();
        mesh.clean();
        let topology = mesh.topology();
        assert!(topology.is_watertight_manifold(), "{topology:?}");
        assert!((mesh.volume() - 1.0 / 6.0).abs() < 1e-9);
    }

    #[test]
    fn a_run_of_caps_along_one_edge_goes_without_opening_the_surface() {
        // The face [0, 1, 3] split at two points of edge 0-1 (vertices 4 and 5), the gap to the
        // untouched face [0, 2, 1] closed by two flat caps on one line, as simplifying a box's edge
        // leaves them. The first cap's partner across its long edge is the second cap.
        let mut mesh = tetrahedron();
        mesh.positions.extend([[0.25, 0.0, 0.0], [0.5, 0.0, 0.0]]);
        mesh.triangles[1] = [0, 4, 3];
        mesh.triangles.extend([[4, 5, 3], [5, 1, 3], [0, 5, 4], [0, 1, 5]]);
        assert!(mesh.topology().is_watertight_manifold());
        mesh.split_caps();
        mesh.clean();
        let topology = mesh.topology();
        assert!(topology.is_watertight_manifold(), "{topology:?}");
        assert!((mesh.volume() - 1.0 / 6.0).abs() < 1e-9);
    }

    #[test]
    fn a_tetrahedron_is_closed_genus_zero_with_positive_volume() {
        let mesh = tetrahedron();
        let topology = mesh.topology();
        assert!(topology.is_watertight_manifold(), "{topology:?}");
        assert_eq!(topology.genus(), 0);
        assert!((mesh.volume() - 1.0 / 6.0).abs() < 1e-9);
    }

    #[test]
    fn holes_flips_and_pinches_are_detected() {
        let mut open = tetrahedron();
        open.triangles.pop();
        assert_eq!(open.topology().boundary_edges, 3);

        let mut flipped = tetrahedron();
        flipped.triangles[3] = [1, 3, 2];
        assert_eq!(flipped.topology().misoriented_edges, 3);

        // Two tetrahedra sharing one vertex: every edge is fine but the shared vertex is a pinch.
        let mut pinched = tetrahedron();
        pinched.positions.extend([[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]);
        pinched.triangles.extend([[0, 4, 5], [0, 6, 4], [0, 5, 6], [4, 6, 5]]);
        let topology = pinched.topology();
        assert_eq!(topology.non_manifold_vertices, 1);
        assert!(!topology.is_watertight_manifold());
    }

    #[test]
    fn fins_are_removed_whole() {
        let mut mesh = tetrahedron();
        mesh.positions.push([5.0, 5.0, 5.0]);
        mesh.triangles.push([0, 1, 4]);
        mesh.triangles.push([4, 1, 0]);
        assert!(!mesh.topology().is_watertight_manifold());
        mesh.remove_fins();
        mesh.clean();
        assert_eq!(mesh.triangles.len(), 4);
        assert!(mesh.topology().is_watertight_manifold());
    }

    #[test]
    fn clean_drops_degenerate_and_duplicate_triangles() {
        let mut mesh = tetrahedron();
        mesh.triangles.push([0, 0, 1]);
        mesh.triangles.push([2, 1, 0]);
        mesh.positions.push([5.0, 5.0, 5.0]);
        mesh.clean();
        assert_eq!(mesh.triangles.len(), 4);
        assert_eq!(mesh.positions.len(), 4);
    }
}
