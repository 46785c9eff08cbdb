// The onboarding page's script: a pass, then a security key (WebAuthn), then a sign-in with it.
// No framework; every error is shown in words in the alert region.
"use strict";

const $ = (id) => document.getElementById(id);

function b64urlToBytes(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(b64 + "===".slice((b64.length + 3) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function bytesToB64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let raw = "";
  for (const b of bytes) raw += String.fromCharCode(b);
  return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function say(text) {
  $("error").textContent = "";
  $("status").textContent = text;
}

function fail(text) {
  $("status").textContent = "";
  $("error").textContent = text;
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const document = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const message = document && document.error ? document.error.message : response.statusText;
    throw new Error(message);
  }
  return document;
}

function user() {
  return $("user").value.trim();
}

async function signIn(event) {
  event.preventDefault();
  if (!user() || !$("code").value) {
    fail("Type your user name and your Temporary Access Pass.");
    return;
  }
  $("sign-in").disabled = true;
  try {
    const granted = await post("/signIn/temporaryAccessPass", {
      userId: user(),
      temporaryAccessPass: $("code").value,
    });
    $("code").value = "";
    const until = new Date(granted.registrationUntil);
    $("window").textContent = `Register your key before ${until.toLocaleTimeString()}.`;
    $("step-register").hidden = false;
    say(`Signed in as ${user()}. Now register a security key.`);
    $("register").focus();
  } catch (error) {
    fail(`Sign-in failed: ${error.message}`);
    $("sign-in").disabled = false;
  }
}

async function register() {
  $("register").disabled = true;
  try {
    const displayName = $("key-name").value.trim() || "Security key";
    const options = await post("/webauthn/registration/options", { userId: user(), displayName });
    const publicKey = options.publicKey;
    publicKey.challenge = b64urlToBytes(publicKey.challenge);
    publicKey.user.id = b64urlToBytes(publicKey.user.id);
    for (const c of publicKey.excludeCredentials || []) c.id = b64urlToBytes(c.id);
    const created = await navigator.credentials.create({ publicKey });
    const credential = {
      id: created.id,
      rawId: bytesToB64url(created.rawId),
      type: created.type,
      response: {
        attestationObject: bytesToB64url(created.response.attestationObject),
        clientDataJSON: bytesToB64url(created.response.clientDataJSON),
      },
      extensions: created.getClientExtensionResults(),
    };
    const method = await post("/webauthn/registration", { userId: user(), displayName, credential });
    $("step-passkey").hidden = false;
    say(`Security key "${method.displayName}" registered.`);
    $("passkey-sign-in").focus();
  } catch (error) {
    fail(`Registering the key failed: ${error.message}`);
    $("register").disabled = false;
  }
}

async function passkeySignIn() {
  $("passkey-sign-in").disabled = true;
  try {
    const options = await post("/webauthn/authentication/options", { userId: user() });
    const publicKey = options.publicKey;
    publicKey.challenge = b64urlToBytes(publicKey.challenge);
    for (const c of publicKey.allowCredentials || []) c.id = b64urlToBytes(c.id);
    const asserted = await navigator.credentials.get({ publicKey });
    const credential = {
      id: asserted.id,
      rawId: bytesToB64url(asserted.rawId),
      type: asserted.type,
      response: {
        authenticatorData: bytesToB64url(asserted.response.authenticatorData),
        clientDataJSON: bytesToB64url(asserted.response.clientDataJSON),
        signature: bytesToB64url(asserted.response.signature),
        userHandle: asserted.response.userHandle ? bytesToB64url(asserted.response.userHandle) : null,
      },
      extensions: asserted.getClientExtensionResults(),
    };
    const signedIn = await post("/webauthn/authentication", { userId: user(), credential });
    say(`Signed in with your passkey as ${user()}.`);
  } catch (error) {
    fail(`Signing in with the passkey failed: ${error.message}`);
    $("passkey-sign-in").disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  if (!window.PublicKeyCredential) {
    fail("This browser cannot use security keys or passkeys (WebAuthn).");
  }
  $("pass-form").addEventListener("submit", signIn);
  $("register").addEventListener("click", register);
  $("passkey-sign-in").addEventListener("click", passkeySignIn);
});
