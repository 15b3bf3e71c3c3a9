//! "did you mean X?" as BuildKit's `util/suggest`: the closest option within an edit distance
//! below 3.

/// The closest option, if any is within distance 2 (case folded unless `case_sensitive`).
pub fn search(val: &str, options: &[String], case_sensitive: bool) -> Option<String> {
    let v = if case_sensitive {
        val.to_string()
    } else {
        val.to_lowercase()
    };
    let mut best: Option<String> = None;
    let mut min = 3;
    for opt in options {
        let o = if case_sensitive {
            opt.clone()
        } else {
            opt.to_lowercase()
        };
        if o == v {
            return None;
        }
        let d = strsim::levenshtein(&v, &o);
        if d < min {
            min = d;
            best = Some(if case_sensitive {
                o
            } else {
                match_case(&o, val)
            });
        }
    }
    best
}

fn match_case(val: &str, orig: &str) -> String {
    if orig == orig.to_lowercase() {
        val.to_lowercase()
    } else if orig == orig.to_uppercase() {
        val.to_uppercase()
    } else {
        val.to_string()
    }
}

/// `message (did you mean X?)` when a close option exists.
pub fn wrap(message: String, val: &str, options: &[String], case_sensitive: bool) -> String {
    match search(val, options, case_sensitive) {
        Some(m) => format!("{message} (did you mean {m}?)"),
        None => message,
    }
}
