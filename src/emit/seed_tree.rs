//! The seed layout's `tree.json`: test names split on `.` into nested nodes, with the
//! 2016 tool's quirks (the root takes the last record's first segment; records from
//! different packages merge under it; a name that is a prefix of another gives a node
//! with both leaf fields and children; repeated names share one leaf, last one wins).
//!
//! Node names and leaf fields live in two arenas and children are found through one
//! hash map, so adding a record allocates almost nothing, and building, writing and
//! dropping never recurse: a test id with a million dots cannot overflow the stack.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::io::{self, Write};
use std::ops::Range;

use crate::emit::pyjson::{key, sep, write_str};
use crate::model::Status;

struct Node {
    /// Into `SeedTree::names`; the root's name is kept apart (it changes).
    name: Range<usize>,
    children: Option<Vec<u32>>,
    leaf: Option<u32>,
}

struct Leaf {
    status: Status,
    /// Into `SeedTree::leaf_chunks[chunk]`: the leaf's JSON fields after `name`.
    chunk: u32,
    fields: Range<usize>,
}

/// Leaf bytes are kept in chunks of this size (growing one large buffer would copy it
/// again at every doubling).
const LEAF_CHUNK: usize = 1 << 20;

/// The seed layout's `tree.json`: records nested by the dotted parts of their names.
pub struct SeedTree {
    nodes: Vec<Node>,
    root_name: Option<String>,
    names: String,
    /// (parent, hash of a child's name) → the first child with that hash.
    lookup: HashMap<(u32, u64), u32, foldhash::fast::RandomState>,
    hasher: foldhash::fast::FixedState,
    leaves: Vec<Leaf>,
    leaf_chunks: Vec<Vec<u8>>,
    /// The previous record's name and the node of each of its segments after the
    /// first: records of one class share a path, and walking it again skips the hash
    /// map (whose misses dominate the cost of adding a record).
    last_name: String,
    last_path: Vec<u32>,
}

impl Default for SeedTree {
    fn default() -> SeedTree {
        SeedTree::new()
    }
}

impl SeedTree {
    /// An empty tree.
    pub fn new() -> SeedTree {
        SeedTree {
            nodes: vec![Node {
                name: 0..0,
                children: None,
                leaf: None,
            }],
            root_name: None,
            names: String::new(),
            lookup: HashMap::default(),
            hasher: foldhash::fast::FixedState::with_seed(0x5eed),
            leaves: Vec::new(),
            leaf_chunks: Vec::new(),
            last_name: String::new(),
            last_path: Vec::new(),
        }
    }

    /// Adds a record: `fields` are its leaf's JSON fields after `name` (starting with
    /// `, `), as written into the tree.
    pub fn add(&mut self, name_full: &str, status: Status, fields: &[u8]) {
        if self
            .leaf_chunks
            .last()
            .is_none_or(|c| c.len() + fields.len() > c.capacity())
        {
            self.leaf_chunks
                .push(Vec::with_capacity(LEAF_CHUNK.max(fields.len())));
        }
        let chunk = self.leaf_chunks.len() - 1;
        let bytes = &mut self.leaf_chunks[chunk];
        let start = bytes.len();
        bytes.extend_from_slice(fields);
        let leaf = self.leaves.len() as u32;
        self.leaves.push(Leaf {
            status,
            chunk: chunk as u32,
            fields: start..bytes.len(),
        });
        let mut parts = name_full.split('.');
        let first = parts.next().unwrap_or("");
        match &mut self.root_name {
            Some(n) if n == first => {}
            slot => *slot = Some(first.to_owned()),
        }
        let mut node = 0u32;
        let mut last = std::mem::take(&mut self.last_name);
        let mut path = std::mem::take(&mut self.last_path);
        let mut same = true;
        let mut previous = last.split('.').skip(1);
        for (i, part) in parts.enumerate() {
            same = same && previous.next() == Some(part);
            node = if same {
                path[i]
            } else {
                self.child(node, part)
            };
            if !same {
                path.truncate(i);
                path.push(node);
            }
        }
        last.clear();
        last.push_str(name_full);
        self.last_name = last;
        self.last_path = path;
        self.nodes[node as usize].leaf = Some(leaf);
    }

    /// The first child of `parent` named `part`, created at the end if there is none.
    fn child(&mut self, parent: u32, part: &str) -> u32 {
        let h = self.hasher.hash_one(part);
        if let Some(&c) = self.lookup.get(&(parent, h)) {
            if self.name(c) == part {
                return c;
            }
            // a 64-bit hash collision: fall back to the exact, first-match scan
            let children = self.nodes[parent as usize]
                .children
                .as_deref()
                .unwrap_or_default();
            if let Some(&c) = children.iter().find(|&&c| self.name(c) == part) {
                return c;
            }
        }
        let id = self.nodes.len() as u32;
        let start = self.names.len();
        self.names.push_str(part);
        self.nodes.push(Node {
            name: start..self.names.len(),
            children: None,
            leaf: None,
        });
        self.nodes[parent as usize]
            .children
            .get_or_insert_with(Vec::new)
            .push(id);
        self.lookup.entry((parent, h)).or_insert(id);
        id
    }

    fn name(&self, node: u32) -> &str {
        &self.names[self.nodes[node as usize].name.clone()]
    }

    /// Writes the tree (`{}` when empty) depth first with an explicit stack.
    pub fn write(&self, w: &mut impl Write) -> io::Result<()> {
        let mut out = Vec::with_capacity(1 << 20);
        // (node, how many of its children are written so far)
        let mut stack: Vec<(u32, usize)> = vec![(0, 0)];
        self.open_node(&mut out, 0);
        while let Some(top) = stack.last_mut() {
            if out.len() > 512 << 10 {
                w.write_all(&out)?;
                out.clear();
            }
            let (id, done) = *top;
            let node = &self.nodes[id as usize];
            let children = node.children.as_deref().unwrap_or_default();
            if done < children.len() {
                top.1 += 1;
                if done > 0 {
                    out.extend_from_slice(b", ");
                }
                let c = children[done];
                self.open_node(&mut out, c);
                stack.push((c, 0));
            } else {
                if node.children.is_some() {
                    out.push(b']');
                }
                out.push(b'}');
                stack.pop();
            }
        }
        w.write_all(&out)
    }

    /// Writes a node's fields up to (and including) the opening of its `children` list.
    /// Key order follows the 2016 tool (CPython 2.7 dict order).
    fn open_node(&self, out: &mut Vec<u8>, id: u32) {
        let node = &self.nodes[id as usize];
        let name = if id == 0 {
            self.root_name.as_deref()
        } else {
            Some(self.name(id))
        };
        out.push(b'{');
        let mut first = true;
        let leaf = node.leaf.map(|l| &self.leaves[l as usize]);
        if let Some(l) = leaf {
            sep(out, &mut first);
            key(out, "status");
            out.push(b'"');
            out.extend_from_slice(l.status.as_str().as_bytes());
            out.push(b'"');
        }
        if let Some(name) = name {
            sep(out, &mut first);
            key(out, "name");
            write_str(out, name);
        }
        if let Some(l) = leaf {
            out.extend_from_slice(&self.leaf_chunks[l.chunk as usize][l.fields.clone()]);
        }
        if node.children.is_some() {
            sep(out, &mut first);
            key(out, "children");
            out.push(b'[');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree_json(names: &[&str]) -> String {
        let mut tree = SeedTree::new();
        for name in names {
            tree.add(name, Status::Success, b"");
        }
        let mut out = Vec::new();
        tree.write(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn tree_follows_the_seed_rules() {
        assert_eq!(tree_json(&[]), "{}");
        assert_eq!(
            tree_json(&["a.b.c", "a.b.d", "z.b"]),
            // the root takes the last record's first segment; `z.b` lands on `a.b`'s node
            r#"{"name": "z", "children": [{"status": "success", "name": "b", "children": [{"status": "success", "name": "c"}, {"status": "success", "name": "d"}]}]}"#
        );
        assert_eq!(
            tree_json(&["toplevel"]),
            r#"{"status": "success", "name": "toplevel"}"#
        );
        assert_eq!(
            tree_json(&["p..x"]),
            r#"{"name": "p", "children": [{"name": "", "children": [{"status": "success", "name": "x"}]}]}"#
        );
        // the path cache must not confuse a shorter or diverging name with the previous one
        assert_eq!(
            tree_json(&["a.b.c", "a.b", "a.x.c"]),
            r#"{"name": "a", "children": [{"status": "success", "name": "b", "children": [{"status": "success", "name": "c"}]}, {"name": "x", "children": [{"status": "success", "name": "c"}]}]}"#
        );
        let names: Vec<String> = (0..20).map(|i| format!("p.C.t{}", i % 10)).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let json = tree_json(&refs);
        assert_eq!(json.matches("\"name\": \"t").count(), 10, "{json}");
    }

    #[test]
    fn a_test_id_with_a_million_dots_does_not_overflow_the_stack() {
        let name = format!("a{}", ".x".repeat(1_000_000));
        let json = tree_json(&[&name]);
        assert!(json.starts_with(r#"{"name": "a", "children": [{"name": "x""#));
        assert_eq!(json.matches('{').count(), 1_000_001);
    }
}
