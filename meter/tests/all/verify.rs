//! `verify_metered` accepts what `meter` makes and nothing that only
//! looks like it.

use crate::common::{decoder, decoder_with_memory, BRANCHES, BULK, COUNT, EXITS, REC, SPIN};
use legation_meter::{meter, verify_metered, MeterConfig, MeterError};

const CFG: MeterConfig = MeterConfig {
    fuel: 1000,
    max_depth: 7,
    max_memory_pages: 3,
};

fn verify(module: &[u8]) -> Result<MeterConfig, MeterError> {
    verify_metered(module, usize::MAX)
}

/// Modules covering every kind of insertion: loops, calls, returns,
/// wrapper blocks of one and several results (with an appended type),
/// bulk operators (a scratch local), existing globals, label names.
fn modules() -> Vec<Vec<u8>> {
    vec![
        decoder(""),
        decoder(COUNT),
        decoder(SPIN),
        decoder_with_memory(r#"(memory (export "memory") 2)"#, BULK),
        decoder(REC),
        decoder(EXITS),
        decoder(BRANCHES),
        decoder(
            r#"
  (global $sp (mut i32) (i32.const 1024))
  (func (param $x i32) (result i32) (local $last i32)
    local.get $x
    local.tee $last
    global.get $sp
    i32.add)
"#,
        ),
    ]
}

#[test]
fn what_meter_makes_is_verified() {
    for (index, module) in modules().iter().enumerate() {
        for cfg in [CFG, MeterConfig::default()] {
            let metered = meter(module, &cfg).unwrap();
            assert_eq!(verify(&metered), Ok(cfg), "module {index}");
        }
    }
}

#[test]
fn an_unmetered_module_is_not_metered() {
    assert_eq!(verify(&decoder(COUNT)), Err(MeterError::NotMetered));
}

#[test]
fn a_record_alone_proves_nothing() {
    let forged = decoder(&format!(
        r#"{COUNT} (@custom "legation.meter" "\e8\03\00\00\00\00\00\00\07\00\00\00\03\00\00\00")"#
    ));
    assert_eq!(verify(&forged), Err(MeterError::MeterMismatch));
}

#[test]
fn a_record_that_differs_from_the_code_is_refused() {
    let metered = meter(&decoder(COUNT), &CFG).unwrap();
    let more = MeterConfig {
        fuel: 1_000_000,
        ..CFG
    };
    let record = meter(&decoder(""), &more).unwrap();
    // Both end with the 16 bytes of the record.
    let mut forged = metered.clone();
    let at = forged.len() - 16;
    forged[at..].copy_from_slice(&record[record.len() - 16..]);
    assert_eq!(verify(&forged), Err(MeterError::MeterMismatch));
}

/// The metered module as text, changed by `edit`, and assembled again.
fn edited(module: &[u8], edit: impl FnOnce(String) -> String) -> Vec<u8> {
    let text = wasmprinter::print_bytes(meter(module, &CFG).unwrap()).unwrap();
    let changed = edit(text.clone());
    assert_ne!(changed, text, "the edit changed nothing");
    wat::parse_str(changed).unwrap()
}

#[test]
fn text_round_trips_verify() {
    // The tests below edit the printed text; unedited, it still verifies.
    for module in modules() {
        let text = wasmprinter::print_bytes(meter(&module, &CFG).unwrap()).unwrap();
        assert_eq!(verify(&wat::parse_str(text).unwrap()), Ok(CFG));
    }
}

#[test]
fn code_that_does_not_enforce_the_record_is_refused() {
    let module = decoder(COUNT);
    let check = "global.get 0\n        i64.const 0\n        i64.lt_s\n        if ;; label = @3\n          unreachable\n        end\n";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "no check at the loop header",
            edited(&module, |text| text.replacen(check, "", 1)),
        ),
        (
            "a charge made smaller",
            edited(&module, |text| {
                text.replacen("i64.const 5\n", "i64.const 1\n", 1)
            }),
        ),
        (
            "more fuel than recorded",
            edited(&module, |text| {
                text.replacen("(mut i64) i64.const 1000", "(mut i64) i64.const 1001", 1)
            }),
        ),
        (
            "a deeper limit than recorded",
            edited(&module, |text| {
                text.replacen("i32.const 7\n    i32.gt_u", "i32.const 8\n    i32.gt_u", 1)
            }),
        ),
        (
            "fuel given back",
            edited(&module, |text| {
                text.replacen(
                    "local.get $i\n    global.get 0",
                    "i64.const 1000\n    global.set 0\n    local.get $i\n    global.get 0",
                    1,
                )
            }),
        ),
        (
            "a larger memory than recorded",
            edited(&module, |text| text.replacen("1 3)", "1 4)", 1)),
        ),
    ];
    for (what, forged) in cases {
        assert_eq!(verify(&forged), Err(MeterError::MeterMismatch), "{what}");
    }
}
