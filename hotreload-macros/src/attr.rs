//! The argument grammar of `#[hot(...)]` and of `#[layout(...)]` on a
//! `#[derive(Layout)]`.

use proc_macro2::TokenStream;
use syn::parse::Parser;

/// Arguments given to `#[hot]` or `#[layout]`.
pub struct Args {
    /// Path to the runtime crate; `::hotreload_runtime` unless `crate = "…"`.
    pub krate: syn::Path,
}

impl Default for Args {
    fn default() -> Args {
        Args {
            krate: syn::parse_quote!(::hotreload_runtime),
        }
    }
}

impl Args {
    /// Parses the arguments of the attribute `name` (for messages).
    pub fn parse(name: &str, tokens: TokenStream) -> syn::Result<Args> {
        let mut krate: Option<syn::Path> = None;
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("crate") {
                if krate.is_some() {
                    return Err(meta.error("`crate` is given twice"));
                }
                let lit: syn::LitStr = meta.value()?.parse()?;
                krate = Some(lit.parse()?);
                Ok(())
            } else {
                Err(meta.error(format!(
                    "unknown argument to #[{name}]; the only argument is `crate = \"path::to::hotreload_runtime\"`"
                )))
            }
        });
        parser.parse2(tokens)?;
        Ok(Args {
            krate: krate.unwrap_or_else(|| Args::default().krate),
        })
    }
}
