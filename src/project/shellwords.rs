//! Splitting a `command:` / `entrypoint:` string into words the way Compose does
//! (`github.com/mattn/go-shellwords` with its defaults): quotes and backslashes are honoured,
//! no variable or backtick expansion, and parsing stops at an unquoted `;`, `&`, `|`, `<`, `>`.

/// Split `line` into words.
pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    let mut buf = String::new();
    let (mut escaped, mut dq, mut sq, mut bq, mut dollar_q) = (false, false, false, false, false);
    #[derive(PartialEq)]
    enum Got {
        No,
        Single,
        Quoted,
    }
    let mut got = Got::No;
    for r in line.chars() {
        if escaped {
            buf.push(r);
            escaped = false;
            got = Got::Single;
            continue;
        }
        if r == '\\' {
            if sq {
                buf.push(r);
            } else {
                escaped = true;
            }
            continue;
        }
        if matches!(r, ' ' | '\t' | '\r' | '\n') {
            if sq || dq || bq || dollar_q {
                buf.push(r);
            } else if got != Got::No {
                args.push(std::mem::take(&mut buf));
                got = Got::No;
            }
            continue;
        }
        match r {
            '`' if !sq && !dq && !dollar_q => {
                bq = !bq;
            }
            ')' if !sq && !dq && !bq => {
                if dollar_q {
                    dollar_q = false;
                } else {
                    return Err("invalid command line string".into());
                }
            }
            '(' if !sq && !dq && !bq => {
                if !dollar_q && buf.ends_with('$') {
                    dollar_q = true;
                    buf.push('(');
                    continue;
                } else {
                    return Err("invalid command line string".into());
                }
            }
            '"' if !sq && !dollar_q => {
                if dq {
                    got = Got::Quoted;
                }
                dq = !dq;
                continue;
            }
            '\'' if !dq && !dollar_q => {
                if sq {
                    got = Got::Quoted;
                }
                sq = !sq;
                continue;
            }
            ';' | '&' | '|' | '<' | '>' if !(sq || dq || bq || dollar_q) => {
                if r == '>' && buf.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                    // `2>file`: the fd number is not an argument
                    got = Got::No;
                }
                break;
            }
            _ => {}
        }
        got = Got::Single;
        buf.push(r);
    }
    if got != Got::No {
        args.push(buf);
    }
    if escaped || sq || dq || bq || dollar_q {
        return Err("invalid command line string".into());
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits_like_go_shellwords() {
        assert_eq!(split("echo hi && echo there").unwrap(), ["echo", "hi"]);
        assert_eq!(
            split(r#"echo "a\"b" 'x\y' c\ d"#).unwrap(),
            ["echo", "a\"b", "x\\y", "c d"]
        );
        assert_eq!(split("echo `date` x").unwrap(), ["echo", "`date`", "x"]);
        assert_eq!(split("echo $(date) y").unwrap(), ["echo", "$(date)", "y"]);
        assert_eq!(split("echo 2>b").unwrap(), ["echo"]);
        assert_eq!(split("a;b").unwrap(), ["a"]);
        assert_eq!(split("").unwrap(), Vec::<String>::new());
        assert_eq!(split("''").unwrap(), [""]);
        assert!(split("echo (x)").is_err());
        assert!(split("echo x)").is_err());
        assert!(split("echo 'x").is_err());
    }
}
