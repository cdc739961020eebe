//! The local event feed: with `SCIM_EVENTS_FILE=PATH`, the embedded store tells this sink of each
//! committed audit record (as DynamoDB Streams tell the stream handler), and it appends each
//! event's `detail` to PATH as one JSON line: the same JSON the Lambda publishes.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use super::set::{events_of, Event};
use crate::audit::{AuditRecord, AuditSink};

/// Appends events to a file, one JSON line each.
pub struct FileSink {
    file: Mutex<File>,
    iss: String,
}

impl FileSink {
    /// Open (or create) `path` for appending.
    pub fn open(path: &Path, iss: &str) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(FileSink {
            file: Mutex::new(file),
            iss: iss.to_owned(),
        })
    }
}

impl FileSink {
    /// The issuer the events of this feed carry.
    pub fn issuer(&self) -> &str {
        &self.iss
    }

    /// Append `events` (asynchronous completions, which have no audit record of their own).
    pub fn write_events(&self, events: &[Event]) {
        let mut out = Vec::new();
        for event in events {
            // A `Value` always serialises.
            out.extend(serde_json::to_vec(&event.detail).unwrap_or_default());
            out.push(b'\n');
        }
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // The change is committed whatever happens here: a full disk loses local events, not
        // data. One write per record, so lines never interleave.
        if let Err(e) = file.write_all(&out) {
            tracing::warn!(error = %e, "cannot append to SCIM_EVENTS_FILE");
        }
    }
}

impl AuditSink for FileSink {
    fn committed(&self, record: &AuditRecord) {
        self.write_events(&events_of(record, &self.iss));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Action, Actor};
    use crate::scim::schema::ResourceKind;
    use crate::tenant::TenantId;

    #[test]
    fn appends_one_line_per_event() {
        let path = std::env::temp_dir().join(format!("events-{}.jsonl", uuid::Uuid::new_v4()));
        let sink = FileSink::open(&path, "scim-server").unwrap();
        let t = TenantId::parse("acme").unwrap();
        for action in [Action::Create, Action::Delete] {
            let rec = AuditRecord::new(
                &t,
                &Actor::system(),
                ResourceKind::User,
                "u1",
                action,
                vec![],
            );
            sink.committed(&rec);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[1]["events"]
            .get("urn:ietf:params:scim:event:prov:delete")
            .is_some());
        std::fs::remove_file(path).ok();
    }
}
