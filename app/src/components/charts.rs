//! Small SVG charts: grouped horizontal bars and a line over months. Drawn
//! by hand: a charting crate would add far more to the bundle than these
//! few elements, and the shapes needed are fixed.

use leptos::prelude::*;

/// One labelled row of a bar chart with a value per series.
#[derive(Debug, Clone, PartialEq)]
pub struct BarRow {
    pub label: String,
    pub values: Vec<f64>,
}

/// Horizontal bars, one group per row, one bar per series; the legend names
/// the series. Values share one scale.
#[component]
pub fn BarChart(
    rows: Vec<BarRow>,
    series: Vec<String>,
    #[prop(into)] label: String,
    /// How a value is written beside its bar.
    format: fn(f64) -> String,
) -> impl IntoView {
    let bar = 12;
    let gap = 8;
    let per_row = bar * series.len().max(1) as i32 + gap;
    let height = per_row * rows.len().max(1) as i32 + 24;
    let max = rows
        .iter()
        .flat_map(|r| r.values.iter().copied())
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let width = 260.0;
    view! {
        <svg class="bar-chart grouped" viewBox=format!("0 0 460 {height}") role="img" aria-label=label>
            {series.iter().enumerate().map(|(s, name)| view! {
                <g class=format!("legend series-{s}")>
                    <rect x={120 + s as i32 * 120} y="2" width="10" height="10" class="bar"/>
                    <text x={134 + s as i32 * 120} y="11" class="bar-label">{name.clone()}</text>
                </g>
            }).collect_view()}
            {rows.into_iter().enumerate().map(|(i, row)| {
                let y = 20 + i as i32 * per_row;
                view! {
                    <g>
                        <text x="0" y={y + bar + 2} class="bar-label">{truncate(&row.label, 9)}<title>{row.label.clone()}</title></text>
                        {row.values.iter().enumerate().map(|(s, v)| {
                            let w = (v / max * width).round().max(0.0);
                            let top = y + s as i32 * bar;
                            view! {
                                <rect x="110" y=top width=w height={bar - 2} rx="2" class=format!("bar series-{s}")/>
                                <text x={116.0 + w} y={top + bar - 3} class="bar-value">{format(*v)}</text>
                            }
                        }).collect_view()}
                    </g>
                }
            }).collect_view()}
        </svg>
    }
}

fn truncate(s: &str, chars: usize) -> String {
    if s.chars().count() <= chars {
        s.to_string()
    } else {
        s.chars().take(chars - 1).chain(['…']).collect()
    }
}

/// One point of a line chart; `marked` points are drawn apart (a forecast
/// beside actuals).
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub label: String,
    pub value: f64,
    pub marked: bool,
}

/// A line over labelled points (months), with the values on hover and the
/// first and last labels written out.
#[component]
pub fn LineChart(
    points: Vec<Point>,
    #[prop(into)] label: String,
    format: fn(f64) -> String,
) -> impl IntoView {
    let (w, h, left, top, bottom) = (460.0, 180.0, 50.0, 10.0, 24.0);
    let max = points
        .iter()
        .map(|p| p.value)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let n = points.len().max(2) as f64 - 1.0;
    let xy: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                left + (w - left - 10.0) * i as f64 / n,
                top + (h - top - bottom) * (1.0 - p.value / max),
            )
        })
        .collect();
    let line: String = xy
        .iter()
        .zip(&points)
        .filter(|(_, p)| !p.marked)
        .map(|((x, y), _)| format!("{x:.1},{y:.1}"))
        .collect::<Vec<_>>()
        .join(" ");
    let count = points.len();
    view! {
        <svg class="line-chart" viewBox=format!("0 0 {w} {h}") role="img" aria-label=label>
            <line x1=left y1={h - bottom} x2={w - 10.0} y2={h - bottom} class="axis"/>
            <text x="0" y={top + 10.0} class="bar-value">{format(max)}</text>
            <polyline points=line class="line"/>
            {points.into_iter().zip(xy).enumerate().map(|(i, (p, (x, y)))| {
                let show = i == 0 || i + 1 == count || p.marked;
                view! {
                    <circle cx=x cy=y r={if p.marked { 5 } else { 3 }} class={if p.marked { "dot marked" } else { "dot" }}>
                        <title>{format!("{}: {}", p.label, format(p.value))}</title>
                    </circle>
                    // The first label starts at its point, the last ends at
                    // it, so neither runs off the chart.
                    {show.then(|| {
                        let anchor = if i == 0 { "start" } else if i + 1 == count { "end" } else { "middle" };
                        view! { <text x=x y={h - 6.0} text-anchor=anchor class="bar-label">{p.label.clone()}</text> }
                    })}
                }
            }).collect_view()}
        </svg>
    }
}
