//! The client a sign-in comes from, as JSON names it (`browser`, `authenticatorApp`,
//! `npsExtension`, `adfsAdapter`, `windowsSetup`, `autopilot`): in a host's sign-in request,
//! and in the storage form of the events that name one.

use serde::{Deserialize, Serialize};

use crate::signin::Client;

/// A [`Client`] in JSON, camelCase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum ClientDocument {
    /// A web browser (the default, as [`Client`]'s).
    #[default]
    Browser,
    /// The Microsoft Authenticator app.
    AuthenticatorApp,
    /// The NPS extension (cannot use a pass, SPEC 5.2).
    NpsExtension,
    /// The AD FS adapter (cannot use a pass).
    AdfsAdapter,
    /// Windows setup, OOBE (cannot use a pass).
    WindowsSetup,
    /// Autopilot (cannot use a pass).
    Autopilot,
}

impl From<Client> for ClientDocument {
    fn from(c: Client) -> Self {
        match c {
            Client::Browser => Self::Browser,
            Client::AuthenticatorApp => Self::AuthenticatorApp,
            Client::NpsExtension => Self::NpsExtension,
            Client::AdfsAdapter => Self::AdfsAdapter,
            Client::WindowsSetup => Self::WindowsSetup,
            Client::Autopilot => Self::Autopilot,
        }
    }
}

impl From<ClientDocument> for Client {
    fn from(c: ClientDocument) -> Self {
        match c {
            ClientDocument::Browser => Self::Browser,
            ClientDocument::AuthenticatorApp => Self::AuthenticatorApp,
            ClientDocument::NpsExtension => Self::NpsExtension,
            ClientDocument::AdfsAdapter => Self::AdfsAdapter,
            ClientDocument::WindowsSetup => Self::WindowsSetup,
            ClientDocument::Autopilot => Self::Autopilot,
        }
    }
}
