//! The land registry: cadastral sheets of parcels cut from a rectangle by
//! straight boundaries, each parcel with an owner from the population
//! register, an area and coordinates, a plan of each sheet drawn as PNG,
//! and the land tax rolls of the 1980s as a mainframe wrote them.

use crate::image::Canvas;
use crate::rng::Rng;

/// Width of a cadastral sheet on the ground, in metres.
pub const SHEET_W: f64 = 800.0;
/// Height of a cadastral sheet on the ground, in metres.
pub const SHEET_H: f64 = 600.0;

/// Metres per degree of latitude.
const M_PER_DEG_LAT: f64 = 111_320.0;
/// Metres per degree of longitude at 43.4 degrees north (111 320 m times
/// the cosine of the latitude, a constant so that no platform's cosine
/// decides the output).
const M_PER_DEG_LON: f64 = 80_939.0;

/// Uses of land: code, name, colour on plans.
pub const USES: [(&str, &str, [u8; 3]); 6] = [
    ("AR", "arable", [236, 222, 160]),
    ("PA", "pasture", [196, 226, 170]),
    ("FO", "forest", [138, 190, 132]),
    ("BU", "built-up", [222, 190, 186]),
    ("OR", "olive grove", [206, 214, 150]),
    ("VI", "vineyard", [214, 184, 214]),
];

/// A parcel on a sheet, in metres from the sheet's south-west corner
/// (y to the north).
#[derive(Debug, Clone)]
pub struct Parcel {
    /// Corners, counter-clockwise.
    pub corners: Vec<(f64, f64)>,
    /// Index into [`USES`].
    pub land_use: usize,
}

impl Parcel {
    /// Area in square metres (shoelace formula).
    pub fn area(&self) -> f64 {
        area(&self.corners)
    }

    /// The centroid.
    pub fn centroid(&self) -> (f64, f64) {
        centroid(&self.corners)
    }
}

fn area(p: &[(f64, f64)]) -> f64 {
    let mut s = 0.0;
    for i in 0..p.len() {
        let (a, b) = (p[i], p[(i + 1) % p.len()]);
        s += a.0 * b.1 - b.0 * a.1;
    }
    s / 2.0
}

fn centroid(p: &[(f64, f64)]) -> (f64, f64) {
    let (mut cx, mut cy, mut a) = (0.0, 0.0, 0.0);
    for i in 0..p.len() {
        let (u, v) = (p[i], p[(i + 1) % p.len()]);
        let cross = u.0 * v.1 - v.0 * u.1;
        a += cross;
        cx += (u.0 + v.0) * cross;
        cy += (u.1 + v.1) * cross;
    }
    (cx / (3.0 * a), cy / (3.0 * a))
}

/// A point or vector in metres.
type Point = (f64, f64);

/// Splits a convex polygon by the line through `point` with normal `n`:
/// the part on the negative side, then the positive side.
fn split(p: &[Point], point: Point, n: Point) -> (Vec<Point>, Vec<Point>) {
    let side = |q: (f64, f64)| (q.0 - point.0) * n.0 + (q.1 - point.1) * n.1;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..p.len() {
        let (u, v) = (p[i], p[(i + 1) % p.len()]);
        let (su, sv) = (side(u), side(v));
        if su <= 0.0 {
            a.push(u);
        }
        if su >= 0.0 {
            b.push(u);
        }
        if (su < 0.0 && sv > 0.0) || (su > 0.0 && sv < 0.0) {
            let t = su / (su - sv);
            let x = (u.0 + t * (v.0 - u.0), u.1 + t * (v.1 - u.1));
            a.push(x);
            b.push(x);
        }
    }
    (a, b)
}

/// Cuts a sheet into `count` parcels: the largest parcel is split across
/// its longer side, near its centroid, at a slight angle, until there are
/// enough.
pub fn cut_sheet(rng: &mut Rng, count: usize) -> Vec<Parcel> {
    let mut parts: Vec<Vec<(f64, f64)>> = vec![vec![
        (0.0, 0.0),
        (SHEET_W, 0.0),
        (SHEET_W, SHEET_H),
        (0.0, SHEET_H),
    ]];
    while parts.len() < count.max(1) {
        let (i, _) = parts
            .iter()
            .enumerate()
            .map(|(i, p)| (i, area(p)))
            .fold((0, f64::MIN), |best, x| if x.1 > best.1 { x } else { best });
        let p = parts.swap_remove(i);
        let (xs, ys): (Vec<f64>, Vec<f64>) = p.iter().copied().unzip();
        let span = |v: &[f64]| {
            v.iter().fold(f64::MIN, |a, &b| a.max(b)) - v.iter().fold(f64::MAX, |a, &b| a.min(b))
        };
        let (w, h) = (span(&xs), span(&ys));
        let c = centroid(&p);
        let tilt = rng.unit() * 0.5 - 0.25;
        let shift = rng.unit() * 0.3 - 0.15;
        let (n, point) = if w >= h {
            ((1.0, tilt), (c.0 + shift * w, c.1))
        } else {
            ((tilt, 1.0), (c.0, c.1 + shift * h))
        };
        let (a, b) = split(&p, point, n);
        if a.len() < 3 || b.len() < 3 || area(&a) < 1.0 || area(&b) < 1.0 {
            parts.push(p);
            continue;
        }
        parts.push(a);
        parts.push(b);
    }
    // Reading order: north to south, west to east, by centroid.
    let mut parcels: Vec<Parcel> = parts
        .into_iter()
        .map(|corners| Parcel {
            corners,
            land_use: rng.weighted(&[30, 22, 14, 16, 10, 8]),
        })
        .collect();
    parcels.sort_by(|a, b| {
        let (ca, cb) = (a.centroid(), b.centroid());
        let row = |c: (f64, f64)| ((SHEET_H - c.1) / 100.0) as i64;
        row(ca).cmp(&row(cb)).then(ca.0.total_cmp(&cb.0))
    });
    parcels
}

/// Latitude and longitude of a point of sheet `sheet` of a region whose
/// sheets start at `origin` and run ten to a row.
pub fn lat_lon(origin: (f64, f64), sheet: u64, p: (f64, f64)) -> (f64, f64) {
    let (col, row) = ((sheet % 10) as f64, (sheet / 10) as f64);
    let x = col * SHEET_W + p.0;
    let y = row * SHEET_H + p.1;
    (origin.0 + y / M_PER_DEG_LAT, origin.1 + x / M_PER_DEG_LON)
}

/// The boundary as WKT, longitude before latitude, ring closed.
pub fn wkt(origin: (f64, f64), sheet: u64, corners: &[(f64, f64)]) -> String {
    let mut pts: Vec<String> = corners
        .iter()
        .map(|&c| {
            let (lat, lon) = lat_lon(origin, sheet, c);
            format!("{lon:.6} {lat:.6}")
        })
        .collect();
    pts.push(pts[0].clone());
    format!("POLYGON(({}))", pts.join(", "))
}

/// Draws a sheet's plan, `width` pixels wide: parcels filled by land use
/// and outlined, their numbers at their centroids, a 100 m grid, a north
/// arrow and a scale bar.
pub fn plan(parcels: &[Parcel], width: usize, sheet: u64) -> Canvas {
    let height = width * 3 / 4;
    let margin = (width / 20) as f64;
    // The sheet, centred, as large as the margins allow.
    let s = ((width as f64 - 2.0 * margin) / SHEET_W).min((height as f64 - 2.0 * margin) / SHEET_H);
    let ox = (width as f64 - SHEET_W * s) / 2.0;
    let oy = (height as f64 - SHEET_H * s) / 2.0;
    let px = |p: (f64, f64)| (ox + p.0 * s, height as f64 - oy - p.1 * s);
    let mut c = Canvas::new(width, height, &[250, 248, 240]);
    let ink = [40, 40, 60];
    for p in parcels {
        let pts: Vec<(f64, f64)> = p.corners.iter().map(|&q| px(q)).collect();
        c.fill_convex(&pts, &USES[p.land_use].2);
    }
    // A dotted grid every 100 m, inside the sheet.
    let grid = [190, 190, 200];
    let (left, top) = px((0.0, SHEET_H));
    let (right, bottom) = px((SHEET_W, 0.0));
    for gx in 1..8 {
        let (x, _) = px((gx as f64 * 100.0, 0.0));
        for y in (top as i64..bottom as i64).step_by(4) {
            c.set(x as i64, y, &grid);
        }
    }
    for gy in 1..6 {
        let (_, y) = px((0.0, gy as f64 * 100.0));
        for x in (left as i64..right as i64).step_by(4) {
            c.set(x, y as i64, &grid);
        }
    }
    for p in parcels {
        for i in 0..p.corners.len() {
            let (a, b) = (px(p.corners[i]), px(p.corners[(i + 1) % p.corners.len()]));
            c.line((a.0 as i64, a.1 as i64), (b.0 as i64, b.1 as i64), 1, &ink);
        }
    }
    let scale = (width / 320).max(1) as i64;
    for (n, p) in parcels.iter().enumerate() {
        let label = (n + 1).to_string();
        let (x, y) = px(p.centroid());
        let half = label.len() as i64 * 2 * scale;
        c.label(
            x as i64 - half,
            y as i64 - 2 * scale,
            &label,
            scale,
            &[20, 20, 20],
        );
    }
    // Frame, north arrow, 200 m scale bar, sheet number.
    let (m, w, h) = (margin as i64, width as i64, height as i64);
    let (x0, y0) = px((0.0, SHEET_H));
    let (x1, y1) = px((SHEET_W, 0.0));
    let corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)].map(|(x, y)| (x as i64, y as i64));
    for i in 0..4 {
        c.line(corners[i], corners[(i + 1) % 4], 2, &ink);
    }
    let ax = w - m / 2;
    c.line((ax, m / 4), (ax - m / 4, m * 3 / 4), 1, &ink);
    c.line((ax, m / 4), (ax + m / 4, m * 3 / 4), 1, &ink);
    c.label(ax - 2 * scale, m * 3 / 4 + scale, "N", scale, &ink);
    let bar = (200.0 * s) as i64;
    c.rect(m, h - m / 2, m + bar, h - m / 2 + scale * 2, &ink);
    c.label(m + bar + 4 * scale, h - m / 2 - scale, "200M", scale, &ink);
    c.label(m, m / 3, &format!("{sheet:04}"), scale, &ink);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheets_are_cut_into_parcels_that_cover_them() {
        for count in [1, 2, 7, 40, 120] {
            let parcels = cut_sheet(&mut Rng::new(5, count as u64), count);
            assert_eq!(parcels.len(), count);
            let total: f64 = parcels.iter().map(Parcel::area).sum();
            assert!((total - SHEET_W * SHEET_H).abs() < 1e-3, "{total}");
            assert!(parcels
                .iter()
                .all(|p| p.area() > 1.0 && p.corners.len() >= 3));
        }
        let (lat, lon) = lat_lon((43.0, 16.0), 11, (0.0, 0.0));
        assert!((lat - (43.0 + 600.0 / 111_320.0)).abs() < 1e-12);
        assert!((lon - (16.0 + 800.0 / 80_939.0)).abs() < 1e-12);
    }
}
