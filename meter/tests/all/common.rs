//! Test modules and the two engines the tests run them on.

#![allow(dead_code)]

/// Counts to `n`; costs exactly `9n + 8` (see `finite_loop_costs_9n_plus_8`).
pub const COUNT: &str = r#"
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

/// An endless loop that counts its iterations in memory.
pub const SPIN: &str = r#"
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

pub const BULK: &str = r#"
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

/// `rec(n)` nests n + 1 calls.
pub const REC: &str = r#"
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

/// Functions that leave by every kind of exit, and a driver that calls
/// each many times: if one exit missed its decrement, the depth would
/// creep up to the limit.
pub const EXITS: &str = r#"
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

/// Branches of every kind out of nested blocks, loops and ifs, block
/// parameters, multi-value results and an indirect call.
pub const BRANCHES: &str = r#"
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

/// The rest of a decoder module around the functions under test: the ABI
/// exports and the description section.
const ABI: &str = r#"
  (func (export "legation_alloc") (param i32) (result i32) i32.const 0)
  (func (export "legation_decode") (param i32 i32) (result i64) i64.const 0)
  (@custom "legation.decoder" "{\"abi\":1,\"name\":\"test\"}")
"#;

/// A decoder module with one page of memory and `funcs` (text format).
pub fn decoder(funcs: &str) -> Vec<u8> {
    decoder_with_memory(r#"(memory (export "memory") 1)"#, funcs)
}

/// A decoder module with the given memory declaration and `funcs`.
pub fn decoder_with_memory(memory: &str, funcs: &str) -> Vec<u8> {
    wat::parse_str(format!("(module {memory} {ABI} {funcs})")).unwrap()
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It returned these values (i32s sign-extended).
    Returned(Vec<i64>),
    /// It trapped on `unreachable`: a limit was hit.
    Unreachable,
    /// It trapped otherwise.
    OtherTrap(String),
}

impl Outcome {
    pub fn value(&self) -> i64 {
        match self {
            Outcome::Returned(values) if values.len() == 1 => values[0],
            other => panic!("expected one value, got {other:?}"),
        }
    }
}

/// One instance on one engine.
pub trait Instance {
    /// Calls the export `name` with `args` (converted to the parameter
    /// types, i32 or i64).
    fn call(&mut self, name: &str, args: &[i64]) -> Outcome;
    /// The little-endian u32 at `addr` in the exported memory.
    fn read_u32(&mut self, addr: usize) -> u32;
}

/// Calls of [`BRANCHES`] that go through calls, indirect calls, early
/// returns, branches out of a function and several results.
pub const BOUNDARY_CALLS: [(&str, i64); 7] = [
    ("collatz", 27),
    ("classify", 2),
    ("nested", 3),
    ("nested", 40),
    ("params", -4),
    ("multi", 2),
    ("indirect", 7),
];

/// The least fuel with which `name(arg)` finishes on wasmtime, with
/// `module` metered in `form` and otherwise default limits, found by
/// bisection (at most 2^20).
pub fn least_fuel(module: &[u8], name: &str, arg: i64, form: legation_meter::FuelIn) -> u64 {
    let finishes = |fuel: u64| {
        let cfg = legation_meter::MeterConfig {
            fuel,
            ..legation_meter::MeterConfig::default()
        };
        let metered = legation_meter::meter_as(module, &cfg, form).unwrap();
        match instantiate("wasmtime", &metered).call(name, &[arg]) {
            Outcome::Returned(_) => true,
            Outcome::Unreachable => false,
            other => panic!("{name}({arg}): {other:?}"),
        }
    };
    let (mut low, mut high) = (0u64, 1u64 << 20);
    assert!(finishes(high), "{name}({arg}) needs more than 2^20 fuel");
    while low < high {
        let mid = (low + high) / 2;
        if finishes(mid) {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    low
}

/// The engines under test, by name.
pub const ENGINES: [&str; 2] = ["wasmtime", "wasmi"];

/// Instantiates `wasm` on the named engine.
pub fn instantiate(engine: &str, wasm: &[u8]) -> Box<dyn Instance> {
    match engine {
        "wasmtime" => Box::new(Wasmtime::new(wasm)),
        "wasmi" => Box::new(Wasmi::new(wasm)),
        other => panic!("no engine {other}"),
    }
}

/// Calls `name` on a fresh instance on every engine, checks that they
/// agree and returns the outcome.
pub fn run(wasm: &[u8], name: &str, args: &[i64]) -> Outcome {
    let outcomes: Vec<Outcome> = ENGINES
        .iter()
        .map(|engine| instantiate(engine, wasm).call(name, args))
        .collect();
    assert_eq!(
        outcomes[0], outcomes[1],
        "wasmtime and wasmi disagree on {name}{args:?}"
    );
    outcomes.into_iter().next().unwrap()
}

struct Wasmtime {
    store: wasmtime::Store<()>,
    instance: wasmtime::Instance,
}

impl Wasmtime {
    fn new(wasm: &[u8]) -> Self {
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, wasm).unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        Wasmtime { store, instance }
    }
}

impl Instance for Wasmtime {
    fn call(&mut self, name: &str, args: &[i64]) -> Outcome {
        use wasmtime::{Val, ValType};
        let func = self.instance.get_func(&mut self.store, name).unwrap();
        let ty = func.ty(&self.store);
        let params: Vec<Val> = ty
            .params()
            .zip(args)
            .map(|(ty, &arg)| match ty {
                ValType::I32 => Val::I32(arg as i32),
                ValType::I64 => Val::I64(arg),
                other => panic!("parameter type {other}"),
            })
            .collect();
        let mut results = vec![Val::I32(0); ty.results().len()];
        match func.call(&mut self.store, &params, &mut results) {
            Ok(()) => Outcome::Returned(
                results
                    .iter()
                    .map(|v| match v {
                        Val::I32(v) => i64::from(*v),
                        Val::I64(v) => *v,
                        other => panic!("result {other:?}"),
                    })
                    .collect(),
            ),
            Err(error) => match error.downcast_ref::<wasmtime::Trap>() {
                Some(wasmtime::Trap::UnreachableCodeReached) => Outcome::Unreachable,
                _ => Outcome::OtherTrap(format!("{error:?}")),
            },
        }
    }

    fn read_u32(&mut self, addr: usize) -> u32 {
        let memory = self.instance.get_memory(&mut self.store, "memory").unwrap();
        let bytes = &memory.data(&self.store)[addr..addr + 4];
        u32::from_le_bytes(bytes.try_into().unwrap())
    }
}

struct Wasmi {
    store: wasmi::Store<()>,
    instance: wasmi::Instance,
}

impl Wasmi {
    fn new(wasm: &[u8]) -> Self {
        let mut config = wasmi::Config::default();
        // wasmi's own limit (1000 by default) must not come before the
        // metered one.
        config.set_max_recursion_depth(100_000);
        let engine = wasmi::Engine::new(&config);
        let module = wasmi::Module::new(&engine, wasm).unwrap();
        let mut store = wasmi::Store::new(&engine, ());
        let linker = wasmi::Linker::<()>::new(&engine);
        let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
        Wasmi { store, instance }
    }
}

impl Instance for Wasmi {
    fn call(&mut self, name: &str, args: &[i64]) -> Outcome {
        use wasmi::{Val, ValType};
        let func = self.instance.get_func(&self.store, name).unwrap();
        let ty = func.ty(&self.store);
        let params: Vec<Val> = ty
            .params()
            .iter()
            .zip(args)
            .map(|(ty, &arg)| match ty {
                ValType::I32 => Val::I32(arg as i32),
                ValType::I64 => Val::I64(arg),
                other => panic!("parameter type {other:?}"),
            })
            .collect();
        let mut results = vec![Val::I32(0); ty.results().len()];
        match func.call(&mut self.store, &params, &mut results) {
            Ok(()) => Outcome::Returned(
                results
                    .iter()
                    .map(|v| match v {
                        Val::I32(v) => i64::from(*v),
                        Val::I64(v) => *v,
                        other => panic!("result {other:?}"),
                    })
                    .collect(),
            ),
            Err(error) => match error.as_trap_code() {
                Some(wasmi::TrapCode::UnreachableCodeReached) => Outcome::Unreachable,
                _ => Outcome::OtherTrap(format!("{error:?}")),
            },
        }
    }

    fn read_u32(&mut self, addr: usize) -> u32 {
        let memory = self.instance.get_memory(&self.store, "memory").unwrap();
        let bytes = &memory.data(&self.store)[addr..addr + 4];
        u32::from_le_bytes(bytes.try_into().unwrap())
    }
}
