//! Candidate finding per entity.
//!
//! The `regex` crate has no look-around, so each regex only describes the
//! shape of an entity; context (what touches the match) and semantics
//! (checksums, date-likeness, address parsing) are checked in code. All
//! classes use `[0-9]`/`[A-Za-z]` rather than `\d`/`\w` because those are
//! Unicode-aware and would accept e.g. Arabic-Indic digits.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;

use super::PiiEntity;
use super::checksums::{iban_length_plausible, iban_valid, luhn_valid};

/// A candidate match in UTF-8 byte offsets, before overlap resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub entity: PiiEntity,
    pub start: usize,
    pub end: usize,
}

/// Appends every accepted candidate of `entity` in `text` to `out`.
pub(crate) fn find(entity: PiiEntity, text: &str, out: &mut Vec<Candidate>) {
    let mut push = |start, end| out.push(Candidate { entity, start, end });
    match entity {
        PiiEntity::Email => scan(&EMAIL, text, Resume::AfterMatch, accept_email, &mut push),
        PiiEntity::Phone => scan(&PHONE, text, Resume::NextChar, accept_phone, &mut push),
        PiiEntity::Url => scan(&URL, text, Resume::AfterMatch, accept_url, &mut push),
        PiiEntity::IpAddress => {
            scan(&IPV4, text, Resume::NextChar, accept_ipv4, &mut push);
            scan(&IPV6, text, Resume::AfterMatch, accept_ipv6, &mut push);
        }
        PiiEntity::CreditCard => scan(
            &CREDIT_CARD,
            text,
            Resume::NextChar,
            accept_credit_card,
            &mut push,
        ),
        PiiEntity::Iban => scan(&IBAN, text, Resume::NextChar, accept_iban, &mut push),
    }
}

// --- Regexes ----------------------------------------------------------------

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in PII pattern must compile")
}

/// Local part: dot-separated atoms (no leading, trailing or doubled dots).
/// Latin letters beyond ASCII are allowed (RFC 6531) so `josé.ana@...` is
/// masked whole rather than as `ana@...`; other scripts are not, because
/// CJK text has no spaces and would glue preceding words to the address.
/// Domain: hostname labels that neither start nor end with a hyphen, then an
/// alphabetic TLD, so the match can never end on a dot.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"[\p{Latin}\p{M}0-9_%+\-]+(?:\.[\p{Latin}\p{M}0-9_%+\-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,63}",
    )
});

/// Alternatives, in leftmost-first priority order:
/// 1. `+CC` then separated groups, optionally with a parenthesised area or
///    trunk code (`+49 (0)30 123456`, `+1 (415) 555-0100`);
/// 2. `+` and a compact E.164 number;
/// 3. national number with a parenthesised area code (`(415) 555-0100`);
/// 4. national number of separated groups (`415-555-0100`).
///
/// Group sizes are bounded so a rejected match is cheap to retry from the
/// next character; the digit total is checked in code.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"\+[0-9]{1,5}(?:[ .\-]?\([0-9]{1,4}\)[ .\-]?[0-9]{1,12}|[ .\-][0-9]{1,12})(?:[ .\-][0-9]{1,12}){0,6}",
        r"|\+[0-9]{7,15}",
        r"|\([0-9]{2,5}\)[ .\-]?[0-9]{2,8}(?:[ .\-][0-9]{2,8}){0,4}",
        r"|[0-9]{1,5}(?:[ .\-][0-9]{2,8}){1,5}",
    ))
});

/// Everything up to whitespace or a character that cannot appear unescaped in
/// a URL and usually delimits one in prose or markup: ASCII and typographic
/// quotes, angle brackets, backticks, and full-width CJK punctuation (CJK text
/// puts the next sentence right after a URL without a space). Other non-ASCII
/// letters stay allowed for IRIs; trailing ASCII punctuation is trimmed in code.
static URL: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r#"(?i)(?:(?:https?|ftp)://|www\.)[^\s<>"'`“”‘’«»‹›「」『』【】（）［］｛｝〈〉《》，。、；：！？]+"#,
    )
});

static IPV4: LazyLock<Regex> =
    LazyLock::new(|| compile(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"));

/// A maximal run of hex digits, dots and colons containing a colon; the
/// structure (and embedded IPv4) is left to `Ipv6Addr` parsing.
static IPV6: LazyLock<Regex> = LazyLock::new(|| compile(r"[0-9A-Fa-f.]*:[0-9A-Fa-f.:]*"));

/// A compact 13..=19 digit number, or groups separated by single spaces or
/// hyphens where only the last group may be short (`4222 2222 2222 2`).
static CREDIT_CARD: LazyLock<Regex> =
    LazyLock::new(|| compile(r"[0-9]{13,19}|[0-9]{4,6}(?:[ \-][0-9]{4,6}){1,3}[ \-][0-9]{1,6}"));

/// Compact, or printed in groups of four with a shorter last group. The
/// grouped form may swallow a following short word (`... 00 and`), which
/// `accept_iban` trims back off. Explicit ASCII classes instead of `(?i)`,
/// whose Unicode folding would also admit `K` (Kelvin sign) and `ſ`.
static IBAN: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"[A-Za-z]{2}[0-9]{2}(?:[A-Za-z0-9]{11,30}|(?: [A-Za-z0-9]{4}){2,7}(?: [A-Za-z0-9]{1,4})?)",
    )
});

// --- Scanning ---------------------------------------------------------------

/// Where to continue after a rejected match.
#[derive(Clone, Copy)]
enum Resume {
    /// A rejected match cannot contain a valid one (the validator already
    /// tried its trimmed forms), so skip it entirely.
    AfterMatch,
    /// Leftmost-first matching may have started at a position that is then
    /// rejected (e.g. inside a longer number) while a valid match starts a
    /// little later; retry one char further. Only used with length-bounded
    /// patterns so this stays linear in the text length.
    NextChar,
}

fn scan(
    re: &Regex,
    text: &str,
    resume: Resume,
    accept: fn(&str, usize, usize) -> Option<(usize, usize)>,
    push: &mut impl FnMut(usize, usize),
) {
    let mut pos = 0;
    while pos < text.len() {
        let Some(m) = re.find_at(text, pos) else {
            break;
        };
        match accept(text, m.start(), m.end()) {
            Some((start, end)) => {
                push(start, end);
                pos = end;
            }
            None => {
                pos = match resume {
                    Resume::AfterMatch => m.end(),
                    Resume::NextChar => next_boundary(text, m.start()),
                };
            }
        }
        // Matches are never empty, but never loop forever if one is.
        if pos <= m.start() {
            pos = next_boundary(text, m.start());
        }
    }
}

fn next_boundary(text: &str, i: usize) -> usize {
    i + text[i..].chars().next().map_or(1, char::len_utf8)
}

// --- Context helpers --------------------------------------------------------

/// Letters and digits that glue a match into a longer token. Scripts written
/// without spaces (CJK, from U+2E80 on) routinely put PII right next to
/// words, so their characters do not count.
fn is_word(c: char) -> bool {
    c == '_' || (c.is_alphanumeric() && c < '\u{2E80}')
}

/// The two chars before `i`, nearest first.
fn before(text: &str, i: usize) -> (Option<char>, Option<char>) {
    let mut it = text[..i].chars().rev();
    (it.next(), it.next())
}

/// The two chars from `i` on, nearest first.
fn after(text: &str, i: usize) -> (Option<char>, Option<char>) {
    let mut it = text[i..].chars();
    (it.next(), it.next())
}

fn is_digit(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_digit())
}

fn is_word_opt(c: Option<char>) -> bool {
    c.is_some_and(is_word)
}

/// True when the digits at `i` continue a longer number on the left: a digit
/// or letter touches them, or a `.`/`-` joins them to a digit
/// (`1.2.3.4.5`, `12-415-...`).
fn number_continues_left(text: &str, i: usize) -> bool {
    match before(text, i) {
        (Some(c), _) if is_word(c) => true,
        (Some('.' | '-'), prev) => is_digit(prev),
        _ => false,
    }
}

fn number_continues_right(text: &str, i: usize) -> bool {
    match after(text, i) {
        (Some(c), _) if is_word(c) => true,
        (Some('.' | '-'), next) => is_digit(next),
        _ => false,
    }
}

// --- Validators -------------------------------------------------------------

fn accept_email(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    // A letter, digit, hyphen or `@` right after the TLD means the regex
    // stopped inside a longer token (`a@b.com1`, `a@b.com-x`); a dot followed
    // by a word char means the real TLD was a single letter (`a@b.com.x`).
    let ok = match after(text, end) {
        (Some(c), _) if is_word(c) || c == '-' || c == '@' => false,
        (Some('.'), next) => !is_word_opt(next),
        _ => true,
    };
    ok.then_some((start, end))
}

fn accept_phone(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let m = &text[start..end];
    let international = m.starts_with('+');
    let left_joined = match before(text, start) {
        // `#123-4567-890` is an order or ticket number.
        (Some(c), _) if is_word(c) || c == '+' || c == '#' => true,
        (Some('-' | '/' | '_'), prev) => is_word_opt(prev),
        (Some('.'), prev) => is_digit(prev),
        // A national number right after a space-separated digit group is
        // the tail of a longer rejected run (`PT50 0002 0123 1234 ...`).
        (Some(' '), prev) => !international && is_digit(prev),
        _ => false,
    };
    let right_joined = match after(text, end) {
        (Some(c), _) if is_word(c) => true,
        (Some('-' | '/' | '_'), next) => is_word_opt(next),
        (Some('.'), next) => is_digit(next),
        _ => false,
    };
    if left_joined || right_joined {
        return None;
    }
    let digits = m.bytes().filter(u8::is_ascii_digit).count();
    if !(7..=15).contains(&digits) {
        return None;
    }
    if international {
        return Some((start, end));
    }
    if let Some(close) = m.find(')') {
        // An area code needs a real subscriber number after it, otherwise
        // citations like "Smith (2019) 123" would qualify.
        let rest = m[close..].bytes().filter(u8::is_ascii_digit).count();
        return (rest >= 6).then_some((start, end));
    }
    national_groups_plausible(m).then_some((start, end))
}

/// Rejects separated digit groups that are far more likely to be dates,
/// amounts or IPv4-like numbers than national phone numbers.
fn national_groups_plausible(m: &str) -> bool {
    let groups: Vec<&str> = m
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    let seps: Vec<char> = m.chars().filter(|c| !c.is_ascii_digit()).collect();
    let uniform = seps.windows(2).all(|w| w[0] == w[1]);
    let sep = seps[0];
    let digits: usize = groups.iter().map(|g| g.len()).sum();

    // Two groups only look like a phone with a trunk prefix (`030 1234567`)
    // or as a North American local number (`555-0100`).
    let trunk = groups[0].starts_with('0') && digits >= 9;
    let nanp_local = sep == '-' && groups[0].len() == 3 && groups[1].len() == 4;
    if groups.len() == 2 && !(trunk || nanp_local) {
        return false;
    }
    // US social security numbers share the digit count but not the shape.
    if groups.len() == 3 && sep == '-' && uniform && groups.iter().map(|g| g.len()).eq([3, 2, 4]) {
        return false;
    }
    // A punctuated date anywhere in the run (`2024-01-15 10` cut from a
    // timestamp), or a whole space-separated date (`15 01 2024`). Each
    // separator is exactly one char, so `seps[i]` sits between groups i, i+1.
    let dated = (0..groups.len().saturating_sub(2)).any(|i| {
        let punctuated = seps[i] == seps[i + 1] && seps[i] != ' ';
        (punctuated || groups.len() == 3)
            && looks_like_date(groups[i], groups[i + 1], groups[i + 2])
    });
    if dated {
        return false;
    }
    // Thousands grouping: `1 000 000`, `12.345.678`, or the `000 000 000`
    // tail of a longer one. Space-grouped `612 345 678` stays a phone.
    if uniform
        && groups[1..].iter().all(|g| g.len() == 3)
        && (groups[0].len() < 3 || sep == '.' || groups[0].starts_with('0'))
    {
        return false;
    }
    // Decimal amount after other grouping: `12 345 678.90`.
    if !uniform && seps.last() == Some(&'.') && groups.last().is_some_and(|g| g.len() <= 2) {
        return false;
    }
    // Dotted quads are IPv4 addresses (valid or not), never phones.
    if uniform && sep == '.' && groups.len() == 4 && groups.iter().all(|g| g.len() <= 3) {
        return false;
    }
    true
}

/// `YYYY-MM-DD` or `DD.MM.YYYY`/`MM-DD-YYYY` with plausible values.
fn looks_like_date(a: &str, b: &str, c: &str) -> bool {
    let num = |s: &str| s.parse::<u32>().unwrap_or(u32::MAX);
    let day_month = |x: &str, y: &str| {
        x.len() <= 2
            && y.len() <= 2
            && (1..=31).contains(&num(x))
            && (1..=31).contains(&num(y))
            && (num(x) <= 12 || num(y) <= 12)
    };
    let year = |s: &str| s.len() == 4 && (1000..=2999).contains(&num(s));
    (year(a) && day_month(b, c)) || (year(c) && day_month(a, b))
}

fn accept_url(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let is_www = text[start..end]
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("www."));
    let left_joined = match before(text, start) {
        (Some(c), _) if is_word(c) => true,
        // `user@www.example.com` is an email, `x.www.y` a longer hostname.
        (Some('.' | '-' | '@'), _) => is_www,
        _ => false,
    };
    if left_joined {
        return None;
    }
    let end = start + trim_url_tail(&text[start..end]);
    let url = &text[start..end];
    let rest = if is_www {
        url
    } else {
        &url[url.find("://")? + 3..]
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if is_www && authority.contains('@') {
        return None;
    }
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host_valid(host_port, is_www).then_some((start, end))
}

/// Length of `url` after dropping punctuation that ends the surrounding
/// sentence rather than the URL; closing brackets only go when unbalanced,
/// so `https://en.wikipedia.org/wiki/Rust_(language)` keeps its `)`.
fn trim_url_tail(url: &str) -> usize {
    let count = |c: char| url.chars().filter(|&x| x == c).count();
    let (open_paren, mut close_paren) = (count('('), count(')'));
    let (open_bracket, mut close_bracket) = (count('['), count(']'));
    let mut end = url.len();
    while let Some(c) = url[..end].chars().next_back() {
        match c {
            '.' | ',' | ';' | ':' | '!' | '?' => {}
            ')' if close_paren > open_paren => close_paren -= 1,
            ']' if close_bracket > open_bracket => close_bracket -= 1,
            _ => break,
        }
        end -= c.len_utf8();
    }
    end
}

/// Host (with optional `:port`) of a URL. Scheme URLs accept any hostname or
/// bracketed IPv6 literal; bare `www.` needs a real domain after it.
fn host_valid(host_port: &str, is_www: bool) -> bool {
    if !is_www && host_port.starts_with('[') {
        return host_port.contains(']');
    }
    let host = host_port.split_once(':').map_or(host_port, |(h, _)| h);
    let labels: Vec<&str> = host.split('.').collect();
    let labels_ok = labels
        .iter()
        .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'));
    if !labels_ok {
        return false;
    }
    if is_www {
        let tld = labels[labels.len() - 1];
        labels.len() >= 3 && tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic)
    } else {
        true
    }
}

fn accept_ipv4(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    if number_continues_left(text, start) || number_continues_right(text, end) {
        return None;
    }
    // std rejects octets above 255 and leading zeros (octal ambiguity).
    text[start..end]
        .parse::<Ipv4Addr>()
        .is_ok()
        .then_some((start, end))
}

fn accept_ipv6(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    if is_word_opt(before(text, start).0) || is_word_opt(after(text, end).0) {
        return None;
    }
    let (mut s, mut e) = (start, end);
    // Sentence dots and a single label colon (`IP:` / `addr 2001:db8::1:`)
    // are not part of the address; a double colon is.
    while text[s..e].starts_with('.') {
        s += 1;
    }
    while text[s..e].ends_with('.') {
        e -= 1;
    }
    if text[s..e].starts_with(':') && !text[s..e].starts_with("::") {
        s += 1;
    }
    if text[s..e].ends_with(':') && !text[s..e].ends_with("::") {
        e -= 1;
    }
    let cand = &text[s..e];
    // Require a decimal digit so code paths like `a::b` are not addresses.
    let plausible = cand.matches(':').count() >= 2 && cand.bytes().any(|b| b.is_ascii_digit());
    (plausible && cand.parse::<Ipv6Addr>().is_ok()).then_some((s, e))
}

fn accept_credit_card(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let m = &text[start..end];
    let space_grouped = m.contains(' ');
    // Real cards are printed with one kind of separator.
    if space_grouped && m.contains('-') {
        return None;
    }
    // Also reject when the number is one group of a longer space-grouped run.
    let left_joined = number_continues_left(text, start)
        || matches!(before(text, start), (Some('+'), _))
        || (space_grouped && matches!(before(text, start), (Some(' '), p) if is_digit(p)));
    let right_joined = number_continues_right(text, end)
        || (space_grouped && matches!(after(text, end), (Some(' '), n) if is_digit(n)));
    if left_joined || right_joined {
        return None;
    }
    let digits: Vec<u8> = m.bytes().filter(u8::is_ascii_digit).collect();
    // No card network issues numbers starting with 0; this drops most
    // zero-padded references and `00`-prefixed phone numbers.
    let ok = (13..=19).contains(&digits.len()) && digits[0] != b'0' && luhn_valid(&digits);
    ok.then_some((start, end))
}

fn accept_iban(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    if is_word_opt(before(text, start).0) {
        return None;
    }
    let m = &text[start..end];
    let country = [
        m.as_bytes()[0].to_ascii_uppercase(),
        m.as_bytes()[1].to_ascii_uppercase(),
    ];
    // The grouped form may have swallowed a trailing word; try the full
    // match first, then drop trailing groups one at a time. Only cuts with a
    // possible length for the country are worth checksumming.
    let mut cut = m.len();
    loop {
        let cand = &m[..cut];
        let compact_len = cut - cand.bytes().filter(|&b| b == b' ').count();
        if iban_length_plausible(country, compact_len)
            && !is_word_opt(after(text, start + cut).0)
            && iban_candidate_valid(cand)
        {
            return Some((start, start + cut));
        }
        cut = cand.rfind(' ')?;
    }
}

fn iban_candidate_valid(cand: &str) -> bool {
    let compact: String = cand.chars().filter(|&c| c != ' ').collect();
    // Real IBANs are printed in one letter case; mixed case is a token/hash.
    let has_upper = compact.bytes().any(|b| b.is_ascii_uppercase());
    let has_lower = compact.bytes().any(|b| b.is_ascii_lowercase());
    // Every registered BBAN is mostly digits (account numbers); this keeps
    // `ab12 this that more` from reaching the 1-in-97 checksum lottery.
    let bban = &compact.as_bytes()[4..];
    let bban_digits = bban.iter().filter(|b| b.is_ascii_digit()).count();
    !(has_upper && has_lower) && bban_digits * 2 >= bban.len() && iban_valid(&compact)
}

#[cfg(test)]
#[path = "patterns_tests.rs"]
mod tests;
