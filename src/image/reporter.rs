//! Progress events. `image` reports through [`Reporter`]; the CLI (indicatif) and the TUI
//! draw. The vocabulary is `docker pull`'s/`docker push`'s.

use super::digest::Digest;
use super::reference::Reference;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerStatus {
    Waiting,
    AlreadyExists,
    Downloading { current: u64, total: u64 },
    PullComplete,
    Preparing,
    Pushing { current: u64, total: u64 },
    Pushed,
    LayerAlreadyExists,
    Mounted { from: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `latest: Pulling from library/busybox`
    Pulling { reference: Reference },
    /// One line per layer, keyed by the layer blob's digest.
    Layer { layer: Digest, status: LayerStatus },
    /// `Digest: sha256:…` and `Status: Downloaded newer image for …` / `Image is up to date`.
    Pulled {
        reference: Reference,
        digest: Digest,
        updated: bool,
    },
    /// `The push refers to repository [...]`
    Pushing { reference: Reference },
    /// `latest: digest: sha256:… size: 527`
    Pushed {
        reference: Reference,
        digest: Digest,
        size: u64,
    },
}

pub trait Reporter: Send + Sync {
    fn event(&self, event: Event);
}

/// Reports nothing.
pub struct NoReporter;

impl Reporter for NoReporter {
    fn event(&self, _: Event) {}
}

/// Collects events (tests).
#[derive(Default)]
pub struct Recorder(pub std::sync::Mutex<Vec<Event>>);

impl Reporter for Recorder {
    fn event(&self, event: Event) {
        self.0.lock().expect("lock").push(event);
    }
}
