//! The user's account on a cloud service, with the daemon as its client (`docs/crypto.md`): the
//! password becomes keys here and never leaves; the service gets the auth key and the data key
//! only wrapped. The session's refresh token and the unwrapped data key live where the history key
//! does (the OS keychain, or beside `--key-file` when the user chose one), under this data
//! folder's names; what is not secret (the server, the account, the device) in `account.json`.
//!
//! At sign-up the account's data key is the local history's own key, so every generation already
//! kept stays readable as it is. On a device that logs in to an existing account, the account's
//! key (from the service, unwrapped with the password) becomes the history's key, and what the
//! device kept is sealed again under it (`history::rekey`, run by the `Account` service).

mod cloud;
mod manage;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use threedgpt_crypto::{self as crypto, KdfParams, Key, RecoveryCode};

use crate::history::key::{KeyError, KeySource};
pub(crate) use cloud::{Cloud, CloudError};

/// Secrets' names in the key source.
const REFRESH_TOKEN: &str = "account-refresh-token";
const DATA_KEY: &str = "account-data-key";

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AccountError {
    /// The request itself is wrong (an email, a date, a URL).
    #[error("{0}")]
    Invalid(String),
    /// Signed out, or the wrong password.
    #[error("{0}")]
    Unauthenticated(String),
    /// The service refused or could not be reached.
    #[error("{0}")]
    Cloud(#[from] CloudError),
    /// No keychain to keep the session and the data key in.
    #[error("{0}")]
    Keys(#[from] KeyError),
    /// No key source at all (no keychain and no `--key-file`).
    #[error("cannot keep an account's keys: {0}")]
    NoKeys(String),
    /// The account file could not be written.
    #[error("could not write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// What is remembered of the account, not secret (`<data>/account.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Remembered {
    pub(crate) server: String,
    pub(crate) account_id: String,
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) device_name: String,
    pub(crate) session_id: String,
    #[serde(default)]
    pub(crate) tier: String,
    #[serde(default)]
    pub(crate) email_verified: bool,
    /// This device's id in the account's synced records (random, made at login).
    #[serde(default)]
    pub(crate) device_id: String,
    /// The account's settings as last read from the service.
    #[serde(default)]
    pub(crate) settings: Option<AccountSettings>,
    /// What the account keeps synced against its tier's quota, as last read.
    #[serde(default)]
    pub(crate) usage: Option<Usage>,
}

/// What the account keeps synced, and its tier's limits.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) bytes: u64,
    pub(crate) bytes_limit: u64,
    pub(crate) generations: u64,
    pub(crate) generations_limit: u64,
}

/// The account's settings (the service holds them; `version` is what a change is based on).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct AccountSettings {
    pub(crate) version: i64,
    pub(crate) sync: bool,
    pub(crate) telemetry: bool,
    pub(crate) training_consent: bool,
    pub(crate) marketing_email: bool,
}

impl AccountSettings {
    fn from_json(value: &Value) -> AccountSettings {
        let flag = |key: &str| value.get(key).and_then(Value::as_bool).unwrap_or(false);
        AccountSettings {
            version: value.get("version").and_then(Value::as_i64).unwrap_or(0),
            sync: flag("sync"),
            telemetry: flag("telemetry"),
            training_consent: flag("training_consent"),
            marketing_email: flag("marketing_email"),
        }
    }
}

/// A change to some of the account's settings (`None` leaves one as it is).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SettingsChange {
    pub(crate) sync: Option<bool>,
    pub(crate) telemetry: Option<bool>,
    pub(crate) training_consent: Option<bool>,
    pub(crate) marketing_email: Option<bool>,
}

impl SettingsChange {
    pub(crate) fn is_empty(&self) -> bool {
        *self == SettingsChange::default()
    }
}

/// A signed-in device's way to the service: what sync needs.
pub(crate) struct Session {
    pub(crate) cloud: Cloud,
    pub(crate) remembered: Remembered,
    pub(crate) data_key: Key,
}

/// The account as the daemon reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Status {
    pub(crate) account: Option<Remembered>,
    /// The data key's fingerprint when signed in.
    pub(crate) data_key_check: String,
    /// Why the service was not asked, or why the session ended.
    pub(crate) message: String,
}

/// The account of one data folder.
pub(crate) struct Accounts {
    file: PathBuf,
    keys: Result<Arc<dyn KeySource>, String>,
    /// The access token of the live session, in memory only.
    access: Mutex<Option<String>>,
    /// Held while `account.json` is read, changed and written, so that two requests (a settings
    /// change and a sync's status refresh, say) neither lose each other's change nor race.
    writing: Mutex<()>,
}

/// What signing up needs.
pub(crate) struct SignUp<'a> {
    pub(crate) server: &'a str,
    pub(crate) email: &'a str,
    pub(crate) name: &'a str,
    pub(crate) birth_date: &'a str,
    pub(crate) password: &'a str,
    pub(crate) device_name: &'a str,
    pub(crate) country: &'a str,
    /// The local history's key, which the new account adopts (so what is kept stays readable).
    pub(crate) history_key: Option<[u8; 32]>,
}

impl Accounts {
    pub(crate) fn new(data_dir: &Path, keys: Result<Arc<dyn KeySource>, String>) -> Accounts {
        Accounts { file: data_dir.join("account.json"), keys, access: Mutex::new(None), writing: Mutex::new(()) }
    }

    /// Where this data folder's keys live (the history's too).
    pub(crate) fn key_source(&self) -> Result<Arc<dyn KeySource>, AccountError> {
        self.keys.clone().map_err(AccountError::NoKeys)
    }

    fn keys(&self) -> Result<&dyn KeySource, AccountError> {
        self.keys.as_deref().map_err(|reason| AccountError::NoKeys(reason.clone()))
    }

    /// What `account.json` says, if this device is signed in.
    pub(crate) fn remembered(&self) -> Option<Remembered> {
        let bytes = std::fs::read(&self.file).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Creates the account and signs this device in; returns its status and the recovery code.
    pub(crate) fn sign_up(&self, request: SignUp<'_>) -> Result<(Status, String), AccountError> {
        let cloud = Cloud::new(request.server).map_err(AccountError::Invalid)?;
        let email = crypto::normalize_email(request.email).map_err(|error| AccountError::Invalid(error.to_string()))?;
        let name = request.name.trim();
        if name.is_empty() {
            return Err(AccountError::Invalid("give your name (--name), as the account shows it".to_owned()));
        }
        check_birth_date(request.birth_date)?;
        check_password(request.password)?;
        let account_id = format!("acct_{}", hex(&random::<16>()?));
        let data_key = match request.history_key {
            Some(key) => Key(key),
            None => Key::random().map_err(crypto_failure)?,
        };
        let (mut body, keys) = password_material(&account_id, request.password, &data_key)?;
        let code = RecoveryCode::random().map_err(crypto_failure)?;
        for (key, value) in [
            ("account_id", json!(account_id)),
            ("name", json!(name)),
            ("email", json!(email)),
            ("date_of_birth", json!(request.birth_date.trim())),
            ("recovery_wrapped_data_key", json!(hex(&code.wrap(&account_id, &data_key).map_err(crypto_failure)?))),
            ("recovery_verifier_digest", json!(hex(&crypto::verifier_digest(&code.verifier())))),
        ] {
            body[key] = value;
        }
        if !request.country.trim().is_empty() {
            body["country"] = Value::String(request.country.trim().to_uppercase());
        }
        cloud.post("/v1/accounts", &body, None).map_err(|error| match error.code() {
            Some("too_young") => AccountError::Invalid(format!(
                "{error} 3D GPT accounts are for people 13 and older (or older where the law says so). \
                 Everything works without one: generations stay on this computer."
            )),
            _ => AccountError::Cloud(error),
        })?;
        let status = self.start_session(&cloud, &email, &keys.auth_key, &keys.encryption_key, request.device_name)?;
        Ok((status, code.to_text()))
    }

    /// The service to use: the one given, else the one this data folder last signed in to.
    pub(crate) fn service(&self, server: &str) -> Result<Cloud, AccountError> {
        let remembered = std::fs::read_to_string(self.server_file()).unwrap_or_default();
        let server = if server.trim().is_empty() { remembered.trim() } else { server };
        if server.is_empty() {
            return Err(AccountError::Invalid(
                "no service is remembered for this data folder: give one with --server".to_owned(),
            ));
        }
        Cloud::new(server).map_err(AccountError::Invalid)
    }

    fn server_file(&self) -> PathBuf {
        self.file.with_file_name("account-server")
    }

    /// Signs this device in to an existing account (at the remembered service when `server` is
    /// empty).
    pub(crate) fn log_in(
        &self,
        server: &str,
        email: &str,
        password: &str,
        device_name: &str,
    ) -> Result<Status, AccountError> {
        let cloud = self.service(server)?;
        let email = crypto::normalize_email(email).map_err(|error| AccountError::Invalid(error.to_string()))?;
        let keys = prelogin_keys(&cloud, &email, password)?;
        self.start_session(&cloud, &email, &keys.auth_key, &keys.encryption_key, device_name)
    }

    pub(crate) fn start_session(
        &self,
        cloud: &Cloud,
        email: &str,
        auth_key: &Key,
        encryption_key: &Key,
        device_name: &str,
    ) -> Result<Status, AccountError> {
        let device_name = if device_name.trim().is_empty() { host_name() } else { device_name.trim().to_owned() };
        let body = json!({
            "email": email,
            "auth_key": hex(auth_key.as_bytes()),
            "device_name": device_name,
            "os": std::env::consts::OS,
            "client_version": env!("CARGO_PKG_VERSION"),
        });
        let tokens = cloud.post("/v1/sessions", &body, None).map_err(|error| match error.code() {
            Some("invalid_credentials") => AccountError::Unauthenticated(error.to_string()),
            _ => AccountError::Cloud(error),
        })?;
        let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let (access, refresh, session) =
            (text(&tokens, "access_token"), text(&tokens, "refresh_token"), text(&tokens, "session_id"));
        let account = cloud.get("/v1/account", Some(&access))?;
        let account_id = text(&account, "id");
        let wrapped = unhex(&text(&account, "wrapped_data_key"))
            .ok_or_else(|| AccountError::Invalid("the service sent no wrapped data key".to_owned()))?;
        // The data key comes from the service, opened with this password's key: never from another
        // device's keychain.
        let data_key = crypto::unwrap_data_key(encryption_key, &account_id, &wrapped).map_err(|_| {
            AccountError::Unauthenticated(
                "the account's data key does not open with this password's key; change the password on a signed-in device or recover the account"
                    .to_owned(),
            )
        })?;
        self.keys()?.set_secret(DATA_KEY, data_key.as_bytes())?;
        self.keys()?.set_secret(REFRESH_TOKEN, refresh.as_bytes())?;
        let remembered = Remembered {
            server: cloud.server().to_owned(),
            account_id,
            email: text(&account, "email"),
            name: text(&account, "name"),
            device_name,
            session_id: session,
            tier: text(&account, "tier"),
            email_verified: account.get("email_verified").and_then(Value::as_bool).unwrap_or(false),
            device_id: format!("dev_{}", hex(&random::<12>()?)),
            settings: cloud
                .get("/v1/account/settings", Some(&access))
                .ok()
                .map(|value| AccountSettings::from_json(&value)),
            usage: cloud.get("/v1/account/usage", Some(&access)).ok().map(|value| usage_of(&value)),
        };
        self.remember(Some(&remembered))?;
        // The service is remembered past a logout, so the next login needs no --server.
        if let Err(error) = threedgpt_engine::export::write_atomic(&self.server_file(), cloud.server().as_bytes()) {
            tracing::warn!(%error, "the service's address was not remembered");
        }
        *self.access.lock().unwrap_or_else(PoisonError::into_inner) = Some(access);
        Ok(Status { account: Some(remembered), data_key_check: check_of(&data_key), message: String::new() })
    }

    /// Who is signed in, refreshed from the service when it answers (the remembered state, with
    /// the reason, when it does not); a session the service ended signs this device out.
    pub(crate) fn status(&self) -> Result<Status, AccountError> {
        let Some(remembered) = self.remembered() else {
            return Ok(Status::default());
        };
        let data_key_check = match self.keys()?.secret(DATA_KEY)? {
            Some(bytes) if bytes.len() == 32 => {
                let mut key = [0u8; 32];
                key.copy_from_slice(&bytes);
                check_of(&Key(key))
            }
            _ => String::new(),
        };
        let cloud = Cloud::new(&remembered.server).map_err(AccountError::Invalid)?;
        let account = match self.authorized(&cloud, |token| cloud.get("/v1/account", Some(token))) {
            Ok(account) => account,
            Err(AccountError::Cloud(error @ CloudError::Unreachable { .. })) => {
                return Ok(Status {
                    account: Some(remembered),
                    data_key_check,
                    message: format!("offline: {error}; showing what this device remembers"),
                });
            }
            Err(AccountError::Unauthenticated(reason)) => {
                self.forget()?;
                return Ok(Status { account: None, data_key_check: String::new(), message: reason });
            }
            Err(error) => return Err(error),
        };
        let text = |key: &str| account.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let usage = self
            .authorized(&cloud, |token| cloud.get("/v1/account/usage", Some(token)))
            .ok()
            .map(|usage| usage_of(&usage));
        let refreshed = self.update_remembered(&remembered.account_id, |remembered| {
            remembered.name = text("name");
            remembered.email = text("email");
            remembered.tier = text("tier");
            remembered.email_verified = account.get("email_verified").and_then(Value::as_bool).unwrap_or(false);
            if usage.is_some() {
                remembered.usage = usage;
            }
        })?;
        // Signed out meanwhile (by another request): say so rather than bring the account back.
        let Some(remembered) = refreshed else { return Ok(Status::default()) };
        Ok(Status { account: Some(remembered), data_key_check, message: String::new() })
    }

    /// Ends this device's session at the service (when it answers) and forgets the keys here.
    pub(crate) fn log_out(&self) -> Result<Status, AccountError> {
        let Some(remembered) = self.remembered() else {
            return Ok(Status { message: "not signed in".to_owned(), ..Status::default() });
        };
        let message = match Cloud::new(&remembered.server) {
            Ok(cloud) => match self.authorized(&cloud, |token| cloud.delete("/v1/sessions/current", Some(token))) {
                Ok(_) | Err(AccountError::Unauthenticated(_)) => String::new(),
                Err(error) => {
                    format!("signed out here; the service was not told ({error}), so the session ends when it expires")
                }
            },
            Err(_) => String::new(),
        };
        self.forget()?;
        Ok(Status { account: None, data_key_check: String::new(), message })
    }

    /// The signed-in session with its data key, or `None` when signed out.
    pub(crate) fn session(&self) -> Result<Option<Session>, AccountError> {
        let Some(remembered) = self.remembered() else { return Ok(None) };
        let Some(bytes) = self.keys()?.secret(DATA_KEY)? else {
            return Err(AccountError::Unauthenticated(
                "this device has no data key for the account; log in again".to_owned(),
            ));
        };
        let data_key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            AccountError::Unauthenticated("the data key kept for the account is damaged; log in again".to_owned())
        })?;
        let cloud = Cloud::new(&remembered.server).map_err(AccountError::Invalid)?;
        Ok(Some(Session { cloud, remembered, data_key: Key(data_key) }))
    }

    /// Runs `call` with the session's access token (see [`Accounts::authorized`]); a session the
    /// service ended signs this device out.
    pub(crate) fn call<T>(
        &self,
        cloud: &Cloud,
        call: impl Fn(&str) -> Result<T, CloudError>,
    ) -> Result<T, AccountError> {
        match self.authorized(cloud, call) {
            Err(AccountError::Unauthenticated(reason)) => {
                self.forget()?;
                Err(AccountError::Unauthenticated(reason))
            }
            result => result,
        }
    }

    /// The account's settings, read from the service (and remembered), or as last remembered
    /// when it cannot be reached.
    pub(crate) fn settings(&self) -> Result<Option<AccountSettings>, AccountError> {
        let Some(session) = self.session()? else { return Ok(None) };
        match self.call(&session.cloud, |token| session.cloud.get("/v1/account/settings", Some(token))) {
            Ok(value) => {
                let settings = AccountSettings::from_json(&value);
                self.remember_settings(&session.remembered.account_id, settings)?;
                Ok(Some(settings))
            }
            Err(AccountError::Cloud(CloudError::Unreachable { .. })) if session.remembered.settings.is_some() => {
                Ok(session.remembered.settings)
            }
            Err(error) => Err(error),
        }
    }

    /// Changes the named settings at the service. Only the named fields are sent, so a change made
    /// meanwhile on another device to another field is kept: a stale write is read again and
    /// reapplied once.
    pub(crate) fn update_settings(&self, change: SettingsChange) -> Result<AccountSettings, AccountError> {
        let Some(session) = self.session()? else {
            return Err(AccountError::Unauthenticated("not signed in".to_owned()));
        };
        let mut based_on = match session.remembered.settings {
            Some(settings) => settings.version,
            None => self.settings()?.map_or(0, |settings| settings.version),
        };
        let mut body = json!({"based_on": based_on, "device_id": session.remembered.device_id});
        for (key, value) in [
            ("sync", change.sync),
            ("telemetry", change.telemetry),
            ("training_consent", change.training_consent),
            ("marketing_email", change.marketing_email),
        ] {
            if let Some(value) = value {
                body[key] = Value::Bool(value);
            }
        }
        let put = |body: &Value| {
            self.call(&session.cloud, |token| session.cloud.put("/v1/account/settings", body, Some(token)))
        };
        let value = match put(&body) {
            Err(AccountError::Cloud(CloudError::Refused { status: 409, .. })) => {
                based_on = self.settings()?.map_or(0, |settings| settings.version);
                body["based_on"] = json!(based_on);
                put(&body)?
            }
            result => result?,
        };
        let settings = AccountSettings::from_json(&value);
        self.remember_settings(&session.remembered.account_id, settings)?;
        Ok(settings)
    }

    /// Remembers settings read from the service, unless a newer version is remembered already (a
    /// change answered while this read was on its way).
    fn remember_settings(&self, account_id: &str, settings: AccountSettings) -> Result<(), AccountError> {
        self.update_remembered(account_id, |remembered| {
            if remembered.settings.is_none_or(|known| known.version <= settings.version) {
                remembered.settings = Some(settings);
            }
        })?;
        Ok(())
    }

    /// Runs `call` with a live access token, refreshing it once when the service refuses it.
    fn authorized<T>(&self, cloud: &Cloud, call: impl Fn(&str) -> Result<T, CloudError>) -> Result<T, AccountError> {
        let cached = self.access.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(token) = cached {
            match call(&token) {
                // A wrong password in a request that proves it is not the token's fault.
                Err(CloudError::Refused { status: 401, code, .. }) if code != "invalid_credentials" => {}
                result => return Ok(result?),
            }
        }
        let token = self.refresh(cloud)?;
        match call(&token) {
            Err(CloudError::Refused { status: 401, code, message }) if code != "invalid_credentials" => {
                Err(AccountError::Unauthenticated(message))
            }
            result => Ok(result?),
        }
    }

    /// A new access token from the refresh token, which the service replaces (kept at once).
    fn refresh(&self, cloud: &Cloud) -> Result<String, AccountError> {
        let Some(refresh) = self.keys()?.secret(REFRESH_TOKEN)? else {
            return Err(AccountError::Unauthenticated("this device has no session; log in again".to_owned()));
        };
        let refresh = String::from_utf8_lossy(&refresh).into_owned();
        let tokens = match cloud.post("/v1/sessions/refresh", &json!({"refresh_token": refresh}), None) {
            Err(CloudError::Refused { status: 401, message, .. }) => {
                return Err(AccountError::Unauthenticated(format!(
                    "the service ended this device's session ({message}); log in again"
                )));
            }
            result => result?,
        };
        let text = |key: &str| tokens.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        self.keys()?.set_secret(REFRESH_TOKEN, text("refresh_token").as_bytes())?;
        let access = text("access_token");
        *self.access.lock().unwrap_or_else(PoisonError::into_inner) = Some(access.clone());
        Ok(access)
    }

    pub(crate) fn forget(&self) -> Result<(), AccountError> {
        self.keys()?.delete_secret(REFRESH_TOKEN)?;
        self.keys()?.delete_secret(DATA_KEY)?;
        *self.access.lock().unwrap_or_else(PoisonError::into_inner) = None;
        self.remember(None)
    }

    /// Writes `account.json` whole (or removes it), never half.
    fn remember(&self, remembered: Option<&Remembered>) -> Result<(), AccountError> {
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        self.write_remembered(remembered)
    }

    /// Changes what `account.json` says now (not a copy read before a slow call to the service),
    /// if it is still `account_id`'s; returns what it says after, `None` when signed out.
    fn update_remembered(
        &self,
        account_id: &str,
        change: impl FnOnce(&mut Remembered),
    ) -> Result<Option<Remembered>, AccountError> {
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(mut remembered) = self.remembered().filter(|remembered| remembered.account_id == account_id) else {
            return Ok(None);
        };
        change(&mut remembered);
        self.write_remembered(Some(&remembered))?;
        Ok(Some(remembered))
    }

    /// Writes through a temporary file of its own, so a failed write leaves the old file whole.
    /// Callers hold `writing`.
    fn write_remembered(&self, remembered: Option<&Remembered>) -> Result<(), AccountError> {
        let failed = |source| AccountError::Write { path: self.file.clone(), source };
        match remembered {
            None => match std::fs::remove_file(&self.file) {
                Ok(()) => Ok(()),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(error) => Err(failed(error)),
            },
            Some(remembered) => {
                if let Some(parent) = self.file.parent() {
                    std::fs::create_dir_all(parent).map_err(failed)?;
                }
                let bytes = serde_json::to_vec_pretty(remembered).unwrap_or_default();
                threedgpt_engine::export::write_atomic(&self.file, &bytes).map_err(|error| {
                    let source = match error {
                        threedgpt_engine::EngineError::Write { source, .. } => source,
                        other => std::io::Error::other(other.to_string()),
                    };
                    failed(source)
                })
            }
        }
    }
}

fn usage_of(value: &Value) -> Usage {
    let number = |key: &str| value.get(key).and_then(Value::as_u64).unwrap_or(0);
    Usage {
        bytes: number("bytes"),
        bytes_limit: number("bytes_limit"),
        generations: number("generations"),
        generations_limit: number("generations_limit"),
    }
}

/// The keys of `password` for `email`, with the salt and parameters the service gives.
fn prelogin_keys(cloud: &Cloud, email: &str, password: &str) -> Result<crypto::PasswordKeys, AccountError> {
    let pre = cloud.post("/v1/accounts/prelogin", &json!({"email": email}), None)?;
    let salt: [u8; 16] = unhex(pre.get("salt").and_then(Value::as_str).unwrap_or_default())
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| {
            AccountError::Invalid("the service sent no usable salt; is it a 3D GPT cloud service?".to_owned())
        })?;
    let kdf = pre.get("kdf").cloned().unwrap_or_default();
    let number =
        |key: &str| kdf.get(key).and_then(Value::as_u64).and_then(|value| u32::try_from(value).ok()).unwrap_or(0);
    let params = KdfParams {
        memory_kib: number("memory_kib"),
        iterations: number("iterations"),
        parallelism: number("parallelism"),
    };
    // A hostile service cannot make this device hash weakly: below the minimum is refused.
    crypto::password_keys(password, &salt, params, KdfParams::MINIMUM)
        .map_err(|error| AccountError::Invalid(format!("the service asked for {error}; refused")))
}

/// What a new password gives the service (a fresh salt, the auth key, the data key wrapped anew),
/// and its keys.
fn password_material(
    account_id: &str,
    password: &str,
    data_key: &Key,
) -> Result<(Value, crypto::PasswordKeys), AccountError> {
    check_password(password)?;
    let salt = random::<16>()?;
    let params = KdfParams::DEFAULT;
    let keys = crypto::password_keys(password, &salt, params, KdfParams::MINIMUM).map_err(crypto_failure)?;
    let wrapped = crypto::wrap_data_key(&keys.encryption_key, account_id, data_key).map_err(crypto_failure)?;
    let material = json!({
        "salt": hex(&salt),
        "kdf": {"memory_kib": params.memory_kib, "iterations": params.iterations, "parallelism": params.parallelism},
        "auth_key": hex(keys.auth_key.as_bytes()),
        "wrapped_data_key": hex(&wrapped),
    });
    Ok((material, keys))
}

/// A date of birth as YYYY-MM-DD (the service checks the age).
fn check_birth_date(text: &str) -> Result<(), AccountError> {
    let parts: Vec<&str> = text.trim().split('-').collect();
    let valid = parts.len() == 3
        && parts[0].len() == 4
        && parts[1].len() == 2
        && parts[2].len() == 2
        && parts.iter().all(|part| part.bytes().all(|byte| byte.is_ascii_digit()))
        && (1..=12).contains(&parts[1].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&parts[2].parse::<u32>().unwrap_or(0));
    if valid {
        Ok(())
    } else {
        Err(AccountError::Invalid(format!("{text:?} is not a date of birth as YYYY-MM-DD (such as 1990-05-17)")))
    }
}

fn check_password(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < 10 {
        return Err(AccountError::Invalid(
            "choose a password of at least 10 characters (a few unrelated words are easy to remember)".to_owned(),
        ));
    }
    Ok(())
}

/// A key's fingerprint, safe to show: equal on two devices exactly when the keys are.
fn check_of(key: &Key) -> String {
    let digest = blake3::derive_key("3dgpt v1 data key check", key.as_bytes());
    hex(&digest[..8])
}

fn random<const N: usize>() -> Result<[u8; N], AccountError> {
    let key = Key::random().map_err(crypto_failure)?;
    let mut bytes = [0u8; N];
    bytes.copy_from_slice(&key.as_bytes()[..N]);
    Ok(bytes)
}

fn crypto_failure(error: crypto::CryptoError) -> AccountError {
    AccountError::Invalid(error.to_string())
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| format!("{} computer", std::env::consts::OS))
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    hex::decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_sign_up_details_are_refused_before_anything_is_sent() {
        assert!(check_birth_date("1990-05-17").is_ok());
        for bad in ["17/05/1990", "1990-5-17", "1990-13-01", "", "abcd-ef-gh"] {
            assert!(check_birth_date(bad).unwrap_err().to_string().contains("YYYY-MM-DD"), "{bad}");
        }
        assert!(check_password("short").unwrap_err().to_string().contains("at least 10 characters"));
        assert!(Cloud::new("cloud.example.com").is_err());
        assert!(Cloud::new("https://cloud.example.com/").is_ok());
    }

    #[test]
    fn signed_out_is_the_status_without_an_account_file_and_logging_out_twice_is_fine() {
        let folder = tempfile::tempdir().unwrap();
        let keys: Arc<dyn KeySource> = Arc::new(crate::history::key::Fixed::new(crate::history::test_key()));
        let accounts = Accounts::new(folder.path(), Ok(keys));
        assert_eq!(accounts.status().unwrap(), Status::default());
        assert_eq!(accounts.log_out().unwrap().message, "not signed in");
    }

    #[test]
    fn an_unreachable_service_is_named() {
        let folder = tempfile::tempdir().unwrap();
        let keys: Arc<dyn KeySource> = Arc::new(crate::history::key::Fixed::new(crate::history::test_key()));
        let accounts = Accounts::new(folder.path(), Ok(keys));
        let error =
            accounts.log_in("http://127.0.0.1:9", "ada@example.com", "correct horse battery", "laptop").unwrap_err();
        assert!(error.to_string().starts_with("could not reach the cloud service at http://127.0.0.1:9"), "{error}");
        assert!(accounts.remembered().is_none());
    }

    fn remembered_for_test(account_id: &str) -> Remembered {
        Remembered {
            server: "http://127.0.0.1:9".to_owned(),
            account_id: account_id.to_owned(),
            email: "ada@example.com".to_owned(),
            name: "Ada".to_owned(),
            device_name: "laptop".to_owned(),
            session_id: "sess".to_owned(),
            tier: "free".to_owned(),
            email_verified: false,
            device_id: "dev_1".to_owned(),
            settings: None,
            usage: None,
        }
    }

    #[test]
    fn concurrent_changes_to_the_account_file_all_land_and_none_fails() {
        // A settings change and a sync's refresh wrote `account.json` through one shared temporary
        // name: one rename took the other's file away ("No such file or directory").
        let folder = tempfile::tempdir().unwrap();
        let keys: Arc<dyn KeySource> = Arc::new(crate::history::key::Fixed::new(crate::history::test_key()));
        let accounts = Accounts::new(folder.path(), Ok(keys));
        accounts.remember(Some(&remembered_for_test("acct_1"))).unwrap();
        let settings = |version| AccountSettings {
            version,
            sync: version % 2 == 0,
            telemetry: false,
            training_consent: false,
            marketing_email: false,
        };
        std::thread::scope(|scope| {
            for thread in 0..4_i64 {
                let accounts = &accounts;
                scope.spawn(move || {
                    for round in 0..50 {
                        accounts.remember_settings("acct_1", settings(thread * 50 + round)).unwrap();
                        accounts
                            .update_remembered("acct_1", |remembered| remembered.tier = format!("t{thread}"))
                            .unwrap();
                    }
                });
            }
        });
        let remembered = accounts.remembered().unwrap();
        // The newest version wins whatever order the answers came back in.
        assert_eq!(remembered.settings.unwrap().version, 199);
        let leftovers: Vec<_> =
            std::fs::read_dir(folder.path()).unwrap().map(|entry| entry.unwrap().file_name()).collect();
        assert_eq!(leftovers, [std::ffi::OsString::from("account.json")]);
    }

    #[test]
    fn an_update_for_another_account_or_after_sign_out_changes_nothing() {
        let folder = tempfile::tempdir().unwrap();
        let keys: Arc<dyn KeySource> = Arc::new(crate::history::key::Fixed::new(crate::history::test_key()));
        let accounts = Accounts::new(folder.path(), Ok(keys));
        assert_eq!(
            accounts.update_remembered("acct_1", |remembered| remembered.tier = "pro".to_owned()).unwrap(),
            None
        );
        assert!(accounts.remembered().is_none(), "a late refresh must not sign a signed-out device back in");
        accounts.remember(Some(&remembered_for_test("acct_2"))).unwrap();
        assert_eq!(
            accounts.update_remembered("acct_1", |remembered| remembered.tier = "pro".to_owned()).unwrap(),
            None
        );
        assert_eq!(accounts.remembered().unwrap().tier, "free");
    }

    #[test]
    fn hex_round_trips_and_rejects_junk() {
        assert_eq!(unhex(&hex(&[0, 1, 254, 255])).unwrap(), [0, 1, 254, 255]);
        assert!(unhex("abc").is_none() && unhex("zz").is_none());
    }
}
