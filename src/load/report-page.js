// The report page's script, inlined into the HTML after uPlot: draws every chart from the JSON data tag. Plain JS, no imports.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  // 1/(1−p) → "99.9%": the labels HdrHistogram's plotter puts on its log axis.
  function pctLabel(x) {
    var p = 100 * (1 - 1 / x);
    if (x < 1.5) return "0%";
    var digits = Math.max(0, Math.round(Math.log10(x)) - 2);
    return p.toFixed(digits) + "%";
  }
  function num(v) {
    if (v == null) return "–";
    var a = Math.abs(v);
    return a >= 1e6 ? (v / 1e6).toFixed(2) + "M" : a >= 1e4 ? (v / 1e3).toFixed(1) + "k" : a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
  }
  // One tick per decade of 1/(1−p): 0%, 90%, 99%, 99.9%, …
  function decades(u, axisIdx, min, max) {
    var out = [];
    for (var x = 1; x <= max * 1.0001; x *= 10) if (x >= min / 1.0001) out.push(x);
    return out;
  }
  var drawn = 0;
  data.charts.forEach(function (c) {
    var box = document.getElementById("chart-" + c.id);
    var width = Math.max(400, box.clientWidth || 1000);
    var percentile = c.x === "percentile";
    var series = [{ label: percentile ? "percentile" : "s", value: function (u, v) { return v == null ? "–" : percentile ? pctLabel(v) : v.toFixed(v % 1 ? 3 : 0) + " s"; } }];
    c.series.forEach(function (s) {
      series.push({ label: s.label, stroke: s.color, width: 1.5, dash: s.dash, scale: s.scale, spanGaps: true, points: { show: false }, value: function (u, v) { return num(v); } });
    });
    var axes = [
      percentile
        ? { label: "percentile (log scale of 1/(1−p))", splits: decades, values: function (u, vals) { return vals.map(pctLabel); } }
        : { label: "seconds after sending started" },
      { label: c.yLabel, scale: "y", size: 60, values: function (u, vals) { return vals.map(num); } },
    ];
    var scales = { x: percentile ? { time: false, distr: 3, log: 10 } : { time: false }, y: { range: function (u, min, max) { return [Math.min(0, min), max > 0 ? max * 1.05 : 1]; } } };
    if (c.y2Label) {
      axes.push({ label: c.y2Label, scale: "y2", side: 1, size: 60, grid: { show: false }, values: function (u, vals) { return vals.map(num); } });
      scales.y2 = { range: function (u, min, max) { return [Math.min(0, min), max > 0 ? max * 1.05 : 1]; } };
    }
    new uPlot({ title: c.title, width: width, height: 320, series: series, axes: axes, scales: scales, legend: { live: true } }, c.data, box);
    drawn++;
  });
  document.body.setAttribute("data-charts-drawn", String(drawn));
})();
