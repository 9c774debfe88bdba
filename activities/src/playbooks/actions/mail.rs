//! `send_email`: e-mail from a playbook, queued and sent by the notification
//! pipeline.
//!
//! Sending SMTP inside the action's transaction could not be undone if the commit
//! then failed, and a retried activity would send again. So the action only writes:
//! one `queued` row per recipient in `notification_log` and an `email.queued`
//! event, in the transaction that also records the step's effect (a retry or a
//! replay finds the effect and writes nothing). The workflow starter turns the
//! event into an `OutboundEmail` run, which sends the rows in the tenant's
//! rate-limited batches, retries while the SMTP server is away and marks each row
//! sent or failed once. A dry run never reaches this code.

use super::{text_field, to_json, ActionError};
use crate::db::TenantTx;
use crate::events;
use crate::notifications::{self, mail};
use crate::records::RecordError;
use crate::schema::{notification_log, tenants};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::identity::Email;
use engine::notifications::templates::{self, RenderedEmail, TemplateKey, TemplateSet};
use engine::{DomainEvent, EmailQueued};
use serde_json::{json, Value};
use uuid::Uuid;

/// Recipients of one call.
pub const MAX_RECIPIENTS: usize = 20;
/// Characters of a subject.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Characters of a text body.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// What the script asked for, checked.
enum Content {
    Text { subject: String, text: String },
    Template { key: TemplateKey, data: Value },
}

/// Queues the e-mail for each recipient and announces the batch; see the module
/// comment for why nothing is sent here.
pub(super) async fn send_email(tx: &mut TenantTx, args: &Value) -> Result<Value, ActionError> {
    let to = recipients(args.get("to"))?;
    let content = content(args)?;
    let tenant_name: String = tenants::table
        .find(tx.tenant().0)
        .select(tenants::name)
        .first(tx.conn())
        .await?;
    let (set, template_key) = match &content {
        Content::Text { .. } => (plain_set(), "playbook".to_owned()),
        Content::Template { key, .. } => (
            notifications::template_in_force(tx, *key, templates::DEFAULT_LOCALE).await?,
            key.as_str().to_owned(),
        ),
    };
    let mut rendered = Vec::with_capacity(to.len());
    for address in &to {
        let mut context = match &content {
            Content::Text { subject, text } => json!({"email": {"subject": subject, "text": text}}),
            Content::Template { data, .. } => data.clone(),
        };
        context["tenant"] = json!({"name": tenant_name});
        context["recipient"] = json!({"name": "", "email": address});
        context["unsubscribe_url"] = json!("");
        if context.get("link").is_none() {
            context["link"] = json!("");
        }
        let email = templates::render(&set, &context).map_err(|e| {
            RecordError::field(
                "data",
                format!("does not fit the template {template_key}: {e}"),
            )
        })?;
        rendered.push((address.clone(), email));
    }
    let domain = sender_domain(tx).await?;
    let batch_key = format!("playbook:{}", Uuid::now_v7());
    let first_subject = rendered
        .iter()
        .map(|(_, e)| e.subject.clone())
        .next()
        .unwrap_or_default();
    let emails = u32::try_from(rendered.len()).unwrap_or(u32::MAX);
    let event = events::emit(
        tx,
        DomainEvent::EmailQueued(EmailQueued {
            batch_key: batch_key.clone(),
            emails,
        }),
    )
    .await?;
    let queued = Batch {
        key: &batch_key,
        event_id: event.event_id,
        template_key: &template_key,
        domain: &domain,
    };
    queue(tx, &queued, &rendered).await?;
    to_json(json!({
        "batch_key": batch_key,
        "queued": emails,
        "to": to,
        "subject": first_subject,
        "template": template_key,
    }))
}

/// `to` as distinct, normalised addresses: one text or a list of 1 to 20.
fn recipients(to: Option<&Value>) -> Result<Vec<String>, ActionError> {
    let list: Vec<&Value> = match to {
        Some(Value::String(_)) => vec![to.unwrap_or(&Value::Null)],
        Some(Value::Array(items)) => items.iter().collect(),
        _ => {
            return Err(
                RecordError::field("to", "must be an e-mail address or a list of them").into(),
            )
        }
    };
    if list.is_empty() || list.len() > MAX_RECIPIENTS {
        return Err(
            RecordError::field("to", format!("must name 1 to {MAX_RECIPIENTS} addresses")).into(),
        );
    }
    let mut addresses: Vec<String> = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let field = if matches!(to, Some(Value::Array(_))) {
            format!("to[{i}]")
        } else {
            "to".to_owned()
        };
        let text = item.as_str().unwrap_or_default();
        let parsed = Email::parse(text)
            .ok()
            .filter(|e| e.as_str().parse::<lettre::Address>().is_ok())
            .ok_or_else(|| {
                RecordError::field(&field, format!("{text:?} is not an e-mail address"))
            })?;
        let address = parsed.as_str().to_owned();
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    Ok(addresses)
}

fn content(args: &Value) -> Result<Content, ActionError> {
    let template = text_field(args, "template").map(str::trim);
    let subject = text_field(args, "subject");
    let text = text_field(args, "text");
    match template {
        Some(name) => {
            if subject.is_some() || text.is_some() {
                return Err(RecordError::field(
                    "template",
                    "give either a template (with data) or subject and text, not both",
                )
                .into());
            }
            let key = TemplateKey::parse(name)
                .map_err(|m| RecordError::field("template", format!("{name:?} {m}")))?;
            let data = match args.get("data") {
                None | Some(Value::Null) => json!({}),
                Some(map @ Value::Object(_)) => map.clone(),
                Some(_) => return Err(RecordError::field("data", "must be a map").into()),
            };
            if data.to_string().len() > 65_536 {
                return Err(RecordError::field("data", "must be at most 64 KiB as JSON").into());
            }
            Ok(Content::Template { key, data })
        }
        None => {
            let subject = subject.map(str::trim).unwrap_or_default();
            if subject.is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS {
                return Err(RecordError::field(
                    "subject",
                    format!("must be 1 to {MAX_SUBJECT_CHARS} characters (or give a template)"),
                )
                .into());
            }
            if subject.chars().any(char::is_control) {
                return Err(RecordError::field("subject", "must be one line").into());
            }
            let text = text.unwrap_or_default();
            if text.trim().is_empty() || text.chars().count() > MAX_TEXT_CHARS {
                return Err(RecordError::field(
                    "text",
                    format!("must be 1 to {MAX_TEXT_CHARS} characters"),
                )
                .into());
            }
            if args.get("data").is_some() {
                return Err(RecordError::field("data", "goes with a template").into());
            }
            Ok(Content::Text {
                subject: subject.to_owned(),
                text: text.to_owned(),
            })
        }
    }
}

/// How a plain-text e-mail is laid out: the text as given (escaped in the HTML
/// part), in Keel's layout like every notification.
fn plain_set() -> TemplateSet {
    TemplateSet {
        subject: "{{ email.subject }}".into(),
        text: "{{ email.text }}".into(),
        html: "<div style=\"white-space:pre-wrap\">{{ email.text }}</div>".into(),
    }
}

/// The domain of Message-IDs: the tenant's sender, as the fan-out uses.
async fn sender_domain(tx: &mut TenantTx) -> Result<String, ActionError> {
    let settings = mail::find_smtp_settings(tx).await?;
    Ok(settings
        .and_then(|s| {
            s.from_address
                .rsplit_once('@')
                .map(|(_, d)| d.trim_end_matches('>').to_owned())
        })
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "keel.invalid".to_owned()))
}

/// What the rows of one call share.
struct Batch<'a> {
    key: &'a str,
    event_id: Uuid,
    template_key: &'a str,
    domain: &'a str,
}

async fn queue(
    tx: &mut TenantTx,
    batch: &Batch<'_>,
    rendered: &[(String, RenderedEmail)],
) -> Result<(), ActionError> {
    let tenant = tx.tenant().0;
    let domain = batch.domain;
    let rows: Vec<_> = rendered
        .iter()
        .map(|(address, email)| {
            let id = Uuid::now_v7();
            (
                notification_log::tenant.eq(tenant),
                notification_log::id.eq(id),
                notification_log::batch_key.eq(batch.key),
                notification_log::event_id.eq(batch.event_id),
                notification_log::template_key.eq(batch.template_key),
                notification_log::recipient_email.eq(address),
                notification_log::status.eq("queued"),
                notification_log::subject.eq(&email.subject),
                notification_log::text_body.eq(&email.text),
                notification_log::html_body.eq(&email.html),
                notification_log::message_id.eq(format!("<{}@{domain}>", id.simple())),
            )
        })
        .collect();
    diesel::insert_into(notification_log::table)
        .values(rows)
        .execute(tx.conn())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(result: Result<impl std::fmt::Debug, ActionError>) -> String {
        match result {
            Err(ActionError::Refused(m)) => m,
            Err(ActionError::Db(e)) => panic!("not a refusal: {e}"),
            Ok(v) => panic!("accepted: {v:?}"),
        }
    }

    #[test]
    fn recipients_are_checked_and_deduplicated() {
        let ok = recipients(Some(&json!(["A@x.example", "a@x.example", "b@y.example"])));
        assert_eq!(
            ok.expect("valid"),
            vec!["a@x.example".to_owned(), "b@y.example".to_owned()]
        );
        assert_eq!(
            recipients(Some(&json!("one@x.example"))).expect("one"),
            vec!["one@x.example".to_owned()]
        );
        let too_many: Vec<String> = (0..21).map(|i| format!("u{i}@x.example")).collect();
        let cases = [
            ("missing", None, "to must be"),
            ("a number", Some(json!(5)), "to must be"),
            ("empty list", Some(json!([])), "1 to 20"),
            ("21 addresses", Some(json!(too_many)), "1 to 20"),
            ("no domain", Some(json!("nobody")), "to \"nobody\""),
            ("second bad", Some(json!(["a@x.example", "b@"])), "to[1]"),
            ("not text", Some(json!(["a@x.example", 3])), "to[1]"),
        ];
        for (name, to, expected) in cases {
            let message = refusal(recipients(to.as_ref()));
            assert!(message.contains(expected), "{name}: {message}");
        }
    }

    #[test]
    fn content_is_text_or_a_template_and_sizes_are_capped() {
        assert!(matches!(
            content(&json!({"subject": "Hi", "text": "Body"})),
            Ok(Content::Text { .. })
        ));
        assert!(matches!(
            content(&json!({"template": "invoice_overdue", "data": {"invoice": {}}})),
            Ok(Content::Template { .. })
        ));
        let long_subject = "s".repeat(MAX_SUBJECT_CHARS + 1);
        let long_text = "t".repeat(MAX_TEXT_CHARS + 1);
        let cases = [
            ("no subject", json!({"text": "Body"}), "subject"),
            (
                "long subject",
                json!({"subject": long_subject, "text": "b"}),
                "subject",
            ),
            (
                "two-line subject",
                json!({"subject": "a\nb", "text": "b"}),
                "subject must be one line",
            ),
            ("no text", json!({"subject": "Hi"}), "text"),
            (
                "long text",
                json!({"subject": "Hi", "text": long_text}),
                "text",
            ),
            (
                "both",
                json!({"template": "invoice_overdue", "subject": "Hi"}),
                "template",
            ),
            (
                "unknown template",
                json!({"template": "nope"}),
                "template \"nope\"",
            ),
            (
                "data not a map",
                json!({"template": "invoice_overdue", "data": [1]}),
                "data must be a map",
            ),
            (
                "data without template",
                json!({"subject": "Hi", "text": "b", "data": {}}),
                "data goes with a template",
            ),
        ];
        for (name, args, expected) in cases {
            let message = refusal(content(&args).map(|_| ()));
            assert!(message.contains(expected), "{name}: {message}");
        }
    }
}
