//! Access-request logs: one row per forward-auth or decide call, like
//! Cloudflare's access requests log. The server persists them; the sink must not
//! block (queue and write in the background).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessLogEntry {
    /// The account whose application was asked about (empty when none was found).
    #[serde(default)]
    pub account_id: String,
    /// `login` for an interactive check, `decide` for the decision API.
    pub action: String,
    pub allowed: bool,
    pub app_domain: Option<String>,
    pub app_uid: Option<String>,
    pub country: Option<String>,
    pub created_at: DateTime<Utc>,
    pub ip_address: Option<String>,
    pub ray_id: String,
    pub user_email: Option<String>,
}

pub trait AccessLogSink: Send + Sync + 'static {
    fn record(&self, entry: AccessLogEntry);
}

/// Drops every entry.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAccessLog;

impl AccessLogSink for NoAccessLog {
    fn record(&self, _entry: AccessLogEntry) {}
}

/// Keeps entries in memory (tests).
#[derive(Debug, Default)]
pub struct MemoryAccessLog {
    entries: std::sync::Mutex<Vec<AccessLogEntry>>,
}

impl MemoryAccessLog {
    pub fn entries(&self) -> Vec<AccessLogEntry> {
        self.entries.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl AccessLogSink for MemoryAccessLog {
    fn record(&self, entry: AccessLogEntry) {
        if let Ok(mut e) = self.entries.lock() {
            e.push(entry);
        }
    }
}
