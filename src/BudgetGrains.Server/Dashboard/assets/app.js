// The BudgetGrains dashboard: plain JS over the silo's REST API (/api/v1/) and its reports (/api/v1/reports/).
// Amounts arrive as nanos (int64 as strings in proto3 JSON, numbers in the reports) and are shown exactly.
"use strict";
(() => {
  const API = "/api/v1/";
  const $ = id => document.getElementById(id);
  const state = { budgets: new Map(), expanded: new Set(), filter: "", selected: null, budgetsLoad: null, budgetsAgain: null, firstTreeMs: null };
  window.budgetDashboard = state;

  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k);
    return e;
  }
  const num = v => typeof v === "number" ? v : Number(v || 0);
  // Exact dollars from integer nanos: at least 2 decimals, up to 9.
  function money(nanos) {
    let n = num(nanos);
    const sign = n < 0 ? "-" : "";
    n = Math.abs(n);
    const whole = Math.floor(n / 1e9), frac = String(n % 1e9).padStart(9, "0").replace(/0+$/, "");
    return `${sign}$${whole.toLocaleString("en-US")}.${frac.length < 2 ? frac.padEnd(2, "0") : frac}`;
  }
  const pct = (part, whole) => whole > 0 ? `${(part / whole * 100).toFixed(1)}%` : "–";
  const count = n => num(n).toLocaleString("en-US");
  const path = scope => scope.split("/").map(encodeURIComponent).join("/");
  const when = ms => new Date(num(ms)).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");

  // A silo that requires keys answers 401 until this browser signs in: the sign-in page sets the key as an HttpOnly
  // cookie, which every call of this page then carries (viewer keys read; admin keys also change budgets).
  async function api(method, route, body) {
    const init = { method, headers: {} };
    if (body !== undefined) { init.body = JSON.stringify(body); init.headers["content-type"] = "application/json"; }
    const answer = await fetch(API + route, init);
    const json = await answer.json().catch(() => ({}));
    if (answer.status === 401) {
      if (!state.signingIn) location.assign("/dashboard/sign-in.html?return=" + encodeURIComponent(location.pathname + location.hash));
      state.signingIn = true;
      throw new Error("sign in first");
    }
    if (!answer.ok) throw new Error(json.error ? `${json.error.code}: ${json.error.message}` : `HTTP ${answer.status}`);
    return json;
  }
  const say = text => { $("status").textContent = text; };

  // ---- Budgets tree --------------------------------------------------------------------------------------------
  // The roots most trees have (cost centers, tenants) come first, one small page each, so the top of the tree is drawn
  // at once; then every budget, page by page, and the whole tree once all are in (a partial tree would misplace children).
  // One load at a time. A load asked for while one runs (after a change made here, or the timer's) runs once more when
  // that one ends, since it may have read before the change; its callers wait for that second load.
  function loadBudgets() {
    if (state.budgetsLoad) {
      state.budgetsAgain ??= state.budgetsLoad.then(() => { state.budgetsAgain = null; return loadBudgets(); });
      return state.budgetsAgain;
    }
    state.budgetsLoad = loadBudgetsOnce().finally(() => { state.budgetsLoad = null; });
    return state.budgetsLoad;
  }

  async function loadBudgetsOnce() {
    const t0 = performance.now();
    try {
      if (state.budgets.size === 0) {
        const tops = await Promise.all(["cost_center/", "tenant/"].map(prefix => api("GET", `budgets?scope_prefix=${prefix}&page_size=100`)));
        for (const page of tops) for (const b of page.budgets) state.budgets.set(b.scope, b);
        renderTree();
        say("loading budgets…");
        startOtherViews();
      }
      const fresh = new Map();
      let token = "";
      do {
        const page = await api("GET", `budgets?page_size=1000${token ? "&page_token=" + encodeURIComponent(token) : ""}`);
        for (const b of page.budgets) fresh.set(b.scope, b);
        token = page.nextPageToken;
      } while (token);
      state.budgets = fresh;
      renderTree();
      say(`${count(fresh.size)} budgets loaded in ${Math.round(performance.now() - t0)} ms`);
    } catch (e) {
      say("budgets: " + e.message);
      startOtherViews();
    }
  }

  function forecast(b, now) {
    const start = num(b.periodStartUnixMs), end = num(b.periodEndUnixMs), spent = num(b.spentNanos);
    if (b.period === "NONE" || !end || now <= start) return null;
    return Math.round(spent * (end - start) / (now - start));
  }

  function renderTree() {
    const budgets = state.budgets, children = new Map(), roots = [];
    for (const b of budgets.values()) {
      if (b.parent && budgets.has(b.parent)) {
        if (!children.has(b.parent)) children.set(b.parent, []);
        children.get(b.parent).push(b);
      } else roots.push(b);
    }
    const order = (a, b) => (a.scope < b.scope ? -1 : 1);
    roots.sort(order);
    const small = budgets.size <= 300, filter = state.filter, now = Date.now();
    const body = document.createDocumentFragment();
    let shown = 0;
    const visit = (b, depth) => {
      if (shown >= 2000) return;
      const kids = (children.get(b.scope) || []).sort(order);
      const open = filter ? true : (small || state.expanded.has(b.scope));
      if (!filter || b.scope.includes(filter) || kids.some(k => k.scope.includes(filter))) {
        body.append(row(b, depth, kids.length, open, now));
        shown++;
      }
      if (open) for (const k of kids) visit(k, depth + 1);
    };
    for (const r of roots) visit(r, 0);
    $("budget-tree").tBodies[0].replaceChildren(body);
    $("budget-count").textContent = `${count(budgets.size)} budgets${shown >= 2000 ? " (first 2,000 rows shown: filter to see others)" : ""}`;
    if (state.firstTreeMs === null && budgets.size > 0) state.firstTreeMs = Math.round(performance.now());
  }

  function row(b, depth, kids, open, now) {
    const limit = num(b.limitNanos), spent = num(b.spentNanos), held = num(b.heldNanos);
    const bar = h("span", { class: "bar" + (limit && spent + held > limit ? " over" : ""), "aria-hidden": "true" });
    if (limit) {
      const s = h("span", { class: "s" }), hh = h("span", { class: "h" });
      s.style.width = `${Math.min(100, spent / limit * 100)}%`;
      hh.style.left = s.style.width;
      hh.style.width = `${Math.max(0, Math.min(100 - spent / limit * 100, held / limit * 100))}%`;
      bar.append(s, hh);
    }
    const f = limit ? forecast(b, now) : null;
    const toggle = kids
      ? h("button", { type: "button", class: "toggle", "aria-expanded": String(open), "aria-label": `${open ? "Collapse" : "Expand"} ${b.scope}`, text: open ? "−" : "+",
          onclick: () => { open ? state.expanded.delete(b.scope) : state.expanded.add(b.scope); if (state.budgets.size <= 300) state.small = false; renderTree(); } })
      : h("span", { class: "spacer" });
    const cell = h("td", {}, toggle, h("a", { href: "#scope=" + b.scope, class: "scope", text: b.scope, onclick: ev => { ev.preventDefault(); showDetail(b.scope, true); } }));
    cell.style.paddingLeft = `${8 + depth * 20}px`;
    return h("tr", { "data-scope": b.scope, "aria-level": depth + 1 },
      cell,
      h("td", {}, bar, h("span", { class: "pct", text: limit ? pct(spent + held, limit) : "no limit" })),
      h("td", { class: "r", "data-field": "spent", "data-nanos": spent, text: money(spent) }),
      h("td", { class: "r", "data-field": "held", "data-nanos": held, text: money(held) }),
      h("td", { class: "r", "data-field": "limit", "data-nanos": limit, text: limit ? money(limit) : "–" }),
      h("td", { text: b.period === "NONE" ? "–" : b.period.toLowerCase() }),
      h("td", { class: "r", "data-field": "forecast", "data-nanos": f ?? "", text: f === null ? "–" : money(f) }),
      h("td", { "data-field": "frozen", class: b.frozen ? "frozen" : "", text: b.frozen ? "frozen" : "no" }));
  }

  // ---- One scope: facts, usage, periods, admin actions -------------------------------------------------------
  async function showDetail(scope, focus) {
    state.selected = scope;
    const section = $("detail");
    section.hidden = false;
    try {
      const [b, byChild, byModel, periods, meters] = await Promise.all([
        api("GET", "budgets/" + path(scope)),
        api("GET", `usage/${path(scope)}?group_by=child&page_size=20`),
        api("GET", `usage/${path(scope)}?group_by=model&page_size=20`),
        api("GET", `periods/${path(scope)}?page_size=10`),
        api("GET", "meter-usage/" + path(scope))]);
      state.budgets.set(scope, b);
      $("detail-h").textContent = scope;
      const f = num(b.limitNanos) ? forecast(b, Date.now()) : null;
      const facts = [["Limit", num(b.limitNanos) ? money(b.limitNanos) : "no limit", "limit", b.limitNanos], ["Spent", money(b.spentNanos), "spent", b.spentNanos],
        ["Held", money(b.heldNanos), "held", b.heldNanos], ["Open holds", count(b.openHolds), "openHolds"], ["Commits", count(b.commits), "commits"],
        ["Denials", count(b.denials), "denials"], ["Period", b.period.toLowerCase() + (num(b.periodStartUnixMs) ? ` since ${when(b.periodStartUnixMs)}` : ""), "period"],
        ["Forecast to period end", f === null ? "–" : money(f), "forecast"], ["Parent", b.parent || "–", "parent"], ["Frozen", b.frozen ? "yes" : "no", "frozen"]];
      $("detail-facts").replaceChildren(...facts.flatMap(([k, v, field, nanos]) =>
        [h("dt", { text: k }), h("dd", { "data-field": field, "data-nanos": nanos ?? null, text: v })]));
      $("freeze-button").textContent = b.frozen ? "Unfreeze…" : "Freeze…";
      usageTable($("usage-child"), byChild, "Child");
      usageTable($("usage-model"), byModel, "Model");
      // Per meter limit: used this period + held by open holds, of the limit (docs/decisions/0041).
      $("detail-meter-limits").replaceChildren(h("thead", {}, h("tr", {}, ["Meter", "Used", "Held", "Limit", "Left"].map(t => h("th", { scope: "col", text: t })))),
        h("tbody", {}, (b.meters || []).length === 0 ? h("tr", {}, h("td", { colspan: 5, text: "no meter limits: set them with budgetctl budgets set --meter-limit" })) :
          b.meters.map(l => h("tr", { "data-key": l.meter }, h("td", { text: l.meter }),
            h("td", { class: "r", "data-field": "used", "data-value": num(l.usedQuantity), text: count(l.usedQuantity) }),
            h("td", { class: "r", "data-field": "held", "data-value": num(l.heldQuantity), text: count(l.heldQuantity) }),
            h("td", { class: "r", "data-field": "limit", "data-value": num(l.maxQuantity), text: count(l.maxQuantity) }),
            h("td", { class: "r", "data-field": "left", text: count(Math.max(0, num(l.maxQuantity) - num(l.usedQuantity) - num(l.heldQuantity))) })))));
      $("usage-meters").replaceChildren(h("thead", {}, h("tr", {}, ["Meter", "Quantity", "Spent", "Commits"].map(t => h("th", { scope: "col", text: t })))),
        h("tbody", {}, meters.rows.map(r => h("tr", { "data-key": r.meter }, h("td", { text: r.meter }),
          h("td", { class: "r", "data-field": "quantity", "data-value": num(r.quantity), text: count(r.quantity) }),
          h("td", { class: "r", "data-field": "spent", "data-nanos": num(r.spentNanos), text: money(r.spentNanos) }),
          h("td", { class: "r", "data-field": "commits", text: count(r.commits) })))));
      $("detail-periods").replaceChildren(h("thead", {}, h("tr", {}, ["Start", "End", "Limit", "Spent", "Commits"].map(t => h("th", { scope: "col", text: t })))),
        h("tbody", {}, periods.periods.map(p => h("tr", {}, h("td", { text: when(p.startUnixMs) }), h("td", { text: when(p.endUnixMs) }),
          h("td", { class: "r", text: money(p.limitNanos) }), h("td", { class: "r", "data-nanos": num(p.spentNanos), text: money(p.spentNanos) }),
          h("td", { class: "r", text: count(p.commits) })))));
      if (focus) $("detail-h").focus();
    } catch (e) {
      say(`${scope}: ${e.message}`);
    }
  }

  function usageTable(table, report, title) {
    const total = num(report.total.spentNanos);
    table.replaceChildren(h("thead", {}, h("tr", {}, [title, "Spent", "Share", "Commits"].map(t => h("th", { scope: "col", text: t })))),
      h("tbody", {}, report.rows.map(r => h("tr", { "data-key": r.key }, h("td", { text: r.key || "(none)" }),
        h("td", { class: "r", "data-nanos": num(r.spentNanos), text: money(r.spentNanos) }), h("td", { class: "r", text: pct(num(r.spentNanos), total) }),
        h("td", { class: "r", text: count(r.commits) })))));
  }

  let openings = 0;
  function confirmChange(text) {
    const dialog = $("confirm"), mine = ++openings;
    $("confirm-text").textContent = text;
    dialog.returnValue = "";
    dialog.showModal();
    $("confirm-cancel").focus();
    return new Promise(resolve => {
      const closed = () => {
        // The close event of an earlier opening (Escape queues it) can arrive after this opening began: it answers the
        // earlier one, never this one, which waits for the dialog to be closed again.
        if (mine === openings && dialog.open) return;
        dialog.removeEventListener("close", closed);
        resolve(mine === openings && dialog.returnValue === "ok");
      };
      dialog.addEventListener("close", closed);
    });
  }

  function dollarsToNanos(text) {
    const m = /^\$?(\d+)(?:\.(\d{1,9}))?$/.exec(text.trim());
    if (!m) return null;
    return String(BigInt(m[1]) * 1000000000n + BigInt((m[2] || "").padEnd(9, "0")));
  }

  async function act(description, call) {
    if (!(await confirmChange(description))) return;
    try {
      await call();
      say("done: " + description.split("?")[0]);
      await Promise.all([showDetail(state.selected, false), loadBudgets()]);
    } catch (e) {
      say("refused: " + e.message);
    }
  }

  $("limit-form").addEventListener("submit", ev => {
    ev.preventDefault();
    const b = state.budgets.get(state.selected), nanos = dollarsToNanos($("limit-input").value);
    if (!b || nanos === null) { say("the limit must be an amount in dollars, e.g. 25 or 0.05"); return; }
    const keep = { limitNanos: nanos, period: b.period, thresholdPercents: b.thresholdPercents, parent: b.parent, frozen: b.frozen,
      currency: b.currency, requestsPerMinute: b.requestsPerMinute, tokensPerMinute: b.tokensPerMinute };
    act(`Set the limit of ${b.scope} from ${num(b.limitNanos) ? money(b.limitNanos) : "no limit"} to ${money(nanos)}? Spent (${money(b.spentNanos)}), the period, the parent and the thresholds stay as they are.`,
      () => api("PUT", "budgets/" + path(b.scope), keep));
  });
  $("freeze-button").addEventListener("click", () => {
    const b = state.budgets.get(state.selected);
    if (!b) return;
    act(b.frozen ? `Unfreeze ${b.scope}? Calls whose chains contain it are admitted again (within their budgets) from the next request.`
      : `Freeze ${b.scope}? Every call whose chain contains it is denied FROZEN from the next request; open holds stay until committed or released.`,
      () => api("POST", `budgets/${path(b.scope)}:${b.frozen ? "unfreeze" : "freeze"}`));
  });
  $("reset-button").addEventListener("click", () => {
    const b = state.budgets.get(state.selected);
    if (!b) return;
    act(`Reset ${b.scope}? Its current period closes now and is kept as history; spent (${money(b.spentNanos)}) starts again from $0.00. Open holds carry over.`,
      () => api("POST", `budgets/${path(b.scope)}:reset`));
  });
  $("budget-filter").addEventListener("input", ev => { state.filter = ev.target.value.trim(); renderTree(); });

  // ---- Spend reports ------------------------------------------------------------------------------------------
  async function loadSpend() {
    try {
      const r = await api("GET", "reports/spend?days=30");
      $("daily-hint").textContent = `${r.days[0]} to ${r.days[r.days.length - 1]} (UTC days): ${money(r.spentNanos)} in ${count(r.commits)} commits` +
        (r.truncated ? " (the newest 200,000 commits only)" : "");
      const series = r.featureDaily.map(f => ({ name: f.feature, values: f.perDayNanos }));
      Charts.stacked($("daily-chart"), r.days, series, "Cost per feature per day, stacked", money);
      $("daily-legend").replaceChildren(...series.map((s, k) => {
        const swatch = h("i", {});
        swatch.style.background = Charts.PALETTE[k % Charts.PALETTE.length];
        return h("span", { "data-feature": s.name, "data-nanos": r.featureDaily[k].spentNanos }, swatch, `${s.name} ${money(r.featureDaily[k].spentNanos)}`);
      }));
      groupTable($("tenant-table"), r.tenants, "Tenant", r, false);
      groupTable($("model-table"), r.models, "Model", r, true);
      groupTable($("outcome-table"), r.outcomes, "Outcome", r, false, true);
      $("feature-table").replaceChildren(
        h("thead", {}, h("tr", {}, ["Feature", "Commits", "Spent", "Median per call", "p99 per call", "Input tokens", "Cached", "Cache hit rate"].map(t => h("th", { scope: "col", text: t })))),
        h("tbody", {}, r.features.map(f => h("tr", { "data-key": f.feature }, h("td", { text: f.feature }), h("td", { class: "r", "data-field": "commits", text: count(f.commits) }),
          h("td", { class: "r", "data-field": "spent", "data-nanos": f.spentNanos, text: money(f.spentNanos) }),
          h("td", { class: "r", "data-field": "p50", "data-nanos": f.p50Nanos, text: money(f.p50Nanos) }),
          h("td", { class: "r", "data-field": "p99", "data-nanos": f.p99Nanos, text: money(f.p99Nanos) }),
          h("td", { class: "r", text: count(f.inputTokens) }), h("td", { class: "r", text: count(f.cachedInputTokens) }),
          h("td", { class: "r", "data-field": "cache", "data-value": f.cacheHitRate ?? "", text: f.cacheHitRate === null ? "–" : `${(f.cacheHitRate * 100).toFixed(1)}%` })))));
    } catch (e) {
      say("spend report: " + e.message);
    }
  }

  function groupTable(table, rows, title, report, calls, perOutcome) {
    const totalCommits = report.commits, totalSpent = report.spentNanos;
    const heads = [title, calls ? "Calls" : "Commits", ...(calls ? ["Share of calls"] : []), "Spent", "Share of spend", ...(perOutcome ? ["Cost per outcome"] : [])];
    table.replaceChildren(h("thead", {}, h("tr", {}, heads.map(t => h("th", { scope: "col", text: t })))),
      h("tbody", {}, rows.map(g => h("tr", { "data-key": g.key }, h("td", { text: g.key }),
        h("td", { class: "r", "data-field": "commits", text: count(g.commits) }),
        calls ? h("td", { class: "r", "data-field": "call-share", text: pct(g.commits, totalCommits) }) : null,
        h("td", { class: "r", "data-field": "spent", "data-nanos": g.spentNanos, text: money(g.spentNanos) }),
        h("td", { class: "r", "data-field": "spend-share", text: pct(g.spentNanos, totalSpent) }),
        perOutcome ? h("td", { class: "r", "data-field": "per-outcome", "data-nanos": g.averageNanos, text: money(g.averageNanos) }) : null))));
  }

  // ---- Cost per task outcome and jobs (GetCostPerOutcome, GetJobReport) -------------------------------------------
  // An amount cell that carries its nanos exactly (data-nanos), for the tests and for copying.
  const cell = (field, nanos) => h("td", { class: "r", "data-field": field, "data-nanos": num(nanos), text: money(nanos) });
  const since30Days = () => Date.now() - 30 * 86400e3;

  async function loadOutcomes() {
    try {
      const by = $("outcomes-by").value;
      const r = await api("GET", `cost-per-outcome?group_by=${by}&from_unix_ms=${since30Days()}`);
      const heads = [by === "tenant" ? "Tenant" : "Feature", "Outcome", "Tasks", "Cost", "Per task", "Inferences", "Per inference",
        "API calls", "Per API call", "Retries", "Per 1M tokens"];
      $("outcome-cost-table").replaceChildren(h("thead", {}, h("tr", {}, heads.map(t => h("th", { scope: "col", text: t })))),
        h("tbody", {}, r.rows.map(o => h("tr", { "data-key": `${o.key}|${o.outcome}` }, h("td", { text: o.key || "(none)" }), h("td", { text: o.outcome }),
          h("td", { class: "r", "data-field": "tasks", text: count(o.tasks) }), cell("cost", o.costNanos), cell("per-task", o.costPerTaskNanos),
          h("td", { class: "r", text: count(o.inferences) }), cell("per-inference", o.costPerInferenceNanos),
          h("td", { class: "r", text: count(o.apiCalls) }), cell("per-api-call", o.costPerApiCallNanos), h("td", { class: "r", text: count(o.retries) }),
          num(o.tokens) ? cell("per-million-tokens", o.costPerMillionTokensNanos) : h("td", { class: "r", text: "–" })))));
      const t = r.total || {};
      $("outcomes-total").textContent = `${count(t.tasks)} tasks, ${money(t.costNanos)}, ${money(t.costPerTaskNanos)} per task` +
        (r.truncated ? " (more rows than one report holds)" : "");
    } catch (e) {
      say("cost per outcome: " + e.message);
    }
  }
  $("outcomes-by").addEventListener("change", loadOutcomes);

  async function loadJobs() {
    try {
      const r = await api("GET", `jobs?from_unix_ms=${since30Days()}&page_size=100`);
      const heads = ["Job", "Feature", "Outcome", "Estimate", "Intervals", "Interval estimates", "Actual", "Held", "Cap", "Vs estimate"];
      $("job-table").replaceChildren(h("thead", {}, h("tr", {}, heads.map(t => h("th", { scope: "col", text: t })))),
        h("tbody", {}, r.jobs.map(j => h("tr", { "data-key": j.scope }, h("td", { text: j.scope }), h("td", { text: j.feature }),
          h("td", { "data-field": "outcome", text: j.outcome === "open" ? "running" : j.outcome }), cell("estimate", j.estimateNanos),
          h("td", { class: "r", "data-field": "intervals", text: count(j.intervals) }), cell("interval-estimates", j.intervalEstimateNanos),
          cell("actual", j.actualNanos), cell("held", j.heldNanos), num(j.capNanos) ? cell("cap", j.capNanos) : h("td", { class: "r", text: "–" }),
          h("td", { class: "r", "data-field": "vs-estimate", text: num(j.estimateNanos) ? `${num(j.estimateErrorBasisPoints) >= 0 ? "+" : ""}${(num(j.estimateErrorBasisPoints) / 100).toFixed(2)}%` : "–" })))));
    } catch (e) {
      say("jobs: " + e.message);
    }
  }

  // ---- Alerts -------------------------------------------------------------------------------------------------
  async function loadAlerts() {
    try {
      const r = await api("GET", `alerts?page_size=100${$("alerts-unacked").checked ? "&unacknowledged_only=true" : ""}`);
      const list = r.alerts;
      $("alert-list").replaceChildren(...(list.length ? list.map(alertItem) : [h("li", { class: "acked", text: "No alerts." })]));
      const times = list.map(a => num(a.firedAtUnixMs));
      const to = Date.now(), from = Math.min(to - 3600e3, ...times);
      Charts.timeline($("alerts-chart"), list.map(a => ({ t: num(a.firedAtUnixMs), color: a.acknowledged ? "#8c959f" : "#b35c00", title: `${a.scope}: ${a.message}` })),
        from, to, "Alerts over time");
    } catch (e) {
      say("alerts: " + e.message);
    }
  }

  function alertItem(a) {
    const sinks = a.deliveries.map(d => h("span", { class: "sink " + d.state.toLowerCase(), "data-sink": d.sink, "data-state": d.state,
      text: `${d.sink}: ${d.state.toLowerCase()}${d.attempts > 1 ? ` (${d.attempts} attempts)` : ""}` }));
    const ack = a.acknowledged
      ? h("span", { class: "meta", text: `acknowledged by ${a.acknowledgedBy || "someone"} at ${when(a.acknowledgedAtUnixMs)}` })
      : h("button", { type: "button", "data-ack": a.id, "aria-label": `Acknowledge alert ${a.id} on ${a.scope}`, text: "Acknowledge",
          onclick: async () => { try { await api("POST", `alerts/${encodeURIComponent(a.id)}:ack`, { by: "dashboard" }); await loadAlerts(); } catch (e) { say("ack: " + e.message); } } });
    return h("li", { class: a.acknowledged ? "acked" : "", "data-alert": a.id },
      h("div", {}, h("strong", { text: `${a.kind.toLowerCase()} · ${a.scope}` }), " ", a.message),
      h("div", { class: "meta", text: `fired ${when(a.firedAtUnixMs)} · spent ${money(a.spentNanos)} of ${money(a.limitNanos)}` }),
      h("div", {}, sinks, " ", ack));
  }
  $("alerts-unacked").addEventListener("change", loadAlerts);

  // ---- Exports ------------------------------------------------------------------------------------------------
  // Without a key the links download straight from the silo's stream. A link cannot send a key, so with one the page
  // fetches the file itself and saves it: that copy is held in the browser's memory, fine for the dashboard's use;
  // very large exports are for budgetctl or curl, which stream to disk.
  for (const link of document.querySelectorAll("#exports a[download]")) {
    link.addEventListener("click", async event => {
      const key = sessionStorage.getItem(KEY);
      if (!key) return;
      event.preventDefault();
      const answer = await fetch(link.href, { headers: { authorization: `Bearer ${key}` } });
      if (!answer.ok) { const json = await answer.json().catch(() => ({})); say(`export: ${json.error ? json.error.message : "HTTP " + answer.status}`); return; }
      const url = URL.createObjectURL(await answer.blob());
      h("a", { href: url, download: link.getAttribute("download") }).click();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    });
  }

  // ---- Allocation of shared costs (GetAllocation) and reconciliation drift (GetReconciliation) --------------------
  // Both come from Management rpcs through the REST mirror; every amount cell carries its nanos (data-nanos) exactly (cell, above).
  const heads = titles => h("thead", {}, h("tr", {}, titles.map(t => h("th", { scope: "col", text: t }))));

  function allocationMonth() {
    const input = $("allocation-month");
    if (!input.value) { const now = new Date(); input.value = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, "0")}`; }
    const [year, month] = input.value.split("-").map(Number);
    return [Date.UTC(year, month - 1, 1), Date.UTC(year, month, 1)];
  }

  async function loadAllocation() {
    const [from, to] = allocationMonth(), by = $("allocation-by").value;
    try {
      const r = await api("GET", `allocation?dimension=${by}&from_unix_ms=${from}&to_unix_ms=${Math.min(to, Date.now() + 1)}`);
      $("allocation-summary").textContent = `${money(r.totalNanos)} in all: ${money(r.measuredNanos)} measured, ${money(r.allocatedNanos)} allocated, ` +
        `${money(r.estimatedNanos)} estimated, ${money(r.unallocatedNanos)} unallocated`;
      $("allocation-table").replaceChildren(heads([by === "tenant" ? "Tenant" : "Feature", "Measured", "Allocated", "Estimated", "Unallocated", "Total", "Shares"]),
        h("tbody", {}, r.rows.length ? r.rows.map(row => h("tr", { "data-key": row.scope, class: row.scope === "unallocated" ? "unallocated" : null },
          h("td", { text: row.scope }), cell("measured", row.measuredNanos), cell("allocated", row.allocatedNanos), cell("estimated", row.estimatedNanos),
          cell("unallocated", row.unallocatedNanos), cell("total", row.totalNanos),
          h("td", { "data-field": "shares", text: row.figures.filter(f => f.source !== "ledger")
            .map(f => `${f.source} ${money(f.amountNanos)} (${f.label})`).join(", ") || "–" })))
          : [h("tr", {}, h("td", { colspan: "7", text: "No commits and no shared costs in this month." }))]));
      $("allocation-pools").replaceChildren(heads(["Pool", "Period", "Driver", "Amount", "Allocated", "Unallocated", "Why unallocated"]),
        h("tbody", {}, r.pools.map(p => h("tr", { "data-key": p.cost.pool },
          h("td", { text: p.cost.pool + (p.cost.estimated ? " (estimate)" : "") }),
          h("td", { text: `${when(p.cost.periodStartUnixMs).slice(0, 10)} to ${when(p.cost.periodEndUnixMs).slice(0, 10)}` }),
          h("td", { text: p.cost.driver }), cell("amount", p.cost.amountNanos), cell("allocated", p.allocatedNanos), cell("unallocated", p.unallocatedNanos),
          h("td", { text: p.unallocatedReason || "–" })))));
    } catch (e) {
      say("allocation: " + e.message);
    }
  }
  $("allocation-by").addEventListener("change", loadAllocation);
  $("allocation-month").addEventListener("change", loadAllocation);

  async function loadReconciliation() {
    try {
      const r = await api("GET", `reconciliation?from_unix_ms=${Date.now() - 30 * 86400e3}`);
      const drifting = r.rows.filter(row => row.status !== "matched").length;
      $("reconciliation-summary").textContent = `billed ${money(r.billedNanos)}, counted ${money(r.countedNanos)}; ` +
        `${count(drifting)} of ${count(r.rows.length)} provider, model and day rows past the ${r.driftBoundPercent}% bound or on one side only`;
      const drift = row => num(row.countedNanos) ? `${num(row.driftBasisPoints) >= 0 ? "+" : ""}${(num(row.driftBasisPoints) / 100).toFixed(2)}%` : "–";
      $("reconciliation-table").replaceChildren(heads(["Day", "Provider", "Model", "Billed", "Counted", "Difference", "Drift", "Status"]),
        h("tbody", {}, r.rows.length ? r.rows.map(row => h("tr", { "data-key": `${row.provider}/${row.model}/${when(row.dayUnixMs).slice(0, 10)}`, "data-status": row.status },
          h("td", { text: when(row.dayUnixMs).slice(0, 10) }), h("td", { text: row.provider }), h("td", { text: row.model }),
          cell("billed", row.billedNanos), cell("counted", row.countedNanos), cell("difference", row.differenceNanos),
          h("td", { class: "r" + (row.status === "matched" ? "" : " drift"), "data-field": "drift", "data-value": num(row.driftBasisPoints), text: drift(row) }),
          h("td", { "data-field": "status", class: row.status === "matched" ? "" : "drift", text: row.status.replace("_", " ") })))
          : [h("tr", {}, h("td", { colspan: "8", text: "No bills imported and no commits in the last 30 days." }))]));
      const perMillion = nanos => money(num(nanos) * 1e6);
      $("reconciliation-corrections").replaceChildren(...r.corrections.map(c => h("li", { "data-model": c.model },
        `Suggested price for ${c.model} (${c.provider}): input ${perMillion(c.current.inputNanosPerToken)} → ${perMillion(c.suggested.inputNanosPerToken)}, ` +
        `output ${perMillion(c.current.outputNanosPerToken)} → ${perMillion(c.suggested.outputNanosPerToken)} per 1M tokens (apply with budgetctl prices set)`)));
    } catch (e) {
      say("reconciliation: " + e.message);
    }
  }

  // ---- Live ---------------------------------------------------------------------------------------------------
  async function loadLive() {
    try {
      const r = await api("GET", "reports/live");
      const last = a => a[a.length - 2] ?? 0;   // the last complete second
      const set = (id, v, text) => { const e = $(id); e.dataset.value = v; e.textContent = text; };
      set("live-admitted", last(r.admittedPerSecond), count(last(r.admittedPerSecond)));
      set("live-denied", last(r.deniedPerSecond), count(last(r.deniedPerSecond)));
      set("live-admitted-total", r.admittedTotal, count(r.admittedTotal));
      set("live-denied-total", r.deniedTotal, count(r.deniedTotal));
      const spend = r.spendNanosPerMinute[r.spendNanosPerMinute.length - 1];
      $("live-spend").dataset.nanos = spend;
      $("live-spend").textContent = money(spend);
      Charts.bars($("live-rate-chart"), [{ name: "admitted", color: "#1f6f3f", values: r.admittedPerSecond }, { name: "denied", color: "#b3261e", values: r.deniedPerSecond }],
        "Admissions and denials per second", count);
      Charts.bars($("live-spend-chart"), [{ name: "spend", color: "#0b5cad", values: r.spendNanosPerMinute }], "Spend per minute", money);
    } catch (e) {
      say("live: " + e.message);
    }
  }

  // ---- Meters: the catalog ------------------------------------------------------------------------------------
  async function loadMeters() {
    try {
      const meters = [];
      let token = "";
      do {
        const page = await api("GET", `meters?page_size=1000${token ? "&page_token=" + encodeURIComponent(token) : ""}`);
        meters.push(...page.meters);
        token = page.nextPageToken;
      } while (token);
      // A price per N units reads as it is listed: "$0.02 per 1,000,000 token".
      const per = m => num(m.perUnits) === 1 ? m.unit : `${count(m.perUnits)} ${m.unit}`;
      $("meter-table").replaceChildren(h("thead", {}, h("tr", {}, ["Meter", "Unit", "Price", "As of"].map(t => h("th", { scope: "col", text: t })))),
        h("tbody", {}, meters.length === 0 ? h("tr", {}, h("td", { colspan: 4, text: "no meters: set them with budgetctl meters set" })) :
          meters.map(m => h("tr", { "data-key": m.name }, h("td", { text: m.name }), h("td", { text: m.unit }),
            h("td", { class: "r", "data-field": "price", "data-nanos": num(m.priceNanos), "data-per": num(m.perUnits), text: `${money(m.priceNanos)} per ${per(m)}` }),
            h("td", { text: m.asOf })))));
    } catch (e) {
      say("meters: " + e.message);
    }
  }

  // The top of the budget tree comes first (its two requests are preloaded by the page's head); the other views start
  // once it is drawn, so that on a busy silo they do not compete with it.
  let othersStarted = false;
  function startOtherViews() {
    if (othersStarted) return;
    othersStarted = true;
    loadLive();
    loadSpend();
    loadOutcomes();
    loadJobs();
    loadAlerts();
    loadAllocation();
    loadReconciliation();
    loadMeters();
    setInterval(loadLive, 1000);
    setInterval(() => { loadSpend(); loadOutcomes(); loadJobs(); loadAlerts(); loadAllocation(); loadReconciliation(); loadMeters(); if (state.budgets.size <= 2000) loadBudgets(); if (state.selected) showDetail(state.selected, false); }, 15000);
  }
  loadBudgets();
})();
