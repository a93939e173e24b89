// cimkit tile viewer: an offline three.js viewer for 3D Tiles 1.1 tilesets (tileset.json + GLB
// content with EXT_mesh_features / EXT_structural_metadata), as written by cimkit.io.tiles3d.
//
// The page (cimkit.viz.tileviewer.write_tileset_viewer) holds a <canvas id="scene"
// data-tileset="tileset.json"> and a <section id="picked" aria-live="polite">. The viewer loads
// every content of the tile tree, places it with the tile transforms in the local east-north-up
// frame of the root tile (the root transform ENU -> ECEF is left out, so coordinates stay small
// and float32 keeps centimetres), picks a building under the pointer or from the keyboard and
// shows its `id` and attributes. `window.cimkitViewer` exposes a small API for scripts and tests.

import {
  AmbientLight,
  Box3,
  BufferAttribute,
  BufferGeometry,
  Color,
  DirectionalLight,
  Group,
  HemisphereLight,
  Matrix4,
  Mesh,
  MeshLambertMaterial,
  PerspectiveCamera,
  Raycaster,
  Scene,
  Spherical,
  Vector2,
  Vector3,
  WebGLRenderer,
} from "three";
import { GLTFLoader } from "three/examples/jsm/loaders/GLTFLoader.js";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";

const TEXTS = {
  fr: {
    loading: "Chargement de la maquette…",
    loaded: (n) => `${n} bâtiments chargés. Cliquez sur un bâtiment ou appuyez sur N pour le sélectionner.`,
    failed: (msg) => `La maquette n'a pas pu être chargée : ${msg}`,
    none: "Aucun bâtiment sélectionné.",
    selected: (id, i, n) => `Bâtiment ${id} sélectionné (${i} sur ${n}).`,
    heading: "Bâtiment sélectionné",
    id: "Identifiant",
    yes: "oui",
    no: "non",
  },
  en: {
    loading: "Loading the city model…",
    loaded: (n) => `${n} buildings loaded. Click a building or press N to select one.`,
    failed: (msg) => `The city model could not be loaded: ${msg}`,
    none: "No building selected.",
    selected: (id, i, n) => `Building ${id} selected (${i} of ${n}).`,
    heading: "Selected building",
    id: "Identifier",
    yes: "yes",
    no: "no",
  },
};

// glTF is y-up; 3D Tiles is z-up: the spec rotates glTF content by +90 degrees about x.
const Y_UP_TO_Z_UP = new Matrix4().set(1, 0, 0, 0, 0, 0, -1, 0, 0, 1, 0, 0, 0, 0, 0, 1);
// The scene shows the root's east-north-up frame with three's y-up: (e, n, u) -> (e, u, -n).
const Z_UP_TO_Y_UP = Y_UP_TO_Z_UP.clone().invert();

const COMPONENT_ARRAYS = {
  INT8: Int8Array,
  UINT8: Uint8Array,
  INT16: Int16Array,
  UINT16: Uint16Array,
  INT32: Int32Array,
  UINT32: Uint32Array,
  INT64: BigInt64Array,
  UINT64: BigUint64Array,
  FLOAT32: Float32Array,
  FLOAT64: Float64Array,
};
const TYPE_COMPONENTS = { SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4, MAT2: 4, MAT3: 9, MAT4: 16 };

// ---------------------------------------------------------------------------------------------
// Resources: fetched over http, or from window.CIMKIT_TILESET_DATA (base64 by relative path)
// when the page was written with the content inlined (it then also opens from disk).

function decodeBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

async function fetchBuffer(url) {
  const inline = window.CIMKIT_TILESET_DATA;
  if (inline) {
    const base = new URL(".", document.baseURI).href;
    const key = decodeURIComponent(url.startsWith(base) ? url.slice(base.length) : url);
    if (!(key in inline)) throw new Error(`${key} is not in the inlined tileset`);
    return decodeBase64(inline[key]);
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

async function fetchJson(url) {
  return JSON.parse(new TextDecoder().decode(await fetchBuffer(url)));
}

// ---------------------------------------------------------------------------------------------
// EXT_structural_metadata property tables, read from the glTF JSON and its binary buffer.

function readComponents(bytes, componentType, count) {
  const ArrayType = COMPONENT_ARRAYS[componentType];
  if (!ArrayType) throw new Error(`unsupported component type ${componentType}`);
  const copy = bytes.slice(0, count * ArrayType.BYTES_PER_ELEMENT); // copies: alignment-safe
  return Array.from(new ArrayType(copy.buffer, copy.byteOffset, count), (v) =>
    typeof v === "bigint" ? Number(v) : v,
  );
}

function readStrings(values, offsets, count) {
  const decoder = new TextDecoder();
  const out = [];
  for (let i = 0; i < count; i++) out.push(decoder.decode(values.subarray(offsets[i], offsets[i + 1])));
  return out;
}

async function readPropertyTable(parser, table, klass, enums) {
  const view = async (index) => new Uint8Array(await parser.getDependency("bufferView", index));
  const columns = {};
  for (const [name, prop] of Object.entries(table.properties || {})) {
    const def = (klass.properties || {})[name];
    if (!def || prop.arrayOffsets !== undefined || def.array) continue; // variable arrays: not shown
    const count = table.count;
    const values = await view(prop.values);
    let column;
    if (def.type === "STRING") {
      const offsets = readComponents(await view(prop.stringOffsets), prop.stringOffsetType || "UINT32", count + 1);
      column = readStrings(values, offsets, count).map((v) => (v === (prop.noData ?? def.noData) ? null : v));
    } else if (def.type === "BOOLEAN") {
      column = Array.from({ length: count }, (_, i) => ((values[i >> 3] >> (i & 7)) & 1) === 1);
    } else if (def.type === "ENUM") {
      const enumDef = enums[def.enumType] || { values: [] };
      const names = new Map(enumDef.values.map((v) => [v.value, v.name]));
      const raw = readComponents(values, enumDef.valueType || "UINT16", count);
      column = raw.map((v) => names.get(v) ?? v);
    } else {
      const n = TYPE_COMPONENTS[def.type] || 1;
      const raw = readComponents(values, def.componentType, count * n);
      const scale = prop.scale ?? def.scale ?? 1;
      const offset = prop.offset ?? def.offset ?? 0;
      const convert = (v) => (v === def.noData ? null : v * scale + offset);
      column = Array.from({ length: count }, (_, i) =>
        n === 1 ? convert(raw[i]) : raw.slice(i * n, i * n + n).map(convert),
      );
    }
    columns[name] = column;
  }
  return columns;
}

// ---------------------------------------------------------------------------------------------
// The tile tree: walk it, load each content, record the features.

function tileMatrix(tile) {
  return tile.transform ? new Matrix4().fromArray(tile.transform) : new Matrix4();
}

function contentsOf(tile) {
  if (tile.contents) return tile.contents;
  return tile.content ? [tile.content] : [];
}

class TileViewer {
  constructor(canvas, panel, status) {
    this.canvas = canvas;
    this.panel = panel;
    this.status = status;
    const lang = (document.documentElement.lang || "fr").slice(0, 2);
    this.t = TEXTS[lang] || TEXTS.en;
    this.features = []; // {id, properties, parts: [{mesh, featureId}]}
    this.byId = new Map();
    this.selected = -1;
    this.highlight = null;
    this.tilesetSchema = null;

    this.renderer = new WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(window.devicePixelRatio || 1);
    this.scene = new Scene();
    this.scene.background = new Color(0xf2f4f7);
    this.content = new Group();
    this.content.name = "tileset";
    this.scene.add(this.content);
    this.scene.add(new HemisphereLight(0xffffff, 0x8a8f99, 1.6));
    this.scene.add(new AmbientLight(0xffffff, 0.4));
    this.sun = new DirectionalLight(0xffffff, 1.6);
    this.sun.position.set(0.4, 1, 0.6);
    this.scene.add(this.sun);
    this.material = new MeshLambertMaterial({ color: 0xd9d2c5 });
    // The ground under the buildings (an optional terrain.glb in the tileset's frame): never picked.
    this.terrain = new Group();
    this.terrain.name = "terrain";
    this.scene.add(this.terrain);
    this.terrainMaterial = new MeshLambertMaterial({ color: 0xbcc7ad });
    this.flatMaterial = new MeshLambertMaterial({ color: 0xd9d2c5, flatShading: true });
    this.camera = new PerspectiveCamera(45, 1, 0.1, 1e6);
    this.controls = new OrbitControls(this.camera, canvas);
    this.controls.addEventListener("change", () => this.render());
    this.raycaster = new Raycaster();

    this.resize();
    new ResizeObserver(() => this.resize()).observe(canvas);
    this.bindPointer();
    canvas.addEventListener("keydown", (event) => this.onKey(event));
  }

  resize() {
    const width = this.canvas.clientWidth || 1;
    const height = this.canvas.clientHeight || 1;
    this.renderer.setSize(width, height, false);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.render();
  }

  render() {
    this.renderer.render(this.scene, this.camera);
  }

  async load(url, terrainUrl) {
    this.status.textContent = this.t.loading;
    const root = await fetchJson(url);
    const version = (root.asset || {}).version;
    if (version !== "1.1" && version !== "1.0") throw new Error(`unsupported 3D Tiles version ${version}`);
    this.tilesetSchema = root.schema || null;
    // The root transform is left out (its inverse is applied), so positions stay in the root ENU frame.
    await this.loadTile(root.root, new Matrix4(), url, true, "REPLACE");
    if (terrainUrl) await this.loadTerrain(terrainUrl);
    this.frame();
    this.status.textContent = this.t.loaded(this.features.length);
    return this.features.length;
  }

  async loadTerrain(url) {
    // Positions are already in the root's east-north-up frame (glTF y-up), like the buildings'
    // vertices once the root transform is left out: the same Y-up <-> Z-up turn places them.
    const gltf = await new GLTFLoader().parseAsync(await fetchBuffer(url), new URL(".", url).href);
    gltf.scene.traverse((object) => {
      if (object.isMesh) object.material = this.terrainMaterial;
    });
    const holder = new Group();
    holder.matrixAutoUpdate = false;
    holder.matrix.copy(Z_UP_TO_Y_UP).multiply(Y_UP_TO_Z_UP);
    holder.add(gltf.scene);
    this.terrain.add(holder);
    this.terrain.updateMatrixWorld(true);
  }

  async loadTile(tile, parentMatrix, baseUrl, isRoot, parentRefine) {
    const matrix = isRoot ? parentMatrix.clone() : parentMatrix.clone().multiply(tileMatrix(tile));
    const refine = (tile.refine || parentRefine || "REPLACE").toUpperCase();
    const children = tile.children || [];
    // Every content is shown at full detail: with REPLACE refinement a tile's content is
    // replaced by its children's, so only the leaves are drawn; with ADD, every level adds.
    const own = refine === "REPLACE" && children.length ? [] : contentsOf(tile);
    const jobs = own.map((content) => this.loadContent(content, matrix, baseUrl, refine));
    jobs.push(...children.map((child) => this.loadTile(child, matrix, baseUrl, false, refine)));
    await Promise.all(jobs);
  }

  async loadContent(content, matrix, baseUrl, refine) {
    const url = new URL(content.uri || content.url, baseUrl).href;
    const data = await fetchBuffer(url);
    const head = new TextDecoder().decode(new Uint8Array(data, 0, Math.min(4, data.byteLength)));
    if (head !== "glTF") {
      // An external tileset: its root transform applies on top of this tile's.
      const external = JSON.parse(new TextDecoder().decode(data));
      await this.loadTile(external.root, matrix, url, false, refine);
      return;
    }
    const gltf = await new GLTFLoader().parseAsync(data, new URL(".", url).href);
    const holder = new Group();
    holder.matrixAutoUpdate = false;
    holder.matrix.copy(Z_UP_TO_Y_UP).multiply(matrix).multiply(Y_UP_TO_Z_UP);
    holder.add(gltf.scene);
    await this.registerFeatures(gltf);
    this.content.add(holder);
  }

  async registerFeatures(gltf) {
    const parser = gltf.parser;
    const json = parser.json;
    const metadata = (json.extensions || {}).EXT_structural_metadata || {};
    const schema = metadata.schema || this.tilesetSchema || { classes: {} };
    const tables = await Promise.all(
      (metadata.propertyTables || []).map((table) =>
        readPropertyTable(parser, table, (schema.classes || {})[table.class] || {}, schema.enums || {}),
      ),
    );
    const meshes = [];
    gltf.scene.traverse((object) => {
      if (object.isMesh) meshes.push(object);
    });
    for (const mesh of meshes) {
      mesh.material = mesh.geometry.getAttribute("normal") ? this.material : this.flatMaterial;
      const link = parser.associations.get(mesh);
      if (!link || link.primitives === undefined) continue;
      const primitive = json.meshes[link.meshes].primitives[link.primitives];
      const ids = ((primitive.extensions || {}).EXT_mesh_features || {}).featureIds || [];
      const spec = ids.find((f) => f.propertyTable !== undefined) || ids[0];
      if (!spec) continue;
      const attribute =
        spec.attribute !== undefined ? mesh.geometry.getAttribute(`_feature_id_${spec.attribute}`) : null;
      const count = mesh.geometry.getAttribute("position").count;
      const featureOf = (vertex) => (attribute ? Math.round(attribute.getX(vertex)) : vertex);
      mesh.userData.featureOf = featureOf;
      mesh.userData.nullFeatureId = spec.nullFeatureId;
      const columns = spec.propertyTable !== undefined ? tables[spec.propertyTable] || {} : {};
      const seen = new Map();
      for (let v = 0; v < count; v++) {
        const fid = featureOf(v);
        if (fid === spec.nullFeatureId || seen.has(fid)) continue;
        const properties = {};
        for (const [name, column] of Object.entries(columns)) properties[name] = column[fid];
        const id = String(properties.id ?? properties.gml_id ?? properties.name ?? `${mesh.uuid}#${fid}`);
        let feature = this.byId.get(id);
        if (!feature) {
          feature = { id, index: this.features.length, properties, parts: [] };
          this.byId.set(id, feature);
          this.features.push(feature);
        }
        feature.parts.push({ mesh, featureId: fid });
        seen.set(fid, feature.index);
      }
      mesh.userData.featureIndex = seen;
    }
  }

  frame() {
    this.content.updateMatrixWorld(true);
    const box = new Box3().setFromObject(this.content);
    if (box.isEmpty()) box.set(new Vector3(-50, 0, -50), new Vector3(50, 30, 50));
    const centre = box.getCenter(new Vector3());
    const radius = Math.max(box.getSize(new Vector3()).length() / 2, 1);
    const direction = new Vector3(0.55, 0.9, 0.9).normalize();
    const corners = [0, 1, 2, 3, 4, 5, 6, 7].map(
      (i) => new Vector3(i & 1 ? box.max.x : box.min.x, i & 2 ? box.max.y : box.min.y, i & 4 ? box.max.z : box.min.z),
    );
    // Start from the bounding sphere, then move closer until the box's corners fill 90 % of the view.
    let distance = radius / Math.sin((this.camera.fov * Math.PI) / 360);
    for (let i = 0; i < 8; i++) {
      this.camera.position.copy(centre).addScaledVector(direction, distance);
      this.camera.lookAt(centre);
      this.camera.near = distance / 1000;
      this.camera.far = distance * 10;
      this.camera.updateProjectionMatrix();
      this.camera.updateMatrixWorld(true);
      const extent = Math.max(...corners.map((c) => c.clone().project(this.camera)).map((p) => Math.max(Math.abs(p.x), Math.abs(p.y))));
      distance *= Math.min(Math.max(0.5 + extent / 1.8, 0.5), 1.5);
    }
    this.camera.position.copy(centre).addScaledVector(direction, distance);
    this.camera.near = distance / 1000;
    this.camera.far = distance * 10;
    this.camera.updateProjectionMatrix();
    this.controls.target.copy(centre);
    this.controls.update();
    this.home = { position: this.camera.position.clone(), target: centre.clone() };
    this.render();
  }

  // ---- picking ---------------------------------------------------------------------------

  hitAt(clientX, clientY) {
    const rect = this.canvas.getBoundingClientRect();
    const ndc = new Vector2(((clientX - rect.left) / rect.width) * 2 - 1, -((clientY - rect.top) / rect.height) * 2 + 1);
    this.raycaster.setFromCamera(ndc, this.camera);
    for (const hit of this.raycaster.intersectObject(this.content, true)) {
      const mesh = hit.object;
      if (!mesh.userData.featureOf || !hit.face) continue;
      const fid = mesh.userData.featureOf(hit.face.a);
      if (fid === mesh.userData.nullFeatureId) continue;
      return mesh.userData.featureIndex.get(fid) ?? -1;
    }
    return -1;
  }

  bindPointer() {
    let down = null;
    this.canvas.addEventListener("pointerdown", (e) => (down = { x: e.clientX, y: e.clientY }));
    this.canvas.addEventListener("pointerup", (e) => {
      if (!down || Math.hypot(e.clientX - down.x, e.clientY - down.y) > 4) return; // a drag, not a click
      const index = this.hitAt(e.clientX, e.clientY);
      if (index >= 0) this.selectIndex(index);
      else this.clearSelection();
    });
  }

  trianglesOf(feature) {
    // World-space triangles (three vertices each) of a feature.
    const out = [];
    for (const { mesh, featureId } of feature.parts) {
      mesh.updateMatrixWorld(true);
      const position = mesh.geometry.getAttribute("position");
      const index = mesh.geometry.getIndex();
      const n = index ? index.count : position.count;
      for (let i = 0; i + 2 < n; i += 3) {
        const a = index ? index.getX(i) : i;
        if (mesh.userData.featureOf(a) !== featureId) continue;
        const tri = [a, index ? index.getX(i + 1) : i + 1, index ? index.getX(i + 2) : i + 2].map((k) =>
          new Vector3().fromBufferAttribute(position, k).applyMatrix4(mesh.matrixWorld),
        );
        out.push(tri);
      }
    }
    return out;
  }

  selectIndex(index) {
    if (index < 0 || index >= this.features.length) return;
    this.selected = index;
    const feature = this.features[index];
    if (this.highlight) {
      this.scene.remove(this.highlight);
      this.highlight.geometry.dispose();
    }
    const triangles = this.trianglesOf(feature);
    const flat = new Float32Array(triangles.length * 9);
    triangles.forEach((tri, i) => tri.forEach((p, j) => p.toArray(flat, i * 9 + j * 3)));
    const geometry = new BufferGeometry();
    geometry.setAttribute("position", new BufferAttribute(flat, 3));
    this.highlight = new Mesh(
      geometry,
      new MeshLambertMaterial({
        color: 0xc2410c,
        flatShading: true,
        polygonOffset: true,
        polygonOffsetFactor: -1,
        polygonOffsetUnits: -4,
      }),
    );
    this.highlight.name = "highlight";
    this.highlight.raycast = () => {}; // never picked itself
    this.scene.add(this.highlight);
    this.showPanel(feature, index);
    this.render();
  }

  clearSelection() {
    this.selected = -1;
    if (this.highlight) this.scene.remove(this.highlight);
    this.highlight = null;
    this.panel.removeAttribute("data-feature-id");
    this.panel.replaceChildren(Object.assign(document.createElement("p"), { textContent: this.t.none }));
    this.render();
  }

  showPanel(feature, index) {
    const heading = Object.assign(document.createElement("h2"), { textContent: this.t.heading });
    const summary = Object.assign(document.createElement("p"), {
      textContent: this.t.selected(feature.id, index + 1, this.features.length),
    });
    const list = document.createElement("dl");
    const entries = [[this.t.id, feature.id], ...Object.entries(feature.properties).filter(([k]) => k !== "id")];
    for (const [name, value] of entries) {
      const dt = Object.assign(document.createElement("dt"), { textContent: name });
      const text =
        value === null || value === undefined || Number.isNaN(value)
          ? "—"
          : typeof value === "boolean"
            ? value ? this.t.yes : this.t.no
            : typeof value === "number"
              ? Number.isInteger(value) ? String(value) : value.toFixed(2)
              : String(value);
      const dd = Object.assign(document.createElement("dd"), { textContent: text });
      if (name === this.t.id) dd.className = "feature-id";
      list.append(dt, dd);
    }
    this.panel.setAttribute("data-feature-id", feature.id);
    this.panel.replaceChildren(heading, summary, list);
  }

  // ---- keyboard ---------------------------------------------------------------------------

  orbit(dAzimuth, dPolar) {
    const offset = this.camera.position.clone().sub(this.controls.target);
    const spherical = new Spherical().setFromVector3(offset);
    spherical.theta += dAzimuth;
    spherical.phi = Math.min(Math.max(spherical.phi + dPolar, 0.05), Math.PI / 2 - 0.02);
    this.camera.position.copy(this.controls.target).add(new Vector3().setFromSpherical(spherical));
    this.controls.update();
  }

  zoom(factor) {
    const offset = this.camera.position.clone().sub(this.controls.target).multiplyScalar(factor);
    this.camera.position.copy(this.controls.target).add(offset);
    this.controls.update();
  }

  step(delta) {
    const n = this.features.length;
    if (!n) return;
    const next = this.selected < 0 ? (delta > 0 ? 0 : n - 1) : (this.selected + delta + n) % n;
    this.selectIndex(next);
  }

  onKey(event) {
    const angle = Math.PI / 24;
    const actions = {
      ArrowLeft: () => this.orbit(-angle, 0),
      ArrowRight: () => this.orbit(angle, 0),
      ArrowUp: () => this.orbit(0, -angle),
      ArrowDown: () => this.orbit(0, angle),
      "+": () => this.zoom(0.8),
      "=": () => this.zoom(0.8),
      "-": () => this.zoom(1.25),
      n: () => this.step(1),
      N: () => this.step(1),
      p: () => this.step(-1),
      P: () => this.step(-1),
      Enter: () => this.step(event.shiftKey ? -1 : 1),
      Escape: () => this.clearSelection(),
      Home: () => {
        this.camera.position.copy(this.home.position);
        this.controls.target.copy(this.home.target);
        this.controls.update();
      },
    };
    const action = actions[event.key];
    if (!action) return; // Tab and everything else keep their usual meaning (no keyboard trap)
    event.preventDefault();
    action();
    this.render();
  }

  // ---- the API for scripts and tests --------------------------------------------------------

  screenPositionOf(id) {
    // A point of the building visible from the camera, in CSS pixels of the page.
    const feature = this.byId.get(String(id));
    if (!feature) return null;
    const rect = this.canvas.getBoundingClientRect();
    const toScreen = (p) => {
      const ndc = p.clone().project(this.camera);
      return { x: rect.left + ((ndc.x + 1) / 2) * rect.width, y: rect.top + ((1 - ndc.y) / 2) * rect.height, ndc };
    };
    const index = feature.index;
    const triangles = this.trianglesOf(feature);
    const box = new Box3();
    triangles.forEach((tri) => tri.forEach((p) => box.expandByPoint(p)));
    const centre = toScreen(box.getCenter(new Vector3()));
    const candidates = [centre, ...triangles.map((tri) => toScreen(tri[0].clone().add(tri[1]).add(tri[2]).divideScalar(3)))];
    candidates.sort((a, b) => Math.hypot(a.x - centre.x, a.y - centre.y) - Math.hypot(b.x - centre.x, b.y - centre.y));
    for (const c of candidates.slice(0, 400)) {
      if (Math.abs(c.ndc.x) > 0.98 || Math.abs(c.ndc.y) > 0.98) continue;
      if (this.hitAt(c.x, c.y) === index) return { x: c.x, y: c.y };
    }
    return null;
  }

  boundsOf(id) {
    // The building's bounds in the root tile's east-north-up frame (metres): {min: [e, n, u], max}.
    const feature = this.byId.get(String(id));
    if (!feature) return null;
    const box = new Box3();
    this.trianglesOf(feature).forEach((tri) => tri.forEach((p) => box.expandByPoint(p)));
    return { min: [box.min.x, -box.max.z, box.min.y], max: [box.max.x, -box.min.z, box.max.y] };
  }

  select(id) {
    const feature = this.byId.get(String(id));
    if (!feature) return false;
    this.selectIndex(feature.index);
    return true;
  }

  setContentVisible(visible) {
    this.content.visible = Boolean(visible);
    if (this.highlight) this.highlight.visible = Boolean(visible);
    this.render();
  }
}

function start() {
  const canvas = document.getElementById("scene");
  const panel = document.getElementById("picked");
  const status = document.getElementById("status") || panel;
  if (!canvas || !panel) return;
  const viewer = new TileViewer(canvas, panel, status);
  const terrain = canvas.dataset.terrain ? new URL(canvas.dataset.terrain, document.baseURI).href : null;
  const ready = viewer.load(new URL(canvas.dataset.tileset || "tileset.json", document.baseURI).href, terrain);
  ready.catch((err) => {
    status.textContent = viewer.t.failed(err.message);
    canvas.setAttribute("data-error", err.message);
  });
  window.cimkitViewer = {
    ready,
    get featureCount() {
      return viewer.features.length;
    },
    get ids() {
      return viewer.features.map((f) => f.id);
    },
    get selectedId() {
      return viewer.selected >= 0 ? viewer.features[viewer.selected].id : null;
    },
    screenPositionOf: (id) => viewer.screenPositionOf(id),
    select: (id) => viewer.select(id),
    boundsOf: (id) => viewer.boundsOf(id),
    setContentVisible: (visible) => viewer.setContentVisible(visible),
    get terrainLoaded() {
      return viewer.terrain.children.length > 0;
    },
    setTerrainVisible: (visible) => {
      viewer.terrain.visible = Boolean(visible);
      viewer.render();
    },
    viewer,
  };
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
