//! Reading the [`Facts`] from a live server.
//!
//! Only catalog reads, all parameterised (names travel as `$1`, never in
//! the SQL text), so a run that changes nothing issues no DDL at all. ACLs
//! are read with `aclexplode(coalesce(acl, acldefault(…)))`, so a NULL ACL
//! reads as what it means.

use std::collections::BTreeMap;

use deploykit::Secret;
use deploykit::exit::{Error, Exit, Result};
use deploykit::sql::quote_ident;
use postgres::Client;

use crate::facts::{
    Acl, Admin, Database, Facts, Inside, Marker, Relation, Role, Schema, StoredPassword,
};
use crate::plan::{Desired, MarkerSpec};

/// Maps a failed catalog query to an exit status: a permission problem is
/// 4, anything else (connection lost, timeout) 3.
pub fn query_error(what: &str, e: &postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) if db.code().code() == "42501" => {
            Error::denied(format!("{what}: {}", db.message()))
        }
        Some(db) => Error::remote(format!("{what}: {}", db.message())),
        None => Error::remote(format!("{what}: {e}")),
    }
}

/// The server-level facts, read on the admin connection.
pub struct ServerFacts {
    /// `server_version_num`.
    pub version: u32,
    /// The admin role.
    pub admin: Admin,
    /// The app role.
    pub app: Option<Role>,
    /// The service role.
    pub service: Option<Role>,
    /// The target database.
    pub database: Option<Database>,
    /// The bootstrap superuser (oid 10), for predicting a fresh `public`.
    pub bootstrap: String,
}

/// Reads the admin, the two roles and the database.
pub fn read_server(client: &mut Client, desired: &Desired) -> Result<ServerFacts> {
    let err = |e: postgres::Error| query_error("reading the catalogs", &e);
    let row = client
        .query_one(
            "SELECT current_user::text, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls, \
                    current_setting('server_version_num')::int, \
                    has_table_privilege('pg_catalog.pg_authid', 'SELECT'), \
                    (SELECT rolname::text FROM pg_roles WHERE oid = 10) \
             FROM pg_roles r WHERE r.rolname = current_user",
            &[],
        )
        .map_err(err)?;
    let admin = Admin {
        name: row.get(0),
        superuser: row.get(1),
        createrole: row.get(2),
        createdb: row.get(3),
        bypassrls: row.get(4),
        reads_authid: row.get(6),
    };
    let version = u32::try_from(row.get::<_, i32>(5)).unwrap_or_default();
    let authid_readable = admin.reads_authid;
    let bootstrap: String = row.get(7);

    let names = vec![desired.app.name.clone(), desired.service.name.clone()];
    let mut passwords: BTreeMap<String, Option<String>> = BTreeMap::new();
    if authid_readable {
        for row in client
            .query(
                "SELECT rolname::text, rolpassword FROM pg_authid WHERE rolname = ANY($1)",
                &[&names],
            )
            .map_err(err)?
        {
            passwords.insert(row.get(0), row.get(1));
        }
    }
    let mut roles: BTreeMap<String, Role> = BTreeMap::new();
    for row in client
        .query(
            "SELECT rolname::text, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolreplication, \
                    rolcanlogin, pg_has_role(current_user, oid, 'MEMBER'), \
                    coalesce(rolvaliduntil < now(), false), rolconnlimit = 0, \
                    ARRAY(SELECT g.rolname::text FROM pg_auth_members m \
                          JOIN pg_roles g ON g.oid = m.roleid \
                          WHERE m.member = pg_roles.oid ORDER BY 1) \
             FROM pg_roles WHERE rolname = ANY($1)",
            &[&names],
        )
        .map_err(err)?
    {
        let name: String = row.get(0);
        let password = if authid_readable {
            match passwords.remove(&name).flatten() {
                Some(v) => StoredPassword::Stored(Secret::new(v)),
                None => StoredPassword::Missing,
            }
        } else {
            StoredPassword::Unreadable
        };
        roles.insert(
            name,
            Role {
                superuser: row.get(1),
                createdb: row.get(2),
                createrole: row.get(3),
                bypassrls: row.get(4),
                replication: row.get(5),
                login: row.get(6),
                expired: row.get(8),
                no_connections: row.get(9),
                member_of: row.get(10),
                password,
                admin_is_member: row.get(7),
            },
        );
    }

    let rows = client
        .query(
            "SELECT pg_get_userbyid(d.datdba)::text, x.grantee = 0, coalesce(r.rolname::text, ''), \
                    x.privilege_type::text \
             FROM pg_database d \
             CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) x \
             LEFT JOIN pg_roles r ON r.oid = x.grantee \
             WHERE d.datname = $1",
            &[&desired.database],
        )
        .map_err(err)?;
    let database = if rows.is_empty() {
        // A database whose ACL is empty (every privilege revoked, even the
        // owner's) has no aclexplode rows: look it up on its own.
        client
            .query_opt(
                "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1",
                &[&desired.database],
            )
            .map_err(err)?
            .map(|row| Database {
                owner: row.get(0),
                acl: Acl::default(),
            })
    } else {
        let mut acl = Acl::default();
        for row in &rows {
            let public: bool = row.get(1);
            let grantee: String = row.get(2);
            let privilege: String = row.get(3);
            acl.insert((!public).then_some(grantee.as_str()), &privilege);
        }
        Some(Database {
            owner: rows[0].get(0),
            acl,
        })
    };

    Ok(ServerFacts {
        version,
        app: roles.remove(&desired.app.name),
        service: roles.remove(&desired.service.name),
        admin,
        database,
        bootstrap,
    })
}

/// Reads the managed schemas, their relations and default privileges, and
/// the marker, on a connection to the target database.
pub fn read_inside(client: &mut Client, desired: &Desired, owner: &str) -> Result<Inside> {
    let err = |e: postgres::Error| {
        query_error(
            &format!(
                "reading the catalogs of database {}",
                quote_ident(&desired.database)
            ),
            &e,
        )
    };
    let roles = vec![
        desired.app.name.clone(),
        desired.service.name.clone(),
        owner.to_owned(),
    ];
    let mut schemas: Vec<Schema> = desired.schemas.iter().map(|s| Schema::absent(s)).collect();
    let index: BTreeMap<String, usize> = desired
        .schemas
        .iter()
        .enumerate()
        .map(|(i, s)| (s.clone(), i))
        .collect();

    for row in client
        .query(
            "SELECT n.nspname::text, pg_get_userbyid(n.nspowner)::text, x.grantee = 0, \
                    coalesce(r.rolname::text, ''), x.privilege_type::text \
             FROM pg_namespace n \
             CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) x \
             LEFT JOIN pg_roles r ON r.oid = x.grantee \
             WHERE n.nspname = ANY($1)",
            &[&desired.schemas],
        )
        .map_err(err)?
    {
        let Some(&i) = index.get(&row.get::<_, String>(0)) else {
            continue;
        };
        schemas[i].owner = Some(row.get(1));
        let public: bool = row.get(2);
        let grantee: String = row.get(3);
        schemas[i].acl.insert(
            (!public).then_some(grantee.as_str()),
            &row.get::<_, String>(4),
        );
    }
    // A schema with an empty ACL has no aclexplode rows.
    for row in client
        .query(
            "SELECT nspname::text, pg_get_userbyid(nspowner)::text FROM pg_namespace WHERE nspname = ANY($1)",
            &[&desired.schemas],
        )
        .map_err(err)?
    {
        if let Some(&i) = index.get(&row.get::<_, String>(0)) {
            schemas[i].owner = Some(row.get(1));
        }
    }

    // Relations: one row per relation, then their ACL entries for the
    // roles that matter (and PUBLIC).
    let mut relations: BTreeMap<(String, String), (bool, Relation)> = BTreeMap::new();
    for row in client
        .query(
            "SELECT n.nspname::text, c.relname::text, c.relkind = 'S', pg_get_userbyid(c.relowner)::text, \
                    pg_has_role(current_user, c.relowner, 'USAGE') \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')",
            &[&desired.schemas],
        )
        .map_err(err)?
    {
        let key = (row.get::<_, String>(0), row.get::<_, String>(1));
        let relation = Relation {
            name: key.1.clone(),
            owner: row.get(3),
            admin_can_grant: row.get(4),
            acl: Acl::default(),
        };
        relations.insert(key, (row.get(2), relation));
    }
    for row in client
        .query(
            "SELECT n.nspname::text, c.relname::text, x.grantee = 0, coalesce(r.rolname::text, ''), \
                    x.privilege_type::text \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, \
                 acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner))) x \
             LEFT JOIN pg_roles r ON r.oid = x.grantee \
             WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') \
               AND (x.grantee = 0 OR r.rolname = ANY($2))",
            &[&desired.schemas, &roles],
        )
        .map_err(err)?
    {
        let key = (row.get::<_, String>(0), row.get::<_, String>(1));
        if let Some((_, rel)) = relations.get_mut(&key) {
            let public: bool = row.get(2);
            let grantee: String = row.get(3);
            rel.acl.insert((!public).then_some(grantee.as_str()), &row.get::<_, String>(4));
        }
    }
    for ((schema, _), (is_sequence, rel)) in relations {
        if let Some(&i) = index.get(&schema) {
            if is_sequence {
                schemas[i].sequences.push(rel);
            } else {
                schemas[i].tables.push(rel);
            }
        }
    }

    for row in client
        .query(
            "SELECT n.nspname::text, d.defaclobjtype = 'S', x.grantee = 0, coalesce(r.rolname::text, ''), \
                    x.privilege_type::text \
             FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace \
             CROSS JOIN LATERAL aclexplode(d.defaclacl) x \
             LEFT JOIN pg_roles r ON r.oid = x.grantee \
             WHERE d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = $2) \
               AND d.defaclobjtype IN ('r', 'S') AND n.nspname = ANY($1)",
            &[&desired.schemas, &owner],
        )
        .map_err(err)?
    {
        let Some(&i) = index.get(&row.get::<_, String>(0)) else { continue };
        let is_sequence: bool = row.get(1);
        let public: bool = row.get(2);
        let grantee: String = row.get(3);
        let acl = if is_sequence {
            &mut schemas[i].default_sequences
        } else {
            &mut schemas[i].default_tables
        };
        acl.insert((!public).then_some(grantee.as_str()), &row.get::<_, String>(4));
    }

    // Default privileges the owner set for every schema at once.
    let mut global_default_tables = Acl::default();
    let mut global_default_sequences = Acl::default();
    for row in client
        .query(
            "SELECT d.defaclobjtype = 'S', x.grantee = 0, coalesce(r.rolname::text, ''), \
                    x.privilege_type::text \
             FROM pg_default_acl d \
             CROSS JOIN LATERAL aclexplode(d.defaclacl) x \
             LEFT JOIN pg_roles r ON r.oid = x.grantee \
             WHERE d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = $1) \
               AND d.defaclobjtype IN ('r', 'S') AND d.defaclnamespace = 0 \
               AND x.grantee <> d.defaclrole",
            &[&owner],
        )
        .map_err(err)?
    {
        let acl = if row.get::<_, bool>(0) {
            &mut global_default_sequences
        } else {
            &mut global_default_tables
        };
        let public: bool = row.get(1);
        let grantee: String = row.get(2);
        acl.insert(
            (!public).then_some(grantee.as_str()),
            &row.get::<_, String>(3),
        );
    }

    let marker = match &desired.marker {
        None => Marker::Absent,
        Some(spec) => read_marker(client, spec)?,
    };
    Ok(Inside {
        predicted: false,
        schemas,
        marker,
        global_default_tables,
        global_default_sequences,
    })
}

/// The marker's rows; a table that is there but unreadable as a marker is
/// [`Marker::Broken`] (the plan then fails closed).
fn read_marker(client: &mut Client, spec: &MarkerSpec) -> Result<Marker> {
    let table = spec.qualified();
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .map_err(|e| query_error("looking for the marker table", &e))?
        .get(0);
    if !exists {
        return Ok(Marker::Absent);
    }
    match client.query(&format!("SELECT env::text FROM {table}"), &[]) {
        Ok(rows) => Ok(Marker::Present(
            rows.iter()
                .map(|r| r.get::<_, Option<String>>(0).unwrap_or_default())
                .collect(),
        )),
        Err(e) => match e.as_db_error() {
            Some(db) => Ok(Marker::Broken(db.message().to_owned())),
            None => Err(Error::new(
                Exit::Remote,
                format!("reading the marker table {table}: {e}"),
            )),
        },
    }
}

/// Assembles the facts; `inside` is `None` when the database does not exist.
pub fn facts(server: ServerFacts, inside: Option<Inside>, desired: &Desired) -> Facts {
    let inside = inside
        .unwrap_or_else(|| Inside::fresh(&desired.schemas, server.version, &server.bootstrap));
    Facts {
        server_version_num: server.version,
        admin: server.admin,
        app: server.app,
        service: server.service,
        database: server.database,
        inside,
    }
}
