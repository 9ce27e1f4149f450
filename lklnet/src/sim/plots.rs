//! Pictures of a run, as SVG: the topology (nodes in columns by their
//! distance in hops from the first node, routers, switches and hosts in
//! their colours, links labelled with what they were given, switch ports
//! with their VLANs) and one chart per experiment (round trips, or throughput
//! per half second, over time; none for a traceroute, a udp or an http
//! experiment, whose summaries say it all).
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::experiment::Report;
use super::topology::{Link, Port, Topology};

const NODE_RADIUS: i32 = 22;

fn failed(path: &Path) -> impl Fn(String) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

/// Each node's place: columns by hops from the first node (nodes no link
/// reaches come last), rows in name order.
fn layout(topology: &Topology) -> HashMap<String, (usize, usize)> {
    let mut neighbours: HashMap<&str, Vec<&str>> = HashMap::new();
    for link in &topology.links {
        let [a, b] = &link.ends;
        neighbours.entry(&a.node).or_default().push(&b.node);
        neighbours.entry(&b.node).or_default().push(&a.node);
    }
    let mut depth: HashMap<&str, usize> = HashMap::new();
    for node in &topology.nodes {
        if depth.contains_key(node.name.as_str()) {
            continue;
        }
        let base = depth.values().max().map_or(0, |d| d + 1);
        let mut queue = VecDeque::from([(node.name.as_str(), base)]);
        depth.insert(&node.name, base);
        while let Some((at, d)) = queue.pop_front() {
            for &next in neighbours.get(at).into_iter().flatten() {
                if !depth.contains_key(next) {
                    depth.insert(next, d + 1);
                    queue.push_back((next, d + 1));
                }
            }
        }
    }
    let mut columns: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for node in &topology.nodes {
        columns
            .entry(depth[node.name.as_str()])
            .or_default()
            .push(&node.name);
    }
    let mut places = HashMap::new();
    for (column, names) in columns {
        for (row, name) in names.into_iter().enumerate() {
            places.insert(name.to_string(), (column, row));
        }
    }
    places
}

/// What a link was given, shortly: "10ms 10mbit 1% loss".
fn label(link: &Link) -> String {
    let link = &link.shaping;
    let mut parts = Vec::new();
    if !link.delay.is_zero() {
        parts.push(format!("{:?}", link.delay));
    }
    if !link.jitter.is_zero() {
        parts.push(format!("±{:?}", link.jitter));
    }
    if link.rate_bps > 0 {
        parts.push(format!("{} Mbit/s", link.rate_bps as f64 / 1e6));
    }
    if link.loss > 0.0 {
        parts.push(format!("{}% loss", link.loss * 100.0));
    }
    if link.reorder > 0.0 {
        parts.push(format!("{}% reordered", link.reorder * 100.0));
    }
    parts.join(" ")
}

fn draw_topology(topology: &Topology, path: &Path) -> Result<(), String> {
    let places = layout(topology);
    let columns = places.values().map(|p| p.0).max().unwrap_or(0) + 1;
    let rows = places.values().map(|p| p.1).max().unwrap_or(0) + 1;
    let (cell_w, cell_h) = (200i32, 120i32);
    let size = (columns as u32 * cell_w as u32, rows as u32 * cell_h as u32);
    let at = |name: &str| {
        let (c, r) = places[name];
        (
            c as i32 * cell_w + cell_w / 2,
            r as i32 * cell_h + cell_h / 2,
        )
    };
    let root = SVGBackend::new(path, size).into_drawing_area();
    let err = failed(path);
    let drawn = |r: Result<(), DrawingAreaErrorKind<_>>| r.map_err(|e| err(e.to_string()));
    drawn(root.fill(&WHITE))?;
    for link in &topology.links {
        let [a, b] = &link.ends;
        let (pa, pb) = (at(&a.node), at(&b.node));
        drawn(root.draw(&PathElement::new(vec![pa, pb], BLACK.stroke_width(2))))?;
        let middle = ((pa.0 + pb.0) / 2 - 10, (pa.1 + pb.1) / 2 - 18);
        drawn(root.draw(&Text::new(label(link), middle, ("sans-serif", 12))))?;
        // A switch port's VLANs, near the switch.
        for (end, (from, to)) in link.ends.iter().zip([(pa, pb), (pb, pa)]) {
            let text = match &end.port {
                Port::Plain => continue,
                Port::Access(vid) => format!("vlan {vid}"),
                Port::Trunk(vids) => {
                    let vids: Vec<String> = vids.iter().map(u16::to_string).collect();
                    format!("trunk {}", vids.join(","))
                }
            };
            let at = (
                from.0 + (to.0 - from.0) / 4 - 10,
                from.1 + (to.1 - from.1) / 4 + 10,
            );
            drawn(root.draw(&Text::new(
                text,
                at,
                ("sans-serif", 11).into_font().color(&RGBColor(0, 110, 0)),
            )))?;
        }
    }
    for node in &topology.nodes {
        let p = at(&node.name);
        // Routers orange, switches green, the others blue.
        let colour = match (node.forward, node.switch) {
            (_, true) => RGBColor(150, 220, 150),
            (true, false) => RGBColor(255, 200, 120),
            (false, false) => RGBColor(150, 200, 255),
        };
        drawn(root.draw(&Circle::new(p, NODE_RADIUS, colour.filled())))?;
        drawn(root.draw(&Circle::new(p, NODE_RADIUS, BLACK.stroke_width(1))))?;
        let text = (p.0 - 4 * node.name.len() as i32, p.1 - 6);
        drawn(root.draw(&Text::new(node.name.clone(), text, ("sans-serif", 14))))?;
    }
    drawn(root.present())
}

/// A line chart of `points` (x in seconds).
fn draw_chart(path: &Path, title: &str, y_desc: &str, points: &[(f64, f64)]) -> Result<(), String> {
    let err = failed(path);
    let x_max = points.iter().map(|p| p.0).fold(0.0, f64::max).max(1e-3) * 1.05;
    let y_max = points.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-3) * 1.15;
    let root = SVGBackend::new(path, (800, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc(y_desc)
        .draw()
        .map_err(|e| err(e.to_string()))?;
    chart
        .draw_series(LineSeries::new(
            points.iter().copied(),
            BLUE.stroke_width(2),
        ))
        .map_err(|e| err(e.to_string()))?;
    chart
        .draw_series(points.iter().map(|&p| Circle::new(p, 3, BLUE.filled())))
        .map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))
}

/// Writes `topology.svg` and `experiment<N>.svg` (N from 1) into `dir`:
/// the files written.
pub fn draw(topology: &Topology, reports: &[Report], dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut written = vec![dir.join("topology.svg")];
    draw_topology(topology, &written[0])?;
    for (i, report) in reports.iter().enumerate() {
        let path = dir.join(format!("experiment{}.svg", i + 1));
        match report {
            Report::Ping(p) => {
                let points: Vec<_> = p
                    .sent_at_s
                    .iter()
                    .copied()
                    .zip(p.rtt_ms.iter().copied())
                    .collect();
                let title = format!("ping {} -> {}: round trips", p.from, p.to);
                draw_chart(&path, &title, "RTT (ms)", &points)?;
            }
            Report::Tcp(t) => {
                let points: Vec<_> = t
                    .mbit_per_s_each_half_second
                    .iter()
                    .enumerate()
                    .map(|(h, &rate)| (h as f64 * 0.5 + 0.25, rate))
                    .collect();
                let title = format!("tcp {} -> {}: throughput per half second", t.from, t.to);
                draw_chart(&path, &title, "Mbit/s", &points)?;
            }
            Report::Traceroute(_) | Report::Udp(_) | Report::Http(_) => continue,
        }
        written.push(path);
    }
    Ok(written)
}
