// Accel web dashboard. Plain JavaScript, no libraries, nothing loaded from outside this server.
//
// Endpoints read (all JSON):
//   GET /ai/health    {"status": "ok" | "degraded" | ...}
//   GET /ai/engines   {"engines": [{kind, available, built, reason, devices: [{id, kind, name, simulated,
//                      test_only, state ("ready"|"degraded"|"failed"|"ejected"), reason, queue_depth,
//                      in_flight, completed, failed, models}]}]}        (the live device list, every second)
//   GET /ai/hardware  {"<kind>": {built, is_available, reason, devices: [...]}, ...}
//                     (fallback device list when /ai/engines fails; polled every 10 s)
//   GET /ai/models    {"models": [{name, ready, devices}]}   (or a plain list of names)
//   GET /ai/stats     {uptime_s, requests_total, errors_total, throughput_rps, latency_ms: {p50, p99},
//                      recent_errors: [{time, level, component, message}]}
//   GET /ai/streams   {"streams": [{name, state, reason, fps, stats: {decoded_fps, detection_fps, dropped_frames,
//                      busy_skips, detected_frames, latency_p95_ms, width, height}}]}   (every second)
//   GET /ai/streams/{name}/snapshot.jpg   the latest annotated frame (every 2 s, once a frame was detected)
//   POST /ai/infer    multipart: image, threshold[, model] ->
//                     {success, detections: [{label, confidence, box: {x_min, y_min, x_max, y_max}}]}
// Field names are read defensively (a few synonyms, missing fields tolerated) so that a server that adds or
// omits a field degrades one cell, not the page. Every failure is caught and shown in the banner: the page
// itself never throws into the console.
"use strict";

(function () {
  const POLL_MS = 1000;
  const SLOW_POLL_EVERY = 10;  // engines and models change rarely: every 10th tick
  const HISTORY = 120;         // chart points (two minutes at one per second)
  const FETCH_TIMEOUT_MS = 4000;

  const $ = (id) => document.getElementById(id);
  const failures = new Map();  // endpoint -> message, for the banner

  // ---------------------------------------------------------------- helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k === "title") node.title = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return node;
  }

  function num(v) {
    const n = typeof v === "string" ? Number(v) : v;
    return typeof n === "number" && Number.isFinite(n) ? n : null;
  }

  function fmtMs(v) {
    const n = num(v);
    if (n === null || n < 0) return "–";
    if (n >= 1000) return (n / 1000).toFixed(2) + " s";
    if (n >= 100) return n.toFixed(0) + " ms";
    if (n >= 10) return n.toFixed(1) + " ms";
    return n.toFixed(2) + " ms";
  }

  function fmtRate(v) {
    const n = num(v);
    if (n === null) return "–";
    return n >= 100 ? n.toFixed(0) : n.toFixed(1);
  }

  function fmtDuration(seconds) {
    const s = num(seconds);
    if (s === null) return "";
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d > 0) return `up ${d}d ${h}h`;
    if (h > 0) return `up ${h}h ${m}m`;
    if (m > 0) return `up ${m}m ${Math.floor(s % 60)}s`;
    return `up ${Math.floor(s)}s`;
  }

  function asList(value, ...keys) {
    if (Array.isArray(value)) return value;
    if (value && typeof value === "object") {
      for (const k of keys) if (Array.isArray(value[k])) return value[k];
    }
    return [];
  }

  // When the server asks for a key (--api-key, --open-observability false), open the dashboard as
  // /#key=<key>: the key stays in this tab's session storage, leaves the address bar, and goes out as
  // X-API-Key (never in a URL, so it is not logged).
  const apiKey = (() => {
    const match = /(?:^#|&)key=([^&]*)/.exec(location.hash);
    if (match) {
      try {
        sessionStorage.setItem("accel-key", decodeURIComponent(match[1]));
      } catch (_) {
        sessionStorage.setItem("accel-key", match[1]);
      }
      window.history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem("accel-key") || "";
  })();
  const keyHeaders = apiKey ? { "X-API-Key": apiKey } : {};

  // Resolves to parsed JSON or null; never rejects. Failures are recorded for the banner.
  async function getJson(path) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
    try {
      const response = await fetch(path, { signal: controller.signal, cache: "no-store", headers: keyHeaders });
      let body = null;
      try {
        body = await response.json();
      } catch (_) {
        body = null;
      }
      // /ai/health answers 503 with a JSON body when nothing can serve: that is data, not a failure.
      if (body === null) throw new Error(`HTTP ${response.status}`);
      if (!response.ok && path !== "/ai/health") {
        throw new Error((body && body.error) || `HTTP ${response.status}`);
      }
      failures.delete(path);
      return body;
    } catch (err) {
      const why = err && err.name === "AbortError" ? "timed out" : (err && err.message) || "failed";
      failures.set(path, why);
      return null;
    } finally {
      clearTimeout(timer);
      updateBanner();
    }
  }

  function updateBanner() {
    const banner = $("banner");
    if (failures.size === 0) {
      banner.hidden = true;
      banner.textContent = "";
      return;
    }
    const parts = [...failures.entries()].map(([path, why]) => `${path}: ${why}`);
    banner.textContent = "Cannot reach the server for " + parts.join("; ") + ". Retrying every second.";
    banner.hidden = false;
  }

  // ---------------------------------------------------------------- health, devices, models

  function renderHealth(health) {
    const pill = $("health-pill");
    if (!health) {
      pill.className = "pill pill-unknown";
      pill.textContent = "unreachable";
      return;
    }
    const status = String(health.status || health.state || "unknown").toLowerCase();
    const cls = ["ok", "ready", "healthy", "up"].includes(status) ? "pill-ok"
      : ["degraded", "warning"].includes(status) ? "pill-warn" : "pill-bad";
    pill.className = "pill " + cls;
    pill.textContent = status;
  }

  function deviceHealth(d) {
    if (d.ejected === true) return "ejected";
    let h = d.health !== undefined ? d.health : (d.state !== undefined ? d.state : d.status);
    if (h && typeof h === "object") h = h.state || h.status;
    h = String(h || "unknown").toLowerCase();
    return ["ready", "degraded", "failed", "ejected"].includes(h) ? h : "unknown";
  }

  function deviceReason(d) {
    if (d.ejected && d.ejected_reason) return d.ejected_reason;
    if (d.health && typeof d.health === "object" && d.health.reason) return d.health.reason;
    return d.reason || d.health_reason || "";
  }

  // Devices from any of: a list; {devices: [...]}; {engines: [{devices: [...]}]}; {<kind>: {devices: [...]}}.
  function collectDevices(source) {
    if (Array.isArray(source)) return source;
    if (!source || typeof source !== "object") return [];
    if (Array.isArray(source.devices)) return source.devices;
    const groups = Array.isArray(source.engines) ? source.engines : Object.values(source);
    const out = [];
    for (const g of groups) {
      if (g && typeof g === "object" && Array.isArray(g.devices)) out.push(...g.devices);
    }
    return out;
  }

  function normaliseDevices(source) {
    return collectDevices(source).map((d) => ({
      id: String(d.id || d.device || d.name || "?"),
      name: d.name && d.name !== d.id ? String(d.name) : "",
      kind: String(d.kind || d.engine || d.type || ""),
      simulated: d.simulated === true || d.simulated === "true",
      testOnly: d.test_only === true,
      health: deviceHealth(d),
      reason: deviceReason(d),
      queueDepth: num(d.queue_depth),
      inFlight: num(d.in_flight),
      models: asList(d.models).map((m) => (typeof m === "string" ? m : m.name)).filter(Boolean),
      completed: num(d.completed),
    }));
  }

  function renderDevices(devices) {
    const box = $("devices");
    box.replaceChildren();
    box.dataset.count = String(devices.length);
    if (devices.length === 0) {
      box.appendChild(el("p", { class: "muted", text: "No device is serving." }));
      return;
    }
    for (const d of devices) {
      const head = el("div", { class: "head" },
        el("span", { class: "id", text: d.id }),
        d.kind ? el("span", { class: "muted", text: d.kind }) : null,
        el("span", { class: "badge badge-" + d.health, text: d.health }),
        d.simulated ? el("span", { class: "badge badge-sim", title: "A simulated accelerator, not hardware",
          text: "SIMULATED" }) : null,
        d.testOnly ? el("span", { class: "badge badge-test", text: "TEST MODE" }) : null,
        d.name ? el("span", { class: "name", text: d.name }) : null);
      const meta = el("div", { class: "meta" },
        d.queueDepth !== null ? el("span", { text: `queue ${d.queueDepth}` }) : null,
        d.inFlight !== null ? el("span", { text: `in flight ${d.inFlight}` }) : null,
        d.completed !== null ? el("span", { text: `completed ${d.completed}` }) : null,
        d.models.length ? el("span", { text: "models: " + d.models.join(", ") }) : null);
      box.appendChild(el("div", {
        class: "device" + (d.simulated ? " simulated" : ""), "data-device": d.id, "data-health": d.health,
      }, head, meta, d.reason ? el("div", { class: "reason", text: d.reason }) : null));
    }
  }

  // Engine kinds with no device in use, and why: from /ai/engines, else from /ai/hardware.
  function renderUnavailable(engines, hardware) {
    const missing = new Map();
    let groups = asList(engines, "engines");
    if (groups.length === 0 && hardware && typeof hardware === "object" && !Array.isArray(hardware)) {
      groups = Object.entries(hardware)
        .filter(([, g]) => g && typeof g === "object" && !Array.isArray(g))
        .map(([kind, g]) => Object.assign({ kind }, g));
    }
    for (const e of groups) {
      if (!e || typeof e !== "object") continue;
      const kind = e.kind || e.name;
      let available = e.available !== undefined ? e.available : e.is_available;
      if (available === undefined) available = e.built;
      if (kind && available === false) missing.set(kind, e.reason || e.unavailable_reason || "");
    }
    const box = $("unavailable");
    box.replaceChildren();
    if (missing.size === 0) return;
    const list = el("ul");
    for (const [kind, reason] of missing) {
      list.appendChild(el("li", {}, el("strong", { text: kind }), reason ? ": " + reason : ""));
    }
    box.append(el("div", { text: "Engines not in use:" }), list);
  }

  function normaliseModels(models) {
    return asList(models, "models", "data").map((m) => {
      if (typeof m === "string") return { name: m, ready: null, devices: [] };
      return {
        name: String(m.name || m.id || "?"),
        ready: m.ready === undefined ? (m.state ? String(m.state) : null) : m.ready,
        devices: asList(m.devices).map((d) => (typeof d === "string" ? d : d.id)).filter(Boolean),
      };
    });
  }

  let knownModels = "";
  function renderModels(models) {
    const body = $("models");
    body.replaceChildren();
    if (models.length === 0) {
      body.appendChild(el("tr", {}, el("td", { colspan: 3, class: "muted", text: "No model loaded." })));
    }
    for (const m of models) {
      const state = m.ready === true ? "ready" : m.ready === false ? "not ready" : (m.ready || "–");
      const cls = m.ready === true ? "badge badge-ready" : m.ready === false ? "badge badge-failed"
        : "badge badge-unknown";
      body.appendChild(el("tr", {},
        el("td", { text: m.name }),
        el("td", {}, el("span", { class: cls, text: state })),
        el("td", { text: m.devices.join(", ") || "–" })));
    }
    // Refill the model picker only when the list changed, so an open picker is not reset every poll.
    const names = models.map((m) => m.name).join("\n");
    if (names !== knownModels) {
      knownModels = names;
      const select = $("try-model");
      const chosen = select.value;
      select.replaceChildren(el("option", { value: "", text: "default" }));
      for (const m of models) select.appendChild(el("option", { value: m.name, text: m.name }));
      if (models.some((m) => m.name === chosen)) select.value = chosen;
    }
  }

  // ---------------------------------------------------------------- result cache (docs/cache.md)

  // From /ai/health's "cache": hidden while the cache is off.
  function renderCache(health) {
    const card = $("cache-card");
    const cache = health && health.cache;
    if (!cache || cache.status === "off") {
      card.hidden = true;
      return;
    }
    card.hidden = false;
    const req = cache.requests || {};
    const hits = req.hits || {};
    const hitCount = (num(hits.memory) || 0) + (num(hits.redis) || 0) + (num(hits.inflight) || 0);
    const looked = hitCount + (num(req.misses) || 0);
    $("cache-ratio").textContent = looked > 0 ? Math.round((100 * hitCount) / looked) + " %" : "–";
    const memory = cache.memory || {};
    $("cache-entries").textContent = memory.entries === undefined ? "–" : String(memory.entries);
    const redis = cache.redis;
    const redisText = $("cache-redis");
    redisText.textContent = redis ? String(redis.state) : "not used";
    redisText.className = "figure" + (redis && redis.state !== "ok" ? " warn" : "");
    const parts = [`hits: ${num(hits.memory) || 0} memory, ${num(hits.redis) || 0} Redis, ` +
      `${num(hits.inflight) || 0} in flight; ${num(req.misses) || 0} misses, ${num(req.bypass) || 0} bypassed`];
    if (memory.bytes !== undefined && memory.limit_bytes) {
      parts.push(`${(memory.bytes / 1048576).toFixed(1)} of ${(memory.limit_bytes / 1048576).toFixed(0)} MB`);
    }
    if (cache.reason) parts.push(String(cache.reason));
    $("cache-detail").textContent = parts.join(" · ");
  }

  // ---------------------------------------------------------------- watched streams (docs/streams.md)

  const SNAPSHOT_EVERY = 2;  // polls between snapshot refreshes
  const streamTiles = new Map();  // name -> {tile, badge, reason, figures: {key -> span}, img, url, loading}

  function streamTile(name) {
    let t = streamTiles.get(name);
    if (t) return t;
    const figure = (key, label) => {
      const value = el("span", { class: "figure", "data-figure": key, text: "–" });
      return [key, value, el("div", {}, value, el("span", { class: "label", text: label }))];
    };
    const figures = [
      figure("decoded", "decoded fps"), figure("detected", "detection fps"), figure("dropped", "dropped frames"),
      figure("busy", "busy skips"), figure("p95", "latency p95"),
    ];
    const img = el("img", { class: "snapshot", alt: `latest frame of ${name}`, "data-loaded": "0" });
    const badge = el("span", { class: "badge badge-unknown", text: "–" });
    const reason = el("div", { class: "reason" });
    const tile = el("div", { class: "stream", "data-stream": name },
      el("div", { class: "head" }, el("span", { class: "id", text: name }), badge),
      reason, el("div", { class: "figures" }, ...figures.map((f) => f[2])), img);
    t = { tile, badge, reason, figures: new Map(figures.map((f) => [f[0], f[1]])), img, url: null, loading: false };
    streamTiles.set(name, t);
    return t;
  }

  const STREAM_STATE_CLASS = {
    running: "badge-ready", connecting: "badge-degraded", reconnecting: "badge-degraded", failed: "badge-failed",
    ended: "badge-unknown", stopped: "badge-unknown",
  };

  // Fetched with the key headers (an <img src> could not send them) and shown from a blob URL.
  async function refreshSnapshot(name, t) {
    if (t.loading) return;
    t.loading = true;
    try {
      const response = await fetch(`/ai/streams/${encodeURIComponent(name)}/snapshot.jpg`,
        { cache: "no-store", headers: keyHeaders });
      if (!response.ok) return;
      const blob = await response.blob();
      if (streamTiles.get(name) !== t) return;  // removed meanwhile
      const url = URL.createObjectURL(blob);
      t.img.onload = () => {
        t.img.dataset.loaded = String(Number(t.img.dataset.loaded) + 1);
      };
      t.img.src = url;
      if (t.url) URL.revokeObjectURL(t.url);
      t.url = url;
    } catch (_) {
      // A missed refresh is retried at the next one; the stream's state shows what is wrong.
    } finally {
      t.loading = false;
    }
  }

  function renderStreams(body, refreshSnapshots) {
    if (!body) return;
    const streams = asList(body, "streams");
    const card = $("streams-card");
    card.hidden = streams.length === 0;
    const box = $("streams");
    box.dataset.count = String(streams.length);
    const seen = new Set();
    for (const s of streams) {
      const name = String(s.name || "?");
      seen.add(name);
      const t = streamTile(name);
      if (t.tile.parentNode !== box) box.appendChild(t.tile);
      const state = String(s.state || "unknown");
      t.tile.dataset.state = state;
      t.badge.className = "badge " + (STREAM_STATE_CLASS[state] || "badge-unknown");
      t.badge.textContent = state;
      t.reason.textContent = s.reason ? String(s.reason) : "";
      const stats = s.stats || {};
      t.figures.get("decoded").textContent = fmtRate(stats.decoded_fps);
      const target = num(s.fps);
      t.figures.get("detected").textContent = fmtRate(stats.detection_fps) + (target !== null ? ` / ${target}` : "");
      t.figures.get("dropped").textContent = num(stats.dropped_frames) === null ? "–" : String(stats.dropped_frames);
      t.figures.get("busy").textContent = num(stats.busy_skips) === null ? "–" : String(stats.busy_skips);
      t.figures.get("p95").textContent = fmtMs(stats.latency_p95_ms);
      if (refreshSnapshots && (num(stats.detected_frames) || 0) > 0) refreshSnapshot(name, t);
    }
    for (const [name, t] of streamTiles) {
      if (seen.has(name)) continue;
      t.tile.remove();
      if (t.url) URL.revokeObjectURL(t.url);
      streamTiles.delete(name);
    }
  }

  // ---------------------------------------------------------------- stats and charts

  const history = [];  // {t, rps, p50, p99, perDevice: Map(id -> items/s)}
  let lastCompleted = null;  // {t, map id -> completed}

  function perDeviceRates(devices, t) {
    const rates = new Map();
    const now = new Map(devices.filter((d) => d.completed !== null).map((d) => [d.id, d.completed]));
    if (lastCompleted && t > lastCompleted.t) {
      const dt = (t - lastCompleted.t) / 1000;
      for (const [id, c] of now) {
        const before = lastCompleted.map.get(id);
        if (before !== undefined && c >= before) rates.set(id, (c - before) / dt);
      }
    }
    lastCompleted = { t, map: now };
    return rates;
  }

  function renderStats(stats) {
    if (!stats) return;
    const latency = stats.latency_ms || {};
    $("fig-rps").textContent = fmtRate(stats.throughput_rps);
    $("fig-p50").textContent = fmtMs(latency.p50);
    $("fig-p99").textContent = fmtMs(latency.p99);
    $("fig-total").textContent = num(stats.requests_total) === null ? "–" : String(stats.requests_total);
    $("fig-errors").textContent = num(stats.errors_total) === null ? "–" : String(stats.errors_total);
    $("uptime").textContent = fmtDuration(stats.uptime_s);

    const body = $("errors");
    const recent = asList(stats.recent_errors).slice(-20).reverse();
    body.replaceChildren();
    if (recent.length === 0) {
      body.appendChild(el("tr", {}, el("td", { colspan: 4, class: "muted", text: "None." })));
    }
    for (const e of recent) {
      const level = String(e.level || "").toLowerCase();
      body.appendChild(el("tr", {},
        el("td", { text: String(e.time || "") }),
        el("td", { class: "level-" + level, text: level }),
        el("td", { text: String(e.component || "") }),
        el("td", { text: String(e.message || "") })));
    }
  }

  const PALETTE = ["#3d8bfd", "#2fb36d", "#e0a526", "#e5484d", "#8e6cf0", "#17becf", "#ff7f0e", "#bcbd22"];

  // Draws series (each {name, color, values: [number|null]}) over the shared history's time axis.
  function drawChart(canvas, series, unit) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 600;
    const height = canvas.clientHeight || 200;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const left = 52, right = 10, top = 10, bottom = 22;
    const plotW = width - left - right, plotH = height - top - bottom;

    let max = 0;
    for (const s of series) for (const v of s.values) if (v !== null && v > max) max = v;
    max = niceCeiling(max);

    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#8b97a5";
    ctx.strokeStyle = "#2a333d";
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let i = 0; i <= 4; i++) {
      const y = top + plotH - (plotH * i) / 4;
      ctx.beginPath();
      ctx.moveTo(left, Math.round(y) + 0.5);
      ctx.lineTo(left + plotW, Math.round(y) + 0.5);
      ctx.stroke();
      const value = (max * i) / 4;
      ctx.fillText(value >= 100 ? value.toFixed(0) : value.toPrecision(2).replace(/\.0+$/, ""), left - 6, y);
    }
    ctx.textAlign = "left";
    ctx.textBaseline = "alphabetic";
    ctx.fillText(`${HISTORY}s ago`, left, height - 6);
    ctx.textAlign = "right";
    ctx.fillText("now" + (unit ? `  (${unit})` : ""), left + plotW, height - 6);

    const step = plotW / (HISTORY - 1);
    const offset = HISTORY - history.length;
    for (const s of series) {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 1.8;
      ctx.beginPath();
      let pen = false;
      s.values.forEach((v, i) => {
        if (v === null) {
          pen = false;
          return;
        }
        const x = left + (offset + i) * step;
        const y = top + plotH - (max > 0 ? (v / max) * plotH : 0);
        if (pen) ctx.lineTo(x, y);
        else ctx.moveTo(x, y);
        pen = true;
      });
      ctx.stroke();
    }
    // Legend, top left inside the plot.
    let x = left + 8;
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    for (const s of series) {
      ctx.fillStyle = s.color;
      ctx.fillRect(x, top + 6, 10, 3);
      ctx.fillStyle = "#e3e8ee";
      ctx.fillText(s.name, x + 14, top + 8);
      x += 24 + ctx.measureText(s.name).width;
    }
  }

  function niceCeiling(v) {
    if (!(v > 0)) return 1;
    const exp = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * exp) return m * exp;
    return 10 * exp;
  }

  function drawCharts() {
    const deviceIds = new Set();
    for (const h of history) for (const id of h.perDevice.keys()) deviceIds.add(id);
    const throughput = [{ name: "requests/s", color: PALETTE[0], values: history.map((h) => h.rps) }];
    [...deviceIds].sort().forEach((id, i) => {
      throughput.push({ name: id, color: PALETTE[(i + 1) % PALETTE.length],
        values: history.map((h) => (h.perDevice.has(id) ? h.perDevice.get(id) : null)) });
    });
    drawChart($("chart-throughput"), throughput, "/s");
    drawChart($("chart-latency"), [
      { name: "p50", color: PALETTE[1], values: history.map((h) => h.p50) },
      { name: "p99", color: PALETTE[3], values: history.map((h) => h.p99) },
    ], "ms");
  }

  // ---------------------------------------------------------------- polling

  let tick = 0;
  let hardware = null;

  async function poll() {
    const slow = tick % SLOW_POLL_EVERY === 0;
    tick++;
    const [health, engines, stats, models, hardwareNow, streams] = await Promise.all([
      getJson("/ai/health"), getJson("/ai/engines"), getJson("/ai/stats"),
      slow ? getJson("/ai/models") : Promise.resolve(undefined),
      slow ? getJson("/ai/hardware") : Promise.resolve(undefined), getJson("/ai/streams"),
    ]);
    if (hardwareNow) hardware = hardwareNow;
    renderHealth(health);
    renderCache(health);
    const now = Date.now();
    const source = engines || hardware;
    let devices = [];
    if (source) {
      devices = normaliseDevices(source);
      renderDevices(devices);
      renderUnavailable(engines, hardware);
    }
    if (models) renderModels(normaliseModels(models));
    renderStats(stats);
    renderStreams(streams, tick % SNAPSHOT_EVERY === 1);
    const latency = (stats && stats.latency_ms) || {};
    const p50 = num(latency.p50), p99 = num(latency.p99);
    history.push({
      t: now,
      rps: stats ? num(stats.throughput_rps) : null,
      p50: p50 !== null && p50 >= 0 ? p50 : null,
      p99: p99 !== null && p99 >= 0 ? p99 : null,
      perDevice: source ? perDeviceRates(devices, now) : new Map(),
    });
    while (history.length > HISTORY) history.shift();
    drawCharts();
  }

  async function pollLoop() {
    try {
      await poll();
    } catch (err) {
      // A rendering bug must not stop the loop or reach the console as an uncaught error.
      failures.set("dashboard", (err && err.message) || String(err));
      updateBanner();
    }
    setTimeout(pollLoop, POLL_MS);
  }

  // ---------------------------------------------------------------- try it

  let trySequence = 0;
  let tryImage = null;  // {bitmap-like drawable, width, height}

  function setTryStatus(text, isError) {
    const status = $("try-status");
    status.textContent = text;
    status.className = isError ? "error" : "muted";
  }

  function loadImage(file) {
    return new Promise((resolve, reject) => {
      const url = URL.createObjectURL(file);
      const img = new Image();
      img.onload = () => resolve({ img, url });
      img.onerror = () => {
        URL.revokeObjectURL(url);
        reject(new Error("the browser cannot display this file as an image"));
      };
      img.src = url;
    });
  }

  function drawDetections(canvas, img, detections) {
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const scale = Math.max(1, Math.max(canvas.width, canvas.height) / 640);
    ctx.lineWidth = 2 * scale;
    ctx.font = `${Math.round(13 * scale)}px system-ui, sans-serif`;
    ctx.textBaseline = "top";
    const colours = new Map();
    detections.forEach((d) => {
      const b = d.box || d;
      const x0 = num(b.x_min), y0 = num(b.y_min), x1 = num(b.x_max), y1 = num(b.y_max);
      if ([x0, y0, x1, y1].some((v) => v === null)) return;
      const label = String(d.label || d.class || "?");
      if (!colours.has(label)) colours.set(label, PALETTE[colours.size % PALETTE.length]);
      const colour = colours.get(label);
      ctx.strokeStyle = colour;
      ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      const conf = num(d.confidence !== undefined ? d.confidence : d.score);
      const tag = conf === null ? label : `${label} ${conf.toFixed(2)}`;
      const pad = 3 * scale;
      const w = ctx.measureText(tag).width + 2 * pad;
      const h = 13 * scale + 2 * pad;
      const ty = y0 - h >= 0 ? y0 - h : y0;
      ctx.fillStyle = colour;
      ctx.fillRect(x0 - ctx.lineWidth / 2, ty, w, h);
      ctx.fillStyle = "#ffffff";
      ctx.fillText(tag, x0 + pad - ctx.lineWidth / 2, ty + pad);
    });
  }

  async function runDetection() {
    const file = $("try-file").files[0];
    if (!file) return;
    const sequence = ++trySequence;
    const canvas = $("try-canvas");
    canvas.dataset.state = "running";
    delete canvas.dataset.detections;
    $("try-run").disabled = true;
    setTryStatus("Detecting…", false);
    try {
      if (!tryImage || tryImage.file !== file) {
        if (tryImage) URL.revokeObjectURL(tryImage.url);
        const { img, url } = await loadImage(file);
        tryImage = { file, img, url };
      }
      const form = new FormData();
      form.append("image", file, file.name || "image");
      form.append("threshold", $("try-threshold").value);
      const model = $("try-model").value;
      if (model) form.append("model", model);
      const started = performance.now();
      let body = null;
      let status = 0;
      try {
        const response = await fetch("/ai/infer", { method: "POST", body: form, headers: keyHeaders });
        status = response.status;
        body = await response.json().catch(() => null);
      } catch (err) {
        throw new Error("the server did not answer (" + ((err && err.message) || "network error") + ")");
      }
      if (sequence !== trySequence) return;  // a newer run superseded this one
      if (!body || body.success === false || status >= 400) {
        throw new Error((body && body.error) || `HTTP ${status}`);
      }
      const detections = asList(body.detections || body.predictions);
      drawDetections(canvas, tryImage.img, detections);
      const list = $("try-list");
      list.replaceChildren();
      for (const d of detections) {
        const conf = num(d.confidence !== undefined ? d.confidence : d.score);
        list.appendChild(el("li", { text: `${d.label || "?"} ${conf === null ? "" : conf.toFixed(2)}` }));
      }
      const ms = performance.now() - started;
      const where = [body.device, body.engine_used || body.engine].filter(Boolean).join(", ");
      const simulated = body.simulated === true ? " (SIMULATED device)" : "";
      setTryStatus(`${detections.length} detection${detections.length === 1 ? "" : "s"} in ${fmtMs(ms)}` +
        (where ? ` on ${where}` : "") + simulated + ".", false);
      canvas.dataset.detections = String(detections.length);
      canvas.dataset.state = "done";
    } catch (err) {
      if (sequence !== trySequence) return;
      setTryStatus("Error: " + ((err && err.message) || String(err)), true);
      canvas.dataset.state = "error";
    } finally {
      if (sequence === trySequence) $("try-run").disabled = !$("try-file").files.length;
    }
  }

  function setupTry() {
    const file = $("try-file");
    const threshold = $("try-threshold");
    const output = $("try-threshold-value");
    file.addEventListener("change", () => {
      $("try-run").disabled = !file.files.length;
      runDetection();
    });
    threshold.addEventListener("input", () => {
      output.textContent = Number(threshold.value).toFixed(2);
    });
    threshold.addEventListener("change", () => {
      if (file.files.length) runDetection();
    });
    $("try-form").addEventListener("submit", (event) => {
      event.preventDefault();
      runDetection();
    });
  }

  window.addEventListener("unhandledrejection", (event) => {
    // Everything above catches its own errors; this is the last line so nothing reaches the console.
    event.preventDefault();
    failures.set("dashboard", String(event.reason && event.reason.message || event.reason));
    updateBanner();
  });

  setupTry();
  pollLoop();
})();
