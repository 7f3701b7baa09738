//! The `Account` service: the account calls run on blocking threads (argon2id and HTTP).

use threedgpt_proto::v1::account_server::Account;
use threedgpt_proto::v1::{self};
use tonic::{Request, Response, Status};

use super::service::Daemon;
use crate::account::{AccountError, CloudError, SignUp, Status as AccountStatus};

#[tonic::async_trait]
impl Account for Daemon {
    async fn sign_up(&self, request: Request<v1::SignUpRequest>) -> Result<Response<v1::SignUpResponse>, Status> {
        let accounts = self.accounts.clone();
        let request = request.into_inner();
        let history_key = self.recorder.store.as_ref().map(|store| store.key_bytes());
        let (status, recovery_code) = blocking(move || {
            accounts.sign_up(SignUp {
                server: &request.server,
                email: &request.email,
                name: &request.name,
                birth_date: &request.birth_date,
                password: &request.password,
                device_name: &request.device_name,
                country: &request.country,
                history_key,
            })
        })
        .await?;
        // A new account starts with what this device chose (sync off stays off).
        let local = self.recorder.settings();
        let change = crate::account::SettingsChange {
            sync: Some(local.sync),
            telemetry: Some(local.telemetry),
            training_consent: local.training_consent.then_some(true),
            marketing_email: Some(local.marketing_email),
        };
        let accounts = self.accounts.clone();
        if let Err(error) = blocking(move || accounts.update_settings(change)).await {
            tracing::warn!(%error, "the new account's settings were not set from this device's");
        }
        self.syncer.nudge();
        Ok(Response::new(v1::SignUpResponse { status: Some(to_proto(status)), recovery_code }))
    }

    async fn log_in(&self, request: Request<v1::LogInRequest>) -> Result<Response<v1::AccountStatus>, Status> {
        let accounts = self.accounts.clone();
        let request = request.into_inner();
        let status =
            blocking(move || accounts.log_in(&request.server, &request.email, &request.password, &request.device_name))
                .await?;
        let status = self.adopt_account_key(status).await;
        self.syncer.nudge();
        Ok(Response::new(to_proto(status)))
    }

    async fn status(&self, _request: Request<v1::AccountStatusRequest>) -> Result<Response<v1::AccountStatus>, Status> {
        let accounts = self.accounts.clone();
        Ok(Response::new(to_proto(blocking(move || accounts.status()).await?)))
    }

    async fn log_out(&self, _request: Request<v1::LogOutRequest>) -> Result<Response<v1::AccountStatus>, Status> {
        let accounts = self.accounts.clone();
        Ok(Response::new(to_proto(blocking(move || accounts.log_out()).await?)))
    }

    async fn sessions(&self, _request: Request<v1::SessionsRequest>) -> Result<Response<v1::SessionsResponse>, Status> {
        let accounts = self.accounts.clone();
        let sessions = blocking(move || accounts.sessions()).await?;
        let sessions = sessions
            .into_iter()
            .map(|session| v1::SessionInfo {
                id: session.id,
                device_name: session.device_name,
                os: session.os,
                created_at: session.created_at,
                last_seen_at: session.last_seen_at,
                current: session.current,
            })
            .collect();
        Ok(Response::new(v1::SessionsResponse { sessions }))
    }

    async fn change_password(
        &self,
        request: Request<v1::ChangePasswordRequest>,
    ) -> Result<Response<v1::AccountStatus>, Status> {
        let accounts = self.accounts.clone();
        let request = request.into_inner();
        let status =
            blocking(move || accounts.change_password(&request.current_password, &request.new_password)).await?;
        Ok(Response::new(to_proto(status)))
    }

    async fn recover(&self, request: Request<v1::RecoverRequest>) -> Result<Response<v1::SignUpResponse>, Status> {
        let accounts = self.accounts.clone();
        let request = request.into_inner();
        let (status, recovery_code) = blocking(move || {
            accounts.recover(
                &request.server,
                &request.email,
                &request.recovery_code,
                &request.new_password,
                &request.device_name,
            )
        })
        .await?;
        let status = self.adopt_account_key(status).await;
        self.syncer.nudge();
        Ok(Response::new(v1::SignUpResponse { status: Some(to_proto(status)), recovery_code }))
    }

    async fn export_account(
        &self,
        request: Request<v1::ExportAccountRequest>,
    ) -> Result<Response<v1::ExportAccountResponse>, Status> {
        let path = std::path::PathBuf::from(request.into_inner().path);
        if !path.is_absolute() {
            return Err(Status::invalid_argument("give the export's path as an absolute path"));
        }
        let accounts = self.accounts.clone();
        let bytes = blocking(move || accounts.export(&path)).await?;
        Ok(Response::new(v1::ExportAccountResponse { bytes }))
    }

    async fn delete_account(
        &self,
        request: Request<v1::DeleteAccountRequest>,
    ) -> Result<Response<v1::DeleteAccountResponse>, Status> {
        let accounts = self.accounts.clone();
        let password = request.into_inner().password;
        blocking(move || accounts.delete_account(&password)).await?;
        // What the account held goes from this device too; what never left it stays.
        let removed_here = match self.recorder.store.clone() {
            Some(store) => tokio::task::spawn_blocking(move || -> Result<u32, crate::history::StoreError> {
                let mut removed = 0;
                for id in store.synced_ids()? {
                    removed += u32::from(store.remove_deleted(&id)?);
                }
                store.sync_with("")?;
                Ok(removed)
            })
            .await
            .map_err(|error| Status::internal(format!("the history task failed: {error}")))?
            .map_err(super::status::store_status)?,
            None => 0,
        };
        Ok(Response::new(v1::DeleteAccountResponse { removed_here }))
    }

    async fn sync_status(&self, _request: Request<v1::SyncStatusRequest>) -> Result<Response<v1::SyncReport>, Status> {
        Ok(Response::new(sync_to_proto(self.syncer.status())))
    }

    async fn sync_now(&self, _request: Request<v1::SyncNowRequest>) -> Result<Response<v1::SyncReport>, Status> {
        self.queue.touch();
        let syncer = self.syncer.clone();
        let report = tokio::task::spawn_blocking(move || syncer.sync(true))
            .await
            .map_err(|error| Status::internal(format!("the sync task failed: {error}")))?;
        Ok(Response::new(sync_to_proto(report)))
    }
}

impl Daemon {
    /// After a login, the account's data key becomes the history's own (everything here sealed
    /// again under it). Should that fail, the history stays as it was, under its own key, and the
    /// status says so.
    async fn adopt_account_key(&self, mut status: AccountStatus) -> AccountStatus {
        let Some(store) = self.recorder.store.clone() else { return status };
        let accounts = self.accounts.clone();
        let adopted = tokio::task::spawn_blocking(move || -> Result<usize, String> {
            let session = accounts.session().map_err(|error| error.to_string())?.ok_or("signed out meanwhile")?;
            let source = accounts.key_source().map_err(|error| error.to_string())?;
            store.rekey(*session.data_key.as_bytes(), source.as_ref()).map_err(|error| error.to_string())
        })
        .await
        .unwrap_or_else(|error| Err(error.to_string()));
        match adopted {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "the history is sealed with the account's data key now"),
            Err(error) => {
                tracing::warn!(%error, "the history keeps its own key");
                status.message = format!(
                    "signed in; this device's history stays sealed with its own key ({error}); it syncs all the same"
                );
            }
        }
        status
    }
}

fn sync_to_proto(report: crate::sync::Report) -> v1::SyncReport {
    v1::SyncReport {
        state: report.phase.name().to_owned(),
        message: report.message,
        last_sync_unix_ms: report.last_sync_ms,
        pending_uploads: report.pending_uploads,
        pending_deletes: report.pending_deletes,
        uploaded: report.uploaded,
        downloaded: report.downloaded,
        removed: report.removed,
    }
}

pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AccountError> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| Status::internal(format!("the account task failed: {error}")))?
        .map_err(account_status)
}

/// An account failure as a gRPC status a client can branch on.
fn account_status(error: AccountError) -> Status {
    let message = error.to_string();
    match error {
        AccountError::Invalid(_) => Status::invalid_argument(message),
        AccountError::Unauthenticated(_) => Status::unauthenticated(message),
        AccountError::Cloud(CloudError::Unreachable { .. }) => Status::unavailable(message),
        AccountError::Cloud(CloudError::Refused { status: 409, .. }) => Status::already_exists(message),
        AccountError::Cloud(CloudError::Refused { status: 429, .. }) => Status::resource_exhausted(message),
        AccountError::Cloud(CloudError::Refused { status: 400 | 403 | 422, .. }) => Status::invalid_argument(message),
        AccountError::Cloud(CloudError::Refused { status: 401, .. }) => Status::unauthenticated(message),
        AccountError::Cloud(CloudError::Refused { .. }) => Status::unavailable(message),
        AccountError::Keys(_) | AccountError::NoKeys(_) => Status::failed_precondition(message),
        AccountError::Write { .. } => Status::internal(message),
    }
}

fn to_proto(status: AccountStatus) -> v1::AccountStatus {
    let AccountStatus { account, data_key_check, message } = status;
    match account {
        None => v1::AccountStatus { message, ..Default::default() },
        Some(account) => v1::AccountStatus {
            signed_in: true,
            bytes_used: account.usage.map_or(0, |usage| usage.bytes),
            bytes_limit: account.usage.map_or(0, |usage| usage.bytes_limit),
            generations: account.usage.map_or(0, |usage| usage.generations),
            generations_limit: account.usage.map_or(0, |usage| usage.generations_limit),
            server: account.server,
            account_id: account.account_id,
            email: account.email,
            name: account.name,
            tier: account.tier,
            email_verified: account.email_verified,
            device_name: account.device_name,
            session_id: account.session_id,
            data_key_check,
            message,
        },
    }
}
