//! The tape of a counted loop: allocated once with the loop's trip count, then one push
//! per iteration; or, for the elements the loop reads around its index, one copy of them
//! (a [`Window`]); or, for a loop inside another recording loop, a [`Segment`] of one
//! [`Stack`] that all its runs share.

use crate::pool;

/// `tape.push(item)` on a tape whose capacity was reserved for every push it gets (a
/// counted loop's, `Vec::with_capacity(trip count)`). Saying so up front matters: a plain
/// `push` keeps a call that may grow the `Vec` in the loop, and around that call the
/// optimiser keeps the loop's values in memory. In llsq's inner loop (a multiply-add
/// chain) that made the recording sweep 3.5× the primal; with the check below it is 1.2×.
/// Exceeding the reservation is an internal error of the macro.
#[inline(always)]
pub fn push_reserved<T>(tape: &mut Vec<T>, item: T) {
    if tape.len() == tape.capacity() {
        exceeded();
    }
    tape.push(item);
}

/// The records of every run of one loop inside a loop nest, kept in chunks whose records
/// never move: a run's records are one [`Segment`] of a chunk. While the nest runs, the
/// chunk being filled (the top) is a local `Vec` of the generated code, which keeps its
/// length in a register as the loop pushes (through a reference into the stack it is
/// reloaded after every store: ode's recording sweeps took 1.4× as long); the stack holds
/// the chunks filled before it, and [`Stack::finish`] takes the top in at the end.
///
/// A new top is twice the last, up to 2¹⁶ records, or a run's trip count if that is more,
/// so small runs share chunks (GMM at D = 2 allocated a `Vec` per inner loop per point
/// before) and large ones take a chunk each, as a `Vec` of their own would, without the
/// copies of one growing `Vec` (llsq's gradient at n = 16392 took 1.4× as long with one).
#[derive(Debug)]
pub struct Stack<T> {
    chunks: Vec<Vec<T>>,
}

/// Where one run of a loop left its records on its [`Stack`]: a chunk and a range of it.
/// The default is an empty segment (what a branch that did not run the loop yields).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    chunk: usize,
    start: usize,
    end: usize,
}

/// The smallest chunk a [`Stack`] allocates, and the size up to which chunks double, in
/// records: a run longer than that gets a chunk of its own size, as it got a `Vec` of its
/// own before (ode's stage loops of 10⁵ elements), and a chunk that size makes the cost
/// of an allocation small against that of filling it.
const MIN_CHUNK: usize = 64;
const MAX_DOUBLING: usize = 1 << 16;

impl<T> Default for Stack<T> {
    fn default() -> Self {
        Stack { chunks: Vec::new() }
    }
}

/// Its chunks go back to the pool ([`pool`]).
impl<T> Drop for Stack<T> {
    fn drop(&mut self) {
        self.chunks.drain(..).for_each(pool::give);
    }
}

impl<T> Stack<T> {
    /// An empty stack; its first top is `Vec::new()`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Room on `top` for a run of `n` records, which the loop then [`push_reserved`]s
    /// there; the run's segment so far (empty; [`Segment::close`] ends it).
    #[inline]
    pub fn open(&mut self, top: &mut Vec<T>, n: usize) -> Segment {
        if top.capacity() - top.len() < n {
            // By value: `top`'s address never leaves the inlined code, so the optimiser
            // can keep its length in a register.
            *top = self.grow(std::mem::take(top), n);
        }
        Segment {
            chunk: self.chunks.len(),
            start: top.len(),
            end: top.len(),
        }
    }

    /// Retires `full` onto the stack; the new top, with room for `n` records and twice
    /// the size of `full` (within `MIN_CHUNK..=MAX_DOUBLING`).
    #[cold]
    #[inline(never)]
    fn grow(&mut self, full: Vec<T>, n: usize) -> Vec<T> {
        let top = pool::take(next_chunk(full.capacity(), n));
        self.chunks.push(full);
        top
    }

    /// Pushes `item` for a run of unknown length (a `while` loop's, opened for 0
    /// records): when `top` is full, the run so far moves to a new chunk with room for
    /// twice as many, so that the run stays in one chunk.
    #[inline]
    pub fn push(&mut self, top: &mut Vec<T>, segment: &mut Segment, item: T) {
        if top.len() == top.capacity() {
            *top = self.spill(std::mem::take(top), segment);
        }
        push_reserved(top, item);
    }

    /// Retires `full` but for the records of `segment`'s run, which move to the new top
    /// (twice the size of `full`, within `MIN_CHUNK..=MAX_DOUBLING`, or twice the run if
    /// more), and `segment` with them.
    #[cold]
    #[inline(never)]
    fn spill(&mut self, mut full: Vec<T>, segment: &mut Segment) -> Vec<T> {
        let run = full.len() - segment.start;
        let mut top = pool::take(next_chunk(full.capacity(), 2 * run));
        top.extend(full.drain(segment.start..));
        self.chunks.push(full);
        *segment = Segment {
            chunk: self.chunks.len(),
            start: 0,
            end: 0,
        };
        top
    }

    /// The stack with its last chunk, `top`: every segment opened on it can be read.
    pub fn finish(mut self, top: Vec<T>) -> Stack<T> {
        self.chunks.push(top);
        self
    }

    /// The records of one run, first to last, on a finished stack (which has a chunk 0
    /// for the default, empty segment).
    #[inline]
    pub fn records(&self, segment: Segment) -> &[T] {
        &self.chunks[segment.chunk][segment.start..segment.end]
    }
}

/// The size of the chunk after one of `last` records, for a run of `n`: twice `last`
/// within `MIN_CHUNK..=MAX_DOUBLING`, or `n` if more.
fn next_chunk(last: usize, n: usize) -> usize {
    (2 * last).clamp(MIN_CHUNK, MAX_DOUBLING).max(n)
}

impl Segment {
    /// The segment once its run pushed its last record onto `top`.
    #[inline]
    pub fn close<T>(self, top: &[T]) -> Segment {
        Segment {
            end: top.len(),
            ..self
        }
    }
}

#[cold]
#[inline(never)]
fn exceeded() -> ! {
    panic!("autodiff internal error: a counted loop pushed more records than its trip count")
}

/// The elements of an array that a counted loop over `start..end` read at its index
/// minus `before` to plus `after` (`u[i − 1]`, `u[i]`, `u[i + 1]`), copied before the
/// array changes, and indexed as the array was: its adjoint reads them here instead of
/// from one record per value per iteration.
#[derive(Clone, Debug)]
pub struct Window<T> {
    first: usize,
    values: Vec<T>,
}

impl<T> core::ops::Index<usize> for Window<T> {
    type Output = T;

    #[inline]
    fn index(&self, i: usize) -> &T {
        &self.values[i - self.first]
    }
}

/// The [`Window`] of `array` for a loop over `start..end`: empty for an empty range, and
/// never past the array's ends (a loop left early by `break` read less).
pub fn window<T: Copy>(
    array: &[T],
    start: usize,
    end: usize,
    before: usize,
    after: usize,
) -> Window<T> {
    if start >= end {
        return Window {
            first: 0,
            values: Vec::new(),
        };
    }
    let first = start.saturating_sub(before).min(array.len());
    let last = end.saturating_add(after).clamp(first, array.len());
    let mut values = pool::take(last - first);
    values.extend_from_slice(&array[first..last]);
    Window { first, values }
}

/// Its values go back to the pool ([`pool`]).
impl<T> Drop for Window<T> {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.values));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_indexed_as_its_array() {
        let array = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        // A loop over 1..5 reading a[i − 1] and a[i + 1] reads a[0..6].
        let w = window(&array, 1, 5, 1, 1);
        assert_eq!((w[0], w[3], w[5]), (0.0, 3.0, 5.0));
        // A loop over 3..5 reading a[i] and a[i + 1] keeps a[3..6] only.
        let w = window(&array, 3, 5, 0, 1);
        assert_eq!((w.values.len(), w[3], w[5]), (3, 3.0, 5.0));
    }

    #[test]
    fn windows_of_empty_ranges_and_at_the_ends() {
        assert!(window(&[1.0f32], 1, 0, 1, 1).values.is_empty());
        assert!(window(&[] as &[f64], 0, 0, 0, 0).values.is_empty());
        // Bounds beyond the array (a loop that stopped early) are cut at its ends.
        let w = window(&[1.0, 2.0], 0, 5, 3, 3);
        assert_eq!((w.first, w.values.len()), (0, 2));
    }

    #[test]
    fn pushes_within_the_reservation() {
        let mut tape = Vec::with_capacity(3);
        for i in 0..3 {
            push_reserved(&mut tape, i);
        }
        assert_eq!(tape, [0, 1, 2]);
    }

    /// Runs of `lens` records each, of unknown length (a `while` loop's), on one stack.
    fn open_runs(lens: &[usize]) -> (Stack<usize>, Vec<Segment>) {
        let mut stack = Stack::new();
        let mut top = Vec::new();
        let segments = (lens.iter().enumerate())
            .map(|(r, &n)| {
                let mut segment = stack.open(&mut top, 0);
                for k in 0..n {
                    stack.push(&mut top, &mut segment, r * 100 + k);
                }
                segment.close(&top)
            })
            .collect();
        (stack.finish(top), segments)
    }

    /// Runs of `lens` records each on one stack: run `r` pushes `r·100 + k`.
    fn runs(lens: &[usize]) -> (Stack<usize>, Vec<Segment>) {
        let mut stack = Stack::new();
        let mut top = Vec::new();
        let segments = (lens.iter().enumerate())
            .map(|(r, &n)| {
                let segment = stack.open(&mut top, n);
                for k in 0..n {
                    push_reserved(&mut top, r * 100 + k);
                }
                segment.close(&top)
            })
            .collect();
        (stack.finish(top), segments)
    }

    #[test]
    fn each_run_reads_back_its_own_records() {
        // Small runs, one larger than the chunks so far, an empty one, then small again.
        let lens = [3, 50, 20, 0, 90, 1, 300, 2, 0, 7];
        let (stack, segments) = runs(&lens);
        for (r, (&n, &s)) in lens.iter().zip(&segments).enumerate() {
            let expected: Vec<usize> = (0..n).map(|k| r * 100 + k).collect();
            assert_eq!(stack.records(s), expected, "run {r}");
        }
        assert!(stack.records(Segment::default()).is_empty());
    }

    proptest::proptest! {
        /// Any runs, pushed in any order of sizes: each segment reads back its own
        /// records, and the chunks reserve at most about four times what was pushed
        /// (doubling chunks, each retired with room short of one run); runs of unknown
        /// length too.
        #[test]
        fn segments_read_back_their_runs(lens in proptest::collection::vec(0usize..300, 0..60)) {
            let (stack, segments) = runs(&lens);
            for (r, (&n, &s)) in lens.iter().zip(&segments).enumerate() {
                let expected: Vec<usize> = (0..n).map(|k| r * 100 + k).collect();
                proptest::prop_assert_eq!(stack.records(s), &expected[..]);
            }
            let reserved: usize = stack.chunks.iter().map(Vec::capacity).sum();
            let pushed: usize = lens.iter().sum();
            proptest::prop_assert!(reserved <= 4 * pushed + 2 * MIN_CHUNK, "{} for {}", reserved, pushed);
            let (stack, segments) = open_runs(&lens);
            for (r, (&n, &s)) in lens.iter().zip(&segments).enumerate() {
                let expected: Vec<usize> = (0..n).map(|k| r * 100 + k).collect();
                proptest::prop_assert_eq!(stack.records(s), &expected[..]);
            }
        }
    }

    #[test]
    fn small_runs_share_a_chunk_and_chunks_double() {
        let (stack, _) = runs(&[10; 18]);
        let sizes: Vec<usize> = stack.chunks.iter().map(Vec::capacity).collect();
        // The first top (`Vec::new()`), 64 records (six runs of 10), then 128 (twelve).
        assert_eq!(sizes, [0, 64, 128]);
        let (stack, _) = runs(&[1000, 10]);
        let sizes: Vec<usize> = stack.chunks.iter().map(Vec::capacity).collect();
        assert_eq!(sizes, [0, 1000, 2000]);
        // Beyond 2¹⁶ records a run gets a chunk of its size, and chunks double no more.
        let big = MAX_DOUBLING + 1;
        let (stack, _) = runs(&[big, big, 10]);
        let sizes: Vec<usize> = stack.chunks.iter().map(Vec::capacity).collect();
        assert_eq!(sizes, [0, big, big, MAX_DOUBLING]);
    }

    #[test]
    #[should_panic(expected = "more records than its trip count")]
    fn a_push_beyond_it_is_an_internal_error() {
        let mut tape: Vec<u8> = Vec::with_capacity(1);
        let extra = tape.capacity() + 1;
        for i in 0..extra {
            push_reserved(&mut tape, i as u8);
        }
    }
}
