//! A file with the items not kept replaced by blanks.

use super::Item;

/// `text` with the items of `items` not kept replaced by blanks (each
/// byte a space, line breaks kept): the rest at its line and byte offset
/// (and column, unless a removed item with non-ASCII text shares its
/// line).
pub fn blank(text: &str, items: &[Item], kept: &[bool]) -> String {
    let mut out = text.as_bytes().to_vec();
    for (item, _) in items.iter().zip(kept).filter(|(_, kept)| !**kept) {
        let Some(gone) = text.get(item.range.clone()) else {
            continue;
        };
        out[item.range.clone()].fill(b' ');
        for line_break in ['\n', '\r'] {
            for (at, _) in gone.match_indices(line_break) {
                out[item.range.start + at] = line_break as u8;
            }
        }
    }
    // Whole characters were replaced by ASCII spaces.
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}
