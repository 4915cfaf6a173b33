// Small SVG charts for the dashboard: no library, no network. Each function replaces the content of a container.
"use strict";
const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#0b5cad", "#1f6f3f", "#b35c00", "#6f42c1", "#b3261e", "#00798c", "#8a5a00", "#c2185b", "#5f6b7a"];
  function svg(width, height, label) {
    const s = document.createElementNS(NS, "svg");
    s.setAttribute("viewBox", `0 0 ${width} ${height}`);
    s.setAttribute("preserveAspectRatio", "none");
    s.setAttribute("role", "img");
    s.setAttribute("aria-label", label);
    return s;
  }
  function el(name, attrs, title) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (title) { const t = document.createElementNS(NS, "title"); t.textContent = title; e.appendChild(t); }
    return e;
  }
  // Stacked bars: series = [{name, values: [..]}], one bar per index; labels = x labels.
  function stacked(container, labels, series, label, format) {
    const W = 900, H = 260, pad = 4, n = labels.length;
    const totals = labels.map((_, i) => series.reduce((a, s) => a + (s.values[i] || 0), 0));
    const max = Math.max(1, ...totals);
    const s = svg(W, H, label);
    const bw = W / Math.max(1, n);
    labels.forEach((day, i) => {
      let y = H;
      series.forEach((ser, k) => {
        const v = ser.values[i] || 0;
        if (v <= 0) return;
        const h = (v / max) * (H - pad);
        y -= h;
        s.appendChild(el("rect", { x: i * bw + 1, y, width: Math.max(1, bw - 2), height: h, fill: PALETTE[k % PALETTE.length],
          "data-series": ser.name, "data-day": day, "data-nanos": v }, `${day} ${ser.name}: ${format(v)}`));
      });
    });
    container.replaceChildren(s);
  }
  // One series of bars; or two mirrored about a middle line, the first above and the second below (admissions and
  // denials), so that they differ by position and not by colour alone.
  function bars(container, series, label, format) {
    const W = 900, H = 140, n = Math.max(...series.map(s => s.values.length)), mirrored = series.length === 2;
    const max = Math.max(1, ...series.flatMap(s => s.values));
    const base = mirrored ? H / 2 : H, room = mirrored ? H / 2 - 2 : H - 4;
    const s = svg(W, H, label);
    const bw = W / Math.max(1, n);
    series.forEach((ser, k) => ser.values.forEach((v, i) => {
      if (v <= 0) return;
      const h = (v / max) * room;
      s.appendChild(el("rect", { x: i * bw, y: k === 0 ? base - h : base, width: Math.max(1, bw - 0.5), height: h, fill: ser.color }, `${ser.name}: ${format(v)}`));
    }));
    s.appendChild(el("line", { x1: 0, y1: base - 0.5, x2: W, y2: base - 0.5, stroke: "#6e7781" }));
    container.replaceChildren(s);
  }
  // Events on a time line (alerts): [{t, color, title}] between from and to.
  function timeline(container, events, from, to, label) {
    const W = 900, H = 60;
    const s = svg(W, H, label);
    s.appendChild(el("line", { x1: 0, y1: H / 2, x2: W, y2: H / 2, stroke: "#d0d7de" }));
    const span = Math.max(1, to - from);
    for (const e of events) s.appendChild(el("circle", { cx: ((e.t - from) / span) * (W - 10) + 5, cy: H / 2, r: 6, fill: e.color }, e.title));
    container.replaceChildren(s);
  }
  return { stacked, bars, timeline, PALETTE };
})();
