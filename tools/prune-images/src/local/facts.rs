//! The facts the local plan decides on, read from the engine.
//!
//! Read once, before planning: every image, every container (running or
//! stopped: a stopped one still needs its image), and with `--target-free`
//! the free space of the engine's data root. That space can only be measured
//! where the data root is visible, so `--target-free` needs the engine on
//! this host (a unix socket); an engine that does not say where its data
//! root is stops the run rather than guess.

use std::path::PathBuf;

use deploykit::engine::{self, ContainerSummary, Endpoint, Engine, ImageSummary};
use deploykit::exit::{Error, Result};
use deploykit::output::Reporter;

use deploykit::size;

/// The engine's data root and its free space when the facts were read.
#[derive(Debug, Clone)]
pub struct DataRoot {
    /// Where the engine keeps its images (`DockerRootDir`).
    pub path: PathBuf,
    /// Free bytes there.
    pub free: u64,
}

/// What the engine listed.
#[derive(Debug, Clone)]
pub struct Facts {
    /// Every image.
    pub images: Vec<ImageSummary>,
    /// Every container, whatever its state.
    pub containers: Vec<ContainerSummary>,
    /// The data root, when asked to measure it (`--target-free`).
    pub data_root: Option<DataRoot>,
}

/// Reads the facts; `measure_root` also measures the data root's free space.
pub fn gather(engine: &Engine, measure_root: bool, out: &Reporter) -> Result<Facts> {
    let data_root = if measure_root {
        Some(data_root(engine, out)?)
    } else {
        None
    };
    let images = engine.images()?;
    let containers = engine.containers()?;
    Ok(Facts {
        images,
        containers,
        data_root,
    })
}

/// Where the engine's data root is, and how much is free there.
fn data_root(engine: &Engine, out: &Reporter) -> Result<DataRoot> {
    let Endpoint::Unix(_) = engine.endpoint() else {
        return Err(Error::usage(
            "--target-free needs the engine on this host (a unix:// socket) to measure its data root",
        ));
    };
    let info = engine.info()?;
    let path = info.root_dir.ok_or_else(|| {
        Error::remote("the engine did not say where its data root is (DockerRootDir)")
    })?;
    let free = engine::free_bytes(&path).map_err(|e| {
        e.context("--target-free measures the engine's data root, which must be visible from here")
    })?;
    out.detail(format_args!(
        "data root {}: {} free",
        path.display(),
        size::format(free)
    ));
    Ok(DataRoot { path, free })
}
