//! A minimal HTTP/1.1 client over `std::net`, for the dashboard's tests and
//! for driving ChromeDriver: requests with a body, responses with
//! `Content-Length` or chunked bodies, and a reader of server-sent events.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response: its status code, headers (names lowercased) and body.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// The value of header `name` (lowercase).
fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Whether the body comes in chunks.
fn is_chunked(headers: &[(String, String)]) -> bool {
    header(headers, "transfer-encoding").is_some_and(|v| v.contains("chunked"))
}

/// `GET path`.
pub fn get(address: SocketAddr, path: &str) -> Response {
    request(address, "GET", path, None)
}

/// `POST path` with a JSON body.
pub fn post_json(address: SocketAddr, path: &str, body: &serde_json::Value) -> Response {
    request(address, "POST", path, Some(&body.to_string()))
}

/// `DELETE path`.
pub fn delete(address: SocketAddr, path: &str) -> Response {
    request(address, "DELETE", path, None)
}

fn request(address: SocketAddr, method: &str, path: &str, body: Option<&str>) -> Response {
    let mut stream = connect(address);
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let (status, headers) = head(&mut reader);
    let mut body = Vec::new();
    if is_chunked(&headers) {
        while let Some(chunk) = next_chunk(&mut reader) {
            body.extend(chunk);
        }
    } else if let Some(length) = header(&headers, "content-length") {
        body.resize(length.parse().unwrap(), 0);
        reader.read_exact(&mut body).unwrap();
    } else {
        reader.read_to_end(&mut body).unwrap();
    }
    Response {
        status,
        headers,
        body: String::from_utf8(body).unwrap(),
    }
}

fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).unwrap();
    // A server that stops answering fails the test instead of hanging it.
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

/// The status line and headers.
fn head(reader: &mut impl BufRead) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            return (status, headers);
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
}

/// One chunk of a chunked body; `None` after the last.
fn next_chunk(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap() == 0 {
        return None;
    }
    let size = usize::from_str_radix(line.trim().split(';').next().unwrap(), 16).unwrap();
    let mut chunk = vec![0; size + 2]; // and its CRLF
    reader.read_exact(&mut chunk).unwrap();
    chunk.truncate(size);
    (size > 0).then_some(chunk)
}

/// The server-sent events of `GET path`, as they arrive.
pub struct Events {
    reader: BufReader<TcpStream>,
    chunked: bool,
    pending: String,
}

/// Opens the event stream at `path`.
pub fn events(address: SocketAddr, path: &str) -> Events {
    let mut stream = connect(address);
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let (status, headers) = head(&mut reader);
    assert_eq!(status, 200, "the event stream answered {status}");
    assert_eq!(header(&headers, "content-type"), Some("text/event-stream"));
    Events {
        reader,
        chunked: is_chunked(&headers),
        pending: String::new(),
    }
}

impl Events {
    /// The data of the next plain (unnamed) event.
    pub fn next_data(&mut self) -> String {
        loop {
            let (name, data) = self.next_event();
            if name == "message" {
                return data;
            }
        }
    }

    /// The next event's name (`message` when it has none) and data;
    /// keep-alive comments are skipped.
    pub fn next_event(&mut self) -> (String, String) {
        loop {
            if let Some(end) = self.pending.find("\n\n") {
                let event: String = self.pending.drain(..end + 2).collect();
                let field = |name: &str| -> Vec<String> {
                    event
                        .lines()
                        .filter_map(|line| line.strip_prefix(name))
                        .map(|d| d.strip_prefix(' ').unwrap_or(d).to_owned())
                        .collect()
                };
                let data = field("data:");
                if !data.is_empty() {
                    let name = field("event:").pop().unwrap_or_else(|| "message".into());
                    return (name, data.join("\n"));
                }
                continue;
            }
            let more = if self.chunked {
                next_chunk(&mut self.reader).expect("the event stream ended")
            } else {
                let mut buffer = vec![0; 8192];
                let n = self.reader.read(&mut buffer).unwrap();
                assert!(n > 0, "the event stream ended");
                buffer.truncate(n);
                buffer
            };
            self.pending.push_str(&String::from_utf8(more).unwrap());
        }
    }

    /// Reads frames until one satisfies `accept`, and returns it; fails the
    /// test after 20 s.
    pub fn until(
        &mut self,
        what: &str,
        accept: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let frame: serde_json::Value = serde_json::from_str(&self.next_data()).unwrap();
            if accept(&frame) {
                return frame;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no frame showed {what} within 20 s; the last: {frame}"
            );
        }
    }
}
