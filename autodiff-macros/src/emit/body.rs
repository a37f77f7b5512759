//! Statements, blocks and operands: one `let` per instruction.

use super::*;

impl Emitter<'_> {
    pub(super) fn block(&self, block: &Block) -> TokenStream {
        block.insts.iter().map(|i| self.inst(i)).collect()
    }

    /// The block's statements followed by its yields as a tail expression.
    pub(super) fn block_value(&self, block: &Block) -> TokenStream {
        let stmts = self.block(block);
        let value = self.tuple(&block.yields);
        quote!(#stmts #value)
    }

    /// The variable (or inline expression) as it is.
    pub(super) fn raw_operand(&self, v: Value) -> TokenStream {
        match self.inline.get(&v) {
            Some(tokens) => tokens.clone(),
            None => self.names.ident(v).into_token_stream(),
        }
    }

    /// `v` where a value is wanted: a float behind a reference is copied out (`*v`); an
    /// object is moved where this is its only move, cloned otherwise.
    pub(super) fn operand(&self, v: Value) -> TokenStream {
        let t = self.raw_operand(v);
        match (self.by_ref(v), self.is_obj(v)) {
            (true, true) => quote!(::core::clone::Clone::clone(#t)),
            (true, false) => quote!((*#t)),
            (false, true) if self.moves.get(&v).copied().unwrap_or(0) > 1 => {
                quote!(::core::clone::Clone::clone(&#t))
            }
            _ => t,
        }
    }

    pub(super) fn operands(&self, vs: &[Value]) -> Vec<TokenStream> {
        vs.iter().map(|&v| self.operand(v)).collect()
    }

    /// The function's results, read from their aliases where the pullback captured them.
    pub(super) fn results_tuple(&self, vs: &[Value]) -> TokenStream {
        let items = self.result_items(vs);
        match items.as_slice() {
            [one] => one.clone(),
            _ => quote!((#(#items),*)),
        }
    }

    /// The parts of a tuple result grouped as the declared (possibly nested) tuple.
    pub(super) fn nested_results(&self, vs: &[Value]) -> TokenStream {
        match &self.result_ty {
            Some(ty) => nest(ty, &mut self.result_items(vs).into_iter()),
            None => self.results_tuple(vs),
        }
    }

    fn result_items(&self, vs: &[Value]) -> Vec<TokenStream> {
        vs.iter()
            .map(|v| match self.aliases.get(v) {
                Some(alias) => alias.to_token_stream(),
                None => self.operand(*v),
            })
            .collect()
    }

    /// `v`, `(a, b)`, or `()` for no values.
    pub(super) fn tuple(&self, vs: &[Value]) -> TokenStream {
        let items = self.operands(vs);
        match items.as_slice() {
            [one] => one.clone(),
            _ => quote!((#(#items),*)),
        }
    }

    /// The binding pattern for an instruction's results; unused results are `_`.
    pub(super) fn pattern(&self, outs: &[Value]) -> TokenStream {
        let items: Vec<TokenStream> = outs
            .iter()
            .map(|&v| {
                if self.used.contains(&v) {
                    self.names.ident(v).into_token_stream()
                } else {
                    quote!(_)
                }
            })
            .collect();
        match items.as_slice() {
            [one] => one.clone(),
            _ => quote!((#(#items),*)),
        }
    }

    /// Arrays are written in place: a new array is a `mut` variable, and a write
    /// `store(a, i, v)` moves the old version into the new one and sets the element:
    /// `let mut a_2 = a_1; a_2[i] = v;`.
    pub(super) fn array_stmt(&self, inst: &Inst) -> Option<TokenStream> {
        let span = inst.span;
        let InstKind::Op(op, args) = &inst.kind else {
            return None;
        };
        let out = self.names.ident(inst.outs[0]);
        match (op, args.as_slice()) {
            (Op::NewArray { .. } | Op::CopyArray { .. } | Op::SubSlice { view: false }, _) => {
                let value = self.op(op, args, &inst.outs, span);
                Some(quote_spanned!(span=> let mut #out = #value;))
            }
            (Op::Store, [a, i, v]) => {
                let (a, i, v) = (self.operand(*a), self.operand(*i), self.operand(*v));
                Some(quote_spanned!(span=> let mut #out = #a; #out[#i] = #v;))
            }
            (Op::Push, [a, _, v]) => {
                let (a, v) = (self.operand(*a), self.operand(*v));
                Some(quote_spanned!(span=> let mut #out = #a; #out.push(#v);))
            }
            (Op::EmptyVec, []) => {
                Some(quote_spanned!(span=> let mut #out = ::std::vec::Vec::new();))
            }
            (Op::EmptyVec, [capacity]) => {
                let capacity = self.operand(*capacity);
                Some(
                    quote_spanned!(span=> let mut #out = ::std::vec::Vec::with_capacity(#capacity);),
                )
            }
            _ => None,
        }
    }
}
