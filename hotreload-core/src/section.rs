//! The linker sections that collect every hot function's [`Entry`] and
//! every hot static's [`StaticEntry`] of one binary or library.
//!
//! `#[hot]` puts each entry in a named section itself —
//! `#[used] #[unsafe(link_section = "hotreload_entries")] static ...` — and
//! this module reads the section back between the `__start_`/`__stop_`
//! symbols the linker defines for it (on Apple targets,
//! `section$start$__DATA$...`). Each binary and each loaded library has
//! its own: a cdylib's version script keeps the symbols local, and an
//! executable does not export them.
//!
//! This is what `linkme`'s `distributed_slice` does, without its per-item
//! type-check macro: with 400 hot functions that macro was about half of
//! the tokens `#[hot]` produced, and every rebuild expands it again (see
//! the README's "Many hot functions"). The type check it gives is not
//! needed here: only `#[hot]` writes these sections, always with the
//! section's own element type.
//!
//! [`Entry`]: crate::registry::Entry
//! [`StaticEntry`]: crate::state::StaticEntry

use std::marker::PhantomData;

/// The elements of type `T` that the linker gathered in one section.
pub struct Section<T: 'static> {
    start: *const T,
    stop: *const T,
    _elements: PhantomData<&'static [T]>,
}

// SAFETY: a section is an immutable array of `T` for the life of the
// program (or library); sharing it is sharing `&[T]`.
unsafe impl<T: Sync> Sync for Section<T> {}

impl<T> Section<T> {
    /// # Safety
    /// `start` and `stop` must be the linker's bounds of a section that
    /// holds only `T`s (each `T`'s size a multiple of its alignment, so the
    /// linker packs them without padding).
    #[doc(hidden)]
    pub const unsafe fn new(start: *const T, stop: *const T) -> Section<T> {
        assert!(size_of::<T>() > 0);
        Section {
            start,
            stop,
            _elements: PhantomData,
        }
    }
}

impl<T> std::ops::Deref for Section<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        let bytes = self.stop as usize - self.start as usize;
        // SAFETY: see `new`: the section is `bytes / size_of::<T>()`
        // initialized `T`s from `start`, never written.
        unsafe { std::slice::from_raw_parts(self.start, bytes / size_of::<T>()) }
    }
}

/// Declares `$name: Section<$ty>` over the section `$section` (an ELF
/// section name, a C identifier) or `$macho` (Apple's `__DATA,name`).
/// The element side is the attribute `#[hot]` writes (`section_attrs` in
/// the macro crate), which must name the same sections.
macro_rules! section {
    ($(#[$attr:meta])* $vis:vis static $name:ident: [$ty:ty] = ($section:literal, $macho:literal);) => {
        $(#[$attr])*
        $vis static $name: $crate::section::Section<$ty> = {
            unsafe extern "Rust" {
                #[cfg_attr(not(target_vendor = "apple"), link_name = concat!("__start_", $section))]
                #[cfg_attr(target_vendor = "apple", link_name = concat!("\x01section$start$__DATA$", $macho))]
                static START: $ty;
                #[cfg_attr(not(target_vendor = "apple"), link_name = concat!("__stop_", $section))]
                #[cfg_attr(target_vendor = "apple", link_name = concat!("\x01section$end$__DATA$", $macho))]
                static STOP: $ty;
            }
            // The section exists, and the bounds are defined, even in a
            // binary without any hot item.
            #[used]
            #[cfg_attr(not(target_vendor = "apple"), unsafe(link_section = $section))]
            #[cfg_attr(target_vendor = "apple", unsafe(link_section = concat!("__DATA,", $macho, ",regular,no_dead_strip")))]
            static mut NONE: [$ty; 0] = [];
            // SAFETY: the linker's bounds of a section that only `#[hot]`
            // writes, with `$ty`s: there is one hotreload-core in a
            // program (`links` in its manifest), so one `$ty`.
            unsafe { $crate::section::Section::new(&raw const START, &raw const STOP) }
        };
    };
}

pub(crate) use section;
