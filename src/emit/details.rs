//! Attachment text for stackviz details: decoding by MIME charset (ISO-8859-1 when a
//! text type names none, as testtools does), and a lossless form for what is not text.

use base64::Engine;

use crate::emit::pyjson;
use crate::model::Attachment;
use crate::model::text::{Charset, charset, parse_mime};

/// Why an attachment was not exported as the plain text it claims to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// Not a `text/*` type (or no MIME type): exported as a `data:` URI with base64.
    Binary,
    /// Bytes invalid in the declared charset: replaced with U+FFFD.
    Undecodable,
    /// A charset we do not know: read as UTF-8, invalid bytes replaced.
    UnknownCharset,
}

/// Appends the JSON string for an attachment's details value and says whether the value
/// is empty (then the caller drops it, as stackviz does). Returns a note when the data
/// could not be written as the text it claims to be.
pub fn write_value(out: &mut Vec<u8>, att: &Attachment) -> (bool, Option<Note>) {
    let mime = att.mime.as_deref().unwrap_or("application/octet-stream");
    let (is_text, cs) = parse_mime(mime);
    if !is_text {
        let mut s = format!("data:{};base64,", mime.replace(['\n', '\r'], ""));
        base64::engine::general_purpose::STANDARD.encode_string(&att.data, &mut s);
        pyjson::write_str(out, &s);
        return (false, Some(Note::Binary));
    }
    if att.data.is_empty() {
        return (true, None);
    }
    match charset(cs) {
        Charset::Latin1 => {
            pyjson::write_latin1(out, &att.data);
            (false, None)
        }
        kind => {
            if pyjson::write_utf8(out, &att.data) {
                (
                    false,
                    matches!(kind, Charset::Unknown).then_some(Note::UnknownCharset),
                )
            } else {
                pyjson::write_str(out, &String::from_utf8_lossy(&att.data));
                (
                    false,
                    Some(if matches!(kind, Charset::Unknown) {
                        Note::UnknownCharset
                    } else {
                        Note::Undecodable
                    }),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn att(mime: Option<&str>, data: &[u8]) -> Attachment {
        Attachment {
            name: "x".into(),
            mime: mime.map(Into::into),
            data: data.to_vec(),
            complete: true,
        }
    }

    fn value(a: &Attachment) -> (String, bool, Option<Note>) {
        let mut v = Vec::new();
        let (empty, note) = write_value(&mut v, a);
        (String::from_utf8(v).unwrap(), empty, note)
    }

    #[test]
    fn charsets_and_binary() {
        assert_eq!(
            value(&att(Some("text/plain;charset=utf8"), "é".as_bytes())).0,
            r#""\u00e9""#
        );
        assert_eq!(
            value(&att(Some("text/plain"), b"caf\xe9")).0,
            r#""caf\u00e9""#
        );
        assert_eq!(
            value(&att(
                Some("text/x-traceback; charset=\"utf8\"; language=\"python\""),
                b"a"
            ))
            .0,
            r#""a""#
        );
        let (v, _, note) = value(&att(Some("text/plain; charset=utf8"), b"\xff"));
        assert_eq!((v.as_str(), note), (r#""\ufffd""#, Some(Note::Undecodable)));
        let (v, _, note) = value(&att(Some("image/png"), b"\x89PNG"));
        assert_eq!(
            (v.as_str(), note),
            (r#""data:image/png;base64,iVBORw==""#, Some(Note::Binary))
        );
        let (_, _, note) = value(&att(None, b"x"));
        assert_eq!(note, Some(Note::Binary));
        assert!(value(&att(Some("text/plain"), b"")).1);
    }
}
