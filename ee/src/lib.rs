//! Enterprise-edition features. `cargo build` gives the Community Edition, where
//! every EE feature keeps its interface but answers [`NotInEdition`]; `--features ee`
//! switches the real implementations on. Callers never need `cfg` of their own.

/// The edition this binary was built as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edition {
    /// Community Edition (the default build).
    Community,
    /// Enterprise Edition (`--features ee`).
    Enterprise,
}

impl Edition {
    /// The edition of this build.
    pub const fn current() -> Edition {
        if cfg!(feature = "ee") {
            Edition::Enterprise
        } else {
            Edition::Community
        }
    }

    /// `"community"` or `"enterprise"`.
    pub const fn name(self) -> &'static str {
        match self {
            Edition::Community => "community",
            Edition::Enterprise => "enterprise",
        }
    }
}

/// Features reserved to the Enterprise Edition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnterpriseFeature {
    /// Single sign-on (SAML / OIDC) for a tenant's users.
    SingleSignOn,
    /// Export of the audit log to an external SIEM.
    AuditExport,
}

impl EnterpriseFeature {
    /// A human name for messages.
    pub const fn label(self) -> &'static str {
        match self {
            EnterpriseFeature::SingleSignOn => "Single sign-on",
            EnterpriseFeature::AuditExport => "Audit log export",
        }
    }
}

/// The Community Edition's answer for an EE feature.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{} is available in the Enterprise Edition", .0.label())]
pub struct NotInEdition(pub EnterpriseFeature);

/// Succeeds when this build includes `feature`.
pub fn require(feature: EnterpriseFeature) -> Result<(), NotInEdition> {
    match Edition::current() {
        Edition::Enterprise => Ok(()),
        Edition::Community => Err(NotInEdition(feature)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edition_gates_enterprise_features() {
        let outcome = require(EnterpriseFeature::SingleSignOn);
        if cfg!(feature = "ee") {
            assert_eq!(Edition::current(), Edition::Enterprise);
            assert_eq!(outcome, Ok(()));
        } else {
            assert_eq!(Edition::current(), Edition::Community);
            let error = outcome.expect_err("CE refuses EE features");
            assert_eq!(
                error.to_string(),
                "Single sign-on is available in the Enterprise Edition"
            );
        }
    }
}
