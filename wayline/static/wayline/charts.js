"use strict";
// Draws every <canvas data-chart="json-id"> from the JSON spec in <script id="json-id">.
// Spec: {type: "bar"|"line"|"interval", labels: [...], datasets: [{label, data}], percent: bool,
//        title: "...", stacked: bool}. "interval" draws horizontal confidence intervals:
// datasets[0].data = [[low, high], ...] and datasets[1] (optional) = point estimates.
(function () {
  const palette = ["#4f46e5", "#0f766e", "#b45309", "#be123c", "#475569", "#7c3aed", "#15803d"];

  function tick(percent) {
    return function (value) { return percent ? (Math.round(value * 1000) / 10) + "%" : value; };
  }

  function intervalChart(canvas, spec) {
    const datasets = [{
      type: "bar",
      label: spec.datasets[0].label || "95% CI",
      data: spec.datasets[0].data,
      backgroundColor: "rgba(79, 70, 229, 0.35)",
      borderColor: "#4f46e5",
      borderWidth: 1,
      barThickness: 14,
    }];
    if (spec.datasets[1]) {
      datasets.push({
        type: "scatter",
        label: spec.datasets[1].label || "Estimate",
        data: spec.datasets[1].data.map(function (x, i) { return { x: x, y: spec.labels[i] }; }),
        backgroundColor: "#111827",
        pointRadius: 5,
      });
    }
    return new Chart(canvas, {
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: "y",
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { x: { ticks: { callback: tick(spec.percent) }, title: { display: !!spec.axis, text: spec.axis } } },
        plugins: { legend: { display: true } },
      },
    });
  }

  function plainChart(canvas, spec) {
    const datasets = spec.datasets.map(function (dataset, index) {
      const colour = dataset.color || palette[index % palette.length];
      return Object.assign({ backgroundColor: colour, borderColor: colour, fill: false, tension: 0, stepped: dataset.stepped || false }, dataset);
    });
    return new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: spec.horizontal ? "y" : "x",
        scales: {
          x: { stacked: !!spec.stacked, title: { display: !!spec.xAxis, text: spec.xAxis } },
          y: { stacked: !!spec.stacked, ticks: { callback: tick(spec.percent) }, title: { display: !!spec.yAxis, text: spec.yAxis } },
        },
        plugins: { legend: { display: datasets.length > 1 } },
      },
    });
  }

  function draw() {
    if (typeof Chart === "undefined") return;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      const source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      const spec = JSON.parse(source.textContent);
      if (!spec.labels || spec.labels.length === 0) return;
      canvas.setAttribute("role", "img");
      if (!canvas.getAttribute("aria-label")) canvas.setAttribute("aria-label", spec.title || "Chart; the table beside it has the same numbers.");
      if (spec.type === "interval") intervalChart(canvas, spec); else plainChart(canvas, spec);
      canvas.dataset.drawn = "true";
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
