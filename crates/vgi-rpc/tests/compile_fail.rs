//! The compile errors a user of the typed layer gets (trybuild): a
//! parameter type with no Arrow mapping or a call with the wrong argument
//! type, a stream state without the codec half HTTP resumption needs, and
//! a state that is not serializable at all.
//!
//! The `.stderr` files are rustc's text under the README's test command,
//! `cargo test --workspace`: the list of `ArrowType` implementors rustc
//! prints depends on every crate the build loads (a type's short name is
//! used only while it is unique), so `-p vgi-rpc` alone can differ. Bless
//! with `TRYBUILD=overwrite cargo test --workspace --test compile_fail`.

#[test]
fn typed_api_mistakes_fail_to_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
