//! Attribute macros stacked on `#[hot]` see the user's code: argument
//! names as written, in either order. `#[instrument]` below `#[hot]`
//! (applied to the function the program calls) and above it (applied to
//! the body `#[hot]` reloads) makes span fields of the argument names,
//! before and after a reload; `skip(secret)` and a `contracts` precondition
//! name arguments and compile; and no lint fires that the unmarked code
//! would not fire.

use hotreload_tests::Fixture;

/// The fmt subscriber's line for an event in span `span`:
/// `INFO below{count=3 label="b"}: below v1`.
fn event<'a>(line: &'a str, span: &str) -> Option<(&'a str, &'a str)> {
    let rest = line.trim_start().strip_prefix("INFO ")?;
    let (fields, message) = rest
        .strip_prefix(span)?
        .strip_prefix('{')?
        .split_once("}: ")?;
    Some((fields, message))
}

fn fields_without_count(fields: &str) -> String {
    fields
        .split(' ')
        .filter(|field| !field.starts_with("count="))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn attribute_macros_see_the_argument_names_in_either_order() {
    let (fixture, mut program) = Fixture::running("attributes");
    program.expect_stderr("the ready line", |line| {
        line.starts_with("[hotreload] ready:")
    });
    for version in ["v1", "v2"] {
        if version == "v2" {
            let text = fixture.read("src/lib.rs").replace(" v1\"", " v2\"");
            fixture.write("src/lib.rs", &text);
            let reload = program.expect_stderr("the reload", |line| {
                line.starts_with("[hotreload] reloaded")
            });
            // Nothing the same code without `#[hot]` would not warn about.
            assert!(!reload.contains("warning"), "{reload}");
            program.expect_stdout("the update", |line| line == "update=reloaded");
        }
        for (span, fields) in [("below", "label=\"b\""), ("above", "label=\"a\"")] {
            let message = format!("{span} {version}");
            let line = program.expect_stdout(&message, |line| {
                event(line, span).is_some_and(|(_, text)| text == message)
            });
            let (got, _) = event(&line, span).expect("matched");
            assert!(got.starts_with("count="), "{line}");
            assert_eq!(fields_without_count(got), fields, "{line}");
        }
        let message = format!("skipped {version}");
        let line = program.expect_stdout(&message, |line| {
            event(line, "skipped").is_some_and(|(_, text)| text == message)
        });
        assert_eq!(
            event(&line, "skipped").map(|(fields, _)| fields),
            Some("id=7"),
            "{line}"
        );
        program.expect_stdout(&format!("checked {version}"), |line| {
            line.trim_start() == format!("INFO checked {version}")
        });
    }
}
