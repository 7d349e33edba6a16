//! The request parser: RESP2 multibulk and inline commands, as
//! `processMultibulkBuffer` and `processInlineBuffer` in networking.c.
//!
//! 1. A request that starts with `*` is multibulk: `*<n>\r\n` then n times
//!    `$<len>\r\n<bytes>\r\n`. Anything else is an inline command: one line
//!    split like a redis.conf line (quotes and escapes allowed).
//! 2. Parsing is incremental: [`ReqParser`] remembers how many arguments
//!    and which bulk length it still waits for, so a request that arrives in
//!    pieces is never parsed twice.
//! 3. Completed arguments are copied into an [`Argv`] arena that the client
//!    reuses, so a small command costs no allocation once warm.
//! 4. Limits and error texts are Redis 6.2's: at most 1024*1024 arguments,
//!    bulk lengths up to `proto-max-bulk-len`, 64 KiB for an inline line or
//!    an unterminated count. An error is final for the connection: the
//!    server answers it and closes after the reply.
//!
//! As in Redis, the two bytes after a bulk's payload are skipped, not checked.

/// Longest inline request, and longest `*<n>` / `$<n>` line (PROTO_INLINE_MAX_SIZE).
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;
/// Most arguments a multibulk request may announce (Redis 6.2).
pub const PROTO_MAX_MULTIBULK_LEN: i64 = 1024 * 1024;

/// The arguments of one command, stored back to back in one buffer.
#[derive(Default, Debug)]
pub struct Argv {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl Argv {
    pub fn new() -> Argv {
        Argv { buf: Vec::with_capacity(256), ends: Vec::with_capacity(8) }
    }

    /// An empty argv sized for `bytes` of arguments in `args` pieces (a
    /// copy kept for later, such as a command queued by MULTI).
    pub fn new_compact(bytes: usize, args: usize) -> Argv {
        Argv { buf: Vec::with_capacity(bytes), ends: Vec::with_capacity(args) }
    }

    /// Builds an argv from owned pieces (fake clients, tests, MULTI replay).
    pub fn from_slices<T: AsRef<[u8]>>(args: &[T]) -> Argv {
        let mut a = Argv::new();
        for x in args {
            a.push(x.as_ref());
        }
        a
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Argument `i`; an empty slice past the end (callers check arity first).
    #[inline]
    pub fn get(&self, i: usize) -> &[u8] {
        if i >= self.ends.len() {
            return &[];
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.buf[start..self.ends[i]]
    }

    /// Argument `i` as UTF-8 text, lossily (for error messages and logs).
    pub fn get_str(&self, i: usize) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.get(i))
    }

    #[inline]
    pub fn push(&mut self, arg: &[u8]) {
        self.buf.extend_from_slice(arg);
        self.ends.push(self.buf.len());
    }

    #[inline]
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
    }

    /// Replaces argument `i` (used by rename-command free paths and
    /// propagation rewrites, never on the hot path).
    pub fn set(&mut self, i: usize, arg: &[u8]) {
        let mut v: Vec<Vec<u8>> = self.iter().map(|a| a.to_vec()).collect();
        if i < v.len() {
            v[i] = arg.to_vec();
        }
        *self = Argv::from_slices(&v);
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// Bytes held by the arena, for CLIENT LIST's `argv-mem`.
    pub fn mem(&self) -> usize {
        self.buf.len()
    }

    /// Memory reserved by the arena (capacity), for client memory accounting.
    pub fn capacity(&self) -> usize {
        self.buf.capacity() + self.ends.capacity() * std::mem::size_of::<usize>()
    }

    /// Drops reserved memory beyond `keep` bytes (after a huge command).
    /// The arguments already parsed stay: the cron calls this between
    /// reads, possibly in the middle of a command.
    pub fn shrink(&mut self, keep: usize) {
        if self.buf.capacity() > keep && self.buf.len() < keep {
            self.buf.shrink_to(self.buf.len().max(256));
        }
        if self.ends.capacity() > 1024 && self.ends.len() < 1024 {
            self.ends.shrink_to(self.ends.len().max(8));
        }
    }

    fn start_arg(&self) -> usize {
        self.buf.len()
    }

    fn push_byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    fn end_arg(&mut self) {
        self.ends.push(self.buf.len());
    }

    fn truncate_to(&mut self, len: usize, args: usize) {
        self.buf.truncate(len);
        self.ends.truncate(args);
    }
}

/// The kind of request being parsed (`reqtype`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReqType {
    Unknown,
    Inline,
    Multibulk,
}

/// The outcome of one parse step.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole command is in the argv (possibly zero arguments: skip it).
    Complete,
    /// More bytes are needed.
    Incomplete,
    /// A protocol error: the text after `-ERR `.
    Error(String),
}

/// The parser's state between reads of one client.
#[derive(Debug)]
pub struct ReqParser {
    pub reqtype: ReqType,
    multibulklen: i64,
    bulklen: i64,
}

impl Default for ReqParser {
    fn default() -> Self {
        ReqParser { reqtype: ReqType::Unknown, multibulklen: 0, bulklen: -1 }
    }
}

fn find_byte(hay: &[u8], b: u8) -> Option<usize> {
    hay.iter().position(|&c| c == b)
}

impl ReqParser {
    /// Resets for the next command (`resetClient`).
    pub fn reset(&mut self) {
        *self = ReqParser::default();
    }

    /// True while a multibulk request is half read (`multibulklen > 0`).
    pub fn in_progress(&self) -> bool {
        self.multibulklen > 0
    }

    /// Parses from `buf[*pos..]`, advancing `*pos` over consumed bytes and
    /// pushing finished arguments into `argv`.
    pub fn parse(&mut self, buf: &[u8], pos: &mut usize, argv: &mut Argv, max_bulk_len: i64) -> Parsed {
        if self.reqtype == ReqType::Unknown {
            if *pos >= buf.len() {
                return Parsed::Incomplete;
            }
            self.reqtype = if buf[*pos] == b'*' { ReqType::Multibulk } else { ReqType::Inline };
        }
        match self.reqtype {
            ReqType::Inline => self.parse_inline(buf, pos, argv),
            _ => self.parse_multibulk(buf, pos, argv, max_bulk_len),
        }
    }

    fn parse_inline(&mut self, buf: &[u8], pos: &mut usize, argv: &mut Argv) -> Parsed {
        let rest = &buf[*pos..];
        // Redis finds the newline with strchr, which stops at a NUL: a NUL
        // before the newline means the line never ends (until too big).
        let nl = match find_byte(rest, b'\n').filter(|&i| find_byte(&rest[..i], 0).is_none()) {
            Some(i) => i,
            None => {
                if rest.len() > PROTO_INLINE_MAX_SIZE {
                    return Parsed::Error("Protocol error: too big inline request".into());
                }
                return Parsed::Incomplete;
            }
        };
        let mut line = &rest[..nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        if !split_args_into(line, argv) {
            return Parsed::Error("Protocol error: unbalanced quotes in request".into());
        }
        *pos += nl + 1;
        Parsed::Complete
    }

    fn parse_multibulk(&mut self, buf: &[u8], pos: &mut usize, argv: &mut Argv, max_bulk_len: i64) -> Parsed {
        if self.multibulklen == 0 {
            let rest = &buf[*pos..];
            let cr = match find_byte(rest, b'\r') {
                Some(i) => i,
                None => {
                    if rest.len() > PROTO_INLINE_MAX_SIZE {
                        return Parsed::Error("Protocol error: too big mbulk count string".into());
                    }
                    return Parsed::Incomplete;
                }
            };
            // The '\n' after '\r' must be there too.
            if cr + 2 > rest.len() {
                return Parsed::Incomplete;
            }
            let ll = match crate::util::string2ll(&rest[1..cr]) {
                Some(n) if n <= PROTO_MAX_MULTIBULK_LEN => n,
                _ => return Parsed::Error("Protocol error: invalid multibulk length".into()),
            };
            *pos += cr + 2;
            if ll <= 0 {
                return Parsed::Complete;
            }
            self.multibulklen = ll;
            self.bulklen = -1;
        }
        while self.multibulklen > 0 {
            if self.bulklen == -1 {
                let rest = &buf[*pos..];
                let cr = match find_byte(rest, b'\r') {
                    Some(i) => i,
                    None => {
                        if rest.len() > PROTO_INLINE_MAX_SIZE {
                            return Parsed::Error("Protocol error: too big bulk count string".into());
                        }
                        return Parsed::Incomplete;
                    }
                };
                if cr + 2 > rest.len() {
                    return Parsed::Incomplete;
                }
                if rest[0] != b'$' {
                    let got = match rest[0] {
                        b'\r' | b'\n' => ' ',
                        c => c as char,
                    };
                    return Parsed::Error(format!("Protocol error: expected '$', got '{}'", got));
                }
                let ll = match crate::util::string2ll(&rest[1..cr]) {
                    Some(n) if n >= 0 && n <= max_bulk_len => n,
                    _ => return Parsed::Error("Protocol error: invalid bulk length".into()),
                };
                *pos += cr + 2;
                self.bulklen = ll;
            }
            let need = self.bulklen as usize + 2;
            if buf.len() - *pos < need {
                return Parsed::Incomplete;
            }
            argv.push(&buf[*pos..*pos + self.bulklen as usize]);
            *pos += need;
            self.bulklen = -1;
            self.multibulklen -= 1;
        }
        Parsed::Complete
    }

    /// How many more bytes the bulk being read needs, if one is being read
    /// (lets the reader size its next read for big arguments).
    pub fn pending_bulk(&self) -> Option<usize> {
        if self.multibulklen > 0 && self.bulklen >= 0 {
            Some(self.bulklen as usize + 2)
        } else {
            None
        }
    }
}

/// Splits a line into arguments the way Redis's `sdssplitargs` does and
/// appends them to `argv`: whitespace separated, "double quotes" with
/// `\n \r \t \b \a \\ \"` and `\xHH` escapes, 'single quotes' with only
/// `\'`. A closing quote must be followed by whitespace or the end. On
/// unbalanced quotes returns false and leaves `argv` as it was.
/// C's `isspace` in the C locale: space, \t, \n, \v, \f, \r.
#[inline]
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

pub fn split_args_into(line: &[u8], argv: &mut Argv) -> bool {
    let (save_len, save_args) = (argv.start_arg(), argv.len());
    let n = line.len();
    let mut i = 0;
    loop {
        while i < n && is_c_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return true;
        }
        let (mut inq, mut insq) = (false, false);
        loop {
            if inq {
                if i >= n {
                    argv.truncate_to(save_len, save_args);
                    return false;
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && line[i + 2].is_ascii_hexdigit()
                    && line[i + 3].is_ascii_hexdigit()
                {
                    let h = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                    argv.push_byte(h(line[i + 2]) * 16 + h(line[i + 3]));
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    argv.push_byte(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        c => c,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !is_c_space(line[i + 1]) {
                        argv.truncate_to(save_len, save_args);
                        return false;
                    }
                    i += 1;
                    break;
                } else {
                    argv.push_byte(c);
                }
            } else if insq {
                if i >= n {
                    argv.truncate_to(save_len, save_args);
                    return false;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    argv.push_byte(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !is_c_space(line[i + 1]) {
                        argv.truncate_to(save_len, save_args);
                        return false;
                    }
                    i += 1;
                    break;
                } else {
                    argv.push_byte(c);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | b'\0' => {
                        i += 1;
                        break;
                    }
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => argv.push_byte(c),
                }
            }
            i += 1;
        }
        argv.end_arg();
    }
}

/// `sdssplitargs` returning owned arguments; `None` on unbalanced quotes.
/// Used for config files and other cold paths.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut a = Argv::new();
    if !split_args_into(line, &mut a) {
        return None;
    }
    Some(a.iter().map(|x| x.to_vec()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> (Vec<Vec<Vec<u8>>>, Option<String>) {
        let mut p = ReqParser::default();
        let mut argv = Argv::new();
        let mut pos = 0;
        let mut cmds = Vec::new();
        loop {
            match p.parse(input, &mut pos, &mut argv, 512 * 1024 * 1024) {
                Parsed::Complete => {
                    cmds.push(argv.iter().map(|a| a.to_vec()).collect());
                    argv.clear();
                    p.reset();
                    if pos >= input.len() {
                        return (cmds, None);
                    }
                }
                Parsed::Incomplete => return (cmds, None),
                Parsed::Error(e) => return (cmds, Some(e)),
            }
        }
    }

    #[test]
    fn multibulk_and_inline() {
        let (c, e) = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nset a \"b c\"\n");
        assert!(e.is_none());
        assert_eq!(c.len(), 3);
        assert_eq!(c[0], vec![b"GET".to_vec(), b"k".to_vec()]);
        assert_eq!(c[1], vec![b"PING".to_vec()]);
        assert_eq!(c[2], vec![b"set".to_vec(), b"a".to_vec(), b"b c".to_vec()]);
    }

    #[test]
    fn byte_by_byte_equals_whole() {
        let input = b"*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$10\r\n0123456789\r\n";
        let mut p = ReqParser::default();
        let mut argv = Argv::new();
        let mut pos = 0;
        let mut res = Parsed::Incomplete;
        for end in 1..=input.len() {
            res = p.parse(&input[..end], &mut pos, &mut argv, 1 << 29);
            if end < input.len() {
                assert_eq!(res, Parsed::Incomplete, "at {}", end);
            }
        }
        assert_eq!(res, Parsed::Complete);
        assert_eq!(argv.get(2), b"0123456789");
    }

    #[test]
    fn errors_match_redis() {
        assert_eq!(parse_all(b"*3000000000\r\n").1.unwrap(), "Protocol error: invalid multibulk length");
        assert_eq!(parse_all(b"*20000000\r\n").1.unwrap(), "Protocol error: invalid multibulk length");
        assert_eq!(parse_all(b"*abc\r\n").1.unwrap(), "Protocol error: invalid multibulk length");
        assert_eq!(parse_all(b"*1\r\nfoo\r\n").1.unwrap(), "Protocol error: expected '$', got 'f'");
        assert_eq!(parse_all(b"*1\r\n$-1\r\n").1.unwrap(), "Protocol error: invalid bulk length");
        assert_eq!(parse_all(b"*1\r\n$2000000000\r\n").1.unwrap(), "Protocol error: invalid bulk length");
        assert_eq!(parse_all(b"set \"a\n").1.unwrap(), "Protocol error: unbalanced quotes in request");
        let big = vec![b'a'; PROTO_INLINE_MAX_SIZE + 1];
        assert_eq!(parse_all(&big).1.unwrap(), "Protocol error: too big inline request");
        let mut mb = b"*".to_vec();
        mb.extend(vec![b'1'; PROTO_INLINE_MAX_SIZE + 1]);
        assert_eq!(parse_all(&mb).1.unwrap(), "Protocol error: too big mbulk count string");
        let mut bb = b"*1\r\n$".to_vec();
        bb.extend(vec![b'1'; PROTO_INLINE_MAX_SIZE + 1]);
        assert_eq!(parse_all(&bb).1.unwrap(), "Protocol error: too big bulk count string");
    }

    #[test]
    fn empty_requests_are_skipped() {
        let (c, e) = parse_all(b"*0\r\n*-1\r\n\r\n");
        assert!(e.is_none());
        assert!(c.iter().all(|a| a.is_empty()));
    }

    #[test]
    fn split_args_quotes() {
        let v = split_args(b"set \"a b\" 'c d' e\\x").unwrap();
        assert_eq!(v, vec![b"set".to_vec(), b"a b".to_vec(), b"c d".to_vec(), b"e\\x".to_vec()]);
        assert_eq!(split_args(b"\"\\x41\\n\"").unwrap(), vec![b"A\n".to_vec()]);
        assert!(split_args(b"\"unbalanced").is_none());
        assert!(split_args(b"\"a\"b").is_none());
        assert!(split_args(b"'a'b").is_none());
        assert_eq!(split_args(b"   ").unwrap().len(), 0);
        assert_eq!(split_args(b"''").unwrap(), vec![Vec::<u8>::new()]);
        assert_eq!(split_args(b"'it\\'s'").unwrap(), vec![b"it's".to_vec()]);
    }

    #[test]
    fn failed_split_leaves_argv_untouched() {
        let mut a = Argv::from_slices(&[b"x"]);
        assert!(!split_args_into(b"a \"b", &mut a));
        assert_eq!(a.len(), 1);
        assert_eq!(a.get(0), b"x");
    }
}
