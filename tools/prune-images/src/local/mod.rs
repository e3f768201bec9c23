//! `prune-images local`: the images of the engine on this host.
//!
//! Facts are gathered once (images, containers, the data root's free space),
//! [`plan::plan`] decides, [`report`](crate::report) prints, and only with
//! `--apply` does [`apply::apply`] remove anything.

pub mod apply;
pub mod plan;

use std::time::{SystemTime, UNIX_EPOCH};

use deploykit::engine::{Endpoint, Engine, EngineOptions};
use deploykit::exit::{Error, Exit, Result};
use deploykit::output::Reporter;

use crate::cli::LocalArgs;
use crate::protect::ProtectSet;
use crate::report;

/// Builds the protect set from `--protect` and `--protect-file`.
pub fn protect_set(refs: &[String], files: &[std::path::PathBuf]) -> Result<ProtectSet> {
    let mut set = ProtectSet::default();
    for r in refs {
        set.add_ref(r, "--protect")?;
    }
    for f in files {
        set.add_file(f)?;
    }
    Ok(set)
}

/// Runs `prune-images local`.
pub fn run(args: &LocalArgs, out: &Reporter) -> Result<Exit> {
    let protect = protect_set(&args.policy.protect, &args.policy.protect_file)?;
    let engine = Engine::connect(&EngineOptions {
        host: args.host.clone(),
        timeout: args.timeout,
    })?;
    out.detail(format_args!(
        "engine {} (API {})",
        engine.endpoint(),
        engine.api_version()
    ));
    let (target, free_now) = match args.target_free {
        None => (None, None),
        Some(bytes) => {
            let Endpoint::Unix(_) = engine.endpoint() else {
                return Err(Error::usage(
                    "--target-free needs the engine on this host (a unix:// socket) to measure its data root",
                ));
            };
            let info = engine.info()?;
            let root = info.root_dir.ok_or_else(|| {
                Error::remote("the engine did not say where its data root is (DockerRootDir)")
            })?;
            let free = deploykit::engine::free_bytes(&root).map_err(|e| {
                e.context("--target-free measures the engine's data root, which must be visible from here")
            })?;
            out.detail(format_args!(
                "data root {}: {} free",
                root.display(),
                crate::size::format(free)
            ));
            (Some(apply::Target { root, bytes }), Some(free))
        }
    };
    let images = engine.images()?;
    let containers = engine.containers()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let plan = plan::plan(
        &images,
        &containers,
        &protect,
        now,
        &plan::Options {
            keep: args.policy.keep,
            min_age: args.min_age,
            repos: args.repo.clone(),
            target_free: args.target_free,
            free_now,
        },
    );
    out.detail(format_args!(
        "{} images, {} containers; {} to remove",
        images.len(),
        containers.len(),
        plan.removals().count()
    ));
    if !args.policy.apply {
        report::local(out, &engine.endpoint().to_string(), &plan, None, now)?;
        return Ok(Exit::Success);
    }
    let applied = apply::apply(&engine, &plan, target.as_ref(), out);
    report::local(
        out,
        &engine.endpoint().to_string(),
        &plan,
        Some(&applied),
        now,
    )?;
    match applied.error {
        Some(e) => Err(e),
        None => Ok(Exit::Success),
    }
}
