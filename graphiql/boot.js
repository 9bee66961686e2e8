// Starts GraphiQL on the gateway's page (gateway/graphiql.py). The page carries its settings as JSON in
// #graphiql-config (it has no inline script: its Content-Security-Policy allows none). Queries go as
// POST to the page's own URL, with the headers of GraphiQL's Headers tab.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("graphiql-config").textContent);
  var url = window.location.href.split(/[?#]/)[0];
  var props = {
    fetcher: GraphiQL.createFetcher({ url: url }),
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
