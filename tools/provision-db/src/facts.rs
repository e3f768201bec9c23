//! What the catalogs say: the planner's input, as plain data.
//!
//! [`crate::catalog`] fills these from a live server; unit tests build them
//! by hand. Privileges are kept as the explicit ACL entries Postgres stores
//! (`aclexplode` of the ACL, or of `acldefault` when the ACL is NULL),
//! because those are what GRANT and REVOKE change: a plan computed from them
//! converges, where one computed from effective privileges
//! (`has_table_privilege`) could keep granting what PUBLIC already has.

use std::collections::BTreeSet;

use deploykit::Secret;

/// Who an ACL entry is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grantee {
    /// Every role (`=` in an ACL, grantee oid 0).
    Public,
    /// One role, by name.
    Role(String),
}

/// One privilege granted to one grantee, as `aclexplode` lists it
/// (`CONNECT`, `TEMPORARY`, `CREATE`, `USAGE`, `SELECT`, `INSERT`, …).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AclEntry {
    /// Who holds it.
    pub grantee: Grantee,
    /// The privilege's SQL name.
    pub privilege: String,
}

/// The explicit privileges on one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl(pub BTreeSet<AclEntry>);

impl Acl {
    /// An ACL from `(grantee, privilege)` pairs; `None` is PUBLIC.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (Option<&'a str>, &'a str)>) -> Self {
        Acl(pairs
            .into_iter()
            .map(|(grantee, privilege)| AclEntry {
                grantee: grantee.map_or(Grantee::Public, |r| Grantee::Role(r.to_owned())),
                privilege: privilege.to_owned(),
            })
            .collect())
    }

    /// Adds one entry.
    pub fn insert(&mut self, grantee: Option<&str>, privilege: &str) {
        self.0.insert(AclEntry {
            grantee: grantee.map_or(Grantee::Public, |r| Grantee::Role(r.to_owned())),
            privilege: privilege.to_owned(),
        });
    }

    /// Whether `role` holds `privilege` by an entry of its own.
    pub fn role_has(&self, role: &str, privilege: &str) -> bool {
        self.0.iter().any(|e| {
            e.privilege == privilege && matches!(&e.grantee, Grantee::Role(r) if r == role)
        })
    }

    /// The privileges PUBLIC holds.
    pub fn public_privileges(&self) -> Vec<&str> {
        self.0
            .iter()
            .filter(|e| e.grantee == Grantee::Public)
            .map(|e| e.privilege.as_str())
            .collect()
    }

    /// Whether PUBLIC holds `privilege`.
    pub fn public_has(&self, privilege: &str) -> bool {
        self.public_privileges().contains(&privilege)
    }

    /// What `grantee` (a role, or PUBLIC for `None`) holds besides
    /// `intended`, in privilege order.
    pub fn privileges_beyond(&self, grantee: Option<&str>, intended: &[&str]) -> Vec<&str> {
        self.0
            .iter()
            .filter(|e| match (&e.grantee, grantee) {
                (Grantee::Public, None) => true,
                (Grantee::Role(r), Some(g)) => r == g,
                _ => false,
            })
            .map(|e| e.privilege.as_str())
            .filter(|p| !intended.contains(p))
            .collect()
    }

    /// The same ACL with `from`'s entries moved to `to`, as `ALTER … OWNER`
    /// does with the owner's entries.
    #[must_use]
    pub fn with_owner_moved(&self, from: &str, to: &str) -> Acl {
        Acl(self
            .0
            .iter()
            .map(|e| match &e.grantee {
                Grantee::Role(r) if r == from => AclEntry {
                    grantee: Grantee::Role(to.to_owned()),
                    privilege: e.privilege.clone(),
                },
                _ => e.clone(),
            })
            .collect())
    }

    /// `acldefault('d', owner)`: what a new database's ACL means.
    pub fn default_database(owner: &str) -> Acl {
        Acl::from_pairs([
            (Some(owner), "CREATE"),
            (Some(owner), "TEMPORARY"),
            (Some(owner), "CONNECT"),
            (None, "TEMPORARY"),
            (None, "CONNECT"),
        ])
    }
}

/// The admin role the provisioner connects as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    /// `current_user`.
    pub name: String,
    /// `rolsuper`.
    pub superuser: bool,
    /// `rolcreaterole`.
    pub createrole: bool,
    /// `rolcreatedb`.
    pub createdb: bool,
    /// `rolbypassrls`.
    pub bypassrls: bool,
    /// Whether it may read `pg_authid` (the stored password verifiers).
    pub reads_authid: bool,
}

/// A role's stored password, as far as the admin can see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredPassword {
    /// `pg_authid` is not readable (the admin is not a superuser).
    Unreadable,
    /// `rolpassword` is NULL.
    Missing,
    /// `rolpassword`: a SCRAM verifier or an MD5 hash (secret-derived).
    Stored(Secret),
}

/// An existing role's attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// `rolsuper`.
    pub superuser: bool,
    /// `rolcreatedb`.
    pub createdb: bool,
    /// `rolcreaterole`.
    pub createrole: bool,
    /// `rolbypassrls`.
    pub bypassrls: bool,
    /// `rolreplication`.
    pub replication: bool,
    /// `rolcanlogin`.
    pub login: bool,
    /// `rolvaliduntil` is in the past: the password no longer logs in.
    pub expired: bool,
    /// `rolconnlimit` is 0: no session may start.
    pub no_connections: bool,
    /// The roles it is a member of (`pg_auth_members`), sorted.
    pub member_of: Vec<String>,
    /// `rolpassword`, if readable.
    pub password: StoredPassword,
    /// Whether the admin is a member of this role (`pg_has_role … MEMBER`),
    /// which a non-superuser admin needs to give it a database or objects.
    pub admin_is_member: bool,
}

/// An existing database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    /// Its owner's name.
    pub owner: String,
    /// Its ACL (`acldefault` when NULL).
    pub acl: Acl,
}

/// A table-like relation or a sequence in a managed schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// Its name (unqualified).
    pub name: String,
    /// Its owner's name.
    pub owner: String,
    /// Whether the admin has its owner's privileges (so it may GRANT on it).
    pub admin_can_grant: bool,
    /// Its ACL (`acldefault` when NULL), entries of the roles that matter.
    pub acl: Acl,
}

/// A schema listed with `--schema`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// Its name.
    pub name: String,
    /// Its owner, `None` when the schema does not exist.
    pub owner: Option<String>,
    /// Its ACL (`acldefault` when NULL).
    pub acl: Acl,
    /// Tables, partitioned tables, views, materialized views, foreign tables.
    pub tables: Vec<Relation>,
    /// Sequences.
    pub sequences: Vec<Relation>,
    /// `pg_default_acl` for tables created by the owner role in this schema.
    pub default_tables: Acl,
    /// `pg_default_acl` for sequences created by the owner role in this schema.
    pub default_sequences: Acl,
}

impl Schema {
    /// A schema that does not exist.
    pub fn absent(name: &str) -> Schema {
        Schema {
            name: name.to_owned(),
            owner: None,
            acl: Acl::default(),
            tables: Vec::new(),
            sequences: Vec::new(),
            default_tables: Acl::default(),
            default_sequences: Acl::default(),
        }
    }
}

/// The environment marker table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marker {
    /// No such table.
    Absent,
    /// The table exists; the `env` values of its rows.
    Present(Vec<String>),
    /// The table exists but cannot be read as a marker (why).
    Broken(String),
}

/// What is inside the target database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inside {
    /// True when the database does not exist yet and this is what a fresh
    /// copy of `template1` is expected to hold.
    pub predicted: bool,
    /// One entry per `--schema`, in order.
    pub schemas: Vec<Schema>,
    /// The marker table.
    pub marker: Marker,
    /// `pg_default_acl` the owner role set for tables in every schema.
    pub global_default_tables: Acl,
    /// `pg_default_acl` the owner role set for sequences in every schema.
    pub global_default_sequences: Acl,
}

impl Inside {
    /// What a database created now from a stock `template1` holds: the
    /// `public` schema (owned by `pg_database_owner` with USAGE for PUBLIC
    /// from PostgreSQL 15, owned by the bootstrap superuser with USAGE and
    /// CREATE for PUBLIC before), nothing else.
    pub fn fresh(schemas: &[String], server_version_num: u32, bootstrap_superuser: &str) -> Inside {
        let schemas = schemas
            .iter()
            .map(|name| {
                if name != "public" {
                    return Schema::absent(name);
                }
                let (owner, acl) = if server_version_num >= 150_000 {
                    let o = "pg_database_owner";
                    (
                        o,
                        Acl::from_pairs([(Some(o), "USAGE"), (Some(o), "CREATE"), (None, "USAGE")]),
                    )
                } else {
                    let o = bootstrap_superuser;
                    (
                        o,
                        Acl::from_pairs([
                            (Some(o), "USAGE"),
                            (Some(o), "CREATE"),
                            (None, "USAGE"),
                            (None, "CREATE"),
                        ]),
                    )
                };
                Schema {
                    owner: Some(owner.to_owned()),
                    acl,
                    ..Schema::absent(name)
                }
            })
            .collect();
        Inside {
            predicted: true,
            schemas,
            marker: Marker::Absent,
            global_default_tables: Acl::default(),
            global_default_sequences: Acl::default(),
        }
    }
}

/// Everything the planner knows about the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// `server_version_num` (150000 and up for PostgreSQL 15).
    pub server_version_num: u32,
    /// The admin role.
    pub admin: Admin,
    /// The app role, if it exists.
    pub app: Option<Role>,
    /// The service role, if it exists.
    pub service: Option<Role>,
    /// The target database, if it exists.
    pub database: Option<Database>,
    /// What is inside it (or would be, fresh).
    pub inside: Inside,
}
