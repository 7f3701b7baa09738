//! Minimum s–t cut of a graph with integer capacities, by the Boykov–Kolmogorov augmenting-path
//! algorithm (search trees grown from both terminals and reused between augmentations), which is
//! fast on the grid graphs of image segmentation. Used by the built-in background removal's
//! colour-model segmentation (`grabcut.rs`).

use std::collections::VecDeque;

/// Marks a node whose parent is a terminal, or that has none.
const TERMINAL: u32 = u32::MAX;
const NO_PARENT: u32 = u32::MAX - 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tree {
    Free,
    Source,
    Sink,
}

/// A graph under construction: add every arc pair, then [`Graph::min_cut`].
#[derive(Debug)]
pub(crate) struct Graph {
    /// Residual capacity from the source to each node (positive) or from it to the sink (negative).
    terminal: Vec<i64>,
    /// Arcs as (from, to, capacity forward, capacity back), turned into adjacency by `min_cut`.
    edges: Vec<(u32, u32, i32, i32)>,
}

impl Graph {
    pub(crate) fn new(nodes: usize) -> Self {
        Self { terminal: vec![0; nodes], edges: Vec::new() }
    }

    /// Capacities from the source to `node` and from `node` to the sink (both may be given; only
    /// their difference matters to the cut).
    pub(crate) fn set_terminals(&mut self, node: usize, source: i32, sink: i32) {
        self.terminal[node] = i64::from(source) - i64::from(sink);
    }

    /// An arc `from → to` with capacity `forward` and its reverse with `back`.
    pub(crate) fn add_edge(&mut self, from: usize, to: usize, forward: i32, back: i32) {
        debug_assert!(forward >= 0 && back >= 0 && from != to);
        self.edges.push((from as u32, to as u32, forward, back));
    }

    /// Which nodes are on the source's side of a minimum cut, and the cut's value.
    pub(crate) fn min_cut(self) -> (Vec<bool>, i64) {
        Solver::new(self).run()
    }
}

struct Solver {
    /// Arcs of node `n` are `start[n]..start[n + 1]`.
    start: Vec<u32>,
    head: Vec<u32>,
    sister: Vec<u32>,
    capacity: Vec<i64>,
    terminal: Vec<i64>,
    tree: Vec<Tree>,
    /// The arc from a node to its parent in its tree, or `TERMINAL`, or `NO_PARENT`.
    parent: Vec<u32>,
    /// When a node's distance to its terminal was last known, and that distance.
    stamp: Vec<u32>,
    distance: Vec<u32>,
    time: u32,
    active: VecDeque<u32>,
    is_active: Vec<bool>,
    orphans: VecDeque<u32>,
}

impl Solver {
    fn new(graph: Graph) -> Self {
        let nodes = graph.terminal.len();
        let mut degree = vec![0u32; nodes + 1];
        for &(from, to, _, _) in &graph.edges {
            degree[from as usize] += 1;
            degree[to as usize] += 1;
        }
        let mut start = vec![0u32; nodes + 1];
        for node in 0..nodes {
            start[node + 1] = start[node] + degree[node];
        }
        let arcs = start[nodes] as usize;
        let mut fill = start.clone();
        let (mut head, mut sister, mut capacity) = (vec![0u32; arcs], vec![0u32; arcs], vec![0i64; arcs]);
        for &(from, to, forward, back) in &graph.edges {
            let (a, b) = (fill[from as usize], fill[to as usize]);
            fill[from as usize] += 1;
            fill[to as usize] += 1;
            head[a as usize] = to;
            sister[a as usize] = b;
            capacity[a as usize] = i64::from(forward);
            head[b as usize] = from;
            sister[b as usize] = a;
            capacity[b as usize] = i64::from(back);
        }
        Self {
            start,
            head,
            sister,
            capacity,
            terminal: graph.terminal,
            tree: vec![Tree::Free; nodes],
            parent: vec![NO_PARENT; nodes],
            stamp: vec![0; nodes],
            distance: vec![0; nodes],
            time: 0,
            active: VecDeque::new(),
            is_active: vec![false; nodes],
            orphans: VecDeque::new(),
        }
    }

    fn arcs(&self, node: u32) -> std::ops::Range<usize> {
        self.start[node as usize] as usize..self.start[node as usize + 1] as usize
    }

    fn activate(&mut self, node: u32) {
        if !self.is_active[node as usize] {
            self.is_active[node as usize] = true;
            self.active.push_back(node);
        }
    }

    fn run(mut self) -> (Vec<bool>, i64) {
        let mut flow: i64 = 0;
        for node in 0..self.terminal.len() as u32 {
            let capacity = self.terminal[node as usize];
            if capacity != 0 {
                self.tree[node as usize] = if capacity > 0 { Tree::Source } else { Tree::Sink };
                self.parent[node as usize] = TERMINAL;
                self.distance[node as usize] = 1;
                self.activate(node);
            }
        }
        while let Some(node) = self.active.front().copied() {
            if self.tree[node as usize] == Tree::Free {
                self.active.pop_front();
                self.is_active[node as usize] = false;
                continue;
            }
            match self.grow(node) {
                Some(bridge) => {
                    self.time += 1;
                    flow += self.augment(bridge);
                    self.adopt();
                }
                None => {
                    self.active.pop_front();
                    self.is_active[node as usize] = false;
                }
            }
        }
        (self.tree.iter().map(|&tree| tree == Tree::Source).collect(), flow)
    }

    /// Grows `node`'s tree by one layer of neighbours; returns an arc from the source's tree to the
    /// sink's, when the trees touch.
    fn grow(&mut self, node: u32) -> Option<usize> {
        let tree = self.tree[node as usize];
        for arc in self.arcs(node) {
            let neighbour = self.head[arc];
            let sister = self.sister[arc] as usize;
            // The residual capacity along the tree's direction of flow.
            let residual = if tree == Tree::Source { self.capacity[arc] } else { self.capacity[sister] };
            if residual == 0 {
                continue;
            }
            match self.tree[neighbour as usize] {
                Tree::Free => {
                    self.tree[neighbour as usize] = tree;
                    self.parent[neighbour as usize] = sister as u32;
                    self.stamp[neighbour as usize] = self.stamp[node as usize];
                    self.distance[neighbour as usize] = self.distance[node as usize] + 1;
                    self.activate(neighbour);
                }
                other if other != tree => return Some(if tree == Tree::Source { arc } else { sister }),
                _ => {}
            }
        }
        None
    }

    /// Pushes the path's bottleneck through `bridge` (source tree → sink tree); nodes whose arc to
    /// their parent is saturated become orphans.
    fn augment(&mut self, bridge: usize) -> i64 {
        let (from, to) = (self.head[self.sister[bridge] as usize], self.head[bridge]);
        let mut bottleneck = self.capacity[bridge];
        let mut node = from;
        while self.parent[node as usize] != TERMINAL {
            let arc = self.parent[node as usize] as usize;
            bottleneck = bottleneck.min(self.capacity[self.sister[arc] as usize]);
            node = self.head[arc];
        }
        bottleneck = bottleneck.min(self.terminal[node as usize]);
        let mut node = to;
        while self.parent[node as usize] != TERMINAL {
            let arc = self.parent[node as usize] as usize;
            bottleneck = bottleneck.min(self.capacity[arc]);
            node = self.head[arc];
        }
        bottleneck = bottleneck.min(-self.terminal[node as usize]);

        self.capacity[bridge] -= bottleneck;
        self.capacity[self.sister[bridge] as usize] += bottleneck;
        let mut node = from;
        while self.parent[node as usize] != TERMINAL {
            let arc = self.parent[node as usize] as usize;
            let toward = self.sister[arc] as usize;
            self.capacity[arc] += bottleneck;
            self.capacity[toward] -= bottleneck;
            let next = self.head[arc];
            if self.capacity[toward] == 0 {
                self.orphan(node);
            }
            node = next;
        }
        self.terminal[node as usize] -= bottleneck;
        if self.terminal[node as usize] == 0 {
            self.orphan(node);
        }
        let mut node = to;
        while self.parent[node as usize] != TERMINAL {
            let arc = self.parent[node as usize] as usize;
            self.capacity[arc] -= bottleneck;
            self.capacity[self.sister[arc] as usize] += bottleneck;
            let next = self.head[arc];
            if self.capacity[arc] == 0 {
                self.orphan(node);
            }
            node = next;
        }
        self.terminal[node as usize] += bottleneck;
        if self.terminal[node as usize] == 0 {
            self.orphan(node);
        }
        bottleneck
    }

    fn orphan(&mut self, node: u32) {
        self.parent[node as usize] = NO_PARENT;
        self.orphans.push_back(node);
    }

    /// Finds each orphan a new parent in its own tree that still reaches the terminal, or frees it
    /// (and orphans its children).
    fn adopt(&mut self) {
        while let Some(node) = self.orphans.pop_front() {
            let tree = self.tree[node as usize];
            let mut best: Option<(usize, u32)> = None;
            for arc in self.arcs(node) {
                let neighbour = self.head[arc];
                if self.tree[neighbour as usize] != tree || self.residual_to(tree, arc) == 0 {
                    continue;
                }
                if let Some(depth) = self.depth_to_terminal(neighbour)
                    && best.is_none_or(|(_, shortest)| depth < shortest)
                {
                    best = Some((arc, depth));
                }
            }
            if let Some((arc, depth)) = best {
                self.parent[node as usize] = arc as u32;
                self.stamp[node as usize] = self.time;
                self.distance[node as usize] = depth + 1;
                continue;
            }
            // No way back to the terminal: the node leaves its tree.
            for arc in self.arcs(node) {
                let neighbour = self.head[arc];
                if self.tree[neighbour as usize] != tree {
                    continue;
                }
                if self.residual_to(tree, arc) > 0 {
                    self.activate(neighbour);
                }
                let parent = self.parent[neighbour as usize];
                if parent != TERMINAL && parent != NO_PARENT && self.head[parent as usize] == node {
                    self.orphan(neighbour);
                }
            }
            self.tree[node as usize] = Tree::Free;
        }
    }

    /// What can still flow along `arc` (from a node to a neighbour in its `tree`) the way that
    /// tree carries flow: from the neighbour to the node in the source's tree, the other way in
    /// the sink's.
    fn residual_to(&self, tree: Tree, arc: usize) -> i64 {
        if tree == Tree::Source { self.capacity[self.sister[arc] as usize] } else { self.capacity[arc] }
    }

    /// The number of steps from `node` up its tree to the terminal, or `None` when the path ends at
    /// an orphan. Distances found are stamped with the current time along the path, so later
    /// checks stop early.
    fn depth_to_terminal(&mut self, node: u32) -> Option<u32> {
        let mut steps = 0u32;
        let mut current = node;
        let depth = loop {
            if self.stamp[current as usize] == self.time {
                break steps + self.distance[current as usize];
            }
            match self.parent[current as usize] {
                TERMINAL => break steps + 1,
                NO_PARENT => return None,
                arc => {
                    current = self.head[arc as usize];
                    steps += 1;
                }
            }
        };
        // Stamp the path with what is now known.
        let mut current = node;
        let mut remaining = depth;
        while self.stamp[current as usize] != self.time {
            self.stamp[current as usize] = self.time;
            self.distance[current as usize] = remaining;
            match self.parent[current as usize] {
                TERMINAL | NO_PARENT => break,
                arc => current = self.head[arc as usize],
            }
            remaining -= 1;
        }
        Some(depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The cheapest cut by trying every labelling.
    fn brute_force(nodes: usize, terminals: &[(i32, i32)], edges: &[(usize, usize, i32, i32)]) -> i64 {
        (0..1u32 << nodes)
            .map(|labels| {
                let source_side = |node: usize| labels >> node & 1 == 1;
                let mut cost = 0i64;
                for (node, &(source, sink)) in terminals.iter().enumerate() {
                    cost += i64::from(if source_side(node) { sink } else { source });
                }
                for &(from, to, forward, back) in edges {
                    if source_side(from) && !source_side(to) {
                        cost += i64::from(forward);
                    }
                    if source_side(to) && !source_side(from) {
                        cost += i64::from(back);
                    }
                }
                cost
            })
            .min()
            .unwrap()
    }

    proptest! {
        #[test]
        fn the_cut_is_minimal_and_its_sides_cost_what_it_says(
            nodes in 2usize..9,
            terminals in prop::collection::vec((0i32..20, 0i32..20), 9),
            edges in prop::collection::vec((0usize..9, 0usize..9, 0i32..15, 0i32..15), 0..24),
        ) {
            let terminals = &terminals[..nodes];
            let edges: Vec<_> = edges
                .into_iter()
                .map(|(from, to, forward, back)| (from % nodes, to % nodes, forward, back))
                .filter(|&(from, to, _, _)| from != to)
                .collect();
            let mut graph = Graph::new(nodes);
            for (node, &(source, sink)) in terminals.iter().enumerate() {
                graph.set_terminals(node, source, sink);
            }
            for &(from, to, forward, back) in &edges {
                graph.add_edge(from, to, forward, back);
            }
            let (side, flow) = graph.min_cut();
            // Only the difference of a node's two terminal capacities reaches the solver.
            let shared: i64 = terminals.iter().map(|&(source, sink)| i64::from(source.min(sink))).sum();
            let best = brute_force(nodes, terminals, &edges);
            prop_assert_eq!(flow + shared, best);
            // The labelling returned costs exactly the minimum.
            let mut cost = shared;
            for (node, &(source, sink)) in terminals.iter().enumerate() {
                let difference = i64::from(source) - i64::from(sink);
                if side[node] && difference < 0 { cost += -difference; }
                if !side[node] && difference > 0 { cost += difference; }
            }
            for &(from, to, forward, back) in &edges {
                if side[from] && !side[to] { cost += i64::from(forward); }
                if side[to] && !side[from] { cost += i64::from(back); }
            }
            prop_assert_eq!(cost, best);
        }
    }
}
