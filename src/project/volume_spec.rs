//! Short syntaxes parsed into long form: volumes (`src:dst:opts`, compose-go `format.ParseVolume`)
//! and ports (`[ip:][host:]container[/proto]`, docker `nat.ParsePortSpecs`).

use std::collections::BTreeMap;
use std::net::IpAddr;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeSpec {
    pub kind: &'static str,
    pub source: Option<String>,
    pub target: Option<String>,
    pub read_only: bool,
    /// (selinux, propagation, create_host_path)
    pub bind: Option<(Option<String>, Option<String>, bool)>,
    /// nocopy
    pub volume: Option<bool>,
}

/// Parse a volume short syntax.
pub fn parse_volume(spec: &str) -> Result<VolumeSpec, String> {
    let mut v = VolumeSpec::default();
    match spec.chars().count() {
        0 => return Err("invalid empty volume spec".into()),
        1 | 2 => {
            v.target = Some(spec.to_string());
            v.kind = "volume";
            return Ok(v);
        }
        _ => {}
    }
    let mut buffer = String::new();
    let mut buffer_chars = 0usize;
    let mut first_char = ' ';
    for c in spec.chars().chain(std::iter::once('\0')) {
        if c == ':' && buffer_chars == 1 && first_char.is_alphabetic() {
            // windows drive letter
            buffer.push(c);
            buffer_chars += 1;
            continue;
        }
        if c == ':' || c == '\0' {
            if let Err(e) = populate_field(c, &buffer, &mut v) {
                populate_type(&mut v);
                return Err(format!("invalid spec: {spec}: {e}"));
            }
            buffer.clear();
            buffer_chars = 0;
        } else {
            if buffer_chars == 0 {
                first_char = c;
            }
            buffer.push(c);
            buffer_chars += 1;
        }
    }
    populate_type(&mut v);
    Ok(v)
}

fn populate_field(c: char, s: &str, v: &mut VolumeSpec) -> Result<(), String> {
    let buffer = s;
    if buffer.is_empty() {
        return Err("empty section between colons".into());
    }
    if v.source.is_none() && c == '\0' {
        v.target = Some(s.to_string());
        return Ok(());
    }
    if v.source.is_none() {
        v.source = Some(s.to_string());
        return Ok(());
    }
    if v.target.is_none() {
        v.target = Some(s.to_string());
        return Ok(());
    }
    if c == ':' {
        return Err("too many colons".into());
    }
    for option in s.split(',') {
        match option {
            "ro" => v.read_only = true,
            "rw" => v.read_only = false,
            "nocopy" => v.volume = Some(true),
            "rprivate" | "private" | "rshared" | "shared" | "rslave" | "slave" => {
                let b = v.bind.get_or_insert((None, None, false));
                b.1 = Some(option.to_string());
            }
            "z" | "Z" => {
                let b = v.bind.get_or_insert((None, None, false));
                b.0 = Some(option.to_string());
            }
            _ => {}
        }
    }
    Ok(())
}

fn populate_type(v: &mut VolumeSpec) {
    if is_file_path(v.source.as_deref().unwrap_or("")) {
        v.kind = "bind";
        let b = v.bind.get_or_insert((None, None, false));
        // As docker-compose v1: the short syntax creates a missing host path.
        b.2 = true;
    } else {
        v.kind = "volume";
        if v.volume.is_none() {
            v.volume = Some(false);
        }
    }
}

fn is_file_path(source: &str) -> bool {
    let Some(first) = source.chars().next() else {
        return false;
    };
    if matches!(first, '.' | '/' | '~') {
        return true;
    }
    if source.starts_with("\\\\") {
        return true;
    }
    let mut it = source.chars();
    let f = it.next();
    let s = it.next();
    matches!((f, s), (Some(f), Some(':')) if f.is_alphabetic())
}

/// One port mapping of a short syntax, long form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub host_ip: String,
    pub target: u32,
    pub published: String,
    pub protocol: String,
}

/// Parse a port short syntax into one mapping per container port (ranges expand). Entries
/// come out sorted as compose-go sorts them (by the `port/proto` string).
pub fn parse_ports(raw: &str) -> Result<Vec<PortSpec>, String> {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let container_port = parts[n - 1];
    let (mut ip, host_port) = match n {
        1 => (String::new(), ""),
        2 => (String::new(), parts[0]),
        3 => (parts[0].to_string(), parts[1]),
        _ => (parts[..n - 2].join(":"), parts[n - 2]),
    };
    let (proto, container_port) = split_proto_port(container_port);
    if ip.starts_with('[') {
        match ip.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(inner) if !inner.contains(['[', ']']) => ip = inner.to_string(),
            _ => {
                return Err(format!(
                    "invalid IP address {ip}: address {ip}:: missing port in address"
                ));
            }
        }
    }
    if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
        return Err(format!("invalid IP address: {ip}"));
    }
    if container_port.is_empty() {
        return Err(format!("no port specified: {raw}<empty>"));
    }
    let (start, end) = parse_port_range(container_port)
        .map_err(|_| format!("invalid containerPort: {container_port}"))?;
    let (mut hstart, mut hend) = (0u64, 0u64);
    if !host_port.is_empty() {
        (hstart, hend) =
            parse_port_range(host_port).map_err(|_| format!("invalid hostPort: {host_port}"))?;
    }
    if !host_port.is_empty() && (end - start) != (hend - hstart) && end != start {
        return Err(format!(
            "invalid ranges specified for container and host Ports: {container_port} and {host_port}"
        ));
    }
    let proto_l = proto.to_lowercase();
    if !matches!(proto_l.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let mut out: BTreeMap<String, Vec<PortSpec>> = BTreeMap::new();
    for i in 0..=(end - start) {
        let cport = start + i;
        let mut published = String::new();
        if !host_port.is_empty() {
            published = (hstart + i).to_string();
        }
        if start == end && hstart != hend {
            published = format!("{published}-{hend}");
        }
        out.entry(format!("{cport}/{proto_l}"))
            .or_default()
            .push(PortSpec {
                host_ip: ip.clone(),
                target: cport as u32,
                published,
                protocol: proto_l.clone(),
            });
    }
    Ok(out.into_values().flatten().collect())
}

fn split_proto_port(raw: &str) -> (String, &str) {
    let parts: Vec<&str> = raw.split('/').collect();
    if raw.is_empty() || parts[0].is_empty() {
        return (String::new(), "");
    }
    if parts.len() == 1 {
        return ("tcp".into(), raw);
    }
    if parts[1].is_empty() {
        return ("tcp".into(), parts[0]);
    }
    (parts[1].to_string(), parts[0])
}

fn parse_port_range(s: &str) -> Result<(u64, u64), ()> {
    if s.is_empty() {
        return Err(());
    }
    let p16 = |x: &str| -> Result<u64, ()> {
        if x.is_empty() || !x.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        x.parse::<u16>().map(u64::from).map_err(|_| ())
    };
    if !s.contains('-') {
        let v = p16(s)?;
        return Ok((v, v));
    }
    let parts: Vec<&str> = s.split('-').collect();
    let start = p16(parts[0])?;
    let end = p16(parts[1])?;
    if end < start {
        return Err(());
    }
    Ok((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_short_syntax() {
        let v = parse_volume("./data:/data:ro,z").unwrap();
        assert_eq!(v.kind, "bind");
        assert_eq!(v.source.as_deref(), Some("./data"));
        assert_eq!(v.target.as_deref(), Some("/data"));
        assert!(v.read_only);
        assert_eq!(v.bind, Some((Some("z".into()), None, true)));
        let v = parse_volume("named:/x").unwrap();
        assert_eq!((v.kind, v.volume), ("volume", Some(false)));
        let v = parse_volume("/anon").unwrap();
        assert_eq!(
            (v.kind, v.target.as_deref(), v.source),
            ("volume", Some("/anon"), None)
        );
        assert_eq!(
            parse_volume(":/text_file.txt").unwrap_err(),
            "invalid spec: :/text_file.txt: empty section between colons"
        );
        assert!(
            parse_volume("/a:/b:ro:x")
                .unwrap_err()
                .ends_with("too many colons")
        );
        // a one-letter source is a Windows drive: `a:b` is the source
        assert_eq!(
            parse_volume("a:b:c:d").unwrap().source.as_deref(),
            Some("a:b")
        );
    }

    #[test]
    fn port_short_syntax() {
        let p = parse_ports("127.0.0.1:5000-5001:6000-6001/udp").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].target, 6000);
        assert_eq!(p[0].published, "5000");
        assert_eq!(p[0].protocol, "udp");
        assert_eq!(p[0].host_ip, "127.0.0.1");
        let p = parse_ports("8000-8010:80").unwrap();
        assert_eq!(p[0].published, "8000-8010");
        assert_eq!(parse_ports("3000").unwrap()[0].published, "");
        assert!(parse_ports("80800:80").is_err());
        let p = parse_ports("[::1]:80:80").unwrap();
        assert_eq!(p[0].host_ip, "::1");
    }
}
