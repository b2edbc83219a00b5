//! The argument grammar of `#[hot(...)]` and of `#[layout(...)]` on a
//! `#[derive(Layout)]`.

use proc_macro2::TokenStream;
use syn::parse::Parser;

/// Arguments given to `#[hot]` or `#[layout]`.
pub struct Args {
    /// Path to the runtime crate; `::hotreload_runtime` unless `crate = "…"`.
    pub krate: syn::Path,
    /// The future of a hot `async fn` is `Send` (it has to be, to cross
    /// the slot as one type) unless `#[hot(?Send)]`.
    pub send: bool,
}

impl Default for Args {
    fn default() -> Args {
        Args {
            krate: syn::parse_quote!(::hotreload_runtime),
            send: true,
        }
    }
}

impl Args {
    /// Parses the arguments of the attribute `name` (for messages).
    pub fn parse(name: &str, tokens: TokenStream) -> syn::Result<Args> {
        let (send, tokens) = match strip_not_send(tokens) {
            Ok(rest) if name == "hot" => (false, rest),
            Ok(rest) => {
                return Err(syn::Error::new_spanned(
                    rest,
                    format!("`?Send` is an argument of #[hot], not of #[{name}]"),
                ));
            }
            Err(tokens) => (true, tokens),
        };
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
                let send = if name == "hot" {
                    "`?Send` (on an `async fn` whose future is not `Send`) and "
                } else {
                    ""
                };
                Err(meta.error(format!(
                    "unknown argument to #[{name}]; the arguments are {send}`crate = \
                     \"path::to::hotreload_runtime\"`"
                )))
            }
        });
        parser.parse2(tokens)?;
        Ok(Args {
            krate: krate.unwrap_or_else(|| Args::default().krate),
            send,
        })
    }
}

/// The tokens after a leading `?Send` (and its comma), or all of them
/// back if they do not start with it.
fn strip_not_send(tokens: TokenStream) -> Result<TokenStream, TokenStream> {
    use proc_macro2::TokenTree;
    let all: Vec<TokenTree> = tokens.clone().into_iter().collect();
    match all.as_slice() {
        [
            TokenTree::Punct(question),
            TokenTree::Ident(send),
            rest @ ..,
        ] if question.as_char() == '?' && send == "Send" => {
            let rest = match rest {
                [TokenTree::Punct(comma), rest @ ..] if comma.as_char() == ',' => rest,
                rest => rest,
            };
            Ok(rest.iter().cloned().collect())
        }
        _ => Err(tokens),
    }
}
