// Diesel table definitions matching `migrations/`. Kept in one file, in the shape
// `diesel print-schema` produces; a test (`schema_matches_database`) compares the
// columns named here with the migrated catalogue.

diesel::table! {
    tenants (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    permissions (name) {
        name -> Text,
        description -> Text,
    }
}

diesel::table! {
    users (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        email -> Text,
        full_name -> Text,
        password_hash -> Nullable<Text>,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    roles (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        name -> Text,
        description -> Text,
        is_system -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    role_permissions (tenant, role_id, permission) {
        tenant -> Uuid,
        role_id -> Uuid,
        permission -> Text,
    }
}

diesel::table! {
    role_assignments (tenant, user_id, role_id) {
        tenant -> Uuid,
        user_id -> Uuid,
        role_id -> Uuid,
        assigned_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        token_hash -> Text,
        csrf_token -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    api_keys (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        secret_prefix -> Text,
        secret_hash -> Text,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_log (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        actor_user_id -> Nullable<Uuid>,
        action -> Text,
        resource -> Text,
        resource_id -> Nullable<Uuid>,
        details -> Jsonb,
        request_id -> Nullable<Text>,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    number_sequences (tenant, name) {
        tenant -> Uuid,
        name -> Text,
        prefix -> Text,
        padding -> Int4,
        next_value -> Int8,
    }
}

diesel::table! {
    idempotency_keys (tenant, user_id, key) {
        tenant -> Uuid,
        user_id -> Uuid,
        key -> Text,
        request_hash -> Text,
        status_code -> Nullable<Int4>,
        response_body -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    permissions,
    users,
    roles,
    role_permissions,
    role_assignments,
    sessions,
    api_keys,
    audit_log,
    number_sequences,
    idempotency_keys,
);

diesel::table! {
    outbox (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        event_type -> Text,
        envelope -> Jsonb,
        created_at -> Timestamptz,
        published_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// A view (security_invoker): users with their sorted role names.
    users_with_roles (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        email -> Text,
        full_name -> Text,
        is_active -> Bool,
        created_at -> Timestamptz,
        roles -> Array<Text>,
    }
}

diesel::table! {
    workflow_runs (tenant, run_id) {
        tenant -> Uuid,
        run_id -> Uuid,
        workflow_id -> Text,
        kind -> Text,
        status -> Text,
        input -> Jsonb,
        result -> Nullable<Jsonb>,
        error -> Nullable<Text>,
        started_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    workflow_run_steps (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        run_id -> Uuid,
        name -> Text,
        status -> Text,
        attempt -> Int4,
        input -> Jsonb,
        output -> Nullable<Jsonb>,
        error -> Nullable<Text>,
        started_at -> Timestamptz,
        closed_at -> Timestamptz,
    }
}

diesel::table! {
    activity_effects (tenant, idempotency_key) {
        tenant -> Uuid,
        idempotency_key -> Text,
        activity -> Text,
        result -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    self_test_marks (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        workflow_id -> Text,
        step -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    clients (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        name -> Text,
        client_type -> Text,
        parent_id -> Nullable<Uuid>,
        billing_email -> Nullable<Text>,
        currency -> Bpchar,
        payment_terms -> Text,
        tax_region -> Nullable<Text>,
        is_tax_exempt -> Bool,
        tax_exempt_certificate -> Nullable<Text>,
        billing_cycle -> Text,
        billing_anchor_day -> Int2,
        account_manager_id -> Nullable<Uuid>,
        sla_policy_id -> Nullable<Uuid>,
        notes -> Text,
        tags -> Array<Text>,
        properties -> Jsonb,
        is_inactive -> Bool,
        archived_at -> Nullable<Timestamptz>,
        merged_into -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        search_key -> Text,
    }
}

diesel::table! {
    client_locations (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        client_id -> Uuid,
        name -> Text,
        address_line1 -> Text,
        address_line2 -> Text,
        city -> Text,
        region -> Text,
        postal_code -> Text,
        country -> Nullable<Bpchar>,
        phone -> Nullable<Text>,
        is_default -> Bool,
        is_billing -> Bool,
        archived_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    contacts (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        client_id -> Uuid,
        full_name -> Text,
        role -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        emails -> Jsonb,
        phones -> Jsonb,
        notes -> Text,
        is_inactive -> Bool,
        archived_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        search_key -> Text,
    }
}

diesel::table! {
    interaction_kinds (tenant, key) {
        tenant -> Uuid,
        key -> Text,
        label -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    interactions (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        client_id -> Uuid,
        contact_id -> Nullable<Uuid>,
        ticket_id -> Nullable<Uuid>,
        kind -> Text,
        subject -> Text,
        notes -> Text,
        occurred_at -> Timestamptz,
        duration_minutes -> Nullable<Int4>,
        user_id -> Nullable<Uuid>,
        archived_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    asset_types (tenant, key) {
        tenant -> Uuid,
        key -> Text,
        name -> Text,
        field_schema -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    assets (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        client_id -> Uuid,
        location_id -> Nullable<Uuid>,
        asset_tag -> Text,
        name -> Text,
        kind -> Text,
        serial -> Nullable<Text>,
        status -> Text,
        purchased_on -> Nullable<Date>,
        warranty_expires_on -> Nullable<Date>,
        warranty_notice_for -> Nullable<Date>,
        properties -> Jsonb,
        notes -> Text,
        archived_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        search_key -> Text,
    }
}

diesel::table! {
    asset_relationships (tenant, asset_id, kind, related_asset_id) {
        tenant -> Uuid,
        asset_id -> Uuid,
        related_asset_id -> Uuid,
        kind -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    asset_changes (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        asset_id -> Uuid,
        actor_user_id -> Nullable<Uuid>,
        action -> Text,
        changes -> Jsonb,
        changed_at -> Timestamptz,
    }
}

diesel::table! {
    /// A view (security_invoker): a client's records in time order.
    client_timeline (tenant, entry_type, entry_id) {
        tenant -> Uuid,
        client_id -> Uuid,
        entry_type -> Text,
        entry_id -> Uuid,
        occurred_at -> Timestamptz,
        title -> Text,
        detail -> Text,
        label -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    clients,
    client_locations,
    contacts,
    interactions,
    interaction_kinds,
    asset_types,
    assets,
    asset_relationships,
    asset_changes,
    users,
);

diesel::table! {
    business_hours (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        name -> Text,
        timezone -> Text,
        is_24x7 -> Bool,
        days -> Jsonb,
        holidays -> Array<Date>,
        yearly_holidays -> Array<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    sla_policies (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        name -> Text,
        business_hours_id -> Nullable<Uuid>,
        is_default -> Bool,
        targets -> Jsonb,
        notify_percents -> Array<Int4>,
        escalation_percents -> Array<Int4>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    ticket_statuses (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        name -> Text,
        is_closed -> Bool,
        is_default -> Bool,
        pauses_sla -> Bool,
        sort_order -> Int4,
    }
}

diesel::table! {
    ticket_priorities (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        name -> Text,
        level -> Int2,
        is_default -> Bool,
        sort_order -> Int4,
    }
}

diesel::table! {
    boards (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        name -> Text,
        is_default -> Bool,
        itil_mode -> Bool,
        default_priority_id -> Nullable<Uuid>,
        default_assignee_id -> Nullable<Uuid>,
        sla_policy_id -> Nullable<Uuid>,
        escalation_managers -> Jsonb,
        manager_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    tickets (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        number -> Text,
        title -> Text,
        description -> Text,
        client_id -> Uuid,
        contact_id -> Nullable<Uuid>,
        board_id -> Uuid,
        status_id -> Uuid,
        priority_id -> Uuid,
        category -> Nullable<Text>,
        subcategory -> Nullable<Text>,
        assigned_to -> Nullable<Uuid>,
        due_at -> Nullable<Timestamptz>,
        tags -> Array<Text>,
        origin -> Text,
        response_state -> Nullable<Text>,
        attributes -> Jsonb,
        impact -> Nullable<Int2>,
        urgency -> Nullable<Int2>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
        sla_policy_id -> Nullable<Uuid>,
        sla_state -> Text,
        sla_started_at -> Nullable<Timestamptz>,
        response_due_at -> Nullable<Timestamptz>,
        first_response_at -> Nullable<Timestamptz>,
        response_met -> Nullable<Bool>,
        resolution_due_at -> Nullable<Timestamptz>,
        resolved_at -> Nullable<Timestamptz>,
        resolution_met -> Nullable<Bool>,
        sla_paused_at -> Nullable<Timestamptz>,
        sla_paused_seconds -> Int8,
        escalation_level -> Int2,
        search_key -> Text,
    }
}

diesel::table! {
    /// A view (security_invoker): tickets with status, priority and board names.
    ticket_details (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        number -> Text,
        title -> Text,
        description -> Text,
        client_id -> Uuid,
        contact_id -> Nullable<Uuid>,
        board_id -> Uuid,
        board -> Text,
        status_id -> Uuid,
        status -> Text,
        is_closed -> Bool,
        pauses_sla -> Bool,
        priority_id -> Uuid,
        priority -> Text,
        priority_level -> Int2,
        category -> Nullable<Text>,
        subcategory -> Nullable<Text>,
        assigned_to -> Nullable<Uuid>,
        due_at -> Nullable<Timestamptz>,
        tags -> Array<Text>,
        origin -> Text,
        response_state -> Nullable<Text>,
        attributes -> Jsonb,
        impact -> Nullable<Int2>,
        urgency -> Nullable<Int2>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
        sla_policy_id -> Nullable<Uuid>,
        sla_state -> Text,
        sla_started_at -> Nullable<Timestamptz>,
        response_due_at -> Nullable<Timestamptz>,
        first_response_at -> Nullable<Timestamptz>,
        response_met -> Nullable<Bool>,
        resolution_due_at -> Nullable<Timestamptz>,
        resolved_at -> Nullable<Timestamptz>,
        resolution_met -> Nullable<Bool>,
        sla_paused_at -> Nullable<Timestamptz>,
        sla_paused_seconds -> Int8,
        escalation_level -> Int2,
        search_key -> Text,
        additional_agents -> Array<Uuid>,
    }
}

diesel::table! {
    ticket_agents (tenant, ticket_id, user_id) {
        tenant -> Uuid,
        ticket_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        added_at -> Timestamptz,
    }
}

diesel::table! {
    ticket_comments (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        ticket_id -> Uuid,
        body -> Text,
        is_internal -> Bool,
        author_kind -> Text,
        author_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    ticket_comment_edits (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        comment_id -> Uuid,
        previous_body -> Text,
        edited_by -> Nullable<Uuid>,
        edited_at -> Timestamptz,
    }
}

diesel::table! {
    sla_audit_log (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        ticket_id -> Uuid,
        event -> Text,
        details -> Jsonb,
        dedup_key -> Text,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    notification_settings (tenant) {
        tenant -> Uuid,
        disabled_categories -> Array<Text>,
        disabled_subtypes -> Array<Text>,
        rate_limit_per_minute -> Int4,
        digest_hour_utc -> Int2,
        updated_at -> Timestamptz,
        updated_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    smtp_settings (tenant) {
        tenant -> Uuid,
        host -> Text,
        port -> Int4,
        tls_mode -> Text,
        username -> Nullable<Text>,
        password_ciphertext -> Nullable<Bytea>,
        from_address -> Text,
        from_name -> Nullable<Text>,
        updated_at -> Timestamptz,
        updated_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    notification_templates (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        template_key -> Text,
        locale -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        updated_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    notification_preferences (tenant, user_id, subtype) {
        tenant -> Uuid,
        user_id -> Uuid,
        subtype -> Text,
        enabled -> Bool,
        delivery -> Text,
        override_email -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    notification_log (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        batch_key -> Text,
        event_id -> Nullable<Uuid>,
        template_key -> Text,
        recipient_user_id -> Nullable<Uuid>,
        recipient_contact_id -> Nullable<Uuid>,
        recipient_name -> Text,
        recipient_email -> Text,
        status -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        link -> Nullable<Text>,
        message_id -> Text,
        in_reply_to -> Nullable<Text>,
        thread_references -> Array<Text>,
        unsubscribe_url -> Nullable<Text>,
        digest_id -> Nullable<Uuid>,
        attempts -> Int4,
        smtp_response -> Nullable<Text>,
        last_error -> Nullable<Text>,
        queued_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    in_app_notifications (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        event_id -> Nullable<Uuid>,
        subtype -> Text,
        title -> Text,
        body -> Text,
        link -> Nullable<Text>,
        created_at -> Timestamptz,
        read_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    time_settings (tenant) {
        tenant -> Uuid,
        period -> Jsonb,
        allow_self_approval -> Bool,
        reminder_hours -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    timesheets (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        period_start -> Date,
        period_end -> Date,
        status -> Text,
        submitted_at -> Nullable<Timestamptz>,
        decided_at -> Nullable<Timestamptz>,
        decided_by -> Nullable<Uuid>,
        reason -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        submission -> Int4,
    }
}

diesel::table! {
    time_entries (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        timesheet_id -> Uuid,
        client_id -> Uuid,
        ticket_id -> Nullable<Uuid>,
        work_date -> Date,
        started_at -> Nullable<Timestamptz>,
        ended_at -> Nullable<Timestamptz>,
        minutes -> Int4,
        billable_minutes -> Int4,
        service_id -> Nullable<Uuid>,
        notes -> Text,
        overlapping -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        approval_status -> Text,
        invoice_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    time_periods (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        starts_on -> Date,
        ends_on -> Date,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    timesheet_comments (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        timesheet_id -> Uuid,
        author_id -> Uuid,
        body -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    time_timers (tenant, user_id) {
        tenant -> Uuid,
        user_id -> Uuid,
        started_at -> Timestamptz,
        client_id -> Nullable<Uuid>,
        ticket_id -> Nullable<Uuid>,
        service_id -> Nullable<Uuid>,
        notes -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    tickets,
    ticket_details,
    ticket_statuses,
    ticket_priorities,
    boards,
    ticket_agents,
    ticket_comments,
    sla_policies,
    business_hours,
);

diesel::table! {
    tax_regions (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        code -> Text,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    tax_rates (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        region_id -> Uuid,
        starts_on -> Date,
        ends_on -> Nullable<Date>,
        components -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    services (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        name -> Text,
        kind -> Text,
        unit -> Text,
        tax_category -> Nullable<Text>,
        description -> Text,
        is_archived -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    service_prices (tenant, service_id, currency) {
        tenant -> Uuid,
        service_id -> Uuid,
        currency -> Text,
        rate_cents -> Int8,
        position -> Int4,
    }
}

diesel::table! {
    contracts (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        client_id -> Uuid,
        name -> Text,
        currency -> Text,
        starts_on -> Date,
        ends_on -> Nullable<Date>,
        billing_frequency -> Text,
        anchor -> Jsonb,
        discounts -> Jsonb,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    contract_lines (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        contract_id -> Uuid,
        position -> Int4,
        kind -> Text,
        service_id -> Uuid,
        billing_timing -> Text,
        rate_cents -> Nullable<Int8>,
        terms -> Jsonb,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    tax_regions,
    tax_rates,
    services,
    service_prices,
    contracts,
    contract_lines,
);

diesel::table! {
    usage_records (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        client_id -> Uuid,
        service_id -> Uuid,
        quantity -> Numeric,
        recorded_on -> Date,
        note -> Text,
        invoice_id -> Nullable<Uuid>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    invoices (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        client_id -> Uuid,
        number -> Nullable<Text>,
        status -> Text,
        origin -> Text,
        currency -> Text,
        invoice_date -> Date,
        period_start -> Nullable<Date>,
        period_end -> Nullable<Date>,
        due_on -> Nullable<Date>,
        subtotal_cents -> Int8,
        discount_cents -> Int8,
        tax_cents -> Int8,
        total_cents -> Int8,
        credit_applied_cents -> Int8,
        paid_cents -> Int8,
        notes -> Text,
        billing_run_id -> Nullable<Uuid>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        finalized_at -> Nullable<Timestamptz>,
        voided_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    invoice_lines (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        invoice_id -> Uuid,
        position -> Int4,
        description -> Text,
        service_id -> Nullable<Uuid>,
        quantity -> Numeric,
        unit_price_cents -> Int8,
        amount_cents -> Int8,
        tax_cents -> Int8,
        tax_category -> Nullable<Text>,
        service_start -> Date,
        service_end -> Date,
        contract_id -> Nullable<Uuid>,
        contract_line_id -> Nullable<Uuid>,
        source -> Jsonb,
    }
}

diesel::table! {
    billed_periods (tenant, contract_id, period_start) {
        tenant -> Uuid,
        contract_id -> Uuid,
        period_start -> Date,
        period_end -> Date,
        client_id -> Uuid,
        invoice_id -> Nullable<Uuid>,
        billing_run_id -> Nullable<Uuid>,
        rollover -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    credits (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        client_id -> Uuid,
        currency -> Text,
        amount_cents -> Int8,
        remaining_cents -> Int8,
        origin -> Text,
        reason -> Text,
        expires_on -> Nullable<Date>,
        invoice_id -> Nullable<Uuid>,
        expired_at -> Nullable<Timestamptz>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    payments (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        invoice_id -> Uuid,
        client_id -> Uuid,
        amount_cents -> Int8,
        received_on -> Date,
        reference -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    transactions (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        client_id -> Uuid,
        currency -> Text,
        seq -> Int8,
        kind -> Text,
        amount_cents -> Int8,
        balance_after_cents -> Int8,
        credit_cents -> Int8,
        credit_after_cents -> Int8,
        invoice_id -> Nullable<Uuid>,
        credit_id -> Nullable<Uuid>,
        payment_id -> Nullable<Uuid>,
        description -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    invoices,
    invoice_lines,
    billed_periods,
    credits,
    payments,
    transactions,
);

diesel::table! {
    invoice_templates (tenant, name) {
        tenant -> Uuid,
        name -> Text,
        body -> Text,
        updated_by -> Nullable<Uuid>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    invoice_deliveries (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        invoice_id -> Uuid,
        to_email -> Text,
        message_id -> Text,
        pdf_bytes -> Int4,
        sent_at -> Timestamptz,
    }
}

diesel::table! {
    playbooks (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        name -> Text,
        description -> Text,
        trigger -> Jsonb,
        enabled -> Bool,
        current_version -> Int4,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    playbook_versions (tenant, playbook_id, version) {
        tenant -> Uuid,
        playbook_id -> Uuid,
        version -> Int4,
        source -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        input_schema -> Jsonb,
        permissions -> Array<Text>,
    }
}

diesel::table! {
    playbook_kv (tenant, key) {
        tenant -> Uuid,
        key -> Text,
        value -> Jsonb,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    playbook_limits (tenant) {
        tenant -> Uuid,
        max_concurrent_runs -> Int4,
        max_runs_per_day -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    playbook_http_hosts (tenant, id) {
        tenant -> Uuid,
        id -> Uuid,
        pattern -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(playbooks, playbook_versions);
