//! Background work that never freezes the window: a job runs elsewhere
//! (a thread natively; the browser build brings its own [`Spawner`]),
//! reports progress, can be cancelled, and is polled once per frame.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, TryRecvError};
use std::sync::Arc;

/// Runs a piece of work somewhere other than the UI's frame.
pub trait Spawner: Send + Sync {
    /// Starts `work`; it must run to its end even if nobody polls it.
    fn spawn(&self, work: Box<dyn FnOnce() + Send>);
}

/// One thread per job (jobs are few and long: verification, unlocking,
/// loading the catalog, rendering a record).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default, Clone, Copy)]
pub struct ThreadSpawner;

#[cfg(not(target_arch = "wasm32"))]
impl Spawner for ThreadSpawner {
    fn spawn(&self, work: Box<dyn FnOnce() + Send>) {
        // A failure to start a thread leaves the job pending forever;
        // run it here instead, which freezes the window but loses nothing.
        let work = std::sync::Mutex::new(Some(work));
        let work = Arc::new(work);
        let w2 = work.clone();
        let started = std::thread::Builder::new()
            .name("legation-viewer job".into())
            .stack_size(8 << 20)
            .spawn(move || {
                if let Some(w) = w2.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    w()
                }
            });
        if started.is_err() {
            if let Some(w) = work.lock().unwrap_or_else(|e| e.into_inner()).take() {
                w()
            }
        }
    }
}

/// Progress and cancellation shared between a job and the window.
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicU64,
    total: AtomicU64,
    cancelled: AtomicBool,
}

impl Progress {
    /// Records progress; returns `false` once the job has been cancelled.
    pub fn set(&self, done: u64, total: u64) -> bool {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(done, Ordering::Relaxed);
        !self.is_cancelled()
    }
    /// Whether the window asked the job to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
    /// Work done so far and in all, in the job's own units (bytes,
    /// pages); `(0, 0)` until the job reports.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }
    /// Work done so far, from 0 to 1.
    pub fn fraction(&self) -> f32 {
        let total = self.total.load(Ordering::Relaxed);
        if total == 0 {
            return 0.0;
        }
        (self.done.load(Ordering::Relaxed) as f64 / total as f64).clamp(0.0, 1.0) as f32
    }
}

/// A job started with [`Job::spawn`], polled by the window each frame.
pub struct Job<T> {
    progress: Arc<Progress>,
    rx: Receiver<T>,
    result: Option<T>,
    lost: bool,
}

/// The far end of a [`Job::pending`]: whoever does the work reports
/// progress here and hands in the result.
pub struct Completer<T> {
    progress: Arc<Progress>,
    tx: std::sync::mpsc::Sender<T>,
    wake: Box<dyn Fn() + Send>,
}

impl<T> Completer<T> {
    /// Progress and cancellation, shared with the window.
    pub fn progress(&self) -> &Arc<Progress> {
        &self.progress
    }
    /// Ends the job with `value` and wakes the window.
    pub fn finish(self, value: T) {
        // The window may have dropped the job: nobody wants the result.
        let _ = self.tx.send(value);
        (self.wake)();
    }
}

impl<T: Send + 'static> Job<T> {
    /// Starts `work` on `spawner`; `wake` is called when it ends (the
    /// window asks for a repaint there).
    pub fn spawn(
        spawner: &dyn Spawner,
        wake: impl Fn() + Send + 'static,
        work: impl FnOnce(&Progress) -> T + Send + 'static,
    ) -> Self {
        let (job, done) = Job::pending(Box::new(wake));
        spawner.spawn(Box::new(move || {
            let out = work(done.progress());
            done.finish(out);
        }));
        job
    }

    /// A job whose work is done elsewhere (another thread, a browser
    /// worker): the [`Completer`] reports on it. Dropping the completer
    /// without finishing makes the job lost.
    pub fn pending(wake: Box<dyn Fn() + Send>) -> (Self, Completer<T>) {
        let progress = Arc::new(Progress::default());
        let (tx, rx) = channel();
        let job = Job {
            progress: progress.clone(),
            rx,
            result: None,
            lost: false,
        };
        (job, Completer { progress, tx, wake })
    }
}

impl<T> Job<T> {
    /// Whether the job has ended (its result may be taken).
    pub fn is_done(&mut self) -> bool {
        self.fetch();
        self.result.is_some() || self.lost
    }
    /// Takes the result once the job has ended.
    pub fn take(&mut self) -> Option<T> {
        self.fetch();
        self.result.take()
    }
    /// Whether the job ended without a result (its thread panicked).
    pub fn is_lost(&mut self) -> bool {
        self.fetch();
        self.lost
    }
    /// Asks the job to stop at its next progress report.
    pub fn cancel(&self) {
        self.progress.cancelled.store(true, Ordering::Relaxed);
    }
    /// Whether cancellation was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.progress.is_cancelled()
    }
    /// Work done so far, from 0 to 1.
    pub fn fraction(&self) -> f32 {
        self.progress.fraction()
    }
    /// Work done so far and in all (see [`Progress::counts`]).
    pub fn counts(&self) -> (u64, u64) {
        self.progress.counts()
    }
    fn fetch(&mut self) {
        if self.result.is_some() || self.lost {
            return;
        }
        match self.rx.try_recv() {
            Ok(v) => self.result = Some(v),
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Disconnected) => self.lost = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_reports_progress_ends_and_can_be_cancelled() {
        let mut j = Job::spawn(
            &ThreadSpawner,
            || {},
            |p| {
                let mut n = 0;
                while p.set(n, 1_000_000) {
                    n += 1;
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                n
            },
        );
        assert!(!j.is_done());
        j.cancel();
        let start = std::time::Instant::now();
        while !j.is_done() {
            assert!(start.elapsed().as_secs() < 10, "job did not stop");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(j.take().is_some());
        assert!(j.is_cancelled());
    }

    #[test]
    fn a_panicking_job_is_lost_not_pending() {
        let mut j: Job<u32> = Job::spawn(&ThreadSpawner, || {}, |_| panic!("boom"));
        let start = std::time::Instant::now();
        while !j.is_done() {
            assert!(start.elapsed().as_secs() < 10);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(j.is_lost() && j.take().is_none());
    }
}
