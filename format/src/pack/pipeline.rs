//! The records of a walk or plan read, hashed and compressed, rendered and
//! written by several threads, so that both cores work: one walks the
//! folder and deals its records out in batches, two take turns at batches
//! to read each file, describe it and compute what the writer stores
//! (BLAKE3 and DEFLATE, [`Prepared`], the writer's largest cost for small
//! records; opening and reading a million small files is as large, and
//! was the walking thread's before, a serial stage), one hands records to
//! the renderer in batches (its decoders run in a worker process), and the
//! caller's thread writes them, in path order. Memory stays bounded: batches of at most
//! [`BATCH_RECORDS`] records and [`BATCH_BYTES`] bytes, two batches
//! queued between threads, and the record bytes read ahead of the writer
//! capped at [`AHEAD_BYTES`] (a larger record waits until nothing else is
//! in flight, so it alone is in memory, as when packing one at a time).

use std::fs;
use std::io::{Read, Seek};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Condvar, Mutex};

use super::{describe, read_up_to, Found, FoundRecord, Packed, RecordSink, Renderer};
use crate::writer::{Prepared, RecordMeta, RecordSource};
use crate::{Error, Result};

/// Most records in one batch.
const BATCH_RECORDS: usize = 512;
/// A batch is sent on once its records hold this many bytes.
const BATCH_BYTES: u64 = 4 << 20;
/// Most bytes of records read whole and not yet written (unless one
/// record alone is larger).
const AHEAD_BYTES: u64 = 64 << 20;
/// Most bytes of records handed to the renderer in one call (unless one
/// record alone is larger): its outputs, held until the call returns, are
/// then bounded for a decoder that expands its input a hundredfold.
const RENDER_BYTES: u64 = 256 << 10;
/// Without a renderer, records up to this size are read whole by the
/// reading thread; larger ones are streamed by the writer.
const SMALL: u64 = 1 << 20;

/// One record on its way to the writer.
struct Item {
    meta: RecordMeta,
    size: u64,
    data: Data,
}

/// A record's bytes.
enum Data {
    /// Read whole (rendered records, small records).
    Read(Vec<u8>),
    /// Read whole, with their hash and compression.
    Ready(Prepared),
    /// Its file, to stream from, when not read whole.
    File(fs::File),
}

impl Data {
    fn bytes(&self) -> Option<&[u8]> {
        match self {
            Data::Read(b) => Some(b),
            Data::Ready(p) => Some(p.bytes()),
            Data::File(_) => None,
        }
    }
}

/// What the walk found, on its way to the writer in order.
// Nearly every step is a record: boxing it would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Step {
    Record(Item),
    EmptyDir(String),
    Skipped(String, String),
}

/// What the walk found, on its way to be read: a record with whether it
/// is read whole (its bytes counted in [`Ahead`] already).
enum Listed {
    Record(FoundRecord, bool),
    EmptyDir(String),
    Skipped(String, String),
}

/// Steps in path order, and the error that ends packing after them, if
/// one does (the last batch sent).
struct Batch<T> {
    steps: Vec<T>,
    error: Option<Error>,
}

impl<T> Batch<T> {
    fn ok(steps: Vec<T>) -> Self {
        Batch { steps, error: None }
    }
}

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
        let ahead = &ahead;
        // Walking, then two threads taking turns at batches to read and
        // prepare them.
        let (read_tx, read_rx): (Vec<_>, Vec<_>) =
            (0..2).map(|_| sync_channel::<Batch<Listed>>(1)).unzip();
        s.spawn(move || read_all(found, cap, ahead, read_tx));
        let mut prepared = Vec::new();
        for rx in read_rx {
            let (tx, out) = sync_channel::<Batch<Step>>(1);
            s.spawn(move || prepare_all(rx, tx));
            prepared.push(out);
        }
        let rx: Box<dyn Iterator<Item = Batch<Step>>> = match renderer {
            Some(rd) => {
                let (tx, rx) = sync_channel::<Batch<Step>>(2);
                s.spawn(move || render_all(in_turn(prepared), rd, tx));
                Box::new(rx.into_iter())
            }
            None => Box::new(in_turn(prepared)),
        };
        for batch in rx {
            // Bytes written, given back to the reader once a batch (not
            // each record: every release wakes it).
            let mut written = 0;
            for step in batch.steps {
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
                match item.data {
                    Data::Read(bytes) => {
                        writer.add_record(item.meta, RecordSource::Bytes(&bytes))?;
                        written += item.size;
                    }
                    Data::Ready(p) => {
                        writer.add_record(item.meta, RecordSource::Prepared(&p))?;
                        written += item.size;
                    }
                    Data::File(mut f) => writer.add_record(
                        item.meta,
                        RecordSource::Reader {
                            reader: &mut f,
                            size: item.size,
                        },
                    )?,
                }
            }
            ahead.release(written);
            if let Some(e) = batch.error {
                return Err(e);
            }
        }
        Ok(packed)
    })
}

/// The walking thread: each record found sent on in batches, with what
/// else the walk found, to be read in turn by the preparing threads (the
/// bytes of a record read whole counted in [`Ahead`] before it is sent);
/// the first error ends it.
fn read_all(
    found: impl Iterator<Item = Result<Found>>,
    cap: Option<u64>,
    ahead: &Ahead,
    txs: Vec<SyncSender<Batch<Listed>>>,
) {
    let mut turn = txs.iter().cycle();
    let mut tx = || turn.next().expect("a channel");
    let mut batch = Vec::new();
    let mut bytes = 0u64;
    for f in found {
        let r = match f {
            Ok(Found::Record(r)) => r,
            Ok(Found::EmptyDir(d)) => {
                batch.push(Listed::EmptyDir(d));
                continue;
            }
            Ok(Found::Skipped(path, why)) => {
                batch.push(Listed::Skipped(path, why));
                continue;
            }
            Err(e) => {
                let _ = tx().send(Batch {
                    steps: batch,
                    error: Some(e),
                });
                return;
            }
        };
        let whole = r.size <= cap.unwrap_or(SMALL);
        // The batch is sent on before a record that would take it past
        // its bytes: bytes of an unsent batch are never given back, so
        // waiting for room with them held could wait for ever.
        if whole && !batch.is_empty() && bytes + r.size > BATCH_BYTES {
            bytes = 0;
            if tx().send(Batch::ok(std::mem::take(&mut batch))).is_err() {
                return;
            }
        }
        if whole && !ahead.acquire(r.size) {
            return;
        }
        bytes += r.size;
        batch.push(Listed::Record(r, whole));
        if !whole || batch.len() >= BATCH_RECORDS || bytes >= BATCH_BYTES {
            bytes = 0;
            if tx().send(Batch::ok(std::mem::take(&mut batch))).is_err() {
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx().send(Batch::ok(batch));
    }
}

/// A preparing thread: each record of each batch read (whole or, when
/// too large, opened to be streamed) and described, and the records read
/// whole given what the writer computes from their bytes. A record that
/// cannot be read ends its batch with the error, after the records
/// before it.
fn prepare_all(rx: Receiver<Batch<Listed>>, tx: SyncSender<Batch<Step>>) {
    for listed in rx {
        let mut out = Batch {
            steps: Vec::with_capacity(listed.steps.len()),
            error: None,
        };
        for l in listed.steps {
            out.steps.push(match l {
                Listed::EmptyDir(d) => Step::EmptyDir(d),
                Listed::Skipped(path, why) => Step::Skipped(path, why),
                Listed::Record(r, whole) => match read_one(&r, whole) {
                    Ok(mut item) => {
                        if let Data::Read(bytes) = &mut item.data {
                            let bytes = std::mem::take(bytes);
                            item.data = Data::Ready(Prepared::new(bytes, &item.meta.media_type));
                        }
                        Step::Record(item)
                    }
                    Err(e) => {
                        out.error = Some(e);
                        break;
                    }
                },
            });
        }
        out.error = out.error.or(listed.error);
        let last = out.error.is_some();
        if tx.send(out).is_err() || last {
            return;
        }
    }
}

/// The batches of several channels, taking one from each in turn (as
/// [`read_all`] sent them), until one ends.
fn in_turn(rxs: Vec<Receiver<Batch<Step>>>) -> impl Iterator<Item = Batch<Step>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let batch = rxs[at % rxs.len()].recv().ok();
        at += 1;
        batch
    })
}

/// Opens and describes one record, reading it whole if `whole`: the
/// bytes described are the bytes rendered and stored.
fn read_one(r: &FoundRecord, whole: bool) -> Result<Item> {
    let reading = |e| Error::io(format!("reading {}", r.file.display()), e);
    let mut f = fs::File::open(&r.file)
        .map_err(|e| Error::io(format!("opening {}", r.file.display()), e))?;
    if !whole {
        let mut head = [0u8; 512];
        let n = read_up_to(&mut f, &mut head).map_err(reading)?;
        f.rewind().map_err(reading)?;
        let meta = describe(r, &head[..n])?;
        return Ok(Item {
            meta,
            size: r.size,
            data: Data::File(f),
        });
    }
    let mut bytes = Vec::with_capacity(r.size as usize);
    (&mut f)
        .take(r.size + 1)
        .read_to_end(&mut bytes)
        .map_err(reading)?;
    let meta = describe(r, &bytes[..bytes.len().min(512)])?;
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
        data: Data::Read(bytes),
    })
}

/// The rendering thread: each batch rendered in order, then sent to the
/// writer. The records read whole go to the renderer together; a record
/// that is not read whole ends its batch (see [`read_all`]), so rendering
/// it after them keeps the records' order.
fn render_all(
    rx: impl Iterator<Item = Batch<Step>>,
    rd: &mut (dyn Renderer + Send),
    tx: SyncSender<Batch<Step>>,
) {
    for mut batch in rx {
        {
            let steps = &mut batch.steps;
            let mut whole: Vec<(&mut RecordMeta, &[u8])> = Vec::with_capacity(steps.len());
            let mut streamed = Vec::new();
            for step in steps.iter_mut() {
                if let Step::Record(item) = step {
                    match item.data.bytes() {
                        Some(b) => whole.push((&mut item.meta, b)),
                        None => streamed.push((&mut item.meta, item.size)),
                    }
                }
            }
            // Each call's outputs are held together until it returns, and
            // a decoder's output can be far larger than its input (an
            // image's pixels): calls of at most RENDER_BYTES of input.
            let mut at = 0;
            while at < whole.len() {
                let mut bytes = 0;
                let n = whole[at..]
                    .iter()
                    .take_while(|(_, b)| {
                        let first = bytes == 0;
                        bytes += b.len() as u64;
                        first || bytes <= RENDER_BYTES
                    })
                    .count();
                rd.render_batch(&mut whole[at..at + n]);
                at += n;
            }
            for (meta, size) in streamed {
                rd.render(meta, None, size);
            }
        }
        let last = batch.error.is_some();
        if tx.send(batch).is_err() || last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::{pack_folder, PackOptions};

    /// Keeps the paths and sizes written.
    #[derive(Default)]
    struct Kept(Vec<(String, usize)>, Vec<String>);

    impl RecordSink for Kept {
        fn add_empty_dir(&mut self, path: &str) -> Result<()> {
            self.1.push(path.to_owned());
            Ok(())
        }
        fn add_record(&mut self, meta: RecordMeta, source: RecordSource<'_>) -> Result<()> {
            let size = match source {
                RecordSource::Bytes(b) => b.len(),
                RecordSource::Prepared(p) => p.bytes().len(),
                RecordSource::Reader { reader, .. } => {
                    let mut v = Vec::new();
                    reader.read_to_end(&mut v).expect("readable");
                    v.len()
                }
            };
            self.0.push((meta.path, size));
            Ok(())
        }
    }

    /// Takes every record whole (up to 256 MiB) and renders none.
    struct Whole(usize);

    impl Renderer for Whole {
        fn cap(&self) -> u64 {
            256 << 20
        }
        fn render(&mut self, _: &mut RecordMeta, bytes: Option<&[u8]>, _: u64) {
            assert!(bytes.is_some(), "every record is read whole");
            self.0 += 1;
        }
    }

    fn found(dir: &std::path::Path, name: &str) -> Result<Found> {
        Ok(Found::Record(FoundRecord {
            path: name.to_owned(),
            file: dir.join(name),
            size: 3,
            modified: None,
            sidecar: None,
        }))
    }

    /// Packs `found` with no renderer and with one; returns the error and
    /// the paths written, for each.
    fn packed_until_error(found: Vec<Result<Found>>) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for render in [false, true] {
            let mut kept = Kept::default();
            let mut rd = Whole(0);
            let e = pack_records(
                found
                    .iter()
                    .map(|f| match f {
                        Ok(Found::Record(r)) => Ok(Found::Record(r.clone())),
                        Ok(_) => unreachable!("records only"),
                        Err(e) => Err(Error::invalid("walk", e.to_string())),
                    })
                    .collect::<Vec<_>>()
                    .into_iter(),
                &mut kept,
                render.then_some(&mut rd as &mut (dyn Renderer + Send)),
                |_, _| {},
                |_, _| {},
            )
            .expect_err("packing fails");
            out.push((e.to_string(), kept.0.into_iter().map(|(p, _)| p).collect()));
        }
        out
    }

    #[test]
    fn a_record_that_cannot_be_read_ends_packing_after_the_records_before_it() {
        let dir = std::env::temp_dir().join(format!("legation-pipeline-e-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        // 600 records: the missing one is in the second batch.
        let names: Vec<String> = (0..600).map(|i| format!("r{i:03}")).collect();
        for n in &names {
            if n != "r550" {
                fs::write(dir.join(n), b"abc").unwrap();
            }
        }
        let walk: Vec<Result<Found>> = names.iter().map(|n| found(&dir, n)).collect();
        for (e, written) in packed_until_error(walk) {
            assert!(e.contains("r550"), "{e}");
            assert_eq!(written, names[..550], "{e}");
        }
        // An error of the walk itself, after the records before it.
        let mut walk: Vec<Result<Found>> = names[..520].iter().map(|n| found(&dir, n)).collect();
        walk.push(Err(Error::invalid("walk", "the folder went away")));
        walk.extend(names[520..530].iter().map(|n| found(&dir, n)));
        for (e, written) in packed_until_error(walk) {
            assert!(e.contains("the folder went away"), "{e}");
            assert_eq!(written, names[..520], "{e}");
        }
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_record_near_the_read_ahead_after_a_partly_filled_batch_is_packed() {
        let dir = std::env::temp_dir().join(format!("legation-pipeline-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("e")).unwrap();
        fs::write(dir.join("a"), vec![1u8; 1 << 20]).unwrap();
        // With the megabyte of "a" still unsent, room for this one alone
        // never came.
        let big = (AHEAD_BYTES - (512 << 10)) as usize;
        fs::write(dir.join("b"), vec![2u8; big]).unwrap();
        fs::write(dir.join("c"), b"after").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let root = dir.clone();
        std::thread::spawn(move || {
            let mut kept = Kept::default();
            let mut rd = Whole(0);
            let mut seen = Vec::new();
            let packed = pack_folder(
                &root,
                PackOptions::default(),
                &mut kept,
                Some(&mut rd),
                |p, _| seen.push(p.to_owned()),
                |_, _| {},
            );
            let _ = tx.send((packed, kept.0, kept.1, seen, rd.0));
        });
        let (packed, records, empty, seen, rendered) = rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("packing ends");
        let _ = fs::remove_dir_all(&dir);
        let packed = packed.unwrap();
        assert_eq!(
            records,
            [
                ("a".to_owned(), 1 << 20),
                ("b".to_owned(), big),
                ("c".to_owned(), 5)
            ]
        );
        assert_eq!(empty, ["e"]);
        assert_eq!(seen, ["a", "b", "c"]);
        assert_eq!(rendered, 3);
        assert_eq!(
            packed,
            Packed {
                records: 3,
                bytes: (1 << 20) + big as u64 + 5,
                empty_dirs: 1,
                skipped: 0
            }
        );
    }
}
