//! The SMTP sink harness itself, driven by `lettre` the way Keel's mailer is: every
//! field reads back, transient failures surface as 4xx, and a sink that goes away
//! and comes back loses nothing it accepted.

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use keel_tests::smtp::SmtpSink;
use lettre::address::Envelope;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::MultiPart;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// A plain-SMTP lettre transport to the sink, as Keel's mailer would build one.
fn mailer(sink: &SmtpSink) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(sink.host())
        .port(sink.port())
        .timeout(Some(Duration::from_secs(10)))
        .build()
}

/// A raw header lettre has no typed builder for.
fn header(name: &'static str, value: &str) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value.to_owned())
}

/// A one-part message with the given subject.
fn note(subject: &str) -> anyhow::Result<Message> {
    Ok(Message::builder()
        .from("desk@msp.test".parse()?)
        .to("anna@client.test".parse()?)
        .subject(subject)
        .body(format!("{subject}\n"))?)
}

#[tokio::test]
async fn a_multipart_notification_reads_back_field_by_field() -> anyhow::Result<()> {
    let sink = SmtpSink::start().await?;
    assert_eq!(sink.host(), "127.0.0.1");
    assert_eq!(sink.url(), format!("smtp://127.0.0.1:{}", sink.port()));

    let text = "Hallo Anna,\n\nder Drucker im 2. OG druckt nur noch leere Seiten.\nGrüße, Ihr Service Desk\n";
    let html = "<p>Hallo Anna,</p><p>der Drucker im 2. OG druckt nur noch <b>leere Seiten</b>.</p><p>Grüße, Ihr Service Desk</p>";
    let email = Message::builder()
        .from("Keel Service Desk <desk@msp.test>".parse()?)
        .to("Anna Müller <anna@client.test>".parse()?)
        .to("it@client.test".parse()?)
        .subject("Ticket T-000001 — Drucker kaputt")
        .message_id(Some("<t-000001.3@keel.test>".to_owned()))
        .in_reply_to("<t-000001.2@keel.test>".to_owned())
        .references("<t-000001.1@keel.test> <t-000001.2@keel.test>".to_owned())
        .raw_header(header(
            "List-Unsubscribe",
            "<https://keel.test/u/abc123>, <mailto:unsubscribe@keel.test?subject=abc123>",
        ))
        .raw_header(header(
            "List-Unsubscribe-Post",
            "List-Unsubscribe=One-Click",
        ))
        .envelope(Envelope::new(
            Some("bounces+t-000001@msp.test".parse()?),
            vec!["anna@client.test".parse()?, "it@client.test".parse()?],
        )?)
        .multipart(MultiPart::alternative_plain_html(
            text.to_owned(),
            html.to_owned(),
        ))?;

    let before = Utc::now();
    mailer(&sink)
        .send(email)
        .await
        .context("sending to the sink")?;
    let after = Utc::now();

    let mails = sink.wait_for(1, Duration::from_secs(10)).await?;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.envelope_from, "bounces+t-000001@msp.test");
    assert_eq!(mail.envelope_to, ["anna@client.test", "it@client.test"]);
    // The sink stamps with microseconds; allow for that rounding.
    let slack = chrono::Duration::milliseconds(1);
    assert!(
        before - slack <= mail.received_at && mail.received_at <= after + slack,
        "{before} <= {} <= {after}",
        mail.received_at
    );
    assert_eq!(mail.from, "desk@msp.test");
    assert_eq!(mail.to, ["anna@client.test", "it@client.test"]);
    assert_eq!(mail.subject, "Ticket T-000001 — Drucker kaputt");
    assert_eq!(mail.message_id.as_deref(), Some("t-000001.3@keel.test"));
    assert_eq!(mail.in_reply_to.as_deref(), Some("t-000001.2@keel.test"));
    assert_eq!(
        mail.references,
        ["t-000001.1@keel.test", "t-000001.2@keel.test"]
    );
    assert_eq!(
        mail.list_unsubscribe.as_deref(),
        Some("<https://keel.test/u/abc123>, <mailto:unsubscribe@keel.test?subject=abc123>")
    );
    assert_eq!(
        mail.list_unsubscribe_post.as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    // lettre sends CRLF line ends, which is what a recipient decodes.
    assert_eq!(
        mail.text_body.as_deref(),
        Some(text.replace('\n', "\r\n").as_str())
    );
    assert_eq!(mail.html_body.as_deref(), Some(html));

    let header = |name: &str| {
        mail.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("MIME-Version"), Some("1.0"));
    assert!(header("Date").is_some(), "{:?}", mail.headers);
    assert!(
        header("Content-Type").is_some_and(|ct| ct.starts_with("multipart/alternative")),
        "{:?}",
        mail.headers
    );
    assert!(
        mail.headers
            .iter()
            .all(|(name, _)| !name.starts_with("X-Sink-")),
        "{:?}",
        mail.headers
    );

    // An HTML-only message has no text body, and a text-only one no HTML body:
    // nothing mail-parser would derive from the other part counts.
    let html_only = Message::builder()
        .from("desk@msp.test".parse()?)
        .to("anna@client.test".parse()?)
        .subject("html only")
        .header(lettre::message::header::ContentType::TEXT_HTML)
        .body("<p>only HTML</p>".to_owned())?;
    mailer(&sink).send(html_only).await?;
    mailer(&sink).send(note("text only")?).await?;
    let mails = sink.wait_for(3, Duration::from_secs(10)).await?;
    assert_eq!(mails[1].subject, "html only");
    assert_eq!(mails[1].text_body, None);
    // A single-part body runs to the end of the message, and lettre always sends
    // CRLF before the final `.`: one more line end than the body had.
    assert_eq!(mails[1].html_body.as_deref(), Some("<p>only HTML</p>\r\n"));
    assert_eq!(mails[2].subject, "text only");
    assert_eq!(mails[2].text_body.as_deref(), Some("text only\r\n\r\n"));
    assert_eq!(mails[2].html_body, None);
    // lettre adds a Date header on its own but no Message-ID: the mailer must set it.
    assert_eq!(mails[2].message_id, None);
    Ok(())
}

#[tokio::test]
async fn transient_failures_and_a_sink_restart_are_visible_to_the_sender() -> anyhow::Result<()> {
    let mut sink = SmtpSink::start_failing_first(1).await?;
    let mailer = mailer(&sink);

    let error = mailer
        .send(note("attempt 1")?)
        .await
        .expect_err("the sink answers the first message with 451");
    assert!(error.is_transient(), "{error:?}");
    assert_eq!(
        error.status().map(|code| code.to_string()),
        Some("451".to_owned())
    );
    mailer
        .send(note("attempt 2")?)
        .await
        .context("the second attempt")?;

    sink.stop().await?;
    let error = mailer
        .send(note("attempt 3")?)
        .await
        .expect_err("nothing listens while the sink is stopped");
    assert!(
        !error.is_transient() && !error.is_permanent(),
        "not an SMTP answer: {error:?}"
    );

    sink.restart().await?;
    mailer
        .send(note("attempt 4")?)
        .await
        .context("after the restart")?;

    let subjects: Vec<String> = sink.messages()?.into_iter().map(|m| m.subject).collect();
    assert_eq!(subjects, ["attempt 2", "attempt 4"]);
    // Sequence numbers continue across the restart instead of starting over.
    let mut names: Vec<String> = std::fs::read_dir(sink.dir())?
        .map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()?;
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names[0].starts_with("000000000000-") && names[1].starts_with("000000000001-"),
        "{names:?}"
    );
    Ok(())
}
