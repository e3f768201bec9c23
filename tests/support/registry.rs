//! A real, throwaway OCI registry (distribution 2.8, Debian's
//! `docker-registry`) for the integration tests, with the pieces around it:
//! test images written as OCI layouts without any engine and pushed with
//! skopeo, a bearer-token issuer, and a fault-injecting proxy.
//!
//! [`TestRegistry::start`] runs an open registry on a free loopback port in
//! its own temp dir; [`TestRegistry::builder`] adds htpasswd Basic auth,
//! token auth (an RS256 JWT issuer running in the test process, with a
//! self-signed certificate made by the openssl CLI) or TLS (a test CA and a
//! leaf made with rcgen). Dropping it stops everything.
//!
//! The registry and skopeo are required: without them every test using this
//! harness panics with the install command (`scripts/setup` installs them).

pub use crate::util::free_port;
use crate::util::{require, sha256_hex};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// The `service` the token-auth registry and its issuer agree on.
pub const TOKEN_SERVICE: &str = "deploykit-test-registry";
const TOKEN_ISSUER: &str = "deploykit-test-issuer";

/// How the token issuer judges requests.
#[derive(Debug, Clone)]
pub struct TokenAuth {
    /// The one user it knows.
    pub user: String,
    /// Its password.
    pub password: String,
    /// Whether an anonymous request gets `pull` access.
    pub anonymous_pull: bool,
}

/// Options of a test registry.
#[derive(Debug, Clone, Default)]
pub struct TestRegistryBuilder {
    htpasswd: Option<(String, String)>,
    token: Option<TokenAuth>,
    tls: bool,
}

impl TestRegistryBuilder {
    /// Basic auth with one bcrypt htpasswd user.
    #[must_use]
    pub fn htpasswd(mut self, user: &str, password: &str) -> Self {
        self.htpasswd = Some((user.into(), password.into()));
        self
    }

    /// Bearer-token auth through an issuer run by the test.
    #[must_use]
    pub fn token_auth(mut self, auth: TokenAuth) -> Self {
        self.token = Some(auth);
        self
    }

    /// Serve HTTPS with a test CA ([`TestRegistry::ca_path`]).
    #[must_use]
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// Starts the registry and waits until it answers.
    pub fn start(self) -> TestRegistry {
        require("docker-registry", "docker-registry");
        require("skopeo", "skopeo");
        let dir = tempfile::Builder::new()
            .prefix("dk-registry-")
            .tempdir()
            .expect("temp dir");
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: test-secret\n",
            root = dir.path().join("data").display()
        );
        let mut ca = None;
        if self.tls {
            let ca_path = write_certificates(dir.path());
            let _ = write!(
                config,
                "  tls:\n    certificate: {}\n    key: {}\n",
                dir.path().join("server.crt").display(),
                dir.path().join("server.key").display()
            );
            ca = Some(ca_path);
        }
        let mut issuer = None;
        if let Some((user, pw)) = &self.htpasswd {
            require("htpasswd", "apache2-utils");
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, pw])
                .output()
                .expect("running htpasswd");
            assert!(out.status.success(), "htpasswd failed");
            let file = dir.path().join("htpasswd");
            fs::write(&file, out.stdout).expect("writing htpasswd");
            let _ = write!(
                config,
                "auth:\n  htpasswd:\n    realm: deploykit-test\n    path: {}\n",
                file.display()
            );
        } else if let Some(auth) = &self.token {
            let started = TokenIssuer::start(auth.clone());
            let _ = write!(
                config,
                "auth:\n  token:\n    realm: {}\n    service: {TOKEN_SERVICE}\n    issuer: {TOKEN_ISSUER}\n    rootcertbundle: {}\n",
                started.realm(),
                started.keys.cert_path.display()
            );
            issuer = Some(started);
        }
        let config_path = dir.path().join("config.yml");
        fs::write(&config_path, config).expect("writing config.yml");
        let log_path = dir.path().join("registry.log");
        let log = fs::File::create(&log_path).expect("registry log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("starting docker-registry");
        let mut reg = TestRegistry {
            dir,
            port,
            child: Some(child),
            tls: self.tls,
            ca,
            creds: self.htpasswd.clone().or_else(|| {
                self.token
                    .as_ref()
                    .map(|t| (t.user.clone(), t.password.clone()))
            }),
            issuer,
            log_path,
            config_path,
        };
        reg.wait_ready();
        reg
    }
}

/// A running registry; stopped and removed on drop.
pub struct TestRegistry {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    tls: bool,
    ca: Option<PathBuf>,
    creds: Option<(String, String)>,
    issuer: Option<TokenIssuer>,
    log_path: PathBuf,
    config_path: PathBuf,
}

impl TestRegistry {
    /// An open registry on plain HTTP.
    pub fn start() -> TestRegistry {
        TestRegistry::builder().start()
    }

    /// Options.
    pub fn builder() -> TestRegistryBuilder {
        TestRegistryBuilder::default()
    }

    /// `127.0.0.1:PORT`, the domain of references to it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http(s)://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.host()
        )
    }

    /// The test CA (TLS registries only).
    pub fn ca_path(&self) -> Option<&Path> {
        self.ca.as_deref()
    }

    /// The token issuer's request count (token registries only).
    pub fn token_requests(&self) -> usize {
        self.issuer
            .as_ref()
            .map_or(0, |i| i.requests.load(Ordering::SeqCst))
    }

    /// The token service's URL (token registries only).
    pub fn token_realm(&self) -> Option<String> {
        self.issuer.as_ref().map(TokenIssuer::realm)
    }

    /// The registry's log so far.
    pub fn log_contents(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Lines of the access log (one per HTTP request the registry served).
    pub fn access_log_lines(&self) -> usize {
        self.log_contents()
            .lines()
            .filter(|l| {
                l.contains("\"GET ")
                    || l.contains("\"HEAD ")
                    || l.contains("\"PUT ")
                    || l.contains("\"POST ")
                    || l.contains("\"DELETE ")
                    || l.contains("\"PATCH ")
            })
            .count()
    }

    /// A scratch directory that lives as long as the registry.
    pub fn scratch(&self) -> PathBuf {
        let p = self.dir.path().join("scratch");
        fs::create_dir_all(&p).expect("scratch dir");
        p
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "docker-registry exited ({status}):\n{}",
                    self.log_contents()
                );
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "docker-registry did not listen within 15s:\n{}",
            self.log_contents()
        );
    }

    /// Stops the registry (it can be started again with [`Self::start_again`]).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the stopped registry again on the same port and storage.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "registry is running");
        let log = fs::OpenOptions::new()
            .append(true)
            .open(&self.log_path)
            .expect("log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&self.config_path)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("starting docker-registry");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Writes a Docker `config.json` with this registry's credentials into
    /// `dir` (as `auths` entry) and returns `dir`.
    pub fn write_docker_config(&self, dir: &Path, user: &str, password: &str) -> PathBuf {
        fs::create_dir_all(dir).expect("config dir");
        let auth = STANDARD.encode(format!("{user}:{password}"));
        fs::write(
            dir.join("config.json"),
            format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, self.host()),
        )
        .expect("writing config.json");
        dir.to_owned()
    }

    fn skopeo(&self) -> Command {
        let mut cmd = Command::new("skopeo");
        cmd.arg("--insecure-policy");
        cmd.env("HOME", self.dir.path()); // never the developer's auth files
        cmd
    }

    fn authfile(&self) -> Option<PathBuf> {
        let (user, pw) = self.creds.as_ref()?;
        let dir = self.dir.path().join("skopeo-auth");
        Some(self.write_docker_config(&dir, user, pw).join("config.json"))
    }

    /// Pushes `image` as `repo:tag` with skopeo and returns the digest skopeo
    /// pushed (`sha256:…`): of the index for a multi-platform image.
    pub fn push_image(&self, image: &OciImage, repo_tag: &str) -> String {
        let digest_file = self
            .dir
            .path()
            .join(format!("digest-{}", sha256_hex(repo_tag.as_bytes())));
        let mut cmd = self.skopeo();
        cmd.args(["copy", "--quiet", "--dest-tls-verify=false"]);
        if let Some(auth) = self.authfile() {
            cmd.arg("--dest-authfile").arg(auth);
        }
        match image.format {
            Format::Oci => {}
            Format::DockerV2 => {
                cmd.args(["--format", "v2s2"]);
            }
        }
        if image.platforms.len() > 1 {
            cmd.arg("--all");
        }
        cmd.arg("--digestfile").arg(&digest_file);
        cmd.arg(format!("oci:{}:{}", image.layout.display(), image.tag));
        cmd.arg(format!("docker://{}/{repo_tag}", self.host()));
        let out = cmd.output().expect("running skopeo copy");
        assert!(
            out.status.success(),
            "skopeo copy failed: {}\nregistry log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log_contents()
        );
        fs::read_to_string(&digest_file)
            .expect("skopeo digest file")
            .trim()
            .to_owned()
    }

    /// What `skopeo inspect --format {{.Digest}}` reports for `repo:tag`.
    pub fn skopeo_digest(&self, repo_tag: &str) -> String {
        let mut cmd = self.skopeo();
        cmd.args(["inspect", "--tls-verify=false", "--format", "{{.Digest}}"]);
        if let Some(auth) = self.authfile() {
            cmd.arg("--authfile").arg(auth);
        }
        cmd.arg(format!("docker://{}/{repo_tag}", self.host()));
        let out = cmd.output().expect("running skopeo inspect");
        assert!(
            out.status.success(),
            "skopeo inspect failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The sha256 of `skopeo inspect --raw` (the top-level manifest's bytes).
    pub fn skopeo_raw_digest(&self, repo_tag: &str) -> String {
        let mut cmd = self.skopeo();
        cmd.args(["inspect", "--tls-verify=false", "--raw"]);
        if let Some(auth) = self.authfile() {
            cmd.arg("--authfile").arg(auth);
        }
        cmd.arg(format!("docker://{}/{repo_tag}", self.host()));
        let out = cmd.output().expect("running skopeo inspect --raw");
        assert!(
            out.status.success(),
            "skopeo inspect failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("sha256:{}", sha256_hex(&out.stdout))
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Writes `ca.crt`, `server.crt`, `server.key` into `dir` (a CA and a leaf
/// for `127.0.0.1` and `localhost`); returns the CA's path.
fn write_certificates(dir: &Path) -> PathBuf {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "deploykit registry test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().expect("CA key");
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let mut leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("leaf params");
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    leaf_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca, &ca_key)
        .expect("leaf");
    let ca_path = dir.join("ca.crt");
    fs::write(&ca_path, ca.pem()).expect("ca.crt");
    fs::write(dir.join("server.crt"), leaf.pem()).expect("server.crt");
    fs::write(dir.join("server.key"), leaf_key.serialize_pem()).expect("server.key");
    ca_path
}

// ---------------------------------------------------------------- images

/// The manifest format an image is pushed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OCI manifest (and OCI index for several platforms).
    Oci,
    /// Docker schema2 (and manifest list), via `skopeo --format v2s2`.
    DockerV2,
}

/// An image written as an OCI layout, ready to push.
#[derive(Debug, Clone)]
pub struct OciImage {
    /// The layout directory.
    pub layout: PathBuf,
    /// The tag inside the layout.
    pub tag: String,
    /// The platforms (`linux/amd64`…); more than one makes an index.
    pub platforms: Vec<String>,
    /// How it is pushed.
    pub format: Format,
}

impl OciImage {
    /// Writes a small image into `dir`: one layer with a file whose content
    /// includes `seed` (so different seeds give different digests), for each
    /// of `platforms` (`os/arch`). No engine involved.
    pub fn write(dir: &Path, seed: &str, platforms: &[&str], format: Format) -> OciImage {
        let blobs = dir.join("blobs/sha256");
        fs::create_dir_all(&blobs).expect("layout dirs");
        fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).expect("oci-layout");
        let put = |bytes: &[u8]| -> (String, usize) {
            let hex = sha256_hex(bytes);
            fs::write(blobs.join(&hex), bytes).expect("blob");
            (format!("sha256:{hex}"), bytes.len())
        };
        let mut manifests = Vec::new();
        for platform in platforms {
            let (os, arch) = platform.split_once('/').expect("os/arch");
            let tar = tar_one_file(
                "hello.txt",
                format!("hello from {seed} on {platform}\n").as_bytes(),
            );
            let diff_id = format!("sha256:{}", sha256_hex(&tar));
            let gz = gzip(&tar);
            let (layer_digest, layer_size) = put(&gz);
            let config = format!(
                r#"{{"architecture":"{arch}","os":"{os}","config":{{"Cmd":["/hello"]}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
            );
            let (config_digest, config_size) = put(config.as_bytes());
            let manifest = format!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{config_size}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{layer_digest}","size":{layer_size}}}]}}"#
            );
            let (m_digest, m_size) = put(manifest.as_bytes());
            manifests.push(format!(
                r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{m_digest}","size":{m_size},"platform":{{"architecture":"{arch}","os":"{os}"}}}}"#
            ));
        }
        let tag = "test".to_owned();
        let top = if manifests.len() == 1 {
            manifests[0].replacen(
                "\"platform\"",
                &format!(
                    r#""annotations":{{"org.opencontainers.image.ref.name":"{tag}"}},"platform""#
                ),
                1,
            )
        } else {
            let index = format!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
                manifests.join(",")
            );
            let (i_digest, i_size) = put(index.as_bytes());
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"{i_digest}","size":{i_size},"annotations":{{"org.opencontainers.image.ref.name":"{tag}"}}}}"#
            )
        };
        fs::write(
            dir.join("index.json"),
            format!(r#"{{"schemaVersion":2,"manifests":[{top}]}}"#),
        )
        .expect("index.json");
        OciImage {
            layout: dir.to_owned(),
            tag,
            platforms: platforms.iter().map(|p| (*p).to_owned()).collect(),
            format,
        }
    }
}

/// A ustar archive holding one regular file.
fn tar_one_file(name: &str, content: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    let octal = |field: &mut [u8], value: u64| {
        let s = format!("{value:0width$o}\0", width = field.len() - 1);
        field.copy_from_slice(s.as_bytes());
    };
    octal(&mut header[100..108], 0o644);
    octal(&mut header[108..116], 0);
    octal(&mut header[116..124], 0);
    octal(&mut header[124..136], content.len() as u64);
    octal(&mut header[136..148], 0);
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[148..156].copy_from_slice(b"        ");
    let sum: u64 = header.iter().map(|b| u64::from(*b)).sum();
    let s = format!("{sum:06o}\0 ");
    header[148..156].copy_from_slice(s.as_bytes());
    let mut out = header.to_vec();
    out.extend_from_slice(content);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .args(["-n", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running gzip");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = bytes.to_vec();
    let writer = thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("gzip output");
    writer
        .join()
        .expect("gzip writer")
        .expect("writing to gzip");
    assert!(out.status.success());
    out.stdout
}

// ---------------------------------------------------------------- tokens

struct IssuerKeys {
    pkcs8: Vec<u8>,
    cert_der: Vec<u8>,
    cert_path: PathBuf,
}

/// The issuer's RSA key and self-signed certificate, made once per test
/// process with the openssl CLI (ring cannot generate RSA keys).
fn issuer_keys() -> &'static IssuerKeys {
    static KEYS: OnceLock<IssuerKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        require("openssl", "openssl");
        let dir = std::env::temp_dir().join(format!("dk-token-issuer-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("issuer dir");
        let key = dir.join("key.pem");
        let cert = dir.join("cert.pem");
        let ok = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=deploykit-test-issuer",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .expect("running openssl")
            .success();
        assert!(ok, "openssl req failed");
        IssuerKeys {
            pkcs8: pem_der(&fs::read_to_string(&key).expect("key.pem"), "PRIVATE KEY"),
            cert_der: pem_der(&fs::read_to_string(&cert).expect("cert.pem"), "CERTIFICATE"),
            cert_path: cert,
        }
    })
}

fn pem_der(pem: &str, label: &str) -> Vec<u8> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).expect("PEM begin") + begin.len();
    let stop = pem.find(&end).expect("PEM end");
    let b64: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(b64).expect("PEM base64")
}

struct TokenIssuer {
    port: u16,
    keys: &'static IssuerKeys,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
}

impl TokenIssuer {
    fn start(auth: TokenAuth) -> TokenIssuer {
        let keys = issuer_keys();
        let listener = TcpListener::bind("127.0.0.1:0").expect("issuer listener");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let (stop2, requests2) = (Arc::clone(&stop), Arc::clone(&requests));
        thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        requests2.fetch_add(1, Ordering::SeqCst);
                        let _ = serve_token(stream, &auth, keys);
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        TokenIssuer {
            port,
            keys,
            stop,
            requests,
        }
    }

    fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }
}

impl Drop for TokenIssuer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            break;
        }
        buf.push(byte[0]);
        if buf.len() == 1 && !byte[0].is_ascii_uppercase() {
            break; // not an HTTP request line
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn query_params(target: &str) -> Vec<(String, String)> {
    let q = target.split_once('?').map_or("", |(_, q)| q);
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve_token(mut stream: TcpStream, auth: &TokenAuth, keys: &IssuerKeys) -> std::io::Result<()> {
    let head = read_head(&mut stream)?;
    let target = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let basic = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("authorization")
                .then(|| v.trim().to_owned())
        })
        .and_then(|v| v.strip_prefix("Basic ").map(str::to_owned))
        .and_then(|b| STANDARD.decode(b).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let user = match &basic {
        Some(pair) if *pair == format!("{}:{}", auth.user, auth.password) => {
            Some(auth.user.clone())
        }
        Some(_) => {
            return stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 27\r\nConnection: close\r\n\r\n{\"details\":\"bad password\"}\n",
            );
        }
        None => None,
    };
    let mut access = Vec::new();
    for (k, v) in query_params(&target) {
        if k != "scope" {
            continue;
        }
        for scope in v.split(' ') {
            let parts: Vec<&str> = scope.split(':').collect();
            if parts.len() < 3 {
                continue;
            }
            let (kind, name, actions) = (
                parts[0],
                parts[1..parts.len() - 1].join(":"),
                parts[parts.len() - 1],
            );
            let granted: Vec<&str> = actions
                .split(',')
                .filter(|a| user.is_some() || (auth.anonymous_pull && *a == "pull"))
                .collect();
            access.push(format!(
                r#"{{"type":"{kind}","name":"{name}","actions":[{}]}}"#,
                granted
                    .iter()
                    .map(|a| format!("\"{a}\""))
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let header = format!(
        r#"{{"typ":"JWT","alg":"RS256","x5c":["{}"]}}"#,
        STANDARD.encode(&keys.cert_der)
    );
    let claims = format!(
        r#"{{"iss":"{TOKEN_ISSUER}","sub":"{}","aud":"{TOKEN_SERVICE}","exp":{},"nbf":{},"iat":{now},"jti":"{now}-{}","access":[{}]}}"#,
        user.as_deref().unwrap_or(""),
        now + 600,
        now - 60,
        rand_u64(),
        access.join(",")
    );
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let key = ring::signature::RsaKeyPair::from_pkcs8(&keys.pkcs8).expect("issuer key");
    let mut sig = vec![0u8; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut sig,
    )
    .expect("signing");
    let jwt = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig));
    let body = format!(r#"{{"token":"{jwt}","access_token":"{jwt}","expires_in":600}}"#);
    stream.write_all(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
}

fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    let _ = fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    u64::from_le_bytes(b)
}

// ---------------------------------------------------------------- faults

/// What the fault proxy does to the traffic it forwards.
#[derive(Debug, Clone, Default)]
#[allow(clippy::struct_excessive_bools)] // independent switches, combined freely
pub struct Faults {
    /// Answer this many requests with `status` before forwarding any.
    pub fail_first: usize,
    /// The status of those answers (503, 429…).
    pub status: u16,
    /// Their `Retry-After` (seconds).
    pub retry_after: Option<u32>,
    /// Remove `Docker-Content-Digest` from every response.
    pub drop_digest: bool,
    /// Replace `Docker-Content-Digest` on GET responses with a wrong one.
    pub wrong_digest_on_get: bool,
    /// Send only half of every response body, then close.
    pub cut_body: bool,
    /// Accept connections and close them at once.
    pub refuse: bool,
    /// Apply the faults only to requests whose request line contains this
    /// (`"PUT "`, `"DELETE "`, `"/manifests/"`); the others pass untouched,
    /// and `fail_first` and `limit` count the matching requests only.
    pub only: Option<String>,
    /// Let the first this many matching requests through untouched; the
    /// faults start with the next one (`fail_first` and `limit` count from
    /// there).
    pub after: usize,
    /// Apply the other faults (all but `fail_first`) to the first this many
    /// matching requests only, a transient fault; `None`: to every one.
    pub limit: Option<usize>,
    /// Replace `Docker-Content-Digest` on every response (HEAD, GET, PUT…).
    pub wrong_digest: bool,
    /// Send the headers and half of the body, then reset the connection (RST).
    pub reset_body: bool,
    /// Read the request and never answer, holding the connection open.
    pub hang: bool,
    /// Wait this long before forwarding (a slow registry), so a test can
    /// act while the request is in flight.
    pub delay: Option<Duration>,
    /// Add about this many bytes of `X-Padding-N` headers to every response.
    pub pad_header: usize,
}

/// An HTTP proxy in front of a registry that injects [`Faults`]: each
/// request is forwarded on a fresh upstream connection (`Connection: close`),
/// the whole response read, altered and sent back.
pub struct FaultProxy {
    port: u16,
    faults: Arc<Mutex<Faults>>,
    stop: Arc<AtomicBool>,
    /// Requests received.
    pub requests: Arc<AtomicUsize>,
    /// Request lines received (`GET /v2/... HTTP/1.1`), in order.
    pub log: Arc<Mutex<Vec<String>>>,
    /// Requests that matched [`Faults::only`] (all of them without it).
    pub matched: Arc<AtomicUsize>,
}

impl FaultProxy {
    /// A proxy on a free port forwarding to `127.0.0.1:upstream_port`.
    pub fn start(upstream_port: u16, faults: Faults) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy listener");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let faults = Arc::new(Mutex::new(faults));
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let matched = Arc::new(AtomicUsize::new(0));
        let (f2, s2, r2, l2, m2) = (
            Arc::clone(&faults),
            Arc::clone(&stop),
            Arc::clone(&requests),
            Arc::clone(&log),
            Arc::clone(&matched),
        );
        thread::spawn(move || {
            while !s2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (f3, r3, l3, m3) = (
                            Arc::clone(&f2),
                            Arc::clone(&r2),
                            Arc::clone(&l2),
                            Arc::clone(&m2),
                        );
                        thread::spawn(move || {
                            let counters = Counters {
                                requests: &r3,
                                log: &l3,
                                matched: &m3,
                            };
                            let _ = proxy_one(stream, upstream_port, &f3, &counters);
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        FaultProxy {
            port,
            faults,
            stop,
            requests,
            log,
            matched,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Changes the faults for the requests to come.
    pub fn set(&self, faults: Faults) {
        *self.faults.lock().expect("faults lock") = faults;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The proxy's shared counters, as one connection's handler sees them.
struct Counters<'a> {
    requests: &'a AtomicUsize,
    log: &'a Mutex<Vec<String>>,
    matched: &'a AtomicUsize,
}

fn proxy_one(
    mut client: TcpStream,
    upstream_port: u16,
    faults: &Mutex<Faults>,
    counters: &Counters<'_>,
) -> std::io::Result<()> {
    let head = read_head(&mut client)?;
    if head.is_empty() {
        return Ok(());
    }
    if !head.starts_with(|c: char| c.is_ascii_uppercase()) {
        // Not HTTP (a TLS hello, say): answer as Go's server does.
        return client.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    }
    counters.requests.fetch_add(1, Ordering::SeqCst);
    let request_line = head.lines().next().unwrap_or("").to_owned();
    counters
        .log
        .lock()
        .expect("log lock")
        .push(request_line.clone());
    let mut f = faults.lock().expect("faults lock").clone();
    // The request body (a manifest PUT), forwarded after the head.
    let mut request_body = vec![0u8; crate::faults::content_length(&head)];
    client.read_exact(&mut request_body)?;
    let matches = f.only.as_deref().is_none_or(|o| request_line.contains(o));
    if !matches {
        f = Faults::default();
    }
    let mut n = if matches {
        counters.matched.fetch_add(1, Ordering::SeqCst)
    } else {
        0
    };
    if matches && n < f.after {
        f = Faults::default();
    } else {
        n = n.saturating_sub(f.after);
    }
    if f.limit.is_some_and(|limit| n >= limit) {
        // Past the limit: the connection and body faults are over.
        f.drop_digest = false;
        f.wrong_digest_on_get = false;
        f.wrong_digest = false;
        f.cut_body = false;
        f.reset_body = false;
        f.refuse = false;
        f.hang = false;
    }
    if f.refuse {
        return Ok(());
    }
    if f.hang {
        // Never answer; the client's deadline has to end this.
        thread::sleep(Duration::from_secs(120));
        return Ok(());
    }
    if let Some(delay) = f.delay {
        thread::sleep(delay);
    }
    if n < f.fail_first {
        let reason = match f.status {
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            _ => "Service Unavailable",
        };
        let retry = f
            .retry_after
            .map(|s| format!("Retry-After: {s}\r\n"))
            .unwrap_or_default();
        return client.write_all(
            format!(
                "HTTP/1.1 {} {reason}\r\n{retry}Content-Length: 0\r\nConnection: close\r\n\r\n",
                f.status
            )
            .as_bytes(),
        );
    }
    let is_get = request_line.starts_with("GET ");
    let mut forwarded = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        forwarded.push_str(line);
        forwarded.push_str("\r\n");
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port))?;
    upstream.write_all(forwarded.as_bytes())?;
    upstream.write_all(&request_body)?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(response.len(), |p| p + 4);
    let (resp_head, body) = response.split_at(split);
    let mut headers: Vec<String> = String::from_utf8_lossy(resp_head)
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let is_digest = |l: &String| l.to_ascii_lowercase().starts_with("docker-content-digest:");
    if f.drop_digest {
        headers.retain(|l| !is_digest(l));
    }
    if (f.wrong_digest_on_get && is_get) || f.wrong_digest {
        for l in &mut headers {
            if is_digest(l) {
                *l = format!(
                    "Docker-Content-Digest: sha256:{}",
                    sha256_hex(b"not the manifest")
                );
            }
        }
    }
    for i in 0..f.pad_header.div_ceil(4000) {
        headers.push(format!("X-Padding-{i}: {}", "p".repeat(3980)));
    }
    let mut out = headers.join("\r\n").into_bytes();
    out.extend_from_slice(b"\r\n\r\n");
    if f.reset_body && !body.is_empty() {
        out.extend_from_slice(&body[..body.len() / 2]);
        client.write_all(&out)?;
        client.flush()?;
        // Linger 0: closing sends RST instead of FIN.
        socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO))?;
        return Ok(());
    }
    if f.cut_body && !body.is_empty() {
        out.extend_from_slice(&body[..body.len() / 2]);
    } else {
        out.extend_from_slice(body);
    }
    client.write_all(&out)
}

/// Counts request lines by method, for assertions on round trips.
pub fn count_methods(log: &[String]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for l in log {
        *m.entry(l.split_whitespace().next().unwrap_or("").to_owned())
            .or_insert(0) += 1;
    }
    m
}
