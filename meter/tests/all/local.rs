//! The form hosts run, with the fuel kept in locals (`FuelIn::Local`),
//! ends every call exactly as the archived form (`FuelIn::Global`) does:
//! the same results, the same traps at the same fuel, on both engines.

use crate::common::{
    decoder, decoder_with_memory, instantiate, least_fuel, run, Outcome, BOUNDARY_CALLS, BRANCHES,
    BULK, COUNT, ENGINES, EXITS, REC, SPIN,
};
use legation_meter::{meter, meter_as, runnable, FuelIn, MeterConfig, MeterError};

fn cfg(fuel: u64) -> MeterConfig {
    MeterConfig {
        fuel,
        ..MeterConfig::default()
    }
}

/// Both forms of `module` metered with `cfg`.
fn forms(module: &[u8], cfg: &MeterConfig) -> [Vec<u8>; 2] {
    [
        meter_as(module, cfg, FuelIn::Global).unwrap(),
        meter_as(module, cfg, FuelIn::Local).unwrap(),
    ]
}

/// `name(args)` on both engines (which `run` compares) in both forms; the
/// outcome, which must be the same in both.
fn run_both(module: &[u8], cfg: &MeterConfig, name: &str, args: &[i64]) -> Outcome {
    let [global, local] = forms(module, cfg);
    let outcome = run(&global, name, args);
    assert_eq!(
        run(&local, name, args),
        outcome,
        "{name}{args:?} with {cfg:?}: the forms differ"
    );
    outcome
}

#[test]
fn the_global_form_is_what_meter_writes() {
    let module = decoder(BRANCHES);
    let cfg = MeterConfig::default();
    assert_eq!(
        meter(&module, &cfg).unwrap(),
        meter_as(&module, &cfg, FuelIn::Global).unwrap()
    );
    assert_ne!(
        meter(&module, &cfg).unwrap(),
        meter_as(&module, &cfg, FuelIn::Local).unwrap()
    );
}

#[test]
fn a_finite_loop_finishes_with_the_same_fuel() {
    let module = decoder(COUNT);
    for n in [0u64, 1, 5, 100, 10_000] {
        let cost = 9 * n + 8;
        assert_eq!(
            run_both(&module, &cfg(cost), "count", &[n as i64]),
            Outcome::Returned(vec![n as i64])
        );
        assert_eq!(
            run_both(&module, &cfg(cost - 1), "count", &[n as i64]),
            Outcome::Unreachable
        );
    }
}

#[test]
fn an_endless_loop_stops_after_the_same_iterations() {
    let module = decoder(SPIN);
    for fuel in [0u64, 1, 7, 8, 9, 15, 1000, 1_000_000] {
        for metered in forms(&module, &cfg(fuel)) {
            for engine in ENGINES {
                let mut instance = instantiate(engine, &metered);
                assert_eq!(instance.call("spin", &[]), Outcome::Unreachable);
                assert_eq!(
                    u64::from(instance.read_u32(0)),
                    fuel.saturating_sub(1) / 7,
                    "{engine}, fuel {fuel}"
                );
            }
        }
    }
}

#[test]
fn calls_into_one_instance_share_the_fuel() {
    for metered in forms(&decoder(COUNT), &cfg(2 * (9 * 3 + 8))) {
        for engine in ENGINES {
            let mut instance = instantiate(engine, &metered);
            assert_eq!(instance.call("count", &[3]), Outcome::Returned(vec![3]));
            assert_eq!(instance.call("count", &[3]), Outcome::Returned(vec![3]));
            assert_eq!(instance.call("count", &[0]), Outcome::Unreachable);
        }
    }
}

#[test]
fn bulk_operators_and_growth_cost_the_same() {
    let module = decoder_with_memory(r#"(memory (export "memory") 2)"#, BULK);
    for len in [0i64, 1, 1023, 1024, 5000, 65536] {
        let cost = 7 + (len as u64 >> 10);
        for name in ["fill", "copy"] {
            assert!(matches!(
                run_both(&module, &cfg(cost), name, &[len]),
                Outcome::Returned(_)
            ));
            assert_eq!(
                run_both(&module, &cfg(cost - 1), name, &[len]),
                Outcome::Unreachable
            );
        }
    }
    let small = MeterConfig {
        fuel: 0,
        max_depth: 10,
        max_memory_pages: 4,
    };
    for (delta, result) in [(0i64, 2i64), (2, 2), (3, -1)] {
        let cost = 3 + 64 * delta as u64;
        let enough = MeterConfig {
            fuel: cost,
            ..small
        };
        assert_eq!(
            run_both(&module, &enough, "grow", &[delta]),
            Outcome::Returned(vec![result])
        );
        let short = MeterConfig {
            fuel: cost - 1,
            ..small
        };
        assert_eq!(
            run_both(&module, &short, "grow", &[delta]),
            Outcome::Unreachable
        );
    }
}

#[test]
fn depth_is_counted_the_same() {
    for max_depth in [1u32, 2, 100, MeterConfig::default().max_depth] {
        let limits = MeterConfig {
            max_depth,
            ..MeterConfig::default()
        };
        let deepest = i64::from(max_depth) - 1;
        assert_eq!(
            run_both(&decoder(REC), &limits, "rec", &[deepest]),
            Outcome::Returned(vec![deepest])
        );
        assert_eq!(
            run_both(&decoder(REC), &limits, "rec", &[deepest + 1]),
            Outcome::Unreachable
        );
    }
    // A recursion that ends in a leaf, which checks the depth without
    // counting it in the local form: `leafward(n)` needs n + 2 activations.
    let leafward = decoder(
        r#"
  (func $leaf (param i32) (result i32) local.get 0 i32.const 7 i32.add)
  (func $leafward (export "leafward") (param $n i32) (result i32)
    local.get $n
    i32.eqz
    if (result i32)
      i32.const 0
      call $leaf
    else
      local.get $n
      i32.const 1
      i32.sub
      call $leafward
    end)
"#,
    );
    for max_depth in [1u32, 2, 3, 50] {
        let limits = MeterConfig {
            max_depth,
            ..MeterConfig::default()
        };
        let deepest = i64::from(max_depth) - 2;
        if deepest >= 0 {
            assert_eq!(
                run_both(&leafward, &limits, "leafward", &[deepest]),
                Outcome::Returned(vec![7])
            );
        }
        assert_eq!(
            run_both(&leafward, &limits, "leafward", &[deepest + 1]),
            Outcome::Unreachable
        );
    }
    let exits = decoder(EXITS);
    let expected = run(&exits, "exits", &[300]);
    let two = MeterConfig {
        max_depth: 2,
        ..MeterConfig::default()
    };
    assert_eq!(run_both(&exits, &two, "exits", &[300]), expected);
}

/// Through calls, indirect calls, early returns, branches out of the
/// function and several results: the least fuel with which each call
/// finishes is the same in both forms, and the results match the
/// unmetered module's.
#[test]
fn the_fuel_boundary_is_the_same_through_calls_and_branches() {
    let module = decoder(BRANCHES);
    for (name, arg) in BOUNDARY_CALLS {
        let boundary = least_fuel(&module, name, arg, FuelIn::Global);
        assert_eq!(
            least_fuel(&module, name, arg, FuelIn::Local),
            boundary,
            "{name}({arg})"
        );
        assert_eq!(
            run_both(&module, &cfg(boundary), name, &[arg]),
            run(&module, name, &[arg])
        );
        if boundary > 0 {
            assert_eq!(
                run_both(&module, &cfg(boundary - 1), name, &[arg]),
                Outcome::Unreachable
            );
        }
    }
}

#[test]
fn runnable_verifies_first_and_gives_the_local_form() {
    let module = decoder(BRANCHES);
    let limits = cfg(5000);
    let archived = meter(&module, &limits).unwrap();
    let (found, local) = runnable(&archived, usize::MAX).unwrap();
    assert_eq!(found, limits);
    assert_eq!(local, meter_as(&module, &limits, FuelIn::Local).unwrap());
    // What it refuses, `verify_metered` refuses: no record, or a record
    // the code does not enforce; and the local form is not an archived
    // form.
    assert_eq!(
        runnable(&module, usize::MAX).map(|_| ()),
        Err(MeterError::NotMetered)
    );
    let mut forged = meter(&module, &cfg(1_000_000)).unwrap();
    let at = forged.len() - 16;
    forged[at..].copy_from_slice(&archived[archived.len() - 16..]);
    assert_eq!(
        runnable(&forged, usize::MAX).map(|_| ()),
        Err(MeterError::MeterMismatch)
    );
    assert_eq!(
        runnable(&local, usize::MAX).map(|_| ()),
        Err(MeterError::MeterMismatch)
    );
}

/// Asserts that the printed function starting with `header` in `text` is
/// `expected`, line by line with the indentation trimmed.
fn assert_function(text: &str, header: &str, expected: &str) {
    let start = text.find(header).unwrap();
    let end = start + text[start..].find("\n  )\n").unwrap();
    let function: Vec<&str> = text[start..end].lines().map(str::trim).collect();
    let expected: Vec<&str> = expected.trim().lines().collect();
    assert_eq!(function, expected, "\n{}", &text[start..end]);
}

/// The local form of a function with a bulk operator and a call, printed:
/// SPEC §13.6's LOAD after ENTER and after the call, STORE before the call
/// and in EXIT, `$f` (local 1) right after the original locals and the
/// scratch local `$s` (local 2) after it. (Function 3: the two ABI
/// functions and `$id` come first; `$fuel` is global 0, `$depth` global 1.)
#[test]
fn the_local_form_is_what_the_spec_says() {
    let module = decoder(
        r#"
  (func $id (param i32) (result i32) local.get 0)
  (func (export "fill_then_call") (param $n i32) (result i32)
    i32.const 0
    i32.const 0
    local.get $n
    memory.fill
    local.get $n
    call $id)
"#,
    );
    let limits = MeterConfig {
        fuel: 1000,
        max_depth: 7,
        max_memory_pages: 3,
    };
    let text =
        wasmprinter::print_bytes(meter_as(&module, &limits, FuelIn::Local).unwrap()).unwrap();
    // In the local form each limit's trap first says which limit it is,
    // in `$limit` (global 2, exported as `legation_limit`): 1 for fuel,
    // 2 for depth.
    let check = "local.get 1\ni64.const 0\ni64.lt_s\nif ;; label = @1\ni32.const 1\nglobal.set 2\nunreachable\nend";
    let expected = format!(
        "
(func (;3;) (type 0) (param $n i32) (result i32)
(local i64 i32)
global.get 1
i32.const 1
i32.add
global.set 1
global.get 1
i32.const 7
i32.gt_u
if ;; label = @1
i32.const 2
global.set 2
unreachable
end
global.get 0
local.set 1
local.get 1
i64.const 6
i64.sub
local.set 1
{check}
i32.const 0
i32.const 0
local.get $n
local.tee 2
local.get 1
local.get 2
i64.extend_i32_u
i64.const 10
i64.shr_u
i64.sub
local.set 1
{check}
memory.fill
local.get $n
local.get 1
global.set 0
call $id
global.get 0
local.set 1
local.get 1
i64.const 1
i64.sub
local.set 1
{check}
local.get 1
global.set 0
global.get 1
i32.const 1
i32.sub
global.set 1"
    );
    assert_function(&text, "(func (;3;)", &expected);

    // `$id` calls nothing: its ENTER only compares the depth, and its
    // EXIT stores the fuel without a decrement.
    let expected = format!(
        "
(func $id (;2;) (type 0) (param i32) (result i32)
(local i64)
global.get 1
i32.const 7
i32.ge_u
if ;; label = @1
i32.const 2
global.set 2
unreachable
end
global.get 0
local.set 1
local.get 1
i64.const 2
i64.sub
local.set 1
{check}
local.get 0
{check}
local.get 1
global.set 0"
    );
    assert_function(&text, "(func $id (;2;)", &expected);
}
