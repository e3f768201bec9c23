//! The plan: what must change, computed from the facts alone.
//!
//! [`plan`] is a pure function of the catalog [`Facts`] and the [`Desired`]
//! state. It yields one [`Action`] per requirement, changed or not, so the
//! same list drives the human summary, `--plan`, `--check`, `--json` and the
//! execution, and a converged server yields only `unchanged` actions. It
//! also refuses, before anything runs, what must not run: a marker naming
//! another environment (exit 1) or a plan the admin role lacks the
//! privileges for (exit 4, naming the privilege).
//!
//! The privilege rules are PostgreSQL 15's (the tested version): a
//! non-superuser admin with CREATEROLE may create and alter ordinary roles
//! and set their passwords, but any SUPERUSER, REPLICATION or BYPASSRLS
//! clause needs a superuser (even `NOSUPERUSER` on a role that is not one),
//! and giving a role a database or objects needs membership in that role.
//! From PostgreSQL 16 a CREATEROLE admin that itself has BYPASSRLS or
//! REPLICATION may hand those out; the planner allows that there.

use std::fmt;

use deploykit::Secret;
use deploykit::exit::Exit;
use deploykit::sql::{quote_ident, quote_literal};
use serde::Serialize;

use crate::facts::{Acl, Facts, Marker, Relation, Role, Schema, StoredPassword};
use crate::scram;

/// Who owns the database and creates its objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OwnerChoice {
    /// The admin role of DATABASE_ROOT_URL.
    Root,
    /// The service role of DATABASE_SERVICE_URL (migrations run with it).
    Service,
}

/// A login role and the password its DSN carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The role name.
    pub name: String,
    /// The password.
    pub password: Secret,
}

/// The environment marker table: where it is, and with `--env-marker` the
/// environment it must name. When it exists, the app role may only read it
/// (it is left out of the DML grants), with or without `--env-marker`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerSpec {
    /// Its schema (one of the managed schemas).
    pub schema: String,
    /// Its table name.
    pub table: String,
    /// `--env-marker`: the environment it must name (created or verified).
    pub env: Option<String>,
}

impl MarkerSpec {
    /// `"schema"."table"`.
    pub fn qualified(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.table))
    }
}

/// The state to converge to, derived from the DSNs and the flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// The database both runtime DSNs name.
    pub database: String,
    /// The app role (DATABASE_URL).
    pub app: Login,
    /// The service role (DATABASE_SERVICE_URL).
    pub service: Login,
    /// Whether the service role bypasses row-level security.
    pub service_bypassrls: bool,
    /// Who owns the database.
    pub owner: OwnerChoice,
    /// The schemas to manage, in order.
    pub schemas: Vec<String>,
    /// The marker table, when it lies in a managed schema.
    pub marker: Option<MarkerSpec>,
}

impl Desired {
    /// The owner role's name, given the admin's.
    pub fn owner_name<'a>(&'a self, admin: &'a str) -> &'a str {
        match self.owner {
            OwnerChoice::Root => admin,
            OwnerChoice::Service => &self.service.name,
        }
    }

    /// The roles that get DML and USAGE: the app role, and the service
    /// role when it does not own the database.
    fn grantees(&self) -> Vec<&str> {
        let mut roles = vec![self.app.name.as_str()];
        if self.owner == OwnerChoice::Root {
            roles.push(&self.service.name);
        }
        roles
    }
}

/// What an action does, in the words of `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    /// Makes an object.
    Create,
    /// Changes an object.
    Alter,
    /// Adds privileges.
    Grant,
    /// Removes privileges.
    Revoke,
    /// Already as desired.
    Unchanged,
}

impl Verb {
    /// The lower-case word.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Create => "create",
            Verb::Alter => "alter",
            Verb::Grant => "grant",
            Verb::Revoke => "revoke",
            Verb::Unchanged => "unchanged",
        }
    }
}

/// Where an action runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// On the server (roles, databases): any database will do.
    Server,
    /// Inside the target database (schemas, tables, the marker).
    Database,
}

/// One SQL statement. A statement that carries a secret-derived value (a
/// password verifier) keeps the real text in a [`Secret`] and shows `'***'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    shown: String,
    secret: Option<Secret>,
}

impl Statement {
    fn plain(sql: String) -> Statement {
        Statement {
            shown: sql,
            secret: None,
        }
    }

    /// The SQL to send.
    pub fn sql(&self) -> &str {
        self.secret.as_ref().map_or(&self.shown, Secret::expose)
    }
}

impl fmt::Display for Statement {
    /// The statement with secrets redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Serialize for Statement {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.shown)
    }
}

/// One requirement and what it takes to meet it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    /// The object, SQL-quoted: `role "app"`, `schema "public"`.
    pub object: String,
    /// What about it: `role`, `password`, `database`, `privileges`, …
    pub kind: &'static str,
    /// What happens.
    pub action: Verb,
    /// One line for humans.
    pub detail: String,
    /// The statements, secrets redacted (empty when unchanged).
    pub statements: Vec<Statement>,
    /// Where it runs.
    #[serde(skip)]
    pub scope: Scope,
    /// Whether its statements may run in a transaction (not CREATE DATABASE).
    #[serde(skip)]
    pub transactional: bool,
    /// True for a password set only because it cannot be compared (no
    /// access to `pg_authid`): not drift for `--check`.
    #[serde(skip)]
    pub unverifiable: bool,
}

impl Action {
    fn new(scope: Scope, object: String, kind: &'static str) -> Action {
        Action {
            object,
            kind,
            action: Verb::Unchanged,
            detail: String::new(),
            statements: Vec::new(),
            scope,
            transactional: true,
            unverifiable: false,
        }
    }

    fn unchanged(mut self, detail: impl Into<String>) -> Action {
        self.detail = detail.into();
        self
    }

    fn change(mut self, verb: Verb, detail: impl Into<String>, statements: Vec<String>) -> Action {
        self.action = verb;
        self.detail = detail.into();
        self.statements = statements.into_iter().map(Statement::plain).collect();
        self
    }

    /// Whether it changes anything.
    pub fn is_change(&self) -> bool {
        self.action != Verb::Unchanged
    }
}

impl fmt::Display for Action {
    /// `create role "app": …`, `grant schema "public" privileges: …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = self.action.as_str();
        if self.object.starts_with(&format!("{} ", self.kind)) {
            write!(f, "{verb} {}: {}", self.object, self.detail)
        } else {
            write!(f, "{verb} {} {}: {}", self.object, self.kind, self.detail)
        }
    }
}

/// The planned actions, in execution order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Every requirement, changed or not.
    pub actions: Vec<Action>,
    /// Whether passwords cannot be compared (they are set on every run).
    pub passwords_unverifiable: bool,
}

impl Plan {
    /// Whether any action changes something.
    pub fn changed(&self) -> bool {
        self.actions.iter().any(Action::is_change)
    }

    /// Whether anything differs that could be known to differ: `--check`'s
    /// answer (a password that cannot be compared is not drift).
    pub fn drift(&self) -> bool {
        self.actions
            .iter()
            .any(|a| a.is_change() && !a.unverifiable)
    }
}

/// Why the planner refuses to go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The exit status: 1 for the marker, 4 for missing privileges.
    pub status: Exit,
    /// What is wrong, naming what is missing.
    pub message: String,
}

/// What one change needs of the admin role.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Need {
    /// CREATEROLE (or superuser).
    CreateRole(String),
    /// CREATEDB (or superuser).
    CreateDb(String),
    /// SUPERUSER.
    Superuser(String),
    /// BYPASSRLS / REPLICATION handed out: superuser before PG 16; from 16
    /// CREATEROLE plus holding the attribute.
    HandOut {
        attribute: &'static str,
        has: bool,
        why: String,
    },
    /// Membership in a role (or superuser).
    MemberOf { role: String, why: String },
}

const TABLE_PRIVILEGES: [&str; 4] = ["SELECT", "INSERT", "UPDATE", "DELETE"];
const SEQUENCE_PRIVILEGES: [&str; 2] = ["USAGE", "SELECT"];
const MARKER_WRITES: [&str; 4] = ["INSERT", "UPDATE", "DELETE", "TRUNCATE"];

/// Computes the plan, or refuses.
pub fn plan(facts: &Facts, desired: &Desired) -> Result<Plan, Refusal> {
    check_marker(facts, desired)?;
    let mut p = Planner {
        facts,
        desired,
        owner: desired.owner_name(&facts.admin.name),
        actions: Vec::new(),
        needs: Vec::new(),
        membership_planned: false,
    };
    p.role(&desired.app, facts.app.as_ref(), false, "DATABASE_URL");
    p.role(
        &desired.service,
        facts.service.as_ref(),
        desired.service_bypassrls,
        "DATABASE_SERVICE_URL",
    );
    p.membership();
    p.database();
    for schema in &facts.inside.schemas {
        p.schema(schema);
    }
    p.global_defaults();
    p.marker();
    p.preflight()?;
    Ok(Plan {
        actions: p.actions,
        passwords_unverifiable: !facts.admin.reads_authid,
    })
}

/// A marker that names another environment, or cannot be read, stops
/// everything before any change.
fn check_marker(facts: &Facts, desired: &Desired) -> Result<(), Refusal> {
    let Some((spec, env)) = desired
        .marker
        .as_ref()
        .and_then(|m| Some((m, m.env.as_ref()?)))
    else {
        return Ok(());
    };
    let table = spec.qualified();
    let fail = |message: String| {
        Err(Refusal {
            status: Exit::No,
            message,
        })
    };
    match &facts.inside.marker {
        Marker::Absent => Ok(()),
        Marker::Broken(why) => fail(format!(
            "the marker table {table} in database {} cannot be read ({why}); failing closed, nothing changed",
            quote_ident(&desired.database)
        )),
        Marker::Present(values) if values.len() == 1 && &values[0] == env => Ok(()),
        Marker::Present(values) if values.len() == 1 => fail(format!(
            "the marker table {table} in database {} says {}, not {}; refusing to provision another \
             environment's database, nothing changed",
            quote_ident(&desired.database),
            quote_literal(&values[0]),
            quote_literal(env)
        )),
        Marker::Present(values) => fail(format!(
            "the marker table {table} in database {} has {} rows, expected one; failing closed, nothing changed",
            quote_ident(&desired.database),
            values.len()
        )),
    }
}

/// An action on default privileges inside the database.
fn a_revoke(object: &str) -> Action {
    Action::new(Scope::Database, object.to_owned(), "default privileges")
}

struct Planner<'a> {
    facts: &'a Facts,
    desired: &'a Desired,
    owner: &'a str,
    actions: Vec<Action>,
    needs: Vec<Need>,
    membership_planned: bool,
}

impl Planner<'_> {
    fn db(&self) -> String {
        quote_ident(&self.desired.database)
    }

    /// The role attributes and the password of one login role.
    fn role(&mut self, login: &Login, fact: Option<&Role>, bypassrls: bool, variable: &str) {
        let name = quote_ident(&login.name);
        let object = format!("role {name}");
        let action = Action::new(Scope::Server, object.clone(), "role");
        let wanted = [
            ("LOGIN", true),
            ("SUPERUSER", false),
            ("CREATEDB", false),
            ("CREATEROLE", false),
            ("REPLICATION", false),
            ("BYPASSRLS", bypassrls),
        ];
        let clause = |(word, on): (&str, bool)| {
            if on {
                word.to_owned()
            } else {
                format!("NO{word}")
            }
        };
        match fact {
            None => {
                let attrs: Vec<String> = wanted.into_iter().map(clause).collect();
                let attrs = attrs.join(" ");
                self.needs
                    .push(Need::CreateRole(format!("create role {name}")));
                if bypassrls {
                    self.needs.push(Need::HandOut {
                        attribute: "BYPASSRLS",
                        has: self.facts.admin.bypassrls,
                        why: format!("create role {name} with BYPASSRLS"),
                    });
                }
                self.actions.push(action.change(
                    Verb::Create,
                    attrs.clone(),
                    vec![format!("CREATE ROLE {name} {attrs}")],
                ));
            }
            Some(role) => {
                let have = [
                    role.login,
                    role.superuser,
                    role.createdb,
                    role.createrole,
                    role.replication,
                    role.bypassrls,
                ];
                let drift: Vec<(&str, bool)> = wanted
                    .into_iter()
                    .zip(have)
                    .filter(|((_, want), have)| want != have)
                    .map(|(w, _)| w)
                    .collect();
                // What stops a login without changing an attribute: an
                // expiry in the past, a connection limit of 0.
                let mut repairs: Vec<String> = Vec::new();
                if role.expired {
                    repairs.push("VALID UNTIL 'infinity'".to_owned());
                }
                if role.no_connections {
                    repairs.push("CONNECTION LIMIT -1".to_owned());
                }
                if drift.is_empty() && repairs.is_empty() {
                    let attrs: Vec<String> = wanted.into_iter().map(clause).collect();
                    self.actions.push(action.unchanged(attrs.join(" ")));
                } else {
                    self.needs_to_alter(role, &name);
                    for (word, on) in &drift {
                        match *word {
                            "SUPERUSER" => self
                                .needs
                                .push(Need::Superuser(format!("change SUPERUSER of role {name}"))),
                            "BYPASSRLS" | "REPLICATION" => self.needs.push(Need::HandOut {
                                attribute: word,
                                has: if *word == "BYPASSRLS" {
                                    self.facts.admin.bypassrls
                                } else {
                                    false
                                },
                                why: format!(
                                    "{} {word} {} role {name}",
                                    if *on { "give" } else { "take" },
                                    if *on { "to" } else { "from" }
                                ),
                            }),
                            _ => {}
                        }
                    }
                    let mut clauses: Vec<String> = drift.iter().copied().map(clause).collect();
                    clauses.extend(repairs);
                    let clauses = clauses.join(" ");
                    self.actions.push(action.change(
                        Verb::Alter,
                        clauses.clone(),
                        vec![format!("ALTER ROLE {name} {clauses}")],
                    ));
                }
            }
        }

        // Membership in the other runtime role, the owner or the admin
        // hands this role their rights (the app role would own the schema's
        // tables through `GRANT svc TO app`): none is intended.
        if let Some(role) = fact {
            let others = [
                self.desired.app.name.as_str(),
                self.desired.service.name.as_str(),
                self.owner,
                self.facts.admin.name.as_str(),
            ];
            let membership = Action::new(Scope::Server, object.clone(), "membership");
            let extra: Vec<&String> = role
                .member_of
                .iter()
                .filter(|g| **g != login.name && others.contains(&g.as_str()))
                .collect();
            if extra.is_empty() {
                self.actions
                    .push(membership.unchanged("a member of none of the deploy's other roles"));
            } else {
                self.needs_to_alter(role, &name);
                let groups: Vec<String> = extra.iter().map(|g| quote_ident(g)).collect();
                let groups = groups.join(", ");
                self.actions.push(membership.change(
                    Verb::Revoke,
                    format!("membership in {groups}"),
                    vec![format!("REVOKE {groups} FROM {name}")],
                ));
            }
        }

        // The password, as a verifier made here.
        let action = Action::new(Scope::Server, object, "password");
        let set = |mut action: Action, detail: String| {
            action.action = Verb::Alter;
            action.detail = detail;
            let verifier = scram::verifier(&login.password);
            action.statements = vec![Statement {
                shown: format!("ALTER ROLE {name} PASSWORD '***'"),
                secret: Some(Secret::new(format!(
                    "ALTER ROLE {name} PASSWORD {}",
                    quote_literal(verifier.expose())
                ))),
            }];
            action
        };
        let stored = fact.map(|r| &r.password);
        let action = match stored {
            None | Some(StoredPassword::Missing) => set(
                action,
                format!("set from {variable} as a SCRAM-SHA-256 verifier"),
            ),
            Some(StoredPassword::Stored(v)) if scram::matches(v, &login.password) => {
                action.unchanged(format!("matches {variable}"))
            }
            Some(StoredPassword::Stored(_)) => set(
                action,
                format!("differs from {variable}; set as a SCRAM-SHA-256 verifier"),
            ),
            Some(StoredPassword::Unreadable) => {
                let mut a = set(
                    action,
                    format!(
                        "set from {variable} on every run: the admin role cannot read pg_authid \
                         (not a superuser), so an unchanged password cannot be detected"
                    ),
                );
                a.unverifiable = true;
                a
            }
        };
        if action.is_change() {
            if let Some(role) = fact {
                self.needs_to_alter(role, &name);
            } else {
                self.needs
                    .push(Need::CreateRole(format!("set the password of role {name}")));
            }
        }
        self.actions.push(action);
    }

    /// Altering an existing role at all: CREATEROLE, or superuser when the
    /// role is a superuser or a replication role (PostgreSQL 15's rule).
    fn needs_to_alter(&mut self, role: &Role, name: &str) {
        if role.superuser {
            self.needs.push(Need::Superuser(format!(
                "alter role {name}, which is a superuser"
            )));
        } else if role.replication && self.facts.server_version_num < 160_000 {
            self.needs.push(Need::Superuser(format!(
                "alter role {name}, which has REPLICATION"
            )));
        } else {
            self.needs
                .push(Need::CreateRole(format!("alter role {name}")));
        }
    }

    /// A non-superuser admin must be a member of the owner role to give it
    /// the database and to grant on its objects (the RDS/Neon way).
    fn membership(&mut self) {
        let admin = &self.facts.admin;
        if admin.superuser || self.owner == admin.name {
            return;
        }
        let owner_fact = if self.owner == self.desired.service.name {
            self.facts.service.as_ref()
        } else {
            self.facts.app.as_ref()
        };
        let object = format!("role {}", quote_ident(&admin.name));
        let action = Action::new(Scope::Server, object, "membership");
        if owner_fact.is_some_and(|r| r.admin_is_member) {
            self.actions
                .push(action.unchanged(format!("member of {}", quote_ident(self.owner))));
        } else {
            self.membership_planned = true;
            self.needs.push(Need::CreateRole(format!(
                "grant itself membership in role {}",
                quote_ident(self.owner)
            )));
            self.actions.push(action.change(
                Verb::Grant,
                format!(
                    "membership in {}, which a non-superuser admin needs to give it a database and grant on its objects",
                    quote_ident(self.owner)
                ),
                vec![format!(
                    "GRANT {} TO {}",
                    quote_ident(self.owner),
                    quote_ident(&admin.name)
                )],
            ));
        }
    }

    /// Whether the admin may act for `role` (owner of the database or of
    /// objects) once the planned membership is in place.
    fn need_member_of(&mut self, role: &str, why: String) {
        let admin = &self.facts.admin;
        if admin.superuser || role == admin.name {
            return;
        }
        if role == self.owner && self.membership_planned {
            return;
        }
        let member = [
            (&self.desired.app.name, &self.facts.app),
            (&self.desired.service.name, &self.facts.service),
        ]
        .iter()
        .any(|(name, fact)| *name == role && fact.as_ref().is_some_and(|r| r.admin_is_member));
        if !member {
            self.needs.push(Need::MemberOf {
                role: role.to_owned(),
                why,
            });
        }
    }

    /// The database, its owner and its privileges.
    fn database(&mut self) {
        let db = self.db();
        let owner = quote_ident(self.owner);
        let object = format!("database {db}");
        let action = Action::new(Scope::Server, object.clone(), "database");
        let acl = match &self.facts.database {
            None => {
                self.needs
                    .push(Need::CreateDb(format!("create database {db}")));
                self.need_member_of(self.owner, format!("create database {db} owned by {owner}"));
                let mut a = action.change(
                    Verb::Create,
                    format!("owned by {owner}"),
                    vec![format!("CREATE DATABASE {db} OWNER {owner}")],
                );
                a.transactional = false;
                self.actions.push(a);
                Acl::default_database(self.owner)
            }
            Some(d) if d.owner != self.owner => {
                self.needs
                    .push(Need::CreateDb(format!("change the owner of database {db}")));
                self.need_member_of(
                    &d.owner.clone(),
                    format!("take database {db} from its owner"),
                );
                self.need_member_of(self.owner, format!("give database {db} to {owner}"));
                self.actions.push(action.change(
                    Verb::Alter,
                    format!("owner {} -> {owner}", quote_ident(&d.owner)),
                    vec![format!("ALTER DATABASE {db} OWNER TO {owner}")],
                ));
                d.acl.with_owner_moved(&d.owner, self.owner)
            }
            Some(d) => {
                self.actions
                    .push(action.unchanged(format!("owned by {owner}")));
                d.acl.clone()
            }
        };

        let privileges = || Action::new(Scope::Server, object.clone(), "privileges");
        let public = acl.public_privileges();
        let a = privileges();
        self.actions.push(if public.is_empty() {
            a.unchanged("PUBLIC has no privileges")
        } else {
            a.change(
                Verb::Revoke,
                format!("{} from PUBLIC", public.join(", ")),
                vec![format!("REVOKE ALL ON DATABASE {db} FROM PUBLIC")],
            )
        });
        for role in [&self.desired.app.name, &self.desired.service.name] {
            let a = privileges();
            let r = quote_ident(role);
            self.actions.push(if acl.role_has(role, "CONNECT") {
                a.unchanged(format!("CONNECT for {r}"))
            } else {
                a.change(
                    Verb::Grant,
                    format!("CONNECT to {r}"),
                    vec![format!("GRANT CONNECT ON DATABASE {db} TO {r}")],
                )
            });
        }
        let app = quote_ident(&self.desired.app.name);
        let a = privileges();
        self.actions
            .push(if acl.role_has(&self.desired.app.name, "CREATE") {
                a.change(
                    Verb::Revoke,
                    format!("CREATE from {app} (it could create schemas)"),
                    vec![format!("REVOKE CREATE ON DATABASE {db} FROM {app}")],
                )
            } else {
                a.unchanged(format!("no CREATE for {app}"))
            });
        // Granting on the database needs its ownership (or superuser).
        if self
            .actions
            .iter()
            .any(|a| a.kind == "privileges" && a.is_change())
        {
            self.need_member_of(self.owner, format!("grant and revoke on database {db}"));
        }
    }

    /// Whether the owner role holds every privilege on `schema` implicitly.
    fn owns_schema(&self, schema: &Schema) -> bool {
        // None: created below with AUTHORIZATION owner; pg_database_owner:
        // the database's owner, converged above.
        match schema.owner.as_deref() {
            None | Some("pg_database_owner") => true,
            Some(o) => o == self.owner,
        }
    }

    /// One managed schema: existence, USAGE, CREATE, tables, sequences,
    /// default privileges.
    fn schema(&mut self, schema: &Schema) {
        let s = quote_ident(&schema.name);
        let owner = quote_ident(self.owner);
        let object = format!("schema {s}");
        let new = |kind| Action::new(Scope::Database, object.clone(), kind);
        let owns = self.owns_schema(schema);
        let acl = if schema.owner.is_none() {
            self.need_member_of(self.owner, format!("create schema {s} for {owner}"));
            self.actions.push(new("schema").change(
                Verb::Create,
                format!("owned by {owner}"),
                vec![format!("CREATE SCHEMA {s} AUTHORIZATION {owner}")],
            ));
            Acl::from_pairs([(Some(self.owner), "USAGE"), (Some(self.owner), "CREATE")])
        } else {
            self.actions.push(new("schema").unchanged(format!(
                "exists, owned by {}",
                quote_ident(schema.owner.as_deref().unwrap_or_default())
            )));
            schema.acl.clone()
        };
        let schema_owner = schema
            .owner
            .clone()
            .unwrap_or_else(|| self.owner.to_owned());
        let mut grants_here = false;

        // The owner creates; when it does not own the schema it needs both.
        let a = new("privileges");
        self.actions.push(
            if owns || (acl.role_has(self.owner, "USAGE") && acl.role_has(self.owner, "CREATE")) {
                a.unchanged(format!("USAGE and CREATE for the owner {owner}"))
            } else {
                grants_here = true;
                a.change(
                    Verb::Grant,
                    format!("USAGE, CREATE to the owner {owner}"),
                    vec![format!("GRANT USAGE, CREATE ON SCHEMA {s} TO {owner}")],
                )
            },
        );
        for role in self.desired.grantees() {
            let r = quote_ident(role);
            let a = new("privileges");
            self.actions.push(if acl.role_has(role, "USAGE") {
                a.unchanged(format!("USAGE for {r}"))
            } else {
                grants_here = true;
                a.change(
                    Verb::Grant,
                    format!("USAGE to {r}"),
                    vec![format!("GRANT USAGE ON SCHEMA {s} TO {r}")],
                )
            });
        }
        // CREATE only for the owner: taken from PUBLIC and our other roles.
        let mut creators: Vec<String> = Vec::new();
        if acl.public_has("CREATE") {
            creators.push("PUBLIC".into());
        }
        let mut others = vec![
            self.desired.app.name.as_str(),
            self.desired.service.name.as_str(),
        ];
        others.retain(|r| *r != self.owner);
        for role in others {
            if acl.role_has(role, "CREATE") {
                creators.push(quote_ident(role));
            }
        }
        let a = new("privileges");
        self.actions.push(if creators.is_empty() {
            a.unchanged(format!("CREATE only for the owner {owner}"))
        } else {
            grants_here = true;
            a.change(
                Verb::Revoke,
                format!("CREATE from {}", creators.join(", ")),
                vec![format!(
                    "REVOKE CREATE ON SCHEMA {s} FROM {}",
                    creators.join(", ")
                )],
            )
        });
        if grants_here {
            self.need_member_of(
                &schema_owner_for_grants(&schema_owner, self.owner),
                format!("grant on schema {s}"),
            );
        }

        let marker = self
            .desired
            .marker
            .as_ref()
            .filter(|m| m.schema == schema.name)
            .map(|m| m.table.clone());
        let tables: Vec<&Relation> = schema
            .tables
            .iter()
            .filter(|t| Some(&t.name) != marker.as_ref())
            .collect();
        for role in self.desired.grantees() {
            self.relations(
                &object,
                &schema.name,
                &tables,
                role,
                &TABLE_PRIVILEGES,
                "TABLE",
                "tables",
            );
            let sequences: Vec<&Relation> = schema.sequences.iter().collect();
            self.relations(
                &object,
                &schema.name,
                &sequences,
                role,
                &SEQUENCE_PRIVILEGES,
                "SEQUENCE",
                "sequences",
            );
            for (acl, privileges, word) in [
                (&schema.default_tables, &TABLE_PRIVILEGES[..], "TABLES"),
                (
                    &schema.default_sequences,
                    &SEQUENCE_PRIVILEGES[..],
                    "SEQUENCES",
                ),
            ] {
                let r = quote_ident(role);
                let list = privileges.join(", ");
                let lower = word.to_lowercase();
                let a = Action::new(Scope::Database, object.clone(), "default privileges");
                let action = if privileges.iter().all(|p| acl.role_has(role, p)) {
                    a.unchanged(format!("{list} for {r} on future {lower} of {owner}"))
                } else {
                    self.need_member_of(self.owner, format!("alter default privileges of {owner}"));
                    a.change(
                        Verb::Grant,
                        format!("{list} to {r} on future {lower} of {owner}"),
                        vec![format!(
                            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {s} GRANT {list} ON {word} TO {r}"
                        )],
                    )
                };
                self.actions.push(action);
                // More than intended on future objects (TRUNCATE, REFERENCES,
                // TRIGGER, UPDATE on a sequence…) is drift too.
                let extra = acl.privileges_beyond(Some(role), privileges);
                if !extra.is_empty() {
                    self.need_member_of(self.owner, format!("alter default privileges of {owner}"));
                    let extra = extra.join(", ");
                    self.actions.push(a_revoke(&object).change(
                        Verb::Revoke,
                        format!("{extra} from {r} on future {lower} of {owner}"),
                        vec![format!(
                            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {s} REVOKE {extra} ON {word} FROM {r}"
                        )],
                    ));
                }
            }
        }
        // Nothing on the owner's future objects for PUBLIC.
        for (acl, word) in [
            (&schema.default_tables, "TABLES"),
            (&schema.default_sequences, "SEQUENCES"),
        ] {
            let public = acl.privileges_beyond(None, &[]);
            if !public.is_empty() {
                self.need_member_of(self.owner, format!("alter default privileges of {owner}"));
                let list = public.join(", ");
                let lower = word.to_lowercase();
                self.actions.push(a_revoke(&object).change(
                    Verb::Revoke,
                    format!("{list} from PUBLIC on future {lower} of {owner}"),
                    vec![format!(
                        "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {s} REVOKE {list} ON {word} FROM PUBLIC"
                    )],
                ));
            }
        }
    }

    /// Default privileges the owner set for every schema (no `IN SCHEMA`):
    /// whatever they give the runtime roles or PUBLIC on future tables and
    /// sequences is more than the per-schema defaults intend.
    fn global_defaults(&mut self) {
        let owner = quote_ident(self.owner);
        let object = format!("database {}", self.db());
        let inside = &self.facts.inside;
        let mut grantees: Vec<Option<&str>> =
            self.desired.grantees().into_iter().map(Some).collect();
        grantees.push(None);
        for (acl, word) in [
            (&inside.global_default_tables, "TABLES"),
            (&inside.global_default_sequences, "SEQUENCES"),
        ] {
            for grantee in &grantees {
                let held = acl.privileges_beyond(*grantee, &[]);
                if held.is_empty() {
                    continue;
                }
                self.need_member_of(self.owner, format!("alter default privileges of {owner}"));
                let list = held.join(", ");
                let to = grantee.map_or_else(|| "PUBLIC".to_owned(), quote_ident);
                let lower = word.to_lowercase();
                self.actions.push(a_revoke(&object).change(
                    Verb::Revoke,
                    format!("{list} from {to} on future {lower} of {owner} in every schema"),
                    vec![format!(
                        "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} REVOKE {list} ON {word} FROM {to}"
                    )],
                ));
            }
        }
    }

    /// DML (or sequence use) on the existing relations of one schema for
    /// one role: one action, one GRANT per relation that lacks something.
    #[allow(clippy::too_many_arguments)]
    fn relations(
        &mut self,
        object: &str,
        schema: &str,
        relations: &[&Relation],
        role: &str,
        privileges: &[&str],
        word: &str,
        plural: &str,
    ) {
        let r = quote_ident(role);
        let list = privileges.join(", ");
        let lacking: Vec<&Relation> = relations
            .iter()
            .copied()
            .filter(|t| t.owner != role && !privileges.iter().all(|p| t.acl.role_has(role, p)))
            .collect();
        let a = Action::new(Scope::Database, object.to_owned(), "privileges");
        if lacking.is_empty() {
            self.actions.push(a.unchanged(format!(
                "{list} for {r} on all {} existing {plural}",
                relations.len()
            )));
            return;
        }
        for t in &lacking {
            let will_be_member = t.owner == self.owner && self.membership_planned;
            if !(t.admin_can_grant || will_be_member) {
                self.need_member_of(
                    &t.owner.clone(),
                    format!(
                        "grant on {} {}.{}, owned by {}",
                        word.to_lowercase(),
                        quote_ident(schema),
                        quote_ident(&t.name),
                        quote_ident(&t.owner)
                    ),
                );
            }
        }
        let names: Vec<String> = lacking.iter().map(|t| quote_ident(&t.name)).collect();
        let shown = if names.len() > 5 {
            format!("{} and {} more", names[..5].join(", "), names.len() - 5)
        } else {
            names.join(", ")
        };
        let statements = lacking
            .iter()
            .map(|t| {
                format!(
                    "GRANT {list} ON {word} {}.{} TO {r}",
                    quote_ident(schema),
                    quote_ident(&t.name)
                )
            })
            .collect();
        self.actions.push(a.change(
            Verb::Grant,
            format!("{list} to {r} on {} {plural}: {shown}", lacking.len()),
            statements,
        ));
    }

    /// The environment marker: created with its value, or verified (a
    /// mismatch was refused before planning); the app role may only read it.
    fn marker(&mut self) {
        let Some(spec) = self.desired.marker.clone() else {
            return;
        };
        let table = spec.qualified();
        let owner = quote_ident(self.owner);
        let object = format!("table {table}");
        let action = Action::new(Scope::Database, object.clone(), "marker");
        let readers: Vec<&str> = self.desired.grantees();
        match &self.facts.inside.marker {
            Marker::Absent => {
                let Some(env) = &spec.env else { return };
                self.need_member_of(
                    self.owner,
                    format!("create the marker table {table} for {owner}"),
                );
                let mut statements = vec![
                    format!(
                        "CREATE TABLE {table} (id integer PRIMARY KEY CHECK (id = 1), env text NOT NULL)"
                    ),
                    format!(
                        "INSERT INTO {table} (id, env) VALUES (1, {})",
                        quote_literal(env)
                    ),
                    format!("ALTER TABLE {table} OWNER TO {owner}"),
                ];
                for r in &readers {
                    statements.push(format!(
                        "GRANT SELECT ON TABLE {table} TO {}",
                        quote_ident(r)
                    ));
                }
                self.actions.push(action.change(
                    Verb::Create,
                    format!("env = {}", quote_literal(env)),
                    statements,
                ));
            }
            Marker::Present(_) | Marker::Broken(_) => {
                if let Some(env) = &spec.env {
                    self.actions
                        .push(action.unchanged(format!("env = {} (verified)", quote_literal(env))));
                }
                let rel = self
                    .facts
                    .inside
                    .schemas
                    .iter()
                    .find(|s| s.name == spec.schema)
                    .and_then(|s| s.tables.iter().find(|t| t.name == spec.table))
                    .cloned();
                let Some(rel) = rel else { return };
                for role in readers {
                    let r = quote_ident(role);
                    let a = Action::new(Scope::Database, object.clone(), "privileges");
                    let writes: Vec<&str> = MARKER_WRITES
                        .iter()
                        .copied()
                        .filter(|p| rel.acl.role_has(role, p))
                        .collect();
                    let mut statements = Vec::new();
                    let mut said = Vec::new();
                    if !rel.acl.role_has(role, "SELECT") {
                        statements.push(format!("GRANT SELECT ON TABLE {table} TO {r}"));
                        said.push(format!("SELECT to {r}"));
                    }
                    if !writes.is_empty() {
                        statements.push(format!(
                            "REVOKE {} ON TABLE {table} FROM {r}",
                            writes.join(", ")
                        ));
                        said.push(format!("{} from {r}", writes.join(", ")));
                    }
                    let action = if statements.is_empty() {
                        a.unchanged(format!("{r} may only read it"))
                    } else {
                        if !rel.admin_can_grant {
                            self.need_member_of(
                                &rel.owner.clone(),
                                format!("grant on the marker table {table}"),
                            );
                        }
                        let verb = if writes.is_empty() {
                            Verb::Grant
                        } else {
                            Verb::Revoke
                        };
                        a.change(
                            verb,
                            format!("{}: it may only read it", said.join("; ")),
                            statements,
                        )
                    };
                    self.actions.push(action);
                }
            }
        }
    }

    /// Checks every need against the admin's attributes; names what lacks.
    fn preflight(&self) -> Result<(), Refusal> {
        let admin = &self.facts.admin;
        let who = quote_ident(&admin.name);
        let pg16 = self.facts.server_version_num >= 160_000;
        let mut missing: Vec<String> = Vec::new();
        for need in &self.needs {
            let lack = match need {
                Need::CreateRole(why) if !admin.superuser && !admin.createrole => {
                    Some(format!("CREATEROLE (to {why})"))
                }
                Need::CreateDb(why) if !admin.superuser && !admin.createdb => {
                    Some(format!("CREATEDB (to {why})"))
                }
                Need::Superuser(why) if !admin.superuser => Some(format!("SUPERUSER (to {why})")),
                Need::HandOut {
                    attribute,
                    has,
                    why,
                } if !admin.superuser => {
                    if pg16 && admin.createrole && *has {
                        None
                    } else if pg16 {
                        Some(format!(
                            "{attribute} and CREATEROLE, or SUPERUSER (to {why})"
                        ))
                    } else {
                        Some(format!(
                            "SUPERUSER, which PostgreSQL before 16 requires to {why}{}",
                            if *attribute == "BYPASSRLS" {
                                "; run as a superuser or use --no-service-bypassrls"
                            } else {
                                ""
                            }
                        ))
                    }
                }
                Need::MemberOf { role, why } if !admin.superuser => Some(format!(
                    "membership in role {} (to {why})",
                    quote_ident(role)
                )),
                _ => None,
            };
            if let Some(lack) = lack
                && !missing.contains(&lack)
            {
                missing.push(lack);
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Refusal {
                status: Exit::Denied,
                message: format!(
                    "the admin role {who} lacks {}; nothing changed",
                    missing.join(", and ")
                ),
            })
        }
    }
}

/// Grants on a schema owned by `pg_database_owner` need the database's
/// owner, which is the owner role once converged.
fn schema_owner_for_grants(schema_owner: &str, owner: &str) -> String {
    if schema_owner == "pg_database_owner" {
        owner.to_owned()
    } else {
        schema_owner.to_owned()
    }
}

#[cfg(test)]
#[path = "plan/tests.rs"]
mod tests;
