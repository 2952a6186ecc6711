// Small SVG charts for the dashboard: time series as lines or steps, with an optional target.
// No library: a chart is one <svg> rebuilt from data on every update (a few hundred points).
"use strict";

const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const WIDTH = 560;
  const PAD = { left: 44, right: 10, top: 10, bottom: 22 };

  function el(name, attributes, text) {
    const node = document.createElementNS(NS, name);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function niceMax(value) {
    if (!(value > 0)) return 1;
    const magnitude = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 2.5, 5, 10]) {
      if (value <= step * magnitude) return step * magnitude;
    }
    return 10 * magnitude;
  }

  function clockLabel(seconds) {
    return new Date(seconds * 1000).toISOString().slice(11, 16);
  }

  function formatValue(value) {
    if (Number.isInteger(value) || Math.abs(value) >= 100) return value.toFixed(0);
    if (Math.abs(value) >= 10) return value.toFixed(1);
    return String(Math.round(value * 100) / 100);
  }

  // spec: {series: [{name, points: [[t, v]], color, step, dots}], target, xmin, xmax, height,
  //        empty, integer}; a dots series marks moments (a circle each) instead of a line.
  function render(container, spec) {
    const height = spec.height || 150;
    const svg = el("svg", {
      viewBox: `0 0 ${WIDTH} ${height}`,
      class: "chart",
      role: "img",
    });
    const points = spec.series.reduce((total, s) => total + s.points.length, 0);
    svg.dataset.points = String(points);
    const xmin = spec.xmin;
    const xmax = Math.max(spec.xmax, xmin + 1);
    // Only points inside [xmin, xmax] are drawn and scaled to: a forecast reaches days past the
    // window's right edge, and its later hours must neither pile up on that edge nor stretch
    // the axis (a step series holds its last value up to the edge instead).
    const inWindow = (s) => s.points.filter((p) => p[0] >= xmin - 1e-6 && p[0] <= xmax + 1e-6);
    const values = spec.series.flatMap((s) => inWindow(s).map((p) => p[1]));
    if (spec.target != null) values.push(spec.target);
    const highest = Math.max(0, ...values);
    // Counts (instances) get whole-number gridlines: 0, half, top, all integers.
    const ymax = spec.integer ? 2 * Math.max(1, Math.ceil(highest / 2)) : niceMax(highest * 1.1);
    const plotW = WIDTH - PAD.left - PAD.right;
    const plotH = height - PAD.top - PAD.bottom;
    const x = (t) => PAD.left + ((t - xmin) / (xmax - xmin)) * plotW;
    const y = (v) => PAD.top + plotH - (v / ymax) * plotH;

    for (const fraction of points === 0 ? [0] : [0, 0.5, 1]) {
      const value = ymax * fraction;
      svg.append(el("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value), class: "grid" }));
      svg.append(el("text", { x: PAD.left - 4, y: y(value) + 4, class: "axis", "text-anchor": "end" }, formatValue(value)));
    }
    svg.append(el("text", { x: PAD.left, y: height - 6, class: "axis" }, clockLabel(xmin)));
    svg.append(el("text", { x: WIDTH - PAD.right, y: height - 6, class: "axis", "text-anchor": "end" }, clockLabel(xmax)));

    if (spec.target != null) {
      svg.append(el("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(spec.target), y2: y(spec.target), class: "target" }));
      svg.append(el("text", { x: WIDTH - PAD.right - 2, y: y(spec.target) - 3, class: "axis target-label", "text-anchor": "end" }, `target ${formatValue(spec.target)}`));
    }
    spec.series.forEach((series, index) => {
      const visible = inWindow(series);
      if (visible.length === 0) return;
      if (series.dots) {
        for (const [t, v] of visible) svg.append(el("circle", { cx: x(t), cy: y(v), r: 3.5, class: `dot series-${index}` }));
        return;
      }
      let d = "";
      visible.forEach(([t, v], i) => {
        const px = x(t).toFixed(1);
        const py = y(v).toFixed(1);
        if (i === 0) d += `M${px},${py}`;
        else if (series.step) d += `H${px}V${py}`;
        else d += `L${px},${py}`;
      });
      if (series.step && series.points.some((p) => p[0] > xmax + 1e-6)) d += `H${x(xmax).toFixed(1)}`;
      svg.append(el("path", { d, class: `line series-${index}`, style: series.color ? `stroke:${series.color}` : "" }));
      if (visible.length <= 2 && !series.step) {
        for (const [t, v] of visible) svg.append(el("circle", { cx: x(t), cy: y(v), r: 2.5, class: `dot series-${index}` }));
      }
    });
    if (points === 0) {
      svg.append(el("text", { x: WIDTH / 2, y: height / 2, class: "empty", "text-anchor": "middle" }, spec.empty || "no datapoints yet"));
    }
    const legend = spec.series.length > 1 || spec.series.some((s) => s.name);
    container.replaceChildren(svg);
    if (legend) {
      const keys = document.createElement("div");
      keys.className = "legend";
      spec.series.forEach((series, index) => {
        const key = document.createElement("span");
        key.className = `key series-${index}`;
        key.textContent = series.name;
        keys.append(key);
      });
      container.append(keys);
    }
  }

  return { render, clockLabel, formatValue };
})();
