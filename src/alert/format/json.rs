//! `json` (the default): the versioned watchword payload (docs/payload.md), signed with the
//! sink's `secret` per Standard Webhooks.


use super::{Batch, Check, Format, FormatError, Request};
use crate::alert::message::Message;

/// No options of its own.
pub(super) type Options = super::common::NoOptions;

/// The watchword payload as is.
pub(super) struct Json;

impl Format for Json {
    type Options = Options;
    const SIGNED: bool = true;

    fn new(_options: Options, _check: &mut Check<'_>) -> Option<Self> {
        Some(Json)
    }

    fn render(
        &self,
        request: &mut Request,
        batch: &Batch<'_>,
        _messages: &[Message],
    ) -> Result<(), FormatError> {
        request.body = json_payload(batch);
        Ok(())
    }
}

/// The `json` body: the stored payload itself, or for a digest a `watchword.digest` envelope
/// holding each alert's payload unchanged.
fn json_payload(batch: &Batch<'_>) -> String {
    if !batch.is_digest() {
        return batch.payloads.first().copied().unwrap_or("{}").to_string();
    }
    crate::model::payload::digest(batch.id, &batch.payloads)
}
