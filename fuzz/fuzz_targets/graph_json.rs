//! Graph JSON decoding on arbitrary bytes: nothing panics, and whatever decodes is valid and
//! re-encodes to something that decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use temporary_access_pass::graph::{PassDocument, PassList, PolicyDocument};
use temporary_access_pass::{CreateRequest, Policy, TemporaryAccessPass};

fuzz_target!(|data: &[u8]| {
    if let Ok(policy) = serde_json::from_slice::<Policy>(data) {
        let text = serde_json::to_string(&policy).expect("a valid policy encodes");
        let back: Policy = serde_json::from_str(&text).expect("and decodes again");
        assert_eq!(back, policy);
    }
    if let Ok(doc) = serde_json::from_slice::<PolicyDocument>(data) {
        let _ = doc.to_policy();
        let _ = doc.apply_to(Policy::default().settings());
    }
    if let Ok(doc) = serde_json::from_slice::<PassDocument>(data) {
        let _ = serde_json::to_string(&doc);
    }
    let _ = serde_json::from_slice::<PassList>(data);
    if let Ok(request) = serde_json::from_slice::<CreateRequest>(data) {
        if let Ok(text) = serde_json::to_string(&request) {
            assert_eq!(
                serde_json::from_str::<CreateRequest>(&text).ok(),
                Some(request)
            );
        }
    }
    if let Ok(record) = serde_json::from_slice::<TemporaryAccessPass>(data) {
        let text = serde_json::to_string(&record).expect("a valid record encodes");
        assert_eq!(
            serde_json::from_str::<TemporaryAccessPass>(&text).ok(),
            Some(record)
        );
    }
});
