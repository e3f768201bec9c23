//! A real, throwaway PostgreSQL 15 for the integration tests.
//!
//! [`TestPg::start`] runs a private cluster on a free loopback port in its
//! own temp dir, with TLS on (a test CA and a leaf for `localhost` and
//! `127.0.0.1`, made with rcgen at test time) and SCRAM authentication for
//! TCP connections; dropping it stops the server and removes the dir.
//!
//! `initdb` runs once per test process into a template (about 1 s); each
//! cluster is a `cp -a` of it (about 0.4 s with the start). The server
//! refuses to run as root, so as root every PostgreSQL program runs as the
//! `postgres` OS user through `runuser`, and the instance dirs are chowned
//! to it. Clusters left behind by a killed test process (whose `Drop` never
//! ran) are stopped and removed by the next process that makes a template.
//!
//! The PostgreSQL binaries are required: without them every test using this
//! harness panics with the install command, in CI and out of it alike.

pub use crate::util::free_port;
use std::fmt::Write as _;
use std::fs;
use std::io::Read as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use postgres::{Client, NoTls};

/// Where Debian's PostgreSQL 15 server programs live.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// The superuser's name in every test cluster.
pub const SUPERUSER: &str = "postgres";

/// The password the template is made with; each cluster replaces it.
const TEMPLATE_PASSWORD: &str = "template-only";

/// Options of a test cluster; [`TestPgBuilder::start`] starts it.
#[derive(Debug, Clone)]
pub struct TestPgBuilder {
    tls: bool,
    force_tls: bool,
    log_statement_all: bool,
    leaf_names: Vec<String>,
    superuser_password: Option<String>,
}

impl Default for TestPgBuilder {
    fn default() -> Self {
        TestPgBuilder {
            tls: true,
            force_tls: false,
            log_statement_all: false,
            leaf_names: vec!["localhost".into(), "127.0.0.1".into()],
            superuser_password: None,
        }
    }
}

impl TestPgBuilder {
    /// TLS on the server (`ssl=on`); on by default.
    #[must_use]
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// Reject every non-TLS TCP connection (`hostnossl … reject` in
    /// pg_hba.conf); implies [`TestPgBuilder::tls`].
    #[must_use]
    pub fn force_tls(mut self, on: bool) -> Self {
        self.force_tls = on;
        if on {
            self.tls = true;
        }
        self
    }

    /// Log every statement (`log_statement=all`), for tests that read the
    /// server log with [`TestPg::log_contents`].
    #[must_use]
    pub fn log_statement_all(mut self, on: bool) -> Self {
        self.log_statement_all = on;
        self
    }

    /// The subject alternative names of the server certificate (DNS names
    /// or IP addresses); `localhost` and `127.0.0.1` by default.
    #[must_use]
    pub fn leaf_names(mut self, names: &[&str]) -> Self {
        self.leaf_names = names.iter().map(|n| (*n).to_owned()).collect();
        self
    }

    /// The superuser's password (random per cluster unless set).
    #[must_use]
    pub fn superuser_password(mut self, password: &str) -> Self {
        self.superuser_password = Some(password.to_owned());
        self
    }

    /// Makes and starts the cluster.
    pub fn start(self) -> TestPg {
        TestPg::create(self)
    }
}

/// A running throwaway PostgreSQL 15 cluster. Dropping it stops the server
/// (`pg_ctl -m immediate stop`) and removes its directory.
pub struct TestPg {
    dir: Option<tempfile::TempDir>,
    root: PathBuf,
    data: PathBuf,
    sock: PathBuf,
    log: PathBuf,
    ca: PathBuf,
    port: u16,
    password: String,
    options: TestPgBuilder,
    running: bool,
}

impl TestPg {
    /// A cluster with the default options: TLS on, not forced.
    pub fn start() -> TestPg {
        TestPg::builder().start()
    }

    /// Options for a cluster.
    pub fn builder() -> TestPgBuilder {
        TestPgBuilder::default()
    }

    /// The TCP port the server listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The test CA's certificate (PEM), for `sslrootcert`.
    pub fn ca_path(&self) -> &Path {
        &self.ca
    }

    /// The superuser's password.
    pub fn superuser_password(&self) -> &str {
        &self.password
    }

    /// `postgres://postgres:PASS@127.0.0.1:PORT/postgres`.
    pub fn root_url(&self) -> String {
        self.url_for(SUPERUSER, &self.password, "postgres")
    }

    /// `postgres://USER:PASSWORD@127.0.0.1:PORT/DB`, user, password and
    /// database percent-encoded.
    pub fn url_for(&self, user: &str, password: &str, db: &str) -> String {
        format!(
            "postgres://{}:{}@127.0.0.1:{}/{}",
            encode(user),
            encode(password),
            self.port,
            encode(db)
        )
    }

    /// The directory of the server's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.sock
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// A client connected as the superuser over the Unix socket (trust
    /// authentication, no TLS: independent of the code under test).
    pub fn admin_client(&self) -> Client {
        postgres::Config::new()
            .host_path(&self.sock)
            .port(self.port)
            .user(SUPERUSER)
            .dbname("postgres")
            .connect(NoTls)
            .unwrap_or_else(|e| panic!("connecting to the test cluster as {SUPERUSER}: {e}"))
    }

    /// The roles other than the built-in `pg_*` ones.
    pub fn roles(&self) -> std::collections::BTreeSet<String> {
        self.admin_client()
            .query(
                "SELECT rolname::text FROM pg_roles WHERE rolname !~ '^pg_'",
                &[],
            )
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    /// Runs SQL (one or more statements) as the superuser.
    pub fn exec(&self, sql: &str) {
        self.admin_client()
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("running SQL on the test cluster: {e}\nSQL: {sql}"));
    }

    /// The text of the server log.
    pub fn log_contents(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = fs::File::open(&self.log) {
            // The log is not always valid UTF-8 (it quotes client input).
            let mut bytes = Vec::new();
            let _ = file.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    }

    /// Stops the server (fast shutdown, so what tests wrote survives a
    /// [`TestPg::start_again`]); the cluster stays.
    pub fn stop(&mut self) {
        if self.running {
            let out = pg_ctl(
                &self.data,
                &["-m", "fast", "-w", "-t", "30", "stop"],
                &self.root,
            );
            assert!(
                out.status.success(),
                "pg_ctl stop failed: {}\n{}",
                output_text(&out),
                self.log_tail()
            );
            self.running = false;
        }
    }

    /// Starts the stopped server again, on the same port.
    pub fn start_again(&mut self) {
        if !self.running
            && let Err(why) = self.try_start()
        {
            panic!("restarting the test cluster on port {}: {why}", self.port);
        }
    }

    fn create(options: TestPgBuilder) -> TestPg {
        let template = template();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{INSTANCE_PREFIX}{}-", std::process::id()))
            .tempdir()
            .expect("creating the test cluster's temp dir");
        let root = dir.path().to_path_buf();
        let data = root.join("data");
        let sock = root.join("sock");
        run(
            Command::new("cp").arg("-a").arg(template).arg(&data),
            "copying the template cluster",
        );
        fs::create_dir(&sock).expect("creating the socket dir");
        let ca = write_certificates(&root, &options.leaf_names);
        fs::write(data.join("pg_hba.conf"), hba(options.force_tls)).expect("writing pg_hba.conf");
        chown_to_postgres(&root);

        let password = options
            .superuser_password
            .clone()
            .unwrap_or_else(random_password);
        let mut pg = TestPg {
            log: root.join("server.log"),
            dir: Some(dir),
            root,
            data,
            sock,
            ca,
            port: 0,
            password,
            options,
            running: false,
        };
        let mut last = String::new();
        for _ in 0..3 {
            pg.port = free_port();
            match pg.try_start() {
                Ok(()) => break,
                Err(why) => last = why,
            }
        }
        assert!(
            pg.running,
            "starting the test cluster failed 3 times; last: {last}"
        );
        pg.set_superuser_password();
        pg
    }

    /// Sets the superuser's password as a SCRAM verifier, so the password
    /// itself never reaches the server (nor its statement log).
    fn set_superuser_password(&self) {
        let verifier = postgres_protocol::password::scram_sha_256(self.password.as_bytes());
        // Durable at once: the cluster runs with synchronous_commit=off, and
        // a test may stop it right away.
        self.exec(&format!(
            "SET synchronous_commit = on; ALTER ROLE {SUPERUSER} PASSWORD '{verifier}'"
        ));
    }

    /// Starts the server on `self.port`; `Err` with the reason when it fails.
    fn try_start(&mut self) -> Result<(), String> {
        let log_before = self.log_contents().len();
        let mut server = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k '{}' -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off",
            self.port,
            self.sock.display()
        );
        if self.options.tls {
            let _ = write!(
                server,
                " -c ssl=on -c ssl_cert_file='{}' -c ssl_key_file='{}'",
                self.root.join("server.crt").display(),
                self.root.join("server.key").display()
            );
        }
        if self.options.log_statement_all {
            // Each line names the client's application_name (`app=…`), so
            // a test can tell which tool issued a statement.
            server.push_str(" -c log_statement=all -c \"log_line_prefix='%m [%p] app=%a '\"");
        }
        let log = self.log.to_string_lossy().into_owned();
        let out = pg_ctl(
            &self.data,
            &["-l", &log, "-w", "-t", "30", "-o", &server, "start"],
            &self.root,
        );
        if out.status.success() {
            self.running = true;
            return Ok(());
        }
        let log = self.log_contents();
        let new_log = log.get(log_before..).unwrap_or(&log);
        Err(format!(
            "pg_ctl start failed: {}\nserver log:\n{new_log}",
            output_text(&out)
        ))
    }

    fn log_tail(&self) -> String {
        let log = self.log_contents();
        let lines: Vec<&str> = log.lines().collect();
        let from = lines.len().saturating_sub(20);
        format!("server log (last lines):\n{}", lines[from..].join("\n"))
    }
}

impl Drop for TestPg {
    fn drop(&mut self) {
        if self.running {
            let _ = pg_ctl(
                &self.data,
                &["-m", "immediate", "-w", "-t", "30", "stop"],
                &self.root,
            );
            self.running = false;
        }
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }
}

/// Instance dirs are `<tmp>/deploykit-pg-<pid>-<random>`.
const INSTANCE_PREFIX: &str = "deploykit-pg-";
/// Templates are `<tmp>/deploykit-pgtemplate-<pid>`.
const TEMPLATE_PREFIX: &str = "deploykit-pgtemplate-";

/// The template data dir of this process, made once.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        require_binaries();
        reap_abandoned();
        let root = std::env::temp_dir().join(format!("{TEMPLATE_PREFIX}{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).expect("creating the template dir");
        let pwfile = root.join("pwfile");
        fs::write(&pwfile, format!("{TEMPLATE_PASSWORD}\n")).expect("writing the pwfile");
        chown_to_postgres(&root);
        let data = root.join("data");
        let out = pg_command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", SUPERUSER])
            .arg(format!("--pwfile={}", pwfile.display()))
            .args([
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ])
            .current_dir(&root)
            .output()
            .expect("running initdb");
        assert!(out.status.success(), "initdb failed: {}", output_text(&out));
        data
    })
}

/// Panics with the install command when the server programs are missing.
fn require_binaries() {
    for bin in ["initdb", "pg_ctl", "postgres"] {
        let path = Path::new(PG_BIN).join(bin);
        assert!(
            path.is_file(),
            "PostgreSQL 15 is required by this test and {} is missing: install it with \
             `apt-get install -y postgresql-15` (the tests never skip a missing real server)",
            path.display()
        );
    }
}

/// Stops and removes clusters and templates left by test processes that
/// are gone (killed before their `Drop` ran).
fn reap_abandoned() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix(INSTANCE_PREFIX)
            .or_else(|| name.strip_prefix(TEMPLATE_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        let Some(pid) = pid else { continue };
        if pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists() {
            continue;
        }
        let path = entry.path();
        let data = path.join("data");
        if data.join("postmaster.pid").exists() {
            let _ = pg_ctl(&data, &["-m", "immediate", "-w", "-t", "10", "stop"], &path);
        }
        let _ = fs::remove_dir_all(&path);
    }
}

/// Whether this process runs as root (then the server runs as `postgres`).
fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
    })
}

/// A PostgreSQL program, run as the `postgres` user when we are root.
fn pg_command(program: &str) -> Command {
    let path = Path::new(PG_BIN).join(program);
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(path);
        cmd
    } else {
        Command::new(path)
    }
}

fn pg_ctl(data: &Path, args: &[&str], cwd: &Path) -> Output {
    pg_command("pg_ctl")
        .arg("-D")
        .arg(data)
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("running pg_ctl")
}

fn chown_to_postgres(path: &Path) {
    if is_root() {
        run(
            Command::new("chown").arg("-R").arg("postgres:").arg(path),
            "giving the cluster dir to the postgres user",
        );
    }
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what} failed: {}", output_text(&out));
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The pg_hba.conf of a test cluster: trust on the socket, SCRAM on TCP,
/// and with `force_tls` every non-TLS TCP connection rejected.
fn hba(force_tls: bool) -> String {
    let mut hba = String::from("# TYPE  DATABASE  USER  ADDRESS  METHOD\nlocal all all trust\n");
    if force_tls {
        hba.push_str(
            "hostnossl all all 0.0.0.0/0 reject\n\
             hostnossl all all ::/0 reject\n\
             hostssl all all 127.0.0.1/32 scram-sha-256\n\
             hostssl all all ::1/128 scram-sha-256\n",
        );
    } else {
        hba.push_str(
            "host all all 127.0.0.1/32 scram-sha-256\n\
             host all all ::1/128 scram-sha-256\n",
        );
    }
    hba
}

/// Writes `ca.crt`, `server.crt` and `server.key` (mode 600) into `dir`:
/// a CA (CA:TRUE) and a leaf it signed (CA:FALSE, serverAuth) for `names`.
/// Returns the CA's path.
fn write_certificates(dir: &Path, names: &[String]) -> PathBuf {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let mut ca_params =
        CertificateParams::new(Vec::<String>::new()).expect("CA certificate parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(
        DnType::CommonName,
        format!("deploykit test CA {}", dir.display()),
    );
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().expect("generating the CA key");
    let ca = ca_params.self_signed(&ca_key).expect("self-signing the CA");

    let mut leaf_params = CertificateParams::new(names.to_vec()).expect("server certificate names");
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    leaf_params.distinguished_name.push(
        DnType::CommonName,
        names.first().map_or("server", String::as_str),
    );
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().expect("generating the server key");
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca, &ca_key)
        .expect("signing the server certificate");

    let ca_path = dir.join("ca.crt");
    fs::write(&ca_path, ca.pem()).expect("writing ca.crt");
    fs::write(dir.join("server.crt"), leaf.pem()).expect("writing server.crt");
    let key_path = dir.join("server.key");
    fs::write(&key_path, leaf_key.serialize_pem()).expect("writing server.key");
    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600)).expect("chmod server.key");
    ca_path
}

/// A random password of 24 hex digits, from the kernel's generator.
fn random_password() -> String {
    let mut bytes = [0u8; 12];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("reading /dev/urandom");
    let mut out = String::from("pw-");
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
