// The report's browser script (inlined in report.html; plain ES2017, no build step).
// Embeds every chart with vega-embed (SVG renderer, hover tooltips), and wires the candidate
// toggles: the checkboxes above a chart, and clicks on its legend entries, set the chart's
// `visible` parameter, which filters the hidden series out of the data.
// window.gfraReport = { ready: Promise<void>, views: { [chartId]: vega.View } } (used by tests).
(function () {
  'use strict';
  var charts = JSON.parse(document.getElementById('gfra-charts').textContent);
  var views = {};

  function inputs(chartId) {
    var box = document.querySelector('[data-toggles-for="' + chartId + '"]');
    return box ? Array.prototype.slice.call(box.querySelectorAll('input[type=checkbox]')) : [];
  }

  function applyToggles(chartId) {
    var visible = inputs(chartId)
      .filter(function (i) { return i.checked; })
      .map(function (i) { return i.value; });
    return views[chartId].signal('visible', visible).runAsync();
  }

  function legendValue(item) {
    for (var it = item; it; it = it.mark && it.mark.group) {
      var role = it.mark && it.mark.role;
      if (typeof role === 'string' && role.indexOf('legend') === 0 && it.datum && 'value' in it.datum) return String(it.datum.value);
    }
    return null;
  }

  function embed(chart) {
    var el = document.getElementById(chart.id);
    return vegaEmbed(el, chart.spec, {
      renderer: 'svg',
      actions: { export: true, source: false, compiled: false, editor: false },
    }).then(function (result) {
      var view = result.view;
      views[chart.id] = view;
      inputs(chart.id).forEach(function (input) {
        input.addEventListener('change', function () { applyToggles(chart.id); });
      });
      view.addEventListener('click', function (event, item) {
        var value = legendValue(item);
        var input = inputs(chart.id).filter(function (i) { return i.value === value; })[0];
        if (!input) return;
        input.checked = !input.checked;
        applyToggles(chart.id);
      });
    }).catch(function (err) {
      el.innerHTML = '<p class="error">This chart could not be drawn: ' + String(err && err.message || err) + '</p>';
      throw err;
    });
  }

  var ready = Promise.all(charts.map(embed)).then(function () { return undefined; });
  ready.catch(function (err) { console.error('gfra report:', err); });
  window.gfraReport = { ready: ready, views: views };
})();
