//! ADBench's input files, read into the layouts of the objectives here, and ADBench's GMM
//! references converted to GradBench's form. ADBench's files are whitespace-separated
//! numbers (its readers use `fscanf`); a missing file, a token that is not a number or a
//! file too short for the sizes it announces is an error naming the file.
//!
//! ADBench's GMM objective rounds π to 3.14159265359 and gives the Wishart prior the
//! other sign: with `P = Σ_k (C(π) − ½γ²‖Q_k‖²_F + m Σⱼ q_kj)` GradBench adds `P(π)` where
//! ADBench subtracts `P(π_A)`, and the data terms are shared. So
//! `GradBench = ADBench + N·D/2·(ln 2π_A − ln 2π) + K·(C(π) + C(π_A)) + 2·Σ_k(m Σ q − ½γ²F)`
//! and the gradient differs by `2(m − γ² e^{2q})` in `q` and `−2γ² l` in `l`.

use super::objectives::gmm::{constant, log_posterior_grad};
use crate::special::ln_gamma;
use std::io::{Error, ErrorKind};
use std::path::Path;

/// The numbers of a file.
pub fn numbers(path: &Path) -> Result<Vec<f64>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::new(e.kind(), format!("cannot read {}: {e}", path.display())))?;
    text.split_whitespace()
        .map(|t| {
            t.parse().map_err(|e| {
                let message = format!("{}: {t:?} is not a number: {e}", path.display());
                Error::new(ErrorKind::InvalidData, message)
            })
        })
        .collect()
}

/// Consecutive parts of a file's numbers.
struct Parts<'a> {
    numbers: &'a [f64],
    at: usize,
    path: &'a Path,
}

impl Parts<'_> {
    fn take(&mut self, len: usize) -> Result<Vec<f64>, Error> {
        let part = self.numbers.get(self.at..self.at + len).ok_or_else(|| {
            let message = format!("{}: too short for the sizes it gives", self.path.display());
            Error::new(ErrorKind::InvalidData, message)
        })?;
        self.at += len;
        Ok(part.to_vec())
    }

    /// The next number as a size.
    fn size(&mut self) -> Result<usize, Error> {
        Ok(self.take(1)?[0] as usize)
    }
}

/// One GMM instance, with ADBench's `icf` split into `q` (each component's log-diagonal)
/// and `l` (its strictly lower triangle, column by column in both layouts).
pub struct Gmm {
    /// The dimension of the points.
    pub d: usize,
    /// The number of mixture components.
    pub k: usize,
    /// The number of points.
    pub n: usize,
    /// The components' log-weights (`k`).
    pub alpha: Vec<f64>,
    /// The components' means (`k × d`).
    pub mu: Vec<f64>,
    /// The log-diagonals of the components' inverse-covariance factors (`k × d`).
    pub q: Vec<f64>,
    /// Their strictly lower triangles (`k × d(d−1)/2`).
    pub l: Vec<f64>,
    /// The points (`n × d`).
    pub x: Vec<f64>,
    /// The Wishart prior's γ.
    pub gamma: f64,
    /// The Wishart prior's m.
    pub m: f64,
}

/// `<dir>/gmm/<name>.txt`.
pub fn read_gmm(dir: &Path, name: &str) -> Result<Gmm, Error> {
    let path = dir.join(format!("gmm/{name}.txt"));
    let v = numbers(&path)?;
    let mut parts = Parts {
        numbers: &v,
        at: 0,
        path: &path,
    };
    let (d, k, n) = (parts.size()?, parts.size()?, parts.size()?);
    let icf_size = d * (d + 1) / 2;
    let (alpha, mu) = (parts.take(k)?, parts.take(k * d)?);
    let (icf, x) = (parts.take(k * icf_size)?, parts.take(n * d)?);
    let wishart = parts.take(2)?;
    let q = icf.chunks(icf_size).flat_map(|c| c[..d].to_vec()).collect();
    let l = icf.chunks(icf_size).flat_map(|c| c[d..].to_vec()).collect();
    Ok(Gmm {
        d,
        k,
        n,
        alpha,
        mu,
        q,
        l,
        x,
        gamma: wishart[0],
        m: wishart[1],
    })
}

impl Gmm {
    /// GradBench's objective and its gradient `[alpha, mu, q, l]`.
    pub fn evaluate(&self) -> (f64, Vec<f64>) {
        let c = constant(self.d, self.k, self.n, self.gamma, self.m);
        let (value, (a, mu, q, l)) = log_posterior_grad(
            &self.alpha,
            &self.mu,
            &self.q,
            &self.l,
            &self.x,
            self.d,
            self.k,
            self.n,
            self.gamma,
            self.m,
            c,
        );
        (value, [a, mu, q, l].concat())
    }

    /// ADBench's reference objective and gradient for this instance
    /// (`<dir>/gmm/<name>.ref_F.txt` and `.ref_J.txt`), in GradBench's form.
    pub fn reference(&self, dir: &Path, name: &str) -> Result<(f64, Vec<f64>), Error> {
        let folder = dir.join("gmm");
        let value = numbers(&folder.join(format!("{name}.ref_F.txt")))?;
        let j = numbers(&folder.join(format!("{name}.ref_J.txt")))?;
        let (d, k, icf) = (self.d, self.k, self.d * (self.d + 1) / 2);
        if value.is_empty() || j.len() != k + k * d + k * icf {
            let message = format!(
                "{}: the references do not fit the instance",
                folder.display()
            );
            return Err(Error::new(ErrorKind::InvalidData, message));
        }
        let (q, l, prior) = self.prior_gradient(&j[k + k * d..]);
        let value = value[0] + self.constant_difference() + 2.0 * prior;
        Ok((value, [&j[..k + k * d], &q[..], &l[..]].concat()))
    }

    /// The `q` and `l` parts of GradBench's gradient from ADBench's `icf` part, and
    /// `Σ_k(m Σ q − ½γ²F)`.
    fn prior_gradient(&self, icf_gradient: &[f64]) -> (Vec<f64>, Vec<f64>, f64) {
        let (d, icf) = (self.d, self.d * (self.d + 1) / 2);
        let g2 = self.gamma * self.gamma;
        let (mut q, mut l) = (Vec::new(), Vec::new());
        let (mut sum_q, mut frobenius) = (0.0, 0.0);
        for (c, reference) in icf_gradient.chunks(icf).enumerate() {
            for (t, &r) in reference.iter().enumerate() {
                if t < d {
                    let qv = self.q[c * d + t];
                    q.push(r + 2.0 * (self.m - g2 * (2.0 * qv).exp()));
                    sum_q += qv;
                    frobenius += (2.0 * qv).exp();
                } else {
                    let lv = self.l[c * (icf - d) + t - d];
                    l.push(r - 2.0 * g2 * lv);
                    frobenius += lv * lv;
                }
            }
        }
        (q, l, self.m * sum_q - 0.5 * g2 * frobenius)
    }

    /// `N·D/2·(ln 2π_A − ln 2π) + K·(C(π) + C(π_A))`.
    fn constant_difference(&self) -> f64 {
        #[allow(clippy::approx_constant)]
        let adbench_pi: f64 = 3.14159265359;
        let pi = std::f64::consts::PI;
        let (df, kf, nf) = (self.d as f64, self.k as f64, self.n as f64);
        let c = |pi: f64| {
            let nu = df + self.m + 1.0;
            let log_gamma_d = 0.25 * df * (df - 1.0) * pi.ln()
                + (1..=self.d)
                    .map(|j| ln_gamma(0.5 * nu + 0.5 * (1.0 - j as f64)))
                    .sum::<f64>();
            nu * df * (self.gamma.ln() - 0.5 * 2.0_f64.ln()) - log_gamma_d
        };
        0.5 * nf * df * ((2.0 * adbench_pi).ln() - (2.0 * pi).ln()) + kf * (c(pi) + c(adbench_pi))
    }
}

/// One LSTM instance.
pub struct Lstm {
    /// The number of layers.
    pub l: usize,
    /// The number of characters (time steps).
    pub c: usize,
    /// The width of the state and input.
    pub b: usize,
    /// The layers' weights and biases (`2l × 4b`).
    pub main: Vec<f64>,
    /// The input and output weights (`3 × b`).
    pub extra: Vec<f64>,
    /// The initial hidden and cell states (`2l × b`).
    pub state: Vec<f64>,
    /// The input sequence (`c × b`).
    pub seq: Vec<f64>,
}

/// `<dir>/lstm/<name>.txt`.
pub fn read_lstm(dir: &Path, name: &str) -> Result<Lstm, Error> {
    let path = dir.join(format!("lstm/{name}.txt"));
    let v = numbers(&path)?;
    let mut parts = Parts {
        numbers: &v,
        at: 0,
        path: &path,
    };
    let (l, c, b) = (parts.size()?, parts.size()?, parts.size()?);
    Ok(Lstm {
        l,
        c,
        b,
        main: parts.take(8 * l * b)?,
        extra: parts.take(3 * b)?,
        state: parts.take(2 * l * b)?,
        seq: parts.take(c * b)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("autodiff-adbench-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("lstm")).unwrap();
        std::fs::write(dir.join("lstm").join(name), text).unwrap();
        dir
    }

    #[test]
    fn bad_files_are_errors_naming_the_file() {
        let dir = file("short.txt", "1 1 1 0.5");
        let err = read_lstm(&dir, "short").err().unwrap().to_string();
        assert!(
            err.contains("short.txt") && err.contains("too short"),
            "{err}"
        );
        let dir = file("junk.txt", "1 x 1");
        let err = read_lstm(&dir, "junk").err().unwrap().to_string();
        assert!(err.contains("junk.txt") && err.contains("\"x\""), "{err}");
        let err = read_lstm(&dir, "missing").err().unwrap().to_string();
        assert!(err.contains("missing.txt"), "{err}");
    }
}
