//! Short human forms for table cells.

use chrono::{DateTime, FixedOffset, Utc};

use crate::tui::msg::Port;

/// `512B`, `1.5K`, `45.2M`, `1.0G` (binary units, as `docker stats`).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n}B")
    } else if v < 10.0 {
        format!("{v:.1}{}", UNITS[u])
    } else {
        format!("{v:.0}{}", UNITS[u])
    }
}

/// `45s`, `12m05s`, `3h05m`, `4d03h`.
pub fn duration(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

/// `8080→80/tcp`; `80/tcp` when not published. UDP and SCTP keep their protocol.
pub fn port_short(p: &Port) -> String {
    let proto = if p.protocol == "tcp" {
        String::new()
    } else {
        format!("/{}", p.protocol)
    };
    match p.host_port {
        Some(h) if h == p.container_port => format!("{h}{proto}"),
        Some(h) => format!("{h}→{}{proto}", p.container_port),
        None => format!("({}{proto})", p.container_port),
    }
}

/// Docker's form: `0.0.0.0:8080->80/tcp`.
pub fn port_long(p: &Port) -> String {
    match p.host_port {
        Some(h) => format!(
            "{}:{h}->{}/{}",
            p.host_ip.as_deref().unwrap_or("0.0.0.0"),
            p.container_port,
            p.protocol
        ),
        None => format!("{}/{}", p.container_port, p.protocol),
    }
}

pub fn ports_short(ports: &[Port]) -> String {
    let mut seen = Vec::new();
    for p in ports {
        let s = port_short(p);
        if !seen.contains(&s) {
            seen.push(s);
        }
    }
    seen.join(",")
}

/// `12:03:04.123` in the dashboard's zone.
pub fn clock_millis(t: DateTime<Utc>, tz: FixedOffset) -> String {
    t.with_timezone(&tz).format("%H:%M:%S%.3f").to_string()
}

/// `12:03:04`.
pub fn clock(t: DateTime<Utc>, tz: FixedOffset) -> String {
    t.with_timezone(&tz).format("%H:%M:%S").to_string()
}

/// `1234` → `1,234`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `950`, `1.2k`, `12k`.
pub fn rate(n: u64) -> String {
    match n {
        0..1000 => n.to_string(),
        1000..10_000 => format!("{:.1}k", n as f64 / 1000.0),
        _ => format!("{}k", n / 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms() {
        assert_eq!(bytes(512), "512B");
        assert_eq!(bytes(1536), "1.5K");
        assert_eq!(bytes(45 << 20), "45M");
        assert_eq!(duration(chrono::Duration::seconds(3725)), "1h02m");
        assert_eq!(duration(chrono::Duration::seconds(59)), "59s");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(rate(10_400), "10k");
        let p = Port {
            host_ip: None,
            host_port: Some(8080),
            container_port: 80,
            protocol: "tcp".into(),
        };
        assert_eq!(port_short(&p), "8080→80");
        assert_eq!(port_long(&p), "0.0.0.0:8080->80/tcp");
    }
}
