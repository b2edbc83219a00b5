//! What `#[hot]` registers: one [`Entry`] (with its [`Slot`]) per hot
//! function, collected in a linker section into [`ENTRIES`] (see
//! `crate::section`), and the [`Manifest`] a reloaded build exports so the
//! host can read its entries.
//!
//! The host and every loaded generation each have their own copy of these
//! statics; the host matches them by [`Entry::path`].

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

use crate::host_link::HostLink;
use crate::layout::TypeLayouts;
use crate::panic::{HOST_HOOKS, HostHooks, PanickedCall};
use crate::state::{STATICS, StaticEntry};

/// Where a hot function's trampoline finds the code to call.
///
/// `current` is read with one Acquire load per call. It starts at the
/// statically linked implementation (`original`), so a program runs without
/// any build or dylib until the first edit.
#[repr(C)]
pub struct Slot {
    current: AtomicPtr<()>,
    original: *mut (),
}

// SAFETY: `original` is a function pointer that is never written after
// construction; `current` is atomic.
unsafe impl Sync for Slot {}

impl Slot {
    /// A slot pointing at `implementation`, a function pointer cast to
    /// `*mut ()`.
    #[doc(hidden)]
    pub const fn new(implementation: *mut ()) -> Slot {
        Slot {
            current: AtomicPtr::new(implementation),
            original: implementation,
        }
    }

    /// The function to call now.
    #[inline(always)]
    pub fn get(&self) -> *mut () {
        self.current.load(Ordering::Acquire)
    }

    /// The function to call now, as its pointer type.
    ///
    /// # Safety
    /// `F` must be the function pointer type of the slot's functions.
    #[inline(always)]
    pub unsafe fn load<F: Copy>(&self) -> F {
        const { assert!(size_of::<F>() == size_of::<*mut ()>()) };
        // SAFETY: the caller's; sizes checked above.
        unsafe { std::mem::transmute_copy::<*mut (), F>(&self.get()) }
    }

    /// Whether the slot holds the code it was compiled with.
    #[inline(always)]
    pub fn runs_original(&self) -> bool {
        self.get() == self.original
    }

    /// The implementation this copy of the code was compiled with.
    pub fn original(&self) -> *mut () {
        self.original
    }

    /// Points the slot at `implementation`; trampolines see it on their
    /// next call.
    ///
    /// # Safety
    /// `implementation` must be a function of exactly the type the slot's
    /// trampoline transmutes it to, and stay mapped for as long as the slot
    /// can be read.
    #[doc(hidden)]
    pub unsafe fn set(&self, implementation: *mut ()) {
        self.current.store(implementation, Ordering::Release);
    }
}

/// Registration of one hot function, written by `#[hot]`.
#[repr(C)]
pub struct Entry {
    /// The host's (or a generation's) slot for the function.
    pub slot: Slot,
    /// `module_path!()` plus the function's name (and the self type, for
    /// methods): stable across builds of the same source.
    pub path: &'static str,
    /// The slot's function pointer type as written, `Self` spelled out.
    pub signature: &'static str,
    /// Adds the layout fingerprint of every argument and return type.
    pub layout: fn(&mut TypeLayouts),
    /// Hash of the signature and body tokens: tells which functions an edit
    /// touched.
    pub source_hash: u64,
    /// `CARGO_PKG_NAME` of the package that defines the function.
    pub package: &'static str,
    /// `CARGO_MANIFEST_DIR` of that package.
    pub manifest_dir: &'static str,
    /// What its trampoline does with a call whose new code panicked and
    /// was rolled back (for the report).
    pub after_rollback: PanickedCall,
}

impl Entry {
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        implementation: *mut (),
        path: &'static str,
        signature: &'static str,
        layout: fn(&mut TypeLayouts),
        source_hash: u64,
        package: &'static str,
        manifest_dir: &'static str,
    ) -> Entry {
        Entry {
            slot: Slot::new(implementation),
            path,
            signature,
            layout,
            source_hash,
            package,
            manifest_dir,
            after_rollback: PanickedCall::Panicked,
        }
    }

    /// The entry, saying what its trampoline does after a rollback.
    #[doc(hidden)]
    pub const fn after_rollback(self, call: PanickedCall) -> Entry {
        Entry {
            after_rollback: call,
            ..self
        }
    }

    /// The layout fingerprints of the function's argument and return types.
    pub fn layouts(&self) -> TypeLayouts {
        let mut layouts = TypeLayouts::default();
        (self.layout)(&mut layouts);
        layouts
    }
}

/// Calls running in this build's code, counted only once the host asks
/// (`Reloader::count_calls`, or unloading old builds): each loaded build
/// has its own copy, so its count is that generation's.
#[repr(C)]
pub struct Calls {
    /// Set by the host; off, a hot call of this build only reads it.
    pub counting: AtomicBool,
    /// Hot calls of this build running now, and futures of its hot `async
    /// fn`s not yet dropped.
    pub in_flight: AtomicUsize,
}

/// This build's [`Calls`].
pub static CALLS: Calls = Calls {
    counting: AtomicBool::new(false),
    in_flight: AtomicUsize::new(0),
};

impl Calls {
    /// Counts a call in, if counting; returns whether it did (the caller
    /// counts it out with [`Calls::leave`] then).
    #[inline(always)]
    pub fn enter(&self) -> bool {
        let counting = self.counting.load(Ordering::Relaxed);
        if counting {
            self.in_flight.fetch_add(1, Ordering::Relaxed);
        }
        counting
    }

    /// Counts out a call [`Calls::enter`] counted.
    #[inline(always)]
    pub fn leave(&self, counted: bool) {
        if counted {
            self.in_flight.fetch_sub(1, Ordering::Release);
        }
    }
}

crate::section::section! {
    /// Every hot function linked into this binary or dylib.
    pub static ENTRIES: [Entry] = ("hotreload_entries", "__hr_entries");
}

/// Which sources a package was compiled from: a hash of every `.rs` file
/// under its `src/` as the `#[hot]` macro read them while the compiler built
/// it (`hotreload_syntax::sources`), once per crate and compilation. The
/// reloader compares it with the files it reads at start: the same, and it
/// knows what the program runs, so the first edit can be a quick build.
#[doc(hidden)]
#[repr(C)]
pub struct BuiltFrom {
    /// `CARGO_MANIFEST_DIR` of the package.
    pub manifest_dir: &'static str,
    /// The hash of its sources.
    pub sources: u64,
}

crate::section::section! {
    /// The sources the packages of this binary were built from (none in a
    /// quick build).
    pub static BUILT_FROM: [BuiltFrom] = ("hotreload_built_from", "__hr_built_from");
}

/// A hot function that a quick build left unchanged: no body, no entry,
/// only its trampoline, which calls through the program's own slot (found
/// by the host by `path` when it loads the build, before any of its code
/// runs). See the runtime's `build::quick` module (and the macro crate's
/// `thin`).
#[repr(C)]
pub struct Thin {
    /// As [`Entry::path`].
    pub path: &'static str,
    /// The program's slot for the function, once the host linked it.
    pub slot: HostLink<Slot>,
}

impl Thin {
    #[doc(hidden)]
    pub const fn new(path: &'static str) -> Thin {
        Thin {
            path,
            slot: HostLink::new(),
        }
    }

    /// The program's slot (linked before any code of this build runs).
    #[inline(always)]
    pub fn slot(&self) -> &'static Slot {
        match self.slot.get() {
            Some(slot) => slot,
            None => unlinked(self.path),
        }
    }
}

#[cold]
#[inline(never)]
fn unlinked(path: &str) -> ! {
    panic!("hotreload: the quick build's `{path}` was not linked to the program's slot")
}

/// The program's slot for a thin function (`#[hot]` in a quick build):
/// `thin_slot!("::name")` declares the function's [`Thin`] in its section.
/// A `macro_rules!`, so that `#[hot]` emits a few tokens per function
/// instead of the declaration.
#[doc(hidden)]
#[macro_export]
macro_rules! __hotreload_thin_slot {
    ($suffix:literal) => {{
        #[used]
        #[cfg_attr(not(target_vendor = "apple"), unsafe(link_section = "hotreload_thin"))]
        #[cfg_attr(
            target_vendor = "apple",
            unsafe(link_section = "__DATA,__hr_thin,regular,no_dead_strip")
        )]
        static __HOTRELOAD_THIN: $crate::registry::Thin =
            $crate::registry::Thin::new(::core::concat!(::core::module_path!(), $suffix));
        __HOTRELOAD_THIN.slot()
    }};
}

/// A hot function's [`Entry`] in its section, with the layout probes of its
/// signature's types (`(label, tag, type)`, see
/// [`TypeLayouts::add`](crate::layout::TypeLayouts::add)). A
/// `macro_rules!` for the same reason as [`__hotreload_thin_slot!`]: the
/// compiler expands it far faster than it takes the same tokens from a
/// proc macro (they were half of the `#[hot]` expansion's tokens).
#[doc(hidden)]
#[macro_export]
macro_rules! __hotreload_entry {
    (
        $entry:ident, $implementation:expr, $suffix:literal, $signature:literal, $hash:literal,
        $after_rollback:ident, [$(($label:literal, $tag:literal, $ty:ty)),*]
    ) => {
        #[doc(hidden)]
        #[used]
        #[cfg_attr(not(target_vendor = "apple"), unsafe(link_section = "hotreload_entries"))]
        #[cfg_attr(
            target_vendor = "apple",
            unsafe(link_section = "__DATA,__hr_entries,regular,no_dead_strip")
        )]
        static $entry: $crate::registry::Entry = $crate::registry::Entry::new(
            $implementation,
            ::core::concat!(::core::module_path!(), $suffix),
            $signature,
            {
                fn layout(types: &mut $crate::layout::TypeLayouts) {
                    // Its `TypeId` is the crate's identity.
                    struct Identity;
                    types.identity::<Identity>();
                    #[allow(unused_imports)]
                    use $crate::layout::{DeepLayout as _, NameLayout as _, ShallowLayout as _};
                    $(types.add($label, $tag, (&&&$crate::layout::Probe::<$ty>::new()).feed());)*
                }
                layout
            },
            $hash,
            ::core::env!("CARGO_PKG_NAME"),
            ::core::env!("CARGO_MANIFEST_DIR"),
        )
        .after_rollback($crate::panic::PanickedCall::$after_rollback);
    };
}

/// `Compiled::<true>` in a reloaded build (`--cfg hotreload_build`, which
/// direct hot builds pass), else `Compiled::<false>`: picked by `cfg`
/// attributes in the crate it expands in, rather than written
/// `Compiled::<{ cfg!(hotreload_build) }>` (an anonymous constant is one
/// more body for the compiler to check and evaluate per use: 0.25 ms each,
/// a tenth of a full build of a library with 400 hot functions).
#[doc(hidden)]
#[macro_export]
macro_rules! __hotreload_compiled {
    () => {{
        #[allow(unexpected_cfgs)]
        let compiled = {
            #[cfg(hotreload_build)]
            let compiled = $crate::panic::Compiled::<true>;
            #[cfg(not(hotreload_build))]
            let compiled = $crate::panic::Compiled::<false>;
            compiled
        };
        compiled
    }};
}

/// Names the shared library of dependencies in a hot build that links
/// against one (`--cfg hotreload_deps`; see the runtime's `build/dylib.rs`):
/// rustc links a dylib only if the crate names it. Nothing in any other
/// build.
#[doc(hidden)]
#[macro_export]
macro_rules! __hotreload_link_dependencies {
    () => {
        // The lint level goes on the `const`: on the `extern crate` it
        // would not reach that item's own `cfg`.
        #[allow(unexpected_cfgs)]
        const _: () = {
            #[cfg(hotreload_deps)]
            extern crate hotreload_deps as _;
        };
    };
}

crate::section::section! {
    /// The thin functions of a quick build (none in the program).
    pub static THIN: [Thin] = ("hotreload_thin", "__hr_thin");
}

/// Bumped whenever [`Manifest`], [`Entry`] or `HostHooks` change shape; part of the
/// exported symbol's name, so a build with another layout has no symbol the
/// host would misread.
pub const MANIFEST_SYMBOL: &[u8] = b"hotreload_manifest_v8\0";

/// What a build says about itself. Read by the host after `dlopen`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Manifest {
    /// The runtime crate's version.
    pub runtime_version: &'static str,
    /// `rustc -V` of the compiler that built the runtime.
    pub rustc: &'static str,
    /// The target triple.
    pub target: &'static str,
    /// Whether the runtime was compiled with debug assertions (the profile).
    pub debug_assertions: bool,
    /// The hot functions in this build.
    pub entries: &'static [Entry],
    /// The hot statics in this build.
    pub statics: &'static [StaticEntry],
    /// Where the host installs its hooks into this build.
    pub host_hooks: &'static HostLink<HostHooks>,
    /// The calls running in this build.
    pub calls: &'static Calls,
    /// The functions this build left to the program's code.
    pub thin: &'static [Thin],
}

impl Manifest {
    /// The manifest of the code this function is compiled into.
    pub fn current() -> Manifest {
        Manifest {
            runtime_version: env!("CARGO_PKG_VERSION"),
            rustc: env!("HOTRELOAD_RUSTC_VERSION"),
            target: env!("HOTRELOAD_TARGET"),
            debug_assertions: cfg!(debug_assertions),
            entries: &ENTRIES,
            statics: &STATICS,
            host_hooks: &HOST_HOOKS,
            calls: &CALLS,
            thin: &THIN,
        }
    }
}

/// Exported from every reloadable build (this core crate is linked into
/// the user's cdylib, in place of the runtime unless the library uses more
/// of it). Only meaningful to a host with the same runtime version,
/// which [`MANIFEST_SYMBOL`] ensures.
#[cfg(feature = "reload")]
#[unsafe(no_mangle)]
#[allow(improper_ctypes_definitions)]
pub extern "C" fn hotreload_manifest_v8() -> Manifest {
    Manifest::current()
}
