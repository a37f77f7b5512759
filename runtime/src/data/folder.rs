//! Image folders: `root/<class>/*.png|jpg|jpeg`, classes numbered in sorted order of their
//! names (what torchvision's `ImageFolder` does), decoded in parallel.

use super::{DataError, Dataset};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Every image under `root/<class>/`, as RGB bytes; all must have the same size.
///
/// # Errors
/// An unreadable folder or file, a file that does not decode, images of different sizes,
/// or no images at all.
pub fn read_image_folder(root: &Path) -> Result<Dataset, DataError> {
    let mut classes: Vec<(String, PathBuf)> = std::fs::read_dir(root)
        .map_err(|e| DataError::new(root, e.to_string()))?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    classes.sort();
    let mut files: Vec<(PathBuf, u8)> = Vec::new();
    for (label, (_, dir)) in classes.iter().enumerate() {
        let label =
            u8::try_from(label).map_err(|_| DataError::new(root, "more than 256 classes"))?;
        let mut in_class: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| DataError::new(dir, e.to_string()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| is_image(p))
            .collect();
        in_class.sort();
        files.extend(in_class.into_iter().map(|p| (p, label)));
    }
    if files.is_empty() {
        return Err(DataError::new(root, "no images in root/<class>/ folders"));
    }
    let decoded: Vec<(Vec<u8>, u32, u32)> = files
        .par_iter()
        .map(|(path, _)| decode(path))
        .collect::<Result<_, _>>()?;
    let (width, height) = (decoded[0].1, decoded[0].2);
    let mut set = Dataset {
        channels: 3,
        height: height as usize,
        width: width as usize,
        classes: classes.into_iter().map(|(name, _)| name).collect(),
        ..Dataset::default()
    };
    set.images.reserve(files.len() * set.image_len());
    for ((path, label), (planes, w, h)) in files.iter().zip(decoded) {
        if (w, h) != (width, height) {
            return Err(DataError::new(
                path,
                format!("a {w}×{h} image among {width}×{height} ones"),
            ));
        }
        set.images.extend_from_slice(&planes);
        set.labels.push(*label);
    }
    Ok(set)
}

fn is_image(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    ["png", "jpg", "jpeg"].contains(&ext.to_ascii_lowercase().as_str())
}

/// The image's RGB planes (channel-major, as PyTorch's `ToTensor`) and its size.
fn decode(path: &Path) -> Result<(Vec<u8>, u32, u32), DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::new(path, e.to_string()))?;
    let image = image::load_from_memory(&bytes)
        .map_err(|e| DataError::new(path, format!("not a readable image: {e}")))?
        .to_rgb8();
    let (w, h) = image.dimensions();
    let plane = (w * h) as usize;
    let mut planes = vec![0u8; 3 * plane];
    for (i, pixel) in image.pixels().enumerate() {
        for c in 0..3 {
            planes[c * plane + i] = pixel.0[c];
        }
    }
    Ok((planes, w, h))
}
