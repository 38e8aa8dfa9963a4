//! The progress bar of `watchword once`, and the log writer that keeps log lines above it.
//!
//! A log line written straight to the terminal lands after the bar's text on the bar's own
//! line, and the next redraw half-erases it. So every line goes through the bar instead:
//! indicatif's `suspend` clears the bar, the line is written, and the bar is drawn again below.

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};

use indicatif::ProgressBar;
use tracing_subscriber::fmt::MakeWriter;

/// The bar on screen, if any: shared by `once` (which shows and clears it) and the log writer.
#[derive(Clone, Default)]
pub(crate) struct BarSlot(Arc<Mutex<Option<ProgressBar>>>);

impl BarSlot {
    /// A bar for `total` feeds (done of total, failures so far) on a terminal; a hidden one
    /// in pipes and the journal, where a bar would only be noise.
    pub(crate) fn show(&self, total: usize) -> ProgressBar {
        if !io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} feeds  {msg}  [{elapsed}]",
        ) {
            bar.set_style(style);
        }
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(bar.clone());
        bar
    }

    /// Takes the bar off the screen for good: what follows (the stdout sink's alerts, the
    /// pass summary) is written on clean lines.
    pub(crate) fn clear(&self) {
        let bar = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    }

    fn current(&self) -> Option<ProgressBar> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A `MakeWriter` for stderr that writes each log line above the bar while one is shown.
#[derive(Clone, Default)]
pub(crate) struct AboveBar {
    slot: BarSlot,
}

impl AboveBar {
    pub(crate) fn new(slot: BarSlot) -> AboveBar {
        AboveBar { slot }
    }
}

impl<'a> MakeWriter<'a> for AboveBar {
    type Writer = AboveBarWriter;

    fn make_writer(&'a self) -> AboveBarWriter {
        AboveBarWriter {
            bar: self.slot.current(),
        }
    }
}

/// One log event's writer (tracing's fmt layer writes each event with one `write_all`).
pub(crate) struct AboveBarWriter {
    bar: Option<ProgressBar>,
}

impl Write for AboveBarWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &self.bar {
            Some(bar) => bar.suspend(|| io::stderr().write(buf)),
            None => io::stderr().write(buf),
        }
    }

    // One suspend per line: a line split over two redraws would be shredded all the same.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &self.bar {
            Some(bar) => bar.suspend(|| io::stderr().write_all(buf)),
            None => io::stderr().write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}
