//! Real container engines for the integration tests: dockerd and podman's
//! Docker-compatible service, each started on a socket in its own temp dir
//! exactly as `REAL-SERVICES.md` describes (dockerd: vfs, no iptables, no
//! bridge; podman: runc, cgroupfs, file events and locks, no network), and
//! stopped when the [`TestEngine`] is dropped.
//!
//! Test images never come from a network: [`TestImage`]s are written as OCI
//! layouts by hand (a gzip tar layer holding a seed file and, for a runnable
//! image, the static busybox binary; a config with the chosen `created`
//! time; a manifest), turned into docker-archives with
//! `skopeo copy oci:DIR:TAG docker-archive:FILE:REF`, and loaded with
//! `POST /images/load`. The harness talks to the engine with `curl
//! --unix-socket`, independent of the code under test.
//!
//! The engines are required: without them every test using this harness
//! panics with the install command (`scripts/setup` installs them).

use crate::util::{require, sha256_hex};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The engine behind a [`TestEngine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// dockerd 20.10 (Debian's docker.io).
    Dockerd,
    /// podman 4.3's `system service`.
    Podman,
}

impl Kind {
    /// Both engines, for tests that run against each.
    pub const ALL: [Kind; 2] = [Kind::Dockerd, Kind::Podman];
}

/// Unix seconds `n` days ago.
pub fn days_ago(n: i64) -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(now).expect("time") - n * 86_400
}

/// RFC 3339 UTC for Unix seconds (civil-from-days, no date crate needed).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A tiny image to build without any network.
#[derive(Debug, Clone)]
pub struct TestImage {
    /// Content that makes the image unique (its digest and id).
    pub seed: String,
    /// The config's `created` time, Unix seconds.
    pub created: i64,
    /// Put the static busybox in it so a container can run (`/bin/busybox true`).
    pub runnable: bool,
}

impl TestImage {
    /// An image created `days` days ago, not runnable.
    pub fn new(seed: &str, days: i64) -> TestImage {
        TestImage {
            seed: seed.to_owned(),
            created: days_ago(days),
            runnable: false,
        }
    }

    /// The same, with busybox inside.
    #[must_use]
    pub fn runnable(mut self) -> TestImage {
        self.runnable = true;
        self
    }

    /// Writes the image as an OCI layout in `dir` under the tag `tag`;
    /// returns the manifest digest.
    pub fn write_oci_layout(&self, dir: &Path, tag: &str) -> String {
        let blobs = dir.join("blobs/sha256");
        fs::create_dir_all(&blobs).expect("layout dirs");
        fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).expect("oci-layout");
        let put = |bytes: &[u8]| -> (String, usize) {
            let hex = sha256_hex(bytes);
            fs::write(blobs.join(&hex), bytes).expect("blob");
            (format!("sha256:{hex}"), bytes.len())
        };
        let mut files: Vec<(String, Vec<u8>, u32)> = vec![(
            "seed.txt".into(),
            format!("deploykit test image {}\n", self.seed).into_bytes(),
            0o644,
        )];
        if self.runnable {
            files.push((
                "bin/busybox".into(),
                fs::read("/bin/busybox").expect("reading /bin/busybox (busybox-static)"),
                0o755,
            ));
        }
        let tar = tar_files(&files);
        let diff_id = format!("sha256:{}", sha256_hex(&tar));
        let (layer_digest, layer_size) = put(&gzip(&tar));
        let cmd = if self.runnable {
            r#"["/bin/busybox","true"]"#
        } else {
            r#"["/seed.txt"]"#
        };
        let config = format!(
            r#"{{"created":"{}","architecture":"amd64","os":"linux","config":{{"Cmd":{cmd}}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}},"history":[{{"created":"{}","created_by":"deploykit test harness"}}]}}"#,
            rfc3339(self.created),
            rfc3339(self.created)
        );
        let (config_digest, config_size) = put(config.as_bytes());
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{config_size}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{layer_digest}","size":{layer_size}}}]}}"#
        );
        let (m_digest, m_size) = put(manifest.as_bytes());
        fs::write(
            dir.join("index.json"),
            format!(
                r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{m_digest}","size":{m_size},"annotations":{{"org.opencontainers.image.ref.name":"{tag}"}}}}]}}"#
            ),
        )
        .expect("index.json");
        m_digest
    }
}

/// A ustar archive of regular files (parent directories added).
pub fn tar_files(files: &[(String, Vec<u8>, u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut dirs: Vec<String> = Vec::new();
    for (name, _, _) in files {
        let mut acc = String::new();
        for part in name
            .split('/')
            .collect::<Vec<_>>()
            .split_last()
            .map_or(&[][..], |(_, d)| d)
        {
            acc.push_str(part);
            acc.push('/');
            if !dirs.contains(&acc) {
                dirs.push(acc.clone());
                out.extend(tar_header(&acc, 0, 0o755, b'5'));
            }
        }
    }
    for (name, content, mode) in files {
        out.extend(tar_header(name, content.len() as u64, *mode, b'0'));
        out.extend_from_slice(content);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn tar_header(name: &str, size: u64, mode: u32, kind: u8) -> [u8; 512] {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    let octal = |field: &mut [u8], value: u64| {
        let s = format!("{value:0width$o}\0", width = field.len() - 1);
        field.copy_from_slice(s.as_bytes());
    };
    octal(&mut header[100..108], u64::from(mode));
    octal(&mut header[108..116], 0);
    octal(&mut header[116..124], 0);
    octal(&mut header[124..136], size);
    octal(&mut header[136..148], 1_600_000_000);
    header[156] = kind;
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[148..156].copy_from_slice(b"        ");
    let sum: u64 = header.iter().map(|b| u64::from(*b)).sum();
    let s = format!("{sum:06o}\0 ");
    header[148..156].copy_from_slice(s.as_bytes());
    header
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .args(["-n", "-1", "-c"])
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

/// A running engine; stopped and removed on drop.
pub struct TestEngine {
    kind: Kind,
    dir: tempfile::TempDir,
    child: Option<Child>,
    sock: PathBuf,
    envs: Vec<(String, String)>,
}

impl TestEngine {
    /// dockerd on a socket in a temp dir.
    pub fn dockerd() -> TestEngine {
        TestEngine::start(Kind::Dockerd)
    }

    /// podman's Docker-compatible service on a socket in a temp dir.
    pub fn podman() -> TestEngine {
        TestEngine::start(Kind::Podman)
    }

    /// Starts an engine of `kind` and waits until it answers `/_ping`.
    pub fn start(kind: Kind) -> TestEngine {
        require("curl", "curl");
        require("skopeo", "skopeo");
        let dir = tempfile::Builder::new()
            .prefix("dk-engine-")
            .tempdir()
            .expect("temp dir");
        let d = dir.path();
        let sock = d.join("engine.sock");
        let log = fs::File::create(d.join("engine.log")).expect("log file");
        let mut envs = Vec::new();
        let child = match kind {
            Kind::Dockerd => {
                require("dockerd", "docker.io");
                Command::new("dockerd")
                    .args([
                        "--storage-driver=vfs",
                        "--iptables=false",
                        "--ip6tables=false",
                        "--bridge=none",
                    ])
                    .arg("-H")
                    .arg(format!("unix://{}", sock.display()))
                    .arg("--data-root")
                    .arg(d.join("root"))
                    .arg("--exec-root")
                    .arg(d.join("exec"))
                    .arg("--pidfile")
                    .arg(d.join("docker.pid"))
                    .stdout(log.try_clone().expect("log"))
                    .stderr(log)
                    .spawn()
                    .expect("starting dockerd")
            }
            Kind::Podman => {
                require("podman", "podman runc");
                for sub in ["run", "graph", "tmp"] {
                    fs::create_dir_all(d.join(sub)).expect("podman dirs");
                }
                fs::write(
                    d.join("containers.conf"),
                    format!(
                        "[containers]\nnetns = \"none\"\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]\n\
                         [engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
                         events_logfile_path = \"{tmp}/events.log\"\ntmp_dir = \"{tmp}\"\nlock_type = \"file\"\n",
                        tmp = d.join("tmp").display()
                    ),
                )
                .expect("containers.conf");
                fs::write(
                    d.join("storage.conf"),
                    format!(
                        "[storage]\ndriver = \"vfs\"\nrunroot = \"{}\"\ngraphroot = \"{}\"\n",
                        d.join("run").display(),
                        d.join("graph").display()
                    ),
                )
                .expect("storage.conf");
                fs::write(
                    d.join("registries.conf"),
                    "short-name-mode = \"disabled\"\nunqualified-search-registries = []\n",
                )
                .expect("registries.conf");
                envs = vec![
                    (
                        "CONTAINERS_CONF".to_owned(),
                        d.join("containers.conf").display().to_string(),
                    ),
                    (
                        "CONTAINERS_STORAGE_CONF".to_owned(),
                        d.join("storage.conf").display().to_string(),
                    ),
                    (
                        "CONTAINERS_REGISTRIES_CONF".to_owned(),
                        d.join("registries.conf").display().to_string(),
                    ),
                ];
                Command::new("podman")
                    .args(["system", "service", "--time=0"])
                    .arg(format!("unix://{}", sock.display()))
                    .envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .stdout(log.try_clone().expect("log"))
                    .stderr(log)
                    .spawn()
                    .expect("starting podman system service")
            }
        };
        let mut engine = TestEngine {
            kind,
            dir,
            child: Some(child),
            sock,
            envs,
        };
        engine.wait_ready();
        engine
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "{:?} exited ({status}):\n{}",
                    self.kind,
                    self.log_contents()
                );
            }
            if self.sock.exists() && self.api("GET", "/_ping", None).0 == 200 {
                return;
            }
            thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "{:?} did not answer within 30s:\n{}",
            self.kind,
            self.log_contents()
        );
    }

    /// Which engine this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// `unix:///…/engine.sock`, the `DOCKER_HOST` of this engine.
    pub fn host(&self) -> String {
        format!("unix://{}", self.sock.display())
    }

    /// The engine's log so far.
    pub fn log_contents(&self) -> String {
        fs::read_to_string(self.dir.path().join("engine.log")).unwrap_or_default()
    }

    /// A scratch directory that lives as long as the engine.
    pub fn scratch(&self) -> PathBuf {
        let p = self.dir.path().join("scratch");
        fs::create_dir_all(&p).expect("scratch dir");
        p
    }

    /// One API call with curl: `(status, body)`. `body` is a file sent as
    /// `application/x-tar`, or JSON text.
    pub fn api(&self, method: &str, path: &str, body: Option<Body<'_>>) -> (u16, String) {
        let mut cmd = Command::new("curl");
        cmd.args([
            "-sS",
            "--max-time",
            "120",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "-X",
            method,
        ])
        .arg("--unix-socket")
        .arg(&self.sock);
        match body {
            None => {}
            Some(Body::Tar(file)) => {
                cmd.args(["-H", "Content-Type: application/x-tar", "--data-binary"])
                    .arg(format!("@{}", file.display()));
            }
            Some(Body::Json(text)) => {
                cmd.args([
                    "-H",
                    "Content-Type: application/json",
                    "--data-binary",
                    text,
                ]);
            }
        }
        cmd.arg(format!("http://engine/v1.41{path}"));
        let out = cmd.output().expect("running curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_owned())
    }

    /// Builds `image`, tags it `reference` (fully qualified, e.g.
    /// `localhost/deploykit-test/app:v1`) and loads it; returns the image id.
    pub fn load(&self, image: &TestImage, reference: &str) -> String {
        let work = tempfile::tempdir_in(self.scratch()).expect("work dir");
        let layout = work.path().join("oci");
        image.write_oci_layout(&layout, "t");
        let archive = work.path().join("image.tar");
        let out = Command::new("skopeo")
            .args(["--insecure-policy", "copy", "--quiet"])
            .arg(format!("oci:{}:t", layout.display()))
            .arg(format!("docker-archive:{}:{reference}", archive.display()))
            .env("HOME", work.path())
            .output()
            .expect("running skopeo copy");
        assert!(
            out.status.success(),
            "skopeo copy failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (status, body) = self.api("POST", "/images/load?quiet=1", Some(Body::Tar(&archive)));
        assert_eq!(
            status, 200,
            "loading {reference} into {:?}: {body}",
            self.kind
        );
        self.image_id(reference)
            .unwrap_or_else(|| panic!("{reference} not listed after load: {body}"))
    }

    /// The id of an image reference, if the engine has it.
    pub fn image_id(&self, reference: &str) -> Option<String> {
        let (status, body) = self.api("GET", &format!("/images/{reference}/json"), None);
        if status != 200 {
            return None;
        }
        let v: serde_json::Value = serde_json::from_str(&body).expect("image JSON");
        let id = v["Id"].as_str().expect("Id");
        Some(if id.starts_with("sha256:") {
            id.to_owned()
        } else {
            format!("sha256:{id}")
        })
    }

    /// Every tag the engine lists, sorted.
    pub fn tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = self
            .images()
            .iter()
            .flat_map(|i| i["RepoTags"].as_array().cloned().unwrap_or_default())
            .filter_map(|t| t.as_str().map(str::to_owned))
            .filter(|t| !t.starts_with("<none>"))
            .collect();
        tags.sort();
        tags
    }

    /// Every image id the engine lists (top-level images), sorted.
    pub fn image_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .images()
            .iter()
            .filter_map(|i| i["Id"].as_str())
            .map(|id| {
                if id.starts_with("sha256:") {
                    id.to_owned()
                } else {
                    format!("sha256:{id}")
                }
            })
            .collect();
        ids.sort();
        ids
    }

    fn images(&self) -> Vec<serde_json::Value> {
        let (status, body) = self.api("GET", "/images/json", None);
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("images JSON")
    }

    /// Creates (does not start) a container of `image`; returns its id.
    pub fn create_container(&self, image: &str, name: &str) -> String {
        let spec = format!(
            r#"{{"Image":"{image}","Cmd":["/bin/busybox","true"],"HostConfig":{{"NetworkMode":"none"}}}}"#
        );
        let (status, body) = self.api(
            "POST",
            &format!("/containers/create?name={name}"),
            Some(Body::Json(&spec)),
        );
        assert_eq!(
            status, 201,
            "creating a container of {image} on {:?}: {body}",
            self.kind
        );
        let v: serde_json::Value = serde_json::from_str(&body).expect("create JSON");
        v["Id"].as_str().expect("Id").to_owned()
    }

    /// Runs `/bin/busybox true` in a container of a runnable `image` until it
    /// exits; the stopped container stays. Returns its id.
    pub fn run_to_exit(&self, image: &str, name: &str) -> String {
        let id = self.create_container(image, name);
        let (status, body) = self.api("POST", &format!("/containers/{id}/start"), None);
        assert!(
            status == 204 || status == 304,
            "starting {name} on {:?}: {status} {body}\n{}",
            self.kind,
            self.log_contents()
        );
        let (status, body) = self.api("POST", &format!("/containers/{id}/wait"), None);
        assert_eq!(status, 200, "waiting for {name}: {body}");
        let (_, body) = self.api("GET", &format!("/containers/{id}/json"), None);
        let v: serde_json::Value = serde_json::from_str(&body).expect("inspect JSON");
        assert_eq!(v["State"]["Status"].as_str(), Some("exited"), "{body}");
        id
    }

    /// Adds the tag `reference` (`repo:tag`) to `image`.
    pub fn tag(&self, image: &str, reference: &str) {
        let (repo, tag) = reference.rsplit_once(':').expect("repo:tag");
        let (status, body) = self.api(
            "POST",
            &format!("/images/{image}/tag?repo={repo}&tag={tag}"),
            None,
        );
        assert!(
            status == 201 || status == 200,
            "tagging {image} as {reference}: {status} {body}"
        );
    }

    /// The environment the podman CLI would need to see this engine's storage.
    pub fn env(&self) -> &[(String, String)] {
        &self.envs
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        if self.kind == Kind::Dockerd {
            // dockerd's own containerd: stopped with it; its pid file says so.
            let pid = fs::read_to_string(self.dir.path().join("exec/containerd/containerd.pid"))
                .unwrap_or_default();
            if let Ok(pid) = pid.trim().parse::<u32>() {
                let _ = Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
            }
        }
    }
}

/// A request body for [`TestEngine::api`].
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// A tar archive file.
    Tar(&'a Path),
    /// JSON text.
    Json(&'a str),
}

impl Drop for TestEngine {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
