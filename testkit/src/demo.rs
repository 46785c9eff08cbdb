//! The demonstration's principals: who the service's tests act as. The directory and the
//! bearer tokens are the service's own demonstration files (`service/demo/`), which its
//! README's curl lines use too; the test authenticator takes a principal document in a header.

/// The folder of the service's demonstration files (`directory.json`, `tokens.json`).
pub const FILES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../service/demo");

/// The demonstration's directory: a Global Administrator, an Authentication Administrator
/// (the helpdesk), a member in the `onboarding` group, and a guest.
pub const DIRECTORY: &str = include_str!("../../service/demo/directory.json");

/// The Global Administrator's object id in the demonstration's directory (`ga@contoso.com`).
pub const GA_ID: &str = "5d9b1a3e-7c42-4f0a-9e61-2b8c4d7f0a01";

/// The helpdesk's object id in the demonstration's directory (`helpdesk@contoso.com`).
pub const HELPDESK_ID: &str = "8e2f6c14-3b7d-4a95-b0c8-6d1e9f2a3b02";

/// The Privileged Authentication Administrator's object id in the demonstration's directory
/// (`pam@contoso.com`).
pub const PAM_ID: &str = "b7d3e1f8-2a4c-4d6e-8f0a-9c1b3d5e7f06";

/// Chris's object id in the demonstration's directory (`chris@contoso.com`).
pub const CHRIS_ID: &str = "1c7a4e9f-6d2b-4e83-a5f1-0b9c8d7e6f03";

/// The guest's object id in the demonstration's directory
/// (`vendor_fabrikam.com#EXT#@contoso.com`).
pub const GUEST_ID: &str = "f04b8d26-9a1e-4c57-8b3d-7e6a5c4b3a04";

/// The app id of the demonstration's "Joiner workflow" application, which issues passes as
/// itself (SPEC 3.7).
pub const WORKFLOW_APP_ID: &str = "0f9d3c1e-5b7a-4e2d-9c8b-1a2b3c4d5e6f";

/// The object id of the "Joiner workflow" application's service principal.
pub const WORKFLOW_OBJECT_ID: &str = "6c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5";

/// The app id of the demonstration's "Helpdesk reporting" application, which reads passes.
pub const REPORTING_APP_ID: &str = "4b8e2a6c-0d1f-4e3a-b5c7-9d2e4f6a8b10";

/// The object id of the "Helpdesk reporting" application's service principal.
pub const REPORTING_OBJECT_ID: &str = "d2e4f6a8-1b3c-4d5e-9f70-8a9b0c1d2e07";

/// The Global Administrator, as the test authenticator's header names them (by user principal
/// name, which the directory resolves to their object id).
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
