//! Tapes kept across calls. A gradient called in a loop (an optimiser, a training step)
//! allocates the same tapes on every call, and with glibc's allocator a large freed
//! block goes back to the system and its pages fault in again on the next call (the
//! pullbacks of `cargo bench --bench jacobian`'s reverse case spent three quarters of
//! their time so). A counted loop's tape ([`Pooled`]), the chunks of a loop nest's
//! [`Stack`](crate::tape::Stack) and the copies of a [`Window`](crate::tape::Window) go
//! back to their thread's pool when they drop, and the next request of the same size
//! takes them again: a call repeated on inputs of the same sizes asks for the same sizes.
//!
//! The one `unsafe` of the runtime is here: a kept block is made a `Vec` again with
//! `Vec::from_raw_parts`, so that its capacity is the one asked for where the optimiser
//! sees it. A safe pool of `Vec`s hands out a capacity it cannot see (even behind an
//! assertion that it is the one asked for), the pushes of a counted loop keep their
//! capacity test, and `lse`'s gradient (GradBench) took 1.55× as long.

#![allow(unsafe_code)]

use std::alloc::Layout;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Blocks smaller than this come from the allocator each time: its free lists keep
/// them, and they never reach the system.
const MIN_BYTES: usize = 16 << 10;
/// At most this much is kept, in all threads together; a block given past it is freed.
const MAX_BYTES: usize = 128 << 20;

/// The bytes kept in all threads' pools.
static KEPT: AtomicUsize = AtomicUsize::new(0);

/// A thread's kept blocks, by layout, and their bytes. A block is an allocation a `Vec`
/// made and gave up (`give`): owned by the pool alone, freed with its layout.
#[derive(Default)]
struct Pool {
    kept: HashMap<Layout, Vec<NonNull<u8>>>,
    bytes: usize,
}

impl Drop for Pool {
    fn drop(&mut self) {
        KEPT.fetch_sub(self.bytes, Ordering::Relaxed);
        for (layout, blocks) in self.kept.drain() {
            for ptr in blocks {
                // SAFETY: allocated by the global allocator with `layout` (`give`), and
                // owned by the pool alone.
                unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
            }
        }
    }
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::default();
}

/// The layout of `capacity` values of `T`, where a `Vec` of them may be kept.
#[inline]
fn pooled<T>(capacity: usize) -> Option<Layout> {
    let layout = Layout::array::<T>(capacity).ok()?;
    (MIN_BYTES..=MAX_BYTES)
        .contains(&layout.size())
        .then_some(layout)
}

/// An empty `Vec` with capacity `n`: a kept block of that size, or a new one. Either
/// way the capacity is `n` where the optimiser sees it, as with `Vec::with_capacity(n)`,
/// so a counted loop's pushes need no test.
#[inline]
pub fn take<T>(n: usize) -> Vec<T> {
    match pooled::<T>(n).and_then(take_block) {
        // SAFETY: the block was allocated by the global allocator for a `Vec` whose
        // layout, `Layout::array` of its capacity, equals `Layout::array::<T>(n)`: the
        // same size and alignment. The pool gave up its ownership; length 0 initialises
        // nothing.
        Some(ptr) => unsafe { Vec::from_raw_parts(ptr.as_ptr().cast::<T>(), 0, n) },
        None => Vec::with_capacity(n),
    }
}

#[inline(never)]
fn take_block(layout: Layout) -> Option<NonNull<u8>> {
    let taken = POOL.try_with(|pool| {
        let mut pool = pool.try_borrow_mut().ok()?;
        let ptr = pool.kept.get_mut(&layout)?.pop()?;
        pool.bytes -= layout.size();
        KEPT.fetch_sub(layout.size(), Ordering::Relaxed);
        Some(ptr)
    });
    taken.ok().flatten()
}

/// Keeps `v`'s allocation for a later [`take`] of its capacity (its elements are
/// dropped), unless the pool is full: then it is freed.
#[inline]
pub fn give<T>(v: Vec<T>) {
    if let Some(layout) = pooled::<T>(v.capacity()) {
        give_block(v, layout);
    }
}

#[inline(never)]
fn give_block<T>(mut v: Vec<T>, layout: Layout) {
    v.clear();
    // Where the pool is gone (the thread is ending), busy or full, `v` is freed.
    let _ = POOL.try_with(move |pool| {
        let Ok(mut pool) = pool.try_borrow_mut() else {
            return;
        };
        let size = layout.size();
        let room = |kept: usize| (kept + size <= MAX_BYTES).then_some(kept + size);
        if KEPT
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, room)
            .is_err()
        {
            return;
        }
        // A `Vec` with capacity has a non-null pointer; the pool owns the block now.
        let ptr = NonNull::from(std::mem::ManuallyDrop::new(v).as_mut_slice()).cast::<u8>();
        pool.kept.entry(layout).or_default().push(ptr);
        pool.bytes += size;
    });
}

/// Frees the tapes this thread keeps (all threads together keep at most 128 MiB), for a
/// thread done with gradients that goes on without them.
pub fn release_tapes() {
    let _ = POOL.try_with(|pool| {
        if let Ok(mut pool) = pool.try_borrow_mut() {
            *pool = Pool::default();
        }
    });
}

/// A counted loop's tape: a `Vec` whose allocation goes back to its thread's pool when
/// it drops.
#[derive(Debug, Default)]
pub struct Pooled<T>(Vec<T>);

impl<T> Pooled<T> {
    /// An empty tape with room for `n` records ([`take`]).
    #[inline]
    pub fn with_capacity(n: usize) -> Self {
        Pooled(take(n))
    }
}

impl<T> Drop for Pooled<T> {
    #[inline]
    fn drop(&mut self) {
        give(std::mem::take(&mut self.0));
    }
}

impl<T> std::ops::Deref for Pooled<T> {
    type Target = Vec<T>;

    #[inline]
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Pooled<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.0
    }
}

impl<T: Clone> Clone for Pooled<T> {
    fn clone(&self) -> Self {
        let mut v = take(self.0.len());
        v.extend_from_slice(&self.0);
        Pooled(v)
    }
}

/// Records moved out (a tape whose records are not numbers): the allocation is then
/// freed, not kept.
impl<T> IntoIterator for Pooled<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(mut self) -> Self::IntoIter {
        std::mem::take(&mut self.0).into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` on a thread of its own, whose pool starts empty.
    fn on_fresh_thread(f: impl FnOnce() + Send + 'static) {
        std::thread::spawn(f)
            .join()
            .expect("the test thread panicked");
    }

    /// The blocks and bytes this thread's pool keeps.
    fn kept() -> (usize, usize) {
        POOL.with(|p| {
            let p = p.borrow();
            (p.kept.values().map(Vec::len).sum(), p.bytes)
        })
    }

    #[test]
    fn a_given_tape_is_taken_again_at_its_size_only() {
        on_fresh_thread(|| {
            let n = 4096; // 32 KiB of f64
            let mut v: Vec<f64> = take(n);
            assert_eq!((v.len(), v.capacity()), (0, n));
            v.extend((0..n).map(|i| i as f64));
            let at = v.as_ptr() as usize;
            give(v);
            assert_eq!(kept(), (1, n * 8));
            // Another size gets a new block.
            let other: Vec<f64> = take(n + 1);
            assert_ne!(other.as_ptr() as usize, at);
            // Records of another type but the same size and alignment take it, empty.
            let pairs: Vec<(f64, f64)> = take(n / 2);
            assert_eq!(
                (pairs.as_ptr() as usize, pairs.len(), pairs.capacity()),
                (at, 0, n / 2)
            );
            assert_eq!(kept(), (0, 0));
            // Filled and given back, it is taken again.
            let mut pairs = pairs;
            pairs.resize(n / 2, (1.0, -1.0));
            give(pairs);
            let again: Vec<f64> = take(n);
            assert_eq!((again.as_ptr() as usize, again.len()), (at, 0));
        });
    }

    #[test]
    fn small_tapes_are_not_kept() {
        on_fresh_thread(|| {
            give(Vec::<f64>::with_capacity(16));
            give(Vec::<f64>::new());
            assert_eq!(kept(), (0, 0));
        });
    }

    #[test]
    fn the_pool_keeps_within_its_bound() {
        on_fresh_thread(|| {
            // More than half each: whatever other threads keep, the second is freed.
            let more_than_half = MAX_BYTES / 2 + 1;
            give(Vec::<u8>::with_capacity(more_than_half));
            give(Vec::<u8>::with_capacity(more_than_half));
            assert_eq!(kept(), (1, more_than_half));
            assert!(KEPT.load(Ordering::Relaxed) <= MAX_BYTES);
            release_tapes();
            assert_eq!(kept(), (0, 0));
            // Nor is a block past the bound alone kept.
            give(Vec::<u8>::with_capacity(MAX_BYTES + 1));
            assert_eq!(kept(), (0, 0));
        });
    }

    #[test]
    fn a_pooled_tape_goes_back_when_it_drops() {
        on_fresh_thread(|| {
            let n = 8192;
            let mut tape: Pooled<(f64, f64)> = Pooled::with_capacity(n);
            tape.push((1.0, 2.0));
            let at = tape.as_ptr();
            assert_eq!((tape[0], tape.len()), ((1.0, 2.0), 1));
            let copy = tape.clone();
            assert_eq!((copy.len(), copy.capacity()), (1, 1));
            drop(tape);
            let again: Pooled<(f64, f64)> = Pooled::with_capacity(n);
            assert_eq!((again.as_ptr(), again.len()), (at, 0));
            // Moved out by value: its records are read, its allocation freed as usual.
            let mut moved = again;
            moved.push((3.0, 4.0));
            assert_eq!(moved.into_iter().collect::<Vec<_>>(), [(3.0, 4.0)]);
            assert_eq!(kept(), (0, 0));
        });
    }
}
