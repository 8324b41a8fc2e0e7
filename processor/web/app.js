// Clicktrail dashboard: fetches /api/v1/stats every few seconds and draws it.
// No dependencies: the chart is plain SVG.
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var tenant = params.get('tenant') || '';
  var key = params.get('key') || '';
  var refreshMs = Number(params.get('refresh') || 5000);
  // [interval, seconds]: the store keeps 6 hours by minute, 35 days by hour and 400
  // days by day, so ranges past 6 hours use whole hours and past 35 days whole days.
  var ranges = { '1h': ['1m', 3600], '24h': ['1h', 86400], '168h': ['6h', 604800],
    '720h': ['24h', 2592000], '2160h': ['24h', 7776000] };
  var rangeSel = document.getElementById('range');
  if (params.get('range') && ranges[params.get('range')]) rangeSel.value = params.get('range');
  document.getElementById('tenant').textContent = tenant;

  function $(id) { return document.getElementById(id); }
  function fmt(n) { return Number(n).toLocaleString('en-US'); }

  function load() {
    var r = ranges[rangeSel.value];
    var to = Math.ceil(Date.now() / 60000) * 60;
    var from = to - r[1];
    var url = 'api/v1/stats?tenant=' + encodeURIComponent(tenant) + '&from=' + from + '&to=' + to +
      '&interval=' + r[0] + '&limit=10';
    return fetch(url, { headers: { Authorization: 'Bearer ' + key }, cache: 'no-store' })
      .then(function (res) {
        if (!res.ok) return res.json().then(function (e) { throw new Error(e.error || res.statusText); });
        return res.json();
      })
      .then(function (s) {
        render(s, from, to);
        $('error').hidden = true;
        document.body.dataset.state = 'loaded';
      })
      .catch(function (err) {
        $('error').textContent = 'Cannot load the statistics: ' + err.message;
        $('error').hidden = false;
        document.body.dataset.state = 'error';
      });
  }

  function render(s, from, to) {
    document.body.dataset.from = from;
    document.body.dataset.to = to;
    document.body.dataset.interval = s.interval;
    $('live-visitors').textContent = fmt(s.liveVisitors);
    $('total-visitors').textContent = fmt(s.totals.visitors);
    $('total-pageviews').textContent = fmt(s.totals.pageviews);
    $('total-sessions').textContent = fmt(s.totals.sessions);
    $('bounce-rate').textContent = s.totals.sessionsEnded ? Math.round(s.totals.bounceRate * 100) + '%' : '–';
    $('avg-duration').textContent = s.totals.sessionsEnded ? duration(s.totals.avgSessionDurationMs) : '–';
    table('pages', s.pages); table('referrers', s.referrers); table('utm-sources', s.utmSources);
    table('devices', s.devices); table('browsers', s.browsers);
    chart(s.series || []);
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  }

  function duration(ms) {
    var sec = Math.round(ms / 1000);
    return Math.floor(sec / 60) + 'm ' + (sec % 60) + 's';
  }

  function table(id, rows) {
    var t = $(id);
    while (t.firstChild) t.removeChild(t.firstChild);
    (rows || []).forEach(function (row) {
      var tr = document.createElement('tr');
      tr.dataset.name = row.name;
      tr.dataset.count = row.count;
      var a = document.createElement('td'); a.textContent = row.name;
      var b = document.createElement('td'); b.textContent = fmt(row.count);
      tr.appendChild(a); tr.appendChild(b); t.appendChild(tr);
    });
    if (!rows || !rows.length) {
      var tr = document.createElement('tr'); var td = document.createElement('td');
      td.textContent = 'nothing yet'; tr.appendChild(td); t.appendChild(tr);
    }
  }

  var NS = 'http://www.w3.org/2000/svg';
  function el(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function chart(series) {
    var svg = $('chart');
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var W = 900, H = 240, L = 40, B = 20, T = 10;
    var top = 1;
    series.forEach(function (p) { top = Math.max(top, p.visitors, p.pageviews); });
    for (var i = 0; i <= 4; i++) {
      var y = T + (H - T - B) * i / 4;
      svg.appendChild(el('line', { 'class': 'grid', x1: L, x2: W, y1: y, y2: y }));
      svg.appendChild(el('text', { x: 2, y: y + 4 }, fmt(Math.round(top * (4 - i) / 4))));
    }
    function line(field) {
      if (!series.length) return;
      var pts = series.map(function (p, i) {
        var x = L + (W - L) * (series.length === 1 ? 0.5 : i / (series.length - 1));
        var y = T + (H - T - B) * (1 - p[field] / top);
        return x.toFixed(1) + ',' + y.toFixed(1);
      });
      svg.appendChild(el('polyline', { 'class': field, points: pts.join(' ') }));
    }
    line('visitors'); line('pageviews');
    if (series.length) {
      var first = new Date(series[0].start), last = new Date(series[series.length - 1].start);
      var label = last - first > 86400000 ? 'toLocaleDateString' : 'toLocaleTimeString';
      svg.appendChild(el('text', { x: L, y: H - 4 }, first[label]()));
      svg.appendChild(el('text', { x: W - 70, y: H - 4 }, last[label]()));
    }
  }

  rangeSel.addEventListener('change', load);
  load();
  setInterval(load, refreshMs);
})();
