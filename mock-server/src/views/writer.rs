//! A small JSON writer: records go straight into the response buffer.
//!
//! Through serde_json, most of a show-user request's own work was spent escaping the record's
//! ~40 keys and formatting its timestamps through `fmt`. Here keys are `&'static str`s that
//! need no escaping and are copied as they are, strings take a fast path when nothing in them
//! needs escaping (and serde_json's own escaping when something does, so the text is
//! byte-for-byte what serde_json writes), numbers go through `itoa`, and timestamps are
//! written digit by digit ([`Timestamp::to_bytes`]).

use crate::clock::Timestamp;

/// A value that writes itself as JSON text.
pub trait WriteJson {
    /// Appends this value's JSON text to `out`.
    fn write_json(&self, out: &mut Vec<u8>);
}

/// `value` as JSON text, in a buffer of at least `capacity` bytes.
pub fn to_vec<T: WriteJson + ?Sized>(value: &T, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    value.write_json(&mut out);
    out
}

/// Writes a JSON object one field at a time.
pub struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> ObjectWriter<'a> {
    /// Opens an object in `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, empty: true }
    }

    /// Writes `"key":value`. Keys are field names chosen in this crate: plain ASCII that JSON
    /// needs no escape for.
    #[inline(always)]
    pub fn field<T: WriteJson + ?Sized>(&mut self, key: &'static str, value: &T) -> &mut Self {
        debug_assert!(!needs_escape(key.as_bytes()), "key {key:?} needs escaping");
        let out = &mut *self.out;
        out.reserve(key.len() + 4);
        if !std::mem::take(&mut self.empty) {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.push(b'"');
        out.push(b':');
        value.write_json(out);
        self
    }

    /// Writes the field only when `value` is present (for shapes that omit nulls).
    pub fn optional<T: WriteJson>(&mut self, key: &'static str, value: Option<&T>) -> &mut Self {
        if let Some(value) = value {
            self.field(key, value);
        }
        self
    }

    /// Closes the object.
    pub fn finish(self) {
        self.out.push(b'}');
    }
}

/// Writes `items` as a JSON array. With `expected`, the number of items to come, the buffer is
/// sized once from the first item, so a large page is not written by doubling (and copying)
/// the buffer on its way up.
pub fn write_array<T: WriteJson>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = T>,
    expected: usize,
) {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let start = out.len();
        item.write_json(out);
        if i == 0 {
            // Records differ in length a little: leave an eighth more room for each.
            let each = (out.len() - start) * 9 / 8 + 1;
            out.reserve(each.saturating_mul(expected.saturating_sub(1)) + 1);
        }
    }
    out.push(b']');
}

/// Whether JSON needs any byte of `bytes` escaped: quotes, backslashes and control characters.
///
/// Eight bytes at a time: nearly every string the mock writes needs nothing, and this check
/// runs on every one of them.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    /// Whether any byte of `word` is below `n` (at most 0x80): the word-at-a-time test.
    fn any_below(word: u64, n: u8) -> bool {
        word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS != 0
    }
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_ne_bytes(word);
        if any_below(word, 0x20)
            || any_below(word ^ (ONES * u64::from(b'"')), 1)
            || any_below(word ^ (ONES * u64::from(b'\\')), 1)
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Writes `parts` as one JSON string, as if they were concatenated.
pub fn write_str_parts(out: &mut Vec<u8>, parts: &[&str]) {
    out.push(b'"');
    for part in parts {
        write_str_contents(out, part);
    }
    out.push(b'"');
}

#[inline]
fn write_str_contents(out: &mut Vec<u8>, text: &str) {
    if !needs_escape(text.as_bytes()) {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    // Rare: let serde_json escape it, then drop the quotes it adds around the contents.
    let start = out.len();
    if serde_json::to_writer(&mut *out, text).is_ok() {
        out.remove(start);
        out.pop();
    }
}

impl WriteJson for str {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_str_parts(out, &[self]);
    }
}

impl WriteJson for String {
    fn write_json(&self, out: &mut Vec<u8>) {
        self.as_str().write_json(out);
    }
}

impl WriteJson for u64 {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(itoa::Buffer::new().format(*self).as_bytes());
    }
}

impl WriteJson for u32 {
    fn write_json(&self, out: &mut Vec<u8>) {
        u64::from(*self).write_json(out);
    }
}

impl WriteJson for bool {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}

impl<T: WriteJson> WriteJson for Option<T> {
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Some(value) => value.write_json(out),
            None => out.extend_from_slice(b"null"),
        }
    }
}

impl<T: WriteJson + ?Sized> WriteJson for &T {
    fn write_json(&self, out: &mut Vec<u8>) {
        (**self).write_json(out);
    }
}

impl<T: WriteJson> WriteJson for [T] {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_array(out, self, self.len());
    }
}

impl<T: WriteJson> WriteJson for Vec<T> {
    fn write_json(&self, out: &mut Vec<u8>) {
        self.as_slice().write_json(out);
    }
}

/// Free-form JSON (echoed request items, field errors) goes through serde_json.
impl WriteJson for serde_json::Value {
    fn write_json(&self, out: &mut Vec<u8>) {
        // Writing a `Value` into memory cannot fail.
        let _ = serde_json::to_writer(&mut *out, self);
    }
}

impl WriteJson for Timestamp<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'"');
        match self.to_bytes() {
            Some(text) => out.extend_from_slice(&text),
            None => out.extend_from_slice(self.to_string().as_bytes()),
        }
        out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;

    use super::*;

    fn text<T: WriteJson + ?Sized>(value: &T) -> String {
        String::from_utf8(to_vec(value, 0)).unwrap()
    }

    proptest! {
        #[test]
        fn strings_are_written_exactly_as_serde_json_writes_them(s in any::<String>()) {
            prop_assert_eq!(text(s.as_str()), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn characters_that_need_escaping_are_found_anywhere_in_a_string(
            s in "[a \"\\\\\n\u{1f}\u{7f}é]{0,40}"
        ) {
            prop_assert_eq!(text(s.as_str()), serde_json::to_string(&s).unwrap());
        }
    }

    #[test]
    fn objects_arrays_and_nulls() {
        let mut out = Vec::new();
        let mut object = ObjectWriter::new(&mut out);
        object
            .field("id", &7u64)
            .field("name", "Jane \"JD\" Doe\n")
            .field("vendor", &None::<u64>)
            .field("ids", &vec![1u64, 2])
            .optional("gone", None::<&bool>)
            .optional("here", Some(&true));
        object.finish();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"id":7,"name":"Jane \"JD\" Doe\n","vendor":null,"ids":[1,2],"here":true}"#
        );
        assert_eq!(text(&Vec::<u64>::new()), "[]");
        let at = Utc.with_ymd_and_hms(2016, 10, 23, 21, 39, 40).unwrap();
        assert_eq!(text(&Timestamp(&at)), r#""2016-10-23T21:39:40Z""#);
    }
}
