//! A second, independent engine: wasmi (an interpreter), for checking that
//! documents are byte-identical across engines, and for hosts without a
//! JIT. It has no watchdog: the module's own fuel bounds every call.

use std::sync::Arc;
use std::time::Duration;

use wasmi::{Linker, Module, Store, StoreLimits, StoreLimitsBuilder};

use crate::decode::abi;
use crate::decode::{Call, Compiled, Engine, EngineError};

/// wasmi, allowed at least the call depth metered modules may use.
pub struct Wasmi {
    engine: wasmi::Engine,
}

impl Default for Wasmi {
    fn default() -> Self {
        let mut c = wasmi::Config::default();
        // Vector instructions, as decoders may use them (SPEC §12.2), but
        // not relaxed SIMD, which wasmi's `simd` feature also switches on
        // and whose results may differ between engines.
        c.set_max_recursion_depth(100_000)
            .wasm_simd(true)
            .wasm_relaxed_simd(false);
        Wasmi {
            engine: wasmi::Engine::new(&c),
        }
    }
}

impl Engine for Wasmi {
    fn name(&self) -> &'static str {
        "wasmi"
    }

    fn compile(&self, wasm: &[u8]) -> Result<Arc<dyn Compiled>, EngineError> {
        let module =
            Module::new(&self.engine, wasm).map_err(|e| EngineError::Module(e.to_string()))?;
        Ok(Arc::new(WasmiDecoder {
            engine: self.engine.clone(),
            module,
        }))
    }
}

struct WasmiDecoder {
    engine: wasmi::Engine,
    module: Module,
}

fn trap(e: impl std::fmt::Display) -> EngineError {
    EngineError::Trap(e.to_string())
}

impl Compiled for WasmiDecoder {
    fn call(
        &self,
        call: Call,
        input: &[u8],
        output_cap: usize,
        _watchdog: Duration,
    ) -> Result<Vec<u8>, EngineError> {
        // The module's own cap (metering) is the real limit; this one only
        // must not be lower. 4 GiB does not fit a 32-bit usize (wasm32).
        let limits = StoreLimitsBuilder::new()
            .memory_size(usize::try_from(4u64 << 30).unwrap_or(usize::MAX))
            .instances(1)
            .build();
        let mut store: Store<StoreLimits> = Store::new(&self.engine, limits);
        store.limiter(|l| l);
        let linker: Linker<StoreLimits> = Linker::new(&self.engine);
        let instance = linker
            .instantiate_and_start(&mut store, &self.module)
            .map_err(trap)?;
        let memory = instance
            .get_memory(&store, abi::MEMORY)
            .ok_or_else(abi::no_memory)?;
        let mut running = Running {
            store,
            instance,
            memory,
        };
        let at = abi::write_record(&mut running, input)?;
        abi::decode(&mut running, call, at, output_cap)
    }
}

/// A fresh instance of a decoder, for one call.
struct Running {
    store: Store<StoreLimits>,
    instance: wasmi::Instance,
    memory: wasmi::Memory,
}

impl abi::Instance for Running {
    fn alloc(&mut self, len: i32) -> Result<i32, EngineError> {
        let f = self
            .instance
            .get_typed_func::<i32, i32>(&self.store, abi::ALLOC)
            .map_err(trap)?;
        f.call(&mut self.store, len)
            .map_err(|e| self.stopped(trap(e)))
    }

    fn write(&mut self, at: usize, bytes: &[u8]) -> bool {
        self.memory.write(&mut self.store, at, bytes).is_ok()
    }

    fn decode(&mut self, call: Call, ptr: i32, len: i32) -> Result<i64, EngineError> {
        match call {
            Call::Decode => {
                let f = self
                    .instance
                    .get_typed_func::<(i32, i32), i64>(&self.store, abi::DECODE)
                    .map_err(trap)?;
                f.call(&mut self.store, (ptr, len))
            }
            Call::Page(p) => {
                let f = self
                    .instance
                    .get_typed_func::<(i32, i32, i32), i64>(&self.store, abi::DECODE_PAGE)
                    .map_err(trap)?;
                f.call(&mut self.store, (ptr, len, abi::page_number(p)?))
            }
        }
        .map_err(|e| self.stopped(trap(e)))
    }

    fn memory(&self) -> &[u8] {
        self.memory.data(&self.store)
    }

    fn limit_code(&mut self) -> Option<i32> {
        self.instance
            .get_global(&self.store, legation_meter::LIMIT_EXPORT)
            .and_then(|g| g.get(&self.store).i32())
    }

    fn panic_at(&mut self) -> Option<i64> {
        let f = self
            .instance
            .get_typed_func::<(), i64>(&self.store, abi::PANIC)
            .ok()?;
        f.call(&mut self.store, ()).ok()
    }
}
