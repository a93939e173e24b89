// Bundle src/tileviewer.js with three.js into one minified IIFE that cimkit ships
// (cimkit/viz/assets/cimkit-tileviewer.min.js), and copy three.js's licence beside it.
// Run with `make js` (npm ci from the lock file, then this script); works offline once installed.
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const assets = join(here, "..", "cimkit", "viz", "assets");
const threeVersion = JSON.parse(readFileSync(join(here, "node_modules", "three", "package.json"))).version;

await build({
  entryPoints: [join(here, "src", "tileviewer.js")],
  outfile: join(assets, "cimkit-tileviewer.min.js"),
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "none",
  banner: {
    js: `/* cimkit tile viewer, bundled with three.js ${threeVersion} (MIT, see THIRD_PARTY_LICENSES.txt) */`,
  },
  logLevel: "info",
});

const licence = readFileSync(join(here, "node_modules", "three", "LICENSE"), "utf8");
writeFileSync(
  join(assets, "THIRD_PARTY_LICENSES.txt"),
  "cimkit-tileviewer.min.js bundles the following third-party software.\n\n" +
    `three.js ${threeVersion} (https://threejs.org), including examples/jsm GLTFLoader and OrbitControls\n` +
    "-".repeat(80) + "\n" + licence,
);
