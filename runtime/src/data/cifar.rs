//! The official CIFAR-10 binary release, `cifar-10-batches-bin/`: `data_batch_1.bin` ..
//! `data_batch_5.bin` and `test_batch.bin`, 3,073-byte records (one label byte, then the
//! 1,024 red, green and blue bytes of a 32×32 image, each plane row-major).

use super::{DataError, Dataset};
use std::path::Path;

const RECORD: usize = 1 + 3 * 32 * 32;

/// The CIFAR-10 class names, by label.
pub const CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// The training set (the five data batches) or the test set of the binary release in `dir`.
///
/// # Errors
/// A missing file, or one whose length is not a whole number of records or that holds a
/// label above 9.
pub fn read_cifar10_binary(dir: &Path, train: bool) -> Result<Dataset, DataError> {
    let names: Vec<String> = if train {
        (1..=5).map(|i| format!("data_batch_{i}.bin")).collect()
    } else {
        vec!["test_batch.bin".into()]
    };
    let mut set = Dataset {
        channels: 3,
        height: 32,
        width: 32,
        classes: CLASSES.iter().map(|s| s.to_string()).collect(),
        ..Dataset::default()
    };
    for name in names {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| DataError::new(&path, e.to_string()))?;
        if bytes.is_empty() || bytes.len() % RECORD != 0 {
            return Err(DataError::new(
                &path,
                format!(
                    "{} bytes is not a whole number of {RECORD}-byte records",
                    bytes.len()
                ),
            ));
        }
        for (i, record) in bytes.chunks(RECORD).enumerate() {
            if record[0] > 9 {
                return Err(DataError::new(
                    &path,
                    format!("record {i} has label {}", record[0]),
                ));
            }
            set.labels.push(record[0]);
            set.images.extend_from_slice(&record[1..]);
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records_and_rejects_truncated_files() {
        let dir = std::env::temp_dir().join(format!("cifar-bin-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut record = vec![7u8];
        record.extend((0..3072).map(|i| (i % 251) as u8));
        std::fs::write(
            dir.join("test_batch.bin"),
            [record.clone(), record].concat(),
        )
        .unwrap();
        let set = read_cifar10_binary(&dir, false).unwrap();
        assert_eq!(
            (set.len(), set.labels[1], set.image(1)[1024]),
            (2, 7, (1024 % 251) as u8)
        );
        std::fs::write(dir.join("test_batch.bin"), vec![1u8; RECORD + 5]).unwrap();
        let err = read_cifar10_binary(&dir, false).unwrap_err();
        assert!(err.to_string().contains("test_batch.bin") && err.message.contains("records"));
        let err = read_cifar10_binary(&dir, true).unwrap_err();
        assert!(err.to_string().contains("data_batch_1.bin"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
