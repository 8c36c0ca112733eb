//! Fakes for the tests of the agent and the tray app that need no desk:
//! a desktop notification service and a StatusNotifierWatcher (a tray
//! host) on a private D-Bus, and a small W3C WebDriver client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

pub mod fake_notifications;
pub mod fake_tray;
pub mod webdriver;
