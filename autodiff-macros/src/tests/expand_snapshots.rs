use super::expand_pretty;
use quote::quote;

#[test]
fn debug_print() {
    println!(
        "{}",
        expand_pretty(
            quote!(),
            quote! {
                pub fn f(x: f64, y: f64) -> f64 {
                    match x { _ => y }
                }
            }
        )
    );
}
