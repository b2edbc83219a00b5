//! Puts `#[hot]` on every item of a source file that the README says may
//! be hot, as a user marking all of a crate would: free functions and
//! `impl` blocks, at module level, outside `#[cfg(test)]` modules and
//! `#[test]` functions. The rest of the text is untouched.

use proc_macro2::LineColumn;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{FnArg, GenericParam, ImplItem, Item, ReturnType, Signature, Type};

/// The attribute that is put on each item.
const MARK: &str = "#[::hotreload_runtime::hot] ";

/// `source` with every item that may be hot marked, and how many were.
pub fn mark_hot(source: &str) -> (String, usize) {
    let file = syn::parse_file(source).expect("the published source parses");
    let mut starts = Vec::new();
    collect(&file.items, &mut starts);
    let lines: Vec<usize> = std::iter::once(0)
        .chain(source.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let offset = |at: LineColumn| {
        let line = lines[at.line - 1];
        line + source[line..]
            .char_indices()
            .nth(at.column)
            .map_or(source.len() - line, |(i, _)| i)
    };
    let mut offsets: Vec<usize> = starts.into_iter().map(offset).collect();
    offsets.sort_unstable();
    let mut marked = source.to_string();
    for at in offsets.iter().rev() {
        marked.insert_str(*at, MARK);
    }
    (marked, offsets.len())
}

fn collect(items: &[Item], starts: &mut Vec<LineColumn>) {
    for item in items {
        match item {
            Item::Fn(f) if free_fn_may_be_hot(f) => starts.push(f.span().start()),
            Item::Impl(i) if impl_may_be_hot(i) => starts.push(i.span().start()),
            Item::Mod(m) if !is_test(&m.attrs) => {
                if let Some((_, items)) = &m.content {
                    collect(items, starts);
                }
            }
            _ => {}
        }
    }
}

fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("test")
            || attr.path().is_ident("cfg")
                && attr.meta.to_token_stream().to_string().contains("test")
    })
}

fn free_fn_may_be_hot(f: &syn::ItemFn) -> bool {
    f.sig.ident != "main" && !is_test(&f.attrs) && signature_may_be_hot(&f.sig, false)
}

/// Free of what `#[hot]` refuses: `const`, `extern`, variadics, type and
/// const generics, bounds, `where`, `impl Trait`.
fn signature_may_be_hot(sig: &Signature, in_impl: bool) -> bool {
    let generics_ok = sig.generics.params.iter().all(|param| match param {
        GenericParam::Lifetime(lifetime) => lifetime.bounds.is_empty(),
        _ => false,
    });
    let receiver_ok = in_impl
        || sig
            .inputs
            .iter()
            .all(|arg| !matches!(arg, FnArg::Receiver(_)));
    let types_ok = sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(pat_type) => Some(&*pat_type.ty),
            FnArg::Receiver(_) => None,
        })
        .chain(match &sig.output {
            ReturnType::Type(_, ty) => Some(&**ty),
            ReturnType::Default => None,
        })
        .all(|ty| !has_impl_trait(ty));
    sig.constness.is_none()
        && sig.abi.is_none()
        && sig.variadic.is_none()
        && sig.generics.where_clause.is_none()
        && generics_ok
        && receiver_ok
        && types_ok
}

fn has_impl_trait(ty: &Type) -> bool {
    struct Find(bool);
    impl<'a> syn::visit::Visit<'a> for Find {
        fn visit_type_impl_trait(&mut self, _: &'a syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut find = Find(false);
    syn::visit::Visit::visit_type(&mut find, ty);
    find.0
}

/// Generic over lifetimes without bounds at most, no `where`, not
/// `unsafe impl`, and with a method that can be hot.
fn impl_may_be_hot(i: &syn::ItemImpl) -> bool {
    let generics_ok = i.generics.params.iter().all(|param| match param {
        GenericParam::Lifetime(lifetime) => lifetime.bounds.is_empty(),
        _ => false,
    });
    generics_ok
        && i.generics.where_clause.is_none()
        && i.unsafety.is_none()
        && !is_test(&i.attrs)
        && i.items.iter().any(|item| match item {
            ImplItem::Fn(method) => signature_may_be_hot(&method.sig, true),
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_what_may_be_hot_and_nothing_else() {
        let source = "/// Doc.\npub fn a() {}\nfn b<T>(t: T) {}\nconst fn c() {}\n\
                      impl X { fn d(&self) {} }\nimpl<T> Y<T> { fn e(&self) {} }\n\
                      mod m { fn f() {} }\n#[cfg(test)]\nmod tests { fn g() {} }\n";
        let (marked, count) = mark_hot(source);
        assert_eq!(count, 3, "{marked}");
        assert!(marked.contains("#[::hotreload_runtime::hot] /// Doc.\npub fn a()"));
        assert!(marked.contains("#[::hotreload_runtime::hot] impl X"));
        assert!(marked.contains("mod m { #[::hotreload_runtime::hot] fn f()"));
    }
}
