//! Headless Chromium, driven over the DevTools protocol, to test what a person sees.
//!
//! `--screenshot`/`--dump-dom` take their picture when the page has loaded (or when a
//! *virtual* time budget runs out), which is before a live page has received anything
//! over its WebSocket. So the test drives the browser instead: it opens the page, waits
//! (with a deadline) until the page itself reports what the test expects, then asks for
//! the screenshot. The DevTools endpoint listens on a free loopback port that Chromium
//! writes to `DevToolsActivePort` in its fresh profile folder.
//!
//! Chromium is Debian's `chromium` package; [`chromium_binary`] installs it when missing
//! and the test runs as root (as on CI), else fails saying what to install.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

use crate::{TempDir, WAIT};

/// The Chromium binary, installed with apt-get if missing (as root only).
pub fn chromium_binary() -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let find = || {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .map(PathBuf::from)
            .find(|path| path.exists())
    };
    if let Some(path) = find() {
        return path;
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root,
        "headless Chromium is needed for the live-view test: install Debian's `chromium` package (sudo apt-get install chromium)"
    );
    for args in [&["update"][..], &["install", "-y", "chromium"]] {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .status()
            .expect("apt-get can be run");
        assert!(status.success(), "apt-get {args:?} failed: {status}");
    }
    find().expect("apt-get installed chromium, yet /usr/bin/chromium is missing")
}

/// A headless Chromium process and its DevTools connection; killed when dropped.
pub struct Chromium {
    child: Child,
    devtools: WebSocket<TcpStream>,
    next_id: u64,
    size: (u32, u32),
    _profile: TempDir,
}

/// An open tab (a DevTools session id).
pub struct Tab(String);

impl Chromium {
    /// Starts Chromium with a `width`×`height` window and a fresh profile.
    pub fn launch(width: u32, height: u32) -> Chromium {
        let binary = chromium_binary();
        let profile = TempDir::new("chromium");
        let log = std::fs::File::create(profile.path().join("chromium.log")).unwrap();
        let child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--window-size={width},{height}"))
            .arg(format!(
                "--user-data-dir={}",
                profile.path().join("profile").display()
            ))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("chromium can be started");
        let mut browser_guard = KillOnDrop(Some(child));
        let endpoint = devtools_endpoint(&profile, browser_guard.0.as_mut().unwrap());
        let stream = TcpStream::connect(("127.0.0.1", endpoint.0)).expect("DevTools accepts");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let url = format!("ws://127.0.0.1:{}{}", endpoint.0, endpoint.1);
        let (devtools, _) = tungstenite::client(url, stream).expect("DevTools handshake");
        Chromium {
            child: browser_guard.0.take().unwrap(),
            devtools,
            next_id: 1,
            size: (width, height),
            _profile: profile,
        }
    }

    /// Sends a DevTools command and returns its result (panics on a protocol error).
    pub fn call(&mut self, tab: Option<&Tab>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut request = json!({"id": id, "method": method, "params": params});
        if let Some(Tab(session)) = tab {
            request["sessionId"] = json!(session);
        }
        self.devtools
            .send(Message::text(request.to_string()))
            .expect("DevTools accepts a command");
        loop {
            let message = match self.devtools.read() {
                Ok(Message::Text(text)) => text,
                Ok(_) => continue,
                Err(err) => panic!("DevTools connection failed during {method}: {err}"),
            };
            let reply: Value = serde_json::from_str(&message).expect("DevTools sends JSON");
            if reply["id"] != id {
                continue; // an event
            }
            if let Some(error) = reply.get("error") {
                panic!("DevTools {method} failed: {error}");
            }
            return reply["result"].clone();
        }
    }

    /// Opens `url` in a new tab whose viewport is exactly the launch size.
    pub fn open(&mut self, url: &str) -> Tab {
        let target = self.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        let tab = Tab(attached["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned());
        // The window size includes (invisible) browser chrome; fix the viewport instead.
        let (width, height) = self.size;
        self.call(
            Some(&tab),
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        );
        self.call(Some(&tab), "Page.navigate", json!({"url": url}));
        tab
    }

    /// Evaluates a JavaScript expression in `tab` and returns its value.
    pub fn eval(&mut self, tab: &Tab, expression: &str) -> Value {
        let result = self.call(
            Some(tab),
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("`{expression}` threw: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` every 100 ms until `done` holds for its value; returns it.
    pub fn wait_for(
        &mut self,
        tab: &Tab,
        expression: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let value = self.eval(tab, expression);
            if done(&value) {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "`{expression}` never got there; last value: {value}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A PNG screenshot of the tab's viewport.
    pub fn screenshot(&mut self, tab: &Tab) -> Vec<u8> {
        let shot = self.call(
            Some(tab),
            "Page.captureScreenshot",
            json!({"format": "png"}),
        );
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("screenshot is base64")
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills the browser if start-up fails half-way.
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `(port, path)` of the browser's DevTools WebSocket, from `DevToolsActivePort`.
fn devtools_endpoint(profile: &TempDir, child: &mut Child) -> (u16, String) {
    let file = profile.path().join("profile").join("DevToolsActivePort");
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            let mut lines = text.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                if let Ok(port) = port.parse() {
                    return (port, path.to_owned());
                }
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log =
                std::fs::read_to_string(profile.path().join("chromium.log")).unwrap_or_default();
            panic!("chromium exited ({status}) before DevTools was ready:\n{log}");
        }
        assert!(
            Instant::now() < deadline,
            "chromium did not open DevTools within {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---- reading screenshots ----------------------------------------------------------------

/// A decoded screenshot (RGBA rows).
pub struct Image {
    pub width: u32,
    pub height: u32,
    rgba: Vec<u8>,
}

/// A rectangle of the screenshot in CSS pixels (the device scale factor is 1).
#[derive(Clone, Copy, Debug)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    /// From a `{x, y, width, height}` object (a `getBoundingClientRect()`).
    pub fn from_js(value: &Value) -> Rect {
        let field = |name: &str| {
            value[name]
                .as_f64()
                .unwrap_or_else(|| panic!("{value}"))
                .round() as u32
        };
        Rect {
            x: field("x"),
            y: field("y"),
            width: field("width"),
            height: field("height"),
        }
    }
}

/// How many pixels matched, and how far across they reach.
pub struct Matches {
    pub count: usize,
    pub min_x: u32,
    pub max_x: u32,
}

impl Image {
    /// Pixels of `rect` within `tolerance` (per channel) of `rgb`.
    pub fn matching_pixels(&self, rect: Rect, rgb: [u8; 3], tolerance: u8) -> Matches {
        let mut matches = Matches {
            count: 0,
            min_x: u32::MAX,
            max_x: 0,
        };
        for y in rect.y..(rect.y + rect.height).min(self.height) {
            for x in rect.x..(rect.x + rect.width).min(self.width) {
                let at = ((y * self.width + x) * 4) as usize;
                let pixel = &self.rgba[at..at + 3];
                if pixel
                    .iter()
                    .zip(rgb)
                    .all(|(p, c)| p.abs_diff(c) <= tolerance)
                {
                    matches.count += 1;
                    matches.min_x = matches.min_x.min(x);
                    matches.max_x = matches.max_x.max(x);
                }
            }
        }
        matches
    }
}

/// Decodes a PNG screenshot to RGBA.
pub fn decode_png(bytes: &[u8]) -> Image {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buffer = vec![0; reader.output_buffer_size().expect("a sane PNG size")];
    let info = reader.next_frame(&mut buffer).expect("a PNG frame");
    let pixels = &buffer[..info.buffer_size()];
    let rgba = match info.color_type {
        png::ColorType::Rgba => pixels.to_vec(),
        png::ColorType::Rgb => pixels
            .chunks(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        other => panic!("unexpected screenshot colour type {other:?}"),
    };
    Image {
        width: info.width,
        height: info.height,
        rgba,
    }
}
