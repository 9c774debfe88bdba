//! `http_request`: one HTTP call to a host the tenant allowed (see
//! [`crate::playbooks::http_hosts`]). The call is checked inside the step's
//! transaction ([`prepare`]) and sent outside it ([`send`]), so a slow server never
//! holds a database connection. Redirects are answered as they are, never
//! followed; the request body is at most 256 KiB and the response body at most
//! 1 MiB, read as it streams in.

use super::ActionError;
use crate::db::TenantTx;
use crate::playbooks::http_hosts;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{Method, Url};
use serde_json::{Map, Value};
use std::time::Duration;

/// Largest request body, in bytes.
pub const MAX_REQUEST_BODY_BYTES: usize = 256 * 1024;
/// Largest response body, in bytes.
pub const MAX_RESPONSE_BODY_BYTES: usize = 1024 * 1024;
/// Longest URL.
const MAX_URL_CHARS: usize = 8 * 1024;
/// Most headers a call may set.
const MAX_HEADERS: usize = 50;
/// The timeout when the call gives none, and the range it may give.
const DEFAULT_TIMEOUT_SECONDS: i64 = 10;
const TIMEOUT_RANGE: std::ops::RangeInclusive<i64> = 1..=30;
/// Headers the client sets itself; `host` also names which site a shared server
/// answers for, which the allow-list judged by the URL.
const RESERVED_HEADERS: &[&str] = &["host", "content-length", "transfer-encoding", "connection"];

/// A checked call, ready to send.
#[derive(Debug)]
pub struct HttpCall {
    url: Url,
    method: Method,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    timeout: Duration,
}

/// Why a sent call has no result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Trying again would not help (the response is too large): the script sees it.
    Refused(String),
    /// Another attempt may succeed: no connection, or no answer in time.
    Unreachable(String),
}

fn refused(message: impl std::fmt::Display) -> ActionError {
    ActionError::Refused(format!("http_request(): {message}"))
}

/// Checks the call's fields and that the tenant allows its host.
pub async fn prepare(tx: &mut TenantTx, args: &Value) -> Result<HttpCall, ActionError> {
    let call = parse_call(args)?;
    if !http_hosts::is_allowed(tx, &call.url).await? {
        let host = http_hosts::host_of(&call.url);
        return Err(refused(format_args!(
            "{host} is not on the tenant's HTTP allow-list. A user with the tenant:manage \
             permission can allow it under \"HTTP hosts\" on the Playbook limits page \
             (/playbooks/limits) or with POST /api/v1/playbook-http-hosts \
             {{\"pattern\": \"{host}\"}}"
        )));
    }
    Ok(call)
}

/// The call as its arguments describe it (the catalogue already checked their
/// types).
pub fn parse_call(args: &Value) -> Result<HttpCall, ActionError> {
    let url = parse_url(args["url"].as_str().unwrap_or_default())?;
    let method = match args["method"].as_str().map(str::to_ascii_uppercase) {
        None => Method::GET,
        Some(name) => match name.as_str() {
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" => {
                Method::from_bytes(name.as_bytes()).map_err(refused)?
            }
            _ => {
                return Err(refused(format_args!(
                    "method {name:?} is not one of GET, POST, PUT, PATCH, DELETE, HEAD"
                )))
            }
        },
    };
    let mut headers = parse_headers(&args["headers"])?;
    let body = match &args["body"] {
        Value::Null => None,
        Value::String(text) => Some((text.clone().into_bytes(), "text/plain; charset=utf-8")),
        json => Some((json.to_string().into_bytes(), "application/json")),
    };
    let body = match body {
        Some((bytes, _)) if bytes.len() > MAX_REQUEST_BODY_BYTES => {
            return Err(refused(format_args!(
                "body is {} bytes; at most {MAX_REQUEST_BODY_BYTES} (256 KiB) may be sent",
                bytes.len()
            )))
        }
        Some((bytes, content_type)) => {
            if !headers.contains_key(CONTENT_TYPE) {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            }
            Some(bytes)
        }
        None => None,
    };
    let seconds = match &args["timeout_seconds"] {
        Value::Null => DEFAULT_TIMEOUT_SECONDS,
        given => given
            .as_i64()
            .filter(|s| TIMEOUT_RANGE.contains(s))
            .ok_or_else(|| refused("timeout_seconds must be a whole number from 1 to 30"))?,
    };
    Ok(HttpCall {
        url,
        method,
        headers,
        body,
        timeout: Duration::from_secs(seconds.unsigned_abs()),
    })
}

fn parse_url(text: &str) -> Result<Url, ActionError> {
    if text.len() > MAX_URL_CHARS {
        return Err(refused(format_args!(
            "url must be at most {MAX_URL_CHARS} characters"
        )));
    }
    let url =
        Url::parse(text).map_err(|e| refused(format_args!("url {text:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(refused(format_args!(
            "url {text:?} must be an http:// or https:// URL with a host"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused(
            "url must not carry credentials (user@host): send them in a header such as authorization",
        ));
    }
    Ok(url)
}

fn parse_headers(given: &Value) -> Result<HeaderMap, ActionError> {
    let map = match given {
        Value::Null => return Ok(HeaderMap::new()),
        Value::Object(map) => map,
        _ => return Err(refused("headers must be a map of names to text")),
    };
    if map.len() > MAX_HEADERS {
        return Err(refused(format_args!(
            "at most {MAX_HEADERS} headers may be sent"
        )));
    }
    let mut headers = HeaderMap::new();
    for (name, value) in map {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| refused(format_args!("header name {name:?} is not valid")))?;
        if RESERVED_HEADERS.contains(&header.as_str()) {
            return Err(refused(format_args!(
                "header {name:?} is set by Keel and may not be given"
            )));
        }
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(_) | Value::Bool(_) => value.to_string(),
            _ => return Err(refused(format_args!("header {name:?} must be text"))),
        };
        let value = HeaderValue::from_str(&text).map_err(|_| {
            refused(format_args!(
                "header {name:?} must be visible ASCII text without line breaks"
            ))
        })?;
        headers.insert(header, value);
    }
    Ok(headers)
}

/// A client for one call: no redirects followed, no cookies kept, rustls with
/// the webpki roots; the operator's proxy settings (`HTTPS_PROXY`, `NO_PROXY`)
/// apply. One per call rather than one per process: a pooled connection belongs
/// to the runtime that opened it, and a process may run several workers.
fn client() -> Result<reqwest::Client, SendError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .user_agent(concat!("Keel-Playbooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SendError::Unreachable(format!("http_request(): no HTTP client: {e}")))
}

/// Sends the call and reads the answer: `{status, headers, body, truncated}`,
/// with `body` parsed when the response says it is JSON and text otherwise.
/// Every status is an answer, 3xx included (redirects are not followed).
pub async fn send(call: HttpCall) -> Result<Value, SendError> {
    let host = http_hosts::host_of(&call.url);
    let seconds = call.timeout.as_secs();
    let unreachable = |error: reqwest::Error| {
        SendError::Unreachable(if error.is_timeout() {
            timed_out(&host, seconds)
        } else {
            format!("http_request(): {host} did not answer: {}", chain(&error))
        })
    };
    let mut request = client()?
        .request(call.method, call.url)
        .headers(call.headers)
        .timeout(call.timeout);
    if let Some(body) = call.body {
        request = request.body(body);
    }
    let exchange = async {
        let mut response = request.send().await.map_err(unreachable)?;
        let announced = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if announced.is_some_and(|n| n > MAX_RESPONSE_BODY_BYTES as u64) {
            return Err(too_large(&host));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BODY_BYTES {
                return Err(too_large(&host));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(answer(
            response.status().as_u16(),
            response.headers(),
            &body,
        ))
    };
    // The client's own timeout covers connecting and reading the body; this one
    // bounds everything else too.
    tokio::time::timeout(call.timeout + Duration::from_millis(500), exchange)
        .await
        .unwrap_or_else(|_| Err(SendError::Unreachable(timed_out(&host, seconds))))
}

fn timed_out(host: &str, seconds: u64) -> String {
    format!("http_request(): {host} did not answer within timeout_seconds ({seconds} s)")
}

fn too_large(host: &str) -> SendError {
    SendError::Refused(format!(
        "http_request(): the response from {host} is larger than {MAX_RESPONSE_BODY_BYTES} bytes (1 MiB); it was not read"
    ))
}

/// An error with its causes, which carry the useful part ("connection refused").
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The script's view of a response. PostgreSQL cannot store U+0000 in text or
/// JSON, so it becomes U+FFFD.
fn answer(status: u16, headers: &HeaderMap, body: &[u8]) -> Value {
    let mut names = Map::new();
    for name in headers.keys() {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        names.insert(name.as_str().to_owned(), Value::String(values.join(", ")));
    }
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            let media = media.trim().to_ascii_lowercase();
            media == "application/json" || media.ends_with("+json")
        });
    let body = is_json
        .then(|| serde_json::from_slice::<Value>(body).ok())
        .flatten()
        .unwrap_or_else(|| Value::String(String::from_utf8_lossy(body).into_owned()));
    let mut value = serde_json::json!({
        "status": status, "headers": names, "body": body, "truncated": false,
    });
    without_nul(&mut value);
    value
}

fn without_nul(value: &mut Value) {
    const NUL: char = '\u{0}';
    match value {
        Value::String(text) if text.contains(NUL) => *text = text.replace(NUL, "\u{FFFD}"),
        Value::Array(items) => items.iter_mut().for_each(without_nul),
        Value::Object(map) => {
            if map.keys().any(|k| k.contains(NUL)) {
                let entries = std::mem::take(map);
                *map = entries
                    .into_iter()
                    .map(|(k, v)| (k.replace(NUL, "\u{FFFD}"), v))
                    .collect();
            }
            map.values_mut().for_each(without_nul);
        }
        _ => {}
    }
}

/// The step input as recorded for the run page: credentials in headers are not
/// shown there (Temporal's history still holds the activity's input).
pub fn redacted(call: &Value) -> Value {
    let mut call = call.clone();
    if let Some(headers) = call
        .pointer_mut("/args/headers")
        .and_then(Value::as_object_mut)
    {
        for (name, value) in headers.iter_mut() {
            let name = name.to_ascii_lowercase();
            let secret = [
                "authorization",
                "cookie",
                "token",
                "secret",
                "api-key",
                "apikey",
                "password",
            ]
            .iter()
            .any(|s| name.contains(s));
            if secret {
                *value = Value::String("(redacted)".into());
            }
        }
    }
    call
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refusal(args: Value) -> String {
        match parse_call(&args) {
            Err(ActionError::Refused(message)) => message,
            other => panic!("{args} was not refused: {other:?}"),
        }
    }

    #[test]
    fn a_call_takes_its_defaults_and_sends_json_or_text() {
        let call = parse_call(&json!({"url": "https://api.example.com/x"})).expect("call");
        assert_eq!(call.method, Method::GET);
        assert_eq!(call.timeout, Duration::from_secs(10));
        assert!(call.body.is_none() && call.headers.is_empty());

        let call = parse_call(&json!({
            "url": "http://127.0.0.1:8099/", "method": "post", "timeout_seconds": 30,
            "headers": {"X-Trace": "abc", "X-Count": 3}, "body": {"a": [1, 2]},
        }))
        .expect("call");
        assert_eq!(call.method, Method::POST);
        assert_eq!(call.body.as_deref(), Some(br#"{"a":[1,2]}"#.as_slice()));
        assert_eq!(call.headers["content-type"], "application/json");
        assert_eq!(call.headers["x-count"], "3");

        let call = parse_call(&json!({
            "url": "http://a.example/", "method": "PUT", "body": "plain",
            "headers": {"Content-Type": "text/csv"},
        }))
        .expect("call");
        assert_eq!(call.body.as_deref(), Some(b"plain".as_slice()));
        assert_eq!(
            call.headers["content-type"], "text/csv",
            "the script's own type wins"
        );
    }

    #[test]
    fn bad_calls_are_refused_naming_what_is_wrong() {
        let big = "x".repeat(MAX_REQUEST_BODY_BYTES + 1);
        let cases = [
            ("not a URL", json!({"url": "nope"}), "is not a URL"),
            (
                "ftp",
                json!({"url": "ftp://a.example/"}),
                "http:// or https://",
            ),
            (
                "credentials",
                json!({"url": "https://u:p@a.example/"}),
                "credentials",
            ),
            (
                "method",
                json!({"url": "https://a.example/", "method": "TRACE"}),
                "method \"TRACE\"",
            ),
            (
                "timeout 0",
                json!({"url": "https://a.example/", "timeout_seconds": 0}),
                "1 to 30",
            ),
            (
                "timeout 31",
                json!({"url": "https://a.example/", "timeout_seconds": 31}),
                "1 to 30",
            ),
            (
                "host header",
                json!({"url": "https://a.example/", "headers": {"Host": "b"}}),
                "\"Host\" is set by Keel",
            ),
            (
                "header name",
                json!({"url": "https://a.example/", "headers": {"a b": "c"}}),
                "name \"a b\"",
            ),
            (
                "header value",
                json!({"url": "https://a.example/", "headers": {"a": "b\nc"}}),
                "without line breaks",
            ),
            (
                "header map",
                json!({"url": "https://a.example/", "headers": {"a": ["b"]}}),
                "must be text",
            ),
            (
                "body too big",
                json!({"url": "https://a.example/", "body": big}),
                "at most 262144",
            ),
        ];
        for (name, args, expected) in cases {
            let message = refusal(args);
            assert!(message.starts_with("http_request(): "), "{name}: {message}");
            assert!(message.contains(expected), "{name}: {message}");
        }
    }

    #[test]
    fn an_answer_parses_json_and_keeps_text_and_every_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json; charset=utf-8"),
        );
        headers.append("set-cookie", HeaderValue::from_static("a=1"));
        headers.append("set-cookie", HeaderValue::from_static("b=2"));
        let value = answer(422, &headers, br#"{"title": "no\u0000pe"}"#);
        assert_eq!(
            value,
            json!({"status": 422, "body": {"title": "no\u{FFFD}pe"}, "truncated": false,
                   "headers": {"content-type": "application/problem+json; charset=utf-8", "set-cookie": "a=1, b=2"}})
        );
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert_eq!(answer(200, &headers, b"not json")["body"], "not json");
        assert_eq!(answer(204, &HeaderMap::new(), b"")["body"], "");
    }

    #[test]
    fn credentials_in_headers_are_not_shown_on_the_run_page() {
        let call = json!({"action": "http_request", "args": {"url": "https://a.example/",
            "headers": {"Authorization": "Bearer s3cret", "X-Api-Key": "k", "Accept": "text/plain"}}});
        let shown = redacted(&call);
        assert_eq!(shown["args"]["headers"]["Authorization"], "(redacted)");
        assert_eq!(shown["args"]["headers"]["X-Api-Key"], "(redacted)");
        assert_eq!(shown["args"]["headers"]["Accept"], "text/plain");
        assert_eq!(shown["args"]["url"], call["args"]["url"]);
    }
}
