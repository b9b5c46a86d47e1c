//! Drives the real app binary: an X server (Xvfb), `tauri-driver` in front of WebKitWebDriver,
//! and a plain-HTTP WebDriver client. The app gets a data folder of its own (the installed
//! whisper and built-in LLM models are linked in) and a fresh config folder.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub fn testdata(rel: &str) -> PathBuf {
    let root = std::env::var_os("TINGJI_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/testdata")));
    let p = root.join(rel);
    assert!(p.exists(), "test data missing: {}", p.display());
    p
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process stopped with SIGTERM (tauri-driver must not be SIGKILLed: its
/// WebKitWebDriver would survive holding the test's output pipe).
pub struct Proc(pub Child, pub &'static str);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("{} ignored SIGTERM; killing it", self.1);
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The folders a test run of the app uses.
pub struct AppDirs {
    pub _tmp: tempfile::TempDir,
    pub data: PathBuf,
    pub config: PathBuf,
    pub out: PathBuf,
}

/// A data folder with the installed models linked in, and a config with `settings`.
pub fn app_dirs(settings: Value) -> AppDirs {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = tmp.path().join("config");
    let out = tmp.path().join("out");
    for d in [&data, &config, &out] {
        std::fs::create_dir_all(d).unwrap();
    }
    let installed = PathBuf::from(std::env::var("TINGJI_DATA_DIR").expect("TINGJI_DATA_DIR (scripts/env.sh) names the installed models"));
    for sub in ["models", "llm"] {
        std::os::unix::fs::symlink(installed.join(sub), data.join(sub)).unwrap();
    }
    std::fs::write(config.join("app-settings.json"), serde_json::to_vec_pretty(&settings).unwrap()).unwrap();
    AppDirs { _tmp: tmp, data, config, out }
}

/// Xvfb, tauri-driver and a WebDriver session on the app.
pub struct App {
    pub wd: WebDriver,
    _driver: Proc,
    _xvfb: Proc,
    pub display: String,
}

fn display_number() -> u32 {
    (90..200).find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() && !Path::new(&format!("/tmp/.X{n}-lock")).exists()).expect("a free X display")
}

impl App {
    pub fn start(dirs: &AppDirs) -> App {
        let n = display_number();
        let display = format!(":{n}");
        let xvfb = Proc(
            Command::new("Xvfb").args([display.as_str(), "-screen", "0", "1280x860x24", "-nolisten", "tcp"]).stderr(Stdio::null()).spawn().expect("Xvfb (apt xvfb)"),
            "Xvfb",
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            assert!(Instant::now() < deadline, "Xvfb did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let port = free_port();
        let native = free_port();
        let driver = Proc(
            Command::new(std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".into()))
                .args(["--port", &port.to_string(), "--native-port", &native.to_string()])
                .env("DISPLAY", &display)
                .env("NO_AT_BRIDGE", "1")
                .env("TINGJI_DATA_DIR", &dirs.data)
                .env("TINGJI_CONFIG_DIR", &dirs.config)
                .stdout(Stdio::null())
                .spawn()
                .expect("tauri-driver (cargo install tauri-driver; scripts/setup.sh does)"),
            "tauri-driver",
        );
        let wd = WebDriver::connect(port, env!("CARGO_BIN_EXE_tingji-app"));
        App { wd, _driver: driver, _xvfb: xvfb, display }
    }
}

pub struct WebDriver {
    base: String,
    session: String,
    agent: ureq::Agent,
}

impl WebDriver {
    fn connect(port: u16, app: &str) -> WebDriver {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(600))).build().into();
        let base = format!("http://127.0.0.1:{port}");
        let caps = json!({"capabilities": {"alwaysMatch": {"tauri:options": {"application": app}}}});
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = agent.post(format!("{base}/session")).header("Content-Type", "application/json").send(caps.to_string());
            if let Ok(mut r) = r {
                let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap_or_default()).unwrap_or(Value::Null);
                if let Some(id) = v["value"]["sessionId"].as_str() {
                    return WebDriver { base: format!("{base}/session/{id}"), session: id.to_string(), agent };
                }
                if Instant::now() > deadline {
                    panic!("no WebDriver session: {v}");
                }
            }
            assert!(Instant::now() < deadline, "tauri-driver did not answer on port {port}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{}", self.base, path);
        let r = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self.agent.post(&url).header("Content-Type", "application/json").send(body.unwrap_or(json!({})).to_string()),
        };
        let mut r = r.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = r.status().as_u16();
        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        if status >= 400 {
            return Err(format!("{method} {path}: {status} {}", v["value"]));
        }
        Ok(v["value"].clone())
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page and returns its value.
    pub fn exec(&self, script: &str, args: Value) -> Value {
        self.call("POST", "/execute/sync", Some(json!({"script": script, "args": args}))).unwrap_or_else(|e| panic!("{e}\nscript: {script}"))
    }

    /// Runs an async `script`; it must call `arguments[arguments.length - 1](result)`.
    pub fn exec_async(&self, script: &str, args: Value) -> Value {
        self.call("POST", "/execute/async", Some(json!({"script": script, "args": args}))).unwrap_or_else(|e| panic!("{e}\nscript: {script}"))
    }

    pub fn find(&self, css: &str) -> Option<String> {
        let v = self.call("POST", "/element", Some(json!({"using": "css selector", "value": css}))).ok()?;
        v.as_object()?.values().next()?.as_str().map(String::from)
    }

    pub fn find_all(&self, css: &str) -> Vec<String> {
        let v = self.call("POST", "/elements", Some(json!({"using": "css selector", "value": css}))).unwrap_or(Value::Null);
        v.as_array().map(|a| a.iter().filter_map(|e| e.as_object()?.values().next()?.as_str().map(String::from)).collect()).unwrap_or_default()
    }

    /// Waits until `css` matches an element, up to `timeout`.
    pub fn wait(&self, css: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = self.find(css) {
                return e;
            }
            if Instant::now() > deadline {
                let body = self.exec("return document.body.innerText.slice(0, 2000)", json!([]));
                panic!("{css} did not appear within {timeout:?}; the page says:\n{}", body.as_str().unwrap_or(""));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until `f` returns Some, up to `timeout`.
    pub fn wait_for<T>(&self, what: &str, timeout: Duration, mut f: impl FnMut(&WebDriver) -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = f(self) {
                return v;
            }
            if Instant::now() > deadline {
                let body = self.exec("return document.body.innerText.slice(0, 3000)", json!([]));
                panic!("{what}: not within {timeout:?}; the page says:\n{}", body.as_str().unwrap_or(""));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Clicks like a user (WebDriver's pointer click). WebKitWebDriver misplaces the click point
    /// of some elements inside fixed-position dialogs and reports them "intercepted" although
    /// nothing covers them (the screenshot shows the button free): after 2 s of retries such an
    /// element gets a DOM click instead, if it is visible and enabled.
    pub fn click(&self, element: &str) {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match self.call("POST", &format!("/element/{element}/click"), Some(json!({}))) {
                Ok(_) => return,
                Err(e) if e.contains("intercepted") && Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
                Err(e) if e.contains("intercepted") => {
                    let el = json!({"element-6066-11e4-a52e-4f735466cecf": element});
                    let ok = self.exec(
                        "const e = arguments[0]; const r = e.getBoundingClientRect();
                         if (e.disabled || r.width === 0 || r.height === 0) return false; e.click(); return true;",
                        json!([el]),
                    );
                    assert_eq!(ok, json!(true), "{e} (and the element is hidden or disabled)");
                    return;
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    pub fn click_css(&self, css: &str) {
        let e = self.wait(css, Duration::from_secs(20));
        self.click(&e);
    }

    pub fn text(&self, element: &str) -> String {
        self.call("GET", &format!("/element/{element}/text"), None).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
    }

    pub fn text_css(&self, css: &str) -> String {
        self.find(css).map(|e| self.text(&e)).unwrap_or_default()
    }

    pub fn body_text(&self) -> String {
        self.exec("return document.body.innerText", json!([])).as_str().unwrap_or("").to_string()
    }

    /// Types into an input (clearing it first).
    pub fn fill(&self, css: &str, text: &str) {
        let e = self.wait(css, Duration::from_secs(20));
        let _ = self.call("POST", &format!("/element/{e}/clear"), Some(json!({})));
        self.call("POST", &format!("/element/{e}/value"), Some(json!({"text": text}))).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Picks `value` in the `<select>` at `css` the way a user does (React sees a change event),
    /// once it offers that option (options may load after the element).
    pub fn select(&self, css: &str, value: &str) {
        self.wait_for(&format!("{css} with an option {value}"), Duration::from_secs(20), |wd| {
            let ok = wd.exec(
                "const s = document.querySelector(arguments[0]);
                 if (!s || ![...s.options].some(o => o.value === arguments[1])) return false;
                 const set = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value').set;
                 set.call(s, arguments[1]); s.dispatchEvent(new Event('change', { bubbles: true })); return true;",
                json!([css, value]),
            );
            (ok == json!(true)).then_some(())
        });
    }

    /// A PNG of the window.
    pub fn screenshot(&self, path: &Path) {
        let v = self.call("GET", "/screenshot", None).unwrap_or_else(|e| panic!("{e}"));
        let png = base64_decode(v.as_str().expect("base64 screenshot"));
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for WebDriver {
    fn drop(&mut self) {
        let _ = self.call("DELETE", "", None);
    }
}

/// Standard base64 (the WebDriver screenshot encoding).
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
