//! A second, independent engine: wasmi (an interpreter), for checking that
//! documents are byte-identical across engines, and for hosts without a
//! JIT. It has no watchdog: the module's own fuel bounds every call.

use std::sync::Arc;
use std::time::Duration;

use wasmi::{Linker, Module, Store, StoreLimits, StoreLimitsBuilder};

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

/// A trap, or the module's own limit that caused it where the local form
/// says so (its `legation_limit` global, SPEC §13.6).
fn limit_or(
    error: EngineError,
    instance: &wasmi::Instance,
    store: &Store<StoreLimits>,
) -> EngineError {
    if !matches!(error, EngineError::Trap(_)) {
        return error;
    }
    instance
        .get_global(store, legation_meter::LIMIT_EXPORT)
        .and_then(|g| g.get(store).i32())
        .and_then(legation_meter::Limit::from_code)
        .map_or(error, EngineError::Limit)
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
            .get_memory(&store, "memory")
            .ok_or_else(|| EngineError::Module("no exported memory".into()))?;
        let len = i32::try_from(input.len())
            .map_err(|_| EngineError::Output("input over 2 GiB".into()))?;
        let alloc = instance
            .get_typed_func::<i32, i32>(&store, "legation_alloc")
            .map_err(trap)?;
        let ptr = alloc
            .call(&mut store, len)
            .map_err(|e| limit_or(trap(e), &instance, &store))?;
        if ptr == 0 {
            return Err(EngineError::Trap(format!(
                "legation_alloc could not allocate {} bytes",
                input.len()
            )));
        }
        memory
            .write(&mut store, ptr as u32 as usize, input)
            .map_err(|_| {
                EngineError::Output(format!("legation_alloc returned {ptr}, outside memory"))
            })?;
        let packed = match call {
            Call::Decode => {
                let f = instance
                    .get_typed_func::<(i32, i32), i64>(&store, "legation_decode")
                    .map_err(trap)?;
                f.call(&mut store, (ptr, len))
                    .map_err(|e| limit_or(trap(e), &instance, &store))?
            }
            Call::Page(p) => {
                let f = instance
                    .get_typed_func::<(i32, i32, i32), i64>(&store, "legation_decode_page")
                    .map_err(trap)?;
                let page = i32::try_from(p)
                    .map_err(|_| EngineError::Output("page number over 2^31".into()))?;
                f.call(&mut store, (ptr, len, page))
                    .map_err(|e| limit_or(trap(e), &instance, &store))?
            }
        };
        crate::decode::take_output(memory.data(&store), packed, output_cap)
    }
}
