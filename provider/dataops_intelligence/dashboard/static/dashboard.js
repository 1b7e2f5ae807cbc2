/* DataOps Intelligence dashboard: hash-routed pages over the plugin's JSON API (same origin, the Airflow
 * session cookie authenticates every call). Charts: uPlot, vendored in static/. No other dependency. */
(function () {
  "use strict";
  var state = { me: null, fleet: null, sort: { key: "health_score", desc: false } };
  var charts = {};
  window.__dataops = { charts: charts, state: state };

  // -- helpers --------------------------------------------------------------------------------------
  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    });
    return el;
  }
  function api(path, options) {
    var opts = Object.assign({ credentials: "same-origin", headers: { Accept: "application/json" } }, options || {});
    return fetch(path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) {
          var detail = body && body.detail;
          if (Array.isArray(detail)) detail = detail.map(function (d) { return (d.loc || []).slice(1).join(".") + ": " + d.msg; }).join("; ");
          var err = new Error(detail || ("HTTP " + r.status)); err.status = r.status; throw err;
        }
        return body;
      });
    });
  }
  function post(path, body) {
    return api(path, { method: "POST", body: JSON.stringify(body || {}),
      headers: { "Content-Type": "application/json", Accept: "application/json" } });
  }
  function num(v, digits) { return v === null || v === undefined ? "–" : Number(v).toFixed(digits === undefined ? 0 : digits); }
  function pct(v) { return v === null || v === undefined ? "–" : (100 * v).toFixed(1) + " %"; }
  function money(v) { return v === null || v === undefined ? "–" : "$" + Number(v).toFixed(2); }
  function when(iso) { if (!iso) return "–"; var d = new Date(iso); return d.toISOString().replace("T", " ").slice(0, 16) + " UTC"; }
  function ago(minutes) {
    if (minutes === null || minutes === undefined) return "–";
    if (minutes < 90) return Math.round(minutes) + " min";
    if (minutes < 48 * 60) return (minutes / 60).toFixed(1) + " h";
    return (minutes / 1440).toFixed(1) + " d";
  }
  function secs(iso) { return new Date(iso).getTime() / 1000; }
  function scoreBadge(v) {
    var cls = v === null || v === undefined ? "none" : v < 60 ? "bad" : v < 80 ? "warn" : "ok";
    return h("span", { "class": "score " + cls, text: num(v) });
  }
  function arrow(a) { return h("span", { "class": "arrow " + a, title: a, text: { down: "▼", up: "▲", flat: "▶" }[a] || "" }); }
  function chip(cls, text) { return h("span", { "class": cls + " " + String(text || "").toLowerCase(), text: text || "–" }); }
  function jobLink(ws, id, name) { return h("a", { href: "#job/" + encodeURIComponent(ws) + "/" + encodeURIComponent(id), text: name || id }); }
  function table(columns, rows, attrs) {
    var head = h("tr", {}, columns.map(function (c) { return h("th", { "class": c.num ? "num" : null, text: c.title }); }));
    var body = rows.map(function (r) {
      return h("tr", {}, columns.map(function (c) {
        var v = c.render ? c.render(r) : r[c.key];
        return h("td", { "class": c.num ? "num" : null }, [v === null || v === undefined ? "–" : v]);
      }));
    });
    return h("table", attrs || {}, [h("thead", {}, [head]), h("tbody", {}, body)]);
  }
  function setMain(nodes) { var m = document.getElementById("main"); m.replaceChildren.apply(m, nodes); }
  function fail(err) { setMain([h("p", { "class": "error", text: "Could not load: " + err.message })]); }
  function width(el) { return Math.max(320, (el.clientWidth || 600) - 4); }
  function chart(name, el, opts, data) {
    if (charts[name]) { charts[name].destroy(); }
    opts.width = width(el); opts.height = opts.height || 220;
    charts[name] = new uPlot(opts, data, el);
    return charts[name];
  }

  // -- fleet ----------------------------------------------------------------------------------------
  var FLEET_COLUMNS = [
    { key: "job_name", title: "Job", render: function (j) { return jobLink(j.workspace_id, j.job_id, j.job_name); } },
    { key: "workspace_id", title: "Workspace" },
    { key: "team", title: "Team" },
    { key: "health_score", title: "Health", num: true, render: function (j) { return scoreBadge(j.health_score); } },
    { key: "arrow", title: "Trend", render: function (j) { return arrow(j.arrow); } },
    { key: "success_rate", title: "Success 7d", num: true, render: function (j) { return pct(j.success_rate); } },
    { key: "runs", title: "Runs 7d", num: true },
    { key: "failures", title: "Failures 7d", num: true },
    { key: "cost", title: "Cost 7d", num: true, render: function (j) { return money(j.cost); } },
    { key: "anomalies", title: "Anomalies 7d", num: true },
    { key: "open_alerts", title: "Open alerts", num: true },
    { key: "tags", title: "Tags", render: function (j) {
      return h("span", { "class": "tags" }, Object.keys(j.tags || {}).sort().map(function (k) { return h("span", { text: k + "=" + j.tags[k] }); }));
    } }
  ];

  function renderFleet() {
    api("api/fleet").then(function (data) {
      state.fleet = data;
      var ws = h("select", { id: "f-workspace" }, [h("option", { value: "", text: "all" })].concat(
        data.workspaces.map(function (w) { return h("option", { value: w, text: w }); })));
      var team = h("select", { id: "f-team" }, [h("option", { value: "", text: "all" })].concat(
        data.teams.map(function (t) { return h("option", { value: t, text: t }); })));
      var tag = h("input", { id: "f-tag", placeholder: "key or key=value" });
      var text = h("input", { id: "f-text", placeholder: "job name or id" });
      var holder = h("div", { id: "fleet-holder" });
      [ws, team].forEach(function (el) { el.addEventListener("change", draw); });
      [tag, text].forEach(function (el) { el.addEventListener("input", draw); });
      function draw() { holder.replaceChildren(fleetTable(data.jobs, ws.value, team.value, tag.value, text.value)); }
      setMain([
        h("h1", { text: "Fleet health" }),
        h("p", { "class": "muted", text: data.jobs.length + " jobs, worst first; runs, failures, cost and anomalies over the last " + data.days + " days (as of " + when(data.as_of) + ")." }),
        h("div", { "class": "filters" }, [
          h("label", {}, ["Workspace", ws]), h("label", {}, ["Team", team]), h("label", {}, ["Tag", tag]), h("label", {}, ["Search", text])
        ]),
        holder
      ]);
      draw();
    }).catch(fail);
  }

  function fleetTable(jobs, ws, team, tag, text) {
    var kv = (tag || "").split("="), needle = (text || "").toLowerCase();
    var rows = jobs.filter(function (j) {
      if (ws && j.workspace_id !== ws) return false;
      if (team && j.team !== team) return false;
      if (kv[0] && !(kv[0] in (j.tags || {}))) return false;
      if (kv.length > 1 && kv[1] && j.tags[kv[0]] !== kv[1]) return false;
      if (needle && (j.job_name + " " + j.job_id).toLowerCase().indexOf(needle) < 0) return false;
      return true;
    });
    var s = state.sort;
    rows.sort(function (a, b) {
      var x = a[s.key], y = b[s.key];
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      var c = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
      return s.desc ? -c : c;
    });
    var t = table(FLEET_COLUMNS, rows, { id: "fleet-table" });
    t.querySelectorAll("th").forEach(function (th, i) {
      var key = FLEET_COLUMNS[i].key; if (key === "tags") return;
      th.classList.add("sortable");
      if (key === s.key) th.classList.add(s.desc ? "sorted-desc" : "sorted-asc");
      th.addEventListener("click", function () {
        state.sort = { key: key, desc: s.key === key ? !s.desc : false };
        document.getElementById("fleet-holder").replaceChildren(fleetTable(jobs, ws, team, tag, text));
      });
    });
    return t;
  }

  // -- job page -------------------------------------------------------------------------------------
  function renderJob(ws, id) {
    api("api/jobs/" + encodeURIComponent(ws) + "/" + encodeURIComponent(id)).then(function (d) {
      var sc = d.score || {};
      var healthEl = h("div", { "class": "chart", id: "chart-health" });
      var durEl = h("div", { "class": "chart", id: "chart-durations" });
      var resEl = h("div", { "class": "chart", id: "chart-resources" });
      var costEl = h("div", { "class": "chart", id: "chart-costs" });
      var silenceBtn = state.me && state.me.can_edit ? h("button", { "class": "secondary", id: "silence-job", text: "Silence this job…",
        onclick: function () { location.hash = "alerts?matchers=" + encodeURIComponent("job_id=" + d.job_id); } }) : null;
      setMain([
        h("p", {}, [h("a", { href: "#fleet", text: "← Fleet" })]),
        h("h1", {}, [d.job_name + " ", h("span", { "class": "muted", text: "(job " + d.job_id + ", workspace " + d.workspace_id + ")" })]),
        h("div", { "class": "kpis" }, [
          h("div", { "class": "kpi" }, [h("b", {}, [scoreBadge(sc.health_score)]), "health score"]),
          h("div", { "class": "kpi" }, [h("b", { text: sc.trend || "–" }), "trend"]),
          h("div", { "class": "kpi" }, [h("b", { text: d.runs.length }), "runs (" + d.days + " d)"]),
          h("div", { "class": "kpi" }, [h("b", { text: d.failures.length }), "failures"]),
          h("div", { "class": "kpi" }, [h("b", { text: d.anomalies.length }), "anomalies"]),
          silenceBtn
        ]),
        h("div", { "class": "card" }, [
          h("h2", { text: "Why this score" }),
          h("p", { "class": "explain", id: "score-explanation", text: sc.explanation || "No score yet." }),
          sc.trend_reason ? h("p", { "class": "muted", text: "Trend: " + sc.trend_reason }) : null,
          pointsLost(sc.points_lost || {})
        ]),
        h("div", { "class": "grid" }, [
          h("div", { "class": "card" }, [h("h2", { text: "Health score" }), healthEl]),
          h("div", { "class": "card" }, [h("h2", { text: "Run durations (minutes), expected band, anomalies" }), durEl]),
          h("div", { "class": "card" }, [h("h2", { text: "Cluster CPU / memory (% , last 7 days)" }), resEl]),
          h("div", { "class": "card" }, [h("h2", { text: "Cost per run" }), costEl])
        ]),
        h("h2", { text: "Anomalies" }),
        table([
          { key: "detected_at", title: "When", render: function (a) { return when(a.detected_at); } },
          { key: "anomaly_type", title: "Type" },
          { key: "severity", title: "Severity", render: function (a) { return chip("sev", a.severity); } },
          { key: "observed", title: "Observed", num: true, render: function (a) { return num(a.observed, 1); } },
          { key: "expected", title: "Expected", num: true, render: function (a) { return num(a.expected, 1); } },
          { key: "explanation", title: "Explanation", render: function (a) { return h("span", { "class": "anomaly-explanation", text: a.explanation || "" }); } },
          { key: "run_id", title: "Run" }
        ], d.anomalies, { id: "job-anomalies" }),
        h("h2", { text: "Failures" }),
        h("p", { "class": "muted", text: Object.keys(d.termination_codes).map(function (k) { return k + " × " + d.termination_codes[k]; }).join(", ") || "No failed runs." }),
        table([
          { key: "start_time", title: "Start", render: function (r) { return when(r.start_time); } },
          { key: "run_id", title: "Run" },
          { key: "result_state", title: "Result" },
          { key: "termination_code", title: "Termination code" },
          { key: "failure_category", title: "Category" },
          { key: "attempts", title: "Attempts", num: true }
        ], d.failures, { id: "job-failures" }),
        h("h2", { text: "SLA breaches" }),
        d.sla_breaches.length ? table([
          { key: "start_time", title: "Start", render: function (r) { return when(r.start_time); } },
          { key: "sla_kind", title: "SLA" },
          { key: "overrun_minutes", title: "Overrun (min)", num: true, render: function (r) { return num(r.overrun_minutes, 1); } },
          { key: "message", title: "What" }
        ], d.sla_breaches) : h("p", { "class": "muted", text: "No SLA breaches (or no SLA configured for this job)." })
      ]);
      drawJobCharts(d, healthEl, durEl, resEl, costEl);
    }).catch(fail);
  }

  function pointsLost(lost) {
    var keys = Object.keys(lost).filter(function (k) { return lost[k] > 0.05; }).sort(function (a, b) { return lost[b] - lost[a]; });
    if (!keys.length) return h("p", { "class": "muted", text: "No points lost." });
    return h("div", { "class": "bars", id: "points-lost" }, keys.map(function (k) {
      return h("div", { "class": "bar" }, [h("span", { "class": "name", text: k.replace(/_/g, " ") }),
        h("span", { "class": "fill", style: "width:" + Math.min(300, lost[k] * 6) + "px" }), h("span", { text: "−" + lost[k].toFixed(1) })]);
    }));
  }

  function drawJobCharts(d, healthEl, durEl, resEl, costEl) {
    var axes = [{}, { size: 50 }];
    chart("health", healthEl, { series: [{}, { label: "score", stroke: "#017cee", width: 2 }], scales: { y: { range: [0, 100] } }, axes: axes },
      [d.health.map(function (r) { return secs(r.calculation_time); }), d.health.map(function (r) { return r.health_score; })]);
    var flagged = {};
    d.anomalies.forEach(function (a) { if (a.run_id && a.metric === "duration_minutes") flagged[a.run_id] = true; });
    var ended = d.runs.filter(function (r) { return r.duration_minutes !== null; });
    var x = ended.map(function (r) { return secs(r.start_time); });
    chart("durations", durEl, {
      series: [{},
        { label: "duration", stroke: "#4a5568", width: 1, points: { show: true, size: 4 } },
        { label: "expected", stroke: "#2f855a", dash: [4, 4], width: 1, points: { show: false } },
        { label: "lower", stroke: "rgba(47,133,90,.3)", points: { show: false } },
        { label: "upper", stroke: "rgba(47,133,90,.3)", points: { show: false } },
        { label: "anomaly", stroke: "#c53030", width: 0, paths: function () { return null; }, points: { show: true, size: 9, fill: "#c53030" } },
        { label: "failed", stroke: "#dd6b20", width: 0, paths: function () { return null; }, points: { show: true, size: 7, fill: "#dd6b20" } }],
      bands: [{ series: [4, 3], fill: "rgba(47,133,90,.12)" }], axes: axes
    }, [x,
      ended.map(function (r) { return r.duration_minutes; }),
      ended.map(function (r) { return r.expected; }),
      ended.map(function (r) { return r.lower; }),
      ended.map(function (r) { return r.upper; }),
      ended.map(function (r) { return flagged[r.run_id] ? r.duration_minutes : null; }),
      ended.map(function (r) { return r.is_failed ? r.duration_minutes : null; })]);
    var m = d.metrics;
    chart("resources", resEl, {
      series: [{}, { label: "CPU %", stroke: "#805ad5", points: { show: false } }, { label: "memory %", stroke: "#d53f8c", points: { show: false } }],
      scales: { y: { range: [0, 100] } }, axes: axes
    }, [m.map(function (r) { return secs(r.timestamp); }), m.map(function (r) { return r.cpu_utilization; }), m.map(function (r) { return r.memory_utilization; })]);
    chart("costs", costEl, {
      series: [{}, { label: "list cost", stroke: "#dd6b20", points: { show: true, size: 4 } }], axes: axes
    }, [d.costs.map(function (r) { return secs(r.usage_start); }), d.costs.map(function (r) { return r.list_cost; })]);
  }

  // -- anomalies ------------------------------------------------------------------------------------
  function renderAnomalies(params) {
    var q = new URLSearchParams(params);
    api("api/anomalies?" + q.toString()).then(function (d) {
      var sev = h("select", { id: "a-severity" }, ["", "info", "low", "medium", "high", "critical"].map(function (s) {
        return h("option", { value: s, text: s ? s + " and above" : "all", selected: q.get("severity") === s && s !== "" });
      }));
      var type = h("select", { id: "a-type" }, [h("option", { value: "", text: "all" })].concat(Object.keys(d.types).sort().map(function (t) {
        return h("option", { value: t, text: t + " (" + d.types[t] + ")", selected: q.get("anomaly_type") === t });
      })));
      var job = h("input", { id: "a-job", placeholder: "job id", value: q.get("job_id") || "" });
      var days = h("select", { id: "a-days" }, [1, 7, 30, 90].map(function (n) { return h("option", { value: n, text: n + " d", selected: String(n) === (q.get("days") || "7") }); }));
      function apply() {
        var p = {}; if (sev.value) p.severity = sev.value; if (type.value) p.anomaly_type = type.value;
        if (job.value) p.job_id = job.value; p.days = days.value;
        location.hash = "anomalies?" + new URLSearchParams(p).toString();
      }
      [sev, type, days].forEach(function (el) { el.addEventListener("change", apply); });
      job.addEventListener("change", apply);
      setMain([
        h("h1", { text: "Anomalies" }),
        h("div", { "class": "filters" }, [h("label", {}, ["Severity", sev]), h("label", {}, ["Type", type]), h("label", {}, ["Job", job]), h("label", {}, ["Window", days])]),
        h("p", { "class": "muted", text: d.anomalies.length + " anomalies in the last " + d.days + " days, newest first." }),
        table([
          { key: "detected_at", title: "When", render: function (a) { return when(a.detected_at); } },
          { key: "job_name", title: "Job", render: function (a) { return a.job_id ? jobLink(a.workspace_id, a.job_id, a.job_name) : (a.cluster_id || "–"); } },
          { key: "anomaly_type", title: "Type" },
          { key: "severity", title: "Severity", render: function (a) { return chip("sev", a.severity); } },
          { key: "observed", title: "Observed", num: true, render: function (a) { return num(a.observed, 1); } },
          { key: "expected", title: "Expected", num: true, render: function (a) { return num(a.expected, 1); } },
          { key: "explanation", title: "Explanation", render: function (a) { return h("span", { "class": "anomaly-explanation", text: a.explanation || "" }); } }
        ], d.anomalies, { id: "anomalies-table" })
      ]);
    }).catch(fail);
  }

  // -- alerts and silences --------------------------------------------------------------------------
  function renderAlerts(params) {
    var q = new URLSearchParams(params);
    api("api/alerts").then(function (d) {
      var counts = Object.keys(d.deliveries).map(function (k) { return k + " " + d.deliveries[k]; }).join(", ");
      setMain([
        h("h1", { text: "Alerts" }),
        h("p", { "class": "muted", text: d.firing + " firing; deliveries in the last " + d.days + " days: " + (counts || "none") + "." }),
        table([
          { key: "updated_at", title: "Last seen", render: function (a) { return when(a.updated_at); } },
          { key: "status", title: "Status", render: function (a) { return chip("state", a.status); } },
          { key: "severity", title: "Severity", render: function (a) { return chip("sev", a.severity); } },
          { key: "rule", title: "Rule" },
          { key: "job_id", title: "Job" },
          { key: "message", title: "Message" },
          { key: "created_at", title: "Since", render: function (a) { return when(a.created_at); } },
          { key: "resolved_at", title: "Resolved", render: function (a) { return a.resolved_at ? when(a.resolved_at) : "–"; } },
          { key: "deliveries", title: "Deliveries", render: function (a) {
            return h("div", {}, a.deliveries.map(function (x) {
              var why = x.status === "failed" ? " (" + x.attempts + " attempts: " + (x.last_error || "?") + ")" : x.status === "pending" ? " (in outbox)" : "";
              return h("div", {}, [x.channel + ": ", chip("state", x.status), why]);
            }));
          } }
        ], d.alerts, { id: "alerts-table" }),
        h("h2", { text: "Silences" }),
        silenceForm(q.get("matchers") || ""),
        table([
          { key: "state", title: "State", render: function (s) { return chip("state", s.state); } },
          { key: "matchers", title: "Matchers", render: function (s) { return s.matchers.join(", "); } },
          { key: "starts_at", title: "From", render: function (s) { return when(s.starts_at); } },
          { key: "ends_at", title: "Until", render: function (s) { return when(s.ends_at); } },
          { key: "created_by", title: "By" },
          { key: "comment", title: "Comment" },
          { key: "silence_id", title: "", render: function (s) {
            if (s.state !== "active" && s.state !== "pending") return s.expired_by ? "expired by " + s.expired_by : "";
            return h("button", { "class": "secondary expire", "data-id": s.silence_id, disabled: !(state.me && state.me.can_edit),
              onclick: function () { post("api/silences/" + encodeURIComponent(s.silence_id) + "/expire").then(function () { renderAlerts(params); }).catch(function (e) { alert(e.message); }); },
              text: "Expire" });
          } }
        ], d.silences, { id: "silences-table" })
      ]);
    }).catch(fail);
  }

  function silenceForm(prefill) {
    var canEdit = state.me && state.me.can_edit;
    var matchers = h("textarea", { id: "s-matchers", placeholder: "one per line: job_id=123, rule=~job_.*, severity!=info" });
    matchers.value = prefill.split(",").filter(Boolean).join("\n");
    var duration = h("select", { id: "s-duration" }, [[60, "1 hour"], [240, "4 hours"], [720, "12 hours"], [1440, "1 day"], [10080, "7 days"]].map(function (o) {
      return h("option", { value: o[0], text: o[1] });
    }));
    var comment = h("input", { id: "s-comment", placeholder: "why (required)" });
    var message = h("div", { id: "s-message" });
    var submit = h("button", { id: "s-submit", type: "submit", text: "Create silence", disabled: !canEdit });
    var form = h("form", { "class": "silence", id: "silence-form" }, [
      h("label", { "class": "wide" }, ["Matchers (all must match the alert's labels: job_id, workspace_id, rule, alert_type, severity...)", matchers]),
      h("label", {}, ["Duration", duration]), h("label", {}, ["Comment", comment]),
      h("div", { "class": "wide" }, [submit, canEdit ? null : h("span", { "class": "muted", text: "  You need edit access to the dataops_monitoring DAG to create or expire silences." }), message])
    ]);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var items = matchers.value.split(/\n|,/).map(function (s) { return s.trim(); }).filter(Boolean);
      post("api/silences", { matchers: items, duration_minutes: Number(duration.value), comment: comment.value })
        .then(function (s) {
          location.hash = "alerts";
          renderAlerts("");
          setTimeout(function () { var m = document.getElementById("s-message"); if (m) m.replaceChildren(h("div", { "class": "notice", id: "s-created", text: "Silence " + s.silence_id + " created: the next alert cycle honours it." })); }, 300);
        })
        .catch(function (e) { message.replaceChildren(h("div", { "class": "error", id: "s-error", text: e.message })); });
    });
    return form;
  }

  // -- platform status ------------------------------------------------------------------------------
  function renderStatus() {
    api("api/status").then(function (d) {
      var failing = d.health_checks.filter(function (c) { return c.state === "failed"; });
      setMain([
        h("h1", { text: "Platform status" }),
        h("p", { "class": failing.length ? "error" : "muted", id: "health-summary",
          text: failing.length ? failing.length + " health check(s) failing: " + failing.map(function (c) { return c.task_id; }).join(", ")
            : (d.health_checks.length ? "All health checks passed on their last run." : "No health check has run yet (DAG dataops_health_check).") }),
        h("h2", { text: "Last cycle per stage (watermarks)" }),
        table([
          { key: "source", title: "Stage / source" },
          { key: "updated_at", title: "Last cycle", render: function (r) { return when(r.updated_at); } },
          { key: "lag_minutes", title: "Lag behind now", num: true, render: function (r) { return ago(r.lag_minutes); } },
          { key: "watermark", title: "Watermark", render: function (r) { return when(r.watermark); } },
          { key: "rows_read", title: "Rows read", num: true }
        ], d.stages, { id: "stages-table" }),
        h("h2", { text: "Monitoring DAG tasks (latest try)" }),
        d.tasks.length ? table([
          { key: "task_id", title: "Task" },
          { key: "state", title: "State", render: function (r) { return chip("state", r.state); } },
          { key: "start_date", title: "Started", render: function (r) { return when(r.start_date); } },
          { key: "duration_seconds", title: "Duration", num: true, render: function (r) { return r.duration_seconds === null ? "–" : num(r.duration_seconds, 1) + " s"; } },
          { key: "try_number", title: "Try", num: true }
        ], d.tasks, { id: "tasks-table" }) : h("p", { "class": "muted", text: d.tasks_error || "No task of dataops_monitoring has run yet." }),
        h("h2", { text: "Health checks" }),
        d.health_checks.length ? table([
          { key: "task_id", title: "Check" },
          { key: "state", title: "State", render: function (r) { return chip("state", r.state); } },
          { key: "end_date", title: "Finished", render: function (r) { return when(r.end_date); } }
        ], d.health_checks) : h("p", { "class": "muted", text: "No health check has run yet." }),
        h("h2", { text: "Alert cycles" }),
        table([
          { key: "interval_end", title: "Interval end", render: function (r) { return when(r.interval_end); } },
          { key: "evaluated_at", title: "Evaluated", render: function (r) { return when(r.evaluated_at); } },
          { key: "candidates", title: "Candidates", num: true },
          { key: "notifications", title: "Notifications", num: true },
          { key: "sent", title: "Sent", num: true },
          { key: "failed", title: "Failed", num: true }
        ], d.alert_cycles)
      ]);
    }).catch(fail);
  }

  // -- routing --------------------------------------------------------------------------------------
  function route() {
    var hash = decodeURIComponent(location.hash.replace(/^#/, "")) || "fleet";
    var parts = hash.split("?"), path = parts[0].split("/"), params = parts[1] || "";
    var tab = path[0] === "job" ? "fleet" : path[0];
    document.querySelectorAll("#tabs a").forEach(function (a) { a.classList.toggle("active", a.dataset.tab === tab); });
    Object.keys(charts).forEach(function (k) { charts[k].destroy(); delete charts[k]; });
    if (path[0] === "job" && path.length >= 3) return renderJob(path[1], path.slice(2).join("/"));
    if (path[0] === "anomalies") return renderAnomalies(params);
    if (path[0] === "alerts") return renderAlerts(params);
    if (path[0] === "status") return renderStatus();
    return renderFleet();
  }
  window.addEventListener("hashchange", route);
  api("api/me").then(function (me) {
    state.me = me;
    document.getElementById("who").textContent = me.user + (me.can_edit ? "" : " (read only)") + " · " + me.target;
  }).catch(function () {}).then(route);
})();
