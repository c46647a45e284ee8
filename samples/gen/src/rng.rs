//! Seeded randomness and calendar dates.
//!
//! Every kind of record draws from its own ChaCha8 stream of the seed, so
//! changing how one kind is generated (or the size of scans) leaves the
//! others byte for byte the same. Only integer arithmetic and IEEE basic
//! operations are used, so the output is the same on every machine.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// A deterministic random stream.
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// Stream `stream` of `seed`.
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        r.set_stream(stream);
        Rng(r)
    }

    /// A number in `0..n` (`n` > 0), by multiplication (bias below 2^-32
    /// for the ranges used here).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.0.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index chosen with the given weights.
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let mut x = self.below(weights.iter().sum());
        for (i, &w) in weights.iter().enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Raw bits.
    pub fn bits(&mut self) -> u64 {
        self.0.next_u64()
    }
}

/// A calendar date, as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub i64);

impl Date {
    /// The date of a year, month and day (proleptic Gregorian).
    pub fn ymd(y: i64, m: i64, d: i64) -> Date {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Date(era * 146_097 + doe - 719_468)
    }

    /// Year, month and day.
    pub fn parts(self) -> (i64, i64, i64) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        (yoe + era * 400 + i64::from(m <= 2), m, d)
    }

    /// The year.
    pub fn year(self) -> i64 {
        self.parts().0
    }

    /// `YYYY-MM-DD`.
    pub fn iso(self) -> String {
        let (y, m, d) = self.parts();
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// `YYYYMMDD`.
    pub fn compact(self) -> String {
        let (y, m, d) = self.parts();
        format!("{y:04}{m:02}{d:02}")
    }

    /// `days` later.
    pub fn plus(self, days: i64) -> Date {
        Date(self.0 + days)
    }

    /// A day between `from` and `to`, both included.
    pub fn between(rng: &mut Rng, from: Date, to: Date) -> Date {
        Date(rng.range(from.0, to.0.max(from.0)))
    }

    /// Whole years from `self` to `later`.
    pub fn years_to(self, later: Date) -> i64 {
        let (y0, m0, d0) = self.parts();
        let (y1, m1, d1) = later.parts();
        y1 - y0 - i64::from((m1, d1) < (m0, d0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(Date::ymd(1970, 1, 1), Date(0));
        assert_eq!(Date::ymd(2000, 3, 1).iso(), "2000-03-01");
        assert_eq!(Date::ymd(2024, 2, 29).plus(1).iso(), "2024-03-01");
        for day in -40_000..40_000 {
            let (y, m, d) = Date(day).parts();
            assert_eq!(Date::ymd(y, m, d), Date(day));
        }
        assert_eq!(Date::ymd(1980, 5, 2).years_to(Date::ymd(2026, 5, 1)), 45);
        assert_eq!(Date::ymd(1980, 5, 2).years_to(Date::ymd(2026, 5, 2)), 46);
    }

    #[test]
    fn streams_are_independent_and_repeatable() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(7, 1).bits()).collect();
        assert!(a.iter().all(|&x| x == a[0]));
        assert_ne!(Rng::new(7, 1).bits(), Rng::new(7, 2).bits());
        assert_ne!(Rng::new(7, 1).bits(), Rng::new(8, 1).bits());
        let mut r = Rng::new(1, 1);
        for _ in 0..1000 {
            assert!((3..=9).contains(&r.range(3, 9)));
            assert!(r.unit() < 1.0);
        }
    }
}
