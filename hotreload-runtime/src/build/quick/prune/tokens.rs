//! The names in tokens: identifiers, and the words of string literals.

use std::collections::HashSet;

use proc_macro2::{TokenStream, TokenTree};

use super::outline::unraw;

/// The identifiers in `tokens` (not lifetimes, nor doc comments), and
/// the words of its string literals, each once.
pub fn identifiers(tokens: TokenStream, out: &mut Vec<String>) {
    let mut seen: HashSet<String> = out.drain(..).collect();
    walk(tokens, false, &mut |token| match token {
        Token::Ident(name) => {
            seen.insert(name);
        }
        Token::Word(word, _) => {
            seen.insert(word.to_string());
        }
    });
    out.extend(seen);
    out.sort_unstable();
}

/// The words of the string literals in the attributes in `tokens`, each
/// once (a module named there, as in `#[serde(with = "module")]`, is
/// kept whole).
pub(super) fn literal_words(tokens: TokenStream, out: &mut Vec<String>) {
    let mut seen: HashSet<String> = HashSet::new();
    walk(tokens, false, &mut |token| {
        if let Token::Word(word, true) = token {
            seen.insert(word.to_string());
        }
    });
    out.extend(seen);
    out.sort_unstable();
}

pub(super) enum Token<'a> {
    Ident(String),
    /// A word of a string literal, and whether it is in an attribute.
    Word(&'a str, bool),
}

pub(super) fn walk(tokens: TokenStream, in_attribute: bool, found: &mut dyn FnMut(Token)) {
    let mut tokens = tokens.into_iter().peekable();
    let mut lifetime = false;
    while let Some(token) = tokens.next() {
        // Doc comments (`#[doc = "..."]`) name nothing the code uses.
        if let TokenTree::Punct(punct) = &token
            && punct.as_char() == '#'
            && let Some(TokenTree::Group(group)) = tokens.peek()
            && group.delimiter() == proc_macro2::Delimiter::Bracket
            && matches!(group.stream().into_iter().next(), Some(TokenTree::Ident(i)) if i == "doc")
        {
            tokens.next();
            continue;
        }
        if let TokenTree::Punct(punct) = &token
            && punct.as_char() == '#'
            && let Some(TokenTree::Group(group)) = tokens.peek()
            && group.delimiter() == proc_macro2::Delimiter::Bracket
        {
            walk(group.stream(), true, found);
            tokens.next();
            continue;
        }
        let after_quote = std::mem::replace(
            &mut lifetime,
            matches!(&token, TokenTree::Punct(p) if p.as_char() == '\''),
        );
        match token {
            TokenTree::Ident(ident) if !after_quote => found(Token::Ident(unraw(&ident))),
            TokenTree::Ident(_) | TokenTree::Punct(_) => {}
            TokenTree::Group(group) => walk(group.stream(), in_attribute, found),
            TokenTree::Literal(literal) => {
                let text = literal.to_string();
                // A string (raw and byte ones too), not a number or a
                // character.
                if text.contains('"') {
                    for word in text
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .filter(|word| word.starts_with(|c: char| c.is_alphabetic() || c == '_'))
                    {
                        found(Token::Word(word, in_attribute));
                    }
                }
            }
        }
    }
}
