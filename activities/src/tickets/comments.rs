//! Ticket comments: public or internal, with an edit history. The first public
//! technician reply is the ticket's first response.

use crate::audit::{self, AuditEntry};
use crate::db::{DbError, TenantTx};
use crate::records::RecordError;
use crate::schema::{ticket_comment_edits, ticket_comments};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use engine::DomainEvent;
use serde::Serialize;
use uuid::Uuid;

/// A comment as stored.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = ticket_comments)]
pub struct Comment {
    /// Id.
    pub id: Uuid,
    /// The ticket.
    pub ticket_id: Uuid,
    /// Text (Markdown).
    pub body: String,
    /// Visible to the MSP only.
    #[serde(rename = "internal")]
    pub is_internal: bool,
    /// `technician`, `contact` or `system`.
    pub author_kind: String,
    /// The user (technician) or contact who wrote it.
    pub author_id: Option<Uuid>,
    /// Written at.
    pub created_at: DateTime<Utc>,
    /// Last edited at.
    pub updated_at: DateTime<Utc>,
}

/// Adds a comment by a technician (the caller). Answers the comment and whether it
/// was the ticket's first response.
pub async fn add_comment(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    body: &str,
    internal: bool,
    author: Uuid,
) -> Result<(Comment, bool), RecordError> {
    let ticket = super::find_ticket(tx, ticket_id)
        .await?
        .ok_or(RecordError::NotFound("ticket"))?;
    let earlier_public_reply: bool = diesel::select(diesel::dsl::exists(
        ticket_comments::table
            .filter(ticket_comments::ticket_id.eq(ticket_id))
            .filter(ticket_comments::is_internal.eq(false))
            .filter(ticket_comments::author_kind.eq("technician")),
    ))
    .get_result(tx.conn())
    .await
    .map_err(DbError::from)?;
    let comment: Comment = diesel::insert_into(ticket_comments::table)
        .values((
            ticket_comments::tenant.eq(tx.tenant().0),
            ticket_comments::id.eq(Uuid::now_v7()),
            ticket_comments::ticket_id.eq(ticket_id),
            ticket_comments::body.eq(body),
            ticket_comments::is_internal.eq(internal),
            ticket_comments::author_kind.eq("technician"),
            ticket_comments::author_id.eq(author),
        ))
        .returning(Comment::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(DbError::from)?;
    let first_response = !internal && !earlier_public_reply && ticket.first_response_at.is_none();
    let mut event = engine::TicketEvent {
        id: ticket.id,
        client_id: ticket.client_id,
        number: ticket.number.clone(),
        comment_id: Some(comment.id),
        first_response,
        user_id: Some(author),
        ..Default::default()
    };
    event.status = Some(ticket.status.clone());
    audit::record_with_event(
        tx,
        AuditEntry {
            actor: Some(author),
            action: "ticket.comment_added",
            resource: "ticket",
            resource_id: Some(ticket.id),
            details: serde_json::json!({ "comment_id": comment.id, "internal": internal }),
        },
        DomainEvent::TicketCommentAdded(event),
    )
    .await?;
    Ok((comment, first_response))
}

/// The ticket's comments, oldest first.
pub async fn list_comments(tx: &mut TenantTx, ticket_id: Uuid) -> Result<Vec<Comment>, DbError> {
    Ok(ticket_comments::table
        .filter(ticket_comments::ticket_id.eq(ticket_id))
        .select(Comment::as_select())
        .order(ticket_comments::id)
        .limit(1000)
        .load(tx.conn())
        .await?)
}

/// Replaces a comment's body, keeping the previous one in its edit history. Only the
/// author may edit.
pub async fn edit_comment(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    comment_id: Uuid,
    body: &str,
    editor: Uuid,
) -> Result<Comment, RecordError> {
    let current: Comment = ticket_comments::table
        .find((tx.tenant().0, comment_id))
        .filter(ticket_comments::ticket_id.eq(ticket_id))
        .select(Comment::as_select())
        .for_update()
        .first(tx.conn())
        .await
        .optional()
        .map_err(DbError::from)?
        .ok_or(RecordError::NotFound("comment"))?;
    if current.author_id != Some(editor) {
        return Err(RecordError::Conflict(
            "only the author may edit a comment".into(),
        ));
    }
    diesel::insert_into(ticket_comment_edits::table)
        .values((
            ticket_comment_edits::tenant.eq(tx.tenant().0),
            ticket_comment_edits::id.eq(Uuid::now_v7()),
            ticket_comment_edits::comment_id.eq(comment_id),
            ticket_comment_edits::previous_body.eq(&current.body),
            ticket_comment_edits::edited_by.eq(editor),
        ))
        .execute(tx.conn())
        .await
        .map_err(DbError::from)?;
    let updated: Comment = diesel::update(ticket_comments::table.find((tx.tenant().0, comment_id)))
        .set((
            ticket_comments::body.eq(body),
            ticket_comments::updated_at.eq(Utc::now()),
        ))
        .returning(Comment::as_returning())
        .get_result(tx.conn())
        .await
        .map_err(DbError::from)?;
    audit::record(
        tx,
        AuditEntry {
            actor: Some(editor),
            action: "ticket.comment_edited",
            resource: "ticket",
            resource_id: Some(ticket_id),
            details: serde_json::json!({ "comment_id": comment_id }),
        },
    )
    .await?;
    Ok(updated)
}
