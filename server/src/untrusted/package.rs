//! The zip container of an xlsx workbook, checked before calamine opens it:
//! the number of entries, each entry's declared size and compression ratio
//! from the central directory, then the real decompressed bytes of every
//! entry, inflated here from the raw data through a bound of its declared
//! size (never trusted: a part that inflates past it is refused), with the
//! XML parts scanned on the way.

use std::io::{Cursor, ErrorKind, Read};

use flate2::read::DeflateDecoder;
use zip::{CompressionMethod, ZipArchive};

use super::scan::{Scan, Tally};
use super::{Budget, Limits, ReadError, Refusal, RATIO_FLOOR};

/// Bytes decompressed at a time.
const CHUNK: usize = 64 * 1024;

/// Checks `bytes` against `limits`; `NotXlsx` when it is not a zip
/// archive this reader can open (calamine, with the same zip crate,
/// would not open it either).
pub(super) fn inspect(bytes: &[u8], limits: &Limits, budget: &Budget) -> Result<(), ReadError> {
    // Every entry of the central directory starts with this signature; the
    // zip crate decodes no more entries than there are signatures, so a
    // count here bounds its work before it starts.
    let signatures = memchr::memmem::find_iter(bytes, b"PK\x01\x02").count();
    if signatures > limits.entries {
        return Err(Refusal::TooManyEntries(limits.entries).into());
    }
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|_| ReadError::NotXlsx)?;
    if archive.len() > limits.entries {
        return Err(Refusal::TooManyEntries(limits.entries).into());
    }
    let mut declared_total = 0u64;
    let mut parts = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|_| ReadError::NotXlsx)?;
        let declared = entry.size();
        check_declared(declared, entry.compressed_size(), limits)?;
        declared_total = declared_total.saturating_add(declared);
        if declared_total > limits.total_bytes {
            return Err(Refusal::TooLargeUnpacked(limits.total_bytes).into());
        }
        let name = String::from_utf8_lossy(entry.name_raw()).to_ascii_lowercase();
        parts.push((
            i,
            declared,
            name.ends_with(".xml") || name.ends_with(".rels"),
        ));
    }
    let mut tally = Tally::default();
    let mut buffer = vec![0u8; CHUNK];
    for (i, declared, is_xml) in parts {
        let raw = archive.by_index_raw(i).map_err(|_| ReadError::NotXlsx)?;
        if raw.encrypted() {
            return Err(ReadError::NotXlsx);
        }
        let inflated: Box<dyn Read + '_> = match raw.compression() {
            CompressionMethod::Stored => Box::new(raw),
            CompressionMethod::Deflated => Box::new(DeflateDecoder::new(raw)),
            // calamine's zip reads no other method.
            _ => return Err(ReadError::NotXlsx),
        };
        // One byte past the declared size is enough to know it lied.
        let mut entry = inflated.take(declared.saturating_add(1));
        let mut scan = is_xml.then(|| Scan::new(limits));
        let mut read = 0u64;
        loop {
            let n = match entry.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return Err(ReadError::NotXlsx),
            };
            read += n as u64;
            if read > declared {
                return Err(Refusal::SizeMismatch.into());
            }
            match scan.as_mut() {
                Some(scan) => scan.feed(&buffer[..n], &mut tally, budget)?,
                None => budget.check()?,
            }
        }
    }
    Ok(())
}

/// The central directory's word on one entry, held to the limits.
fn check_declared(declared: u64, compressed: u64, limits: &Limits) -> Result<(), Refusal> {
    if declared > limits.part_bytes {
        return Err(Refusal::PartTooLarge(limits.part_bytes));
    }
    if declared > RATIO_FLOOR && declared > compressed.saturating_mul(limits.ratio) {
        return Err(Refusal::Ratio(limits.ratio));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::Duration;

    use zip::write::SimpleFileOptions;

    use super::*;

    fn limits() -> Limits {
        Limits {
            entries: 5,
            part_bytes: 4 * RATIO_FLOOR,
            total_bytes: 6 * RATIO_FLOOR,
            ratio: 50,
            rows: 100,
            columns: 10,
            strings: 50,
        }
    }

    fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in parts {
            zip.start_file(*name, SimpleFileOptions::default())
                .expect("entry");
            zip.write_all(data).expect("data");
        }
        zip.finish().expect("zip").into_inner()
    }

    fn inspected(bytes: &[u8]) -> Result<(), ReadError> {
        inspect(bytes, &limits(), &Budget::new(Duration::from_secs(5)))
    }

    #[test]
    fn declared_sizes_are_held_to_the_limits() {
        let limits = limits();
        assert_eq!(check_declared(RATIO_FLOOR, 1, &limits), Ok(()));
        assert_eq!(
            check_declared(4 * RATIO_FLOOR + 1, 4 * RATIO_FLOOR, &limits),
            Err(Refusal::PartTooLarge(4 * RATIO_FLOOR))
        );
        assert_eq!(
            check_declared(2 * RATIO_FLOOR, 2 * RATIO_FLOOR / 51, &limits),
            Err(Refusal::Ratio(50))
        );
        assert_eq!(
            check_declared(2 * RATIO_FLOOR, 2 * RATIO_FLOOR / 49, &limits),
            Ok(())
        );
    }

    #[test]
    fn archives_beyond_the_limits_are_refused() {
        let small: &[u8] = b"<sst/>";
        assert_eq!(inspected(&zip_of(&[("a.xml", small)])), Ok(()));
        let six: Vec<(String, &[u8])> = (0..6).map(|i| (format!("{i}.xml"), small)).collect();
        let six: Vec<(&str, &[u8])> = six.iter().map(|(n, d)| (n.as_str(), *d)).collect();
        assert_eq!(
            inspected(&zip_of(&six)),
            Err(ReadError::Refused(Refusal::TooManyEntries(5)))
        );
        // Whitespace compresses about 1000:1.
        let bomb = vec![b' '; 3 * RATIO_FLOOR as usize];
        assert_eq!(
            inspected(&zip_of(&[("xl/worksheets/sheet1.xml", &bomb)])),
            Err(ReadError::Refused(Refusal::Ratio(50)))
        );
        let part = vec![b'x'; RATIO_FLOOR as usize / 2];
        assert_eq!(
            inspected(&zip_of(&[
                ("a.bin", &part),
                ("b.bin", &part),
                ("c.bin", &part)
            ])),
            Ok(())
        );
        let big: Vec<u8> = (0..5 * RATIO_FLOOR)
            .map(|i| (i * 7919 % 251) as u8)
            .collect();
        assert_eq!(
            inspected(&zip_of(&[("a.bin", &big)])),
            Err(ReadError::Refused(Refusal::PartTooLarge(4 * RATIO_FLOOR)))
        );
        let shared = br#"<sst uniqueCount="4000000000"/>"#;
        assert_eq!(
            inspected(&zip_of(&[("xl/sharedStrings.xml", shared)])),
            Err(ReadError::Refused(Refusal::TooManyStrings(50)))
        );
        assert_eq!(inspected(b"PK\x03\x04 not really"), Err(ReadError::NotXlsx));
    }

    #[test]
    fn a_part_larger_than_declared_is_refused_after_one_byte_too_many() {
        let mut bytes = zip_of(&[("xl/sharedStrings.xml", b"<sst/><!--abcdefgh-->")]);
        // Lower the declared size in the local header and the central directory.
        let size = 21u32.to_le_bytes();
        let smaller = 8u32.to_le_bytes();
        let mut patched = 0;
        for at in memchr::memmem::find_iter(&bytes.clone(), b"PK\x03\x04") {
            if bytes[at + 22..at + 26] == size {
                bytes[at + 22..at + 26].copy_from_slice(&smaller);
                patched += 1;
            }
        }
        for at in memchr::memmem::find_iter(&bytes.clone(), b"PK\x01\x02") {
            if bytes[at + 24..at + 28] == size {
                bytes[at + 24..at + 28].copy_from_slice(&smaller);
                patched += 1;
            }
        }
        assert_eq!(patched, 2, "both headers patched");
        assert_eq!(
            inspected(&bytes),
            Err(ReadError::Refused(Refusal::SizeMismatch))
        );
    }
}
