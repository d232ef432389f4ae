//! InterfaceGAN: a hyperplane in latent space separates smiling from non-smiling codes; its
//! unit normal is the edit direction. Our own SVM replaces sklearn's `SVC(kernel='linear')`.

pub mod boundary;
pub mod edit;
pub mod svm;

pub use boundary::{train_boundary, Boundary, BoundaryOptions};
pub use edit::{authors_offsets, edit_code, project_out};
pub use svm::{LinearSvm, SvmOptions};
