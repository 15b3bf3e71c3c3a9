//! Dependency graph over services (petgraph): start order, stop order, the sub-graph needed
//! for `up SERVICE...`, and cycle errors that name the cycle (`web -> db -> web`).
//!
//! Edges come from `depends_on`, which the loader already extended with the implicit
//! dependencies Compose adds (`links`, `network_mode: service:x`, `ipc`/`pid`/... sharing,
//! `volumes_from`).

use std::collections::{BTreeMap, BTreeSet};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::project::{Project, ServiceDependency};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// A dependency cycle, as the list of services along it (first repeated at the end).
    #[error("dependency cycle detected: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    #[error("no such service: {0}")]
    NoSuchService(String),
}

/// The service dependency graph of a project. An edge `a -> b` means `a` depends on `b`.
#[derive(Debug, Clone)]
pub struct ServiceGraph {
    graph: DiGraph<String, ServiceDependency>,
    index: BTreeMap<String, NodeIndex>,
}

impl ServiceGraph {
    /// Build the graph of the project's active services. Dependencies on services that are
    /// not active (optional dependencies on disabled services) are left out.
    pub fn new(project: &Project) -> ServiceGraph {
        let mut graph = DiGraph::new();
        let mut index = BTreeMap::new();
        let mut names: Vec<&String> = project.services.keys().collect();
        names.sort();
        for n in names {
            index.insert(n.clone(), graph.add_node(n.clone()));
        }
        for (name, s) in &project.services {
            for (dep, cfg) in &s.depends_on {
                if let (Some(&a), Some(&b)) = (index.get(name), index.get(dep)) {
                    graph.add_edge(a, b, cfg.clone());
                }
            }
        }
        ServiceGraph { graph, index }
    }

    /// Service names in the graph, sorted.
    pub fn services(&self) -> Vec<String> {
        self.index.keys().cloned().collect()
    }

    /// The first cycle found, if any, as `[a, b, ..., a]`.
    pub fn find_cycle(&self) -> Option<Vec<String>> {
        // Iterative DFS with colors; services visited in name order for stable messages.
        #[derive(Clone, Copy, PartialEq)]
        enum Color {
            White,
            Grey,
            Black,
        }
        let mut color = vec![Color::White; self.graph.node_count()];
        for &start in self.index.values() {
            if color[start.index()] != Color::White {
                continue;
            }
            let mut stack: Vec<(NodeIndex, Vec<NodeIndex>)> =
                vec![(start, self.sorted_deps(start))];
            let mut path: Vec<NodeIndex> = vec![start];
            color[start.index()] = Color::Grey;
            while let Some((_, deps)) = stack.last_mut() {
                if let Some(next) = deps.pop() {
                    match color[next.index()] {
                        Color::White => {
                            color[next.index()] = Color::Grey;
                            path.push(next);
                            let d = self.sorted_deps(next);
                            stack.push((next, d));
                        }
                        Color::Grey => {
                            let pos = path.iter().position(|n| *n == next).unwrap_or(0);
                            let mut cycle: Vec<String> =
                                path[pos..].iter().map(|n| self.graph[*n].clone()).collect();
                            cycle.push(self.graph[next].clone());
                            return Some(cycle);
                        }
                        Color::Black => {}
                    }
                } else {
                    let (n, _) = stack.pop().expect("non-empty");
                    color[n.index()] = Color::Black;
                    path.pop();
                }
            }
        }
        None
    }

    fn sorted_deps(&self, n: NodeIndex) -> Vec<NodeIndex> {
        let mut v: Vec<NodeIndex> = self
            .graph
            .neighbors_directed(n, Direction::Outgoing)
            .collect();
        // popped from the end: reverse name order gives name order
        v.sort_by(|a, b| self.graph[*b].cmp(&self.graph[*a]));
        v.dedup();
        v
    }

    /// Start order: every service after the services it depends on (ties by name).
    pub fn start_order(&self) -> Result<Vec<String>, GraphError> {
        self.order(Direction::Outgoing)
    }

    /// Stop order: the reverse of the start order (dependents stop first).
    pub fn stop_order(&self) -> Result<Vec<String>, GraphError> {
        self.order(Direction::Incoming)
    }

    /// Kahn's algorithm; `dir` = edges that must be satisfied before a node.
    fn order(&self, dir: Direction) -> Result<Vec<String>, GraphError> {
        if let Some(c) = self.find_cycle() {
            return Err(GraphError::Cycle(c));
        }
        let mut remaining: BTreeMap<NodeIndex, usize> = self
            .index
            .values()
            .map(|&n| {
                let mut deps: Vec<NodeIndex> = self.graph.neighbors_directed(n, dir).collect();
                deps.sort();
                deps.dedup();
                (n, deps.len())
            })
            .collect();
        let mut ready: BTreeSet<String> = remaining
            .iter()
            .filter(|(_, c)| **c == 0)
            .map(|(n, _)| self.graph[*n].clone())
            .collect();
        let mut out = Vec::with_capacity(self.index.len());
        while let Some(name) = ready.pop_first() {
            let n = self.index[&name];
            out.push(name);
            let mut users: Vec<NodeIndex> =
                self.graph.neighbors_directed(n, dir.opposite()).collect();
            users.sort();
            users.dedup();
            for u in users {
                let c = remaining.get_mut(&u).expect("known node");
                *c -= 1;
                if *c == 0 {
                    ready.insert(self.graph[u].clone());
                }
            }
        }
        Ok(out)
    }

    /// Layers for parallel start: each layer only depends on earlier layers.
    pub fn start_layers(&self) -> Result<Vec<Vec<String>>, GraphError> {
        let order = self.start_order()?;
        let mut level: BTreeMap<String, usize> = BTreeMap::new();
        for name in &order {
            let n = self.index[name];
            let l = self
                .graph
                .neighbors_directed(n, Direction::Outgoing)
                .map(|d| level[&self.graph[d]] + 1)
                .max()
                .unwrap_or(0);
            level.insert(name.clone(), l);
        }
        let mut layers: Vec<Vec<String>> = Vec::new();
        for name in order {
            let l = level[&name];
            if layers.len() <= l {
                layers.resize(l + 1, Vec::new());
            }
            layers[l].push(name);
        }
        Ok(layers)
    }

    /// The services needed to run `names`: themselves and, transitively, what they depend on
    /// (as `up SERVICE...`). Sorted by name.
    pub fn with_dependencies(&self, names: &[String]) -> Result<Vec<String>, GraphError> {
        self.closure(names, Direction::Outgoing)
    }

    /// `names` and everything that depends on them, transitively (what `stop SERVICE`,
    /// `restart` or a recreation affects).
    pub fn with_dependents(&self, names: &[String]) -> Result<Vec<String>, GraphError> {
        self.closure(names, Direction::Incoming)
    }

    fn closure(&self, names: &[String], dir: Direction) -> Result<Vec<String>, GraphError> {
        let mut seen = BTreeSet::new();
        let mut stack = Vec::new();
        for n in names {
            let i = *self
                .index
                .get(n)
                .ok_or_else(|| GraphError::NoSuchService(n.clone()))?;
            stack.push(i);
        }
        while let Some(i) = stack.pop() {
            if seen.insert(self.graph[i].clone()) {
                stack.extend(self.graph.neighbors_directed(i, dir));
            }
        }
        Ok(seen.into_iter().collect())
    }

    /// Direct dependencies of a service with their conditions.
    pub fn dependencies(&self, name: &str) -> Vec<(String, ServiceDependency)> {
        let Some(&i) = self.index.get(name) else {
            return Vec::new();
        };
        let mut v: Vec<(String, ServiceDependency)> = self
            .graph
            .edges_directed(i, Direction::Outgoing)
            .map(|e| {
                (
                    self.graph[petgraph::visit::EdgeRef::target(&e)].clone(),
                    e.weight().clone(),
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

/// Fail on a dependency cycle among the project's services.
pub fn check_cycle(project: &Project) -> Result<(), GraphError> {
    match ServiceGraph::new(project).find_cycle() {
        Some(c) => Err(GraphError::Cycle(c)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::Service;

    fn project(deps: &[(&str, &[&str])]) -> Project {
        let mut p = Project::default();
        for (name, ds) in deps {
            let mut s = Service {
                name: name.to_string(),
                ..Service::default()
            };
            for d in *ds {
                s.depends_on
                    .insert(d.to_string(), ServiceDependency::default());
            }
            p.services.insert(name.to_string(), s);
        }
        p
    }

    #[test]
    fn start_order_puts_dependencies_first_and_stop_order_reverses() {
        let g = ServiceGraph::new(&project(&[
            ("web", &["db", "cache"]),
            ("db", &[]),
            ("cache", &["db"]),
            ("z", &[]),
        ]));
        assert_eq!(g.start_order().unwrap(), ["db", "cache", "web", "z"]);
        assert_eq!(g.stop_order().unwrap(), ["web", "cache", "db", "z"]);
        assert_eq!(
            g.start_layers().unwrap(),
            vec![vec!["db", "z"], vec!["cache"], vec!["web"]]
        );
    }

    #[test]
    fn cycles_are_reported_as_the_cycle() {
        let g = ServiceGraph::new(&project(&[("web", &["db"]), ("db", &["web"])]));
        assert_eq!(
            g.start_order().unwrap_err().to_string(),
            "dependency cycle detected: db -> web -> db"
        );
        let g = ServiceGraph::new(&project(&[("a", &["a"])]));
        assert_eq!(g.find_cycle().unwrap(), ["a", "a"]);
    }

    #[test]
    fn up_subgraph_includes_transitive_dependencies() {
        let g = ServiceGraph::new(&project(&[
            ("web", &["api"]),
            ("api", &["db"]),
            ("db", &[]),
            ("other", &[]),
        ]));
        assert_eq!(
            g.with_dependencies(&["web".into()]).unwrap(),
            ["api", "db", "web"]
        );
        assert_eq!(
            g.with_dependents(&["db".into()]).unwrap(),
            ["api", "db", "web"]
        );
        assert!(matches!(
            g.with_dependencies(&["nope".into()]),
            Err(GraphError::NoSuchService(_))
        ));
    }
}
