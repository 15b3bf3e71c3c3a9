//! Benchmark driver: create + start + wait + remove of a container running `true`, through
//! `rcompose::runtime::Runtime` (the shim path the engine uses), N times. Prints one
//! duration per line (milliseconds). Used by `scripts/bench-runtime`.
//!
//! Usage: runtime_cycle <rcompose binary> <rootfs dir> <state dir> <runs> [run dir]

use std::time::Instant;

use rcompose::paths::Paths;
use rcompose::runtime::config::{ContainerConfig, Rootfs};
use rcompose::runtime::{Runtime, new_id};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (exe, rootfs, state, runs) = (&a[1], &a[2], &a[3], a[4].parse::<usize>().unwrap());
    let rt = Runtime::with_exe(
        Paths::new(format!("{state}/root"), format!("{state}/run")),
        exe,
    );
    for i in 0..runs + 3 {
        let c = ContainerConfig {
            id: new_id(),
            name: format!("bench-{i}"),
            rootfs: Rootfs::Dir(rootfs.into()),
            command: Some(vec!["true".into()]),
            ..Default::default()
        };
        let t = Instant::now();
        rt.create(&c).unwrap();
        let t1 = t.elapsed();
        rt.start(&c.id).unwrap();
        let t2 = t.elapsed();
        let code = rt.wait(&c.id).unwrap();
        let t3 = t.elapsed();
        rt.remove(&c.id, false).unwrap();
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if std::env::var_os("RCOMPOSE_TIMING").is_some() {
            eprintln!(
                "create {t1:?} start {:?} wait {:?} remove {:?}",
                t2 - t1,
                t3 - t2,
                t.elapsed() - t3
            );
        }
        assert_eq!(code, 0);
        if i >= 3 {
            println!("{ms:.3}");
        }
    }
}
