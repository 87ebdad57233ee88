//! Opening inputs whatever their compression: gzip is recognised by its magic bytes
//! (`1f 8b`), never by the file name, so `testrepository.subunit.gz`, a gzipped stream
//! piped on stdin and a `.gz` renamed to `.subunit` all read the same. Concatenated
//! gzip members read as one stream (as `zcat` does).
//!
//! Guarantee: compressed data that is cut short or corrupt never loses what came
//! before it. [`Decompressed`] ends the stream where the damage starts and keeps the
//! error, with how far decoding got, for the reader to report; the bytes before it are
//! read as usual.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

use flate2::bufread::MultiGzDecoder;

/// The first two bytes of every gzip member.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// How an input's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Stored as is.
    #[default]
    None,
    /// gzip (one or more members).
    Gzip,
}

impl Compression {
    /// The compression `prefix` (the first bytes of an input) shows.
    pub fn sniff(prefix: &[u8]) -> Compression {
        if prefix.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else {
            Compression::None
        }
    }
}

/// Where decompression stopped on damaged data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Decompressed bytes delivered before the damage.
    pub decompressed: u64,
    /// Compressed bytes consumed when decoding failed.
    pub compressed: u64,
    /// The decoder's message.
    pub message: String,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the gzip data is damaged or cut short near compressed byte {} ({}); \
             the {} bytes before it were read, the rest is lost",
            self.compressed, self.message, self.decompressed
        )
    }
}

/// Counts the compressed bytes the decoder has consumed (for error reports).
struct Counting<B> {
    inner: B,
    consumed: u64,
}

impl<B: BufRead> Read for Counting<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed += n as u64;
        Ok(n)
    }
}

impl<B: BufRead> BufRead for Counting<B> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        self.consumed += n as u64;
        self.inner.consume(n);
    }
}

/// The decompressed bytes of a gzip stream. A decoding error ends the stream (reads
/// return 0 from then on) and is kept for [`Decompressed::error`]; errors of the
/// underlying reader itself (an I/O failure) are returned as they are.
pub struct Decompressed<R: Read> {
    decoder: MultiGzDecoder<Counting<BufReader<R>>>,
    decompressed: u64,
    error: Arc<Mutex<Option<DecodeError>>>,
    done: bool,
}

impl<R: Read> Decompressed<R> {
    /// Decompresses `inner`.
    pub fn new(inner: R) -> Decompressed<R> {
        let counting = Counting {
            inner: BufReader::with_capacity(256 << 10, inner),
            consumed: 0,
        };
        Decompressed {
            decoder: MultiGzDecoder::new(counting),
            decompressed: 0,
            error: Arc::new(Mutex::new(None)),
            done: false,
        }
    }

    /// Where decoding failed, if it did (so far).
    pub fn error(&self) -> Option<DecodeError> {
        lock(&self.error).clone()
    }

    /// A handle on the decoding error, readable after the stream was consumed (also
    /// when the reader itself was moved away, e.g. into a thread).
    pub fn error_slot(&self) -> Arc<Mutex<Option<DecodeError>>> {
        self.error.clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<R: Read> Read for Decompressed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        match self.decoder.read(buf) {
            Ok(0) => {
                self.done = true;
                Ok(0)
            }
            Ok(n) => {
                self.decompressed += n as u64;
                Ok(n)
            }
            Err(e) if is_decoding_error(&e) => {
                self.done = true;
                *lock(&self.error) = Some(DecodeError {
                    decompressed: self.decompressed,
                    compressed: self.decoder.get_ref().consumed,
                    message: e.to_string(),
                });
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }
}

/// flate2 reports damaged data as `InvalidInput`/`InvalidData` and a cut-short stream
/// as `UnexpectedEof`; anything else came from the reader underneath.
fn is_decoding_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
    )
}

/// Up to `n` first bytes of `r` (fewer only at the end of the input; a pipe may
/// deliver them a few at a time).
pub fn read_head(r: &mut impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n.min(64 << 10));
    r.take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// An opened input, decompressed when it was gzip.
pub struct Opened {
    /// The bytes, decompressed.
    pub reader: Box<dyn Read + Send>,
    /// How the input was stored.
    pub compression: Compression,
    /// Set when the input is gzip: where decoding failed, once it has.
    pub decode_error: Option<Arc<Mutex<Option<DecodeError>>>>,
}

impl Opened {
    /// The decoding error, if decompression hit damaged data.
    pub fn take_error(&self) -> Option<DecodeError> {
        self.decode_error.as_ref().and_then(|s| lock(s).take())
    }
}

/// Wraps `input` in a decompressor when its first bytes are the gzip magic.
pub fn decompressing(mut input: impl Read + Send + 'static) -> io::Result<Opened> {
    let head = read_head(&mut input, GZIP_MAGIC.len())?;
    let compression = Compression::sniff(&head);
    let whole = io::Cursor::new(head).chain(input);
    Ok(match compression {
        Compression::None => Opened {
            reader: Box::new(whole),
            compression,
            decode_error: None,
        },
        Compression::Gzip => {
            let d = Decompressed::new(whole);
            let slot = d.error_slot();
            Opened {
                reader: Box::new(d),
                compression,
                decode_error: Some(slot),
            }
        }
    })
}

/// Opens a file, decompressing it when it is gzip.
pub fn open(path: &Path) -> io::Result<Opened> {
    decompressing(File::open(path)?)
}

/// The whole (decompressed) content of a file: for small inputs such as job files and
/// dstat logs. Damaged gzip data is an error here: there is no partial use for it.
pub fn read_all(path: &Path) -> io::Result<Vec<u8>> {
    read_all_from(open(path)?)
}

/// [`read_all`] for an input already opened (stdin, say).
pub fn read_all_from(mut opened: Opened) -> io::Result<Vec<u8>> {
    let mut data = Vec::new();
    opened.reader.read_to_end(&mut data)?;
    match opened.take_error() {
        Some(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
        None => Ok(data),
    }
}

/// The first `n` (decompressed) bytes of a file, to tell its format.
pub fn head(path: &Path, n: usize) -> io::Result<Vec<u8>> {
    let mut opened = open(path)?;
    read_head(&mut opened.reader, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read(input: Vec<u8>) -> (Vec<u8>, Compression, Option<DecodeError>) {
        let mut o = decompressing(io::Cursor::new(input)).unwrap();
        let mut out = Vec::new();
        o.reader.read_to_end(&mut out).unwrap();
        (out, o.compression, o.take_error())
    }

    #[test]
    fn gzip_is_told_by_its_bytes_and_members_concatenate() {
        let data: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        assert_eq!(read(data.clone()), (data.clone(), Compression::None, None));
        let mut two = gz(&data[..1000]);
        two.extend(gz(&data[1000..]));
        assert_eq!(read(two), (data, Compression::Gzip, None));
        assert_eq!(read(vec![]), (vec![], Compression::None, None));
        assert_eq!(read(vec![0x1f]), (vec![0x1f], Compression::None, None));
    }

    #[test]
    fn damaged_gzip_keeps_what_came_before_and_says_where() {
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_be_bytes()).collect();
        let z = gz(&data);
        let (out, c, err) = read(z[..z.len() / 2].to_vec());
        assert_eq!(c, Compression::Gzip);
        let err = err.expect("a cut-short stream is reported");
        assert!(
            !out.is_empty() && data.starts_with(&out),
            "a prefix is kept"
        );
        assert_eq!(err.decompressed, out.len() as u64);
        assert!(err.compressed > 0 && err.compressed <= (z.len() / 2) as u64);
        let mut corrupt = z.clone();
        corrupt[z.len() / 3] ^= 0xff;
        corrupt[z.len() / 3 + 1] ^= 0x55;
        let (_, _, err) = read(corrupt);
        assert!(
            err.is_some(),
            "damage never goes unnoticed (gzip carries a CRC)"
        );
        assert!(read_all_from(decompressing(io::Cursor::new(z[..10].to_vec())).unwrap()).is_err());
    }
}
