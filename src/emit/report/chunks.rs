//! The report's payload: attachments packed in order into chunks of about
//! [`CHUNK_BYTES`], each gzip-compressed and base64-encoded on worker threads (both
//! cores) while reading goes on, and written in order to a scratch file, so memory
//! stays at a few chunks whatever the run's size. Failing tests' attachments go to
//! "hot" chunks of their own, the first a page opening a failure decodes.
//!
//! Deterministic: chunk ids follow the order attachments arrive in, and the gzip
//! header carries no time, so the same input gives the same bytes.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::mpsc;
use std::thread;

use base64::Engine;

/// Raw bytes a chunk holds before it is sealed.
pub const CHUNK_BYTES: usize = 512 << 10;

/// Where an attachment's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The chunk's id.
    pub chunk: u32,
    /// The offset in the chunk's decompressed bytes.
    pub offset: u32,
}

struct Open {
    id: u32,
    data: Vec<u8>,
}

/// A sealed chunk, compressed and encoded, in the scratch file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// Where its base64 text starts in the scratch file.
    pub at: u64,
    /// Its base64 text's length.
    pub len: u64,
    /// Its decompressed size.
    pub raw: u64,
}

/// Packs attachments into chunks; see the module's documentation.
pub struct ChunkWriter {
    open: [Option<Open>; 2],
    next_id: u32,
    work: Option<mpsc::SyncSender<(u32, Vec<u8>)>>,
    done: mpsc::Receiver<(u32, u64, io::Result<Vec<u8>>)>,
    workers: Vec<thread::JoinHandle<()>>,
    file: File,
    written: u64,
    /// By chunk id, once written.
    stored: Vec<Option<Stored>>,
    sealed: u32,
    received: u32,
}

/// gzip without a time or name in its header: the same bytes every time.
pub fn gzip(data: &[u8], level: u32) -> io::Result<Vec<u8>> {
    let mut enc = flate2::GzBuilder::new().mtime(0).write(
        Vec::with_capacity(data.len() / 3),
        flate2::Compression::new(level),
    );
    enc.write_all(data)?;
    enc.finish()
}

/// gzip, then base64 (standard alphabet, padded): how data travels inside the page.
pub fn pack(data: &[u8]) -> io::Result<Vec<u8>> {
    let z = gzip(data, 6)?;
    Ok(base64::engine::general_purpose::STANDARD
        .encode(z)
        .into_bytes())
}

impl ChunkWriter {
    /// A writer whose scratch file is in `dir` (unnamed: nothing is left behind).
    pub fn new(dir: &Path) -> io::Result<ChunkWriter> {
        let file = tempfile::tempfile_in(dir)?;
        let threads = thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
        let (work_tx, work_rx) = mpsc::sync_channel::<(u32, Vec<u8>)>(threads);
        let work_rx = std::sync::Arc::new(std::sync::Mutex::new(work_rx));
        let (done_tx, done) = mpsc::channel();
        let workers = (0..threads)
            .map(|_| {
                let rx = work_rx.clone();
                let tx = done_tx.clone();
                thread::spawn(move || {
                    loop {
                        let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok((id, data)) = job else { break };
                        let raw = data.len() as u64;
                        if tx.send((id, raw, pack(&data))).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        Ok(ChunkWriter {
            open: [None, None],
            next_id: 0,
            work: Some(work_tx),
            done,
            workers,
            file,
            written: 0,
            stored: Vec::new(),
            sealed: 0,
            received: 0,
        })
    }

    /// Appends `bytes` to the hot or the cold chunk; says where they are.
    pub fn put(&mut self, hot: bool, bytes: &[u8]) -> io::Result<Placement> {
        let slot = usize::from(!hot);
        if self.open[slot]
            .as_ref()
            .is_some_and(|o| !o.data.is_empty() && o.data.len() + bytes.len() > CHUNK_BYTES)
        {
            self.seal(slot)?;
        }
        let open = match &mut self.open[slot] {
            Some(o) => o,
            none => {
                let id = self.next_id;
                self.next_id += 1;
                none.insert(Open {
                    id,
                    data: Vec::with_capacity(CHUNK_BYTES),
                })
            }
        };
        let placement = Placement {
            chunk: open.id,
            offset: open.data.len() as u32,
        };
        open.data.extend_from_slice(bytes);
        Ok(placement)
    }

    fn seal(&mut self, slot: usize) -> io::Result<()> {
        if let Some(o) = self.open[slot].take() {
            self.sealed += 1;
            let sent = self
                .work
                .as_ref()
                .is_some_and(|w| w.send((o.id, o.data)).is_ok());
            if !sent {
                return Err(io::Error::other("a compression worker stopped"));
            }
        }
        self.drain(false)
    }

    /// Writes what the workers finished to the scratch file (in the order they
    /// finish: the page is assembled by id later); with `all`, waits for every sealed
    /// chunk. Nothing waits in memory for an earlier chunk that is still open.
    fn drain(&mut self, all: bool) -> io::Result<()> {
        loop {
            let next = if all && self.received < self.sealed {
                self.done.recv().ok()
            } else {
                self.done.try_recv().ok()
            };
            let Some((id, raw, packed)) = next else { break };
            self.received += 1;
            let text = packed?;
            self.file.write_all(&text)?;
            let id = id as usize;
            if self.stored.len() <= id {
                self.stored.resize(id + 1, None);
            }
            self.stored[id] = Some(Stored {
                at: self.written,
                len: text.len() as u64,
                raw,
            });
            self.written += text.len() as u64;
        }
        Ok(())
    }

    /// Chunks opened so far: every one of them is in the page.
    pub fn count(&self) -> usize {
        self.next_id as usize
    }

    /// Seals what is open, waits for the workers, and returns the scratch file with
    /// where each chunk is in it (by id).
    pub fn finish(mut self) -> io::Result<(File, Vec<Stored>)> {
        for s in 0..2 {
            self.seal(s)?;
        }
        self.drain(true)?;
        drop(self.work.take());
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        let stored: Option<Vec<Stored>> = self.stored.iter().copied().collect();
        match stored {
            Some(s) if s.len() == self.next_id as usize => {
                self.file.seek(SeekFrom::Start(0))?;
                Ok((self.file.try_clone()?, s))
            }
            _ => Err(io::Error::other(
                "a chunk was lost by its compression worker",
            )),
        }
    }
}

/// Copies chunk `s` of `file` to `out`.
pub fn copy_chunk(file: &mut File, s: Stored, out: &mut impl Write) -> io::Result<()> {
    file.seek(SeekFrom::Start(s.at))?;
    let mut take = file.take(s.len);
    io::copy(&mut take, out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unpack(text: &[u8]) -> Vec<u8> {
        let z = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&z[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn attachments_come_back_from_their_chunks_in_order_and_deterministically() {
        let dir = tempfile::tempdir().unwrap();
        let run = || {
            let mut w = ChunkWriter::new(dir.path()).unwrap();
            let mut placed = Vec::new();
            for i in 0..400u32 {
                let hot = i % 7 == 0;
                let data: Vec<u8> = (0..(i * 37 % 9000)).map(|k| (k * i % 251) as u8).collect();
                placed.push((w.put(hot, &data).unwrap(), data, hot));
            }
            let (mut file, stored) = w.finish().unwrap();
            let mut all = Vec::new();
            for s in &stored {
                copy_chunk(&mut file, *s, &mut all).unwrap();
            }
            (placed, stored, all)
        };
        let (placed, stored, all) = run();
        let mut at = 0;
        let chunks: Vec<Vec<u8>> = stored
            .iter()
            .map(|s| {
                let c = unpack(&all[at..at + s.len as usize]);
                at += s.len as usize;
                c
            })
            .collect();
        for (s, c) in stored.iter().zip(&chunks) {
            assert_eq!(s.raw as usize, c.len());
            assert!(c.len() <= CHUNK_BYTES);
        }
        for (p, data, hot) in &placed {
            let c = &chunks[p.chunk as usize];
            assert_eq!(
                &c[p.offset as usize..p.offset as usize + data.len()],
                &data[..]
            );
            // hot and cold never share a chunk
            let same_kind = placed
                .iter()
                .filter(|(q, _, _)| q.chunk == p.chunk)
                .all(|(_, _, h)| h == hot);
            assert!(same_kind);
        }
        assert!(stored.len() >= 3, "several chunks, hot and cold");
        let again = run();
        assert_eq!(again.2, all, "the same input, the same bytes");
    }
}
