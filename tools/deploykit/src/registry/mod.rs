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

pub use client::Client;
pub use model::{Descriptor, Manifest, Platform};
