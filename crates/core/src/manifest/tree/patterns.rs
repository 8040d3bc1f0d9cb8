//! The trie of every path the scanner needs, from a document's root: what the builder keeps.

/// One step of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    AnyKey,
    Index(usize),
    AnyIndex,
}

/// The pattern "everything below": what an anchored node is built with.
pub(crate) const KEEP_ALL: usize = usize::MAX;

/// The trie of every path to keep; node 0 is a document's root.
#[derive(Debug)]
pub(crate) struct Patterns {
    nodes: Vec<PatternNode>,
}

#[derive(Debug, Default)]
struct PatternNode {
    keys: Vec<(String, usize)>,
    any_key: Option<usize>,
    indices: Vec<(usize, usize)>,
    any_index: Option<usize>,
}

impl Patterns {
    pub(crate) fn new() -> Self {
        Self {
            nodes: vec![PatternNode::default()],
        }
    }

    /// Keeps every node on `steps` (from the root) and the node it ends at.
    pub(crate) fn add(&mut self, steps: &[Step]) {
        let mut at = 0;
        for step in steps {
            let found = match step {
                Step::Key(k) => self.nodes[at]
                    .keys
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|&(_, n)| n),
                Step::AnyKey => self.nodes[at].any_key,
                Step::Index(i) => self.nodes[at]
                    .indices
                    .iter()
                    .find(|(idx, _)| idx == i)
                    .map(|&(_, n)| n),
                Step::AnyIndex => self.nodes[at].any_index,
            };
            at = match found {
                Some(n) => n,
                None => {
                    let n = self.nodes.len();
                    self.nodes.push(PatternNode::default());
                    let node = &mut self.nodes[at];
                    match step {
                        Step::Key(k) => node.keys.push((k.clone(), n)),
                        Step::AnyKey => node.any_key = Some(n),
                        Step::Index(i) => node.indices.push((*i, n)),
                        Step::AnyIndex => node.any_index = Some(n),
                    }
                    n
                }
            };
        }
    }

    pub(super) fn under_key(&self, active: &[usize], key: &str) -> Vec<usize> {
        if active.contains(&KEEP_ALL) {
            return vec![KEEP_ALL];
        }
        let mut out = Vec::new();
        for &a in active {
            let node = &self.nodes[a];
            out.extend(node.keys.iter().filter(|(k, _)| k == key).map(|&(_, n)| n));
            out.extend(node.any_key);
        }
        out
    }

    pub(super) fn under_index(&self, active: &[usize], index: usize) -> Vec<usize> {
        if active.contains(&KEEP_ALL) {
            return vec![KEEP_ALL];
        }
        let mut out = Vec::new();
        for &a in active {
            let node = &self.nodes[a];
            out.extend(
                node.indices
                    .iter()
                    .filter(|(i, _)| *i == index)
                    .map(|&(_, n)| n),
            );
            out.extend(node.any_index);
        }
        out
    }
}
