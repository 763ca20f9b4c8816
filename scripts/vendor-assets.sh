#!/usr/bin/env bash
# Refresh the console's front-end assets from the npm registry into static files, with their
# licences. Run by a developer when a version changes (nothing is fetched at run time); the
# versions are pinned here and recorded in static/vendor/VERSIONS.
set -euo pipefail
cd "$(dirname "$0")/.."
VENDOR=src/retain/console/static/vendor
# package@version  file-in-package  licence-in-package
ASSETS=(
  "htmx.org@2.0.8 dist/htmx.min.js LICENSE"
  "vega@6.3.0 build/vega.min.js LICENSE"
  "vega-lite@6.5.0 build/vega-lite.min.js LICENSE"
  "vega-embed@7.3.0 build/vega-embed.min.js LICENSE"
  "axe-core@4.14.1 axe.min.js LICENSE"
  "@picocss/pico@2.0.1 css/pico.min.css LICENSE.md"
)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$VENDOR" && mkdir -p "$VENDOR"
: >"$VENDOR/VERSIONS"
for entry in "${ASSETS[@]}"; do
  read -r spec file licence <<<"$entry"
  name=${spec%@*}
  short=${name#@*/}
  (cd "$work" && npm pack --silent "$spec" >/dev/null)
  tarball=$(ls "$work"/*.tgz)
  mkdir -p "$work/x" "$VENDOR/$short"
  tar -xzf "$tarball" -C "$work/x"
  cp "$work/x/package/$file" "$VENDOR/$short/"
  cp "$work/x/package/$licence" "$VENDOR/$short/LICENSE"
  echo "$spec $(basename "$file") sha256:$(sha256sum "$VENDOR/$short/$(basename "$file")" | cut -c1-64)" >>"$VENDOR/VERSIONS"
  rm -rf "$work/x" "$tarball"
done
# Vega's CSP-safe expression interpreter ships as ES modules only: bundled into one script
# (global vegaInterpreter) with esbuild, so pages need no eval and no inline import map.
(
  cd "$work"
  npm install --silent --no-audit --no-fund --no-save vega-interpreter@2.3.2 vega-util@2.1.3 \
    esbuild@0.25.12 >/dev/null
  echo 'export {expressionInterpreter} from "./node_modules/vega-interpreter/index.js";' >entry.js
  npx esbuild entry.js --bundle --format=iife --global-name=vegaInterpreter --minify \
    --log-level=warning --outfile=vega-interpreter.min.js
)
mkdir -p "$VENDOR/vega-interpreter"
cp "$work/vega-interpreter.min.js" "$VENDOR/vega-interpreter/"
cp "$work/node_modules/vega-interpreter/LICENSE" "$VENDOR/vega-interpreter/LICENSE"
echo "vega-interpreter@2.3.2+vega-util@2.1.3 (esbuild 0.25.12) vega-interpreter.min.js" \
  "sha256:$(sha256sum "$VENDOR/vega-interpreter/vega-interpreter.min.js" | cut -c1-64)" \
  >>"$VENDOR/VERSIONS"
cat "$VENDOR/VERSIONS"
