// The page's own GraphiQL plugins, for analysts (gateway/graphiql.py serves this file; boot.js wires it):
// - a "Charts" panel that draws the report parts of the last result with Chart.js: timeline as a line or
//   bar chart, byStatus / byRole / byTaskSource as bars, byUser as ranked bars, scoreDeciles as a histogram;
//   each chart exports as PNG, each part as CSV;
// - a "Next page" toolbar button, shown when the last result is a connection with pageInfo.hasNextPage
//   (and the tab in view holds the query it answered): it runs the query again with the variable `after`
//   set to pageInfo.endCursor;
// - the example tabs' variables: the browser's time zone, and the id of the tenant's newest session.
// It reads the results through the fetcher GraphiQL runs with (wrapFetcher): no other request, no storage.
(function () {
  "use strict";
  var h = React.createElement;
  var hooks = GraphiQL.React; // GraphiQL's own contexts (editors, execution), shared with its UMD build

  // The parts of a report the panel charts, with how each is drawn.
  var PARTS = {
    timeline: { label: function (row, zone) { return localDate(row.start, zone); } },
    byStatus: { label: function (row) { return row.status; } },
    byRole: { label: function (row) { return row.role; } },
    byTaskSource: { label: function (row) { return row.source === null ? "(no linked task)" : row.source; } },
    byUser: { label: function (row) { return row.user ? row.user.displayName : ""; }, ranked: true },
    scoreDeciles: { label: function (row) { return row.from + "–" + row.to; }, histogram: true },
  };
  // A bucket's start (an instant, in UTC) as the date it is in the time zone the query asked for.
  function localDate(start, zone) {
    if (!start) return "";
    try {
      return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
        .format(new Date(start));
    } catch (error) {
      return String(start).slice(0, 10);
    }
  }

  // The time zone a query's timeline was asked in: its timeZone argument, literal or variable; else UTC.
  function timeZoneOf(params) {
    var query = params.query || "";
    var literal = /timeZone\s*:\s*"([^"]+)"/.exec(query);
    if (literal) return literal[1];
    var variable = /timeZone\s*:\s*\$(\w+)/.exec(query);
    var variables = params.variables || {};
    if (typeof variables === "string") {
      try { variables = JSON.parse(variables); } catch (error) { variables = {}; }
    }
    if (variable && variables && typeof variables[variable[1]] === "string") return variables[variable[1]];
    return "UTC";
  }

  var MEASURES = ["count", "completed", "averageScore"];
  var TOTALS = ["totalCount", "averageScore", "totalDurationHours", "totalDurationSeconds", "procedureCount"];

  // ---- the last result of a query the page ran (not GraphiQL's schema introspection), for whoever listens

  var last = null;
  var listeners = [];

  function publish(entry) {
    last = entry;
    listeners.slice().forEach(function (listener) { listener(entry); });
  }

  function useLastResult() {
    var state = React.useState(last);
    React.useEffect(function () {
      var listener = state[1];
      listeners.push(listener);
      listener(last);
      return function () { listeners.splice(listeners.indexOf(listener), 1); };
    }, []);
    return state[0];
  }

  // A fetcher that publishes each query's result. Subscriptions (async iterables) go through untouched.
  function wrapFetcher(fetcher) {
    return function (params, options) {
      var answer = fetcher(params, options);
      if (params.operationName === "IntrospectionQuery" || !answer || typeof answer.then !== "function") {
        return answer;
      }
      return answer.then(function (result) {
        if (result && typeof result === "object" && !(Symbol.asyncIterator in result) && !result.subscribe) {
          publish({ params: params, result: result });
        }
        return result;
      });
    };
  }

  // ---- what a result holds

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  // Every report in the data (an object with at least one part), by its path ("sessionsReport", an alias...).
  function reports(data, path, found) {
    found = found || [];
    if (!isObject(data)) return found;
    var parts = Object.keys(PARTS).filter(function (part) { return Array.isArray(data[part]); });
    if (parts.length) {
      found.push({ path: path || "data", report: data, parts: parts });
    }
    Object.keys(data).forEach(function (key) {
      if (!(key in PARTS)) reports(data[key], path ? path + "." + key : key, found);
    });
    return found;
  }

  // The first connection of the data's top-level fields with a next page: {field, endCursor}.
  function nextPage(result) {
    var data = result && result.data;
    if (!isObject(data)) return null;
    var fields = Object.keys(data);
    for (var i = 0; i < fields.length; i++) {
      var info = isObject(data[fields[i]]) ? data[fields[i]].pageInfo : null;
      if (isObject(info) && info.hasNextPage === true && typeof info.endCursor === "string") {
        return { field: fields[i], endCursor: info.endCursor };
      }
    }
    return null;
  }

  // ---- CSV and PNG export

  function flatten(row, prefix, into) {
    Object.keys(row).forEach(function (key) {
      var value = row[key];
      if (isObject(value)) flatten(value, prefix + key + ".", into);
      else into[prefix + key] = value;
    });
    return into;
  }

  function csvCell(value) {
    if (value === null || value === undefined) return "";
    var text = String(value);
    // a cell a spreadsheet would read as a formula is written as text
    if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = "'" + text;
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function toCsv(rows) {
    var flat = rows.map(function (row) { return flatten(row, "", {}); });
    var columns = [];
    flat.forEach(function (row) {
      Object.keys(row).forEach(function (key) { if (columns.indexOf(key) < 0) columns.push(key); });
    });
    var lines = [columns.map(csvCell).join(",")];
    flat.forEach(function (row) {
      lines.push(columns.map(function (column) { return csvCell(row[column]); }).join(","));
    });
    return lines.join("\r\n") + "\r\n";
  }

  function download(blob, filename) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
  }

  // ---- Chart.js configurations

  // The canvas is filled white before drawing, so an exported PNG has the background it is seen on.
  var whiteBackground = {
    id: "whiteBackground",
    beforeDraw: function (chart) {
      var context = chart.ctx;
      context.save();
      context.globalCompositeOperation = "destination-over";
      context.fillStyle = "#ffffff";
      context.fillRect(0, 0, chart.width, chart.height);
      context.restore();
    },
  };
  var COLORS = { count: "#3b82f6", completed: "#10b981", averageScore: "#f59e0b" };

  function chartConfig(part, rows, timelineType, zone) {
    var spec = PARTS[part];
    var measures = MEASURES.filter(function (name) { return rows.length && name in rows[0]; });
    var twoAxes = measures.indexOf("averageScore") >= 0 && measures.length > 1;
    var type = part === "timeline" ? timelineType : "bar";
    var datasets = measures.map(function (name) {
      return {
        label: name,
        data: rows.map(function (row) { return row[name]; }),
        backgroundColor: COLORS[name],
        borderColor: COLORS[name],
        yAxisID: twoAxes && name === "averageScore" ? "score" : "y",
        xAxisID: "x",
        spanGaps: true,
        barPercentage: spec.histogram ? 1 : 0.9,
        categoryPercentage: spec.histogram ? 1 : 0.8,
      };
    });
    var scales = { x: {}, y: { beginAtZero: true } };
    if (twoAxes) {
      scales.score = { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false },
        title: { display: true, text: "averageScore" } };
    }
    if (spec.ranked) {
      // ranked bars lie down, the most sessions on top: the value axis is x
      scales = { x: { beginAtZero: true }, y: {} };
      datasets.forEach(function (dataset) { dataset.xAxisID = "x"; dataset.yAxisID = "y"; });
      if (twoAxes) {
        scales.score = { axis: "x", position: "top", min: 0, max: 100, grid: { drawOnChartArea: false } };
        datasets.forEach(function (dataset) { if (dataset.label === "averageScore") dataset.xAxisID = "score"; });
      }
    }
    if (spec.histogram) {
      scales.x.title = { display: true, text: "score" };
      scales.y.title = { display: true, text: "sessions" };
    }
    return {
      type: type,
      data: { labels: rows.map(function (row) { return spec.label(row, zone); }), datasets: datasets },
      options: {
        indexAxis: spec.ranked ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false, // drawn at once: what the test counts is what is shown
        plugins: { legend: { display: datasets.length > 1 } },
        scales: scales,
      },
      plugins: [whiteBackground],
    };
  }

  // ---- the Charts panel

  function PartChart(props) {
    var canvasRef = React.useRef(null);
    var chartRef = React.useRef(null);
    var rows = props.rows;
    var chartable = rows.length > 0 && MEASURES.some(function (name) { return name in rows[0]; });
    React.useEffect(function () {
      if (!chartable) return undefined;
      var chart = new Chart(canvasRef.current, chartConfig(props.part, rows, props.timelineType, props.zone));
      chartRef.current = chart;
      return function () { chart.destroy(); chartRef.current = null; };
    }, [rows, props.part, props.timelineType, props.zone, chartable]);
    var name = props.path + "-" + props.part;
    var height = PARTS[props.part].ranked ? Math.max(160, rows.length * 22 + 60) : 240;
    function png() {
      chartRef.current.canvas.toBlob(function (blob) { download(blob, name + ".png"); }, "image/png");
    }
    function csv() {
      download(new Blob([toCsv(rows)], { type: "text/csv;charset=utf-8" }), name + ".csv");
    }
    var note = null;
    if (!rows.length) note = "No entries: no session matches.";
    else if (!chartable) note = "Nothing to draw: select count, completed or averageScore in it.";
    return h("section", { className: "analysts-part", "data-part": props.part, "data-path": props.path },
      h("header", null,
        h("h3", null, props.path + "." + props.part),
        props.part === "timeline" && chartable ? h("select", {
          "aria-label": "Timeline chart type",
          value: props.timelineType,
          onChange: function (event) { props.setTimelineType(event.target.value); },
        }, h("option", { value: "line" }, "line"), h("option", { value: "bar" }, "bar")) : null,
        chartable ? h("button", { type: "button", onClick: png, "aria-label": "PNG of " + name }, "PNG") : null,
        rows.length ? h("button", { type: "button", onClick: csv, "aria-label": "CSV of " + name }, "CSV") : null),
      note ? h("p", { className: "analysts-note" }, note)
        : h("div", { className: "analysts-canvas", style: { height: height + "px" } },
          h("canvas", { ref: canvasRef, "data-part": props.part, role: "img", "aria-label": "Chart of " + name })));
  }

  function Totals(props) {
    var shown = TOTALS.filter(function (name) { return name in props.report; });
    if (!shown.length) return null;
    return h("dl", { className: "analysts-totals" }, shown.map(function (name) {
      var value = props.report[name];
      return [h("dt", { key: name + "-name" }, name),
        h("dd", { key: name + "-value" }, value === null ? "null"
          : typeof value === "number" && !Number.isInteger(value) ? value.toFixed(2) : String(value))];
    }));
  }

  function ChartsPanel() {
    var entry = useLastResult();
    var timelineType = React.useState("line");
    var message = null;
    var found = [];
    if (!entry) {
      message = "Run a query: its report's timeline, byStatus, byRole, byTaskSource, byUser and scoreDeciles " +
        "are drawn here (the SessionsReport tab asks for them all).";
    } else {
      found = reports(entry.result.data, "", []);
      if (!found.length) {
        message = "Nothing to chart: the last result holds no report part (timeline, byStatus, byRole, " +
          "byTaskSource, byUser or scoreDeciles of sessionsReport)" +
          (entry.result.errors ? ", only errors." : ".");
      }
    }
    return h("div", { className: "analysts-charts" },
      h("div", { className: "graphiql-doc-explorer-title" }, "Charts"),
      message ? h("p", { className: "analysts-message", role: "status" }, message) : null,
      found.map(function (item) {
        return h("div", { key: item.path, className: "analysts-report" },
          h(Totals, { report: item.report }),
          item.parts.map(function (part) {
            return h(PartChart, {
              key: part, path: item.path, part: part, rows: item.report[part],
              timelineType: timelineType[0], setTimelineType: timelineType[1], zone: timeZoneOf(entry.params),
            });
          }));
      }));
  }

  function ChartIcon(props) {
    return h("svg", Object.assign({ height: "1em", viewBox: "0 0 24 24", fill: "none", stroke: "currentColor",
      strokeWidth: 1.5 }, props),
      h("path", { d: "M3 3v18h18" }), h("rect", { x: 7, y: 12, width: 3, height: 6 }),
      h("rect", { x: 12, y: 8, width: 3, height: 10 }), h("rect", { x: 17, y: 5, width: 3, height: 13 }));
  }

  var chartsPlugin = { title: "Charts", icon: ChartIcon, content: ChartsPanel };

  // ---- "Next page": in GraphiQL's toolbar, while the last result has one

  function NextPageIcon(props) {
    return h("svg", Object.assign({ height: "1em", viewBox: "0 0 24 24", fill: "none", stroke: "currentColor",
      strokeWidth: 2 }, props), h("path", { d: "M5 12h13M13 6l6 6-6 6" }));
  }

  function declaresAfter(query) {
    return /\$after\s*:/.test(query || "");
  }

  function NextPageButton() {
    var entry = useLastResult();
    var editors = hooks.useEditorContext({ nonNull: true });
    var execution = hooks.useExecutionContext({ nonNull: true });
    var active = editors.tabs[editors.activeTabIndex];
    var query = active ? active.query : null;
    // only for the query whose result it is: another tab, or the query edited since, has no next page yet
    var next = entry && entry.params.query === query ? nextPage(entry.result) : null;
    if (!next) return null;
    var ready = declaresAfter(query) && !execution.isFetching;
    var label = declaresAfter(query)
      ? "Next page of " + next.field + " (after: its endCursor)"
      : "Next page: declare $after: String and pass after: $after to " + next.field;
    function run() {
      var variables = {};
      try { variables = JSON.parse(editors.variableEditor.getValue() || "{}") || {}; } catch (error) { variables = {}; }
      variables.after = next.endCursor;
      editors.variableEditor.setValue(JSON.stringify(variables, null, 2));
      execution.run();
    }
    return h(hooks.ToolbarButton, { label: label, onClick: run, disabled: !ready, className: "analysts-next-page" },
      h(NextPageIcon, { className: "graphiql-toolbar-icon", "aria-hidden": "true" }));
  }

  // ---- the example tabs' variables

  function browserTimeZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (error) { return "UTC"; }
  }

  // The variables a tab opens with: {"timeZone": the browser's}, or {"id": null} until TenantSessionFiller fills it.
  function tabVariables(kind) {
    if (kind === "browser-time-zone") return JSON.stringify({ timeZone: browserTimeZone() }, null, 2);
    if (kind === "tenant-session") return JSON.stringify({ id: null }, null, 2);
    return null;
  }

  // While a tab that wants one shows {"id": null}, asks the gateway (with the Headers tab's headers) for the
  // newest session of the tenant and puts its id there. Nothing when the Headers tab holds no token yet.
  function tenantSessionFiller(url, queries) {
    return function TenantSessionFiller() {
      var editors = hooks.useEditorContext({ nonNull: true });
      var activeRef = React.useRef(editors.activeTabIndex);
      activeRef.current = editors.activeTabIndex;
      var active = editors.tabs[editors.activeTabIndex];
      var query = active ? active.query : null;
      var variables = active ? active.variables : null;
      React.useEffect(function () {
        if (queries.indexOf(query) < 0 || !editors.variableEditor || !editors.headerEditor) return;
        var current;
        try { current = JSON.parse(variables || "{}"); } catch (error) { return; }
        if (!isObject(current) || current.id) return;
        var headers;
        try { headers = JSON.parse(editors.headerEditor.getValue() || "{}"); } catch (error) { return; }
        if (!isObject(headers) || !Object.keys(headers).length) return;
        var asked = editors.activeTabIndex;
        window.fetch(url, {
          method: "POST",
          headers: Object.assign({ "Content-Type": "application/json", Accept: "application/json" }, headers),
          body: JSON.stringify({ query: "query NewestSession { sessions(first: 1, orderBy: STARTED_AT_DESC) { edges { node { id } } } }" }),
        }).then(function (response) { return response.json(); }).then(function (answer) {
          var edges = answer && answer.data && answer.data.sessions ? answer.data.sessions.edges : [];
          if (edges.length && activeRef.current === asked) {
            current.id = edges[0].node.id;
            editors.variableEditor.setValue(JSON.stringify(current, null, 2));
          }
        }, function () { /* the tab keeps {"id": null}: running it says what is missing */ });
      }, [query, variables, editors.variableEditor, editors.headerEditor, editors.activeTabIndex]);
      return null;
    };
  }

  window.SessionsGatewayAnalysts = {
    chartsPlugin: chartsPlugin,
    NextPageButton: NextPageButton,
    wrapFetcher: wrapFetcher,
    tabVariables: tabVariables,
    tenantSessionFiller: tenantSessionFiller,
    toCsv: toCsv,
  };
})();
