//! The tape of a counted loop: allocated once with the loop's trip count, then one push
//! per iteration.

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

#[cfg(test)]
mod tests {
    use super::*;

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
