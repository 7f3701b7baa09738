//! What a signed-in person does to the account itself: list its sessions, change the password,
//! get back in with the recovery code, download the account's export, delete the account. Each
//! proof of the password is derived here, like at login; the service sees only auth keys.

use std::path::Path;

use serde_json::{Value, json};
use threedgpt_crypto::{self as crypto, RecoveryCode};

use super::{AccountError, Accounts, CloudError, Status, hex, password_material, prelogin_keys, unhex};

/// One of the account's sessions (a signed-in device).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SessionInfo {
    pub(crate) id: String,
    pub(crate) device_name: String,
    pub(crate) os: String,
    /// Unix seconds.
    pub(crate) created_at: i64,
    pub(crate) last_seen_at: i64,
    /// This device's.
    pub(crate) current: bool,
}

impl Accounts {
    fn signed_in(&self) -> Result<super::Session, AccountError> {
        self.session()?.ok_or_else(|| AccountError::Unauthenticated("not signed in on this device".to_owned()))
    }

    /// The account's sessions, this device's marked.
    pub(crate) fn sessions(&self) -> Result<Vec<SessionInfo>, AccountError> {
        let session = self.signed_in()?;
        let cloud = &session.cloud;
        let listed = self.call(cloud, |token| cloud.get("/v1/sessions", Some(token)))?;
        let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let number = |value: &Value, key: &str| value.get(key).and_then(Value::as_i64).unwrap_or(0);
        Ok(listed
            .get("sessions")
            .and_then(Value::as_array)
            .map(|sessions| {
                sessions
                    .iter()
                    .map(|one| SessionInfo {
                        id: text(one, "id"),
                        device_name: text(one, "device_name"),
                        os: text(one, "os"),
                        created_at: number(one, "created_at"),
                        last_seen_at: number(one, "last_seen_at"),
                        current: one.get("current").and_then(Value::as_bool).unwrap_or(false),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// A new password: the data key stays (re-wrapped), every other device's session ends, and
    /// this device carries on.
    pub(crate) fn change_password(&self, current: &str, new: &str) -> Result<Status, AccountError> {
        let session = self.signed_in()?;
        let cloud = &session.cloud;
        let remembered = &session.remembered;
        let old = prelogin_keys(cloud, &remembered.email, current)?;
        let (material, _) = password_material(&remembered.account_id, new, &session.data_key)?;
        let body = json!({"auth_key": hex(old.auth_key.as_bytes()), "new": material});
        self.call(cloud, |token| cloud.post("/v1/account/password", &body, Some(token))).map_err(wrong_password)?;
        self.status()
    }

    /// Back in after a forgotten password: the recovery code opens the account's data key, a new
    /// password and a new recovery code replace the old ones (returned: shown once), every session
    /// ends, and this device signs in.
    pub(crate) fn recover(
        &self,
        server: &str,
        email: &str,
        code: &str,
        new_password: &str,
        device_name: &str,
    ) -> Result<(Status, String), AccountError> {
        let cloud = self.service(server)?;
        let email = crypto::normalize_email(email).map_err(|error| AccountError::Invalid(error.to_string()))?;
        let code = RecoveryCode::parse(code).map_err(|error| {
            AccountError::Invalid(format!("{error}: the recovery code is 32 characters in groups of four"))
        })?;
        let verifier = hex(code.verifier().as_bytes());
        let started = cloud
            .post("/v1/accounts/recovery/start", &json!({"email": email, "recovery_verifier": verifier}), None)
            .map_err(|error| match error {
                CloudError::Refused { status: 401 | 403 | 404, message, .. } => AccountError::Unauthenticated(message),
                other => AccountError::Cloud(other),
            })?;
        let account_id = started.get("account_id").and_then(Value::as_str).unwrap_or_default().to_owned();
        let wrapped = unhex(started.get("recovery_wrapped_data_key").and_then(Value::as_str).unwrap_or_default())
            .ok_or_else(|| AccountError::Invalid("the service sent no recovery copy of the data key".to_owned()))?;
        let data_key = code.unwrap(&account_id, &wrapped).map_err(|_| {
            AccountError::Unauthenticated("the recovery code does not open this account's data key".to_owned())
        })?;
        let (material, keys) = password_material(&account_id, new_password, &data_key)?;
        let next = RecoveryCode::random().map_err(super::crypto_failure)?;
        let body = json!({
            "email": email,
            "recovery_verifier": verifier,
            "new": material,
            "recovery_wrapped_data_key": hex(&next.wrap(&account_id, &data_key).map_err(super::crypto_failure)?),
            "recovery_verifier_digest": hex(&crypto::verifier_digest(&next.verifier())),
        });
        cloud.post("/v1/accounts/recovery/finish", &body, None)?;
        let status = self.start_session(&cloud, &email, &keys.auth_key, &keys.encryption_key, device_name)?;
        Ok((status, next.to_text()))
    }

    /// Writes the account's export (the service's archive, `docs/export.md`) to `path`, whole or
    /// not at all; returns its size.
    pub(crate) fn export(&self, path: &Path) -> Result<u64, AccountError> {
        let session = self.signed_in()?;
        let cloud = &session.cloud;
        let bytes = self.call(cloud, |token| cloud.get_bytes("/v1/account/export", Some(token), 64 << 30))?;
        threedgpt_engine::export::write_atomic(path, &bytes).map_err(|error| AccountError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::other(error.to_string()),
        })?;
        Ok(bytes.len() as u64)
    }

    /// Deletes the account at the service (it takes the password) with everything it holds, and
    /// signs this device out. The caller removes the local copies of what the account held.
    pub(crate) fn delete_account(&self, password: &str) -> Result<(), AccountError> {
        let session = self.signed_in()?;
        let cloud = &session.cloud;
        let keys = prelogin_keys(cloud, &session.remembered.email, password)?;
        let body = json!({"auth_key": hex(keys.auth_key.as_bytes())});
        self.call(cloud, |token| cloud.delete_with("/v1/account", &body, Some(token))).map_err(wrong_password)?;
        self.forget()
    }
}

/// The service's refusal of a proof of the password, as the person should read it.
fn wrong_password(error: AccountError) -> AccountError {
    match error {
        AccountError::Cloud(CloudError::Refused { code, .. }) if code == "invalid_credentials" => {
            AccountError::Invalid("the password is not right; nothing was changed".to_owned())
        }
        other => other,
    }
}
