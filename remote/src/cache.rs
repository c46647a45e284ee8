//! What a ranged reader of a remote object keeps between reads: the byte
//! ranges it holds (bounded), every range it ever fetched (to count what
//! was fetched twice), and where the last read ended (to read ahead when
//! reads follow one another). Pure bookkeeping, no I/O: the source asks
//! [`Cache::plan`] what to fetch and hands the answers to
//! [`Cache::insert`].

use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;

use bytes::Bytes;

/// Bytes held at most; the oldest ranges go first beyond it.
pub(crate) const HELD_MAX: usize = 16 << 20;
/// Of a fetch larger than this only its last this many bytes are held
/// (what a read ahead brought; a whole bundle read by an audit would only
/// push out what is worth keeping).
pub(crate) const HOLD_LIMIT: usize = 4 << 20;
/// A read that starts at most this far after the previous one ended
/// continues it (the gap is a ZIP local header between two entries).
pub(crate) const NEAR: u64 = 4 << 10;
/// The first read ahead, once reads have followed one another twice.
pub(crate) const AHEAD_FIRST: u64 = 256 << 10;
/// The largest read ahead (less than [`HOLD_LIMIT`], so that what is read
/// ahead is held).
pub(crate) const AHEAD_MAX: u64 = 2 << 20;

/// Traffic so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Requests made (a HEAD included).
    pub requests: u64,
    /// Bytes fetched (bodies).
    pub bytes: u64,
    /// Of those, bytes that an earlier request had already fetched.
    pub bytes_twice: u64,
    /// Requests that fetched some byte a second time.
    pub requests_twice: u64,
}

/// The bookkeeping of one object.
pub(crate) struct Cache {
    /// The object's length.
    len: u64,
    /// Disjoint held ranges by first offset.
    held: BTreeMap<u64, Bytes>,
    /// Their first offsets, oldest first (eviction order).
    order: VecDeque<u64>,
    held_bytes: usize,
    /// Every range fetched, merged: first offset -> end.
    seen: BTreeMap<u64, u64>,
    traffic: Traffic,
    /// Where the last read ended, and how many reads in a row continued
    /// the one before.
    last_end: Option<u64>,
    run: u32,
    /// Ranges being fetched by some thread now.
    pending: Vec<Range<u64>>,
    /// Every fetch, in order (tests look at them).
    #[cfg(test)]
    pub(crate) log: Vec<Range<u64>>,
}

/// What a read needs: the held pieces it can use now and the ranges to
/// fetch.
pub(crate) struct Plan {
    /// Held pieces overlapping the read, with their first offsets.
    pub(crate) have: Vec<(u64, Bytes)>,
    /// Ranges to fetch, in order, disjoint, none held.
    pub(crate) fetch: Vec<Range<u64>>,
}

impl Cache {
    /// Bookkeeping for an object of `len` bytes.
    pub(crate) fn new(len: u64) -> Self {
        Cache {
            len,
            held: BTreeMap::new(),
            order: VecDeque::new(),
            held_bytes: 0,
            seen: BTreeMap::new(),
            traffic: Traffic::default(),
            last_end: None,
            run: 0,
            pending: Vec::new(),
            #[cfg(test)]
            log: Vec::new(),
        }
    }

    /// The traffic so far.
    pub(crate) fn traffic(&self) -> Traffic {
        self.traffic
    }

    /// Counts requests that fetched no body (a HEAD, a failed GET).
    pub(crate) fn count_bodiless(&mut self, n: u64) {
        self.traffic.requests += n;
    }

    /// The held pieces overlapping `r`, in order.
    pub(crate) fn overlapping(&self, r: &Range<u64>) -> Vec<(u64, Bytes)> {
        let first = self
            .held
            .range(..=r.start)
            .next_back()
            .filter(|(&s, b)| s + b.len() as u64 > r.start)
            .map_or(r.start, |(&s, _)| s);
        self.held
            .range(first..r.end)
            .map(|(&s, b)| (s, b.clone()))
            .collect()
    }

    /// The parts of `r` that no held piece covers.
    fn gaps(&self, r: &Range<u64>) -> Vec<Range<u64>> {
        let mut out = Vec::new();
        let mut at = r.start;
        for (s, b) in self.overlapping(r) {
            if s > at {
                out.push(at..s);
            }
            at = at.max(s + b.len() as u64);
        }
        if at < r.end {
            out.push(at..r.end);
        }
        out
    }

    /// What reading `r` (within the object, not empty) needs, or `None`
    /// when another thread is fetching some of it now (wait for
    /// [`Cache::done`] and ask again). The ranges to fetch are pending
    /// until [`Cache::done`] is told of each. When reads follow one
    /// another (each starting at most [`NEAR`] after the last ended) a
    /// third one in a row reads ahead, 256 KiB then twice as much each
    /// time up to [`AHEAD_MAX`], never over a range fetched before (held
    /// or not) or pending, nor past the end.
    pub(crate) fn plan(&mut self, r: Range<u64>) -> Option<Plan> {
        let mut fetch = self.gaps(&r);
        let busy = |g: &Range<u64>| {
            self.pending
                .iter()
                .any(|p| p.start < g.end && g.start < p.end)
        };
        if fetch.iter().any(busy) {
            return None;
        }
        let follows = self
            .last_end
            .is_some_and(|e| r.start >= e && r.start - e <= NEAR);
        self.run = if follows {
            self.run.saturating_add(1)
        } else {
            0
        };
        self.last_end = Some(r.end);
        if self.run >= 2 {
            if let Some(last) = fetch.last_mut().filter(|g| g.end == r.end) {
                let ahead = AHEAD_FIRST
                    .checked_shl(self.run - 2)
                    .unwrap_or(AHEAD_MAX)
                    .min(AHEAD_MAX);
                // Never over a byte fetched before, held or let go: a
                // read ahead guesses, and what was fetched once is
                // fetched again only when a read needs it.
                let next_seen = match self.seen.range(..=r.end).next_back() {
                    Some((_, &e)) if e > r.end => r.end,
                    _ => self
                        .seen
                        .range(r.end..)
                        .next()
                        .map_or(self.len, |(&s, _)| s),
                };
                let next_pending = self
                    .pending
                    .iter()
                    .filter(|p| p.start >= r.end)
                    .map(|p| p.start)
                    .min()
                    .unwrap_or(self.len);
                last.end = r
                    .end
                    .saturating_add(ahead)
                    .min(next_seen)
                    .min(next_pending)
                    .min(self.len);
            }
        }
        self.pending.extend(fetch.iter().cloned());
        Some(Plan {
            have: self.overlapping(&r),
            fetch,
        })
    }

    /// A planned fetch of `r` ended: with its bytes (held as
    /// [`Cache::insert`] holds them), or failed (a request, no bytes).
    pub(crate) fn done(&mut self, r: &Range<u64>, got: Option<Bytes>) {
        self.forget(r);
        self.insert(r.start, got.unwrap_or_default());
    }

    /// A planned fetch of `r` that was not made (an earlier one of the
    /// same read failed).
    pub(crate) fn forget(&mut self, r: &Range<u64>) {
        if let Some(i) = self.pending.iter().position(|p| p == r) {
            self.pending.swap_remove(i);
        }
    }

    /// Records a fetch of `bytes` at `start` (one request) and holds it
    /// (the last [`HOLD_LIMIT`] bytes of it), trimmed to what no held
    /// piece covers.
    pub(crate) fn insert(&mut self, start: u64, bytes: Bytes) {
        let r = start..start + bytes.len() as u64;
        self.record(&r);
        let (start, bytes) = match bytes.len().checked_sub(HOLD_LIMIT) {
            Some(cut) if cut > 0 => (start + cut as u64, bytes.slice(cut..)),
            _ => (start, bytes),
        };
        let r = start..start + bytes.len() as u64;
        for g in self.gaps(&r) {
            let piece = bytes.slice((g.start - start) as usize..(g.end - start) as usize);
            self.held_bytes += piece.len();
            self.held.insert(g.start, piece);
            self.order.push_back(g.start);
        }
        while self.held_bytes > HELD_MAX {
            let Some(s) = self.order.pop_front() else {
                break;
            };
            if let Some(b) = self.held.remove(&s) {
                self.held_bytes -= b.len();
            }
        }
    }

    /// Counts a request that fetched `r`, and what of it was fetched
    /// before; merges it into the ranges seen.
    fn record(&mut self, r: &Range<u64>) {
        self.traffic.requests += 1;
        self.traffic.bytes += r.end - r.start;
        #[cfg(test)]
        self.log.push(r.clone());
        if r.is_empty() {
            return;
        }
        let mut start = r.start;
        let mut end = r.end;
        let mut twice = 0;
        let first = self
            .seen
            .range(..=r.start)
            .next_back()
            .filter(|(_, &e)| e >= r.start)
            .map_or(r.start, |(&s, _)| s);
        let touching: Vec<(u64, u64)> = self
            .seen
            .range(first..=r.end)
            .map(|(&s, &e)| (s, e))
            .collect();
        for (s, e) in touching {
            twice += e.min(r.end).saturating_sub(s.max(r.start));
            start = start.min(s);
            end = end.max(e);
            self.seen.remove(&s);
        }
        self.seen.insert(start, end);
        if twice > 0 {
            self.traffic.bytes_twice += twice;
            self.traffic.requests_twice += 1;
        }
    }
}

/// Fills `buf`, the bytes at `offset`, from held pieces and fetched ones
/// (each with its first offset); false if some byte is in neither.
pub(crate) fn assemble(offset: u64, buf: &mut [u8], pieces: &[(u64, Bytes)]) -> bool {
    let end = offset + buf.len() as u64;
    let mut covered: Vec<Range<u64>> = Vec::new();
    for (s, b) in pieces {
        let (ps, pe) = (*s, *s + b.len() as u64);
        let (from, to) = (ps.max(offset), pe.min(end));
        if from >= to {
            continue;
        }
        buf[(from - offset) as usize..(to - offset) as usize]
            .copy_from_slice(&b[(from - ps) as usize..(to - ps) as usize]);
        covered.push(from..to);
    }
    covered.sort_by_key(|r| r.start);
    let mut at = offset;
    for r in covered {
        if r.start > at {
            return false;
        }
        at = at.max(r.end);
    }
    at >= end
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Cache {
        /// A plan whose fetches are then taken as made.
        fn plan_now(&mut self, r: Range<u64>) -> Plan {
            let p = self.plan(r).expect("nothing pending");
            self.pending.clear();
            p
        }
    }

    fn bytes(r: Range<u64>) -> Bytes {
        r.map(|i| i as u8).collect::<Vec<u8>>().into()
    }

    #[test]
    fn held_ranges_are_not_fetched_again() {
        let mut c = Cache::new(1000);
        let p = c.plan_now(100..200);
        assert!(p.have.is_empty());
        assert_eq!(p.fetch, vec![100..200]);
        c.insert(100, bytes(100..200));
        // Inside: nothing to fetch.
        let p = c.plan_now(120..180);
        assert!(p.fetch.is_empty());
        let mut buf = [0u8; 60];
        assert!(assemble(120, &mut buf, &p.have));
        assert_eq!(buf[..], bytes(120..180)[..]);
        // Across both edges: only the two gaps.
        let p = c.plan_now(50..250);
        assert_eq!(p.fetch, [50..100, 200..250]);
        let mut pieces = p.have.clone();
        for g in &p.fetch {
            c.insert(g.start, bytes(g.clone()));
            pieces.push((g.start, bytes(g.clone())));
        }
        let mut buf = [0u8; 200];
        assert!(assemble(50, &mut buf, &pieces));
        assert_eq!(buf[..], bytes(50..250)[..]);
        let t = c.traffic();
        assert_eq!((t.requests, t.bytes, t.bytes_twice), (3, 200, 0));
        // An overlapping fetch (as two threads may make) is counted twice
        // and held once.
        c.insert(180, bytes(180..300));
        let t = c.traffic();
        assert_eq!((t.requests, t.bytes_twice, t.requests_twice), (4, 70, 1));
        assert_eq!(c.held_bytes, 250);
        assert_eq!(c.gaps(&(0..1000)), [0..50, 300..1000]);
    }

    #[test]
    fn reads_that_follow_one_another_read_ahead() {
        let len = 64 << 20;
        let mut c = Cache::new(len);
        let mut at = 0u64;
        let mut fetched = Vec::new();
        for _ in 0..8 {
            // 1000-byte reads, each 50 bytes after the last.
            let r = at + 50..at + 1050;
            let p = c.plan_now(r.clone());
            for g in p.fetch {
                fetched.push(g.clone());
                c.insert(g.start, Bytes::from(vec![0u8; (g.end - g.start) as usize]));
            }
            at = r.end;
        }
        // Two plain reads, then 256 KiB ahead, which serves the rest.
        assert_eq!(fetched.len(), 3, "{fetched:?}");
        assert_eq!(fetched[2].end - fetched[2].start, 1000 + AHEAD_FIRST);
        // A read elsewhere starts over.
        let p = c.plan_now(10 << 20..(10 << 20) + 10);
        assert_eq!(p.fetch, vec![(10 << 20)..(10 << 20) + 10]);
        // Read ahead stops at a held range and at the end.
        let mut c = Cache::new(10_000);
        c.insert(5000, bytes(5000..5100));
        for r in [0..10, 10..20] {
            let p = c.plan_now(r);
            c.insert(p.fetch[0].start, bytes(p.fetch[0].clone()));
        }
        assert_eq!(c.plan_now(20..30).fetch, vec![20..5000]);
        let mut c = Cache::new(100);
        c.plan_now(0..10);
        c.plan_now(10..20);
        assert_eq!(c.plan_now(20..30).fetch, vec![20..100]);
    }

    #[test]
    fn read_ahead_stops_at_a_range_fetched_before_and_let_go() {
        // A listing reads the last catalog pages in order; the index just
        // after them was fetched at opening and has since been let go.
        let piece = 1 << 20;
        let mut c = Cache::new(1 << 30);
        let index = 100 << 20;
        c.insert(index, Bytes::from(vec![0u8; 1000]));
        for i in 0..20u64 {
            c.insert(
                (200 << 20) + i * piece,
                Bytes::from(vec![0u8; piece as usize]),
            );
        }
        assert_eq!(c.gaps(&(index..index + 1000)), vec![index..index + 1000]);
        let mut at = index - 3000;
        for _ in 0..3 {
            let p = c.plan_now(at..at + 1000);
            for g in &p.fetch {
                c.insert(g.start, Bytes::from(vec![0u8; (g.end - g.start) as usize]));
            }
            at += 1000;
        }
        // The third read would have read 256 KiB ahead: it stops at the index.
        assert_eq!(c.traffic().bytes_twice, 0);
        assert_eq!(c.log.last(), Some(&(index - 1000..index)));
        // A read that needs the index fetches it again, and says so.
        let p = c.plan_now(index..index + 10);
        assert_eq!(p.fetch, vec![index..index + 10]);
        // Nor does it read ahead from inside a range fetched before.
        let mut c = Cache::new(10_000);
        c.insert(0, bytes(0..5000));
        c.held.clear();
        c.order.clear();
        c.held_bytes = 0;
        c.plan_now(100..110);
        c.plan_now(110..120);
        assert_eq!(c.plan_now(120..130).fetch, vec![120..130]);
    }

    #[test]
    fn holding_is_bounded() {
        let mut c = Cache::new(1 << 40);
        // Of a large fetch only the last HOLD_LIMIT bytes are held.
        c.insert(0, Bytes::from(vec![0u8; HOLD_LIMIT + 10]));
        assert_eq!(c.held_bytes, HOLD_LIMIT);
        assert_eq!(c.gaps(&(0..HOLD_LIMIT as u64 + 10)), vec![0..10]);
        assert_eq!(c.traffic().bytes, HOLD_LIMIT as u64 + 10);
        let piece = 1 << 20;
        for i in 0..40u64 {
            c.insert(
                (100 << 20) + i * piece,
                Bytes::from(vec![0u8; piece as usize]),
            );
        }
        assert!(c.held_bytes <= HELD_MAX);
        // The oldest went first.
        assert_eq!(c.gaps(&((100 << 20)..(100 << 20) + piece)).len(), 1);
        assert!(c.gaps(&((139 << 20)..(140 << 20))).is_empty());
        // Fetching an evicted range again is counted as fetched twice.
        c.insert(100 << 20, Bytes::from(vec![0u8; 10]));
        assert_eq!(c.traffic().bytes_twice, 10);
    }

    #[test]
    fn assemble_finds_holes() {
        let mut buf = [0u8; 10];
        assert!(!assemble(
            0,
            &mut buf,
            &[(0, bytes(0..4)), (5, bytes(5..10))]
        ));
        assert!(!assemble(0, &mut buf, &[(0, bytes(0..9))]));
        assert!(assemble(
            0,
            &mut buf,
            &[(5, bytes(5..12)), (0, bytes(0..5))]
        ));
        assert_eq!(buf[..], bytes(0..10)[..]);
    }

    #[test]
    fn a_range_another_thread_fetches_is_waited_for() {
        let mut c = Cache::new(10_000);
        let a = c.plan(100..200).unwrap();
        assert_eq!(a.fetch, vec![100..200]);
        // Overlapping a pending fetch: wait.
        assert!(c.plan(150..250).is_none());
        // Beside it: its own fetch.
        assert_eq!(c.plan(200..300).unwrap().fetch, vec![200..300]);
        c.done(&(100..200), Some(bytes(100..200)));
        assert!(c.plan(150..250).is_none(), "200..300 still pending");
        c.done(&(200..300), None);
        // The failed one is fetched again; the other is held.
        assert_eq!(c.plan(150..250).unwrap().fetch, vec![200..250]);
        assert_eq!((c.pending.len(), c.pending[0].clone()), (1, 200..250));
        let t = c.traffic();
        assert_eq!((t.requests, t.bytes, t.bytes_twice), (2, 100, 0));
    }
}
