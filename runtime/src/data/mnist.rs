//! MNIST's IDX files (`*-images-idx3-ubyte`, `*-labels-idx1-ubyte`), plain or gzipped.

use super::{DataError, Dataset};
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::Path;

/// The images and labels in `dir` with prefix `train` or `t10k` (each file as is or
/// with `.gz`).
///
/// # Errors
/// A missing file, a wrong magic number, a truncated file, or counts that differ.
pub fn read_mnist(dir: &Path, prefix: &str) -> Result<Dataset, DataError> {
    let images = read_idx(dir, &format!("{prefix}-images-idx3-ubyte"), 0x0803)?;
    let labels = read_idx(dir, &format!("{prefix}-labels-idx1-ubyte"), 0x0801)?;
    let (dims, pixels) = images;
    let (label_dims, labels) = labels;
    let [n, h, w] = dims[..] else {
        return Err(DataError::new(dir, "images file without 3 dimensions"));
    };
    if label_dims != [n] {
        return Err(DataError::new(
            dir,
            format!(
                "{n} images but {} labels",
                label_dims.first().copied().unwrap_or(0)
            ),
        ));
    }
    Ok(Dataset {
        images: pixels,
        labels,
        channels: 1,
        height: h,
        width: w,
        classes: (0..10).map(|d| d.to_string()).collect(),
    })
}

/// An IDX file's dimensions and bytes, checking the magic number and the length.
fn read_idx(dir: &Path, name: &str, magic: u32) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    let plain = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    let (path, bytes) = if plain.exists() {
        let bytes = std::fs::read(&plain).map_err(|e| DataError::new(&plain, e.to_string()))?;
        (plain, bytes)
    } else {
        let file = std::fs::File::open(&gz).map_err(|e| DataError::new(&gz, e.to_string()))?;
        let mut bytes = Vec::new();
        GzDecoder::new(file)
            .read_to_end(&mut bytes)
            .map_err(|e| DataError::new(&gz, format!("bad gzip data: {e}")))?;
        (gz, bytes)
    };
    let word = |i: usize| -> Option<u32> {
        bytes
            .get(4 * i..4 * i + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let found = word(0).ok_or_else(|| DataError::new(&path, "shorter than its header"))?;
    if found != magic {
        return Err(DataError::new(
            &path,
            format!("magic number {found:#010x}, expected {magic:#010x}"),
        ));
    }
    let ndim = (magic & 0xff) as usize;
    let dims: Vec<usize> = (1..=ndim)
        .map(|i| word(i).map(|d| d as usize))
        .collect::<Option<_>>()
        .ok_or_else(|| DataError::new(&path, "shorter than its header"))?;
    let body = &bytes[4 * (ndim + 1)..];
    let expected: usize = dims.iter().product();
    if body.len() != expected {
        return Err(DataError::new(
            &path,
            format!(
                "{} data bytes, expected {expected} for dimensions {dims:?}",
                body.len()
            ),
        ));
    }
    Ok((dims, body.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_files_and_reports_truncation() {
        let dir = std::env::temp_dir().join(format!("idx-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut images = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2];
        images.extend([1, 2, 3, 4, 5, 6, 7, 8]);
        std::fs::write(dir.join("x-images-idx3-ubyte"), &images).unwrap();
        std::fs::write(
            dir.join("x-labels-idx1-ubyte"),
            [0, 0, 8, 1, 0, 0, 0, 2, 3, 9],
        )
        .unwrap();
        let set = read_mnist(&dir, "x").unwrap();
        assert_eq!(
            (set.len(), set.image(1), set.labels[1]),
            (2, &[5u8, 6, 7, 8][..], 9)
        );
        images.pop();
        std::fs::write(dir.join("x-images-idx3-ubyte"), &images).unwrap();
        let err = read_mnist(&dir, "x").unwrap_err();
        assert!(err.message.contains("expected 8"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
