//! Downloads against a small HTTP/1.1 server running in-process on 127.0.0.1.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use sha2::{Digest, Sha256};
use tingji_models::{
    DownloadProgress, DownloadSource, ModelError, ModelStore, download_gguf, gguf_catalog,
    gguf_entry,
};

#[derive(Default)]
struct Behaviour {
    /// Close the connection after this many body bytes, on the next request only.
    cut_after: Option<usize>,
    /// Serve the file with one byte changed.
    corrupt: bool,
    /// Answer range requests with the whole file (200), like servers without range support.
    ignore_range: bool,
}

#[derive(Debug, Clone)]
struct Request {
    path: String,
    range: Option<String>,
}

struct Server {
    base_url: String,
    data: Arc<Vec<u8>>,
    behaviour: Arc<Mutex<Behaviour>>,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    fn start(data: Vec<u8>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}/models", listener.local_addr().unwrap());
        let data = Arc::new(data);
        let behaviour = Arc::new(Mutex::new(Behaviour::default()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (d, b, r) = (data.clone(), behaviour.clone(), requests.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (d, b, r) = (d.clone(), b.clone(), r.clone());
                thread::spawn(move || {
                    let _ = serve(stream, &d, &b, &r);
                });
            }
        });
        Server {
            base_url,
            data,
            behaviour,
            requests,
        }
    }

    fn source(&self, sha256: Option<String>) -> DownloadSource {
        DownloadSource {
            base_url: Some(self.base_url.clone()),
            sha256,
        }
    }

    fn sha256(&self) -> String {
        hex::encode(Sha256::digest(&*self.data))
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(
    stream: TcpStream,
    data: &[u8],
    behaviour: &Mutex<Behaviour>,
    log: &Mutex<Vec<Request>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut range = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.trim().eq_ignore_ascii_case("range")
        {
            range = Some(v.trim().to_string());
        }
    }
    log.lock().unwrap().push(Request {
        path: path.clone(),
        range: range.clone(),
    });
    let (cut, corrupt, ignore_range) = {
        let mut b = behaviour.lock().unwrap();
        (b.cut_after.take(), b.corrupt, b.ignore_range)
    };
    let mut out = stream;
    let whisper = path.starts_with("/models/ggml-") && path.ends_with(".bin");
    let gguf = path.starts_with("/models/") && path.ends_with(".gguf");
    if !whisper && !gguf {
        out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    }
    let start = match (&range, ignore_range) {
        (Some(r), false) => r
            .strip_prefix("bytes=")
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse::<usize>().ok()),
        _ => None,
    };
    let mut body: Vec<u8> = data.to_vec();
    if corrupt {
        let mid = body.len() / 2;
        body[mid] ^= 0xFF;
    }
    let head = match start {
        Some(s) if s >= body.len() => {
            out.write_all(format!("HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", body.len()).as_bytes())?;
            return Ok(());
        }
        Some(s) => {
            let h = format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {}-{}/{}\r\nConnection: close\r\n\r\n",
                body.len() - s,
                s,
                body.len() - 1,
                body.len()
            );
            body.drain(..s);
            h
        }
        None => format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ),
    };
    out.write_all(head.as_bytes())?;
    match cut {
        Some(n) => {
            out.write_all(&body[..n.min(body.len())])?;
            out.flush()?;
            // Drop the connection mid-body.
            let _ = out.shutdown(std::net::Shutdown::Both);
        }
        None => {
            for chunk in body.chunks(64 * 1024) {
                out.write_all(chunk)?;
            }
        }
    }
    Ok(())
}

/// A few MB that start like a ggml file.
fn fake_model(len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(&0x6767_6d6cu32.to_le_bytes());
    let mut s: u32 = 12345;
    while v.len() < len {
        s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
        v.push((s >> 16) as u8);
    }
    v
}

fn collect(events: &mut Vec<DownloadProgress>) -> impl FnMut(DownloadProgress) + '_ {
    move |p| events.push(p)
}

#[test]
fn downloads_with_progress_and_verifies() {
    let server = Server::start(fake_model(3 * 1024 * 1024 + 17));
    let tmp = tempfile::tempdir().unwrap();
    let store = ModelStore::at(tmp.path().join("models"));
    let mut events = Vec::new();
    let no = AtomicBool::new(false);
    let path = store
        .download(
            "fake",
            &server.source(Some(server.sha256())),
            &mut collect(&mut events),
            &no,
        )
        .unwrap();

    assert_eq!(path, store.root().join("ggml-fake.bin"));
    assert_eq!(std::fs::read(&path).unwrap(), *server.data);
    assert!(!store.root().join("ggml-fake.bin.partial").exists());
    let total = server.data.len() as u64;
    assert!(
        events.len() > 3,
        "expected several progress callbacks, got {}",
        events.len()
    );
    assert!(
        events
            .windows(2)
            .all(|w| w[1].downloaded >= w[0].downloaded)
    );
    assert!(events.windows(2).any(|w| w[1].downloaded > w[0].downloaded));
    assert!(
        events
            .iter()
            .all(|e| e.total == Some(total) && e.resumed_from == 0)
    );
    assert_eq!(events.last().unwrap().downloaded, total);
    assert_eq!(server.requests().len(), 1);
    assert_eq!(server.requests()[0].path, "/models/ggml-fake.bin");
    assert_eq!(server.requests()[0].range, None);

    // Installed: a second call returns at once without a request.
    let again = store
        .download(
            "fake",
            &server.source(Some(server.sha256())),
            &mut |_| {},
            &no,
        )
        .unwrap();
    assert_eq!(again, path);
    assert_eq!(server.requests().len(), 1);
    let listed: Vec<String> = std::fs::read_dir(store.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(listed, vec!["ggml-fake.bin"]);
}

#[test]
fn cut_connection_keeps_partial_and_resumes_with_range() {
    let server = Server::start(fake_model(4 * 1024 * 1024));
    let tmp = tempfile::tempdir().unwrap();
    let store = ModelStore::at(tmp.path().join("models"));
    let no = AtomicBool::new(false);
    let source = server.source(Some(server.sha256()));
    let cut = 1_234_567;
    server.behaviour.lock().unwrap().cut_after = Some(cut);

    let err = store
        .download("fake", &source, &mut |_| {}, &no)
        .unwrap_err();
    assert!(matches!(err, ModelError::Network { .. }), "{err:?}");
    assert_eq!(err.code(), "network");
    let partial = store.root().join("ggml-fake.bin.partial");
    assert_eq!(
        std::fs::metadata(&partial).unwrap().len(),
        cut as u64,
        "partial kept with what arrived"
    );
    assert!(!store.root().join("ggml-fake.bin").exists());

    let mut events = Vec::new();
    let path = store
        .download("fake", &source, &mut collect(&mut events), &no)
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), *server.data);
    assert!(!partial.exists());
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].range, None);
    assert_eq!(
        reqs[1].range.as_deref(),
        Some(format!("bytes={cut}-").as_str()),
        "resume must ask for the rest"
    );
    assert_eq!(events[0].resumed_from, cut as u64);
    assert_eq!(events[0].downloaded, cut as u64);
    assert!(
        events
            .iter()
            .all(|e| e.total == Some(server.data.len() as u64))
    );
    assert_eq!(events.last().unwrap().downloaded, server.data.len() as u64);
}

#[test]
fn server_without_range_support_restarts_cleanly() {
    let server = Server::start(fake_model(2 * 1024 * 1024));
    let tmp = tempfile::tempdir().unwrap();
    let store = ModelStore::at(tmp.path().join("models"));
    let no = AtomicBool::new(false);
    let source = server.source(Some(server.sha256()));
    server.behaviour.lock().unwrap().cut_after = Some(500_000);
    store
        .download("fake", &source, &mut |_| {}, &no)
        .unwrap_err();
    server.behaviour.lock().unwrap().ignore_range = true;

    let mut events = Vec::new();
    let path = store
        .download("fake", &source, &mut collect(&mut events), &no)
        .unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        *server.data,
        "a 200 answer must replace, not append"
    );
    assert_eq!(server.requests()[1].range.as_deref(), Some("bytes=500000-"));
    assert_eq!(events[0].resumed_from, 0);
}

#[test]
fn checksum_mismatch_installs_nothing() {
    let server = Server::start(fake_model(2 * 1024 * 1024));
    server.behaviour.lock().unwrap().corrupt = true;
    let tmp = tempfile::tempdir().unwrap();
    let store = ModelStore::at(tmp.path().join("models"));
    let no = AtomicBool::new(false);
    let err = store
        .download(
            "fake",
            &server.source(Some(server.sha256())),
            &mut |_| {},
            &no,
        )
        .unwrap_err();
    match &err {
        ModelError::ChecksumMismatch { expected, actual } => {
            assert_eq!(expected, &server.sha256());
            assert_ne!(actual, expected);
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
    assert_eq!(err.code(), "checksum_mismatch");
    assert!(!store.root().join("ggml-fake.bin").exists());
    assert!(!store.root().join("ggml-fake.bin.partial").exists());
}

#[test]
fn checksum_mismatch_after_resume_installs_nothing() {
    let server = Server::start(fake_model(2 * 1024 * 1024));
    let tmp = tempfile::tempdir().unwrap();
    let store = ModelStore::at(tmp.path().join("models"));
    let no = AtomicBool::new(false);
    let source = server.source(Some(server.sha256()));
    server.behaviour.lock().unwrap().cut_after = Some(100_000);
    store
        .download("fake", &source, &mut |_| {}, &no)
        .unwrap_err();
    // The rest comes back corrupted (the changed byte is past the resume point).
    server.behaviour.lock().unwrap().corrupt = true;
    let err = store
        .download("fake", &source, &mut |_| {}, &no)
        .unwrap_err();
    assert_eq!(err.code(), "checksum_mismatch", "{err}");
    assert!(!store.root().join("ggml-fake.bin").exists());
    assert!(!store.root().join("ggml-fake.bin.partial").exists());
}

#[test]
fn cancel_stops_between_reads() {
    let server = Server::start(fake_model(8 * 1024 * 1024));
    let tmp = tempfile::tempdir().unwrap();
    let store = ModelStore::at(tmp.path().join("models"));
    let cancel = AtomicBool::new(false);
    let mut calls = 0;
    let err = store
        .download(
            "fake",
            &server.source(Some(server.sha256())),
            &mut |p| {
                calls += 1;
                if p.downloaded > 1024 * 1024 {
                    cancel.store(true, Ordering::Relaxed);
                }
            },
            &cancel,
        )
        .unwrap_err();
    assert!(matches!(err, ModelError::Cancelled), "{err:?}");
    assert_eq!(err.code(), "cancelled");
    assert!(!store.root().join("ggml-fake.bin").exists());
    // What arrived is kept for a later resume.
    let kept = std::fs::metadata(store.root().join("ggml-fake.bin.partial"))
        .unwrap()
        .len();
    assert!(kept > 1024 * 1024 && kept < 8 * 1024 * 1024, "{kept}");
    assert!(calls > 1);

    // Cancelled before starting: no request at all.
    let before = server.requests().len();
    let err = store
        .download(
            "fake",
            &server.source(Some(server.sha256())),
            &mut |_| {},
            &cancel,
        )
        .unwrap_err();
    assert!(matches!(err, ModelError::Cancelled));
    assert_eq!(server.requests().len(), before);
}

#[test]
fn complete_partial_is_verified_after_416() {
    let server = Server::start(fake_model(1024 * 1024));
    let tmp = tempfile::tempdir().unwrap();
    let store = ModelStore::at(tmp.path().join("models"));
    std::fs::create_dir_all(store.root()).unwrap();
    std::fs::write(store.root().join("ggml-fake.bin.partial"), &*server.data).unwrap();
    let no = AtomicBool::new(false);
    let path = store
        .download(
            "fake",
            &server.source(Some(server.sha256())),
            &mut |_| {},
            &no,
        )
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), *server.data);
    assert_eq!(
        server.requests()[0].range.as_deref(),
        Some("bytes=1048576-")
    );
}

#[test]
fn http_errors_and_names() {
    let server = Server::start(fake_model(1024));
    let tmp = tempfile::tempdir().unwrap();
    let store = ModelStore::at(tmp.path().join("models"));
    let no = AtomicBool::new(false);

    // 404 from the mirror.
    let mut src = server.source(None);
    src.base_url = Some(server.base_url.replace("/models", "/elsewhere"));
    let err = store.download("fake", &src, &mut |_| {}, &no).unwrap_err();
    assert!(
        matches!(err, ModelError::Http { status: 404, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), "http");

    // Unknown name without a mirror.
    let err = store
        .download(
            "no-such-model",
            &DownloadSource::default(),
            &mut |_| {},
            &no,
        )
        .unwrap_err();
    assert_eq!(err.code(), "unknown_model");
    assert!(
        err.to_string().contains("large-v3-turbo"),
        "error lists known names: {err}"
    );

    // Names that are not file names.
    let err = store
        .download("../evil", &server.source(None), &mut |_| {}, &no)
        .unwrap_err();
    assert_eq!(err.code(), "invalid_name");

    // Refused connection.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let src = DownloadSource {
        base_url: Some(url),
        sha256: None,
    };
    let err = store.download("fake", &src, &mut |_| {}, &no).unwrap_err();
    assert_eq!(err.code(), "network", "{err}");
}

#[test]
fn catalog_size_is_enforced_for_catalog_names() {
    // "tiny" from a mirror that serves something else: the catalog size (and hash) catch it.
    let server = Server::start(fake_model(256 * 1024));
    let tmp = tempfile::tempdir().unwrap();
    let store = ModelStore::at(tmp.path().join("models"));
    let no = AtomicBool::new(false);
    let err = store
        .download("tiny", &server.source(None), &mut |_| {}, &no)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::SizeMismatch {
                expected: 77_691_713,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!store.root().join("ggml-tiny.bin").exists());
    assert!(!store.root().join("ggml-tiny.bin.partial").exists());
    assert_eq!(server.requests()[0].path, "/models/ggml-tiny.bin");
}

/// The registry-shipped 0.5B chat model (`scripts/setup.sh` assembles it from its wheels).
fn small_gguf() -> Vec<u8> {
    let path = std::env::var("TINGJI_GGUF_SMALL")
        .expect("TINGJI_GGUF_SMALL (source scripts/env.sh; scripts/setup.sh assembles the file)");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_gguf_catalog_verifies_the_real_file_resumed_after_a_cut() {
    let name = "qwen2.5-coder-0.5b-instruct-q4_k_m";
    let entry = gguf_entry(name).expect("in the catalog");
    let server = Server::start(small_gguf());
    assert_eq!(server.data.len() as u64, entry.size_bytes);
    assert_eq!(
        server.sha256(),
        entry.sha256,
        "the catalog's digest is the real file's"
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("llm");
    let no = AtomicBool::new(false);

    // Cut at 100 MB: the partial file is kept (hidden from the `*.gguf` listing) ...
    server.behaviour.lock().unwrap().cut_after = Some(100 << 20);
    let err = download_gguf(&dir, name, &server.source(None), &mut |_| {}, &no).unwrap_err();
    assert_eq!(err.code(), "network", "{err}");
    let partial = dir.join(format!(".{name}.gguf.partial"));
    assert_eq!(std::fs::metadata(&partial).unwrap().len(), 100 << 20);
    assert!(!dir.join(format!("{name}.gguf")).exists());

    // ... and resumed; the catalog's size and SHA-256 are checked (no override given).
    let mut events = Vec::new();
    let path = download_gguf(
        &dir,
        name,
        &server.source(None),
        &mut collect(&mut events),
        &no,
    )
    .unwrap();
    assert_eq!(path, dir.join(format!("{name}.gguf")));
    assert!(!partial.exists());
    assert_eq!(std::fs::metadata(&path).unwrap().len(), entry.size_bytes);
    assert_eq!(events.first().unwrap().resumed_from, 100 << 20);
    assert_eq!(events.last().unwrap().downloaded, entry.size_bytes);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].path, format!("/models/{name}.gguf"));
    assert_eq!(reqs[1].range.as_deref(), Some("bytes=104857600-"));

    // The built-in default is the first entry: the 1.5B model.
    assert_eq!(gguf_catalog()[0].name, "qwen2.5-coder-1.5b-instruct-q4_k_m");
}

#[test]
fn a_gguf_mirror_serving_something_else_installs_nothing() {
    let server = Server::start(fake_model(512 * 1024));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("llm");
    let no = AtomicBool::new(false);

    // A catalog name: its size catches the wrong file.
    let err = download_gguf(
        &dir,
        "qwen2.5-coder-1.5b-instruct-q4_k_m",
        &server.source(None),
        &mut |_| {},
        &no,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::SizeMismatch {
                expected: 1_117_320_768,
                ..
            }
        ),
        "{err:?}"
    );

    // Another name with the right digest but not a GGUF file (a ggml one).
    let err = download_gguf(
        &dir,
        "mine",
        &server.source(Some(server.sha256())),
        &mut |_| {},
        &no,
    )
    .unwrap_err();
    assert_eq!(err.code(), "invalid_gguf", "{err}");

    // Unknown name without a mirror names the catalog.
    let err =
        download_gguf(&dir, "mine", &DownloadSource::default(), &mut |_| {}, &no).unwrap_err();
    assert_eq!(err.code(), "unknown_model");
    assert!(
        err.to_string()
            .contains("qwen2.5-coder-1.5b-instruct-q4_k_m"),
        "{err}"
    );

    let left: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.count())
        .into_iter()
        .collect();
    assert_eq!(left, vec![0], "nothing installed and no partial file kept");
}
