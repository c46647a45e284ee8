//! The shape of the metered module: what is added, what is capped and
//! that everything else is copied byte for byte.

use crate::common::{decoder, decoder_with_memory};
use legation_meter::{check_decoder_module, is_metered, meter, MeterConfig};
use wasmparser::{ConstExpr, Operator, Parser, Payload, ValType};

const CFG: MeterConfig = MeterConfig {
    fuel: 1000,
    max_depth: 7,
    max_memory_pages: 3,
};

/// The metered `count` function, printed: the sequences of the crate
/// documentation, in their places. (Function 2; no globals before, so
/// `$fuel` is global 0 and `$depth` global 1.) The label names `$done`
/// and `$again` still name the original block and loop, though inserted
/// `if`s come before them.
#[test]
fn the_inserted_code_is_what_the_spec_says() {
    let module = decoder(
        r#"
  (func (export "count") (param $n i32) (result i32)
    (local $i i32)
    block $done
      loop $again
        local.get $i
        local.get $n
        i32.ge_u
        br_if $done
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $again
      end
    end
    local.get $i)
"#,
    );
    let text = wasmprinter::print_bytes(meter(&module, &CFG).unwrap()).unwrap();
    let start = text.find("(func (;2;)").unwrap();
    let end = start + text[start..].find("\n  )\n").unwrap();
    let function: Vec<&str> = text[start..end].lines().map(str::trim).collect();
    let expected = "
(func (;2;) (type 0) (param $n i32) (result i32)
(local $i i32)
global.get 1
i32.const 1
i32.add
global.set 1
global.get 1
i32.const 7
i32.gt_u
if ;; label = @1
unreachable
end
global.get 0
i64.const 1
i64.sub
global.set 0
global.get 0
i64.const 0
i64.lt_s
if ;; label = @1
unreachable
end
block $done
global.get 0
i64.const 1
i64.sub
global.set 0
loop $again
global.get 0
i64.const 4
i64.sub
global.set 0
global.get 0
i64.const 0
i64.lt_s
if ;; label = @3
unreachable
end
local.get $i
local.get $n
i32.ge_u
br_if $done
global.get 0
i64.const 5
i64.sub
global.set 0
local.get $i
i32.const 1
i32.add
local.set $i
br $again
end
global.get 0
i64.const 1
i64.sub
global.set 0
end
global.get 0
i64.const 2
i64.sub
global.set 0
local.get $i
global.get 0
i64.const 0
i64.lt_s
if ;; label = @1
unreachable
end
global.get 1
i32.const 1
i32.sub
global.set 1";
    let expected: Vec<&str> = expected.trim().lines().collect();
    assert_eq!(function, expected, "\n{}", &text[start..end]);
}

/// Sections as (id, bytes), custom sections by name too.
fn sections(module: &[u8]) -> Vec<(u8, Vec<u8>)> {
    Parser::new(0)
        .parse_all(module)
        .filter_map(|payload| payload.unwrap().as_section())
        .map(|(id, range)| (id, module[range].to_vec()))
        .collect()
}

#[test]
fn every_other_section_is_copied_byte_for_byte() {
    let module = decoder(
        r#"
  (global $sp (mut i32) (i32.const 1024))
  (global (export "__heap_base") i32 (i32.const 2048))
  (table 1 funcref)
  (elem (i32.const 0) $f)
  (data (i32.const 16) "hello")
  (data $passive "passive")
  (func $f (export "f") (param $x i32) (result i32)
    local.get $x
    global.get $sp
    i32.add)
  (@custom "producers-like" "some bytes")
  (@custom "early" (before first) "first")
"#,
    );
    let metered = meter(&module, &CFG).unwrap();
    let changed = [1u8, 5, 6, 10];
    let keep = |sections: Vec<(u8, Vec<u8>)>| -> Vec<(u8, Vec<u8>)> {
        sections
            .into_iter()
            .filter(|(id, _)| !changed.contains(id))
            .collect()
    };
    let before = keep(sections(&module));
    let mut after = keep(sections(&metered));
    let last = after.pop().unwrap();
    assert_eq!(after, before);
    // The record is the last section.
    assert_eq!(last.0, 0);
    assert!(last.1.ends_with(&[
        0xe8, 3, 0, 0, 0, 0, 0, 0, // fuel 1000
        7, 0, 0, 0, // max_depth
        3, 0, 0, 0, // max_memory_pages
    ]));
    // And the name section (wat writes one) and `legation.decoder` are
    // among the copies.
    let names = |module: &[u8]| -> Vec<String> {
        Parser::new(0)
            .parse_all(module)
            .filter_map(|p| match p.unwrap() {
                Payload::CustomSection(r) => Some(r.name().to_string()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        names(&metered),
        [
            "early",
            "legation.decoder",
            "producers-like",
            "name",
            "legation.meter"
        ]
    );
    assert_eq!(names(&module), names(&metered)[..4]);
}

/// The global section's entries: (type, mutable, initial value).
fn globals(module: &[u8]) -> Vec<(ValType, bool, Option<i64>)> {
    let value = |expr: ConstExpr| match expr.get_operators_reader().read().unwrap() {
        Operator::I32Const { value } => Some(i64::from(value)),
        Operator::I64Const { value } => Some(value),
        _ => None,
    };
    Parser::new(0)
        .parse_all(module)
        .filter_map(|payload| match payload.unwrap() {
            Payload::GlobalSection(reader) => Some(reader),
            _ => None,
        })
        .flat_map(|reader| reader.into_iter().map(Result::unwrap))
        .map(|g| (g.ty.content_type, g.ty.mutable, value(g.init_expr)))
        .collect()
}

#[test]
fn the_counters_are_two_globals_appended() {
    let big = MeterConfig {
        fuel: i64::MAX as u64,
        ..CFG
    };
    // No global section: one is made, before the exports.
    let none = decoder("");
    assert_eq!(
        globals(&meter(&none, &big).unwrap()),
        [
            (ValType::I64, true, Some(i64::MAX)),
            (ValType::I32, true, Some(0)),
        ]
    );
    // Existing globals keep their place.
    let some = decoder(
        r#"
  (global $sp (mut i32) (i32.const 1024))
  (global i64 (i64.const -3))
"#,
    );
    assert_eq!(
        globals(&meter(&some, &CFG).unwrap()),
        [
            (ValType::I32, true, Some(1024)),
            (ValType::I64, false, Some(-3)),
            (ValType::I64, true, Some(1000)),
            (ValType::I32, true, Some(0)),
        ]
    );
}

#[test]
fn the_memory_maximum_is_capped() {
    let cfg = MeterConfig {
        max_memory_pages: 10,
        ..CFG
    };
    for (declared, expected) in [
        ("1", Some(10)),
        ("1 5", Some(5)),
        ("1 10", Some(10)),
        ("1 65536", Some(10)),
        ("10", Some(10)),
    ] {
        let module = decoder_with_memory(&format!(r#"(memory (export "memory") {declared})"#), "");
        let facts = check_decoder_module(&meter(&module, &cfg).unwrap(), usize::MAX).unwrap();
        assert_eq!(facts.memory_max_pages, expected, "(memory {declared})");
    }
}

/// Number of function types and, per function, number of locals.
fn shape(module: &[u8]) -> (u32, Vec<u32>) {
    let mut types = 0;
    let mut locals = Vec::new();
    for payload in Parser::new(0).parse_all(module) {
        match payload.unwrap() {
            Payload::TypeSection(reader) => types = reader.count(),
            Payload::CodeSectionEntry(body) => {
                let mut count = 0;
                for local in body.get_locals_reader().unwrap() {
                    count += local.unwrap().0;
                }
                locals.push(count);
            }
            _ => {}
        }
    }
    (types, locals)
}

#[test]
fn a_scratch_local_only_where_bulk_operators_are() {
    let module = decoder(
        r#"
  (func (param $n i32) (local i64 i64)
    i32.const 0
    i32.const 0
    local.get $n
    memory.fill)
  (func (param $n i32) (result i32) (local f32)
    local.get $n
    memory.grow)
  (func (param $n i32) (local f32)
    local.get $n
    drop)
"#,
    );
    let (_, before) = shape(&module);
    let (_, after) = shape(&meter(&module, &CFG).unwrap());
    assert_eq!(before, [0, 0, 2, 1, 1]);
    assert_eq!(after, [0, 0, 3, 2, 1]);
}

#[test]
fn a_block_type_is_added_once_per_result_list_that_needs_one() {
    // Two functions with results (i32 i64) branch to their own label;
    // the type [] -> [i32 i64] is added once.
    let two = r#"
  (func (param $x i32) (result i32 i64)
    local.get $x
    i64.const 1
    br 0)
  (func (param $x i32) (result i32 i64)
    local.get $x
    i64.const 2
    local.get $x
    br_if 0
    drop
    drop
    local.get $x
    i64.const 3)
"#;
    let module = decoder(two);
    let (types, _) = shape(&module);
    let metered = meter(&module, &CFG).unwrap();
    assert_eq!(shape(&metered).0, types + 1);

    // If that type exists already, it is used.
    let module = decoder(&format!(
        "(type (func (result i32 i64))) (func (type 0) i32.const 0 i64.const 0) {two}"
    ));
    let (types, _) = shape(&module);
    assert_eq!(shape(&meter(&module, &CFG).unwrap()).0, types);

    // Functions that never branch to their own label are not wrapped.
    let module = decoder(
        r#"
  (func (param $x i32) (result i32 i64)
    local.get $x
    i64.const 1
    return)
"#,
    );
    let (types, _) = shape(&module);
    assert_eq!(shape(&meter(&module, &CFG).unwrap()).0, types);
}

#[test]
fn metering_is_deterministic_and_recorded() {
    let module = decoder(r#"(func (export "f") (result i32) i32.const 1)"#);
    let once = meter(&module, &CFG).unwrap();
    assert_eq!(meter(&module, &CFG).unwrap(), once);
    assert_eq!(is_metered(&once), Some(CFG));
    assert_eq!(is_metered(&module), None);
    assert_eq!(is_metered(b"not wasm"), None);
    let facts = check_decoder_module(&once, usize::MAX).unwrap();
    assert_eq!(facts.metered, Some(CFG));
    assert_eq!(
        check_decoder_module(&module, usize::MAX).unwrap().metered,
        None
    );
    // The default limits round-trip too.
    let default = meter(&module, &MeterConfig::default()).unwrap();
    assert_eq!(is_metered(&default), Some(MeterConfig::default()));
}
