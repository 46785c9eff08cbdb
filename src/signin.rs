//! Signing in with a pass (SPEC 5, 6.2, 6.4, 6.5): whether a pass is offered, the redemption
//! of a typed code, and the passwordless registration that follows. Each is a pure decision
//! over a context and `now`; [`crate::Engine`] runs them over a store.

use core::fmt;

mod lockout;
mod offer;
mod redeem;
mod register;

pub use lockout::Lockout;
pub use offer::{NotOffered, Offer, OfferContext, Prompt, offer};
pub use redeem::{
    AuthenticationStrength, CredentialPolicyBlock, Grant, NextStep, RedeemContext, RedeemRefusal,
    Redemption, ShownRefusal, redeem,
};
pub use register::{
    PasswordlessMethod, REGISTRATION_WINDOW, RegisterContext, RegistrationError, register,
};

/// Where a sign-in happens (SPEC 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Client {
    /// A web browser (for example at `https://aka.ms/mysecurityinfo`).
    #[default]
    Browser,
    /// The Microsoft Authenticator app (phone sign-in registration).
    AuthenticatorApp,
    /// The Network Policy Server (NPS) extension: cannot use a pass.
    NpsExtension,
    /// The Active Directory Federation Services (AD FS) adapter: cannot use a pass.
    AdfsAdapter,
    /// Windows Setup / Out-of-Box Experience (OOBE): cannot use a pass.
    WindowsSetup,
    /// Windows Autopilot: cannot use a pass.
    Autopilot,
}

impl Client {
    /// True for the clients that can sign in with a pass: the browser and the Authenticator app.
    #[must_use]
    pub const fn supports_pass(self) -> bool {
        matches!(self, Self::Browser | Self::AuthenticatorApp)
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Browser => "browser",
            Self::AuthenticatorApp => "Authenticator app",
            Self::NpsExtension => "NPS extension",
            Self::AdfsAdapter => "AD FS adapter",
            Self::WindowsSetup => "Windows Setup (OOBE)",
            Self::Autopilot => "Autopilot",
        })
    }
}

/// What the host knows about a sign-in attempt besides the user and the code: the client, the
/// user's domain, the tenant's single sign-on, and whether the user must register an SSPR method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SignInRequest {
    /// The client signing in.
    pub client: Client,
    /// The user's domain is federated with another identity provider.
    pub federated_domain: bool,
    /// Seamless single sign-on is enabled on the tenant.
    pub seamless_sso: bool,
    /// The user is in scope of the self-service password reset (SSPR) registration policy.
    pub sspr_registration_required: bool,
}

impl SignInRequest {
    /// A sign-in from `client` on a managed domain, no seamless SSO, no SSPR registration.
    #[must_use]
    pub const fn new(client: Client) -> Self {
        Self {
            client,
            federated_domain: false,
            seamless_sso: false,
            sspr_registration_required: false,
        }
    }

    /// Sets whether the user's domain is federated.
    #[must_use]
    pub const fn federated_domain(mut self, on: bool) -> Self {
        self.federated_domain = on;
        self
    }

    /// Sets whether seamless SSO is enabled.
    #[must_use]
    pub const fn seamless_sso(mut self, on: bool) -> Self {
        self.seamless_sso = on;
        self
    }

    /// Sets whether the user must register an SSPR method after signing in.
    #[must_use]
    pub const fn sspr_registration_required(mut self, on: bool) -> Self {
        self.sspr_registration_required = on;
        self
    }
}
