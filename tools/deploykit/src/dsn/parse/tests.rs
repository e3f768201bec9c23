//! libpq's behaviour, pinned case by case. The URI cases follow libpq's own
//! regression list (`src/interfaces/libpq/test`), the keyword/value cases the
//! "Connection Strings" section of the libpq documentation.

use super::parse;
use crate::dsn::ConnectionKind::{self, Inet, Local};

/// Parses `input` and renders the options as `key='value'` in keyword order.
fn options(input: &str) -> (String, ConnectionKind) {
    let dsn = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    let mut all: Vec<(String, String)> = dsn
        .options
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    if let Some(p) = dsn.password() {
        all.push(("password".into(), p.expose().to_owned()));
    }
    all.sort();
    let text = all
        .iter()
        .map(|(k, v)| format!("{k}='{v}'"))
        .collect::<Vec<_>>()
        .join(" ");
    (text, dsn.connection_kind())
}

fn error(input: &str) -> String {
    match parse(input) {
        Ok(dsn) => panic!("{input}: parsed as {dsn:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn uri_forms_parse_as_libpq() {
    let cases: &[(&str, &str, ConnectionKind)] = &[
        (
            "postgresql://uri-user:secret@host:12345/db",
            "dbname='db' host='host' password='secret' port='12345' user='uri-user'",
            Inet,
        ),
        (
            "postgresql://uri-user@host:12345/db",
            "dbname='db' host='host' port='12345' user='uri-user'",
            Inet,
        ),
        (
            "postgresql://uri-user@host/db",
            "dbname='db' host='host' user='uri-user'",
            Inet,
        ),
        (
            "postgresql://host:12345/db",
            "dbname='db' host='host' port='12345'",
            Inet,
        ),
        ("postgresql://host/db", "dbname='db' host='host'", Inet),
        (
            "postgresql://uri-user@host:12345/",
            "host='host' port='12345' user='uri-user'",
            Inet,
        ),
        (
            "postgresql://uri-user@host/",
            "host='host' user='uri-user'",
            Inet,
        ),
        ("postgresql://uri-user@", "user='uri-user'", Local),
        ("postgresql://host:12345/", "host='host' port='12345'", Inet),
        ("postgresql://host:12345", "host='host' port='12345'", Inet),
        ("postgresql://host/", "host='host'", Inet),
        ("postgresql://host", "host='host'", Inet),
        ("postgresql://", "", Local),
        (
            "postgresql://?hostaddr=127.0.0.1",
            "hostaddr='127.0.0.1'",
            Inet,
        ),
        (
            "postgresql://example.com?hostaddr=63.1.2.4",
            "host='example.com' hostaddr='63.1.2.4'",
            Inet,
        ),
        ("postgresql://%68ost/", "host='host'", Inet),
        (
            "postgresql://host/db?user=uri-user",
            "dbname='db' host='host' user='uri-user'",
            Inet,
        ),
        (
            "postgresql://host/db?user=uri-user&port=12345",
            "dbname='db' host='host' port='12345' user='uri-user'",
            Inet,
        ),
        (
            "postgresql://host/db?u%73er=someotheruser&port=12345",
            "dbname='db' host='host' port='12345' user='someotheruser'",
            Inet,
        ),
        (
            "postgresql://host:12345?user=uri-user",
            "host='host' port='12345' user='uri-user'",
            Inet,
        ),
        (
            "postgresql://host?user=uri-user",
            "host='host' user='uri-user'",
            Inet,
        ),
        ("postgresql://host?", "host='host'", Inet),
        (
            "postgresql://[::1]:12345/db",
            "dbname='db' host='::1' port='12345'",
            Inet,
        ),
        ("postgresql://[::1]/db", "dbname='db' host='::1'", Inet),
        (
            "postgresql://[2001:db8::1234]/",
            "host='2001:db8::1234'",
            Inet,
        ),
        (
            "postgresql://[200z:db8::1234]/",
            "host='200z:db8::1234'",
            Inet,
        ),
        ("postgresql://[::1]", "host='::1'", Inet),
        ("postgres://", "", Local),
        ("postgres:///", "", Local),
        ("postgres:///db", "dbname='db'", Local),
        (
            "postgres://uri-user@/db",
            "dbname='db' user='uri-user'",
            Local,
        ),
        (
            "postgres://?host=/path/to/socket/dir",
            "host='/path/to/socket/dir'",
            Local,
        ),
        ("postgres://@host", "host='host'", Inet),
        ("postgres://host:/", "host='host'", Inet),
        ("postgres://:12345/", "port='12345'", Local),
        (
            "postgres://otheruser@?host=/no/such/directory",
            "host='/no/such/directory' user='otheruser'",
            Local,
        ),
        (
            "postgres://otheruser@/?host=/no/such/directory",
            "host='/no/such/directory' user='otheruser'",
            Local,
        ),
        (
            "postgres://otheruser@:12345?host=/no/such/socket/path",
            "host='/no/such/socket/path' port='12345' user='otheruser'",
            Local,
        ),
        (
            "postgres://otheruser@:12345/db?host=/path/to/socket",
            "dbname='db' host='/path/to/socket' port='12345' user='otheruser'",
            Local,
        ),
        (
            "postgres://%2Fvar%2Flib%2Fpostgresql/dbname",
            "dbname='dbname' host='/var/lib/postgresql'",
            Local,
        ),
        // Several hosts: libpq joins hosts and ports with commas, keeping
        // an empty port where a host has none.
        (
            "postgresql://h1:5432,h2:5433/app",
            "dbname='app' host='h1,h2' port='5432,5433'",
            Inet,
        ),
        (
            "postgresql://h1,h2:5433/app",
            "dbname='app' host='h1,h2' port=',5433'",
            Inet,
        ),
        (
            "postgresql://[::1]:1,h2/x",
            "dbname='x' host='::1,h2' port='1,'",
            Inet,
        ),
        // Percent-decoding of every component.
        (
            "postgres://us%40er:p%40ss%2Fw%3Ard@h/d%20b",
            "dbname='d b' host='h' password='p@ss/w:rd' user='us@er'",
            Inet,
        ),
        // The password runs to the first '@' after the colon.
        (
            "postgres://u:a:b@h/db",
            "dbname='db' host='h' password='a:b' user='u'",
            Inet,
        ),
        // Empty user and password are not stored.
        ("postgres://:@h/db", "dbname='db' host='h'", Inet),
        // Query parameters override the authority; the last value wins.
        (
            "postgres://h/db?sslmode=disable&sslmode=verify-full&sslrootcert=%2Fca.pem",
            "dbname='db' host='h' sslmode='verify-full' sslrootcert='/ca.pem'",
            Inet,
        ),
        (
            "postgres://h/db?ssl=true",
            "dbname='db' host='h' sslmode='require'",
            Inet,
        ),
        (
            "postgres://h/db?requiressl=1",
            "dbname='db' host='h' sslmode='require'",
            Inet,
        ),
        (
            "postgres://h/db?requiressl=0",
            "dbname='db' host='h' sslmode='prefer'",
            Inet,
        ),
        (
            "postgres://h/db?options=-c%20x%3Dy",
            "dbname='db' host='h' options='-c x=y'",
            Inet,
        ),
        (
            "postgres://h/db?application_name=",
            "application_name='' dbname='db' host='h'",
            Inet,
        ),
        (
            "postgres://h/db?host=other",
            "dbname='db' host='other'",
            Inet,
        ),
    ];
    for (input, want, kind) in cases {
        let (got, got_kind) = options(input);
        assert_eq!(&got, want, "{input}");
        assert_eq!(got_kind, *kind, "{input}");
    }
}

#[test]
fn uri_errors_use_libpq_wording() {
    let cases: &[(&str, &str)] = &[
        (
            "postgresql://host/db?u%7aer=someotheruser&port=12345",
            "invalid URI query parameter: \"uzer\"",
        ),
        (
            "postgresql://host?uzer=",
            "invalid URI query parameter: \"uzer\"",
        ),
        // libpq: missing "=" after "postgre://"; a foreign scheme is named.
        (
            "postgre://",
            "unsupported scheme \"postgre\" (a Postgres DSN starts with postgres:// or postgresql://, or is keyword=value pairs)",
        ),
        (
            "mysql://u:pw@h/db",
            "unsupported scheme \"mysql\" (a Postgres DSN starts with postgres:// or postgresql://, or is keyword=value pairs)",
        ),
        (
            "postgres://[::1",
            "end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"postgres://[::1\"",
        ),
        (
            "postgres://[]",
            "IPv6 host address may not be empty in URI: \"postgres://[]\"",
        ),
        (
            "postgres://[::1]z",
            "unexpected character \"z\" at position 17 in URI (expected \":\" or \"/\"): \"postgres://[::1]z\"",
        ),
        (
            "postgresql://host?zzz",
            "missing key/value separator \"=\" in URI query parameter: \"zzz\"",
        ),
        (
            "postgresql://host?value1&value2",
            "missing key/value separator \"=\" in URI query parameter: \"value1\"",
        ),
        (
            "postgresql://host?key=key=value",
            "extra key/value separator \"=\" in URI query parameter: \"key\"",
        ),
        (
            "postgres://host?dbname=%XXfoo",
            "invalid percent-encoded token: \"%XXfoo\"",
        ),
        (
            "postgresql://a%00b",
            "forbidden value %00 in percent-encoded value: \"a%00b\"",
        ),
        ("postgresql://%zz", "invalid percent-encoded token: \"%zz\""),
        ("postgresql://%1", "invalid percent-encoded token: \"%1\""),
        ("postgresql://%", "invalid percent-encoded token: \"%\""),
        (
            "postgres://h/db?sslmdoe=require",
            "invalid URI query parameter: \"sslmdoe\"",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(&error(input), want, "{input}");
    }
}

#[test]
fn an_unencoded_at_sign_is_refused_without_quoting() {
    for input in [
        "postgres://app:p@zz@db/app",
        "postgres://app:p@zz@[::1]/app",
        "postgres://@x@y",
    ] {
        let err = error(input);
        assert!(
            err.starts_with("unencoded \"@\" after the user information"),
            "{input}: {err}"
        );
        assert!(!err.contains("zz"), "{err}");
    }
    // After the authority an '@' is just a character of the database name.
    let (got, _) = options("postgres://h/d@b?application_name=a@b");
    assert_eq!(got, "application_name='a@b' dbname='d@b' host='h'");
}

#[test]
fn uri_errors_never_quote_the_password() {
    for input in [
        "postgres://u:hunter2@[::1",
        "postgres://u:hunter2@[]",
        "postgres://u:hunter2@[::1]z/db",
        "postgres://u:hunter2%zz@h/db",
        "postgres://u:hunter2%00@h/db",
        "postgres://u@h/db?password=hunter2%zz",
        "postgres://u@h/db?password=hunter2%00",
    ] {
        let err = error(input);
        assert!(!err.contains("hunter2"), "{input}: {err}");
    }
    assert_eq!(
        error("postgres://u:hunter2@[::1]z/db"),
        "unexpected character \"z\" at position 27 in URI (expected \":\" or \"/\"): \"postgres://u:***@[::1]z/db\""
    );
}

#[test]
fn keyword_value_forms_parse_as_libpq() {
    let cases: &[(&str, &str, ConnectionKind)] = &[
        (
            "host=db port=5432 dbname=app user=app password='x y'",
            "dbname='app' host='db' password='x y' port='5432' user='app'",
            Inet,
        ),
        ("host = db  dbname =app", "dbname='app' host='db'", Inet),
        ("  host=db\tdbname=app\n", "dbname='app' host='db'", Inet),
        ("password='it\\'s' host=h", "host='h' password='it's'", Inet),
        ("password=a\\ b host=h", "host='h' password='a b'", Inet),
        ("password='a\\\\b'", "password='a\\b'", Local),
        ("dbname=", "dbname=''", Local),
        ("dbname=''", "dbname=''", Local),
        ("host=/tmp", "host='/tmp'", Local),
        ("hostaddr=127.0.0.1", "hostaddr='127.0.0.1'", Inet),
        (
            "host=h1,h2 port=5432,5433",
            "host='h1,h2' port='5432,5433'",
            Inet,
        ),
        ("requiressl=1", "sslmode='require'", Local),
        ("", "", Local),
        // Not a URI: the prefix is case-sensitive.
        ("dbname=POSTGRES://x", "dbname='POSTGRES://x'", Local),
    ];
    for (input, want, kind) in cases {
        let (got, got_kind) = options(input);
        assert_eq!(&got, want, "{input}");
        assert_eq!(got_kind, *kind, "{input}");
    }
}

#[test]
fn keyword_value_errors_use_libpq_wording() {
    let cases: &[(&str, &str)] = &[
        (
            "host",
            "missing \"=\" after \"host\" in connection info string",
        ),
        (
            "host db",
            "missing \"=\" after \"host\" in connection info string",
        ),
        (
            "dbname=x y",
            "missing \"=\" after \"y\" in connection info string",
        ),
        (
            "password='x",
            "unterminated quoted string in connection info string",
        ),
        ("hots=db", "invalid connection option \"hots\""),
        ("=x", "invalid connection option \"\""),
        (
            "postgres:/h",
            "missing \"=\" after \"postgres:/h\" in connection info string",
        ),
        // libpq would quote the password here; this does not.
        (
            "password=two words",
            "missing \"=\" after \"***\" in connection info string",
        ),
        (
            "postgres:/u:hunter2@h/db",
            "missing \"=\" after \"postgres:***@h/db\" in connection info string",
        ),
        (
            "postgresql//u:a@b:hunter2@h",
            "missing \"=\" after \"postgresql//u:***@h\" in connection info string",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(&error(input), want, "{input}");
    }
}

#[test]
fn display_redacts_and_round_trips() {
    let cases: &[(&str, &str)] = &[
        (
            "postgres://app:s3cret@db.internal:5432/app",
            "postgres://app:***@db.internal:5432/app",
        ),
        (
            "host=db user=app password=s3cret dbname=app sslmode=verify-full",
            "postgres://app:***@db/app?sslmode=verify-full",
        ),
        ("postgres://[::1]:5433/x", "postgres://[::1]:5433/x"),
        ("postgres://h1:1,h2:2/d", "postgres://h1:1,h2:2/d"),
        (
            "postgres:///d?host=/run/pg",
            "postgres:///d?host=%2Frun%2Fpg",
        ),
        (
            "postgres://u@h/d%20b?options=-c%20a%3Db",
            "postgres://u@h/d%20b?options=-c%20a%3Db",
        ),
        (
            "user=u password=p sslpassword=k",
            "postgres://u:***@?sslpassword=***",
        ),
    ];
    for (input, want) in cases {
        let dsn = parse(input).unwrap();
        let shown = dsn.to_string();
        assert_eq!(&shown, want, "{input}");
        assert!(!shown.contains("s3cret"));
        assert_eq!(format!("{dsn:?}"), format!("Dsn({want})"));
        // The redacted display parses back to the same DSN, but the password.
        let back = parse(&shown).unwrap();
        let mut original = dsn.redacted_options();
        original.remove("sslpassword");
        let mut again = back.redacted_options();
        again.remove("sslpassword");
        assert_eq!(again, original, "{input}");
    }
}

#[test]
fn targets_pair_hosts_and_ports() {
    let dsn = parse("postgres://h1:5432,h2/app").unwrap();
    let t = dsn.targets().unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!((t[0].host.as_deref(), t[0].port), (Some("h1"), 5432));
    assert_eq!((t[1].host.as_deref(), t[1].port), (Some("h2"), 5432));

    let dsn = parse("host=a,b,c port=6000").unwrap();
    assert!(dsn.targets().unwrap().iter().all(|t| t.port == 6000));

    let dsn = parse("host=a,b,c port=1,2").unwrap();
    assert_eq!(
        dsn.targets().unwrap_err().to_string(),
        "could not match 2 port numbers to 3 hosts"
    );
    let dsn = parse("host=a port=x").unwrap();
    assert_eq!(
        dsn.targets().unwrap_err().to_string(),
        "invalid integer value \"x\" for connection option \"port\""
    );
    let dsn = parse("postgres:///db").unwrap();
    let t = dsn.targets().unwrap();
    assert!(t[0].is_socket());
    assert_eq!(t[0].display(), "/var/run/postgresql/.s.PGSQL.5432");
}

#[test]
fn typed_accessors() {
    use crate::dsn::SslMode;
    let dsn = parse("postgres://u:p@h/db?sslmode=verify-ca&connect_timeout=1&application_name=x")
        .unwrap();
    assert_eq!(dsn.sslmode().unwrap(), SslMode::VerifyCa);
    assert_eq!(
        dsn.connect_timeout().unwrap(),
        Some(std::time::Duration::from_secs(2))
    );
    assert_eq!(dsn.application_name(), Some("x"));
    assert_eq!(parse("host=h").unwrap().sslmode().unwrap(), SslMode::Prefer);
    assert_eq!(
        parse("sslmode=bogus")
            .unwrap()
            .sslmode()
            .unwrap_err()
            .to_string(),
        "invalid sslmode value: \"bogus\""
    );
    assert_eq!(parse("user=app").unwrap().effective_dbname(), Some("app"));
    assert!(SslMode::Require < SslMode::VerifyFull);
}

/// libpq 18's rule for blanks in URI components, as its probe answered.
#[test]
fn uri_blanks_are_trimmed_around_and_refused_inside_a_component() {
    let trimmed: &[(&str, &str)] = &[
        ("postgres://db/app ", "dbname='app' host='db'"),
        ("postgres:// db /app", "dbname='app' host='db'"),
        ("postgres://u: pw @db", "host='db' password='pw' user='u'"),
        ("postgres://db:5432 /x", "dbname='x' host='db' port='5432'"),
        (
            "postgres://db/app? application_name = x ",
            "application_name='x' dbname='app' host='db'",
        ),
        // Only the ASCII space, and only before decoding.
        ("postgres://db/%20app%20", "dbname=' app ' host='db'"),
        ("postgres://db/\tapp\t", "dbname='\tapp\t' host='db'"),
        ("postgres://db/a\tb", "dbname='a\tb' host='db'"),
        // All blanks: an empty value, still stored.
        ("postgres://db/   ", "dbname='' host='db'"),
    ];
    for (input, want) in trimmed {
        assert_eq!(options(input).0, *want, "{input:?}");
    }
    let refused: &[(&str, &str)] = &[
        ("postgres://d b/app", "\"d b\""),
        ("postgres://a ,b/x", "\"a ,b\""),
        ("postgres://db/ a b ", "\" a b \""),
        ("postgres://db/app?application_name=a b", "\"a b\""),
        (
            "postgres://db/app?applica tion_name=x",
            "\"applica tion_name\"",
        ),
        ("postgres://u ser@db", "\"u ser\""),
        // The password is never quoted.
        ("postgres://u:p w@db", "\"***\""),
        ("postgres://db/x?password=p w", "\"***\""),
        // The first problem in the text is the one reported.
        ("postgres://db/a b%zz", "\"a b%zz\""),
    ];
    for (input, quoted) in refused {
        assert_eq!(
            error(input),
            format!(
                "unexpected spaces found in {quoted}, use percent-encoded spaces (%20) instead"
            ),
            "{input:?}"
        );
    }
    assert_eq!(
        error("postgres://db/a%zz b"),
        "invalid percent-encoded token: \"a%zz b\""
    );
}

#[test]
fn a_password_with_an_unencoded_slash_is_refused_without_quoting() {
    // libpq ends the user information, host and port at the first '/':
    // the pieces of these passwords would be a port or a database name.
    for (input, part) in [
        ("postgres://app:Zq9:s/ec@127.0.0.1:5432/shop", "port"),
        ("postgres://app:Zq9s/ec@db/shop", "port"),
        ("postgres://app:Zq%zz/ec@db/shop", "port"),
        ("postgres://db:5432,app:Zq9s/ec@db/shop", "port"),
        ("postgres://app:5432/Zq9sec@db/shop", "database name"),
        ("postgres://app:/Zq9sec@db/shop", "database name"),
        ("postgres://app:5432/Zq9%zz/ec@db/shop", "database name"),
        ("postgres://app:1/b?Zq9sec@db/shop", "query"),
        ("postgres://app:1/b?Zq9sec=x@db/shop", "query"),
    ] {
        let err = error(input);
        assert!(
            err.starts_with("misplaced password in URI:")
                && err.contains(&format!("as the {part} \"***\""))
                && err.contains("percent-encode the password"),
            "{input}: {err}"
        );
        assert!(!err.contains("Zq9") && !err.contains("sec"), "{err}");
    }
    // Encoded, the same passwords parse.
    let (got, _) = options("postgres://app:Zq9:s%2Fec@127.0.0.1:5432/shop");
    assert_eq!(
        got,
        "dbname='shop' host='127.0.0.1' password='Zq9:s/ec' port='5432' user='app'"
    );
    // An '@' further on in a URI whose host and port read as such is data.
    for (input, want) in [
        ("postgres://h/d@b", "dbname='d@b' host='h'"),
        (
            "postgres://h:5432/db?application_name=a@b",
            "application_name='a@b' dbname='db' host='h' port='5432'",
        ),
        (
            "postgres://[::1]:5432/d@b",
            "dbname='d@b' host='::1' port='5432'",
        ),
    ] {
        assert_eq!(options(input).0, want, "{input}");
    }
}
