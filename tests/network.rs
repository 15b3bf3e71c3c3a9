//! The network layer on the real kernel (root): bridges, sandboxes, DNS, ports, NAT rules.
//! Each test has its own state root, run dir, nft table and names, and checks at the end
//! that no namespace, veth, bridge, nft table, mount or process survived.

mod support;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream, UdpSocket};
use std::time::Duration;

use rcompose::network::{
    ConnectOptions, IpamPoolSpec, IpamSpec, NetworkError, NetworkSpec, PortRange, PortSpec,
    Protocol, SandboxOptions,
};
use support::net::*;

fn stdout(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn http_get(addr: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

fn http_get_retry(addr: &str) -> String {
    for _ in 0..100 {
        if let Ok(body) = http_get(addr)
            && body.contains("200 OK")
        {
            return body;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no HTTP answer on {addr}");
}

#[test]
fn containers_reach_each_other_by_service_name_alias_and_container_name() {
    let f = NetFixture::new();
    let net = f.network("default", false);
    let web = f.container(
        "web",
        1,
        &[(
            &net.name,
            ConnectOptions {
                aliases: vec!["frontend".into()],
                ..Default::default()
            },
        )],
    );
    let client = f.container("client", 1, &[(&net.name, ConnectOptions::default())]);
    f.serve_http(&web, 8080, "hello from web");

    // By service name, network alias and container name, through the container's
    // resolv.conf (127.0.0.11) with busybox's own wget.
    for name in ["web", "frontend", web.name.as_str()] {
        let url = format!("http://{name}:8080/");
        let out = f.exec_until_ok(&client, &[BUSYBOX, "wget", "-q", "-O", "-", &url]);
        assert!(
            stdout(&out).contains("hello from web"),
            "wget {url}: {}",
            stdout(&out)
        );
    }
    let out = f.exec(&client, &[BUSYBOX, "nslookup", "web", "127.0.0.11"]);
    assert!(
        stdout(&out).contains(&web.ip().to_string()),
        "nslookup: {}",
        stdout(&out)
    );
    // The short container id resolves too, and the answer is the endpoint's address; TCP
    // queries work as UDP ones.
    assert_eq!(query_a(&client, &web.id[..12]).0, vec![web.ip()]);
    assert_eq!(query_a_tcp(&client, "frontend"), vec![web.ip()]);
    // The container's own files: resolv.conf points at the embedded DNS, hosts has its name.
    let resolv = stdout(&f.exec(&client, &[BUSYBOX, "cat", "/etc/resolv.conf"]));
    assert!(resolv.contains("nameserver 127.0.0.11\n"), "{resolv}");
    let out = f.exec(
        &web,
        &[BUSYBOX, "ping", "-c", "1", "-W", "2", &web.id[..12]],
    );
    assert!(
        stdout(&out).contains(&web.ip().to_string()),
        "{}",
        stdout(&out)
    );
    // An unknown name is forwarded to the host's resolver (127.0.0.1 here, where nothing
    // listens, reached from the host's namespace): SERVFAIL, quickly.
    let (ips, rcode) = query_a(&client, "nothere");
    assert!(ips.is_empty());
    assert_eq!(rcode, "Server Failure");
    f.finish();
}

#[test]
fn names_resolve_only_on_shared_networks_and_links_are_per_container() {
    let f = NetFixture::new();
    let front = f.network("front", false);
    let back = f.network("back", false);
    let none = ConnectOptions::default;
    let web = f.container("web", 1, &[(&front.name, none())]);
    let db = f.container("db", 1, &[(&back.name, none())]);
    let api = f.container_with(
        "api",
        1,
        &[(&front.name, none()), (&back.name, none())],
        SandboxOptions {
            links: [("database".to_string(), "db".to_string())].into(),
            ..Default::default()
        },
    );
    assert_eq!(query_a(&api, "web").0, vec![web.ip()]);
    assert_eq!(query_a(&api, "db").0, vec![db.ip()]);
    assert_eq!(query_a(&api, "database").0, vec![db.ip()]);
    // web shares no network with db, and the link is api's own.
    assert!(query_a(&web, "db").0.is_empty());
    assert!(query_a(&web, "database").0.is_empty());
    // api is on both networks: web sees its `front` address only.
    assert_eq!(query_a(&web, "api").0, vec![api.attachments[0].ipv4]);
    assert_eq!(query_a(&api, &format!("db.{}", back.name)).0, vec![db.ip()]);
    f.finish();
}

#[test]
fn dns_follows_scaling_and_recreation_with_round_robin() {
    let f = NetFixture::new();
    let net = f.network("default", false);
    let opts = || ConnectOptions::default();
    let client = f.container("client", 1, &[(&net.name, opts())]);
    let web1 = f.container("web", 1, &[(&net.name, opts())]);
    assert_eq!(query_a(&client, "web").0, vec![web1.ip()]);

    let web2 = f.container("web", 2, &[(&net.name, opts())]);
    let (ips, _) = query_a(&client, "web");
    let mut sorted = ips.clone();
    sorted.sort();
    let mut want = vec![web1.ip(), web2.ip()];
    want.sort();
    assert_eq!(sorted, want, "both replicas");
    let (again, _) = query_a(&client, "web");
    assert_ne!(ips[0], again[0], "the first address rotates");

    // Recreate web-1: the old one goes, a new one (new id, maybe new address) comes.
    f.nets.destroy_sandbox(&web1.id).unwrap();
    assert_eq!(query_a(&client, "web").0, vec![web2.ip()]);
    let web1b = f.container("web", 1, &[(&net.name, opts())]);
    let mut now = query_a(&client, "web").0;
    now.sort();
    let mut want = vec![web1b.ip(), web2.ip()];
    want.sort();
    assert_eq!(now, want);
    f.finish();
}

#[test]
fn unknown_names_are_forwarded_upstream_but_not_from_internal_networks() {
    let f = NetFixture::new();
    let upstream = fake_upstream("outside.example", Ipv4Addr::new(203, 0, 113, 77));
    let net = f.network("default", false);
    let internal = f.network("private", true);
    let dns = SandboxOptions {
        dns_servers: vec![upstream],
        ..Default::default()
    };
    let open = f.container_with(
        "open",
        1,
        &[(&net.name, ConnectOptions::default())],
        dns.clone(),
    );
    let closed = f.container_with(
        "closed",
        1,
        &[(&internal.name, ConnectOptions::default())],
        dns,
    );
    assert_eq!(
        query_a(&open, "outside.example").0,
        vec![Ipv4Addr::new(203, 0, 113, 77)]
    );
    let out = f.exec(&open, &[BUSYBOX, "nslookup", "outside.example"]);
    assert!(stdout(&out).contains("203.0.113.77"), "{}", stdout(&out));
    assert_eq!(query_a(&open, "missing.example").1, "Non-Existent Domain");
    let (ips, rcode) = query_a(&closed, "outside.example");
    assert!(ips.is_empty());
    assert_eq!(rcode, "Server Failure");
    // Names on the internal network itself still resolve there.
    assert_eq!(query_a(&closed, "closed").0, vec![closed.ip()]);
    f.finish();
}

#[test]
fn published_tcp_and_udp_ports_answer_on_localhost_and_host_addresses() {
    let f = NetFixture::new();
    let net = f.network("default", false);
    let web = f.container("web", 1, &[(&net.name, ConnectOptions::default())]);
    f.serve_http(&web, 80, "published");
    f.serve_udp_echo(&web, 5353);
    let bindings = f
        .nets
        .publish(
            &web.sandbox,
            &[
                PortSpec {
                    target: 80,
                    published: None,
                    host_ip: None,
                    protocol: Protocol::Tcp,
                },
                PortSpec {
                    target: 5353,
                    published: None,
                    host_ip: Some("127.0.0.1".parse().unwrap()),
                    protocol: Protocol::Udp,
                },
            ],
        )
        .unwrap();
    let tcp = bindings
        .iter()
        .find(|b| b.protocol == Protocol::Tcp && b.host_ip.is_ipv4())
        .unwrap();
    let udp = bindings
        .iter()
        .find(|b| b.protocol == Protocol::Udp)
        .unwrap();
    assert_ne!(tcp.host_port, 0, "a random port was chosen");
    assert_eq!(tcp.host_ip.to_string(), "0.0.0.0");
    // Recorded for `rcompose port`.
    assert_eq!(f.nets.ports(&web.id).unwrap(), bindings);

    let body = http_get_retry(&format!("127.0.0.1:{}", tcp.host_port));
    assert!(body.contains("published"), "{body}");
    // On [::1] too (Docker binds [::] next to 0.0.0.0).
    assert!(bindings.iter().any(|b| b.host_ip.to_string() == "::"));
    let body = http_get_retry(&format!("[::1]:{}", tcp.host_port));
    assert!(body.contains("published"));
    // The gateway is a host address too.
    let body = http_get_retry(&format!("{}:{}", net.gateway, tcp.host_port));
    assert!(body.contains("published"));

    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut got = None;
    for _ in 0..50 {
        sock.send_to(b"ping", ("127.0.0.1", udp.host_port)).unwrap();
        let mut buf = [0u8; 64];
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            got = Some(buf[..n].to_vec());
            break;
        }
    }
    assert_eq!(got.as_deref(), Some(&b"echo:ping"[..]));

    // Unpublishing closes the port.
    f.nets.unpublish(&web.id).unwrap();
    assert!(http_get(&format!("127.0.0.1:{}", tcp.host_port)).is_err());
    assert!(f.nets.ports(&web.id).unwrap().is_empty());
    f.finish();
}

#[test]
fn published_ports_are_reachable_from_another_network_through_the_host() {
    let f = NetFixture::new();
    let a = f.network("a", false);
    let b = f.network("b", false);
    let web = f.container("web", 1, &[(&a.name, ConnectOptions::default())]);
    let other = f.container("other", 1, &[(&b.name, ConnectOptions::default())]);
    f.serve_http(&web, 80, "through the host");
    let bound = f
        .nets
        .publish(
            &web.sandbox,
            &[PortSpec {
                target: 80,
                published: None,
                host_ip: None,
                protocol: Protocol::Tcp,
            }],
        )
        .unwrap();
    let url = format!("http://{}:{}/", b.gateway, bound[0].host_port);
    let out = f.exec_until_ok(&other, &[BUSYBOX, "wget", "-q", "-O", "-", &url]);
    assert!(
        stdout(&out).contains("through the host"),
        "{}",
        stdout(&out)
    );
    // But not directly: the networks are isolated (no route between them without
    // forwarding, and our forward chain drops bridge-to-bridge traffic).
    let direct = format!("http://{}:80/", web.ip());
    let out = f.exec(
        &other,
        &[BUSYBOX, "wget", "-q", "-T", "2", "-O", "-", &direct],
    );
    assert!(!out.status.success());
    f.finish();
}

#[test]
fn a_port_already_in_use_fails_naming_it_and_binds_nothing() {
    let f = NetFixture::new();
    let net = f.network("default", false);
    let web = f.container("web", 1, &[(&net.name, ConnectOptions::default())]);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free_port = free.local_addr().unwrap().port();
    drop(free);
    let err = f
        .nets
        .publish(
            &web.sandbox,
            &[
                PortSpec {
                    target: 81,
                    published: Some(PortRange {
                        start: free_port,
                        end: free_port,
                    }),
                    host_ip: Some("127.0.0.1".parse().unwrap()),
                    protocol: Protocol::Tcp,
                },
                PortSpec {
                    target: 80,
                    published: Some(PortRange {
                        start: port,
                        end: port,
                    }),
                    host_ip: Some("127.0.0.1".parse().unwrap()),
                    protocol: Protocol::Tcp,
                },
            ],
        )
        .unwrap_err();
    assert!(matches!(err, NetworkError::PortInUse { .. }));
    assert_eq!(
        err.to_string(),
        format!("Bind for 127.0.0.1:{port} failed: port is already allocated")
    );
    // The first port was not left bound.
    std::net::TcpListener::bind(("127.0.0.1", free_port)).expect("port released");
    assert!(f.nets.ports(&web.id).unwrap().is_empty());
    f.finish();
}

#[test]
fn an_internal_network_has_no_route_out() {
    let f = NetFixture::new();
    let internal = f.network("private", true);
    let open = f.network("open", false);
    let elsewhere = f.network("elsewhere", false);
    let inside = f.container("inside", 1, &[(&internal.name, ConnectOptions::default())]);
    let normal = f.container("normal", 1, &[(&open.name, ConnectOptions::default())]);
    // An address inside another test namespace, off both networks.
    let target = f.container("target", 1, &[(&elsewhere.name, ConnectOptions::default())]);
    let target_ip = target.ip().to_string();

    let routes = stdout(&f.exec(&inside, &[BUSYBOX, "ip", "route"]));
    assert!(
        !routes.contains("default"),
        "internal has a default route: {routes}"
    );
    let out = f.exec(&inside, &[BUSYBOX, "ip", "route", "get", &target_ip]);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("unreachable"), "{}", stdout(&out));
    let out = f.exec(
        &inside,
        &[BUSYBOX, "ping", "-c", "1", "-W", "1", &target_ip],
    );
    assert!(!out.status.success());

    // The same from a normal network goes via its gateway.
    let routes = stdout(&f.exec(&normal, &[BUSYBOX, "ip", "route"]));
    assert!(
        routes.contains(&format!("default via {}", open.gateway)),
        "{routes}"
    );
    let out = f.exec(&normal, &[BUSYBOX, "ip", "route", "get", &target_ip]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains(&format!("via {}", open.gateway)));
    // The internal network still reaches its own members and its gateway.
    let peer = f.container("peer", 1, &[(&internal.name, ConnectOptions::default())]);
    let out = f.exec(
        &inside,
        &[
            BUSYBOX,
            "ping",
            "-c",
            "1",
            "-W",
            "2",
            &peer.ip().to_string(),
        ],
    );
    assert!(out.status.success(), "{}", stdout(&out));
    f.finish();
}

#[test]
fn nat_rules_live_in_our_own_table_and_go_with_the_last_network() {
    let f = NetFixture::new();
    let nat = f.network("nat", false);
    let internal = f.network("internal", true);
    let table = nft_table(f.table()).expect("our table exists");
    assert!(table.contains("masquerade"), "{table}");
    assert!(table.contains(&nat.subnet.to_string()), "{table}");
    assert!(
        !table.contains(&internal.subnet.to_string()),
        "internal networks are not masqueraded: {table}"
    );
    assert!(table.contains(&format!("\"{}\"", internal.bridge)));
    f.nets.remove(&nat.name).unwrap();
    let table = nft_table(f.table()).expect("still one network");
    assert!(!table.contains(&nat.subnet.to_string()));
    assert!(!table.contains(&nat.bridge));
    f.nets.remove(&internal.name).unwrap();
    assert!(
        nft_table(f.table()).is_none(),
        "table removed with the last network"
    );
    assert!(!link_exists(&internal.bridge));
    f.finish();
}

#[test]
fn network_mode_none_has_only_loopback_and_service_mode_shares_the_namespace() {
    let f = NetFixture::new();
    let net = f.network("default", false);
    let lonely = f.container("lonely", 1, &[]);
    let links = stdout(&f.exec(&lonely, &[BUSYBOX, "ip", "-o", "link"]));
    assert_eq!(links.lines().count(), 1, "{links}");
    assert!(links.contains("lo:") && links.contains("UP"), "{links}");
    // `none`: a resolv.conf without the embedded DNS.
    let resolv = std::fs::read_to_string(&lonely.resolv_conf).unwrap();
    assert!(!resolv.contains("127.0.0.11"), "{resolv}");

    let app = f.container("app", 1, &[(&net.name, ConnectOptions::default())]);
    // `service:app`: another process joins app's namespace by path.
    let shared = f.nets.sandbox(&app.id).unwrap().unwrap();
    assert_eq!(shared.path, app.sandbox.path);
    let mut sidecar = app.clone();
    sidecar.sandbox = shared;
    let addrs = stdout(&f.exec(&sidecar, &[BUSYBOX, "ip", "-o", "-4", "addr"]));
    assert!(addrs.contains(&app.ip().to_string()), "{addrs}");
    f.finish();
}

#[test]
fn static_addresses_macs_and_ipam_config_are_honoured() {
    let f = NetFixture::new();
    let net = f.network_spec(NetworkSpec {
        name: f.net_name("static"),
        ipam: IpamSpec {
            config: vec![IpamPoolSpec {
                subnet: Some("10.124.7.0/24".into()),
                ip_range: Some("10.124.7.128/25".into()),
                gateway: Some("10.124.7.254".into()),
                ..Default::default()
            }],
            ..Default::default()
        },
        labels: labels(&[("com.docker.compose.network", "static")]),
        ..Default::default()
    });
    assert_eq!(net.gateway.to_string(), "10.124.7.254");
    let fixed = f.container(
        "fixed",
        1,
        &[(
            &net.name,
            ConnectOptions {
                ipv4_address: Some("10.124.7.10".parse().unwrap()),
                mac_address: Some("02:aa:bb:cc:dd:ee".into()),
                interface_name: Some("eth7".into()),
                mtu: Some(1400),
                ..Default::default()
            },
        )],
    );
    let dynamic = f.container("dynamic", 1, &[(&net.name, ConnectOptions::default())]);
    assert_eq!(fixed.ip().to_string(), "10.124.7.10");
    assert_eq!(dynamic.ip().to_string(), "10.124.7.128", "from ip_range");
    let link = stdout(&f.exec(&fixed, &[BUSYBOX, "ip", "link", "show", "eth7"]));
    assert!(link.contains("02:aa:bb:cc:dd:ee"), "{link}");
    assert!(link.contains("mtu 1400"), "{link}");
    let routes = stdout(&f.exec(&fixed, &[BUSYBOX, "ip", "route"]));
    assert!(
        routes.contains("default via 10.124.7.254 dev eth7"),
        "{routes}"
    );

    // The same address twice is refused, naming it.
    let id = random_hex(64);
    let sb = f
        .nets
        .create_sandbox(&id, &SandboxOptions::default())
        .unwrap();
    let err = f
        .nets
        .connect(
            &sb,
            &net.name,
            &ConnectOptions {
                ipv4_address: Some("10.124.7.10".parse().unwrap()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "network `{}`: address 10.124.7.10 is already in use",
            net.name
        )
    );
    f.nets.destroy_sandbox(&id).unwrap();
    // Overlapping subnets are refused.
    let err = f
        .nets
        .create(&NetworkSpec {
            name: f.net_name("overlap"),
            ipam: IpamSpec {
                config: vec![IpamPoolSpec {
                    subnet: Some("10.124.0.0/16".into()),
                    ..Default::default()
                }],
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap_err();
    assert!(err.to_string().contains("overlaps"), "{err}");
    assert!(f.nets.find(&f.net_name("overlap")).unwrap().is_none());
    f.finish();
}

#[test]
fn concurrent_connects_get_distinct_addresses() {
    let f = NetFixture::new();
    let net = f.network("busy", false);
    let ids: Vec<String> = (0..6).map(|_| random_hex(64)).collect();
    let ips: Vec<Ipv4Addr> = std::thread::scope(|s| {
        let handles: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let f = &f;
                let net = &net;
                s.spawn(move || {
                    let sb = f
                        .nets
                        .create_sandbox(
                            id,
                            &SandboxOptions {
                                container_name: format!("c{i}"),
                                ..Default::default()
                            },
                        )
                        .unwrap();
                    f.nets
                        .connect(&sb, &net.name, &ConnectOptions::default())
                        .unwrap()
                        .ipv4
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut unique = ips.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ips.len(), "{ips:?}");
    assert_eq!(f.nets.get(&net.name).unwrap().endpoints.len(), 6);
    for id in &ids {
        f.nets.destroy_sandbox(id).unwrap();
    }
    assert!(f.nets.get(&net.name).unwrap().endpoints.is_empty());
    f.finish();
}

#[test]
fn a_network_with_containers_cannot_be_removed() {
    let f = NetFixture::new();
    let net = f.network("inuse", false);
    let c = f.container("c", 1, &[(&net.name, ConnectOptions::default())]);
    let err = f.nets.remove(&net.name).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "error while removing network: network {} id {} has active endpoints",
            net.name, net.id
        )
    );
    assert!(link_exists(&net.bridge));
    f.nets.disconnect(&c.sandbox, &net.name).unwrap();
    assert!(f.nets.attachments(&c.id).unwrap().is_empty());
    f.nets.remove(&net.name).unwrap();
    f.finish();
}

#[test]
fn disconnect_moves_the_default_route_to_the_remaining_network() {
    let f = NetFixture::new();
    let a = f.network("a", false);
    let b = f.network("b", false);
    let c = f.container(
        "c",
        1,
        &[
            (&a.name, ConnectOptions::default()),
            (&b.name, ConnectOptions::default()),
        ],
    );
    let routes = stdout(&f.exec(&c, &[BUSYBOX, "ip", "route"]));
    assert!(
        routes.contains(&format!("default via {} dev eth0", a.gateway)),
        "{routes}"
    );
    f.nets.disconnect(&c.sandbox, &a.name).unwrap();
    let routes = stdout(&f.exec(&c, &[BUSYBOX, "ip", "route"]));
    assert!(
        routes.contains(&format!("default via {} dev eth1", b.gateway)),
        "{routes}"
    );
    let links = stdout(&f.exec(&c, &[BUSYBOX, "ip", "-o", "link"]));
    assert!(!links.contains("eth0"), "{links}");
    // Its name is gone from `a`'s DNS.
    assert!(f.nets.get(&a.name).unwrap().endpoints.is_empty());
    f.finish();
}

#[test]
fn a_killed_helper_is_restarted_and_restores_dns_and_ports() {
    let f = NetFixture::new();
    let net = f.network("default", false);
    let web = f.container("web", 1, &[(&net.name, ConnectOptions::default())]);
    f.serve_http(&web, 80, "still here");
    let bound = f
        .nets
        .publish(
            &web.sandbox,
            &[PortSpec {
                target: 80,
                published: None,
                host_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                protocol: Protocol::Tcp,
            }],
        )
        .unwrap();
    let pid = f.nets.helper_pid().expect("helper runs");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    while nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok() {
        std::thread::sleep(Duration::from_millis(10));
    }
    // The next command that needs it starts a new one, which re-binds the recorded ports and
    // re-creates every container's DNS socket.
    let client = f.container("client", 1, &[(&net.name, ConnectOptions::default())]);
    assert_ne!(f.nets.helper_pid(), Some(pid));
    assert_eq!(query_a(&client, "web").0, vec![web.ip()]);
    assert_eq!(query_a(&web, "client").0, vec![client.ip()]);
    let body = http_get_retry(&format!("127.0.0.1:{}", bound[0].host_port));
    assert!(body.contains("still here"));
    f.finish();
}

#[test]
fn teardown_removes_namespaces_veths_bridge_table_and_helper() {
    let f = NetFixture::new();
    let net = f.network("default", false);
    let cs: Vec<_> = (1..=3)
        .map(|i| f.container("web", i, &[(&net.name, ConnectOptions::default())]))
        .collect();
    let state = f.nets.get(&net.name).unwrap();
    let veths: Vec<String> = state
        .endpoints
        .values()
        .map(|e| e.host_veth.clone())
        .collect();
    assert_eq!(veths.len(), 3);
    for v in &veths {
        assert!(link_exists(v), "{v}");
    }
    assert!(f.nets.helper_pid().is_some());
    for c in &cs {
        f.nets.destroy_sandbox(&c.id).unwrap();
        assert!(!c.sandbox.path.exists());
    }
    f.nets.remove(&net.name).unwrap();
    // `finish` asserts: no mount under the test dir, no veth, no bridge, no table, helper gone.
    f.finish();
}

#[test]
fn a_reboot_is_repaired_by_the_next_command() {
    let f = NetFixture::new();
    let net = f.network("default", false);
    let old = f.container("old", 1, &[(&net.name, ConnectOptions::default())]);
    // What a reboot does: namespaces, bridges and nft tables vanish; the state files stay.
    rcompose::network::netns::remove(&old.sandbox.path).unwrap();
    std::process::Command::new("ip")
        .args(["link", "del", &net.bridge])
        .status()
        .unwrap();
    std::process::Command::new("nft")
        .args(["delete", "table", "ip", f.table()])
        .status()
        .unwrap();
    assert!(!link_exists(&net.bridge));

    let spec = NetworkSpec {
        name: net.name.clone(),
        ..Default::default()
    };
    let (again, created) = f.nets.ensure(&spec).unwrap();
    assert!(!created);
    assert_eq!(again.id, net.id);
    assert!(link_exists(&net.bridge), "bridge re-created");
    assert!(nft_table(f.table()).is_some(), "NAT table re-created");
    // The dead container's address is free again and its name gone from DNS.
    let new = f.container("new", 1, &[(&net.name, ConnectOptions::default())]);
    assert_eq!(new.ip(), old.ip());
    assert!(query_a(&new, "old").0.is_empty());
    assert_eq!(f.nets.get(&net.name).unwrap().endpoints.len(), 1);
    f.finish();
}

#[test]
fn ip_forward_is_enabled_for_nat_with_a_guard_and_restored_with_the_last_network() {
    let sysctl = || {
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .unwrap()
            .trim()
            .to_string()
    };
    let before = sysctl();
    let f = NetFixture::with_ip_forward(true);
    let internal = f.network("internal", true);
    // An internal network needs no forwarding.
    assert_eq!(sysctl(), before);
    let nat = f.network("nat", false);
    assert_eq!(sysctl(), "1");
    let table = nft_table(f.table()).unwrap();
    if before == "0" {
        // We turned routing on, so only traffic of our bridges may be routed.
        assert!(
            table.contains("iifname != @bridges oifname != @bridges drop"),
            "{table}"
        );
    } else {
        // Someone else had it on: their routing is none of our business.
        assert!(!table.contains("oifname != @bridges drop"), "{table}");
    }
    f.nets.remove(&nat.name).unwrap();
    f.nets.remove(&internal.name).unwrap();
    assert_eq!(sysctl(), before, "restored with the last network");
    f.finish();
}

#[test]
fn connect_fails_clearly_when_the_dns_address_is_taken_in_the_container() {
    let f = NetFixture::new();
    let net = f.network("default", false);
    let id = random_hex(64);
    let sb = f
        .nets
        .create_sandbox(
            &id,
            &SandboxOptions {
                container_name: "squatter".into(),
                ..Default::default()
            },
        )
        .unwrap();
    // A process in the container already serves DNS on 127.0.0.11:53.
    let ns: std::os::fd::OwnedFd = std::fs::File::open(&sb.path).unwrap().into();
    let squatter = rcompose::network::netns::run_in(std::os::fd::AsFd::as_fd(&ns), || {
        UdpSocket::bind("127.0.0.11:53")
    })
    .unwrap()
    .unwrap();
    let err = f
        .nets
        .connect(&sb, &net.name, &ConnectOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot serve DNS on 127.0.0.11:53") && err.contains("in use"),
        "{err}"
    );
    // Nothing half-made is left: no endpoint, no veth on the bridge.
    assert!(f.nets.get(&net.name).unwrap().endpoints.is_empty());
    assert!(f.nets.attachments(&id).unwrap().is_empty());
    drop(squatter);
    drop(ns);
    f.nets.destroy_sandbox(&id).unwrap();
    f.finish();
}
