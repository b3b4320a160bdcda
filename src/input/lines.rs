//! Lines of one share of a file: separator sniffing, comment skipping,
//! CRLF, a UTF-8 byte-order mark, gzip, a bound on line length, and line
//! numbers for messages.
//!
//! The reader hands out borrowed `&str` lines without copying them (a line
//! is copied only when it straddles two buffer fills), so reading costs about
//! one `memchr` pass and one UTF-8 check per byte.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

use flate2::read::MultiGzDecoder;

use super::{Share, Source};

/// The longest line accepted, in bytes. A longer line is a bad line (not an
/// out-of-memory crash): no valid record comes near this.
pub const MAX_LINE_BYTES: usize = 1 << 20;

const BUFFER_BYTES: usize = 1 << 20;

/// How a file separates fields, decided once per file from its first record line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sep {
    /// `,` with RFC 4180 quoting (`"a, b"`).
    Comma,
    /// One tab between fields.
    Tab,
    /// Runs of spaces (or tabs mixed with spaces).
    Spaces,
}

impl Sep {
    /// Picks the separator of a record line: a tab if it has one, else a comma, else spaces.
    pub fn detect(line: &str) -> Sep {
        if line.contains('\t') {
            Sep::Tab
        } else if line.contains(',') {
            Sep::Comma
        } else {
            Sep::Spaces
        }
    }
}

/// Whether a line is a comment: empty (or blank), or starting with `#` or `%`.
pub fn is_comment(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('%')
}

/// What a file's head says about the whole file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sniff {
    /// The field separator.
    pub sep: Sep,
    /// Byte offset (in the decompressed stream for `.gz`) of the first
    /// non-comment line: the only line that may be a header.
    pub first_record_offset: u64,
}

/// Why reading a share stopped early.
#[derive(Debug)]
pub struct ReadFailure {
    /// 0-based line index within the share where it happened.
    pub line_in_share: u64,
    /// What went wrong, for `file:line: reason`.
    pub reason: String,
}

/// One non-comment line handed to the caller.
pub struct Line<'a> {
    /// Byte offset of the line's first byte in the (decompressed) file.
    pub offset: u64,
    /// 0-based index of the line within the share (comments included).
    pub line_in_share: u64,
    /// The line without its `\n` / `\r\n`; `Err` holds why it is unreadable
    /// (too long, not UTF-8), for the caller to count as a bad line.
    pub text: Result<&'a str, String>,
}

fn open(source: &Source) -> io::Result<Box<dyn Read>> {
    let file = File::open(&source.path)?;
    Ok(if source.gz {
        Box::new(MultiGzDecoder::new(BufReader::with_capacity(
            BUFFER_BYTES,
            file,
        )))
    } else {
        Box::new(file)
    })
}

fn describe_io(source: &Source, e: &io::Error) -> String {
    if source.gz && e.kind() != io::ErrorKind::NotFound {
        format!("cannot decompress gzip data: {e}")
    } else {
        format!("cannot read: {e}")
    }
}

/// Reads the head of a file up to its first non-comment line.
///
/// A file with no record line at all sniffs as `Spaces` with the offset at
/// the end of the file; the caller finds no records and says so.
pub fn sniff(source: &Source) -> Result<Sniff, ReadFailure> {
    let whole = Share {
        source: 0,
        start: 0,
        end: u64::MAX,
    };
    let mut found = None;
    let end = read_share(source, &whole, |line| {
        found = Some(Sniff {
            sep: line.text.map_or(Sep::Spaces, Sep::detect),
            first_record_offset: line.offset,
        });
        false
    })?;
    Ok(found.unwrap_or(Sniff {
        sep: Sep::Spaces,
        first_record_offset: end.end_offset,
    }))
}

/// Where a share's reading ended.
#[derive(Clone, Copy, Debug)]
pub struct ShareEnd {
    /// Offset of the first line owned by the share (after skipping a partial line).
    pub first_line_offset: u64,
    /// Offset just past the last byte read.
    pub end_offset: u64,
    /// Bytes consumed from the (decompressed) stream.
    pub bytes: u64,
}

/// Calls `each` for every non-comment line whose first byte lies in the share,
/// until `each` returns `false` or the share ends.
pub fn read_share(
    source: &Source,
    share: &Share,
    mut each: impl FnMut(Line<'_>) -> bool,
) -> Result<ShareEnd, ReadFailure> {
    let fail = |line_in_share, e: io::Error| ReadFailure {
        line_in_share,
        reason: describe_io(source, &e),
    };
    let mut raw = open(source).map_err(|e| fail(0, e))?;
    let mut offset = 0u64;
    if share.start == 0 || source.gz {
        let (rest, skipped) = skip_bom(raw).map_err(|e| fail(0, e))?;
        raw = rest;
        offset = skipped;
    }
    if share.start > 0 && !source.gz {
        // Step back one byte: if it is a newline, the share starts on a line.
        let mut file = File::open(&source.path).map_err(|e| fail(0, e))?;
        file.seek(SeekFrom::Start(share.start - 1))
            .map_err(|e| fail(0, e))?;
        raw = Box::new(file);
        offset = share.start - 1;
    }
    let mut reader = BufReader::with_capacity(BUFFER_BYTES, raw);
    if share.start > 0 && !source.gz {
        // Skip the tail of the line that the previous share owns.
        loop {
            let buf = reader.fill_buf().map_err(|e| fail(0, e))?;
            if buf.is_empty() {
                break;
            }
            match memchr::memchr(b'\n', buf) {
                Some(i) => {
                    reader.consume(i + 1);
                    offset += i as u64 + 1;
                    break;
                }
                None => {
                    let n = buf.len();
                    reader.consume(n);
                    offset += n as u64;
                }
            }
        }
    }
    let first_line_offset = offset;
    let mut carry: Vec<u8> = Vec::new();
    let mut too_long = false;
    let mut line_in_share = 0u64;
    let mut line_start = offset;
    loop {
        if line_start >= share.end && carry.is_empty() && !too_long {
            break;
        }
        let buf = reader.fill_buf().map_err(|e| fail(line_in_share, e))?;
        if buf.is_empty() {
            if !carry.is_empty() || too_long {
                // The last line of the file: nothing follows to stop reading.
                let _ = deliver(&carry, too_long, line_start, line_in_share, &mut each);
                offset = line_start + carry.len() as u64;
            }
            break;
        }
        let (line_len, has_newline) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i, true),
            None => (buf.len(), false),
        };
        if !has_newline {
            if !too_long {
                carry.extend_from_slice(&buf[..line_len]);
                if carry.len() > MAX_LINE_BYTES {
                    too_long = true;
                    carry = Vec::new();
                }
            }
            reader.consume(line_len);
            offset += line_len as u64;
            continue;
        }
        let go_on = if carry.is_empty() && !too_long {
            deliver(
                &buf[..line_len],
                false,
                line_start,
                line_in_share,
                &mut each,
            )
        } else {
            if !too_long {
                carry.extend_from_slice(&buf[..line_len]);
                too_long = carry.len() > MAX_LINE_BYTES;
            }
            let go_on = deliver(&carry, too_long, line_start, line_in_share, &mut each);
            carry.clear();
            too_long = false;
            go_on
        };
        reader.consume(line_len + 1);
        offset += line_len as u64 + 1;
        line_in_share += 1;
        line_start = offset;
        if !go_on {
            break;
        }
    }
    Ok(ShareEnd {
        first_line_offset,
        end_offset: offset,
        bytes: offset - first_line_offset,
    })
}

/// The UTF-8 byte-order mark that Excel and many Windows exports write first.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Drops a byte-order mark at the start of a (decompressed) stream; the
/// stream from the first byte after it, and how many bytes were dropped.
fn skip_bom(mut raw: Box<dyn Read>) -> io::Result<(Box<dyn Read>, u64)> {
    let mut head = Vec::with_capacity(BOM.len());
    while head.len() < BOM.len() {
        let mut byte = [0u8; 1];
        match raw.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => head.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if !BOM.starts_with(&head) {
            break;
        }
    }
    if head == BOM {
        Ok((raw, BOM.len() as u64))
    } else {
        Ok((Box::new(io::Cursor::new(head).chain(raw)), 0))
    }
}

fn deliver(
    bytes: &[u8],
    too_long: bool,
    offset: u64,
    line_in_share: u64,
    each: &mut impl FnMut(Line<'_>) -> bool,
) -> bool {
    let text = if too_long || bytes.len() > MAX_LINE_BYTES {
        Err(format!("line is longer than {MAX_LINE_BYTES} bytes"))
    } else {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) if is_comment(text) => return true,
            Ok(text) => Ok(text),
            Err(e) => Err(format!(
                "invalid UTF-8 at byte {} of the line",
                e.valid_up_to() + 1
            )),
        }
    };
    each(Line {
        offset,
        line_in_share,
        text,
    })
}

/// Counts the lines before byte `offset` of a plain file: the line number
/// base of a share that starts there. Only called when a share has bad lines.
pub fn lines_before(source: &Source, offset: u64) -> io::Result<u64> {
    if offset == 0 {
        return Ok(0);
    }
    let file = File::open(&source.path)?;
    let mut reader = BufReader::with_capacity(BUFFER_BYTES, file.take(offset));
    let mut count = 0u64;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(count);
        }
        count += memchr::memchr_iter(b'\n', buf).count() as u64;
        let n = buf.len();
        reader.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn source_with(content: &[u8]) -> (tempfile::TempDir, Source) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(content)
            .unwrap();
        let source = Source {
            path,
            bytes: content.len() as u64,
            gz: false,
        };
        (dir, source)
    }

    fn collect(source: &Source, share: Share) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        read_share(source, &share, |line| {
            out.push((line.offset, line.text.unwrap().to_string()));
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn ranges_split_at_line_boundaries() {
        let content = b"# comment\n1 2\n3 4\r\n\n55 66\n7 8";
        let (_dir, source) = source_with(content);
        let whole = collect(
            &source,
            Share {
                source: 0,
                start: 0,
                end: u64::MAX,
            },
        );
        assert_eq!(
            whole.iter().map(|l| l.1.as_str()).collect::<Vec<_>>(),
            vec!["1 2", "3 4", "55 66", "7 8"]
        );
        for cut in 0..content.len() as u64 {
            let mut parts = collect(
                &source,
                Share {
                    source: 0,
                    start: 0,
                    end: cut,
                },
            );
            parts.extend(collect(
                &source,
                Share {
                    source: 0,
                    start: cut,
                    end: u64::MAX,
                },
            ));
            assert_eq!(parts, whole, "cut at {cut}");
        }
    }

    #[test]
    fn sniffs_separator_and_first_record() {
        let (_dir, source) = source_with(b"% matrix market\n\nsrc\tdst\n1\t2\n");
        let sniff = sniff(&source).unwrap();
        assert_eq!(sniff.sep, Sep::Tab);
        assert_eq!(sniff.first_record_offset, 17);
    }

    #[test]
    fn counts_lines_before_an_offset() {
        let (_dir, source) = source_with(b"a\nb\nc\n");
        assert_eq!(lines_before(&source, 4).unwrap(), 2);
    }
}
