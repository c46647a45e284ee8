//! Test modules and the two engines the tests run them on.

#![allow(dead_code)]

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
