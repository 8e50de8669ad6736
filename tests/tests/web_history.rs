//! The live web page plots the past (issue 13 §4), in headless Chromium against the real
//! binary with its history plugin: points backfilled with past timestamps before the page
//! opens are plotted once it loads; the URL chooses and restores the series, the window and
//! normalisation (reload and back button included); normalise changes the y range; panning
//! and zooming into the past ask `/api/history` for the new window; with history off the
//! page says so and still plots live points.
//!
//! The page describes its plot through `window.labsocket.debug()` (see app.js): the window,
//! the y scale, per-series point counts and ranges in the window, and the last history
//! request. Set `LABSOCKET_SCREENSHOT=path.png` to keep the screenshot of the first test
//! (docs/screenshot.png is made this way).

use labsocket_e2e::browser::{decode_png, Chromium, Rect, Tab};
use labsocket_e2e::points::now;
use labsocket_e2e::Server;
use serde_json::{json, Value};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 1040;
/// The page's first two palette colours: the first and second plotted series.
const FIRST_SERIES_RGB: [u8; 3] = [0x1f, 0x77, 0xb4];
const SECOND_SERIES_RGB: [u8; 3] = [0xd6, 0x27, 0x28];
/// Backfilled rows: one every STEP seconds from an hour ago to a minute ago.
const STEP: f64 = 30.0;

/// Sets `oven` (°C, 100..200) and `pressure` (bar, near 1) every STEP seconds over the past
/// hour, each with its past time as both x and timestamp, and commits them to the store.
/// Returns the time the backfill was computed from.
fn backfill(server: &Server) -> f64 {
    let mut rpc = server.rpc();
    let start = now();
    let mut t = start - 3600.0 + STEP;
    while t <= start - 60.0 {
        let phase = std::f64::consts::TAU * t / 1200.0;
        for (codename, y) in [
            ("oven", 150.0 + 50.0 * phase.sin()),
            ("pressure", 1.0 + 0.02 * phase.cos()),
        ] {
            let point = json!({"codename": codename, "x": t, "y": y, "timestamp": t});
            assert_eq!(rpc.call("set_point", point), json!(true));
        }
        t += STEP;
    }
    rpc.call("history.flush", json!({}));
    start
}

/// `window.labsocket.debug()` once the page's script has run and drawn a plot.
fn debug(browser: &mut Chromium, tab: &Tab, done: impl Fn(&Value) -> bool) -> Value {
    browser.wait_for(tab, "window.labsocket?.debug() ?? null", |v| {
        !v.is_null() && done(v)
    })
}

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

fn click(browser: &mut Chromium, tab: &Tab, id: &str) {
    browser.eval(tab, &format!("document.getElementById('{id}').click()"));
}

#[test]
fn past_points_are_plotted_after_load_and_the_url_keeps_the_view() {
    let server = Server::start("");
    let start = backfill(&server);
    // A third codename, set now: the URL's choice keeps it off the plot.
    server.rpc().call("set_point", json!(["other", now(), 5]));

    let mut browser = Chromium::launch(WIDTH, HEIGHT);
    let tab = browser.open(&format!(
        "http://{}/?plot=oven,pressure&window=3600",
        server.address("http")
    ));
    // Both series come back from history over the whole hour (119 rows each, all in the
    // window), in the series and window the URL chose, following now; and are drawn (the
    // y scale reaches the oven's top).
    let rows = ((3600.0 - 60.0) / STEP) as u64;
    let loaded = debug(&mut browser, &tab, |d| {
        d["series"]["oven"]["points"].as_u64() >= Some(rows - 1)
            && d["series"]["pressure"]["points"].as_u64() >= Some(rows - 1)
            && d["y"][1].as_f64().is_some_and(|max| max > 190.0)
    });
    let series: Vec<&String> = loaded["series"].as_object().unwrap().keys().collect();
    assert_eq!(series, ["oven", "pressure"], "{loaded}");
    assert_eq!(loaded["view"]["span"], 3600.0, "{loaded}");
    assert_eq!(loaded["view"]["live"], true, "{loaded}");
    assert_eq!(loaded["normalise"], false, "{loaded}");
    let oven = &loaded["series"]["oven"];
    assert!(
        number(&oven["first"]) < start - 3500.0 && number(&oven["last"]) > start - 120.0,
        "{loaded}"
    );
    assert!(
        number(&oven["min"]) < 110.0 && number(&oven["max"]) > 190.0,
        "{loaded}"
    );
    // The request asked for the page's codenames over the window, about four rows per pixel.
    let last = &loaded["history"]["last"];
    assert_eq!(last["codenames"], json!(["oven", "pressure"]), "{loaded}");
    assert_eq!(last["status"], 200, "{loaded}");
    let plot_width = number(&browser.eval(&tab, "document.getElementById('plot').clientWidth"));
    assert_eq!(number(&last["max_points"]), (plot_width * 4.0).round());
    // One y axis for 1 bar and 200 °C: pressure is a flat line at the bottom...
    assert!(number(&loaded["y"][0]) < 1.0, "{loaded}");
    // ...normalised, each series spans the plot on its own 0..1.
    click(&mut browser, &tab, "normalise");
    let normalised = debug(&mut browser, &tab, |d| {
        d["normalise"] == true && d["y"][1].as_f64().is_some_and(|max| max <= 1.5)
    });
    assert!(number(&normalised["y"][0]) >= -0.5, "{normalised}");
    let search = browser.eval(&tab, "location.search");
    assert!(search.as_str().unwrap().contains("normalise=1"), "{search}");
    // A reload restores the view from the URL.
    browser.call(Some(&tab), "Page.reload", json!({}));
    let reloaded = debug(&mut browser, &tab, |d| {
        d["normalise"] == true && d["series"]["oven"]["points"].as_u64() >= Some(rows - 1)
    });
    let series: Vec<&String> = reloaded["series"].as_object().unwrap().keys().collect();
    assert_eq!(series, ["oven", "pressure"], "{reloaded}");
    assert_eq!(reloaded["view"]["span"], 3600.0, "{reloaded}");
    assert_eq!(
        browser.eval(&tab, "document.getElementById('normalise').checked"),
        true
    );

    // The picture: both lines run across the plot, from the history.
    browser.wait_for(&tab, "document.body.dataset.plotted", |v| {
        v.as_str()
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n >= 2 * (rows - 1))
    });
    let plot_box = browser.eval(
        &tab,
        "(() => { const r = document.querySelector('#plot .u-over').getBoundingClientRect(); \
                  return {x: r.x, y: r.y, width: r.width, height: r.height}; })()",
    );
    let png = browser.screenshot(&tab);
    if let Some(path) = std::env::var_os("LABSOCKET_SCREENSHOT") {
        std::fs::write(path, &png).unwrap();
    }
    let image = decode_png(&png);
    let plot = Rect::from_js(&plot_box);
    for rgb in [FIRST_SERIES_RGB, SECOND_SERIES_RGB] {
        let line = image.matching_pixels(plot, rgb, 12);
        assert!(
            line.count > 300 && line.max_x - line.min_x > plot.width * 9 / 10,
            "colour {rgb:?}: {} pixels over x {}..{} of the plot {plot:?}",
            line.count,
            line.min_x,
            line.max_x
        );
    }
}

#[test]
fn panning_and_zooming_into_the_past_load_history_and_back_undoes_them() {
    let server = Server::start("");
    let start = backfill(&server);
    let mut browser = Chromium::launch(WIDTH, HEIGHT);
    let tab = browser.open(&format!(
        "http://{}/?plot=oven&window=300",
        server.address("http")
    ));
    // The last five minutes: the rows of minutes 1 to 5 ago.
    let first = debug(&mut browser, &tab, |d| {
        d["history"]["last"]["status"] == 200 && d["series"]["oven"]["points"].as_u64() >= Some(7)
    });
    assert_eq!(first["view"]["live"], true, "{first}");
    assert!(
        number(&first["series"]["oven"]["first"]) > start - 330.0,
        "only the window is loaded: {first}"
    );
    let requests = first["history"]["requests"].as_u64().unwrap();

    // Half a window back: a new request for the new window, which now holds older rows.
    click(&mut browser, &tab, "pan-back");
    let panned = debug(&mut browser, &tab, |d| {
        d["history"]["requests"].as_u64() > Some(requests)
            && d["history"]["last"]["status"] == 200
            && d["series"]["oven"]["first"]
                .as_f64()
                .is_some_and(|x| x < start - 400.0)
    });
    assert_eq!(panned["view"]["live"], false, "{panned}");
    assert_eq!(panned["view"]["span"], 300.0, "{panned}");
    let panned_to = number(&panned["view"]["to"]);
    assert!(
        (panned_to - (start - 150.0)).abs() < 30.0,
        "half a window back from now: {panned}"
    );
    assert!(
        (number(&panned["history"]["last"]["from"]) - number(&panned["view"]["from"])).abs() < 1.0,
        "{panned}"
    );
    let search = browser.eval(&tab, "location.search");
    assert!(search.as_str().unwrap().contains("end="), "{search}");

    // Drag across the second quarter of the plot: zoom into it, at a finer resolution.
    let over = browser.eval(
        &tab,
        "(() => { const r = document.querySelector('#plot .u-over').getBoundingClientRect(); \
                  return {x: r.x, y: r.y, width: r.width, height: r.height}; })()",
    );
    let (x0, width, y) = (
        number(&over["x"]),
        number(&over["width"]),
        number(&over["y"]) + number(&over["height"]) / 2.0,
    );
    let requests = panned["history"]["requests"].as_u64().unwrap();
    for (kind, x, buttons) in [
        ("mouseMoved", x0 + width * 0.25, 0),
        ("mousePressed", x0 + width * 0.25, 1),
        ("mouseMoved", x0 + width * 0.4, 1),
        ("mouseMoved", x0 + width * 0.5, 1),
        ("mouseReleased", x0 + width * 0.5, 0),
    ] {
        browser.call(
            Some(&tab),
            "Input.dispatchMouseEvent",
            json!({"type": kind, "x": x, "y": y, "button": "left", "buttons": buttons, "clickCount": 1}),
        );
    }
    let zoomed = debug(&mut browser, &tab, |d| {
        d["view"]["span"].as_f64().is_some_and(|s| s < 100.0)
            && d["history"]["requests"].as_u64() > Some(requests)
            && d["history"]["last"]["status"] == 200
    });
    let span = number(&zoomed["view"]["span"]);
    assert!((60.0..90.0).contains(&span), "a quarter of 300 s: {zoomed}");
    let (from, to) = (
        number(&zoomed["view"]["from"]),
        number(&zoomed["view"]["to"]),
    );
    assert!(
        from > number(&panned["view"]["from"]) && to < panned_to,
        "{zoomed}"
    );
    assert!(
        (number(&zoomed["history"]["last"]["from"]) - from).abs() < 1.0,
        "{zoomed}"
    );

    // Back: the panned window again, without a new request (it is already loaded).
    browser.eval(&tab, "history.back()");
    let back = debug(&mut browser, &tab, |d| d["view"]["span"] == 300.0);
    assert!(
        (number(&back["view"]["to"]) - panned_to).abs() < 0.01,
        "{back}"
    );
    assert_eq!(back["view"]["live"], false, "{back}");

    // Zoom out doubles the window; `live` follows now again, and the URL says so.
    click(&mut browser, &tab, "zoom-out");
    debug(&mut browser, &tab, |d| d["view"]["span"] == 600.0);
    click(&mut browser, &tab, "follow");
    let live = debug(&mut browser, &tab, |d| d["view"]["live"] == true);
    assert!(
        number(&live["view"]["to"]) > now() - 5.0,
        "the window ends now: {live}"
    );
    let search = browser.eval(&tab, "location.search");
    let search = search.as_str().unwrap();
    assert!(
        !search.contains("end=") && search.contains("window=600"),
        "{search}"
    );

    // A double click on the plot zooms out too (still following now); shift + wheel pans
    // a tenth of the window back, into the past.
    let middle = x0 + width / 2.0;
    for (kind, click_count) in [
        ("mousePressed", 1),
        ("mouseReleased", 1),
        ("mousePressed", 2),
        ("mouseReleased", 2),
    ] {
        browser.call(
            Some(&tab),
            "Input.dispatchMouseEvent",
            json!({"type": kind, "x": middle, "y": y, "button": "left", "clickCount": click_count}),
        );
    }
    let doubled = debug(&mut browser, &tab, |d| d["view"]["span"] == 1200.0);
    assert_eq!(doubled["view"]["live"], true, "{doubled}");
    browser.call(
        Some(&tab),
        "Input.dispatchMouseEvent",
        json!({"type": "mouseWheel", "x": middle, "y": y, "deltaX": 0, "deltaY": -100, "modifiers": 8}),
    );
    let wheeled = debug(&mut browser, &tab, |d| d["view"]["live"] == false);
    assert_eq!(wheeled["view"]["span"], 1200.0, "{wheeled}");
    let behind = now() - number(&wheeled["view"]["to"]);
    assert!(
        (100.0..140.0).contains(&behind),
        "a tenth of 1200 s back: {wheeled}"
    );
}

#[test]
fn without_history_the_page_says_so_and_still_plots_live_points() {
    let server = Server::start("[history]\nenabled = false\n");
    let mut browser = Chromium::launch(WIDTH, HEIGHT);
    let tab = browser.open(&format!(
        "http://{}/?plot=temp&window=60",
        server.address("http")
    ));
    let notice = browser.wait_for(
        &tab,
        "(() => { const n = document.getElementById('plot-notice'); \
                  return n && !n.hidden ? n.textContent : null; })()",
        |v| v.is_string(),
    );
    assert!(
        notice.as_str().unwrap().starts_with("History unavailable"),
        "{notice}"
    );
    let mut rpc = server.rpc();
    for i in 0..3 {
        rpc.call("set_point", json!(["temp", now(), 20 + i]));
    }
    let plotted = debug(&mut browser, &tab, |d| {
        d["series"]["temp"]["points"].as_u64() == Some(3)
    });
    assert_eq!(plotted["series"]["temp"]["max"], 22.0, "{plotted}");
    browser.wait_for(&tab, "document.body.dataset.plotted", |v| v == "3");
}
