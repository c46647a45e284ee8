//! The native engine: wasmtime with Cranelift.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::{Config, InstancePre, Linker, Module, Store, StoreLimits, StoreLimitsBuilder, Trap};

use crate::decode::{Call, Compiled, Engine, EngineError};

/// How often the watchdog's clock ticks.
const TICK: Duration = Duration::from_millis(10);
/// Memory a store may hold: the most a 32-bit memory can be, so the
/// module's own metered maximum is what decides.
const MEMORY_CAP: usize = 4 << 30;
/// Native stack wasm may use: wasmtime's default, which any thread with
/// Rust's default 2 MiB stack can give. Rust decoders keep large locals in
/// linear memory, so their frames are small and the metered call depth
/// (2,000 by default) is reached first.
const WASM_STACK: usize = 512 << 10;

/// wasmtime, configured for determinism: no relaxed SIMD, no threads,
/// canonical NaNs, a large stack so the module's own depth limit is what
/// stops recursion, and (in [`Wasmtime::new`]) epoch interruption for the
/// watchdog.
pub struct Wasmtime {
    engine: wasmtime::Engine,
    /// Whether calls stop at their watchdog by epoch interruption.
    watched: bool,
}

/// Instances come from a pool of memory slots that are reused, kept
/// resident and reset between calls, so a call does not pay for mapping
/// and faulting in fresh memory.
fn pooling() -> wasmtime::InstanceAllocationStrategy {
    let mut p = wasmtime::PoolingAllocationConfig::new();
    p.total_memories(16)
        .total_tables(16)
        .total_core_instances(16)
        .max_memory_size(MEMORY_CAP)
        .linear_memory_keep_resident(16 << 20)
        .table_keep_resident(64 << 10);
    wasmtime::InstanceAllocationStrategy::Pooling(p)
}

impl Default for Wasmtime {
    fn default() -> Self {
        Self::new()
    }
}

impl Wasmtime {
    /// A new engine with its watchdog clock thread: a call that outlives
    /// its watchdog stops with [`EngineError::Timeout`].
    pub fn new() -> Self {
        let engine = Self::engine(true);
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("legation-watchdog".into())
            .spawn(move || {
                while let Some(e) = weak.upgrade() {
                    e.increment_epoch();
                    drop(e);
                    std::thread::sleep(TICK);
                }
            })
            .expect("spawning the watchdog thread");
        Wasmtime {
            engine,
            watched: true,
        }
    }

    /// A new engine without a watchdog of its own, for a process that
    /// something else stops by the clock: the decoder worker, which its
    /// host kills when a call outlives the watchdog
    /// ([`crate::isolated`]). Fuel still bounds every call.
    ///
    /// Epoch interruption checks a counter in memory at every function
    /// entry and loop header, on top of the module's own fuel check
    /// there: leaving it out makes metered decoding about a fifth faster
    /// (BENCHMARKS.md, "Decoders").
    pub fn unwatched() -> Self {
        Wasmtime {
            engine: Self::engine(false),
            watched: false,
        }
    }

    fn engine(epochs: bool) -> wasmtime::Engine {
        let mut c = Config::new();
        c.epoch_interruption(epochs)
            .max_wasm_stack(WASM_STACK)
            .allocation_strategy(pooling())
            .wasm_relaxed_simd(false)
            .cranelift_nan_canonicalization(true);
        wasmtime::Engine::new(&c).expect("a valid wasmtime configuration") // fixed settings
    }
}

impl Engine for Wasmtime {
    fn name(&self) -> &'static str {
        "wasmtime"
    }

    fn compile(&self, wasm: &[u8]) -> Result<Arc<dyn Compiled>, EngineError> {
        Ok(Arc::new(self.compile_decoder(wasm)?))
    }
}

impl Wasmtime {
    /// Compiles a module (already checked by the host) into a decoder whose
    /// calls can also be taken in two steps ([`WasmtimeDecoder::prepare`],
    /// [`Prepared::call`]), so that a benchmark can time the decoding apart
    /// from the instance's setup.
    pub fn compile_decoder(&self, wasm: &[u8]) -> Result<WasmtimeDecoder, EngineError> {
        let module =
            Module::new(&self.engine, wasm).map_err(|e| EngineError::Module(format!("{e:#}")))?;
        let linker: Linker<StoreLimits> = Linker::new(&self.engine);
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| EngineError::Module(format!("{e:#}")))?;
        Ok(WasmtimeDecoder {
            engine: self.engine.clone(),
            pre,
            watched: self.watched,
        })
    }
}

/// A decoder compiled by wasmtime; each call runs in a fresh instance.
pub struct WasmtimeDecoder {
    engine: wasmtime::Engine,
    pre: InstancePre<StoreLimits>,
    watched: bool,
}

fn trap(e: wasmtime::Error) -> EngineError {
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => EngineError::Timeout,
        Some(Trap::UnreachableCodeReached) => {
            EngineError::Trap("trapped at `unreachable` (the decoder panicked or aborted)".into())
        }
        Some(Trap::StackOverflow) => EngineError::Trap(format!(
            "the engine's native stack of {} KiB ran out (SPEC §13.4)",
            WASM_STACK >> 10
        )),
        Some(t) => EngineError::Trap(format!("trap: {t}")),
        None => EngineError::Trap(format!("{e:#}")),
    }
}

/// A trap, or the module's own limit that caused it where the local form
/// says so (its `legation_limit` global, SPEC §13.6).
fn limit_or(
    error: EngineError,
    instance: &wasmtime::Instance,
    store: &mut Store<StoreLimits>,
) -> EngineError {
    if !matches!(error, EngineError::Trap(_)) {
        return error;
    }
    instance
        .get_global(&mut *store, legation_meter::LIMIT_EXPORT)
        .and_then(|g| g.get(&mut *store).i32())
        .and_then(legation_meter::Limit::from_code)
        .map_or(error, EngineError::Limit)
}

impl Compiled for WasmtimeDecoder {
    fn call(
        &self,
        call: Call,
        input: &[u8],
        output_cap: usize,
        watchdog: Duration,
    ) -> Result<Vec<u8>, EngineError> {
        self.prepare(input, watchdog)?.call(call, output_cap)
    }
}

/// A fresh instance holding a record, ready for one call.
pub struct Prepared {
    store: Store<StoreLimits>,
    instance: wasmtime::Instance,
    memory: wasmtime::Memory,
    ptr: i32,
    len: i32,
}

impl WasmtimeDecoder {
    /// Instantiates the module and writes `input` into the block that
    /// `legation_alloc` returns. `watchdog` stops the call only on an
    /// engine from [`Wasmtime::new`].
    pub fn prepare(&self, input: &[u8], watchdog: Duration) -> Result<Prepared, EngineError> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(MEMORY_CAP)
            .instances(1)
            .memories(1)
            .tables(8)
            .build();
        let mut store = Store::new(&self.engine, limits);
        store.limiter(|l| l);
        if self.watched {
            store.set_epoch_deadline((watchdog.as_millis() / TICK.as_millis()).max(1) as u64);
            store.epoch_deadline_trap();
        }
        let instance = self.pre.instantiate(&mut store).map_err(trap)?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| EngineError::Module("no exported memory".into()))?;
        let len = i32::try_from(input.len())
            .map_err(|_| EngineError::Output("input over 2 GiB".into()))?;
        let alloc = instance
            .get_typed_func::<i32, i32>(&mut store, "legation_alloc")
            .map_err(trap)?;
        let ptr = alloc
            .call(&mut store, len)
            .map_err(|e| limit_or(trap(e), &instance, &mut store))?;
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
        Ok(Prepared {
            store,
            instance,
            memory,
            ptr,
            len,
        })
    }
}

impl Prepared {
    /// Calls the export and returns the raw output (status byte and
    /// payload), copied out of the instance's memory. The instance is
    /// reset when this is dropped, so call once.
    pub fn call(&mut self, call: Call, output_cap: usize) -> Result<Vec<u8>, EngineError> {
        let store = &mut self.store;
        let (ptr, len) = (self.ptr, self.len);
        let packed = match call {
            Call::Decode => {
                let f = self
                    .instance
                    .get_typed_func::<(i32, i32), i64>(&mut *store, "legation_decode")
                    .map_err(trap)?;
                f.call(&mut *store, (ptr, len))
                    .map_err(|e| limit_or(trap(e), &self.instance, &mut *store))?
            }
            Call::Page(p) => {
                let f = self
                    .instance
                    .get_typed_func::<(i32, i32, i32), i64>(&mut *store, "legation_decode_page")
                    .map_err(trap)?;
                let page = i32::try_from(p)
                    .map_err(|_| EngineError::Output("page number over 2^31".into()))?;
                f.call(&mut *store, (ptr, len, page))
                    .map_err(|e| limit_or(trap(e), &self.instance, &mut *store))?
            }
        };
        crate::decode::take_output(self.memory.data(&*store), packed, output_cap)
    }
}
