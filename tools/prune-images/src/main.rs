// The C entry point on Linux/glibc, without Rust's runtime set-up: see
// deploykit::entry for why and what the tools keep of it.
#![cfg_attr(all(target_os = "linux", target_env = "gnu", not(test)), no_main)]

deploykit::main!("prune-images", prune_images::main);
