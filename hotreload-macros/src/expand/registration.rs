//! The registry entry, in the linker section the core crate reads, with
//! the signature and layout probes the reloader compares.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};
use syn::visit_mut::VisitMut;
use syn::{Signature, Type};

use crate::probe::probe;
use crate::signature::Pointer;

use super::hot_fn::HotFn;
use super::names::Names;
use super::trampoline::AfterRollback;
use super::types::{StaticLifetimes, compact};

impl HotFn<'_> {
    /// The registry entry, whose slot starts at the statically linked
    /// thunk (no build, no dylib until the first edit).
    pub(super) fn registration(
        &self,
        private: &TokenStream,
        names: &Names,
        pointer: &Pointer,
        after_rollback: AfterRollback,
    ) -> TokenStream {
        let (inputs, output) = self.display_types(false);
        let signature = compact(&display_pointer(self.sig, &inputs, &output));
        let (inputs, output) = self.display_types(true);
        let source_hash = crate::fnv::hash(
            format!(
                "{}{}",
                self.sig.to_token_stream(),
                self.block.to_token_stream()
            )
            .as_bytes(),
        );
        // `!` cannot be named as a type argument (and has no layout).
        let probes = inputs
            .iter()
            .chain(output.iter().filter(|ty| !matches!(ty, Type::Never(_))))
            .map(probe_args);
        let pointer_ty = pointer.ty();
        let (entry, thunk, path) = (&names.entry, &names.thunk, &names.suffix);
        let after_rollback = format_ident!("{}", format!("{:?}", after_rollback));
        quote! {
            #private::entry!(
                #entry,
                #thunk as #pointer_ty as *mut (),
                #path,
                #signature,
                #source_hash,
                #after_rollback,
                [#(#probes),*]
            );
        }
    }
}

/// The attributes that put a static in the linker section `elf` (`macho`
/// on Apple targets), which the core crate reads back (its `section.rs`,
/// whose names these must be).
pub(super) fn section_attrs(elf: &str, macho: &str) -> TokenStream {
    let macho = format!("__DATA,{macho},regular,no_dead_strip");
    quote! {
        #[used]
        #[cfg_attr(not(target_vendor = "apple"), unsafe(link_section = #elf))]
        #[cfg_attr(target_vendor = "apple", unsafe(link_section = #macho))]
    }
}

/// Which sources the crate is compiled from (the core crate's `BuiltFrom`),
/// in the expansion of the first hot function of a crate and compilation
/// (this process expands one crate). Not in quick builds
/// (`HOTRELOAD_THIN`), which compile a pruned copy, nor where a file cannot
/// be read, nor in this crate's tests (its snapshots would change with
/// every edit of its sources).
pub(super) fn built_from(private: &TokenStream) -> TokenStream {
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if cfg!(test)
        || std::env::var_os("HOTRELOAD_THIN").is_some()
        || DONE.swap(true, std::sync::atomic::Ordering::Relaxed)
    {
        return TokenStream::new();
    }
    let sources = std::env::var_os("CARGO_MANIFEST_DIR").and_then(|dir| {
        hotreload_syntax::sources::hash_dir(&std::path::Path::new(&dir).join("src"))
    });
    let Some(sources) = sources else {
        return TokenStream::new();
    };
    let section = section_attrs("hotreload_built_from", "__hr_built_from");
    quote! {
        const _: () = {
            #section
            static BUILT_FROM: #private::BuiltFrom = #private::BuiltFrom {
                manifest_dir: ::core::env!("CARGO_MANIFEST_DIR"),
                sources: #sources,
            };
        };
    }
}

/// Names the shared library of dependencies in a hot build that links
/// against one (the core crate's `link_dependencies!`): once per crate, in
/// the expansion of the first hot function this compiler process expands
/// (it expands one crate; a module left out by its `cfg` expands none).
pub(super) fn link_dependencies(private: &TokenStream) -> TokenStream {
    static NAMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if NAMED.swap(true, std::sync::atomic::Ordering::Relaxed) && !cfg!(test) {
        return TokenStream::new();
    }
    quote!(#private::link_dependencies!();)
}

/// The function type as the user wrote it, `Self` spelled out: what the
/// registry shows in a refusal (`fn(&Player) -> i32`).
pub(super) fn display_pointer(
    sig: &Signature,
    inputs: &[Type],
    output: &Option<Type>,
) -> TokenStream {
    let lifetimes: Vec<_> = sig.generics.lifetimes().map(|l| &l.lifetime).collect();
    let binder = (!lifetimes.is_empty()).then(|| quote!(for<#(#lifetimes),*>));
    let unsafety = &sig.safety;
    let asyncness = &sig.asyncness;
    let output = output.as_ref().map(|ty| quote!(-> #ty));
    quote!(#binder #asyncness #unsafety fn(#(#inputs),*) #output)
}

/// The label of `ty` (the type as written), the tag of the references
/// looked through (what matters is the layout of the data they point at)
/// and the type probed.
fn probe_parts(ty: &Type) -> (String, String, Type) {
    let mut ty = ty.clone();
    let mut tags = Vec::new();
    while let Type::Reference(reference) = ty {
        tags.push(if reference.mutability.is_some() {
            "&mut"
        } else {
            "&"
        });
        ty = *reference.elem;
    }
    let tags = tags.concat();
    let label = compact(&ty);
    StaticLifetimes.visit_type_mut(&mut ty);
    (label, tags, ty)
}

/// `types.add(label, tag, feed)` of `ty` (for a hot static's layout).
pub(super) fn probe_statement(private: &TokenStream, ty: &Type) -> TokenStream {
    let (label, tags, ty) = probe_parts(ty);
    let probe = probe(private, &ty);
    quote! {
        types.add(#label, #tags, #probe);
    }
}

/// `(label, tag, type)` of `ty`, for the core crate's `entry!`.
fn probe_args(ty: &Type) -> TokenStream {
    let (label, tags, ty) = probe_parts(ty);
    quote!((#label, #tags, #ty))
}
