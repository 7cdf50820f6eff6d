// The console's only script: draws the dashboard's charts from the KPI API's JSON, which the
// page embeds in <script type="application/json" id="kpi-<table>"> blocks (no inline script:
// the Content-Security-Policy allows none). Each chart shows the rows as the API gave them.
"use strict";

(function () {
  if (typeof Chart === "undefined") {
    return;
  }
  const RATES = [
    ["split_orders", "split"],
    ["backordered_orders", "backorder"],
    ["held_orders", "hold"],
    ["cancelled_orders", "cancellation"],
    ["returned_orders", "return"],
  ];

  function data(id) {
    const block = document.getElementById(id);
    return block ? JSON.parse(block.textContent) : { rows: [] };
  }

  function unique(values) {
    return Array.from(new Set(values)).sort();
  }

  // One series per key over the periods: value(rows of that period and key).
  function series(rows, keyOf, valueOf) {
    const periods = unique(rows.map((r) => r.period_start));
    const keys = unique(rows.map(keyOf));
    const datasets = keys.map((key) => ({
      label: key,
      data: periods.map((p) => valueOf(rows.filter((r) => r.period_start === p && keyOf(r) === key))),
    }));
    return { labels: periods, datasets: datasets };
  }

  function sum(rows, field) {
    return rows.reduce((total, r) => total + Number(r[field] || 0), 0);
  }

  function byKey(rows, keyOf, field) {
    const keys = unique(rows.map(keyOf));
    return {
      labels: keys,
      datasets: [{ label: field, data: keys.map((k) => sum(rows.filter((r) => keyOf(r) === k), field)) }],
    };
  }

  const BUILD = {
    "orders-by-channel": (rows) => ["bar", series(rows, (r) => r.channel, (rs) => sum(rs, "orders_placed"))],
    "revenue-by-channel": (rows) => [
      "bar",
      series(rows, (r) => r.channel + " " + r.currency, (rs) => sum(rs, "revenue")),
    ],
    rates: (rows) => {
      const periods = unique(rows.map((r) => r.period_start));
      return [
        "line",
        {
          labels: periods,
          datasets: RATES.map(([field, label]) => ({
            label: label,
            data: periods.map((p) => {
              const rs = rows.filter((r) => r.period_start === p);
              const placed = sum(rs, "orders_placed");
              return placed ? Math.round((sum(rs, field) / placed) * 10000) / 10000 : null;
            }),
          })),
        },
      ];
    },
    "lead-times": (rows) => {
      const periods = unique(rows.map((r) => r.period_start));
      const channels = unique(rows.map((r) => r.channel));
      const datasets = [];
      for (const channel of channels) {
        for (const field of ["order_to_ship_p50_s", "order_to_ship_p90_s", "order_to_delivery_p50_s", "order_to_delivery_p90_s"]) {
          datasets.push({
            label: channel + " " + field.replace(/_s$/, "").replace(/_/g, " "),
            data: periods.map((p) => {
              const row = rows.find((r) => r.period_start === p && r.channel === channel);
              return row && row[field] !== null ? Math.round((row[field] / 3600) * 100) / 100 : null;
            }),
          });
        }
      }
      return ["line", { labels: periods, datasets: datasets }];
    },
    "holds-by-reason": (rows) => ["bar", byKey(rows, (r) => r.reason, "held_orders")],
    "returns-by-reason": (rows) => ["bar", byKey(rows, (r) => r.reason, "returned_units")],
    "location-share": (rows) => [
      "doughnut",
      { labels: rows.map((r) => r.location), datasets: [{ label: "share", data: rows.map((r) => r.share) }] },
    ],
  };

  // A period's start as a shorter tick: the day, or the day and hour (the data keep the API's
  // own period_start).
  function tick(value) {
    const label = String(this.getLabelForValue(value));
    return label.replace(/T00:00:00(\.0+)?(Z|\+00:00)$/, "").replace(/:00(\.0+)?(Z|\+00:00)$/, "").replace("T", " ");
  }

  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    const build = BUILD[canvas.dataset.chart];
    if (!build) {
      continue;
    }
    const [type, chartData] = build(data(canvas.dataset.source).rows || []);
    const options = { animation: false, responsive: true, maintainAspectRatio: true, aspectRatio: 2 };
    if (type !== "doughnut") {
      options.scales = { x: { ticks: { callback: tick } }, y: { beginAtZero: true } };
      options.elements = { point: { radius: 4 } };
    }
    new Chart(canvas, { type: type, data: chartData, options: options });
  }
})();
