//! `#[derive(Differentiable)]`: a struct whose fields are differentiable values is one,
//! field by field. Fields marked `#[inactive]` (hyper-parameters, shapes, names) are
//! cloned by `zero_like` and skipped by everything else.
//!
//! For `struct Layer { w: DMatrix<f32>, b: DVector<f32>, #[inactive] act: Act }`:
//!
//! ```text
//! impl Differentiable for Layer {
//!     fn zero_like(&self) -> Self { Layer { w: self.w.zero_like(), b: .., act: self.act.clone() } }
//!     fn accumulate(&mut self, other: &Self) { self.w.accumulate(&other.w); .. }
//!     fn scale(&mut self, factor: f64) { self.w.scale(factor); .. }
//!     fn visit(&self, prefix, f) { self.w.visit(&join(prefix, "w"), f); .. }
//!     fn visit_mut(&mut self, prefix, f) { .. }
//! }
//! impl ZeroLike for Layer { type Output = Layer; .. }   // the zero generated code asks for
//! ```

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Member};

/// The expansion, or a compile error spanned on what is not supported.
pub fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    match expand(&input) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

struct Field<'a> {
    member: Member,
    ty: &'a syn::Type,
    inactive: bool,
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            input.ident.span(),
            "`Differentiable` can be derived for structs only; write the trait's methods by hand for an enum or union",
        ));
    };
    let fields = fields(&data.fields)?;
    let name = &input.ident;
    let generics = bounded_generics(&input.generics, &fields);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let placeholder = placeholder_impl(input, &data.fields, &fields);
    let zero = construct(&data.fields, &fields, |f| {
        let m = &f.member;
        if f.inactive {
            quote!(::core::clone::Clone::clone(&self.#m))
        } else {
            quote_spanned!(f.ty.span()=> ::autodiff::Differentiable::zero_like(&self.#m))
        }
    });
    let active: Vec<&Field> = fields.iter().filter(|f| !f.inactive).collect();
    let members: Vec<&Member> = active.iter().map(|f| &f.member).collect();
    let names: Vec<String> = members.iter().map(|m| member_name(m)).collect();
    let (other, prefix, f, factor) = (quote!(other), quote!(prefix), quote!(f), quote!(factor));
    Ok(quote! {
        impl #impl_generics ::autodiff::Differentiable for #name #ty_generics #where_clause {
            fn zero_like(&self) -> Self {
                #zero
            }
            fn accumulate(&mut self, #other: &Self) {
                #(::autodiff::Differentiable::accumulate(&mut self.#members, &#other.#members);)*
            }
            fn scale(&mut self, #factor: f64) {
                #(::autodiff::Differentiable::scale(&mut self.#members, #factor);)*
            }
            fn visit(
                &self,
                #prefix: &str,
                #f: &mut dyn ::core::ops::FnMut(&str, ::autodiff::Floats<'_>),
            ) {
                #(::autodiff::Differentiable::visit(&self.#members, &::autodiff::join(#prefix, #names), #f);)*
            }
            fn visit_mut(
                &mut self,
                #prefix: &str,
                #f: &mut dyn ::core::ops::FnMut(&str, ::autodiff::FloatsMut<'_>),
            ) {
                #(::autodiff::Differentiable::visit_mut(&mut self.#members, &::autodiff::join(#prefix, #names), #f);)*
            }
            fn visit_layout(
                &self,
                #prefix: &str,
                #f: &mut dyn ::core::ops::FnMut(&str, ::autodiff::Layout),
            ) {
                #(::autodiff::Differentiable::visit_layout(&self.#members, &::autodiff::join(#prefix, #names), #f);)*
            }
            fn visit_pair(
                &mut self,
                #other: &Self,
                #prefix: &str,
                #f: &mut dyn ::core::ops::FnMut(&str, ::autodiff::FloatsMut<'_>, ::autodiff::Floats<'_>),
            ) {
                #(::autodiff::Differentiable::visit_pair(&mut self.#members, &#other.#members, &::autodiff::join(#prefix, #names), #f);)*
            }
        }

        impl #impl_generics ::autodiff::__private::ZeroLike for #name #ty_generics #where_clause {
            type Output = Self;
            fn zero_like(&self) -> Self {
                ::autodiff::Differentiable::zero_like(self)
            }
        }

        #placeholder
    })
}

/// The struct's generics with the bounds the impls need: the active fields'
/// types are `Differentiable`, the inactive ones' `Clone`.
fn bounded_generics(generics: &syn::Generics, fields: &[Field]) -> syn::Generics {
    let mut generics = generics.clone();
    let clause = generics.make_where_clause();
    for f in fields {
        let ty = f.ty;
        clause.predicates.push(if f.inactive {
            syn::parse_quote!(#ty: ::core::clone::Clone)
        } else {
            syn::parse_quote!(#ty: ::autodiff::Differentiable)
        });
    }
    generics
}

/// The value a pullback returns for a cotangent its caller does not need: placeholders
/// for the active fields, `Default` for the inactive ones.
fn placeholder_impl(input: &DeriveInput, shape: &Fields, fields: &[Field]) -> TokenStream {
    let name = &input.ident;
    let mut generics = input.generics.clone();
    {
        let clause = generics.make_where_clause();
        for f in fields {
            let ty = f.ty;
            clause.predicates.push(if f.inactive {
                syn::parse_quote!(#ty: ::core::default::Default)
            } else {
                syn::parse_quote!(#ty: ::autodiff::__private::Placeholder)
            });
        }
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let value = construct(shape, fields, |f| {
        if f.inactive {
            quote!(::core::default::Default::default())
        } else {
            quote!(::autodiff::__private::Placeholder::placeholder())
        }
    });
    quote! {
        impl #impl_generics ::autodiff::__private::Placeholder for #name #ty_generics #where_clause {
            fn placeholder() -> Self {
                #value
            }
        }
    }
}

fn fields(fields: &Fields) -> syn::Result<Vec<Field<'_>>> {
    let mut out = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        let member = match &field.ident {
            Some(ident) => Member::Named(ident.clone()),
            None => Member::Unnamed(syn::Index {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                span: field.ty.span(),
            }),
        };
        let mut inactive = false;
        for attr in &field.attrs {
            if attr.path().is_ident("inactive") {
                attr.meta.require_path_only()?;
                inactive = true;
            }
        }
        out.push(Field {
            member,
            ty: &field.ty,
            inactive,
        });
    }
    Ok(out)
}

/// `Name { a: .., b: .. }`, `Name(.., ..)` or `Name`, with each field's value from `value`.
fn construct(
    shape: &Fields,
    fields: &[Field],
    value: impl Fn(&Field) -> TokenStream,
) -> TokenStream {
    let values = fields.iter().map(&value);
    match shape {
        Fields::Named(_) => {
            let members = fields.iter().map(|f| &f.member);
            quote!(Self { #(#members: #values),* })
        }
        Fields::Unnamed(_) => quote!(Self(#(#values),*)),
        Fields::Unit => quote!(Self),
    }
}

fn member_name(m: &Member) -> String {
    match m {
        Member::Named(ident) => ident.to_string(),
        Member::Unnamed(index) => index.index.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::derive;
    use quote::quote;

    #[test]
    fn an_enum_is_an_error() {
        let out = derive(quote!(
            enum E {
                A,
            }
        ))
        .to_string();
        assert!(out.contains("compile_error") && out.contains("structs only"));
    }

    #[test]
    fn inactive_fields_are_cloned_and_not_visited() {
        let out = derive(quote!(
            struct L {
                w: f64,
                #[inactive]
                n: usize,
            }
        ))
        .to_string();
        assert!(out.contains("Clone :: clone (& self . n)"));
        assert!(!out.contains("join (prefix , \"n\")"));
        assert!(out.contains("join (prefix , \"w\")"));
    }
}
