//! NumPy `.npy` files (format 1.0–3.0), as InterfaceGAN reads and writes latent codes, scores
//! and boundaries: little-endian float32 or float64 (also int/uint/bool scores), C order,
//! one or two dimensions. Object arrays (pickles) are refused with a hint.

use std::path::Path;

use crate::error::{ModelError, Result};

const MAGIC: &[u8] = b"\x93NUMPY";

/// A 2-D array of f64 (a 1-D file is one column).
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl Matrix {
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

fn bad(path: &Path, message: impl Into<String>) -> ModelError {
    ModelError::Npy {
        path: path.into(),
        message: message.into(),
    }
}

/// The value of `'key':` in the header dict, up to the next top-level comma.
fn header_field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let start = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}']).unwrap_or(rest.len())
    };
    Some(rest[..end].trim())
}

pub fn read(path: &Path) -> Result<Matrix> {
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
        path: path.into(),
        source,
    })?;
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad(path, "no NUMPY signature"));
    }
    let (hlen, hstart) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(path, format!("format version {v} is not supported"))),
    };
    let header = bytes
        .get(hstart..hstart + hlen)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad(path, "truncated or unreadable header"))?;
    let descr = header_field(header, "descr")
        .ok_or_else(|| bad(path, "header has no 'descr'"))?
        .trim_matches(['\'', '"']);
    if header_field(header, "fortran_order") != Some("False") {
        return Err(bad(
            path,
            "Fortran-ordered arrays are not supported (save with C order)",
        ));
    }
    let shape_text =
        header_field(header, "shape").ok_or_else(|| bad(path, "header has no 'shape'"))?;
    let shape: Vec<usize> = shape_text
        .trim_matches(['(', ')'])
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| bad(path, format!("shape {shape_text} is not a list of sizes")))?;
    let (rows, cols) = match shape.as_slice() {
        [n] => (*n, 1),
        [n, d] => (*n, *d),
        [n, 1, d] => (*n, *d),
        other => {
            return Err(bad(
                path,
                format!("shape {other:?}: expected 1 or 2 dimensions (N, D)"),
            ))
        }
    };
    let body = &bytes[hstart + hlen..];
    let count = rows * cols;
    let width = match descr {
        "<f4" | "<i4" | "<u4" => 4,
        "<f8" | "<i8" | "<u8" => 8,
        "|b1" | "|u1" | "|i1" => 1,
        "|O" => {
            return Err(bad(
                path,
                "an object array (pickled Python values); convert it first, e.g. np.save(p, a.astype(np.float32))",
            ))
        }
        d => return Err(bad(path, format!("element type {d} is not supported (use float32 or float64)"))),
    };
    if body.len() < count * width {
        return Err(bad(
            path,
            format!(
                "{} data bytes for shape {shape:?} of {descr}; expected {}",
                body.len(),
                count * width
            ),
        ));
    }
    let data: Vec<f64> = body[..count * width]
        .chunks_exact(width)
        .map(|c| match descr {
            "<f4" => f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            "<i4" => f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            "<u4" => f64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            "<f8" => f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
            "<i8" => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f64,
            "<u8" => u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f64,
            "|i1" => f64::from(c[0] as i8),
            _ => f64::from(c[0]),
        })
        .collect();
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        return Err(bad(
            path,
            format!(
                "value {} (row {}, column {}) is not finite",
                data[i],
                i / cols.max(1),
                i % cols.max(1)
            ),
        ));
    }
    Ok(Matrix { rows, cols, data })
}

/// Writes float32 `rows` × `cols` (format 1.0), through a temporary file and a rename so a
/// reader never sees half a file.
pub fn write_f32(path: &Path, rows: usize, cols: usize, data: &[f32]) -> Result<()> {
    if data.len() != rows * cols {
        return Err(ModelError::Invalid(format!(
            "{}: {} values for shape ({rows}, {cols})",
            path.display(),
            data.len()
        )));
    }
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Magic (6) + version (2) + length (2) + header + newline, padded to 64 bytes.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + 4 * data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let io = |source| ModelError::Io {
        path: path.into(),
        source,
    };
    let tmp = path.with_extension("npy.partial");
    std::fs::write(&tmp, &out).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float32_round_trips_and_shapes_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.npy");
        let v: Vec<f32> = (0..12).map(|i| i as f32 * 0.5 - 2.0).collect();
        write_f32(&p, 3, 4, &v).unwrap();
        let m = read(&p).unwrap();
        assert_eq!((m.rows, m.cols), (3, 4));
        assert_eq!(m.row(2)[3], 3.5);
        // The header block is padded to a multiple of 64 bytes, as NumPy requires.
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!((bytes.len() - 48) % 64, 0);
    }

    #[test]
    fn a_numpy_written_file_is_read() {
        // np.save of np.array([[1, 0], [0, 1], [1, 1]], dtype=np.int64) (NumPy 2.x header).
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.npy");
        let header = "{'descr': '<i8', 'fortran_order': False, 'shape': (3, 2), }";
        let mut h = header.to_string();
        h.push_str(&" ".repeat((64 - (10 + header.len() + 1) % 64) % 64));
        h.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        for v in [1i64, 0, 0, 1, 1, 1] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        std::fs::write(&p, &b).unwrap();
        let m = read(&p).unwrap();
        assert_eq!(
            (m.rows, m.cols, m.data.clone()),
            (3, 2, vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0])
        );
    }

    #[test]
    fn bad_files_are_named_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.npy");
        std::fs::write(&p, b"hello").unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("x.npy") && e.contains("NUMPY signature"), "{e}");
        let header = "{'descr': '|O', 'fortran_order': False, 'shape': (3, 1), }";
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        std::fs::write(&p, &b).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("object array"), "{e}");
    }
}
