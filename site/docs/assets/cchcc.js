/* CCHCC site: referral form checks and sending, assisted sign-ups (outreach staff, ?assisted=1,
   answers kept on the device while offline), and the thanks page reference. Progressive
   enhancement only: without this file the form posts to the intake function, which answers with
   the same messages. Every word it shows comes from the page, in the page's language
   (hub.form.browser_rules). No framework, no libraries. */
(function () {
  "use strict";

  var SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/;
  var CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

  function param(name) {
    var match = new RegExp("[?&]" + name + "=([^&#]*)").exec(window.location.search);
    if (!match) return "";
    try {
      return decodeURIComponent(match[1].replace(/\+/g, " "));
    } catch (e) {
      return "";
    }
  }

  // "%(name)s" placeholders, as Python fills them in hub.i18n.
  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (whole, name) { return name in values ? String(values[name]) : whole; });
  }

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    if (window.crypto && window.crypto.getRandomValues) window.crypto.getRandomValues(bytes);
    else for (var i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // As hub.validation.text: control and invisible characters out, one line unless multi-line, trimmed.
  function clean(value, multiline, rules) {
    if (typeof value !== "string") return "";
    value = value.replace(/\r\n?|[\u2028\u2029]/g, "\n").replace(CONTROL, "");
    if (rules && rules.invisible) value = value.replace(new RegExp(rules.invisible, "g"), "");
    if (!multiline) value = value.replace(/\s*[\t\n]+\s*/g, " ");
    return value.trim();
  }

  // As hub.validation.readable: a letter or a digit of any script (no check where the browser is too old).
  var READABLE = (function () { try { return new RegExp("[\\p{L}\\p{N}]", "u"); } catch (e) { return null; } })();
  function readable(value) { return !READABLE || READABLE.test(value); }

  // As hub.validation.plain: full-width forms folded, digits of any script as 0-9.
  function plain(value, rules) {
    if (typeof value.normalize === "function") value = value.normalize("NFKC");
    var zeros = rules.digitZeros || [];
    return value.replace(/[\ud800-\udbff][\udc00-\udfff]|[^\x00-\x7f]/g, function (ch) {
      var cp = ch.codePointAt ? ch.codePointAt(0) : ch.charCodeAt(0);
      for (var i = 0; i < zeros.length; i++) {
        if (cp >= zeros[i] && cp <= zeros[i] + 9) return String(cp - zeros[i]);
      }
      return ch;
    });
  }

  // As hub.validation.normalise_phone.
  function ukPhone(value, allowed) {
    if (!allowed.test(value)) return null;
    var digits = value.replace(/[^0-9+]/g, "");
    if (digits.indexOf("+44") === 0) digits = "0" + digits.slice(3).replace(/^0/, "");
    else if (digits.indexOf("0044") === 0) digits = "0" + digits.slice(4).replace(/^0/, "");
    if (digits.indexOf("+") !== -1 || digits.charAt(0) !== "0" || digits.indexOf("00") === 0) return null;
    return digits.length >= 10 && digits.length <= 11 ? digits : null;
  }

  // One check per kind of field, as in hub.validation: a problem code, or null.
  var KINDS = {
    email: function (value, rules) {
      value = plain(value, rules);
      var domain = value.slice(value.lastIndexOf("@") + 1);
      var bad = !new RegExp(rules.emailPattern).test(value) || value.indexOf("..") !== -1 ||
        domain.charAt(0) === "." || domain.charAt(domain.length - 1) === ".";
      return bad ? "invalid" : null;
    },
    tel: function (value, rules) { return ukPhone(plain(value, rules), new RegExp(rules.phoneAllowed)) === null ? "invalid" : null; },
    postcode: function (value, rules) {
      return new RegExp(rules.postcodePattern).test(plain(value, rules).replace(/\s+/g, "").toUpperCase()) ? null : "invalid";
    },
    "whole-number": function (value, rules, field) {
      value = plain(value, rules);
      if (!/^[0-9]{1,3}$/.test(value)) return "invalid";
      var number = parseInt(value, 10);
      if (field.minimum !== null && number < field.minimum) return "too_small";
      if (field.maximum !== null && number > field.maximum) return "too_big";
      return null;
    },
    choice: function (value, rules, field) { return field.choices.indexOf(value) === -1 ? "invalid" : null; },
    agree: function (value) { return value === "yes" ? null : "required"; }
  };

  // As hub.validation.parse_submission, from the same field table (hub.form.browser_rules):
  // same checks, same order, same messages. ``values`` as answers() gives them.
  function check(values, rules) {
    var errors = {};
    rules.fields.forEach(function (field) {
      var code = null, value = values[field.name];
      if (field.kind === "choices") {
        var picked = Array.isArray(value) ? value : (value ? [value] : []);
        if (picked.length > field.choices.length || picked.some(function (v) { return field.choices.indexOf(v) === -1; })) code = "invalid";
      } else {
        value = clean(value, field.kind === "long-text", rules);
        if (field.kind === "text" && !readable(value)) value = "";
        if (!value) code = field.required ? "required" : null;
        else if (field.maxLength !== null && value.length > field.maxLength) code = field.kind === "postcode" ? "invalid" : "too_long";
        else if (KINDS[field.kind]) code = KINDS[field.kind](value, rules, field);
      }
      if (code) errors[field.name] = field.messages[code];
    });
    var reachable = rules.contact.some(function (name) { return clean(values[name], false, rules); });
    if (!reachable && !errors[rules.contact[0]]) {
      var first = rules.fields.filter(function (f) { return f.name === rules.contact[0]; })[0];
      errors[first.name] = first.messages.contact;
    }
    var ordered = {};
    rules.fields.forEach(function (f) { if (errors[f.name]) ordered[f.name] = errors[f.name]; });
    return ordered;
  }

  function answers(form) {
    var data = {}, interests = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.type === "submit" || el.type === "button") return;
      if (el.type === "checkbox") {
        if (el.name === "interests") { if (el.checked) interests.push(el.value); }
        else data[el.name] = el.checked ? el.value : "";
      } else if (el.type === "radio") {
        if (el.checked) data[el.name] = el.value;
      } else {
        data[el.name] = el.value;
      }
    });
    data.interests = interests;
    return data;
  }

  function Form(form) {
    this.form = form;
    this.rules = JSON.parse(document.getElementById("cc-form-rules").textContent);
    this.text = this.rules.text;
    this.summary = document.querySelector("[data-error-summary]");
    this.status = form.querySelector("[data-form-status]");
    this.button = form.querySelector("[data-submit]");
    this.errorPrefix = this.text.error + " ";
    this.title = document.title.indexOf(this.errorPrefix) === 0 ? document.title.slice(this.errorPrefix.length) : document.title;
    this.busy = false;
    this.hidden("submission_id", this.hidden("submission_id") || newId());
    var source = param("s");
    if (SLUG.test(source)) this.hidden("source", source);
    var meta = document.querySelector('meta[name="cc-campaign"]');
    if (!this.hidden("campaign") && meta && SLUG.test(meta.content)) this.hidden("campaign", meta.content);
    this.assisted = param("assisted") === "1" ? new Assisted(this) : null;
    form.addEventListener("submit", this.onSubmit.bind(this));
    if (this.summary) this.summary.addEventListener("click", this.onSummaryClick.bind(this));
  }

  Form.prototype.hidden = function (name, value) {
    var el = this.form.elements[name];
    if (!el) return "";
    if (value !== undefined) el.value = value;
    return el.value;
  };

  Form.prototype.clearErrors = function () {
    var form = this.form;
    Array.prototype.forEach.call(form.querySelectorAll(".cc-error-message"), function (p) {
      var id = p.id;
      p.parentNode.removeChild(p);
      Array.prototype.forEach.call(form.querySelectorAll("[aria-describedby]"), function (el) {
        var ids = el.getAttribute("aria-describedby").split(/\s+/).filter(function (x) { return x && x !== id; });
        if (ids.length) el.setAttribute("aria-describedby", ids.join(" "));
        else el.removeAttribute("aria-describedby");
      });
    });
    Array.prototype.forEach.call(form.querySelectorAll(".cc-form-group--error"), function (g) {
      g.classList.remove("cc-form-group--error");
    });
    Array.prototype.forEach.call(form.querySelectorAll(".cc-input--error"), function (i) {
      i.classList.remove("cc-input--error");
    });
    if (this.summary) this.summary.hidden = true;
    document.title = this.title;
  };

  // Empty the form for the next person (assisted sign-ups), with a new submission id.
  Form.prototype.reset = function () {
    var keep = {};
    ["campaign", "source", "lang", "event", "channel"].forEach(function (name) { keep[name] = this.hidden(name); }, this);
    this.form.reset();
    Object.keys(keep).forEach(function (name) { this.hidden(name, keep[name]); }, this);
    this.hidden("submission_id", newId());
    this.clearErrors();
  };

  Form.prototype.showErrors = function (errors) {
    var self = this, list, first = {};
    this.rules.fields.forEach(function (f) { first[f.name] = f.firstInput; });
    this.clearErrors();
    var fields = this.rules.fields.map(function (f) { return f.name; }).filter(function (f) { return errors[f]; });
    Object.keys(errors).forEach(function (f) { if (fields.indexOf(f) === -1) fields.push(f); });
    if (!fields.length) return;
    list = this.summary.querySelector("ul");
    list.textContent = "";
    fields.forEach(function (field) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = "#" + (first[field] || field);
      a.textContent = errors[field];
      li.appendChild(a);
      list.appendChild(li);
      self.inlineError(field, errors[field]);
    });
    document.title = this.errorPrefix + this.title;
    this.summary.hidden = false;
    this.summary.focus();
    this.summary.scrollIntoView();
  };

  Form.prototype.inlineError = function (field, message) {
    var group = this.form.querySelector('[data-field="' + field + '"]');
    if (!group) return;
    var p = document.createElement("p"), span = document.createElement("span");
    p.id = field + "-error";
    p.className = "cc-error-message";
    span.className = "cc-visually-hidden";
    span.textContent = this.text.error;
    p.appendChild(span);
    p.appendChild(document.createTextNode(" " + message));
    var input = group.querySelector("input.cc-input, textarea");
    var choices = group.querySelector(".cc-checkboxes, .cc-radios");
    var before = choices || input;
    before.parentNode.insertBefore(p, before);
    group.classList.add("cc-form-group--error");
    var described = choices ? group.querySelector("fieldset") : input;
    if (input && !choices) input.classList.add("cc-input--error");
    var ids = (described.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    ids.push(p.id);
    described.setAttribute("aria-describedby", ids.join(" "));
  };

  Form.prototype.onSummaryClick = function (event) {
    var link = event.target.closest ? event.target.closest("a[href^='#']") : null;
    if (!link) return;
    var input = document.getElementById(link.getAttribute("href").slice(1));
    if (!input) return;
    event.preventDefault();
    var fieldset = input.closest("fieldset");
    var legend = fieldset && fieldset.querySelector("legend");
    var label = (legend && input.type !== "text") ? legend : document.querySelector('label[for="' + input.id + '"]');
    (label || input).scrollIntoView();
    input.focus({ preventScroll: true });
  };

  Form.prototype.say = function (message, retry, alert) {
    var status = this.status, self = this;
    status.textContent = "";
    status.setAttribute("role", alert ? "alert" : "status");
    status.classList.toggle("cc-form-status--problem", !!alert);
    if (!message) return;
    var p = document.createElement("p");
    p.textContent = message;
    status.appendChild(p);
    if (retry) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "cc-button cc-button--secondary";
      b.textContent = this.text.retry;
      b.addEventListener("click", function () { self.send(); });
      status.appendChild(b);
    }
  };

  Form.prototype.onSubmit = function (event) {
    event.preventDefault();
    this.send();
  };

  // POST answers as JSON: resolves to {status, body}; rejects when the network fails or times out.
  function post(action, data) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, 20000) : null;
    return fetch(action, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(data),
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined,
    })
      .then(function (response) {
        return response.json().then(
          function (body) { return { status: response.status, body: body }; },
          function () { return { status: response.status, body: {} }; }
        );
      })
      .then(function (result) { if (timer) clearTimeout(timer); return result; },
            function (error) { if (timer) clearTimeout(timer); throw error; });
  }

  function reference(result) {
    var ref = result.body && result.body.reference;
    return (result.status === 201 || result.status === 200) && typeof ref === "string" ? ref : null;
  }

  Form.prototype.send = function () {
    if (this.busy) return;
    var data = answers(this.form), errors = check(data, this.rules), self = this;
    if (Object.keys(errors).length) {
      this.say("");
      this.showErrors(errors);
      return;
    }
    this.clearErrors();
    this.busy = true;
    this.button.setAttribute("aria-disabled", "true");
    this.say(this.text.sending);
    post(this.form.getAttribute("action"), data).then(
      function (result) {
        var ref = reference(result);
        if (ref && self.assisted) {
          self.done();
          self.reset();
          self.say(fill(self.text.assistedSent, { reference: ref }));
          return;
        }
        if (ref) {
          self.say(self.text.sent);
          var lang = self.hidden("lang");
          window.location.assign("/thanks/?ref=" + encodeURIComponent(ref) + (lang && lang !== "en" ? "&lang=" + encodeURIComponent(lang) : ""));
          return;
        }
        self.done();
        if (result.status === 422 && result.body && result.body.errors) {
          self.say("");
          self.showErrors(result.body.errors);
        } else if (result.status === 429 && result.body && typeof result.body.message === "string") {
          self.say(result.body.message, true, true);  // too many from this device: wait, answers kept
        } else {
          self.say(self.text.failed, true, true);
        }
      },
      function () {
        self.done();
        if (self.assisted) {
          // At a venue the network comes and goes: keep these answers on this device, send them later.
          self.assisted.keep(data);
          self.reset();
          self.say(self.text.assistedSaved, false, true);
          return;
        }
        self.say(self.text.offline, true, true);
      }
    );
  };

  Form.prototype.done = function () {
    this.busy = false;
    this.button.removeAttribute("aria-disabled");
  };

  // Assisted sign-ups (?assisted=1): outreach staff fill the form in with a person. The answers of
  // a form that could not be sent wait in this device's localStorage (never sent anywhere else)
  // and are sent, each once (the server knows each by its submission_id), when the connection
  // is back; each is removed from the device as soon as it is stored.
  var QUEUE = "cchcc-assisted-waiting";

  function Assisted(owner) {
    this.owner = owner;
    this.panel = document.querySelector("[data-assisted]");
    this.queueNote = document.querySelector("[data-assisted-queue]");
    this.sending = false;
    owner.hidden("channel", "assisted");
    if (this.panel) this.panel.hidden = false;
    window.addEventListener("online", this.flush.bind(this));
    setInterval(this.flush.bind(this), 30000);
    this.show();
    this.flush();
  }

  Assisted.prototype.waiting = function () {
    try {
      var list = JSON.parse(window.localStorage.getItem(QUEUE) || "[]");
      return Array.isArray(list) ? list : [];
    } catch (e) {
      return [];
    }
  };

  Assisted.prototype.store = function (list) {
    try {
      if (list.length) window.localStorage.setItem(QUEUE, JSON.stringify(list));
      else window.localStorage.removeItem(QUEUE);
    } catch (e) { /* storage full or off: the form said it could not send */ }
    this.show();
  };

  Assisted.prototype.keep = function (data) {
    var list = this.waiting().filter(function (d) { return d.submission_id !== data.submission_id; });
    list.push(data);
    this.store(list);
  };

  Assisted.prototype.show = function () {
    var count = this.waiting().length;
    if (!this.queueNote) return;
    this.queueNote.hidden = !count;
    this.queueNote.textContent = count ? fill(this.owner.text.assistedWaiting, { count: count }) : "";
  };

  // Send what waits, one at a time, oldest first; stop at the first that cannot go yet (offline, an
  // outage, a rate limit). One the hub refuses (422: it should not happen, the form checked it)
  // stays on the device rather than being lost.
  Assisted.prototype.flush = function () {
    var self = this, action = this.owner.form.getAttribute("action"), sent = [];
    var todo = this.waiting();
    if (this.sending || !todo.length) return;
    this.sending = true;
    function next() {
      var item = todo.shift();
      if (!item) return finish();
      return post(action, item).then(function (result) {
        var ref = reference(result);
        if (!ref) return result.status === 422 ? next() : finish();
        sent.push(ref);
        self.store(self.waiting().filter(function (d) { return d.submission_id !== item.submission_id; }));
        return next();
      }, finish);
    }
    function finish() {
      self.sending = false;
      if (sent.length) self.owner.say(fill(self.owner.text.assistedFlushed, { references: sent.join(", ") }));
    }
    next();
  };

  function showReference() {
    var box = document.querySelector("[data-cc-reference]");
    // The intake function already put a checked reference in (GET /thanks/): leave it as it is.
    if (!box || box.hasAttribute("data-cc-reference-filled")) return;
    var ref = param("ref").trim().toUpperCase();
    if (!new RegExp(box.getAttribute("data-pattern")).test(ref)) {
      var missing = document.querySelector("[data-cc-reference-missing]");
      if (missing) missing.hidden = false;
      return;
    }
    box.querySelector("[data-cc-reference-value]").textContent = ref;
    box.hidden = false;
  }

  // Material's menu and search buttons are <label>s: reachable by touch and mouse only, and ARIA
  // allows no role on a <label>. Swap each for a real <button> that toggles the same checkbox; it
  // keeps Material's classes and its for= attribute, which Material's styles and scripts select on.
  function headerButtons() {
    function label(name, fallback) {
      var meta = document.querySelector('meta[name="' + name + '"]');
      return meta && meta.content ? meta.content : fallback;
    }
    var names = { __drawer: label("cc-menu-label", "Open the menu"), __search: label("cc-search-label", "Search this site") };
    Array.prototype.forEach.call(document.querySelectorAll(".md-header label.md-header__button[for]"), function (label) {
      var box = document.getElementById(label.htmlFor);
      if (!box || !names[label.htmlFor]) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = label.className;
      button.setAttribute("for", label.htmlFor);
      button.setAttribute("aria-label", names[label.htmlFor]);
      button.setAttribute("aria-expanded", String(box.checked));
      while (label.firstChild) button.appendChild(label.firstChild);
      label.parentNode.replaceChild(button, label);
      button.addEventListener("click", function () {
        box.click();
        // As Material does for its label: an opened search takes the typing.
        var input = document.querySelector(".md-search__input");
        if (label.htmlFor === "__search" && box.checked && input) input.focus();
      });
      box.addEventListener("change", function () {
        button.setAttribute("aria-expanded", String(box.checked));
        if (box.checked && label.htmlFor === "__drawer" && document.activeElement === button) {
          setTimeout(function () {
            // The open level of the drawer is the most deeply nested one on screen.
            var best = null, bestDepth = -1;
            var drawer = document.querySelector(".md-sidebar--primary").getBoundingClientRect();
            Array.prototype.forEach.call(document.querySelectorAll(".md-sidebar--primary a.md-nav__link"), function (el) {
              var r = el.getBoundingClientRect(), depth = 0, node = el;
              if (!(r.width > 0 && r.left >= drawer.left && r.right <= drawer.right + 1 && r.top >= 0 && r.bottom <= window.innerHeight)) return;
              while ((node = node.parentElement)) if (node.classList.contains("md-nav")) depth++;
              if (depth > bestDepth) { best = el; bestDepth = depth; }
            });
            if (best) best.focus();
          }, 300);
        }
      });
    });
    // Material's search overlay is a role="dialog" without a name.
    var search = document.querySelector(".md-search[role=dialog]");
    if (search && !search.hasAttribute("aria-label") && !search.hasAttribute("aria-labelledby")) {
      search.setAttribute("aria-label", names.__search);
    }
  }

  function start() {
    headerButtons();
    var form = document.querySelector("form[data-referral-form]");
    if (form && document.getElementById("cc-form-rules") && window.fetch && window.JSON) new Form(form);
    showReference();
  }

  if (typeof module === "object" && module.exports) {
    // Node (the tests): the checks, without a page.
    module.exports = { check: check, clean: clean, ukPhone: ukPhone, plain: plain, fill: fill };
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
