//! Every compile error `#[hot]` can give, with the message the user sees.
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test -p
//! hotreload-runtime --features reload --test ui` after a deliberate
//! change.

#[test]
fn misuse_is_a_compile_error_on_the_users_span() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    // Errors of the hot expansion itself, which only the `reload` feature
    // compiles.
    #[cfg(feature = "reload")]
    cases.compile_fail("tests/ui/reload/*.rs");
}
