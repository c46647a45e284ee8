//! Modules that are not decoder modules, or cannot be metered, and the
//! errors that say why.

use legation_meter::{check_decoder_module, meter, MeterConfig, MeterError};

const DESCRIPTION: &str = r#"(@custom "legation.decoder" "{\"abi\":1}")"#;
const MEMORY: &str = r#"(memory (export "memory") 1)"#;
const ALLOC: &str = r#"(func (export "legation_alloc") (param i32) (result i32) i32.const 0)"#;
const DECODE: &str =
    r#"(func (export "legation_decode") (param i32 i32) (result i64) i64.const 0)"#;

/// A module of the given parts.
fn module(parts: &[&str]) -> Vec<u8> {
    wat::parse_str(format!("(module {})", parts.join("\n"))).unwrap()
}

/// A decoder module with `extra` added.
fn decoder(extra: &str) -> Vec<u8> {
    module(&[MEMORY, ALLOC, DECODE, DESCRIPTION, extra])
}

fn check(module: &[u8]) -> Result<legation_meter::ModuleFacts, MeterError> {
    check_decoder_module(module, usize::MAX)
}

#[test]
fn a_plain_decoder_module_passes() {
    let facts = check(&decoder("")).unwrap();
    assert_eq!(facts.description, r#"{"abi":1}"#);
    assert_eq!(
        facts.exports,
        ["memory", "legation_alloc", "legation_decode"]
    );
    assert!(!facts.decode_page);
    assert_eq!((facts.memory_min_pages, facts.memory_max_pages), (1, None));
    assert_eq!(facts.metered, None);

    let paged = decoder(
        r#"(func (export "legation_decode_page") (param i32 i32 i32) (result i64) i64.const 0)"#,
    );
    assert!(check(&paged).unwrap().decode_page);
}

#[test]
fn imports_are_refused() {
    for (import, name) in [
        (r#"(import "env" "f" (func))"#, "f"),
        (r#"(import "env" "g" (global i32))"#, "g"),
        (r#"(import "env" "t" (table 1 funcref))"#, "t"),
    ] {
        assert_eq!(
            check(&module(&[import, MEMORY, ALLOC, DECODE, DESCRIPTION])),
            Err(MeterError::HasImports {
                module: "env".into(),
                name: name.into()
            })
        );
    }
    // An imported memory instead of a defined one.
    let imported = module(&[
        r#"(import "env" "memory" (memory 1))"#,
        r#"(export "memory" (memory 0))"#,
        ALLOC,
        DECODE,
        DESCRIPTION,
    ]);
    assert!(matches!(
        check(&imported),
        Err(MeterError::HasImports { .. })
    ));
    assert_eq!(
        check(&module(&[
            r#"(import "env" "f" (func))"#,
            MEMORY,
            ALLOC,
            DECODE,
            DESCRIPTION
        ]))
        .unwrap_err()
        .to_string(),
        "the decoder module imports `env`.`f`; decoders must have no imports"
    );
}

#[test]
fn a_start_function_is_refused() {
    assert_eq!(
        check(&decoder("(func $s) (start $s)")),
        Err(MeterError::HasStart)
    );
}

#[test]
fn missing_exports_are_named() {
    for (parts, name) in [
        (vec![MEMORY, DECODE, DESCRIPTION], "legation_alloc"),
        (vec![MEMORY, ALLOC, DESCRIPTION], "legation_decode"),
        (vec!["(memory 1)", ALLOC, DECODE, DESCRIPTION], "memory"),
        (vec![ALLOC, DECODE, DESCRIPTION], "memory"),
    ] {
        assert_eq!(
            check(&module(&parts)),
            Err(MeterError::MissingExport { name }),
            "{parts:?}"
        );
    }
    assert_eq!(
        MeterError::MissingExport { name: "memory" }.to_string(),
        "the decoder module does not export `memory`"
    );
}

#[test]
fn wrong_signatures_are_refused_with_both_types() {
    let cases = [
        (
            r#"(func (export "legation_alloc") (param i64) (result i32) i32.const 0)"#,
            "legation_alloc",
            "a function (i64) -> i32",
        ),
        (
            r#"(func (export "legation_alloc") (param i32))"#,
            "legation_alloc",
            "a function (i32) -> ()",
        ),
        (
            r#"(global (export "legation_alloc") i32 (i32.const 0))"#,
            "legation_alloc",
            "a global",
        ),
        (
            r#"(func (export "legation_decode") (param i32 i32) (result i32 i32) i32.const 0 i32.const 0)"#,
            "legation_decode",
            "a function (i32, i32) -> (i32, i32)",
        ),
    ];
    for (wrong, name, found) in cases {
        let parts: Vec<&str> = [MEMORY, ALLOC, DECODE, DESCRIPTION]
            .into_iter()
            .filter(|part| !part.contains(name))
            .chain([wrong])
            .collect();
        match check(&module(&parts)) {
            Err(MeterError::WrongSignature {
                name: n, found: f, ..
            }) => assert_eq!((n.as_str(), f.as_str()), (name, found)),
            other => panic!("{wrong}: {other:?}"),
        }
    }
    let page = decoder(
        r#"(func (export "legation_decode_page") (param i32 i32) (result i64) i64.const 0)"#,
    );
    assert_eq!(
        check(&page).unwrap_err().to_string(),
        "the decoder module's export `legation_decode_page` is a function (i32, i32) -> i64, \
         expected a function (i32, i32, i32) -> i64"
    );
    let memory_as_function = module(&[
        "(memory 1)",
        r#"(func (export "memory"))"#,
        ALLOC,
        DECODE,
        DESCRIPTION,
    ]);
    assert!(matches!(
        check(&memory_as_function),
        Err(MeterError::WrongSignature {
            expected: "a memory",
            ..
        })
    ));
}

#[test]
fn memories_must_be_one_and_32_bit() {
    let two = module(&[MEMORY, "(memory 1)", ALLOC, DECODE, DESCRIPTION]);
    assert_eq!(check(&two), Err(MeterError::MultipleMemories { count: 2 }));
    let wide = module(&[
        r#"(memory (export "memory") i64 1)"#,
        ALLOC,
        DECODE,
        DESCRIPTION,
    ]);
    assert_eq!(check(&wide), Err(MeterError::Memory64));
}

#[test]
fn tail_calls_and_table_grow_are_refused() {
    assert_eq!(
        check(&decoder("(func $f (return_call $f))")),
        Err(MeterError::RefusedOperator {
            function: 2,
            operator: "return_call"
        })
    );
    assert_eq!(
        check(&decoder(
            "(type $t (func)) (table 1 funcref) (func (return_call_indirect (type $t) (i32.const 0)))"
        )),
        Err(MeterError::RefusedOperator {
            function: 2,
            operator: "return_call_indirect"
        })
    );
    let grow =
        decoder("(table 1 funcref) (func (result i32) (table.grow (ref.null func) (i32.const 1)))");
    assert_eq!(
        check(&grow).unwrap_err().to_string(),
        "function 2 of the decoder module uses `table.grow`, which decoders must not use"
    );
}

#[test]
fn features_beyond_webassembly_2_are_invalid() {
    // Vector instructions are in 2.0; relaxed SIMD, whose results differ
    // between processors, is not.
    let vectors = decoder("(func (result v128) (v128.const i32x4 0 0 0 0))");
    assert!(check(&vectors).is_ok());
    assert!(legation_meter::uses_vectors(&vectors));
    assert!(!legation_meter::uses_vectors(&decoder("")));
    for (extra, word) in [
        (
            "(func (result v128) (i8x16.relaxed_swizzle (v128.const i64x2 0 0) (v128.const i64x2 0 0)))",
            "relaxed SIMD",
        ),
        ("(tag) (func (throw 0))", "exceptions"),
        (
            "(func (result i32) (i32.atomic.load (i32.const 0)))",
            "threads",
        ),
    ] {
        match check(&decoder(extra)) {
            Err(MeterError::Invalid { message, .. }) => {
                assert!(message.contains(word), "{extra}: {message}")
            }
            other => panic!("{extra}: {other:?}"),
        }
    }
    assert!(matches!(
        check(b"\0asm\x01\0\0\0\x01"),
        Err(MeterError::Invalid { .. })
    ));
    match check(b"not wasm") {
        Err(MeterError::Invalid { offset, .. }) => assert_eq!(offset, 0),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_description_section_must_be_there_once_as_utf8() {
    assert_eq!(
        check(&module(&[MEMORY, ALLOC, DECODE])),
        Err(MeterError::MissingDecoderSection)
    );
    assert_eq!(
        check(&decoder(r#"(@custom "legation.decoder" "again")"#)),
        Err(MeterError::DuplicateSection {
            name: "legation.decoder"
        })
    );
    assert_eq!(
        check(&module(&[
            MEMORY,
            ALLOC,
            DECODE,
            r#"(@custom "legation.decoder" "\ff")"#
        ])),
        Err(MeterError::DecoderSectionNotUtf8)
    );
}

#[test]
fn a_malformed_meter_record_is_refused() {
    assert_eq!(
        check(&decoder(r#"(@custom "legation.meter" "short")"#)),
        Err(MeterError::BadMeterSection { len: 5 })
    );
}

#[test]
fn the_size_limit_applies() {
    let module = decoder("");
    let size = module.len();
    assert!(check_decoder_module(&module, size).is_ok());
    assert_eq!(
        check_decoder_module(&module, size - 1),
        Err(MeterError::TooLarge {
            size,
            limit: size - 1
        })
    );
}

#[test]
fn meter_refuses_metered_modules_and_impossible_limits() {
    let module = decoder("");
    let cfg = MeterConfig::default();
    let metered = meter(&module, &cfg).unwrap();
    assert_eq!(meter(&metered, &cfg), Err(MeterError::AlreadyMetered));

    let fuel = i64::MAX as u64 + 1;
    assert_eq!(
        meter(&module, &MeterConfig { fuel, ..cfg }),
        Err(MeterError::FuelTooLarge { fuel })
    );
    assert_eq!(
        meter(
            &module,
            &MeterConfig {
                max_memory_pages: 65537,
                ..cfg
            }
        ),
        Err(MeterError::MemoryCapTooLarge { pages: 65537 })
    );
    let big = module_with_memory("(memory (export \"memory\") 20)");
    assert_eq!(
        meter(
            &big,
            &MeterConfig {
                max_memory_pages: 16,
                ..cfg
            }
        ),
        Err(MeterError::MemoryOverCap {
            minimum: 20,
            cap: 16
        })
    );
    // A refused module is refused by `meter` the same way.
    assert_eq!(
        meter(&decoder("(func $s) (start $s)"), &cfg),
        Err(MeterError::HasStart)
    );
}

fn module_with_memory(memory: &str) -> Vec<u8> {
    module(&[memory, ALLOC, DECODE, DESCRIPTION])
}
