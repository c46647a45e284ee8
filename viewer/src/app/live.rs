//! Repainting only when something shown changes: a job's end wakes the
//! window ([`crate::jobs::Job`]); what shows live progress (a spinner, a
//! bar, a count) asks for the next frame a little later, and only while
//! it is on screen. egui's own spinner asks for every frame; ours turns
//! a step at a time.

use std::time::Duration;

use egui::{Response, Ui};

/// How often live progress on screen is redrawn.
pub(crate) const LIVE_EVERY: Duration = Duration::from_millis(250);

/// Asks for a frame after [`LIVE_EVERY`]: something on screen shows
/// progress that moves without waking the window.
pub(crate) fn live(ui: &Ui) {
    ui.ctx().request_repaint_after(LIVE_EVERY);
}

/// A spinner turning an eighth of a turn each [`LIVE_EVERY`] (egui's
/// repaints every frame, about 60 a second, however idle the rest).
pub(crate) fn spinner(ui: &mut Ui) -> Response {
    let size = ui.style().spacing.interact_size.y;
    let (rect, response) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::hover());
    response.widget_info(|| egui::WidgetInfo::new(egui::accesskit::Role::ProgressIndicator));
    if ui.is_rect_visible(rect) {
        let step = (ui.input(|i| i.time) / LIVE_EVERY.as_secs_f64()).floor();
        let start = step * std::f64::consts::TAU / 8.0;
        let radius = rect.height() * 0.5 - 3.0;
        let points: Vec<egui::Pos2> = (0..=16)
            .map(|k| {
                let a = start + (k as f64 / 16.0) * 240f64.to_radians();
                rect.center() + radius * egui::vec2(a.cos() as f32, a.sin() as f32)
            })
            .collect();
        let color = ui.visuals().strong_text_color();
        ui.painter()
            .add(egui::Shape::line(points, egui::Stroke::new(2.5, color)));
        live(ui);
    }
    response
}
