//! The cloud service's JSON API, as the daemon calls it: blocking calls (run on a blocking
//! thread), every failure a [`CloudError`] that says what happened in words.

use std::time::Duration;

use serde_json::Value;

/// How long one call may take before the service counts as unreachable.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call to the service failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CloudError {
    /// The service could not be reached (down, offline, a wrong URL).
    #[error("could not reach the cloud service at {server}: {reason}")]
    Unreachable { server: String, reason: String },
    /// The service answered with an error.
    #[error("{message}")]
    Refused { status: u16, code: String, message: String },
}

impl CloudError {
    /// The service's error code (`unauthorized`, `too_young`, …), when it answered.
    pub(crate) fn code(&self) -> Option<&str> {
        match self {
            CloudError::Refused { code, .. } => Some(code),
            CloudError::Unreachable { .. } => None,
        }
    }
}

/// One service, by its base URL.
#[derive(Clone)]
pub(crate) struct Cloud {
    server: String,
    agent: ureq::Agent,
}

impl Cloud {
    /// The service at `server` (`https://…`, or `http://` for a local one), its URL checked.
    pub(crate) fn new(server: &str) -> Result<Cloud, String> {
        let server = server.trim().trim_end_matches('/').to_owned();
        if !(server.starts_with("https://") || server.starts_with("http://")) || server.len() < 10 {
            return Err(format!("{server:?} is not a service URL: give one such as https://cloud.example.com"));
        }
        let config = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(TIMEOUT)).build();
        Ok(Cloud { server, agent: ureq::Agent::new_with_config(config) })
    }

    /// Its base URL, as remembered.
    pub(crate) fn server(&self) -> &str {
        &self.server
    }

    pub(crate) fn get(&self, path: &str, token: Option<&str>) -> Result<Value, CloudError> {
        json(self.call("GET", path, Payload::None, token)?)
    }

    pub(crate) fn post(&self, path: &str, body: &Value, token: Option<&str>) -> Result<Value, CloudError> {
        json(self.call("POST", path, Payload::Json(body), token)?)
    }

    pub(crate) fn put(&self, path: &str, body: &Value, token: Option<&str>) -> Result<Value, CloudError> {
        json(self.call("PUT", path, Payload::Json(body), token)?)
    }

    pub(crate) fn delete(&self, path: &str, token: Option<&str>) -> Result<Value, CloudError> {
        json(self.call("DELETE", path, Payload::None, token)?)
    }

    /// A DELETE that carries a JSON body (the proof of the password an account's deletion takes).
    pub(crate) fn delete_with(&self, path: &str, body: &Value, token: Option<&str>) -> Result<Value, CloudError> {
        json(self.call("DELETE", path, Payload::Json(body), token)?)
    }

    /// Sends raw bytes (a sealed blob or a part of one).
    pub(crate) fn put_bytes(&self, path: &str, bytes: &[u8], token: Option<&str>) -> Result<Value, CloudError> {
        json(self.call("PUT", path, Payload::Bytes(bytes), token)?)
    }

    /// Raw bytes (a sealed blob), at most `limit` of them.
    pub(crate) fn get_bytes(&self, path: &str, token: Option<&str>, limit: u64) -> Result<Vec<u8>, CloudError> {
        let (status, bytes) = self.exchange("GET", path, Payload::None, token, limit)?;
        if (200..300).contains(&status) { Ok(bytes) } else { Err(refusal(status, &bytes)) }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: Payload<'_>,
        token: Option<&str>,
    ) -> Result<(u16, Vec<u8>), CloudError> {
        self.exchange(method, path, body, token, 16 << 20)
    }

    fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Payload<'_>,
        token: Option<&str>,
        limit: u64,
    ) -> Result<(u16, Vec<u8>), CloudError> {
        let url = format!("{}{path}", self.server);
        let unreachable = |reason: String| CloudError::Unreachable { server: self.server.clone(), reason };
        let authorization = token.map(|token| format!("Bearer {token}"));
        let encoded;
        let (content_type, bytes): (&str, Option<&[u8]>) = match body {
            Payload::None => ("", None),
            Payload::Json(value) => {
                encoded = serde_json::to_vec(value).unwrap_or_default();
                ("application/json", Some(&encoded[..]))
            }
            Payload::Bytes(bytes) => ("application/octet-stream", Some(bytes)),
        };
        let response = match (method, bytes) {
            ("POST" | "PUT", bytes) => {
                let mut request = if method == "POST" { self.agent.post(&url) } else { self.agent.put(&url) }
                    .header("Content-Type", content_type);
                if let Some(authorization) = &authorization {
                    request = request.header("Authorization", authorization);
                }
                request.send(bytes.unwrap_or_default())
            }
            ("DELETE", Some(bytes)) => {
                let mut request = self.agent.delete(&url).force_send_body().header("Content-Type", content_type);
                if let Some(authorization) = &authorization {
                    request = request.header("Authorization", authorization);
                }
                request.send(bytes)
            }
            ("DELETE", None) => {
                let mut request = self.agent.delete(&url);
                if let Some(authorization) = &authorization {
                    request = request.header("Authorization", authorization);
                }
                request.call()
            }
            _ => {
                let mut request = self.agent.get(&url);
                if let Some(authorization) = &authorization {
                    request = request.header("Authorization", authorization);
                }
                request.call()
            }
        };
        let mut response = response.map_err(|error| unreachable(error.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|error| unreachable(format!("the answer broke off: {error}")))?;
        Ok((status, bytes))
    }
}

/// What a request carries.
enum Payload<'a> {
    None,
    Json(&'a Value),
    Bytes(&'a [u8]),
}

/// A JSON answer, or the service's error in it.
fn json((status, bytes): (u16, Vec<u8>)) -> Result<Value, CloudError> {
    if !(200..300).contains(&status) {
        return Err(refusal(status, &bytes));
    }
    Ok(if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
}

fn refusal(status: u16, bytes: &[u8]) -> CloudError {
    let value: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    CloudError::Refused {
        status,
        code: text("code").unwrap_or_else(|| format!("http_{status}")),
        message: text("message").unwrap_or_else(|| format!("the cloud service answered HTTP {status}")),
    }
}
