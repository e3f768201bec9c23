//! libpq's connect-time checks, case by case, with libpq's texts.

use crate::dsn::{ConnectionKind, Dsn, SslMode};

fn verdict(input: &str) -> Result<(), String> {
    Dsn::parse(input)
        .unwrap_or_else(|e| panic!("{input}: does not parse: {e}"))
        .validate()
        .map_err(|e| e.to_string())
}

fn refused(input: &str, want: &str) {
    assert_eq!(verdict(input), Err(want.to_owned()), "{input}");
}

fn accepted(input: &str) {
    assert_eq!(verdict(input), Ok(()), "{input}");
}

#[test]
fn an_empty_value_is_a_value() {
    for keyword in [
        "sslmode",
        "channel_binding",
        "sslnegotiation",
        "sslcertmode",
        "gssencmode",
        "target_session_attrs",
        "load_balance_hosts",
    ] {
        refused(
            &format!("postgres://h/db?{keyword}="),
            &format!("invalid {keyword} value: \"\""),
        );
    }
    for keyword in [
        "connect_timeout",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
    ] {
        refused(
            &format!("host=h {keyword}=''"),
            &format!("invalid integer value \"\" for connection option \"{keyword}\""),
        );
    }
    // Where libpq itself reads "" as unset.
    for ok in [
        "host='' port='' dbname='' user=''",
        "postgres://h/db?require_auth=",
        "postgres://h/db?ssl_min_protocol_version=&ssl_max_protocol_version=",
        "postgres://h/db?hostaddr=",
        "postgres://h/db?sslrootcert=&options=&application_name=",
    ] {
        accepted(ok);
    }
    // An empty sslmode is no longer read as the default.
    let dsn = Dsn::parse("postgres://h/db?sslmode=").unwrap();
    assert_eq!(
        dsn.sslmode().unwrap_err().to_string(),
        "invalid sslmode value: \"\""
    );
}

#[test]
fn enumerated_values() {
    accepted(
        "postgres://h/db?channel_binding=require&gssencmode=disable&target_session_attrs=prefer-standby&load_balance_hosts=random&sslcertmode=allow&sslnegotiation=postgres",
    );
    refused(
        "postgres://h/db?channel_binding=on",
        "invalid channel_binding value: \"on\"",
    );
    refused(
        "postgres://h/db?gssencmode=Require",
        "invalid gssencmode value: \"Require\"",
    );
    refused(
        "postgres://h/db?target_session_attrs=master",
        "invalid target_session_attrs value: \"master\"",
    );
    refused(
        "postgres://h/db?load_balance_hosts=round-robin",
        "invalid load_balance_hosts value: \"round-robin\"",
    );
    refused(
        "postgres://h/db?sslcertmode=verify",
        "invalid sslcertmode value: \"verify\"",
    );
    refused(
        "postgres://h/db?sslnegotiation=tls",
        "invalid sslnegotiation value: \"tls\"",
    );
    refused(
        "postgres://h/db?sslmode=bogus",
        "invalid sslmode value: \"bogus\"",
    );
}

#[test]
fn the_order_is_libpqs() {
    // require_auth, then channel_binding, then sslmode.
    refused(
        "postgres://h/db?sslmode=x&channel_binding=y&require_auth=z",
        "invalid require_auth value: \"z\"",
    );
    refused(
        "postgres://h/db?sslmode=x&channel_binding=y",
        "invalid channel_binding value: \"y\"",
    );
    // The host/port pairing comes before any value.
    refused(
        "host=a,b port=1,2,3 sslmode=x",
        "could not match 3 port numbers to 2 hosts",
    );
    // Option values before ports, ports before connect_timeout.
    refused(
        "host=a port=99999 sslmode=x",
        "invalid sslmode value: \"x\"",
    );
    refused(
        "host=a port=99999 connect_timeout=x",
        "invalid port number: \"99999\"",
    );
    // Target by target, as libpq 15 and 18 answered: the first target's
    // checks, its TCP options, connect_timeout, then the next target.
    refused(
        "host=a,b port=,x connect_timeout=y",
        "invalid integer value \"y\" for connection option \"connect_timeout\"",
    );
    refused(
        "host=a keepalives=y connect_timeout=z",
        "invalid integer value \"y\" for connection option \"keepalives\"",
    );
    refused(
        "host=a,b port=,x keepalives=y",
        "invalid integer value \"y\" for connection option \"keepalives\"",
    );
    // A socket that is not the last target may fail before the wait.
    refused(
        "host=/tmp,/tmp port=,x connect_timeout=z",
        "invalid integer value \"x\" for connection option \"port\"",
    );
    refused(
        "host=/tmp connect_timeout=z",
        "invalid integer value \"z\" for connection option \"connect_timeout\"",
    );
}

#[test]
fn require_auth_lists() {
    for ok in [
        "md5",
        "password,md5,scram-sha-256",
        "gss,sspi",
        "!md5,!password",
        "!gss,!sspi",
        "none",
        "none,scram-sha-256",
        "!none",
        "!none,!md5",
        "oauth",
    ] {
        accepted(&format!("host=h require_auth={ok}"));
    }
    for (value, want) in [
        (
            "md5,!password",
            "negative require_auth method \"!password\" cannot be mixed with non-negative methods",
        ),
        (
            "!md5,password",
            "require_auth method \"password\" cannot be mixed with negative methods",
        ),
        (
            "md5,md5",
            "require_auth method \"md5\" is specified more than once",
        ),
        (
            "!md5,!md5",
            "require_auth method \"!md5\" is specified more than once",
        ),
        (
            "none,none",
            "require_auth method \"none\" is specified more than once",
        ),
        (
            "!none,!none",
            "require_auth method \"!none\" is specified more than once",
        ),
        ("kerberos", "invalid require_auth value: \"kerberos\""),
        ("md5,", "invalid require_auth value: \"\""),
        ("!", "invalid require_auth value: \"\""),
        ("MD5", "invalid require_auth value: \"MD5\""),
    ] {
        refused(&format!("host=h require_auth='{value}'"), want);
    }
}

#[test]
fn tls_protocol_bounds() {
    accepted("host=h ssl_min_protocol_version=tlsv1.3 ssl_max_protocol_version=TLSv1.3");
    accepted("host=h ssl_min_protocol_version=TLSv1 ssl_max_protocol_version=TLSv1");
    refused(
        "host=h ssl_min_protocol_version=TLSv1.4",
        "invalid \"ssl_min_protocol_version\" value: \"TLSv1.4\"",
    );
    refused(
        "host=h ssl_max_protocol_version=SSLv3",
        "invalid \"ssl_max_protocol_version\" value: \"SSLv3\"",
    );
    refused(
        "host=h ssl_min_protocol_version=TLSv1.3 ssl_max_protocol_version=TLSv1.2",
        "invalid SSL protocol version range",
    );
    // The minimum defaults to TLSv1.2.
    refused(
        "host=h ssl_max_protocol_version=TLSv1.1",
        "invalid SSL protocol version range",
    );
    accepted("host=h ssl_min_protocol_version='' ssl_max_protocol_version=TLSv1.1");
}

#[test]
fn combinations_newer_libpq_refuses() {
    for mode in ["disable", "allow", "prefer", "require", "verify-ca"] {
        refused(
            &format!("host=h sslrootcert=system sslmode={mode}"),
            &format!(
                "weak sslmode \"{mode}\" may not be used with sslrootcert=system (use \"verify-full\")"
            ),
        );
    }
    accepted("host=h sslrootcert=system sslmode=verify-full");
    // Unset, sslmode follows sslrootcert=system to verify-full.
    accepted("host=h sslrootcert=system");
    let dsn = Dsn::parse("host=h sslrootcert=system").unwrap();
    assert_eq!(dsn.sslmode().unwrap(), SslMode::VerifyFull);
    // Only the exact word is special.
    accepted("host=h sslrootcert=System sslmode=require");

    for mode in ["disable", "allow", "prefer"] {
        refused(
            &format!("host=h sslnegotiation=direct sslmode={mode}"),
            &format!(
                "weak sslmode \"{mode}\" may not be used with sslnegotiation=direct (use \"require\", \"verify-ca\", or \"verify-full\")"
            ),
        );
    }
    refused(
        "host=h sslnegotiation=direct",
        "weak sslmode \"prefer\" may not be used with sslnegotiation=direct (use \"require\", \"verify-ca\", or \"verify-full\")",
    );
    accepted("host=h sslnegotiation=direct sslmode=require");
}

#[test]
fn integers_as_libpq_reads_them() {
    accepted("host=h connect_timeout=2147483647 tcp_user_timeout=-5 port=' 5432 '");
    refused(
        "postgres://h/db?connect_timeout=2147483648",
        "invalid integer value \"2147483648\" for connection option \"connect_timeout\"",
    );
    refused(
        "postgres://h:5432%C2%A0/db",
        "invalid integer value \"5432\u{a0}\" for connection option \"port\"",
    );
    refused(
        "postgres://h/db?keepalives_count=3x",
        "invalid integer value \"3x\" for connection option \"keepalives_count\"",
    );
    refused("host=h port=0", "invalid port number: \"0\"");
    refused("host=h port=65536", "invalid port number: \"65536\"");
    refused(
        "host=h port=4294972728",
        "invalid integer value \"4294972728\" for connection option \"port\"",
    );
    // TCP options are read for TCP servers only, and the timings only
    // while keepalives are on.
    accepted("host=/tmp keepalives=x tcp_user_timeout=y");
    accepted("host=h keepalives=0 keepalives_idle=x tcp_user_timeout=y");
    refused(
        "host=h keepalives=1 tcp_user_timeout=y",
        "invalid integer value \"y\" for connection option \"tcp_user_timeout\"",
    );
    refused(
        "host=/tmp,h keepalives=on",
        "invalid integer value \"on\" for connection option \"keepalives\"",
    );
    // Linux's ranges for the keepalive timings, as setsockopt reports them.
    accepted("host=h keepalives_idle=32767 keepalives_interval=1 keepalives_count=127");
    for (keyword, value, option) in [
        ("keepalives_idle", "0", "TCP_KEEPIDLE"),
        ("keepalives_idle", "-5", "TCP_KEEPIDLE"),
        ("keepalives_interval", "32768", "TCP_KEEPINTVL"),
        ("keepalives_count", "128", "TCP_KEEPCNT"),
    ] {
        refused(
            &format!("host=h {keyword}={value}"),
            &format!("setsockopt({option}) failed: Invalid argument"),
        );
    }
    accepted("host=/tmp keepalives_idle=0");
    // connect_timeout applies to sockets too.
    refused(
        "host=/tmp connect_timeout=soon",
        "invalid integer value \"soon\" for connection option \"connect_timeout\"",
    );
}

#[test]
fn hostaddr_must_be_numeric() {
    refused(
        "postgres://db/app?hostaddr=db.internal",
        "could not parse network address \"db.internal\": Name or service not known",
    );
    refused(
        "host=a,b hostaddr=10.0.0.1,nope",
        "could not parse network address \"nope\": Name or service not known",
    );
    accepted("host=a,b hostaddr=10.0.0.1,");
    accepted("hostaddr=::1,127.1");
}

#[test]
fn scram_keys() {
    let key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    accepted(&format!(
        "host=h scram_client_key={key} scram_server_key={key}"
    ));
    refused(
        "host=h scram_client_key=''",
        "invalid SCRAM client key length: 0",
    );
    refused(
        "host=h scram_server_key=AAAA",
        "invalid SCRAM server key length: 3",
    );
    refused("host=h scram_client_key=*", "invalid SCRAM client key");
    // libpq 18 refuses a blank anywhere in a key, as its probe answered.
    for blank in [" ", "\t"] {
        refused(
            &format!(
                "host=h scram_client_key='AAAAAAAAAAAAAAAAAAAAAA{blank}AAAAAAAAAAAAAAAAAAAAA='"
            ),
            "invalid SCRAM client key",
        );
    }
    refused(
        &format!("host=h scram_client_key=' {key}'"),
        "invalid SCRAM client key",
    );
    // Data after the padding is read, not refused.
    refused(
        "host=h scram_client_key=AA=A",
        "invalid SCRAM client key length: 1",
    );
    refused("host=h scram_client_key=A=AA", "invalid SCRAM client key");
    refused(
        "host=h scram_client_key=AA=AAAAA",
        "invalid SCRAM client key length: 2",
    );
    refused(
        "host=h scram_client_key=AAA=AA==",
        "invalid SCRAM client key length: 4",
    );
}

#[test]
fn protocol_versions() {
    accepted("host=h min_protocol_version=3.0 max_protocol_version=latest");
    refused(
        "host=h min_protocol_version=3.1",
        "invalid min_protocol_version value: \"3.1\"",
    );
    refused(
        "host=h min_protocol_version=3.2 max_protocol_version=3.0",
        "\"min_protocol_version\" is greater than \"max_protocol_version\"",
    );
}

#[test]
fn connection_kind_follows_the_first_host() {
    for (input, kind) in [
        ("postgres://%2Ftmp:x/db", ConnectionKind::Local),
        ("postgres://%2Ftmp,db/x", ConnectionKind::Local),
        ("postgres://db,%2Ftmp/x", ConnectionKind::Inet),
        ("host=@abstract", ConnectionKind::Local),
        ("host=,db", ConnectionKind::Local),
        ("host=/tmp hostaddr=127.0.0.1", ConnectionKind::Inet),
        ("host=/tmp,db hostaddr=,10.0.0.1", ConnectionKind::Local),
        ("port=x", ConnectionKind::Local),
    ] {
        let dsn = Dsn::parse(input).unwrap();
        assert_eq!(dsn.connection_kind(), kind, "{input}");
    }
}
