//! `deskside`: the tray app. Everything is in the library.

// No console window behind the tray app on Windows.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    deskside_tray::run();
}
