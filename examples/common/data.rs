//! Where the training examples' data comes from: `--data DIR`, or `--download` (with an
//! optional `--mirror`) into the cache folder.

use autodiff::data::download::{DownloadError, Options};
use std::path::{Path, PathBuf};

/// `data` if given, else what `fetch` downloads (with a progress bar) into the cache.
pub fn folder(
    data: Option<&Path>,
    mirror: Option<&str>,
    fetch: fn(&Options) -> Result<PathBuf, DownloadError>,
) -> Result<PathBuf, String> {
    if let Some(dir) = data {
        return Ok(dir.to_path_buf());
    }
    let options = Options {
        mirror: mirror.map(str::to_string),
        progress: true,
        ..Options::default()
    };
    fetch(&options).map_err(|e| e.to_string())
}
