use autodiff::differentiable;

pub enum Loss {
    Squared,
    Huber(f64),
}

#[differentiable(wrt(x))]
fn f(x: f64, loss: &Loss) -> f64 {
    match loss {
        Loss::Squared => x * x,
        Loss::Huber(d) => d * x.abs(),
    }
}

fn main() {}
