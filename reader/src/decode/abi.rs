//! A call of the decoder ABI (SPEC §12.3), written once for every engine:
//! the record written through `legation_alloc`, the decode function
//! called, its output taken out of memory, and a trap read as the
//! module's own limit where it says so (SPEC §13.6). An engine gives the
//! few steps that differ ([`Instance`]), after making a fresh instance its
//! own way; the checks, their order and their messages are these, so a
//! record meets the same verdict on every engine.

use crate::decode::{take_output, Call, EngineError};

/// The export holding the module's linear memory.
pub const MEMORY: &str = "memory";
/// `legation_alloc: [i32] -> [i32]`.
pub const ALLOC: &str = "legation_alloc";
/// `legation_decode: [i32 i32] -> [i64]`.
pub const DECODE: &str = "legation_decode";
/// `legation_decode_page: [i32 i32 i32] -> [i64]`.
pub const DECODE_PAGE: &str = "legation_decode_page";
/// `legation_panic: [] -> [i64]`, optional: where the module left the
/// message of a panic that trapped the call (SPEC §12.3).
pub const PANIC: &str = "legation_panic";
/// Most bytes of a panic's message read (as of a refusal's, §12.4).
pub const PANIC_CAP: usize = 4096;

/// A fresh instance of a decoder module in some engine, with its memory.
///
/// Where a call of an export fails, the engine turns its error into an
/// [`EngineError`] and passes it through [`Instance::stopped`]; an export
/// that cannot be found or has the wrong type is not passed through it.
pub trait Instance {
    /// Calls [`ALLOC`] with `len`.
    fn alloc(&mut self, len: i32) -> Result<i32, EngineError>;
    /// Writes `bytes` into memory at `at`; false if they do not fit.
    fn write(&mut self, at: usize, bytes: &[u8]) -> bool;
    /// Calls [`DECODE`] with `(ptr, len)`, or [`DECODE_PAGE`] with
    /// `(ptr, len, page)`, the page converted by [`page_number`] once the
    /// export is found.
    fn decode(&mut self, call: Call, ptr: i32, len: i32) -> Result<i64, EngineError>;
    /// The memory as it is now.
    fn memory(&self) -> &[u8];
    /// The value of the module's `legation_limit` global, if it has one.
    fn limit_code(&mut self) -> Option<i32>;
    /// The result of calling [`PANIC`], if the module exports it with
    /// that type and the call returns.
    fn panic_at(&mut self) -> Option<i64>;
    /// Why the machine, not the module, failed the last call, if it did;
    /// taken, so asked once.
    fn host_failure(&mut self) -> Option<String> {
        None
    }

    /// What stopped a call that failed with `error`: the machine's
    /// failure if there was one, else for a trap the module's own limit
    /// where its `legation_limit` names one, else `error` itself.
    fn stopped(&mut self, error: EngineError) -> EngineError {
        if let Some(why) = self.host_failure() {
            return EngineError::Host(why);
        }
        if !matches!(error, EngineError::Trap(_)) {
            return error;
        }
        self.limit_code()
            .and_then(legation_meter::Limit::from_code)
            .map_or(error, EngineError::Limit)
    }
}

/// Steps 2 and 3 of a call: `legation_alloc` asked for the record's
/// length, and the record written where it says. Returns the record's
/// address and length, the arguments of the decode function.
pub fn write_record(
    instance: &mut impl Instance,
    record: &[u8],
) -> Result<(i32, i32), EngineError> {
    let len =
        i32::try_from(record.len()).map_err(|_| EngineError::Output("input over 2 GiB".into()))?;
    let ptr = instance.alloc(len)?;
    if ptr == 0 {
        return Err(EngineError::Trap(format!(
            "legation_alloc could not allocate {} bytes",
            record.len()
        )));
    }
    if !instance.write(ptr as u32 as usize, record) {
        return Err(EngineError::Output(format!(
            "legation_alloc returned {ptr}, outside memory"
        )));
    }
    Ok((ptr, len))
}

/// Steps 4 to 6 of a call, on the record written at `(ptr, len)`: the
/// decode function called and its raw output (status byte and payload)
/// copied out of memory, at most `output_cap` bytes.
pub fn decode(
    instance: &mut impl Instance,
    call: Call,
    (ptr, len): (i32, i32),
    output_cap: usize,
) -> Result<Vec<u8>, EngineError> {
    let packed = match instance.decode(call, ptr, len) {
        Err(EngineError::Trap(trap)) => {
            return Err(EngineError::Trap(panic_message(instance).unwrap_or(trap)))
        }
        packed => packed?,
    };
    take_output(instance.memory(), packed, output_cap)
}

/// After a trap that is not one of the module's limits: the message of
/// the panic that caused it, where the module says (an SDK module's panic
/// hook keeps it, SPEC §12.3), as `panicked: MESSAGE`; at most
/// [`PANIC_CAP`] bytes, read leniently. `None` when the module exports no
/// [`PANIC`], returns 0 (no panic) or a range outside its memory.
pub fn panic_message(instance: &mut impl Instance) -> Option<String> {
    let at = instance.panic_at()? as u64;
    let (ptr, len) = ((at >> 32) as usize, (at & 0xFFFF_FFFF) as usize);
    if len == 0 {
        return None;
    }
    let bytes = instance
        .memory()
        .get(ptr..ptr.checked_add(len.min(PANIC_CAP))?)?;
    Some(format!("panicked: {}", String::from_utf8_lossy(bytes)))
}

/// A page number as the decode function takes it.
pub fn page_number(page: u32) -> Result<i32, EngineError> {
    i32::try_from(page).map_err(|_| EngineError::Output("page number over 2^31".into()))
}

/// The error of an instance without [`MEMORY`].
pub fn no_memory() -> EngineError {
    EngineError::Module("no exported memory".into())
}
