//! Training utilities: evaluation without derivatives, and small reporting helpers.

use crate::data::{Dataset, Normalize};
use crate::Tensor;
use nalgebra::DMatrix;

/// The fraction of `set` whose largest class score is its label, computing `scores` (one
/// column per image) on batches of `batch` images: no derivative is computed.
pub fn accuracy(
    set: &Dataset,
    norm: &Normalize,
    batch: usize,
    scores: impl Fn(&Tensor) -> DMatrix<f32>,
) -> f64 {
    let order: Vec<usize> = (0..set.len()).collect();
    let mut correct = 0;
    for chunk in order.chunks(batch.max(1)) {
        let (x, labels) = set.batch(chunk, norm);
        let z = scores(&x);
        for (j, &label) in labels.iter().enumerate() {
            correct += usize::from(z.column(j).imax() == label);
        }
    }
    correct as f64 / set.len().max(1) as f64
}

/// The process's peak resident memory in MB, where the system reports it (Linux).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// `[a, b, c]` with `digits` decimals, for a JSON line.
pub fn json_list(values: &[f64], digits: usize) -> String {
    let items: Vec<String> = values.iter().map(|x| format!("{x:.digits$}")).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_counts_the_largest_score() {
        let set = Dataset {
            images: vec![0, 255, 255, 0],
            labels: vec![1, 1],
            channels: 1,
            height: 1,
            width: 2,
            classes: Vec::new(),
        };
        let norm = Normalize::uniform(1, 0.0, 1.0);
        // Scores: the two pixels themselves.
        let acc = accuracy(&set, &norm, 1, |x| {
            DMatrix::from_column_slice(2, 1, x.data())
        });
        assert_eq!(acc, 0.5);
        assert_eq!(json_list(&[0.5, 0.25], 2), "[0.50, 0.25]");
    }
}
