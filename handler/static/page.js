"use strict";
(function () {
  const schema = JSON.parse(document.getElementById("schema").textContent);
  const api = document.body.dataset.api || "";
  const form = document.getElementById("predict-form");
  const result = document.getElementById("result");
  const status = document.getElementById("status");
  const names = schema.features.map((f) => f.name);
  const SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function input(name) { return document.getElementById("f-" + name); }

  function clearErrors() {
    for (const name of names) {
      input(name).removeAttribute("aria-invalid");
      document.getElementById("e-" + name).textContent = "";
    }
    status.textContent = "";
  }

  function fieldError(name, message) {
    const box = input(name);
    if (!box) return false;
    box.setAttribute("aria-invalid", "true");
    const slot = document.getElementById("e-" + name);
    slot.textContent = slot.textContent ? slot.textContent + " " + message : message;
    return true;
  }

  function fill(example) {
    clearErrors();
    for (const name of names) input(name).value = String(schema.examples[example][name]);
    status.textContent = "Filled a real " + example + " row from the training data.";
  }

  // The server's hard rules, as the function serves them (schema.rules, from model.rules): each relation
  // is implemented here once, the rules themselves are not restated. The server stays the authority.
  const holds = {
    finite: (v) => Number.isFinite(v),
    non_negative: (v) => v >= 0,
    at_least: (v, other) => v >= other,
  };
  function clientCheck(values) {
    const problems = [];
    const each = schema.rules.filter((r) => r.pairs.length === 0);
    for (const name of names) {
      const raw = input(name).value.trim();
      const v = Number(raw);
      if (raw === "") { problems.push([name, "required"]); continue; }
      const broken = each.find((r) => !holds[r.relation](v));
      if (broken) problems.push([name, broken.hint]);
      else values[name] = v;
    }
    for (const rule of schema.rules.filter((r) => r.pairs.length > 0)) {
      for (const [field, other] of rule.pairs) {
        if (values[field] !== undefined && values[other] !== undefined && !holds[rule.relation](values[field], values[other])) {
          problems.push([field, rule.hint.replace("{other}", other)]);
        }
      }
    }
    return problems;
  }

  function bars(explanation, limit) {
    const entries = Object.entries(explanation.contributions)
      .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, limit);
    const biggest = Math.max(...entries.map((e) => Math.abs(e[1])), 1e-12);
    const rowH = 22, width = 640, mid = 330, half = 150;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${rowH * entries.length + 10}`);
    svg.setAttribute("class", "bars");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Largest contributions to the log-odds of malignancy");
    entries.forEach(([name, value], i) => {
      const w = (Math.abs(value) / biggest) * half;
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", String(value >= 0 ? mid : mid - w));
      rect.setAttribute("y", String(i * rowH + 4));
      rect.setAttribute("width", String(Math.max(w, 1)));
      rect.setAttribute("height", String(rowH - 6));
      rect.setAttribute("fill", value >= 0 ? "#D55E00" : "#0072B2");
      rect.setAttribute("class", "bar");
      const label = document.createElementNS(SVG, "text");
      label.setAttribute("x", String(value >= 0 ? mid - 6 : mid + 6));
      label.setAttribute("y", String(i * rowH + rowH - 6));
      label.setAttribute("text-anchor", value >= 0 ? "end" : "start");
      label.setAttribute("font-size", "12");
      label.textContent = `${name} ${value >= 0 ? "+" : "\u2212"}${Math.abs(value).toFixed(3)}`;
      svg.append(rect, label);
    });
    const axis = document.createElementNS(SVG, "line");
    for (const [k, v] of Object.entries({ x1: mid, x2: mid, y1: 0, y2: rowH * entries.length + 6, stroke: "#333" })) {
      axis.setAttribute(k, String(v));
    }
    svg.append(axis);
    return svg;
  }

  function describe(p, container) {
    const label = el("p", { class: "result-label label-" + p.label }, p.label === "malignant" ? "Malignant" : "Benign");
    const pct = (100 * p.probability_malignant).toFixed(1);
    const gauge = el("div", { class: "gauge", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100",
      "aria-valuenow": pct, "aria-label": "Probability of malignancy" });
    const needle = el("div", { class: "needle" });
    needle.style.left = `calc(${pct}% - .125rem)`;
    const mark = el("span", { class: "threshold" }, "threshold " + p.threshold.toFixed(3));
    mark.style.left = (100 * p.threshold).toFixed(1) + "%";
    gauge.append(needle, mark);
    container.append(label,
      el("p", { class: "probability" }, `Probability of malignancy ${pct}% (calibrated). Confidence in this label ${(100 * p.confidence).toFixed(1)}%.`),
      gauge,
      el("p", {}, `Operating point: ${p.operating_point} (malignant when the probability is at least ${p.threshold.toFixed(3)}).`));
    if (p.indeterminate) {
      container.append(el("p", { class: "warning" },
        `Indeterminate: at the ${(100 * (1 - p.alpha)).toFixed(0)}% level the model cannot tell benign from malignant (its prediction set is {${p.prediction_set.join(", ")}}).`));
    }
    if (p.out_of_distribution) {
      container.append(el("p", { class: "warning" },
        "Out of distribution: this row is unlike the training data, so the answer should be disregarded."));
    }
    for (const w of p.warnings) container.append(el("p", { class: "warning" }, "Warning: " + w));
    if (p.explanation) {
      const e = p.explanation;
      container.append(el("h3", {}, "Why: the largest contributions"),
        el("p", {}, `Base value ${e.base_value.toFixed(3)} log-odds; the contributions add up to ${e.log_odds.toFixed(3)}. Vermillion pushes towards malignant, blue towards benign.`),
        bars(e, 10));
    }
    if (p.counterfactual) counterfactual(p.counterfactual, container);
    if (p.similar_cases) similarCases(p.similar_cases, p.label, container);
  }

  function counterfactual(c, container) {
    const statement = c.statement.charAt(0).toUpperCase() + c.statement.slice(1) + ".";
    container.append(el("h3", {}, "What would change the answer"),
      el("p", { class: "counterfactual", id: "counterfactual-statement" }, statement));
    if (!c.found) return;
    container.append(el("p", {}, `The smallest such change, ${c.distance.toFixed(2)} standard deviations in all, keeps each value in its training range. It says how the model behaves, not what the tumour is.`));
    const apply = el("button", { type: "button", class: "secondary", id: "apply-counterfactual" }, "Apply this change");
    apply.addEventListener("click", () => {
      for (const change of c.changes) setValue(change.feature, change.to);
      classify();
    });
    container.append(apply);
  }

  function similarCases(s, label, container) {
    const k = s.cases.length;
    const own = s.record_is_training_case ? " This record is itself a training case (distance 0)." : "";
    container.append(el("h3", {}, "Most similar training cases"),
      el("p", {}, `${s.agreeing} of the ${k} nearest training cases were diagnosed ${label}, as the model answers.${own} Nearness is the model's (each feature in its standard deviations), not a clinical similarity.`));
    const table = el("table", { id: "similar-cases" });
    const head = el("tr");
    for (const h of ["case", "diagnosis", "distance", "radius_worst", "concave_points_worst", "texture_worst"]) head.append(el("th", { scope: "col" }, h));
    table.append(head);
    s.cases.forEach((c, i) => {
      const tr = el("tr", { class: "similar-case" });
      tr.append(el("td", {}, String(i + 1)), el("td", { class: "label-" + c.diagnosis }, c.diagnosis), el("td", {}, c.distance.toFixed(2)));
      for (const f of ["radius_worst", "concave_points_worst", "texture_worst"]) tr.append(el("td", {}, String(c.features[f])));
      table.append(tr);
    });
    container.append(table);
  }

  // The what-if panel: each slider and typed value moves the form's own field, then asks again.
  const whatIf = document.getElementById("what-if");
  let pending = null;
  let asked = 0;

  function setValue(name, value) {
    input(name).value = String(value);
    document.getElementById("w-" + name).value = String(value);
    document.getElementById("wv-" + name).value = String(value);
  }

  function syncWhatIf() {
    for (const name of names) {
      const v = input(name).value;
      document.getElementById("w-" + name).value = v;
      document.getElementById("wv-" + name).value = v;
    }
    whatIf.hidden = false;
  }

  function schedule() {
    clearTimeout(pending);
    pending = setTimeout(classify, 250);
  }

  for (const name of names) {
    const [low, high] = schema.ranges[name];
    const slider = document.getElementById("w-" + name);
    const typed = document.getElementById("wv-" + name);
    slider.addEventListener("input", () => {
      typed.value = slider.value;
      typed.removeAttribute("aria-invalid");
      input(name).value = slider.value;
      schedule();
    });
    typed.addEventListener("input", () => {
      const v = Number(typed.value);
      if (typed.value.trim() === "" || !Number.isFinite(v) || v < low || v > high) {
        typed.setAttribute("aria-invalid", "true");
        status.textContent = `${name} must lie within its training range, ${low} to ${high}.`;
        return;
      }
      typed.removeAttribute("aria-invalid");
      slider.value = typed.value;
      input(name).value = typed.value;
      schedule();
    });
  }

  function showServerError(status_code, body) {
    const error = (body && body.error) || { detail: "The server answered " + status_code + "." };
    let placed = 0;
    for (const v of error.violations || []) {
      const m = /^features\.(.+)$/.exec(v.field);
      if (m && fieldError(m[1], v.message)) placed += 1;
    }
    status.textContent = `Error ${status_code}: ${error.detail}`;
    return placed;
  }

  async function post(path, payload) {
    const response = await fetch(api + path, { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify(payload) });
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    return [response.status, body];
  }

  async function classify() {
    clearErrors();
    const values = {};
    const problems = clientCheck(values);
    if (problems.length) {
      result.replaceChildren();
      for (const [name, message] of problems) fieldError(name, name + " " + message + ".");
      status.textContent = "Please correct the highlighted fields.";
      input(problems[0][0]).focus();
      return;
    }
    const cases = document.getElementById("cases").checked;
    const payload = { features: values, explain: document.getElementById("explain").checked,
      operating_point: document.getElementById("operating-point").value };
    if (cases) Object.assign(payload, { counterfactual: true, similar_cases: 5 });
    const mine = ++asked;
    status.textContent = "Asking the model\u2026";
    try {
      const [code, body] = await post("/predict", payload);
      if (mine !== asked) return; // a later question is on its way
      if (code !== 200) { result.replaceChildren(); showServerError(code, body); return; }
      status.textContent = "";
      result.replaceChildren(el("h2", {}, "Result"));
      describe(body, result);
      result.append(el("p", { class: "disclaimer-inline" }, body.disclaimer));
      syncWhatIf();
    } catch (err) {
      status.textContent = "The request failed: " + err;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    classify();
  });

  function parseCsv(text) {
    const rows = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l).map((l) => l.split(",").map((c) => c.trim()));
    if (!rows.length) throw new Error("paste at least one row");
    let header = null;
    if (rows[0].some((c) => c !== "" && !Number.isFinite(Number(c)) && !/^[MB]$/i.test(c))) header = rows.shift();
    return rows.map((cells, i) => {
      const record = {};
      if (header) {
        header.forEach((h, j) => {
          const name = schema.aliases[h.toLowerCase()];
          if (name) record[name] = Number(cells[j]);
        });
      } else {
        const numbers = cells.length === 32 ? cells.slice(2) : cells;
        if (numbers.length !== names.length) throw new Error(`row ${i + 1}: ${cells.length} values; expected 30 (or 32 with id and diagnosis first)`);
        names.forEach((name, j) => { record[name] = Number(numbers[j]); });
      }
      return record;
    });
  }

  document.getElementById("csv-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = document.getElementById("batch-result");
    const csvStatus = document.getElementById("csv-status");
    out.replaceChildren();
    csvStatus.textContent = "";
    let instances;
    try { instances = parseCsv(document.getElementById("csv").value); } catch (err) {
      csvStatus.textContent = "Cannot read the rows: " + err.message; return;
    }
    const [code, body] = await post("/predict/batch", { instances, explain: document.getElementById("explain").checked,
      operating_point: document.getElementById("operating-point").value });
    if (code !== 200) {
      const error = (body && body.error) || { detail: "The server answered " + code + "." };
      csvStatus.textContent = `Error ${code}: ${error.detail}`;
      return;
    }
    const table = el("table", { id: "batch-table" });
    const head = el("tr");
    for (const h of ["row", "label", "P(malignant)", "flags", "details"]) head.append(el("th", { scope: "col" }, h));
    table.append(head);
    body.predictions.forEach((p, i) => {
      const tr = el("tr", { class: "batch-row" });
      const flags = [p.indeterminate ? "indeterminate" : "", p.out_of_distribution ? "out of distribution" : ""].filter(Boolean).join(", ");
      const details = el("details");
      details.append(el("summary", {}, "show"));
      describe(p, details);
      tr.append(el("td", {}, String(i + 1)), el("td", { class: "label-" + p.label }, p.label),
        el("td", {}, p.probability_malignant.toFixed(4)), el("td", {}, flags || "none"));
      const cell = el("td");
      cell.append(details);
      tr.append(cell);
      table.append(tr);
    });
    out.append(table, el("p", {}, body.disclaimer));
  });


  // The "Outline nuclei" panel: an image stays in this browser; only its grey levels and the outlines are sent.
  const canvas = document.getElementById("outline-canvas");
  const drawing = canvas.getContext("2d");
  const outlineStatus = document.getElementById("outline-status");
  const limits = schema.outlines;
  const shape = { image: null, outlines: [], current: [] };

  function redraw() {
    const image = shape.image;
    if (image) {
      const rgba = drawing.createImageData(image.width, image.height);
      for (let i = 0; i < image.grey.length; i++) {
        rgba.data.set([image.grey[i], image.grey[i], image.grey[i], 255], i * 4);
      }
      drawing.putImageData(rgba, 0, 0);
    }
    drawing.lineWidth = 1.5;
    for (const [points, colour] of [...shape.outlines.map((o) => [o, "#0072B2"]), [shape.current, "#D55E00"]]) {
      if (!points.length) continue;
      drawing.strokeStyle = colour;
      drawing.beginPath();
      points.forEach(([x, y], i) => (i ? drawing.lineTo(x, y) : drawing.moveTo(x, y)));
      if (points !== shape.current) drawing.closePath();
      drawing.stroke();
    }
    const count = shape.outlines.length;
    document.getElementById("outline-count").textContent =
      `${count} outline${count === 1 ? "" : "s"} closed; ${shape.current.length} point(s) in the current one.`;
  }

  function useImage(width, height, grey) {
    if (width * height > limits.max_pixels) {
      outlineStatus.textContent = `The image has ${width * height} pixels; at most ${limits.max_pixels} can be sent. Crop it first.`;
      return;
    }
    shape.image = { width, height, grey };
    shape.outlines = [];
    shape.current = [];
    canvas.width = width;
    canvas.height = height;
    redraw();
  }

  document.getElementById("image-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    try {
      const bitmap = await createImageBitmap(file);
      const scratch = document.createElement("canvas");
      scratch.width = bitmap.width;
      scratch.height = bitmap.height;
      const context = scratch.getContext("2d");
      context.drawImage(bitmap, 0, 0);
      const rgba = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
      const grey = new Uint8Array(bitmap.width * bitmap.height);
      for (let i = 0; i < grey.length; i++) {
        grey[i] = Math.round(0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]);
      }
      useImage(bitmap.width, bitmap.height, grey);
      outlineStatus.textContent = "Image opened here; nothing was sent. Click around a nucleus to outline it.";
    } catch (err) {
      outlineStatus.textContent = "This browser cannot open that file as an image: " + err;
    }
  });

  document.getElementById("load-demo").addEventListener("click", async () => {
    const response = await fetch(api + "/features/demo");
    const demo = await response.json();
    const raw = atob(demo.image.pixels);
    const grey = Uint8Array.from(raw, (c) => c.charCodeAt(0));
    useImage(demo.image.width, demo.image.height, grey);
    outlineStatus.textContent = demo.note;
  });

  canvas.addEventListener("click", (event) => {
    if (!shape.image) { outlineStatus.textContent = "Open an image, or the synthetic demo, first."; return; }
    const box = canvas.getBoundingClientRect();
    const x = ((event.clientX - box.left) * canvas.width) / box.width;
    const y = ((event.clientY - box.top) * canvas.height) / box.height;
    if (shape.current.length >= limits.max_vertices) return;
    shape.current.push([Math.round(x * 100) / 100, Math.round(y * 100) / 100]);
    redraw();
  });

  document.getElementById("close-outline").addEventListener("click", () => {
    if (shape.current.length < 3) { outlineStatus.textContent = "An outline needs at least 3 points."; return; }
    shape.outlines.push(shape.current);
    shape.current = [];
    redraw();
  });
  document.getElementById("undo-point").addEventListener("click", () => { shape.current.pop(); redraw(); });
  document.getElementById("clear-outlines").addEventListener("click", () => {
    shape.outlines = [];
    shape.current = [];
    redraw();
  });

  function base64(bytes) {
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  }

  function nucleiTable(nuclei) {
    const table = el("table", { id: "nuclei" });
    const columns = Object.keys(nuclei[0]);
    const head = el("tr");
    for (const h of ["nucleus", ...columns]) head.append(el("th", { scope: "col" }, h));
    table.append(head);
    nuclei.forEach((n, i) => {
      const row = el("tr");
      row.append(el("td", {}, String(i + 1)), ...columns.map((c) => el("td", {}, n[c].toPrecision(4))));
      table.append(row);
    });
    return table;
  }

  document.getElementById("measure").addEventListener("click", async () => {
    const pasted = document.getElementById("geojson").value.trim();
    let outlines = shape.outlines;
    if (pasted) {
      try { outlines = JSON.parse(pasted); } catch (err) { outlineStatus.textContent = "The pasted text is not JSON: " + err.message; return; }
    }
    const payload = { outlines };
    const scale = Number(document.getElementById("scale").value);
    if (Number.isFinite(scale) && scale > 0 && scale !== 1) payload.scale = scale;
    if (shape.image) {
      payload.image = { width: shape.image.width, height: shape.image.height, pixels: base64(shape.image.grey) };
    }
    outlineStatus.textContent = "Measuring\u2026";
    const [code, body] = await post("/features", payload);
    const table = document.getElementById("nuclei-table");
    table.replaceChildren();
    if (code !== 200) {
      const error = (body && body.error) || { detail: "The server answered " + code + "." };
      outlineStatus.textContent = `Error ${code}: ${error.detail}`;
      return;
    }
    table.append(nucleiTable(body.nuclei));
    document.getElementById("safeguards").textContent =
      `Conventions ${body.conventions}. ${body.safeguards} ${body.warnings.join(" ")}`;
    for (const [name, value] of Object.entries(body.features)) input(name).value = String(value);
    if (body.missing.length) {
      outlineStatus.textContent = `Measured ${body.n_nuclei} nuclei; ${body.missing.join(", ")} cannot be measured without an image, so the form is not complete.`;
      return;
    }
    outlineStatus.textContent = `Measured ${body.n_nuclei} nuclei and filled the form; classifying it.`;
    await classify();
  });

  document.getElementById("fill-benign").addEventListener("click", () => fill("benign"));
  document.getElementById("fill-malignant").addEventListener("click", () => fill("malignant"));
})();
