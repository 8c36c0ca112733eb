//! Screenshots in a Wayland session: `deskside_host::screenshot::portal`
//! against a fake `org.freedesktop.portal.Screenshot` on a private D-Bus
//! session bus. The fake does what the real portals do: it saves a PNG,
//! answers on the request object named by the caller's `handle_token`, and
//! names the file by URI.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deskside_e2e::fake_notifications::{private_bus, serve_object};
use zbus::{OwnedObjectPath, OwnedVariant as OwnedValue, Variant as Value};

/// What the fake saw, and how it answers.
#[derive(Default)]
struct Seen {
    options: Vec<HashMap<String, String>>,
}

struct FakePortal {
    dir: PathBuf,
    /// The portal's response code: 0 success, 1 cancelled.
    code: u32,
    seen: Arc<Mutex<Seen>>,
}

#[zbus::interface(name = "org.freedesktop.portal.Screenshot")]
impl FakePortal {
    async fn screenshot(
        &self,
        #[zbus(header)] header: zbus::message::Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
        _parent_window: String,
        options: HashMap<String, OwnedValue>,
    ) -> OwnedObjectPath {
        let shown: HashMap<String, String> = options
            .iter()
            .map(|(k, v)| (k.clone(), format!("{v:?}")))
            .collect();
        self.seen.lock().unwrap().options.push(shown);
        let token = String::try_from(options["handle_token"].clone()).unwrap();
        let sender = header.sender().unwrap().to_string();
        let path = deskside_host::screenshot::portal::request_path(&sender, &token);
        // A 3×2 picture, saved under a name with a space, as GNOME's are.
        let file = self.dir.join("Screenshot from now.png");
        let mut png_bytes = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut png_bytes, 3, 2);
            enc.set_color(png::ColorType::Rgba);
            let mut w = enc.write_header().unwrap();
            w.write_image_data(&[200, 100, 50, 255].repeat(6)).unwrap();
        }
        std::fs::write(&file, png_bytes).unwrap();
        let uri = format!("file://{}", file.display().to_string().replace(' ', "%20"));
        let (conn, answer, code) = (conn.clone(), path.clone(), self.code);
        // The answer comes after the call returned, as with a real portal.
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            zbus::block_on(async move {
                let mut results: HashMap<&str, Value<'_>> = HashMap::new();
                if code == 0 {
                    results.insert("uri", Value::from(uri.as_str()));
                }
                conn.emit_signal(
                    None::<()>,
                    answer.as_str(),
                    "org.freedesktop.portal.Request",
                    "Response",
                    &(code, results),
                )
                .await
                .unwrap();
            });
        });
        OwnedObjectPath::try_from(path).unwrap()
    }
}

fn serve(address: &str, dir: PathBuf, code: u32) -> Arc<Mutex<Seen>> {
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let fake = FakePortal {
        dir,
        code,
        seen: Arc::clone(&seen),
    };
    // The serving thread keeps its own handle of the connection.
    let _ = serve_object(
        address,
        "org.freedesktop.portal.Desktop",
        "/org/freedesktop/portal/desktop",
        fake,
    );
    seen
}

#[test]
fn the_portal_takes_the_picture_without_its_dialog_and_its_file_is_removed() {
    let Some(bus) = private_bus() else { return };
    let dir = tempfile::tempdir().unwrap();
    let seen = serve(&bus.address, dir.path().to_path_buf(), 0);
    let shot = deskside_host::screenshot::portal::capture_at(&bus.address, Duration::from_secs(10))
        .unwrap();
    assert_eq!((shot.width, shot.height), (3, 2));
    assert_eq!(shot.rgb, [200, 100, 50].repeat(6));
    let options = &seen.lock().unwrap().options;
    assert_eq!(options.len(), 1);
    assert!(options[0]["interactive"].contains("false"), "{options:?}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "the portal's file is gone: the picture belongs to the report"
    );
    // The report keeps it as PNG like any other screenshot.
    assert!(shot.to_png().unwrap().starts_with(b"\x89PNG"));
}

#[test]
fn a_cancelled_or_missing_portal_is_an_error_not_a_hang() {
    let Some(bus) = private_bus() else { return };
    let dir = tempfile::tempdir().unwrap();
    serve(&bus.address, dir.path().to_path_buf(), 1);
    let err = deskside_host::screenshot::portal::capture_at(&bus.address, Duration::from_secs(10))
        .unwrap_err();
    assert!(err.to_string().contains("cancelled"), "{err}");

    // A bus without any portal: the call fails at once.
    let Some(empty) = private_bus() else { return };
    let started = std::time::Instant::now();
    let err =
        deskside_host::screenshot::portal::capture_at(&empty.address, Duration::from_secs(10))
            .unwrap_err();
    assert!(err.to_string().contains("portal"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
