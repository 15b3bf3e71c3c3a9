//! Value syntaxes Compose inherits from Go libraries: durations (`time.ParseDuration` plus
//! `d`/`w` as go-str2duration), byte sizes (`docker/go-units.RAMInBytes`) and Go's float
//! formatting (`fmt.Sprint`, `encoding/json`).

use std::time::Duration;

/// Parse a duration the way compose-go does (`str2duration.ParseDuration`): a sequence of
/// decimal numbers with a unit each (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`, `d`, `w`), or `0`.
/// Negative durations are returned as an error (no Compose field accepts them).
pub fn parse_duration(s: &str) -> Result<i128, String> {
    let orig = s;
    let mut s = s;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(format!("time: invalid duration \"{orig}\""));
    }
    let mut total: f64 = 0.0;
    let mut total_ns: i128 = 0;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let int_part = &s[start..i];
        let mut frac_part = "";
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            let fs = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            frac_part = &s[fs..i];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(format!("time: invalid duration \"{orig}\""));
        }
        let us = i;
        while i < bytes.len() && !(bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let unit = &s[us..i];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration \"{orig}\""));
        }
        let mult: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3600 * 1_000_000_000,
            "d" => 24 * 3600 * 1_000_000_000,
            "w" => 7 * 24 * 3600 * 1_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit \"{unit}\" in duration \"{orig}\""
                ));
            }
        };
        let ip: i128 = if int_part.is_empty() {
            0
        } else {
            int_part
                .parse::<i128>()
                .map_err(|_| format!("time: invalid duration \"{orig}\""))?
        };
        total_ns += ip * mult;
        if !frac_part.is_empty() {
            let f: f64 = format!("0.{frac_part}").parse().unwrap_or(0.0);
            total += f * mult as f64;
        }
    }
    let ns = total_ns + total as i128;
    if ns > i64::MAX as i128 {
        return Err(format!("time: invalid duration \"{orig}\""));
    }
    Ok(if neg { -ns } else { ns })
}

/// Format nanoseconds as Go's `time.Duration.String()`: `1m30s`, `2h0m0s`, `1.5s`, `500ms`.
pub fn format_duration(ns: i128) -> String {
    let neg = ns < 0;
    let mut u = ns.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        if u == 0 {
            return "0s".to_string();
        }
        let (prec, unit) = if u < 1_000 {
            (0, "ns")
        } else if u < 1_000_000 {
            (3, "µs")
        } else {
            (6, "ms")
        };
        let (frac, int) = fmt_frac(u, prec);
        out.push_str(&int.to_string());
        out.push_str(&frac);
        out.push_str(unit);
    } else {
        let (frac, secs) = fmt_frac(u, 9);
        u = secs;
        let s = u % 60;
        u /= 60;
        let mut tail = format!("{s}{frac}s");
        if u > 0 {
            let m = u % 60;
            u /= 60;
            tail = format!("{m}m{tail}");
            if u > 0 {
                tail = format!("{u}h{tail}");
            }
        }
        out.push_str(&tail);
    }
    if neg { format!("-{out}") } else { out }
}

fn fmt_frac(v: u128, prec: u32) -> (String, u128) {
    let mut v = v;
    let mut digits = Vec::new();
    let mut print = false;
    for _ in 0..prec {
        let d = v % 10;
        print = print || d != 0;
        if print {
            digits.push((b'0' + d as u8) as char);
        }
        v /= 10;
    }
    if digits.is_empty() {
        return (String::new(), v);
    }
    digits.reverse();
    let mut s = String::from(".");
    s.extend(digits);
    (s, v)
}

pub fn duration_from_ns(ns: i128) -> Duration {
    Duration::from_nanos(ns.max(0) as u64)
}

/// `docker/go-units.RAMInBytes`: `1g` -> 1073741824, `512m`, `1.5GiB`, `100`.
pub fn ram_in_bytes(s: &str) -> Result<i64, String> {
    let sep = s.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ');
    let Some(sep) = sep else {
        return Err(format!("invalid size: '{s}'"));
    };
    let (num, sfx) = if s.as_bytes()[sep] != b' ' {
        (&s[..=sep], &s[sep + 1..])
    } else {
        (&s[..sep], &s[sep + 1..])
    };
    let size: f64 = go_parse_float(num)
        .ok_or_else(|| format!("strconv.ParseFloat: parsing \"{num}\": invalid syntax"))?;
    if size < 0.0 {
        return Err(format!("invalid size: '{s}'"));
    }
    if sfx.is_empty() {
        return Ok(size as i64);
    }
    let bad = || Err(format!("invalid suffix: '{}'", sfx.to_lowercase()));
    if sfx.len() > 3 {
        return bad();
    }
    let l = sfx.to_lowercase();
    let lb = l.as_bytes();
    if lb[0] == b'b' {
        if l.len() > 1 {
            return bad();
        }
        return Ok(size as i64);
    }
    let mul: f64 = match lb[0] {
        b'k' => 1024.0,
        b'm' => 1024.0 * 1024.0,
        b'g' => 1024.0 * 1024.0 * 1024.0,
        b't' => 1024f64.powi(4),
        b'p' => 1024f64.powi(5),
        _ => return bad(),
    };
    if (l.len() == 2 && lb[1] != b'b') || (l.len() == 3 && &l[1..] != "ib") {
        return bad();
    }
    Ok((size * mul) as i64)
}

/// Go's `strconv.ParseFloat` for plain decimal input (no hex floats, allows `_` only as Go does
/// not: we keep it strict).
pub fn go_parse_float(s: &str) -> Option<f64> {
    let t = s.trim_start_matches(['+', '-']);
    if t.is_empty() {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" || lower == "nan" {
        return s.parse::<f64>().ok();
    }
    if !t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Go's `fmt.Sprint` of a float (`%v` = `strconv.FormatFloat(f, 'g', -1, bits)`).
pub fn go_float(f: f64, bits: u32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let (neg, digits, dp) = shortest_digits(f, bits);
    let exp = dp - 1;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        // %e with the shortest digits
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        if exp < 0 {
            out.push('-');
        } else {
            out.push('+');
        }
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    } else {
        out.push_str(&fmt_f(&digits, dp));
    }
    out
}

/// Go's `encoding/json` float formatting: `'f'` unless tiny or huge.
pub fn go_json_float(f: f64, bits: u32) -> String {
    let abs = f.abs();
    let use_e = abs != 0.0 && !(1e-6..1e21).contains(&abs);
    let (neg, digits, dp) = shortest_digits(f, bits);
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if use_e {
        let exp = dp - 1;
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&exp.unsigned_abs().to_string());
    } else {
        out.push_str(&fmt_f(&digits, dp));
    }
    out
}

fn fmt_f(digits: &str, dp: i32) -> String {
    let mut out = String::new();
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(digits);
    } else if dp as usize >= digits.len() {
        out.push_str(digits);
        for _ in 0..(dp as usize - digits.len()) {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
    out
}

/// Shortest round-trip decimal digits of `f` (as f32 when `bits == 32`): (negative, digits,
/// decimal point position) with value = 0.digits * 10^dp.
fn shortest_digits(f: f64, bits: u32) -> (bool, String, i32) {
    let s = if bits == 32 {
        format!("{:e}", f as f32)
    } else {
        format!("{f:e}")
    };
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e-7", "0e0"
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r.to_string()),
        None => (false, s),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    if digits == "0" {
        return (neg, "0".into(), 1);
    }
    (neg, digits, exp + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_format_like_go() {
        assert_eq!(format_duration(parse_duration("90s").unwrap()), "1m30s");
        assert_eq!(format_duration(parse_duration("1m").unwrap()), "1m0s");
        assert_eq!(format_duration(parse_duration("2h").unwrap()), "2h0m0s");
        assert_eq!(format_duration(parse_duration("0s").unwrap()), "0s");
        assert_eq!(format_duration(parse_duration("1500ms").unwrap()), "1.5s");
        assert_eq!(format_duration(parse_duration("500ms").unwrap()), "500ms");
        assert_eq!(format_duration(parse_duration("1us").unwrap()), "1µs");
        assert_eq!(format_duration(parse_duration("1d").unwrap()), "24h0m0s");
        assert_eq!(format_duration(parse_duration("1h30m").unwrap()), "1h30m0s");
        assert!(parse_duration("10").is_err());
        assert_eq!(parse_duration("0").unwrap(), 0);
    }

    #[test]
    fn byte_sizes_parse_like_go_units() {
        assert_eq!(ram_in_bytes("1g").unwrap(), 1073741824);
        assert_eq!(ram_in_bytes("50M").unwrap(), 52428800);
        assert_eq!(ram_in_bytes("1.5GiB").unwrap(), 1610612736);
        assert_eq!(ram_in_bytes("100").unwrap(), 100);
        assert_eq!(ram_in_bytes("10 kb").unwrap(), 10240);
        assert!(ram_in_bytes("1x").is_err());
        assert!(ram_in_bytes("g").is_err());
    }

    #[test]
    fn floats_print_like_go() {
        assert_eq!(go_float(1.5, 64), "1.5");
        assert_eq!(go_float(1.0, 64), "1");
        assert_eq!(go_float(1e6, 64), "1e+06");
        assert_eq!(go_float(123456.0, 64), "123456");
        assert_eq!(go_float(0.0001, 64), "0.0001");
        assert_eq!(go_float(0.00001, 64), "1e-05");
        assert_eq!(go_float(0.1, 32), "0.1");
        assert_eq!(go_json_float(0.001, 32), "0.001");
        assert_eq!(go_json_float(1e21, 64), "1e+21");
        assert_eq!(go_json_float(100000000.0, 64), "100000000");
    }
}
