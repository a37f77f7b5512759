use super::expand_pretty;
use quote::quote;

#[test]
fn debug_print() {
    println!(
        "{}",
        expand_pretty(
            quote!(),
            quote! {
                pub fn f(x: f64, y: f64, n: i32) -> f64 {
                    let a = x * y;
                    let mut b = a.sin() + 2.0 * y;
                    if x > 0.0 {
                        b += x.powi(n);
                    }
                    if y < -1.0 { return b * b; }
                    b.exp() / x
                }
            }
        )
    );
}
