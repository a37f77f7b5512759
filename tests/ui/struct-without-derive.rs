use autodiff::differentiable;

pub struct Config {
    pub scale: f64,
}

#[differentiable]
fn f(x: f64, config: &Config) -> f64 {
    x * config.scale
}

fn main() {}
