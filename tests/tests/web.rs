//! The live web view in a real browser: headless Chromium opens the page served by the
//! binary, sees live values and a plot that updates, and its screenshot contains the plot.
//!
//! The screenshot in the docs is taken by `web_history.rs` (a plot with history).

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use labsocket_e2e::browser::{decode_png, Chromium, Rect};
use labsocket_e2e::points::{now, PointSetter};
use labsocket_e2e::Server;
use serde_json::json;

/// The first plotted series' colour (the page's palette starts with it).
const FIRST_SERIES_RGB: [u8; 3] = [0x1f, 0x77, 0xb4];
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 1040;

#[test]
fn page_shows_live_values_a_plot_that_updates_and_live_server_hosts() {
    let server = Server::start(
        "[[source]]\ncommand = \"sine.sample\"\ninterval_secs = 0.1\nparams = { period_secs = 4 }\n\
         [live_server]\nenabled = true\n",
    );
    // A PyExpLabSys LiveSocket on "another machine", as it sends (json.dumps bytes).
    let live = UdpSocket::bind("127.0.0.1:0").unwrap();
    let send_live = |x: f64, temperature: f64| {
        let datagram = format!(
            r#"{{"host": "furnace-pc", "data": {{"temperature": [{x}, {temperature}], "state": [{x}, "heating"]}}}}"#
        );
        live.send_to(datagram.as_bytes(), server.address("live_server"))
            .unwrap();
    };
    for step in 0..5 {
        send_live(now() - 1.0 + f64::from(step) * 0.2, 295.0 + f64::from(step));
    }

    let mut browser = Chromium::launch(WIDTH, HEIGHT);
    let tab = browser.open(&format!("http://{}/?window=10", server.address("http")));
    let state = |browser: &mut Chromium| {
        browser.eval(
            &tab,
            "({ws: document.body?.dataset.ws, updates: +document.body?.dataset.updates, \
               plotted: +document.body?.dataset.plotted, \
               sine: document.querySelector('[data-codename=\"sine\"] .v')?.textContent})",
        )
    };
    // Live values: the WebSocket is open and the sine row shows a number.
    let first = browser.wait_for(
        &tab,
        "({ws: document.body?.dataset.ws, \
           sine: document.querySelector('[data-codename=\"sine\"] .v')?.textContent})",
        |v| v["ws"] == "open" && v["sine"].as_str().is_some_and(|s| s.parse::<f64>().is_ok()),
    );
    let first_sine = first["sine"].as_str().unwrap().to_owned();
    // Points of other lab hosts (federation names them `<host>/<codename>`) are grouped
    // under their host, after this host's own; a row shows the codename without the host.
    let mut rpc = server.rpc();
    for codename in ["pcB/flow", "pcA/temp", "pcA/pressure", "local_t"] {
        rpc.call("set_point", json!([codename, now(), 1.5]));
    }
    let groups = browser.wait_for(
        &tab,
        "(() => { const groups = []; \
                  for (const tr of document.querySelectorAll('#points tbody tr')) { \
                    if (tr.classList.contains('group')) groups.push({host: tr.dataset.host ?? null, rows: []}); \
                    else if (groups.length) groups[groups.length - 1].rows.push( \
                      [tr.querySelector('td.value').dataset.codename, tr.querySelector('td.codename').textContent]); \
                  } return groups; })()",
        // Every row is there (the four points may reach the page in any order).
        |v| {
            v.as_array().is_some_and(|g| g.len() == 3)
                && v.to_string().contains("\"local_t\"")
                && v.to_string().contains("\"pcA/temp\"")
                && v.to_string().contains("\"pcA/pressure\"")
        },
    );
    assert_eq!(groups[0]["host"], "", "this host first: {groups}");
    let local: Vec<&str> = groups[0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[0].as_str().unwrap())
        .collect();
    assert!(
        local.contains(&"sine") && local.contains(&"local_t"),
        "{groups}"
    );
    assert!(!local.iter().any(|c| c.contains('/')), "{groups}");
    assert_eq!(
        groups[1],
        json!({"host": "pcA", "rows": [["pcA/pressure", "pressure"], ["pcA/temp", "temp"]]})
    );
    assert_eq!(
        groups[2],
        json!({"host": "pcB", "rows": [["pcB/flow", "flow"]]})
    );
    // The value moves and the plot is redrawn with new data, more than once.
    let later = browser.wait_for(
        &tab,
        "({updates: +document.body?.dataset.updates, plotted: +document.body?.dataset.plotted, \
           sine: document.querySelector('[data-codename=\"sine\"] .v')?.textContent})",
        |v| {
            v["updates"].as_u64() > Some(20)
                && v["plotted"].as_u64() > Some(20)
                && v["sine"].as_str() != Some(first_sine.as_str())
        },
    );
    assert!(
        later["sine"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
            .abs()
            <= 1.0,
        "{later}"
    );
    // The live-server host shows up with its values, and a new datagram updates it.
    send_live(now(), 301.5);
    browser.wait_for(
        &tab,
        "document.querySelector('[data-live=\"furnace-pc:temperature\"] .v')?.textContent",
        |v| v == "301.5",
    );
    let state_text = browser.eval(
        &tab,
        "document.querySelector('[data-live=\"furnace-pc:state\"] .v')?.textContent",
    );
    assert_eq!(state_text, "heating");
    // LiveSocket.reset(["state"]) takes the series off the page.
    live.send_to(
        br#"{"host": "furnace-pc", "data": {"state": "RESET"}}"#,
        server.address("live_server"),
    )
    .unwrap();
    browser.wait_for(
        &tab,
        "document.querySelector('[data-live=\"furnace-pc:state\"]') === null",
        |v| v == true,
    );
    // No pull socket is configured: nothing is marked OLD_DATA.
    let old = browser.eval(&tab, "document.querySelectorAll('tr.old').length");
    assert_eq!(old, 0);
    // The status section lists the front ends.
    let status = browser.eval(&tab, "document.getElementById('status').textContent");
    assert!(
        status
            .as_str()
            .is_some_and(|s| s.contains("http") && s.contains("sine.sample")),
        "{status}"
    );

    // The window follows now: wait until the plotted points reach back over most of it
    // (history from before the page opened, or points that came in since).
    browser.wait_for(
        &tab,
        "(() => { const d = window.labsocket.debug(); \
                  return Object.values(d.series).some((s) => s.first !== null && s.first < d.view.from + 0.3 * d.view.span); })()",
        |v| v == true,
    );
    let before_shot = state(&mut browser);
    let plot_box = browser.eval(
        &tab,
        "(() => { const r = document.querySelector('#plot canvas').getBoundingClientRect(); \
                  return {x: r.x, y: r.y, width: r.width, height: r.height}; })()",
    );
    let png = browser.screenshot(&tab);
    let image = decode_png(&png);
    assert_eq!((image.width, image.height), (WIDTH, HEIGHT));
    let plot = Rect::from_js(&plot_box);
    let line = image.matching_pixels(plot, FIRST_SERIES_RGB, 12);
    assert!(
        line.count > 200,
        "the plot area {plot:?} has only {} pixels of the line colour (state {before_shot})",
        line.count
    );
    assert!(
        line.max_x - line.min_x > plot.width / 2,
        "the line spans x {}..{} of a {}-pixel-wide plot",
        line.min_x,
        line.max_x,
        plot.width
    );
    // Outside the plot, the colour appears only in small swatches.
    let above = Rect {
        x: 0,
        y: 0,
        width: WIDTH,
        height: plot.y,
    };
    assert!(image.matching_pixels(above, FIRST_SERIES_RGB, 12).count < 50);
}

#[test]
fn page_keeps_up_with_a_hundred_codenames_at_10_hz() {
    const CODENAMES: usize = 100;
    const ROUNDS: usize = 30; // 3 s
    let server = Server::start("");
    let codenames: Vec<String> = (0..CODENAMES).map(|i| format!("c{i:03}")).collect();
    let mut browser = Chromium::launch(WIDTH, HEIGHT);
    // Ten of them plotted, over a 10 s window.
    let tab = browser.open(&format!(
        "http://{}/?window=10&plot={}",
        server.address("http"),
        codenames[..10].join(",")
    ));
    browser.wait_for(&tab, "document.body?.dataset.ws", |v| v == "open");
    let mut setter = PointSetter::connect(server.native());
    let start = Instant::now();
    for round in 0..ROUNDS {
        let due = start + Duration::from_millis(100 * round as u64);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        setter.set_all(codenames.iter().map(|c| (c.clone(), round.to_string())));
    }
    let last_set = Instant::now();
    let last = (ROUNDS - 1).to_string();
    let shown = browser.wait_for(
        &tab,
        &format!(
            "[...document.querySelectorAll('td.value[data-codename]')]\
               .filter(td => td.lastChild.textContent === '{last}').length"
        ),
        |v| v == CODENAMES,
    );
    let caught_up = last_set.elapsed();
    assert_eq!(setter.finish(), (ROUNDS * CODENAMES) as u64);
    let page = browser.eval(
        &tab,
        "({messages: +document.body.dataset.messages, updates: +document.body.dataset.updates, \
           plotted: +document.body.dataset.plotted})",
    );
    println!(
        "page under load: {} rounds of {CODENAMES} codenames; all {shown} rows showed the last value {:.0} ms after it was set; page state {page}",
        ROUNDS,
        caught_up.as_secs_f64() * 1e3
    );
    assert!(
        caught_up < Duration::from_secs(2),
        "the page fell behind: {caught_up:?}"
    );
    // Every point event reached the page (none lost), and the plot was redrawn per frame,
    // not per message.
    assert!(
        page["messages"].as_u64() >= Some((ROUNDS * CODENAMES) as u64),
        "{page}"
    );
    let updates = page["updates"].as_u64().unwrap();
    assert!(
        updates > 10 && updates < (ROUNDS * CODENAMES) as u64,
        "{page}"
    );
    assert_eq!(page["plotted"], 10 * ROUNDS, "{page}");
}
