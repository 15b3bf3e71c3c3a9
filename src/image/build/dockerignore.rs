//! `.dockerignore`: moby/patternmatcher (`ignorefile.ReadAll` + `PatternMatcher`), rule by rule.

use super::gomatch;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("illegal exclusion pattern: \"!\"")]
    LoneBang,
    #[error("syntax error in pattern `{0}`")]
    Bad(String),
}

/// `ignorefile.ReadAll`: comments (`#` in column 0), blank lines, `!`, leading `/` and `./`
/// removed by `filepath.Clean`.
pub fn read_patterns(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut p = line.trim();
        if p.is_empty() {
            continue;
        }
        let invert = p.starts_with('!');
        if invert {
            p = p[1..].trim();
        }
        let mut pat = p.to_string();
        if !pat.is_empty() {
            pat = gomatch::clean(&pat);
            if pat.len() > 1 && pat.starts_with('/') {
                pat.remove(0);
            }
        }
        if invert {
            pat.insert(0, '!');
        }
        out.push(pat);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchType {
    Exact,
    Prefix,
    Suffix,
    Regexp,
}

#[derive(Debug, Clone)]
pub struct Pattern {
    cleaned: String,
    exclusion: bool,
    kind: MatchType,
    regex: Option<regex::Regex>,
}

impl Pattern {
    pub fn exclusion(&self) -> bool {
        self.exclusion
    }
    pub fn text(&self) -> &str {
        &self.cleaned
    }

    fn compile(cleaned: String, exclusion: bool) -> Result<Self, PatternError> {
        let chars: Vec<char> = cleaned.chars().collect();
        let mut re = String::from("^");
        let mut kind = MatchType::Exact;
        let mut i = 0;
        let mut idx = 0;
        while i < chars.len() {
            let ch = chars[i];
            i += 1;
            if ch == '*' {
                if chars.get(i) == Some(&'*') {
                    i += 1;
                    if chars.get(i) == Some(&'/') {
                        i += 1;
                    }
                    if i >= chars.len() {
                        if kind == MatchType::Exact {
                            kind = MatchType::Prefix;
                        } else {
                            re.push_str(".*");
                            kind = MatchType::Regexp;
                        }
                    } else {
                        re.push_str("(.*/)?");
                        kind = MatchType::Regexp;
                    }
                    if idx == 0 {
                        kind = MatchType::Suffix;
                    }
                } else {
                    re.push_str("[^/]*");
                    kind = MatchType::Regexp;
                }
            } else if ch == '?' {
                re.push_str("[^/]");
                kind = MatchType::Regexp;
            } else if ".+()|{}$".contains(ch) {
                re.push('\\');
                re.push(ch);
            } else if ch == '\\' {
                match chars.get(i) {
                    Some(&n) => {
                        i += 1;
                        re.push('\\');
                        re.push(n);
                        kind = MatchType::Regexp;
                    }
                    None => re.push_str("\\\\"),
                }
            } else if ch == '[' || ch == ']' {
                re.push(ch);
                kind = MatchType::Regexp;
            } else if matches!(ch, '&' | '~') {
                // Go's regexp treats these literally inside a class; Rust's gives `&&` and `~~`
                // set meanings, so escape them (harmless outside a class).
                re.push('\\');
                re.push(ch);
            } else {
                re.push(ch);
            }
            idx += 1;
        }
        let regex = if kind == MatchType::Regexp {
            re.push('$');
            Some(regex::Regex::new(&re).map_err(|_| PatternError::Bad(cleaned.clone()))?)
        } else {
            None
        };
        Ok(Self {
            cleaned,
            exclusion,
            kind,
            regex,
        })
    }

    fn matches(&self, path: &str) -> bool {
        match self.kind {
            MatchType::Exact => path == self.cleaned,
            MatchType::Prefix => path.starts_with(&self.cleaned[..self.cleaned.len() - 2]),
            MatchType::Suffix => {
                let suffix = &self.cleaned[2..];
                path.ends_with(suffix) || (suffix.starts_with('/') && path == &suffix[1..])
            }
            MatchType::Regexp => self.regex.as_ref().is_some_and(|r| r.is_match(path)),
        }
    }
}

/// Per-pattern results for a directory, passed down to its children.
#[derive(Debug, Clone, Default)]
pub struct MatchInfo {
    parent_matched: Vec<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct PatternMatcher {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

impl PatternMatcher {
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, PatternError> {
        let mut pm = PatternMatcher::default();
        for p in patterns {
            let p = p.as_ref().trim();
            if p.is_empty() {
                continue;
            }
            let mut p = gomatch::clean(p);
            let mut exclusion = false;
            if let Some(rest) = p.strip_prefix('!') {
                if rest.is_empty() {
                    return Err(PatternError::LoneBang);
                }
                exclusion = true;
                pm.exclusions = true;
                p = rest.to_string();
            }
            if gomatch::matches(&p, ".").is_err() {
                return Err(PatternError::Bad(p));
            }
            pm.patterns.push(Pattern::compile(p, exclusion)?);
        }
        Ok(pm)
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
    pub fn exclusions(&self) -> bool {
        self.exclusions
    }
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Only the patterns themselves, no parent matching.
    pub fn matches_exact(&self, file: &str) -> bool {
        let mut matched = false;
        for p in &self.patterns {
            if p.exclusion != matched {
                continue;
            }
            if p.matches(file) {
                matched = !p.exclusion;
            }
        }
        matched
    }

    /// `file` or one of its parent directories is excluded and not re-included.
    pub fn matches_or_parent_matches(&self, file: &str) -> bool {
        let parent = parent_of(file);
        let dirs: Vec<&str> = if parent == "." {
            Vec::new()
        } else {
            parent.split('/').collect()
        };
        let mut matched = false;
        for p in &self.patterns {
            if p.exclusion != matched {
                continue;
            }
            let mut m = p.matches(file);
            if !m {
                for i in 0..dirs.len() {
                    if p.matches(&dirs[..=i].join("/")) {
                        m = true;
                        break;
                    }
                }
            }
            if m {
                matched = !p.exclusion;
            }
        }
        matched
    }

    /// The walker's variant: results of the parent directory are reused.
    pub fn matches_using_parent_results(
        &self,
        file: &str,
        parent: &MatchInfo,
    ) -> (bool, MatchInfo) {
        let mut matched = false;
        let mut info = MatchInfo {
            parent_matched: vec![false; self.patterns.len()],
        };
        for (i, p) in self.patterns.iter().enumerate() {
            let mut m = parent.parent_matched.get(i).copied().unwrap_or(false);
            if !m {
                if p.exclusion != matched {
                    continue;
                }
                m = p.matches(file);
                if !m && parent.parent_matched.is_empty() {
                    let pp = parent_of(file);
                    if pp != "." {
                        let dirs: Vec<&str> = pp.split('/').collect();
                        m = (0..dirs.len()).any(|j| p.matches(&dirs[..=j].join("/")));
                    }
                }
            }
            info.parent_matched[i] = m;
            if m {
                matched = !p.exclusion;
            }
        }
        (matched, info)
    }
}

/// Go's `filepath.Dir`.
fn parent_of(file: &str) -> String {
    match file.rfind('/') {
        Some(i) => gomatch::clean(&file[..=i]),
        None => ".".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, PartialEq)]
    enum T {
        Fail,
        Exact,
        Inexact,
    }
    use T::*;

    /// moby/patternmatcher's TestMatches table.
    const CASES: &[(&str, &str, T)] = &[
        ("**", "file", Exact),
        ("**", "file/", Exact),
        ("**/", "file", Exact),
        ("**/", "file/", Exact),
        ("**", "/", Exact),
        ("**/", "/", Exact),
        ("**", "dir/file", Exact),
        ("**/", "dir/file", Exact),
        ("**", "dir/file/", Exact),
        ("**/", "dir/file/", Exact),
        ("**/**", "dir/file", Exact),
        ("**/**", "dir/file/", Exact),
        ("dir/**", "dir/file", Exact),
        ("dir/**", "dir/file/", Exact),
        ("dir/**", "dir/dir2/file", Exact),
        ("dir/**", "dir/dir2/file/", Exact),
        ("**/dir", "dir", Exact),
        ("**/dir", "dir/file", Inexact),
        ("**/dir2/*", "dir/dir2/file", Exact),
        ("**/dir2/*", "dir/dir2/file/", Inexact),
        ("**/dir2/**", "dir/dir2/dir3/file", Exact),
        ("**/dir2/**", "dir/dir2/dir3/file/", Exact),
        ("**file", "file", Exact),
        ("**file", "dir/file", Exact),
        ("**/file", "dir/file", Exact),
        ("**file", "dir/dir/file", Exact),
        ("**/file", "dir/dir/file", Exact),
        ("**/file*", "dir/dir/file", Exact),
        ("**/file*", "dir/dir/file.txt", Exact),
        ("**/file*txt", "dir/dir/file.txt", Exact),
        ("**/file*.txt", "dir/dir/file.txt", Exact),
        ("**/file*.txt*", "dir/dir/file.txt", Exact),
        ("**/**/*.txt", "dir/dir/file.txt", Exact),
        ("**/**/*.txt2", "dir/dir/file.txt", Fail),
        ("**/*.txt", "file.txt", Exact),
        ("**/**/*.txt", "file.txt", Exact),
        ("a**/*.txt", "a/file.txt", Exact),
        ("a**/*.txt", "a/dir/file.txt", Exact),
        ("a**/*.txt", "a/dir/dir/file.txt", Exact),
        ("a/*.txt", "a/dir/file.txt", Fail),
        ("a/*.txt", "a/file.txt", Exact),
        ("a/*.txt**", "a/file.txt", Exact),
        ("a[b-d]e", "ae", Fail),
        ("a[b-d]e", "ace", Exact),
        ("a[b-d]e", "aae", Fail),
        ("a[^b-d]e", "aze", Exact),
        (".*", ".foo", Exact),
        (".*", "foo", Fail),
        ("abc.def", "abcdef", Fail),
        ("abc.def", "abc.def", Exact),
        ("abc.def", "abcZdef", Fail),
        ("abc?def", "abcZdef", Exact),
        ("abc?def", "abcdef", Fail),
        ("**/foo/bar", "foo/bar", Exact),
        ("**/foo/bar", "dir/foo/bar", Exact),
        ("**/foo/bar", "dir/dir2/foo/bar", Exact),
        ("abc/**", "abc", Fail),
        ("abc/**", "abc/def", Exact),
        ("abc/**", "abc/def/ghi", Exact),
        ("**/.foo", ".foo", Exact),
        ("**/.foo", "bar.foo", Fail),
        ("a(b)c/def", "a(b)c/def", Exact),
        ("a(b)c/def", "a(b)c/xyz", Fail),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", Exact),
        (
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            Exact,
        ),
        (
            "dist/*.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            Exact,
        ),
        ("a\\\\", "a\\", Exact),
        ("a\\*b", "a*b", Exact),
    ];

    const MULTI: &[(&[&str], &str, T)] = &[
        (&["**", "!util/docker/web"], "util/docker/web/foo", Fail),
        (
            &["**", "!util/docker/web", "util/docker/web/foo"],
            "util/docker/web/foo",
            Exact,
        ),
        (
            &[
                "**",
                "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            ],
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            Fail,
        ),
        (
            &["**", "!dist/*.whl"],
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            Fail,
        ),
    ];

    fn with_parents(pm: &PatternMatcher, text: &str) -> bool {
        let parent = parent_of(text);
        let mut info = MatchInfo::default();
        if parent != "." {
            let dirs: Vec<&str> = parent.split('/').collect();
            for i in 0..dirs.len() {
                info = pm
                    .matches_using_parent_results(&dirs[..=i].join("/"), &info)
                    .1;
            }
        }
        pm.matches_using_parent_results(text, &info).0
    }

    #[test]
    fn patternmatcher_test_matches_table() {
        for &(p, text, want) in CASES {
            let pm = PatternMatcher::new(&[p]).unwrap();
            assert_eq!(
                pm.matches_exact(text),
                want == Exact,
                "exact {p:?} {text:?}"
            );
            assert_eq!(
                pm.matches_or_parent_matches(text),
                want != Fail,
                "parent {p:?} {text:?}"
            );
            assert_eq!(
                with_parents(&pm, text),
                want != Fail,
                "parent results {p:?} {text:?}"
            );
            assert_eq!(
                pm.matches_using_parent_results(text, &MatchInfo::default())
                    .0,
                want != Fail,
                "no ctx {p:?} {text:?}"
            );
        }
        for &(ps, text, want) in MULTI {
            let pm = PatternMatcher::new(ps).unwrap();
            assert_eq!(
                pm.matches_or_parent_matches(text),
                want != Fail,
                "{ps:?} {text:?}"
            );
            assert_eq!(with_parents(&pm, text), want != Fail, "{ps:?} {text:?}");
        }
    }

    #[test]
    fn patternmatcher_simple_cases() {
        let m = |f: &str, ps: &[&str]| {
            PatternMatcher::new(ps)
                .unwrap()
                .matches_or_parent_matches(f)
        };
        assert!(m("fileutils.go", &["*"]));
        assert!(m("fileutils.go", &["*.go"]));
        assert!(m("fileutils.go", &["!fileutils.go", "*.go"]));
        assert!(!m("docs/README.md", &["docs", "!docs/README.md"]));
        assert!(!m("docs/README.md", &["docs/", "!docs/README.md"]));
        assert!(!m("docs/README.md", &["docs/*", "!docs/README.md"]));
        assert!(!m("fileutils.go", &["*.go", "!fileutils.go"]));
        assert!(!m("/any/path/there", &[]));
        assert_eq!(
            PatternMatcher::new(&["!"]).unwrap_err(),
            PatternError::LoneBang
        );
        assert!(PatternMatcher::new(&["["]).is_err());
        assert!(
            PatternMatcher::new(&["  !docs/README.md"])
                .unwrap()
                .exclusions()
        );
        assert_eq!(
            PatternMatcher::new(&["docs", "config", ""])
                .unwrap()
                .patterns()
                .len(),
            2
        );
    }

    #[test]
    fn ignorefile_read_all() {
        let text = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
        assert_eq!(
            read_patterns(text),
            vec![
                "test1",
                "test2",
                "a/file/here",
                "lastfile",
                "!inverted/abs/path",
                "!",
                "!"
            ]
        );
        assert_eq!(
            read_patterns("./foo/\n  # not a comment\n"),
            vec!["foo", "# not a comment"]
        );
    }
}
