//! A minimal Server-Sent-Events reader for OpenAI-style streams: `data: {json}` lines,
//! `data: [DONE]` at the end, and comment lines (`: ping …`, sent by llama-cpp-python while it
//! reads the prompt) that only prove the server is alive.

/// One thing a stream said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseItem {
    Data(String),
    Done,
    /// A comment or other non-data line: the connection is alive.
    KeepAlive,
    /// A line or an event longer than [`MAX_EVENT`]: what was buffered is dropped (the stream
    /// is not one a chat server sends).
    TooLong,
}

/// Longest line or event kept (bytes). A chat server's chunks are a few hundred bytes.
pub const MAX_EVENT: usize = 4 << 20;

/// Splits bytes into lines and lines into items; bytes may arrive in any pieces.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    /// `buf[..scanned]` holds no newline (each byte is looked at once).
    scanned: usize,
    data: Option<String>,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Feeds bytes; returns the items completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseItem> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(at) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
            let nl = self.scanned + at;
            self.scanned = 0;
            let mut line: Vec<u8> = self.buf.drain(..=nl).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            self.line(&line, &mut out);
        }
        self.scanned = self.buf.len();
        if self.buf.len() > MAX_EVENT {
            self.buf = Vec::new();
            self.scanned = 0;
            self.data = None;
            out.push(SseItem::TooLong);
        }
        out
    }

    /// The stream ended: flushes a last event not followed by a blank line.
    pub fn finish(&mut self) -> Vec<SseItem> {
        let mut out = Vec::new();
        if !self.buf.is_empty() {
            let line = String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned();
            self.line(&line, &mut out);
        }
        self.dispatch(&mut out);
        out
    }

    fn line(&mut self, line: &str, out: &mut Vec<SseItem>) {
        if line.is_empty() {
            self.dispatch(out);
        } else if line.starts_with(':') {
            out.push(SseItem::KeepAlive);
        } else if let Some(rest) = line.strip_prefix("data:") {
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(rest);
                }
                None => self.data = Some(rest.to_string()),
            }
            if self.data.as_ref().is_some_and(|d| d.len() > MAX_EVENT) {
                self.data = None;
                out.push(SseItem::TooLong);
            }
        } else {
            // event:, id:, retry: — not used by OpenAI-style streams.
            out.push(SseItem::KeepAlive);
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseItem>) {
        if let Some(d) = self.data.take() {
            if d.trim() == "[DONE]" {
                out.push(SseItem::Done);
            } else {
                out.push(SseItem::Data(d));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_lines_done_and_pings_in_arbitrary_pieces() {
        let stream = b": ping - 2024-01-01\r\n\r\ndata: {\"a\":1}\n\ndata: {\"b\":\n\n: ping\ndata: [DONE]\n\n";
        for split in 1..stream.len() {
            let mut p = SseParser::new();
            let mut items = p.push(&stream[..split]);
            items.extend(p.push(&stream[split..]));
            items.extend(p.finish());
            let data: Vec<_> = items.iter().filter(|i| !matches!(i, SseItem::KeepAlive)).cloned().collect();
            assert_eq!(
                data,
                vec![
                    SseItem::Data("{\"a\":1}".into()),
                    SseItem::Data("{\"b\":".into()),
                    SseItem::Done
                ],
                "split at {split}"
            );
            assert_eq!(items.iter().filter(|i| **i == SseItem::KeepAlive).count(), 2);
        }
    }

    #[test]
    fn an_endless_line_or_event_is_dropped_not_kept() {
        let mut p = SseParser::new();
        let piece = vec![b'x'; 1 << 20];
        let mut items = Vec::new();
        for _ in 0..6 {
            items.extend(p.push(&piece));
        }
        assert_eq!(items, vec![SseItem::TooLong]);
        assert!(p.buf.capacity() <= 2 * MAX_EVENT, "the buffer does not keep growing");
        // The stream goes on being read after it (the caller decides to stop).
        assert_eq!(p.push(b"\ndata: {}\n\n"), vec![SseItem::KeepAlive, SseItem::Data("{}".into())]);
        // Many short data lines of one event add up the same way.
        let mut p = SseParser::new();
        let line = format!("data: {}\n", "y".repeat(1 << 16));
        let items: Vec<SseItem> = (0..80).flat_map(|_| p.push(line.as_bytes())).collect();
        assert_eq!(items, vec![SseItem::TooLong]);
    }

    #[test]
    fn last_event_without_blank_line_is_flushed() {
        let mut p = SseParser::new();
        assert!(p.push(b"data: {\"x\":2}").is_empty());
        assert_eq!(p.finish(), vec![SseItem::Data("{\"x\":2}".into())]);
    }
}
