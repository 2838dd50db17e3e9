// Portico's GraphiQL: every file from this server (no CDN, script-src 'self').
// Headers typed in the headers editor are kept across reloads (shouldPersistHeaders);
// when the Authorization header changes, the fetcher changes, so GraphiQL introspects
// again with the new headers and shows that caller's own schema.
(function () {
  "use strict";
  var e = React.createElement;
  var url = window.location.pathname;
  var subscriptionUrl =
    (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + url;

  function authorization(headers) {
    try {
      var parsed = JSON.parse(headers || "{}");
      for (var name in parsed) {
        if (name.toLowerCase() === "authorization") return String(parsed[name]);
      }
    } catch (error) {
      return null; // still being typed: keep the current schema
    }
    return "";
  }

  function storedHeaders() {
    try {
      return window.localStorage.getItem("graphiql:headers") || "";
    } catch (error) {
      return "";
    }
  }

  function App() {
    var state = React.useState(authorization(storedHeaders()) || "");
    var auth = state[0];
    var setAuth = state[1];
    var fetcher = React.useMemo(
      function () {
        var base = GraphiQL.createFetcher({ url: url, subscriptionUrl: subscriptionUrl });
        return function (params, options) {
          return base(params, options);
        };
      },
      [auth]
    );
    return e(GraphiQL, {
      fetcher: fetcher,
      shouldPersistHeaders: true,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: true,
      onEditHeaders: function (headers) {
        var value = authorization(headers);
        if (value !== null) setAuth(value);
      },
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(e(App));
})();
