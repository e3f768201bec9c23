//! Talking to OCI registries (the distribution API), for every tool that
//! resolves, copies or prunes images.
//!
//! One implementation, so the tools agree on what a digest is, which
//! credentials go where and what each failure's exit status is. Each child
//! has one concern, and each uses only the ones listed before it:
//!
//! - [`model`]: the documents: media types and `Accept`, descriptors and
//!   manifests, indexes and platform selection, error bodies;
//! - [`endpoint`]: which host serves a registry domain, loopback, query
//!   encoding;
//! - [`transport`]: one HTTP exchange, with its deadline and its retries;
//! - [`auth`]: the authentication dance: challenges, credential sources,
//!   tokens, Basic, and what a request has tried;
//! - [`client`]: reads (resolve, manifests, blobs), each request
//!   authenticated and the scheme chosen per registry;
//! - [`args`]: the registry flags every tool takes, made into client options;
//! - [`write`](mod@write): manifests put and blobs mounted or copied, on a client;
//! - [`admin`]: tags listed and manifests deleted, on a client.

pub mod admin;
pub mod args;
pub mod auth;
pub mod client;
pub mod endpoint;
pub mod model;
pub mod transport;
pub mod write;

/// Where the registry client sends credentials, for the SECURITY section
/// of each registry tool's man page (the decision is in CONVENTIONS.md).
pub const SECURITY: &[&str] = &[
    "Credentials come from --username with --password-stdin, REGISTRY_TOKEN or the Docker configuration (auths, credHelpers, credsStore) and go only to the registry they are stored for and to the token service its Bearer challenge names. Those known without running a helper (--password-stdin, REGISTRY_TOKEN, inline auths) are sent with the first request, before any 401, which spares a Basic registry a refusal per request; a credential helper runs only once the registry asked. A token realm on another host gets them, as Docker does (Docker Hub's realm is auth.docker.io), but never a realm with user information in its URL.",
    "HTTPS is the default, verified against the system roots plus --cacert. Plain HTTP, with the credentials in the clear, is used only for a loopback registry that does not speak TLS, with --plain-http, or with --insecure (which also turns verification off); a plain-HTTP token realm gets credentials only on loopback or with those flags. Redirects (blob downloads) are followed without the Authorization header, and an upload Location on another host gets no credentials; a tag page's next link must stay on the same registry and repository, else the run stops (exit 3). Passwords and tokens are never printed, logged or put in a helper's argv.",
];

pub use client::Client;
pub use model::{Descriptor, Manifest, Platform};
