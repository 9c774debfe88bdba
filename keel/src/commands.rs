//! The subcommands that act on one piece of Keel.

use crate::config::{redacted, Config};
use activities::credentials::{hash_password, issue_api_key, random_secret};
use activities::temporal::Temporal;
use activities::{audit, migrate, tenants, users, Db};
use anyhow::{anyhow, bail, Context, Result};
use engine::{Email, ShippedRole, Slug};
use std::future::Future;

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
}

pub fn connect_db(config: &Config) -> Result<Db> {
    Db::connect(&config.app_url(), 16)
        .with_context(|| format!("cannot connect to {}", redacted(&config.app_url())))
}

pub async fn migrate(config: &Config) -> Result<()> {
    let owner = config.owner_url();
    let applied = migrate::run_pending(&owner)
        .await
        .with_context(|| format!("migrating {}", redacted(&owner)))?;
    if let Some(password) = &config.app_db_password {
        migrate::set_app_role_password(&owner, password).await?;
    }
    if applied.is_empty() {
        eprintln!("database is up to date");
    } else {
        eprintln!(
            "applied {} migration(s): {}",
            applied.len(),
            applied.join(", ")
        );
    }
    Ok(())
}

pub async fn serve(
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let db = connect_db(config)?;
    let redis = activities::ratelimit::connect(&config.redis_url())
        .await
        .with_context(|| {
            format!(
                "cannot connect to Redis at {}",
                redacted(&config.redis_url())
            )
        })?;
    let state = admin_ui::AppState::new(db, redis, &config.redis_prefix, config.http_settings());
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (KEEL_LISTEN)", config.listen))?;
    tracing::info!(listen = %config.listen, "serving the UI and API");
    admin_ui::serve(listener, state, shutdown).await?;
    Ok(())
}

pub async fn worker(config: &Config, shutdown: impl Future<Output = ()>) -> Result<()> {
    let db = connect_db(config)?;
    workers::run(config.worker_settings(), db, shutdown)
        .await
        .map_err(|e| anyhow!(e))
}

/// Creates a tenant, then waits for its `TenantOnboarding` run to finish.
pub async fn create_tenant(config: &Config, slug: &str, name: &str) -> Result<()> {
    let slug = Slug::parse(slug).map_err(|e| anyhow!("invalid --slug {slug:?}: {e}"))?;
    let db = connect_db(config)?;
    let tenant = tenants::insert_tenant(&db, &slug, name)
        .await
        .map_err(|e| match e {
            tenants::TenantError::InvalidName => anyhow!("invalid --name: {e}"),
            tenants::TenantError::SlugTaken(_) => anyhow!("invalid --slug: {e}"),
            other => anyhow!(other),
        })?;
    println!("{}", tenant.id);
    let temporal = Temporal::connect(&config.temporal_address(), &config.temporal_namespace, &config.task_queue_prefix)
        .await
        .map_err(|e| anyhow!("tenant {} created, but onboarding could not start ({e}); it starts from the tenant.created event once a worker runs", tenant.slug))?;
    let run = temporal
        .start_onboarding(tenant.tenant_id(), &tenant.slug)
        .await?;
    eprintln!(
        "onboarding: workflow {} run {}",
        run.workflow_id,
        run.run_id.as_deref().unwrap_or("?")
    );
    let waiting = temporal.onboarding_result(tenant.tenant_id());
    tokio::pin!(waiting);
    let result = tokio::select! {
        result = &mut waiting => result,
        () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {
            eprintln!("waiting for a Keel worker to run onboarding (start one with `keel worker`)…");
            waiting.await
        }
    }?;
    eprintln!(
        "onboarded: {} role and permission rows, {} number sequences",
        result.access_rows, result.sequence_rows
    );
    Ok(())
}

pub async fn find_tenant(db: &Db, slug: &str) -> Result<tenants::Tenant> {
    tenants::tenant_by_slug(db, slug)
        .await?
        .ok_or_else(|| anyhow!("invalid --tenant: no tenant with slug {slug:?}"))
}

pub async fn create_user(
    config: &Config,
    tenant: &str,
    email: &str,
    roles: &[String],
    password: Option<String>,
    name: Option<String>,
) -> Result<()> {
    let email = Email::parse(email).map_err(|e| anyhow!("invalid --email {email:?}: {e}"))?;
    let roles = canonical_roles(roles)?;
    if password.as_ref().is_some_and(|p| p.chars().count() < 12) {
        bail!("invalid --password: must be at least 12 characters");
    }
    let db = connect_db(config)?;
    let tenant = find_tenant(&db, tenant).await?;
    let generated = password.is_none();
    let password = password.unwrap_or_else(|| random_secret()[..24].to_owned());
    let full_name = name.unwrap_or_else(|| {
        email
            .as_str()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    let mut tx = db.tenant_tx(tenant.tenant_id()).await?;
    let new = users::NewUser {
        email: &email,
        full_name: &full_name,
        password_hash: Some(hash_password(&password)),
        roles: &roles,
    };
    let user = users::create_user(&mut tx, new, None)
        .await
        .map_err(|e| match e {
            users::UserError::EmailTaken(_) => anyhow!("invalid --email: {e}"),
            other => anyhow!(other),
        })?;
    tx.commit().await?;
    println!("{}", user.id);
    if generated {
        println!("password: {password}");
    }
    Ok(())
}

fn canonical_roles(roles: &[String]) -> Result<Vec<String>> {
    roles
        .iter()
        .map(|r| {
            ShippedRole::named(r)
                .map(|role| role.name.to_owned())
                .ok_or_else(|| {
                    let known: Vec<&str> = engine::SHIPPED_ROLES.iter().map(|r| r.name).collect();
                    anyhow!("invalid --role {r:?}: must be one of {}", known.join(", "))
                })
        })
        .collect()
}

pub async fn create_api_key(config: &Config, tenant: &str, user: &str, name: &str) -> Result<()> {
    let email = Email::parse(user).map_err(|e| anyhow!("invalid --user {user:?}: {e}"))?;
    let db = connect_db(config)?;
    let tenant = find_tenant(&db, tenant).await?;
    let mut tx = db.tenant_tx(tenant.tenant_id()).await?;
    let user_id = users::user_id_by_email(&mut tx, &email)
        .await?
        .ok_or_else(|| anyhow!("invalid --user: no user {email} in tenant {}", tenant.slug))?;
    let (info, key) = issue_api_key(&mut tx, user_id, name).await?;
    let entry = audit::AuditEntry {
        actor: None,
        action: "api_key.created",
        resource: "api_key",
        resource_id: Some(info.id),
        details: serde_json::json!({ "name": name, "via": "cli" }),
    };
    audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    println!("{key}");
    Ok(())
}

/// Creates an Admin user without printing (used by `up`'s seeding).
pub async fn create_user_quietly(
    config: &Config,
    tenant: &str,
    email: &str,
    name: &str,
    password: &str,
) -> Result<()> {
    let email = Email::parse(email).map_err(|e| anyhow!("invalid e-mail {email:?}: {e}"))?;
    let db = connect_db(config)?;
    let tenant = find_tenant(&db, tenant).await?;
    let mut tx = db.tenant_tx(tenant.tenant_id()).await?;
    let roles = ["Admin".to_owned()];
    let new = users::NewUser {
        email: &email,
        full_name: name,
        password_hash: Some(hash_password(password)),
        roles: &roles,
    };
    users::create_user(&mut tx, new, None).await?;
    tx.commit().await?;
    Ok(())
}

/// `keel import <kind> <file>`: prints the report; exits non-zero when rows were
/// invalid (and nothing was imported, unless `--skip-invalid`).
pub async fn import_csv(
    config: &Config,
    kind: &str,
    file: &std::path::Path,
    tenant: &str,
    skip_invalid: bool,
) -> Result<()> {
    use activities::imports::{self, ImportError, ImportKind};
    let kind = ImportKind::parse(kind).ok_or_else(|| {
        anyhow!("invalid kind {kind:?}: must be clients, contacts, assets or usage")
    })?;
    let csv = std::fs::read(file).map_err(|e| anyhow!("cannot read {}: {e}", file.display()))?;
    let db = connect_db(config)?;
    let tenant = find_tenant(&db, tenant).await?;
    let mut tx = db.tenant_tx(tenant.tenant_id()).await?;
    let started = std::time::Instant::now();
    let report = match imports::import_csv(&mut tx, kind, &csv, skip_invalid, None).await {
        Ok(report) => {
            tx.commit().await?;
            report
        }
        Err(ImportError::InvalidRows(report)) => {
            print_issues(file, &report.invalid);
            bail!(
                "{} of {} rows are invalid; nothing was imported (use --skip-invalid to import the valid rows)",
                report.invalid_lines().len(),
                report.rows
            );
        }
        Err(ImportError::File(e)) => bail!("{}: {e}", file.display()),
        Err(ImportError::Db(e)) => return Err(e.into()),
    };
    print_issues(file, &report.invalid);
    println!(
        "imported {} of {} rows in {:.2}s{}",
        report.imported,
        report.rows,
        started.elapsed().as_secs_f64(),
        if report.invalid.is_empty() {
            String::new()
        } else {
            format!("; skipped {} invalid", report.invalid_lines().len())
        }
    );
    Ok(())
}

fn print_issues(file: &std::path::Path, issues: &[engine::import::RowIssue]) {
    for issue in issues {
        eprintln!(
            "{}:{}: {}: {}",
            file.display(),
            issue.line,
            issue.field,
            issue.message
        );
    }
}
