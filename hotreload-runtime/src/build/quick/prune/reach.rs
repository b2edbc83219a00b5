//! Which items the roots reach by name (see the module docs): a walk that
//! keeps items, follows the names kept code holds to the items that
//! declare them, and the words of string literals to the modules they
//! name.

use std::collections::{HashMap, HashSet};

use super::{Item, Keep, Kind};

/// Code that a pruned build compiles whatever it names: a changed hot
/// body, at byte `at` of file `file`, naming `refs`.
pub struct Root<'a> {
    pub file: usize,
    pub at: usize,
    pub refs: &'a [String],
}

/// An item: its file, and its index among the file's items.
type At = (usize, usize);

/// Which items of `files` to keep for `roots`: one flag per item.
pub fn kept(files: &[&[Item]], roots: &[Root]) -> Vec<Vec<bool>> {
    let mut walk = Walk::new(files);
    for root in roots {
        // The item it is in, and a method's block.
        for (i, item) in files[root.file].iter().enumerate() {
            if item.range.contains(&root.at) {
                walk.pending.push((root.file, i));
            }
        }
        walk.names.extend(root.refs.iter().map(String::as_str));
    }
    walk.run()
}

/// The crate's items by what reaches them, and what the walk has kept and
/// has still to follow.
struct Walk<'a> {
    files: &'a [&'a [Item]],
    /// Items by the name they declare.
    defs: HashMap<&'a str, Vec<At>>,
    /// Types with a `#[derive]`, by name.
    derived: HashMap<&'a str, Vec<At>>,
    /// Items by the module they are in.
    modules: HashMap<&'a str, Vec<At>>,
    /// Impls by the type they are for.
    impls: HashMap<&'a str, Vec<At>>,
    /// Methods by their block.
    members: HashMap<At, Vec<At>>,
    kept: Vec<Vec<bool>>,
    /// Items to keep.
    pending: Vec<At>,
    /// Names kept code holds, to follow; and those followed.
    names: Vec<&'a str>,
    named: HashSet<&'a str>,
    /// Words of kept string literals, to follow to modules; and those
    /// followed.
    words: Vec<&'a str>,
    modules_named: HashSet<&'a str>,
}

impl<'a> Walk<'a> {
    /// The index of `files`, with the items kept always pending.
    fn new(files: &'a [&'a [Item]]) -> Walk<'a> {
        let mut walk = Walk {
            files,
            defs: HashMap::new(),
            derived: HashMap::new(),
            modules: HashMap::new(),
            impls: HashMap::new(),
            members: HashMap::new(),
            kept: files.iter().map(|items| vec![false; items.len()]).collect(),
            pending: Vec::new(),
            names: Vec::new(),
            named: HashSet::new(),
            words: Vec::new(),
            modules_named: HashSet::new(),
        };
        let mut aliases = HashSet::new();
        for (at, item) in walk.items() {
            if let Some(name) = &item.defines {
                walk.defs.entry(name).or_default().push(at);
                match item.kind {
                    Kind::Nominal { derived: true } => {
                        walk.derived.entry(name).or_default().push(at)
                    }
                    Kind::Alias => {
                        aliases.insert(name.as_str());
                    }
                    _ => {}
                }
            }
            walk.modules.entry(&item.module).or_default().push(at);
        }
        for (at, item) in walk.items() {
            match &item.keep {
                Keep::Always => walk.pending.push(at),
                Keep::Named => {}
                Keep::Member { block, .. } => {
                    walk.members.entry((at.0, *block)).or_default().push(at)
                }
                Keep::Impl(name)
                    if walk.defs.contains_key(name.as_str())
                        && !aliases.contains(name.as_str()) =>
                {
                    walk.impls.entry(name).or_default().push(at);
                }
                Keep::Impl(_) => walk.pending.push(at),
            }
        }
        walk
    }

    fn items(&self) -> impl Iterator<Item = (At, &'a Item)> + use<'a> {
        self.files.iter().enumerate().flat_map(|(f, items)| {
            items
                .iter()
                .enumerate()
                .map(move |(i, item)| ((f, i), item))
        })
    }

    /// Keeps items, then follows names, then words, until nothing is left.
    fn run(mut self) -> Vec<Vec<bool>> {
        loop {
            if let Some(at) = self.pending.pop() {
                self.keep(at);
            } else if let Some(name) = self.names.pop() {
                self.follow_name(name);
            } else if let Some(word) = self.words.pop() {
                if self.modules_named.insert(word) {
                    self.pending
                        .extend(self.modules.get(word).into_iter().flatten());
                }
            } else {
                return self.kept;
            }
        }
    }

    /// Keeps the item at `(f, i)`: what it names is followed, and a
    /// block's methods that are named already, or always kept, come too.
    fn keep(&mut self, (f, i): At) {
        if std::mem::replace(&mut self.kept[f][i], true) {
            return;
        }
        let item = &self.files[f][i];
        self.names.extend(item.refs.iter().map(String::as_str));
        self.words.extend(item.words.iter().map(String::as_str));
        for &(mf, mi) in self.members.get(&(f, i)).into_iter().flatten() {
            let method = &self.files[mf][mi];
            let always = matches!(method.keep, Keep::Member { always: true, .. });
            if always
                || method
                    .defines
                    .as_deref()
                    .is_some_and(|n| self.named.contains(n))
            {
                self.pending.push((mf, mi));
            }
        }
    }

    /// Keeps what declares `name` (a method once its block is kept) and
    /// the impls for it; a name the crate does not declare may be a type a
    /// derive declared, named after the type (`BodyBuilder`, `BodyItem`).
    fn follow_name(&mut self, name: &'a str) {
        if !self.named.insert(name) {
            return;
        }
        let Some(found) = self.defs.get(name) else {
            for (end, _) in name.char_indices().skip(1) {
                self.pending
                    .extend(self.derived.get(&name[..end]).into_iter().flatten());
            }
            return;
        };
        let (files, kept) = (self.files, &self.kept);
        self.pending
            .extend(found.iter().filter(|&&(f, i)| match files[f][i].keep {
                Keep::Member { block, .. } => kept[f][block],
                _ => true,
            }));
        self.pending
            .extend(self.impls.get(name).into_iter().flatten());
    }
}
