//! The service's configuration file (`--config FILE`, TOML): the tiers' quotas, how long
//! deletions are kept for devices to see, and the minimum sign-up age per country. Every key is
//! optional; the defaults are what a server without a file runs with. An unknown key is an error,
//! so a misspelt setting is never silently ignored.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use crate::age::MINIMUM_AGE;

/// What one tier may keep synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Quota {
    /// Sealed bytes: blobs and records together.
    pub(crate) bytes: u64,
    /// Generations (live records).
    pub(crate) generations: u64,
}

/// The file's contents.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Settings {
    pub(crate) tiers: Tiers,
    pub(crate) sync: Sync,
    pub(crate) age: Age,
    pub(crate) payments: Payments,
    pub(crate) telemetry: Telemetry,
    /// Mail for verification links; without it accounts are verified at once.
    pub(crate) smtp: Option<Smtp>,
}

/// The SMTP server mail goes through.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Smtp {
    pub(crate) host: String,
    #[serde(default = "Smtp::default_port")]
    pub(crate) port: u16,
    #[serde(default)]
    pub(crate) security: SmtpSecurity,
    #[serde(default)]
    pub(crate) username: Option<String>,
    #[serde(default)]
    pub(crate) password: Option<String>,
    /// The sender, as in `3D GPT <noreply@example.org>`.
    pub(crate) from: String,
    /// Where a verification link points (the web page, or this server's `/v1/accounts/verify`);
    /// the token is added as `?token=`.
    pub(crate) verify_url: String,
}

impl Smtp {
    fn default_port() -> u16 {
        587
    }
}

/// How mail is protected on its way to the SMTP server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SmtpSecurity {
    /// STARTTLS on the submission port (587), the default.
    #[default]
    Starttls,
    /// TLS from the start (465).
    Tls,
    /// None: only for a relay on the same machine.
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Telemetry {
    /// How long anonymous events are kept.
    pub(crate) retention_seconds: i64,
}

impl Default for Telemetry {
    fn default() -> Telemetry {
        Telemetry { retention_seconds: 90 * 24 * 3600 }
    }
}

/// The payment provider (Stripe-style webhooks).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Payments {
    /// The webhook endpoint's signing secret (`whsec_…`); without it the webhook is off.
    pub(crate) webhook_secret: Option<String>,
    /// Where Free accounts go to upgrade (a payment link); the account id is added as
    /// `client_reference_id`, which the checkout's webhook hands back.
    pub(crate) checkout_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Tiers {
    pub(crate) free: Quota,
    pub(crate) pro: Quota,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Sync {
    /// How long a deletion (tombstone) is kept for devices that have not synced since.
    pub(crate) tombstone_seconds: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Age {
    /// The youngest age allowed to sign up, by ISO 3166 country code; never below 13.
    pub(crate) countries: BTreeMap<String, u32>,
}

impl Default for Tiers {
    fn default() -> Tiers {
        Tiers {
            free: Quota { bytes: 1 << 30, generations: 100 },
            pro: Quota { bytes: 100 << 30, generations: 100_000 },
        }
    }
}

impl Default for Sync {
    fn default() -> Sync {
        Sync { tombstone_seconds: 90 * 24 * 3600 }
    }
}

impl Settings {
    /// The file at `path`, checked.
    pub(crate) fn load(path: &Path) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(path).with_context(|| format!("could not read {}", path.display()))?;
        let settings: Settings =
            toml::from_str(&text).with_context(|| format!("{} is not a valid configuration", path.display()))?;
        settings.check().with_context(|| format!("in {}", path.display()))?;
        Ok(settings)
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.sync.tombstone_seconds < 1 {
            anyhow::bail!("sync.tombstone_seconds must be at least 1");
        }
        if self.telemetry.retention_seconds < 1 {
            anyhow::bail!("telemetry.retention_seconds must be at least 1");
        }
        for (country, age) in &self.age.countries {
            if *age < MINIMUM_AGE {
                anyhow::bail!("age.countries.{country} = {age}: no country may allow sign-up under {MINIMUM_AGE}");
            }
            if country.len() != 2 || !country.bytes().all(|letter| letter.is_ascii_uppercase()) {
                anyhow::bail!("age.countries.{country}: countries are two capital letters (ISO 3166), as in DE");
            }
        }
        Ok(())
    }

    /// The youngest age allowed to sign up in `country` (never below 13).
    pub(crate) fn minimum_age(&self, country: Option<&str>) -> u32 {
        country
            .and_then(|country| self.age.countries.get(&country.to_ascii_uppercase()))
            .copied()
            .unwrap_or(MINIMUM_AGE)
            .max(MINIMUM_AGE)
    }

    /// The quota of a tier by its stored name.
    pub(crate) fn quota(&self, tier: &str) -> Quota {
        if tier == "pro" { self.tiers.pro } else { self.tiers.free }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_checked_and_ages_never_go_below_13() {
        let settings: Settings =
            toml::from_str("[age.countries]\nNL = 16\n[tiers.free]\nbytes = 10\ngenerations = 2\n").unwrap();
        settings.check().unwrap();
        assert_eq!(settings.minimum_age(Some("nl")), 16);
        assert_eq!(settings.minimum_age(Some("FR")), 13);
        assert_eq!(settings.minimum_age(None), 13);
        assert_eq!(settings.quota("free"), Quota { bytes: 10, generations: 2 });
        assert_eq!(settings.quota("pro"), Tiers::default().pro);
        let young: Settings = toml::from_str("[age.countries]\nXX = 12\n").unwrap();
        assert!(young.check().unwrap_err().to_string().contains("under 13"));
        assert!(toml::from_str::<Settings>("[tiers.fre]\nbytes = 1\n").is_err(), "a misspelt key is an error");
    }
}
