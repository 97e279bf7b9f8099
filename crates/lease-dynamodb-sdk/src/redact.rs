//! Keeping a request's bearer tokens out of the texts a server sends back.
//!
//! A lease token is a bearer capability: whoever knows it can refresh or release the lease.
//! lease-core never prints one (a token shows as its fingerprint), but a server's answer is
//! not lease-core's text: an error message may quote a value of the request (a
//! `ValidationException` naming the value it refused, a proxy echoing the body), and the store
//! puts that message into the [`StoreError`](lease::store::StoreError) it returns. So before
//! a server's text goes into an error, every bearer token the request carried is replaced by
//! its fingerprint (`tok:` and 8 hex digits, as lease-core shows tokens).
//!
//! The bearer tokens of a request are its values under the placeholder `:tok`
//! ([`TOKEN_LABEL`](lease::store::expr::TOKEN_LABEL)), in each of a transaction's items too:
//! every request a planner makes labels its token so.

use std::borrow::Cow;

use aws_sdk_dynamodb::types::AttributeValue as SdkValue;
use lease::token::LeaseToken;

use crate::convert::{Input, SdkItem};

/// The placeholder under which a request carries its bearer token.
fn token_placeholder() -> String {
    format!(":{}", lease::store::expr::TOKEN_LABEL)
}

/// The bearer tokens of one request (none for a read).
#[derive(Debug, Default)]
pub(crate) struct Secrets(Vec<String>);

impl Secrets {
    /// No secrets: for requests that carry no token (a describe, a scan).
    pub(crate) fn none() -> Self {
        Self::default()
    }

    /// The bearer tokens `input` carries: its string values under `:tok`, in every item of a
    /// transaction.
    pub(crate) fn of(input: &Input) -> Self {
        let placeholder = token_placeholder();
        let mut secrets = Self::default();
        let mut add = |values: Option<&SdkItem>| {
            if let Some(SdkValue::S(token)) = values.and_then(|v| v.get(&placeholder))
                && !token.is_empty()
                && !secrets.0.contains(token)
            {
                secrets.0.push(token.clone());
            }
        };
        match input {
            Input::Put(put) => add(put.expression_attribute_values()),
            Input::Update(update) => add(update.expression_attribute_values()),
            Input::Delete(delete) => add(delete.expression_attribute_values()),
            Input::Transact(transact) => {
                for item in transact.transact_items() {
                    if let Some(check) = item.condition_check() {
                        add(check.expression_attribute_values());
                    }
                    if let Some(put) = item.put() {
                        add(put.expression_attribute_values());
                    }
                    if let Some(update) = item.update() {
                        add(update.expression_attribute_values());
                    }
                    if let Some(delete) = item.delete() {
                        add(delete.expression_attribute_values());
                    }
                }
            }
            Input::Get(_) | Input::Query(_) => {}
        }
        secrets
    }

    /// Whether `text` holds one of the tokens.
    pub(crate) fn appear_in(&self, text: &str) -> bool {
        self.0.iter().any(|token| text.contains(token.as_str()))
    }

    /// `text` with every token replaced by its fingerprint.
    pub(crate) fn hide<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        for token in &self.0 {
            if text.contains(token.as_str()) {
                let shown = LeaseToken::new(token.as_str()).fingerprint().to_string();
                text = Cow::Owned(text.replace(token.as_str(), &shown));
            }
        }
        text
    }

    /// [`hide`](Self::hide) for an owned text.
    pub(crate) fn hide_owned(&self, text: String) -> String {
        match self.hide(&text) {
            Cow::Borrowed(_) => text,
            Cow::Owned(hidden) => hidden,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;

    #[test]
    fn a_token_in_a_text_becomes_its_fingerprint() {
        let input = Input::Update(
            UpdateItemInput::builder()
                .table_name("locks")
                .expression_attribute_values(":tok", SdkValue::S("0b7e-SECRET".into()))
                .expression_attribute_values(":now", SdkValue::N("0b7e-SECRET".into()))
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let secrets = Secrets::of(&input);
        let fingerprint = LeaseToken::new("0b7e-SECRET").fingerprint().to_string();
        let text = "value 0b7e-SECRET is invalid; 0b7e-SECRET again";
        assert!(secrets.appear_in(text));
        assert_eq!(
            secrets.hide(text),
            format!("value {fingerprint} is invalid; {fingerprint} again")
        );
        assert!(matches!(secrets.hide("nothing here"), Cow::Borrowed(_)));
        assert!(!Secrets::none().appear_in(text));
    }
}
