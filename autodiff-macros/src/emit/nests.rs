//! Flat tapes for loop nests.
//!
//! A loop that records inside another recording loop runs once per outer iteration; with a
//! `Vec` of its own each time, every outer iteration allocates one per inner loop (and the
//! adjoint frees them): a fifth of GMM's gradient at D = 2. Instead, each such loop site
//! records onto one `Stack` for the whole nest (chunks that never move, runtime
//! `tape.rs`), and its tape is the `Segment` it filled, which its enclosing loop records
//! like a number:
//!
//! ```text
//! let (s, tape) = {                              let (s, tape) = {
//!     let mut tape = Vec::with_capacity(n);          let mut tape = Vec::with_capacity(n);
//!     for i in 0..n {                                let mut tape_1_stack = Stack::new();
//!         let (t, tape_1) = {                        for i in 0..n {
//!             let mut tape_1 = Vec::with_capacity(m);    let (t, tape_1) = {
//!             for j in 0..m { push(tape_1, ..) }             let (tape_1, mut chunk) = tape_1_stack.open(m);
//!             (t, tape_1)                                    for j in 0..m { push(chunk, ..) }
//!         };                                                 (t, tape_1_stack.close(tape_1, chunk))
//!         push(tape, (t, tape_1));                       };
//!     }                                                  push(tape, (t, tape_1));
//!     (s, tape)                                      }
//! };                                                 (s, (tape, tape_1_stack))
//!                                                };
//! ```
//!
//! The outermost recording loop of the nest (its root) carries the stacks in its tape; the
//! adjoint that walks the root's tape unpacks them, and an inner loop's adjoint walks its
//! segment, copying each record out. The stacks only grow until the root's adjoint drops
//! them, so a segment names the same records wherever it is read, in any order the
//! adjoints run.
//!
//! A counted loop opens room for its trip count; a `while` loop opens none, and its pushes
//! move the run to a larger chunk when it fills one (`Stack::push`). A loop is flattened
//! only where that is sure to compile: its records are plain numbers (or segments), it
//! records in one place (not a loop the adjoint runs again), and its tape, and the tape
//! of its root, are only recorded, walked by a loop's adjoint or passed out of a branch.
//! Anything else keeps its own `Vec`.

use super::*;
use proc_macro2::Ident;

/// The stacks of the flattened loops, by the values that hold their tapes.
#[derive(Default)]
pub(super) struct Nests {
    /// A flattened loop's tape (and the results of branches that pass it on): the stack
    /// its segment is part of.
    stacks: HashMap<Value, Flat>,
    /// A root's tape (and the results of branches that pass it on): the stacks it carries
    /// besides its own records, in order.
    bundles: HashMap<Value, Vec<Flat>>,
    /// The tapes (and the results of branches that pass them on) whose records are all
    /// numbers or segments: an adjoint can copy them out and leave the tape as it was.
    copyable: HashSet<Value>,
}

impl Nests {
    pub(super) fn of(func: &Func, names: &mut Names) -> Nests {
        let mut scan = Scan::default();
        scan.block(&func.body, None);
        scan.other
            .extend(func.body.yields.iter().chain(&func.results));
        let roots = scan.flattened(func);
        let mut nests = Nests::default();
        let segment = |v: &Value| {
            let site = scan.sites.iter().zip(&roots).find(|(s, _)| s.tape == *v);
            site.is_some_and(|(_, root)| root.is_some())
        };
        for site in &scan.sites {
            if site.items.iter().all(|v| number(func.ty(*v)) || segment(v)) {
                nests.copyable.extend(scan.passed_on(site.tape));
            }
        }
        for (site, root) in scan.sites.iter().zip(roots) {
            let Some(root) = root else { continue };
            let (tape, span) = (names.ident(site.tape), func.info(site.tape).span);
            let flat = Flat {
                stack: names.fresh(&format!("{tape}_stack"), span),
                chunk: names.fresh(&format!("{tape}_chunk"), span),
            };
            for t in scan.passed_on(site.tape) {
                nests.stacks.insert(t, flat.clone());
            }
            for t in scan.passed_on(scan.sites[root].tape) {
                nests.bundles.entry(t).or_default().push(flat.clone());
            }
        }
        nests
    }

    /// The stack whose segment `tape` is, for a flattened loop's tape.
    pub(super) fn stack(&self, tape: Value) -> Option<&Flat> {
        self.stacks.get(&tape)
    }

    /// The stacks a root's tape carries beside its records (none for other tapes).
    pub(super) fn bundle(&self, tape: Value) -> &[Flat] {
        self.bundles.get(&tape).map_or(&[], Vec::as_slice)
    }

    /// Whether `tape`'s records are numbers or segments, which its adjoint can copy out.
    pub(super) fn copyable(&self, tape: Value) -> bool {
        self.copyable.contains(&tape)
    }
}

/// A type whose values are plain numbers (`Copy`).
fn number(ty: Ty) -> bool {
    matches!(ty, Ty::F32 | Ty::F64 | Ty::Float | Ty::Int | Ty::Bool)
}

/// The names of a flattened loop's stack and of the chunk it is filling (the top), a
/// local of the nest's root while it runs.
#[derive(Clone)]
pub(super) struct Flat {
    pub stack: Ident,
    pub chunk: Ident,
}

/// A recording loop: its tape, what it records, and the nearest recording loop around it
/// (in the same closure), by index in `Scan::sites`.
struct Site {
    tape: Value,
    items: Vec<Value>,
    parent: Option<usize>,
}

#[derive(Default)]
struct Scan {
    /// Pre-order: a loop comes before the loops inside it.
    sites: Vec<Site>,
    /// The results of branches that yield a value, by the value.
    passed: HashMap<Value, Vec<Value>>,
    /// Values read otherwise than recorded, walked by a loop's adjoint or yielded by a
    /// branch.
    other: HashSet<Value>,
    /// Each walk of a tape by a loop's adjoint, with the tapes the loop adjoints around
    /// it walk.
    walks: Vec<(Value, Vec<Value>)>,
    /// The tapes the loop adjoints around the instruction being scanned walk.
    walking: Vec<Value>,
}

impl Scan {
    fn block(&mut self, block: &Block, parent: Option<usize>) {
        for inst in &block.insts {
            self.inst(inst, parent);
        }
    }

    fn inst(&mut self, inst: &Inst, parent: Option<usize>) {
        match &inst.kind {
            InstKind::Loop(lp) => self.looped(inst, lp, parent),
            InstKind::If { cond, then, els } => {
                self.other.insert(*cond);
                for b in [then, els] {
                    self.block(b, parent);
                    for (&y, &out) in b.yields.iter().zip(&inst.outs) {
                        self.passed.entry(y).or_default().push(out);
                    }
                }
            }
            InstKind::Closure { body, .. } => {
                self.block(body, None);
                self.other.extend(&body.yields);
            }
            _ => self.other.extend(inst.uses()),
        }
    }

    fn looped(&mut self, inst: &Inst, lp: &Loop, parent: Option<usize>) {
        let walked = match &lp.kind {
            LoopKind::Tape { tape, .. } => Some(*tape),
            _ => None,
        };
        let header = lp.header_uses().into_iter();
        self.other.extend(header.filter(|&v| Some(v) != walked));
        let me = match &lp.record {
            Some(r) => {
                self.sites.push(Site {
                    tape: r.tape,
                    items: r.items.clone(),
                    parent,
                });
                Some(self.sites.len() - 1)
            }
            None => parent,
        };
        if let Some(t) = walked {
            self.walks.push((t, self.walking.clone()));
            self.walking.push(t);
        }
        for b in inst.blocks() {
            self.block(b, me);
            self.other.extend(&b.yields);
        }
        if walked.is_some() {
            self.walking.pop();
        }
    }

    /// `tape` and every value a branch passes it on as, transitively.
    fn passed_on(&self, tape: Value) -> Vec<Value> {
        let mut all = vec![tape];
        let mut i = 0;
        while i < all.len() {
            for &out in self.passed.get(&all[i]).into_iter().flatten() {
                if !all.contains(&out) {
                    all.push(out);
                }
            }
            i += 1;
        }
        all
    }

    /// Whether `tape` is only recorded, walked and passed on by branches.
    fn plain(&self, tape: Value) -> bool {
        self.passed_on(tape).iter().all(|v| !self.other.contains(v))
    }

    /// The root of each flattened site (`None`: not flattened). A site is flattened when
    /// it is inside a recording loop, its tape is plain, its records are numbers
    /// or flattened tapes, its enclosing loop is flattened too or is a root with a plain
    /// tape, and every walk of its segments is inside the walk of its root's tape (where
    /// the stack is finished). Dropping a site can drop others (its enclosing loop records
    /// its tape; it may have been their root), so this repeats until nothing changes.
    fn flattened(&self, func: &Func) -> Vec<Option<usize>> {
        let plain = self.plain_tapes();
        let mut flat: Vec<bool> = self.sites.iter().map(|s| s.parent.is_some()).collect();
        let mut tapes = HashMap::new();
        for (i, s) in self.sites.iter().enumerate() {
            tapes.extend(self.passed_on(s.tape).into_iter().map(|t| (t, i)));
        }
        loop {
            let roots = self.roots(&flat);
            let mut changed = false;
            for (i, s) in self.sites.iter().enumerate() {
                let number =
                    |v: &Value| number(func.ty(*v)) || tapes.get(v).is_some_and(|&j| flat[j]);
                let keep = flat[i]
                    && plain[i]
                    && s.items.iter().all(number)
                    && s.parent.is_some_and(|p| flat[p] || plain[p])
                    && roots[i].is_some_and(|r| self.walked_within(s.tape, self.sites[r].tape));
                changed |= keep != flat[i];
                flat[i] = keep;
            }
            if !changed {
                return self.roots(&flat);
            }
        }
    }

    /// Which sites' tapes are plain. A loop the adjoint runs again (a branch's, a
    /// `#[checkpoint]` segment's) records in two places under one tape: not plain, so it
    /// keeps its `Vec`s.
    fn plain_tapes(&self) -> Vec<bool> {
        let mut sites_of = HashMap::new();
        for s in &self.sites {
            *sites_of.entry(s.tape).or_insert(0) += 1;
        }
        (self.sites.iter())
            .map(|s| sites_of[&s.tape] == 1 && self.plain(s.tape))
            .collect()
    }

    /// The root of each flattened site: its outermost enclosing loop that is not.
    fn roots(&self, flat: &[bool]) -> Vec<Option<usize>> {
        (0..self.sites.len())
            .map(|i| {
                if !flat[i] {
                    return None;
                }
                let mut root = self.sites[i].parent;
                while let Some(r) = root.filter(|&r| flat[r]) {
                    root = self.sites[r].parent;
                }
                root
            })
            .collect()
    }

    /// Whether every walk of `tape` is inside a walk of `root`.
    fn walked_within(&self, tape: Value, root: Value) -> bool {
        let (tapes, roots) = (self.passed_on(tape), self.passed_on(root));
        (self.walks.iter())
            .filter(|(t, _)| tapes.contains(t))
            .all(|(_, around)| around.iter().any(|a| roots.contains(a)))
    }
}
