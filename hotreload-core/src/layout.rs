//! Layout fingerprints of the types that cross a reload.
//!
//! The host keeps its data in the types it was compiled with; new code may
//! only be called with them if it agrees on their layout. Each argument and
//! return type of a hot function is fed to a [`LayoutHasher`]:
//!
//! - deeply, if it implements [`Layout`] (primitives, `String`, `Vec`,
//!   `Option`, `Box`, arrays, slices, tuples, and the user's types with
//!   `#[derive(hotreload_runtime::Layout)]`): name, size, alignment, and for
//!   each field its name, offset and type, recursively;
//! - otherwise by type name, size and alignment. A swap of two fields of the
//!   same type inside such a type is not seen here; the runtime compares
//!   such types' definitions in the package's sources instead
//!   (`hotreload-runtime/src/verify/types.rs`).
//!
//! References are looked through by `#[hot]`: `&mut World` is fingerprinted
//! as `World` plus a tag. Each argument and return type gets its own
//! fingerprint ([`TypeLayouts`]), so a refusal can name the type that changed.

use std::marker::PhantomData;

/// A stable 64-bit hasher ([FNV-1a](crate::fnv)): the same input gives the
/// same value in every build, unlike `std`'s randomly keyed hashers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayoutHasher {
    state: u64,
    /// How many derived types are being fed, one inside the other.
    depth: u32,
}

/// Derived types nested deeper than this are fed by shape only: a type that
/// contains itself (`Option<Box<Node>>`) would otherwise never end.
const MAX_DEPTH: u32 = 8;

impl Default for LayoutHasher {
    fn default() -> Self {
        LayoutHasher {
            state: crate::fnv::OFFSET,
            depth: 0,
        }
    }
}

impl LayoutHasher {
    /// Feeds bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        self.state = crate::fnv::extend(self.state, bytes);
    }

    /// Feeds `T`'s shape, then its fields with `fields` unless types are
    /// already nested `MAX_DEPTH` (8) deep. What `#[derive(Layout)]` calls.
    pub fn nested<T>(&mut self, fields: impl FnOnce(&mut LayoutHasher)) {
        self.shape::<T>();
        if self.depth < MAX_DEPTH {
            self.depth += 1;
            fields(self);
            self.depth -= 1;
        }
    }

    /// Feeds one field: its name, its offset, then its type with `ty`.
    pub fn field(&mut self, name: &str, offset: usize, ty: impl FnOnce(&mut LayoutHasher)) {
        self.tag(name);
        self.number(offset);
        ty(self);
    }

    /// Feeds a string and its length (so `"ab","c"` differs from `"a","bc"`).
    pub fn tag(&mut self, text: &str) {
        self.number(text.len());
        self.write(text.as_bytes());
    }

    /// Feeds a number.
    pub fn number(&mut self, value: usize) {
        self.write(&(value as u64).to_le_bytes());
    }

    /// Feeds the name of `T`.
    pub fn name<T: ?Sized>(&mut self) {
        self.tag(std::any::type_name::<T>());
    }

    /// Feeds name, size and alignment of `T`.
    pub fn shape<T>(&mut self) {
        self.tag(std::any::type_name::<T>());
        self.number(std::mem::size_of::<T>());
        self.number(std::mem::align_of::<T>());
    }

    /// The fingerprint.
    pub fn finish(&self) -> u64 {
        self.state
    }
}

/// One fingerprint per argument and return type of a hot function, labelled
/// with the type as written (`&mut World`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TypeLayouts(pub Vec<(&'static str, u64)>);

/// The label of the entry [`TypeLayouts::identity`] adds.
pub const IDENTITY: &str = "the crate's identity";

impl TypeLayouts {
    /// Adds a hash of `T`'s `TypeId`, `T` a type of the hot function's own
    /// crate: it differs between two builds of the same source exactly when
    /// their crate identity (`-C metadata`, from cargo's features and
    /// flags) differs, and with it the `TypeId` of every type of the crate.
    pub fn identity<T: 'static>(&mut self) {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        std::any::TypeId::of::<T>().hash(&mut hasher);
        self.0.push((IDENTITY, hasher.finish()));
    }

    /// The hash [`TypeLayouts::identity`] added, if any.
    pub fn identity_hash(&self) -> Option<u64> {
        self.0
            .iter()
            .find(|(label, _)| *label == IDENTITY)
            .map(|(_, hash)| *hash)
    }

    /// Adds the fingerprint that `feed` computes for the type `label`,
    /// after `tag` (how the signature reaches it: `&mut`, `&`, nothing).
    ///
    /// Function pointers, not a generic closure: `#[hot]` writes one `add`
    /// per type of every hot signature, and a closure for each (or a
    /// generic `add`) would be one more function to compile, all in one
    /// codegen unit of the crate's that an edit of any hot function makes
    /// the compiler generate again (up to 200 ms of a full build with 400
    /// hot functions). `feed` is one generic instance per type of the crate
    /// (see [`DeepLayout::feed`]).
    pub fn add(&mut self, label: &'static str, tag: &str, feed: fn(&mut LayoutHasher)) {
        let mut hasher = LayoutHasher::default();
        hasher.tag(tag);
        feed(&mut hasher);
        self.0.push((label, hasher.finish()));
    }
}

/// A type whose layout can be fingerprinted deeply.
///
/// Derive it for your types that hot functions take or return
/// (`#[derive(hotreload_runtime::Layout)]`): then adding, removing,
/// reordering, renaming or retyping a field, at any depth, refuses the
/// reload (`HOT011`) instead of letting new code misread old data. A manual
/// impl feeds the type's shape and each field the way the derive does, with
/// [`LayoutHasher::nested`] and [`LayoutHasher::field`].
pub trait Layout {
    /// Feeds this type's layout to `hasher`.
    fn layout(hasher: &mut LayoutHasher);
}

macro_rules! shape_layout {
    ($($ty:ty),*) => {$(
        impl Layout for $ty {
            fn layout(hasher: &mut LayoutHasher) {
                hasher.shape::<$ty>();
            }
        }
    )*};
}

shape_layout!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    String,
    std::time::Duration
);

impl Layout for str {
    fn layout(hasher: &mut LayoutHasher) {
        hasher.tag("str");
    }
}

impl<T: Layout> Layout for [T] {
    fn layout(hasher: &mut LayoutHasher) {
        hasher.tag("[]");
        T::layout(hasher);
    }
}

impl<T: Layout, const N: usize> Layout for [T; N] {
    fn layout(hasher: &mut LayoutHasher) {
        hasher.tag("[;]");
        hasher.number(N);
        T::layout(hasher);
    }
}

macro_rules! wrapper_layout {
    ($($name:literal => $ty:ty),*) => {$(
        impl<T: Layout> Layout for $ty {
            fn layout(hasher: &mut LayoutHasher) {
                hasher.tag($name);
                hasher.number(std::mem::size_of::<$ty>());
                T::layout(hasher);
            }
        }
    )*};
}

wrapper_layout!(
    "Vec" => Vec<T>,
    "Option" => Option<T>,
    "Box" => Box<T>,
    "&" => &T,
    "&mut" => &mut T,
    "VecDeque" => std::collections::VecDeque<T>
);

macro_rules! tuple_layout {
    ($($name:ident)+) => {
        impl<$($name: Layout),+> Layout for ($($name,)+) {
            fn layout(hasher: &mut LayoutHasher) {
                hasher.shape::<($($name,)+)>();
                $($name::layout(hasher);)+
            }
        }
    };
}

tuple_layout!(A);
tuple_layout!(A B);
tuple_layout!(A B C);
tuple_layout!(A B C D);
tuple_layout!(A B C D E);
tuple_layout!(A B C D E F);

/// Chooses, for the type `T` named in `#[hot]`'s output, the deepest
/// fingerprint available (autoref specialization: method lookup tries
/// `&&Probe<T>` before `&Probe<T>` before `Probe<T>`).
pub struct Probe<T: ?Sized>(PhantomData<fn() -> *const T>);

impl<T: ?Sized> Probe<T> {
    /// The probe (a value only so that methods can be looked up on it).
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Probe(PhantomData)
    }
}

/// `T: Layout`: field by field.
pub trait DeepLayout {
    /// What adds the fingerprint of `T` to a hasher: a function pointer,
    /// one generic instance per type of the crate, not a closure per use.
    fn feed(&self) -> fn(&mut LayoutHasher);
}

impl<T: ?Sized + Layout> DeepLayout for &&Probe<T> {
    fn feed(&self) -> fn(&mut LayoutHasher) {
        T::layout
    }
}

/// Sized `T` without `Layout`: name, size, alignment.
pub trait ShallowLayout {
    /// See [`DeepLayout::feed`].
    fn feed(&self) -> fn(&mut LayoutHasher);
}

impl<T> ShallowLayout for &Probe<T> {
    fn feed(&self) -> fn(&mut LayoutHasher) {
        LayoutHasher::shape::<T>
    }
}

/// Unsized `T` without `Layout` (`dyn Trait`): the name only.
pub trait NameLayout {
    /// See [`DeepLayout::feed`].
    fn feed(&self) -> fn(&mut LayoutHasher);
}

impl<T: ?Sized> NameLayout for Probe<T> {
    fn feed(&self) -> fn(&mut LayoutHasher) {
        LayoutHasher::name::<T>
    }
}

#[cfg(test)]
#[allow(clippy::needless_borrow, clippy::redundant_closure)]
mod tests {
    use super::*;

    struct Opaque {
        _a: u32,
    }

    fn fingerprint(feed: impl FnOnce(&mut LayoutHasher)) -> u64 {
        let mut hasher = LayoutHasher::default();
        feed(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn probe_prefers_the_deepest_fingerprint() {
        let deep = fingerprint((&&&Probe::<Vec<u32>>::new()).feed());
        assert_eq!(deep, fingerprint(|h| <Vec<u32>>::layout(h)));
        let shallow = fingerprint((&&&Probe::<Opaque>::new()).feed());
        assert_eq!(shallow, fingerprint(|h| h.shape::<Opaque>()));
        let name = fingerprint((&&&Probe::<dyn Fn()>::new()).feed());
        assert_eq!(
            name,
            fingerprint(|h| h.tag(std::any::type_name::<dyn Fn()>()))
        );
    }

    fn deep<T: Layout>() -> u64 {
        fingerprint(|h| T::layout(h))
    }

    type Feed = fn(&mut LayoutHasher);

    /// The fingerprint of a struct named `T` with these `(name, offset,
    /// type)` fields, fed by hand the way the derive does: the same type
    /// name as the derived one, so only the fields can differ (which is
    /// what a reload compares: one type, two builds).
    fn by_hand<T>(fields: &[(&str, usize, Feed)]) -> u64 {
        fingerprint(|h| {
            h.nested::<T>(|h| {
                h.tag("struct");
                for (name, offset, ty) in fields {
                    h.field(name, *offset, ty);
                }
            })
        })
    }

    #[derive(hotreload_macros::Layout)]
    #[layout(crate = "crate")]
    pub struct World {
        pub width: u32,
        pub height: u32,
        pub cells: Vec<Cell>,
    }

    #[derive(hotreload_macros::Layout)]
    #[layout(crate = "crate")]
    #[allow(dead_code)]
    pub enum Cell {
        Dead,
        Alive { age: u16 },
    }

    #[derive(hotreload_macros::Layout)]
    #[layout(crate = "crate")]
    struct Node {
        next: Option<Box<Node>>,
        value: u32,
    }

    #[test]
    fn swapped_fields_of_the_same_type_differ() {
        use std::mem::offset_of;
        let (width, height, cells) = (
            offset_of!(World, width),
            offset_of!(World, height),
            offset_of!(World, cells),
        );
        let int: Feed = |h| u32::layout(h);
        let vec: Feed = |h| <Vec<Cell>>::layout(h);
        // What the derive feeds, field by field.
        assert_eq!(
            deep::<World>(),
            by_hand::<World>(&[
                ("width", width, int),
                ("height", height, int),
                ("cells", cells, vec)
            ])
        );
        // The same size and field types, the two `u32` swapped.
        assert_ne!(
            deep::<World>(),
            by_hand::<World>(&[
                ("height", width, int),
                ("width", height, int),
                ("cells", cells, vec)
            ])
        );
    }

    #[test]
    fn a_type_that_contains_itself_ends_and_its_fields_still_count() {
        // Ending at all is the first half: without the depth limit this
        // recursed until the stack overflowed.
        use std::mem::offset_of;
        let (next, value) = (offset_of!(Node, next), offset_of!(Node, value));
        let list: Feed = |h| <Option<Box<Node>>>::layout(h);
        let unsigned: Feed = |h| u32::layout(h);
        let signed: Feed = |h| i32::layout(h);
        assert_eq!(
            deep::<Node>(),
            by_hand::<Node>(&[("next", next, list), ("value", value, unsigned)])
        );
        assert_ne!(
            deep::<Node>(),
            by_hand::<Node>(&[("next", next, list), ("value", value, signed)])
        );
    }

    #[test]
    fn different_element_types_differ() {
        assert_ne!(
            fingerprint(|h| <Vec<u32>>::layout(h)),
            fingerprint(|h| <Vec<i32>>::layout(h))
        );
        assert_ne!(
            fingerprint(|h| <(u8, u16)>::layout(h)),
            fingerprint(|h| <(u16, u8)>::layout(h))
        );
    }
}
