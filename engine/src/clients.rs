//! Clients: the companies and people an MSP serves, and the rules for their billing
//! settings, locations and tags.

use crate::identity::Email;
use crate::validation::{self, input_and_patch, Issues};
use uuid::Uuid;

/// Largest `properties` document, in bytes of JSON.
pub const MAX_PROPERTIES_BYTES: usize = 16 * 1024;

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name { $($(#[$vmeta])* #[serde(rename = $text)] $variant),* }

        impl $name {
            /// Every value, in catalogue order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stored and serialised name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            /// Parses the stored name.
            pub fn parse(text: &str) -> Result<Self, String> {
                match text.trim() {
                    $($text => Ok($name::$variant),)*
                    _ => Err(format!(
                        concat!("must be a ", $what, ": one of {}"),
                        [$($text),*].join(", ")
                    )),
                }
            }
        }
    };
}
pub(crate) use text_enum;

text_enum! {
    /// Whether a client is an organisation or a private person.
    ClientType, "client type" {
        /// A company or other organisation.
        Company = "company",
        /// A private individual.
        Individual = "individual",
    }
}

text_enum! {
    /// When an invoice of the client falls due.
    PaymentTerms, "payment term" {
        /// On the invoice date.
        DueOnReceipt = "due_on_receipt",
        /// 7 days after the invoice date.
        Net7 = "net_7",
        /// 10 days after.
        Net10 = "net_10",
        /// 15 days after.
        Net15 = "net_15",
        /// 30 days after (the default).
        Net30 = "net_30",
        /// 45 days after.
        Net45 = "net_45",
        /// 60 days after.
        Net60 = "net_60",
        /// 90 days after.
        Net90 = "net_90",
    }
}

impl PaymentTerms {
    /// Days from the invoice date to the due date.
    pub fn due_days(self) -> u32 {
        match self {
            PaymentTerms::DueOnReceipt => 0,
            PaymentTerms::Net7 => 7,
            PaymentTerms::Net10 => 10,
            PaymentTerms::Net15 => 15,
            PaymentTerms::Net30 => 30,
            PaymentTerms::Net45 => 45,
            PaymentTerms::Net60 => 60,
            PaymentTerms::Net90 => 90,
        }
    }
}

text_enum! {
    /// How often a client is billed.
    BillingCycle, "billing cycle" {
        /// Every week.
        Weekly = "weekly",
        /// Every month (the default).
        Monthly = "monthly",
        /// Every three months.
        Quarterly = "quarterly",
        /// Every six months.
        SemiAnnually = "semi_annually",
        /// Every year.
        Annually = "annually",
    }
}

/// An ISO 4217 currency code such as `USD`, with its minor-unit exponent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Parses an active ISO 4217 code (case-insensitive).
    pub fn parse(code: &str) -> Result<Self, String> {
        let code = code.trim().to_ascii_uppercase();
        iso_currency::Currency::from_code(&code)
            .map(Currency)
            .ok_or_else(|| format!("{code:?} is not an ISO 4217 currency code"))
    }

    /// The three-letter code.
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point (2 for USD, 0 for JPY): how many minor units
    /// make a major one.
    pub fn minor_unit_digits(self) -> u16 {
        self.0.exponent().unwrap_or(0)
    }
}

/// An ISO 3166-1 alpha-2 country code (two letters), uppercased.
pub fn country_code(text: &str) -> Result<String, String> {
    let code = text.trim().to_ascii_uppercase();
    if code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err("must be a two-letter ISO 3166 country code".into())
    }
}

/// A tax region code (`US-NY`, `GB`, `CA-ON-HST`): 1–64 letters, digits, `-`, `_`, `.`.
pub fn tax_region(text: &str) -> Result<String, String> {
    let code = text.trim();
    let ok = (1..=64).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(code.to_owned())
    } else {
        Err("must be a region code of letters, digits, '-', '_' or '.' (at most 64)".into())
    }
}

/// A JSON object of at most [`MAX_PROPERTIES_BYTES`] for tenant-defined fields.
pub fn properties(value: &serde_json::Value) -> Result<serde_json::Value, String> {
    if !value.is_object() {
        return Err("must be a JSON object".into());
    }
    if value.to_string().len() > MAX_PROPERTIES_BYTES {
        return Err(format!(
            "must be at most {MAX_PROPERTIES_BYTES} bytes of JSON"
        ));
    }
    Ok(value.clone())
}

input_and_patch! {
    /// A client as submitted: every field optional, validated by [`ClientInput::validate`].
    ClientInput,
    /// A partial change to a client: absent fields stay, `null` clears.
    ClientPatch {
        /// 1–200 characters. Required.
        name: String,
        /// `company` (default) or `individual`.
        client_type: ClientType,
        /// The parent client, for subsidiaries and branches.
        parent_id: Uuid,
        /// Where invoices go.
        billing_email: String,
        /// ISO 4217 code; default `USD`.
        currency: String,
        /// `net_30` (default), `net_15`, `due_on_receipt`, …
        payment_terms: PaymentTerms,
        /// Tax region code, e.g. `US-NY`.
        tax_region: String,
        /// Exempt from tax; needs `tax_exempt_certificate`.
        is_tax_exempt: bool,
        /// The exemption certificate number.
        tax_exempt_certificate: String,
        /// `monthly` (default), `weekly`, `quarterly`, `semi_annually`, `annually`.
        billing_cycle: BillingCycle,
        /// Day of the month billing periods start, 1–28 (default 1).
        billing_anchor_day: i16,
        /// A user of the tenant.
        account_manager_id: Uuid,
        /// The SLA policy for this client's tickets.
        sla_policy_id: Uuid,
        /// Free text, at most 10,000 characters.
        notes: String,
        /// Up to 50 tags, lowercased.
        tags: Vec<String>,
        /// Tenant-defined fields: a JSON object.
        properties: serde_json::Value,
        /// Inactive clients stay searchable but are hidden from pickers.
        is_inactive: bool,
    }
}

/// A validated client, ready to store.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientDraft {
    /// Display name.
    pub name: String,
    /// Company or individual.
    pub client_type: ClientType,
    /// Parent client.
    pub parent_id: Option<Uuid>,
    /// Billing e-mail.
    pub billing_email: Option<Email>,
    /// Billing currency.
    pub currency: Currency,
    /// Payment terms.
    pub payment_terms: PaymentTerms,
    /// Tax region.
    pub tax_region: Option<String>,
    /// Tax exempt.
    pub is_tax_exempt: bool,
    /// Exemption certificate.
    pub tax_exempt_certificate: Option<String>,
    /// Billing cycle.
    pub billing_cycle: BillingCycle,
    /// Anchor day 1–28.
    pub billing_anchor_day: i16,
    /// Account manager.
    pub account_manager_id: Option<Uuid>,
    /// SLA policy.
    pub sla_policy_id: Option<Uuid>,
    /// Notes.
    pub notes: String,
    /// Normalised tags.
    pub tags: Vec<String>,
    /// Tenant-defined fields.
    pub properties: serde_json::Value,
    /// Inactive.
    pub is_inactive: bool,
}

impl ClientInput {
    /// Checks every field and applies defaults; all problems are reported together.
    pub fn validate(&self) -> Result<ClientDraft, Vec<validation::FieldIssue>> {
        let mut issues = Issues::default();
        let name = issues.check("name", validation::required_text(self.name.as_deref(), 200));
        let billing_email = match validation::optional_text(self.billing_email.as_deref(), 254) {
            Ok(Some(text)) => issues.check("billing_email", Email::parse(&text).map(Some)),
            Ok(None) => Some(None),
            Err(e) => issues.check("billing_email", Err::<Option<Email>, _>(e)),
        };
        let currency = issues.check(
            "currency",
            Currency::parse(self.currency.as_deref().unwrap_or("USD")),
        );
        let tax_region = match self.tax_region.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(text) => issues.check("tax_region", tax_region(text).map(Some)),
        };
        let is_tax_exempt = self.is_tax_exempt.unwrap_or(false);
        let certificate = issues
            .check(
                "tax_exempt_certificate",
                validation::optional_text(self.tax_exempt_certificate.as_deref(), 100),
            )
            .flatten();
        if is_tax_exempt && certificate.is_none() {
            issues.add(
                "tax_exempt_certificate",
                "is required when the client is tax exempt",
            );
        }
        let anchor = self.billing_anchor_day.unwrap_or(1);
        if !(1..=28).contains(&anchor) {
            issues.add("billing_anchor_day", "must be between 1 and 28");
        }
        let notes = issues.check(
            "notes",
            validation::notes_text(self.notes.as_deref(), 10_000),
        );
        let tags = issues.check(
            "tags",
            validation::tags(self.tags.as_deref().unwrap_or(&[])),
        );
        let properties = issues.check(
            "properties",
            properties(self.properties.as_ref().unwrap_or(&serde_json::json!({}))),
        );
        issues.finish(|| ClientDraft {
            name: name.unwrap_or_default(),
            client_type: self.client_type.unwrap_or(ClientType::Company),
            parent_id: self.parent_id,
            billing_email: billing_email.flatten(),
            currency: currency.expect("checked"),
            payment_terms: self.payment_terms.unwrap_or(PaymentTerms::Net30),
            tax_region: tax_region.flatten(),
            is_tax_exempt,
            tax_exempt_certificate: certificate,
            billing_cycle: self.billing_cycle.unwrap_or(BillingCycle::Monthly),
            billing_anchor_day: anchor,
            account_manager_id: self.account_manager_id,
            sla_policy_id: self.sla_policy_id,
            notes: notes.unwrap_or_default(),
            tags: tags.unwrap_or_default(),
            properties: properties.unwrap_or_default(),
            is_inactive: self.is_inactive.unwrap_or(false),
        })
    }
}

input_and_patch! {
    /// A client location as submitted.
    LocationInput,
    /// A partial change to a location.
    LocationPatch {
        /// 1–200 characters, e.g. "Head office". Required.
        name: String,
        /// Street address.
        address_line1: String,
        /// Suite, floor.
        address_line2: String,
        /// City.
        city: String,
        /// State, province or county.
        region: String,
        /// Postal code.
        postal_code: String,
        /// ISO 3166 alpha-2 code, e.g. `US`.
        country: String,
        /// Phone number.
        phone: String,
        /// The client's default location (one per client).
        is_default: bool,
        /// Where invoices are addressed (one per client).
        is_billing: bool,
    }
}

/// A validated location.
#[derive(Clone, Debug, PartialEq)]
pub struct LocationDraft {
    /// Name.
    pub name: String,
    /// Address line 1.
    pub address_line1: String,
    /// Address line 2.
    pub address_line2: String,
    /// City.
    pub city: String,
    /// Region.
    pub region: String,
    /// Postal code.
    pub postal_code: String,
    /// Country.
    pub country: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Default location.
    pub is_default: bool,
    /// Billing location.
    pub is_billing: bool,
}

impl LocationInput {
    /// Checks every field.
    pub fn validate(&self) -> Result<LocationDraft, Vec<validation::FieldIssue>> {
        let mut issues = Issues::default();
        let name = issues.check("name", validation::required_text(self.name.as_deref(), 200));
        let mut line = |field: &str, value: &Option<String>| {
            issues
                .check(field, validation::notes_text(value.as_deref(), 200))
                .unwrap_or_default()
        };
        let address_line1 = line("address_line1", &self.address_line1);
        let address_line2 = line("address_line2", &self.address_line2);
        let city = line("city", &self.city);
        let region = line("region", &self.region);
        let postal_code = line("postal_code", &self.postal_code);
        let country = match self.country.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => issues.check("country", country_code(text)),
        };
        let phone = match self.phone.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => issues.check("phone", crate::contacts::phone_number(text)),
        };
        issues.finish(|| LocationDraft {
            name: name.unwrap_or_default(),
            address_line1,
            address_line2,
            city,
            region,
            postal_code,
            country,
            phone,
            is_default: self.is_default.unwrap_or(false),
            is_billing: self.is_billing.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(result: Result<ClientDraft, Vec<validation::FieldIssue>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|i| i.field).collect()
    }

    #[test]
    fn a_minimal_client_gets_defaults() {
        let draft = ClientInput {
            name: Some(" Acme ".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(draft.name, "Acme");
        assert_eq!(draft.currency.code(), "USD");
        assert_eq!(draft.payment_terms, PaymentTerms::Net30);
        assert_eq!(draft.billing_cycle, BillingCycle::Monthly);
        assert_eq!(draft.billing_anchor_day, 1);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let input = ClientInput {
            name: Some(" ".into()),
            billing_email: Some("nope".into()),
            currency: Some("XYZ".into()),
            is_tax_exempt: Some(true),
            billing_anchor_day: Some(31),
            properties: Some(serde_json::json!([1])),
            ..Default::default()
        };
        assert_eq!(
            fields(input.validate()),
            vec![
                "name",
                "billing_email",
                "currency",
                "tax_exempt_certificate",
                "billing_anchor_day",
                "properties"
            ]
        );
    }

    #[test]
    fn currencies_are_iso_4217_with_their_exponent() {
        assert_eq!(Currency::parse("eur").unwrap().code(), "EUR");
        assert_eq!(Currency::parse("JPY").unwrap().minor_unit_digits(), 0);
        assert_eq!(Currency::parse("USD").unwrap().minor_unit_digits(), 2);
        assert!(Currency::parse("US").is_err());
    }

    #[test]
    fn patches_overlay_present_fields_only() {
        let mut input = ClientInput {
            name: Some("Acme".into()),
            tax_region: Some("US-NY".into()),
            ..Default::default()
        };
        let patch: ClientPatch =
            serde_json::from_str(r#"{"tax_region": null, "notes": "hi"}"#).unwrap();
        patch.apply_to(&mut input);
        assert_eq!(input.name.as_deref(), Some("Acme"));
        assert_eq!(input.tax_region, None);
        assert_eq!(input.notes.as_deref(), Some("hi"));
    }

    #[test]
    fn enums_name_the_allowed_values() {
        let error = PaymentTerms::parse("net_31").unwrap_err();
        assert!(error.contains("net_30"), "{error}");
        assert_eq!(PaymentTerms::parse("net_15").unwrap().due_days(), 15);
    }
}
