//! Metering: a decoder module rewritten to enforce its own limits.
//!
//! A record must get the same verdict (finished within limits, or not) on
//! every engine that runs its decoder: wasmtime natively, the browser's
//! own WebAssembly, wasmi. Engines count fuel differently or not at all,
//! so at pack time each decoder module is rewritten ("metered") to carry
//! its own fuel counter and call-depth counter and a capped memory. The
//! rewriting is deterministic: the same module and [`MeterConfig`] give
//! the same bytes.
//!
//! # Which modules are accepted
//!
//! [`check_decoder_module`] accepts a module that is valid WebAssembly 2.0
//! (bulk memory, reference types, multi-value, sign extension,
//! non-trapping float-to-int, mutable globals and the 128-bit vector
//! instructions are allowed; relaxed SIMD, threads and anything newer are
//! not),
//! with no imports, no start function, exactly one 32-bit memory exported
//! as `memory`, the functions `legation_alloc: (i32) -> i32`,
//! `legation_decode: (i32, i32) -> i64` and optionally
//! `legation_decode_page: (i32, i32, i32) -> i64`, no tail calls
//! (`return_call*`: they would leave a frame without its depth decrement)
//! and no `table.grow` (it would let memory use escape the memory cap), and
//! exactly one `legation.decoder` custom section holding UTF-8 text.
//!
//! # The rewriting
//!
//! 1. **Counters.** Two mutable globals are appended to the global
//!    section (which is created if absent): `$fuel: i64` initialised to
//!    `fuel`, then `$depth: i32` initialised to 0. Decoder modules have no
//!    imports, so appended globals do not shift the indices of existing
//!    ones; no function, type or local index changes either.
//!
//! 2. **Fuel.** Each function body is split into straight-line
//!    *segments*. A segment starts at the function entry and right after
//!    each `block`, `loop`, `if`, `else`, `end`, `br`, `br_if`,
//!    `br_table`, `return`, `call`, `call_indirect` and `unreachable`. Its
//!    *cost* is its number of original instructions (every operator counts
//!    1, including the `end` or branch that closes it), so every
//!    instruction of a segment runs whenever its first one does, and a
//!    segment is charged exactly when it is entered. At the start of each
//!    segment, `global.get $fuel; i64.const cost; i64.sub; global.set $fuel`
//!    is inserted, except where the segment is dead code that is never
//!    entered: right after `br`, `br_table`, `return` and `unreachable`.
//!
//!    Bulk operators are charged more, by their count operand (the i32 on
//!    top of the stack), before they run: `memory.fill`, `memory.copy`,
//!    `memory.init`, `table.fill`, `table.copy` and `table.init` cost
//!    `len >> 10` more (1 per KiB or per 1024 table elements, rounded
//!    down), `memory.grow` costs `delta << 6` more (64 per page, the same
//!    1 per KiB; charged whether or not the growth succeeds). The operand
//!    is kept through a new i32 scratch local appended to the function's
//!    locals (only in functions that use these operators):
//!    `local.tee $s; global.get $fuel; local.get $s; i64.extend_i32_u;
//!    i64.const 10; i64.shr_u; i64.sub; global.set $fuel`
//!    (`i64.const 6; i64.shl` for `memory.grow`), followed by the check.
//!
//!    The *check* is `global.get $fuel; i64.const 0; i64.lt_s; if;
//!    unreachable; end`. It is inserted after the charge at function entry,
//!    after the charge at each loop header (right after `loop`, so every
//!    iteration is checked), before each bulk operator (so none runs on
//!    credit) and at each function exit (see 3). Running out of fuel
//!    therefore traps with `unreachable` at a point every engine agrees on:
//!    the counter is exact and the checks' places are fixed. Because the
//!    fuel only decreases and every call ends with a check, a call that
//!    returns normally has spent at most its fuel: a call finishes if and
//!    only if the total cost of the segments it entered, plus the bulk
//!    charges, is at most the fuel (when no other trap comes first).
//!
//! 3. **Depth.** At function entry, before the entry charge:
//!    `global.get $depth; i32.const 1; i32.add; global.set $depth;
//!    global.get $depth; i32.const max_depth; i32.gt_u; if; unreachable;
//!    end` (WebAssembly has no `global.tee`), so at most `max_depth` calls
//!    are nested. At each exit the check is followed by the decrement
//!    `global.get $depth; i32.const 1; i32.sub; global.set $depth`; the
//!    exits are before every `return` and before the function's final
//!    `end`. A branch (`br`, `br_if`, `br_table`) to the function's own
//!    label also leaves the function; a body that has one is wrapped in a
//!    `block` whose type is the function's results (`[] -> results`; for
//!    several results a function type is appended to the type section
//!    unless one exists), so that such branches land before the exit
//!    sequence, which then precedes the real final `end`. Traps unwind
//!    everything (the host drops the instance), so no decrement is needed
//!    on a trap.
//!
//! 4. **Memory.** The memory's maximum becomes
//!    `min(declared maximum, max_memory_pages)`, or `max_memory_pages` if
//!    none was declared, so `memory.grow` past the cap returns -1 on every
//!    engine. A module whose memory starts above the cap is refused, as are
//!    64-bit and multiple memories.
//!
//! 5. **Branches keep their meaning.** Every inserted `if ... end` is
//!    self-contained and holds no original instruction, and every
//!    inserted sequence leaves the operand stack as it found it, so the
//!    relative depth of every original branch still names the same label.
//!    The one inserted block that encloses original code is the wrapper of
//!    3, which takes the place of the function's own label for branches
//!    that targeted it.
//!
//! 6. **Record.** A custom section `legation.meter` is appended at the end,
//!    holding `fuel` (u64), `max_depth` (u32) and `max_memory_pages`
//!    (u32), little-endian, 16 bytes in all, so hosts can show the limits
//!    ([`is_metered`]). [`meter`] refuses a module that already has one.
//!    Anyone can write such a section; [`verify_metered`] proves that the
//!    code enforces it, by removing the inserted code, metering the rest
//!    again and comparing.
//!
//! 7. **Everything else** (types, functions, tables, exports, elements,
//!    data, other custom sections including `legation.decoder` and
//!    `name`, and the original instructions themselves) is copied byte for
//!    byte, with one exception: label names in the `name` section (which
//!    number blocks, loops and ifs in order) are renumbered past the
//!    inserted `if`s and wrapper blocks, so they still name the same
//!    labels. The result is validated before [`meter`] returns it.
//!
//! # The form hosts run
//!
//! Engines keep a global in memory, so each charge above is a load, a
//! subtraction and a store. [`runnable`] verifies an archived module and
//! returns the same original code metered with the fuel in a local of each
//! function ([`FuelIn::Local`], SPEC §13.6): loaded from `$fuel` at entry
//! and after each call, stored to it before each call and at each exit.
//! The charges and checks are the same, so every call ends the same way;
//! engines keep the local in a register. A function that calls nothing
//! only compares `$depth` with the limit instead of raising and lowering
//! it, as nothing can see the difference.
//!
//! The local form also says which limit stopped a call, so that a host's
//! error can name it: a third global, exported as [`LIMIT_EXPORT`], is set
//! to a [`Limit`] code right before the `unreachable` of the fuel and
//! depth checks, and after a `memory.grow` that returned -1.
//!
//! An instance's fuel is shared by all the calls the host makes into it
//! (`legation_alloc`, then `legation_decode`); the depth returns to 0
//! after each call that does not trap.
//!
//! # What hosts must still do
//!
//! Engines have limits of their own (native stack size, wasmi's recursion
//! depth of 1000 by default, the memory the browser will actually give),
//! and the verdict is the same everywhere only where these are more
//! generous than the metered limits: hosts configure their engines so that
//! `max_depth` frames and `max_memory_pages` pages fit.

mod check;
mod error;
mod meter;
mod verify;

pub use check::{check_decoder_module, uses_vectors, ModuleFacts, MAX_MODULE_BYTES};
pub use error::MeterError;
pub use meter::{meter, meter_as};
pub use verify::{runnable, verify_metered};

/// Name of the custom section holding the decoder's JSON description.
pub const DECODER_SECTION: &str = "legation.decoder";

/// Name of the custom section recording the limits of a metered module.
pub const METER_SECTION: &str = "legation.meter";

/// The export of the local form ([`runnable`]) that says which limit
/// stopped a call: an `i32` global holding a [`Limit`] code, 0 if none.
pub const LIMIT_EXPORT: &str = "legation_limit";
pub(crate) const LIMIT_FUEL: i32 = 1;
pub(crate) const LIMIT_DEPTH: i32 = 2;
pub(crate) const LIMIT_MEMORY: i32 = 3;

/// Which of a metered module's limits stopped a call, read from
/// [`LIMIT_EXPORT`] after a trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The fuel ran out: the call trapped at a fuel check.
    Fuel,
    /// One more nested call would have gone over `max_depth`.
    Depth,
    /// A `memory.grow` was refused at `max_memory_pages` (the decoder then
    /// trapped, typically on the failed allocation).
    Memory,
}

impl Limit {
    /// The limit a value of [`LIMIT_EXPORT`] names; `None` for 0 (no
    /// limit was met) and anything unknown.
    pub fn from_code(code: i32) -> Option<Limit> {
        match code {
            LIMIT_FUEL => Some(Limit::Fuel),
            LIMIT_DEPTH => Some(Limit::Depth),
            LIMIT_MEMORY => Some(Limit::Memory),
            _ => None,
        }
    }

    /// Its value in [`LIMIT_EXPORT`].
    pub fn code(self) -> i32 {
        match self {
            Limit::Fuel => LIMIT_FUEL,
            Limit::Depth => LIMIT_DEPTH,
            Limit::Memory => LIMIT_MEMORY,
        }
    }

    /// The limit and its value, for messages: "the fuel of 20000000000
    /// units ran out".
    pub fn describe(self, cfg: &MeterConfig) -> String {
        match self {
            Limit::Fuel => format!("its fuel limit of {} units ran out", cfg.fuel),
            Limit::Depth => format!(
                "it went over its call-depth limit of {} nested calls",
                cfg.max_depth
            ),
            Limit::Memory => format!(
                "it trapped after its memory reached the cap of {} pages ({} MiB) and a \
                 memory.grow was refused",
                cfg.max_memory_pages,
                u64::from(cfg.max_memory_pages) * 64 / 1024
            ),
        }
    }
}

/// The limits a metered module enforces on itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MeterConfig {
    /// Fuel of one instance, in the units the crate documentation defines
    /// (about one per instruction). At most `i64::MAX`.
    pub fuel: u64,
    /// Most calls nested at once, the host's call included.
    pub max_depth: u32,
    /// Cap on the memory's maximum, in 64 KiB pages. At most 65536.
    pub max_memory_pages: u32,
}

impl Default for MeterConfig {
    /// 20 billion fuel, 2000 nested calls, 1 GiB of memory.
    fn default() -> Self {
        MeterConfig {
            fuel: 20_000_000_000,
            max_depth: 2_000,
            max_memory_pages: 16_384,
        }
    }
}

/// Where a metered module keeps its fuel count while it runs. Both forms
/// count the same fuel and stop a call at the same instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FuelIn {
    /// In the global `$fuel` throughout: the form archives store (SPEC
    /// §13.3), which [`meter`] writes and [`verify_metered`] checks.
    Global,
    /// In a local of each function, stored to `$fuel` only around calls
    /// and at exits, so engines keep it in a register: the form hosts run
    /// (SPEC §13.6, [`runnable`]).
    Local,
}

impl MeterConfig {
    /// The 16 bytes of the `legation.meter` section.
    fn to_section(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.fuel.to_le_bytes());
        out[8..12].copy_from_slice(&self.max_depth.to_le_bytes());
        out[12..].copy_from_slice(&self.max_memory_pages.to_le_bytes());
        out
    }

    /// Reads the `legation.meter` section; `None` unless it is 16 bytes.
    fn from_section(data: &[u8]) -> Option<Self> {
        let data: &[u8; 16] = data.try_into().ok()?;
        let (fuel, rest) = data.split_at(8);
        let (depth, pages) = rest.split_at(4);
        Some(MeterConfig {
            fuel: u64::from_le_bytes(fuel.try_into().ok()?),
            max_depth: u32::from_le_bytes(depth.try_into().ok()?),
            max_memory_pages: u32::from_le_bytes(pages.try_into().ok()?),
        })
    }
}

/// The limits recorded in the module's `legation.meter` section, or
/// `None` if it has no such section (or it is malformed, or the module
/// cannot be parsed).
///
/// This reads the record only; it does not prove that the code enforces
/// it. A host that must not trust the archive calls [`verify_metered`].
pub fn is_metered(module: &[u8]) -> Option<MeterConfig> {
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        if let wasmparser::Payload::CustomSection(reader) = payload.ok()? {
            if reader.name() == METER_SECTION {
                return MeterConfig::from_section(reader.data());
            }
        }
    }
    None
}
