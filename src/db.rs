//! The keyspace: databases, each a main table and an expires table
//! (mirrors db.c).
//!
//! This is the shell the server core needs (SELECT, DBSIZE, INFO
//! keyspace). The keyspace issue replaces the std tables with Redis's
//! incrementally rehashed dict and adds the value types.

use std::collections::HashMap;

pub struct Db {
    pub id: usize,
    pub dict: HashMap<Vec<u8>, Vec<u8>>,
    /// Key → absolute expire time in unix milliseconds.
    pub expires: HashMap<Vec<u8>, i64>,
    /// Average TTL estimate for INFO keyspace (`avg_ttl`).
    pub avg_ttl: i64,
}

impl Db {
    pub fn new(id: usize) -> Db {
        Db { id, dict: HashMap::new(), expires: HashMap::new(), avg_ttl: 0 }
    }

    /// Number of keys (`dictSize(db->dict)`).
    pub fn size(&self) -> usize {
        self.dict.len()
    }

    /// Number of keys with a TTL.
    pub fn expires_size(&self) -> usize {
        self.expires.len()
    }
}
