//! Training utilities: evaluation without derivatives, the per-epoch history with its
//! CSV file and loss/accuracy plot, and small reporting helpers.

use crate::data::{Dataset, Normalize};
use crate::Tensor;
use nalgebra::DMatrix;
use std::path::{Path, PathBuf};

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

/// What one epoch of training measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochRecord {
    /// Counted from 1.
    pub epoch: usize,
    /// The mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// The test accuracy after the epoch, a fraction.
    pub test_accuracy: f64,
    /// Training time of the epoch (without the evaluation).
    pub seconds: f64,
}

/// The records of a training run, epoch by epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// One record per epoch, in order.
    pub epochs: Vec<EpochRecord>,
}

impl History {
    /// Adds the record of the epoch just finished.
    pub fn push(&mut self, record: EpochRecord) {
        self.epochs.push(record);
    }

    /// `epoch,train_loss,test_accuracy,seconds`, then one line per epoch.
    pub fn to_csv(&self) -> String {
        let mut csv = String::from("epoch,train_loss,test_accuracy,seconds\n");
        for r in &self.epochs {
            csv += &format!(
                "{},{:.6},{:.6},{:.3}\n",
                r.epoch, r.train_loss, r.test_accuracy, r.seconds
            );
        }
        csv
    }

    /// Writes [`to_csv`](Self::to_csv) to `path` (replacing it only once complete).
    ///
    /// # Errors
    /// If the file cannot be written.
    pub fn write_csv(&self, path: &Path) -> std::io::Result<()> {
        write_replacing(path, self.to_csv().as_bytes())
    }

    /// An SVG picture of the run: training loss (left) and test accuracy in % (right)
    /// by epoch.
    ///
    /// # Errors
    /// If plotters cannot lay out the picture (it needs no fonts: text stays SVG text).
    pub fn to_svg(&self) -> Result<String, String> {
        use plotters::prelude::*;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (960, 400)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let (left, right) = root.split_horizontally(480);
            let epochs = self.epochs.len().max(1) as f64;
            let loss: Vec<(f64, f64)> = self.points(|r| r.train_loss);
            let accuracy: Vec<(f64, f64)> = self.points(|r| 100.0 * r.test_accuracy);
            let top = |pts: &[(f64, f64)]| pts.iter().map(|p| p.1).fold(0.0, f64::max) * 1.1;
            for (area, title, label, pts, y_max) in [
                (&left, "training loss", "loss", &loss, top(&loss).max(1e-3)),
                (&right, "test accuracy", "%", &accuracy, 100.0),
            ] {
                let mut chart = ChartBuilder::on(area)
                    .caption(title, ("sans-serif", 20))
                    .margin(12)
                    .x_label_area_size(35)
                    .y_label_area_size(45)
                    .build_cartesian_2d(0.5..epochs + 0.5, 0.0..y_max)
                    .map_err(|e| e.to_string())?;
                chart
                    .configure_mesh()
                    .x_desc("epoch")
                    .y_desc(label)
                    .draw()
                    .map_err(|e| e.to_string())?;
                chart
                    .draw_series(LineSeries::new(pts.iter().copied(), &BLUE))
                    .map_err(|e| e.to_string())?;
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 3, BLUE.filled())))
                    .map_err(|e| e.to_string())?;
            }
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(svg)
    }

    /// Writes [`to_svg`](Self::to_svg) to `path` (replacing it only once complete).
    ///
    /// # Errors
    /// If the picture cannot be made or the file cannot be written.
    pub fn write_svg(&self, path: &Path) -> std::io::Result<()> {
        let svg = self.to_svg().map_err(std::io::Error::other)?;
        write_replacing(path, svg.as_bytes())
    }

    fn points(&self, value: impl Fn(&EpochRecord) -> f64) -> Vec<(f64, f64)> {
        self.epochs
            .iter()
            .map(|r| (r.epoch as f64, value(r)))
            .collect()
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it to `path`: an
/// existing file is replaced only by a complete one.
///
/// # Errors
/// If either step fails (the temporary file is then left, never `path` half written).
pub fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".partial");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}

/// The process's peak resident memory in MB, where the system reports it (Linux).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
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
    }

    fn history() -> History {
        let mut h = History::default();
        for (epoch, loss, acc) in [(1, 1.5, 0.45), (2, 1.125, 0.5625)] {
            h.push(EpochRecord {
                epoch,
                train_loss: loss,
                test_accuracy: acc,
                seconds: 2.5,
            });
        }
        h
    }

    #[test]
    fn history_as_csv_and_svg() {
        let h = history();
        assert_eq!(
            h.to_csv(),
            "epoch,train_loss,test_accuracy,seconds\n\
             1,1.500000,0.450000,2.500\n\
             2,1.125000,0.562500,2.500\n"
        );
        let svg = h.to_svg().unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        for text in ["training loss", "test accuracy", "epoch"] {
            assert!(svg.contains(text), "no {text:?} in the picture");
        }
        // One marker per epoch in each panel.
        assert_eq!(svg.matches("<circle").count(), 4);
    }

    #[test]
    fn files_are_replaced_whole() {
        let dir = std::env::temp_dir().join(format!("autodiff-history-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("metrics.csv");
        std::fs::write(&csv, "old").unwrap();
        history().write_csv(&csv).unwrap();
        assert!(std::fs::read_to_string(&csv).unwrap().starts_with("epoch,"));
        // A folder that does not exist: an error, and nothing is created.
        let missing = dir.join("missing").join("metrics.csv");
        assert!(history().write_csv(&missing).is_err());
        assert!(!missing.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
