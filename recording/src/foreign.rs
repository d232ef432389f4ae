//! Reading string fields and attributes of any HDF5 string kind. We write fixed-length UTF-8
//! fields (SWMR appends need it) and variable-length UTF-8 attributes, but FORMAT.md lets other
//! writers (h5py, MATLAB, a later format) use variable-length or ASCII strings, and HDF5 will
//! not convert between those kinds. So when our own row type does not fit, numbers are read as
//! a compound subset (members match by name) and each string field on its own, trying each
//! string kind; an attribute is read by the kind its type says.

use hdf5::types::{FixedAscii, FixedUnicode, VarLenAscii, VarLenUnicode};
use hdf5::{Dataset, H5Type};

macro_rules! string_field {
    ($name:ident) => {
        pub mod $name {
            use super::*;
            #[derive(H5Type, Clone)]
            #[repr(C)]
            struct Fu {
                $name: FixedUnicode<1024>,
            }
            #[derive(H5Type, Clone)]
            #[repr(C)]
            struct Fa {
                $name: FixedAscii<1024>,
            }
            #[derive(H5Type, Clone)]
            #[repr(C)]
            struct Vu {
                $name: VarLenUnicode,
            }
            #[derive(H5Type, Clone)]
            #[repr(C)]
            struct Va {
                $name: VarLenAscii,
            }
            /// The field's values as strings, whatever string kind the file uses.
            pub fn read(ds: &Dataset) -> Option<Vec<String>> {
                if let Ok(v) = ds.read_raw::<Fu>() {
                    return Some(v.iter().map(|r| r.$name.as_str().to_string()).collect());
                }
                if let Ok(v) = ds.read_raw::<Fa>() {
                    return Some(v.iter().map(|r| r.$name.as_str().to_string()).collect());
                }
                if let Ok(v) = ds.read_raw::<Vu>() {
                    return Some(v.iter().map(|r| r.$name.as_str().to_string()).collect());
                }
                if let Ok(v) = ds.read_raw::<Va>() {
                    return Some(v.iter().map(|r| r.$name.as_str().to_string()).collect());
                }
                None
            }
        }
    };
}

/// Longest fixed-length string attribute read (a stimulus manifest is a few kB).
const MAX_FIXED_ATTR: usize = 1 << 16;

/// Why a string attribute cannot be read: said after the file and the attribute's name.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AttrError {
    /// What HDF5 reported.
    #[error("{0}")]
    Hdf5(String),
    #[error("a fixed-length string of {0} bytes (at most {MAX_FIXED_ATTR} are read)")]
    TooLong(usize),
    #[error("it holds {0}")]
    NotAString(String),
}

/// A scalar string attribute of any string kind: variable-length or fixed-length, UTF-8 or
/// ASCII (h5py writes `str` as the first, `numpy.bytes_` as fixed ASCII; MATLAB fixed ASCII).
/// Fixed-length values lose their padding. Errors say what the attribute holds instead.
pub fn string_attr(a: &hdf5::Attribute) -> Result<String, AttrError> {
    use hdf5::types::TypeDescriptor as T;
    let dtype = a
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|e| AttrError::Hdf5(e.to_string()))?;
    let read = match dtype {
        T::VarLenUnicode => a.read_scalar::<VarLenUnicode>().map(|v| v.to_string()),
        T::VarLenAscii => a.read_scalar::<VarLenAscii>().map(|v| v.to_string()),
        T::FixedUnicode(n) | T::FixedAscii(n) if n > MAX_FIXED_ATTR => {
            return Err(AttrError::TooLong(n))
        }
        T::FixedUnicode(_) => a
            .read_scalar::<FixedUnicode<MAX_FIXED_ATTR>>()
            .map(|v| v.as_str().to_string()),
        T::FixedAscii(_) => a
            .read_scalar::<FixedAscii<MAX_FIXED_ATTR>>()
            .map(|v| v.as_str().to_string()),
        other => return Err(AttrError::NotAString(other.to_string())),
    };
    read.map_err(|e| AttrError::Hdf5(e.to_string()))
}

string_field!(kind);
string_field!(text);
string_field!(stimulus_id);
string_field!(identity);
string_field!(condition);
string_field!(variant);
string_field!(expression);
string_field!(eye);
