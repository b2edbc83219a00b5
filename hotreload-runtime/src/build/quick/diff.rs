//! An edit inside one hot body, told without parsing: the common prefix
//! and suffix of the old and new text fall around one body.

use super::parse::File;
use super::prune;

/// If `text` differs from the file's text only inside one hot function's
/// body, marks that function dirty, moves the others, and returns true.
pub(super) fn edit_one_body(file: &mut File, text: &str) -> bool {
    let (old, new) = (file.text.as_bytes(), text.as_bytes());
    let prefix = common(old, new, false);
    let suffix = common(&old[prefix..], &new[prefix..], true);
    let (old_end, new_end) = (old.len() - suffix, new.len() - suffix);
    let Some(index) = file
        .hot
        .iter()
        .position(|hot| hot.body.start < prefix && old_end < hot.body.end)
    else {
        return false;
    };
    // Its new body is one block (else the file is parsed again: a body
    // closed early and followed by a new item is not a body's edit).
    let body_end =
        (file.hot[index].body.end as isize + new_end as isize - old_end as isize) as usize;
    let refs = text
        .get(file.hot[index].body.start..body_end)
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
    let newlines = |bytes: &[u8]| bytes.iter().filter(|&&b| b == b'\n').count() as isize;
    let lines = newlines(&new[prefix..new_end]) - newlines(&old[prefix..old_end]);
    let bytes = new_end as isize - old_end as isize;
    let moved = |at: usize, by: isize| (at as isize + by) as usize;
    for (other, hot) in file.hot.iter_mut().enumerate() {
        if other == index {
            hot.dirty = true;
            hot.body.end = moved(hot.body.end, bytes);
            hot.refs.clone_from(&refs);
        } else if hot.body.start >= old_end {
            hot.line = moved(hot.line, lines);
            hot.body = moved(hot.body.start, bytes)..moved(hot.body.end, bytes);
        }
    }
    for item in &mut file.items {
        if item.range.start >= old_end {
            item.range = moved(item.range.start, bytes)..moved(item.range.end, bytes);
        } else if item.range.end >= old_end {
            item.range.end = moved(item.range.end, bytes);
        }
    }
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
