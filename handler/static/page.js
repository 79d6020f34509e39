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

  document.getElementById("fill-benign").addEventListener("click", () => fill("benign"));
  document.getElementById("fill-malignant").addEventListener("click", () => fill("malignant"));
})();
