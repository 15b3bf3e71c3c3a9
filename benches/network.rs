//! Network layer timings on the real kernel (root), with the kernel floor measured in the same
//! run for comparison. Run with `scripts/bench-network` (release build).
//!
//! - floor: bare `unshare(CLONE_NEWNET)` + bind mount + unmount, and a bare veth pair create +
//!   delete over netlink: what any implementation must pay;
//! - attach: `create_sandbox` + `connect` (namespace, veth, address, route, DNS record and the
//!   helper's DNS socket in the namespace), detach: `destroy_sandbox`;
//! - a network with 10 containers, created and destroyed whole;
//! - the port proxy: TCP throughput and connect+request latency through the proxy vs direct.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rcompose::network::netlink::{Netlink, VethPeer};
use rcompose::network::{
    AddressPool, ConnectOptions, NetConfig, NetworkSpec, Networks, PortSpec, Protocol,
    SandboxOptions, netns,
};
use rcompose::paths::Paths;

fn stats(name: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<44} n={:<4} median {:>7.3} ms   p10 {:>7.3}   p90 {:>7.3}",
        samples.len(),
        ms(pct(0.5)),
        ms(pct(0.1)),
        ms(pct(0.9))
    );
    pct(0.5)
}

fn hex(n: usize) -> String {
    let mut b = vec![0u8; n.div_ceil(2)];
    getrandom::fill(&mut b).unwrap();
    let mut s = hex::encode(b);
    s.truncate(n);
    s
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` probes with --list
    }
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::Builder::new()
        .prefix("rcompose-bench-")
        .tempdir()
        .unwrap();
    let paths = Paths::new(dir.path().join("root"), dir.path().join("run"));
    let host_resolv = dir.path().join("resolv.conf");
    std::fs::write(&host_resolv, "nameserver 127.0.0.1\n").unwrap();
    let tag = hex(6);
    let mut config = NetConfig::from_env();
    config.nft_table = format!("rcbench_{tag}");
    config.helper_exe = PathBuf::from(env!("CARGO_BIN_EXE_rcompose"));
    config.manage_ip_forward = false;
    config.pools = vec![AddressPool::parse("10.125.0.0/16:22").unwrap()];
    config.host_resolv_conf = host_resolv;
    let nets = Networks::with_config(paths.clone(), config);
    std::fs::create_dir_all(paths.run.join("netns")).unwrap();

    println!("== kernel floor");
    let mut ns_create = Vec::new();
    let mut ns_destroy = Vec::new();
    for i in 0..runs {
        let p = paths.run.join("netns").join(format!("floor{i}"));
        let t = Instant::now();
        std::thread::scope(|s| {
            s.spawn(|| {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                std::fs::File::create(&p).unwrap();
                nix::mount::mount(
                    Some("/proc/thread-self/ns/net"),
                    &p,
                    None::<&str>,
                    nix::mount::MsFlags::MS_BIND,
                    None::<&str>,
                )
                .unwrap();
            })
            .join()
            .unwrap()
        });
        ns_create.push(t.elapsed());
        let t = Instant::now();
        nix::mount::umount2(&p, nix::mount::MntFlags::MNT_DETACH).unwrap();
        std::fs::remove_file(&p).unwrap();
        ns_destroy.push(t.elapsed());
    }
    let floor_ns = stats("netns create + bind mount (bare)", ns_create);
    let floor_ns_down = stats("netns unmount + unlink (bare)", ns_destroy);
    // veth floor: a pair whose peer lands in an existing namespace, then deleted.
    let target = paths.run.join("netns").join("vethfloor");
    netns::create(&target).unwrap();
    let nsfd = netns::open(&target).unwrap();
    let mut nl = Netlink::open().unwrap();
    nl.add_bridge(&format!("rcbf{tag}"), None).unwrap();
    let br = nl
        .link_by_name(&format!("rcbf{tag}"))
        .unwrap()
        .unwrap()
        .index;
    let mut veth_create = Vec::new();
    let mut veth_delete = Vec::new();
    for _ in 0..runs {
        let name = format!("vf{}", hex(8));
        let t = Instant::now();
        nl.add_veth(
            &name,
            br,
            1500,
            &VethPeer {
                name: "eth0",
                netns: nsfd.as_fd(),
                mac: None,
            },
        )
        .unwrap();
        veth_create.push(t.elapsed());
        let t = Instant::now();
        nl.del_link(&name).unwrap();
        veth_delete.push(t.elapsed());
    }
    let floor_veth = stats("veth pair create, peer in a netns (bare)", veth_create);
    stats("veth pair delete (bare)", veth_delete);
    nl.del_link(&format!("rcbf{tag}")).unwrap();
    drop(nsfd);
    netns::remove(&target).unwrap();

    println!("== rcompose");
    let t = Instant::now();
    let net = nets
        .create(&NetworkSpec {
            name: format!("bench{tag}"),
            ..Default::default()
        })
        .unwrap();
    println!(
        "{:<44} {:.3} ms",
        "network create (bridge, address, nft table)",
        t.elapsed().as_secs_f64() * 1000.0
    );
    // Warm the helper (it starts on the first connect).
    let warm = hex(64);
    let t = Instant::now();
    let sb = nets
        .create_sandbox(&warm, &SandboxOptions::default())
        .unwrap();
    nets.connect(&sb, &net.name, &ConnectOptions::default())
        .unwrap();
    println!(
        "{:<44} {:.3} ms",
        "first attach (starts the helper)",
        t.elapsed().as_secs_f64() * 1000.0
    );

    let mut attach = Vec::new();
    let mut sandbox = Vec::new();
    let mut connect = Vec::new();
    let mut detach = Vec::new();
    for i in 0..runs {
        let id = hex(64);
        let opts = SandboxOptions {
            container_name: format!("bench-web-{i}"),
            ..Default::default()
        };
        let t = Instant::now();
        let sb = nets.create_sandbox(&id, &opts).unwrap();
        let t1 = t.elapsed();
        nets.connect(
            &sb,
            &net.name,
            &ConnectOptions {
                aliases: vec!["web".into()],
                ..Default::default()
            },
        )
        .unwrap();
        let total = t.elapsed();
        attach.push(total);
        sandbox.push(t1);
        connect.push(total - t1);
        let t = Instant::now();
        nets.destroy_sandbox(&id).unwrap();
        detach.push(t.elapsed());
    }
    stats("  create_sandbox (netns, lo up)", sandbox);
    stats("  connect (veth, addr, route, DNS sync)", connect);
    let attach_m = stats("attach = create_sandbox + connect", attach);
    let detach_m = stats("detach = destroy_sandbox", detach);
    nets.destroy_sandbox(&warm).unwrap();
    nets.remove(&net.name).unwrap();

    let mut creates = Vec::new();
    let mut removes = Vec::new();
    for r in 0..runs.min(20) {
        let t = Instant::now();
        let net = nets
            .create(&NetworkSpec {
                name: format!("bench{tag}e{r}"),
                ..Default::default()
            })
            .unwrap();
        creates.push(t.elapsed());
        let t = Instant::now();
        nets.remove(&net.name).unwrap();
        removes.push(t.elapsed());
    }
    stats("network create (bridge, address, nft)", creates);
    stats("network remove (bridge, nft)", removes);

    let whole: Vec<Duration> = (0..runs.min(20))
        .map(|r| {
            let t = Instant::now();
            let net = nets
                .create(&NetworkSpec {
                    name: format!("bench{tag}w{r}"),
                    ..Default::default()
                })
                .unwrap();
            let ids: Vec<String> = (0..10).map(|_| hex(64)).collect();
            for (i, id) in ids.iter().enumerate() {
                let sb = nets
                    .create_sandbox(
                        id,
                        &SandboxOptions {
                            container_name: format!("w-{i}"),
                            ..Default::default()
                        },
                    )
                    .unwrap();
                nets.connect(&sb, &net.name, &ConnectOptions::default())
                    .unwrap();
            }
            for id in &ids {
                nets.destroy_sandbox(id).unwrap();
            }
            nets.remove(&net.name).unwrap();
            t.elapsed()
        })
        .collect();
    stats("network + 10 containers, create & destroy", whole);
    println!(
        "attach / floor (netns + veth create):       {:.2}x",
        attach_m.as_secs_f64() / (floor_ns + floor_veth).as_secs_f64()
    );
    println!(
        "detach / floor (netns unmount + unlink):     {:.2}x",
        detach_m.as_secs_f64() / floor_ns_down.as_secs_f64()
    );

    println!("== port proxy (userland) vs direct, 127.0.0.1");
    proxy_bench(&nets, &tag);

    let _ = std::process::Command::new("nft")
        .args(["delete", "table", "ip", &format!("rcbench_{tag}")])
        .stderr(std::process::Stdio::null())
        .status();
}

/// A sink server inside a sandbox (a thread whose socket lives in the namespace), reached
/// directly on the container address and through a published port.
fn proxy_bench(nets: &Networks, tag: &str) {
    let net = nets
        .create(&NetworkSpec {
            name: format!("bench{tag}p"),
            ..Default::default()
        })
        .unwrap();
    let id = hex(64);
    let sb = nets
        .create_sandbox(&id, &SandboxOptions::default())
        .unwrap();
    let a = nets
        .connect(&sb, &net.name, &ConnectOptions::default())
        .unwrap();
    let ns = netns::open(&sb.path).unwrap();
    let listener = netns::run_in(ns.as_fd(), || TcpListener::bind("0.0.0.0:9000"))
        .unwrap()
        .unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { continue };
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 256 * 1024];
                let mut first = true;
                loop {
                    match c.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if first && n <= 64 {
                                let _ = c.write_all(&buf[..n]); // echo small requests
                            }
                            first = false;
                        }
                    }
                }
            });
        }
    });
    let bound = nets
        .publish(
            &sb,
            &[PortSpec {
                target: 9000,
                published: None,
                host_ip: Some("127.0.0.1".parse().unwrap()),
                protocol: Protocol::Tcp,
            }],
        )
        .unwrap();
    let via_proxy = format!("127.0.0.1:{}", bound[0].host_port);
    let direct = format!("{}:9000", a.ipv4);
    for (label, addr) in [("direct", &direct), ("proxy", &via_proxy)] {
        let rtt: Vec<Duration> = (0..200)
            .map(|_| {
                let t = Instant::now();
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_nodelay(true).unwrap();
                s.write_all(b"ping").unwrap();
                let mut b = [0u8; 4];
                s.read_exact(&mut b).unwrap();
                t.elapsed()
            })
            .collect();
        stats(&format!("connect + 4-byte echo ({label})"), rtt);
        let chunk = vec![7u8; 1 << 20];
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"x".repeat(100).as_slice()).unwrap();
        let t = Instant::now();
        for _ in 0..1024 {
            s.write_all(&chunk).unwrap();
        }
        drop(s);
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{:<44} {:.0} MB/s",
            format!("1 GiB upload ({label})"),
            1024.0 / secs
        );
    }
    nets.destroy_sandbox(&id).unwrap();
    nets.remove(&net.name).unwrap();
}
