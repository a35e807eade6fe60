//! A self-contained SVG chart of a rehearsal: admitted and throttled requests per second, with
//! the rate limit drawn as a line, so a run can be looked at without any tool.

use std::fmt::Write as _;

/// One second of a rehearsal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SecondCounts {
    /// Seconds since the rehearsal started (mock clock).
    pub second: u64,
    /// Requests admitted in that second.
    pub admitted: u64,
    /// Requests answered 429 in that second.
    pub throttled: u64,
}

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 48.0;

/// Renders the series as SVG. `limit_per_second` is the configured limit spread over one
/// second (limit / window), drawn as a dashed line so bursts above it stand out.
pub fn render(title: &str, series: &[SecondCounts], limit_per_second: Option<f64>) -> String {
    let peak = series
        .iter()
        .map(|s| s.admitted.max(s.throttled) as f64)
        .fold(limit_per_second.unwrap_or(0.0), f64::max)
        .max(1.0);
    let span = series.len().saturating_sub(1).max(1) as f64;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: f64| LEFT + plot_w * i / span;
    let y = |v: f64| TOP + plot_h * (1.0 - v / peak);
    let polyline = |pick: fn(&SecondCounts) -> u64| {
        series
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{:.1},{:.1}", x(i as f64), y(pick(s) as f64)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">
<title>{title}</title>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{LEFT}" y="22" font-size="15">{title}</text>
<line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#333"/>
<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#333"/>
<text x="{LEFT}" y="{label_y}">0 s</text>
<text x="{right}" y="{label_y}" text-anchor="end">{last} s</text>
<text x="{axis_x}" y="{top_label}" text-anchor="end">{peak}</text>
<text x="{axis_x}" y="{bottom}" text-anchor="end">0</text>
"##,
        title = escape(title),
        bottom = TOP + plot_h,
        right = LEFT + plot_w,
        label_y = TOP + plot_h + 18.0,
        last = series.len().saturating_sub(1),
        axis_x = LEFT - 6.0,
        top_label = TOP + 4.0,
        peak = peak.round(),
    );
    let _ = writeln!(
        svg,
        r##"<polyline id="admitted" fill="none" stroke="#2a7d2a" stroke-width="2" points="{}"/>"##,
        polyline(|s| s.admitted)
    );
    let _ = writeln!(
        svg,
        r##"<polyline id="throttled" fill="none" stroke="#c0392b" stroke-width="2" points="{}"/>"##,
        polyline(|s| s.throttled)
    );
    if let Some(limit) = limit_per_second {
        let _ = writeln!(
            svg,
            r##"<line id="limit" x1="{LEFT}" y1="{ly:.1}" x2="{right}" y2="{ly:.1}" stroke="#1f4e9c" stroke-dasharray="6 4"/>"##,
            ly = y(limit),
            right = LEFT + plot_w,
        );
    }
    let legend_y = HEIGHT - 12.0;
    let _ = write!(
        svg,
        r##"<text x="{LEFT}" y="{legend_y}" fill="#2a7d2a">admitted/s</text>
<text x="{x2}" y="{legend_y}" fill="#c0392b">throttled (429)/s</text>
<text x="{x3}" y="{legend_y}" fill="#1f4e9c">limit</text>
</svg>
"##,
        x2 = LEFT + 110.0,
        x3 = LEFT + 260.0,
    );
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_has_both_series_and_the_limit() {
        let series: Vec<SecondCounts> = (0..5)
            .map(|second| SecondCounts {
                second,
                admitted: 3,
                throttled: second,
            })
            .collect();
        let svg = render("polite <test>", &series, Some(2.5));
        assert!(svg.starts_with("<svg"));
        assert!(
            svg.contains(r#"id="admitted""#)
                && svg.contains(r#"id="throttled""#)
                && svg.contains(r#"id="limit""#)
        );
        assert!(svg.contains("polite &lt;test&gt;"));
        assert_eq!(
            svg.matches(',').count(),
            10,
            "one point per second per series"
        );
    }
}
