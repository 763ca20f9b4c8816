// Draws every chart of the page: a <div data-chart="ID"> takes the Vega-Lite spec from the
// JSON <script id="ID"> the server wrote (no inline script, no eval: Vega's interpreter).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-chart]").forEach(function (element) {
    var spec = JSON.parse(document.getElementById(element.dataset.chart).textContent);
    vegaEmbed(element, spec, {
      actions: false,
      ast: true,
      expr: vegaInterpreter.expressionInterpreter,
      renderer: "svg",
      // The styles vega-embed and its tooltip would inject are in console.css (the CSP
      // allows no inline style).
      defaultStyle: false,
      tooltip: { disableDefaultStyle: true },
    }).catch(function (error) { console.error(error); });
  });
});
