//! Signal names as Docker accepts them: `SIGTERM`, `TERM`, `15`, `SIGRTMIN+3`.

use nix::sys::signal::Signal;

/// Parse a signal name or number into its number.
pub fn parse(s: &str) -> Result<i32, String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<i32>() {
        return if (1..=libc::SIGRTMAX()).contains(&n) {
            Ok(n)
        } else {
            Err(format!("invalid signal: {s}"))
        };
    }
    let up = t.to_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some(rest) = name.strip_prefix("RTMIN") {
        let off: i32 = if rest.is_empty() {
            0
        } else {
            rest.strip_prefix('+')
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("invalid signal: {s}"))?
        };
        let n = libc::SIGRTMIN() + off;
        return if n <= libc::SIGRTMAX() {
            Ok(n)
        } else {
            Err(format!("invalid signal: {s}"))
        };
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        let off: i32 = if rest.is_empty() {
            0
        } else {
            rest.strip_prefix('-')
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("invalid signal: {s}"))?
        };
        let n = libc::SIGRTMAX() - off;
        return if n >= libc::SIGRTMIN() {
            Ok(n)
        } else {
            Err(format!("invalid signal: {s}"))
        };
    }
    format!("SIG{name}")
        .parse::<Signal>()
        .map(|sig| sig as i32)
        .map_err(|_| format!("invalid signal: {s}"))
}

/// `SIGTERM` for 15; `SIGRTMIN+n` for real-time signals.
pub fn name(n: i32) -> String {
    match Signal::try_from(n) {
        Ok(sig) => sig.as_str().to_string(),
        Err(_) if n >= libc::SIGRTMIN() => format!("SIGRTMIN+{}", n - libc::SIGRTMIN()),
        Err(_) => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_spellings_parse() {
        assert_eq!(parse("SIGTERM"), Ok(15));
        assert_eq!(parse("term"), Ok(15));
        assert_eq!(parse("9"), Ok(9));
        assert_eq!(parse("SIGUSR1"), Ok(libc::SIGUSR1));
        assert_eq!(parse("SIGRTMIN+3"), Ok(libc::SIGRTMIN() + 3));
        assert!(parse("SIGNOPE").is_err());
        assert!(parse("0").is_err());
        assert_eq!(name(9), "SIGKILL");
    }
}
