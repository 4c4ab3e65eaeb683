//! Bar charts drawn on the server as SVG (no script, presentation attributes only, so the CSP
//! needs no exception), each with its numbers as a table for screen readers and copy-paste.

/// Text for SVG and HTML, escaped by askama's own HTML escaper (the one the templates use).
fn escape(text: &str) -> String {
    match askama::filters::escape(text, askama::filters::Html) {
        Ok(safe) => safe.to_string(),
        Err(never) => match never {},
    }
}

const BAR: &str = "#0b4f8a";
const INK: &str = "#1b2330";
const GRID: &str = "#d5dbe3";

/// A vertical bar chart of labelled counts.
pub fn bars(id: &str, title: &str, data: &[(String, u64)]) -> String {
    let (width, height, left, bottom, top) = (640.0_f64, 260.0_f64, 40.0, 46.0, 16.0);
    let max = data.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    // A round axis maximum that four grid lines divide into whole numbers: 4 × (1, 2, 5 × 10^k).
    let nice = {
        let mut step = 4u64;
        loop {
            if let Some(m) = [1, 2, 5].iter().map(|f| f * step).find(|m| *m >= max) {
                break m;
            }
            step *= 10;
        }
    };
    let plot_h = height - bottom - top;
    let slot = (width - left) / data.len().max(1) as f64;
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"{id}-title\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"{id}-title\">{}</title>",
        escape(title)
    );
    for i in 0..=4u32 {
        let v = nice * u64::from(i) / 4;
        let y = top + plot_h - plot_h * f64::from(i) / 4.0;
        svg += &format!(
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{width}\" y2=\"{y:.1}\" stroke=\"{GRID}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"end\" fill=\"{INK}\">{v}</text>",
            left - 6.0,
            y + 4.0
        );
    }
    for (i, (label, n)) in data.iter().enumerate() {
        let h = plot_h * (*n as f64) / (nice as f64);
        let x = left + slot * i as f64 + slot * 0.15;
        let w = slot * 0.7;
        let y = top + plot_h - h;
        let cx = x + w / 2.0;
        // Labels stay horizontal (readable); words go on lines of their own.
        let lines: String = label
            .split(' ')
            .enumerate()
            .map(|(i, word)| {
                let dy = if i == 0 { 0.0 } else { 14.0 };
                format!("<tspan x=\"{cx:.1}\" dy=\"{dy}\">{}</tspan>", escape(word))
            })
            .collect();
        svg += &format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{BAR}\"><title>{}: {n}</title></rect>\
             <text x=\"{cx:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" fill=\"{INK}\">{lines}</text>",
            escape(label),
            height - bottom + 16.0,
        );
    }
    svg += "</svg>";
    let rows: String = data
        .iter()
        .map(|(l, n)| format!("<tr><td>{}</td><td>{n}</td></tr>", escape(l)))
        .collect();
    format!(
        "<figure>{svg}<figcaption>{}</figcaption><details><summary>Numbers</summary>\
         <table><tbody>{rows}</tbody></table></details></figure>",
        escape(title)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn charts_escape_labels_and_scale_to_round_numbers() {
        let svg = super::bars(
            "t",
            "Orders <by> state",
            &[("a&b".into(), 3), ("c".into(), 0)],
        );
        assert!(svg.contains("Orders &#60;by&#62; state"), "{svg}");
        assert!(svg.contains("a&#38;b: 3"), "{svg}");
        assert!(!svg.contains("<by>") && !svg.contains("a&b"));
        assert!(svg.contains(">4</text>"), "axis up to 4 for a maximum of 3");
        for tick in [">1</text>", ">2</text>", ">3</text>"] {
            assert!(svg.contains(tick), "whole-number ticks");
        }
        assert!(!svg.contains("<script") && !svg.contains("style="));
    }
}
