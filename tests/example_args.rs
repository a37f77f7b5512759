//! The training examples' flag checks (`examples/common/args.rs`), made before any work.

#[path = "../examples/common/args.rs"]
mod args;

#[test]
fn counts_rates_and_fractions_are_checked() {
    assert_eq!(args::positive("64"), Ok(64));
    assert!(args::positive("0").unwrap_err().contains("at least 1"));
    assert!(args::positive("-3").is_err());
    assert!(args::positive("2.5").is_err());
    assert_eq!(args::rate("1e-3"), Ok(1e-3));
    for bad in ["0", "-0.1", "NaN", "inf", "fast"] {
        assert!(args::rate(bad).is_err(), "{bad}");
    }
    assert_eq!(args::fraction("0.3"), Ok(0.3));
    assert!(args::fraction("30")
        .unwrap_err()
        .contains("not a percentage"));
    assert!(args::fraction("-0.1").is_err());
}

#[test]
fn output_paths_are_checked_without_touching_them() {
    let dir = std::env::temp_dir().join(format!("autodiff-args-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let existing = dir.join("model.safetensors");
    std::fs::write(&existing, b"keep me").unwrap();
    // A writable folder: fine, and an existing file there is left as it is.
    assert_eq!(args::writable("checkpoint", &existing), Ok(()));
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "the probe file is removed"
    );
    // A folder that does not exist, and a folder given as the file.
    let missing = dir.join("no/such/plot.svg");
    assert!(args::writable("plot", &missing)
        .unwrap_err()
        .contains("does not exist"));
    assert!(args::writable("csv", &dir)
        .unwrap_err()
        .contains("is a folder"));
    // A bare file name is in the current folder.
    assert_eq!(
        args::writable("csv", std::path::Path::new("report.csv")),
        Ok(())
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
