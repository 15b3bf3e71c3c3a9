//! The per-service configuration hash that decides whether a container must be recreated
//! (label `com.docker.compose.config-hash`).
//!
//! As Docker Compose (`pkg/compose/hash.go`): SHA-256 of the service's JSON model with the
//! fields that must not force a recreation removed:
//! - `build`: how the image is made; a rebuild changes the image id, which is compared
//!   separately, so an edit to the build section alone must not recreate;
//! - `pull_policy`: when to pull, not what runs;
//! - `scale` and `deploy.replicas`: scaling adds or removes containers, it does not
//!   recreate the existing ones;
//! - `depends_on`: start ordering, not the container's configuration;
//! - `profiles`: whether the service is selected, not how it runs.
//!
//! Everything else (image, command, environment, mounts, ports, networks, labels...) is part
//! of the hash.

use sha2::{Digest, Sha256};

use super::types::{Project, Service};

/// The config hash of `service` (hex SHA-256).
pub fn hash_service(service: &Service) -> String {
    let mut s = service.clone();
    s.build = None;
    s.pull_policy.clear();
    s.scale = None;
    if let Some(d) = &mut s.deploy {
        d.replicas = None;
    }
    s.depends_on.clear();
    s.profiles.clear();
    let json = super::render::to_go_json(&s, false);
    hex::encode(Sha256::digest(json.as_bytes()))
}

/// The config hash of the service named `service` in `project`.
pub fn service_config_hash(project: &Project, service: &str) -> Option<String> {
    project.services.get(service).map(hash_service)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::types::Deploy;

    #[test]
    fn hash_ignores_scale_build_depends_on_profiles_and_pull_policy() {
        let base = Service {
            image: "nginx".into(),
            ..Service::default()
        };
        let mut other = base.clone();
        other.scale = Some(3);
        other.pull_policy = "always".into();
        other.profiles = vec!["x".into()];
        other.depends_on.insert("db".into(), Default::default());
        other.build = Some(Default::default());
        other.deploy = None;
        assert_eq!(hash_service(&base), hash_service(&other));
        let mut with_deploy = base.clone();
        with_deploy.deploy = Some(Deploy {
            replicas: Some(2),
            ..Deploy::default()
        });
        let mut with_deploy2 = base.clone();
        with_deploy2.deploy = Some(Deploy {
            replicas: Some(5),
            ..Deploy::default()
        });
        assert_eq!(hash_service(&with_deploy), hash_service(&with_deploy2));
    }

    #[test]
    fn hash_changes_with_the_configuration() {
        let a = Service {
            image: "nginx".into(),
            ..Service::default()
        };
        let mut b = a.clone();
        b.environment.insert("A".into(), Some("1".into()));
        assert_ne!(hash_service(&a), hash_service(&b));
        assert_eq!(hash_service(&a).len(), 64);
    }
}
