//! The error accumulator: stages record every problem they find and carry on, so the user
//! sees all of them in one compile; `check` is the barrier between stages.

use std::cell::RefCell;

#[derive(Default)]
pub struct Ctxt {
    errors: RefCell<Vec<syn::Error>>,
}

impl Ctxt {
    pub fn new() -> Self {
        Ctxt::default()
    }

    pub fn push(&self, error: syn::Error) {
        self.errors.borrow_mut().push(error);
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.borrow().is_empty()
    }

    /// All errors recorded so far, combined into one, or `Ok` if there were none.
    pub fn check(&self) -> syn::Result<()> {
        let mut errors = self
            .errors
            .borrow_mut()
            .drain(..)
            .collect::<Vec<_>>()
            .into_iter();
        match errors.next() {
            None => Ok(()),
            Some(mut first) => {
                for e in errors {
                    first.combine(e);
                }
                Err(first)
            }
        }
    }
}
