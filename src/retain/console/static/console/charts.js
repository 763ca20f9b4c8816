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
    }).catch(function (error) { console.error(error); });
  });
});
