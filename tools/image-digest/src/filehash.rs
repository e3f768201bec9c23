//! A fingerprint worker: hashes the files it takes from a queue, several at
//! once, each streamed through a fixed buffer.
//!
//! The worker keeps up to [`LANES`] files open and compresses a run of blocks
//! of each in one call ([`sha256x::compress`]), so one core hashes
//! independent files side by side instead of one after the other (see
//! the `sha256-lanes` crate for why that is faster). Memory is [`LANES`] buffers per
//! worker, whatever the sizes of the files.
//!
//! A file ends at the first read that returns nothing, or at a short read
//! that reaches the size `fstat` gave when it was opened (a regular file
//! reads short only at its end), which saves a read per file. The size
//! reported is the count of bytes hashed.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::{Mutex, mpsc};

use sha256_lanes::{self as sha256x, BLOCK, IV, LANES, State};

/// Bytes read at a time for one file: a 53 KB file is one read, and the
/// buffers of all lanes stay in the core's L2 cache.
const CHUNK: usize = 128 * 1024;

/// What the worker learnt of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    /// Its sha256.
    pub hash: [u8; 32],
    /// Any exec bit set.
    pub executable: bool,
    /// The bytes hashed.
    pub size: u64,
}

/// One result: the slot the walk gave the file, and its facts or the error
/// (with the path) that stopped it.
pub type Hashed = (usize, Result<FileFacts, String>);

/// A file being hashed.
struct Open {
    slot: usize,
    path: PathBuf,
    file: File,
    executable: bool,
    /// The size when opened.
    expected: u64,
    state: State,
    /// Bytes read so far.
    read: u64,
    eof: bool,
}

/// A lane: its buffer (kept from file to file) and the file in it.
struct Lane {
    buf: Box<[u8]>,
    /// The unhashed bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    open: Option<Open>,
}

impl Lane {
    fn new() -> Lane {
        Lane {
            buf: vec![0u8; CHUNK + BLOCK].into_boxed_slice(),
            start: 0,
            end: 0,
            open: None,
        }
    }

    fn pending(&self) -> usize {
        self.end - self.start
    }

    /// Opens a file into this (idle) lane; an error is the file's result.
    fn start(&mut self, slot: usize, path: PathBuf) -> Result<(), Hashed> {
        let failed = |e: std::io::Error| (slot, Err(format!("{}: {e}", path.display())));
        let file = File::open(&path).map_err(failed)?;
        let meta = file.metadata().map_err(failed)?;
        self.start = 0;
        self.end = 0;
        self.open = Some(Open {
            slot,
            path,
            file,
            executable: meta.permissions().mode() & 0o111 != 0,
            expected: meta.len(),
            state: IV,
            read: 0,
            eof: false,
        });
        Ok(())
    }

    /// Reads until a whole block is pending or the file ends.
    fn fill(&mut self) -> std::io::Result<()> {
        let Some(open) = self.open.as_mut() else {
            return Ok(());
        };
        while !open.eof && self.end - self.start < BLOCK {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            let want = self.buf.len() - self.end;
            let n = match open.file.read(&mut self.buf[self.end..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.end += n;
            open.read += n as u64;
            open.eof = n == 0 || (n < want && open.read == open.expected);
        }
        Ok(())
    }

    /// Pads and finishes the file once it has ended and less than a block is
    /// left; `None` while it goes on.
    fn finish(&mut self) -> Option<Hashed> {
        if !self.open.as_ref().is_some_and(|o| o.eof) || self.pending() >= BLOCK {
            return None;
        }
        let open = self.open.take()?;
        let hash = sha256x::finish(open.state, &self.buf[self.start..self.end], open.read);
        Some((
            open.slot,
            Ok(FileFacts {
                hash,
                executable: open.executable,
                size: open.read,
            }),
        ))
    }
}

/// Hashes files from `queue` until it is closed and every file is done.
pub fn hash_queue(queue: &Mutex<mpsc::Receiver<(usize, PathBuf)>>) -> Vec<Hashed> {
    let mut lanes: Vec<Lane> = (0..LANES).map(|_| Lane::new()).collect();
    let mut done = Vec::new();
    let mut closed = false;
    loop {
        // Take new files into idle lanes: wait for one only when no file is
        // in hand, so a slow walk never stalls the files already open.
        let mut busy = lanes.iter().any(|l| l.open.is_some());
        for lane in &mut lanes {
            while !closed && lane.open.is_none() {
                let next = match queue.lock() {
                    Ok(q) if busy => match q.try_recv() {
                        Ok(item) => Some(item),
                        Err(mpsc::TryRecvError::Empty) => break,
                        Err(mpsc::TryRecvError::Disconnected) => None,
                    },
                    Ok(q) => q.recv().ok(),
                    Err(_) => None,
                };
                let Some((slot, path)) = next else {
                    closed = true;
                    break;
                };
                match lane.start(slot, path) {
                    Ok(()) => busy = true,
                    Err(failed) => done.push(failed),
                }
            }
        }
        if !busy {
            // Nothing in hand after a blocking take: the queue is closed.
            return done;
        }
        for lane in &mut lanes {
            if let Err(e) = lane.fill()
                && let Some(open) = lane.open.take()
            {
                done.push((open.slot, Err(format!("{}: {e}", open.path.display()))));
            }
            if let Some(finished) = lane.finish() {
                done.push(finished);
            }
        }
        compress_pending(&mut lanes);
    }
}

/// Compresses, in one call, the whole blocks every open lane has pending.
fn compress_pending(lanes: &mut [Lane]) {
    let mut active: Vec<&mut Lane> = lanes
        .iter_mut()
        .filter(|l| l.open.is_some() && l.pending() >= BLOCK)
        .collect();
    let Some(blocks) = active.iter().map(|l| l.pending() / BLOCK).min() else {
        return;
    };
    let mut states: Vec<State> = active
        .iter()
        .filter_map(|l| l.open.as_ref().map(|o| o.state))
        .collect();
    {
        let data: Vec<&[u8]> = active.iter().map(|l| &l.buf[l.start..l.end]).collect();
        sha256x::compress(&mut states, &data, blocks);
    }
    for (lane, state) in active.iter_mut().zip(states) {
        if let Some(open) = lane.open.as_mut() {
            open.state = state;
        }
        lane.start += blocks * BLOCK;
    }
}
