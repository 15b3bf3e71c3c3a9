//! Resolving `user:` and `group_add:` against the container's `/etc/passwd` and `/etc/group`.
//!
//! Pure: callers read the two files (through the container's root, never following a symlink
//! out of it) and pass their contents. The rules are runc's `user.GetExecUser`, which Docker
//! uses: a name must exist; a number need not; `user:group` sets the primary group and skips
//! supplementary groups; a user matched in passwd gets the groups that list it as a member.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// The resolved identity of the container's process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (membership in `/etc/group`, then `group_add`).
    pub additional_gids: Vec<u32>,
    /// `$HOME` when the environment does not set it.
    pub home: String,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum UserError {
    #[error("unable to find user {0}: no matching entries in passwd file")]
    NoSuchUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    NoSuchGroup(String),
    #[error("user or group id `{0}` is out of range")]
    OutOfRange(String),
}

/// Parse `/etc/passwd` (`name:x:uid:gid:gecos:home:shell`); malformed lines are skipped as
/// runc does.
pub fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(PasswdEntry {
                name: f.first()?.to_string(),
                uid: f.get(2)?.trim().parse().ok()?,
                gid: f.get(3)?.trim().parse().ok()?,
                home: f.get(5).map(|s| s.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

/// Parse `/etc/group` (`name:x:gid:member,member`).
pub fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(GroupEntry {
                name: f.first()?.to_string(),
                gid: f.get(2)?.trim().parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

fn parse_id(s: &str) -> Option<Result<u32, UserError>> {
    let n: i64 = s.parse().ok()?;
    Some(if (0..=i64::from(u32::MAX - 1)).contains(&n) {
        Ok(n as u32)
    } else {
        Err(UserError::OutOfRange(s.to_string()))
    })
}

/// Resolve `spec` (`""`, `name`, `uid`, `name:group`, `uid:gid`) and `group_add`.
/// `passwd`/`group` are `None` when the file does not exist in the container.
pub fn resolve(
    spec: &str,
    group_add: &[String],
    passwd: Option<&str>,
    group: Option<&str>,
) -> Result<ExecUser, UserError> {
    let users = passwd.map(parse_passwd);
    let groups = group.map(parse_group);
    let (user_arg, group_arg) = match spec.split_once(':') {
        Some((u, g)) => (u, g),
        None => (spec, ""),
    };

    let mut out = ExecUser {
        uid: 0,
        gid: 0,
        additional_gids: Vec::new(),
        home: "/".into(),
    };

    let uid_arg = parse_id(user_arg).transpose()?;
    let matched = users.as_ref().and_then(|users| {
        users
            .iter()
            .find(|u| match (user_arg.is_empty(), uid_arg) {
                (true, _) => u.uid == 0,
                (false, Some(uid)) => u.uid == uid,
                (false, None) => u.name == user_arg,
            })
            .cloned()
    });
    let matched_name = match &matched {
        Some(u) => {
            out.uid = u.uid;
            out.gid = u.gid;
            out.home = u.home.clone();
            Some(u.name.clone())
        }
        None if user_arg.is_empty() => None,
        None => match uid_arg {
            Some(uid) => {
                out.uid = uid;
                None
            }
            None => return Err(UserError::NoSuchUser(user_arg.to_string())),
        },
    };

    let gid_arg = parse_id(group_arg).transpose()?;
    if !group_arg.is_empty() {
        let found = groups.as_ref().and_then(|gs| {
            gs.iter()
                .find(|g| match gid_arg {
                    Some(gid) => g.gid == gid,
                    None => g.name == group_arg,
                })
                .map(|g| g.gid)
        });
        out.gid = match (found, gid_arg) {
            (Some(gid), _) => gid,
            (None, Some(gid)) => gid,
            (None, None) => return Err(UserError::NoSuchGroup(group_arg.to_string())),
        };
    } else if let (Some(name), Some(gs)) = (&matched_name, &groups) {
        // Supplementary group ids only in the implicit form, as runc.
        out.additional_gids = gs
            .iter()
            .filter(|g| g.members.iter().any(|m| m == name))
            .map(|g| g.gid)
            .collect();
    }

    for g in group_add {
        let gid = match parse_id(g).transpose()? {
            Some(gid) => gid,
            None => groups
                .as_ref()
                .and_then(|gs| gs.iter().find(|e| &e.name == g))
                .map(|e| e.gid)
                .ok_or_else(|| UserError::NoSuchGroup(g.clone()))?,
        };
        if !out.additional_gids.contains(&gid) {
            out.additional_gids.push(gid);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n\
                          nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
    const GROUP: &str = "root:x:0:\nwheel:x:10:root\nstaff:x:50:app,other\napp:x:1000:\n";

    fn r(spec: &str) -> Result<ExecUser, UserError> {
        resolve(spec, &[], Some(PASSWD), Some(GROUP))
    }

    #[test]
    fn empty_user_is_root_with_roots_groups() {
        let u = r("").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
        assert_eq!(u.additional_gids, vec![10]);
    }

    #[test]
    fn a_name_takes_uid_gid_home_and_member_groups() {
        let u = r("app").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (1000, 1000, "/home/app"));
        assert_eq!(u.additional_gids, vec![50]);
    }

    #[test]
    fn a_number_need_not_exist_and_gets_gid_0() {
        let u = r("4242").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (4242, 0, "/"));
        let u = r("1000").unwrap();
        assert_eq!((u.uid, u.gid), (1000, 1000));
    }

    #[test]
    fn user_group_form_sets_primary_group_and_no_supplementary() {
        let u = r("app:wheel").unwrap();
        assert_eq!((u.uid, u.gid), (1000, 10));
        assert!(u.additional_gids.is_empty());
        let u = r("7:9").unwrap();
        assert_eq!((u.uid, u.gid), (7, 9));
    }

    #[test]
    fn unknown_names_fail_clearly() {
        assert_eq!(
            r("ghost").unwrap_err().to_string(),
            "unable to find user ghost: no matching entries in passwd file"
        );
        assert_eq!(
            r("app:ghosts").unwrap_err(),
            UserError::NoSuchGroup("ghosts".into())
        );
        assert!(matches!(r("-1"), Err(UserError::OutOfRange(_))));
    }

    #[test]
    fn group_add_resolves_names_and_numbers() {
        let u = resolve(
            "app",
            &["wheel".into(), "4000".into()],
            Some(PASSWD),
            Some(GROUP),
        )
        .unwrap();
        assert_eq!(u.additional_gids, vec![50, 10, 4000]);
        assert!(resolve("app", &["nope".into()], Some(PASSWD), Some(GROUP)).is_err());
    }

    #[test]
    fn without_passwd_numbers_work_and_names_fail() {
        assert_eq!(resolve("5", &[], None, None).unwrap().uid, 5);
        assert!(resolve("app", &[], None, None).is_err());
        assert_eq!(resolve("", &[], None, None).unwrap().uid, 0);
    }
}
