//! What the format modules' tests share: digests, pins, a kustomization.

/// A digest.
pub const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
/// Another digest.
pub const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

/// A kustomization with three images entries, comments and quotes.
pub const KUSTOMIZATION: &str = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
# promoted by CI
resources:
  - ../../base/api
images:
  # the API
  - name: api
    newName: ghcr.io/acme/api   # moved to GHCR
    newTag: \"prod-0000000\"
  - name: ghcr.io/acme/scheduler-worker
    digest: sha256:2222222222222222222222222222222222222222222222222222222222222222
  - name: redis
    newTag: '7.2'
namePrefix: prod-
";
