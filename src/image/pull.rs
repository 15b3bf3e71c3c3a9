//! Pull: manifest (platform selected from an index), config, then every layer streamed from
//! the registry straight into its blob file and, at the same time, inflated and untarred into
//! its layer directory. Layers run in parallel (at most `max-concurrent-downloads`, as
//! Docker). Nothing is named in the index until every blob and layer is in place.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::{Duration, SystemTime};

use super::Error;
use super::config::Config;
use super::digest::{Digest, chain_ids};
use super::reference::Reference;
use super::registry::{Client, Endpoint, FetchedManifest};
use super::reporter::{Event, LayerStatus, Reporter};
use super::spec::{self, Descriptor, ImageConfiguration, Index, Manifest, Platform};
use super::store::{Image, Store};
use super::unpack;

/// Compose's `pull_policy` (the `build` policy is the engine's business).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullPolicy {
    /// Pull every time.
    Always,
    /// Pull only if not in the store (Compose's default; `if_not_present`).
    Missing,
    /// Never pull; a missing image is an error.
    Never,
    /// Pull if the last successful pull of this name is older than this (`daily`, `weekly`,
    /// `every_12h`).
    Every(Duration),
}

impl PullPolicy {
    /// Parse Compose's `pull_policy` values (`build` is not handled here).
    pub fn parse(s: &str) -> Option<PullPolicy> {
        Some(match s {
            "always" => PullPolicy::Always,
            "missing" | "if_not_present" => PullPolicy::Missing,
            "never" => PullPolicy::Never,
            "daily" => PullPolicy::Every(Duration::from_secs(86_400)),
            "weekly" => PullPolicy::Every(Duration::from_secs(7 * 86_400)),
            s => {
                let d = s.strip_prefix("every_")?;
                PullPolicy::Every(parse_duration(d)?)
            }
        })
    }
}

fn parse_duration(s: &str) -> Option<Duration> {
    // Go-style `1h30m`, `12h`, `45m`, `30s`, `2d` (Compose accepts `d` and `w` too).
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return None,
        };
    }
    if !num.is_empty() || total == 0 {
        return None;
    }
    Some(Duration::from_secs(total))
}

/// Get an image into the store as `policy` says, and return it. This is what `up`, `run`,
/// `create` and `pull` use.
pub fn ensure_image(
    store: &Store,
    reference: &Reference,
    policy: PullPolicy,
    platform: &Platform,
    reporter: &dyn Reporter,
) -> Result<Image, Error> {
    let local = local_match(store, reference, platform)?;
    let need = match (&local, policy) {
        (_, PullPolicy::Always) => true,
        (None, PullPolicy::Never) => return Err(Error::NeverPull(reference.familiar())),
        (Some(_), PullPolicy::Never | PullPolicy::Missing) => false,
        (None, _) => true,
        (Some(img), PullPolicy::Every(max_age)) => {
            let age = std::fs::metadata(store.blob_path(&img.manifest_digest))
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .unwrap_or(Duration::MAX);
            age >= max_age
        }
    };
    match (need, local) {
        (false, Some(img)) => {
            store.ensure_layers(&img)?;
            Ok(img)
        }
        _ => {
            let client = Client::new(Config::load()?);
            pull(store, &client, reference, platform, reporter)
        }
    }
}

fn local_match(
    store: &Store,
    reference: &Reference,
    platform: &Platform,
) -> Result<Option<Image>, Error> {
    let Some(img) = store.resolve(&reference.to_string())? else {
        return Ok(None);
    };
    let have = Platform {
        os: img.config.os.clone(),
        architecture: img.config.architecture.clone(),
        variant: img.config.variant.clone(),
        os_version: None,
    };
    // An image without platform fields (some `import`s) matches anything.
    if img.config.architecture.is_empty() || platform.matches(&have) {
        Ok(Some(img))
    } else {
        Ok(None)
    }
}

/// Pull `reference` for `platform` (mirrors first, then the registry).
pub fn pull(
    store: &Store,
    client: &Client,
    reference: &Reference,
    platform: &Platform,
    reporter: &dyn Reporter,
) -> Result<Image, Error> {
    reporter.event(Event::Pulling {
        reference: reference.clone(),
    });
    let endpoints = client.pull_endpoints(&reference.registry);
    let mut last = None;
    for ep in &endpoints {
        match pull_from(store, client, ep, reference, platform, reporter) {
            Ok(img) => return Ok(img),
            Err(e) if ep.mirror => {
                tracing::warn!("mirror {} failed, trying the next: {e}", ep.base);
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::Invalid("no endpoint".into())))
}

/// Choose the manifest for `platform` from an index.
pub fn select_platform(
    index: &Index,
    platform: &Platform,
    reference: &str,
) -> Result<Descriptor, Error> {
    let candidates: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| spec::is_image_manifest(&d.media_type) || spec::is_index(&d.media_type))
        .collect();
    let found = candidates
        .iter()
        .filter(|d| d.platform.as_ref().is_some_and(|p| platform.matches(p)))
        // Prefer an exact variant match when several match.
        .max_by_key(|d| {
            d.platform
                .as_ref()
                .map(|p| p.variant == platform.variant)
                .unwrap_or(false)
        });
    match found {
        Some(d) => Ok((*d).clone()),
        None => Err(Error::NoMatchingPlatform {
            reference: reference.to_string(),
            platform: platform.to_string(),
            available: candidates
                .iter()
                .filter_map(|d| d.platform.as_ref())
                .filter(|p| p.os != "unknown")
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

fn pull_from(
    store: &Store,
    client: &Client,
    ep: &Endpoint,
    reference: &Reference,
    platform: &Platform,
    reporter: &dyn Reporter,
) -> Result<Image, Error> {
    let top = client.manifest(ep, reference, &reference.manifest_reference())?;
    let mut fetched: FetchedManifest = top.clone();
    // Follow indexes (possibly nested) down to an image manifest.
    for _ in 0..4 {
        if !spec::is_index(&fetched.media_type) {
            break;
        }
        let index: Index = serde_json::from_slice(&fetched.bytes).map_err(|e| {
            Error::Invalid(format!(
                "{}: invalid image index: {e}",
                reference.familiar()
            ))
        })?;
        let chosen = select_platform(&index, platform, &reference.familiar())?;
        fetched = client.manifest(ep, reference, chosen.digest.as_str())?;
    }
    if !spec::is_image_manifest(&fetched.media_type) {
        return Err(Error::Invalid(format!(
            "{}: unsupported manifest type `{}`",
            reference.familiar(),
            fetched.media_type
        )));
    }
    let manifest: Manifest = serde_json::from_slice(&fetched.bytes)
        .map_err(|e| Error::Invalid(format!("{}: invalid manifest: {e}", reference.familiar())))?;
    let _guard = store.content_guard()?;
    let config_bytes = if store.has_blob(&manifest.config.digest) {
        store.read_blob(&manifest.config.digest)?
    } else {
        let b = client.blob_bytes(ep, &reference.repository, &manifest.config.digest)?;
        store.write_blob(&b, Some(&manifest.config.digest))?;
        b
    };
    let config: ImageConfiguration = serde_json::from_slice(&config_bytes).map_err(|e| {
        Error::Invalid(format!(
            "{}: invalid image config: {e}",
            reference.familiar()
        ))
    })?;
    if config.rootfs.diff_ids.len() != manifest.layers.len() {
        return Err(Error::Invalid(format!(
            "{}: the manifest has {} layers but the config {} diff_ids",
            reference.familiar(),
            manifest.layers.len(),
            config.rootfs.diff_ids.len()
        )));
    }
    let chains = chain_ids(&config.rootfs.diff_ids);
    let jobs: Vec<(&Descriptor, &Digest, &Digest)> = manifest
        .layers
        .iter()
        .zip(&config.rootfs.diff_ids)
        .zip(&chains)
        .map(|((l, d), c)| (l, d, c))
        .collect();
    for (l, _, c) in &jobs {
        let status = if store.has_layer(c) && store.has_blob(&l.digest) {
            LayerStatus::AlreadyExists
        } else {
            LayerStatus::Waiting
        };
        reporter.event(Event::Layer {
            layer: l.digest.clone(),
            status,
        });
    }
    let next = AtomicUsize::new(0);
    let workers = client
        .config
        .max_concurrent_downloads
        .clamp(1, 16)
        .min(jobs.len().max(1));
    let results: Vec<Result<(), Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| -> Result<(), Error> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((l, d, c)) = jobs.get(i) else {
                            return Ok(());
                        };
                        fetch_layer(store, client, ep, &reference.repository, l, d, c, reporter)?;
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Invalid("layer worker panicked".into())))
            })
            .collect()
    });
    for r in results {
        r?;
    }
    let manifest_digest = store.write_blob(&fetched.bytes, Some(&fetched.digest))?;
    let desc = Descriptor {
        media_type: fetched.media_type.clone(),
        digest: manifest_digest.clone(),
        size: fetched.bytes.len() as u64,
        urls: None,
        annotations: None,
        platform: None,
    };
    let previous = store.resolve(&reference.to_string())?;
    if reference.tag.is_some() {
        store.tag(
            &desc,
            &Reference {
                digest: None,
                ..reference.clone()
            },
        )?;
    }
    store.tag(&desc, &reference.with_digest(top.digest.clone()))?;
    // The manifest blob's mtime records the last successful pull (for `pull_policy: daily`).
    if let Ok(f) = std::fs::File::options()
        .write(true)
        .open(store.blob_path(&manifest_digest))
    {
        let _ = f.set_modified(SystemTime::now());
    }
    let updated = previous.is_none_or(|p| p.manifest_digest != manifest_digest);
    reporter.event(Event::Pulled {
        reference: reference.clone(),
        digest: top.digest.clone(),
        updated,
    });
    store.get(&reference.to_string())
}

#[allow(clippy::too_many_arguments)]
fn fetch_layer(
    store: &Store,
    client: &Client,
    ep: &Endpoint,
    repository: &str,
    layer: &Descriptor,
    diff_id: &Digest,
    chain: &Digest,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let have_blob = store.has_blob(&layer.digest);
    if store.has_layer(chain) && have_blob {
        return Ok(());
    }
    if have_blob {
        store.ensure_layer_from_blob(chain, diff_id, &layer.digest)?;
    } else {
        let created = store.ensure_layer(chain, diff_id, |dir| {
            download_and_unpack(store, client, ep, repository, layer, dir, reporter)
        })?;
        if !created && !store.has_blob(&layer.digest) {
            // The layer was unpacked by someone else (or from another blob): fetch the blob.
            let (_, body) = client.blob(ep, repository, &layer.digest)?;
            let mut w = store.blob_writer()?;
            copy_with_progress(
                body.take(layer.size + 1),
                &mut w,
                &layer.digest,
                layer.size,
                reporter,
                None,
            )?;
            w.commit(Some(&layer.digest))?;
        }
    }
    reporter.event(Event::Layer {
        layer: layer.digest.clone(),
        status: LayerStatus::PullComplete,
    });
    Ok(())
}

/// Copy `r` to `w`, reporting progress, and forwarding each chunk to `tx` if given.
fn copy_with_progress(
    mut r: impl Read,
    w: &mut impl Write,
    digest: &Digest,
    total: u64,
    reporter: &dyn Reporter,
    tx: Option<&SyncSender<Vec<u8>>>,
) -> Result<(u64, bool), Error> {
    let mut buf = vec![0u8; 256 << 10];
    let mut done = 0u64;
    let mut last_report = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        w.write_all(&buf[..n])?;
        done += n as u64;
        if done > total {
            return Err(Error::Invalid(format!(
                "layer {digest} is larger than its declared {total} bytes"
            )));
        }
        if let Some(tx) = tx
            && tx.send(buf[..n].to_vec()).is_err()
        {
            // The unpacker stopped (it failed); its error is the one to report.
            return Ok((done, true));
        }
        if done - last_report >= (512 << 10) || done == total {
            last_report = done;
            reporter.event(Event::Layer {
                layer: digest.clone(),
                status: LayerStatus::Downloading {
                    current: done,
                    total,
                },
            });
        }
    }
    Ok((done, false))
}

fn download_and_unpack(
    store: &Store,
    client: &Client,
    ep: &Endpoint,
    repository: &str,
    layer: &Descriptor,
    dir: &std::path::Path,
    reporter: &dyn Reporter,
) -> Result<unpack::Unpacked, Error> {
    let (_, body) = client.blob(ep, repository, &layer.digest)?;
    let mut writer = store.blob_writer()?;
    let (tx, rx) = sync_channel::<Vec<u8>>(16);
    let limits = store.limits;
    std::thread::scope(|s| {
        let net = s.spawn(move || -> Result<(), Error> {
            let tx = tx;
            let stopped = copy_with_progress(
                body.take(layer.size + 1),
                &mut writer,
                &layer.digest,
                layer.size,
                reporter,
                Some(&tx),
            )
            .map(|(_, stopped)| stopped)?;
            drop(tx);
            if stopped {
                // Not the whole blob: drop it (the unpack error explains why we stopped).
                return Ok(());
            }
            writer.commit(Some(&layer.digest))?;
            Ok(())
        });
        let mut reader = unpack::ChannelReader::new(rx);
        let unpacked = unpack::unpack_layer_threaded(&mut reader, dir, &limits);
        if unpacked.is_ok() {
            // Let the download finish (bytes after the compressed stream still count).
            let _ = io::copy(&mut reader, &mut io::sink());
        }
        drop(reader);
        let net = net
            .join()
            .unwrap_or_else(|_| Err(Error::Invalid("download thread panicked".into())));
        // A network or digest error explains an unpack error, so it wins.
        net?;
        unpacked.map_err(|source| Error::Unpack {
            layer: layer.digest.clone(),
            source,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_pull_policies_parse() {
        assert_eq!(
            PullPolicy::parse("if_not_present"),
            Some(PullPolicy::Missing)
        );
        assert_eq!(
            PullPolicy::parse("daily"),
            Some(PullPolicy::Every(Duration::from_secs(86400)))
        );
        assert_eq!(
            PullPolicy::parse("every_1h30m"),
            Some(PullPolicy::Every(Duration::from_secs(5400)))
        );
        assert_eq!(PullPolicy::parse("every_x"), None);
        assert_eq!(PullPolicy::parse("build"), None);
    }
}
