//! See DESIGN.md, module map.
