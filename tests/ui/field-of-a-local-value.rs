use autodiff::{differentiable, Differentiable};

#[derive(Clone, Differentiable)]
pub struct Params {
    pub w: f64,
}

#[differentiable]
fn doubled(p: &Params) -> Params {
    p.clone()
}

#[differentiable]
fn f(p: &Params) -> f64 {
    let q = doubled(p);
    q.w * 2.0
}

fn main() {}
