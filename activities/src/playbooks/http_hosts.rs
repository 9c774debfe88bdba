//! The hosts a tenant's playbooks may call with `http_request`. Nothing is allowed
//! until a tenant manager adds a pattern: an exact host (`api.example.com`), a
//! wildcard over subdomains (`*.example.com`: any name below it, not the apex), an
//! IP address (`127.0.0.1`, `[::1]`), each optionally with a port. A pattern
//! without a port allows only the scheme's default port (80 or 443).
//!
//! The URL's host is judged as the URL parser reads it, the same parser the HTTP
//! client connects by, so `http://api.example.com@evil.com/` is a call to
//! `evil.com`. The host *name* is checked, not the address it resolves to: DNS
//! rebinding is not prevented.

use crate::audit::{self, AuditEntry};
use crate::db::{DbError, TenantTx};
use crate::pagination::{Page, PageRequest};
use crate::records::RecordError;
use crate::schema::playbook_http_hosts;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Url;
use serde::Serialize;
use std::net::{Ipv4Addr, Ipv6Addr};
use uuid::Uuid;

/// The most patterns a tenant may hold; each call is matched against all of them.
pub const MAX_HOSTS: i64 = 200;

/// Longest pattern, as text (the longest DNS name).
pub const MAX_PATTERN_CHARS: usize = 253;

/// Why a pattern is refused; the message completes "pattern …".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// Nothing given.
    #[error("is required")]
    Empty,
    /// Longer than a DNS name may be.
    #[error("must be at most 253 characters")]
    TooLong,
    /// Contains white space.
    #[error("must not contain spaces")]
    Spaces,
    /// `https://…`.
    #[error("must be a host without a scheme: write api.example.com, not https://api.example.com")]
    Scheme,
    /// `/`, `?` or `#`.
    #[error("must be a host without a path, query or fragment")]
    Path,
    /// `user@host`.
    #[error("must be a host without user information (@)")]
    UserInfo,
    /// Not ASCII.
    #[error("must be ASCII: write an internationalized name in its xn-- form")]
    NotAscii,
    /// A port that is not 1 to 65535.
    #[error("port must be a number between 1 and 65535")]
    Port,
    /// A bare IPv6 address, or brackets around something else.
    #[error("an IPv6 address goes in brackets, e.g. [2001:db8::1]:8443")]
    Ipv6,
    /// `*` anywhere but as the whole first label, or over an address or a top-level
    /// domain.
    #[error(
        "a wildcard is allowed only as the whole first label of a name with at least two \
         more labels, e.g. *.example.com"
    )]
    Wildcard,
    /// A label of the name that DNS does not allow.
    #[error(
        "label {0:?} is not valid: labels are 1 to 63 letters, digits or hyphens, \
         not starting or ending with a hyphen"
    )]
    Label(String),
    /// Ends in a number but is not an IPv4 address.
    #[error("{0:?} is not a valid IPv4 address")]
    Ipv4(String),
}

/// A parsed allow-list pattern; its `Display` is the stored, normalized form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPattern {
    host: PatternHost,
    port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PatternHost {
    /// Exactly this name (lower case).
    Name(String),
    /// Any name ending in `.<this>`, not this name itself.
    Subdomains(String),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.host {
            PatternHost::Name(name) => write!(f, "{name}")?,
            PatternHost::Subdomains(base) => write!(f, "*.{base}")?,
            PatternHost::Ipv4(address) => write!(f, "{address}")?,
            PatternHost::Ipv6(address) => write!(f, "[{address}]")?,
        }
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

impl std::str::FromStr for HostPattern {
    type Err = PatternError;

    /// Parses a pattern; surrounding white space is ignored, case is not kept.
    fn from_str(text: &str) -> Result<HostPattern, PatternError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(PatternError::Empty);
        }
        if text.chars().count() > MAX_PATTERN_CHARS {
            return Err(PatternError::TooLong);
        }
        if text.chars().any(char::is_whitespace) {
            return Err(PatternError::Spaces);
        }
        if text.contains("://") {
            return Err(PatternError::Scheme);
        }
        if text.contains(['/', '\\', '?', '#']) {
            return Err(PatternError::Path);
        }
        if text.contains('@') {
            return Err(PatternError::UserInfo);
        }
        if !text.is_ascii() {
            return Err(PatternError::NotAscii);
        }
        let lower = text.to_ascii_lowercase();
        let (host, port) = split_port(&lower)?;
        Ok(HostPattern {
            host: parse_host(host)?,
            port,
        })
    }
}

/// `host[:port]` or `[v6][:port]`, split.
fn split_port(text: &str) -> Result<(&str, Option<u16>), PatternError> {
    let (host, port) = if text.starts_with('[') {
        let end = text.find(']').ok_or(PatternError::Ipv6)?;
        let (host, rest) = text.split_at(end + 1);
        match rest {
            "" => (host, None),
            _ => (
                host,
                Some(rest.strip_prefix(':').ok_or(PatternError::Ipv6)?),
            ),
        }
    } else {
        match text.split_once(':') {
            None => (text, None),
            Some((_, rest)) if rest.contains(':') => return Err(PatternError::Ipv6),
            Some((host, port)) => (host, Some(port)),
        }
    };
    let port = match port {
        None => None,
        Some(digits) => {
            let number = (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.parse::<u16>().ok())
                .flatten()
                .filter(|&p| p != 0)
                .ok_or(PatternError::Port)?;
            Some(number)
        }
    };
    Ok((host, port))
}

fn parse_host(host: &str) -> Result<PatternHost, PatternError> {
    if let Some(inner) = host.strip_prefix('[') {
        let address = inner.strip_suffix(']').ok_or(PatternError::Ipv6)?;
        return address
            .parse::<Ipv6Addr>()
            .map(PatternHost::Ipv6)
            .map_err(|_| PatternError::Ipv6);
    }
    if let Some(base) = host.strip_prefix("*.") {
        if base.contains('*') || base.split('.').count() < 2 || ends_in_number(base) {
            return Err(PatternError::Wildcard);
        }
        check_labels(base)?;
        return Ok(PatternHost::Subdomains(base.to_owned()));
    }
    if host.contains('*') {
        return Err(PatternError::Wildcard);
    }
    if ends_in_number(host) {
        // URL parsers read such a host as an IPv4 address.
        return host
            .parse::<Ipv4Addr>()
            .map(PatternHost::Ipv4)
            .map_err(|_| PatternError::Ipv4(host.to_owned()));
    }
    check_labels(host)?;
    Ok(PatternHost::Name(host.to_owned()))
}

fn ends_in_number(name: &str) -> bool {
    name.rsplit('.')
        .next()
        .is_some_and(|last| !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

fn check_labels(name: &str) -> Result<(), PatternError> {
    for label in name.split('.') {
        let valid = (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !valid {
            return Err(PatternError::Label(label.to_owned()));
        }
    }
    Ok(())
}

impl HostPattern {
    /// Whether a call to `url` goes to a host and port this pattern allows.
    pub fn matches(&self, url: &Url) -> bool {
        let port_matches = match self.port {
            Some(port) => url.port_or_known_default() == Some(port),
            // The parser drops a port equal to the scheme's default.
            None => url.port().is_none(),
        };
        port_matches
            && match (&self.host, called_host(url)) {
                (PatternHost::Name(name), Some(CalledHost::Name(called))) => called == name,
                (PatternHost::Subdomains(base), Some(CalledHost::Name(called))) => called
                    .strip_suffix(base.as_str())
                    .is_some_and(|below| below.len() > 1 && below.ends_with('.')),
                (PatternHost::Ipv4(address), Some(CalledHost::Ipv4(called))) => *address == called,
                (PatternHost::Ipv6(address), Some(CalledHost::Ipv6(called))) => *address == called,
                _ => false,
            }
    }
}

/// The host a URL calls, as the URL parser normalized it (names in lower case,
/// IPv4 in dotted decimal however it was written, IPv6 in brackets).
enum CalledHost<'a> {
    Name(&'a str),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
}

fn called_host(url: &Url) -> Option<CalledHost<'_>> {
    let host = url.host_str()?;
    if let Some(inner) = host.strip_prefix('[') {
        return inner
            .strip_suffix(']')
            .and_then(|a| a.parse().ok())
            .map(CalledHost::Ipv6);
    }
    // A name ending in a number is always parsed as an address, so a host that
    // reads as dotted decimal is one.
    Some(match host.parse::<Ipv4Addr>() {
        Ok(address) => CalledHost::Ipv4(address),
        Err(_) => CalledHost::Name(without_root(host)),
    })
}

/// `api.example.com.` and `api.example.com` are the same DNS name.
fn without_root(domain: &str) -> &str {
    domain.strip_suffix('.').unwrap_or(domain)
}

/// Whether any of `patterns` allows a call to `url`.
pub fn allows(patterns: &[HostPattern], url: &Url) -> bool {
    patterns.iter().any(|p| p.matches(url))
}

/// The host (and port, when not the scheme's default) of `url`, as a pattern
/// allowing it would be written.
pub fn host_of(url: &Url) -> String {
    let host = without_root(url.host_str().unwrap_or_default());
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// An allowed pattern as stored.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = playbook_http_hosts)]
pub struct HttpHost {
    /// Id.
    pub id: Uuid,
    /// The pattern, normalized (lower case), e.g. `*.example.com` or `127.0.0.1:8099`.
    pub pattern: String,
    /// Who added it.
    pub created_by: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// The tenant's patterns, newest first.
pub async fn list_hosts(tx: &mut TenantTx, page: PageRequest) -> Result<Page<HttpHost>, DbError> {
    let mut query = playbook_http_hosts::table
        .select(HttpHost::as_select())
        .order(playbook_http_hosts::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(playbook_http_hosts::id.lt(after));
    }
    let rows = query.load(tx.conn()).await?;
    Ok(Page::from_overfetch(rows, page.limit, |h| h.id))
}

/// Whether the tenant allows a call to `url`.
pub async fn is_allowed(tx: &mut TenantTx, url: &Url) -> Result<bool, DbError> {
    let stored: Vec<String> = playbook_http_hosts::table
        .select(playbook_http_hosts::pattern)
        .load(tx.conn())
        .await?;
    // Stored patterns were parsed when added; one that no longer parses allows nothing.
    let patterns: Vec<HostPattern> = stored.iter().filter_map(|p| p.parse().ok()).collect();
    Ok(allows(&patterns, url))
}

/// Allows `pattern` (normalized before it is stored), audited.
pub async fn add_host(
    tx: &mut TenantTx,
    pattern: &str,
    actor: Option<Uuid>,
) -> Result<HttpHost, RecordError> {
    let parsed: HostPattern = pattern
        .parse()
        .map_err(|e: PatternError| RecordError::field("pattern", e.to_string()))?;
    let held: i64 = playbook_http_hosts::table
        .count()
        .get_result(tx.conn())
        .await?;
    if held >= MAX_HOSTS {
        return Err(RecordError::Conflict(format!(
            "the tenant already allows {MAX_HOSTS} HTTP host patterns: remove one first"
        )));
    }
    let normalized = parsed.to_string();
    let added: Option<HttpHost> = diesel::insert_into(playbook_http_hosts::table)
        .values((
            playbook_http_hosts::tenant.eq(tx.tenant().0),
            playbook_http_hosts::id.eq(Uuid::now_v7()),
            playbook_http_hosts::pattern.eq(&normalized),
            playbook_http_hosts::created_by.eq(actor),
        ))
        .on_conflict_do_nothing()
        .returning(HttpHost::as_returning())
        .get_result(tx.conn())
        .await
        .optional()?;
    let added = added.ok_or_else(|| {
        RecordError::Conflict(format!("{normalized} is already on the HTTP allow-list"))
    })?;
    record(tx, actor, "playbook.http_host_added", &added).await?;
    Ok(added)
}

/// Removes the pattern `id`, audited; calls it allowed are refused from now on.
pub async fn remove_host(
    tx: &mut TenantTx,
    id: Uuid,
    actor: Option<Uuid>,
) -> Result<HttpHost, RecordError> {
    let removed: HttpHost =
        diesel::delete(playbook_http_hosts::table.filter(playbook_http_hosts::id.eq(id)))
            .returning(HttpHost::as_returning())
            .get_result(tx.conn())
            .await
            .optional()?
            .ok_or(RecordError::NotFound("HTTP host"))?;
    record(tx, actor, "playbook.http_host_removed", &removed).await?;
    Ok(removed)
}

async fn record(
    tx: &mut TenantTx,
    actor: Option<Uuid>,
    action: &str,
    host: &HttpHost,
) -> Result<(), DbError> {
    let entry = AuditEntry {
        actor,
        action,
        resource: "playbook_http_host",
        resource_id: Some(host.id),
        details: serde_json::json!({ "pattern": host.pattern }),
    };
    audit::record(tx, entry).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> HostPattern {
        text.parse()
            .unwrap_or_else(|e| panic!("{text:?} is a pattern: {e}"))
    }

    fn allowed(patterns: &[&str], url: &str) -> bool {
        let patterns: Vec<HostPattern> = patterns.iter().map(|p| pattern(p)).collect();
        allows(&patterns, &Url::parse(url).expect("a URL"))
    }

    #[test]
    fn patterns_are_normalized() {
        let cases = [
            ("lower case", "API.Example.COM", "api.example.com"),
            ("trimmed", "  api.example.com ", "api.example.com"),
            ("wildcard", "*.Example.com", "*.example.com"),
            ("with a port", "127.0.0.1:8099", "127.0.0.1:8099"),
            ("IPv6", "[0:0::1]:8443", "[::1]:8443"),
            (
                "xn-- name",
                "xn--bcher-kva.example",
                "xn--bcher-kva.example",
            ),
        ];
        for (name, given, stored) in cases {
            assert_eq!(pattern(given).to_string(), stored, "{name}");
        }
    }

    #[test]
    fn bad_patterns_are_refused_with_the_reason() {
        let cases = [
            ("empty", "  ", PatternError::Empty),
            (
                "too long",
                &format!("{}.com", "a.".repeat(130)),
                PatternError::TooLong,
            ),
            ("space", "api example.com", PatternError::Spaces),
            ("scheme", "https://api.example.com", PatternError::Scheme),
            ("path", "api.example.com/v1", PatternError::Path),
            ("query", "api.example.com?x=1", PatternError::Path),
            ("user info", "me@api.example.com", PatternError::UserInfo),
            ("unicode", "bücher.example", PatternError::NotAscii),
            ("port 0", "api.example.com:0", PatternError::Port),
            ("port too big", "api.example.com:65536", PatternError::Port),
            ("empty port", "api.example.com:", PatternError::Port),
            ("signed port", "api.example.com:+80", PatternError::Port),
            ("bare IPv6", "::1", PatternError::Ipv6),
            ("bad IPv6", "[::g]", PatternError::Ipv6),
            ("star alone", "*", PatternError::Wildcard),
            ("star over a TLD", "*.com", PatternError::Wildcard),
            ("star inside", "api.*.example.com", PatternError::Wildcard),
            ("partial star", "api*.example.com", PatternError::Wildcard),
            ("star over an IP", "*.0.0.1", PatternError::Wildcard),
            (
                "empty label",
                "api..example.com",
                PatternError::Label(String::new()),
            ),
            (
                "trailing dot",
                "example.com.",
                PatternError::Label(String::new()),
            ),
            (
                "hyphen first",
                "-api.example.com",
                PatternError::Label("-api".into()),
            ),
            (
                "underscore",
                "my_api.example.com",
                PatternError::Label("my_api".into()),
            ),
            (
                "long label",
                &format!("{}.com", "a".repeat(64)),
                PatternError::Label("a".repeat(64)),
            ),
            (
                "not an IPv4",
                "10.0.0.256",
                PatternError::Ipv4("10.0.0.256".into()),
            ),
        ];
        for (name, given, expected) in cases {
            assert_eq!(given.parse::<HostPattern>(), Err(expected), "{name}");
        }
    }

    #[test]
    fn calls_are_judged_by_the_real_host_and_port() {
        let cases: &[(&str, &[&str], &str, bool)] = &[
            (
                "exact",
                &["api.example.com"],
                "https://api.example.com/v1",
                true,
            ),
            (
                "exact over http",
                &["api.example.com"],
                "http://api.example.com/",
                true,
            ),
            (
                "another host",
                &["api.example.com"],
                "https://www.example.com/",
                false,
            ),
            (
                "a subdomain of an exact one",
                &["example.com"],
                "https://api.example.com/",
                false,
            ),
            (
                "case",
                &["api.example.com"],
                "https://API.Example.Com/",
                true,
            ),
            (
                "root dot",
                &["api.example.com"],
                "https://api.example.com./",
                true,
            ),
            (
                "wildcard: a subdomain",
                &["*.example.com"],
                "https://api.example.com/",
                true,
            ),
            (
                "wildcard: deeper",
                &["*.example.com"],
                "https://a.b.example.com/",
                true,
            ),
            (
                "wildcard: not the apex",
                &["*.example.com"],
                "https://example.com/",
                false,
            ),
            (
                "wildcard: not a look-alike",
                &["*.example.com"],
                "https://evil-example.com/",
                false,
            ),
            (
                "wildcard: not a suffix trick",
                &["*.example.com"],
                "https://example.com.evil.com/",
                false,
            ),
            (
                "user info names the wrong host",
                &["api.example.com"],
                "http://api.example.com@evil.com/",
                false,
            ),
            (
                "user info, allowed host",
                &["evil.com"],
                "http://api.example.com@evil.com/",
                true,
            ),
            (
                "user and password",
                &["api.example.com"],
                "http://api.example.com:443@evil.com/",
                false,
            ),
            (
                "default port only",
                &["api.example.com"],
                "https://api.example.com:8443/",
                false,
            ),
            (
                "explicit default port",
                &["api.example.com"],
                "https://api.example.com:443/",
                true,
            ),
            (
                "the port given",
                &["127.0.0.1:8099"],
                "http://127.0.0.1:8099/hook",
                true,
            ),
            (
                "another port",
                &["127.0.0.1:8099"],
                "http://127.0.0.1:8098/",
                false,
            ),
            (
                "port but default used",
                &["127.0.0.1:8099"],
                "http://127.0.0.1/",
                false,
            ),
            (
                "port given as the default",
                &["api.example.com:443"],
                "https://api.example.com/",
                true,
            ),
            (
                "IPv4 spelled otherwise",
                &["127.0.0.1"],
                "http://0x7f.0.0.1/",
                true,
            ),
            (
                "IPv4 is not a name",
                &["127.0.0.1"],
                "http://127.0.0.2/",
                false,
            ),
            ("IPv6", &["[::1]:8080"], "http://[0:0::1]:8080/", true),
            (
                "percent-encoded host",
                &["api.example.com"],
                "http://api%2Eexample.com/",
                true,
            ),
            (
                "backslash is a path",
                &["api.example.com"],
                "http://api.example.com\\@evil.com/",
                true,
            ),
            ("nothing allowed", &[], "https://api.example.com/", false),
            (
                "any of several",
                &["a.example", "*.example.com"],
                "https://x.example.com/",
                true,
            ),
        ];
        for (name, patterns, url, expected) in cases {
            assert_eq!(allowed(patterns, url), *expected, "{name}: {url}");
        }
    }

    #[test]
    fn the_refused_host_is_named_as_a_pattern_would_name_it() {
        let host = |url: &str| host_of(&Url::parse(url).expect("a URL"));
        assert_eq!(host("https://API.example.com./x"), "api.example.com");
        assert_eq!(host("http://127.0.0.1:8099/"), "127.0.0.1:8099");
        assert_eq!(host("https://u:p@evil.com:443/"), "evil.com");
        assert_eq!(host("http://[::1]:81/"), "[::1]:81");
    }
}
