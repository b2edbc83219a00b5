//! The definitions of a package's types, read from its sources: what
//! catches a change to a type the program holds that the layout fingerprint
//! cannot see. Without `#[derive(Layout)]` a type is fingerprinted by name,
//! size and alignment, so two `u32` fields swapping places, or a field
//! retyped from `u32` to `f32`, went through and new code read the wrong
//! field. Here every struct, enum, union and type alias of the package's
//! `src/` is kept as written (members in order, with their types, `repr`
//! and generics), once as the program was built (the files as they are at
//! start) and once as the newest build sees them; a build is refused
//! (HOT011) when a type reachable from a hot function's signature (by name:
//! the signature's types, their fields' types, and so on) differs, naming
//! the type and the member.
//!
//! Names, not paths: two types of one name in different modules are
//! treated as one, so an edit of one can refuse a build that only the other
//! reaches (the message names the type; rename one to tell them apart).
//! A file changed after the program's executable was built is not known as
//! the program has it: its types are not compared. Types of other crates
//! (path dependencies included) are not read.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use quote::ToTokens;

use crate::sources::Snapshot;

/// One type's definition, as it matters to the data in it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Definition {
    /// `field` or `variant`.
    member: &'static str,
    /// `repr` attributes, generics and where clause, as written.
    header: String,
    /// Name and type (a variant's fields and discriminant) of each member,
    /// in order.
    members: Vec<(String, String)>,
    /// The names the compiler hashes into the type's `TypeId` besides its
    /// path and `header` (its fields', or its variants' and their
    /// fields'), in order; `None` for an alias, whose `TypeId` is its
    /// target's. The fields' types are not hashed: `struct Vel { dx: f32 }`
    /// and `struct Vel { dx: f64 }` have one `TypeId` and two sizes.
    names: Option<Vec<String>>,
}

/// The types [`Sources::went_live`] found changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TypeChanges {
    /// Defined differently (added or removed too), by name.
    pub changed: Vec<String>,
    /// Of `changed`, those that keep their `TypeId` (only their fields'
    /// types or a discriminant changed): a value of one that the program
    /// holds by `TypeId` (an ECS world, a `Box<dyn Any>`) is found by new
    /// code, which reads it with the new definition.
    pub same_type_id: Vec<String>,
}

type Definitions = HashMap<String, Vec<Definition>>;

/// A package's type definitions: the program's and the newest.
pub struct Sources {
    src: PathBuf,
    /// By file, as at start.
    base: HashMap<PathBuf, Definitions>,
    /// By file, as the newest build sees them.
    current: HashMap<PathBuf, Definitions>,
    /// Types defined in files changed after the executable was built.
    unknown: HashSet<String>,
    /// Files changed since they were last read.
    dirty: HashSet<PathBuf>,
    /// By file, as the last build that went live saw them.
    live: HashMap<PathBuf, Definitions>,
}

impl Sources {
    /// Parses a [`Snapshot`] of the sources.
    pub fn new(snapshot: Snapshot) -> Sources {
        let mut base = HashMap::new();
        let mut unknown = HashSet::new();
        for (file, text, newer) in snapshot.files {
            let Some(definitions) = parse(&text) else {
                continue;
            };
            if newer {
                unknown.extend(definitions.into_keys());
            } else {
                base.insert(file, definitions);
            }
        }
        Sources {
            src: snapshot.src,
            current: base.clone(),
            live: base.clone(),
            base,
            unknown,
            dirty: HashSet::new(),
        }
    }

    /// Notes that `paths` changed; [`Sources::refresh`] reads them.
    pub fn changed(&mut self, paths: &[PathBuf]) {
        let ours = |path: &&PathBuf| {
            path.starts_with(&self.src) && path.extension().is_some_and(|ext| ext == "rs")
        };
        let dirty: Vec<PathBuf> = paths.iter().filter(ours).cloned().collect();
        self.dirty.extend(dirty);
    }

    /// Reads the changed files again (a file that no longer parses keeps
    /// what it had: its build fails anyway). Called while a build runs, so
    /// that it costs the reload nothing, and before verifying one.
    pub fn refresh(&mut self) {
        for path in std::mem::take(&mut self.dirty) {
            match std::fs::read_to_string(&path) {
                Err(_) => {
                    self.current.remove(&path);
                }
                Ok(text) => {
                    if let Some(definitions) = parse(&text) {
                        self.current.insert(path, definitions);
                    }
                }
            }
        }
    }

    /// Nothing but hot function bodies changed since the last build that
    /// went live (the next build is a quick one, see `crate::build::quick`): the
    /// definitions are that build's, with no file read again (a file of
    /// thousands of lines takes the unoptimized runtime about 0.1 s to
    /// parse).
    pub fn as_live(&mut self) {
        self.dirty.clear();
        self.current.clone_from(&self.live);
    }

    /// The types defined differently (or added, or removed) since the last
    /// build that went live; that build is now the current one.
    pub fn went_live(&mut self) -> TypeChanges {
        let (live, current) = (merge(&self.live), merge(&self.current));
        let mut changed: Vec<String> = live
            .keys()
            .chain(current.keys())
            .filter(|name| live.get(*name) != current.get(*name))
            .cloned()
            .collect();
        changed.sort_unstable();
        changed.dedup();
        let same_type_id = (changed.iter())
            .filter(|name| match (live.get(*name), current.get(*name)) {
                (Some(old), Some(new)) => keeps_type_id(old, new),
                _ => false,
            })
            .cloned()
            .collect();
        self.live = self.current.clone();
        TypeChanges {
            changed,
            same_type_id,
        }
    }

    /// The types whose definition differs from the program's.
    pub fn changes(&self) -> Changes {
        let (base, current) = (merge(&self.base), merge(&self.current));
        let mut changed = HashMap::new();
        for (name, old) in &base {
            if self.unknown.contains(name) {
                continue;
            }
            let new = current.get(name).map(Vec::as_slice).unwrap_or_default();
            if old.as_slice() != new {
                changed.insert(name.clone(), describe(name, old, new));
            }
        }
        Changes { base, changed }
    }
}

/// Whether a type defined as `old` and then as `new` has one `TypeId`:
/// one definition each, with the same header (`repr`, generics) and the
/// same names in the same order (rustc hashes those, not the fields'
/// types).
fn keeps_type_id(old: &[Definition], new: &[Definition]) -> bool {
    match (old, new) {
        ([old], [new]) => {
            old.names.is_some()
                && (old.member, &old.header, &old.names) == (new.member, &new.header, &new.names)
        }
        _ => false,
    }
}

/// The definitions of all files, by type name.
fn merge(files: &HashMap<PathBuf, Definitions>) -> Definitions {
    let mut all: Definitions = HashMap::new();
    for definitions in files.values() {
        for (name, list) in definitions {
            all.entry(name.clone())
                .or_default()
                .extend(list.iter().cloned());
        }
    }
    all
}

/// What [`Sources::changes`] found.
pub struct Changes {
    /// The program's definitions, to follow fields from a signature.
    base: Definitions,
    /// Changed type -> what changed.
    changed: HashMap<String, String>,
}

impl Changes {
    /// No type changed (or none known: an upgrade, whose sources the
    /// program does not have).
    pub fn none() -> Changes {
        Changes {
            base: HashMap::new(),
            changed: HashMap::new(),
        }
    }

    /// The first changed type reachable from `signature`, with what
    /// changed in it.
    pub fn reached_from(&self, signature: &str) -> Option<&str> {
        if self.changed.is_empty() {
            return None;
        }
        let mut seen = HashSet::new();
        let mut queue: Vec<&str> = identifiers(signature).collect();
        while let Some(name) = queue.pop() {
            if !seen.insert(name) {
                continue;
            }
            if let Some(what) = self.changed.get(name) {
                return Some(what);
            }
            for definition in self.base.get(name).into_iter().flatten() {
                for (_, ty) in &definition.members {
                    queue.extend(identifiers(ty));
                }
            }
        }
        None
    }
}

/// The words of a type as written (`&mut Grid<Cell>` -> `Grid`, `Cell`).
fn identifiers(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with(|c: char| c.is_alphabetic() || c == '_'))
}

/// What differs between the definitions of `name`, naming the member.
fn describe(name: &str, old: &[Definition], new: &[Definition]) -> String {
    let (Some(old), Some(new)) = (old.first(), new.first()) else {
        return format!("`{name}` was removed or renamed");
    };
    if old.header != new.header {
        return format!("`{name}` changed its `repr`, generics or kind");
    }
    let member = old.member;
    let names = |d: &Definition| d.members.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    let (old_names, new_names) = (names(old), names(new));
    if let Some(removed) = old_names.iter().find(|n| !new_names.contains(n)) {
        return format!("{member} `{removed}` of `{name}` was removed");
    }
    if let Some(added) = new_names.iter().find(|n| !old_names.contains(n)) {
        return format!("{member} `{added}` was added to `{name}`");
    }
    for (old_member, new_member) in old.members.iter().zip(&new.members) {
        if old_member.0 != new_member.0 {
            return format!(
                "the {member}s of `{name}` were reordered (`{}` is now where `{}` was)",
                new_member.0, old_member.0
            );
        }
        if old_member.1 != new_member.1 {
            return format!(
                "{member} `{}` of `{name}` changed from `{}` to `{}`",
                old_member.0, old_member.1, new_member.1
            );
        }
    }
    format!("`{name}` is defined more than once and one of them changed")
}

/// The type definitions of one file's text, in every module; `None` if it
/// does not parse.
fn parse(text: &str) -> Option<Definitions> {
    let file = syn::parse_file(text).ok();
    let definitions = file.map(|file| {
        let mut definitions = Definitions::new();
        collect(&file.items, &mut definitions);
        definitions
    });
    // Free the text proc-macro2 keeps for the spans (it would grow with
    // every save otherwise).
    proc_macro2::extra::invalidate_current_thread_spans();
    definitions
}

/// The type definitions of `items`, in every inline module.
fn collect(items: &[syn::Item], definitions: &mut Definitions) {
    for item in items {
        let (name, definition) = match item {
            syn::Item::Struct(item) => (
                &item.ident,
                Definition {
                    member: "field",
                    header: header(&item.attrs, &item.generics, "struct"),
                    members: fields(&item.fields),
                    names: Some(field_names(&item.fields)),
                },
            ),
            syn::Item::Union(item) => (
                &item.ident,
                Definition {
                    member: "field",
                    header: header(&item.attrs, &item.generics, "union"),
                    members: fields(&syn::Fields::Named(item.fields.clone())),
                    names: Some(field_names(&syn::Fields::Named(item.fields.clone()))),
                },
            ),
            syn::Item::Enum(item) => (
                &item.ident,
                Definition {
                    member: "variant",
                    header: header(&item.attrs, &item.generics, "enum"),
                    members: item.variants.iter().map(variant).collect(),
                    names: Some(
                        (item.variants.iter())
                            .flat_map(|variant| {
                                let fields = field_names(&variant.fields).into_iter();
                                std::iter::once(variant.ident.to_string())
                                    .chain(fields.map(|field| format!("{}.{field}", variant.ident)))
                            })
                            .collect(),
                    ),
                },
            ),
            syn::Item::Type(item) => (
                &item.ident,
                Definition {
                    member: "field",
                    header: header(&item.attrs, &item.generics, "type"),
                    members: vec![("=".to_string(), text(&item.ty))],
                    names: None,
                },
            ),
            syn::Item::Mod(module) => {
                if let Some((_, items)) = &module.content {
                    collect(items, definitions);
                }
                continue;
            }
            _ => continue,
        };
        definitions
            .entry(name.to_string())
            .or_default()
            .push(definition);
    }
}

fn text(tokens: &dyn ToTokens) -> String {
    tokens.to_token_stream().to_string()
}

/// A definition's `repr`s, generics and where clause, as written.
fn header(attrs: &[syn::Attribute], generics: &syn::Generics, kind: &str) -> String {
    let reprs: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("repr"))
        .map(|attr| text(attr))
        .collect();
    let where_clause = generics.where_clause.as_ref().map(|w| text(w));
    format!(
        "{kind} {} {} {}",
        reprs.join(" "),
        text(generics),
        where_clause.unwrap_or_default()
    )
}

/// Each field's name (its index, in a tuple) and type.
fn fields(fields: &syn::Fields) -> Vec<(String, String)> {
    fields
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let name = field
                .ident
                .as_ref()
                .map_or_else(|| index.to_string(), ToString::to_string);
            (name, text(&field.ty))
        })
        .collect()
}

/// Each field's name (its index, in a tuple).
fn field_names(fields: &syn::Fields) -> Vec<String> {
    self::fields(fields)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// A variant's name, and its fields and discriminant as one text.
fn variant(variant: &syn::Variant) -> (String, String) {
    let shape: Vec<String> = fields(&variant.fields)
        .into_iter()
        .map(|(name, ty)| format!("{name}: {ty}"))
        .collect();
    let discriminant = variant
        .discriminant
        .as_ref()
        .map(|(_, value)| format!(" = {}", text(value)))
        .unwrap_or_default();
    (
        variant.ident.to_string(),
        format!("({}){discriminant}", shape.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sources whose program (`base`), newest and live build had these
    /// texts as `src/lib.rs`.
    fn sources_of(base: &str, current: &str, live: &str) -> Sources {
        let definitions = |text: &str| {
            let mut definitions = Definitions::new();
            collect(&syn::parse_file(text).unwrap().items, &mut definitions);
            HashMap::from([(PathBuf::from("src/lib.rs"), definitions)])
        };
        Sources {
            src: PathBuf::from("src"),
            base: definitions(base),
            current: definitions(current),
            unknown: HashSet::new(),
            dirty: HashSet::new(),
            live: definitions(live),
        }
    }

    fn sources(base: &str, current: &str) -> Changes {
        sources_of(base, current, "").changes()
    }

    #[test]
    fn a_change_of_fields_types_alone_keeps_the_type_id() {
        let went_live = |live: &str, current: &str| sources_of("", current, live).went_live();
        let base = "pub struct Vel { pub dx: f32, pub dy: f32 }
                    pub struct Pair(u8, u8);
                    pub enum Kind { Fox { age: u8 }, Hare }
                    pub type Id = u32;";
        let changes = |from: &str, to: &str| went_live(base, &base.replace(from, to));
        for (from, to) in [
            ("pub dx: f32", "pub dx: f64"),
            ("Pair(u8, u8)", "Pair(u16, u8)"),
            ("Fox { age: u8 }", "Fox { age: u64 }"),
        ] {
            let found = changes(from, to);
            assert_eq!(found.changed, found.same_type_id, "{to}");
            assert_eq!(found.changed.len(), 1, "{to}");
        }
        for (from, to) in [
            (
                "pub dx: f32, pub dy: f32",
                "pub dx: f32, pub dy: f32, pub dz: f32",
            ),
            ("pub dx: f32, pub dy: f32", "pub dy: f32, pub dx: f32"),
            ("pub struct Vel", "#[repr(C)] pub struct Vel"),
            ("Pair(u8, u8)", "Pair(u8)"),
            ("Fox { age: u8 }", "Fox { years: u8 }"),
            ("Hare }", "Hare, Owl }"),
            ("Id = u32", "Id = u64"),
        ] {
            let found = changes(from, to);
            assert_eq!(found.changed.len(), 1, "{to}");
            assert!(found.same_type_id.is_empty(), "{to}: {found:?}");
        }
        assert_eq!(went_live(base, base), TypeChanges::default());
    }

    #[test]
    fn a_swap_a_retype_and_a_reordered_variant_are_named() {
        let base = "pub struct World { pub cells: Grid, pub tick: u64 }
                    pub struct Grid { pub width: u32, pub height: u32 }
                    pub enum Mode { Run, Pause }
                    struct Unrelated { a: u32 }";
        let swapped = base.replace(
            "pub width: u32, pub height: u32",
            "pub height: u32, pub width: u32",
        );
        let changes = sources(base, &swapped);
        let what = changes.reached_from("fn(&mut World, f32)").unwrap();
        assert!(
            what.contains("`Grid`") && what.contains("`height`"),
            "{what}"
        );
        assert_eq!(changes.reached_from("fn(&Mode) -> u32"), None);
        let retyped = base.replace("pub tick: u64", "pub tick: f64");
        let what = sources(base, &retyped)
            .reached_from("fn(&World)")
            .unwrap()
            .to_string();
        assert!(what.contains("from `u64` to `f64`"), "{what}");
        let reordered = base.replace("Run, Pause", "Pause, Run");
        let changes = sources(base, &reordered);
        assert!(
            changes
                .reached_from("fn(Mode)")
                .unwrap()
                .contains("variants")
        );
        assert_eq!(changes.reached_from("fn(&World)"), None);
        // Changes nothing reaches, and formatting, are no change.
        let unrelated = base.replace("struct Unrelated { a: u32 }", "struct Unrelated { b: i8 }");
        assert_eq!(sources(base, &unrelated).reached_from("fn(&World)"), None);
        let reformatted = base.replace("pub tick: u64", "pub tick:\n u64");
        assert_eq!(sources(base, &reformatted).reached_from("fn(&World)"), None);
    }
}
