//! The compile errors a user of the typed layer gets (trybuild): a
//! parameter type with no Arrow mapping or a call with the wrong argument
//! type, a stream state without the codec half HTTP resumption needs, and
//! a state that is not serializable at all.

#[test]
fn typed_api_mistakes_fail_to_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
