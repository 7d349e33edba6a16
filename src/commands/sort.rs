//! SORT (mirrors sort.c): sorts a list, set or sorted set numerically or
//! alphabetically, by the elements or by external keys, with LIMIT, GET
//! and STORE.
//!
//! 1. Options are parsed first; `BY` with no `*` means "do not sort". A set
//!    that is not sorted but STOREd is sorted alphabetically anyway, so the
//!    stored list does not depend on hash table order (Redis's rule).
//! 2. The elements are loaded with their sort key: a double (numeric sort;
//!    C `strtod` semantics, a missing BY key counts as 0, anything else
//!    unparsable fails the whole command) or bytes (ALPHA; a missing BY key
//!    sorts first). Equal numeric keys fall back to comparing the elements,
//!    so the result is deterministic.
//! 3. `lookup_key_by_pattern` substitutes the element for the first `*` of
//!    a pattern and reads that string key, or with `->field` that hash
//!    field; `#` is the element itself.

use crate::client::Client;
use crate::commands::args::get_long_or_reply;
use crate::commands::strings::WRONGTYPE;
use crate::config::NOTIFY_LIST;
use crate::object::Value;
use crate::quicklist::Quicklist;
use crate::commands::CommandDef;
use crate::server::Server;
use crate::ziplist::Where;

pub static COMMANDS: &[CommandDef] = &[CommandDef {
    name: "sort",
    proc_: sort_command,
    arity: -2,
    sflags: "write use-memory @list @set @sortedset @dangerous",
    firstkey: 1,
    lastkey: 1,
    keystep: 1,
}];

/// An element being sorted.
struct SortItem {
    ele: Vec<u8>,
    score: f64,
    cmp: Option<Vec<u8>>,
}

/// `strtod` as SORT uses it: leading spaces allowed, the rest must be
/// consumed, no overflow, no NaN. An empty string is 0.
fn sort_strtod(s: &[u8]) -> Option<f64> {
    if s.is_empty() {
        return Some(0.0);
    }
    let start = s.iter().position(|&b| !crate::util::is_c_space(b))?;
    crate::util::strtod_exact(&s[start..])
}

/// The value a pattern points to for element `subst`
/// (`lookupKeyByPattern`).
fn lookup_key_by_pattern(s: &mut Server, db: usize, pattern: &[u8], subst: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(subst.to_vec());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let (key_end, field) = match pattern[star..].windows(2).position(|w| w == b"->") {
        Some(i) if star + i + 2 < pattern.len() => (star + i, Some(&pattern[star + i + 2..])),
        _ => (pattern.len(), None),
    };
    let mut key = Vec::with_capacity(key_end + subst.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(&pattern[star + 1..key_end]);
    let v = s.lookup_key_read(db, &key)?;
    match (field, v) {
        (None, Value::Str(r)) => Some(r.to_vec()),
        (Some(f), Value::HashZl(zl)) => {
            let p = zl.find(zl.first()?, f, 1)?;
            let vp = zl.next(p)?;
            Some(zl.get(vp).to_vec())
        }
        (Some(f), Value::HashHt(h)) => h.get(f).map(|v| v.to_vec()),
        _ => None,
    }
}

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC]
/// [ALPHA] [STORE destination]
pub fn sort_command(s: &mut Server, c: &mut Client) {
    let mut desc = false;
    let mut alpha = false;
    let mut limit: Option<(i64, i64)> = None;
    let mut dontsort = false;
    let mut sortby: Option<Vec<u8>> = None;
    let mut getops: Vec<Vec<u8>> = Vec::new();
    let mut storekey: Option<Vec<u8>> = None;
    let argc = c.argv.len();
    let mut j = 2;
    while j < argc {
        let left = argc - j - 1;
        let a = c.argv.get(j);
        if a.eq_ignore_ascii_case(b"asc") {
            desc = false;
        } else if a.eq_ignore_ascii_case(b"desc") {
            desc = true;
        } else if a.eq_ignore_ascii_case(b"alpha") {
            alpha = true;
        } else if a.eq_ignore_ascii_case(b"limit") && left >= 2 {
            let Some(off) = get_long_or_reply(c, j + 1, None) else { return };
            let Some(cnt) = get_long_or_reply(c, j + 2, None) else { return };
            limit = Some((off, cnt));
            j += 2;
        } else if a.eq_ignore_ascii_case(b"store") && left >= 1 {
            storekey = Some(c.argv.get(j + 1).to_vec());
            j += 1;
        } else if a.eq_ignore_ascii_case(b"by") && left >= 1 {
            let p = c.argv.get(j + 1).to_vec();
            if !p.contains(&b'*') {
                dontsort = true;
            }
            sortby = Some(p);
            j += 1;
        } else if a.eq_ignore_ascii_case(b"get") && left >= 1 {
            getops.push(c.argv.get(j + 1).to_vec());
            j += 1;
        } else {
            c.add_reply_error("syntax error");
            return;
        }
        j += 1;
    }

    let db = c.db;
    let key = c.argv.get(1).to_vec();
    // Load the elements (a missing key sorts as an empty list).
    let (mut elements, is_set, is_zset): (Vec<Vec<u8>>, bool, bool) = {
        let v = if storekey.is_some() { s.lookup_key_write(db, &key).map(|v| &*v) } else { s.lookup_key_read(db, &key) };
        match v {
            None => (Vec::new(), false, false),
            Some(Value::List(q)) => (q.iter().map(|e| e.to_vec()).collect(), false, false),
            Some(Value::SetInt(set)) => (set.iter().map(|v| v.to_string().into_bytes()).collect(), true, false),
            Some(Value::SetHt(set)) => (set.keys().map(|m| m.to_vec()).collect(), true, false),
            Some(Value::ZsetZl(zl)) => (zl.iter().step_by(2).map(|e| e.to_vec()).collect(), false, true),
            Some(Value::ZsetSl(z)) => (z.iter().map(|(m, _)| m.to_vec()).collect(), false, true),
            Some(_) => {
                c.add_reply_error(WRONGTYPE);
                return;
            }
        }
    };
    // Redis sorts a sorted set in its skiplist form, converting the stored
    // value for good ("destructively convert encoded sorted sets").
    if is_zset {
        if let Some(o) = s.dbs[db].dict.get_mut(&key) {
            crate::commands::zset::zset_convert_to_skiplist(&mut o.val);
        }
    }
    if dontsort && is_set && storekey.is_some() {
        dontsort = false;
        alpha = true;
        sortby = None;
    }

    // An unsorted sorted set still honours DESC: its natural order reversed.
    if dontsort && desc && is_zset {
        elements.reverse();
    }
    let vectorlen = elements.len() as i64;
    let (mut start, mut end) = match limit {
        Some((off, cnt)) => {
            let start = off.max(0);
            let end = if cnt < 0 { vectorlen - 1 } else { start.saturating_add(cnt) - 1 };
            (start, end)
        }
        None => (0, vectorlen - 1),
    };
    if start >= vectorlen {
        start = vectorlen - 1;
        end = vectorlen - 2;
    }
    if end >= vectorlen {
        end = vectorlen - 1;
    }

    let mut items: Vec<SortItem> = elements.into_iter().map(|ele| SortItem { ele, score: 0.0, cmp: None }).collect();
    if !dontsort {
        let mut conversion_error = false;
        for it in items.iter_mut() {
            let byval = match &sortby {
                Some(p) => match lookup_key_by_pattern(s, db, p, &it.ele) {
                    Some(v) => Some(v),
                    None => continue,
                },
                None => None,
            };
            if alpha {
                if sortby.is_some() {
                    it.cmp = byval;
                }
            } else {
                let src = byval.as_deref().unwrap_or(&it.ele);
                match sort_strtod(src) {
                    Some(v) => it.score = v,
                    None => conversion_error = true,
                }
            }
        }
        if conversion_error {
            c.add_reply_error("One or more scores can't be converted into double");
            return;
        }
        let by = sortby.is_some();
        items.sort_by(|a, b| {
            let cmp = if !alpha {
                a.score.partial_cmp(&b.score).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.ele.cmp(&b.ele))
            } else if by {
                match (&a.cmp, &b.cmp) {
                    (Some(x), Some(y)) => x.cmp(y),
                    (None, None) => std::cmp::Ordering::Equal,
                    (None, Some(_)) => std::cmp::Ordering::Less,
                    (Some(_), None) => std::cmp::Ordering::Greater,
                }
            } else {
                a.ele.cmp(&b.ele)
            };
            if desc {
                cmp.reverse()
            } else {
                cmp
            }
        });
    }

    let range: &[SortItem] = if start >= 0 && end >= start { &items[start as usize..=end as usize] } else { &[] };
    match storekey {
        None => {
            let per = if getops.is_empty() { 1 } else { getops.len() };
            c.add_reply_array_len(range.len() * per);
            for it in range {
                if getops.is_empty() {
                    c.add_reply_bulk(&it.ele);
                    continue;
                }
                for g in &getops {
                    match lookup_key_by_pattern(s, db, g, &it.ele) {
                        Some(v) => c.add_reply_bulk(&v),
                        None => c.add_reply_null(),
                    }
                }
            }
        }
        Some(dst) => {
            let mut q = Quicklist::new(s.config.list_max_ziplist_size);
            for it in range {
                if getops.is_empty() {
                    q.push(&it.ele, Where::Tail);
                    continue;
                }
                for g in &getops {
                    let v = lookup_key_by_pattern(s, db, g, &it.ele).unwrap_or_default();
                    q.push(&v, Where::Tail);
                }
            }
            let outlen = q.len();
            if outlen > 0 {
                s.set_key(db, &dst, Value::List(Box::new(q)), false);
                s.notify_keyspace_event(NOTIFY_LIST, "sortstore", &dst, db);
                s.dirty += outlen as u64;
            } else if s.db_delete(db, &dst) {
                s.notify_keyspace_event(crate::config::NOTIFY_GENERIC, "del", &dst, db);
                s.dirty += 1;
            }
            c.add_reply_long_long(outlen as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_strtod_is_c_strtod_over_the_whole_string() {
        assert_eq!(sort_strtod(b" 5"), Some(5.0));
        assert_eq!(sort_strtod(b""), Some(0.0));
        assert_eq!(sort_strtod(b"1e3"), Some(1000.0));
        assert_eq!(sort_strtod(b"5 "), None);
        assert_eq!(sort_strtod(b"  "), None);
        assert_eq!(sort_strtod(b"a"), None);
        assert_eq!(sort_strtod(b"nan"), None);
        assert_eq!(sort_strtod(b"1e999"), None);
    }
}
