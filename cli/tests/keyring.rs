//! API keys in a real OS keyring: gnome-keyring's Secret Service on a private D-Bus session
//! (a `dbus-daemon` of the test's own), the way a Linux desktop keeps them. `tingji llm set-key` stores the
//! key, a request to the server it was stored for (a loopback server) carries it, a cloud preset
//! pointed there does not, and it is never printed. Needs `dbus-daemon` and `gnome-keyring-daemon` (scripts/setup.sh installs them).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};

/// A loopback chat server that answers "ready" and records each request's Authorization header.
fn chat_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", l.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut buf = Vec::new();
            let mut tmp = [0u8; 4096];
            // Headers, then as much body as Content-Length says.
            let (head, body_start) = loop {
                let n = c.read(&mut tmp).unwrap_or(0);
                if n == 0 {
                    break (String::new(), 0);
                }
                buf.extend_from_slice(&tmp[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break (String::from_utf8_lossy(&buf[..i]).to_string(), i + 4);
                }
            };
            let len: usize = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                .unwrap_or(0);
            while buf.len() < body_start + len {
                let n = c.read(&mut tmp).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&tmp[..n]);
            }
            let auth = head
                .lines()
                .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("authorization")).map(|(_, v)| v.trim().to_string()))
                .unwrap_or_default();
            s2.lock().unwrap().push(auth);
            let body = String::from_utf8_lossy(&buf[body_start..]).to_string();
            let reply = if body.contains("\"stream\":true") {
                let chunk = serde_json::json!({"choices": [{"index": 0, "delta": {"content": "ready"}, "finish_reason": "stop"}]});
                let sse = format!("data: {chunk}\n\ndata: [DONE]\n\n");
                format!("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{sse}", sse.len())
            } else {
                let json = serde_json::json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": "ready"}, "finish_reason": "stop"}]}).to_string();
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}", json.len())
            };
            let _ = c.write_all(reply.as_bytes());
        }
    });
    (url, seen)
}

#[test]
fn a_key_in_the_os_keyring_is_used_and_never_printed() {
    for tool in ["dbus-daemon", "gnome-keyring-daemon"] {
        let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().unwrap();
        assert!(found.status.success(), "{tool} is missing (scripts/setup.sh installs dbus and gnome-keyring)");
    }
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("run");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let (url, seen) = chat_server();
    const KEY: &str = "sk-tingji-keyring-test-4711";
    // A private session bus (its address and pid in a file, so nothing it leaves running holds
    // the test's pipes), a fresh login keyring unlocked on it, then: store, use, remove, use again.
    let script = format!(
        r#"
        dbus-daemon --session --fork --print-address=3 --print-pid=4 3>"$XDG_RUNTIME_DIR/bus" 4>"$XDG_RUNTIME_DIR/bus.pid" </dev/null >/dev/null 2>&1 || exit 89
        export DBUS_SESSION_BUS_ADDRESS="$(cat "$XDG_RUNTIME_DIR/bus")"
        bus_pid="$(cat "$XDG_RUNTIME_DIR/bus.pid")"
        # The keyring daemon leaves with the bus.
        trap 'kill "$bus_pid"' EXIT
        echo -n unlock-me | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || exit 90
        echo "{KEY}" | "$TINGJI" llm set-key custom || exit 91
        "$TINGJI" llm test --provider custom --base-url "$URL" || exit 92
        "$TINGJI" llm test --provider deepseek --base-url "$URL" && exit 95
        printf '' | "$TINGJI" llm set-key custom || exit 93
        "$TINGJI" llm test --provider custom --base-url "$URL" || exit 94
        exit 0
        "#
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .env("TINGJI", env!("CARGO_BIN_EXE_tingji"))
        .env("URL", &url)
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env_remove("DEEPSEEK_API_KEY")
        .env_remove("TINGJI_LLM_API_KEY")
        .env_remove("TINGJI_LLM_PROVIDER")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status {:?}\nstdout: {stdout}\nstderr: {stderr}", out.status.code());
    assert!(stdout.contains("stored the key for custom"), "{stdout}");
    assert!(stdout.contains("answered \"ready\""), "{stdout}");
    assert!(stdout.contains("removed the key for custom"), "{stdout}");
    // A cloud preset pointed at another server refuses before sending anything: its key
    // belongs to its own origin.
    assert!(stderr.contains("error[llm_key_not_sent]"), "{stderr}");
    // The stored key, then (removed) none: two requests, the second without Authorization.
    assert_eq!(*seen.lock().unwrap(), [format!("Bearer {KEY}"), String::new()], "requests' Authorization headers");
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY), "the key was printed");
    // The key lived in the keyring's file under XDG_DATA_HOME, not in tingji's config.
    assert!(dir.path().join("data/keyrings").is_dir(), "gnome-keyring kept its keyring in the test's folder");
}
