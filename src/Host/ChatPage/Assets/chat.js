// The chat page of `pipeline serve` (docs/chat-page.md): streams answers from /v1/chat/completions, stops them by
// aborting the fetch (the server then aborts the request), sends the sampling settings, images to a model that
// reads them, and renders answers as markdown (markdown-it, raw HTML off) with highlighted code (highlight.js).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const STORAGE = "pipeline.chat.settings.v1";
  const NUMBERS = { temperature: parseFloat, top_p: parseFloat, top_k: parseInt, min_p: parseFloat, max_tokens: parseInt,
    seed: parseInt, repetition_penalty: parseFloat, presence_penalty: parseFloat, frequency_penalty: parseFloat, min_tokens: parseInt };
  const TEXTS = ["system", "stop", "api_key"];
  const CHECKS = { ignore_eos: false, skip_special_tokens: true };
  const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

  let models = [];
  let history = [];      // the conversation as sent to the API: {role, content}
  let attachments = [];  // images for the next message: {name, url}
  let controller = null; // the running request's AbortController

  // ---- markdown ----------------------------------------------------------------------------------------------
  const md = window.markdownit({ html: false, linkify: false, typographer: false });
  const escapeHtml = md.utils.escapeHtml;
  function highlight(code, lang) {
    if (window.hljs && lang && hljs.getLanguage(lang)) {
      try { return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value; } catch (_) { /* plain below */ }
    }
    return escapeHtml(code);
  }
  md.renderer.rules.fence = (tokens, idx) => {
    const token = tokens[idx];
    const lang = (token.info || "").trim().split(/\s+/)[0];
    return `<div class="code"><div class="code-head"><span>${escapeHtml(lang || "text")}</span>` +
      `<button type="button" class="copy">Copy</button></div><pre><code class="hljs">${highlight(token.content, lang)}</code></pre></div>`;
  };
  md.renderer.rules.code_block = (tokens, idx) =>
    `<div class="code"><div class="code-head"><span>text</span><button type="button" class="copy">Copy</button></div>` +
    `<pre><code class="hljs">${escapeHtml(tokens[idx].content)}</code></pre></div>`;
  const defaultLink = md.renderer.rules.link_open || ((tokens, idx, options, env, self) => self.renderToken(tokens, idx, options));
  md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
    tokens[idx].attrSet("target", "_blank");
    tokens[idx].attrSet("rel", "noopener noreferrer");
    return defaultLink(tokens, idx, options, env, self);
  };

  // ---- settings ----------------------------------------------------------------------------------------------
  function loadSettings() {
    let saved = {};
    try { saved = JSON.parse(localStorage.getItem(STORAGE) || "{}"); } catch (_) { /* defaults */ }
    for (const k of [...Object.keys(NUMBERS), ...TEXTS]) $(k).value = saved[k] ?? "";
    for (const [k, d] of Object.entries(CHECKS)) $(k).checked = saved[k] ?? d;
  }
  function saveSettings() {
    const s = {};
    for (const k of [...Object.keys(NUMBERS), ...TEXTS]) s[k] = $(k).value;
    for (const k of Object.keys(CHECKS)) s[k] = $(k).checked;
    localStorage.setItem(STORAGE, JSON.stringify(s));
  }
  function samplingFields() {
    const body = {};
    for (const [k, parse] of Object.entries(NUMBERS)) {
      const el = $(k);
      if (el.value.trim() === "") {
        if (!el.validity.valid) throw new Error(`${k}: not a number`);
        continue;
      }
      const v = parse(el.value);
      if (Number.isNaN(v)) throw new Error(`${k}: not a number`);
      body[k] = v;
    }
    const stop = $("stop").value.split("\n").filter((s) => s.length > 0);
    if (stop.length) body.stop = stop;
    if ($("ignore_eos").checked) body.ignore_eos = true;
    if (!$("skip_special_tokens").checked) body.skip_special_tokens = false;
    return body;
  }
  function headers() {
    const h = { "Content-Type": "application/json" };
    const key = $("api_key").value.trim();
    if (key) h.Authorization = `Bearer ${key}`;
    return h;
  }
  async function errorMessage(response) {
    const raw = await response.text();
    let message = raw;
    try { message = JSON.parse(raw).error.message; } catch (_) { /* not OpenAI's shape */ }
    if (response.status === 401) message += " (set the API key in Settings)";
    return `${response.status}: ${message || response.statusText}`;
  }

  // ---- models ------------------------------------------------------------------------------------------------
  async function loadModels() {
    try {
      const r = await fetch("/v1/models", { headers: headers() });
      if (!r.ok) throw new Error(await errorMessage(r));
      models = (await r.json()).data || [];
      const select = $("model");
      const previous = select.value;
      select.replaceChildren(...models.map((m) => new Option(m.id, m.id)));
      if (models.some((m) => m.id === previous)) select.value = previous;
      modelChanged();
      setStatus("");
    } catch (e) {
      setStatus(`Could not list the models: ${e.message}`, true);
    }
  }
  const currentModel = () => models.find((m) => m.id === $("model").value);
  const takesImages = () => (currentModel()?.input_modalities || []).includes("image");
  function modelChanged() {
    const m = currentModel();
    $("model-info").textContent = m ? `${m.max_model_len} tokens of context · reads ${(m.input_modalities || ["text"]).join(" and ")}` : "";
    $("attach-label").hidden = !takesImages();
    if (!takesImages()) { attachments = []; renderAttachments(); }
    document.title = m ? `${m.id} · Pipeline chat` : "Pipeline chat";
  }

  // ---- images ------------------------------------------------------------------------------------------------
  function addImages(files) {
    if (!takesImages()) { setStatus("This model does not read images.", true); return; }
    for (const file of files) {
      if (!file.type.startsWith("image/")) { setStatus(`${file.name}: not an image`, true); continue; }
      if (file.size > MAX_IMAGE_BYTES) { setStatus(`${file.name}: larger than 20 MB`, true); continue; }
      const reader = new FileReader();
      reader.onload = () => { attachments.push({ name: file.name, url: reader.result }); renderAttachments(); };
      reader.onerror = () => setStatus(`${file.name}: could not be read`, true);
      reader.readAsDataURL(file);
    }
  }
  function renderAttachments() {
    const box = $("attachments");
    box.replaceChildren(...attachments.map((a, i) => {
      const fig = document.createElement("figure");
      const img = document.createElement("img");
      img.src = a.url; img.alt = a.name; img.title = a.name;
      const remove = document.createElement("button");
      remove.type = "button"; remove.textContent = "×"; remove.title = `Remove ${a.name}`;
      remove.onclick = () => { attachments.splice(i, 1); renderAttachments(); };
      fig.append(img, remove);
      return fig;
    }));
    box.hidden = attachments.length === 0;
  }

  // ---- messages ----------------------------------------------------------------------------------------------
  const chat = $("chat");
  const nearBottom = () => chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
  const scrollDown = () => { chat.scrollTop = chat.scrollHeight; };

  function messageShell(role, label) {
    $("empty").hidden = true;
    const el = document.createElement("div");
    el.className = `message ${role}`;
    const who = document.createElement("div");
    who.className = "who"; who.textContent = label;
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    el.append(who, bubble);
    $("messages").append(el);
    return { el, bubble };
  }

  function addUserMessage(text, images) {
    const { bubble } = messageShell("user", "You");
    if (images.length) {
      const box = document.createElement("div");
      box.className = "images";
      for (const url of images) { const img = document.createElement("img"); img.src = url; img.alt = "attached image"; box.append(img); }
      bubble.append(box);
    }
    bubble.append(document.createTextNode(text));
    scrollDown();
  }

  function addAssistantMessage(model) {
    const { el, bubble } = messageShell("assistant", model);
    const details = document.createElement("details");
    details.className = "reasoning"; details.hidden = true;
    const summary = document.createElement("summary"); summary.textContent = "Thinking";
    const reasoningText = document.createElement("div"); reasoningText.className = "reasoning-text";
    details.append(summary, reasoningText);
    const content = document.createElement("div");
    content.className = "content streaming";
    const meta = document.createElement("div");
    meta.className = "meta";
    bubble.append(details, content);
    el.append(meta);
    let pending = false, finished = false;
    const view = {
      text: "", reasoning: "",
      schedule() {
        if (pending) return;
        pending = true;
        requestAnimationFrame(() => { pending = false; if (!finished) view.render(); });
      },
      render() {
        const follow = nearBottom();
        content.innerHTML = md.render(view.text);
        if (view.reasoning) { details.hidden = false; reasoningText.textContent = view.reasoning; }
        if (follow) scrollDown();
      },
      finish(metaText, error) {
        view.render();
        finished = true; // a render still scheduled must not redraw over what follows
        content.classList.remove("streaming");
        if (error) {
          el.classList.add("error");
          const p = document.createElement("p");
          p.className = "error-text"; p.textContent = error;
          bubble.append(p);
        }
        meta.textContent = metaText;
        el.dataset.finishReason = view.finishReason || "";
        el.dataset.done = "true";
      },
    };
    return view;
  }

  // ---- sending and stopping ----------------------------------------------------------------------------------
  function setBusy(busy) {
    $("send").hidden = busy;
    $("stop").hidden = !busy;
    document.body.classList.toggle("busy", busy);
  }
  function setStatus(text, error = false) {
    const s = $("status");
    s.textContent = text;
    s.classList.toggle("error", error);
  }

  async function send(text) {
    const model = $("model").value;
    if (!model) { setStatus("No model is served (yet): is the server up?", true); return; }
    let sampling;
    try { sampling = samplingFields(); } catch (e) { setStatus(e.message, true); return; }
    // Images first, then the text: the order most chat templates and their models were trained with.
    const images = attachments.map((a) => a.url);
    const content = images.length
      ? [...images.map((url) => ({ type: "image_url", image_url: { url } })), { type: "text", text }]
      : text;
    history.push({ role: "user", content });
    const turns = history;
    attachments = []; renderAttachments();
    addUserMessage(text, images);
    const system = $("system").value.trim();
    const body = {
      model, stream: true, stream_options: { include_usage: true },
      messages: [...(system ? [{ role: "system", content: system }] : []), ...history],
      ...sampling,
    };
    const view = addAssistantMessage(model);
    controller = new AbortController();
    setBusy(true);
    setStatus("Generating…");
    const started = performance.now();
    let firstToken = null, chunks = 0, usage = null, error = null, stopped = false;
    try {
      const r = await fetch("/v1/chat/completions", { method: "POST", headers: headers(), body: JSON.stringify(body), signal: controller.signal });
      if (!r.ok) throw new Error(await errorMessage(r));
      const reader = r.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          for (const line of event.split("\n")) {
            if (!line.startsWith("data:")) continue;
            const data = line.slice(5).trim();
            if (data === "[DONE]") continue;
            const chunk = JSON.parse(data);
            if (chunk.error) throw new Error(`${chunk.error.code ?? "error"}: ${chunk.error.message || "the server reported an error"}`);
            if (chunk.usage) usage = chunk.usage;
            for (const choice of chunk.choices || []) {
              const delta = choice.delta || {};
              if (delta.content) { view.text += delta.content; chunks++; }
              if (delta.reasoning_content) { view.reasoning += delta.reasoning_content; chunks++; }
              if (choice.finish_reason) view.finishReason = choice.finish_reason;
            }
            if (firstToken === null && chunks > 0) firstToken = performance.now();
            view.schedule();
          }
        }
      }
    } catch (e) {
      if (e.name === "AbortError") { stopped = true; view.finishReason = "abort"; }
      else error = e.message;
    } finally {
      controller = null;
      setBusy(false);
    }
    if (turns !== history) { /* New chat was pressed meanwhile: this answer belongs to no conversation */ }
    else if (error && !view.text) history.pop(); // nothing came back: the message can be sent again
    else history.push({ role: "assistant", content: view.text });
    const seconds = (performance.now() - started) / 1000;
    // Without usage (a stopped answer) the streamed chunks count the tokens: one chunk a step, one token each.
    const tokens = usage ? usage.completion_tokens : chunks;
    const parts = [];
    if (usage) parts.push(`prompt ${usage.prompt_tokens} tokens`);
    if (tokens > 0) parts.push(`answer ${usage ? "" : "≈"}${tokens} tokens`);
    if (firstToken !== null) parts.push(`first after ${Math.round(firstToken - started)} ms`);
    if (tokens > 1 && firstToken !== null && seconds > 0) parts.push(`${(tokens / seconds).toFixed(1)} tokens/s`);
    if (stopped) parts.push("stopped");
    else if (view.finishReason) parts.push(`finish_reason ${view.finishReason}`);
    view.finish(parts.join(" · "), error);
    setStatus(error ? "The request failed." : stopped ? "Stopped: the server aborted the request." : "", !!error);
  }

  function stop() { if (controller) controller.abort(); }

  function newChat() {
    stop();
    history = [];
    $("messages").replaceChildren();
    $("empty").hidden = false;
    setStatus("");
    $("prompt").focus();
  }

  // ---- wiring ------------------------------------------------------------------------------------------------
  function autosize() {
    const p = $("prompt");
    p.style.height = "auto";
    p.style.height = `${Math.min(p.scrollHeight, window.innerHeight * 0.4)}px`;
  }

  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    if (controller) return;
    const text = $("prompt").value;
    if (!text.trim() && attachments.length === 0) return;
    $("prompt").value = "";
    autosize();
    send(text);
  });
  $("prompt").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("composer").requestSubmit(); }
  });
  $("prompt").addEventListener("input", autosize);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") stop(); });
  $("stop").addEventListener("click", stop);
  $("new-chat").addEventListener("click", newChat);
  $("model").addEventListener("change", modelChanged);
  $("toggle-settings").addEventListener("click", () => {
    const aside = $("settings");
    aside.hidden = !aside.hidden;
    $("toggle-settings").setAttribute("aria-expanded", String(!aside.hidden));
  });
  $("settings").addEventListener("input", saveSettings);
  $("api_key").addEventListener("change", loadModels);
  $("reset-settings").addEventListener("click", () => { localStorage.removeItem(STORAGE); loadSettings(); });
  $("attach").addEventListener("change", (e) => { addImages([...e.target.files]); e.target.value = ""; });
  $("messages").addEventListener("click", async (e) => {
    const button = e.target.closest("button.copy");
    if (!button) return;
    const code = button.closest(".code").querySelector("code").textContent;
    try { await navigator.clipboard.writeText(code); button.textContent = "Copied"; }
    catch (_) { button.textContent = "Copy failed"; }
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  });
  document.addEventListener("paste", (e) => {
    const files = [...(e.clipboardData?.files || [])].filter((f) => f.type.startsWith("image/"));
    if (files.length && takesImages()) { e.preventDefault(); addImages(files); }
  });
  document.addEventListener("dragover", (e) => {
    if (takesImages() && e.dataTransfer?.types.includes("Files")) { e.preventDefault(); document.body.classList.add("dragging"); }
  });
  document.addEventListener("dragleave", (e) => { if (!e.relatedTarget) document.body.classList.remove("dragging"); });
  document.addEventListener("drop", (e) => {
    document.body.classList.remove("dragging");
    if (e.dataTransfer?.files.length) { e.preventDefault(); addImages([...e.dataTransfer.files]); }
  });
  if (window.innerWidth < 760) $("settings").hidden = true;

  loadSettings();
  loadModels();
  $("prompt").focus();
})();
