//! Checkpoints in the safetensors format, with PyTorch `state_dict` names and layouts: a
//! model's parameters by their visit names (`conv1.weight`, `fc1.bias`, ..), in row-major
//! order with their shapes (a nalgebra matrix is transposed on the way), so that
//! `safetensors.torch.load_file` gives a `state_dict` PyTorch's model loads.

use crate::{Differentiable, Floats, FloatsMut, Layout};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong saving or loading a checkpoint.
#[derive(Debug)]
pub struct CheckpointError {
    /// The checkpoint file.
    pub path: PathBuf,
    /// What was wrong with it.
    pub message: String,
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for CheckpointError {}

fn error(path: &Path, message: impl Into<String>) -> CheckpointError {
    CheckpointError {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// One parameter as stored: name, shape, dtype and little-endian row-major bytes.
struct Stored {
    name: String,
    shape: Vec<usize>,
    dtype: Dtype,
    bytes: Vec<u8>,
}

/// The row-major order of `n` numbers laid out as `layout`: index `i` of the result is
/// index `order[i]` in visit order.
fn row_major_order(layout: &Layout, n: usize) -> Vec<usize> {
    match (layout.column_major, layout.shape.as_slice()) {
        (true, &[rows, cols]) => (0..n).map(|i| (i % cols) * rows + i / cols).collect(),
        _ => (0..n).collect(),
    }
}

fn layouts<P: Differentiable>(params: &P) -> Vec<(String, Layout)> {
    let mut out = Vec::new();
    params.visit_layout("", &mut |name, layout| out.push((name.to_string(), layout)));
    out
}

/// Writes every parameter of `params` to `path` (first to a temporary file beside it,
/// then renamed, so an existing checkpoint is replaced only by a complete one).
///
/// # Errors
/// If the file cannot be written.
pub fn save<P: Differentiable>(path: &Path, params: &P) -> Result<(), CheckpointError> {
    let layouts = layouts(params);
    let mut stored = Vec::new();
    let mut k = 0;
    params.visit("", &mut |name, xs| {
        let layout = &layouts[k].1;
        k += 1;
        let order = row_major_order(layout, xs.len());
        let (dtype, bytes) = match xs {
            Floats::F32(v) => (
                Dtype::F32,
                order.iter().flat_map(|&i| v[i].to_le_bytes()).collect(),
            ),
            Floats::F64(v) => (
                Dtype::F64,
                order.iter().flat_map(|&i| v[i].to_le_bytes()).collect(),
            ),
        };
        stored.push(Stored {
            name: name.to_string(),
            shape: layout.shape.clone(),
            dtype,
            bytes,
        });
    });
    let views: Vec<(String, TensorView<'_>)> = stored
        .iter()
        .map(|s| {
            let view = TensorView::new(s.dtype, s.shape.clone(), &s.bytes)
                .map_err(|e| error(path, format!("tensor {}: {e}", s.name)))?;
            Ok((s.name.clone(), view))
        })
        .collect::<Result<_, CheckpointError>>()?;
    let bytes = safetensors::serialize(views, None).map_err(|e| error(path, e.to_string()))?;
    crate::train::write_replacing(path, &bytes).map_err(|e| error(path, e.to_string()))
}

/// Sets every parameter of `params` from the checkpoint at `path`. Every tensor is checked
/// (present, same dtype and shape) before anything is written, so on error `params` is
/// unchanged.
///
/// # Errors
/// An unreadable or malformed file, or a missing or mismatched tensor (named).
pub fn load<P: Differentiable>(path: &Path, params: &mut P) -> Result<(), CheckpointError> {
    let bytes = std::fs::read(path).map_err(|e| error(path, e.to_string()))?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| error(path, format!("not a safetensors file: {e}")))?;
    let layouts = layouts(params);
    let mut dtypes = Vec::new();
    params.visit("", &mut |_, xs| {
        dtypes.push(match xs {
            Floats::F32(_) => Dtype::F32,
            Floats::F64(_) => Dtype::F64,
        })
    });
    let mut views = Vec::new();
    for ((name, layout), dtype) in layouts.iter().zip(&dtypes) {
        let view = file
            .tensor(name)
            .map_err(|_| error(path, format!("no tensor named {name}")))?;
        if view.dtype() != *dtype || view.shape() != layout.shape.as_slice() {
            return Err(error(
                path,
                format!(
                    "{name} is {:?} {:?} in the checkpoint, the model has {:?} {:?}",
                    view.dtype(),
                    view.shape(),
                    dtype,
                    layout.shape
                ),
            ));
        }
        views.push(view);
    }
    let mut k = 0;
    params.visit_mut("", &mut |_, xs| {
        let (view, layout) = (&views[k], &layouts[k].1);
        k += 1;
        let order = row_major_order(layout, xs.len());
        match xs {
            FloatsMut::F32(v) => {
                for (chunk, &i) in view.data().chunks_exact(4).zip(&order) {
                    v[i] = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                }
            }
            FloatsMut::F64(v) => {
                for (chunk, &i) in view.data().chunks_exact(8).zip(&order) {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(chunk);
                    v[i] = f64::from_le_bytes(b);
                }
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Conv2d, Init, Linear};

    #[derive(Clone, Debug, crate::Differentiable)]
    struct Net {
        conv1: Conv2d,
        fc1: Linear,
    }

    #[test]
    fn round_trip_with_pytorch_names_and_layouts() {
        let mut init = Init::new(4);
        let net = Net {
            conv1: Conv2d::new(2, 3, 3, 1, 1, &mut init),
            fc1: Linear::new(4, 5, &mut init),
        };
        let dir = std::env::temp_dir().join(format!("ckpt-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("net.safetensors");
        save(&path, &net).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let file = SafeTensors::deserialize(&bytes).unwrap();
        let w = file.tensor("fc1.weight").unwrap();
        assert_eq!(w.shape(), [5, 4]);
        // Row-major: element (1, 0) of the (out, in) weight comes second... after (0, 3).
        let second_row_first = f32::from_le_bytes(w.data()[16..20].try_into().unwrap());
        assert_eq!(second_row_first, net.fc1.weight[(1, 0)]);
        assert_eq!(file.tensor("conv1.weight").unwrap().shape(), [3, 2, 3, 3]);
        assert_eq!(file.tensor("conv1.bias").unwrap().shape(), [3]);

        let mut other = Net {
            conv1: Conv2d::new(2, 3, 3, 1, 1, &mut init),
            fc1: Linear::new(4, 5, &mut init),
        };
        load(&path, &mut other).unwrap();
        assert_eq!(other.to_flat(), net.to_flat());

        // A model of another shape is refused and left as it was.
        let mut wrong = Net {
            conv1: Conv2d::new(2, 3, 3, 1, 1, &mut init),
            fc1: Linear::new(4, 6, &mut init),
        };
        let before = wrong.to_flat();
        let err = load(&path, &mut wrong).unwrap_err();
        assert!(err.message.contains("fc1.weight"), "{err}");
        assert_eq!(wrong.to_flat(), before);
        std::fs::write(&path, b"not a checkpoint").unwrap();
        assert!(load(&path, &mut other)
            .unwrap_err()
            .message
            .contains("safetensors"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
