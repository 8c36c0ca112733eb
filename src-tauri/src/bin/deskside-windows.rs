//! `deskside-windows`: the tray app's windows on Linux, started by
//! `deskside` when a window is asked for (see `deskside_tray::run_windows`).
//! `--one-process` runs the whole app in this process instead, with
//! Tauri's tray, as on Windows and macOS (what the tray benchmark compares
//! with). Elsewhere the app is one process and this binary only says so.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

#[cfg(target_os = "linux")]
fn main() {
    if std::env::args().any(|a| a == "--one-process") {
        deskside_tray::run();
    } else {
        deskside_tray::run_windows();
    }
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("deskside-windows is used on Linux only; start deskside");
    std::process::ExitCode::from(2)
}
