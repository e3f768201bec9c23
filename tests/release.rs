//! Shipping: what a user installs names its version, and the release
//! archive, the Debian package, the image and the CI action deliver the
//! same seven tools with their man pages, completions and pipeline scripts.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use deploykit_tests::bins::{Run, Tool, bin, sweep, workspace_root};
use deploykit_tests::engine::{Body, TestEngine};
use deploykit_tests::pg::TestPg;
use deploykit_tests::registry::TestRegistry;
use deploykit_tests::{tools, util};

/// The seven shipped tools, in the order of the README.
fn tool_names() -> Vec<&'static str> {
    tools::all().iter().map(|t| t.name).collect()
}

/// `git` in the workspace, its trimmed stdout.
fn git(args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("running git");
    assert!(out.status.success(), "git {args:?} failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// The commit `--version` must name: the workspace's HEAD, abbreviated.
fn head() -> String {
    git(&["rev-parse", "--short=7", "HEAD"])
}

#[track_caller]
fn assert_version_line(tool: &str, stdout: &str) {
    assert_eq!(
        stdout,
        format!("{tool} {} ({})\n", env!("CARGO_PKG_VERSION"), head()),
        "{tool} --version"
    );
}

#[test]
fn every_tool_names_its_release_and_commit() {
    for tool in tool_names() {
        let r = Tool::program(bin(tool)).arg("--version").run();
        r.expect_code(0);
        assert_version_line(tool, &r.stdout);
    }
}

/// A source archive made by `git archive` has no `.git`: the commit is in
/// the file the build script reads, filled in by `export-subst`.
#[test]
fn a_source_archive_records_its_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("src.tar");
    git(&[
        "archive",
        "-o",
        archive.to_str().expect("utf-8 path"),
        "HEAD",
        "tools/deploykit/COMMIT",
    ]);
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(&archive)
        .output()
        .expect("tar");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        git(&["rev-parse", "--short", "HEAD"])
    );
    let placeholder = std::fs::read_to_string(workspace_root().join("tools/deploykit/COMMIT"))
        .expect("tools/deploykit/COMMIT");
    assert_eq!(
        placeholder.trim(),
        "$Format:%h$",
        "the checkout keeps the placeholder"
    );
}

/// The shipped static build of the seven tools, built once per test
/// process (build-release.sh), for every release.sh run to reuse.
fn shipped_bins() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = workspace_root();
        let mut build = Tool::program(root.join("scripts/build-release.sh")).current_dir(&root);
        if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
            build = build.env("CARGO_TARGET_DIR", dir);
        }
        let build = build.run();
        build.expect_code(0);
        PathBuf::from(build.stdout.trim())
    })
}

/// `scripts/release.sh --out DIR --bin-dir <shipped>`, into a new temporary DIR.
fn release() -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("tempdir");
    let root = workspace_root();
    let r = Tool::program(root.join("scripts/release.sh"))
        .arg("--out")
        .arg(out.path())
        .arg("--bin-dir")
        .arg(shipped_bins())
        .current_dir(out.path())
        .run();
    r.expect_code(0);
    out
}

/// One release, shared by the tests that only read it.
fn the_release() -> &'static Path {
    static OUT: OnceLock<tempfile::TempDir> = OnceLock::new();
    OUT.get_or_init(release).path()
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn triple() -> String {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("host line")
        .to_owned()
}

fn archive_name() -> String {
    format!("deploykit-{}-{}.tar.gz", version(), triple())
}

fn deb_name() -> String {
    format!("deploykit_{}_amd64.deb", version())
}

/// Every file (and symlink) under `dir`, relative, sorted.
fn files_under(dir: &Path) -> BTreeSet<String> {
    fn walk(base: &Path, dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir)
            .expect("reading a directory")
            .flatten()
        {
            let path = entry.path();
            if entry.file_type().expect("file type").is_dir() {
                walk(base, &path, found);
            } else {
                let rel = path.strip_prefix(base).expect("under base");
                found.insert(rel.to_string_lossy().into_owned());
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(dir, dir, &mut found);
    found
}

/// The pipeline scripts the repository has: what share/deploykit must hold.
fn pipeline_scripts() -> BTreeSet<String> {
    std::fs::read_dir(workspace_root().join("scripts/pipeline"))
        .expect("scripts/pipeline")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "sh"))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[track_caller]
fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("running a command");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `man -l PAGE` renders without a warning, and shows the tool's NAME line.
#[track_caller]
fn assert_man_page(tool: &str, page: &Path) {
    let out = Command::new("man")
        .args(["--warnings", "--nj", "--nh", "-l"])
        .arg(page)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .expect("man");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "man -l {}: {out:?}", page.display());
    assert!(
        stdout.contains(&format!("{tool} - ")),
        "{tool}'s NAME line:\n{stdout}"
    );
    // Any troff warning but a line too long for the terminal's width (a
    // long URL or command, not a defect of the page).
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.contains("can't break line"))
        .collect();
    assert!(
        warnings.is_empty(),
        "man -l {}: {warnings:?}",
        page.display()
    );
}

#[test]
fn the_release_is_reproducible_and_its_archive_runs_from_anywhere() {
    util::require("man", "man-db");
    let first = the_release();
    let second = release();
    let expected: BTreeSet<String> = [archive_name(), deb_name(), "SHA256SUMS".to_owned()].into();
    assert_eq!(files_under(first), expected);
    for name in &expected {
        let (a, b) = (first.join(name), second.path().join(name));
        assert!(
            std::fs::read(&a).expect("first") == std::fs::read(&b).expect("second"),
            "{name} differs between two builds of the same commit"
        );
    }
    run_ok(
        Command::new("sha256sum")
            .args(["-c", "--ignore-missing", "--strict", "SHA256SUMS"])
            .current_dir(first),
    );

    // Owners, modes' owner bits and times are fixed: 0:0 and the commit's time.
    let listing = run_ok(
        Command::new("tar")
            .args(["--numeric-owner", "--full-time", "-tvzf"])
            .arg(first.join(archive_name())),
    );
    let when = git(&[
        "log",
        "-1",
        "--format=%cd",
        "--date=format-local:%Y-%m-%d %H:%M:%S",
    ]);
    for line in listing.lines() {
        assert!(line.contains(" 0/0 "), "not owned by 0:0: {line}");
        assert!(
            line.contains(&when),
            "not dated to the commit ({when}): {line}"
        );
    }

    // Unpacked into an empty directory, it is complete and runs from there.
    let empty = tempfile::tempdir().expect("tempdir");
    run_ok(
        Command::new("tar")
            .arg("-xzf")
            .arg(first.join(archive_name()))
            .arg("-C")
            .arg(empty.path()),
    );
    let top = format!("deploykit-{}-{}", version(), triple());
    let unpacked = empty.path().join(&top);
    let mut want: BTreeSet<String> = ["README.md", "CHANGELOG.md", "LICENSE-APACHE", "LICENSE-MIT"]
        .map(str::to_owned)
        .into();
    for tool in tool_names() {
        want.insert(format!("bin/{tool}"));
        want.insert(format!("man/man1/{tool}.1"));
        for f in [
            format!("{tool}.bash"),
            format!("_{tool}"),
            format!("{tool}.fish"),
        ] {
            want.insert(format!("completions/{f}"));
        }
    }
    for script in pipeline_scripts() {
        want.insert(format!("share/deploykit/{script}"));
    }
    assert_eq!(files_under(&unpacked), want);
    for tool in tool_names() {
        let exe = unpacked.join("bin").join(tool);
        let v = Tool::program(&exe)
            .arg("--version")
            .current_dir(empty.path())
            .run();
        v.expect_code(0);
        assert_version_line(tool, &v.stdout);
        let h = Tool::program(&exe)
            .arg("--help")
            .current_dir(empty.path())
            .run();
        h.expect_code(0);
        assert!(
            h.stdout.contains("Usage:") && h.stdout.contains("Exit status:"),
            "{tool} --help:\n{}",
            h.stdout
        );
        assert_man_page(tool, &unpacked.join(format!("man/man1/{tool}.1")));
    }
    for script in pipeline_scripts() {
        let h = Tool::program(unpacked.join("share/deploykit").join(&script))
            .arg("--help")
            .current_dir(empty.path())
            .run();
        h.expect_code(0);
        assert!(
            h.stdout.contains("Usage:"),
            "{script} --help:\n{}",
            h.stdout
        );
    }
}

/// A release is only made of binaries built from the commit it names.
#[test]
fn the_release_refuses_binaries_of_another_build() {
    let stale = tempfile::tempdir().expect("tempdir");
    for tool in tool_names() {
        let path = stale.path().join(tool);
        std::fs::write(
            &path,
            format!("#!/bin/sh\necho '{tool} {} (0000000)'\n", version()),
        )
        .expect("write");
        run_ok(Command::new("chmod").arg("+x").arg(&path));
    }
    let out = tempfile::tempdir().expect("tempdir");
    let r = Tool::program(workspace_root().join("scripts/release.sh"))
        .arg("--out")
        .arg(out.path())
        .arg("--bin-dir")
        .arg(stale.path())
        .run();
    r.expect_code(1);
    assert!(
        r.stderr.contains("rebuild it from this commit"),
        "{}",
        r.stderr
    );
    assert!(files_under(out.path()).is_empty(), "nothing is written");
}

/// `dpkg --root ROOT ARGS…`: dpkg with its database and files in ROOT only.
fn dpkg(root: &Path, args: &[&str]) -> String {
    run_ok(
        Command::new("dpkg")
            .arg(format!("--root={}", root.display()))
            .args(["--force-not-root", "--log=/dev/null"])
            .args(args),
    )
}

#[test]
fn the_debian_package_installs_runs_and_purges_without_a_trace() {
    util::require("dpkg", "dpkg");
    util::require("man", "man-db");
    let deb = the_release().join(deb_name());
    let fields = run_ok(
        Command::new("dpkg-deb")
            .arg("-f")
            .arg(&deb)
            .args(["Package", "Version", "Depends"]),
    );
    assert_eq!(
        fields,
        format!(
            "Package: deploykit\nVersion: {}\nDepends: docker.io | podman | docker-ce, util-linux, curl\n",
            version()
        )
    );

    // A throwaway root with an empty dpkg database. The dependencies are
    // the host's business, not this root's: they are declared (above), not
    // installed here.
    let root = tempfile::tempdir().expect("tempdir");
    let r = root.path();
    for dir in ["var/lib/dpkg/info", "var/lib/dpkg/updates"] {
        std::fs::create_dir_all(r.join(dir)).expect("mkdir");
    }
    std::fs::write(r.join("var/lib/dpkg/status"), "").expect("status");
    let before = files_under(r);
    dpkg(r, &["--force-depends", "-i", deb.to_str().expect("utf-8")]);

    let installed = files_under(r);
    for tool in tool_names() {
        for path in [
            format!("usr/bin/{tool}"),
            format!("usr/share/man/man1/{tool}.1.gz"),
            format!("usr/share/bash-completion/completions/{tool}"),
            format!("usr/share/zsh/vendor-completions/_{tool}"),
            format!("usr/share/fish/vendor_completions.d/{tool}.fish"),
        ] {
            assert!(installed.contains(&path), "{path} is not installed");
        }
        let v = Tool::program(r.join("usr/bin").join(tool))
            .arg("--version")
            .current_dir(r)
            .run();
        v.expect_code(0);
        assert_version_line(tool, &v.stdout);
    }
    for script in pipeline_scripts() {
        assert!(
            installed.contains(&format!("usr/share/deploykit/{script}")),
            "{script}"
        );
    }
    // The man page is where man looks for it, by name.
    let page = run_ok(
        Command::new("man")
            .arg("-M")
            .arg(r.join("usr/share/man"))
            .args(["--nj", "--nh", "validate-dsns"])
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80"),
    );
    assert!(page.contains("validate-dsns - "), "{page}");
    let deploy = Tool::program(r.join("usr/bin/deploykit-deploy"))
        .arg("--help")
        .current_dir(r)
        .run();
    deploy.expect_code(0);
    assert!(
        deploy.stdout.starts_with("Usage: deploy.sh"),
        "{}",
        deploy.stdout
    );

    dpkg(r, &["--purge", "deploykit"]);
    let after = files_under(r);
    // dpkg's own database stays (its lock, its status backup); nothing of
    // the package's, there or anywhere else.
    let left: Vec<&String> = after
        .difference(&before)
        .filter(|p| !p.starts_with("var/lib/dpkg/") || p.contains("deploykit"))
        .collect();
    let status = std::fs::read_to_string(r.join("var/lib/dpkg/status")).expect("status");
    assert!(
        !status.contains("deploykit"),
        "still in dpkg's status:\n{status}"
    );
    assert!(left.is_empty(), "purging left {left:?}");
    assert!(
        !r.join("usr/bin").exists() || files_under(&r.join("usr")).is_empty(),
        "usr/ keeps files"
    );
}

/// What the tools' image holds, every entry of its one layer.
fn image_entries() -> BTreeSet<String> {
    let mut want: BTreeSet<String> = [
        "./",
        "./etc/",
        "./etc/group",
        "./etc/passwd",
        "./etc/ssl/",
        "./etc/ssl/certs/",
        "./etc/ssl/certs/ca-certificates.crt",
        "./tmp/",
        "./usr/",
        "./usr/bin/",
    ]
    .map(str::to_owned)
    .into();
    for tool in tool_names() {
        want.insert(format!("./usr/bin/{tool}"));
    }
    want
}

/// A blob of an OCI layout, by digest.
fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
    std::fs::read(layout.join("blobs/sha256").join(hex)).expect("blob")
}

/// The docker CLI against `engine`, with a config of its own.
fn docker(engine: &TestEngine, config: &Path) -> Command {
    let mut cmd = Command::new("docker");
    cmd.env("DOCKER_HOST", engine.host())
        .env("DOCKER_CONFIG", config);
    cmd
}

/// Loads the image of `layout` into `engine` as `reference` (fully
/// qualified: the engines never look it up anywhere).
fn load_layout(engine: &TestEngine, layout: &Path, tag: &str, reference: &str) {
    let work = tempfile::tempdir_in(engine.scratch()).expect("work dir");
    let archive = work.path().join("image.tar");
    run_ok(
        Command::new("skopeo")
            .args(["--insecure-policy", "copy", "--quiet"])
            .arg(format!("oci:{}:{tag}", layout.display()))
            .arg(format!("docker-archive:{}:{reference}", archive.display()))
            .env("HOME", work.path()),
    );
    let (status, body) = engine.api("POST", "/images/load?quiet=1", Some(Body::Tar(&archive)));
    assert_eq!(status, 200, "loading {reference}: {body}");
}

#[test]
fn the_image_is_pushed_by_digest_and_runs_the_tools_under_both_engines_as_uid_1001() {
    util::require("docker", "docker.io");
    let out = tempfile::tempdir().expect("tempdir");
    let layout = out.path().join("image");
    let r = Tool::program(workspace_root().join("scripts/release.sh"))
        .arg("--out")
        .arg(out.path())
        .arg("--bin-dir")
        .arg(shipped_bins())
        .args(["--no-deb", "--image"])
        .arg(&layout)
        .run();
    r.expect_code(0);
    let digest = r.stdout.lines().last().expect("the digest line").to_owned();
    assert!(digest.starts_with("sha256:"), "{}", r.stdout);

    // The image holds the tools, the CA bundle and the user, nothing else
    // (no shell), and runs as uid 1001.
    let manifest: serde_json::Value =
        serde_json::from_slice(&blob(&layout, &digest)).expect("manifest");
    let config: serde_json::Value = serde_json::from_slice(&blob(
        &layout,
        manifest["config"]["digest"].as_str().expect("config"),
    ))
    .expect("config");
    assert_eq!(config["config"]["User"], "1001:1001");
    assert_eq!(
        config["config"]["Labels"]["org.opencontainers.image.revision"],
        head()
    );
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1);
    let layer = out.path().join("layer.tar.gz");
    std::fs::write(
        &layer,
        blob(&layout, layers[0]["digest"].as_str().expect("layer")),
    )
    .expect("layer");
    let listed: BTreeSet<String> = run_ok(Command::new("tar").arg("-tzf").arg(&layer))
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(listed, image_entries());
    let passwd = run_ok(
        Command::new("tar")
            .arg("-xzOf")
            .arg(&layer)
            .arg("./etc/passwd"),
    );
    assert!(passwd.contains(":1001:1001:"), "{passwd}");

    // Pushed by digest, and fit to deploy.
    let reg = TestRegistry::start();
    // push.sh runs image-digest: the shipped one, first on PATH.
    let path = format!(
        "{}:{}",
        shipped_bins().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let push = Tool::program(workspace_root().join("scripts/pipeline/push.sh"))
        .env("PATH", path)
        .args(["--insecure", "--from"])
        .arg(format!("oci:{}:{}", layout.display(), version()))
        .arg(format!("{}/deploykit/tools:{}", reg.host(), version()))
        .run();
    push.expect_code(0);
    let pinned = push.stdout.trim().to_owned();
    assert_eq!(pinned, format!("{}/deploykit/tools@{digest}", reg.host()));
    let pinned_tagged = format!("{}/deploykit/tools:{}@{digest}", reg.host(), version());
    Tool::new("tag-image")
        .args(["check", "--require-digest", &pinned_tagged])
        .run()
        .expect_code(0);

    let pg = TestPg::builder()
        .superuser_password("pl4nted-root-pw")
        .start();
    let root_dsn = pg.root_url();
    let app_dsn = pg.url_for("shop_app", "pl4nted-app-pw", "shop");
    let svc_dsn = pg.url_for("shop_service", "pl4nted-svc-pw", "shop");
    let config_dir = tempfile::tempdir().expect("docker config");
    let local = format!("localhost/deploykit/tools:{}", version());
    for engine in [TestEngine::dockerd(), TestEngine::podman()] {
        load_layout(&engine, &layout, version(), &local);
        let run = |args: &[&str]| {
            let out = docker(&engine, config_dir.path())
                .args(["run", "--rm", "--pull", "never", "--network", "host"])
                .args([
                    "-e",
                    "DATABASE_ROOT_URL",
                    "-e",
                    "DATABASE_URL",
                    "-e",
                    "DATABASE_SERVICE_URL",
                ])
                .arg(&local)
                .args(args)
                .env("DATABASE_ROOT_URL", &root_dsn)
                .env("DATABASE_URL", &app_dsn)
                .env("DATABASE_SERVICE_URL", &svc_dsn)
                .output()
                .expect("docker run");
            let run = Run {
                code: out.status.code(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            };
            sweep(&run);
            run
        };
        let kind = engine.kind();
        let v = run(&["image-digest", "--version"]);
        v.expect_code(0);
        assert_version_line("image-digest", &v.stdout);
        run(&["validate-dsns"]).expect_code(0);
        let resolved = run(&[
            "image-digest",
            "resolve",
            "--digest-only",
            &format!("{}/deploykit/tools:{}", reg.host(), version()),
        ]);
        resolved.expect_code(0);
        assert_eq!(resolved.stdout, format!("{digest}\n"), "{kind:?}");
        run(&["tag-image", "check", "--require-digest", &pinned_tagged]).expect_code(0);
        run(&["provision-db", "--timeout", "10s"]).expect_code(0);
        // The process really runs as 1001: a file it writes (tag-image pin
        // replaces the file with a new one) belongs to uid 1001.
        let shared = tempfile::tempdir().expect("shared dir");
        std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let compose = shared.path().join("compose.yaml");
        let unpinned = format!("{}/deploykit/tools:{}", reg.host(), version());
        std::fs::write(
            &compose,
            format!("services:\n  db-provision:\n    image: {unpinned}\n"),
        )
        .expect("compose.yaml");
        let pin = docker(&engine, config_dir.path())
            .args(["run", "--rm", "--pull", "never", "--network", "none", "-v"])
            .arg(format!("{}:/work", shared.path().display()))
            .arg(&local)
            .args([
                "tag-image",
                "pin",
                "--file",
                "/work/compose.yaml",
                &pinned_tagged,
            ])
            .output()
            .expect("docker run");
        assert!(pin.status.success(), "{kind:?}: {pin:?}");
        let written = std::fs::read_to_string(&compose).expect("compose.yaml");
        assert!(written.contains(&pinned_tagged), "{written}");
        let meta = std::fs::metadata(&compose).expect("compose.yaml");
        assert_eq!(
            (meta.uid(), meta.gid()),
            (1001, 1001),
            "{kind:?}: the tools run as 1001:1001"
        );
    }
    assert!(pg.roles().contains("shop_app") && pg.roles().contains("shop_service"));
}

/// A loopback HTTP server for the files of `dir` (GET only), until dropped:
/// the release download the action's install script sees.
struct FileServer {
    port: u16,
    _dir: tempfile::TempDir,
}

impl FileServer {
    /// Serves a copy of `files` (name, bytes).
    fn serve(files: &[(String, Vec<u8>)]) -> FileServer {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).expect("write");
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let root = dir.path().to_owned();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let root = root.clone();
                std::thread::spawn(move || answer(&root, stream));
            }
        });
        FileServer { port, _dir: dir }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/releases/v{}", self.port, version())
    }
}

fn answer(root: &Path, mut stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).map_or(true, |n| n == 0) || header == "\r\n" {
            break;
        }
    }
    let prefix = format!("/releases/v{}/", version());
    let path = request.split(' ').nth(1).unwrap_or("");
    let file = path
        .strip_prefix(&prefix)
        .filter(|n| !n.contains('/') && !n.starts_with('.'))
        .and_then(|n| std::fs::read(root.join(n)).ok());
    let _ = match file {
        Some(body) => stream
            .write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )
            .and_then(|()| stream.write_all(&body)),
        None => stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    };
}

/// The release's files, read.
fn release_files() -> Vec<(String, Vec<u8>)> {
    [archive_name(), "SHA256SUMS".to_owned()]
        .into_iter()
        .map(|n| {
            let bytes = std::fs::read(the_release().join(&n)).expect("release file");
            (n, bytes)
        })
        .collect()
}

/// The action's install step, as action.yml runs it: into DIR, with
/// `GITHUB_PATH` a file of the test's.
fn install(server: &FileServer, dir: &Path, github_path: &Path, extra: &[&str]) -> Run {
    Tool::program(workspace_root().join("scripts/install.sh"))
        .args(["--version", version(), "--base-url", &server.url(), "--dir"])
        .arg(dir)
        .args(extra)
        .env("GITHUB_PATH", github_path)
        .run()
}

#[test]
fn the_action_installs_a_checked_release_and_refuses_a_wrong_checksum() {
    // action.yml's install step is this script, with these flags.
    let action = std::fs::read_to_string(workspace_root().join("action.yml")).expect("action.yml");
    let action: serde_yaml_ng::Value = serde_yaml_ng::from_str(&action).expect("action.yml parses");
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let steps = action["runs"]["steps"].as_sequence().expect("steps");
    assert!(steps.iter().any(|s| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("actions/cache@"))
    }));
    let run = steps
        .iter()
        .find_map(|s| s["run"].as_str())
        .expect("a run step");
    assert!(
        run.contains("\"$GITHUB_ACTION_PATH/scripts/install.sh\""),
        "{run}"
    );

    let work = tempfile::tempdir().expect("tempdir");
    let github_path = work.path().join("github_path");

    // The right checksum: installed, on PATH, and the tools run.
    let good = FileServer::serve(&release_files());
    let dir = work.path().join("cache/deploykit");
    std::fs::write(&github_path, "").expect("GITHUB_PATH");
    let r = install(&good, &dir, &github_path, &[]);
    r.expect_code(0);
    let bin = dir.join("bin");
    assert_eq!(r.stdout, format!("{}\n", bin.display()));
    assert_eq!(
        std::fs::read_to_string(&github_path).expect("GITHUB_PATH"),
        format!("{}\n", bin.display())
    );
    for tool in tool_names() {
        let v = Tool::program(bin.join(tool)).arg("--version").run();
        v.expect_code(0);
        assert_version_line(tool, &v.stdout);
    }
    for script in pipeline_scripts() {
        assert!(
            dir.join("share/deploykit").join(&script).is_file(),
            "{script}"
        );
    }
    // A cache hit keeps what is there, and puts it on PATH again.
    let again = install(&good, &dir, &github_path, &[]);
    again.expect_code(0);
    assert!(again.stderr.contains("already"), "{}", again.stderr);
    // A pinned sha256 that matches is accepted too.
    let sum = util::sha256_hex(&release_files()[0].1);
    let pinned_dir = work.path().join("pinned/deploykit");
    install(
        &good,
        &pinned_dir,
        &work.path().join("gp2"),
        &["--sha256", &sum],
    )
    .expect_code(0);

    // A wrong checksum: refused, nothing installed, nothing on PATH.
    let mut tampered = release_files();
    let last = tampered[0].1.len() - 1;
    tampered[0].1[last] ^= 0xff;
    let bad_archive = FileServer::serve(&tampered);
    let mut wrong_sums = release_files();
    wrong_sums[1].1 = format!("{}  {}\n", "0".repeat(64), archive_name()).into_bytes();
    let bad_sums = FileServer::serve(&wrong_sums);
    let mut no_line = release_files();
    no_line[1].1 = b"".to_vec();
    let no_line = FileServer::serve(&no_line);
    let cases: [(&FileServer, Vec<&str>, &str); 4] = [
        (&bad_archive, vec![], "does not match SHA256SUMS"),
        (&bad_sums, vec![], "does not match SHA256SUMS"),
        (
            &good,
            vec![
                "--sha256",
                "1111111111111111111111111111111111111111111111111111111111111111",
            ],
            "does not match the pinned --sha256",
        ),
        (&no_line, vec![], "SHA256SUMS has no line for"),
    ];
    for (i, (server, extra, message)) in cases.iter().enumerate() {
        let root = work.path().join(format!("refused-{i}"));
        let gp = work.path().join(format!("refused-{i}.path"));
        std::fs::write(&gp, "").expect("GITHUB_PATH");
        let r = install(server, &root.join("deploykit"), &gp, extra);
        r.expect_code(1);
        assert!(
            r.stderr.contains(message) && r.stderr.contains("refusing to install"),
            "{}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "{}", r.stdout);
        assert_eq!(
            std::fs::read_to_string(&gp).expect("GITHUB_PATH"),
            "",
            "nothing on PATH"
        );
        assert!(
            files_under(&root).is_empty(),
            "nothing installed: {:?}",
            files_under(&root)
        );
    }
}
