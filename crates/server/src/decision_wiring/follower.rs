//! Other nodes' writes: on PostgreSQL every committed write is announced with
//! `NOTIFY portcullis_changes`; this task `LISTEN`s and wakes the refresher. A
//! lost connection is re-established (sqlx does so on the next `recv`), and the
//! refresher's periodic sequence check covers notifications missed meanwhile.

use std::sync::Arc;
use std::time::Duration;

use portcullis_store::CHANGES_CHANNEL;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;

pub async fn follow_changes(url: String, signal: Arc<Notify>) {
    loop {
        match PgListener::connect(&url).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen(CHANGES_CHANNEL).await {
                    tracing::warn!(error = %e, "cannot LISTEN for changes");
                } else {
                    tracing::info!(channel = CHANGES_CHANNEL, "following changes");
                    // Anything committed while we were not listening.
                    signal.notify_one();
                    loop {
                        match listener.recv().await {
                            Ok(_) => signal.notify_one(),
                            Err(e) => {
                                tracing::warn!(error = %e, "change notifications interrupted");
                                signal.notify_one();
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot connect to follow changes"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
