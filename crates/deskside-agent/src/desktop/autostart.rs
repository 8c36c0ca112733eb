//! Start at login on Linux desktops: an XDG autostart entry. The same
//! file (`Deskside.desktop`) that tauri-plugin-autostart wrote for earlier
//! versions, so switching it off still removes an older one.

use std::path::{Path, PathBuf};

use crate::i18n::{Locale, text};

/// Where the entry goes: `$XDG_CONFIG_HOME/autostart/`, else
/// `~/.config/autostart/`.
pub fn entry_path() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(config.join("autostart").join("Deskside.desktop"))
}

/// The entry that starts `exe`.
pub fn entry(exe: &Path) -> String {
    let comment = |l: Locale| text(l, "app.autostart_comment", &[]);
    format!(
        "[Desktop Entry]\nType=Application\nName=Deskside\nComment={}\nComment[ko]={}\n\
         Comment[ja]={}\nExec={}\nIcon=deskside\nTerminal=false\nStartupNotify=false\n\
         X-GNOME-Autostart-enabled=true\n",
        comment(Locale::En),
        comment(Locale::Ko),
        comment(Locale::Ja),
        exec_quoted(exe)
    )
}

/// A path as the desktop entry spec wants it in `Exec`: quoted when it
/// holds anything but plain characters, with `"`, `` ` ``, `$` and `\`
/// escaped (and `%` doubled, since `%` starts a field code).
fn exec_quoted(exe: &Path) -> String {
    let s = exe.to_string_lossy().replace('%', "%%");
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b))
    {
        return s;
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Writes or removes the entry for `exe`.
pub fn apply(wanted: bool, exe: &Path) -> std::io::Result<()> {
    let Some(path) = entry_path() else {
        return Err(std::io::Error::other("no home directory"));
    };
    if wanted {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, entry(exe))
    } else {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_starts_the_app_with_a_translated_comment() {
        let e = entry(Path::new("/usr/bin/deskside"));
        assert!(e.contains("\nExec=/usr/bin/deskside\n"), "{e}");
        assert!(e.contains("Comment[ko]=트레이"), "{e}");
        assert!(!e.contains("startup script"), "{e}");
        let odd = entry(Path::new("/opt/My Apps/$x/desk%side"));
        assert!(
            odd.contains("Exec=\"/opt/My Apps/\\$x/desk%%side\"\n"),
            "{odd}"
        );
    }
}
