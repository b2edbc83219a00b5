//! [`HostLink`]: what the host gives a build it loads, by pointer.

use std::sync::atomic::{AtomicPtr, Ordering};

/// A pointer the host sets in a build it loads, before any code of the
/// build uses it: the program's slot of a function a quick build left to
/// the program, the host's panic hooks, the program's instance of a hot
/// static. Null in the program itself.
///
/// Only [`HostLink::set`], an `unsafe fn`, stores; so [`HostLink::get`]
/// is safe to call from anywhere.
#[repr(transparent)]
pub struct HostLink<T>(AtomicPtr<T>);

impl<T> HostLink<T> {
    /// Not linked.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> HostLink<T> {
        HostLink(AtomicPtr::new(std::ptr::null_mut()))
    }

    /// What the host linked, if it did.
    #[inline(always)]
    pub fn get(&self) -> Option<&'static T> {
        let pointer = self.0.load(Ordering::Acquire);
        // SAFETY: only `set` stores, a `&'static T` its caller vouched
        // for; Acquire pairs with its Release.
        unsafe { pointer.as_ref() }
    }

    /// Links `value`.
    ///
    /// # Safety
    /// `value` must be what code reading this link expects here, beyond
    /// its Rust type: the program's slot of the same function, whose
    /// implementations have this build's function type; the program's
    /// instance of the same static, of this build's type (a `HostLink<()>`
    /// stands for a `HostLink<T>` of it); hooks of a host with this
    /// manifest layout.
    pub unsafe fn set(&self, value: &'static T) {
        self.0
            .store(std::ptr::from_ref(value).cast_mut(), Ordering::Release);
    }
}
