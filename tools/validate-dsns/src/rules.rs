//! The static rules: everything that can be judged from the DSNs and the
//! environment alone, without a server. Pure functions, unit-tested here.

use std::collections::BTreeMap;

use deploykit::dsn::{ConnectionKind, Dsn, SslMode, Target, numeric_host, sources};

use crate::findings::{Class, Finding};

/// The three variables, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Var {
    /// `DATABASE_ROOT_URL`, the admin DSN.
    Root,
    /// `DATABASE_URL`, the app role's runtime DSN.
    App,
    /// `DATABASE_SERVICE_URL`, the service role's runtime DSN.
    Service,
}

impl Var {
    /// All three, in report order.
    pub const ALL: [Var; 3] = [Var::Root, Var::App, Var::Service];

    /// The environment variable's name.
    pub fn name(self) -> &'static str {
        match self {
            Var::Root => sources::ROOT_URL,
            Var::App => sources::URL,
            Var::Service => sources::SERVICE_URL,
        }
    }

    /// Whether this DSN is handed to running containers.
    pub fn is_runtime(self) -> bool {
        !matches!(self, Var::Root)
    }
}

/// What the static rules look at.
#[derive(Debug, Default)]
pub struct Inputs {
    /// The raw value of each variable that is set and not empty.
    pub values: BTreeMap<Var, String>,
    /// The environment the legacy-variable rule inspects (names only matter).
    pub environment: BTreeMap<String, String>,
    /// `--runtime`: a runtime container's view.
    pub runtime: bool,
    /// `--env production` or `APP_ENV=production`.
    pub production: bool,
}

/// The DSNs that parsed, for the live checks.
pub type Parsed = BTreeMap<Var, Dsn>;

/// Role names a runtime DSN must never use: superusers of Postgres and of
/// the common managed services.
const SUPERUSER_NAMES: &[&str] = &[
    "postgres",
    "root",
    "admin",
    "rdsadmin",
    "rds_superuser",
    "azure_superuser",
    "azure_pg_admin",
    "cloudsqlsuperuser",
    "cloudsqladmin",
    "supabase_admin",
    "alloydbadmin",
    "neon_superuser",
];

/// Variables that carried database credentials before the three DSNs; a
/// runtime container must have none of them.
fn is_legacy_variable(name: &str) -> bool {
    name.starts_with("APP_DB_")
        || name.starts_with("POSTGRES_ROOT_")
        || matches!(name, "POSTGRES_PASSWORD" | "POSTGRES_USER" | "PGPASSWORD")
}

/// Runs every static rule. Returns the findings and the DSNs that parsed.
pub fn check(inputs: &Inputs) -> (Vec<Finding>, Parsed) {
    let mut findings = Vec::new();
    let mut parsed = Parsed::new();

    for var in Var::ALL {
        let required = !inputs.runtime || var.is_runtime();
        match inputs.values.get(&var) {
            None if required => {
                findings.push(Finding::error(var.name(), "missing", "not set").class(Class::Input));
            }
            None => {}
            Some(_) if inputs.runtime && var == Var::Root => findings.push(Finding::error(
                var.name(),
                "admin-dsn-present",
                "the admin DSN is set in a runtime environment; only the provisioner may have it",
            )),
            Some(raw) => match parse(raw) {
                Ok(dsn) => {
                    check_one(var, &dsn, inputs.production, &mut findings);
                    parsed.insert(var, dsn);
                }
                Err(message) => findings
                    .push(Finding::error(var.name(), "parse-error", message).class(Class::Input)),
            },
        }
    }

    if inputs.runtime {
        for name in inputs.environment.keys().filter(|n| is_legacy_variable(n)) {
            findings.push(Finding::error(
                "environment",
                "legacy-variable",
                format!("{name} is set; a runtime container gets only DATABASE_URL and DATABASE_SERVICE_URL"),
            ));
        }
    }

    check_between(&parsed, &mut findings);
    (findings, parsed)
}

/// Parses a DSN and makes the checks libpq only makes at connect time
/// (option values, host/port pairing, ports, numeric addresses), so a DSN
/// that would fail to connect fails here.
fn parse(raw: &str) -> Result<Dsn, String> {
    let dsn = Dsn::parse(raw).map_err(|e| e.to_string())?;
    dsn.validate().map_err(|e| e.to_string())?;
    Ok(dsn)
}

fn check_one(var: Var, dsn: &Dsn, production: bool, findings: &mut Vec<Finding>) {
    let name = var.name();
    let user = dsn.user().filter(|u| !u.is_empty());
    if user.is_none() {
        findings.push(Finding::error(
            name,
            "missing-user",
            format!("{dsn} names no user; libpq would use the operating system user"),
        ));
    }
    match dsn.password().filter(|p| !p.is_empty()) {
        None if var.is_runtime() => findings.push(Finding::error(
            name,
            "missing-password",
            format!("{dsn} has no password"),
        )),
        None => findings.push(Finding::warning(
            name,
            "missing-password",
            format!("{dsn} has no password; it relies on trust, peer or a password file"),
        )),
        Some(password) => {
            if let Some(why) = password.weakness(user) {
                findings.push(Finding::error(
                    name,
                    "placeholder-password",
                    format!("the password of {dsn} is {why}"),
                ));
            }
        }
    }
    if var.is_runtime() {
        match dsn.dbname().filter(|d| !d.is_empty()) {
            None => findings.push(Finding::error(
                name,
                "missing-database",
                format!("{dsn} names no database; libpq would use the user name"),
            )),
            Some(db) if matches!(db, "postgres" | "template0" | "template1") => {
                findings.push(Finding::error(
                    name,
                    "system-database",
                    format!("the runtime database is \"{db}\"; give the service its own database"),
                ));
            }
            Some(_) => {}
        }
        if let Some(u) = user
            && (SUPERUSER_NAMES.contains(&u) || u.starts_with("pg_"))
        {
            findings.push(Finding::error(
                name,
                "superuser-name",
                format!("the runtime role \"{u}\" is a superuser or reserved name"),
            ));
        }
    }
    if production && dsn.connection_kind() == ConnectionKind::Inet {
        // sslmode() was validated in parse(); unset, it is libpq's default.
        let mode = dsn.sslmode().unwrap_or(SslMode::Prefer);
        if mode < SslMode::Require {
            findings.push(Finding::error(
                name,
                "insecure-sslmode",
                format!(
                    "sslmode={} does not require TLS in production; use sslmode=verify-full",
                    mode.as_str()
                ),
            ));
        } else if mode < SslMode::VerifyFull {
            findings.push(Finding::warning(
                name,
                "unverified-tls",
                format!(
                    "sslmode={} does not check the server's host name; use sslmode=verify-full",
                    mode.as_str()
                ),
            ));
        }
    }
}

/// The server a DSN reaches, comparable between DSNs.
fn server(dsn: &Dsn) -> Vec<Target> {
    dsn.targets().unwrap_or_default()
}

/// One target as a comparable key: host names without regard to case (DNS
/// ignores it), numeric addresses by value (`127.1` is `127.0.0.1`), socket
/// directories as written, the default socket by its path.
fn server_key(target: &Target) -> (bool, String, Option<String>, u16) {
    let host = if target.is_socket() {
        target
            .host
            .clone()
            .unwrap_or_else(|| "/var/run/postgresql".to_owned())
    } else {
        target
            .host
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let addr = target.hostaddr.as_deref().map(|a| {
        numeric_host::parse(a).map_or_else(|| a.to_ascii_lowercase(), |ip| ip.to_string())
    });
    (target.is_socket(), host, addr, target.port)
}

fn same_server(a: &[Target], b: &[Target]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| server_key(x) == server_key(y))
}

fn describe(targets: &[Target]) -> String {
    targets
        .iter()
        .map(Target::display)
        .collect::<Vec<_>>()
        .join(",")
}

fn check_between(parsed: &Parsed, findings: &mut Vec<Finding>) {
    let pairs = [
        (Var::App, Var::Service),
        (Var::Root, Var::App),
        (Var::Root, Var::Service),
    ];
    for (a, b) in pairs {
        let (Some(da), Some(db)) = (parsed.get(&a), parsed.get(&b)) else {
            continue;
        };
        // The finding goes on the DSN that is more likely the wrong one:
        // the later runtime DSN, or the runtime one rather than the admin.
        let (reported, other) = (b, a);
        if let (Some(ua), Some(ub)) = (da.user(), db.user()) {
            if ua == ub && !ua.is_empty() {
                findings.push(Finding::error(
                    reported.name(),
                    "same-role",
                    format!(
                        "uses the same role \"{ub}\" as {}; app, service and admin must be three roles",
                        other.name()
                    ),
                ));
            } else if let (Some(pa), Some(pb)) = (da.password(), db.password())
                && pa == pb
                && !pa.is_empty()
            {
                findings.push(Finding::error(
                    reported.name(),
                    "shared-password",
                    format!(
                        "the role \"{ub}\" has the same password as {}",
                        other.name()
                    ),
                ));
            }
        }
    }

    if let (Some(app), Some(service)) = (parsed.get(&Var::App), parsed.get(&Var::Service)) {
        let (sa, ss) = (server(app), server(service));
        if !same_server(&sa, &ss) {
            findings.push(Finding::error(
                Var::Service.name(),
                "server-mismatch",
                format!(
                    "reaches {} but DATABASE_URL reaches {}",
                    describe(&ss),
                    describe(&sa)
                ),
            ));
        } else if app.dbname() != service.dbname() {
            findings.push(Finding::error(
                Var::Service.name(),
                "server-mismatch",
                format!(
                    "names database \"{}\" but DATABASE_URL names \"{}\"",
                    service.dbname().unwrap_or_default(),
                    app.dbname().unwrap_or_default()
                ),
            ));
        }
    }
    if let Some(root) = parsed.get(&Var::Root) {
        let runtime = parsed.get(&Var::App).or(parsed.get(&Var::Service));
        if let Some(runtime) = runtime {
            let (sr, st) = (server(root), server(runtime));
            if !same_server(&sr, &st) {
                findings.push(Finding::error(
                    Var::Root.name(),
                    "admin-server-mismatch",
                    format!(
                        "reaches {} but the runtime DSNs reach {}",
                        describe(&sr),
                        describe(&st)
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "postgres://admin_x:Root-pw-1@db:5432/postgres?sslmode=verify-full";
    const APP: &str = "postgres://app:App-pw-2@db:5432/shop?sslmode=verify-full";
    const SERVICE: &str = "postgres://shop_service:Svc-pw-3@db:5432/shop?sslmode=verify-full";

    fn inputs(root: Option<&str>, app: Option<&str>, service: Option<&str>) -> Inputs {
        let mut values = BTreeMap::new();
        for (var, v) in [(Var::Root, root), (Var::App, app), (Var::Service, service)] {
            if let Some(v) = v {
                values.insert(var, v.to_owned());
            }
        }
        Inputs {
            values,
            ..Inputs::default()
        }
    }

    fn rules(inputs: &Inputs) -> Vec<(&'static str, &'static str)> {
        check(inputs)
            .0
            .iter()
            .map(|f| (f.variable, f.rule))
            .collect()
    }

    #[test]
    fn a_good_set_has_no_findings() {
        let mut i = inputs(Some(ROOT), Some(APP), Some(SERVICE));
        i.production = true;
        assert_eq!(rules(&i), []);
    }

    #[test]
    fn missing_and_unparseable() {
        let i = inputs(None, Some("postgres://[::1"), Some(SERVICE));
        let (findings, parsed) = check(&i);
        let got: Vec<_> = findings
            .iter()
            .map(|f| (f.variable, f.rule, f.class))
            .collect();
        assert_eq!(
            got,
            [
                ("DATABASE_ROOT_URL", "missing", Class::Input),
                ("DATABASE_URL", "parse-error", Class::Input),
            ]
        );
        assert_eq!(parsed.len(), 1);
        // Connect-time libpq errors are parse errors here.
        let i = inputs(
            Some(ROOT),
            Some("postgres://app:A-1x@db/shop?sslmode=on"),
            Some(SERVICE),
        );
        assert_eq!(rules(&i), [("DATABASE_URL", "parse-error")]);
    }

    #[test]
    fn roles_must_differ_and_not_be_superusers() {
        let i = inputs(
            Some(ROOT),
            Some("postgres://postgres:Pg-pw-9@db:5432/shop?sslmode=verify-full"),
            Some("postgres://postgres:Pg-pw-9@db:5432/shop?sslmode=verify-full"),
        );
        assert_eq!(
            rules(&i),
            [
                ("DATABASE_URL", "superuser-name"),
                ("DATABASE_SERVICE_URL", "superuser-name"),
                ("DATABASE_SERVICE_URL", "same-role"),
            ]
        );
        let i = inputs(
            Some(ROOT),
            Some(APP.replace("app:", "admin_x:").as_str()),
            Some(SERVICE),
        );
        assert_eq!(rules(&i), [("DATABASE_URL", "same-role")]);
    }

    #[test]
    fn servers_and_databases_must_agree() {
        let i = inputs(
            Some("postgres://admin_x:Root-pw-1@other:5432/postgres?sslmode=verify-full"),
            Some(APP),
            Some(&SERVICE.replace("/shop", "/shop2")),
        );
        assert_eq!(
            rules(&i),
            [
                ("DATABASE_SERVICE_URL", "server-mismatch"),
                ("DATABASE_ROOT_URL", "admin-server-mismatch"),
            ]
        );
        let i = inputs(
            Some(ROOT),
            Some(APP),
            Some(&SERVICE.replace("5432", "5433")),
        );
        assert_eq!(rules(&i), [("DATABASE_SERVICE_URL", "server-mismatch")]);
        // Host names compare without regard to case, addresses by value.
        let i = inputs(
            Some(&ROOT.replace("@db:", "@DB:")),
            Some(APP),
            Some(&SERVICE.replace("@db:", "@Db:")),
        );
        assert_eq!(rules(&i), []);
        let i = inputs(
            Some(&format!("{ROOT}&hostaddr=10.0.0.1")),
            Some(&format!("{APP}&hostaddr=10.0.0.1")),
            Some(&format!("{SERVICE}&hostaddr=10.0.0.2")),
        );
        let (findings, _) = check(&i);
        let mismatch: Vec<_> = findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            mismatch,
            [
                "reaches db:5432 (hostaddr 10.0.0.2) but DATABASE_URL reaches db:5432 (hostaddr 10.0.0.1)"
            ]
        );
        let i = inputs(
            Some(&format!("{ROOT}&hostaddr=127.0.0.1")),
            Some(&format!("{APP}&hostaddr=127.1")),
            Some(&format!("{SERVICE}&hostaddr=127.0.0.1")),
        );
        assert_eq!(rules(&i), []);
    }

    #[test]
    fn connect_time_refusals_are_parse_errors() {
        for bad in [
            "postgres://app:A-1x@db/shop?sslmode=",
            "postgres://app:A-1x@db/shop?connect_timeout=2147483648",
            "postgres://app:A-1x@db:5432%C2%A0/shop",
            "postgres://app:A-1x@db/shop?hostaddr=db.internal",
            "postgres://app:A-1x@db/shop?sslrootcert=system&sslmode=require",
            "postgres://app:A-1x@db/shop?sslnegotiation=direct&sslmode=prefer",
            "postgres://app:A-1x@db/shop?gssencmode=on",
            "postgres://app:A-1x@db/shop?require_auth=md5,!password",
            "mysql://app:A-1x@db/shop",
        ] {
            let i = inputs(Some(ROOT), Some(bad), Some(SERVICE));
            let (findings, _) = check(&i);
            assert_eq!(findings[0].rule, "parse-error", "{bad}");
            assert_eq!(findings[0].class, Class::Input, "{bad}");
            assert!(!findings[0].message.contains("A-1x"), "{bad}");
        }
        // Production no longer reads an empty sslmode as prefer.
        let mut i = inputs(
            Some(ROOT),
            Some(&APP.replace("verify-full", "")),
            Some(SERVICE),
        );
        i.production = true;
        assert_eq!(rules(&i), [("DATABASE_URL", "parse-error")]);
    }

    #[test]
    fn passwords() {
        let i = inputs(
            Some(ROOT),
            Some("postgres://app:app@db:5432/shop?sslmode=verify-full"),
            Some("postgres://shop_service:ChangeMe@db:5432/shop?sslmode=verify-full"),
        );
        assert_eq!(
            rules(&i),
            [
                ("DATABASE_URL", "placeholder-password"),
                ("DATABASE_SERVICE_URL", "placeholder-password"),
            ]
        );
        let i = inputs(
            Some(ROOT),
            Some(APP),
            Some(&SERVICE.replace("Svc-pw-3", "App-pw-2")),
        );
        assert_eq!(rules(&i), [("DATABASE_SERVICE_URL", "shared-password")]);
        let (findings, _) = check(&i);
        assert!(findings.iter().all(|f| !f.message.contains("App-pw-2")));
    }

    #[test]
    fn system_database_and_missing_parts() {
        let i = inputs(
            Some(ROOT),
            Some("postgres://app:App-pw-2@db:5432/postgres?sslmode=verify-full"),
            Some("postgres://db:5432?sslmode=verify-full"),
        );
        assert_eq!(
            rules(&i),
            [
                ("DATABASE_URL", "system-database"),
                ("DATABASE_SERVICE_URL", "missing-user"),
                ("DATABASE_SERVICE_URL", "missing-password"),
                ("DATABASE_SERVICE_URL", "missing-database"),
                ("DATABASE_SERVICE_URL", "server-mismatch"),
            ]
        );
    }

    #[test]
    fn production_requires_tls() {
        use crate::findings::Severity::{Error, Warning};
        let mut i = inputs(
            Some(&ROOT.replace("verify-full", "require")),
            Some(&APP.replace("?sslmode=verify-full", "")),
            Some(SERVICE),
        );
        i.production = true;
        let (findings, _) = check(&i);
        let got: Vec<_> = findings
            .iter()
            .map(|f| (f.variable, f.rule, f.severity))
            .collect();
        assert_eq!(
            got,
            [
                ("DATABASE_ROOT_URL", "unverified-tls", Warning),
                ("DATABASE_URL", "insecure-sslmode", Error),
            ]
        );
        i.production = false;
        assert_eq!(rules(&i), []);
    }

    #[test]
    fn runtime_isolation() {
        let mut i = inputs(Some(ROOT), Some(APP), Some(SERVICE));
        i.runtime = true;
        for name in [
            "APP_DB_PASSWORD",
            "POSTGRES_ROOT_USER",
            "POSTGRES_PASSWORD",
            "HOME",
        ] {
            i.environment.insert(name.into(), "x".into());
        }
        assert_eq!(
            rules(&i),
            [
                ("DATABASE_ROOT_URL", "admin-dsn-present"),
                ("environment", "legacy-variable"),
                ("environment", "legacy-variable"),
                ("environment", "legacy-variable"),
            ]
        );
        let mut i = inputs(None, Some(APP), Some(SERVICE));
        i.runtime = true;
        assert_eq!(rules(&i), []);
    }
}
