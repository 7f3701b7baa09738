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
        let (status, recovery_code) = blocking(move || {
            accounts.sign_up(SignUp {
                server: &request.server,
                email: &request.email,
                name: &request.name,
                birth_date: &request.birth_date,
                password: &request.password,
                device_name: &request.device_name,
                country: &request.country,
            })
        })
        .await?;
        Ok(Response::new(v1::SignUpResponse { status: Some(to_proto(status)), recovery_code }))
    }

    async fn log_in(&self, request: Request<v1::LogInRequest>) -> Result<Response<v1::AccountStatus>, Status> {
        let accounts = self.accounts.clone();
        let request = request.into_inner();
        let status =
            blocking(move || accounts.log_in(&request.server, &request.email, &request.password, &request.device_name))
                .await?;
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
}

async fn blocking<T: Send + 'static>(
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
