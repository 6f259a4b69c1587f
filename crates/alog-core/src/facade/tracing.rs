//! alog as a [`tracing-subscriber`](https://docs.rs/tracing-subscriber) layer (feature
//! `tracing`):
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//!
//! let logger = alog_core::Logger::builder().path("logs/app.log").build()?;
//! tracing_subscriber::registry().with(alog_core::tracing::layer(logger)).init();
//! let span = tracing::info_span!("request", id = 7);
//! let _guard = span.enter();
//! tracing::info!(user = "ann", "handled in {} ms", 3);   // INFO handled in 3 ms id=7 user=ann
//! # Ok::<(), alog_core::Error>(())
//! ```
//!
//! Each event is one record: its `message` is the record's message, the fields of the spans it
//! is in (outermost first) and then its own fields are typed fields, and its file, line and
//! module path are the record's source. Levels: ERROR, WARN, INFO, DEBUG, TRACE map to alog's.

use ::tracing::field::{Field as TracingField, Visit};
use ::tracing::{span, Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::Fields;
use crate::{Level, Logger, OwnedValue};

/// The layer: writes every event its logger's level lets through.
#[derive(Debug)]
pub struct AlogLayer {
    logger: Logger,
}

/// A layer writing events into `logger`.
pub fn layer(logger: Logger) -> AlogLayer {
    AlogLayer { logger }
}

/// alog's level of a `tracing` level.
pub fn level(l: &::tracing::Level) -> Level {
    match *l {
        ::tracing::Level::ERROR => Level::ERROR,
        ::tracing::Level::WARN => Level::WARN,
        ::tracing::Level::INFO => Level::INFO,
        ::tracing::Level::DEBUG => Level::DEBUG,
        _ => Level::TRACE,
    }
}

/// The fields a span was created or recorded with, kept in its extensions.
#[derive(Debug, Default)]
struct SpanFields(Fields);

/// Collects fields; `message` (when `take_message`) becomes the record's message.
struct Visitor<'a> {
    fields: &'a mut Fields,
    message: Option<&'a mut String>,
}

impl Visitor<'_> {
    fn put(&mut self, field: &TracingField, v: OwnedValue) {
        self.fields.push(field.name(), v);
    }
}

impl Visit for Visitor<'_> {
    fn record_i64(&mut self, field: &TracingField, value: i64) {
        self.put(field, OwnedValue::Int(value));
    }
    fn record_u64(&mut self, field: &TracingField, value: u64) {
        self.put(field, OwnedValue::Uint(value));
    }
    fn record_f64(&mut self, field: &TracingField, value: f64) {
        self.put(field, OwnedValue::Float(value));
    }
    fn record_bool(&mut self, field: &TracingField, value: bool) {
        self.put(field, OwnedValue::Bool(value));
    }
    fn record_str(&mut self, field: &TracingField, value: &str) {
        match (&mut self.message, field.name()) {
            (Some(m), "message") => m.push_str(value),
            _ => self.put(field, OwnedValue::Str(value.as_bytes().to_vec())),
        }
    }
    fn record_debug(&mut self, field: &TracingField, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        match (&mut self.message, field.name()) {
            (Some(m), "message") => {
                let _ = write!(m, "{value:?}");
            }
            _ => self.put(field, OwnedValue::Str(format!("{value:?}").into_bytes())),
        }
    }
}

impl<S> Layer<S> for AlogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        attrs.record(&mut Visitor {
            fields: &mut fields,
            message: None,
        });
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(SpanFields(fields)) = ext.get_mut::<SpanFields>() {
            values.record(&mut Visitor {
                fields,
                message: None,
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let lvl = level(meta.level());
        if !self.logger.enabled(lvl) {
            return;
        }
        let mut fields = Fields::default();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(f)) = span.extensions().get::<SpanFields>() {
                    fields
                        .kv
                        .extend(f.kv.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        super::with_message_buf(|message| {
            event.record(&mut Visitor {
                fields: &mut fields,
                message: Some(message),
            });
            fields.write(
                &self.logger,
                lvl,
                message,
                meta.file(),
                meta.line(),
                meta.module_path(),
            );
        });
    }
}
