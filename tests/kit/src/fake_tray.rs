//! A fake tray host for the tray app's end-to-end test: the
//! `org.kde.StatusNotifierWatcher` a desktop panel runs, on a private
//! bus. It records which items registered; the test then reads the item's
//! properties and drives its menu (`com.canonical.dbusmenu`) over D-Bus,
//! as a panel does when the employee clicks.

#![cfg(target_os = "linux")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use zbus::{OwnedVariant as OwnedValue, Variant as Value, interface};

/// StatusNotifierItem's `ToolTip`: icon name, pixmaps, title, text.
type ToolTip = (String, Vec<(i32, i32, Vec<u8>)>, String, String);
/// dbusmenu's `GetLayout` reply: revision, (id, properties, children).
type Layout = (u32, (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>));

struct Watcher {
    items: Arc<Mutex<Vec<String>>>,
}

#[interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    fn register_status_notifier_item(
        &self,
        service: String,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) {
        // An item names its bus name, or only its object path.
        let name = if service.starts_with('/') {
            header.sender().map(|s| s.to_string()).unwrap_or_default()
        } else {
            service
        };
        self.items.lock().unwrap().push(name);
    }

    fn register_status_notifier_host(&self, _service: String) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        self.items.lock().unwrap().clone()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

/// The fake host; items registered with it.
pub struct Host {
    /// The bus names of registered items.
    pub items: Arc<Mutex<Vec<String>>>,
    conn: zbus::Connection,
}

/// Serves the fake watcher on the bus at `address`.
pub fn host(address: &str) -> Host {
    let items: Arc<Mutex<Vec<String>>> = Arc::default();
    let conn = crate::fake_notifications::serve_object(
        address,
        "org.kde.StatusNotifierWatcher",
        "/StatusNotifierWatcher",
        Watcher {
            items: Arc::clone(&items),
        },
    );
    Host { items, conn }
}

impl Host {
    /// The first item to register, waiting for it up to `within`.
    pub fn wait_item(&self, within: Duration) -> Option<String> {
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Some(i) = self.items.lock().unwrap().first() {
                return Some(i.clone());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// The item's tooltip text (title, description).
    pub async fn tooltip(&self, item: &str) -> (String, String) {
        let p = zbus::Proxy::new(
            &self.conn,
            item.to_owned(),
            "/StatusNotifierItem",
            "org.kde.StatusNotifierItem",
        )
        .await
        .unwrap();
        let (_icon, _pixmaps, title, description): ToolTip =
            p.get_property("ToolTip").await.unwrap();
        (title, description)
    }

    /// The item's menu: (id, label) of each entry, separators left out.
    pub async fn menu(&self, item: &str) -> Vec<(i32, String)> {
        let reply = self
            .conn
            .call_method(
                Some(item),
                "/MenuBar",
                Some("com.canonical.dbusmenu"),
                "GetLayout",
                &(0i32, -1i32, Vec::<String>::new()),
            )
            .await
            .unwrap();
        let (_rev, (_root, _props, children)): Layout = reply.body().deserialize().unwrap();
        children
            .iter()
            .filter_map(|c| {
                let mut v: &Value<'_> = c;
                while let Value::Variant(inner) = v {
                    v = inner;
                }
                let Value::Structure(s) = v else { return None };
                let (Value::I32(id), Value::Dict(props)) = (&s.fields()[0], &s.fields()[1]) else {
                    return None;
                };
                let label: Option<String> = props.get(&"label").ok().flatten();
                label.map(|l| (*id, l))
            })
            .collect()
    }

    /// A left click on the icon.
    pub async fn activate(&self, item: &str) {
        self.conn
            .call_method(
                Some(item),
                "/StatusNotifierItem",
                Some("org.kde.StatusNotifierItem"),
                "Activate",
                &(0i32, 0i32),
            )
            .await
            .unwrap();
    }

    /// Clicks menu entry `id`, as the panel does.
    pub async fn click(&self, item: &str, id: i32) {
        self.conn
            .call_method(
                Some(item),
                "/MenuBar",
                Some("com.canonical.dbusmenu"),
                "Event",
                &(id, "clicked", Value::I32(0), 0u32),
            )
            .await
            .unwrap();
    }
}
