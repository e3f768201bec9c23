//! The planner against hand-made facts: each drift yields exactly its
//! statements, a converged state yields only `unchanged`.

use super::*;
use crate::facts::{Admin, Database, Inside};

const APP_PW: &str = "pl4nted-app-pw";
const SVC_PW: &str = "pl4nted-svc-pw";

fn desired() -> Desired {
    Desired {
        database: "shop".into(),
        app: Login {
            name: "app".into(),
            password: Secret::new(APP_PW),
        },
        service: Login {
            name: "svc".into(),
            password: Secret::new(SVC_PW),
        },
        service_bypassrls: true,
        owner: OwnerChoice::Service,
        schemas: vec!["public".into()],
        marker: None,
    }
}

fn superuser() -> Admin {
    Admin {
        name: "postgres".into(),
        superuser: true,
        createrole: true,
        createdb: true,
        bypassrls: true,
        reads_authid: true,
    }
}

fn managed_admin() -> Admin {
    Admin {
        name: "adm".into(),
        superuser: false,
        createrole: true,
        createdb: true,
        bypassrls: false,
        reads_authid: false,
    }
}

fn role(password: &str, bypassrls: bool) -> Role {
    Role {
        superuser: false,
        createdb: false,
        createrole: false,
        bypassrls,
        replication: false,
        login: true,
        expired: false,
        no_connections: false,
        member_of: Vec::new(),
        password: StoredPassword::Stored(scram::verifier(&Secret::new(password))),
        admin_is_member: true,
    }
}

fn rel(name: &str, privileges: &[&str]) -> Relation {
    let mut acl = Acl::default();
    for p in privileges {
        acl.insert(Some("app"), p);
    }
    Relation {
        name: name.into(),
        owner: "svc".into(),
        admin_can_grant: true,
        acl,
    }
}

/// The state one run on a fresh server leaves behind.
fn converged() -> Facts {
    let public = Schema {
        name: "public".into(),
        owner: Some("pg_database_owner".into()),
        acl: Acl::from_pairs([
            (Some("pg_database_owner"), "USAGE"),
            (Some("pg_database_owner"), "CREATE"),
            (None, "USAGE"),
            (Some("app"), "USAGE"),
        ]),
        tables: vec![rel("orders", &TABLE_PRIVILEGES)],
        sequences: vec![rel("orders_id_seq", &SEQUENCE_PRIVILEGES)],
        default_tables: Acl::from_pairs(TABLE_PRIVILEGES.map(|p| (Some("app"), p))),
        default_sequences: Acl::from_pairs(SEQUENCE_PRIVILEGES.map(|p| (Some("app"), p))),
    };
    Facts {
        server_version_num: 150_018,
        admin: superuser(),
        app: Some(role(APP_PW, false)),
        service: Some(role(SVC_PW, true)),
        database: Some(Database {
            owner: "svc".into(),
            acl: Acl::from_pairs([
                (Some("svc"), "CREATE"),
                (Some("svc"), "TEMPORARY"),
                (Some("svc"), "CONNECT"),
                (Some("app"), "CONNECT"),
            ]),
        }),
        inside: Inside {
            predicted: false,
            schemas: vec![public],
            marker: Marker::Absent,
            global_default_tables: Acl::default(),
            global_default_sequences: Acl::default(),
        },
    }
}

fn fresh(admin: Admin) -> Facts {
    Facts {
        server_version_num: 150_018,
        admin,
        app: None,
        service: None,
        database: None,
        inside: Inside::fresh(&["public".into()], 150_018, "postgres"),
    }
}

/// The redacted statements of the changed actions.
fn statements(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .flat_map(|a| a.statements.iter().map(ToString::to_string))
        .collect()
}

fn changes(plan: &Plan) -> Vec<(String, &'static str, Verb)> {
    plan.actions
        .iter()
        .filter(|a| a.is_change())
        .map(|a| (a.object.clone(), a.kind, a.action))
        .collect()
}

fn ok(facts: &Facts, desired: &Desired) -> Plan {
    plan(facts, desired).unwrap_or_else(|r| panic!("refused: {}", r.message))
}

#[test]
fn a_fresh_server_gets_everything_in_order() {
    let p = ok(&fresh(superuser()), &desired());
    assert_eq!(
        statements(&p),
        [
            "CREATE ROLE \"app\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
            "ALTER ROLE \"app\" PASSWORD '***'",
            "CREATE ROLE \"svc\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS",
            "ALTER ROLE \"svc\" PASSWORD '***'",
            "CREATE DATABASE \"shop\" OWNER \"svc\"",
            "REVOKE ALL ON DATABASE \"shop\" FROM PUBLIC",
            "GRANT CONNECT ON DATABASE \"shop\" TO \"app\"",
            "GRANT USAGE ON SCHEMA \"public\" TO \"app\"",
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"svc\" IN SCHEMA \"public\" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO \"app\"",
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"svc\" IN SCHEMA \"public\" GRANT USAGE, SELECT ON SEQUENCES TO \"app\"",
        ]
    );
    assert!(p.changed() && p.drift());
    let create_db = p
        .actions
        .iter()
        .find(|a| a.kind == "database")
        .unwrap_or_else(|| panic!());
    assert!(
        !create_db.transactional,
        "CREATE DATABASE cannot run in a transaction"
    );
    // The server-scope actions come first, then the ones inside the database.
    let scopes: Vec<Scope> = p.actions.iter().map(|a| a.scope).collect();
    let first_inside = scopes
        .iter()
        .position(|s| *s == Scope::Database)
        .unwrap_or(scopes.len());
    assert!(scopes[first_inside..].iter().all(|s| *s == Scope::Database));
}

#[test]
fn passwords_are_sent_as_verifiers_only() {
    let p = ok(&fresh(superuser()), &desired());
    let pw: Vec<&Action> = p.actions.iter().filter(|a| a.kind == "password").collect();
    assert_eq!(pw.len(), 2);
    for (action, secret) in pw.iter().zip([APP_PW, SVC_PW]) {
        let st = &action.statements[0];
        assert!(!st.sql().contains(secret), "plaintext in {}", st.sql());
        assert!(
            st.sql().contains("PASSWORD 'SCRAM-SHA-256$4096:"),
            "{}",
            st.sql()
        );
        let shown = format!(
            "{st} {action} {action:?} {}",
            serde_json::to_string(action).unwrap_or_default()
        );
        assert!(
            !shown.contains("SCRAM-SHA-256$") && !shown.contains(secret),
            "{shown}"
        );
    }
}

#[test]
fn a_converged_state_is_all_unchanged() {
    let p = ok(&converged(), &desired());
    assert_eq!(changes(&p), []);
    assert!(!p.changed() && !p.drift());
    let kinds: Vec<(&str, &str)> = p
        .actions
        .iter()
        .map(|a| (a.object.as_str(), a.kind))
        .collect();
    assert!(kinds.contains(&("role \"app\"", "password")), "{kinds:?}");
    assert!(
        kinds.contains(&("database \"shop\"", "database")),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("schema \"public\"", "default privileges")),
        "{kinds:?}"
    );
}

#[test]
fn each_role_drift_yields_exactly_its_alter() {
    type Drift = fn(&mut Role);
    let cases: [(Drift, &str); 7] = [
        (|r| r.bypassrls = true, "ALTER ROLE \"app\" NOBYPASSRLS"),
        (
            |r| r.expired = true,
            "ALTER ROLE \"app\" VALID UNTIL 'infinity'",
        ),
        (
            |r| r.no_connections = true,
            "ALTER ROLE \"app\" CONNECTION LIMIT -1",
        ),
        (|r| r.createdb = true, "ALTER ROLE \"app\" NOCREATEDB"),
        (|r| r.createrole = true, "ALTER ROLE \"app\" NOCREATEROLE"),
        (|r| r.superuser = true, "ALTER ROLE \"app\" NOSUPERUSER"),
        (|r| r.login = false, "ALTER ROLE \"app\" LOGIN"),
    ];
    for (drift, expected) in cases {
        let mut facts = converged();
        if let Some(app) = facts.app.as_mut() {
            drift(app);
        }
        let p = ok(&facts, &desired());
        assert_eq!(statements(&p), [expected]);
        assert_eq!(changes(&p), [("role \"app\"".into(), "role", Verb::Alter)]);
    }
    // Several at once: one ALTER.
    let mut facts = converged();
    if let Some(app) = facts.app.as_mut() {
        app.createdb = true;
        app.bypassrls = true;
    }
    assert_eq!(
        statements(&ok(&facts, &desired())),
        ["ALTER ROLE \"app\" NOCREATEDB NOBYPASSRLS"]
    );
    // The service role's BYPASSRLS follows --no-service-bypassrls.
    let mut d = desired();
    d.service_bypassrls = false;
    assert_eq!(
        statements(&ok(&converged(), &d)),
        ["ALTER ROLE \"svc\" NOBYPASSRLS"]
    );
}

#[test]
fn a_changed_password_is_set_again() {
    let mut facts = converged();
    if let Some(app) = facts.app.as_mut() {
        app.password = StoredPassword::Stored(scram::verifier(&Secret::new("old-password")));
    }
    let p = ok(&facts, &desired());
    assert_eq!(statements(&p), ["ALTER ROLE \"app\" PASSWORD '***'"]);
    // An MD5 hash or no password at all: set too.
    for stored in [
        StoredPassword::Missing,
        StoredPassword::Stored(Secret::new("md5abc")),
    ] {
        let mut facts = converged();
        if let Some(svc) = facts.service.as_mut() {
            svc.password = stored;
        }
        assert_eq!(
            statements(&ok(&facts, &desired())),
            ["ALTER ROLE \"svc\" PASSWORD '***'"]
        );
    }
}

#[test]
fn database_drift_is_put_back() {
    // PUBLIC got CONNECT back, the app lost its CONNECT and gained CREATE.
    let mut facts = converged();
    if let Some(db) = facts.database.as_mut() {
        db.acl = Acl::from_pairs([
            (Some("svc"), "CONNECT"),
            (None, "CONNECT"),
            (Some("app"), "CREATE"),
        ]);
    }
    assert_eq!(
        statements(&ok(&facts, &desired())),
        [
            "REVOKE ALL ON DATABASE \"shop\" FROM PUBLIC",
            "GRANT CONNECT ON DATABASE \"shop\" TO \"app\"",
            "REVOKE CREATE ON DATABASE \"shop\" FROM \"app\"",
        ]
    );
    // Another owner: the database is given back.
    let mut facts = converged();
    if let Some(db) = facts.database.as_mut() {
        db.owner = "someone".into();
        db.acl = Acl::from_pairs([
            (Some("someone"), "CREATE"),
            (Some("someone"), "TEMPORARY"),
            (Some("someone"), "CONNECT"),
            (Some("app"), "CONNECT"),
        ]);
    }
    assert_eq!(
        statements(&ok(&facts, &desired())),
        ["ALTER DATABASE \"shop\" OWNER TO \"svc\""]
    );
}

#[test]
fn schema_drift_is_put_back() {
    let mut facts = converged();
    let s = &mut facts.inside.schemas[0];
    s.acl.insert(None, "CREATE");
    s.acl.insert(Some("app"), "CREATE");
    s.tables.push(rel("new_table", &["SELECT"]));
    s.tables.push(rel("other", &[]));
    s.sequences.push(rel("other_seq", &["SELECT"]));
    s.default_tables = Acl::default();
    assert_eq!(
        statements(&ok(&facts, &desired())),
        [
            "REVOKE CREATE ON SCHEMA \"public\" FROM PUBLIC, \"app\"",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE \"public\".\"new_table\" TO \"app\"",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE \"public\".\"other\" TO \"app\"",
            "GRANT USAGE, SELECT ON SEQUENCE \"public\".\"other_seq\" TO \"app\"",
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"svc\" IN SCHEMA \"public\" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO \"app\"",
        ]
    );
    // A listed schema that does not exist is created for the owner.
    let mut d = desired();
    d.schemas.push("billing".into());
    let mut facts = converged();
    facts.inside.schemas.push(Schema::absent("billing"));
    assert_eq!(
        statements(&ok(&facts, &d)),
        [
            "CREATE SCHEMA \"billing\" AUTHORIZATION \"svc\"",
            "GRANT USAGE ON SCHEMA \"billing\" TO \"app\"",
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"svc\" IN SCHEMA \"billing\" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO \"app\"",
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"svc\" IN SCHEMA \"billing\" GRANT USAGE, SELECT ON SEQUENCES TO \"app\"",
        ]
    );
}

#[test]
fn owner_root_gives_the_service_role_what_the_app_role_gets() {
    let mut d = desired();
    d.owner = OwnerChoice::Root;
    let st = statements(&ok(&fresh(superuser()), &d));
    assert!(
        st.contains(&"CREATE DATABASE \"shop\" OWNER \"postgres\"".to_owned()),
        "{st:#?}"
    );
    assert!(
        st.contains(&"GRANT CONNECT ON DATABASE \"shop\" TO \"svc\"".to_owned()),
        "{st:#?}"
    );
    assert!(
        st.contains(&"GRANT USAGE ON SCHEMA \"public\" TO \"svc\"".to_owned()),
        "{st:#?}"
    );
    assert!(
        st.contains(
            &"ALTER DEFAULT PRIVILEGES FOR ROLE \"postgres\" IN SCHEMA \"public\" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO \"svc\""
                .to_owned()
        ),
        "{st:#?}"
    );
}

#[test]
fn managed_postgres_sets_passwords_every_run_but_that_is_not_drift() {
    let mut d = desired();
    d.service_bypassrls = false;
    let mut facts = converged();
    facts.admin = managed_admin();
    for r in [facts.app.as_mut(), facts.service.as_mut()]
        .into_iter()
        .flatten()
    {
        r.password = StoredPassword::Unreadable;
        r.bypassrls = false;
    }
    let p = ok(&facts, &d);
    assert_eq!(
        statements(&p),
        [
            "ALTER ROLE \"app\" PASSWORD '***'",
            "ALTER ROLE \"svc\" PASSWORD '***'"
        ]
    );
    assert!(p.changed() && !p.drift() && p.passwords_unverifiable);
    assert!(p.actions.iter().any(|a| a.detail.contains("on every run")));
}

#[test]
fn managed_postgres_on_a_fresh_server_grants_the_admin_membership_first() {
    let mut d = desired();
    d.service_bypassrls = false;
    let p = ok(&fresh(managed_admin()), &d);
    let st = statements(&p);
    let member = st.iter().position(|s| s == "GRANT \"svc\" TO \"adm\"");
    let create = st
        .iter()
        .position(|s| s == "CREATE DATABASE \"shop\" OWNER \"svc\"");
    assert!(member.is_some() && member < create, "{st:#?}");
    // Attributes are only named when they differ: a non-superuser may not
    // even say NOSUPERUSER on PostgreSQL 15, but CREATE ROLE may.
    assert!(
        st[0].starts_with("CREATE ROLE \"app\" LOGIN NOSUPERUSER"),
        "{st:#?}"
    );
}

#[test]
fn missing_privileges_are_named_before_anything_runs() {
    // BYPASSRLS for the service role needs a superuser on PostgreSQL 15.
    let r = plan(&fresh(managed_admin()), &desired())
        .err()
        .unwrap_or_else(|| panic!("must refuse"));
    assert_eq!(r.status, Exit::Denied);
    assert!(r.message.contains("SUPERUSER"), "{}", r.message);
    assert!(
        r.message.contains("--no-service-bypassrls"),
        "{}",
        r.message
    );
    assert!(r.message.contains("nothing changed"), "{}", r.message);
    // …but PostgreSQL 16 lets a CREATEROLE admin that has BYPASSRLS hand it out.
    let mut facts = fresh(Admin {
        bypassrls: true,
        ..managed_admin()
    });
    facts.server_version_num = 160_004;
    assert!(plan(&facts, &desired()).is_ok());

    // No CREATEROLE.
    let mut d = desired();
    d.service_bypassrls = false;
    let admin = Admin {
        createrole: false,
        ..managed_admin()
    };
    let r = plan(&fresh(admin), &d)
        .err()
        .unwrap_or_else(|| panic!("must refuse"));
    assert_eq!(r.status, Exit::Denied);
    assert!(
        r.message
            .starts_with("the admin role \"adm\" lacks CREATEROLE (to create role \"app\")"),
        "{}",
        r.message
    );
    // No CREATEDB.
    let admin = Admin {
        createdb: false,
        ..managed_admin()
    };
    let r = plan(&fresh(admin), &d)
        .err()
        .unwrap_or_else(|| panic!("must refuse"));
    assert!(
        r.message.contains("CREATEDB (to create database \"shop\")"),
        "{}",
        r.message
    );
    // Drift a managed admin cannot repair: the app role became a superuser.
    let mut facts = converged();
    facts.admin = managed_admin();
    if let Some(app) = facts.app.as_mut() {
        app.superuser = true;
    }
    let r = plan(&facts, &d)
        .err()
        .unwrap_or_else(|| panic!("must refuse"));
    assert!(r.message.contains("SUPERUSER"), "{}", r.message);
    // A converged server needs nothing of a managed admin but CREATEROLE
    // for the passwords.
    let mut facts = converged();
    facts.admin = Admin {
        createdb: false,
        ..managed_admin()
    };
    if let Some(svc) = facts.service.as_mut() {
        svc.bypassrls = false;
    }
    assert!(plan(&facts, &d).is_ok());
}

#[test]
fn the_marker_is_created_verified_or_refused() {
    let mut d = desired();
    d.marker = Some(MarkerSpec {
        schema: "public".into(),
        table: "bk_env_marker".into(),
        env: Some("prod".into()),
    });
    // Absent: created, after everything else.
    let p = ok(&converged(), &d);
    assert_eq!(
        statements(&p),
        [
            "CREATE TABLE \"public\".\"bk_env_marker\" (id integer PRIMARY KEY CHECK (id = 1), env text NOT NULL)",
            "INSERT INTO \"public\".\"bk_env_marker\" (id, env) VALUES (1, 'prod')",
            "ALTER TABLE \"public\".\"bk_env_marker\" OWNER TO \"svc\"",
            "GRANT SELECT ON TABLE \"public\".\"bk_env_marker\" TO \"app\"",
        ]
    );
    // Present and right: unchanged; the app's writes on it are taken back
    // and the DML grant on "all tables" leaves it out.
    let mut facts = converged();
    facts.inside.marker = Marker::Present(vec!["prod".into()]);
    facts.inside.schemas[0]
        .tables
        .push(rel("bk_env_marker", &["SELECT"]));
    assert_eq!(changes(&ok(&facts, &d)), []);
    facts.inside.schemas[0].tables.pop();
    facts.inside.schemas[0]
        .tables
        .push(rel("bk_env_marker", &TABLE_PRIVILEGES));
    assert_eq!(
        statements(&ok(&facts, &d)),
        ["REVOKE INSERT, UPDATE, DELETE ON TABLE \"public\".\"bk_env_marker\" FROM \"app\""]
    );
    // Without --env-marker an existing marker is neither verified nor
    // given to the app for writing.
    d.marker = d.marker.map(|m| MarkerSpec { env: None, ..m });
    assert_eq!(
        statements(&ok(&facts, &d)),
        ["REVOKE INSERT, UPDATE, DELETE ON TABLE \"public\".\"bk_env_marker\" FROM \"app\""]
    );
    facts.inside.marker = Marker::Present(vec!["anything".into()]);
    assert!(plan(&facts, &d).is_ok());
    facts.inside.marker = Marker::Absent;
    facts.inside.schemas[0].tables.pop();
    assert_eq!(changes(&ok(&facts, &d)), []);
    d.marker = d.marker.map(|m| MarkerSpec {
        env: Some("prod".into()),
        ..m
    });

    // Another environment, or not one row: refused, exit 1.
    for marker in [
        Marker::Present(vec!["dev".into()]),
        Marker::Present(vec![]),
        Marker::Present(vec!["prod".into(), "prod".into()]),
        Marker::Broken("column \"env\" does not exist".into()),
    ] {
        let mut facts = converged();
        facts.inside.marker = marker.clone();
        let r = plan(&facts, &d)
            .err()
            .unwrap_or_else(|| panic!("must refuse {marker:?}"));
        assert_eq!(r.status, Exit::No);
        assert!(r.message.contains("nothing changed"), "{}", r.message);
    }
}

#[test]
fn hostile_names_are_quoted_everywhere() {
    let mut d = desired();
    d.app.name = "a\"b; DROP TABLE x".into();
    d.database = "shop'; DROP DATABASE postgres; --".into();
    let p = ok(&fresh(superuser()), &d);
    let st = statements(&p);
    assert_eq!(
        st[0],
        "CREATE ROLE \"a\"\"b; DROP TABLE x\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    );
    assert!(st.contains(
        &"CREATE DATABASE \"shop'; DROP DATABASE postgres; --\" OWNER \"svc\"".to_owned()
    ));
    assert!(st.contains(&"GRANT CONNECT ON DATABASE \"shop'; DROP DATABASE postgres; --\" TO \"a\"\"b; DROP TABLE x\"".to_owned()));
    let mut d = desired();
    d.marker = Some(MarkerSpec {
        schema: "public".into(),
        table: "bk_env_marker".into(),
        env: Some("it's".into()),
    });
    let st = statements(&ok(&fresh(superuser()), &d));
    assert!(
        st.contains(
            &"INSERT INTO \"public\".\"bk_env_marker\" (id, env) VALUES (1, 'it''s')".to_owned()
        ),
        "{st:#?}"
    );
}

#[test]
fn json_actions_have_the_documented_shape() {
    let p = ok(&converged(), &desired());
    let v = serde_json::to_value(&p.actions[0]).unwrap_or_default();
    let keys: Vec<&String> = v
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["action", "detail", "kind", "object", "statements"]);
    assert_eq!(v["action"], "unchanged");
}

#[test]
fn default_privileges_beyond_the_intended_ones_are_revoked() {
    // TRUNCATE for the app role on future tables of this schema.
    let mut facts = converged();
    facts.inside.schemas[0]
        .default_tables
        .insert(Some("app"), "TRUNCATE");
    assert_eq!(
        statements(&ok(&facts, &desired())),
        [
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"svc\" IN SCHEMA \"public\" REVOKE TRUNCATE ON TABLES FROM \"app\""
        ]
    );
    // Anything for PUBLIC on future sequences.
    let mut facts = converged();
    facts.inside.schemas[0]
        .default_sequences
        .insert(None, "USAGE");
    assert_eq!(
        statements(&ok(&facts, &desired())),
        [
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"svc\" IN SCHEMA \"public\" REVOKE USAGE ON SEQUENCES FROM PUBLIC"
        ]
    );
    // Defaults set for every schema, to the app role and to PUBLIC.
    let mut facts = converged();
    facts
        .inside
        .global_default_tables
        .insert(Some("app"), "DELETE");
    facts.inside.global_default_tables.insert(None, "SELECT");
    assert_eq!(
        statements(&ok(&facts, &desired())),
        [
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"svc\" REVOKE DELETE ON TABLES FROM \"app\"",
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"svc\" REVOKE SELECT ON TABLES FROM PUBLIC",
        ]
    );
}

#[test]
fn a_runtime_role_that_is_a_member_of_another_is_drift() {
    let mut facts = converged();
    if let Some(app) = facts.app.as_mut() {
        app.member_of = vec!["pg_read_all_stats".into(), "svc".into()];
    }
    let p = ok(&facts, &desired());
    assert_eq!(statements(&p), ["REVOKE \"svc\" FROM \"app\""]);
    assert_eq!(
        changes(&p),
        [("role \"app\"".into(), "membership", Verb::Revoke)]
    );
}
