//! JSON bodies as Graph takes them: [`GraphJson`], an extractor whose refusals are Graph's
//! (400 naming the property, 408, 413, 415) and never quote a value the body held, since a
//! sign-in's body holds a code; and the checks Graph makes of a resource's properties.
//!
//! A body is refused before it is read into `T` when it is empty (400: Graph answers an
//! empty body so, where a JSON extractor alone says 415) and when an object in it repeats a
//! property (400, naming it): `serde_json` keeps the last of two values, and a proxy or a
//! firewall in front that keeps the first would judge another request than the one served.

use std::collections::HashSet;
use std::fmt;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
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
        let is_json = json_content_type(request.headers());
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| GraphError::bad_body(&JsonRejection::BytesRejection(e)))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(GraphError::bad_request(
                "the body is empty: a JSON object is required",
            ));
        }
        if !is_json {
            return Err(GraphError::not_json());
        }
        if let Some(repeated) = repeated_property(&bytes) {
            return Err(repeated);
        }
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(refusal(&rejection)),
        }
    }
}

/// True when the `Content-Type` is JSON: `application/json` or `application/<x>+json`, any
/// parameters after a `;`, in any case.
fn json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase())
        .is_some_and(|essence| {
            essence
                .strip_prefix("application/")
                .is_some_and(|sub| sub == "json" || sub.ends_with("+json"))
        })
}

/// The refusal of a body in which an object, at any depth, repeats a property: 400 naming it
/// (a name longer than 64 characters, or with a control character, is not quoted). `None`
/// when none repeats, or the body is not JSON at all (then the parse into `T` says where).
fn repeated_property(bytes: &[u8]) -> Option<GraphError> {
    let mut found = None;
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let _ = Walk(&mut found).deserialize(&mut reader);
    found.map(|name: String| {
        if name.chars().count() <= 64 && !name.chars().any(char::is_control) {
            GraphError::bad_request(format_args!("repeated property '{name}'"))
        } else {
            GraphError::bad_request("a property is repeated")
        }
    })
}

/// A walk over a JSON document that stops at the first property an object repeats, and keeps
/// its name. Nesting is bounded by `serde_json`'s own recursion limit.
struct Walk<'f>(&'f mut Option<String>);

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, reader: D) -> Result<(), D::Error> {
        reader.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let found = self.0;
        while items.next_element_seed(Walk(&mut *found))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut properties: A) -> Result<(), A::Error> {
        let found = self.0;
        let mut names = HashSet::new();
        while let Some(name) = properties.next_key::<String>()? {
            if names.contains(&name) {
                *found = Some(name);
                return Err(de::Error::custom("repeated property"));
            }
            properties.next_value_seed(Walk(&mut *found))?;
            names.insert(name);
        }
        Ok(())
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
    use axum::http::{HeaderMap, HeaderValue};

    use super::{json_content_type, location, repeated_property};

    #[test]
    fn a_location_is_taken_only_as_serde_writes_it() {
        assert_eq!(
            location("expected `,` at line 1 column 17"),
            " at line 1 column 17"
        );
        assert_eq!(location("invalid type: string \"x\""), "");
        assert_eq!(location("oops at line \"secret\""), "");
    }

    #[test]
    fn a_property_repeated_at_any_depth_is_named_and_one_repeated_nowhere_is_not() {
        let named = |body: &str| repeated_property(body.as_bytes()).map(|e| e.message);
        assert_eq!(named(r#"{"a": 1, "b": [{"a": 2}], "c": {"a": 3}}"#), None);
        assert_eq!(
            named(r#"[{"x": 1}, {"x": 2}]"#),
            None,
            "siblings may share names"
        );
        assert!(
            named(r#"{"userId": "a", "userId": "b"}"#)
                .unwrap()
                .contains("'userId'")
        );
        assert!(
            named(r#"{"a": {"b": [1, {"c": 1, "c": 2}]}}"#)
                .unwrap()
                .contains("'c'")
        );
        assert!(
            named(r#"{"\u0061": 1, "a": 2}"#).unwrap().contains("'a'"),
            "an escaped spelling is the same name"
        );
        let long = "k".repeat(65);
        let refused = named(&format!(r#"{{"{long}": 1, "{long}": 2}}"#)).unwrap();
        assert!(!refused.contains(&long), "{refused}");
        assert_eq!(
            named("{not json"),
            None,
            "the parse into the body's type says where"
        );
        assert_eq!(
            named(&"[".repeat(10_000)),
            None,
            "deep nesting stops at serde's limit"
        );
    }

    #[test]
    fn json_content_types_are_recognised_in_any_case_with_parameters() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("content-type", HeaderValue::from_str(value).unwrap());
            json_content_type(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/json"));
        assert!(!with("application/jsonx"));
        assert!(!with("text/plain"));
        assert!(!json_content_type(&HeaderMap::new()));
    }
}
