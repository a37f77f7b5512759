//! The segments of a `#[checkpoint]` loop, which generated code calls: `for i in lo..hi`
//! runs as `count` segments of `len` iterations (the last may be shorter). The reverse
//! mode keeps the loop's carried state at the start of each segment and, going
//! backwards, runs each segment again with its tape before its adjoint: memory for
//! `count` states and one segment's tape instead of `hi − lo` iterations' records.

use num_traits::PrimInt;

/// The segment length for `snapshots` segments of `lo..hi` (0: about √(hi − lo), which
/// makes the snapshots and one segment's tape the same size); at least 1.
pub fn segment_len<T: PrimInt>(lo: T, hi: T, snapshots: usize) -> T {
    let n = if hi > lo {
        (hi - lo).to_f64().unwrap_or(0.0)
    } else {
        0.0
    };
    let k = if snapshots == 0 {
        n.sqrt().ceil()
    } else {
        snapshots as f64
    };
    let len = (n / k.max(1.0)).ceil().max(1.0);
    T::from(len).unwrap_or_else(T::one)
}

/// `every` as the segment length, in the loop's integer type (at least 1).
pub fn segment_every<T: PrimInt>(lo: T, every: usize) -> T {
    let _ = lo;
    T::from(every.max(1)).unwrap_or_else(T::max_value)
}

/// How many segments of `len` iterations cover `lo..hi`.
pub fn segment_count<T: PrimInt>(lo: T, hi: T, len: T) -> T {
    if hi <= lo {
        return T::zero();
    }
    let n = hi - lo;
    n / len
        + if n % len == T::zero() {
            T::zero()
        } else {
            T::one()
        }
}

/// The first iteration of segment `s`.
pub fn segment_start<T: PrimInt>(lo: T, s: T, len: T) -> T {
    lo + s * len
}

/// The end (exclusive) of the segment starting at `start`.
pub fn segment_end<T: PrimInt>(start: T, len: T, hi: T) -> T {
    (start + len).min(hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The segments cover `lo..hi` once, in order, `snapshots` of them when given.
    fn covered(lo: i64, hi: i64, snapshots: usize) -> (Vec<i64>, i64) {
        let len = segment_len(lo, hi, snapshots);
        let count = segment_count(lo, hi, len);
        let mut seen = Vec::new();
        for s in 0..count {
            let a = segment_start(lo, s, len);
            seen.extend(a..segment_end(a, len, hi));
        }
        (seen, count)
    }

    #[test]
    fn segments_cover_the_range_once() {
        for (lo, hi) in [
            (0, 0),
            (0, 1),
            (0, 10),
            (3, 103),
            (-5, 17),
            (7, 2),
            (0, 1_000_000),
        ] {
            for snapshots in [0, 1, 3, 7, 1000] {
                let (seen, count) = covered(lo, hi, snapshots);
                assert_eq!(
                    seen,
                    (lo..hi).collect::<Vec<_>>(),
                    "{lo}..{hi}, {snapshots}"
                );
                if snapshots > 0 && hi - lo >= snapshots as i64 {
                    assert!(count <= snapshots as i64);
                }
            }
        }
        // √n by default: 1,000 segments of 1,000.
        assert_eq!(segment_len(0usize, 1_000_000, 0), 1000);
    }
}
