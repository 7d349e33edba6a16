//! Argument parsing with Redis's error replies (`getLongLongFromObjectOrReply`
//! and friends in object.c), shared by every command family.
//!
//! Each function parses `c.argv[i]`; on failure it sends the error reply
//! (Redis's text, or `msg` when the caller gives its own) and returns
//! `None`, so a command reads `let Some(n) = get_long_or_reply(c, 2, None)
//! else { return };`.

use crate::client::Client;
use crate::util::{string2ll, strtod_exact};

/// `getLongLongFromObjectOrReply`.
pub fn get_long_or_reply(c: &mut Client, i: usize, msg: Option<&str>) -> Option<i64> {
    match string2ll(c.argv.get(i)) {
        Some(v) => Some(v),
        None => {
            c.add_reply_error(msg.unwrap_or("value is not an integer or out of range"));
            None
        }
    }
}

/// `getRangeLongFromObjectOrReply`.
pub fn get_range_long_or_reply(c: &mut Client, i: usize, min: i64, max: i64, msg: Option<&str>) -> Option<i64> {
    let v = get_long_or_reply(c, i, msg)?;
    if v < min || v > max {
        match msg {
            Some(m) => c.add_reply_error(m),
            None => c.add_reply_error(&format!("value is out of range, value must between {} and {}", min, max)),
        }
        return None;
    }
    Some(v)
}

/// `getPositiveLongFromObjectOrReply` (zero included, as Redis): one error
/// text, Redis's "must be positive" or `msg`, for a non-integer as for a
/// negative value.
pub fn get_positive_long_or_reply(c: &mut Client, i: usize, msg: Option<&str>) -> Option<i64> {
    get_range_long_or_reply(c, i, 0, i64::MAX, Some(msg.unwrap_or("value is out of range, must be positive")))
}

/// `getDoubleFromObjectOrReply`: C `strtod` syntax over the whole argument,
/// no NaN.
pub fn get_double_or_reply(c: &mut Client, i: usize, msg: Option<&str>) -> Option<f64> {
    match strtod_exact(c.argv.get(i)) {
        Some(v) => Some(v),
        None => {
            c.add_reply_error(msg.unwrap_or("value is not a valid float"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Argv;

    fn client(args: &[&[u8]]) -> Client {
        let mut c = Client::new(1, -1, 0);
        c.argv = Argv::from_slices(args);
        c
    }

    fn reply(c: &Client) -> String {
        let mut v = c.buf.clone();
        for ch in &c.reply {
            v.extend_from_slice(ch);
        }
        String::from_utf8_lossy(&v).into_owned()
    }

    #[test]
    fn errors_are_redis_texts() {
        let mut c = client(&[b"x", b"12a", b"-3", b"nan", b"2.5"]);
        assert_eq!(get_long_or_reply(&mut c, 1, None), None);
        assert_eq!(get_positive_long_or_reply(&mut c, 2, None), None);
        assert_eq!(get_positive_long_or_reply(&mut c, 1, None), None);
        assert_eq!(get_range_long_or_reply(&mut c, 2, 0, 10, None), None);
        assert_eq!(get_double_or_reply(&mut c, 3, None), None);
        assert_eq!(get_double_or_reply(&mut c, 4, None), Some(2.5));
        assert_eq!(
            reply(&c),
            "-ERR value is not an integer or out of range\r\n\
             -ERR value is out of range, must be positive\r\n\
             -ERR value is out of range, must be positive\r\n\
             -ERR value is out of range, value must between 0 and 10\r\n\
             -ERR value is not a valid float\r\n"
        );
    }
}
