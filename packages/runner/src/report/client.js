// The report's browser script (inlined in report.html; plain ES2017, no build step).
// - Chart area: the statistic, x parameter and y scale selectors pick one of the prebuilt
//   Vega-Lite specs (data.charts.charts["stat|x|scale"]), drawn with vega-embed (SVG, tooltips).
// - Candidate toggles (#candidates, one row for the whole page): a box, or a click on a legend
//   entry, shows or hides a candidate in every chart (their `visible` parameter) and in the
//   tables (rows carry data-series).
// - Sortable results table: a click on a header sorts by its column (cells carry data-sort,
//   "n:<number>" or "s:<text>"; empty cells last), another click reverses.
// - CSV buttons: download data.csv[i] through a Blob.
// window.gfraReport = { ready, idle(), views, state() } (used by tests).
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('gfra-data').textContent);
  var views = {};
  var $ = function (id) { return document.getElementById(id); };
  var all = function (root, selector) { return Array.prototype.slice.call(root.querySelectorAll(selector)); };

  // --- candidate toggles --------------------------------------------------------------------
  var toggleBox = $('candidates');
  function boxes() { return all(toggleBox, 'input[type=checkbox]'); }
  function visible() { return boxes().filter(function (i) { return i.checked; }).map(function (i) { return i.value; }); }

  function applyVisibility() {
    var shown = visible();
    var set = {};
    shown.forEach(function (s) { set[s] = true; });
    var hidden = 0;
    all(document, 'tr[data-series]').forEach(function (tr) {
      tr.hidden = !set[tr.getAttribute('data-series')];
      if (tr.hidden && tr.closest('table.results')) hidden += 1;
    });
    var note = $('hidden-rows');
    if (note) note.textContent = hidden > 0 ? hidden + ' row' + (hidden === 1 ? ' is' : 's are') + ' hidden by the candidate toggles.' : '';
    return Promise.all(Object.keys(views).map(function (k) { return views[k].signal('visible', shown).runAsync(); }));
  }

  boxes().forEach(function (input) { input.addEventListener('change', applyVisibility); });
  all(toggleBox, 'button[data-all]').forEach(function (b) {
    b.addEventListener('click', function () {
      boxes().forEach(function (i) { i.checked = b.getAttribute('data-all') === '1'; });
      applyVisibility();
    });
  });

  function legendValue(item) {
    for (var it = item; it; it = it.mark && it.mark.group) {
      var role = it.mark && it.mark.role;
      if (typeof role === 'string' && role.indexOf('legend') === 0 && it.datum && 'value' in it.datum) return String(it.datum.value);
    }
    return null;
  }

  function onLegendClick(view) {
    view.addEventListener('click', function (event, item) {
      var value = legendValue(item);
      var input = boxes().filter(function (i) { return i.value === value; })[0];
      if (!input) return;
      input.checked = !input.checked;
      applyVisibility();
    });
  }

  function embed(el, spec) {
    return vegaEmbed(el, spec, {
      renderer: 'svg',
      actions: { export: true, source: false, compiled: false, editor: false },
    }).then(function (result) {
      onLegendClick(result.view);
      return result.view;
    });
  }

  function withVisible(spec) {
    spec.params = (spec.params || []).map(function (p) { return p.name === 'visible' ? { name: 'visible', value: visible() } : p; });
    return spec;
  }

  // --- chart area ------------------------------------------------------------------------------
  var statSelect = $('stat-select');
  var xSelect = $('x-select');
  var scaleSelect = $('scale-select');
  var metricEl = $('metric-chart');
  var figure = $('metric-figure');

  function state() {
    if (!statSelect) return null;
    var stat = data.charts.statistics.filter(function (s) { return s.name === statSelect.value; })[0];
    var scale = scaleSelect.value === 'auto' ? stat.scale : scaleSelect.value;
    return { statistic: stat.name, x: xSelect.value, scale: scale };
  }

  var queue = Promise.resolve();
  function drawMetric() {
    queue = queue.then(function () {
      if (views.metric) {
        views.metric.finalize();
        delete views.metric;
      }
      metricEl.innerHTML = '';
      var s = state();
      figure.setAttribute('data-statistic', s.statistic);
      figure.setAttribute('data-x', s.x);
      figure.setAttribute('data-scale', s.scale);
      var chart = data.charts.charts[s.statistic + '|' + s.x + '|' + s.scale];
      if (!chart) {
        metricEl.innerHTML = '<p class="note">Nothing to draw: no values of ' + s.statistic + ' against ' + s.x + (s.scale === 'log' ? ' that a log axis can show' : '') + '.</p>';
        return undefined;
      }
      var spec = JSON.parse(JSON.stringify(chart.spec));
      spec.data = { name: spec.data.name, values: data.charts.data[chart.data] };
      return embed(metricEl, withVisible(spec)).then(function (view) { views.metric = view; });
    }).catch(function (err) {
      metricEl.innerHTML = '<p class="error">This chart could not be drawn: ' + String((err && err.message) || err) + '</p>';
      console.error('gfra report:', err);
    });
    return queue;
  }

  var draws = [];
  if (statSelect) {
    [statSelect, xSelect, scaleSelect].forEach(function (s) { s.addEventListener('change', drawMetric); });
    draws.push(drawMetric());
  }
  if (data.training) {
    var trainingEl = $('training-chart');
    draws.push(embed(trainingEl, withVisible(data.training)).then(function (view) { views.training = view; }).catch(function (err) {
      trainingEl.innerHTML = '<p class="error">This chart could not be drawn: ' + String((err && err.message) || err) + '</p>';
      throw err;
    }));
  }

  // --- sortable table --------------------------------------------------------------------------
  function sortKey(td) {
    var k = td && td.getAttribute('data-sort');
    if (k === null || k === undefined) return null;
    return k.charAt(0) === 'n' ? Number(k.slice(2)) : k.slice(2);
  }

  function compareKeys(a, b) {
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    if (typeof a === 'number') return -1;
    if (typeof b === 'number') return 1;
    return a.localeCompare(b, undefined, { numeric: true });
  }

  all(document, 'table.sortable').forEach(function (table) {
    var body = table.tBodies[0];
    Array.prototype.forEach.call(body.rows, function (tr, i) { tr.setAttribute('data-index', String(i)); });
    all(table, 'th[data-col]').forEach(function (th) {
      th.addEventListener('click', function () {
        var col = Number(th.getAttribute('data-col'));
        var dir = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
        all(table, 'th[aria-sort]').forEach(function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', dir);
        var sign = dir === 'ascending' ? 1 : -1;
        var rows = Array.prototype.slice.call(body.rows).map(function (tr) {
          return { tr: tr, key: sortKey(tr.cells[col]), index: Number(tr.getAttribute('data-index')) };
        });
        rows.sort(function (a, b) {
          if (a.key === null || b.key === null) return a.key === b.key ? a.index - b.index : a.key === null ? 1 : -1;
          return sign * compareKeys(a.key, b.key) || a.index - b.index;
        });
        rows.forEach(function (r) { body.appendChild(r.tr); });
      });
    });
  });

  // --- CSV downloads ---------------------------------------------------------------------------
  all(document, 'button[data-csv]').forEach(function (button) {
    button.addEventListener('click', function () {
      var csv = data.csv[Number(button.getAttribute('data-csv'))];
      var url = URL.createObjectURL(new Blob([csv.text], { type: 'text/csv;charset=utf-8' }));
      var a = document.createElement('a');
      a.href = url;
      a.download = csv.file;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
    });
  });

  var ready = Promise.all(draws).then(function () { return undefined; });
  ready.catch(function (err) { console.error('gfra report:', err); });
  window.gfraReport = {
    ready: ready,
    idle: function () { return Promise.all([ready, queue]).then(function () { return undefined; }); },
    views: views,
    state: state,
  };
})();
