//! Access to a container engine through the Docker Engine API (1.41+).
//!
//! Deploy hosts run dockerd or podman's Docker-compatible service; both speak
//! the same HTTP API on a Unix socket (`/var/run/docker.sock`, or wherever
//! `DOCKER_HOST` points: `unix://PATH` or `tcp://HOST:PORT`). The client is
//! bollard (a well-kept, typed client) with its TLS features off, so the
//! workspace keeps rustls with ring as its only TLS stack; it runs on a
//! current-thread tokio runtime owned by [`Engine`], so callers stay
//! synchronous like the rest of deploykit.
//!
//! What this module adds over bollard is what every deploykit tool wants
//! from an engine: a deadline on every call (`--timeout`), retries of
//! transient failures with backoff inside that budget, errors carrying the
//! conventions' exit statuses, API-version negotiation with a floor of 1.41,
//! and the engines' differing answers to "this image is in use" folded into
//! one [`RemoveOutcome::InUse`] (dockerd answers 409; podman answers 500
//! when an image with several tags is removed by id).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use backon::{BlockingRetryable, ExponentialBuilder};
use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, RemoveImageOptionsBuilder,
};
use serde::Serialize;

use crate::exit::{Error, Exit, Result};

/// The socket used when `DOCKER_HOST` is not set.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// The oldest Engine API version deploykit speaks.
pub const MIN_API: (usize, usize) = (1, 41);

/// How to reach the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// `unix://PATH`, `tcp://HOST:PORT`, or a bare socket path; `None` for
    /// [`DEFAULT_SOCKET`].
    pub host: Option<String>,
    /// The budget of each operation (a listing, one removal), retries included.
    pub timeout: Duration,
}

/// Where the engine listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A Unix socket on this host.
    Unix(PathBuf),
    /// `HOST:PORT` over plain HTTP.
    Tcp(String),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "unix://{}", p.display()),
            Endpoint::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

impl Endpoint {
    /// Parses a `DOCKER_HOST` value (`None` or empty: the default socket).
    pub fn parse(host: Option<&str>) -> Result<Endpoint> {
        let host = host.map(str::trim).filter(|h| !h.is_empty());
        let Some(host) = host else {
            return Ok(Endpoint::Unix(PathBuf::from(DEFAULT_SOCKET)));
        };
        if let Some(path) = host.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(Error::usage(format!(
                    "engine host {host:?}: no socket path after unix://"
                )));
            }
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        if let Some(addr) = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"))
        {
            let addr = addr.trim_end_matches('/');
            if addr.is_empty() || addr.contains('/') {
                return Err(Error::usage(format!(
                    "engine host {host:?}: expected tcp://HOST:PORT"
                )));
            }
            return Ok(Endpoint::Tcp(addr.to_owned()));
        }
        if host.starts_with('/') {
            return Ok(Endpoint::Unix(PathBuf::from(host)));
        }
        Err(Error::usage(format!(
            "engine host {host:?} is not supported: use unix:///path/to/docker.sock or tcp://HOST:PORT \
             (ssh:// and TLS to the engine are not supported; tunnel the socket instead)"
        )))
    }
}

/// An image as the engine lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageSummary {
    /// `sha256:…` (the config digest).
    pub id: String,
    /// `repo:tag` references; empty for an untagged image.
    pub repo_tags: Vec<String>,
    /// `repo@sha256:…` references (pulled or pushed by digest).
    pub repo_digests: Vec<String>,
    /// Creation time of the image, Unix seconds.
    pub created: i64,
    /// Size in bytes as the engine reports it (layers shared with other
    /// images are counted in each).
    pub size: u64,
}

/// A container (running or not) as the engine lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerSummary {
    /// The container id.
    pub id: String,
    /// Its first name, without the leading `/`.
    pub name: String,
    /// The image id it runs.
    pub image_id: String,
    /// The image as given at creation.
    pub image: String,
    /// `running`, `exited`, `created`…
    pub state: String,
}

/// What `/info` says that deploykit uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineInfo {
    /// The engine's data root (`/var/lib/docker`).
    pub root_dir: Option<PathBuf>,
    /// `docker` or `podman`… as far as the engine says.
    pub server_version: Option<String>,
    /// The Engine API version in use after negotiation.
    pub api_version: String,
}

/// The answer to one image removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveOutcome {
    /// The reference was removed: the tags untagged and the images deleted.
    Removed {
        /// `Untagged:` records.
        untagged: Vec<String>,
        /// `Deleted:` records (image and layer ids).
        deleted: Vec<String>,
    },
    /// The engine refused because a container uses the image (or it is
    /// otherwise referenced): the message as the engine gave it.
    InUse(String),
    /// No such image (removed meanwhile).
    NotFound,
}

/// A connection to one engine.
pub struct Engine {
    docker: Docker,
    rt: tokio::runtime::Runtime,
    endpoint: Endpoint,
    timeout: Duration,
}

impl Engine {
    /// Connects to the engine and negotiates the API version (1.41 or newer).
    pub fn connect(opts: &EngineOptions) -> Result<Engine> {
        let endpoint = Endpoint::parse(opts.host.as_deref())?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::new(
                    Exit::Remote,
                    format!("starting the engine client runtime: {e}"),
                )
            })?;
        let secs = opts.timeout.as_secs().max(1);
        let docker = match &endpoint {
            Endpoint::Unix(path) => {
                let path = path.to_string_lossy().into_owned();
                Docker::connect_with_unix(&path, secs, bollard::API_DEFAULT_VERSION)
            }
            Endpoint::Tcp(addr) => {
                Docker::connect_with_http(addr, secs, bollard::API_DEFAULT_VERSION)
            }
        }
        .map_err(|e| classify(&endpoint, "connecting", &e))?;
        let mut engine = Engine {
            docker,
            rt,
            endpoint,
            timeout: opts.timeout,
        };
        let pinged = engine.call("negotiating the API version", || {
            ping_api_version(&engine.endpoint)
        })?;
        let negotiated = if let Some(server) = pinged {
            engine.with_version(&server, secs)?
        } else {
            // No API-Version header (an engine or proxy that does not send
            // it): ask `/version`, which every engine answers.
            let docker = engine.docker.clone();
            engine.call("negotiating the API version", || {
                docker.clone().negotiate_version()
            })?
        };
        let version = negotiated.client_version();
        if (version.major_version, version.minor_version) < MIN_API {
            return Err(Error::remote(format!(
                "the engine at {} speaks Engine API {}.{}; {}.{} or newer is needed",
                engine.endpoint, version.major_version, version.minor_version, MIN_API.0, MIN_API.1
            )));
        }
        engine.docker = negotiated;
        Ok(engine)
    }

    /// A client for the same endpoint speaking the lower of bollard's API
    /// version and `server`'s, as `negotiate_version` would pick.
    fn with_version(&self, server: &bollard::ClientVersion, secs: u64) -> Result<Docker> {
        let ours = self.docker.client_version();
        let version = if *server < ours { server } else { &ours };
        match &self.endpoint {
            Endpoint::Unix(path) => {
                Docker::connect_with_unix(&path.to_string_lossy(), secs, version)
            }
            Endpoint::Tcp(addr) => Docker::connect_with_http(addr, secs, version),
        }
        .map_err(|e| classify(&self.endpoint, "connecting", &e))
    }

    /// Where the engine listens.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The negotiated API version, `1.41`.
    pub fn api_version(&self) -> String {
        let v = self.docker.client_version();
        format!("{}.{}", v.major_version, v.minor_version)
    }

    /// Runs one API call with the deadline, retrying transient failures.
    fn call<T, F, Fut>(&self, what: &str, make: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = std::result::Result<T, bollard::errors::Error>>,
    {
        self.call_raw(what, make).map_err(|f| f.error)
    }

    /// [`Self::call`], keeping the engine's status code of a refusal.
    fn call_raw<T, F, Fut>(&self, what: &str, make: F) -> std::result::Result<T, Failure>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = std::result::Result<T, bollard::errors::Error>>,
    {
        let deadline = Instant::now() + self.timeout;
        let too_late = || Failure {
            error: Error::remote(format!(
                "{}: {what}: no answer within {}",
                self.endpoint,
                crate::duration::format(self.timeout)
            )),
            refusal: None,
            transient: false,
        };
        let attempt = || {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(too_late());
            }
            match self
                .rt
                .block_on(async { tokio::time::timeout(left, make()).await })
            {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(e)) => Err(Failure {
                    error: classify(&self.endpoint, what, &e),
                    refusal: match &e {
                        bollard::errors::Error::DockerResponseServerError {
                            status_code,
                            message,
                        } => Some((*status_code, message.trim().to_owned())),
                        _ => None,
                    },
                    transient: is_transient(&e),
                }),
                Err(_) => Err(too_late()),
            }
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(2))
            .with_jitter()
            .with_max_times(6);
        attempt
            .retry(backoff)
            .sleep(move |d: Duration| {
                std::thread::sleep(d.min(deadline.saturating_duration_since(Instant::now())));
            })
            .when(|f: &Failure| {
                f.transient
                    && deadline.saturating_duration_since(Instant::now())
                        > Duration::from_millis(50)
            })
            .call()
    }

    /// The top-level images (intermediate build layers excluded), with
    /// their tags and digests.
    pub fn images(&self) -> Result<Vec<ImageSummary>> {
        let docker = &self.docker;
        // Not `digests=true`: podman 4.3 answers it with an empty body, and
        // both engines send RepoDigests without it.
        let list = self.call("listing images", || {
            docker.list_images(Some(ListImagesOptionsBuilder::new().all(false).build()))
        })?;
        Ok(list
            .into_iter()
            .map(|i| ImageSummary {
                id: i.id,
                repo_tags: i
                    .repo_tags
                    .into_iter()
                    .filter(|t| !is_none_ref(t))
                    .collect(),
                repo_digests: i
                    .repo_digests
                    .into_iter()
                    .filter(|t| !is_none_ref(t))
                    .collect(),
                created: i.created,
                size: u64::try_from(i.size).unwrap_or(0),
            })
            .collect())
    }

    /// Every container, running or not.
    pub fn containers(&self) -> Result<Vec<ContainerSummary>> {
        let docker = &self.docker;
        let list = self.call("listing containers", || {
            docker.list_containers(Some(ListContainersOptionsBuilder::new().all(true).build()))
        })?;
        Ok(list
            .into_iter()
            .map(|c| ContainerSummary {
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .map(|n| n.trim_start_matches('/').to_owned())
                    .unwrap_or_default(),
                image_id: c.image_id.unwrap_or_default(),
                image: c.image.unwrap_or_default(),
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
            })
            .collect())
    }

    /// The engine's data root and version.
    pub fn info(&self) -> Result<EngineInfo> {
        let docker = &self.docker;
        let info = self.call("reading /info", || docker.info())?;
        Ok(EngineInfo {
            root_dir: info
                .docker_root_dir
                .filter(|d| !d.is_empty())
                .map(PathBuf::from),
            server_version: info.server_version,
            api_version: self.api_version(),
        })
    }

    /// Removes one image reference (`repo:tag`, `repo@digest` or an id)
    /// without force: the engine refuses when a container uses the image,
    /// which is reported as [`RemoveOutcome::InUse`], not as an error.
    pub fn remove_image(&self, reference: &str) -> Result<RemoveOutcome> {
        let docker = &self.docker;
        let what = format!("removing {reference}");
        let result = self.call_raw(&what, || {
            docker.remove_image(
                reference,
                Some(
                    RemoveImageOptionsBuilder::new()
                        .force(false)
                        .noprune(false)
                        .build(),
                ),
                None,
            )
        });
        match result {
            Ok(items) => {
                let mut untagged = Vec::new();
                let mut deleted = Vec::new();
                for item in items {
                    untagged.extend(item.untagged);
                    deleted.extend(item.deleted);
                }
                Ok(RemoveOutcome::Removed { untagged, deleted })
            }
            Err(Failure {
                refusal: Some((status, message)),
                error,
                ..
            }) => match removal_refusal(status, &message) {
                Some(outcome) => Ok(outcome),
                None => Err(error),
            },
            Err(f) => Err(f.error),
        }
    }
}

/// The engine's API version from the `API-Version` header of its `/_ping`
/// answer (`None` when it sends none, or answers other than 200), the way
/// the docker CLI negotiates. Not `/version`, which bollard's
/// `negotiate_version` asks: podman answers that one by running conmon and
/// the OCI runtime and asking the package manager which packages they came
/// from, which takes longer than listing hundreds of images, on every run.
async fn ping_api_version(
    endpoint: &Endpoint,
) -> std::result::Result<Option<bollard::ClientVersion>, bollard::errors::Error> {
    const REQUEST: &[u8] = b"GET /_ping HTTP/1.1\r\nHost: engine\r\nConnection: close\r\n\r\n";
    let head = match endpoint {
        Endpoint::Unix(path) => {
            read_answer_head(tokio::net::UnixStream::connect(path).await?, REQUEST).await?
        }
        Endpoint::Tcp(addr) => {
            read_answer_head(
                tokio::net::TcpStream::connect(addr.as_str()).await?,
                REQUEST,
            )
            .await?
        }
    };
    Ok(ping_version(&head))
}

/// Sends `request` and reads the answer's head (up to the blank line, at
/// most 16 KiB: a ping's head is a few hundred bytes).
async fn read_answer_head<S>(mut stream: S, request: &[u8]) -> std::io::Result<Vec<u8>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(request).await?;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(head)
}

/// The `API-Version` of a 200 answer's head, `1.41` → 1.41.
fn ping_version(head: &[u8]) -> Option<bollard::ClientVersion> {
    let text = std::str::from_utf8(head).ok()?;
    let text = text.split("\r\n\r\n").next()?;
    let mut lines = text.split("\r\n");
    let status = lines.next()?;
    if !(status.starts_with("HTTP/1.") && status.split(' ').nth(1) == Some("200")) {
        return None;
    }
    let value = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("api-version")
            .then(|| value.trim())
    })?;
    let (major, minor) = value.split_once('.')?;
    Some(bollard::ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
}

/// Free bytes (for an unprivileged user) of the file system holding `path`.
pub fn free_bytes(path: &Path) -> Result<u64> {
    let st = rustix::fs::statvfs(path)
        .map_err(|e| Error::usage(format!("reading the free space of {}: {e}", path.display())))?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// dockerd lists a dangling image's tag as `<none>:<none>`.
fn is_none_ref(r: &str) -> bool {
    r.starts_with("<none>")
}

/// A failed call: the error to report, and the engine's refusal if it answered.
struct Failure {
    error: Error,
    refusal: Option<(u16, String)>,
    transient: bool,
}

/// How the engines say "not now" to an image removal: dockerd answers 409
/// (a container uses it, or it is referenced by several repositories);
/// podman answers 409 for a container and 500 for an image with several
/// tags removed by id. A 404 means someone removed it meanwhile.
fn removal_refusal(status: u16, message: &str) -> Option<RemoveOutcome> {
    match status {
        409 => Some(RemoveOutcome::InUse(message.to_owned())),
        500 if is_conflict_message(message) => Some(RemoveOutcome::InUse(message.to_owned())),
        404 => Some(RemoveOutcome::NotFound),
        _ => None,
    }
}

fn is_transient(e: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as B;
    match e {
        B::DockerResponseServerError { status_code, .. } => matches!(status_code, 502..=504),
        B::HyperResponseError { .. } | B::IOError { .. } => true,
        _ => false,
    }
}

/// Whether an engine's 500 is podman's way of saying "conflict".
fn is_conflict_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "in use",
        "being used",
        "is using",
        "must force",
        "more than one tag",
        "multiple repositories",
        "conflict",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

fn classify(endpoint: &Endpoint, what: &str, e: &bollard::errors::Error) -> Error {
    use bollard::errors::Error as B;
    match e {
        B::DockerResponseServerError {
            status_code,
            message,
        } => {
            let message = message.trim();
            match status_code {
                409 => Error::remote(format!("{endpoint}: {what}: conflict: {message}")),
                404 => Error::no(format!("{endpoint}: {what}: not found: {message}")),
                401 | 403 => Error::denied(format!(
                    "{endpoint}: {what}: the engine refused ({status_code}): {message}"
                )),
                400..=499 => Error::usage(format!(
                    "{endpoint}: {what}: the engine answered {status_code}: {message}"
                )),
                _ => Error::remote(format!(
                    "{endpoint}: {what}: the engine answered {status_code}: {message}"
                )),
            }
        }
        B::SocketNotFoundError(path) => Error::remote(format!(
            "{endpoint}: no engine socket at {path} (is dockerd or podman running? set DOCKER_HOST)"
        )),
        B::RequestTimeoutError => Error::remote(format!(
            "{endpoint}: {what}: the engine did not answer in time"
        )),
        other => {
            let text = other.to_string();
            let mut source: Option<&dyn std::error::Error> = std::error::Error::source(other);
            let mut detail = String::new();
            while let Some(s) = source {
                detail = s.to_string();
                source = s.source();
            }
            let low = format!("{text} {detail}").to_ascii_lowercase();
            if low.contains("permission denied") {
                return Error::denied(format!(
                    "{endpoint}: permission denied on the engine socket (run as root or as a member of the docker group)"
                ));
            }
            // hyper's words for a peer that hung up mid-exchange.
            if low.contains("connection closed before message completed")
                || low.contains("connection reset")
                || low.contains("broken pipe")
            {
                return Error::remote(format!(
                    "{endpoint}: {what}: the engine closed the connection without answering (did it stop or restart?)"
                ));
            }
            let hint = if low.contains("connection refused") || low.contains("no such file") {
                " (is the engine running?)"
            } else {
                ""
            };
            let detail = if detail.is_empty() || text.contains(&detail) {
                String::new()
            } else {
                format!(": {detail}")
            };
            Error::remote(format!("{endpoint}: {what}: {text}{detail}{hint}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            Endpoint::parse(None).unwrap(),
            Endpoint::Unix(PathBuf::from(DEFAULT_SOCKET))
        );
        assert_eq!(
            Endpoint::parse(Some("")).unwrap(),
            Endpoint::Unix(PathBuf::from(DEFAULT_SOCKET))
        );
        assert_eq!(
            Endpoint::parse(Some("unix:///run/podman/podman.sock")).unwrap(),
            Endpoint::Unix(PathBuf::from("/run/podman/podman.sock"))
        );
        assert_eq!(
            Endpoint::parse(Some("tcp://127.0.0.1:2375")).unwrap(),
            Endpoint::Tcp("127.0.0.1:2375".into())
        );
        assert_eq!(
            Endpoint::parse(Some("/tmp/x.sock")).unwrap(),
            Endpoint::Unix(PathBuf::from("/tmp/x.sock"))
        );
        for bad in [
            "ssh://me@host",
            "npipe:////./pipe/docker_engine",
            "unix://",
            "tcp://",
            "tcp://h:1/x",
        ] {
            let err = Endpoint::parse(Some(bad)).unwrap_err();
            assert_eq!(err.status(), Exit::Usage, "{bad}");
        }
        assert_eq!(Endpoint::Tcp("h:1".into()).to_string(), "tcp://h:1");
    }

    #[test]
    fn refusals_become_outcomes() {
        let docker = "conflict: unable to remove repository reference \"a:1\" (must force) - container 1 is using its referenced image 2";
        assert!(
            matches!(removal_refusal(409, docker), Some(RemoveOutcome::InUse(m)) if m.contains("container 1"))
        );
        let podman = "unable to delete image \"abc\" by ID with more than one tag ([a:1 a:2]): please force removal";
        assert!(matches!(
            removal_refusal(500, podman),
            Some(RemoveOutcome::InUse(_))
        ));
        assert_eq!(
            removal_refusal(404, "No such image: a:1"),
            Some(RemoveOutcome::NotFound)
        );
        assert_eq!(removal_refusal(500, "disk on fire"), None);
        assert_eq!(removal_refusal(400, "bad"), None);
    }

    #[test]
    fn api_errors_get_statuses() {
        let ep = Endpoint::Unix(PathBuf::from("/s"));
        let e = |status_code, m: &str| bollard::errors::Error::DockerResponseServerError {
            status_code,
            message: m.into(),
        };
        assert_eq!(classify(&ep, "x", &e(500, "boom")).status(), Exit::Remote);
        assert_eq!(classify(&ep, "x", &e(403, "no")).status(), Exit::Denied);
        assert_eq!(classify(&ep, "x", &e(400, "bad")).status(), Exit::Usage);
        let nf = classify(
            &ep,
            "x",
            &bollard::errors::Error::SocketNotFoundError("/s".into()),
        );
        assert_eq!(nf.status(), Exit::Remote);
        assert!(nf.to_string().contains("DOCKER_HOST"), "{nf}");
    }

    #[test]
    fn ping_answers_give_the_version() {
        let v =
            |head: &str| ping_version(head.as_bytes()).map(|v| (v.major_version, v.minor_version));
        assert_eq!(
            v("HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nLibpod-Api-Version: 4.3.1\r\n\r\nOK"),
            Some((1, 41))
        );
        assert_eq!(
            v("HTTP/1.1 200 OK\r\nAPI-Version:1.47\r\n\r\n"),
            Some((1, 47))
        );
        // No header, another status, a malformed value, no head at all.
        assert_eq!(
            v("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nAPI-Version: 1.41"),
            None
        );
        assert_eq!(
            v("HTTP/1.1 404 Not Found\r\nApi-Version: 1.41\r\n\r\n"),
            None
        );
        assert_eq!(v("HTTP/1.1 200 OK\r\nApi-Version: 1\r\n\r\n"), None);
        assert_eq!(v(""), None);
    }

    #[test]
    fn none_refs_are_not_tags() {
        assert!(is_none_ref("<none>:<none>"));
        assert!(is_none_ref("<none>@<none>"));
        assert!(!is_none_ref("localhost/app:1"));
    }
}
