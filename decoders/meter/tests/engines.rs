//! Metered modules run on wasmtime and wasmi: both give the same verdict
//! at the same boundary, and metering changes no result.

mod common;

use common::{decoder, decoder_with_memory, instantiate, run, Outcome, ENGINES};
use legation_meter::{meter, MeterConfig};

fn with_fuel(fuel: u64) -> MeterConfig {
    MeterConfig {
        fuel,
        ..MeterConfig::default()
    }
}

/// Counts to `n`; costs exactly `9n + 8` (see `finite_loop_costs_9n_plus_8`).
const COUNT: &str = r#"
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
"#;

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

/// An endless loop that counts its iterations in memory.
const SPIN: &str = r#"
  (func (export "spin")
    loop
      i32.const 0
      i32.const 0
      i32.load
      i32.const 1
      i32.add
      i32.store
      br 0
    end)
"#;

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

const BULK: &str = r#"
  (func (export "fill") (param $len i32) (result i32)
    i32.const 0
    i32.const 7
    local.get $len
    memory.fill
    i32.const 0
    i32.load8_u)
  (func (export "copy") (param $len i32) (result i32)
    i32.const 100
    i32.const 0
    local.get $len
    memory.copy
    i32.const 100
    i32.load8_u)
  (func (export "grow") (param $delta i32) (result i32)
    local.get $delta
    memory.grow)
"#;

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

/// `rec(n)` nests n + 1 calls.
const REC: &str = r#"
  (func $rec (export "rec") (param $n i32) (result i32)
    local.get $n
    i32.eqz
    if (result i32)
      i32.const 0
    else
      local.get $n
      i32.const 1
      i32.sub
      call $rec
      i32.const 1
      i32.add
    end)
"#;

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

/// Functions that leave by every kind of exit, and a driver that calls
/// each many times: if one exit missed its decrement, the depth would
/// creep up to the limit.
const EXITS: &str = r#"
  (type $pair (func (param i32) (result i32 i32)))
  (func $fall (param $x i32) (result i32)
    local.get $x
    i32.const 1
    i32.add)
  (func $ret (param $x i32) (result i32)
    block
      loop
        local.get $x
        return
      end
    end
    i32.const -1)
  (func $br (param $x i32) (result i32)
    local.get $x
    br 0)
  (func $br_nested (param $x i32) (result i32)
    block
      loop
        local.get $x
        i32.const 2
        i32.mul
        br 2
      end
    end
    i32.const -1)
  (func $br_if (param $x i32) (result i32)
    block
      local.get $x
      local.get $x
      i32.const 1
      i32.and
      br_if 1
      drop
    end
    i32.const 1000)
  (func $br_table (param $x i32) (result i32)
    block (result i32)
      block (result i32)
        local.get $x
        local.get $x
        i32.const 3
        i32.rem_u
        br_table 0 1 2
      end
      i32.const 10
      i32.add
      return
    end
    i32.const 20
    i32.add)
  (func $pair (type $pair)
    local.get 0
    local.get 0
    i32.const 5
    i32.gt_u
    if
      local.get 0
      i32.const 1
      br 1
    end
    i32.const 0)
  (func (export "exits") (param $k i32) (result i32)
    (local $i i32) (local $sum i32)
    loop $again
      local.get $i
      call $fall
      local.get $i
      call $ret
      i32.add
      local.get $i
      call $br
      i32.add
      local.get $i
      call $br_nested
      i32.add
      local.get $i
      call $br_if
      i32.add
      local.get $i
      call $br_table
      i32.add
      local.get $i
      call $pair
      i32.add
      i32.add
      local.get $sum
      i32.add
      local.set $sum
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get $k
      i32.lt_u
      br_if $again
    end
    local.get $sum)
"#;

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

/// Branches of every kind out of nested blocks, loops and ifs, block
/// parameters, multi-value results and an indirect call.
const BRANCHES: &str = r#"
  (type $unary (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $collatz $classify)
  (func $collatz (param $n i32) (result i32)
    (local $steps i32)
    block $done
      loop $again
        local.get $n
        i32.const 1
        i32.le_s
        br_if $done
        local.get $n
        i32.const 1
        i32.and
        if
          local.get $n
          i32.const 3
          i32.mul
          i32.const 1
          i32.add
          local.set $n
        else
          local.get $n
          i32.const 1
          i32.shr_s
          local.set $n
        end
        local.get $steps
        i32.const 1
        i32.add
        local.set $steps
        br $again
      end
    end
    local.get $steps)
  (func $classify (param $x i32) (result i32)
    block $other
      block $two
        block $one
          block $zero
            local.get $x
            br_table $zero $one $two $other
          end
          i32.const 100
          return
        end
        i32.const 101
        br 2
      end
      i32.const 102
      return
    end
    i32.const 199)
  (func $nested (param $x i32) (result i32)
    (local $acc i32) (local $i i32)
    block $out
      loop $outer
        local.get $i
        i32.const 1
        i32.add
        local.tee $i
        i32.const 6
        i32.gt_u
        br_if $out
        block $skip
          loop $inner
            local.get $acc
            local.get $x
            local.get $x
            i32.mul
            i32.add
            i32.const 1
            i32.add
            local.tee $acc
            i32.const 50
            i32.gt_s
            br_if $skip
            local.get $acc
            i32.const 7
            i32.rem_s
            br_table $inner $outer $skip $out
          end
        end
        local.get $acc
        i32.const 3
        i32.sub
        local.set $acc
        br $outer
      end
    end
    local.get $acc
    local.get $i
    i32.const 1000
    i32.mul
    i32.add)
  (func $params (param $x i32) (result i32)
    local.get $x
    i32.const 3
    block (param i32 i32) (result i32)
      i32.add
      local.get $x
      i32.const 0
      i32.lt_s
      br_if 0
      i32.const 2
      i32.mul
    end
    local.get $x
    if (param i32) (result i32)
      i32.const 1
      i32.sub
    else
      i32.const 1
      i32.add
    end)
  (func $multi (param $x i32) (result i32 i64)
    local.get $x
    i64.const 0
    local.get $x
    i32.const 10
    i32.gt_s
    br_if 0
    drop
    i64.const 1
    block (param i32 i64) (result i32 i64)
      local.get $x
      i32.const 3
      i32.lt_s
      br_table 0 1
    end
    i64.const 5
    i64.add)
  (func (export "collatz") (param i32) (result i32) local.get 0 call $collatz)
  (func (export "classify") (param i32) (result i32) local.get 0 call $classify)
  (func (export "nested") (param i32) (result i32) local.get 0 call $nested)
  (func (export "params") (param i32) (result i32) local.get 0 call $params)
  (func (export "multi") (param i32) (result i32 i64) local.get 0 call $multi)
  (func (export "indirect") (param i32) (result i32)
    local.get 0
    local.get 0
    i32.const 1
    i32.and
    call_indirect (type $unary))
"#;

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
    for (name, arg) in [
        ("collatz", 27i64),
        ("classify", 2),
        ("nested", 3),
        ("nested", 40),
        ("params", -4),
        ("multi", 2),
        ("indirect", 7),
    ] {
        let finishes = |fuel: u64| {
            let metered = meter(&module, &with_fuel(fuel)).unwrap();
            let mut instance = instantiate("wasmtime", &metered);
            match instance.call(name, &[arg]) {
                Outcome::Returned(_) => true,
                Outcome::Unreachable => false,
                other => panic!("{name}({arg}): {other:?}"),
            }
        };
        let (mut low, mut high) = (0u64, 1u64 << 20);
        assert!(finishes(high));
        while low < high {
            let mid = (low + high) / 2;
            if finishes(mid) {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
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
