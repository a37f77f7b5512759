//! Downloads of the data sets the examples train on, as torchvision's `download=True`
//! does: CIFAR-10's binary release from its authors' site, MNIST from PyTorch's mirror.
//!
//! Each file is checked against its published MD5 checksum before it is used, and
//! everything is written atomically: a download goes to a temporary file that is renamed
//! once its checksum matches, and an archive is unpacked into a temporary folder renamed
//! once complete. A failed or interrupted download leaves nothing in the cache, and a
//! completed data set is not downloaded again.
//!
//! The cache folder is `$AUTODIFF_DATA`, else the platform's cache folder (`~/.cache/autodiff`
//! on Linux). `$AUTODIFF_DATA_MIRROR` (or [`Options::mirror`]) replaces the base address of
//! every file, for mirrors and local copies: the file names stay the same.

use md5::{Digest, Md5};
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A file to fetch: its name (appended to the base address) and its published MD5.
#[derive(Clone, Copy, Debug)]
pub struct Remote {
    /// The file's name, appended to the base address.
    pub name: &'static str,
    /// Its published MD5 checksum, in hexadecimal.
    pub md5: &'static str,
}

/// CIFAR-10's binary release (<https://www.cs.toronto.edu/~kriz/cifar.html>).
pub const CIFAR10_BASE: &str = "https://www.cs.toronto.edu/~kriz/";
/// The binary release's archive (162 MB) and its MD5 as published on that page.
pub const CIFAR10: Remote = Remote {
    name: "cifar-10-binary.tar.gz",
    md5: "c32a1d4ab5d03f1284b67883e8d87530",
};

/// MNIST's four IDX files on PyTorch's mirror (the original site no longer serves them).
pub const MNIST_BASE: &str = "https://ossci-datasets.s3.amazonaws.com/mnist/";
/// The four gzipped IDX files and their MD5s (those torchvision checks).
pub const MNIST: [Remote; 4] = [
    Remote {
        name: "train-images-idx3-ubyte.gz",
        md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    },
    Remote {
        name: "train-labels-idx1-ubyte.gz",
        md5: "d53e105ee54ea40749a09fcbcd1e9432",
    },
    Remote {
        name: "t10k-images-idx3-ubyte.gz",
        md5: "9fb629c4189551a2d022fa330f9573f3",
    },
    Remote {
        name: "t10k-labels-idx1-ubyte.gz",
        md5: "ec29112dd5afa0611ce80d1b7f02629c",
    },
];

/// Where data sets go and where they come from.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The cache folder; `None`: `$AUTODIFF_DATA`, else the platform's cache folder.
    pub cache: Option<PathBuf>,
    /// A base address replacing the official one; `None`: `$AUTODIFF_DATA_MIRROR` if set.
    pub mirror: Option<String>,
    /// Show a progress bar on standard error.
    pub progress: bool,
}

impl Options {
    /// The cache folder these options name (created if missing).
    pub fn cache_dir(&self) -> Result<PathBuf, DownloadError> {
        let dir = match (&self.cache, std::env::var_os("AUTODIFF_DATA")) {
            (Some(dir), _) => dir.clone(),
            (None, Some(dir)) => PathBuf::from(dir),
            (None, None) => dirs::cache_dir()
                .map(|d| d.join("autodiff"))
                .ok_or(DownloadError::NoCacheDir)?,
        };
        std::fs::create_dir_all(&dir).map_err(|e| DownloadError::io(&dir, e))?;
        Ok(dir)
    }

    /// The address of `file`: the mirror's, else `official` + its name.
    pub fn url(&self, official: &str, file: &Remote) -> String {
        let mirror = (self.mirror.clone()).or_else(|| std::env::var("AUTODIFF_DATA_MIRROR").ok());
        let base = mirror.unwrap_or_else(|| official.to_string());
        format!("{}/{}", base.trim_end_matches('/'), file.name)
    }
}

/// What went wrong, with the address or path it concerns.
#[derive(Debug)]
pub enum DownloadError {
    /// The server could not be reached (offline, refused, unknown host).
    Connect {
        /// The address asked for.
        url: String,
        /// What the HTTP client said.
        message: String,
    },
    /// The server answered with an error status.
    Status {
        /// The address asked for.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The transfer stopped before the end.
    Transfer {
        /// The address asked for.
        url: String,
        /// How it stopped.
        message: String,
    },
    /// The file's checksum is not the published one.
    Checksum {
        /// The address asked for.
        url: String,
        /// The published MD5.
        expected: String,
        /// The MD5 of what was received.
        found: String,
    },
    /// A local file or folder could not be written.
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The system's error.
        message: String,
    },
    /// The archive could not be unpacked, or lacks what it should hold.
    Unpack {
        /// The archive.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// No cache folder: set `$AUTODIFF_DATA`.
    NoCacheDir,
}

impl DownloadError {
    fn io(path: &Path, e: std::io::Error) -> DownloadError {
        DownloadError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}

impl fmt::Display for DownloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownloadError::Connect { url, message } => write!(
                f,
                "could not download {url}: {message} (offline? download it by hand and pass its \
                 folder, or set AUTODIFF_DATA_MIRROR to a mirror)"
            ),
            DownloadError::Status { url, status } => {
                write!(f, "could not download {url}: the server answered {status}")
            }
            DownloadError::Transfer { url, message } => {
                write!(
                    f,
                    "the download of {url} stopped: {message}; nothing was kept, try again"
                )
            }
            DownloadError::Checksum {
                url,
                expected,
                found,
            } => write!(
                f,
                "the file from {url} has MD5 {found}, not the published {expected}: it is \
                 damaged or not the official file; nothing was kept"
            ),
            DownloadError::Io { path, message } => {
                write!(f, "could not write {}: {message}", path.display())
            }
            DownloadError::Unpack { path, message } => {
                write!(f, "could not unpack {}: {message}", path.display())
            }
            DownloadError::NoCacheDir => write!(
                f,
                "this platform has no cache folder: set AUTODIFF_DATA to a folder for the data"
            ),
        }
    }
}

impl std::error::Error for DownloadError {}

/// Downloads `url` to `dest`, checking its MD5 against `md5`. The bytes go to a temporary
/// file beside `dest`, renamed to `dest` once the checksum matches; on any failure nothing
/// is left.
pub fn fetch(url: &str, md5: &str, dest: &Path, progress: bool) -> Result<(), DownloadError> {
    let partial = temporary(dest);
    let result = fetch_into(url, md5, &partial, progress)
        .and_then(|()| std::fs::rename(&partial, dest).map_err(|e| DownloadError::io(dest, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// A path beside `path` that no other process uses.
fn temporary(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let name = format!(".{}.part-{}", name.unwrap_or_default(), std::process::id());
    path.with_file_name(name)
}

/// An HTTP client that gives up on a host that does not answer (30 s to resolve or
/// connect) or a transfer that stalls (60 s without a byte), not on a long download.
fn agent() -> ureq::Agent {
    let patience = |s| Some(std::time::Duration::from_secs(s));
    ureq::Agent::config_builder()
        .timeout_resolve(patience(30))
        .timeout_connect(patience(30))
        .timeout_per_read(patience(60))
        .build()
        .into()
}

fn fetch_into(url: &str, md5: &str, path: &Path, progress: bool) -> Result<(), DownloadError> {
    let response = agent().get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(status) => DownloadError::Status {
            url: url.into(),
            status,
        },
        e => DownloadError::Connect {
            url: url.into(),
            message: e.to_string(),
        },
    })?;
    let length = response.body().content_length();
    let mut body = response.into_body().into_reader();
    let mut file = std::fs::File::create(path).map_err(|e| DownloadError::io(path, e))?;
    let bar = progress.then(|| progress_bar(url, length));
    let (digest, received) = copy_hashing(&mut body, &mut file, bar.as_ref(), url, path)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(expected) = length.filter(|&n| n != received) {
        return Err(DownloadError::Transfer {
            url: url.into(),
            message: format!("{received} of {expected} bytes received"),
        });
    }
    file.sync_all().map_err(|e| DownloadError::io(path, e))?;
    if !digest.eq_ignore_ascii_case(md5) {
        return Err(DownloadError::Checksum {
            url: url.into(),
            expected: md5.into(),
            found: digest,
        });
    }
    Ok(())
}

/// Copies `from` into `to`, hashing: the MD5 in hexadecimal and the byte count.
fn copy_hashing(
    from: &mut impl Read,
    to: &mut impl Write,
    bar: Option<&indicatif::ProgressBar>,
    url: &str,
    path: &Path,
) -> Result<(String, u64), DownloadError> {
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut received = 0u64;
    loop {
        let n = from
            .read(&mut buffer)
            .map_err(|e| DownloadError::Transfer {
                url: url.into(),
                message: e.to_string(),
            })?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        to.write_all(&buffer[..n])
            .map_err(|e| DownloadError::io(path, e))?;
        received += n as u64;
        if let Some(bar) = bar {
            bar.set_position(received);
        }
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((hex, received))
}

fn progress_bar(url: &str, length: Option<u64>) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(length.unwrap_or(0));
    let style = indicatif::ProgressStyle::with_template(
        "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    );
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar.set_message(url.rsplit('/').next().unwrap_or(url).to_string());
    bar
}

/// Unpacks the `.tar.gz` archive at `archive` and moves its folder `inner` to `dest`: the
/// archive goes into a temporary folder beside `dest`, and `inner` is renamed once all of
/// it is there.
pub fn unpack(archive: &Path, inner: &str, dest: &Path) -> Result<(), DownloadError> {
    let scratch = temporary(dest);
    let unpack_error = |message: String| DownloadError::Unpack {
        path: archive.to_path_buf(),
        message,
    };
    let result = (|| {
        let file = std::fs::File::open(archive).map_err(|e| DownloadError::io(archive, e))?;
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        tar.unpack(&scratch)
            .map_err(|e| unpack_error(e.to_string()))?;
        let folder = scratch.join(inner);
        if !folder.is_dir() {
            return Err(unpack_error(format!("it holds no folder {inner}")));
        }
        std::fs::rename(&folder, dest).map_err(|e| DownloadError::io(dest, e))
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// CIFAR-10's binary release in the cache: the folder `cifar-10-batches-bin` (downloaded
/// and unpacked the first time; the archive is removed once unpacked).
pub fn cifar10(options: &Options) -> Result<PathBuf, DownloadError> {
    let cache = options.cache_dir()?;
    let dest = cache.join("cifar-10-batches-bin");
    if dest.join("test_batch.bin").is_file() {
        return Ok(dest);
    }
    let archive = cache.join(CIFAR10.name);
    if !archive.is_file() {
        let url = options.url(CIFAR10_BASE, &CIFAR10);
        fetch(&url, CIFAR10.md5, &archive, options.progress)?;
    }
    unpack(&archive, "cifar-10-batches-bin", &dest)?;
    let _ = std::fs::remove_file(&archive);
    Ok(dest)
}

/// MNIST's four IDX files in the cache folder `mnist` (each downloaded the first time).
pub fn mnist(options: &Options) -> Result<PathBuf, DownloadError> {
    let dir = options.cache_dir()?.join("mnist");
    std::fs::create_dir_all(&dir).map_err(|e| DownloadError::io(&dir, e))?;
    for file in &MNIST {
        let dest = dir.join(file.name);
        if !dest.is_file() {
            fetch(
                &options.url(MNIST_BASE, file),
                file.md5,
                &dest,
                options.progress,
            )?;
        }
    }
    Ok(dir)
}
