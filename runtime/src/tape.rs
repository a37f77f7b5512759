//! The tape of a counted loop: allocated once with the loop's trip count, then one push
//! per iteration; or, for the elements the loop reads around its index, one copy of them
//! (a [`Window`]).

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
    Window {
        first,
        values: array[first..last].to_vec(),
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
