// Starts GraphiQL on the gateway's page (gateway/graphiql.py). The page carries its settings as JSON in
// #graphiql-config (it has no inline script: its Content-Security-Policy allows none). Queries go as
// POST to the page's own URL, with the headers of GraphiQL's Headers tab. Subscriptions go over a
// WebSocket to that same URL (ws: or wss:, as the page's http: or https:), speaking graphql-transport-ws
// with the graphql-ws client graphiql.min.js carries; the Headers tab's headers, the token among them,
// are connection_init's payload, as the gateway expects.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("graphiql-config").textContent);
  var url = window.location.href.split(/[?#]/)[0];
  var props = {
    fetcher: GraphiQL.createFetcher({ url: url, subscriptionUrl: url.replace(/^http/, "ws") }),
    query: config.query,
    defaultEditorToolsVisibility: "headers",
    isHeadersEditorEnabled: true,
    // Tokens stay out of the browser's storage: the Headers tab is empty again on the next visit.
    shouldPersistHeaders: false,
    inputValueDeprecation: true,
  };
  if (config.headers) {
    props.headers = config.headers;
  }
  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(GraphiQL, props));
})();
