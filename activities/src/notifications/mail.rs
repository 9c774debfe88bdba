//! Outgoing mail: a tenant's SMTP settings (password encrypted at rest), the
//! system relay used when a tenant has none, lettre transports (pooled, cached per
//! settings), and the MIME message of a queued `notification_log` row.

use crate::db::{DbError, TenantTx};
use crate::schema::smtp_settings;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How notifications reach the outside world; the same in `keel serve` and `keel worker`.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// The relay for tenants without SMTP settings (`smtp://host:port`, `smtps://…`).
    pub default_smtp_url: Option<String>,
    /// The sender of the system relay, e.g. `Keel <keel@localhost>`.
    pub default_from: String,
    /// Secret for encrypting SMTP passwords and signing unsubscribe links.
    pub secret_key: Vec<u8>,
    /// Base URL of the UI, for links in e-mails.
    pub public_url: String,
    /// The window of the per-tenant rate limit (a minute; tests shrink it).
    pub rate_window: Duration,
}

impl MailConfig {
    /// The 32-byte key for `purpose`, derived from the configured secret.
    pub(crate) fn derived_key(&self, purpose: &str) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(b"keel/");
        hash.update(purpose.as_bytes());
        hash.update(b"/");
        hash.update(&self.secret_key);
        hash.finalize().into()
    }
}

/// Encrypts `plaintext` under `key`: a random 12-byte nonce, then the ciphertext.
pub fn encrypt(key: &[u8; 32], plaintext: &str) -> Vec<u8> {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let mut nonce = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut nonce);
    let mut out = nonce.to_vec();
    out.extend(
        cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("ChaCha20-Poly1305 encryption of a short string cannot fail"),
    );
    out
}

/// Decrypts what [`encrypt`] produced; `None` if the key is wrong or the bytes damaged.
pub fn decrypt(key: &[u8; 32], sealed: &[u8]) -> Option<String> {
    if sealed.len() < 12 {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(12);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let plain = cipher.decrypt(Nonce::from_slice(nonce), ciphertext).ok()?;
    String::from_utf8(plain).ok()
}

/// How the connection to the SMTP server is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// Plain SMTP (local relays and test sinks only).
    None,
    /// SMTP upgraded with STARTTLS (usually port 587).
    Starttls,
    /// SMTP over TLS from the first byte (usually port 465).
    Tls,
}

impl TlsMode {
    fn as_str(self) -> &'static str {
        match self {
            TlsMode::None => "none",
            TlsMode::Starttls => "starttls",
            TlsMode::Tls => "tls",
        }
    }

    fn parse(text: &str) -> TlsMode {
        match text {
            "starttls" => TlsMode::Starttls,
            "tls" => TlsMode::Tls,
            _ => TlsMode::None,
        }
    }
}

/// A tenant's SMTP settings as the API shows them: the password never leaves.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SmtpSettings {
    /// Server host name.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Connection security.
    pub tls_mode: TlsMode,
    /// User name, when the server wants a login.
    pub username: Option<String>,
    /// Whether a password is stored.
    pub has_password: bool,
    /// Sender address.
    pub from_address: String,
    /// Sender display name.
    pub from_name: Option<String>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// New SMTP settings.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct SmtpSettingsInput {
    /// Server host name.
    pub host: String,
    /// Server port (1–65535).
    pub port: u16,
    /// Connection security.
    pub tls_mode: TlsMode,
    /// User name.
    #[serde(default)]
    pub username: Option<String>,
    /// Password: absent keeps the stored one, `""` removes it.
    #[serde(default)]
    pub password: Option<String>,
    /// Sender address.
    pub from_address: String,
    /// Sender display name.
    #[serde(default)]
    pub from_name: Option<String>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = smtp_settings)]
struct SmtpRow {
    host: String,
    port: i32,
    tls_mode: String,
    username: Option<String>,
    password_ciphertext: Option<Vec<u8>>,
    from_address: String,
    from_name: Option<String>,
    updated_at: DateTime<Utc>,
}

impl SmtpRow {
    fn view(self) -> SmtpSettings {
        SmtpSettings {
            host: self.host,
            port: u16::try_from(self.port).unwrap_or(25),
            tls_mode: TlsMode::parse(&self.tls_mode),
            username: self.username,
            has_password: self.password_ciphertext.is_some(),
            from_address: self.from_address,
            from_name: self.from_name,
            updated_at: self.updated_at,
        }
    }
}

async fn smtp_row(tx: &mut TenantTx) -> Result<Option<SmtpRow>, DbError> {
    Ok(smtp_settings::table
        .select(SmtpRow::as_select())
        .first(tx.conn())
        .await
        .optional()?)
}

/// The tenant's SMTP settings, if it has its own.
pub async fn find_smtp_settings(tx: &mut TenantTx) -> Result<Option<SmtpSettings>, DbError> {
    Ok(smtp_row(tx).await?.map(SmtpRow::view))
}

/// Validates and stores the tenant's SMTP settings, encrypting the password.
pub async fn save_smtp_settings(
    tx: &mut TenantTx,
    config: &MailConfig,
    input: SmtpSettingsInput,
    actor: Option<uuid::Uuid>,
) -> Result<SmtpSettings, crate::records::RecordError> {
    use crate::records::RecordError;
    let mut issues = engine::validation::Issues::default();
    let host = input.host.trim().to_owned();
    if host.is_empty() || host.len() > 253 || host.contains(char::is_whitespace) {
        issues.add("host", "must be a host name or IP address");
    }
    if input.port == 0 {
        issues.add("port", "must be between 1 and 65535");
    }
    let from_address = input.from_address.trim().to_owned();
    if from_address.parse::<lettre::Address>().is_err() {
        issues.add("from_address", "must be an e-mail address");
    }
    let from_name = input
        .from_name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    if from_name.as_ref().is_some_and(|n| n.chars().count() > 100) {
        issues.add("from_name", "must be at most 100 characters");
    }
    let username = input
        .username
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty());
    issues.finish(|| ()).map_err(RecordError::Invalid)?;
    let key = config.derived_key("smtp-password");
    let previous = smtp_row(tx).await?;
    let password_ciphertext = match input.password {
        Some(p) if p.is_empty() => None,
        Some(p) => Some(encrypt(&key, &p)),
        None => previous.and_then(|p| p.password_ciphertext),
    };
    let row = (
        smtp_settings::tenant.eq(tx.tenant().0),
        smtp_settings::host.eq(&host),
        smtp_settings::port.eq(i32::from(input.port)),
        smtp_settings::tls_mode.eq(input.tls_mode.as_str()),
        smtp_settings::username.eq(&username),
        smtp_settings::password_ciphertext.eq(&password_ciphertext),
        smtp_settings::from_address.eq(&from_address),
        smtp_settings::from_name.eq(&from_name),
        smtp_settings::updated_at.eq(Utc::now()),
        smtp_settings::updated_by.eq(actor),
    );
    let saved: SmtpRow = diesel::insert_into(smtp_settings::table)
        .values(row)
        .on_conflict(smtp_settings::tenant)
        .do_update()
        .set((
            smtp_settings::host.eq(&host),
            smtp_settings::port.eq(i32::from(input.port)),
            smtp_settings::tls_mode.eq(input.tls_mode.as_str()),
            smtp_settings::username.eq(&username),
            smtp_settings::password_ciphertext.eq(&password_ciphertext),
            smtp_settings::from_address.eq(&from_address),
            smtp_settings::from_name.eq(&from_name),
            smtp_settings::updated_at.eq(Utc::now()),
            smtp_settings::updated_by.eq(actor),
        ))
        .returning(SmtpRow::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(DbError::from)?;
    let view = saved.view();
    crate::audit::record(
        tx,
        crate::audit::AuditEntry {
            actor,
            action: "smtp_settings.updated",
            resource: "smtp_settings",
            resource_id: None,
            details: serde_json::to_value(&view).unwrap_or_default(),
        },
    )
    .await?;
    Ok(view)
}

/// Removes the tenant's SMTP settings (mail then goes through the system relay).
pub async fn delete_smtp_settings(tx: &mut TenantTx) -> Result<bool, DbError> {
    let n = diesel::delete(smtp_settings::table)
        .execute(tx.conn())
        .await?;
    Ok(n > 0)
}

/// Why an e-mail was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Try again later: a 4xx answer, or the server could not be reached.
    #[error("{0}")]
    Transient(String),
    /// The server refused the message for good (5xx), or it cannot be built.
    #[error("{0}")]
    Permanent(String),
}

/// Where a tenant's mail goes: a transport and the sender.
#[derive(Clone)]
pub struct Route {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// The sender mailbox.
    pub from: Mailbox,
}

impl Route {
    /// The domain for Message-IDs: the sender's.
    pub fn domain(&self) -> &str {
        self.from.email.domain()
    }
}

/// Sends mail; caches one pooled transport per distinct SMTP settings.
#[derive(Clone)]
pub struct Mailer {
    /// The configuration.
    pub config: Arc<MailConfig>,
    transports: Arc<Mutex<HashMap<Vec<u8>, AsyncSmtpTransport<Tokio1Executor>>>>,
}

impl Mailer {
    /// A mailer for `config`.
    pub fn new(config: MailConfig) -> Mailer {
        Mailer {
            config: Arc::new(config),
            transports: Arc::default(),
        }
    }

    /// The tenant's route: its own SMTP settings, else the system relay.
    pub async fn route(&self, tx: &mut TenantTx) -> Result<Route, SendError> {
        let row = smtp_row(tx)
            .await
            .map_err(|e| SendError::Transient(format!("reading SMTP settings: {e}")))?;
        match row {
            Some(row) => self.tenant_route(row),
            None => self.system_route(),
        }
    }

    fn tenant_route(&self, row: SmtpRow) -> Result<Route, SendError> {
        let password = match &row.password_ciphertext {
            Some(sealed) => Some(
                decrypt(&self.config.derived_key("smtp-password"), sealed).ok_or_else(|| {
                    SendError::Permanent(
                        "the stored SMTP password cannot be decrypted with the configured secret key"
                            .into(),
                    )
                })?,
            ),
            None => None,
        };
        let cache_key = serde_json::to_vec(&(
            &row.host,
            row.port,
            &row.tls_mode,
            &row.username,
            &row.password_ciphertext,
        ))
        .unwrap_or_default();
        let transport = self.cached(cache_key, || {
            let port = u16::try_from(row.port).unwrap_or(25);
            let builder = match TlsMode::parse(&row.tls_mode) {
                TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&row.host),
                TlsMode::Starttls => {
                    AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&row.host)
                        .map_err(|e| SendError::Permanent(format!("SMTP host: {e}")))?
                }
                TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&row.host)
                    .map_err(|e| SendError::Permanent(format!("SMTP host: {e}")))?,
            };
            let mut builder = builder.port(port).timeout(Some(Duration::from_secs(30)));
            if let (Some(user), Some(password)) = (&row.username, &password) {
                builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
            }
            Ok(builder.build())
        })?;
        let from = mailbox(row.from_name.as_deref(), &row.from_address)?;
        Ok(Route { transport, from })
    }

    fn system_route(&self) -> Result<Route, SendError> {
        let url = self.config.default_smtp_url.clone().ok_or_else(|| {
            SendError::Transient(
                "no SMTP server: set the tenant's SMTP settings or KEEL_SMTP_URL".into(),
            )
        })?;
        let transport = self.cached(url.clone().into_bytes(), || {
            AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                .map(|b| b.timeout(Some(Duration::from_secs(30))).build())
                .map_err(|e| SendError::Permanent(format!("KEEL_SMTP_URL: {e}")))
        })?;
        let from: Mailbox = self
            .config
            .default_from
            .parse()
            .map_err(|e| SendError::Permanent(format!("KEEL_MAIL_FROM: {e}")))?;
        Ok(Route { transport, from })
    }

    fn cached(
        &self,
        key: Vec<u8>,
        build: impl FnOnce() -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError>,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
        let mut transports = self.transports.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = transports.get(&key) {
            return Ok(t.clone());
        }
        let transport = build()?;
        transports.insert(key, transport.clone());
        Ok(transport)
    }

    /// Sends `message`; answers the server's reply (`250 …`).
    pub async fn send(&self, route: &Route, message: Message) -> Result<String, SendError> {
        match route.transport.send(message).await {
            Ok(response) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(describe(&e))),
            Err(e) => Err(SendError::Transient(describe(&e))),
        }
    }
}

fn describe(error: &lettre::transport::smtp::Error) -> String {
    use std::error::Error;
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn mailbox(name: Option<&str>, address: &str) -> Result<Mailbox, SendError> {
    let email = address
        .trim()
        .parse()
        .map_err(|e| SendError::Permanent(format!("address {address:?}: {e}")))?;
    Ok(Mailbox::new(name.map(str::to_owned), email))
}

/// What goes into one e-mail.
pub struct Envelope<'a> {
    /// Recipient name.
    pub to_name: &'a str,
    /// Recipient address.
    pub to_email: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// Plain text.
    pub text: &'a str,
    /// HTML.
    pub html: &'a str,
    /// `<id@domain>`.
    pub message_id: &'a str,
    /// The thread root this answers, if any.
    pub in_reply_to: Option<&'a str>,
    /// The thread.
    pub references: &'a [String],
    /// One-click unsubscribe URL.
    pub unsubscribe_url: Option<&'a str>,
}

/// Builds the MIME message: multipart/alternative with text and HTML, threading
/// headers, and List-Unsubscribe (with one-click POST, RFC 8058).
pub fn build_message(route: &Route, envelope: &Envelope<'_>) -> Result<Message, SendError> {
    let to = mailbox(
        Some(envelope.to_name).filter(|n| !n.is_empty()),
        envelope.to_email,
    )?;
    let mut builder = Message::builder()
        .from(route.from.clone())
        .to(to)
        .subject(envelope.subject)
        .message_id(Some(envelope.message_id.to_owned()));
    if let Some(parent) = envelope.in_reply_to {
        builder = builder.in_reply_to(parent.to_owned());
    }
    if !envelope.references.is_empty() {
        builder = builder.references(envelope.references.join(" "));
    }
    if let Some(url) = envelope.unsubscribe_url {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            envelope.text.to_owned(),
            envelope.html.to_owned(),
        ))
        .map_err(|e| SendError::Permanent(format!("building the message: {e}")))
}

/// A file attached to an e-mail.
pub struct Attachment<'a> {
    /// File name the recipient sees.
    pub filename: &'a str,
    /// MIME type, e.g. `application/pdf`.
    pub content_type: &'a str,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Builds a message like [`build_message`] with a file attached
/// (multipart/mixed around the text and HTML alternatives).
pub fn build_message_with_attachment(
    route: &Route,
    envelope: &Envelope<'_>,
    attachment: Attachment<'_>,
) -> Result<Message, SendError> {
    let to = mailbox(
        Some(envelope.to_name).filter(|n| !n.is_empty()),
        envelope.to_email,
    )?;
    let content_type = lettre::message::header::ContentType::parse(attachment.content_type)
        .map_err(|e| SendError::Permanent(format!("attachment type: {e}")))?;
    let file = lettre::message::Attachment::new(attachment.filename.to_owned())
        .body(attachment.bytes, content_type);
    Message::builder()
        .from(route.from.clone())
        .to(to)
        .subject(envelope.subject)
        .message_id(Some(envelope.message_id.to_owned()))
        .multipart(
            MultiPart::mixed()
                .multipart(MultiPart::alternative_plain_html(
                    envelope.text.to_owned(),
                    envelope.html.to_owned(),
                ))
                .singlepart(file),
        )
        .map_err(|e| SendError::Permanent(format!("building the message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip_and_a_wrong_key_reads_nothing() {
        let key = [7u8; 32];
        let sealed = encrypt(&key, "hunter2");
        assert_ne!(&sealed[12..], b"hunter2");
        assert_eq!(decrypt(&key, &sealed).as_deref(), Some("hunter2"));
        assert_eq!(decrypt(&[8u8; 32], &sealed), None);
        assert_eq!(decrypt(&key, &sealed[..5]), None);
        assert_ne!(encrypt(&key, "hunter2"), sealed, "a fresh nonce each time");
    }
}
