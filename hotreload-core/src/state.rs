//! Statics that survive a reload: `#[hot] static HITS: AtomicU64 = ..;`.
//! Every build has its own instance of a `static` (a reloaded build starts
//! from the initializer again); a hot static is a [`HotStatic`] that
//! dereferences to the *program's* instance in every build, keyed by the
//! static's path, with its type's layout checked like a hot function's
//! arguments. The type must be `Sync` (statics are shared) and have
//! interior mutability to change (`Atomic*`, `Mutex`, `OnceLock`...).

use crate::host_link::HostLink;
use crate::layout::TypeLayouts;

/// A hot static: this build's own instance, and where the program's is.
pub struct HotStatic<T: 'static> {
    own: &'static T,
    program: HostLink<T>,
}

impl<T: 'static> HotStatic<T> {
    #[doc(hidden)]
    pub const fn new(own: &'static T) -> HotStatic<T> {
        HotStatic {
            own,
            program: HostLink::new(),
        }
    }

    /// The instance this build's code uses: the program's, once the host
    /// has pointed this build at it, else its own (in the program itself).
    #[inline]
    pub fn get(&self) -> &'static T {
        self.program.get().unwrap_or(self.own)
    }
}

impl<T: 'static> std::ops::Deref for HotStatic<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        self.get()
    }
}

/// Registration of one hot static, written by `#[hot]`.
#[repr(C)]
pub struct StaticEntry {
    /// `module_path!()` and the static's name.
    pub path: &'static str,
    /// The type as written, for messages.
    pub type_name: &'static str,
    /// Adds the layout fingerprint of the type.
    pub layout: fn(&mut TypeLayouts),
    /// This build's own instance.
    pub own: *const (),
    /// Where this build finds the program's instance.
    pub program: &'static HostLink<()>,
    /// `CARGO_PKG_NAME` of the defining package.
    pub package: &'static str,
}

// SAFETY: `own` points at a `static` of a `Sync` type (the expansion
// requires it); the rest is shared references and function pointers.
unsafe impl Sync for StaticEntry {}

impl StaticEntry {
    #[doc(hidden)]
    pub const fn new<T: Sync + 'static>(
        value: &'static HotStatic<T>,
        path: &'static str,
        type_name: &'static str,
        layout: fn(&mut TypeLayouts),
        package: &'static str,
    ) -> StaticEntry {
        StaticEntry {
            path,
            type_name,
            layout,
            own: value.own as *const T as *const (),
            // SAFETY: `HostLink<T>` and `HostLink<()>` have one layout (a
            // pointer); what may be stored through it is `HostLink::set`'s
            // contract.
            program: unsafe { &*(&raw const value.program).cast::<HostLink<()>>() },
            package,
        }
    }

    /// The layout fingerprint of the static's type.
    pub fn layouts(&self) -> TypeLayouts {
        let mut layouts = TypeLayouts::default();
        (self.layout)(&mut layouts);
        layouts
    }
}

crate::section::section! {
    /// Every hot static linked into this binary or dylib.
    pub static STATICS: [StaticEntry] = ("hotreload_statics", "__hr_statics");
}
