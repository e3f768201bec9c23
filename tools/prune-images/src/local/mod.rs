//! `prune-images local`: the images of the engine on this host.
//!
//! [`facts`] are gathered once (images, containers, the data root's free
//! space), [`plan::plan`] decides, [`report`] prints, and only with
//! `--apply` does [`apply::apply`] remove anything.

pub mod apply;
pub mod facts;
pub mod plan;
pub mod report;

use std::time::{SystemTime, UNIX_EPOCH};

use deploykit::engine::{Engine, EngineOptions};
use deploykit::exit::{Error, Exit, Result};
use deploykit::output::Reporter;

use crate::cli::LocalArgs;
use crate::protect::ProtectSet;

/// Runs `prune-images local`.
pub fn run(args: &LocalArgs, out: &Reporter) -> Result<Exit> {
    let mut protect = ProtectSet::from_flags(&args.policy.protect, &args.policy.protect_file)?;
    let engine = Engine::connect(&EngineOptions {
        host: args.host.clone(),
        timeout: args.timeout,
    })?;
    out.detail(format_args!(
        "engine {} (API {})",
        engine.endpoint(),
        engine.api_version()
    ));
    let facts = facts::gather(&engine, args.target_free.is_some(), out)?;
    plan::resolve_protect_ids(&mut protect, &facts.images)?;
    // A rule that names nothing is most often a typo, and the image it
    // meant is then removed as if unprotected: say so for every one.
    let unmatched = plan::unmatched(&protect, &facts.images);
    for p in &unmatched {
        out.warn(format_args!("{}: {} matches no image", p.source, p.what));
    }
    if args.strict_protect && !unmatched.is_empty() {
        return Err(Error::usage(format_args!(
            "{} protect rule(s) match no image (--strict-protect); nothing was removed",
            unmatched.len()
        )));
    }
    let target = args
        .target_free
        .zip(facts.data_root.as_ref())
        .map(|(bytes, root)| apply::Target {
            root: root.path.clone(),
            bytes,
        });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let plan = plan::plan(
        &facts.images,
        &facts.containers,
        &protect,
        now,
        &plan::Options {
            keep: args.policy.keep,
            min_age: args.min_age,
            repos: args.repo.clone(),
            target_free: args.target_free,
            free_now: facts.data_root.as_ref().map(|r| r.free),
        },
    );
    out.detail(format_args!(
        "{} images, {} containers; {} to remove",
        facts.images.len(),
        facts.containers.len(),
        plan.removals().count()
    ));
    let engine_name = engine.endpoint().to_string();
    if !args.policy.apply {
        report::print(out, &engine_name, &plan, None, now)?;
        return Ok(Exit::Success);
    }
    let applied = apply::apply(&engine, &plan, target.as_ref(), out);
    report::print(out, &engine_name, &plan, Some(&applied), now)?;
    match applied.error {
        Some(e) => Err(e),
        None => Ok(Exit::Success),
    }
}
