//! What a policy pushed by the desk may do on this device. The device
//! decides, never the desk: its **system** configuration names the
//! directories whose programs `command` checks may run and whether TLS
//! verification may be turned off. A desk check that breaks a rule is not
//! run; it reports `unknown` with the rule it broke, so the desk sees why.
//!
//! A policy written locally by the machine's administrator
//! (`deskside-agent check --policy FILE`) is not confined.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::policy::{Check, Kind, LoadedPolicy};

/// The device's rules for policies that come from the desk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceRules {
    /// Directories whose programs desk `command` checks may run. Empty:
    /// the desk's `command` checks never run.
    pub plugin_dirs: Vec<PathBuf>,
    /// Whether desk checks may turn TLS certificate verification off.
    pub allow_insecure_tls: bool,
}

/// Programs that run whatever their arguments say: a shell, an interpreter
/// or a wrapper plugin. Allowing one would hand the desk a shell, so they
/// never run for the desk, whatever directory they are in.
const RUNS_ITS_ARGUMENTS: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "zsh",
    "ksh",
    "mksh",
    "csh",
    "tcsh",
    "fish",
    "ash",
    "busybox",
    "env",
    "sudo",
    "su",
    "doas",
    "nohup",
    "timeout",
    "xargs",
    "nice",
    "ionice",
    "setsid",
    "chroot",
    "python",
    "python2",
    "python3",
    "perl",
    "ruby",
    "node",
    "nodejs",
    "php",
    "lua",
    "tclsh",
    "wish",
    "awk",
    "gawk",
    "mawk",
    "nawk",
    "pwsh",
    "powershell",
    "cmd",
    "wscript",
    "cscript",
    "osascript",
    "negate",
    "urlize",
    "check_by_ssh",
];

/// The rule a desk `command` check's program breaks, if any. `Ok` holds
/// the canonical path to run, so that what runs is what was checked.
pub fn resolve_plugin(program: &str, dirs: &[PathBuf]) -> Result<PathBuf, String> {
    let path = Path::new(program);
    if !path.is_absolute() {
        return Err(format!(
            "{program:?} is not an absolute path; the desk's command checks must name a program by its full path"
        ));
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!("{program:?} contains \"..\""));
    }
    if dirs.is_empty() {
        return Err(
            "this device allows no command checks from the desk ([checks] plugin_dirs in its system configuration is empty)"
                .into(),
        );
    }
    let real = path.canonicalize().map_err(|e| format!("{program}: {e}"))?;
    let inside = dirs.iter().any(|d| {
        d.canonicalize()
            .is_ok_and(|d| real.parent().is_some_and(|p| p.starts_with(&d)))
    });
    if !inside {
        let listed: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(format!(
            "{program} is not inside a directory this device allows ([checks] plugin_dirs: {})",
            listed.join(", ")
        ));
    }
    if !real.is_file() {
        return Err(format!("{program} is not a regular file"));
    }
    let name = real
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let stem = name.strip_suffix(".exe").unwrap_or(&name);
    // `python3.11`, `perl5.36`: an interpreter with its version.
    let base = stem.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if RUNS_ITS_ARGUMENTS.contains(&stem) || RUNS_ITS_ARGUMENTS.contains(&base) {
        return Err(format!(
            "{program} runs other programs (a shell, interpreter or wrapper); the desk may not run it"
        ));
    }
    Ok(real)
}

impl DeviceRules {
    /// Applies the rules to one check of a desk policy.
    fn confine(&self, mut check: Check, dirs: &Arc<[PathBuf]>) -> Check {
        let refusal = match &mut check.kind {
            Kind::Command { argv, confined, .. } => {
                let program = argv.first().cloned().unwrap_or_default();
                // Static faults are refused now; whether the program is
                // inside an allowed directory is decided at every run,
                // so a plugin installed later starts to work.
                match Path::new(&program) {
                    p if !p.is_absolute() || p.components().any(|c| c == Component::ParentDir) => {
                        resolve_plugin(&program, dirs).err()
                    }
                    _ => {
                        *confined = Some(Arc::clone(dirs));
                        None
                    }
                }
            }
            Kind::Http { verify: false, .. } | Kind::TlsCertExpiry { verify: false, .. }
                if !self.allow_insecure_tls =>
            {
                Some(
                    "verify = false: this device does not let the desk turn TLS verification off ([checks] allow_insecure_tls in its system configuration)"
                        .to_owned(),
                )
            }
            _ => None,
        };
        if let Some(rule) = refusal {
            check.kind = Kind::Refused { rule };
        }
        check
    }
}

/// Validates a policy that came from the desk and confines it to what this
/// device allows.
pub fn load_from_desk(policy: &deskside_protocol::Policy, rules: &DeviceRules) -> LoadedPolicy {
    let mut loaded = LoadedPolicy::load(policy);
    let dirs: Arc<[PathBuf]> = rules.plugin_dirs.clone().into();
    loaded.checks = loaded
        .checks
        .into_iter()
        .map(|c| rules.confine(c, &dirs))
        .collect();
    loaded
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn executable(path: &Path) {
        std::fs::write(path, "#!/bin/sh\necho OK\n").expect("writing a test plugin");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .expect("making it executable");
    }

    #[test]
    fn only_programs_inside_allowed_directories_resolve() {
        let tmp = tempfile::tempdir().unwrap();
        let plugins = tmp.path().join("plugins");
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir_all(plugins.join("sub")).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        executable(&plugins.join("check_ok"));
        executable(&plugins.join("sub/check_deep"));
        executable(&elsewhere.join("evil"));
        std::os::unix::fs::symlink(elsewhere.join("evil"), plugins.join("check_link")).unwrap();
        std::os::unix::fs::symlink("/bin/sh", plugins.join("check_sh")).unwrap();
        std::os::unix::fs::symlink(plugins.join("check_ok"), plugins.join("check_alias")).unwrap();
        executable(&plugins.join("python3.11"));
        let dirs = vec![plugins.clone()];
        let p = |rel: &str| plugins.join(rel).display().to_string();

        assert_eq!(
            resolve_plugin(&p("check_ok"), &dirs).unwrap(),
            plugins.join("check_ok").canonicalize().unwrap()
        );
        assert!(resolve_plugin(&p("sub/check_deep"), &dirs).is_ok());
        // A symlink inside the directory to a plugin inside it is fine and
        // runs the real file.
        assert_eq!(
            resolve_plugin(&p("check_alias"), &dirs).unwrap(),
            plugins.join("check_ok").canonicalize().unwrap()
        );
        let err = |program: &str| resolve_plugin(program, &dirs).unwrap_err();
        assert!(
            err(&p("check_link")).contains("not inside"),
            "{}",
            err(&p("check_link"))
        );
        assert!(err(&p("check_sh")).contains("not inside"));
        assert!(err(&p("../elsewhere/evil")).contains("\"..\""));
        assert!(err("check_ok").contains("absolute"));
        assert!(err("/bin/sh").contains("not inside"));
        assert!(err(&p("missing")).contains("missing"));
        assert!(err(&p("sub")).contains("not a regular file"));
        assert!(err(&p("python3.11")).contains("runs other programs"));
        assert!(
            resolve_plugin(&p("check_ok"), &[])
                .unwrap_err()
                .contains("plugin_dirs")
        );
    }

    #[test]
    fn desk_policies_are_confined_and_local_ones_are_not() {
        let policy: deskside_protocol::Policy = serde_json::from_value(serde_json::json!({
            "version": 3,
            "checks": [
                {"id": "shell", "kind": "command", "argv": ["/bin/sh", "-c", "id"]},
                {"id": "relative", "kind": "command", "argv": ["check_x"]},
                {"id": "web", "kind": "http", "url": "https://x.example", "verify": false},
                {"id": "cert", "kind": "tls_cert_expiry", "host": "x.example", "verify": false},
                {"id": "web-ok", "kind": "http", "url": "https://x.example"},
            ]
        }))
        .unwrap();
        let local = LoadedPolicy::load(&policy);
        assert!(
            local
                .checks
                .iter()
                .all(|c| !matches!(c.kind, Kind::Refused { .. }))
        );

        let desk = load_from_desk(&policy, &DeviceRules::default());
        let kind = |id: &str| &desk.checks.iter().find(|c| c.spec.id == id).unwrap().kind;
        // The shell is absolute: it is refused when it runs (see
        // `run_inline`), inside no allowed directory.
        assert!(matches!(
            kind("shell"),
            Kind::Command {
                confined: Some(_),
                ..
            }
        ));
        assert!(matches!(kind("relative"), Kind::Refused { rule } if rule.contains("absolute")));
        assert!(
            matches!(kind("web"), Kind::Refused { rule } if rule.contains("allow_insecure_tls"))
        );
        assert!(matches!(kind("cert"), Kind::Refused { .. }));
        assert!(matches!(kind("web-ok"), Kind::Http { verify: true, .. }));

        let lax = load_from_desk(
            &policy,
            &DeviceRules {
                allow_insecure_tls: true,
                ..DeviceRules::default()
            },
        );
        assert!(matches!(
            lax.checks.iter().find(|c| c.spec.id == "web").unwrap().kind,
            Kind::Http { verify: false, .. }
        ));
    }
}
