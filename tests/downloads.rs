//! Downloads (`autodiff::data::download`) against a local HTTP server on 127.0.0.1: a
//! made-up archive with its checksum, a damaged one, a transfer cut short, a refused
//! connection. Nothing is left in the cache after a failure.
#![cfg(feature = "download")]

use autodiff::data::download::{self, DownloadError, Options, Remote};
use md5::{Digest, Md5};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// What the server answers to every request.
#[derive(Clone)]
enum Reply {
    /// `200 OK` with the body.
    Body(Vec<u8>),
    /// `200 OK` announcing the body's length, then half of it and the connection closed.
    CutShort(Vec<u8>),
    /// This status and no body.
    Status(u16),
}

/// A server on a free port answering every request with `reply`; its base address.
fn serve(reply: Reply) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
    let addr = listener.local_addr().expect("its address");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // The request head, up to the empty line.
            let mut reader = BufReader::new(stream.try_clone().expect("the stream"));
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let (status, body, announced) = match &reply {
                Reply::Body(b) => (200, &b[..], b.len()),
                Reply::CutShort(b) => (200, &b[..b.len() / 2], b.len()),
                Reply::Status(s) => (*s, &[][..], 0),
            };
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body);
        }
    });
    format!("http://{addr}/")
}

/// An empty cache folder of its own for each test.
fn cache(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("autodiff-dl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a cache folder");
    dir
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A `.tar.gz` holding `folder/a.bin` and `folder/b.bin`.
fn archive(folder: &str) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, content) in [("a.bin", &b"first file"[..]), ("b.bin", &[7u8; 3000][..])] {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("{folder}/{name}"), content)
            .expect("an entry");
    }
    tar.into_inner()
        .expect("the tar")
        .finish()
        .expect("the gzip")
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn a_file_with_its_checksum_is_kept_and_unpacked() {
    let bytes = archive("data-batches");
    let base = serve(Reply::Body(bytes.clone()));
    let dir = cache("ok");
    let remote = Remote {
        name: "set.tar.gz",
        md5: "",
    };
    let options = Options {
        mirror: Some(base),
        ..Options::default()
    };
    let url = options.url("https://unused.example/", &remote);
    assert!(url.ends_with("/set.tar.gz"), "{url}");
    let archive_path = dir.join("set.tar.gz");
    download::fetch(&url, &md5_hex(&bytes), &archive_path, false).expect("the download");
    assert_eq!(std::fs::read(&archive_path).unwrap(), bytes);
    let dest = dir.join("unpacked");
    download::unpack(&archive_path, "data-batches", &dest).expect("the unpacking");
    assert_eq!(entries(&dest), ["a.bin", "b.bin"]);
    assert_eq!(std::fs::read(dest.join("a.bin")).unwrap(), b"first file");
    // Only the archive and the folder: no temporary files.
    assert_eq!(entries(&dir), ["set.tar.gz", "unpacked"]);
    // An archive without the expected folder is an error, and leaves nothing behind.
    let err = download::unpack(&archive_path, "other", &dir.join("x")).unwrap_err();
    assert!(err.to_string().contains("holds no folder other"), "{err}");
    assert_eq!(entries(&dir), ["set.tar.gz", "unpacked"]);
}

#[test]
fn a_damaged_file_is_refused_and_nothing_is_kept() {
    let mut bytes = archive("d");
    let published = md5_hex(&bytes);
    bytes[100] ^= 0xff;
    let base = serve(Reply::Body(bytes));
    let dir = cache("damaged");
    let err = download::fetch(
        &format!("{base}f.tar.gz"),
        &published,
        &dir.join("f.tar.gz"),
        false,
    )
    .unwrap_err();
    assert!(matches!(err, DownloadError::Checksum { .. }), "{err}");
    assert!(err.to_string().contains(&published), "{err}");
    assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
}

#[test]
fn a_transfer_cut_short_is_an_error_and_nothing_is_kept() {
    let bytes = archive("t");
    let base = serve(Reply::CutShort(bytes.clone()));
    let dir = cache("short");
    let err = download::fetch(
        &format!("{base}f.tar.gz"),
        &md5_hex(&bytes),
        &dir.join("f"),
        false,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            DownloadError::Transfer { .. } | DownloadError::Checksum { .. }
        ),
        "{err}"
    );
    assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
}

#[test]
fn a_refused_connection_and_an_error_status_say_what_failed() {
    // A port that was free a moment ago: nothing listens there now.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = cache("refused");
    let url = format!("http://127.0.0.1:{port}/f.gz");
    let err = download::fetch(&url, "0", &dir.join("f.gz"), false).unwrap_err();
    assert!(matches!(err, DownloadError::Connect { .. }), "{err}");
    assert!(err.to_string().contains("offline?"), "{err}");
    let base = serve(Reply::Status(404));
    let err = download::fetch(&format!("{base}f.gz"), "0", &dir.join("f.gz"), false).unwrap_err();
    assert!(
        matches!(err, DownloadError::Status { status: 404, .. }),
        "{err}"
    );
    assert!(entries(&dir).is_empty());
}

#[test]
fn mnist_files_come_from_the_mirror_into_the_cache() {
    // A mirror serving a file whose checksum is not MNIST's: refused, nothing kept.
    let base = serve(Reply::Body(b"not mnist".to_vec()));
    let dir = cache("mnist");
    let options = Options {
        cache: Some(dir.clone()),
        mirror: Some(base.clone()),
        progress: false,
    };
    let err = download::mnist(&options).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("{base}train-images-idx3-ubyte.gz")),
        "{err}"
    );
    assert_eq!(entries(&dir), ["mnist"]);
    assert!(entries(&dir.join("mnist")).is_empty());
}
