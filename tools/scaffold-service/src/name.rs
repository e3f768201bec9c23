//! What a service may be called.
//!
//! The name becomes a directory, an npm package (`@scope/NAME-service`), a
//! Compose service, a Kubernetes Deployment and container name and label
//! value, and part of pod host names. So it must be a lowercase DNS label
//! (RFC 1035: a letter first, then letters, digits and single hyphens, no
//! hyphen at the end), short enough that `NAME-<pod-template-hash>-<suffix>`
//! (17 more characters) still fits the 63-character label limit, and not a
//! word that clashes with the repo's layout or this tool's subcommands.

/// The longest name: 63 (DNS label) minus the 17 characters Kubernetes adds
/// to a Deployment's name for its pods.
pub const MAX_LEN: usize = 46;

/// Names that would clash with the monorepo layout, Kubernetes defaults,
/// this tool's subcommands, or Windows device names (a checkout on Windows
/// could not hold the directory).
const RESERVED: &[&str] = &[
    "check",
    "templates",
    "help",
    "src",
    "services",
    "packages",
    "dist",
    "build",
    "node-modules",
    "test",
    "tests",
    "kubernetes",
    "default",
    "con",
    "prn",
    "aux",
    "nul",
    "com1",
    "com2",
    "com3",
    "com4",
    "com5",
    "com6",
    "com7",
    "com8",
    "com9",
    "lpt1",
    "lpt2",
    "lpt3",
    "lpt4",
    "lpt5",
    "lpt6",
    "lpt7",
    "lpt8",
    "lpt9",
];

/// Checks a service name; the error says what is wrong and how to fix it.
pub fn check(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the service name is empty".into());
    }
    if name.len() > MAX_LEN {
        return Err(format!(
            "service name {name:?} is {} characters; at most {MAX_LEN} fit Kubernetes pod names",
            name.len()
        ));
    }
    let bad = |why: &str| {
        Err(format!(
            "service name {name:?} {why}; use lowercase kebab-case like billing-worker"
        ))
    };
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return bad("must start with a lowercase letter");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return bad(&format!("contains {c:?}"));
    }
    if name.ends_with('-') {
        return bad("ends with a hyphen");
    }
    if name.contains("--") {
        return bad("contains a double hyphen");
    }
    if RESERVED.contains(&name) {
        return Err(format!(
            "service name {name:?} is reserved; choose a more specific name"
        ));
    }
    if let Some(stem) = name.strip_suffix("-service") {
        return Err(format!(
            "service name {name:?}: drop the \"-service\" suffix; the package of {stem:?} is already named @scope/{stem}-service"
        ));
    }
    if name == "service" {
        return Err("service name \"service\" says nothing; name it for what it does".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_kebab_case() {
        for ok in [
            "billing-worker",
            "a",
            "worker2",
            "a1-b2-c3",
            &"a".repeat(MAX_LEN),
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_what_cannot_be_a_dns_label() {
        for bad in [
            "",
            "Billing",
            "billing_worker",
            "1worker",
            "-worker",
            "worker-",
            "billing--worker",
            "billing.worker",
            "bill ing",
            "wörker",
            "../etc",
            &"a".repeat(MAX_LEN + 1),
        ] {
            assert!(check(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn rejects_reserved_and_suffixed() {
        for bad in [
            "check",
            "src",
            "kubernetes",
            "con",
            "billing-service",
            "service",
        ] {
            assert!(check(bad).is_err(), "{bad:?} accepted");
        }
    }
}
