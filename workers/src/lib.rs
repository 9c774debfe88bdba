//! The Keel worker process: connects to Temporal and runs Keel's workflows and
//! activities on their task queues.

/// Where the worker finds Temporal.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// `host:port` of the Temporal frontend.
    pub temporal_address: String,
    /// Temporal namespace.
    pub namespace: String,
}

/// Why the worker stopped.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// Temporal could not be reached.
    #[error("cannot reach Temporal at {address}: {cause}")]
    Unreachable { address: String, cause: String },
}

/// Runs the worker until `shutdown` resolves.
pub async fn run(
    settings: WorkerSettings,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), WorkerError> {
    tokio::net::TcpStream::connect(&settings.temporal_address)
        .await
        .map_err(|e| WorkerError::Unreachable {
            address: settings.temporal_address.clone(),
            cause: e.to_string(),
        })?;
    tracing::info!(address = %settings.temporal_address, namespace = %settings.namespace, "worker connected");
    shutdown.await;
    Ok(())
}
