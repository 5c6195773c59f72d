//! Cursors of the lists that page by token: Google's `pageToken` /
//! `nextPageToken` and PingOne's `cursor` in `_links.next.href`. A cursor is
//! the offset of the next item in the store's listing order (creation order),
//! written as a decimal number: URL-safe, and opaque to clients, who only pass
//! back what they were given. (The Cloudflare lists page by `page` and
//! `per_page` instead, see [`crate::envelope`].)

use crate::error::ApiError;

/// The offset a cursor stands for; `field` and `what` name it in the 400
/// (`pageToken: "x" is not a page token`).
pub fn parse_cursor(field: &str, what: &str, cursor: &str) -> Result<u64, ApiError> {
    cursor
        .parse::<u64>()
        .map_err(|_| ApiError::field(field, format!("{cursor:?} is not a {what}")))
}

/// The cursor of the item at `offset`.
pub fn cursor(offset: u64) -> String {
    offset.to_string()
}

/// The offset of the page after the one at `offset` of `size` items, when
/// `total` items leave one.
pub fn next_offset(offset: u64, size: u64, total: u64) -> Option<u64> {
    let next = offset.saturating_add(size);
    (next < total).then_some(next)
}

/// The offset of the page before the one at `offset`, when there is one.
pub fn prev_offset(offset: u64, size: u64) -> Option<u64> {
    (offset > 0).then(|| offset.saturating_sub(size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_offsets() {
        assert_eq!(parse_cursor("cursor", "cursor", "40").ok(), Some(40));
        assert_eq!(
            parse_cursor("cursor", "cursor", "-1")
                .err()
                .map(|e| e.to_string()),
            Some("cursor: \"-1\" is not a cursor".to_string())
        );
        assert_eq!(next_offset(0, 2, 5), Some(2));
        assert_eq!(next_offset(4, 2, 5), None);
        assert_eq!(prev_offset(0, 2), None);
        assert_eq!(prev_offset(1, 2), Some(0));
        assert_eq!(cursor(7), "7");
    }
}
