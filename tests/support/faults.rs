//! Misbehaving peers for the fault matrix (`tests/fault_matrix.rs`), next
//! to the registry's [`FaultProxy`](crate::registry::FaultProxy): an HTTP
//! server that trickles its answer one byte a second, a Unix-socket proxy in
//! front of a real engine that makes the engine vanish after N removals, and
//! a read of a registry tag that does not go through the code under test.
//!
//! Each one misbehaves in exactly one way and otherwise stays out of the
//! way, so a test can say which fault it injected and check the real
//! component afterwards.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

// ------------------------------------------------------------- trickle

/// Which part of the answer a [`Trickle`] server sends slowly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TricklePart {
    /// The whole answer, status line first: the headers never complete.
    Headers,
    /// Headers at once (a 200 with a long `Content-Length`), then the body.
    Body,
}

/// An HTTP server on 127.0.0.1 that answers every request one byte a
/// second, forever (or until dropped).
pub struct Trickle {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Trickle {
    /// Starts the server.
    pub fn start(which: TricklePart) -> Trickle {
        let listener = TcpListener::bind("127.0.0.1:0").expect("trickle listener");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = Arc::clone(&stop);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if s2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let s3 = Arc::clone(&s2);
                thread::spawn(move || {
                    let _ = trickle(stream, which, &s3);
                });
            }
        });
        Trickle { port, stop }
    }

    /// `http://127.0.0.1:PORT/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Trickle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn trickle(mut stream: TcpStream, part: TricklePart, stop: &AtomicBool) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4096\r\n\r\n";
    let slow: Vec<u8> = match part {
        TricklePart::Headers => answer.to_vec(),
        TricklePart::Body => {
            stream.write_all(answer)?;
            vec![b'.'; 4096]
        }
    };
    for b in slow {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        stream.write_all(&[b])?;
        stream.flush()?;
        thread::sleep(Duration::from_secs(1));
    }
    Ok(())
}

// ------------------------------------------------------------- engine

/// A proxy on a Unix socket in front of an engine's socket that forwards
/// everything until the engine has been asked for `ok_deletes` removals;
/// at the next `DELETE` the engine "stops": that request is never
/// forwarded, every open connection is closed and the socket file is
/// removed, so the next connect fails as it does when dockerd is stopped.
pub struct EngineProxy {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    /// The request lines that reached the engine, in order.
    pub forwarded: Arc<Mutex<Vec<String>>>,
}

/// The state the connections of one [`EngineProxy`] share.
struct EngineShared {
    upstream: PathBuf,
    path: PathBuf,
    ok_deletes: usize,
    delete_delay: Duration,
    deletes: AtomicUsize,
    down: AtomicBool,
    open: Mutex<Vec<UnixStream>>,
    forwarded: Arc<Mutex<Vec<String>>>,
}

impl EngineProxy {
    /// Listens on `dir/proxy.sock`, forwarding to the socket `upstream`.
    pub fn start(upstream: &Path, dir: &Path, ok_deletes: usize) -> EngineProxy {
        Self::start_with(upstream, dir, ok_deletes, Duration::ZERO)
    }

    /// An engine that never stops but takes `delay` over every removal
    /// (each `DELETE` waits that long before it is forwarded), so a test
    /// can act while a prune is between its first and last removal.
    pub fn slow_deletes(upstream: &Path, dir: &Path, delay: Duration) -> EngineProxy {
        Self::start_with(upstream, dir, usize::MAX, delay)
    }

    fn start_with(
        upstream: &Path,
        dir: &Path,
        ok_deletes: usize,
        delete_delay: Duration,
    ) -> EngineProxy {
        let path = dir.join("proxy.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("binding the engine proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let forwarded = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(EngineShared {
            upstream: upstream.to_owned(),
            path: path.clone(),
            ok_deletes,
            delete_delay,
            deletes: AtomicUsize::new(0),
            down: AtomicBool::new(false),
            open: Mutex::new(Vec::new()),
            forwarded: Arc::clone(&forwarded),
        });
        let s2 = Arc::clone(&stop);
        thread::spawn(move || {
            while !s2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        if shared.down.load(Ordering::SeqCst) {
                            continue; // dropped: closed at once
                        }
                        let sh = Arc::clone(&shared);
                        thread::spawn(move || {
                            let _ = engine_connection(client, &sh);
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        EngineProxy {
            path,
            stop,
            forwarded,
        }
    }

    /// `unix://…/proxy.sock`, the `DOCKER_HOST` that goes through the proxy.
    pub fn host(&self) -> String {
        format!("unix://{}", self.path.display())
    }
}

impl Drop for EngineProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One client connection: requests are read whole (head and
/// `Content-Length` body) and forwarded one by one; answers are copied back
/// as bytes by a second thread.
fn engine_connection(mut client: UnixStream, shared: &EngineShared) -> io::Result<()> {
    client.set_nonblocking(false)?;
    let mut upstream = UnixStream::connect(&shared.upstream)?;
    shared
        .open
        .lock()
        .expect("open lock")
        .push(client.try_clone()?);
    let (mut from_engine, mut to_client) = (upstream.try_clone()?, client.try_clone()?);
    thread::spawn(move || {
        let _ = io::copy(&mut from_engine, &mut to_client);
        let _ = to_client.shutdown(Shutdown::Write);
    });
    loop {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if client.read(&mut byte)? == 0 {
                let _ = upstream.shutdown(Shutdown::Both);
                return Ok(());
            }
            head.push(byte[0]);
        }
        let text = String::from_utf8_lossy(&head).into_owned();
        let mut body = vec![0u8; content_length(&text)];
        client.read_exact(&mut body)?;
        let line = text.lines().next().unwrap_or("").to_owned();
        if line.starts_with("DELETE ")
            && shared.deletes.fetch_add(1, Ordering::SeqCst) >= shared.ok_deletes
        {
            shared.down.store(true, Ordering::SeqCst);
            let _ = std::fs::remove_file(&shared.path);
            for open in shared.open.lock().expect("open lock").iter() {
                let _ = open.shutdown(Shutdown::Both);
            }
            let _ = upstream.shutdown(Shutdown::Both);
            return Ok(());
        }
        if line.starts_with("DELETE ") {
            thread::sleep(shared.delete_delay);
        }
        shared.forwarded.lock().expect("forwarded lock").push(line);
        upstream.write_all(&head)?;
        upstream.write_all(&body)?;
    }
}

/// The `Content-Length` of a request head (0 without one).
pub fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        })
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

// ------------------------------------------------------------- registry

/// What an open registry at `host` (`127.0.0.1:PORT`) says `repo:reference`
/// points to, asked directly over HTTP/1.0 (HEAD with every manifest type
/// accepted): `Some(digest)`, or `None` on 404.
pub fn manifest_digest(host: &str, repo: &str, reference: &str) -> Option<String> {
    let mut s = TcpStream::connect(host).expect("connecting to the registry");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    write!(
        s,
        "HEAD /v2/{repo}/manifests/{reference} HTTP/1.0\r\nHost: {host}\r\nAccept: {}\r\n\r\n",
        deploykit::registry::model::ACCEPT
    )
    .expect("writing the request");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("reading the answer");
    let status = resp.split_whitespace().nth(1).unwrap_or("");
    match status {
        "200" => Some(
            resp.lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("docker-content-digest")
                        .then(|| v.trim().to_owned())
                })
                .expect("a 200 without Docker-Content-Digest"),
        ),
        "404" => None,
        _ => panic!("HEAD {repo}:{reference}: {resp}"),
    }
}

// ------------------------------------------------------------- wire tap

/// What a [`WireTap`] saw a client open a connection with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opening {
    /// A TLS handshake record (the first byte is 0x16).
    Tls,
    /// Anything else: the first bytes, as text.
    Plain(String),
}

/// A TCP relay on 127.0.0.1 in front of a server, which records how each
/// client connection opens: the witness that nothing reached a TLS server
/// in plain HTTP, which the server itself may answer without logging.
pub struct WireTap {
    port: u16,
    /// One entry per connection, in order.
    pub openings: Arc<Mutex<Vec<Opening>>>,
    stop: Arc<AtomicBool>,
}

impl WireTap {
    /// A tap forwarding every connection to `127.0.0.1:upstream_port`.
    pub fn start(upstream_port: u16) -> WireTap {
        let listener = TcpListener::bind("127.0.0.1:0").expect("tap listener");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let openings = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped) = (Arc::clone(&openings), Arc::clone(&stop));
        thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                let Ok((client, _)) = listener.accept() else {
                    thread::sleep(Duration::from_millis(2));
                    continue;
                };
                let seen = Arc::clone(&seen);
                thread::spawn(move || {
                    let _ = tap_one(client, upstream_port, &seen);
                });
            }
        });
        WireTap {
            port,
            openings,
            stop,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The connections so far that did not open with TLS.
    pub fn plain_openings(&self) -> Vec<String> {
        self.openings
            .lock()
            .expect("tap lock")
            .iter()
            .filter_map(|o| match o {
                Opening::Plain(head) => Some(head.clone()),
                Opening::Tls => None,
            })
            .collect()
    }
}

impl Drop for WireTap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn tap_one(
    mut client: TcpStream,
    upstream_port: u16,
    seen: &Mutex<Vec<Opening>>,
) -> io::Result<()> {
    client.set_nonblocking(false)?;
    let mut first = vec![0u8; 4096];
    let n = client.read(&mut first)?;
    if n == 0 {
        return Ok(());
    }
    first.truncate(n);
    seen.lock().expect("tap lock").push(if first[0] == 0x16 {
        Opening::Tls
    } else {
        Opening::Plain(String::from_utf8_lossy(&first).into_owned())
    });
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port))?;
    upstream.write_all(&first)?;
    let (mut up_read, mut client_write) = (upstream.try_clone()?, client.try_clone()?);
    let back = thread::spawn(move || {
        let _ = io::copy(&mut up_read, &mut client_write);
        let _ = client_write.shutdown(Shutdown::Write);
    });
    let _ = io::copy(&mut client, &mut upstream);
    let _ = upstream.shutdown(Shutdown::Write);
    let _ = back.join();
    Ok(())
}

// ------------------------------------------------------------- scripted

/// One request a [`Scripted`] server received.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET /path?query HTTP/1.1`.
    pub line: String,
    /// The whole head: the request line and every header, as sent.
    pub head: String,
}

impl Request {
    /// The path and query of the request line.
    pub fn target(&self) -> &str {
        self.line.split_whitespace().nth(1).unwrap_or("")
    }

    /// The value of header `name` (case-insensitive), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// What a [`Scripted`] server answers: status, extra headers, body.
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Headers besides `Content-Length` and `Connection`.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// `status` with `body` and no other header.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

type Handler = dyn Fn(u16, &Request) -> Answer + Send + Sync;

/// An HTTP/1.1 server on 127.0.0.1 that answers each request with what
/// its handler says (given the server's port and the request), one
/// request per connection, and keeps every request it received: a hostile
/// registry, a token service or an echoing health endpoint in a few lines.
pub struct Scripted {
    port: u16,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Scripted {
    /// Starts the server.
    pub fn start(handler: impl Fn(u16, &Request) -> Answer + Send + Sync + 'static) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").expect("scripted listener");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let (s2, r2) = (Arc::clone(&stop), Arc::clone(&requests));
        thread::spawn(move || {
            for stream in listener.incoming() {
                if s2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (h, r) = (Arc::clone(&handler), Arc::clone(&r2));
                thread::spawn(move || {
                    let _ = answer(stream, port, &*h, &r);
                });
            }
        });
        Scripted {
            port,
            stop,
            requests,
        }
    }

    /// An answer with the request head as the body: a health endpoint that
    /// reflects what it was sent, with `status`.
    pub fn echo(status: u16) -> Scripted {
        Scripted::start(move |_, req| Answer::new(status, req.head.clone()))
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("requests lock").clone()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn answer(
    mut stream: TcpStream,
    port: u16,
    handler: &Handler,
    requests: &Mutex<Vec<Request>>,
) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
        if head.len() == 1 && !byte[0].is_ascii_uppercase() {
            // A TLS ClientHello: answer as a plain-HTTP server does, so
            // the client falls back to plain HTTP on loopback.
            stream.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\n")?;
            return Ok(());
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut body = vec![0; content_length(&head)];
    stream.read_exact(&mut body)?;
    let request = Request {
        line: head.lines().next().unwrap_or("").to_owned(),
        head: head.trim_end().to_owned(),
    };
    requests
        .lock()
        .expect("requests lock")
        .push(request.clone());
    let reply = handler(port, &request);
    let mut out = Vec::new();
    write!(out, "HTTP/1.1 {} Scripted\r\n", reply.status)?;
    for (k, v) in &reply.headers {
        write!(out, "{k}: {v}\r\n")?;
    }
    write!(
        out,
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        reply.body.len()
    )?;
    stream.write_all(&out)?;
    if !request.line.starts_with("HEAD ") {
        stream.write_all(&reply.body)?;
    }
    stream.flush()?;
    let _ = stream.shutdown(Shutdown::Write);
    Ok(())
}
