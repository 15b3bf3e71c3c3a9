//! Push: every blob the registry lacks (HEAD first; a cross-repository mount when the image
//! is known in another repository of the same registry), then the manifest's exact bytes, so
//! the pushed digest is the local one.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::Error;
use super::digest::Digest;
use super::reference::Reference;
use super::registry::Client;
use super::reporter::{Event, LayerStatus, Reporter};
use super::store::Store;

/// Push the local image named `reference` to its registry. Returns the manifest digest.
pub fn push(
    store: &Store,
    client: &Client,
    reference: &Reference,
    reporter: &dyn Reporter,
) -> Result<Digest, Error> {
    let image = store.get(&reference.to_string())?;
    let ep = client.endpoint(&reference.registry);
    reporter.event(Event::Pushing {
        reference: reference.clone(),
    });
    let mount_sources: Vec<String> = image
        .repo_tags
        .iter()
        .chain(&image.repo_digests)
        .filter(|r| r.registry == reference.registry && r.repository != reference.repository)
        .map(|r| r.repository.clone())
        .collect();
    let mut blobs: Vec<(Digest, u64, bool)> = image
        .manifest
        .layers
        .iter()
        .map(|l| (l.digest.clone(), l.size, true))
        .collect();
    blobs.push((
        image.manifest.config.digest.clone(),
        image.manifest.config.size,
        false,
    ));
    for (d, _, is_layer) in &blobs {
        if *is_layer {
            if !store.has_blob(d) {
                return Err(Error::MissingBlob(d.clone()));
            }
            reporter.event(Event::Layer {
                layer: d.clone(),
                status: LayerStatus::Preparing,
            });
        }
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = client
        .config
        .max_concurrent_downloads
        .clamp(1, 16)
        .min(blobs.len());
    let results: Vec<Result<(), Error>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| -> Result<(), Error> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((d, size, is_layer)) = blobs.get(i) else {
                            return Ok(());
                        };
                        let report = |status| {
                            if *is_layer {
                                reporter.event(Event::Layer {
                                    layer: d.clone(),
                                    status,
                                })
                            }
                        };
                        if client.has_blob(&ep, &reference.repository, d)? {
                            report(LayerStatus::LayerAlreadyExists);
                            continue;
                        }
                        let mut mounted = false;
                        for from in &mount_sources {
                            if client.mount_blob(&ep, &reference.repository, from, d)? {
                                report(LayerStatus::Mounted { from: from.clone() });
                                mounted = true;
                                break;
                            }
                        }
                        if mounted {
                            continue;
                        }
                        let path = store.blob_path(d);
                        // The HTTP client reads the file on its own; count what it read and
                        // report from here every 200 ms while the upload runs.
                        let sent = Arc::new(AtomicU64::new(0));
                        let done = AtomicBool::new(false);
                        let open = || -> std::io::Result<Box<dyn Read + Send>> {
                            sent.store(0, Ordering::Relaxed);
                            Ok(Box::new(Counting {
                                inner: std::fs::File::open(&path)?,
                                sent: sent.clone(),
                            }))
                        };
                        let total = *size;
                        let uploaded = std::thread::scope(|s| {
                            s.spawn(|| {
                                while !done.load(Ordering::Relaxed) {
                                    report(LayerStatus::Pushing {
                                        current: sent.load(Ordering::Relaxed).min(total),
                                        total,
                                    });
                                    std::thread::sleep(std::time::Duration::from_millis(200));
                                }
                            });
                            let r = client.upload_blob(&ep, &reference.repository, d, total, &open);
                            done.store(true, Ordering::Relaxed);
                            r
                        });
                        uploaded?;
                        report(LayerStatus::Pushed);
                    }
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Invalid("push worker panicked".into())))
            })
            .collect()
    });
    for r in results {
        r?;
    }
    let bytes = store.read_blob(&image.manifest_digest)?;
    let target = reference
        .tag
        .clone()
        .unwrap_or_else(|| image.manifest_digest.to_string());
    let media_type = image.manifest_descriptor.media_type.clone();
    let digest = client.put_manifest(&ep, &reference.repository, &target, &media_type, &bytes)?;
    store.tag(
        &image.manifest_descriptor,
        &reference.with_digest(digest.clone()),
    )?;
    reporter.event(Event::Pushed {
        reference: reference.clone(),
        digest: digest.clone(),
        size: bytes.len() as u64,
    });
    Ok(digest)
}

/// A reader that counts the bytes read through it (upload progress).
struct Counting {
    inner: std::fs::File,
    sent: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
