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

// ------------------------------------------------------------- canned

/// One answer of a [`Canned`] server.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Extra headers (`Content-Length` and `Connection: close` are added).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// A 200 with `content_type` (none when `None`) and `body`.
    pub fn ok(content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Answer {
        Answer {
            status: 200,
            headers: content_type
                .map(|c| vec![("Content-Type".to_owned(), c.to_owned())])
                .unwrap_or_default(),
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

type Router = dyn Fn(&str, &str) -> Answer + Send + Sync;

/// A plain-HTTP server on 127.0.0.1 that answers each request with what
/// its router returns for `(method, path)`: a web server that is not a
/// registry, or a registry that serves the wrong documents.
pub struct Canned {
    port: u16,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
}

impl Canned {
    /// Starts the server.
    pub fn start(router: impl Fn(&str, &str) -> Answer + Send + Sync + 'static) -> Canned {
        let listener = TcpListener::bind("127.0.0.1:0").expect("canned listener");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let router: Arc<Router> = Arc::new(router);
        let (s2, r2) = (Arc::clone(&stop), Arc::clone(&requests));
        thread::spawn(move || {
            for stream in listener.incoming() {
                if s2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let router = Arc::clone(&router);
                r2.fetch_add(1, Ordering::SeqCst);
                thread::spawn(move || {
                    let _ = canned(stream, &*router);
                });
            }
        });
        Canned {
            port,
            stop,
            requests,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Connections accepted so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Canned {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn canned(mut stream: TcpStream, router: &Router) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.first() == Some(&0x16) {
            // A TLS ClientHello: answer as Go's HTTP server does, so a
            // client trying HTTPS first falls back to plain HTTP at once.
            stream.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")?;
            return Ok(());
        }
        if stream.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut body = vec![0u8; content_length(&head)];
    stream.read_exact(&mut body)?;
    let mut first = head.split_whitespace();
    let (method, path) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
    let answer = router(method, path);
    let mut out = format!("HTTP/1.1 {} Canned\r\n", answer.status);
    for (k, v) in &answer.headers {
        out.push_str(k);
        out.push_str(": ");
        out.push_str(v);
        out.push_str("\r\n");
    }
    out.push_str("Content-Length: ");
    out.push_str(&answer.body.len().to_string());
    out.push_str("\r\nConnection: close\r\n\r\n");
    stream.write_all(out.as_bytes())?;
    if method != "HEAD" {
        stream.write_all(&answer.body)?;
    }
    stream.flush()?;
    let _ = stream.shutdown(Shutdown::Write);
    Ok(())
}
