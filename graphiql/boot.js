// Starts GraphiQL on the gateway's page (gateway/graphiql.py). The page carries its settings as JSON in
// #graphiql-config (it has no inline script: its Content-Security-Policy allows none). Queries go as
// POST to the page's own URL, with the headers of GraphiQL's Headers tab. Subscriptions go over a
// WebSocket to that same URL (ws: or wss:, as the page's http: or https:), speaking graphql-transport-ws
// with the graphql-ws client graphiql.min.js carries; the Headers tab's headers, the token among them,
// are connection_init's payload, as the gateway expects.
// GraphiQL opens with the docs' examples as tabs (when the browser has no tabs of its own saved), with the
// explorer plugin (plugin-explorer.umd.js) and this page's Charts panel and Next page button (analysts.js).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("graphiql-config").textContent);
  var analysts = window.SessionsGatewayAnalysts;
  var url = window.location.href.split(/[?#]/)[0];
  var tabs = config.tabs.map(function (tab) {
    return { query: tab.query, variables: analysts.tabVariables(tab.variables), headers: config.headers };
  });
  var filled = config.tabs.filter(function (tab) { return tab.variables === "tenant-session"; });
  var props = {
    fetcher: analysts.wrapFetcher(
      GraphiQL.createFetcher({ url: url, subscriptionUrl: url.replace(/^http/, "ws"), enableIncrementalDelivery: false })
    ),
    defaultTabs: tabs,
    defaultEditorToolsVisibility: "headers",
    isHeadersEditorEnabled: true,
    // Tokens stay out of the browser's storage: the Headers tab is empty again on the next visit.
    shouldPersistHeaders: false,
    inputValueDeprecation: true,
    plugins: [GraphiQLPluginExplorer.explorerPlugin(), analysts.chartsPlugin],
    toolbar: {
      additionalContent: [
        React.createElement(analysts.NextPageButton, { key: "next-page" }),
        React.createElement(
          analysts.tenantSessionFiller(url, filled.map(function (tab) { return tab.query; })),
          { key: "tenant-session" }
        ),
      ],
    },
  };
  if (config.headers) {
    props.headers = config.headers;
  }
  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(GraphiQL, props));
})();
