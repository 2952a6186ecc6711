// The cost panel: polls /dashboard/cost every few seconds (an hour's cost moves slowly) and
// draws spend per AWS-clock hour as stacked bars, On-Demand / Spot / Savings Plans (Cost
// Explorer's AmortizedCost by purchase type), with a marker for what the hour would have cost
// all On-Demand, and the window's totals. The login and its 401 are dashboard.js's business:
// this script just waits for the next poll.
"use strict";

(() => {
  const COST_POLL_MS = 5000;
  const SERIES = [
    ["on_demand", "On-Demand", "#2f6690"],
    ["spot", "Spot", "#2e7d32"],
    ["savings_plans", "Savings Plans", "#b26a00"],
  ];
  const ALL_ON_DEMAND = "#b3261e";

  function esc(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function dollars(value) {
    const amount = Number(value);
    return amount >= 1 ? `$${amount.toFixed(2)}` : `$${amount.toFixed(4)}`;
  }

  function bars(hours) {
    const width = 720, height = 160, left = 56, bottom = 22, top = 8;
    const top_value = Math.max(1e-9, ...hours.map((h) => Math.max(Number(h.total), Number(h.all_on_demand))));
    const slot = (width - left) / hours.length;
    const y = (value) => top + (height - top - bottom) * (1 - value / top_value);
    let svg = `<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="cost per hour">`;
    svg += `<text x="${left - 6}" y="${y(top_value) + 4}" text-anchor="end" font-size="11">${esc(dollars(top_value))}</text>`;
    svg += `<text x="${left - 6}" y="${y(0)}" text-anchor="end" font-size="11">$0</text>`;
    svg += `<line x1="${left}" x2="${width}" y1="${y(0)}" y2="${y(0)}" stroke="#e4dcd0"/>`;
    hours.forEach((hour, index) => {
      const x = left + index * slot + slot * 0.15;
      const w = slot * 0.7;
      let base = 0;
      for (const [key, label, color] of SERIES) {
        const value = Number(hour[key]);
        if (value > 0) {
          svg += `<rect data-series="${key}" x="${x}" y="${y(base + value)}" width="${w}" height="${y(base) - y(base + value)}" fill="${color}"><title>${esc(hour.start)} ${label}: ${esc(dollars(value))}</title></rect>`;
        }
        base += value;
      }
      const all = Number(hour.all_on_demand);
      if (all > 0) {
        svg += `<line data-series="all_on_demand" x1="${x - 2}" x2="${x + w + 2}" y1="${y(all)}" y2="${y(all)}" stroke="${ALL_ON_DEMAND}" stroke-width="2" stroke-dasharray="4 2"><title>${esc(hour.start)} all On-Demand: ${esc(dollars(all))}</title></line>`;
      }
      if (index % 2 === 0) {
        svg += `<text x="${x + w / 2}" y="${height - 6}" text-anchor="middle" font-size="11">${esc(hour.start.slice(11, 16))}</text>`;
      }
    });
    return svg + "</svg>";
  }

  function legend() {
    const items = SERIES.map(([, label, color]) => `<span><span style="display:inline-block;width:10px;height:10px;background:${color}"></span> ${label}</span>`);
    items.push(`<span><span style="display:inline-block;width:12px;border-top:2px dashed ${ALL_ON_DEMAND}"></span> had it all been On-Demand</span>`);
    return `<div class="note" style="display:flex;gap:1rem;flex-wrap:wrap">${items.join("")}</div>`;
  }

  function render(answer) {
    const totals = answer.totals;
    const saved = Number(totals.all_on_demand) - Number(totals.total);
    const figures = [
      ["spent", totals.total],
      ["On-Demand", totals.on_demand],
      ["Spot", totals.spot],
      ["Savings Plans", totals.savings_plans],
      ["all On-Demand", totals.all_on_demand],
    ].map(([label, value]) => `<div class="figure" data-total="${esc(label)}"><div class="value">${esc(dollars(value))}</div><div class="label">${esc(label)}</div></div>`);
    const plans = answer.plans.length ? `Savings Plans: ${answer.plans.map(esc).join(", ")}.` : "No Savings Plan declared (BARISTA_SAVINGS_PLANS).";
    document.getElementById("cost").innerHTML =
      `<div class="figures">${figures.join("")}</div>` +
      bars(answer.hours) + legend() +
      `<p class="note">Last ${answer.hours.length} hours, amortized as Cost Explorer's AmortizedCost: ${saved >= 0 ? "saved" : "paid over"} ${esc(dollars(Math.abs(saved)))} against all On-Demand. ${plans}</p>`;
    document.getElementById("cost-panel").dataset.updated = String(answer.now);
  }

  async function refreshCost() {
    if (document.body.dataset.session === "out") return;
    try {
      const response = await fetch("/dashboard/cost", { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) return;
      render(await response.json());
    } catch (error) {
      document.getElementById("cost").innerHTML = `<p class="note">n/a: ${esc(error.message)}</p>`;
    }
  }

  refreshCost();
  setInterval(refreshCost, COST_POLL_MS);
})();
