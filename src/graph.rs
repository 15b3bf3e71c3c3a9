//! Dependency graph over services (petgraph): start order, stop order, sub-graphs.
