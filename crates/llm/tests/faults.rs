//! Fault handling of the HTTP client against a loopback server that misbehaves on purpose:
//! every fault is retried, downgraded or reported with its named error code.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tingji_llm::provider::JsonMode;
use tingji_llm::{Cancel, ChatModel, ChatRequest, HttpChat, Message, ProviderConfig, StreamEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Clone)]
enum Reply {
    Status(u16, &'static str, Option<&'static str>),
    Json(String),
    Sse(Vec<String>, bool),
    Hang,
    /// A reply with this status and no length whose body never ends (1 MB writes until the
    /// client goes away); the bytes written are counted.
    Endless(u16, Arc<Mutex<usize>>),
}

struct Server {
    url: String,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
}

fn ok_json(text: &str) -> String {
    serde_json::json!({
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 11, "completion_tokens": 3 }
    })
    .to_string()
}

fn sse_chunks(parts: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = parts
        .iter()
        .map(|p| serde_json::json!({ "choices": [{ "index": 0, "delta": { "content": p }, "finish_reason": null }] }).to_string())
        .collect();
    v.push(serde_json::json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }] }).to_string());
    v
}

/// Serves `script` in order, one reply per request; the last reply repeats.
async fn serve(script: Vec<Reply>) -> Server {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", l.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let b = bodies.clone();
    tokio::spawn(async move {
        let mut n = 0usize;
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            let reply = script[n.min(script.len() - 1)].clone();
            n += 1;
            let b = b.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                let body_start = loop {
                    let k = s.read(&mut tmp).await.unwrap_or(0);
                    if k == 0 {
                        return;
                    }
                    buf.extend_from_slice(&tmp[..k]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..body_start]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                    .unwrap_or(0);
                while buf.len() < body_start + len {
                    let k = s.read(&mut tmp).await.unwrap_or(0);
                    if k == 0 {
                        break;
                    }
                    buf.extend_from_slice(&tmp[..k]);
                }
                b.lock().unwrap().push(serde_json::from_slice(&buf[body_start..]).unwrap_or_default());
                let head = |status: u16, ctype: &str, extra: &str| {
                    format!("HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\nconnection: close\r\n{extra}\r\n")
                };
                match reply {
                    Reply::Status(st, body, retry) => {
                        let extra = retry.map(|r| format!("retry-after: {r}\r\n")).unwrap_or_default();
                        let h = head(st, "application/json", &format!("{extra}content-length: {}\r\n", body.len()));
                        let _ = s.write_all(format!("{h}{body}").as_bytes()).await;
                    }
                    Reply::Json(body) => {
                        let h = head(200, "application/json", &format!("content-length: {}\r\n", body.len()));
                        let _ = s.write_all(format!("{h}{body}").as_bytes()).await;
                    }
                    Reply::Sse(chunks, complete) => {
                        let _ = s.write_all(head(200, "text/event-stream", "").as_bytes()).await;
                        let _ = s.write_all(b": ping - keep-alive\r\n\r\n").await;
                        for c in chunks {
                            let _ = s.write_all(format!("data: {c}\n\n").as_bytes()).await;
                            let _ = s.flush().await;
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        if complete {
                            let _ = s.write_all(b"data: [DONE]\n\n").await;
                        }
                    }
                    Reply::Endless(st, sent) => {
                        let _ = s.write_all(head(st, "application/json", "").as_bytes()).await;
                        let block = vec![b' '; 1 << 20];
                        let _ = s.write_all(b"{\"choices\": [").await;
                        while s.write_all(&block).await.is_ok() {
                            *sent.lock().unwrap() += block.len();
                            if *sent.lock().unwrap() > 4 << 30 {
                                break;
                            }
                        }
                    }
                    Reply::Hang => {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    }
                }
                let _ = s.shutdown().await;
            });
        }
    });
    Server { url, bodies }
}

fn client(url: &str, stream: bool) -> HttpChat {
    let mut c = ProviderConfig::new("llamacpp", Some(url), Some("test"), None).unwrap();
    c.stream = stream;
    c.backoff = Duration::from_millis(20);
    c.idle_timeout = Duration::from_secs(2);
    c.max_attempts = 3;
    HttpChat::new(c).unwrap()
}

fn req() -> ChatRequest {
    ChatRequest::new(vec![Message::user("hi")])
}

async fn run(c: &HttpChat, req: &ChatRequest) -> (Result<tingji_llm::ChatResponse, tingji_llm::LlmError>, Vec<String>) {
    let mut events = Vec::new();
    let r = c
        .chat(req, &mut |e| {
            events.push(match e {
                StreamEvent::Text(t) => t.to_string(),
                StreamEvent::Restart => "<restart>".to_string(),
            })
        }, &Cancel::new())
        .await;
    (r, events)
}

#[tokio::test]
async fn rate_limit_then_success_is_retried_after_retry_after() {
    let s = serve(vec![Reply::Status(429, "{\"error\":\"slow down\"}", Some("0")), Reply::Json(ok_json("fine"))]).await;
    let (r, _) = run(&client(&s.url, false), &req()).await;
    let r = r.unwrap();
    assert_eq!(r.text, "fine");
    assert_eq!((r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.estimated), (11, 3, false));
    assert_eq!(s.bodies.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn persistent_rate_limit_is_named() {
    let s = serve(vec![Reply::Status(429, "{}", Some("0"))]).await;
    let e = run(&client(&s.url, false), &req()).await.0.unwrap_err();
    assert_eq!(e.code(), "llm_rate_limited", "{e}");
    assert_eq!(s.bodies.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn server_error_is_retried_and_then_reported() {
    let s = serve(vec![Reply::Status(500, "{\"error\":\"boom\"}", None), Reply::Json(ok_json("ok"))]).await;
    assert_eq!(run(&client(&s.url, false), &req()).await.0.unwrap().text, "ok");
    let s = serve(vec![Reply::Status(503, "{\"error\":\"down\"}", None)]).await;
    let e = run(&client(&s.url, false), &req()).await.0.unwrap_err();
    assert_eq!(e.code(), "llm_http");
    assert!(e.to_string().contains("503") && e.to_string().contains("down"), "{e}");
    assert_eq!(s.bodies.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_stream_cut_midway_restarts_and_completes() {
    let s = serve(vec![Reply::Sse(sse_chunks(&["Hel"]), false), Reply::Sse(sse_chunks(&["Hello", " world"]), true)]).await;
    let mut cut = sse_chunks(&["Hel"]);
    cut.pop();
    let s2 = serve(vec![Reply::Sse(cut, false), Reply::Sse(sse_chunks(&["Hello", " world"]), true)]).await;
    // A stream that ends with a finish_reason but no [DONE] is complete.
    let (r, _) = run(&client(&s.url, true), &req()).await;
    assert_eq!(r.unwrap().text, "Hel");
    // One that ends with neither is cut: the client retries and tells the caller to restart.
    let (r, events) = run(&client(&s2.url, true), &req()).await;
    let r = r.unwrap();
    assert_eq!(r.text, "Hello world");
    assert_eq!(events, vec!["Hel", "<restart>", "Hello", " world"]);
    assert!(r.usage.estimated, "no usage in the stream: estimated");
}

#[tokio::test]
async fn a_hang_past_the_timeout_is_named() {
    let s = serve(vec![Reply::Hang]).await;
    let mut c = ProviderConfig::new("llamacpp", Some(&s.url), None, None).unwrap();
    c.idle_timeout = Duration::from_millis(500);
    c.max_attempts = 2;
    c.backoff = Duration::from_millis(10);
    let t0 = Instant::now();
    let e = run(&HttpChat::new(c).unwrap(), &req()).await.0.unwrap_err();
    assert_eq!(e.code(), "llm_timeout", "{e}");
    assert!(t0.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_reply_without_end_is_not_buffered_to_the_end() {
    // A chat reply: named once it passes 16 MB, long before the idle timeout.
    let sent = Arc::new(Mutex::new(0));
    let s = serve(vec![Reply::Endless(200, sent.clone())]).await;
    let mut c = ProviderConfig::new("llamacpp", Some(&s.url), None, None).unwrap();
    c.stream = false;
    c.idle_timeout = Duration::from_secs(30);
    c.max_attempts = 1;
    let t0 = Instant::now();
    let e = run(&HttpChat::new(c).unwrap(), &req()).await.0.unwrap_err();
    assert_eq!(e.code(), "llm_bad_response", "{e}");
    assert!(e.to_string().contains("over 16 MB"), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(20), "took {:?}", t0.elapsed());
    // An error reply: its start is the message, the rest is not read.
    let sent = Arc::new(Mutex::new(0));
    let s = serve(vec![Reply::Endless(500, sent.clone())]).await;
    let mut c = ProviderConfig::new("llamacpp", Some(&s.url), None, None).unwrap();
    c.idle_timeout = Duration::from_secs(30);
    c.max_attempts = 1;
    let t0 = Instant::now();
    let e = run(&HttpChat::new(c).unwrap(), &req()).await.0.unwrap_err();
    assert_eq!(e.code(), "llm_http", "{e}");
    assert!(t0.elapsed() < Duration::from_secs(20), "took {:?}", t0.elapsed());
}

#[tokio::test]
async fn empty_choices_and_non_json_replies() {
    let s = serve(vec![Reply::Json("{\"choices\":[]}".into()), Reply::Json(ok_json("second"))]).await;
    assert_eq!(run(&client(&s.url, false), &req()).await.0.unwrap().text, "second");
    let s = serve(vec![Reply::Json("{\"choices\":[]}".into())]).await;
    assert_eq!(run(&client(&s.url, false), &req()).await.0.unwrap_err().code(), "llm_empty");
    let s = serve(vec![Reply::Json("<html>proxy error</html>".into())]).await;
    let e = run(&client(&s.url, false), &req()).await.0.unwrap_err();
    assert_eq!(e.code(), "llm_bad_response");
    assert!(e.to_string().contains("proxy error"), "{e}");
}

#[tokio::test]
async fn bad_key_and_dead_server_fail_at_once() {
    let s = serve(vec![Reply::Status(401, "{\"error\":\"invalid api key\"}", None)]).await;
    let e = run(&client(&s.url, false), &req()).await.0.unwrap_err();
    assert_eq!(e.code(), "llm_auth");
    assert_eq!(s.bodies.lock().unwrap().len(), 1, "a refused key is not retried");
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", l.local_addr().unwrap())
    };
    let e = run(&client(&dead, true), &req()).await.0.unwrap_err();
    assert_eq!(e.code(), "llm_unreachable", "{e}");
    assert!(e.to_string().contains("127.0.0.1"));
}

#[tokio::test]
async fn cancel_stops_a_hanging_request() {
    let s = serve(vec![Reply::Hang]).await;
    let c = client(&s.url, true);
    let cancel = Cancel::new();
    let k = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        k.cancel();
    });
    let t0 = Instant::now();
    let e = c.chat(&req(), &mut |_| {}, &cancel).await.unwrap_err();
    assert_eq!(e.code(), "cancelled");
    assert!(t0.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn json_schema_mode_is_downgraded_when_the_server_rejects_it() {
    // llama-cpp-python answers an OpenAI json_schema response_format with HTTP 500.
    let s = serve(vec![
        Reply::Status(500, "{\"error\":\"response_format json_schema not supported\"}", None),
        Reply::Json(ok_json("{\"a\":1}")),
    ])
    .await;
    let c = client(&s.url, false);
    let mut r = req();
    r.json_schema = Some(serde_json::json!({"type":"object"}));
    assert_eq!(run(&c, &r).await.0.unwrap().text, "{\"a\":1}");
    let bodies = s.bodies.lock().unwrap();
    assert_eq!(bodies[0]["response_format"]["type"], "json_schema");
    assert_eq!(bodies[1]["response_format"]["type"], "json_object");
    assert_eq!(bodies[1]["response_format"]["schema"]["type"], "object");
    assert_eq!(c.config().json_mode, JsonMode::JsonSchema, "the preset is unchanged; the session mode moved");
}

#[test]
fn the_api_key_is_sent_but_never_printed() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = serve(vec![Reply::Json(ok_json("x"))]).await;
        let cfg = ProviderConfig::new("openai", Some(&s.url), None, Some(tingji_llm::Secret::new("sk-test-123"))).unwrap();
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("sk-test-123"));
        let mut cfg = cfg;
        cfg.stream = false;
        run(&HttpChat::new(cfg).unwrap(), &req()).await.0.unwrap();
    });
}
