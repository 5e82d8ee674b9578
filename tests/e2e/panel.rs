//! A stand-in for the desktop's panel, on the test run's private session
//! bus: it owns `org.kde.StatusNotifierWatcher` (where the app's tray icon
//! registers, as with any StatusNotifierItem host) and drives the icon's menu
//! the way a panel does, over `com.canonical.dbusmenu` (read the layout,
//! send `clicked`). Also: the window manager's close (`WM_DELETE_WINDOW`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

/// A dbusmenu layout node: (id, properties, children).
type Node = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);

/// Items registered so far: (bus name, object path).
type Items = Arc<Mutex<Vec<(String, String)>>>;

struct Watcher {
    items: Items,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    /// `service` is the item's object path (the sender is its bus) or a bus
    /// name (then the item is at the specification's default path).
    async fn register_status_notifier_item(
        &self,
        service: &str,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) {
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        let item = if service.starts_with('/') {
            (sender, service.to_owned())
        } else {
            (service.to_owned(), "/StatusNotifierItem".to_owned())
        };
        self.items.lock().expect("items").push(item);
    }

    async fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    async fn registered_status_notifier_items(&self) -> Vec<String> {
        self.items
            .lock()
            .expect("items")
            .iter()
            .map(|(bus, path)| format!("{bus}{path}"))
            .collect()
    }

    #[zbus(property)]
    async fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    async fn protocol_version(&self) -> i32 {
        0
    }
}

pub struct Panel {
    conn: zbus::Connection,
    items: Items,
}

/// One entry of a tray menu, as the panel reads it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i32,
    pub label: String,
    pub enabled: bool,
}

impl Panel {
    /// Owns the watcher's name; start it before the app so its icon
    /// registers here (and not as an XEmbed icon nobody shows).
    pub async fn start() -> Panel {
        let items: Items = Arc::default();
        let conn = zbus::connection::Builder::session()
            .expect("session bus")
            .name("org.kde.StatusNotifierWatcher")
            .expect("name")
            .serve_at(
                "/StatusNotifierWatcher",
                Watcher {
                    items: Arc::clone(&items),
                },
            )
            .expect("serve")
            .build()
            .await
            .expect("connect to the session bus");
        Panel { conn, items }
    }

    /// Gives up the watcher's name, as when the panel is gone.
    pub async fn leave(&self) {
        self.conn
            .release_name("org.kde.StatusNotifierWatcher")
            .await
            .expect("release the watcher's name");
    }

    /// Takes the watcher's name again.
    pub async fn come_back(&self) {
        self.conn
            .request_name("org.kde.StatusNotifierWatcher")
            .await
            .expect("the watcher's name");
    }

    /// Waits (20 s) until more than `n` items have registered: a new app's.
    pub async fn item_after(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.items.lock().expect("items").len() <= n {
            assert!(
                Instant::now() < deadline,
                "the new app's icon did not register within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The app's item, once registered (within 20 s).
    pub async fn item(&self) -> (String, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(item) = self.items.lock().expect("items").last().cloned() {
                return item;
            }
            assert!(
                Instant::now() < deadline,
                "no tray icon registered with the panel within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn item_proxy(&self) -> zbus::Proxy<'static> {
        let (bus, path) = self.item().await;
        // Uncached: the item announces a new icon by its own signal, not
        // PropertiesChanged, so every read asks the app.
        zbus::proxy::Builder::new(&self.conn)
            .destination(bus)
            .expect("bus name")
            .path(path)
            .expect("path")
            .interface("org.kde.StatusNotifierItem")
            .expect("interface")
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
            .expect("the item's proxy")
    }

    /// The icon the panel would draw: the PNG file the item names (the tray
    /// library writes each icon it is given to a file).
    pub async fn icon(&self) -> Vec<u8> {
        let item = self.item_proxy().await;
        let name: String = item.get_property("IconName").await.expect("IconName");
        let theme: String = item.get_property("IconThemePath").await.unwrap_or_default();
        let path = if name.starts_with('/') {
            std::path::PathBuf::from(&name)
        } else {
            std::path::Path::new(&theme).join(format!("{name}.png"))
        };
        std::fs::read(&path).unwrap_or_else(|e| panic!("the icon {}: {e}", path.display()))
    }

    async fn menu(&self) -> zbus::Proxy<'static> {
        let (bus, _) = self.item().await;
        let item = self.item_proxy().await;
        let path: OwnedObjectPath = item.get_property("Menu").await.expect("the item's Menu");
        zbus::Proxy::new_owned(self.conn.clone(), bus, path, "com.canonical.dbusmenu")
            .await
            .expect("the menu's proxy")
    }

    /// The menu's entries with a label, in order.
    pub async fn entries(&self) -> Vec<Entry> {
        let menu = self.menu().await;
        let (_revision, root): (u32, Node) = menu
            .call("GetLayout", &(0i32, -1i32, Vec::<String>::new()))
            .await
            .expect("GetLayout");
        let mut out = Vec::new();
        for child in &root.2 {
            if let Some(entry) = entry(child) {
                out.push(entry);
            }
        }
        out
    }

    /// The entry labelled `label`.
    pub async fn find(&self, label: &str) -> Entry {
        let entries = self.entries().await;
        entries
            .iter()
            .find(|e| e.label == label)
            .cloned()
            .unwrap_or_else(|| panic!("no {label:?} in the tray menu: {entries:?}"))
    }

    /// Clicks the entry labelled `label`, as the panel does when the person
    /// picks it (refused here if the app shows it disabled).
    pub async fn click(&self, label: &str) {
        let entry = self.find(label).await;
        assert!(entry.enabled, "{label:?} is disabled in the tray menu");
        let menu = self.menu().await;
        // (About-to-show first, as a panel opening the menu does.)
        let _: bool = menu
            .call("AboutToShow", &(0i32,))
            .await
            .expect("AboutToShow");
        let _: () = menu
            .call("Event", &(entry.id, "clicked", Value::from(0i32), 0u32))
            .await
            .expect("the clicked event");
    }
}

/// One layout node `(id, properties, children)` as a labelled entry
/// (separators have no label).
fn entry(node: &OwnedValue) -> Option<Entry> {
    let Value::Structure(node) = &**node else {
        return None;
    };
    let fields = node.fields();
    let (Some(Value::I32(id)), Some(Value::Dict(props))) = (fields.first(), fields.get(1)) else {
        return None;
    };
    let label: String = props.get::<&str, String>(&"label").ok().flatten()?;
    let enabled = props
        .get::<&str, bool>(&"enabled")
        .ok()
        .flatten()
        .unwrap_or(true);
    // GTK's mnemonic marks are not part of what the person reads.
    Some(Entry {
        id: *id,
        label: label.replace('_', ""),
        enabled,
    })
}

/// Whether a top-level window titled `title` is mapped (visible).
pub fn window_shown(title: &str) -> bool {
    windows(title, true).map(|w| !w.is_empty()).unwrap_or(false)
}

fn windows(title: &str, visible: bool) -> std::io::Result<Vec<u32>> {
    let mut cmd = std::process::Command::new("xdotool");
    cmd.arg("search");
    if visible {
        cmd.arg("--onlyvisible");
    }
    let out = cmd.args(["--name", &format!("^{title}$")]).output()?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect())
}

/// Asks the window titled `title` to close, as a window manager does when
/// the person clicks its close button: `WM_DELETE_WINDOW` in a
/// `WM_PROTOCOLS` client message (the test display runs no window manager).
pub fn close_window(title: &str) {
    use x11rb::connection::Connection as _;
    use x11rb::protocol::xproto::{ClientMessageEvent, ConnectionExt as _, EventMask};
    let ids = windows(title, true).expect("xdotool");
    assert!(!ids.is_empty(), "no visible window titled {title:?}");
    let (conn, _) = x11rb::connect(None).expect("the X display");
    let atom = |name: &[u8]| {
        conn.intern_atom(false, name)
            .expect("intern_atom")
            .reply()
            .expect("atom")
            .atom
    };
    let (protocols, delete) = (atom(b"WM_PROTOCOLS"), atom(b"WM_DELETE_WINDOW"));
    for window in ids {
        let message = ClientMessageEvent::new(32, window, protocols, [delete, 0, 0, 0, 0]);
        conn.send_event(false, window, EventMask::NO_EVENT, message)
            .expect("send_event");
    }
    conn.flush().expect("flush");
}
