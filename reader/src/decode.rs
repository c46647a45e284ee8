//! The decoder host: runs an archive's WebAssembly decoders on records,
//! within limits, and checks every byte they return.
//!
//! Decoders are metered when packed (`legation-meter`): each carries its
//! own fuel and call-depth counters and a memory cap, so a record gets the
//! same verdict on every engine. Hosts add what only they can: an output
//! size cap, a cap on the record size decoded whole, and a wall-clock
//! watchdog as a backstop. Engines sit behind [`Engine`]: wasmtime
//! natively, the browser's own engine or wasmi on the web.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use legation_document::{Block, Document, Limits as ViewLimits};
use legation_format::manifest::{DecoderLimits, DecoderRef};
use legation_meter::MeterConfig;
use serde::{Deserialize, Serialize};

#[cfg(any(
    feature = "wasmi",
    all(feature = "wasmtime", not(target_arch = "wasm32"))
))]
pub(crate) mod abi;

/// What a decoder declares about itself in its `legation.decoder` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecoderInfo {
    /// ABI version: 1, or 2 for a decoder given the record's facts.
    pub abi: u32,
    /// Decoder name.
    pub name: String,
    /// Decoder version.
    pub version: String,
    /// Media types it handles (`*/*` for the fallback).
    pub media_types: Vec<String>,
    /// Whether it exports `legation_decode_page`.
    pub pages: bool,
}

/// The ABI version of decoders that see the record's bytes alone.
pub const ABI_VERSION: u32 = 1;

/// The ABI version (format 2.1) of decoders that are also given the
/// record's [`Facts`]: every call's input is the facts block, then the
/// record (SPEC §12.3).
pub const ABI_FACTS: u32 = 2;

/// Most bytes of each field of a facts block; a longer value is cut back
/// to the last whole UTF-8 character within it (SPEC §12.3).
pub const FACT_CAP: usize = 4096;

/// What a decoder of ABI 2 is told about the record it decodes: its path,
/// media type and title, as the catalog record states them (SPEC §12.3).
/// Decoders of ABI 1 are given none of it; for them only `path` counts,
/// to name the record in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts<'a> {
    /// The record's path.
    pub path: &'a str,
    /// Its media type.
    pub media_type: &'a str,
    /// Its title: the Dublin Core title, else the last segment of the path.
    pub title: &'a str,
}

impl<'a> Facts<'a> {
    /// The facts a catalog record states.
    pub fn of(rec: &'a legation_format::catalog::CatalogRecord) -> Self {
        Facts {
            path: &rec.path,
            media_type: &rec.media_type,
            title: &rec.title,
        }
    }

    /// The facts of a record being packed, as its catalog record will
    /// state them: the title, when none is given, is the last segment of
    /// the path (as writers store it).
    pub fn of_meta(meta: &'a legation_format::writer::RecordMeta) -> Self {
        let title = if meta.title.is_empty() {
            meta.path.rsplit('/').next().unwrap_or(&meta.path)
        } else {
            &meta.title
        };
        Facts {
            path: &meta.path,
            media_type: &meta.media_type,
            title,
        }
    }

    /// The facts block a decoder of ABI 2 is given before the record:
    /// `LE32(len) || bytes` for the path, the media type and the title in
    /// that order, each cut to [`FACT_CAP`] bytes (SPEC §12.3).
    pub fn block(&self) -> Vec<u8> {
        let fields = [self.path, self.media_type, self.title].map(|f| cut(f, FACT_CAP));
        let mut out = Vec::with_capacity(12 + fields.iter().map(|f| f.len()).sum::<usize>());
        for f in fields {
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(f.as_bytes());
        }
        out
    }
}

/// Facts that name a record by `path` alone (no media type, no title):
/// enough for decoders of ABI 1, which are given no facts.
impl<'a> From<&'a str> for Facts<'a> {
    fn from(path: &'a str) -> Self {
        Facts {
            path,
            media_type: "",
            title: "",
        }
    }
}

impl<'a> From<&'a String> for Facts<'a> {
    fn from(path: &'a String) -> Self {
        Facts::from(path.as_str())
    }
}

/// `text` cut to at most `cap` bytes, at the end of a whole character.
fn cut(text: &str, cap: usize) -> &str {
    let mut end = text.len().min(cap);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Limits a host enforces itself (the module carries fuel, depth and
/// memory limits of its own).
#[derive(Debug, Clone)]
pub struct HostLimits {
    /// Largest record decoded whole; larger ones are not rendered.
    pub record_cap: u64,
    /// Largest output a call may return.
    pub output_cap: usize,
    /// Largest module accepted.
    pub module_cap: usize,
    /// Wall-clock backstop per call (fuel is the real CPU limit).
    pub watchdog: Duration,
    /// Most pages a record may announce.
    pub max_pages: u32,
    /// Limits on the returned document.
    pub view: ViewLimits,
}

impl Default for HostLimits {
    /// 256 MiB records, 256 MiB output, 16 MiB modules, 10,000 pages, and
    /// a 600 s watchdog (far beyond what the default fuel takes here).
    fn default() -> Self {
        HostLimits {
            record_cap: 256 << 20,
            output_cap: 256 << 20,
            module_cap: 16 << 20,
            watchdog: Duration::from_secs(600),
            max_pages: 10_000,
            view: ViewLimits::default(),
        }
    }
}

/// Which export to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `legation_decode`.
    Decode,
    /// `legation_decode_page` for a 0-based page.
    Page(u32),
}

/// Why a decoder produced no document for a record. The record's raw
/// bytes stay available to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The module is not a valid decoder (imports, start function, missing
    /// exports, not metered, too large, unknown ABI).
    #[error("decoder {decoder}: not a valid decoder module: {reason}")]
    BadModule {
        /// The decoder (entry or file).
        decoder: String,
        /// What is wrong.
        reason: String,
    },
    /// One of the limits the module enforces stopped it: fuel, call depth
    /// or memory.
    #[error("decoder {decoder} on {record}: stopped by a limit: {limit}")]
    Limit {
        /// The decoder.
        decoder: String,
        /// The record.
        record: String,
        /// Which limit, with its value.
        limit: String,
    },
    /// The decoder trapped otherwise (a panic, an out-of-bounds access,
    /// the engine's native stack).
    #[error("decoder {decoder} on {record}: {trap}")]
    Trap {
        /// The decoder.
        decoder: String,
        /// The record.
        record: String,
        /// The trap, with the limit that was hit where known.
        trap: String,
    },
    /// The wall-clock watchdog stopped it.
    #[error("decoder {decoder} on {record}: stopped by the {seconds} s watchdog")]
    Timeout {
        /// The decoder.
        decoder: String,
        /// The record.
        record: String,
        /// The watchdog.
        seconds: u64,
    },
    /// The decoder refused the record, with its own message.
    #[error("decoder {decoder} refuses {record}: {message}")]
    Refused {
        /// The decoder.
        decoder: String,
        /// The record.
        record: String,
        /// The decoder's message.
        message: String,
    },
    /// What the decoder returned breaks the ABI or the view rules.
    #[error("decoder {decoder} on {record}: invalid output: {reason}")]
    BadOutput {
        /// The decoder.
        decoder: String,
        /// The record.
        record: String,
        /// What is wrong.
        reason: String,
    },
    /// This machine could not run the decoder: the engine could not
    /// start, its memory could not be reserved or mapped (an address-space
    /// limit), a worker process could not start. Not a verdict on the
    /// decoder or the record: the record is *not concluded*, and no view
    /// may be recorded or checked from this outcome (SPEC §15.2, §16.4).
    #[error("decoder {decoder} on {record}: not concluded: this machine could not run the decoder: {reason}")]
    Host {
        /// The decoder.
        decoder: String,
        /// The record.
        record: String,
        /// What the machine could not do.
        reason: String,
    },
    /// The record is larger than the host decodes whole.
    #[error("{record}: {size} bytes is over the {cap}-byte decoding cap; not rendered")]
    TooLarge {
        /// The record.
        record: String,
        /// Its size.
        size: u64,
        /// The cap.
        cap: u64,
    },
}

/// Where a call failed inside an engine, before the host interprets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    /// The module could not be compiled or instantiated.
    Module(String),
    /// A trap (message from the engine).
    Trap(String),
    /// The watchdog fired.
    Timeout,
    /// The returned pointer and length are outside memory or over the cap.
    Output(String),
    /// One of the module's own limits stopped the call (read from the
    /// local form's `legation_limit`, SPEC §13.6).
    Limit(legation_meter::Limit),
    /// The machine could not run the call (the engine could not start,
    /// memory could not be reserved, a worker could not start): nothing
    /// about the module or the record.
    Host(String),
}

impl DecodeError {
    /// Whether this is the machine's failure to run the decoder rather
    /// than an outcome of the decoder on the record: then the record is
    /// not concluded, neither rendered nor not rendered.
    pub fn is_host_failure(&self) -> bool {
        matches!(self, DecodeError::Host { .. })
    }
}

/// A WebAssembly engine able to run metered decoders.
pub trait Engine: Send + Sync {
    /// A short name for reports (`wasmtime`, `wasmi`).
    fn name(&self) -> &'static str;
    /// Compiles a module (already checked by the host).
    fn compile(&self, wasm: &[u8]) -> Result<Arc<dyn Compiled>, EngineError>;
}

/// A compiled decoder; each call runs in a fresh instance.
pub trait Compiled: Send + Sync {
    /// Instantiates, writes `input` through `legation_alloc`, calls the
    /// export and returns the raw output (status byte and payload).
    fn call(
        &self,
        call: Call,
        input: &[u8],
        output_cap: usize,
        watchdog: Duration,
    ) -> Result<Vec<u8>, EngineError>;

    /// [`Compiled::call`] of the same export on each input in turn, each
    /// in its own fresh instance with the full fuel, memory, output cap
    /// and watchdog, exactly as one call each: one result per input, in
    /// order, and a failure of one input is that input's result alone.
    /// Engines whose calls pay a fixed crossing cost (a worker process)
    /// send the inputs together.
    fn call_each(
        &self,
        call: Call,
        inputs: &[&[u8]],
        output_cap: usize,
        watchdog: Duration,
    ) -> Vec<Result<Vec<u8>, EngineError>> {
        inputs
            .iter()
            .map(|input| self.call(call, input, output_cap, watchdog))
            .collect()
    }
}

/// Runs decoders for one archive (or any number of modules), compiling
/// each module once.
pub struct Host {
    engine: Arc<dyn Engine>,
    limits: HostLimits,
    cache: Mutex<HashMap<[u8; 32], Arc<Loaded>>>,
}

/// A checked, compiled decoder.
pub struct Loaded {
    /// What it declares.
    pub info: DecoderInfo,
    /// The limits its metering enforces (verified when loaded).
    pub limits: MeterConfig,
    /// Its BLAKE3.
    pub hash: [u8; 32],
    /// Its name for messages: declared name and version, and where it
    /// came from (`png 1.0.0 (d/6efd43ba1aa16f45.wasm)`).
    pub label: String,
    /// The module to run (the archived one with its fuel kept in locals,
    /// which counts the same), compiled on first use.
    wasm: Vec<u8>,
    /// The compiled module, or why the module does not compile; a
    /// failure of the machine is not kept, so a later call tries again.
    compiled: std::sync::OnceLock<Result<Arc<dyn Compiled>, String>>,
}

impl Loaded {
    /// Its description for an archive's manifest; the writer fills in the
    /// entry name.
    pub fn decoder_ref(&self) -> DecoderRef {
        DecoderRef {
            entry: String::new(),
            name: self.info.name.clone(),
            version: self.info.version.clone(),
            abi: self.info.abi,
            media_types: self.info.media_types.clone(),
            limits: DecoderLimits {
                fuel: self.limits.fuel,
                max_depth: self.limits.max_depth,
                max_memory_pages: self.limits.max_memory_pages,
            },
        }
    }

    /// Whether the module uses WebAssembly's vector instructions, which
    /// make an archive holding it a format 1.3 archive (what the writer's
    /// `add_decoder` asks).
    pub fn uses_vectors(&self) -> bool {
        legation_meter::uses_vectors(&self.wasm)
    }
}

impl Host {
    /// A host on an engine.
    pub fn new(engine: Arc<dyn Engine>, limits: HostLimits) -> Self {
        Host {
            engine,
            limits,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The native host: wasmtime with default limits.
    #[cfg(all(feature = "wasmtime", not(target_arch = "wasm32")))]
    pub fn native() -> Self {
        Host::new(
            Arc::new(crate::wasmtime_engine::Wasmtime::new()),
            HostLimits::default(),
        )
    }

    /// The native host with its decoders in worker processes: this
    /// program started with `worker_args`, which must make it call
    /// [`crate::isolated::serve`] (see that module for why).
    #[cfg(all(feature = "wasmtime", not(target_arch = "wasm32")))]
    pub fn isolated(worker_args: &[&str]) -> std::io::Result<Self> {
        Ok(Host::new(
            Arc::new(crate::isolated::Isolated::current_exe(
                worker_args.iter().copied(),
            )?),
            HostLimits::default(),
        ))
    }

    /// The limits in force.
    pub fn limits(&self) -> &HostLimits {
        &self.limits
    }

    /// The engine's name.
    pub fn engine_name(&self) -> &'static str {
        self.engine.name()
    }

    /// Checks and compiles a module, or returns the cached one.
    pub fn load(&self, wasm: &[u8], label: &str) -> Result<Arc<Loaded>, DecodeError> {
        let hash = *blake3::hash(wasm).as_bytes();
        if let Some(l) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&hash)
        {
            return Ok(l.clone());
        }
        let bad = |reason: String| DecodeError::BadModule {
            decoder: label.to_owned(),
            reason,
        };
        // Verified, then the equivalent module to run: the fuel kept in
        // locals (SPEC §13.6).
        let (info, (limits, runnable)) =
            checked(wasm, self.limits.module_cap, legation_meter::runnable).map_err(bad)?;
        // Compiling waits for the first call: packing stores every built-in
        // decoder but may use only some.
        // Messages name the decoder as it declares itself, and where it
        // comes from (an archive's entry, a file).
        let label = format!("{} {} ({label})", info.name, info.version);
        let loaded = Arc::new(Loaded {
            info,
            limits,
            hash,
            label,
            wasm: runnable,
            compiled: std::sync::OnceLock::new(),
        });
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(hash, loaded.clone());
        Ok(loaded)
    }

    /// Runs one call on the record `input`, named by (and, for a decoder
    /// of ABI 2, given) its facts, and returns the canonical CBOR of the
    /// document, checked.
    pub fn run<'a>(
        &self,
        decoder: &Loaded,
        call: Call,
        record: impl Into<Facts<'a>>,
        input: &[u8],
    ) -> Result<Vec<u8>, DecodeError> {
        let facts = record.into();
        self.within_cap(facts.path, input)?;
        let input = self.call_input(decoder, &facts, input);
        self.call(decoder, call, facts.path, &input)
    }

    /// A record over the record cap is not decoded (SPEC §15.2).
    fn within_cap(&self, record: &str, input: &[u8]) -> Result<(), DecodeError> {
        if input.len() as u64 > self.limits.record_cap {
            return Err(DecodeError::TooLarge {
                record: record.into(),
                size: input.len() as u64,
                cap: self.limits.record_cap,
            });
        }
        Ok(())
    }

    /// What a call of `decoder` is given for a record: its bytes, after
    /// the facts block for a decoder of ABI 2 (SPEC §12.3).
    fn call_input<'i>(
        &self,
        decoder: &Loaded,
        facts: &Facts<'_>,
        record: &'i [u8],
    ) -> std::borrow::Cow<'i, [u8]> {
        if decoder.info.abi == ABI_FACTS {
            let mut input = facts.block();
            input.extend_from_slice(record);
            std::borrow::Cow::Owned(input)
        } else {
            std::borrow::Cow::Borrowed(record)
        }
    }

    /// One call on `input` as the module is given it, checked.
    fn call(
        &self,
        decoder: &Loaded,
        call: Call,
        record: &str,
        input: &[u8],
    ) -> Result<Vec<u8>, DecodeError> {
        let compiled = self.compiled(decoder, record)?;
        let out = compiled.call(call, input, self.limits.output_cap, self.limits.watchdog);
        self.checked_output(decoder, record, out)
    }

    /// The decoder compiled (once), or why it cannot be, for `record`.
    fn compiled<'a>(
        &self,
        decoder: &'a Loaded,
        record: &str,
    ) -> Result<&'a Arc<dyn Compiled>, DecodeError> {
        let d = || decoder.label.clone();
        let compiled = match decoder.compiled.get() {
            Some(c) => c,
            None => {
                let c = match self.engine.compile(&decoder.wasm) {
                    Err(EngineError::Host(reason)) => {
                        return Err(DecodeError::Host {
                            decoder: d(),
                            record: record.to_owned(),
                            reason,
                        })
                    }
                    c => c.map_err(|e| format!("{e:?}")),
                };
                decoder.compiled.get_or_init(|| c)
            }
        }
        .as_ref()
        .map_err(|reason| DecodeError::BadModule {
            decoder: d(),
            reason: reason.clone(),
        })?;
        Ok(compiled)
    }

    /// What one call returned, checked: the document's canonical CBOR, or
    /// the failure named with the decoder and the record.
    fn checked_output(
        &self,
        decoder: &Loaded,
        record: &str,
        out: Result<Vec<u8>, EngineError>,
    ) -> Result<Vec<u8>, DecodeError> {
        let d = || decoder.label.clone();
        let r = || record.to_owned();
        let out = out.map_err(|e| match e {
            EngineError::Trap(trap) => DecodeError::Trap {
                decoder: d(),
                record: r(),
                trap,
            },
            EngineError::Timeout => DecodeError::Timeout {
                decoder: d(),
                record: r(),
                seconds: self.limits.watchdog.as_secs(),
            },
            EngineError::Output(reason) => DecodeError::BadOutput {
                decoder: d(),
                record: r(),
                reason,
            },
            EngineError::Module(reason) => DecodeError::BadModule {
                decoder: d(),
                reason,
            },
            EngineError::Limit(limit) => DecodeError::Limit {
                decoder: d(),
                record: r(),
                limit: limit.describe(&decoder.limits),
            },
            EngineError::Host(reason) => DecodeError::Host {
                decoder: d(),
                record: r(),
                reason,
            },
        })?;
        match out.split_first() {
            Some((0, cbor)) => {
                Document::from_cbor(cbor, &self.limits.view).map_err(|e| {
                    DecodeError::BadOutput {
                        decoder: d(),
                        record: r(),
                        reason: e.to_string(),
                    }
                })?;
                Ok(cbor.to_vec())
            }
            Some((1, msg)) => Err(DecodeError::Refused {
                decoder: d(),
                record: r(),
                message: String::from_utf8_lossy(&msg[..msg.len().min(4096)]).into_owned(),
            }),
            _ => Err(DecodeError::BadOutput {
                decoder: d(),
                record: r(),
                reason: "status byte is neither 0 nor 1".into(),
            }),
        }
    }

    /// Renders a whole record: the main document, then each page if it
    /// has a pages block, one page at a time. Each document is checked,
    /// hashed and handed to `each` (0 for the main document, `n` for page
    /// `n` counted from 1, and its canonical CBOR); a page is dropped
    /// before the next is decoded, so a multi-page scan never holds more
    /// than one page (SPEC §15.2). Returns the main document, the number
    /// of pages and the render hash.
    pub fn render_with<'a>(
        &self,
        decoder: &Loaded,
        record: impl Into<Facts<'a>>,
        input: &[u8],
        each: &mut dyn FnMut(u32, &[u8]),
    ) -> Result<Rendered, DecodeError> {
        let facts = record.into();
        self.within_cap(facts.path, input)?;
        let input = self.call_input(decoder, &facts, input);
        let main = self.call(decoder, Call::Decode, facts.path, &input)?;
        self.render_pages(decoder, &facts, &input, main, each)
    }

    /// The rest of rendering a record whose main document is `main`: its
    /// pages, one call each on `input` (as the module is given it), and
    /// the render hash.
    fn render_pages(
        &self,
        decoder: &Loaded,
        facts: &Facts<'_>,
        input: &[u8],
        main: Vec<u8>,
        each: &mut dyn FnMut(u32, &[u8]),
    ) -> Result<Rendered, DecodeError> {
        let record = facts.path;
        let pages = page_count(&main, &self.limits.view);
        self.may_ask_pages(decoder, record, pages)?;
        let mut hash = RenderHasher::for_decoder(&decoder.info, facts);
        hash.document(&main);
        each(0, &main);
        for p in 0..pages {
            let page = self.call(decoder, Call::Page(p), record, input)?;
            hash.document(&page);
            each(p + 1, &page);
        }
        Ok(Rendered {
            main,
            pages,
            hash: hash.finish(),
        })
    }

    /// [`Host::render`] of several records with one decoder: the same
    /// result for each as rendering it alone, in order. Each record runs
    /// in its own fresh instance with its own limits and checks (SPEC
    /// §15.2: no record's decoding sees another's state); the main
    /// documents' calls are handed to the engine together
    /// ([`Compiled::call_each`]), which spares a worker process one round
    /// trip per record. Pages are asked one call each, as by
    /// [`Host::render`].
    pub fn render_each<'a, R: Into<Facts<'a>> + Copy>(
        &self,
        decoder: &Loaded,
        records: &[(R, &[u8])],
    ) -> Vec<Result<Rendered, DecodeError>> {
        let facts: Vec<Facts<'a>> = records.iter().map(|(r, _)| (*r).into()).collect();
        let mut results: Vec<Option<Result<Rendered, DecodeError>>> =
            records.iter().map(|_| None).collect();
        let mut sent = Vec::new();
        let mut inputs = Vec::new();
        let mut compiled = None;
        for (i, (facts, (_, input))) in facts.iter().zip(records).enumerate() {
            if let Err(e) = self.within_cap(facts.path, input) {
                results[i] = Some(Err(e));
                continue;
            }
            match self.compiled(decoder, facts.path) {
                Ok(c) => {
                    compiled = Some(c);
                    sent.push(i);
                    inputs.push(self.call_input(decoder, facts, input));
                }
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        if let Some(compiled) = compiled {
            let slices: Vec<&[u8]> = inputs.iter().map(|i| &i[..]).collect();
            let outs = compiled.call_each(
                Call::Decode,
                &slices,
                self.limits.output_cap,
                self.limits.watchdog,
            );
            for ((&i, input), out) in sent.iter().zip(&slices).zip(outs) {
                let facts = &facts[i];
                results[i] = Some(
                    self.checked_output(decoder, facts.path, out)
                        .and_then(|main| {
                            self.render_pages(decoder, facts, input, main, &mut |_, _| {})
                        }),
                );
            }
        }
        results
            .into_iter()
            .zip(&facts)
            .map(|(r, facts)| {
                r.unwrap_or_else(|| {
                    // An engine that answered fewer calls than it was given.
                    Err(DecodeError::Host {
                        decoder: decoder.label.clone(),
                        record: facts.path.to_owned(),
                        reason: "the engine gave no answer for this record".into(),
                    })
                })
            })
            .collect()
    }

    /// [`Host::render_with`], dropping the pages once hashed.
    pub fn render<'a>(
        &self,
        decoder: &Loaded,
        record: impl Into<Facts<'a>>,
        input: &[u8],
    ) -> Result<Rendered, DecodeError> {
        self.render_with(decoder, record, input, &mut |_, _| {})
    }

    /// Page `page` (0-based) of a record whose main document announced
    /// `pages` pages: one call of `legation_decode_page`, checked.
    pub fn page<'a>(
        &self,
        decoder: &Loaded,
        record: impl Into<Facts<'a>>,
        input: &[u8],
        page: u32,
        pages: u32,
    ) -> Result<Vec<u8>, DecodeError> {
        let record = record.into();
        self.may_ask_pages(decoder, record.path, pages)?;
        if page >= pages {
            return Err(DecodeError::BadOutput {
                decoder: decoder.label.clone(),
                record: record.path.into(),
                reason: format!("page {} asked of a record of {pages} pages", page + 1),
            });
        }
        self.run(decoder, Call::Page(page), record, input)
    }

    /// Checks that a main document announcing `pages` pages may be
    /// followed by that many calls of `legation_decode_page`.
    fn may_ask_pages(&self, decoder: &Loaded, record: &str, pages: u32) -> Result<(), DecodeError> {
        let bad = |reason: String| DecodeError::BadOutput {
            decoder: decoder.label.clone(),
            record: record.into(),
            reason,
        };
        if pages > self.limits.max_pages {
            return Err(bad(format!(
                "announces {pages} pages, more than the {} a host renders",
                self.limits.max_pages
            )));
        }
        if pages > 0 && !decoder.info.pages {
            return Err(bad(
                "a pages block from a decoder without legation_decode_page".into(),
            ));
        }
        Ok(())
    }
}

/// A rendered record: its main document (the pages were hashed one at a
/// time and dropped; [`Host::page`] decodes one again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The main document's canonical CBOR.
    pub main: Vec<u8>,
    /// The pages its pages block announces (0 without one).
    pub pages: u32,
    /// The render hash over the main document and every page.
    pub hash: [u8; 32],
}

impl Rendered {
    /// The render hash stored in the catalog: BLAKE3 over each document's
    /// length (u64 little-endian) and bytes, in order (SPEC §15.3).
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }
}

/// The render hash, fed one document at a time (SPEC §15.3).
pub struct RenderHasher(blake3::Hasher);

impl Default for RenderHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl RenderHasher {
    /// A hash of no documents yet.
    pub fn new() -> Self {
        RenderHasher(blake3::Hasher::new_derive_key(RENDER_CONTEXT))
    }

    /// A hash of no documents yet, for a record rendered by a decoder of
    /// ABI 2 that was given the facts block `facts` ([`Facts::block`]):
    /// its own context, then the block, so that no render hash with facts
    /// equals one without (SPEC §15.3).
    pub fn with_facts(facts: &[u8]) -> Self {
        let mut h = blake3::Hasher::new_derive_key(RENDER_FACTS_CONTEXT);
        h.update(&(facts.len() as u64).to_le_bytes());
        h.update(facts);
        RenderHasher(h)
    }

    /// The hash a record rendered by `decoder` with `facts` takes: with
    /// the facts for a decoder of ABI 2, without for one of ABI 1.
    pub fn for_decoder(decoder: &DecoderInfo, facts: &Facts<'_>) -> Self {
        if decoder.abi == ABI_FACTS {
            Self::with_facts(&facts.block())
        } else {
            Self::new()
        }
    }

    /// Adds the next document (main, then pages in order).
    pub fn document(&mut self, cbor: &[u8]) {
        self.0.update(&(cbor.len() as u64).to_le_bytes());
        self.0.update(cbor);
    }

    /// The render hash of the documents added.
    pub fn finish(&self) -> [u8; 32] {
        *self.0.finalize().as_bytes()
    }
}

/// The render hash of whole documents in order (see [`RenderHasher`]).
pub fn render_hash(documents: &[Vec<u8>]) -> [u8; 32] {
    let mut h = RenderHasher::new();
    for d in documents {
        h.document(d);
    }
    h.finish()
}

/// BLAKE3 key-derivation context of render hashes.
pub const RENDER_CONTEXT: &str = "legation 2026-11-27 render hash";

/// BLAKE3 key-derivation context of render hashes of records rendered
/// with their facts (ABI 2, format 2.1).
pub const RENDER_FACTS_CONTEXT: &str = "legation 2026-12-07 render hash with facts";

/// The page count a document announces (0 without a pages block).
pub fn page_count(cbor: &[u8], limits: &ViewLimits) -> u32 {
    Document::from_cbor(cbor, limits)
        .ok()
        .and_then(|d| {
            d.blocks.iter().find_map(|b| {
                if let Block::Pages { count } = b {
                    Some(*count)
                } else {
                    None
                }
            })
        })
        .unwrap_or(0)
}

/// Checks a module is a metered decoder this host can run, and reads its
/// declaration.
pub fn inspect(wasm: &[u8], module_cap: usize) -> Result<DecoderInfo, String> {
    checked(wasm, module_cap, legation_meter::verify_metered).map(|(info, _)| info)
}

/// [`inspect`], with the proof of metering `verify` (which checks that the
/// code counts what the module records) and what it returns.
fn checked<T>(
    wasm: &[u8],
    module_cap: usize,
    verify: impl FnOnce(&[u8], usize) -> Result<T, legation_meter::MeterError>,
) -> Result<(DecoderInfo, T), String> {
    let facts =
        legation_meter::check_decoder_module(wasm, module_cap).map_err(|e| e.to_string())?;
    if facts.metered.is_none() {
        return Err(
            "not metered (no legation.meter section): limits could differ between engines".into(),
        );
    }
    // The section could be pasted onto an unmetered module: check that the
    // code really counts what it records.
    let verified = verify(wasm, module_cap).map_err(|e| format!("metering does not hold: {e}"))?;
    let info: DecoderInfo = serde_json::from_str(&facts.description)
        .map_err(|e| format!("legation.decoder section: {e}"))?;
    if info.abi != ABI_VERSION && info.abi != ABI_FACTS {
        return Err(format!(
            "ABI version {} (this host speaks {ABI_VERSION} and {ABI_FACTS})",
            info.abi
        ));
    }
    if info.pages != facts.decode_page {
        return Err(
            "declares pages but does not export legation_decode_page, or the reverse".into(),
        );
    }
    Ok((info, verified))
}

/// Reads the `(ptr << 32) | len` a decoder returned out of its memory.
pub fn take_output(memory: &[u8], packed: i64, cap: usize) -> Result<Vec<u8>, EngineError> {
    let (ptr, len) = (
        (packed as u64 >> 32) as usize,
        (packed as u64 & 0xFFFF_FFFF) as usize,
    );
    if len > cap {
        return Err(EngineError::Output(format!(
            "{len} bytes of output is over the {cap}-byte cap"
        )));
    }
    if len == 0 {
        return Err(EngineError::Output("empty output (no status byte)".into()));
    }
    ptr.checked_add(len)
        .and_then(|end| memory.get(ptr..end))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| {
            EngineError::Output(format!(
                "output at {ptr} of {len} bytes lies outside memory ({} bytes)",
                memory.len()
            ))
        })
}

/// Why a record of an archive could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The record has no decoder assigned.
    #[error("{0}: no decoder is assigned to this record")]
    NoDecoder(String),
    /// Reading the record or the decoder failed (damage, I/O).
    #[error(transparent)]
    Archive(#[from] crate::Error),
    /// The decoder failed on the record.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

impl crate::Unlocked {
    /// Loads (and caches in `host`) the decoder module assigned to a record.
    pub fn decoder_for(
        &self,
        host: &Host,
        rec: &legation_format::catalog::CatalogRecord,
    ) -> Result<Arc<Loaded>, RenderError> {
        self.archive().decoder_for(host, rec)
    }

    /// Decodes a record with its decoder: the main document, and each
    /// page one at a time for the render hash (see [`Host::render_with`]).
    pub fn render_record(
        &self,
        host: &Host,
        rec: &legation_format::catalog::CatalogRecord,
    ) -> Result<Rendered, RenderError> {
        self.render_record_with(host, rec, &mut |_, _| {})
    }

    /// [`Self::render_record`], handing each document to `each` as
    /// [`Host::render_with`] does, before the next page is decoded.
    pub fn render_record_with(
        &self,
        host: &Host,
        rec: &legation_format::catalog::CatalogRecord,
        each: &mut dyn FnMut(u32, &[u8]),
    ) -> Result<Rendered, RenderError> {
        let (decoder, bytes) = self.decodable(host, rec)?;
        Ok(host.render_with(&decoder, Facts::of(rec), &bytes, each)?)
    }

    /// The record through the archive's raw decoder (see
    /// [`crate::Archive::raw_decoder`]: byte statistics and a hex dump),
    /// for a record whose own decoder did not show it (it refused it,
    /// trapped or panicked): what a viewer shows then, under the reason.
    /// Documents go to `each` as [`Host::render_with`] gives them.
    /// `Ok(None)` when the archive has no raw decoder or the record's own
    /// decoder is that one.
    pub fn render_raw_with(
        &self,
        host: &Host,
        rec: &legation_format::catalog::CatalogRecord,
        each: &mut dyn FnMut(u32, &[u8]),
    ) -> Result<Option<Rendered>, RenderError> {
        let Some(raw) = self.archive().raw_decoder() else {
            return Ok(None);
        };
        if rec.decoder.as_deref() == Some(raw) {
            return Ok(None);
        }
        let through_raw = legation_format::catalog::CatalogRecord {
            decoder: Some(raw.to_owned()),
            ..rec.clone()
        };
        let (decoder, bytes) = self.decodable(host, &through_raw)?;
        Ok(Some(host.render_with(
            &decoder,
            Facts::of(rec),
            &bytes,
            each,
        )?))
    }

    /// Decodes page `page` (0-based) of a record whose main document
    /// announced `pages` pages: the record is read again, and only that
    /// page is decoded.
    pub fn render_page(
        &self,
        host: &Host,
        rec: &legation_format::catalog::CatalogRecord,
        page: u32,
        pages: u32,
    ) -> Result<Vec<u8>, RenderError> {
        let (decoder, bytes) = self.decodable(host, rec)?;
        Ok(host.page(&decoder, Facts::of(rec), &bytes, page, pages)?)
    }

    /// The record's decoder and its bytes, refusing a record over the
    /// host's record cap before reading it.
    fn decodable(
        &self,
        host: &Host,
        rec: &legation_format::catalog::CatalogRecord,
    ) -> Result<(Arc<Loaded>, Vec<u8>), RenderError> {
        let decoder = self.decoder_for(host, rec)?;
        if rec.size > host.limits().record_cap {
            return Err(DecodeError::TooLarge {
                record: rec.path.clone(),
                size: rec.size,
                cap: host.limits().record_cap,
            }
            .into());
        }
        let bytes = self.read_record(rec, host.limits().record_cap)?;
        Ok((decoder, bytes))
    }
}

impl crate::Archive {
    /// The entry of the archive's raw decoder, the fallback for any bytes:
    /// the last decoder the manifest lists whose media types hold `*/*`
    /// (the built-in raw decoder, stored last, SPEC §11.5), if any.
    pub fn raw_decoder(&self) -> Option<&str> {
        self.manifest()
            .decoders
            .iter()
            .rev()
            .find(|d| d.media_types.iter().any(|m| m == "*/*"))
            .map(|d| d.entry.as_str())
    }

    /// Loads (and caches in `host`) the decoder module assigned to a
    /// record: public data only, so a host can do this without a key.
    pub fn decoder_for(
        &self,
        host: &Host,
        rec: &legation_format::catalog::CatalogRecord,
    ) -> Result<Arc<Loaded>, RenderError> {
        let entry = rec
            .decoder
            .as_deref()
            .ok_or_else(|| RenderError::NoDecoder(rec.path.clone()))?;
        if !self.manifest().decoders.iter().any(|d| d.entry == entry) {
            return Err(crate::Error::MissingEntry {
                entry: format!("{entry} (not listed among the manifest's decoders)"),
            }
            .into());
        }
        let bytes = self.read_entry(entry, host.limits().module_cap as u64)?;
        Ok(host.load(&bytes, entry)?)
    }
}
