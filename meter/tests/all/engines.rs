//! Metered modules run on wasmtime and wasmi: both give the same verdict
//! at the same boundary, and metering changes no result.

use crate::common::{
    decoder, decoder_with_memory, instantiate, least_fuel, run, Outcome, BOUNDARY_CALLS, BRANCHES,
    BULK, COUNT, ENGINES, EXITS, REC, SPIN,
};
use legation_meter::{meter, FuelIn, MeterConfig};

fn with_fuel(fuel: u64) -> MeterConfig {
    MeterConfig {
        fuel,
        ..MeterConfig::default()
    }
}

/// Segments of `count`: [block] 1 at entry, [loop] 1, the header
/// [local.get local.get i32.ge_u br_if] 4 on each of the n + 1 tests, the
/// body [local.get i32.const i32.add local.set br] 5 on each of the n
/// iterations, and [local.get end] 2 after the block. The two `end`s
/// between are dead. 1 + 1 + 4(n + 1) + 5n + 2 = 9n + 8.
#[test]
fn finite_loop_costs_9n_plus_8() {
    let module = decoder(COUNT);
    for n in [0u64, 1, 5, 100, 10_000] {
        let cost = 9 * n + 8;
        let enough = meter(&module, &with_fuel(cost)).unwrap();
        assert_eq!(
            run(&enough, "count", &[n as i64]),
            Outcome::Returned(vec![n as i64]),
            "n = {n}, fuel = cost"
        );
        let short = meter(&module, &with_fuel(cost - 1)).unwrap();
        assert_eq!(
            run(&short, "count", &[n as i64]),
            Outcome::Unreachable,
            "n = {n}, fuel = cost - 1"
        );
    }
}

/// `spin` pays 1 at entry ([loop]) and 7 at each loop header, checking
/// after each, so it completes `(fuel - 1) / 7` iterations, then traps.
#[test]
fn endless_loop_traps_after_the_same_iterations_on_both_engines() {
    let module = decoder(SPIN);
    for fuel in [0u64, 1, 7, 8, 9, 15, 1000, 1_000_000] {
        let metered = meter(&module, &with_fuel(fuel)).unwrap();
        let expected = fuel.saturating_sub(1) / 7;
        for engine in ENGINES {
            let mut instance = instantiate(engine, &metered);
            assert_eq!(instance.call("spin", &[]), Outcome::Unreachable, "{engine}");
            assert_eq!(
                u64::from(instance.read_u32(0)),
                expected,
                "{engine}, fuel {fuel}"
            );
        }
    }
}

#[test]
fn fuel_is_shared_by_the_calls_into_one_instance() {
    let metered = meter(&decoder(COUNT), &with_fuel(2 * (9 * 3 + 8))).unwrap();
    for engine in ENGINES {
        let mut instance = instantiate(engine, &metered);
        assert_eq!(instance.call("count", &[3]), Outcome::Returned(vec![3]));
        assert_eq!(instance.call("count", &[3]), Outcome::Returned(vec![3]));
        assert_eq!(
            instance.call("count", &[0]),
            Outcome::Unreachable,
            "{engine}"
        );
    }
}

/// `fill` and `copy` are one segment of 7 instructions, plus `len >> 10`.
#[test]
fn memory_fill_and_copy_pay_one_per_kib() {
    let module = decoder_with_memory(r#"(memory (export "memory") 2)"#, BULK);
    for len in [0i64, 1, 1023, 1024, 5000, 65536] {
        let cost = 7 + (len as u64 >> 10);
        for name in ["fill", "copy"] {
            let enough = meter(&module, &with_fuel(cost)).unwrap();
            assert!(
                matches!(run(&enough, name, &[len]), Outcome::Returned(_)),
                "{name}({len}) with fuel {cost}"
            );
            let short = meter(&module, &with_fuel(cost - 1)).unwrap();
            assert_eq!(
                run(&short, name, &[len]),
                Outcome::Unreachable,
                "{name}({len}) with fuel {}",
                cost - 1
            );
        }
    }
}

/// `grow` is one segment of 3 instructions, plus 64 per page asked for,
/// whether or not the memory grows.
#[test]
fn memory_grow_pays_64_per_page_even_when_it_fails() {
    let module = decoder_with_memory(r#"(memory (export "memory") 1)"#, BULK);
    let cfg = |fuel| MeterConfig {
        fuel,
        max_depth: 10,
        max_memory_pages: 4,
    };
    for (delta, result) in [(0i64, 1i64), (2, 1), (3, 1), (4, -1), (100, -1)] {
        let cost = 3 + 64 * delta as u64;
        let enough = meter(&module, &cfg(cost)).unwrap();
        assert_eq!(
            run(&enough, "grow", &[delta]),
            Outcome::Returned(vec![result])
        );
        let short = meter(&module, &cfg(cost - 1)).unwrap();
        assert_eq!(run(&short, "grow", &[delta]), Outcome::Unreachable);
    }
}

#[test]
fn memory_grow_past_the_cap_returns_minus_one() {
    let cfg = MeterConfig {
        max_memory_pages: 4,
        ..MeterConfig::default()
    };
    // No declared maximum: the cap becomes the maximum.
    let unbounded = decoder_with_memory(r#"(memory (export "memory") 1)"#, BULK);
    let metered = meter(&unbounded, &cfg).unwrap();
    for engine in ENGINES {
        let mut original = instantiate(engine, &unbounded);
        assert_eq!(original.call("grow", &[3]), Outcome::Returned(vec![1]));
        assert_eq!(original.call("grow", &[1]), Outcome::Returned(vec![4]));

        let mut instance = instantiate(engine, &metered);
        assert_eq!(instance.call("grow", &[3]), Outcome::Returned(vec![1]));
        assert_eq!(instance.call("grow", &[1]), Outcome::Returned(vec![-1]));
        assert_eq!(instance.call("grow", &[0]), Outcome::Returned(vec![4]));
    }
    // A smaller declared maximum stays.
    let bounded = decoder_with_memory(r#"(memory (export "memory") 1 2)"#, BULK);
    let metered = meter(&bounded, &cfg).unwrap();
    for engine in ENGINES {
        let mut instance = instantiate(engine, &metered);
        assert_eq!(instance.call("grow", &[2]), Outcome::Returned(vec![-1]));
        assert_eq!(instance.call("grow", &[1]), Outcome::Returned(vec![1]));
        assert_eq!(instance.call("grow", &[1]), Outcome::Returned(vec![-1]));
    }
}

#[test]
fn recursion_traps_past_max_depth() {
    let module = decoder(REC);
    for max_depth in [1u32, 2, 100, MeterConfig::default().max_depth] {
        let cfg = MeterConfig {
            max_depth,
            ..MeterConfig::default()
        };
        let metered = meter(&module, &cfg).unwrap();
        let deepest = i64::from(max_depth) - 1;
        assert_eq!(
            run(&metered, "rec", &[deepest]),
            Outcome::Returned(vec![deepest])
        );
        assert_eq!(run(&metered, "rec", &[deepest + 1]), Outcome::Unreachable);
        // The unmetered module goes deeper.
        assert_eq!(
            run(&module, "rec", &[deepest + 1]),
            Outcome::Returned(vec![deepest + 1])
        );
    }
}

#[test]
fn every_exit_gives_back_its_depth() {
    let module = decoder(EXITS);
    let expected = run(&module, "exits", &[300]);
    assert!(matches!(expected, Outcome::Returned(_)));
    let cfg = MeterConfig {
        max_depth: 2,
        ..MeterConfig::default()
    };
    let metered = meter(&module, &cfg).unwrap();
    assert_eq!(run(&metered, "exits", &[300]), expected);
    // And with depth 1 the first call from `exits` is one too many.
    let cfg = MeterConfig {
        max_depth: 1,
        ..MeterConfig::default()
    };
    let metered = meter(&module, &cfg).unwrap();
    assert_eq!(run(&metered, "exits", &[300]), Outcome::Unreachable);
}

const BRANCH_EXPORTS: [&str; 6] = [
    "collatz", "classify", "nested", "params", "multi", "indirect",
];

#[test]
fn branches_compute_the_same_results_after_metering() {
    let module = decoder(BRANCHES);
    let metered = meter(&module, &MeterConfig::default()).unwrap();
    for name in BRANCH_EXPORTS {
        for x in -5..=40 {
            let expected = run(&module, name, &[x]);
            assert!(
                matches!(expected, Outcome::Returned(_)),
                "{name}({x}) = {expected:?}"
            );
            assert_eq!(run(&metered, name, &[x]), expected, "{name}({x})");
        }
    }
}

/// The least fuel with which `name(arg)` finishes, found on wasmtime by
/// bisection; wasmi must finish with it and trap with one less.
#[test]
fn both_engines_agree_on_the_fuel_boundary() {
    let module = decoder(BRANCHES);
    for (name, arg) in BOUNDARY_CALLS {
        let low = least_fuel(&module, name, arg, FuelIn::Global);
        let enough = meter(&module, &with_fuel(low)).unwrap();
        assert_eq!(
            run(&enough, name, &[arg]),
            run(&module, name, &[arg]),
            "{name}({arg}) with fuel {low}"
        );
        if low > 0 {
            let short = meter(&module, &with_fuel(low - 1)).unwrap();
            assert_eq!(run(&short, name, &[arg]), Outcome::Unreachable);
        }
    }
}

/// Vector instructions are plain instructions to metering: each costs 1,
/// whatever its immediates (`v128.const` and `i8x16.shuffle` carry 16
/// bytes), and both engines agree on the boundary and the result.
#[test]
fn vector_instructions_cost_one_each() {
    // One segment: local.get, i64x2.splat, v128.const, i64x2.add,
    // v128.const, i8x16.shuffle (the first's high half, then the second's
    // low half), i64x2.extract_lane and the final end: 8.
    let module = decoder(
        r#"(func (export "lanes") (param $x i64) (result i64)
  local.get $x
  i64x2.splat
  v128.const i64x2 5 7
  i64x2.add
  v128.const i64x2 0 0
  i8x16.shuffle 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23
  i64x2.extract_lane 0)"#,
    );
    assert!(legation_meter::uses_vectors(&module));
    for form in [FuelIn::Global, FuelIn::Local] {
        assert_eq!(least_fuel(&module, "lanes", 100, form), 8, "{form:?}");
    }
    let enough = meter(&module, &with_fuel(8)).unwrap();
    let short = meter(&module, &with_fuel(7)).unwrap();
    legation_meter::verify_metered(&enough, usize::MAX).unwrap();
    for engine in ENGINES {
        assert_eq!(
            instantiate(engine, &enough).call("lanes", &[100]),
            Outcome::Returned(vec![107]),
            "{engine}"
        );
        assert_eq!(
            instantiate(engine, &short).call("lanes", &[100]),
            Outcome::Unreachable,
            "{engine}"
        );
    }
}
