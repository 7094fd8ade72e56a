/* Sori's report and studio player: the A/B player, a take's section (plots drawn with plotly.js), the summary table.
   One file for both: the report page calls soriPage(); the studio inserts <sori-take data-take="..."> elements. */
(function () {
  "use strict";
  var BASE = null;
  function base() {
    if (!BASE) {
      var el = document.getElementById("sori-base");
      BASE = el ? JSON.parse(el.textContent) : (window.SORI_BASE || {layout: {}, config: {}, time: []});
    }
    return BASE;
  }
  function merge(a, b) {
    var out = {}, k;
    for (k in a) out[k] = a[k];
    for (k in b) {
      var av = out[k], bv = b[k];
      out[k] = (av && bv && typeof av === "object" && typeof bv === "object" && !Array.isArray(av) && !Array.isArray(bv))
        ? merge(av, bv) : bv;
    }
    return out;
  }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "html") e.innerHTML = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function fmt(v, digits, unit, whole) {
    if (v === null || v === undefined || (typeof v === "number" && !isFinite(v))) return "–";
    if (typeof v === "number") {
      return (whole && Number.isInteger(v) ? String(v) : v.toFixed(digits === undefined ? 1 : digits)) + (unit || "");
    }
    if (typeof v === "boolean") return v ? "yes" : "no";
    return String(v) + (unit || "");
  }
  function clock(t) {
    if (!isFinite(t)) t = 0;
    var m = Math.floor(t / 60), s = t - 60 * m;
    return m + ":" + (s < 10 ? "0" : "") + s.toFixed(1);
  }

  /* ---- the A/B player ------------------------------------------------------------------------------------------ */
  var players = [];
  var memory = {};            // per key: side, position, playing (the studio keeps them across re-renders)

  function Player(root, d, key) {
    var self = this;
    this.root = root; this.key = key; this.offset = d.offset || 0;
    this.a = d.a ? el("audio", {preload: "metadata", src: d.a, "class": "ab-audio-a"}) : null;
    this.b = d.b ? el("audio", {preload: "metadata", src: d.b, "class": "ab-audio-b"}) : null;
    this.side = this.b ? "b" : "a";
    this.listeners = [];
    var diff = (d.lufs_a !== null && d.lufs_b !== null && d.lufs_a !== undefined && d.lufs_b !== undefined)
      ? d.lufs_b - d.lufs_a : null;
    this.diff = diff;
    this.play = el("button", {"class": "ab-play", type: "button", title: "play / pause (space)", text: "▶"});
    this.btnA = el("button", {"class": "ab-a", type: "button", title: "the raw take (key A)", text: "A · raw take"});
    this.btnB = el("button", {"class": "ab-b", type: "button", title: "the master (key B)", text: "B · master"});
    this.pos = el("input", {"class": "ab-pos", type: "range", min: "0", max: "1", step: "0.01", value: "0"});
    this.time = el("span", {"class": "ab-time", text: "0:00.0"});
    this.match = el("input", {type: "checkbox", "class": "ab-match"});
    this.match.checked = true;
    var gain = diff === null ? "" : (diff >= 0 ? "master turned down " + diff.toFixed(1) + " dB"
                                                : "raw take turned down " + (-diff).toFixed(1) + " dB");
    this.gainNote = el("span", {"class": "ab-gain", text: gain});
    var label = el("label", {"class": "ab-matchlabel", title: "play both at the same loudness, so that louder does not win"},
                   [this.match, document.createTextNode(" loudness-matched ")]);
    root.classList.add("ab");
    root.setAttribute("tabindex", "0");
    [this.play, el("span", {"class": "ab-side"}, [this.btnA, this.btnB]), this.pos, this.time, label, this.gainNote,
     this.a, this.b].forEach(function (c) { if (c) root.appendChild(c); });
    if (!this.a) this.btnA.disabled = true;
    if (!this.b) this.btnB.disabled = true;
    this.play.addEventListener("click", function () { self.toggle(); });
    this.btnA.addEventListener("click", function () { self.switchTo("a"); });
    this.btnB.addEventListener("click", function () { self.switchTo("b"); });
    this.match.addEventListener("change", function () { self.volumes(); });
    this.pos.addEventListener("input", function () { self.seek(parseFloat(self.pos.value)); });
    root.addEventListener("keydown", function (e) {
      if (e.target.tagName === "INPUT" && e.target.type !== "range") return;
      var k = e.key.toLowerCase();
      if (k === "a" || k === "b") { self.switchTo(k); e.preventDefault(); }
      else if (k === " ") { self.toggle(); e.preventDefault(); }
    });
    [this.a, this.b].forEach(function (au) {
      if (!au) return;
      au.addEventListener("loadedmetadata", function () { self.range(); });
      au.addEventListener("timeupdate", function () { if (au === self.active()) self.tick(); });
      au.addEventListener("ended", function () { if (au === self.active()) self.stopped(); });
    });
    this.volumes();
    this.mark();
    var kept = key && memory[key];
    if (kept) {
      this.side = (kept.side === "a" && this.a) || !this.b ? "a" : "b";
      this.mark();
      this.seek(kept.position);
      if (kept.playing) this.start();
    }
    players.push(this);
  }
  Player.prototype.active = function () { return this.side === "a" ? this.a : this.b; };
  Player.prototype.other = function () { return this.side === "a" ? this.b : this.a; };
  Player.prototype.position = function () {          // in the master's time
    var au = this.active();
    if (!au) return 0;
    return this.side === "a" ? au.currentTime - this.offset : au.currentTime;
  };
  Player.prototype.setTime = function (au, t) {
    if (!au) return;
    var x = au === this.a ? t + this.offset : t;
    try { au.currentTime = Math.max(0, x); } catch (e) { /* not loaded yet: set again on loadedmetadata */ }
  };
  Player.prototype.range = function () {
    var d = this.b && isFinite(this.b.duration) ? this.b.duration : (this.a && isFinite(this.a.duration) ? this.a.duration - this.offset : 1);
    this.pos.max = String(Math.max(0.01, d));
    this.tick();
  };
  Player.prototype.volumes = function () {
    var va = 1, vb = 1;
    if (this.match.checked && this.diff !== null) {
      if (this.diff > 0) vb = Math.pow(10, -this.diff / 20); else va = Math.pow(10, this.diff / 20);
    }
    if (this.a) this.a.volume = Math.min(1, va);
    if (this.b) this.b.volume = Math.min(1, vb);
    this.gainNote.style.opacity = this.match.checked ? "1" : "0.4";
  };
  Player.prototype.mark = function () {
    this.btnA.classList.toggle("on", this.side === "a");
    this.btnB.classList.toggle("on", this.side === "b");
    this.root.setAttribute("data-side", this.side);
  };
  Player.prototype.remember = function () {
    if (!this.key) return;
    var au = this.active();
    memory[this.key] = {side: this.side, position: this.position(), playing: !!(au && !au.paused)};
  };
  Player.prototype.start = function () {
    var self = this, au = this.active();
    if (!au) return;
    players.forEach(function (p) { if (p !== self) p.pause(); });
    var pr = au.play();
    if (pr && pr.catch) pr.catch(function () { self.stopped(); });
    this.play.textContent = "❚❚";
    this.root.setAttribute("data-playing", "1");
    this.follow();
  };
  Player.prototype.pause = function () {
    [this.a, this.b].forEach(function (au) { if (au) au.pause(); });
    this.stopped();
  };
  Player.prototype.halt = function () {            // stop without forgetting that it played (a re-render)
    [this.a, this.b].forEach(function (au) { if (au) { au.pause(); au.removeAttribute("src"); au.load(); } });
  };
  Player.prototype.stopped = function () {
    this.play.textContent = "▶";
    this.root.removeAttribute("data-playing");
    this.remember();
  };
  Player.prototype.toggle = function () {
    var au = this.active();
    if (au && !au.paused) this.pause(); else this.start();
  };
  Player.prototype.switchTo = function (side) {
    if (side === this.side || !(side === "a" ? this.a : this.b)) return;
    var t = this.position(), from = this.active(), playing = from && !from.paused;
    if (from) from.pause();
    this.side = side;
    this.setTime(this.active(), t);
    this.mark();
    if (playing) this.start(); else this.remember();
    this.tick();
  };
  Player.prototype.seek = function (t) {
    this.setTime(this.a, t);
    this.setTime(this.b, t);
    this.tick();
    this.remember();
  };
  Player.prototype.tick = function () {
    var t = this.position();
    if (document.activeElement !== this.pos) this.pos.value = String(t);
    this.time.textContent = clock(t) + " / " + clock(parseFloat(this.pos.max));
    this.listeners.forEach(function (f) { f(t); });
  };
  Player.prototype.follow = function () {           // the playhead, smoother than timeupdate's 4 Hz
    var self = this, last = 0;
    function step(now) {
      var au = self.active();
      if (!au || au.paused || !self.root.isConnected) return;
      if (now - last > 90) { last = now; self.tick(); }
      requestAnimationFrame(step);
    }
    requestAnimationFrame(step);
  };

  /* ---- a take's section ---------------------------------------------------------------------------------------- */
  function table(head, rows, cls) {
    var t = el("table", {"class": cls || ""});
    t.appendChild(el("thead", {}, [el("tr", {}, head.map(function (h) { return el("th", {text: h}); }))]));
    t.appendChild(el("tbody", {}, rows.map(function (r) {
      return el("tr", {}, r.map(function (c) { return el("td", {text: c}); }));
    })));
    return t;
  }
  var METRICS = [["integrated_lufs", "integrated loudness", " LUFS", 1], ["loudness_range_lu", "loudness range", " LU", 1],
    ["true_peak_dbtp", "true peak", " dBTP", 2], ["sample_peak_dbfs", "sample peak", " dBFS", 2],
    ["clipped_samples", "clipped samples", "", 0], ["crest_factor_db", "crest factor", " dB", 1],
    ["noise_floor_dbfs", "noise floor", " dBFS", 1], ["rolloff_hz", "99 % roll-off", " Hz", 0],
    ["duration_s", "length", " s", 2], ["sample_rate", "sample rate", " Hz", 0], ["channels", "channels", "", 0]];
  function metricsTable(d) {
    if (!d.before && !d.after) return null;
    var b = d.before || {}, a = d.after || {};
    return table(["measure", "raw take", "master"], METRICS.map(function (m) {
      return [m[1], fmt(b[m[0]], m[3], m[2]), fmt(a[m[0]], m[3], m[2])];
    }), "metrics");
  }
  function stageTable(d) {
    if (!d.stages || !d.stages.length) return null;
    return table(["stage", "processor", "time", "what it did"], d.stages.map(function (s) {
      var what = Object.keys(s).filter(function (k) { return ["stage", "processor", "seconds"].indexOf(k) < 0; })
        .map(function (k) {
          var v = s[k];
          if (v !== null && typeof v === "object") v = JSON.stringify(v);
          return k + " " + fmt(v, 2, "", true);
        }).join(" · ");
      return [s.stage, s.processor, fmt(s.seconds, 2, " s"), what];
    }), "stages");
  }
  function findingsTable(d) {
    if (!d.findings || !d.findings.length) return null;
    return table(["kind", "from", "to", "cents", "found", "expected"], d.findings.map(function (f) {
      return [f.kind.replace("_", " "), fmt(f.start, 2, " s"), fmt(f.end, 2, " s"),
              f.kind === "rough" ? "–" : fmt(f.cents, 0), f.found || "–", f.expected || "–"];
    }), "findings");
  }
  function targetsLine(d) {
    if (!d.targets) return null;
    var p = el("p", {"class": "targets"});
    Object.keys(d.targets).forEach(function (k) {
      if (k === "ok") return;
      p.appendChild(el("span", {"class": "chip " + (d.targets[k] ? "good" : "bad"),
                                text: (d.targets[k] ? "✓ " : "✗ ") + k.replace("_", " ")}));
    });
    if (d.check) p.appendChild(el("span", {"class": "chip " + (d.check.passed ? "good" : "bad"),
                                           text: (d.check.passed ? "✓ " : "✗ ") + "checks: " + d.check.summary}));
    return p;
  }

  function plotly() {        // the report carries plotly.js as text, compiled on the first plot (a fast open)
    if (!window.Plotly) {
      var src = document.getElementById("sori-plotly");
      if (src) {
        var s = document.createElement("script");
        s.textContent = src.textContent;
        document.head.appendChild(s);
      }
    }
    return window.Plotly;
  }

  function drawPlots(container, d, player) {
    var B = base(), plots = [];
    if (!plotly()) return plots;
    Object.keys(d.figures || {}).forEach(function (name) {
      var fig = d.figures[name];
      var div = el("div", {"class": "plot plot-" + name, "data-fig": name});
      container.appendChild(div);
      var layout = merge(B.layout, fig.layout);
      var isTime = B.time.indexOf(name) >= 0;
      if (isTime) {
        layout.shapes = (layout.shapes || []).concat([{type: "line", x0: 0, x1: 0, yref: "paper", y0: 0, y1: 1,
          line: {color: "rgba(32,33,36,0.8)", width: 1}}]);
      }
      Plotly.newPlot(div, fig.data, layout, B.config).then(function () {
        div.setAttribute("data-drawn", "1");
      });
      if (isTime && player) {
        var k = layout.shapes.length - 1, lastT = -1;
        player.listeners.push(function (t) {
          if (!div.isConnected || Math.abs(t - lastT) < 0.02) return;
          lastT = t;
          var u = {}; u["shapes[" + k + "].x0"] = t; u["shapes[" + k + "].x1"] = t;
          Plotly.relayout(div, u);
        });
        div.on("plotly_click", function (ev) { if (ev.points && ev.points.length) player.seek(ev.points[0].x); });
      }
      plots.push(div);
    });
    return plots;
  }

  function renderTake(container, d, key) {
    container.innerHTML = "";
    var head = el("div", {"class": "take-head"});
    if (d.status === "failed") head.appendChild(el("p", {"class": "reason bad", text: "failed: " + d.reason}));
    if (d.off_target) head.appendChild(el("p", {"class": "reason warn", text: "off target: " + d.off_target}));
    if (d.regeneration) head.appendChild(el("p", {"class": "reason", text: "re-generation: kept " + d.regeneration.kept +
      (d.regeneration.kept !== "original" ? " (player A plays the original input)" : "")}));
    var tl = targetsLine(d);
    if (tl) head.appendChild(tl);
    container.appendChild(head);
    var player = null;
    if (d.a || d.b) {
      var box = el("div", {"class": "ab"});
      container.appendChild(box);
      player = new Player(box, d, key);
    } else if (d.status !== "failed") {
      container.appendChild(el("p", {"class": "reason", text: "no audio next to this page (moved?)"}));
    }
    if (d.no_curves) container.appendChild(el("p", {"class": "reason", text: d.no_curves}));
    var grid = el("div", {"class": "plots"});
    container.appendChild(grid);
    drawPlots(grid, d, player);
    var f = findingsTable(d);
    if (f) container.appendChild(el("details", {open: ""}, [el("summary", {text: "findings (" + d.findings.length + ")"}), f]));
    var tables = el("div", {"class": "tables"});
    [metricsTable(d), stageTable(d)].forEach(function (t) { if (t) tables.appendChild(t); });
    container.appendChild(tables);
    container.setAttribute("data-rendered", "1");
    return player;
  }

  function clear(container) {
    if (window.Plotly) container.querySelectorAll(".plot").forEach(function (p) { Plotly.purge(p); });
    players = players.filter(function (p) { return container.contains(p.root) ? (p.halt(), false) : true; });
    container.innerHTML = "";
    container.removeAttribute("data-rendered");
  }

  /* ---- the report page ----------------------------------------------------------------------------------------- */
  function sortable(tableEl) {
    var ths = tableEl.tHead.rows[0].cells, state = {col: -1, dir: 1};
    Array.prototype.forEach.call(ths, function (th, col) {
      th.addEventListener("click", function () {
        state.dir = state.col === col ? -state.dir : 1;
        state.col = col;
        var numeric = th.getAttribute("data-k") === "num";
        var body = tableEl.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var a = r1.cells[col].getAttribute("data-v"), b = r2.cells[col].getAttribute("data-v");
          if (numeric) {
            var x = a === "" ? Infinity : parseFloat(a), y = b === "" ? Infinity : parseFloat(b);
            if (x === y) return 0;
            if (x === Infinity) return 1;
            if (y === Infinity) return -1;
            return state.dir * (x - y);
          }
          return state.dir * a.localeCompare(b);
        });
        rows.forEach(function (r) { body.appendChild(r); });
        Array.prototype.forEach.call(ths, function (h) { h.removeAttribute("data-sorted"); });
        th.setAttribute("data-sorted", state.dir > 0 ? "asc" : "desc");
      });
    });
  }

  function section(sec) {
    var body = sec.querySelector(".take-body");
    if (body.getAttribute("data-rendered")) return;
    var d = JSON.parse(document.getElementById("take-data-" + sec.getAttribute("data-i")).textContent);
    body.style.minHeight = "";
    renderTake(body, d, "take-" + sec.getAttribute("data-i"));
  }
  function drop(sec) {
    var body = sec.querySelector(".take-body");
    if (!body.getAttribute("data-rendered") || body.querySelector(".ab[data-playing]")) return;
    body.style.minHeight = body.offsetHeight + "px";
    clear(body);
  }

  window.soriPage = function () {
    sortable(document.getElementById("files"));
    var secs = document.querySelectorAll("section.take");
    if (location.hash === "#all") {                 // every section at once (to print or save the whole report)
      secs.forEach(section);
    } else if ("IntersectionObserver" in window) {
      var near = new IntersectionObserver(function (entries) {
        entries.forEach(function (e) { if (e.isIntersecting) section(e.target); else drop(e.target); });
      }, {rootMargin: "1200px 0px"});
      secs.forEach(function (s) { near.observe(s); });
    } else {
      secs.forEach(section);
    }
    document.querySelectorAll("#files a").forEach(function (a) {
      a.addEventListener("click", function () { section(document.querySelector(a.getAttribute("href"))); });
    });
    if (/^#take-\d+$/.test(location.hash) && document.querySelector(location.hash)) {
      section(document.querySelector(location.hash));
    }
    document.documentElement.setAttribute("data-ready", String(performance.now()));
  };
  window.soriRender = renderTake;
  window.soriPlayers = function () { return players; };

  /* ---- the studio's element: <sori-take data-take="{json}" data-key="..."> ------------------------------------ */
  if (window.customElements && !customElements.get("sori-take")) {
    customElements.define("sori-take", class extends HTMLElement {
      connectedCallback() {
        var text = this.getAttribute("data-take");
        if (!text) return;
        renderTake(this, JSON.parse(text), this.getAttribute("data-key") || "studio");
      }
      disconnectedCallback() {
        var self = this;
        players.forEach(function (p) { if (self.contains(p.root)) p.remember(); });
        clear(this);
      }
    });
  }
})();
