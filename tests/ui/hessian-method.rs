use autodiff::differentiable;

struct Spring {
    k: f64,
}

impl Spring {
    #[differentiable(hessian, wrt(x))]
    fn energy(&self, x: f64) -> f64 {
        0.5 * self.k * x * x
    }
}

fn main() {
    let s = Spring { k: 2.0 };
    let _ = s.energy(1.0);
}
