//! `deskside`: the tray app. On Linux the tray and the agent, without a
//! web engine (windows come from `deskside-windows`); elsewhere the whole
//! app in one process.

// No console window behind the tray app on Windows.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    deskside_agent::desktop::tray_process::run()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    deskside_tray::run();
}
