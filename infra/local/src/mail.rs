//! What SES was asked to send, with attachments. Emulators keep a sent email's subject and text
//! but drop the rest of a raw MIME message (ministack keeps only its text and HTML parts), so the
//! functions reach SES v2 through the gateway (`AWS_ENDPOINT_URL_SESV2`): every request goes on
//! to the emulator unchanged, and a raw message the emulator accepted is kept here under the id it
//! answered, so `GET /_local/emails` can show its attachments.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// Raw messages sent, by the message id the emulator gave them.
#[derive(Debug, Default)]
pub struct SentRaw {
    by_id: Mutex<HashMap<String, String>>,
}

impl SentRaw {
    /// Keeps the raw message of an SES v2 `SendEmail` request body (`Content.Raw.Data`, base64),
    /// if it has one, under the id of the emulator's answer (`MessageId`).
    pub fn record(&self, request: &[u8], response: &[u8]) {
        let (Ok(request), Ok(response)) =
            (serde_json::from_slice::<Value>(request), serde_json::from_slice::<Value>(response))
        else {
            return;
        };
        let raw = request.pointer("/Content/Raw/Data").and_then(Value::as_str);
        let id = response.get("MessageId").and_then(Value::as_str);
        if let (Some(raw), Some(id)) = (raw, id)
            && let Ok(bytes) = STANDARD.decode(raw)
        {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            self.by_id.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_string(), text);
        }
    }

    /// Adds `attachments` to each email (as normalised by `emulators::normalise_emails`): those of
    /// its raw message, if it was sent as one, else none.
    pub fn annotate(&self, emails: &mut [Value]) {
        let kept = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        for email in emails {
            let raw = email.get("id").and_then(Value::as_str).and_then(|id| kept.get(id));
            let attachments = raw.map(|r| attachments(r)).unwrap_or_default();
            if let Some(object) = email.as_object_mut() {
                object.insert("attachments".into(), Value::from(attachments));
            }
        }
    }
}

/// A header block and body, split at the first empty line.
fn split(part: &str) -> (&str, &str) {
    part.split_once("\r\n\r\n").or_else(|| part.split_once("\n\n")).unwrap_or((part, ""))
}

/// A header's value (unfolded), case-insensitively by name.
fn header(headers: &str, name: &str) -> Option<String> {
    let unfolded = headers.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// A parameter of a header value (`boundary`, `filename`), quoted or not.
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (n, v) = p.split_once('=')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The attachments of a MIME message: `[{filename, content_type, size, data_base64}]`, walking
/// nested multiparts. A part is an attachment when its `Content-Disposition` says so.
pub fn attachments(raw: &str) -> Vec<Value> {
    let mut found = Vec::new();
    walk(raw, &mut found);
    found
}

fn walk(entity: &str, found: &mut Vec<Value>) {
    let (headers, body) = split(entity);
    let content_type = header(headers, "Content-Type").unwrap_or_default();
    if content_type.to_ascii_lowercase().starts_with("multipart/") {
        let Some(boundary) = parameter(&content_type, "boundary") else { return };
        let delimiter = format!("--{boundary}");
        for part in body.split(&delimiter).skip(1) {
            if part.starts_with("--") {
                break;
            }
            walk(part.trim_start_matches(['\r', '\n']), found);
        }
        return;
    }
    let disposition = header(headers, "Content-Disposition").unwrap_or_default();
    if !disposition.to_ascii_lowercase().starts_with("attachment") {
        return;
    }
    let data: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let size = STANDARD.decode(&data).map(|b| b.len()).unwrap_or(0);
    found.push(json!({
        "filename": parameter(&disposition, "filename").or_else(|| parameter(&content_type, "name")),
        "content_type": content_type.split(';').next().unwrap_or_default().trim(),
        "size": size,
        "data_base64": data,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = "From: a@x.example\r\nTo: b@y.example\r\nSubject: PO\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=UTF-8\r\n\
        Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b1\r\nContent-Type: application/pdf; name=\"PO-1.pdf\"\r\n\
        Content-Disposition: attachment; filename=\"PO-1.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
        JVBERi0x\r\nLjc=\r\n--b1--\r\n";

    #[test]
    fn a_raw_messages_attachments_are_listed_with_their_bytes() {
        let found = attachments(RAW);
        assert_eq!(
            found,
            vec![
                json!({"filename": "PO-1.pdf", "content_type": "application/pdf", "size": 8, "data_base64": "JVBERi0xLjc="})
            ]
        );
        assert!(attachments("Subject: plain\r\n\r\nhello").is_empty());
    }

    #[test]
    fn a_sent_raw_message_is_found_by_the_emulators_id() {
        let sent = SentRaw::default();
        let request = json!({"Content": {"Raw": {"Data": STANDARD.encode(RAW)}}}).to_string();
        sent.record(request.as_bytes(), br#"{"MessageId": "m1"}"#);
        sent.record(br#"{"Content": {"Simple": {}}}"#, br#"{"MessageId": "m2"}"#);
        let mut emails = vec![json!({"id": "m1"}), json!({"id": "m2"})];
        sent.annotate(&mut emails);
        assert_eq!(emails[0]["attachments"][0]["filename"], "PO-1.pdf");
        assert_eq!(emails[1]["attachments"], json!([]));
    }
}
