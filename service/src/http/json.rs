//! JSON bodies as Graph takes them: [`GraphJson`], an extractor whose refusals are Graph's
//! (400 naming the property, 408, 413, 415) and never quote a value the body held, since a
//! sign-in's body holds a code; and the checks Graph makes of a resource's properties.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::GraphError;

/// A JSON body of type `T`, refused in Graph's shape (see the module).
#[derive(Debug, Clone)]
pub struct GraphJson<T>(pub T);

/// The refusal of a body: a property serde names (unknown, missing or repeated), or the
/// place where the JSON went wrong; never a value.
fn refusal(rejection: &JsonRejection) -> GraphError {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            let text = e.body_text();
            for (says, refused) in [
                ("unknown field `", "unknown property"),
                ("missing field `", "missing property"),
                ("duplicate field `", "repeated property"),
            ] {
                if let Some(name) = text
                    .split(says)
                    .nth(1)
                    .and_then(|rest| rest.split('`').next())
                    .filter(|name| name.len() <= 64)
                {
                    return GraphError::bad_request(format_args!("{refused} '{name}'"));
                }
            }
            GraphError::bad_request(format_args!(
                "a property has the wrong type or value{}",
                location(&text)
            ))
        }
        JsonRejection::JsonSyntaxError(e) => GraphError::bad_request(format_args!(
            "the body is not valid JSON{}",
            location(&e.body_text())
        )),
        other => GraphError::bad_body(other),
    }
}

/// `serde_json`'s " at line L column C", when its message ends with one.
fn location(text: &str) -> String {
    text.rfind(" at line ")
        .map(|at| text[at..].to_owned())
        .filter(|at| at.len() <= 40 && at.chars().all(|c| c.is_ascii_alphanumeric() || c == ' '))
        .unwrap_or_default()
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for GraphJson<T> {
    type Rejection = GraphError;

    async fn from_request(request: Request, state: &S) -> Result<Self, GraphError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(refusal(&rejection)),
        }
    }
}

/// A JSON object body's properties that `allowed` does not list, as Graph refuses them:
/// the first one found is named, with the resource it does not belong to. Nested objects are
/// checked by the caller.
///
/// # Errors
///
/// 400, naming the property, or saying the body is not an object.
pub fn refuse_unknown(
    document: &Value,
    allowed: &[&str],
    resource: &str,
) -> Result<(), GraphError> {
    let Some(object) = document.as_object() else {
        return Err(GraphError::bad_request(format_args!(
            "the body must be a JSON object ({resource})"
        )));
    };
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(GraphError::unknown_property(unknown, resource)),
        None => Ok(()),
    }
}

/// An `@odata.type` a body states must be the resource's own.
///
/// # Errors
///
/// 400, naming the type expected and the one found.
pub fn refuse_other_type(document: &Value, expected: &str) -> Result<(), GraphError> {
    match document.get("@odata.type") {
        None => Ok(()),
        Some(Value::String(found)) if found == expected => Ok(()),
        Some(found) => Err(GraphError::bad_request(format_args!(
            "@odata.type: expected {expected}, found {found}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::location;

    #[test]
    fn a_location_is_taken_only_as_serde_writes_it() {
        assert_eq!(
            location("expected `,` at line 1 column 17"),
            " at line 1 column 17"
        );
        assert_eq!(location("invalid type: string \"x\""), "");
        assert_eq!(location("oops at line \"secret\""), "");
    }
}
