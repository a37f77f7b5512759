use autodiff::differentiable;

#[differentiable]
pub fn f(x: f64, y: f64, n: i32) -> f64 {
    let a = x * y;
    let mut b = a.sin() + 2.0 * y;
    if x > 0.0 {
        b += x.powi(n);
    }
    if y < -1.0 {
        return b * b;
    }
    b.exp() / x
}

#[differentiable]
fn g(x: f32) -> f64 {
    let y = x as f64;
    f(y, 2.0, 3) * std::f64::consts::PI
}

#[test]
fn smoke() {
    let (v, (dx, dy)) = f_grad(0.5, -2.0, 2);
    let (v2, t) = f_jvp(0.5, -2.0, 2, 1.0, 0.0);
    assert_eq!(v, v2);
    assert!((dx - t).abs() < 1e-12, "{dx} {t}");
    let (_, dg) = g_grad(0.3);
    let (_, tg) = g_jvp(0.3, 1.0);
    println!("{dx} {dy} {dg} {tg}");
}
