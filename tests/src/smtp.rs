//! A real SMTP server for tests: [`SmtpSink`] runs `scripts/smtp_sink.py` (aiosmtpd)
//! on a free port with a fresh directory and reads back what it accepted.
//!
//! Why a real server and not a mock transport: notifications are only right if a
//! real SMTP conversation accepts them (envelope, DATA, dot-stuffing, 8BITMIME and
//! SMTPUTF8, size limits, 4xx answers that must be retried, a server that goes away
//! and comes back), and the stored bytes are parsed by an independent MIME parser
//! (`mail-parser`), so the tests see what a recipient's mail system would see. The
//! same sink is what `keel up` uses as its demo mail server.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, Utc};
use mail_parser::{HeaderValue, Message, MessageParser, MimeHeaders, PartType};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::{sleep, timeout, Instant};

/// The host the sink listens on.
const HOST: &str = "127.0.0.1";
/// How long the sink may take to listen after it was spawned.
const READY_WITHIN: Duration = Duration::from_secs(20);
/// How often readiness (or shutdown) is probed.
const POLL_EVERY: Duration = Duration::from_millis(50);
/// The hostname the sink announces in its greeting, to know the port is really ours.
const GREETING: &[u8] = b"220 smtp-sink.localhost";

/// A running `scripts/smtp_sink.py` on its own port, storing into its own
/// temporary directory. The process is killed and the directory removed on drop.
pub struct SmtpSink {
    port: u16,
    child: Option<Child>,
    dir: SinkDir,
}

impl SmtpSink {
    /// Starts a sink that accepts every message, and waits until it listens.
    pub async fn start() -> anyhow::Result<SmtpSink> {
        SmtpSink::launch(0).await
    }

    /// Starts a sink that answers the first `n` messages with a transient error
    /// (`451`), for tests of retries; later messages are accepted.
    pub async fn start_failing_first(n: u32) -> anyhow::Result<SmtpSink> {
        SmtpSink::launch(n).await
    }

    async fn launch(fail_first: u32) -> anyhow::Result<SmtpSink> {
        let port = free_port()?;
        let dir = SinkDir::create()?;
        let mut sink = SmtpSink {
            port,
            child: None,
            dir,
        };
        sink.spawn(fail_first).await?;
        Ok(sink)
    }

    /// The port the sink listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host the sink listens on: always `127.0.0.1`.
    pub fn host(&self) -> &'static str {
        HOST
    }

    /// The sink as an SMTP URL, `smtp://127.0.0.1:<port>` (plain SMTP, no TLS or AUTH).
    pub fn url(&self) -> String {
        format!("smtp://{HOST}:{}", self.port)
    }

    /// The directory the sink writes its `.eml` files to.
    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    /// Kills the sink (as a crash would) and waits until it has exited and its port
    /// refuses connections, so sends fail from here on. Stored messages stay.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await.context("killing the SMTP sink")?;
        }
        let deadline = Instant::now() + READY_WITHIN;
        while TcpStream::connect((HOST, self.port)).await.is_ok() {
            if Instant::now() >= deadline {
                bail!(
                    "port {} still accepts connections after the SMTP sink stopped",
                    self.port
                );
            }
            sleep(POLL_EVERY).await;
        }
        Ok(())
    }

    /// Starts the sink again on the same port and directory (stopping it first if
    /// it runs) and waits until it listens. `--fail-first` is not applied again;
    /// sequence numbers continue after the stored messages.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await?;
        self.spawn(0).await
    }

    async fn spawn(&mut self, fail_first: u32) -> anyhow::Result<()> {
        let script = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .join("scripts")
            .join("smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg("--host")
            .arg(HOST)
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--dir")
            .arg(&self.dir.0)
            .arg("--fail-first")
            .arg(fail_first.to_string())
            // The pipe stays open as long as `child` lives (and closes when this
            // process dies in any way), so the sink never outlives its test.
            .arg("--exit-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("spawning python3 {}", script.display()))?;
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "the SMTP sink exited with {status} before listening on port {} \
                     (is aiosmtpd installed? `./x setup` installs it; see its stderr above)",
                    self.port
                );
            }
            if greets(self.port).await {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "the SMTP sink did not listen on port {} within {READY_WITHIN:?}",
                    self.port
                );
            }
            sleep(POLL_EVERY).await;
        }
    }

    /// Every message the sink accepted so far, in the order it accepted them.
    pub fn messages(&self) -> anyhow::Result<Vec<SunkMail>> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&self.dir.0).context("reading the sink directory")? {
            let path = entry?.path();
            // Only complete files: the sink writes `*.eml.tmp` and renames it.
            if path.extension().is_some_and(|e| e == "eml") {
                files.push(path);
            }
        }
        // `<12-digit sequence>-<uuid>.eml`: the name order is the arrival order.
        files.sort();
        files
            .iter()
            .map(|path| {
                let raw = std::fs::read(path)?;
                SunkMail::parse(&raw).with_context(|| format!("parsing {}", path.display()))
            })
            .collect()
    }

    /// Polls [`SmtpSink::messages`] until at least `count` messages arrived and
    /// answers them all, or fails after `deadline` saying how many arrived.
    pub async fn wait_for(
        &self,
        count: usize,
        deadline: Duration,
    ) -> anyhow::Result<Vec<SunkMail>> {
        let until = Instant::now() + deadline;
        loop {
            let messages = self.messages()?;
            if messages.len() >= count {
                return Ok(messages);
            }
            if Instant::now() >= until {
                bail!(
                    "expected at least {count} message(s) at the SMTP sink within {deadline:?}, \
                     but {} arrived",
                    messages.len()
                );
            }
            sleep(POLL_EVERY).await;
        }
    }
}

/// One message the sink accepted: its SMTP envelope, when it arrived, and the
/// message as parsed by `mail-parser`.
#[derive(Debug, Clone, PartialEq)]
pub struct SunkMail {
    /// The envelope sender (`MAIL FROM`); empty for the null sender `<>`.
    pub envelope_from: String,
    /// The envelope recipients (`RCPT TO`), in order.
    pub envelope_to: Vec<String>,
    /// When the sink accepted the message.
    pub received_at: DateTime<Utc>,
    /// The first address of the `From` header (the address only, no display name);
    /// empty if there is none.
    pub from: String,
    /// The addresses of the `To` header (addresses only, groups flattened).
    pub to: Vec<String>,
    /// The `Subject` header, RFC 2047-decoded; empty if there is none.
    pub subject: String,
    /// The `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// The `In-Reply-To` ids without angle brackets (several are joined by a space).
    pub in_reply_to: Option<String>,
    /// The `References` ids without angle brackets, in order.
    pub references: Vec<String>,
    /// The `List-Unsubscribe` header as sent (unfolded), e.g. `<https://…>, <mailto:…>`.
    pub list_unsubscribe: Option<String>,
    /// The `List-Unsubscribe-Post` header as sent (unfolded).
    pub list_unsubscribe_post: Option<String>,
    /// The decoded first `text/plain` body part, if the message has one (never text
    /// that `mail-parser` derived from an HTML part). Line ends are as sent (CRLF);
    /// a single-part body also keeps the line end before the SMTP end-of-data `.`.
    pub text_body: Option<String>,
    /// The decoded first `text/html` body part, if the message has one (never HTML
    /// that `mail-parser` derived from a text part).
    pub html_body: Option<String>,
    /// Every top-level header as sent: name and unfolded, undecoded value, in order.
    /// The sink's own `X-Sink-*` lines are not included.
    pub headers: Vec<(String, String)>,
}

impl SunkMail {
    /// Parses a sink file: the sink's three `X-Sink-*` lines, then the message.
    fn parse(raw: &[u8]) -> anyhow::Result<SunkMail> {
        let mut rest = raw;
        let envelope_from = sink_line(&mut rest, "X-Sink-Mail-From")?;
        let envelope_to = sink_line(&mut rest, "X-Sink-Rcpt-To")?
            .split(',')
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect();
        let received_at = sink_line(&mut rest, "X-Sink-Received-At")?;
        let received_at = parse_epoch(&received_at)
            .with_context(|| format!("X-Sink-Received-At {received_at:?}"))?;

        let message = MessageParser::default()
            .parse(rest)
            .ok_or_else(|| anyhow!("mail-parser found no message"))?;
        let headers: Vec<(String, String)> = message
            .headers_raw()
            .map(|(name, value)| (name.to_owned(), unfold(value)))
            .collect();
        let raw_header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        Ok(SunkMail {
            envelope_from,
            envelope_to,
            received_at,
            from: message
                .from()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_owned(),
            to: message
                .to()
                .map(|a| {
                    a.iter()
                        .filter_map(|a| a.address())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            subject: message.subject().unwrap_or_default().to_owned(),
            message_id: message.message_id().map(str::to_owned),
            in_reply_to: ids(message.in_reply_to()).map(|ids| ids.join(" ")),
            references: ids(message.references()).unwrap_or_default(),
            list_unsubscribe: raw_header("List-Unsubscribe"),
            list_unsubscribe_post: raw_header("List-Unsubscribe-Post"),
            text_body: body_part(&message, &message.text_body, false),
            html_body: body_part(&message, &message.html_body, true),
            headers,
        })
    }
}

/// The first body part among `ids` if it really is `text/html` (`html`) or
/// `text/plain`; `mail-parser` also lists an HTML-only message's HTML part as its
/// text body (and vice versa), converting on the fly, which must not count here.
fn body_part(message: &Message<'_>, ids: &[u32], html: bool) -> Option<String> {
    let part = message.part(*ids.first()?)?;
    match &part.body {
        PartType::Html(body) if html => Some(body.to_string()),
        PartType::Text(body)
            if !html
                && part.content_type().is_none_or(|ct| {
                    ct.ctype().eq_ignore_ascii_case("text")
                        && ct.subtype().is_none_or(|s| s.eq_ignore_ascii_case("plain"))
                }) =>
        {
            Some(body.to_string())
        }
        _ => None,
    }
}

/// Message ids of an `In-Reply-To` or `References` header, if it has any.
fn ids(value: &HeaderValue<'_>) -> Option<Vec<String>> {
    match value {
        HeaderValue::Text(id) => Some(vec![id.to_string()]),
        HeaderValue::TextList(ids) if !ids.is_empty() => {
            Some(ids.iter().map(|id| id.to_string()).collect())
        }
        _ => None,
    }
}

/// Takes one `Name: value` line the sink put in front of the message.
fn sink_line(rest: &mut &[u8], name: &str) -> anyhow::Result<String> {
    let end = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| anyhow!("missing {name} line"))?;
    let line = std::str::from_utf8(&rest[..end])?.trim_end_matches('\r');
    *rest = &rest[end + 1..];
    line.strip_prefix(name)
        .and_then(|l| l.strip_prefix(':'))
        .map(|value| value.trim().to_owned())
        .ok_or_else(|| anyhow!("expected a {name} line, found {line:?}"))
}

/// `1700000000.123456` (Unix seconds with a fraction) as a time.
fn parse_epoch(text: &str) -> anyhow::Result<DateTime<Utc>> {
    let (seconds, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let nanos = format!("{fraction:0<9}");
    DateTime::from_timestamp(seconds.parse()?, nanos.get(..9).unwrap_or("0").parse()?)
        .ok_or_else(|| anyhow!("out of range"))
}

/// A raw header value without its line folding and surrounding white space.
fn unfold(value: &str) -> String {
    value
        .replace("\r\n", "")
        .replace('\n', "")
        .trim()
        .to_owned()
}

/// A TCP port that was free a moment ago (bound to port 0, read, released).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind((HOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether the sink answers on `port` with its own greeting (and not some other
/// program that took the port in the meantime).
async fn greets(port: u16) -> bool {
    let probe = async {
        let mut stream = TcpStream::connect((HOST, port)).await.ok()?;
        let mut greeting = vec![0; GREETING.len()];
        stream.read_exact(&mut greeting).await.ok()?;
        Some(greeting == GREETING)
    };
    matches!(timeout(Duration::from_secs(2), probe).await, Ok(Some(true)))
}

/// A fresh directory under the system temp dir, removed (with its files) on drop.
struct SinkDir(PathBuf);

impl SinkDir {
    fn create() -> anyhow::Result<SinkDir> {
        let path = std::env::temp_dir().join(format!(
            "keel-smtp-sink-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(SinkDir(path))
    }
}

impl Drop for SinkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
