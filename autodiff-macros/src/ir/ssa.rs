//! Restoring single definitions: code that computes a block again (the adjoint of a branch
//! or of a loop iteration) defines the same values a second time, which the pullback
//! closure tolerates (each copy lives in its own Rust scope) but code that is analysed and
//! differentiated again does not.

use super::{Block, Func, InstKind, LoopKind, Value};
use std::collections::{HashMap, HashSet};

impl Func {
    /// Gives each later definition of a value already defined a fresh value, and renames
    /// the reads within that definition's scope to match.
    pub fn rename_redefinitions(&mut self) {
        let mut body = std::mem::take(&mut self.body);
        let mut renamer = Renamer {
            seen: self.params.iter().copied().collect(),
            func: self,
        };
        renamer.block(&mut body, &HashMap::new());
        self.body = body;
    }
}

struct Renamer<'f> {
    func: &'f mut Func,
    /// Every value defined so far, in any scope.
    seen: HashSet<Value>,
}

impl Renamer<'_> {
    /// Renames within `block`, seeing the renames `outer` of the enclosing scopes.
    fn block(&mut self, block: &mut Block, outer: &HashMap<Value, Value>) {
        let mut names = outer.clone();
        for inst in &mut block.insts {
            inst.map_header_uses(&mut |v| *names.get(&v).unwrap_or(&v));
            // What a loop defines for its body: params and index.
            let mut inner = names.clone();
            if let InstKind::Loop(lp) = &mut inst.kind {
                for p in &mut lp.params {
                    self.define(p, &mut inner);
                }
                match &mut lp.kind {
                    LoopKind::For { index, .. } => self.define(index, &mut inner),
                    LoopKind::While { .. } => {}
                    LoopKind::Tape { items, index, .. } => {
                        if let Some((i, _)) = index {
                            self.define(i, &mut inner);
                        }
                        items.iter_mut().for_each(|v| self.define(v, &mut inner))
                    }
                }
            }
            for b in inst.blocks_mut() {
                self.block(b, &inner);
            }
            for o in &mut inst.outs {
                self.define(o, &mut names);
            }
        }
        for y in &mut block.yields {
            *y = *names.get(y).unwrap_or(y);
        }
    }

    /// A definition of `v`: the first keeps it, a later one gets a fresh value.
    fn define(&mut self, v: &mut Value, names: &mut HashMap<Value, Value>) {
        if self.seen.insert(*v) {
            return;
        }
        let fresh = self.func.new_derived(self.func.info(*v).role, *v);
        self.seen.insert(fresh);
        names.insert(*v, fresh);
        *v = fresh;
    }
}
