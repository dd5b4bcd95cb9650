/* page.js - the script of sca's HTML report, inlined into every page
 * (report_html_head, src/report/report_html.c; the markup it reads is
 * described there and in include/scalpels/report.h).  Once the document is
 * parsed it draws each figure.chart with dygraphs, zooms the charts
 * together, and filters the log tables.  Names and units come from the
 * page as text (textContent, dataset) and are escaped before dygraphs,
 * which takes labels and legends as HTML, sees them. */
document.addEventListener('DOMContentLoaded', function () {
  'use strict';
  var body = document.body, base = +body.dataset.base * 1000, tz = +body.dataset.tz * 1000;
  var sizes = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; });
  }
  function figure(x, digits) {
    var a = Math.abs(x);
    if (a < 1e15 && x === Math.floor(x)) return x.toFixed(0);
    if (a < 1e-3 || a >= 1e15) return x.toExponential(2).replace(/\.?0+e/, 'e');
    var m = Math.floor(Math.log10(a)), d = Math.max(0, digits - 1 - m);
    var s = x.toFixed(d);
    return s.indexOf('.') < 0 ? s : s.replace(/\.?0+$/, '');
  }
  /* As report_format_value: kB scaled by 1024 to MB, GB..., % glued,
     s/ms/us to the unit that keeps the figure at least 1. */
  function fmt(x, unit, digits) {
    digits = digits || 3;
    if (!unit || unit === 'count' || !isFinite(x)) return figure(x, digits);
    if (unit === '%') return figure(x, digits) + '%';
    var m = /^([kMGTPE]?)B(\/s)?$/.exec(unit), p, rest;
    if (unit === 'byte/s') { p = 0; rest = '/s'; }
    else if (m) { p = sizes.indexOf(m[1]); rest = m[2] || ''; }
    if (p !== undefined) {
      while (Math.abs(x) >= 1024 && p + 1 < sizes.length) { x /= 1024; p++; }
      return figure(x, digits) + ' ' + sizes[p] + 'B' + rest;
    }
    var secs = {s: 1, ms: 1e-3, us: 1e-6}[unit];
    if (secs) {
      x *= secs;
      var shown = 's';
      if (x !== 0 && Math.abs(x) < 1e-3) { x *= 1e6; shown = 'us'; }
      else if (x !== 0 && Math.abs(x) < 1) { x *= 1e3; shown = 'ms'; }
      return figure(x, digits) + ' ' + shown;
    }
    return figure(x, digits) + ' ' + unit;
  }
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  /* Times of day.  The charts' Dates hold the page maker's local time as
     if it were UTC (data-tz), so that they read as the rest of the page. */
  function clock(ms, decimals) {
    var d = new Date(ms);
    var s = pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds());
    return decimals ? s + '.' + String(1000 + d.getUTCMilliseconds()).slice(1, 1 + decimals) : s;
  }
  function tick(d, gran) {
    var G = Dygraph.Granularity;
    if (gran >= G.DAILY)
      return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate());
    return clock(d.getTime(), gran >= G.SECONDLY ? 0 : gran >= G.HUNDRED_MILLISECONDLY ? 1 : 3);
  }
  /* Lines of [[t...], [v...]] as dygraphs' rows: every time any line has,
     null where a line has none. */
  function rows(lines) {
    var at = lines.map(function () { return 0; }), out = [];
    for (;;) {
      var t = Infinity;
      lines.forEach(function (l, i) { if (at[i] < l[0].length) t = Math.min(t, l[0][at[i]]); });
      if (t === Infinity) return out;
      var row = [new Date(base + tz + t)];
      lines.forEach(function (l, i) {
        if (at[i] < l[0].length && l[0][at[i]] === t) row.push(l[1][at[i]++]);
        else row.push(null);
      });
      out.push(row);
    }
  }
  /* data-charts and data-drawn count the charts and those drawn, and
     data-first-chart-ms says when the first was (performance.now()): for
     tests and benchmarks. */
  var figures = document.querySelectorAll('figure.chart'), graphs = [], drawn = 0;
  body.dataset.charts = figures.length;
  body.dataset.drawn = 0;
  figures.forEach(function (fig) {
    var lines = JSON.parse(fig.querySelector('script.points').textContent);
    var names = Array.prototype.map.call(fig.querySelectorAll('ol.lines li'),
                                         function (li) { return li.textContent; });
    var unit = fig.dataset.unit, data = rows(lines), npoints = 0;
    lines.forEach(function (l) { npoints += l[0].length; });
    graphs.push(new Dygraph(fig.querySelector('div.plot'), data, {
      labels: ['time'].concat(names.map(function (n, i) { return 's' + i; })),
      labelsUTC: true, connectSeparatedPoints: true, strokeWidth: 1.2,
      drawPoints: npoints < 60 * lines.length, labelsShowZeroValues: true,
      legend: 'always', labelsDiv: fig.querySelector('div.legend'),
      legendFormatter: function (d) {
        var html = d.x === undefined ? '' : '<b>' + clock(d.x, d.x % 1000 ? 3 : 0) + '</b> ';
        d.series.forEach(function (s, i) {
          var v = d.x !== undefined && typeof s.y === 'number' ? ': ' + esc(fmt(s.y, unit)) : '';
          html += '<span><b style="color:' + s.color + '">&#9632;</b> ' + esc(names[i]) + v +
                  '</span>';
        });
        return html;
      },
      axes: {
        x: {axisLabelWidth: 100, pixelsPerLabel: 110, axisLabelFormatter: tick},
        y: {axisLabelWidth: 80,
            axisLabelFormatter: function (v, gran, opts, g) {
              /* Enough digits that neighbouring ticks read apart. */
              var r = g.yAxisRange(), step = Math.abs(r[1] - r[0]) / 5;
              var top = Math.max(Math.abs(r[0]), Math.abs(r[1]));
              var digits = step > 0 && top > 0 ? Math.ceil(Math.log10(top / step)) + 1 : 3;
              return esc(fmt(v, unit, Math.max(3, digits)));
            }}
      },
      drawCallback: function (g, initial) {
        if (!initial) return;
        if (++drawn === 1) body.dataset.firstChartMs = Math.round(performance.now());
        body.dataset.drawn = drawn;
      }
    }));
  });
  if (graphs.length > 1) Dygraph.synchronize(graphs, {zoom: true, selection: true, range: false});
  window.scaCharts = graphs; /* for tests and for the curious, from the console */
  document.querySelectorAll('input.filter').forEach(function (input) {
    var table = document.getElementById(input.dataset.table);
    input.addEventListener('input', function () {
      var q = input.value.toLowerCase();
      table.querySelectorAll('tr.line').forEach(function (tr) {
        tr.hidden = q !== '' && tr.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  });
});
