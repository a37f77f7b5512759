use autodiff::differentiable;

fn clamp(v: &mut f64) {
    *v = v.max(0.0);
}

#[differentiable]
fn f(x: &[f64], out: &mut [f64]) {
    for (o, &xi) in out.iter_mut().zip(x) {
        *o = xi * xi;
        clamp(o);
    }
}

fn main() {}
