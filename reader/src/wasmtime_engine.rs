//! The native engine: wasmtime with Cranelift.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use wasmtime::{Config, InstancePre, Linker, Module, ResourceLimiter, Store, Trap};

use crate::decode::abi;
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
/// The most instances an engine from [`Wasmtime::new`] runs at once (and
/// so the most memory slots its pool reserves): the machine's cores, at
/// least the two that a render check runs side by side.
const MAX_SLOTS: usize = 8;

/// wasmtime, configured for determinism: no relaxed SIMD, no threads,
/// canonical NaNs, a large stack so the module's own depth limit is what
/// stops recursion, and (in [`Wasmtime::new`]) epoch interruption for the
/// watchdog.
///
/// An engine that this machine cannot give what it needs (the address
/// space of its memories, a thread) is still made, and fails every call
/// with [`EngineError::Host`]: a verdict on the machine, never on a module
/// or a record.
pub struct Wasmtime {
    engine: Result<wasmtime::Engine, String>,
    /// Whether calls stop at their watchdog by epoch interruption.
    watched: bool,
    /// How instances get their memory.
    allocation: Allocation,
    /// Instances running now, at most the pool's slots.
    slots: Arc<Slots>,
}

/// How an engine's instances get their memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// From a pool of this many slots reserved when the engine was made.
    Pooled(usize),
    /// Mapped for each instance, because the pool could not be reserved
    /// (an address-space limit, `ulimit -v`).
    OnDemand,
    /// Not at all: the engine could not be made.
    None,
}

/// Instances come from a pool of memory slots that are reused, kept
/// resident and reset between calls, so a call does not pay for mapping
/// and faulting in fresh memory. Each slot reserves the address space of
/// the largest memory a decoder may have (4 GiB) and its guard, about
/// 4.1 GiB: the pool holds as many slots as the engine runs instances at
/// once, and no more.
fn pooling(slots: usize) -> wasmtime::InstanceAllocationStrategy {
    let n = u32::try_from(slots).unwrap_or(u32::MAX);
    let mut p = wasmtime::PoolingAllocationConfig::new();
    p.total_memories(n)
        .total_tables(n)
        .total_core_instances(n)
        .max_memory_size(MEMORY_CAP)
        .linear_memory_keep_resident(16 << 20)
        .table_keep_resident(64 << 10)
        // Where the kernel can say which pages a call touched (Linux 6.7+,
        // PAGEMAP_SCAN), only those are reset: a tiny record's call no
        // longer clears every low page of the slot (100,000 tiny records
        // packed: 4.1 s -> 2.5 s). Elsewhere the low pages are cleared as
        // before; either way each call starts from the module's own image.
        .pagemap_scan(wasmtime::Enabled::Auto);
    wasmtime::InstanceAllocationStrategy::Pooling(p)
}

impl Default for Wasmtime {
    fn default() -> Self {
        Self::new()
    }
}

impl Wasmtime {
    /// A new engine with its watchdog clock thread: a call that outlives
    /// its watchdog stops with [`EngineError::Timeout`]. It runs as many
    /// instances at once as the machine has cores (2 to 8); more calls
    /// wait for a slot.
    pub fn new() -> Self {
        let slots = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(2, MAX_SLOTS);
        let mut w = Self::build(true, slots);
        if let Ok(engine) = &w.engine {
            let weak = engine.weak();
            let clock = std::thread::Builder::new()
                .name("legation-watchdog".into())
                .spawn(move || {
                    while let Some(e) = weak.upgrade() {
                        e.increment_epoch();
                        drop(e);
                        std::thread::sleep(TICK);
                    }
                });
            if let Err(e) = clock {
                // Calls nothing would stop by the clock: refuse them.
                w.engine = Err(format!("starting the watchdog thread: {e}"));
                w.allocation = Allocation::None;
            }
        }
        w
    }

    /// A new engine without a watchdog of its own, for a process that
    /// something else stops by the clock: the decoder worker, which its
    /// host kills when a call outlives the watchdog
    /// ([`crate::isolated`]). Fuel still bounds every call. It runs one
    /// instance at a time (a worker runs one call at a time), so its pool
    /// reserves one slot; a second call waits for the first.
    ///
    /// Epoch interruption checks a counter in memory at every function
    /// entry and loop header, on top of the module's own fuel check
    /// there: leaving it out makes metered decoding about a fifth faster
    /// (BENCHMARKS.md, "Decoders").
    pub fn unwatched() -> Self {
        Self::build(false, 1)
    }

    /// An engine running at most `slots` instances at once: pooled if the
    /// pool can be reserved, else allocating on demand one instance at a
    /// time (the address space that refused a pool of `slots` may not
    /// hold two instances' reservations either: a second call waits for
    /// the first rather than failing), else none (and every call fails
    /// with [`EngineError::Host`], saying why).
    pub fn build(epochs: bool, slots: usize) -> Self {
        let slots = slots.max(1);
        let (engine, allocation) = match Self::engine(epochs, Some(slots)) {
            Ok(e) => (Ok(e), Allocation::Pooled(slots)),
            Err(pooled) => match Self::engine(epochs, None) {
                Ok(e) => (Ok(e), Allocation::OnDemand),
                Err(on_demand) => (
                    Err(format!(
                        "wasmtime could not start: a pool of {slots} memory slot(s): {pooled}; \
                         allocating on demand: {on_demand}"
                    )),
                    Allocation::None,
                ),
            },
        };
        Wasmtime {
            engine,
            watched: epochs,
            allocation,
            slots: Arc::new(Slots {
                free: Mutex::new(match allocation {
                    Allocation::Pooled(_) => slots,
                    _ => 1,
                }),
                freed: Condvar::new(),
            }),
        }
    }

    /// How this engine's instances get their memory.
    pub fn allocation(&self) -> Allocation {
        self.allocation
    }

    fn engine(epochs: bool, pool: Option<usize>) -> Result<wasmtime::Engine, String> {
        let mut c = Config::new();
        c.epoch_interruption(epochs)
            .max_wasm_stack(WASM_STACK)
            .wasm_relaxed_simd(false)
            .cranelift_nan_canonicalization(true);
        if let Some(slots) = pool {
            c.allocation_strategy(pooling(slots));
        }
        wasmtime::Engine::new(&c).map_err(|e| format!("{e:#}"))
    }
}

/// A counting semaphore over an engine's instances, so that no call finds
/// the pool empty: that would be the machine's failure, not the record's.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

/// One instance's slot, given back when dropped.
struct Slot(Arc<Slots>);

impl Slots {
    fn take(self: &Arc<Self>) -> Slot {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        Slot(self.clone())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

/// What a store holds: the limits of one call, and whether the machine
/// failed to give a memory the pages its module was allowed.
struct Limits {
    host_failed: Option<String>,
}

impl ResourceLimiter for Limits {
    /// Growth past the memory's declared maximum fails (`memory.grow`
    /// gives -1), as on every engine.
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= maximum.unwrap_or(MEMORY_CAP).min(MEMORY_CAP))
    }

    /// A growth within the memory's type and maximum that the machine
    /// could not map ends the call as the machine's failure: a decoder
    /// seeing `memory.grow` fail there would fail the record for it. wasmtime
    /// also calls this for a growth past what the memory's type can hold,
    /// before asking [`Limits::memory_growing`]: that one is the module's,
    /// and gives -1.
    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        let message = format!("{error:#}");
        if message.contains("exceeds memory type's limits")
            || message.contains("maximum size exceeded")
        {
            return Ok(());
        }
        self.host_failed = Some(format!("growing a decoder's memory: {message}"));
        Err(error)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        8
    }

    fn memories(&self) -> usize {
        1
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
        let engine = self
            .engine
            .as_ref()
            .map_err(|e| EngineError::Host(e.clone()))?;
        let module =
            Module::new(engine, wasm).map_err(|e| EngineError::Module(format!("{e:#}")))?;
        let linker: Linker<Limits> = Linker::new(engine);
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| EngineError::Module(format!("{e:#}")))?;
        Ok(WasmtimeDecoder {
            engine: engine.clone(),
            pre,
            watched: self.watched,
            slots: self.slots.clone(),
        })
    }
}

/// A decoder compiled by wasmtime; each call runs in a fresh instance.
pub struct WasmtimeDecoder {
    engine: wasmtime::Engine,
    pre: InstancePre<Limits>,
    watched: bool,
    slots: Arc<Slots>,
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
    running: Running,
    ptr: i32,
    len: i32,
    /// Given back after the store (fields drop in order), so the pool
    /// has the instance's slot free again when another call takes it.
    _slot: Slot,
}

impl WasmtimeDecoder {
    /// Instantiates the module and writes `input` into the block that
    /// `legation_alloc` returns. `watchdog` stops the call only on an
    /// engine from [`Wasmtime::new`]. Waits while the engine runs as many
    /// instances as it has slots: do not hold a [`Prepared`] while
    /// preparing another on an engine of one slot.
    pub fn prepare(&self, input: &[u8], watchdog: Duration) -> Result<Prepared, EngineError> {
        let slot = self.slots.take();
        let mut store = Store::new(&self.engine, Limits { host_failed: None });
        store.limiter(|l| l);
        if self.watched {
            store.set_epoch_deadline((watchdog.as_millis() / TICK.as_millis()).max(1) as u64);
            store.epoch_deadline_trap();
        }
        // The module was checked and has no start function: an
        // instantiation that fails without a trap is the machine's failure
        // to give it memory (an address-space limit), not the record's.
        let instance = self.pre.instantiate(&mut store).map_err(|e| {
            if e.downcast_ref::<Trap>().is_some() {
                trap(e)
            } else {
                EngineError::Host(format!("instantiating the decoder: {e:#}"))
            }
        })?;
        let memory = instance
            .get_memory(&mut store, abi::MEMORY)
            .ok_or_else(abi::no_memory)?;
        let mut running = Running {
            store,
            instance,
            memory,
        };
        let (ptr, len) = abi::write_record(&mut running, input)?;
        Ok(Prepared {
            running,
            ptr,
            len,
            _slot: slot,
        })
    }
}

impl Prepared {
    /// Calls the export and returns the raw output (status byte and
    /// payload), copied out of the instance's memory. The instance is
    /// reset when this is dropped, so call once.
    pub fn call(&mut self, call: Call, output_cap: usize) -> Result<Vec<u8>, EngineError> {
        abi::decode(&mut self.running, call, (self.ptr, self.len), output_cap)
    }
}

/// A fresh instance of a decoder, for one call.
struct Running {
    store: Store<Limits>,
    instance: wasmtime::Instance,
    memory: wasmtime::Memory,
}

impl abi::Instance for Running {
    fn alloc(&mut self, len: i32) -> Result<i32, EngineError> {
        let f = self
            .instance
            .get_typed_func::<i32, i32>(&mut self.store, abi::ALLOC)
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
                    .get_typed_func::<(i32, i32), i64>(&mut self.store, abi::DECODE)
                    .map_err(trap)?;
                f.call(&mut self.store, (ptr, len))
            }
            Call::Page(p) => {
                let f = self
                    .instance
                    .get_typed_func::<(i32, i32, i32), i64>(&mut self.store, abi::DECODE_PAGE)
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
            .get_global(&mut self.store, legation_meter::LIMIT_EXPORT)
            .and_then(|g| g.get(&mut self.store).i32())
    }

    fn panic_at(&mut self) -> Option<i64> {
        let f = self
            .instance
            .get_typed_func::<(), i64>(&mut self.store, abi::PANIC)
            .ok()?;
        f.call(&mut self.store, ()).ok()
    }

    /// A growth of memory the machine could not map (see
    /// [`Limits::memory_grow_failed`]).
    fn host_failure(&mut self) -> Option<String> {
        self.store.data_mut().host_failed.take()
    }
}
