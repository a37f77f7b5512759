//! `det`: the determinant by cofactor (Laplace) expansion along the first row of every
//! minor — deliberately the O(ℓ!) algorithm — and its gradient, the cofactor matrix.

use super::{computation, parse, unknown, Job};
use autodiff::differentiable;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Input {
    #[serde(rename = "A")]
    a: Vec<f64>,
    ell: usize,
}

/// The expansion without recursion. Its terms are the permutations σ, in the order the
/// recursive expansion visits them: σ's digits `dᵣ < ℓ − r` choose, at depth r, the
/// `dᵣ`-th column not yet used (sign `(−1)^{dᵣ}`). The terms are enumerated like an
/// odometer over the digits, and `prefix[r]` holds the signed product of the first r
/// factors, so a step recomputes only the depths after the last digit that changed: the
/// multiplications of the recursive expansion, about e·ℓ! of them.
#[allow(clippy::needless_range_loop)]
#[differentiable(wrt(a))]
pub fn det(a: &[f64], ell: usize) -> f64 {
    let mut digits = vec![0usize; ell];
    // masks[r]: the columns the depths before r use.
    let mut masks = vec![0u64; ell + 1];
    let mut prefix = vec![0.0; ell + 1];
    prefix[0] = 1.0;
    let mut total = 0.0;
    let mut from = 0;
    let mut more = true;
    // ℓ! iterations: the reverse mode keeps the odometer's state every 4,096 of them and
    // one segment's records, not every iteration's (ℓ = 11: 6 MB instead of 6 GB, and
    // faster for it; one more run of the expansion at every ℓ).
    #[checkpoint(every = 4096)]
    while more {
        for r in from..ell {
            let c = column(masks[r], digits[r], ell);
            masks[r + 1] = masks[r] | (1u64 << c);
            let mut factor = a[r * ell + c];
            if digits[r] % 2 == 1 {
                factor = -factor;
            }
            prefix[r + 1] = prefix[r] * factor;
        }
        total += prefix[ell];
        // The odometer: the last digit that can still grow grows, those after it reset.
        let mut r = ell;
        let mut carried = true;
        while carried && r > 0 {
            r -= 1;
            if digits[r] + 1 < ell - r {
                digits[r] += 1;
                carried = false;
            } else {
                digits[r] = 0;
            }
        }
        from = r;
        more = !carried;
    }
    total
}

/// The `k`-th column (from 0) that `used` does not have.
fn column(used: u64, k: usize, ell: usize) -> usize {
    let mut seen = 0;
    for c in 0..ell {
        if used & (1u64 << c) == 0 {
            if seen == k {
                return c;
            }
            seen += 1;
        }
    }
    ell
}

pub fn job(function: &str, input: Value) -> Result<Box<dyn Job>, String> {
    let input: Input = parse(input)?;
    let ell = input.ell;
    if ell == 0 || ell > 20 || input.a.len() != ell * ell {
        return Err(format!(
            "det: {} numbers for ℓ = {ell} (1 ≤ ℓ ≤ 20)",
            input.a.len()
        ));
    }
    match function {
        "primal" => Ok(computation(input, |i| det(&i.a, i.ell), |y| json!(y))),
        "gradient" => Ok(computation(
            input,
            |i| det_grad(&i.a, i.ell).1,
            |g| json!(g),
        )),
        _ => Err(unknown("det", function)),
    }
}
