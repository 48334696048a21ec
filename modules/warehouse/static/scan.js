/* The scan page: a keyboard-wedge scanner types the barcode into #scan-code and presses Enter (or Tab).
 *
 * Each raw scan goes, untouched (GS characters or the scanner's substitute for them included), to
 * /scan/check; the answer colours the status banner (green: known usable lot, amber: new lot to confirm,
 * red: refused) with a beep, and adds the pack to the running list. "Receive these packs" posts the list
 * as one receipt to /scan/receive. The scan field keeps the focus, except while the user types a quantity
 * or confirms a new lot. No framework, no inline script (the Content-Security-Policy forbids it).
 */
(function () {
  "use strict";

  var app = document.getElementById("scan-app");
  if (!app) { return; }

  function $(id) { return document.getElementById(id); }

  var texts = $("scan-texts").dataset;
  var scanInput = $("scan-code");
  var locationSelect = $("scan-location");
  var modeSelect = $("scan-mode");
  var reference = $("scan-reference");
  var statusBox = $("scan-status");
  var quantityBox = $("scan-quantity-box");
  var quantityInput = $("scan-quantity");
  var confirmBox = $("scan-confirm");
  var confirmExpiry = $("confirm-expiry");
  var confirmChecked = $("confirm-checked");
  var listBody = $("scan-list-body");
  var receiveButton = $("scan-receive");
  var clearButton = $("scan-clear");
  var stockLink = $("scan-stock-link");

  var entries = [];    // one per lot: {key, gtin, lot, vaccine, expiry, perPack, packs, isNew}
  var pending = null;  // a scan waiting for its quantity or its confirmation: {kind, answer, packs, isNew}
  var queue = Promise.resolve();  // scans are checked one after the other, in the order they came
  var sending = false;
  var errorKey = null;  // the line the server refused, shown in red until the next attempt
  var DAY = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/;
  var MAX_PACKS = 100000;

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : whole;
    });
  }

  function number(value) {
    return Number(value).toLocaleString(document.documentElement.lang || "vi");
  }

  // --- Feedback: colour, words and sound --------------------------------------------------------

  var audio = null;
  var TONES = {ok: [[1046, 0.09]], new: [[660, 0.12], [880, 0.12]], error: [[196, 0.18], [147, 0.28]]};

  function beep(kind) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var start = audio.currentTime;
      TONES[kind].forEach(function (tone) {
        var oscillator = audio.createOscillator();
        var gain = audio.createGain();
        oscillator.type = kind === "error" ? "square" : "sine";
        oscillator.frequency.value = tone[0];
        gain.gain.setValueAtTime(0.12, start);
        gain.gain.exponentialRampToValueAtTime(0.001, start + tone[1]);
        oscillator.connect(gain);
        gain.connect(audio.destination);
        oscillator.start(start);
        oscillator.stop(start + tone[1]);
        start += tone[1] + 0.03;
      });
    } catch (ignored) {
      // no sound on this device: the colour and the words still tell
    }
  }

  function show(state, message, sound) {
    statusBox.dataset.state = state;
    statusBox.textContent = message;
    if (sound) { beep(sound); }
  }

  // --- Focus: the scan field keeps it ---------------------------------------------------------------

  function focusScan() {
    if (!quantityBox.hidden) { quantityInput.focus(); return; }
    scanInput.focus();
  }

  function nothingFocused() {
    var active = document.activeElement;
    return !active || active === document.body || active === document.documentElement;
  }

  scanInput.addEventListener("blur", function () {
    // a click on the page's background gives the focus back; a click in another field keeps it there
    window.setTimeout(function () { if (nothingFocused()) { focusScan(); } }, 0);
  });
  window.addEventListener("focus", function () { if (nothingFocused()) { focusScan(); } });
  document.addEventListener("keydown", function (event) {
    // a scan typed while nothing has the focus still lands in the scan field
    if (nothingFocused() && event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) {
      focusScan();
    }
  }, true);
  [locationSelect, modeSelect].forEach(function (select) {
    select.addEventListener("change", function () {
      if (select === locationSelect) {
        var name = select.options[select.selectedIndex].text.trim();
        show("idle", format(texts.location, {location: name}));
      }
      focusScan();
    });
  });
  reference.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); focusScan(); }
  });

  // --- Talking to the server ----------------------------------------------------------------------

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": app.dataset.csrf},
      body: JSON.stringify(body)
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) { throw new Error(texts.failed); }
      return response.json();
    }, function () {
      throw new Error(texts.offline);
    });
  }

  // --- Scanning -----------------------------------------------------------------------------------

  scanInput.addEventListener("keydown", function (event) {
    if (event.key === "Enter" || (event.key === "Tab" && scanInput.value)) {
      event.preventDefault();
      var code = scanInput.value;
      scanInput.value = "";
      if (code.trim()) { queue = queue.then(function () { return check(code); }); }
    }
  });

  function check(code) {
    if (!locationSelect.value) { show("error", texts.noLocation, "error"); return null; }
    show("busy", texts.checking);
    return post(app.dataset.checkUrl, {code: code, location: locationSelect.value}).then(handle, function (problem) {
      show("error", problem.message, "error");
    });
  }

  function handle(answer) {
    if (answer.state === "ok") {
      if (modeSelect.value === "ask") { askQuantity(answer, false); } else { add(answer, 1, false); }
    } else if (answer.state === "new") {
      var known = find(keyOf(answer));
      if (known && known.isNew) {
        if (modeSelect.value === "ask") { askQuantity(answer, true); } else { add(answer, 1, true); }
      } else if (pending && pending.kind === "confirm" && keyOf(pending.answer) === keyOf(answer)) {
        pending.packs += 1;
        show("new", answer.message, "new");
      } else if (pending) {
        show("error", texts.confirmPending, "error");
      } else {
        askConfirmation(answer);
      }
    } else {
      show("error", answer.message, "error");
    }
  }

  function keyOf(answer) { return answer.gtin + "|" + answer.lot; }

  function find(key) {
    for (var i = 0; i < entries.length; i += 1) { if (entries[i].key === key) { return entries[i]; } }
    return null;
  }

  function add(answer, packs, isNew) {
    var key = keyOf(answer);
    var entry = find(key);
    if (entry) {
      entry.packs += packs;
    } else {
      entry = {key: key, gtin: answer.gtin, lot: answer.lot, vaccine: answer.vaccine, expiry: answer.expiry_display,
               perPack: answer.doses_per_vial, packs: packs, isNew: isNew};
      entries.push(entry);
    }
    stockLink.hidden = true;
    render(key);
    show("ok", format(texts.added, {packs: number(packs), vaccine: entry.vaccine, lot: entry.lot,
                                    total: number(entry.packs)}), "ok");
  }

  // --- Asking the quantity --------------------------------------------------------------------------

  function askQuantity(answer, isNew) {
    pending = {kind: "quantity", answer: answer, isNew: isNew};
    $("scan-quantity-title").textContent = format(texts.ask, {vaccine: answer.vaccine, lot: answer.lot});
    $("scan-quantity-error").hidden = true;
    quantityInput.value = "";
    quantityBox.hidden = false;
    show("ok", answer.message, "ok");
    quantityInput.focus();
  }

  quantityBox.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = quantityInput.value.trim();
    var packs = /^\d+$/.test(text) ? parseInt(text, 10) : 0;
    if (packs < 1 || packs > MAX_PACKS) {
      $("scan-quantity-error").hidden = false;
      quantityInput.setAttribute("aria-invalid", "true");
      quantityInput.focus();
      return;
    }
    quantityInput.removeAttribute("aria-invalid");
    var answer = pending.answer;
    var isNew = pending.isNew;
    closePanels();
    add(answer, packs, isNew);
    focusScan();
  });

  $("scan-quantity-cancel").addEventListener("click", function () { closePanels(); show("idle", texts.ready); focusScan(); });
  quantityInput.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closePanels(); show("idle", texts.ready); focusScan(); }
  });

  // --- Confirming a new lot ---------------------------------------------------------------------------

  function askConfirmation(answer) {
    pending = {kind: "confirm", answer: answer, packs: 1};
    $("confirm-vaccine").textContent = answer.vaccine;
    $("confirm-gtin").textContent = answer.gtin;
    $("confirm-lot").textContent = answer.lot;
    confirmExpiry.value = answer.expiry_display || "";
    confirmChecked.checked = false;
    $("confirm-expiry-error").hidden = true;
    $("confirm-checked-error").hidden = true;
    confirmBox.hidden = false;
    show("new", answer.message, "new");
  }

  function validDay(text) {
    var found = DAY.exec(text.trim());
    if (!found) { return false; }
    var day = parseInt(found[1], 10), month = parseInt(found[2], 10), year = parseInt(found[3], 10);
    var date = new Date(year, month - 1, day);
    return date.getFullYear() === year && date.getMonth() === month - 1 && date.getDate() === day;
  }

  confirmBox.addEventListener("submit", function (event) {
    event.preventDefault();
    var dayOk = validDay(confirmExpiry.value);
    $("confirm-expiry-error").hidden = dayOk;
    $("confirm-checked-error").hidden = confirmChecked.checked;
    if (!dayOk) { confirmExpiry.focus(); return; }
    if (!confirmChecked.checked) { confirmChecked.focus(); return; }
    var answer = Object.assign({}, pending.answer, {expiry_display: confirmExpiry.value.trim()});
    var packs = pending.packs;
    closePanels();
    if (modeSelect.value === "ask") { askQuantity(answer, true); } else { add(answer, packs, true); focusScan(); }
  });

  $("confirm-discard").addEventListener("click", function () { closePanels(); show("idle", texts.ready); focusScan(); });

  function closePanels() {
    pending = null;
    quantityBox.hidden = true;
    confirmBox.hidden = true;
  }

  // --- The running list ---------------------------------------------------------------------------

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
    return td;
  }

  function render(highlight) {
    listBody.textContent = "";
    var packs = 0, doses = 0;
    entries.forEach(function (entry) {
      var row = document.createElement("tr");
      row.dataset.key = entry.key;
      if (entry.key === highlight) { row.className = "flash-row"; }
      if (entry.key === errorKey) { row.className = "line-error"; }
      cell(row, entry.vaccine);
      var lotCell = cell(row, entry.lot);
      if (entry.isNew) {
        var badge = document.createElement("span");
        badge.className = "badge new";
        badge.textContent = texts.newLot;
        lotCell.appendChild(document.createTextNode(" "));
        lotCell.appendChild(badge);
      }
      cell(row, entry.expiry, "nowrap");
      cell(row, number(entry.perPack), "num");
      cell(row, number(entry.packs), "num packs");
      cell(row, number(entry.packs * entry.perPack), "num");
      var action = cell(row, "");
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link";
      remove.textContent = texts.remove;
      remove.setAttribute("aria-label", format(texts.removeLabel, {lot: entry.lot}));
      remove.addEventListener("click", function () {
        entries = entries.filter(function (other) { return other.key !== entry.key; });
        render();
        show("idle", format(texts.removed, {lot: entry.lot}));
        focusScan();
      });
      action.appendChild(remove);
      listBody.appendChild(row);
      packs += entry.packs;
      doses += entry.packs * entry.perPack;
    });
    $("scan-total-packs").textContent = number(packs);
    $("scan-total-doses").textContent = number(doses);
    $("scan-list-total").hidden = entries.length === 0;
    $("scan-empty").hidden = entries.length > 0;
    receiveButton.disabled = entries.length === 0 || sending;
    clearButton.disabled = entries.length === 0;
  }

  clearButton.addEventListener("click", function () {
    if (entries.length && window.confirm(texts.confirmClear)) {
      entries = [];
      render();
      show("idle", texts.cleared);
    }
    focusScan();
  });

  // --- Receiving ------------------------------------------------------------------------------------

  receiveButton.addEventListener("click", function () {
    if (!entries.length || sending) { return; }
    sending = true;
    errorKey = null;
    receiveButton.disabled = true;
    show("busy", texts.sending);
    var lines = entries.map(function (entry) {
      return {gtin: entry.gtin, lot: entry.lot, expiry: entry.expiry, vials: entry.packs, confirm_new_lot: entry.isNew};
    });
    post(app.dataset.receiveUrl, {location: locationSelect.value, reference: reference.value, lines: lines})
      .then(function (answer) {
        if (answer.ok) {
          entries = [];
          reference.value = "";
          show("ok", answer.message, "ok");
          stockLink.href = answer.stock_url;
          stockLink.hidden = false;
        } else {
          show("error", answer.message, "error");
          markLine(answer.line);
        }
      }, function (problem) {
        show("error", problem.message, "error");
      })
      .then(function () {
        sending = false;
        render();
        focusScan();
      });
  });

  function markLine(index) {
    errorKey = typeof index === "number" && entries[index] ? entries[index].key : null;
  }

  render();
  focusScan();
})();
