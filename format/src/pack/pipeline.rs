//! The records of a plan read, rendered and written by three threads, so
//! that both cores work: one reads files (and describes them), one hands
//! records to the renderer in batches (its decoders run in a worker
//! process, which then has the other core), and the caller's thread
//! writes them, in path order. Memory stays bounded: batches of at most
//! [`BATCH_RECORDS`] records and [`BATCH_BYTES`] bytes, two batches
//! queued between threads, and the record bytes read ahead of the writer
//! capped at [`AHEAD_BYTES`] (a larger record waits until nothing else is
//! in flight, so it alone is in memory, as when packing one at a time).

use std::fs;
use std::io::{Read, Seek};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Condvar, Mutex};

use super::{
    describe_at, read_up_to, seconds_modified, Found, FoundRecord, Packed, RecordSink, Renderer,
};
use crate::writer::{RecordMeta, RecordSource};
use crate::{Error, Result};

/// Most records in one batch.
const BATCH_RECORDS: usize = 512;
/// A batch is sent on once its records hold this many bytes.
const BATCH_BYTES: u64 = 4 << 20;
/// Most bytes of records read whole and not yet written (unless one
/// record alone is larger).
const AHEAD_BYTES: u64 = 64 << 20;
/// Without a renderer, records up to this size are read whole by the
/// reading thread; larger ones are streamed by the writer.
const SMALL: u64 = 1 << 20;

/// One record on its way to the writer.
struct Item {
    meta: RecordMeta,
    size: u64,
    /// Its bytes, read whole (rendered records, small records).
    bytes: Option<Vec<u8>>,
    /// Its file, to stream from, when not read whole.
    file: Option<fs::File>,
}

/// What the walk found, on its way to the writer in order.
enum Step {
    Record(Item),
    EmptyDir(String),
    Skipped(String, String),
}

type Batch = Result<Vec<Step>>;

/// Bytes read whole and not yet written.
struct Ahead {
    state: Mutex<(u64, bool)>,
    changed: Condvar,
}

impl Ahead {
    /// Waits until `n` more bytes may be read ahead; false when the
    /// writer has stopped.
    fn acquire(&self, n: u64) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !s.1 && s.0 > 0 && s.0.saturating_add(n) > AHEAD_BYTES {
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        if s.1 {
            return false;
        }
        s.0 += n;
        true
    }

    fn release(&self, n: u64) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.0 = s.0.saturating_sub(n);
        self.changed.notify_all();
    }

    fn close(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.changed.notify_all();
    }
}

/// Closes [`Ahead`] when the writer stops, however it stops.
struct CloseOnDrop<'a>(&'a Ahead);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Packs what `found` yields (records in path order) into `writer`; see
/// the module.
pub(super) fn pack_records(
    found: impl Iterator<Item = Result<Found>> + Send,
    writer: &mut impl RecordSink,
    renderer: Option<&mut (dyn Renderer + Send)>,
    mut progress: impl FnMut(&str, u64),
    mut skipped: impl FnMut(&str, &str),
) -> Result<Packed> {
    let cap = renderer.as_ref().map(|r| r.cap());
    let ahead = Ahead {
        state: Mutex::new((0, false)),
        changed: Condvar::new(),
    };
    let mut packed = Packed::default();
    std::thread::scope(|s| {
        let _close = CloseOnDrop(&ahead);
        let (read_tx, read_rx) = sync_channel::<Batch>(2);
        let ahead = &ahead;
        s.spawn(move || read_all(found, cap, ahead, read_tx));
        let rx: Receiver<Batch> = match renderer {
            Some(rd) => {
                let (tx, rx) = sync_channel::<Batch>(2);
                s.spawn(move || render_all(read_rx, rd, tx));
                rx
            }
            None => read_rx,
        };
        for batch in rx {
            for step in batch? {
                let item = match step {
                    Step::Record(item) => item,
                    Step::EmptyDir(d) => {
                        writer.add_empty_dir(&d)?;
                        packed.empty_dirs += 1;
                        continue;
                    }
                    Step::Skipped(path, why) => {
                        skipped(&path, &why);
                        packed.skipped += 1;
                        continue;
                    }
                };
                progress(&item.meta.path, item.size);
                packed.records += 1;
                packed.bytes += item.size;
                match (item.bytes, item.file) {
                    (Some(bytes), _) => {
                        writer.add_record(item.meta, RecordSource::Bytes(&bytes))?;
                        drop(bytes);
                        ahead.release(item.size);
                    }
                    (None, Some(mut f)) => writer.add_record(
                        item.meta,
                        RecordSource::Reader {
                            reader: &mut f,
                            size: item.size,
                        },
                    )?,
                    (None, None) => unreachable!("an item has its bytes or its file"),
                }
            }
        }
        Ok(packed)
    })
}

/// The reading thread: each record opened, described and (when small
/// enough) read whole, sent on in batches with what else the walk found;
/// the first error ends it.
fn read_all(
    found: impl Iterator<Item = Result<Found>>,
    cap: Option<u64>,
    ahead: &Ahead,
    tx: SyncSender<Batch>,
) {
    let mut batch = Vec::new();
    let mut bytes = 0u64;
    for f in found {
        let r = match f {
            Ok(Found::Record(r)) => r,
            Ok(Found::EmptyDir(d)) => {
                batch.push(Step::EmptyDir(d));
                continue;
            }
            Ok(Found::Skipped(path, why)) => {
                batch.push(Step::Skipped(path, why));
                continue;
            }
            Err(e) => {
                let _ = tx.send(Ok(batch));
                let _ = tx.send(Err(e));
                return;
            }
        };
        let whole = r.size <= cap.unwrap_or(SMALL);
        if whole && !ahead.acquire(r.size) {
            return;
        }
        let item = match read_one(&r, whole) {
            Ok(item) => item,
            Err(e) => {
                let _ = tx.send(Ok(batch));
                let _ = tx.send(Err(e));
                return;
            }
        };
        bytes += r.size;
        batch.push(Step::Record(item));
        if !whole || batch.len() >= BATCH_RECORDS || bytes >= BATCH_BYTES {
            bytes = 0;
            if tx.send(Ok(std::mem::take(&mut batch))).is_err() {
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(Ok(batch));
    }
}

/// Opens and describes one record, reading it whole if `whole`: the
/// bytes described are the bytes rendered and stored.
fn read_one(r: &FoundRecord, whole: bool) -> Result<Item> {
    let reading = |e| Error::io(format!("reading {}", r.file.display()), e);
    let mut f = fs::File::open(&r.file)
        .map_err(|e| Error::io(format!("opening {}", r.file.display()), e))?;
    let modified = f.metadata().ok().as_ref().and_then(seconds_modified);
    if !whole {
        let mut head = [0u8; 512];
        let n = read_up_to(&mut f, &mut head).map_err(reading)?;
        f.rewind().map_err(reading)?;
        let meta = describe_at(r, &head[..n], modified)?;
        return Ok(Item {
            meta,
            size: r.size,
            bytes: None,
            file: Some(f),
        });
    }
    let mut bytes = Vec::with_capacity(r.size as usize);
    (&mut f)
        .take(r.size + 1)
        .read_to_end(&mut bytes)
        .map_err(reading)?;
    let meta = describe_at(r, &bytes[..bytes.len().min(512)], modified)?;
    if bytes.len() as u64 != r.size {
        return Err(Error::Changed {
            path: r.path.clone(),
            what: format!(
                "{} bytes now, {} when the folder was listed",
                bytes.len(),
                r.size
            ),
        });
    }
    Ok(Item {
        meta,
        size: r.size,
        bytes: Some(bytes),
        file: None,
    })
}

/// The rendering thread: each batch rendered in order, then sent to the
/// writer. The records read whole go to the renderer together; a record
/// that is not read whole ends its batch (see [`read_all`]), so rendering
/// it after them keeps the records' order.
fn render_all(rx: Receiver<Batch>, rd: &mut (dyn Renderer + Send), tx: SyncSender<Batch>) {
    for batch in rx {
        let batch = batch.map(|mut steps| {
            let mut whole: Vec<(&mut RecordMeta, &[u8])> = Vec::with_capacity(steps.len());
            let mut streamed = Vec::new();
            for step in steps.iter_mut() {
                if let Step::Record(item) = step {
                    match item.bytes.as_deref() {
                        Some(b) => whole.push((&mut item.meta, b)),
                        None => streamed.push((&mut item.meta, item.size)),
                    }
                }
            }
            rd.render_batch(&mut whole);
            for (meta, size) in streamed {
                rd.render(meta, None, size);
            }
            steps
        });
        if tx.send(batch).is_err() {
            return;
        }
    }
}
