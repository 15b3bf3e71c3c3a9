//! Layer decompression and unpack throughput: the floor under `pull`.
//!
//! Uses the Debian minbase layer built by `scripts/bench-pull` when it is cached
//! (`/var/tmp/rcompose-bench/minbase.tar.gz`), else a synthetic 32 MiB layer.

use std::io::{Read, Write};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn layer_gz() -> Vec<u8> {
    if let Ok(b) = std::fs::read("/var/tmp/rcompose-bench/minbase.tar.gz") {
        return b;
    }
    let mut tar = tar::Builder::new(Vec::new());
    let mut seed = 1u64;
    for i in 0..256 {
        // Compressible but not trivial content, 128 KiB per file.
        let data: Vec<u8> = (0..128 * 1024)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                b"abcdefgh \n"[(seed >> 60) as usize % 10]
            })
            .collect();
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("d{}/f{i}", i % 16), &data[..])
            .unwrap();
    }
    let tar = tar.into_inner().unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&tar).unwrap();
    e.finish().unwrap()
}

fn bench(c: &mut Criterion) {
    let gz = layer_gz();
    let mut tar = Vec::new();
    flate2::read::MultiGzDecoder::new(&gz[..])
        .read_to_end(&mut tar)
        .unwrap();
    let zst = zstd::stream::encode_all(&tar[..], 3).unwrap();
    let mut g = c.benchmark_group("layer");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(tar.len() as u64));
    g.bench_function("inflate gzip (flate2 + zlib-rs)", |b| {
        b.iter(|| {
            std::io::copy(
                &mut flate2::read::MultiGzDecoder::new(&gz[..]),
                &mut std::io::sink(),
            )
            .unwrap()
        })
    });
    g.bench_function("decode zstd", |b| {
        b.iter(|| {
            std::io::copy(
                &mut zstd::stream::read::Decoder::new(&zst[..]).unwrap(),
                &mut std::io::sink(),
            )
            .unwrap()
        })
    });
    g.bench_function("sha256 of the tar (diff_id)", |b| {
        b.iter(|| rcompose::image::Digest::of(&tar))
    });
    let limits = rcompose::image::Limits::default();
    g.bench_function("unpack gzip layer to disk", |b| {
        b.iter_with_setup(
            || {
                let d = tempfile::tempdir_in(if std::path::Path::new("/dev/shm").is_dir() {
                    "/dev/shm"
                } else {
                    "/var/tmp"
                })
                .unwrap();
                std::fs::create_dir(d.path().join("l")).unwrap();
                d
            },
            |d| {
                rcompose::image::unpack::unpack_layer(&gz[..], &d.path().join("l"), &limits)
                    .unwrap()
            },
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
