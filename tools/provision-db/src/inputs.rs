//! From three DSNs to the desired state, before any connection.
//!
//! Everything the provisioner converges is derived from `DATABASE_URL` and
//! `DATABASE_SERVICE_URL`; `DATABASE_ROOT_URL` only says how to get in. The
//! three must agree (one server, one database, three different roles) and
//! the names must be ones Postgres accepts as written, or nothing is
//! touched (exit 2). Pure and unit-tested here.

use std::collections::BTreeMap;

use deploykit::dsn::{Dsn, Target};
use deploykit::exit::{Error, Result};
use deploykit::sql::{check_name, quote_ident};

use crate::plan::{Desired, Login, MarkerSpec, OwnerChoice};

/// The three parsed DSNs.
#[derive(Debug, Clone)]
pub struct Dsns {
    /// DATABASE_ROOT_URL.
    pub root: Dsn,
    /// DATABASE_URL.
    pub app: Dsn,
    /// DATABASE_SERVICE_URL.
    pub service: Dsn,
}

/// The flags that shape the desired state.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--owner`.
    pub owner: OwnerChoice,
    /// `--schema`, in order.
    pub schemas: Vec<String>,
    /// Not `--no-service-bypassrls`.
    pub service_bypassrls: bool,
    /// `--env-marker`.
    pub env_marker: Option<String>,
    /// `--marker-table`.
    pub marker_table: String,
}

/// The variables' names, for messages.
const ROOT: &str = "DATABASE_ROOT_URL";
const APP: &str = "DATABASE_URL";
const SERVICE: &str = "DATABASE_SERVICE_URL";

/// Databases that must never be handed to a service.
const SYSTEM_DATABASES: [&str; 3] = ["postgres", "template0", "template1"];

/// Parses and cross-checks the DSNs; every problem is listed in one usage
/// error, none of them showing a password.
pub fn derive(
    values: &BTreeMap<&'static str, String>,
    options: &Options,
) -> Result<(Dsns, Desired)> {
    let mut problems: Vec<String> = Vec::new();
    let mut parse = |var: &'static str| -> Option<Dsn> {
        let Some(raw) = values.get(var).filter(|v| !v.is_empty()) else {
            problems.push(format!("{var} is not set"));
            return None;
        };
        let checked = Dsn::parse(raw).and_then(|d| {
            d.sslmode()?;
            d.targets()?;
            d.connect_timeout()?;
            Ok(d)
        });
        match checked {
            Ok(dsn) => Some(dsn),
            Err(e) => {
                problems.push(format!("{var} does not parse: {e}"));
                None
            }
        }
    };
    let (root, app, service) = (parse(ROOT), parse(APP), parse(SERVICE));
    let (Some(root), Some(app), Some(service)) = (root, app, service) else {
        return Err(Error::usage(format!(
            "{}; nothing was touched",
            problems.join("; ")
        )));
    };

    let mut login = |var: &str, dsn: &Dsn| -> Login {
        let name = dsn.user().unwrap_or_default().to_owned();
        if name.is_empty() {
            problems.push(format!("{var} names no user: {dsn}"));
        } else if let Err(why) = check_role_name(&name) {
            problems.push(format!("{var}: role {}: {why}", quote_ident(&name)));
        }
        let password = dsn.password().cloned().unwrap_or_default();
        if password.is_empty() {
            problems.push(format!("{var} has no password: {dsn}"));
        } else if let Some(why) = password.weakness(Some(&name)) {
            // The same rule as validate-dsns: a role is never given a
            // password anyone could guess.
            problems.push(format!("{var}: the password of {dsn} is {why}"));
        }
        Login { name, password }
    };
    let app_login = login(APP, &app);
    let service_login = login(SERVICE, &service);
    let admin = root.user().unwrap_or_default();

    if !app_login.name.is_empty() && app_login.name == service_login.name {
        problems.push(format!(
            "{APP} and {SERVICE} name the same role {}; the app and service roles must differ",
            quote_ident(&app_login.name)
        ));
    }
    for (var, l) in [(APP, &app_login), (SERVICE, &service_login)] {
        if !admin.is_empty() && l.name == admin {
            problems.push(format!(
                "{var} names the admin role {} of {ROOT}; runtime roles must not be the admin",
                quote_ident(admin)
            ));
        }
    }
    if !app_login.password.is_empty() && app_login.password == service_login.password {
        problems.push(format!(
            "{APP} and {SERVICE} have the same password; give each role its own"
        ));
    }

    let database = app.dbname().unwrap_or_default().to_owned();
    let service_db = service.dbname().unwrap_or_default();
    if database.is_empty() {
        problems.push(format!("{APP} names no database: {app}"));
    } else if service_db != database {
        problems.push(format!(
            "{APP} names database {} but {SERVICE} names {}; both runtime DSNs must name one database",
            quote_ident(&database),
            quote_ident(service_db)
        ));
    } else if let Err(why) = check_name(&database) {
        problems.push(format!("database {}: {why}", quote_ident(&database)));
    } else if SYSTEM_DATABASES.contains(&database.as_str()) {
        problems.push(format!(
            "the runtime DSNs name the system database {}; give the service its own database",
            quote_ident(&database)
        ));
    }

    let targets = |d: &Dsn| d.targets().unwrap_or_default();
    let describe = |t: &[Target]| t.iter().map(Target::display).collect::<Vec<_>>().join(",");
    let (tr, ta, ts) = (targets(&root), targets(&app), targets(&service));
    if ta != ts {
        problems.push(format!(
            "{APP} reaches {} but {SERVICE} reaches {}; both must reach one server",
            describe(&ta),
            describe(&ts)
        ));
    } else if tr != ta {
        problems.push(format!(
            "{ROOT} reaches {} but the runtime DSNs reach {}; the admin DSN must reach the same server",
            describe(&tr),
            describe(&ta)
        ));
    }

    let mut schemas: Vec<String> = Vec::new();
    for s in &options.schemas {
        if let Err(why) = check_name(s) {
            problems.push(format!("--schema {}: {why}", quote_ident(s)));
        } else if s.starts_with("pg_") {
            problems.push(format!(
                "--schema {}: names starting with pg_ are reserved for system schemas",
                quote_ident(s)
            ));
        } else if !schemas.contains(s) {
            schemas.push(s.clone());
        }
    }
    if schemas.is_empty() && problems.is_empty() {
        problems.push("no --schema to manage".into());
    }

    if options.env_marker.as_ref().is_some_and(String::is_empty) {
        problems.push("--env-marker is empty".into());
    }
    let marker = match split_table(&options.marker_table) {
        Err(why) => {
            problems.push(format!("--marker-table: {why}"));
            None
        }
        Ok((schema, table)) => {
            let schema = schema
                .or_else(|| schemas.first().cloned())
                .unwrap_or_default();
            if schemas.contains(&schema) {
                Some(MarkerSpec {
                    schema,
                    table,
                    env: options.env_marker.clone(),
                })
            } else {
                if options.env_marker.is_some() {
                    problems.push(format!(
                        "--marker-table: schema {} is not one of the --schema list",
                        quote_ident(&schema)
                    ));
                }
                None
            }
        }
    };

    if !problems.is_empty() {
        return Err(Error::usage(format!(
            "{}; nothing was touched",
            problems.join("; ")
        )));
    }
    let desired = Desired {
        database,
        app: app_login,
        service: service_login,
        service_bypassrls: options.service_bypassrls,
        owner: options.owner,
        schemas,
        marker,
    };
    Ok((Dsns { root, app, service }, desired))
}

/// A role name Postgres accepts as written: `check_name`, and not one of
/// the names it reserves (`pg_*`, `public`, `none`).
pub fn check_role_name(name: &str) -> std::result::Result<(), String> {
    check_name(name)?;
    if name.starts_with("pg_") {
        Err("role names starting with pg_ are reserved".into())
    } else if matches!(name, "public" | "none") {
        Err(format!("the role name {name} is reserved"))
    } else {
        Ok(())
    }
}

/// `table`, `schema.table`, with `"…"` quoting for parts holding dots or
/// quotes (`"a.b"."t"`), as `deploykit::sql::quote_qualified` reads them.
fn split_table(text: &str) -> std::result::Result<(Option<String>, String), String> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', false) => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                parts.last_mut().map(|p| p.push('"')).unwrap_or_default();
            }
            ('"', true) => quoted = false,
            ('.', false) => parts.push(String::new()),
            (c, _) => parts.last_mut().map(|p| p.push(c)).unwrap_or_default(),
        }
    }
    if quoted {
        return Err(format!("unterminated quote in {text:?}"));
    }
    for p in &parts {
        check_name(p).map_err(|why| format!("{text:?}: {why}"))?;
    }
    match parts.len() {
        1 => Ok((None, parts.remove(0))),
        2 => {
            let table = parts.remove(1);
            Ok((Some(parts.remove(0)), table))
        }
        _ => Err(format!("{text:?} is not `table` or `schema.table`")),
    }
}

/// The secret-free summary of the three DSNs for `-v`.
pub fn describe(dsns: &Dsns) -> String {
    format!(
        "admin {}, app {}, service {}",
        dsns.root, dsns.app, dsns.service
    )
}

/// Whether `CONFIRM_PROD_MIGRATE` lifts the production lock (exactly `YES`).
pub fn confirmed(value: Option<&str>) -> bool {
    value == Some("YES")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT_DSN: &str = "postgres://postgres:pl4nted-root-pw@127.0.0.1:5432/postgres";
    const APP_DSN: &str = "postgres://app:pl4nted-app-pw@127.0.0.1:5432/shop";
    const SVC_DSN: &str = "postgres://svc:pl4nted-svc-pw@127.0.0.1:5432/shop";

    fn options() -> Options {
        Options {
            owner: OwnerChoice::Service,
            schemas: vec!["public".into()],
            service_bypassrls: true,
            env_marker: None,
            marker_table: "bk_env_marker".into(),
        }
    }

    fn values(root: &str, app: &str, svc: &str) -> BTreeMap<&'static str, String> {
        let mut v = BTreeMap::new();
        for (k, val) in [(ROOT, root), (APP, app), (SERVICE, svc)] {
            if !val.is_empty() {
                v.insert(k, val.to_owned());
            }
        }
        v
    }

    fn error(root: &str, app: &str, svc: &str, options: &Options) -> String {
        let err = derive(&values(root, app, svc), options)
            .err()
            .unwrap_or_else(|| panic!("must fail"));
        assert_eq!(err.status(), deploykit::Exit::Usage);
        let text = err.to_string();
        for secret in ["pl4nted-root-pw", "pl4nted-app-pw", "pl4nted-svc-pw"] {
            assert!(!text.contains(secret), "{text}");
        }
        text
    }

    #[test]
    fn a_good_set_derives_everything() {
        let (dsns, d) = derive(&values(ROOT_DSN, APP_DSN, SVC_DSN), &options())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.database, "shop");
        assert_eq!(
            (d.app.name.as_str(), d.app.password.expose()),
            ("app", "pl4nted-app-pw")
        );
        assert_eq!(
            (d.service.name.as_str(), d.service.password.expose()),
            ("svc", "pl4nted-svc-pw")
        );
        assert_eq!(dsns.root.user(), Some("postgres"));
        assert!(!describe(&dsns).contains("pl4nted"));
        let m = d
            .marker
            .unwrap_or_else(|| panic!("the marker table is always known"));
        assert_eq!(m.env, None);
    }

    #[test]
    fn disagreeing_dsns_are_refused() {
        let text = error(
            ROOT_DSN,
            APP_DSN,
            &SVC_DSN.replace("/shop", "/shop2"),
            &options(),
        );
        assert!(
            text.contains("names database \"shop\" but DATABASE_SERVICE_URL names \"shop2\""),
            "{text}"
        );
        let text = error(
            &ROOT_DSN.replace("127.0.0.1", "10.9.9.9"),
            APP_DSN,
            SVC_DSN,
            &options(),
        );
        assert!(
            text.contains("DATABASE_ROOT_URL reaches 10.9.9.9:5432"),
            "{text}"
        );
        let text = error(
            ROOT_DSN,
            APP_DSN,
            &SVC_DSN.replace(":5432", ":5433"),
            &options(),
        );
        assert!(text.contains("both must reach one server"), "{text}");
        let text = error(
            ROOT_DSN,
            APP_DSN,
            &APP_DSN.replace("pl4nted-app-pw", "other"),
            &options(),
        );
        assert!(text.contains("same role \"app\""), "{text}");
        let text = error(
            ROOT_DSN,
            &APP_DSN.replace("app:", "postgres:"),
            SVC_DSN,
            &options(),
        );
        assert!(text.contains("admin role"), "{text}");
        let text = error(
            ROOT_DSN,
            APP_DSN,
            &SVC_DSN.replace("pl4nted-svc-pw", "pl4nted-app-pw"),
            &options(),
        );
        assert!(text.contains("same password"), "{text}");
    }

    /// validate-dsns' password rule: a placeholder or the user name is refused.
    #[test]
    fn guessable_passwords_are_refused() {
        let text = error(
            ROOT_DSN,
            "postgres://app:changeme@127.0.0.1:5432/shop",
            SVC_DSN,
            &options(),
        );
        assert!(
            text.contains("DATABASE_URL: the password of postgres://app:***@127.0.0.1:5432/shop is a well-known placeholder"),
            "{text}"
        );
        let text = error(
            ROOT_DSN,
            APP_DSN,
            "postgres://svc:SVC@127.0.0.1:5432/shop",
            &options(),
        );
        assert!(text.contains("is the user name"), "{text}");
        assert!(
            !text.contains("changeme") && !text.contains("SVC@"),
            "{text}"
        );
    }

    #[test]
    fn missing_and_broken_values_are_listed_together() {
        let text = error("", "postgres://app:x@[::1", SVC_DSN, &options());
        assert!(text.contains("DATABASE_ROOT_URL is not set"), "{text}");
        assert!(text.contains("DATABASE_URL does not parse"), "{text}");
        let text = error(
            ROOT_DSN,
            "postgres://app@127.0.0.1:5432/shop",
            SVC_DSN,
            &options(),
        );
        assert!(text.contains("DATABASE_URL has no password"), "{text}");
        let text = error(
            ROOT_DSN,
            "postgres://app:pw1@127.0.0.1:5432",
            SVC_DSN,
            &options(),
        );
        assert!(text.contains("names no database"), "{text}");
        let text = error(
            ROOT_DSN,
            &APP_DSN.replace("/shop", "/postgres"),
            &SVC_DSN.replace("/shop", "/postgres"),
            &options(),
        );
        assert!(text.contains("system database"), "{text}");
    }

    #[test]
    fn names_postgres_would_reject_are_refused_and_hostile_ones_kept() {
        let long = "x".repeat(64);
        let text = error(
            ROOT_DSN,
            &APP_DSN.replace("app:", &format!("{long}:")),
            SVC_DSN,
            &options(),
        );
        assert!(text.contains("63 bytes"), "{text}");
        let text = error(
            ROOT_DSN,
            &APP_DSN.replace("app:", "pg_app:"),
            SVC_DSN,
            &options(),
        );
        assert!(text.contains("reserved"), "{text}");
        let text = error(
            ROOT_DSN,
            &APP_DSN.replace("app:", "public:"),
            SVC_DSN,
            &options(),
        );
        assert!(text.contains("reserved"), "{text}");
        let hostile = APP_DSN.replace("app:", "a%22b%3B%20DROP%20TABLE%20x:");
        let (_, d) = derive(&values(ROOT_DSN, &hostile, SVC_DSN), &options())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.app.name, "a\"b; DROP TABLE x");
    }

    #[test]
    fn the_marker_table_goes_in_a_managed_schema() {
        let mut o = options();
        o.env_marker = Some("prod".into());
        let (_, d) =
            derive(&values(ROOT_DSN, APP_DSN, SVC_DSN), &o).unwrap_or_else(|e| panic!("{e}"));
        let m = d.marker.unwrap_or_else(|| panic!("marker"));
        assert_eq!(
            (m.schema.as_str(), m.table.as_str(), m.env.as_deref()),
            ("public", "bk_env_marker", Some("prod"))
        );
        o.schemas = vec!["app".into(), "public".into()];
        o.marker_table = "\"public\".\"my.marker\"".into();
        let (_, d) =
            derive(&values(ROOT_DSN, APP_DSN, SVC_DSN), &o).unwrap_or_else(|e| panic!("{e}"));
        let m = d.marker.unwrap_or_else(|| panic!("marker"));
        assert_eq!(
            (m.schema.as_str(), m.table.as_str()),
            ("public", "my.marker")
        );
        o.marker_table = "other.bk_env_marker".into();
        let text = error(ROOT_DSN, APP_DSN, SVC_DSN, &o);
        assert!(text.contains("not one of the --schema list"), "{text}");
        o.marker_table = "a.b.c".into();
        assert!(error(ROOT_DSN, APP_DSN, SVC_DSN, &o).contains("schema.table"));
    }

    #[test]
    fn only_yes_confirms() {
        assert!(confirmed(Some("YES")));
        assert!(!confirmed(Some("yes")) && !confirmed(Some("1")) && !confirmed(None));
    }
}
