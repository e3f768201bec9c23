//! Registries and token services that try to get credentials sent where
//! they must not go, or work outside the repository a run was given:
//! small scripted servers on loopback (`faults::Scripted`), each logging
//! every request with its headers, so a test can say which request
//! carried credentials.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use deploykit_tests::Tool;
use deploykit_tests::faults::{Answer, Request, Scripted};

const USER: &str = "ci";
const PASSWORD: &str = "Pl4nted-Secret-7x";

fn basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    )
}

/// A Docker config whose `auths` holds the credentials for `host` inline.
fn docker_config(dir: &Path, host: &str) -> PathBuf {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    std::fs::write(
        dir.join("config.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .expect("config.json");
    dir.to_owned()
}

fn prune(registry: &Scripted, config: &Path, args: &[&str]) -> deploykit_tests::Run {
    Tool::new("prune-images")
        .env("DOCKER_CONFIG", config)
        .args(["registry", "--timeout", "10s"])
        .args(args)
        .arg(format!("{}/app", registry.host()))
        .run()
}

fn tags(names: &[&str]) -> Vec<u8> {
    serde_json::json!({ "name": "app", "tags": names })
        .to_string()
        .into_bytes()
}

fn bearer_challenge(realm: &str) -> Answer {
    Answer::new(401, r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#).header(
        "WWW-Authenticate",
        &format!(r#"Bearer realm="{realm}",service="hostile",scope="repository:app:pull""#),
    )
}

fn authorization(req: &Request) -> Option<&str> {
    req.header("authorization")
}

#[test]
fn a_token_realm_with_user_information_gets_no_credentials() {
    let token = Scripted::start(|_, _| Answer::new(200, r#"{"token":"t0k-from-evil"}"#));
    let realm = format!("http://localhost:x@{}/token", token.host());
    let registry = Scripted::start(move |_, req| match authorization(req) {
        Some(a) if a.starts_with("Bearer ") => Answer::new(200, tags(&[])),
        _ => bearer_challenge(&realm),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let config = docker_config(dir.path(), &registry.host());
    let run = prune(&registry, &config, &["--keep", "1"]);
    run.expect_code(4);
    assert!(run.stderr.contains("token realm that is refused"), "{run}");
    assert!(
        token.requests().is_empty(),
        "the token service was asked: {:?}",
        token.requests()
    );
    // Not vacuous: the registry did send the challenge.
    assert!(!registry.requests().is_empty());
}

#[test]
fn a_next_page_in_another_repository_stops_the_run_and_deletes_nothing() {
    let registry = Scripted::start(|_, req| {
        if req.target().starts_with("/v2/app/tags/list") {
            Answer::new(200, tags(&["build-1", "build-2"])).header(
                "Link",
                r#"</v2/other/tags/list?last=build-2&n=100>; rel="next""#,
            )
        } else if req.target() == "/v2/" {
            Answer::new(200, "{}")
        } else {
            Answer::new(404, r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#)
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let config = docker_config(dir.path(), &registry.host());
    let run = prune(&registry, &config, &["--keep", "0", "--apply"]);
    run.expect_code(3);
    assert!(run.stderr.contains("not this repository's"), "{run}");
    let requests = registry.requests();
    // With --apply a DELETE of a digest no registry holds checks the
    // credentials first; after the listing, nothing is deleted.
    let listed = requests
        .iter()
        .position(|r| r.target().starts_with("/v2/app/tags/list"))
        .expect("the tags were listed");
    for r in &requests[listed..] {
        assert!(!r.line.starts_with("DELETE "), "deleted: {requests:?}");
    }
    for r in &requests {
        assert!(
            !r.target().starts_with("/v2/other/"),
            "followed: {requests:?}"
        );
    }
}

/// The documented behaviour (CONVENTIONS.md, Network): credentials stored
/// inline for a registry go to that registry with the first request, and
/// to the token service its Bearer challenge names, on another host too,
/// as Docker sends Docker Hub's to auth.docker.io; only the token reaches
/// the registry after that.
#[test]
fn inline_credentials_go_to_their_registry_first_and_to_its_token_realm() {
    let token = Scripted::start(|_, _| Answer::new(200, r#"{"token":"t0k-1"}"#));
    // Another host name for the realm than the registry's 127.0.0.1.
    let realm = format!("http://localhost:{}/token", token.port());
    let registry = Scripted::start(move |_, req| match authorization(req) {
        Some("Bearer t0k-1") => Answer::new(200, tags(&[])),
        _ => bearer_challenge(&realm),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let config = docker_config(dir.path(), &registry.host());
    prune(&registry, &config, &["--keep", "1"]).expect_code(0);
    let sent = registry.requests();
    let first = sent.first().expect("a request");
    assert_eq!(
        authorization(first),
        Some(basic().as_str()),
        "pre-emptive Basic: {sent:?}"
    );
    let asked = token.requests();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(authorization(&asked[0]), Some(basic().as_str()));
    assert!(asked[0].target().contains("account=ci"), "{asked:?}");
    assert!(
        sent[1..]
            .iter()
            .all(|r| authorization(r) == Some("Bearer t0k-1")),
        "after the token only the token: {sent:?}"
    );
}
