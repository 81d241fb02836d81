// PoolGate console, the usage page: draws each [data-usage-chart] with the vendored uPlot. The data
// is the attribute's JSON ({x: [seconds], series: [{label, color, values}]}); no inline script (CSP).
(function () {
  "use strict";
  function draw(box) {
    var data = JSON.parse(box.getAttribute("data-usage-chart"));
    var options = {
      width: Math.max(box.clientWidth, 280),
      height: 220,
      series: [{}].concat(data.series.map(function (s) {
        return { label: s.label, stroke: s.color, width: 2, fill: s.color + "14" };
      })),
      axes: [{}, { size: 60 }],
      scales: { y: { range: function (u, min, max) { return [0, Math.max(max, 1)]; } } },
    };
    var plot = new uPlot(options, [data.x].concat(data.series.map(function (s) { return s.values; })), box);
    window.addEventListener("resize", function () {
      plot.setSize({ width: Math.max(box.clientWidth, 280), height: 220 });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-usage-chart]").forEach(draw);
  });
})();
