//! The raw ABI glue, compiled for `wasm32` only (pointers are 32-bit
//! there). Everything allocated here is leaked: the host drops the whole
//! instance after one call.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{respond, DecodeError, Document, Facts};

/// Start and length of the last block `alloc` handed out. The only memory
/// `decode` reads as input lies within it. (Atomics compile to plain loads
/// and stores on single-threaded wasm32.)
static INPUT_START: AtomicUsize = AtomicUsize::new(0);
static INPUT_LEN: AtomicUsize = AtomicUsize::new(0);

/// Address and length of the message of the panic that is stopping the
/// call, kept by [`keep_panic`] for the host (`legation_panic`).
static PANIC_AT: AtomicUsize = AtomicUsize::new(0);
static PANIC_LEN: AtomicUsize = AtomicUsize::new(0);

/// The panic hook of a decoder module: a panic aborts the call (a trap),
/// but first its message and the place in the source are kept where
/// `legation_panic` tells the host, which shows them as the reason.
fn keep_panic(info: &std::panic::PanicHookInfo<'_>) {
    let what = info.payload_as_str().unwrap_or("a panic without a message");
    let message = match info.location() {
        Some(at) => format!("{what} (at {}:{})", at.file(), at.line()),
        None => what.to_owned(),
    };
    let message = message.leak();
    PANIC_AT.store(message.as_ptr() as usize, Ordering::Relaxed);
    PANIC_LEN.store(message.len(), Ordering::Relaxed);
}

/// `legation_panic`: `ptr << 32 | len` of the kept panic message, or 0.
pub fn panic_message() -> i64 {
    let (ptr, len) = (
        PANIC_AT.load(Ordering::Relaxed) as u64,
        PANIC_LEN.load(Ordering::Relaxed) as u64,
    );
    (ptr << 32 | len) as i64
}

/// `legation_alloc`: a leaked, zeroed block of `len` bytes, or 0. The
/// first export every call makes, so it also sets the panic hook.
pub fn alloc(len: i32) -> i32 {
    std::panic::set_hook(Box::new(keep_panic));
    let Ok(len) = usize::try_from(len) else {
        return 0;
    };
    let mut block: Vec<u8> = Vec::new();
    // One byte more than asked, so that even a 0-byte block has a unique,
    // non-null address.
    if block.try_reserve_exact(len + 1).is_err() {
        return 0;
    }
    block.resize(len + 1, 0);
    let start = block.leak().as_mut_ptr() as usize;
    INPUT_START.store(start, Ordering::Relaxed);
    INPUT_LEN.store(len, Ordering::Relaxed);
    start as i32
}

/// `legation_decode`.
pub fn decode(ptr: i32, len: i32, decode: fn(&[u8]) -> Result<Document, DecodeError>) -> i64 {
    let result = match input(ptr, len) {
        Ok(input) => decode(input),
        Err(error) => Err(error),
    };
    hand_back(respond(result))
}

/// `legation_decode_page`.
pub fn decode_page(
    ptr: i32,
    len: i32,
    page: i32,
    decode_page: fn(&[u8], u32) -> Result<Document, DecodeError>,
) -> i64 {
    // Page numbers are unsigned 32-bit numbers carried in an i32 (SPEC
    // §12.3): the bits are the number.
    let result = input(ptr, len).and_then(|input| decode_page(input, page as u32));
    hand_back(respond(result))
}

/// `legation_decode` of a decoder of ABI 2: the input is the record's
/// facts block, then its bytes.
pub fn decode_with_facts(
    ptr: i32,
    len: i32,
    decode: fn(&[u8], &Facts<'_>) -> Result<Document, DecodeError>,
) -> i64 {
    let result = input(ptr, len)
        .and_then(Facts::split)
        .and_then(|(facts, record)| decode(record, &facts));
    hand_back(respond(result))
}

/// `legation_decode_page` of a decoder of ABI 2.
pub fn decode_page_with_facts(
    ptr: i32,
    len: i32,
    page: i32,
    decode_page: fn(&[u8], &Facts<'_>, u32) -> Result<Document, DecodeError>,
) -> i64 {
    let result = input(ptr, len)
        .and_then(Facts::split)
        .and_then(|(facts, record)| decode_page(record, &facts, page as u32));
    hand_back(respond(result))
}

/// The input the host wrote, if `ptr` and `len` lie within the last block
/// `alloc` handed out.
fn input(ptr: i32, len: i32) -> Result<&'static [u8], DecodeError> {
    let start = INPUT_START.load(Ordering::Relaxed);
    let block_len = INPUT_LEN.load(Ordering::Relaxed);
    let ptr = ptr as u32 as usize;
    let within = start != 0
        && usize::try_from(len).is_ok_and(|len| {
            ptr >= start
                && ptr
                    .checked_add(len)
                    .is_some_and(|end| end <= start + block_len)
        });
    if !within {
        return Err(DecodeError::new(format!(
            "the host passed {len} bytes at {ptr}, outside the block legation_alloc returned"
        )));
    }
    #[allow(unsafe_code)]
    // SAFETY: `ptr .. ptr + len` lies within a block that `alloc` allocated
    // (initialised to zeros) and leaked, so it is valid for reads for the
    // rest of the instance's life. No Rust reference to that block exists
    // besides the ones made here, which are shared; only the host writes
    // to it, between `alloc` and this call.
    let input = unsafe { std::slice::from_raw_parts(ptr as *const u8, len as usize) };
    Ok(input)
}

/// Leaks `response` and packs its address and length as the ABI says.
fn hand_back(response: Vec<u8>) -> i64 {
    let response = response.leak();
    let ptr = response.as_ptr() as usize as u64;
    let len = response.len() as u64;
    (ptr << 32 | len) as i64
}
