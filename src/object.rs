//! Values and their encodings (mirrors object.c).
//!
//! A value is one of Redis's types. Strings keep Redis's three encodings,
//! chosen as `tryObjectEncoding` chooses them:
//! 1. `int`: the text is a canonical 64-bit integer of at most 20 chars;
//! 2. `embstr`: at most 44 bytes (`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`),
//!    never modified in place;
//! 3. `raw`: anything longer, or any string modified in place (APPEND,
//!    SETRANGE, SETBIT), which Redis converts to raw first.
//!
//! OBJECT ENCODING and the RDB/AOF writers read the encoding from here.

use crate::util::string2ll;

/// Longest string stored as `embstr`.
pub const OBJ_ENCODING_EMBSTR_SIZE_LIMIT: usize = 44;
/// Integers in `0..OBJ_SHARED_INTEGERS` are shared objects in Redis:
/// OBJECT REFCOUNT reports `OBJ_SHARED_REFCOUNT` for them.
pub const OBJ_SHARED_INTEGERS: i64 = 10000;
pub const OBJ_SHARED_REFCOUNT: i64 = i32::MAX as i64;

/// A string value with its encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RStr {
    Int(i64),
    Embstr(Box<[u8]>),
    Raw(Vec<u8>),
}

/// A value stored under a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Str(RStr),
}

impl RStr {
    /// Builds a string value from client bytes, choosing the encoding as
    /// `tryObjectEncoding` does.
    pub fn from_bytes(b: &[u8]) -> RStr {
        if b.len() <= 20 {
            if let Some(v) = string2ll(b) {
                return RStr::Int(v);
            }
        }
        if b.len() <= OBJ_ENCODING_EMBSTR_SIZE_LIMIT {
            RStr::Embstr(b.into())
        } else {
            RStr::Raw(b.to_vec())
        }
    }

    /// A string that is never int-encoded (`createStringObject`), as
    /// DEBUG POPULATE and internal callers create them.
    pub fn from_bytes_no_int(b: &[u8]) -> RStr {
        if b.len() <= OBJ_ENCODING_EMBSTR_SIZE_LIMIT {
            RStr::Embstr(b.into())
        } else {
            RStr::Raw(b.to_vec())
        }
    }

    /// Like `from_bytes` but takes ownership (no copy for raw strings).
    pub fn from_vec(v: Vec<u8>) -> RStr {
        if v.len() <= OBJ_ENCODING_EMBSTR_SIZE_LIMIT {
            RStr::from_bytes(&v)
        } else {
            RStr::Raw(v)
        }
    }

    /// The bytes of the string, formatting an integer into `buf`.
    pub fn as_bytes<'a>(&'a self, buf: &'a mut itoa::Buffer) -> &'a [u8] {
        match self {
            RStr::Int(v) => buf.format(*v).as_bytes(),
            RStr::Embstr(b) => b,
            RStr::Raw(v) => v,
        }
    }

    /// An owned copy of the bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut b = itoa::Buffer::new();
        self.as_bytes(&mut b).to_vec()
    }

    /// Length in bytes (`stringObjectLen`).
    pub fn len(&self) -> usize {
        match self {
            RStr::Int(v) => {
                let mut b = itoa::Buffer::new();
                b.format(*v).len()
            }
            RStr::Embstr(b) => b.len(),
            RStr::Raw(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The integer value, if the string is one (`getLongLongFromObject`).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            RStr::Int(v) => Some(*v),
            RStr::Embstr(b) => string2ll(b),
            RStr::Raw(v) => string2ll(v),
        }
    }

    /// Makes the string `raw` for in-place modification and returns it
    /// (`dbUnshareStringValue`).
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, RStr::Raw(_)) {
            *self = RStr::Raw(self.to_vec());
        }
        match self {
            RStr::Raw(v) => v,
            // Unreachable: converted just above.
            _ => unreachable!("string was just made raw"),
        }
    }

    /// Redis's encoding name.
    pub fn encoding(&self) -> &'static str {
        match self {
            RStr::Int(_) => "int",
            RStr::Embstr(_) => "embstr",
            RStr::Raw(_) => "raw",
        }
    }
}

/// Redis's type codes (`OBJ_STRING`, …), used by DEBUG DIGEST and RDB.
pub const OBJ_STRING: u32 = 0;
pub const OBJ_LIST: u32 = 1;
pub const OBJ_SET: u32 = 2;
pub const OBJ_ZSET: u32 = 3;
pub const OBJ_HASH: u32 = 4;

impl Value {
    /// Redis's numeric type code.
    pub fn type_code(&self) -> u32 {
        match self {
            Value::Str(_) => OBJ_STRING,
        }
    }

    /// The TYPE name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }

    /// The OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
        }
    }

    /// OBJECT REFCOUNT: shared integers report Redis's shared refcount.
    pub fn refcount(&self) -> i64 {
        match self {
            Value::Str(RStr::Int(v)) if (0..OBJ_SHARED_INTEGERS).contains(v) => OBJ_SHARED_REFCOUNT,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_redis() {
        assert_eq!(RStr::from_bytes(b"12345").encoding(), "int");
        assert_eq!(RStr::from_bytes(b"-9223372036854775808").encoding(), "int");
        assert_eq!(RStr::from_bytes(b"007").encoding(), "embstr");
        assert_eq!(RStr::from_bytes(b" 1").encoding(), "embstr");
        assert_eq!(RStr::from_bytes(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(RStr::from_bytes(&[b'a'; 45]).encoding(), "raw");
        let mut s = RStr::from_bytes(b"abc");
        s.make_raw().push(b'd');
        assert_eq!(s.encoding(), "raw");
        assert_eq!(s.to_vec(), b"abcd");
        assert_eq!(RStr::Int(-42).len(), 3);
    }

    #[test]
    fn refcount_of_shared_integers() {
        assert_eq!(Value::Str(RStr::Int(5)).refcount(), OBJ_SHARED_REFCOUNT);
        assert_eq!(Value::Str(RStr::Int(10000)).refcount(), 1);
        assert_eq!(Value::Str(RStr::from_bytes(b"x")).refcount(), 1);
    }
}
