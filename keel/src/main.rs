//! `keel`: the one binary. `keel up` runs everything on one machine; the other
//! subcommands run one piece against the same configuration.

mod billing;
mod commands;
mod config;
mod playbook;
mod stack;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "keel",
    version,
    about = "Keel PSA: durable workflows for managed service providers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start Postgres, Redis and Temporal (unless configured elsewhere), migrate, seed
    /// the demo tenant, then serve the UI/API and run a worker until Ctrl-C.
    Up {
        /// Only start the services (Postgres, Redis, Temporal) and wait; for test runs.
        #[arg(long)]
        services_only: bool,
    },
    /// Serve the admin UI and the REST API.
    Serve,
    /// Run a worker.
    Worker,
    /// Apply pending database migrations (as the database owner).
    Migrate,
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        action: TenantAction,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manage API keys.
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// Playbooks: test one offline.
    Playbook {
        #[command(subcommand)]
        action: PlaybookAction,
    },
    /// Billing runs, schedules and reconciliation.
    Billing {
        #[command(subcommand)]
        action: BillingAction,
    },
    /// Import clients, contacts, assets or usage records from a CSV file. Every row is validated
    /// first; nothing is imported if any row is invalid (unless --skip-invalid).
    Import {
        /// `clients`, `contacts`, `assets` or `usage`.
        kind: String,
        /// The CSV file (UTF-8, header row first).
        file: std::path::PathBuf,
        #[arg(long)]
        tenant: String,
        /// Import the valid rows and report the invalid ones.
        #[arg(long)]
        skip_invalid: bool,
    },
}

#[derive(Subcommand)]
enum PlaybookAction {
    /// Run a playbook offline against fixtures (no database, no Temporal) and
    /// check its expectations; prints each durable call.
    Test {
        /// The Rhai source.
        file: std::path::PathBuf,
        /// A JSON test case or a list of them (input, action answers, signals,
        /// expectations); none runs it once with catalogue fixtures.
        #[arg(long)]
        fixtures: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum BillingAction {
    /// Start a billing run now and follow its progress (clients done of total).
    Run {
        #[arg(long)]
        tenant: String,
        /// Bill every window ending on or before this day (YYYY-MM-DD; default today, UTC).
        #[arg(long)]
        period_end: Option<String>,
        /// Clients per batch (1 to 5000; default 250).
        #[arg(long)]
        batch_size: Option<u32>,
        /// Print the run id and return without waiting.
        #[arg(long)]
        detach: bool,
    },
    /// Create the tenant's daily billing and credit-expiry schedules (idempotent).
    Schedule {
        #[arg(long)]
        tenant: String,
    },
    /// Check every client's ledger against itself and the invoices and credits.
    Reconcile {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand)]
enum TenantAction {
    /// Create a tenant with its shipped roles and number sequences.
    Create {
        /// URL-safe short name, e.g. `acme-it`.
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Create a user; prints a generated password when none is given.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// Admin, Dispatcher, Technician, Finance or Read-only (repeatable).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long)]
        password: Option<String>,
        /// Display name (defaults to the e-mail's local part).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
enum ApiKeyAction {
    /// Issue an API key for a user; prints only the key.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEEL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    init_tracing();
    let config = config::Config::load()?;
    match cli.command {
        Command::Up { services_only } => stack::up(config, services_only).await,
        Command::Serve => commands::serve(&config, commands::shutdown_signal()).await,
        Command::Worker => commands::worker(&config, commands::shutdown_signal()).await,
        Command::Migrate => commands::migrate(&config).await,
        Command::Tenant {
            action: TenantAction::Create { slug, name },
        } => commands::create_tenant(&config, &slug, &name).await,
        Command::User {
            action:
                UserAction::Create {
                    tenant,
                    email,
                    roles,
                    password,
                    name,
                },
        } => commands::create_user(&config, &tenant, &email, &roles, password, name).await,
        Command::ApiKey {
            action: ApiKeyAction::Create { tenant, user, name },
        } => commands::create_api_key(&config, &tenant, &user, &name).await,
        Command::Playbook {
            action: PlaybookAction::Test { file, fixtures },
        } => playbook::test(&file, fixtures.as_deref()),
        Command::Billing { action } => match action {
            BillingAction::Run {
                tenant,
                period_end,
                batch_size,
                detach,
            } => billing::run(&config, &tenant, period_end.as_deref(), batch_size, detach).await,
            BillingAction::Schedule { tenant } => billing::schedule(&config, &tenant).await,
            BillingAction::Reconcile { tenant } => billing::reconcile(&config, &tenant).await,
        },
        Command::Import {
            kind,
            file,
            tenant,
            skip_invalid,
        } => commands::import_csv(&config, &kind, &file, &tenant, skip_invalid).await,
    }
}
