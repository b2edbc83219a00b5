//! An edit inside one hot body, or inside one plain item's body, told
//! without parsing the file: the common prefix and suffix of the old and
//! new text fall around that body.

use std::ops::Range;

use super::parse::{File, PlainItem, plain_again};
use super::prune;

/// Where `new` differs from `old`: from `start`, `old_end` in `old` and
/// `new_end` in `new`.
struct Edit {
    start: usize,
    old_end: usize,
    new_end: usize,
}

impl Edit {
    fn of(old: &str, new: &str) -> Edit {
        let (old, new) = (old.as_bytes(), new.as_bytes());
        let start = common(old, new, false);
        let suffix = common(&old[start..], &new[start..], true);
        Edit {
            start,
            old_end: old.len() - suffix,
            new_end: new.len() - suffix,
        }
    }

    /// Whether it lies inside `body` (its delimiters unchanged).
    fn inside(&self, body: &Range<usize>) -> bool {
        body.start < self.start && self.old_end < body.end
    }

    /// How many bytes longer it made the text.
    fn bytes(&self) -> isize {
        self.new_end as isize - self.old_end as isize
    }

    /// `range` of the old text in the new: moved if after the edit,
    /// longer or shorter if around it.
    fn moved(&self, range: &mut Range<usize>) {
        let by = |at: usize| (at as isize + self.bytes()) as usize;
        if range.start >= self.old_end {
            *range = by(range.start)..by(range.end);
        } else if range.end >= self.old_end {
            range.end = by(range.end);
        }
    }

    /// Moves everything the file knows by position past the edit to where
    /// it is in `text`.
    fn apply(&self, file: &mut File, text: &str) {
        let newlines = |bytes: &[u8]| bytes.iter().filter(|&&b| b == b'\n').count() as isize;
        let lines = newlines(&text.as_bytes()[self.start..self.new_end])
            - newlines(&file.text.as_bytes()[self.start..self.old_end]);
        for hot in &mut file.hot {
            if hot.body.start >= self.old_end {
                hot.line = (hot.line as isize + lines) as usize;
            }
            self.moved(&mut hot.body);
        }
        for plain in &mut file.plain {
            self.moved(&mut plain.range);
            if let Some(body) = &mut plain.body {
                self.moved(body);
            }
        }
        for item in &mut file.items {
            self.moved(&mut item.range);
        }
        file.text = text.to_string();
    }
}

/// If `text` differs from the file's text only inside one hot function's
/// body, marks that function dirty, moves the others, and returns true.
pub(super) fn edit_one_body(file: &mut File, text: &str) -> bool {
    let edit = Edit::of(&file.text, text);
    let Some(index) = file.hot.iter().position(|hot| edit.inside(&hot.body)) else {
        return false;
    };
    // Its new body is one block (else the file is parsed again: a body
    // closed early and followed by a new item is not a body's edit).
    let mut body = file.hot[index].body.clone();
    edit.moved(&mut body);
    let refs = text
        .get(body)
        .and_then(|body| body.parse::<proc_macro2::TokenStream>().ok())
        .and_then(|body| {
            let mut tokens = body.into_iter();
            match (tokens.next(), tokens.next()) {
                (Some(proc_macro2::TokenTree::Group(block)), None)
                    if block.delimiter() == proc_macro2::Delimiter::Brace =>
                {
                    let mut refs = Vec::new();
                    prune::identifiers(block.stream(), &mut refs);
                    Some(refs)
                }
                _ => None,
            }
        });
    // Spans were made: free the text proc-macro2 keeps for them.
    proc_macro2::extra::invalidate_current_thread_spans();
    let Some(refs) = refs else {
        return false;
    };
    edit.apply(file, text);
    let hot = &mut file.hot[index];
    hot.dirty = true;
    hot.refs = refs;
    true
}

/// If `text` differs from the file's text only inside one plain item's body
/// (a helper's code, a constant's value) and it is still that plain item,
/// takes its new text, moves the others, and returns true: the change is
/// then compared by [`Quick::reached`](super::Quick) as after a parse.
pub(super) fn edit_one_plain(file: &mut File, text: &str) -> bool {
    let edit = Edit::of(&file.text, text);
    let inside = |plain: &PlainItem| plain.body.as_ref().is_some_and(|body| edit.inside(body));
    let Some(index) = file.plain.iter().position(inside) else {
        return false;
    };
    let plain = &file.plain[index];
    // The pruning's item for it, whose names change with it (a constant of
    // an impl is part of the impl's item: parsed again).
    let Some(item) = file.items.iter().position(|item| item.range == plain.range) else {
        return false;
    };
    let mut range = plain.range.clone();
    edit.moved(&mut range);
    let again = text.get(range).and_then(|source| {
        let (tokens, named) = plain_again(source, plain.in_impl, &plain.names)?;
        let names = prune::names_in(source.parse().ok()?);
        Some((tokens, named, names))
    });
    proc_macro2::extra::invalidate_current_thread_spans();
    let Some((tokens, named, (item_refs, words))) = again else {
        return false;
    };
    edit.apply(file, text);
    let plain = &mut file.plain[index];
    plain.text = tokens;
    plain.named = named;
    let item = &mut file.items[item];
    item.refs = item_refs;
    item.words = words;
    true
}

/// How many bytes `a` and `b` start with in common (`from_end`: end
/// with). Compared in blocks first: in the unoptimized runtime, a byte at
/// a time took milliseconds on a long file.
pub(super) fn common(a: &[u8], b: &[u8], from_end: bool) -> usize {
    const BLOCK: usize = 256;
    let len = a.len().min(b.len());
    let (a, b) = if from_end {
        (&a[a.len() - len..], &b[b.len() - len..])
    } else {
        (&a[..len], &b[..len])
    };
    let range = |at: usize, n: usize| {
        if from_end {
            len - at - n..len - at
        } else {
            at..at + n
        }
    };
    let mut same = 0;
    while same + BLOCK <= len && a[range(same, BLOCK)] == b[range(same, BLOCK)] {
        same += BLOCK;
    }
    while same < len && a[range(same, 1)] == b[range(same, 1)] {
        same += 1;
    }
    same
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::parse::parse;
    use super::*;

    const LIB: &str = "/// Tuned by hand.\nconst SPEED: u32 = 3;\n\n\
                       fn helper() -> u32 {\n    SPEED + 1\n}\n\n\
                       #[hot]\nfn a() -> u32 { helper() }\n\n\
                       pub struct S;\n\nimpl S {\n    fn step(&self) -> u32 { 1 }\n}\n\n\
                       #[hot]\nfn b() -> u32 { S.step() }\n";

    /// What an edit told without parsing must agree with a parse of the
    /// new text on: every position, name and text the planner reads.
    fn same_as_parsed(told: &File, text: &str) {
        let parsed = parse(text, Path::new("src/lib.rs")).unwrap();
        assert_eq!(told.text, parsed.text);
        assert_eq!(told.deep, parsed.deep);
        assert_eq!(told.plain, parsed.plain);
        let hot = |file: &File| -> Vec<_> {
            file.hot
                .iter()
                .map(|hot| (hot.line, hot.body.clone(), hot.refs.clone()))
                .collect()
        };
        assert_eq!(hot(told), hot(&parsed));
        assert_eq!(told.items, parsed.items);
    }

    #[test]
    fn a_plain_items_body_edited_is_told_as_a_parse_would() {
        for (from, to) in [
            // A constant's value.
            ("= 3;", "= 30;"),
            // A helper's body, a line longer, naming another item.
            ("    SPEED + 1\n", "    let s = S;\n    SPEED + s.step()\n"),
            // A method of an inherent impl.
            ("{ 1 }", "{\n        2\n    }"),
        ] {
            let mut file = parse(LIB, Path::new("src/lib.rs")).unwrap();
            let text = LIB.replacen(from, to, 1);
            assert!(edit_one_plain(&mut file, &text), "{from:?}");
            same_as_parsed(&file, &text);
        }
        // Not one item any more: parsed.
        let mut file = parse(LIB, Path::new("src/lib.rs")).unwrap();
        let closed_early = LIB.replacen("SPEED + 1\n", "SPEED + 1 }\nfn more() {\n", 1);
        assert!(!edit_one_plain(&mut file, &closed_early));
        assert_eq!(file.text, LIB);
    }

    #[test]
    fn a_hot_body_edited_moves_what_follows_it() {
        let mut file = parse(LIB, Path::new("src/lib.rs")).unwrap();
        let text = LIB.replacen("{ helper() }", "{\n    helper() * 2\n}", 1);
        assert!(edit_one_body(&mut file, &text));
        assert!(file.hot[0].dirty && !file.hot[1].dirty);
        file.hot[0].dirty = false;
        same_as_parsed(&file, &text);
    }
}
