//! Unsupported code is a compile error spanned on the user's tokens. The expected
//! messages (`tests/ui/*.stderr`) are rustc's output on the toolchain pinned in
//! `rust-toolchain.toml`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
