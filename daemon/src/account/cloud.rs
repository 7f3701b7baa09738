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
        self.call("GET", path, None, token)
    }

    pub(crate) fn post(&self, path: &str, body: &Value, token: Option<&str>) -> Result<Value, CloudError> {
        self.call("POST", path, Some(body), token)
    }

    pub(crate) fn delete(&self, path: &str, token: Option<&str>) -> Result<Value, CloudError> {
        self.call("DELETE", path, None, token)
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>, token: Option<&str>) -> Result<Value, CloudError> {
        let url = format!("{}{path}", self.server);
        let unreachable = |reason: String| CloudError::Unreachable { server: self.server.clone(), reason };
        let authorization = token.map(|token| format!("Bearer {token}"));
        let response = match (method, body) {
            ("POST", body) => {
                let bytes = serde_json::to_vec(body.unwrap_or(&Value::Null)).unwrap_or_default();
                let mut request = self.agent.post(&url).header("Content-Type", "application/json");
                if let Some(authorization) = &authorization {
                    request = request.header("Authorization", authorization);
                }
                request.send(&bytes[..])
            }
            ("DELETE", _) => {
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
            .limit(16 << 20)
            .read_to_vec()
            .map_err(|error| unreachable(format!("the answer broke off: {error}")))?;
        let value: Value =
            if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        Err(CloudError::Refused {
            status,
            code: text("code").unwrap_or_else(|| format!("http_{status}")),
            message: text("message").unwrap_or_else(|| format!("the cloud service answered HTTP {status}")),
        })
    }
}
