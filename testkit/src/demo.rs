//! The demonstration's principals: who the service's tests act as. The directory and the
//! bearer tokens are the service's own demonstration files (`service/demo/`), which its
//! README's curl lines use too; the test authenticator takes a principal document in a header.

/// The folder of the service's demonstration files (`directory.json`, `tokens.json`).
pub const FILES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../service/demo");

/// The demonstration's directory: a Global Administrator, an Authentication Administrator
/// (the helpdesk), a member in the `onboarding` group, and a guest.
pub const DIRECTORY: &str = include_str!("../../service/demo/directory.json");

/// The Global Administrator, as the test authenticator's header names them.
pub const GA: &str = r#"{"id": "ga@contoso.com", "roles": ["Global Administrator"]}"#;

/// The helpdesk's Authentication Administrator, as the test authenticator's header names them.
pub const HELPDESK: &str =
    r#"{"id": "helpdesk@contoso.com", "roles": ["Authentication Administrator"]}"#;

/// Chris, a member in the `onboarding` group, as the test authenticator's header names them.
pub const CHRIS: &str = r#"{"id": "chris@contoso.com", "groups": ["onboarding"]}"#;

/// The Global Administrator's demonstration bearer token (`tokens.json` holds its digest).
pub const GA_TOKEN: &str = "Bearer ga-demo-token";

/// The helpdesk's demonstration bearer token.
pub const HELPDESK_TOKEN: &str = "Bearer helpdesk-demo-token";

/// The tenant policy's route.
pub const POLICY: &str = "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass";

/// The route of a user's passes.
#[must_use]
pub fn passes(user: &str) -> String {
    format!("/v1.0/users/{user}/authentication/temporaryAccessPassMethods")
}
