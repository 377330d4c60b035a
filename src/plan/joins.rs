//! The join tree: which cubes a query needs and how they are joined. Joins are directed (the
//! declaring cube is the left side); each candidate root is tried, the tree with the fewest
//! joins wins, ties going to the earliest cube of the query (its first measure's). Paths fixed
//! by views and `joinHints` are followed as given.

use crate::diag::{Code, Diagnostic};
use crate::resolve::{CubeId, Model};
use std::collections::VecDeque;

/// One `LEFT JOIN`: cube `to` joined from cube `from` through `from`'s join number `join`.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinStep {
    pub from: CubeId,
    pub join: usize,
    pub to: CubeId,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JoinTree {
    pub root: CubeId,
    /// In an order where every `from` is already joined.
    pub steps: Vec<JoinStep>,
}

impl JoinTree {
    /// The root, then each joined cube in join order.
    pub fn cubes(&self) -> impl Iterator<Item = CubeId> + '_ {
        std::iter::once(self.root).chain(self.steps.iter().map(|s| s.to))
    }

    pub fn contains(&self, c: CubeId) -> bool {
        c == self.root || self.steps.iter().any(|s| s.to == c)
    }
}

/// Builds the tree joining `needed` (in query order) and following every `hint` path.
pub fn build(model: &Model, needed: &[CubeId], hints: &[Vec<CubeId>]) -> Result<JoinTree, Diagnostic> {
    let mut candidates: Vec<CubeId> = Vec::new();
    if let Some(first) = hints.iter().find_map(|h| h.first()) {
        candidates.push(*first);
    } else {
        candidates.extend(needed.iter().copied());
    }
    candidates.dedup();
    let mut best: Option<JoinTree> = None;
    for &root in &candidates {
        // A tree from another root only matters if it is smaller than the best so far.
        let budget = best.as_ref().map(|b| b.steps.len().saturating_sub(1));
        if let Some(tree) = tree_from(model, root, needed, hints, budget) {
            if best.as_ref().map(|b| tree.steps.len() < b.steps.len()).unwrap_or(true) {
                best = Some(tree);
            }
        }
    }
    best.ok_or_else(|| {
        let names: Vec<String> = needed.iter().map(|c| format!("'{}'", model.cube(*c).name)).collect();
        Diagnostic::error(Code::QueryJoinPath, format!("Can't find join path to join {}", names.join(", "))).with_help(
            "joins are directed: declare a join from one of these cubes to the other (or through others), or query through a view",
        )
    })
}

/// The tree from `root`, or `None` when some cube is unreachable or the tree would need more
/// than `budget` joins.
fn tree_from(
    model: &Model,
    root: CubeId,
    needed: &[CubeId],
    hints: &[Vec<CubeId>],
    budget: Option<usize>,
) -> Option<JoinTree> {
    let n = model.cubes.len();
    let mut parent: Vec<Option<(CubeId, usize)>> = vec![None; n];
    let mut in_tree = vec![false; n];
    in_tree[root] = true;
    let mut steps: Vec<JoinStep> = Vec::new();
    // Hinted paths first, edge by edge.
    for hint in hints {
        if hint.first() != Some(&root) && !hint.first().is_some_and(|h| in_tree[*h]) {
            return None;
        }
        for pair in hint.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if in_tree[b] {
                continue;
            }
            let join = model.cube(a).joins.iter().position(|j| j.target == b)?;
            in_tree[b] = true;
            parent[b] = Some((a, join));
            steps.push(JoinStep { from: a, join, to: b });
        }
    }
    // Then the shortest path to every other needed cube (breadth-first, directed edges).
    for &target in needed {
        if in_tree[target] {
            continue;
        }
        let remaining = budget.map(|b| b.checked_sub(steps.len())).unwrap_or(Some(usize::MAX))?;
        let path = shortest_path(model, &in_tree, target, remaining)?;
        for (from, join, to) in path {
            if !in_tree[to] {
                in_tree[to] = true;
                parent[to] = Some((from, join));
                steps.push(JoinStep { from, join, to });
            }
        }
    }
    Some(JoinTree { root, steps })
}

/// The shortest directed path, of at most `max_len` joins, from any cube already in the tree
/// to `target`.
fn shortest_path(
    model: &Model,
    in_tree: &[bool],
    target: CubeId,
    max_len: usize,
) -> Option<Vec<(CubeId, usize, CubeId)>> {
    let n = model.cubes.len();
    let mut prev: Vec<Option<(CubeId, usize)>> = vec![None; n];
    let mut seen = in_tree.to_vec();
    let mut queue: VecDeque<(CubeId, usize)> = (0..n).filter(|&c| in_tree[c]).map(|c| (c, 0)).collect();
    while let Some((c, depth)) = queue.pop_front() {
        if c == target || depth >= max_len {
            break;
        }
        for (ji, j) in model.cube(c).joins.iter().enumerate() {
            if !seen[j.target] {
                seen[j.target] = true;
                prev[j.target] = Some((c, ji));
                if j.target == target {
                    queue.clear();
                    break;
                }
                queue.push_back((j.target, depth + 1));
            }
        }
    }
    if !seen[target] {
        return None;
    }
    let mut path = Vec::new();
    let mut cur = target;
    while let Some((p, j)) = prev[cur] {
        path.push((p, j, cur));
        cur = p;
    }
    path.reverse();
    Some(path)
}
