//! Decoding in a separate process: an engine bug cannot reach key material.
//!
//! The archive's data key, the reader's identity and passphrase live in
//! the process that unlocks an archive. A decoder is untrusted code run by
//! a JIT compiler; metering and wasmtime's sandbox stop a hostile decoder,
//! but a bug in the engine would give it the address space it runs in. So
//! native hosts run decoders in long-lived *worker* processes that hold
//! nothing but the decoder modules and the record bytes sent to them: no
//! key, no environment (the worker starts with an empty one, so
//! `LEGATION_PASSPHRASE` does not reach it), no open archive.
//!
//! A worker is the host program itself started with an argument that makes
//! it call [`serve`] (the `legation` command uses `legation decode-worker`).
//! It stays up for the whole session, keeps each module compiled, and runs
//! every call in a fresh wasmtime instance exactly as the in-process
//! engine does, so verdicts do not change. The per-call cost of the
//! arrangement is one round trip over a Unix socket, which each side
//! polls briefly before it sleeps (see `channel`): about 11 µs on the
//! benchmark machine, against about 48 µs with blocking pipes (criterion,
//! `benches/benches/decoders.rs`).
//!
//! A worker that dies (a crash, a kill) fails the call it was running
//! with [`EngineError::Trap`] naming how it ended; the next call starts a
//! new worker. The host's clock is the watchdog of calls in a worker: a
//! call that outlives its watchdog has its worker killed and ends with
//! [`EngineError::Timeout`] (so the worker's engine,
//! [`Wasmtime::unwatched`], spares every loop the check of epoch
//! interruption). Loading a module is allowed a few seconds more.
//!
//! # Protocol (host <-> worker, over the worker's stdin and stdout)
//!
//! Integers are little-endian. A request is a kind byte and fields:
//! - `1` load: `id: u64`, `len: u32`, `len` bytes of module. Compiles it.
//! - `2` call: `id: u64`, `export: u8` (0 decode, 1 page), `page: u32`,
//!   `output_cap: u64`, `watchdog_ms: u64`, `len: u32`, `len` bytes of
//!   input.
//!
//! - `3` batch: `id: u64`, `export: u8`, `page: u32`, `output_cap: u64`,
//!   `watchdog_ms: u64`, `count: u32` (1 to [`BATCH_RECORDS`]), then
//!   `count` times `len: u32` and `len` bytes of input. The worker reads
//!   the whole batch, then runs each input as one call (a fresh instance
//!   with its own fuel, memory, output cap: nothing of one input's run is
//!   seen by the next) and answers each as its own response, in order,
//!   sending each before it starts the next: so the host knows which
//!   input was running when a worker died or outlived its watchdog, and
//!   only that input fails; those after it are sent again, to a new
//!   worker. One batch costs one round trip instead of `count`.
//!
//! Each call or load gets one response: `0`, `len: u32` and `len` bytes (the
//! raw output of a call; empty for a load), or `1`, an error kind byte
//! (0 module, 1 trap, 2 timeout, 3 output), `len: u32` and `len` bytes of
//! UTF-8 message. Kind 4 is a module's own limit (its code as the
//! message), kind 5 the worker's machine failing the call (its engine
//! could not start, its memory could not be reserved: an address-space
//! limit), which is never a verdict on the record.
//!
//! A worker that cannot be started, or whose engine cannot start, fails
//! the call with [`EngineError::Host`]: the record is not concluded.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::decode::{Call, Compiled, Engine, EngineError};
use crate::wasmtime_engine::Wasmtime;

/// How long after the watchdog the host kills a worker that is still
/// compiling a module.
const COMPILE_GRACE: Duration = Duration::from_secs(5);
/// How often the host's watchdog looks at a busy worker.
const WATCHDOG_TICK: Duration = Duration::from_millis(50);

const REQ_LOAD: u8 = 1;
const REQ_CALL: u8 = 2;
const REQ_BATCH: u8 = 3;

/// Most inputs in one batch request.
pub const BATCH_RECORDS: usize = 1024;
/// Most input bytes the host puts in one batch request (a larger input
/// goes alone, as a plain call).
pub const BATCH_BYTES: usize = 1 << 20;

/// The engine that runs decoders in worker processes.
pub struct Isolated {
    inner: Arc<Inner>,
}

struct Inner {
    program: PathBuf,
    args: Vec<OsString>,
    /// Workers not running a call now.
    idle: Mutex<Vec<Worker>>,
    next_id: AtomicU64,
}

impl Isolated {
    /// An engine whose workers are `program args…`, a program that calls
    /// [`serve`] on its stdin and stdout. No worker starts until the first
    /// call.
    pub fn new(
        program: impl Into<PathBuf>,
        args: impl IntoIterator<Item = impl Into<OsString>>,
    ) -> Self {
        Isolated {
            inner: Arc::new(Inner {
                program: program.into(),
                args: args.into_iter().map(Into::into).collect(),
                idle: Mutex::new(Vec::new()),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// An engine whose workers are this program, started with `args`.
    pub fn current_exe(args: impl IntoIterator<Item = impl Into<OsString>>) -> io::Result<Self> {
        Ok(Self::new(std::env::current_exe()?, args))
    }
}

impl Engine for Isolated {
    fn name(&self) -> &'static str {
        "wasmtime (worker process)"
    }

    fn compile(&self, wasm: &[u8]) -> Result<Arc<dyn Compiled>, EngineError> {
        if u32::try_from(wasm.len()).is_err() {
            return Err(EngineError::Module("module over 4 GiB".into()));
        }
        // Workers compile on first use; a module that does not compile
        // fails its first call with the worker's message.
        Ok(Arc::new(IsolatedDecoder {
            inner: self.inner.clone(),
            id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
            wasm: wasm.into(),
        }))
    }
}

struct IsolatedDecoder {
    inner: Arc<Inner>,
    id: u64,
    wasm: Arc<[u8]>,
}

/// The start of a call or batch request: its kind, the module, the
/// export and page, the output cap and the watchdog's milliseconds.
fn request_head(
    w: &mut impl Write,
    request: u8,
    decoder: &IsolatedDecoder,
    call: Call,
    output_cap: usize,
    watchdog: Duration,
) -> std::io::Result<()> {
    let (export, page) = match call {
        Call::Decode => (0u8, 0u32),
        Call::Page(p) => (1u8, p),
    };
    w.write_all(&[request])?;
    w.write_all(&decoder.id.to_le_bytes())?;
    w.write_all(&[export])?;
    w.write_all(&page.to_le_bytes())?;
    w.write_all(&(output_cap as u64).to_le_bytes())?;
    w.write_all(&(watchdog.as_millis().min(u64::MAX as u128) as u64).to_le_bytes())
}

impl Compiled for IsolatedDecoder {
    fn call(
        &self,
        call: Call,
        input: &[u8],
        output_cap: usize,
        watchdog: Duration,
    ) -> Result<Vec<u8>, EngineError> {
        let len = u32::try_from(input.len())
            .map_err(|_| EngineError::Output("input over 4 GiB".into()))?;
        let mut worker = self.worker()?;
        let result = worker.call(self, call, input, len, output_cap, watchdog);
        match &result {
            // The worker answered: it is in a known state and can serve
            // again.
            Ok(_) | Err(Failure::Answer(_)) => self.idle(worker),
            // It died or was killed: drop it (and reap it).
            Err(Failure::Lost(_)) => worker.end(),
        }
        result.map_err(|f| match f {
            Failure::Answer(e) | Failure::Lost(e) => e,
        })
    }

    fn call_each(
        &self,
        call: Call,
        inputs: &[&[u8]],
        output_cap: usize,
        watchdog: Duration,
    ) -> Vec<Result<Vec<u8>, EngineError>> {
        let mut out = Vec::with_capacity(inputs.len());
        while out.len() < inputs.len() {
            let rest = &inputs[out.len()..];
            let take = batch_len(rest);
            if take == 1 {
                out.push(self.call(call, rest[0], output_cap, watchdog));
                continue;
            }
            let mut worker = match self.worker() {
                Ok(w) => w,
                // As a call alone: this input fails, the next tries again.
                Err(e) => {
                    out.push(Err(e));
                    continue;
                }
            };
            let (answers, lost) =
                worker.call_batch(self, call, &rest[..take], output_cap, watchdog);
            out.extend(answers);
            match lost {
                None => self.idle(worker),
                // The input that was running when the worker was lost
                // fails as a call alone would; those after it were not
                // run and go to the next worker.
                Some(e) => {
                    worker.end();
                    out.push(Err(e));
                }
            }
        }
        out
    }
}

impl IsolatedDecoder {
    /// An idle worker, or a new one.
    fn worker(&self) -> Result<Worker, EngineError> {
        let idle = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        match idle {
            Some(w) => Ok(w),
            None => Worker::start(&self.inner),
        }
    }

    /// Gives back a worker that answered everything asked of it.
    fn idle(&self, worker: Worker) {
        self.inner
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(worker)
    }
}

/// How many of `inputs`, from the first, go in the next batch: at most
/// [`BATCH_RECORDS`] and [`BATCH_BYTES`], and at least one (an input of
/// [`BATCH_BYTES`] or more goes alone).
fn batch_len(inputs: &[&[u8]]) -> usize {
    let mut bytes = 0usize;
    let mut n = 0;
    for input in inputs.iter().take(BATCH_RECORDS) {
        bytes = bytes.saturating_add(input.len());
        if n > 0 && bytes > BATCH_BYTES {
            break;
        }
        n += 1;
    }
    if n == 1 || inputs.first().is_some_and(|i| i.len() >= BATCH_BYTES) {
        return 1;
    }
    n
}

/// How a call to a worker failed.
enum Failure {
    /// The worker reported an error and is ready for more.
    Answer(EngineError),
    /// The worker is gone or unusable.
    Lost(EngineError),
}

/// One worker process.
struct Worker {
    child: Arc<Mutex<Child>>,
    /// Requests go here; dropping it ends the worker's input.
    stdin: BufWriter<Box<dyn Write + Send>>,
    /// Answers come from here.
    stdout: BufReader<Box<dyn channel::Answers>>,
    /// Modules this worker has compiled.
    loaded: HashSet<u64>,
    /// When the watchdog kills the worker, while a request is pending.
    deadline: Arc<Mutex<Option<Instant>>>,
    /// Set by the watchdog when it killed the worker.
    killed: Arc<Mutex<bool>>,
}

impl Worker {
    fn start(inner: &Inner) -> Result<Worker, EngineError> {
        let failed = |e: io::Error| {
            EngineError::Host(format!(
                "starting the decoder process {}: {e}",
                inner.program.display()
            ))
        };
        let mut command = Command::new(&inner.program);
        command
            .args(&inner.args)
            .env_clear()
            .stderr(Stdio::inherit());
        let (child, stdin, stdout) = channel::spawn(&mut command).map_err(failed)?;
        let child = Arc::new(Mutex::new(child));
        let deadline = Arc::new(Mutex::new(None));
        let killed = Arc::new(Mutex::new(false));
        if let Err(e) = spawn_watchdog(Arc::downgrade(&child), deadline.clone(), killed.clone()) {
            // A worker nothing would stop by the clock: end it.
            let mut child = child.lock().unwrap_or_else(|e| e.into_inner());
            let _ = child.kill();
            let _ = child.wait();
            return Err(failed(e));
        }
        Ok(Worker {
            child,
            stdin: BufWriter::new(stdin),
            stdout: BufReader::new(stdout),
            loaded: HashSet::new(),
            deadline,
            killed,
        })
    }

    /// Compiles the decoder in this worker unless it has already.
    fn load(&mut self, decoder: &IsolatedDecoder, watchdog: Duration) -> Result<(), Failure> {
        if !self.loaded.contains(&decoder.id) {
            // Compiling is bounded by the call's watchdog too.
            self.arm(watchdog + COMPILE_GRACE);
            let sent = (|| {
                let w = &mut self.stdin;
                w.write_all(&[REQ_LOAD])?;
                w.write_all(&decoder.id.to_le_bytes())?;
                w.write_all(&(decoder.wasm.len() as u32).to_le_bytes())?;
                w.write_all(&decoder.wasm)?;
                w.flush()
            })();
            self.response(sent, 0)?;
            self.loaded.insert(decoder.id);
        }
        Ok(())
    }

    fn call(
        &mut self,
        decoder: &IsolatedDecoder,
        call: Call,
        input: &[u8],
        len: u32,
        output_cap: usize,
        watchdog: Duration,
    ) -> Result<Vec<u8>, Failure> {
        self.load(decoder, watchdog)?;
        self.arm(watchdog);
        let sent = (|| {
            let w = &mut self.stdin;
            request_head(w, REQ_CALL, decoder, call, output_cap, watchdog)?;
            w.write_all(&len.to_le_bytes())?;
            w.write_all(input)?;
            w.flush()
        })();
        // The status byte and at most `output_cap` bytes: the worker checks
        // the cap too, but a broken worker must not make us allocate more.
        self.response(sent, output_cap.saturating_add(1))
    }

    /// Sends `inputs` (at most [`BATCH_RECORDS`], each under 4 GiB) as one
    /// batch and reads the answer to each, the watchdog's clock started
    /// afresh for each. Returns the answers read, in order, and, if the
    /// worker was lost, the failure of the input it was running (the one
    /// after the answers); the inputs after that one were not run.
    fn call_batch(
        &mut self,
        decoder: &IsolatedDecoder,
        call: Call,
        inputs: &[&[u8]],
        output_cap: usize,
        watchdog: Duration,
    ) -> (Vec<Result<Vec<u8>, EngineError>>, Option<EngineError>) {
        let mut answers = Vec::with_capacity(inputs.len());
        match self.load(decoder, watchdog) {
            Ok(()) => {}
            // The module does not compile: the same answer for each input
            // (compiling is deterministic).
            Err(Failure::Answer(e)) => {
                answers.resize(inputs.len(), Err(e));
                return (answers, None);
            }
            Err(Failure::Lost(e)) => return (answers, Some(e)),
        }
        self.arm(watchdog);
        let sent = (|| {
            let w = &mut self.stdin;
            request_head(w, REQ_BATCH, decoder, call, output_cap, watchdog)?;
            w.write_all(&(inputs.len() as u32).to_le_bytes())?;
            for input in inputs {
                w.write_all(&(input.len() as u32).to_le_bytes())?;
                w.write_all(input)?;
            }
            w.flush()
        })();
        if let Err(io) = sent {
            self.disarm();
            return (answers, Some(self.lost(io)));
        }
        // The worker sends each answer as soon as it has it: wait for them
        // asleep rather than polling, so that this process's CPU is free
        // for reading and writing records meanwhile.
        self.stdout.get_mut().set_polling(false);
        let mut lost = None;
        for _ in inputs {
            self.arm(watchdog);
            match read_response(&mut self.stdout, output_cap.saturating_add(1)) {
                Ok(answer) => answers.push(answer),
                Err(io) => {
                    self.disarm();
                    lost = Some(self.lost(io));
                    break;
                }
            }
        }
        self.disarm();
        self.stdout.get_mut().set_polling(true);
        (answers, lost)
    }

    /// Stops the watchdog's clock.
    fn disarm(&self) {
        *self.deadline.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Starts the watchdog's clock for one request.
    fn arm(&self, limit: Duration) {
        *self.deadline.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + limit);
    }

    /// Reads the answer to the request just sent (or not, if `sent` failed).
    fn response(&mut self, sent: io::Result<()>, max: usize) -> Result<Vec<u8>, Failure> {
        let answer = sent.and_then(|()| read_response(&mut self.stdout, max));
        *self.deadline.lock().unwrap_or_else(|e| e.into_inner()) = None;
        match answer {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(e)) => Err(Failure::Answer(e)),
            Err(io) => Err(Failure::Lost(self.lost(io))),
        }
    }

    /// Says how the worker ended after the pipe broke.
    fn lost(&mut self, io: io::Error) -> EngineError {
        if *self.killed.lock().unwrap_or_else(|e| e.into_inner()) {
            return EngineError::Timeout;
        }
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        // Give a dying worker a moment to be reaped, so the message can
        // say how it ended.
        let started = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    return EngineError::Trap(format!("the decoder process ended ({status})"))
                }
                Ok(None) if started.elapsed() < Duration::from_millis(500) => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                _ => {
                    let _ = child.kill();
                    return EngineError::Trap(format!(
                        "the decoder process stopped answering ({io})"
                    ));
                }
            }
        }
    }

    /// Kills and reaps the worker.
    fn end(self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for w in self
            .idle
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            // Closing stdin ends a worker's loop; then reap it.
            let Worker { child, stdin, .. } = w;
            drop(stdin);
            let mut child = child.lock().unwrap_or_else(|e| e.into_inner());
            if !matches!(child.try_wait(), Ok(Some(_))) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

/// Watches one worker: kills it when a pending request passes its
/// deadline. Ends when the worker is dropped.
fn spawn_watchdog(
    child: Weak<Mutex<Child>>,
    deadline: Arc<Mutex<Option<Instant>>>,
    killed: Arc<Mutex<bool>>,
) -> io::Result<()> {
    std::thread::Builder::new()
        .name("legation-decoder-watchdog".into())
        .spawn(move || {
            while let Some(child) = child.upgrade() {
                let due = *deadline.lock().unwrap_or_else(|e| e.into_inner());
                if due.is_some_and(|d| Instant::now() >= d) {
                    *killed.lock().unwrap_or_else(|e| e.into_inner()) = true;
                    let _ = child.lock().unwrap_or_else(|e| e.into_inner()).kill();
                    return;
                }
                drop(child);
                std::thread::sleep(WATCHDOG_TICK);
            }
        })
        .map(drop)
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(r: &mut impl Read) -> io::Result<u64> {
    let mut b = [0; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn read_u8(r: &mut impl Read) -> io::Result<u8> {
    let mut b = [0; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

/// Reads `len` bytes without trusting `len` for the allocation up front.
fn read_bytes(r: &mut impl Read, len: u32) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(u64::from(len)).read_to_end(&mut out)?;
    if out.len() != len as usize {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(out)
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// One response from a worker: `Ok(Ok(bytes))`, `Ok(Err(reported))`, or
/// `Err` when the pipe or the message is broken.
fn read_response(r: &mut impl Read, max: usize) -> io::Result<Result<Vec<u8>, EngineError>> {
    match read_u8(r)? {
        0 => {
            let len = read_u32(r)?;
            if len as usize > max {
                return Err(bad("response over the output cap"));
            }
            Ok(Ok(read_bytes(r, len)?))
        }
        1 => {
            let kind = read_u8(r)?;
            let len = read_u32(r)?;
            let msg = String::from_utf8_lossy(&read_bytes(r, len.min(1 << 20))?).into_owned();
            Ok(Err(match kind {
                0 => EngineError::Module(msg),
                1 => EngineError::Trap(msg),
                2 => EngineError::Timeout,
                3 => EngineError::Output(msg),
                4 => EngineError::Limit(
                    msg.parse()
                        .ok()
                        .and_then(legation_meter::Limit::from_code)
                        .ok_or_else(|| bad("unknown limit"))?,
                ),
                5 => EngineError::Host(format!("in the decoder process: {msg}")),
                _ => return Err(bad("unknown error kind")),
            }))
        }
        _ => Err(bad("unknown response")),
    }
}

fn write_ok(w: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    w.write_all(&[0])?;
    w.write_all(&(bytes.len() as u32).to_le_bytes())?;
    w.write_all(bytes)?;
    w.flush()
}

fn write_err(w: &mut impl Write, e: &EngineError) -> io::Result<()> {
    let code;
    let (kind, msg) = match e {
        EngineError::Module(m) => (0u8, m.as_str()),
        EngineError::Trap(m) => (1, m.as_str()),
        EngineError::Timeout => (2, ""),
        EngineError::Output(m) => (3, m.as_str()),
        EngineError::Limit(limit) => {
            code = limit.code().to_string();
            (4, code.as_str())
        }
        EngineError::Host(m) => (5, m.as_str()),
    };
    w.write_all(&[1, kind])?;
    w.write_all(&(msg.len() as u32).to_le_bytes())?;
    w.write_all(msg.as_bytes())?;
    w.flush()
}

/// The worker's side on this process's standard input and output, as
/// [`Isolated`] starts workers: [`serve`] with the waiting of
/// [`channel`] where the input is a socket, plainly otherwise.
pub fn serve_stdio() -> io::Result<()> {
    match channel::polled_stdin() {
        Some(input) => serve(input, io::stdout().lock()),
        None => serve(io::stdin(), io::stdout().lock()),
    }
}

/// The worker's side: answers requests from `input` on `output` until
/// `input` ends. Call it from the program named in [`Isolated::new`] with
/// the process's stdin and stdout, and nothing else in that process.
pub fn serve(input: impl Read, output: impl Write) -> io::Result<()> {
    let mut r = BufReader::new(input);
    let mut w = BufWriter::new(output);
    // The host kills this process when a call outlives its watchdog. An
    // engine this machine cannot start answers every request with the
    // reason (kind 5), so that the host says so rather than finding the
    // worker dead.
    let engine = Wasmtime::unwatched();
    let mut modules: HashMap<u64, Arc<dyn Compiled>> = HashMap::new();
    loop {
        let kind = match read_u8(&mut r) {
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        };
        match kind {
            REQ_LOAD => {
                let id = read_u64(&mut r)?;
                let len = read_u32(&mut r)?;
                let wasm = read_bytes(&mut r, len)?;
                match engine.compile(&wasm) {
                    Ok(m) => {
                        modules.insert(id, m);
                        write_ok(&mut w, &[])?;
                    }
                    Err(e) => write_err(&mut w, &e)?,
                }
            }
            REQ_CALL => {
                let id = read_u64(&mut r)?;
                let export = read_u8(&mut r)?;
                let page = read_u32(&mut r)?;
                let output_cap = usize::try_from(read_u64(&mut r)?).unwrap_or(usize::MAX);
                let watchdog = Duration::from_millis(read_u64(&mut r)?);
                let len = read_u32(&mut r)?;
                let record = read_bytes(&mut r, len)?;
                let call = match export {
                    0 => Call::Decode,
                    1 => Call::Page(page),
                    _ => return Err(bad("unknown export")),
                };
                let result = match modules.get(&id) {
                    Some(m) => m.call(call, &record, output_cap, watchdog),
                    None => Err(EngineError::Module(format!("module {id} was never loaded"))),
                };
                match result {
                    Ok(out) => write_ok(&mut w, &out)?,
                    Err(e) => write_err(&mut w, &e)?,
                }
            }
            REQ_BATCH => {
                let id = read_u64(&mut r)?;
                let export = read_u8(&mut r)?;
                let page = read_u32(&mut r)?;
                let output_cap = usize::try_from(read_u64(&mut r)?).unwrap_or(usize::MAX);
                let watchdog = Duration::from_millis(read_u64(&mut r)?);
                let count = read_u32(&mut r)? as usize;
                if count == 0 || count > BATCH_RECORDS {
                    return Err(bad("batch size out of range"));
                }
                let call = match export {
                    0 => Call::Decode,
                    1 => Call::Page(page),
                    _ => return Err(bad("unknown export")),
                };
                // The whole batch first: the host reads no answer before it
                // has sent it all.
                let mut records = Vec::with_capacity(count);
                for _ in 0..count {
                    let len = read_u32(&mut r)?;
                    records.push(read_bytes(&mut r, len)?);
                }
                for record in &records {
                    // Each input as its own call: a fresh instance, its own
                    // limits; each answer sent (flushed) before the next
                    // input starts.
                    let result = match modules.get(&id) {
                        Some(m) => m.call(call, record, output_cap, watchdog),
                        None => Err(EngineError::Module(format!("module {id} was never loaded"))),
                    };
                    match result {
                        Ok(out) => write_ok(&mut w, &out)?,
                        Err(e) => write_err(&mut w, &e)?,
                    }
                }
            }
            _ => return Err(bad("unknown request")),
        }
    }
}

/// The host and its workers talk over a Unix socket pair (each end
/// worker's standard input and output) rather than two pipes, because a
/// socket can be read without blocking: each side, waiting for the other's
/// next message, first polls for up to [`channel::POLL`] before it sleeps
/// in a blocking read. A sleeping process must be woken by the other, and
/// when the two run on different CPUs that wake-up costs tens of
/// microseconds on a virtual machine (a pipe ping-pong here: 45.6 µs
/// across CPUs, 6.1 µs on one), twice per call; polling takes it off the
/// common path, where the answer comes within microseconds. Elsewhere
/// than Unix, pipes.
mod channel {
    use std::io::{self, Read, Write};
    use std::process::{Child, Command, Stdio};

    /// A started worker with the host's writing and reading ends.
    pub type Started = (Child, Box<dyn Write + Send>, Box<dyn Answers>);

    /// The host's reading end.
    pub trait Answers: Read + Send {
        /// Whether a read polls briefly before it sleeps (the default), or
        /// sleeps at once: while a batch runs, answers come at the
        /// worker's pace and polling would only burn this CPU.
        fn set_polling(&mut self, _on: bool) {}
    }

    #[cfg(not(unix))]
    impl Answers for std::process::ChildStdout {}

    /// How long a side polls before it blocks.
    #[cfg(unix)]
    pub const POLL: std::time::Duration = std::time::Duration::from_micros(100);

    /// Starts `command` with a socket as its standard input and output,
    /// and returns the child with the host's writing and reading ends.
    #[cfg(unix)]
    pub fn spawn(command: &mut Command) -> io::Result<Started> {
        use std::os::fd::OwnedFd;
        use std::os::unix::net::UnixStream;
        let (ours, theirs) = UnixStream::pair()?;
        let theirs_out = theirs.try_clone()?;
        let child = command
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::from(OwnedFd::from(theirs_out)))
            .spawn()?;
        let writer = Box::new(Requests(ours.try_clone()?));
        Ok((child, writer, Box::new(Polled(ours, true))))
    }

    /// Elsewhere: pipes, read plainly.
    #[cfg(not(unix))]
    pub fn spawn(command: &mut Command) -> io::Result<Started> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        match (child.stdin.take(), child.stdout.take()) {
            (Some(stdin), Some(stdout)) => Ok((child, Box::new(stdin), Box::new(stdout))),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err(io::Error::other("the decoder process has no pipes"))
            }
        }
    }

    /// This process's standard input as a polled socket, if it is one.
    #[cfg(unix)]
    pub fn polled_stdin() -> Option<Polled> {
        use std::os::fd::AsFd;
        use std::os::unix::net::UnixStream;
        let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
        let socket = UnixStream::from(fd);
        // Not a socket (a pipe, a file): `local_addr` fails.
        socket.local_addr().ok()?;
        Some(Polled(socket, true))
    }

    /// Elsewhere: never.
    #[cfg(not(unix))]
    pub fn polled_stdin() -> Option<io::Stdin> {
        None
    }

    /// The host's writing end: dropping it shuts the socket for writing,
    /// which the worker reads as the end of its input.
    #[cfg(unix)]
    struct Requests(std::os::unix::net::UnixStream);

    #[cfg(unix)]
    impl Write for Requests {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.write(buf)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.0.flush()
        }
    }

    #[cfg(unix)]
    impl Drop for Requests {
        fn drop(&mut self) {
            let _ = self.0.shutdown(std::net::Shutdown::Write);
        }
    }

    /// A socket read by polling for up to [`POLL`], then blocking (or
    /// blocking at once when its flag is off). The socket is non-blocking
    /// only inside `read`: both ends use it for writing too, always
    /// between reads, and those writes block.
    #[cfg(unix)]
    pub struct Polled(std::os::unix::net::UnixStream, bool);

    #[cfg(unix)]
    impl Answers for Polled {
        fn set_polling(&mut self, on: bool) {
            self.1 = on;
        }
    }

    #[cfg(unix)]
    impl Read for Polled {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if !self.1 {
                return loop {
                    match self.0.read(buf) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        other => break other,
                    }
                };
            }
            self.0.set_nonblocking(true)?;
            let started = std::time::Instant::now();
            let polled = loop {
                match self.0.read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock && started.elapsed() < POLL => {
                        std::hint::spin_loop()
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other,
                }
            };
            self.0.set_nonblocking(false)?;
            match polled {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.0.read(buf),
                other => other,
            }
        }
    }
}
