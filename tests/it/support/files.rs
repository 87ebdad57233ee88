//! A real HTTP/1.1 file server on loopback for the worker tests: it serves bytes by
//! path with `Content-Length` (and `Content-Encoding: gzip` where asked), answers 404
//! for anything else, and can be told to fail a path with 503 a number of times, or to
//! stall in the middle of a body, so that retries and crashes can be provoked.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::read_request;

/// How one path is served.
#[derive(Debug, Clone, Default)]
pub struct File {
    /// The body as sent.
    pub body: Vec<u8>,
    /// Sent with `Content-Encoding: gzip` (the body is then gzip).
    pub gzip_encoding: bool,
    /// Requests answered 503 before it is served.
    pub fail_first: usize,
    /// The first this many requests stall this long after half the body.
    pub stall_first: usize,
    /// How long a stalled request stalls.
    pub stall: Duration,
}

#[derive(Default)]
struct State {
    files: HashMap<String, File>,
    requests: HashMap<String, usize>,
}

/// The server; it runs until the test process ends.
#[derive(Clone)]
pub struct FileServer {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl FileServer {
    /// Starts it on a free loopback port.
    pub fn start() -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let s = s.clone();
                std::thread::spawn(move || serve(conn, &s));
            }
        });
        FileServer { port, state }
    }

    /// Serves `file` at `path` (starting with `/`).
    pub fn put(&self, path: &str, file: File) {
        self.state
            .lock()
            .unwrap()
            .files
            .insert(path.to_owned(), file);
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Requests for `path` so far.
    pub fn requests(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .requests
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

fn serve(conn: std::net::TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    let Ok(Some(req)) = read_request(&mut reader) else {
        return;
    };
    let path = req.target.split('?').next().unwrap_or("").to_owned();
    let (file, n) = {
        let mut st = state.lock().unwrap();
        let n = {
            let c = st.requests.entry(path.clone()).or_insert(0);
            *c += 1;
            *c
        };
        (st.files.get(&path).cloned(), n)
    };
    let Some(file) = file.filter(|_| req.method == "GET") else {
        let _ = out.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
        );
        return;
    };
    if n <= file.fail_first {
        let _ = out.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy",
        );
        return;
    }
    let mut head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
        file.body.len()
    );
    if file.gzip_encoding {
        head.push_str("Content-Encoding: gzip\r\n");
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    if n <= file.stall_first {
        let half = file.body.len() / 2;
        let _ = out.write_all(&file.body[..half]);
        let _ = out.flush();
        std::thread::sleep(file.stall);
        let _ = out.write_all(&file.body[half..]);
    } else {
        let _ = out.write_all(&file.body);
    }
    let _ = out.flush();
}
