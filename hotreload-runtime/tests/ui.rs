//! Every compile error `#[hot]` can give, with the message the user sees.
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test -p
//! hotreload-runtime --features reload --test ui` after a deliberate
//! change.
//!
//! Only with the `reload` feature: without it `#[hot]` hands the item back
//! unread (a build without the feature costs what one without `#[hot]`
//! does), so misuse is reported only where it would matter.

#[cfg(feature = "reload")]
#[test]
fn misuse_is_a_compile_error_on_the_users_span() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
