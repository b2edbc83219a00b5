//! What `#[hot]` accepts, in one place for the two that must agree: the
//! `#[hot]` macro (`hotreload-macros`), which refuses what cannot be hot
//! with an error on the user's code and leaves a method that cannot be hot
//! in a hot `impl` block as written, and the reloader
//! (`hotreload-runtime`), which reads the package's sources to tell which
//! function bodies an edit touched and must see the same methods as hot;
//! and which sources a program was built from ([`sources`]), which both
//! compute.
//!
//! A proc-macro crate can export nothing but macros, so the rules live in
//! this small crate that both depend on. Use them through
//! `hotreload-runtime`; this crate is not an API of its own.

#![warn(missing_docs)]

pub mod sources;
pub mod valid;
