//! See DESIGN.md, module map.
pub mod build;
