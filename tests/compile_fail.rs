//! Unsupported code is a compile error spanned on the user's tokens. The expected
//! messages (`tests/ui/*.stderr`) are rustc's output on the toolchain pinned in
//! `rust-toolchain.toml`.

#[test]
// rustc's help lists the types that implement a trait, the training stack's among them.
#[cfg_attr(
    not(feature = "train"),
    ignore = "the .stderr files are rustc's output with the default features"
)]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
