//! SDK items (from `Scan`) as the library's items, attribute by attribute, types kept, so that
//! the library decodes them exactly as it decodes the items its own requests read.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue as SdkValue;
use lease_dynamodb_sdk::{AttributeValue, Item};

/// `item` as a library item; `None` if an attribute has a type this SDK version does not know.
pub(crate) fn from_sdk(item: &HashMap<String, SdkValue>) -> Option<Item> {
    item.iter()
        .map(|(name, value)| Some((name.clone(), value_from_sdk(value)?)))
        .collect()
}

fn value_from_sdk(value: &SdkValue) -> Option<AttributeValue> {
    Some(match value {
        SdkValue::S(s) => AttributeValue::S(s.clone()),
        SdkValue::N(n) => AttributeValue::N(n.clone()),
        SdkValue::B(b) => AttributeValue::B(b.as_ref().to_vec()),
        SdkValue::Bool(b) => AttributeValue::Bool(*b),
        SdkValue::Null(_) => AttributeValue::Null,
        SdkValue::Ss(v) => AttributeValue::Ss(v.clone()),
        SdkValue::Ns(v) => AttributeValue::Ns(v.clone()),
        SdkValue::Bs(v) => AttributeValue::Bs(v.iter().map(|b| b.as_ref().to_vec()).collect()),
        SdkValue::L(v) => AttributeValue::L(v.iter().map(value_from_sdk).collect::<Option<_>>()?),
        SdkValue::M(m) => AttributeValue::M(from_sdk(m)?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::primitives::Blob;

    use super::*;

    #[test]
    fn every_type_is_kept() {
        let item = HashMap::from([
            ("s".to_owned(), SdkValue::S("x".into())),
            ("n".to_owned(), SdkValue::N("42".into())),
            ("b".to_owned(), SdkValue::B(Blob::new(vec![1, 2]))),
            ("bool".to_owned(), SdkValue::Bool(true)),
            ("null".to_owned(), SdkValue::Null(true)),
            ("ss".to_owned(), SdkValue::Ss(vec!["a".into()])),
            ("ns".to_owned(), SdkValue::Ns(vec!["1".into()])),
            ("bs".to_owned(), SdkValue::Bs(vec![Blob::new(vec![3])])),
            ("l".to_owned(), SdkValue::L(vec![SdkValue::N("1".into())])),
            (
                "m".to_owned(),
                SdkValue::M(HashMap::from([("k".to_owned(), SdkValue::S("v".into()))])),
            ),
        ]);
        let converted = from_sdk(&item).unwrap();
        let types: Vec<_> = converted.values().map(AttributeValue::type_name).collect();
        assert_eq!(
            types,
            ["B", "BOOL", "BS", "L", "M", "N", "NS", "NULL", "S", "SS"]
        );
        assert_eq!(converted["n"], AttributeValue::N("42".into()));
    }
}
