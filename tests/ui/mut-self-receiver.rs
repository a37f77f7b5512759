use autodiff::differentiable;

struct Model {
    w: f64,
}

impl Model {
    #[differentiable]
    fn predict(&mut self, x: f64) -> f64 {
        x * 2.0
    }
}

fn main() {}
