"use strict";
// The llasmol web page: pick a task, send the input to /v1/predict (or a free-text question to
// /v1/chat/completions), show the answer, its alternatives and RDKit drawings from /v1/depict.

const CHAT = "__chat__";
const INPUT_LABELS = { SMILES: "SMILES", IUPAC: "IUPAC name", null: "Description" };
const CHAT_EXAMPLES = [
  "Can you tell me the IUPAC name of <SMILES> CC(=O)OC1=CC=CC=C1C(=O)O </SMILES>?",
  "What is the molecular formula of <SMILES> CN1C=NC2=C1C(=O)N(C)C(=O)N2C </SMILES>?",
  "Is <SMILES> CCO </SMILES> soluble in water?",
];

const state = { tasks: new Map(), examples: [] };
const $ = (id) => document.getElementById(id);

async function fetchJson(url, options) {
  const response = await fetch(url, options);
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const message = body && body.error ? body.error.message : `HTTP ${response.status}`;
    throw new Error(`${message} (HTTP ${response.status})`);
  }
  return body;
}

async function init() {
  fetchJson("/health").then((health) => { $("model-name").textContent = health.model; }).catch(() => {});
  const { tasks } = await fetchJson("/v1/tasks");
  const select = $("task");
  for (const task of tasks) {
    state.tasks.set(task.name, task);
    select.append(new Option(`${task.short_name} · ${task.description}`, task.name));
  }
  select.append(new Option("Free-text question (chat)", CHAT));
  select.addEventListener("change", showTask);
  $("query-form").addEventListener("submit", submit);
  showTask();
}

function showTask() {
  const name = $("task").value;
  const task = state.tasks.get(name);
  $("task-description").textContent = task
    ? `Answer: ${task.answer_type}. Beam search with ${task.generation.num_beams} beams.`
    : "Ask anything; wrap a molecule in <SMILES> … </SMILES> to have it checked and canonicalized.";
  $("input-label").textContent = task ? INPUT_LABELS[task.input_tag] : "Question";
  $("input").placeholder = task ? placeholderFor(task) : CHAT_EXAMPLES[0];
  const targets = task && task.multi_target ? task.targets : [];
  $("target-row").classList.toggle("hidden", targets.length === 0);
  $("target").replaceChildren(...targets.map((target) => new Option(target, target)));
  state.examples = task ? task.examples : CHAT_EXAMPLES.map((input) => ({ input, target: null, reference: null }));
  $("examples").replaceChildren(...state.examples.map(exampleButton));
  $("input").value = "";
}

function placeholderFor(task) {
  return task.examples.length ? `e.g. ${task.examples[0].input}` : INPUT_LABELS[task.input_tag];
}

function exampleButton(example, index) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "example";
  button.title = example.input;
  button.textContent = example.input.length > 48 ? `${example.input.slice(0, 46)}…` : example.input;
  button.dataset.index = String(index);
  button.addEventListener("click", () => {
    $("input").value = example.input;
    if (example.target) $("target").value = example.target;
    $("input").dataset.reference = example.reference || "";
    $("input").dataset.referenceFor = example.input;
  });
  return button;
}

async function submit(event) {
  event.preventDefault();
  const name = $("task").value;
  const input = $("input").value.trim();
  if (!input) return;
  setBusy(true);
  hideError();
  try {
    const result = name === CHAT ? await askChat(input) : await predict(name, input);
    await showResult(result);
  } catch (error) {
    showError(error.message);
  } finally {
    setBusy(false);
  }
}

async function predict(name, input) {
  const task = state.tasks.get(name);
  const body = { task: name, input };
  if (task.multi_target) body.target = $("target").value;
  const prediction = await fetchJson("/v1/predict", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  return {
    answer: prediction.answer === null ? prediction.answer_text : String(prediction.answer),
    valid: prediction.valid,
    alternatives: prediction.alternatives || [],
    raw: (prediction.raw_outputs || []).join("\n—\n"),
    timing: `${prediction.time_s.toFixed(2)} s (model ${prediction.model_s.toFixed(2)} s, batch of ${prediction.batch_size})`,
    inputSmiles: task.input_tag === "SMILES" ? input : null,
    answerSmiles: task.answer_type === "smiles" && prediction.valid ? prediction.answer_text : null,
    isText: task.answer_type === "text",
    reference: $("input").dataset.referenceFor === input ? $("input").dataset.reference : "",
    drawAlternatives: task.answer_type === "smiles",
  };
}

async function askChat(query) {
  const started = performance.now();
  const completion = await fetchJson("/v1/chat/completions", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: query }], canonicalize_smiles: true }),
  });
  const content = completion.choices[0].message.content;
  return {
    answer: content, valid: null, alternatives: [], raw: content,
    timing: `${((performance.now() - started) / 1000).toFixed(2)} s`,
    inputSmiles: smilesSpan(query), answerSmiles: smilesSpan(content), isText: true, reference: "",
    drawAlternatives: false,
  };
}

function smilesSpan(text) {
  const match = /<SMILES>([\s\S]*?)<\/SMILES>/.exec(text || "");
  return match ? match[1].trim() : null;
}

async function showResult(result) {
  $("empty-result").classList.add("hidden");
  $("result-body").classList.remove("hidden");
  const answer = $("answer");
  answer.textContent = result.answer || "(no answer)";
  answer.classList.toggle("text", result.isText);
  const validity = $("validity");
  validity.classList.toggle("hidden", result.valid === null);
  validity.className = `badge ${result.valid ? "valid" : "invalid"}${result.valid === null ? " hidden" : ""}`;
  validity.textContent = result.valid ? "valid answer" : "no valid answer";
  $("reference").classList.toggle("hidden", !result.reference);
  $("reference").textContent = result.reference ? `Reference answer in the data set: ${result.reference}` : "";
  showAlternatives(result);
  $("raw").textContent = result.raw;
  $("timing").textContent = `Answered in ${result.timing}.`;
  await Promise.all([
    drawInto("input", result.inputSmiles),
    drawInto("answer", result.answerSmiles),
  ]);
}

function showAlternatives(result) {
  const items = result.alternatives.filter((alternative) => alternative !== "");
  $("alternatives-block").classList.toggle("hidden", items.length === 0);
  $("alternatives").replaceChildren(...items.map((alternative) => {
    const item = document.createElement("li");
    item.textContent = alternative;
    if (result.drawAlternatives) {
      item.className = "clickable";
      item.title = "Draw this molecule";
      item.addEventListener("click", () => drawInto("answer", alternative, "Alternative"));
    }
    return item;
  }));
}

async function drawInto(which, smiles, caption) {
  const figure = $(`${which}-figure`);
  const holder = $(`${which}-drawing`);
  holder.replaceChildren();
  if (which === "answer") $("answer-caption").textContent = caption || "Answer";
  if (!smiles) { figure.classList.add("hidden"); return; }
  const response = await fetch(`/v1/depict?smiles=${encodeURIComponent(smiles)}`);
  if (!response.ok) { figure.classList.add("hidden"); return; }
  const svg = new DOMParser().parseFromString(await response.text(), "image/svg+xml").documentElement;
  if (svg.nodeName.toLowerCase() !== "svg") { figure.classList.add("hidden"); return; }
  holder.append(document.importNode(svg, true));
  figure.classList.remove("hidden");
}

function setBusy(busy) {
  $("submit").disabled = busy;
  $("status").textContent = busy ? "Thinking…" : "";
}

function showError(message) {
  $("error").textContent = message;
  $("error").classList.remove("hidden");
}

function hideError() {
  $("error").classList.add("hidden");
}

init().catch((error) => showError(`Could not load the tasks: ${error.message}`));
