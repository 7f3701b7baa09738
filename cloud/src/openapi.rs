//! The OpenAPI 3.1 document of the API, generated from the handlers' annotations (utoipa) and
//! served at `/openapi.json`: what each call takes and answers, for clients and for the
//! property-based tests (schemathesis) that check the server against it.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every error's body.
#[derive(ToSchema)]
#[expect(dead_code, reason = "describes the JSON that ApiError writes; never built")]
pub(crate) struct ErrorBody {
    /// A short code a program can match on (`invalid_request`, `quota_exceeded`, …).
    code: String,
    /// A sentence for people: what was wrong and what to do.
    message: String,
}

/// Sealed bytes (docs/crypto.md), as the body of a blob call.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[expect(dead_code, reason = "describes a binary body; never built")]
pub(crate) struct Binary(Vec<u8>);

/// The bearer-token scheme the authenticated calls use.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "3D GPT cloud",
        description = "Accounts, end-to-end-encrypted sync storage and the privacy rights of 3D GPT. \
                       Every error is a JSON body {code, message}; unknown fields are ignored.",
    ),
    components(schemas(ErrorBody, Binary)),
    modifiers(&Bearer),
)]
pub(crate) struct ApiDoc;
