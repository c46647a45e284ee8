//! The hostile decoders of the suite (tests/HOSTILE.md), shared by every
//! host's tests: `tests/tests/hostile_decoders.rs` runs each on wasmtime
//! in the process, wasmtime in a worker process and wasmi; the browser
//! build's `web/tests/worker.rs` runs each on wasmi in a Web Worker. Each
//! case is a module with the decoder ABI's exports that misbehaves in one
//! way, metered like a packed decoder (with less fuel, so that running out
//! takes well under a second), and the verdict every host must give.

use legation_document::{Block, Document};
use legation_meter::MeterConfig;
use legation_reader::decode::{Call, DecodeError, Host};

/// Fuel of the hostile modules.
pub const FUEL: u64 = 50_000_000;
/// The name the modules are loaded under (errors must name it).
pub const DECODER: &str = "d/hostile.wasm";
/// How errors name a hostile module the host loaded: its declared name and
/// version, and where it came from.
pub const LABEL: &str = "hostile 0 (d/hostile.wasm)";
/// The record they are run on (errors must name it).
pub const RECORD: &str = "records/x.bin";

fn wat_bytes(b: &[u8]) -> String {
    b.iter().map(|x| format!("\\{x:02x}")).collect()
}

/// A metered module with the ABI's exports whose `legation_decode` body is
/// `body`; `data` is placed at offset 16, `extra` added to the module.
pub fn module(body: &str, data: &[u8], extra: &str) -> Vec<u8> {
    module_with_fuel(body, data, extra, FUEL)
}

/// [`module`] with `fuel` instead of [`FUEL`].
pub fn module_with_fuel(body: &str, data: &[u8], extra: &str, fuel: u64) -> Vec<u8> {
    module_with(
        "(i32.const 4096)",
        body,
        data,
        extra,
        &MeterConfig {
            fuel,
            ..MeterConfig::default()
        },
    )
}

/// [`module`] with `alloc` as the body of `legation_alloc` and metered
/// with `limits`.
pub fn module_with(
    alloc: &str,
    body: &str,
    data: &[u8],
    extra: &str,
    limits: &MeterConfig,
) -> Vec<u8> {
    let text = format!(
        r#"(module
  (memory (export "memory") 2)
  (func (export "legation_alloc") (param i32) (result i32) {alloc})
  (func $decode (export "legation_decode") (param $p i32) (param $n i32) (result i64) {body})
  {extra}
  (data (i32.const 16) "{data}")
  (@custom "legation.decoder" "{{\"abi\":1,\"name\":\"hostile\",\"version\":\"0\",\"media_types\":[\"*/*\"],\"pages\":false}}")
)"#,
        data = wat_bytes(data)
    );
    let wasm = wat::parse_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    legation_meter::meter(&wasm, limits).expect("the hostile module meters")
}

/// A module whose output is `head` (placed at offset 16) followed by
/// `count` bytes of `fill`: a document far larger than its module, written
/// by the decoder at run time into memory it grows to hold it.
fn writes(head: &[u8], count: u32, fill: u8) -> Vec<u8> {
    let total = head.len() as u64 + u64::from(count);
    let pages = (16 + total).div_ceil(65536);
    let body = format!(
        "(drop (memory.grow (i32.const {pages}))) \
         (memory.fill (i32.const {start}) (i32.const {fill}) (i32.const {count})) {ret}",
        start = 16 + head.len(),
        ret = ret(16, total),
    );
    module(&body, head, "")
}

/// `(ptr << 32) | len` as a WAT constant: what `legation_decode` returns.
pub fn ret(ptr: u64, len: u64) -> String {
    format!("(i64.const {})", (ptr << 32) | len)
}

/// A good decoder's output: status 0 and a small view document.
pub fn good_output() -> Vec<u8> {
    let mut v = vec![0u8];
    v.extend(
        Document {
            title: "fine".into(),
            blocks: vec![Block::Code { text: "ok".into() }],
        }
        .to_cbor(),
    );
    v
}

/// A module that returns [`good_output`].
pub fn good() -> Vec<u8> {
    module(&ret(16, good_output().len() as u64), &good_output(), "")
}

/// Loads `wasm` as [`DECODER`] and decodes a few bytes as [`RECORD`].
pub fn run(host: &Host, wasm: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let d = host.load(wasm, DECODER)?;
    host.run(&d, Call::Decode, RECORD, b"input")
}

/// What every host must answer for a case.
#[derive(Debug, Clone, Copy)]
pub enum Verdict {
    /// Stopped by one of the module's limits, naming the decoder, the
    /// record and the limit, whose description contains this.
    Limit(&'static str),
    /// Another trap (`unreachable`), naming the decoder and the record.
    Trap,
    /// Output refused by the host's checks, the reason containing this.
    BadOutput(&'static str),
    /// The decoder's own refusal, with exactly this message.
    Refused(&'static str),
    /// Refused before it runs, the reason containing this.
    NotLoaded(&'static str),
}

/// One hostile decoder.
pub struct Case {
    /// Its name in the suites.
    pub name: &'static str,
    /// What it does.
    pub what: &'static str,
    /// The module.
    pub wasm: Vec<u8>,
    /// What a host must answer.
    pub verdict: Verdict,
}

impl Case {
    /// Runs the case on `host`: `Err` says how the answer differs from the
    /// verdict. A good decoder must still work on the host afterwards.
    pub fn check(&self, host: &Host) -> Result<(), String> {
        let got = run(host, &self.wasm);
        let named = |e: &DecodeError| e.to_string().contains(DECODER);
        let ok = match (&self.verdict, &got) {
            (Verdict::Limit(t), Err(e @ DecodeError::Limit { record, limit, .. })) => {
                named(e) && record == RECORD && limit.contains(t) && e.to_string().contains(t)
            }
            (Verdict::Trap, Err(e @ DecodeError::Trap { record, .. })) => {
                named(e) && record == RECORD
            }
            (Verdict::BadOutput(t), Err(e @ DecodeError::BadOutput { reason, .. })) => {
                named(e) && reason.contains(t)
            }
            (Verdict::Refused(m), Err(DecodeError::Refused { message, .. })) => message == m,
            (Verdict::NotLoaded(t), Err(e @ DecodeError::BadModule { reason, .. })) => {
                named(e) && reason.contains(t)
            }
            _ => false,
        };
        if !ok {
            return Err(format!(
                "{} ({}): expected {:?}, got {got:?}",
                self.name, self.what, self.verdict
            ));
        }
        match run(host, &good()) {
            Ok(out) if out == good_output()[1..] => Ok(()),
            other => Err(format!(
                "{}: a good decoder fails on the same host afterwards: {other:?}",
                self.name
            )),
        }
    }
}

/// Every hostile decoder of the suite.
pub fn cases() -> Vec<Case> {
    let mut malformed = vec![0u8];
    malformed.extend_from_slice(&[0xa3, 0x61, 0x76, 0x01, 0xff, 0xff]);
    let mut lying = vec![0u8];
    lying.extend(
        Document {
            title: "t".into(),
            blocks: vec![Block::Image {
                width: 1000,
                height: 1000,
                format: legation_document::PixelFormat::Rgb8,
                pixels: vec![0; 12],
            }],
        }
        .to_cbor(),
    );
    let refusal = b"\x01not a ledger file";
    // A document of a code block whose text is one byte over the 64 MiB a
    // string may hold: the encoding up to the text's bytes, which come
    // last (SPEC §14.2), then the bytes written by the decoder.
    let long = (64 << 20) + 1;
    let mut huge = vec![0u8];
    huge.extend(
        Document {
            title: "t".into(),
            blocks: vec![Block::Code {
                text: "a".repeat(long),
            }],
        }
        .to_cbor(),
    );
    huge.truncate(huge.len() - long);
    // A table without columns and 10,000,001 rows, an empty array (one
    // byte) each: over the cell limit, as such rows count one cell each
    // (SPEC §14.4).
    let rows = 10_000_001u32;
    let mut flood = vec![0u8];
    flood.extend(
        Document {
            title: "t".into(),
            blocks: vec![Block::Table {
                columns: vec![],
                types: None,
                rows: vec![],
            }],
        }
        .to_cbor(),
    );
    // The empty rows array (0x80), last, becomes a head of `rows` items.
    assert_eq!(flood.pop(), Some(0x80));
    flood.push(0x9a);
    flood.extend(rows.to_be_bytes());
    // Memory capped at 64 pages (4 MiB): small, so that reaching the cap
    // is quick on every engine, the browser's included.
    let small_memory = MeterConfig {
        fuel: FUEL,
        max_memory_pages: 64,
        ..MeterConfig::default()
    };
    let plain = |text: &str| wat::parse_str(text).expect("valid WAT");
    vec![
        Case {
            name: "infinite-loop",
            what: "loops forever: runs out of its metered fuel",
            wasm: module("(loop $l (br $l)) (i64.const 0)", &[], ""),
            verdict: Verdict::Limit("fuel limit of 50000000 units ran out"),
        },
        Case {
            name: "unbounded-recursion",
            what: "recurses forever: reaches its metered call depth",
            wasm: module(
                "(call $deep (i32.const 0)) (i64.const 0)",
                &[],
                "(func $deep (param i32) (call $deep (i32.add (local.get 0) (i32.const 1))))",
            ),
            verdict: Verdict::Limit("call-depth limit of 2000 nested calls"),
        },
        Case {
            name: "memory-growth",
            what: "grows its memory a page at a time until growth fails at its 64-page cap, then traps (refuses the record if growth failed short of the cap)",
            wasm: module_with(
                "(i32.const 4096)",
                &format!(
                    "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) \
                     (if (i32.eq (memory.size) (i32.const 64)) (then unreachable)) {}",
                    ret(16, 17)
                ),
                b"\x01short of the cap",
                "",
                &small_memory,
            ),
            verdict: Verdict::Limit("cap of 64 pages (4 MiB)"),
        },
        Case {
            name: "trap",
            what: "traps at once (unreachable)",
            wasm: module("unreachable", &[], ""),
            verdict: Verdict::Trap,
        },
        Case {
            name: "huge-output",
            what: "claims 4 GiB of output",
            wasm: module(&ret(16, 0xFFFF_FFFF), &[], ""),
            verdict: Verdict::BadOutput("over the"),
        },
        Case {
            name: "huge-document",
            what: "writes a 64 MiB document whose one text is a byte over the limit on a string",
            wasm: writes(&huge, long as u32, b'a'),
            verdict: Verdict::BadOutput("text length"),
        },
        Case {
            name: "row-flood",
            what: "writes a table of 10,000,001 rows without cells (10 MB)",
            wasm: writes(&flood, rows, 0x80),
            verdict: Verdict::BadOutput("cells"),
        },
        Case {
            name: "alloc-outside-memory",
            what: "answers legation_alloc with an address outside its memory",
            wasm: module_with(
                "(i32.const 0x7FFF0000)",
                "(i64.const 0)",
                &[],
                "",
                &MeterConfig::default(),
            ),
            verdict: Verdict::BadOutput("outside memory"),
        },
        Case {
            name: "pointer-outside-memory",
            what: "returns a pointer outside its memory",
            wasm: module(&ret(0x7FFF_0000, 100), &[], ""),
            verdict: Verdict::BadOutput("outside memory"),
        },
        Case {
            name: "malformed-document",
            what: "returns bytes that are no view document",
            wasm: module(&ret(16, malformed.len() as u64), &malformed, ""),
            verdict: Verdict::BadOutput(""),
        },
        Case {
            name: "lying-image",
            what: "returns an image whose pixels do not match its size",
            wasm: module(&ret(16, lying.len() as u64), &lying, ""),
            verdict: Verdict::BadOutput(""),
        },
        Case {
            name: "no-status-byte",
            what: "returns nothing, not even a status byte",
            wasm: module(&ret(16, 0), &[], ""),
            verdict: Verdict::BadOutput(""),
        },
        Case {
            name: "refusal",
            what: "refuses the record with its own message",
            wasm: module(&ret(16, refusal.len() as u64), refusal, ""),
            verdict: Verdict::Refused("not a ledger file"),
        },
        Case {
            name: "imports",
            what: "imports a host function",
            wasm: plain(
                r#"(module (import "env" "read_file" (func))
  (memory (export "memory") 1)
  (func (export "legation_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "legation_decode") (param i32 i32) (result i64) (call 0) (i64.const 0)))"#,
            ),
            verdict: Verdict::NotLoaded("import"),
        },
        Case {
            name: "unmetered",
            what: "carries the decoder section but no metering",
            wasm: plain(
                r#"(module (memory (export "memory") 1)
  (func (export "legation_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "legation_decode") (param i32 i32) (result i64) (i64.const 0))
  (@custom "legation.decoder" "{\"abi\":1,\"name\":\"x\",\"version\":\"0\",\"media_types\":[],\"pages\":false}"))"#,
            ),
            verdict: Verdict::NotLoaded("not metered"),
        },
        Case {
            name: "start-function",
            what: "has a start function",
            wasm: plain(
                r#"(module (memory (export "memory") 1) (start $s) (func $s)
  (func (export "legation_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "legation_decode") (param i32 i32) (result i64) (i64.const 0)))"#,
            ),
            verdict: Verdict::NotLoaded(""),
        },
        Case {
            name: "garbage-module",
            what: "is not a WebAssembly module at all",
            wasm: b"\0asm\x01\0\0\0garbage".to_vec(),
            verdict: Verdict::NotLoaded(""),
        },
    ]
}
